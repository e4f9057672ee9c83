#!/usr/bin/env bash
# config/lbd.service passes `systemd-analyze verify` as `cmake --install`
# installs it. verify refuses an ExecStart= binary that does not exist, and
# the unit names /usr/sbin/lbd, which a build machine lacks: installed under
# a scratch prefix, the unit names that prefix's lbd instead (the only line
# the install rewrites), the binary built here. verify only warns about a
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
diff <(sed "s|$STAGE/sbin/lbd|/usr/sbin/lbd|" "$unit") config/lbd.service \
  || fail "the installed unit differs from config/lbd.service beyond the daemon's path"

# verify runs man(1) on each Documentation= page: the staged ones.
out=$(MANPATH="$STAGE/share/man" systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
[[ -z $out ]] || fail "systemd-analyze verify warns: $out"
echo "ok systemd-analyze verify $unit"

for cap in $(sed -n 's/^CapabilityBoundingSet=//p' config/lbd.service); do
  capsh --supports="$cap" >/dev/null 2>&1 || fail "CapabilityBoundingSet: $cap is not a capability"
done
echo "ok capability names"
echo "PASS unit_verify"
