#!/usr/bin/env bash
# config/lbd.service and config/lbd-decap@.service pass `systemd-analyze
# verify` as `cmake --install` installs them. verify refuses an Exec*=
# binary that does not exist, and the units name /usr/sbin/lbd, lbctl and
# lbd-decap, which a build machine lacks: installed under a scratch prefix,
# the units name that prefix's sbin instead (all the install rewrites), the
# binaries built here. verify only warns about a
# misspelt key or value and still exits 0, so any output fails the test; it
# does not look at capability names at all, so capsh does. The man pages
# Documentation= names are looked up among the staged ones.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze (package systemd)"; exit 77; }
command -v capsh >/dev/null || { echo "SKIP: no capsh (package libcap2-bin)"; exit 77; }
BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
STAGE=$(mktemp -d /tmp/lbd-unit.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$BUILD" --prefix "$STAGE" >/dev/null
unit=$STAGE/lib/systemd/system/lbd.service
grep -q "^ExecStart=$STAGE/sbin/lbd " "$unit" || fail "ExecStart= is not the staged lbd: $(grep ExecStart "$unit")"
diff <(sed "s|$STAGE/sbin/|/usr/sbin/|g" "$unit") config/lbd.service \
  || fail "the installed unit differs from config/lbd.service beyond the programs' paths"
# A template is verified as one of its instances.
decap=$STAGE/lib/systemd/system/lbd-decap@lo.service
cp "$STAGE/lib/systemd/system/lbd-decap@.service" "$decap"
diff <(sed "s|$STAGE/sbin/|/usr/sbin/|g" "$decap") config/lbd-decap@.service \
  || fail "the installed lbd-decap@.service differs from config/ beyond the program's path"

# verify runs man(1) on each Documentation= page: the staged ones.
for u in "$unit" "$decap"; do
  out=$(MANPATH="$STAGE/share/man" systemd-analyze verify "$u" 2>&1) || fail "systemd-analyze verify: $out"
  [[ -z $out ]] || fail "systemd-analyze verify warns: $out"
  echo "ok systemd-analyze verify $u"
done

for cap in $(sed -n 's/^CapabilityBoundingSet=//p' config/lbd.service); do
  capsh --supports="$cap" >/dev/null 2>&1 || fail "CapabilityBoundingSet: $cap is not a capability"
done
echo "ok capability names"
echo "PASS unit_verify"
