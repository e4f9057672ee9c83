#!/usr/bin/env bash
# `cmake --install` puts what it should where Debian users look: the three
# programs in sbin, the units in lib/systemd/system, the files an operator
# edits in etc (/etc under the /usr prefix): lbd/keepalived.conf (the example,
# a config lbd -t accepts) and default/lbd; config/lab.conf as
# share/doc/lbd/examples/keepalived.conf, the docs, the dashboard and alert
# rules beside it, the scale-out examples, iproute2's name for lbd's route
# protocol in etc/iproute2/rt_protos.d, lbctl's bash completion, and the man
# pages of the build tree's man/ in share/man/man8 and man5 when there are any; nothing else. A
# package (DESTDIR, --prefix /usr) gets the units exactly as config/ has
# them; any other prefix gets its own sbin in ExecStart= and ExecReload=.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
WORK=$(mktemp -d /tmp/lbd-install.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$BUILD" --prefix "$WORK/prefix" >/dev/null
{
  printf '%s\n' sbin/lbd sbin/lbctl sbin/lbd-decap lib/systemd/system/lbd.service \
    share/doc/lbd/examples/keepalived.conf etc/iproute2/rt_protos.d/lbd.conf \
    lib/systemd/system/lbd-decap@.service etc/lbd/keepalived.conf etc/default/lbd \
    share/doc/lbd/README.md \
    share/doc/lbd/examples/grafana/lbd.json share/doc/lbd/examples/prometheus/lbd-alerts.yml
  for f in config/scale-out/*; do echo "share/doc/lbd/examples/scale-out/$(basename "$f")"; done
  for doc in docs/*.md; do echo "share/doc/lbd/$(basename "$doc")"; done
  if [[ -e $BUILD/completion/lbctl ]]; then echo share/bash-completion/completions/lbctl; fi
  for page in "$BUILD"/man/*.[58]; do
    if [[ -e $page ]]; then echo "share/man/man${page##*.}/$(basename "$page")"; fi
  done
} | sort >"$WORK/expected"
(cd "$WORK/prefix" && find . -type f -printf '%P\n' | sort) >"$WORK/installed"
diff "$WORK/expected" "$WORK/installed" || fail "installed files are not the expected ones (< expected, > installed)"
for f in lbd lbctl lbd-decap; do [[ -x $WORK/prefix/sbin/$f ]] || fail "sbin/$f is not executable"; done
example=$WORK/prefix/share/doc/lbd/examples/keepalived.conf
cmp -s config/lab.conf "$example" || fail "the example is not config/lab.conf"
for conf in "$example" "$WORK/prefix/etc/lbd/keepalived.conf"; do
  "$WORK/prefix/sbin/lbd" -t -f "$conf" 2>"$WORK/err" || fail "lbd -t refuses $conf: $(cat "$WORK/err")"
done
grep -q "^ExecStart=$WORK/prefix/sbin/lbd " "$WORK/prefix/lib/systemd/system/lbd.service" \
  || fail "the unit under --prefix does not name that prefix's lbd"
grep -q "^ExecReload=$WORK/prefix/sbin/lbctl " "$WORK/prefix/lib/systemd/system/lbd.service" \
  || fail "the unit under --prefix does not name that prefix's lbctl"
grep -q "^ExecStart=$WORK/prefix/sbin/lbd-decap " "$WORK/prefix/lib/systemd/system/lbd-decap@.service" \
  || fail "lbd-decap@.service under --prefix does not name that prefix's lbd-decap"
echo "ok --prefix $WORK/prefix: $(wc -l <"$WORK/installed") files"

DESTDIR=$WORK/destdir cmake --install "$BUILD" --prefix /usr >/dev/null
for unit in lbd.service lbd-decap@.service; do
  cmp -s "config/$unit" "$WORK/destdir/usr/lib/systemd/system/$unit" \
    || fail "a package's $unit differs from config/$unit"
done
[[ -x $WORK/destdir/usr/sbin/lbd ]] || fail "no usr/sbin/lbd under DESTDIR"
[[ -f $WORK/destdir/etc/iproute2/rt_protos.d/lbd.conf ]] || fail "no etc/iproute2/rt_protos.d/lbd.conf under DESTDIR"
cmp -s config/lbd.default "$WORK/destdir/etc/default/lbd" || fail "no /etc/default/lbd under DESTDIR"
cmp -s config/keepalived.conf.example "$WORK/destdir/etc/lbd/keepalived.conf" \
  || fail "no /etc/lbd/keepalived.conf under DESTDIR"
echo "ok DESTDIR with --prefix /usr: the units as written, the files to edit in /etc"
echo "PASS install"
