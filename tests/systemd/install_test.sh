#!/usr/bin/env bash
# `cmake --install` puts what it should where Debian users look: the three
# programs in sbin, the unit in lib/systemd/system, config/lab.conf as
# share/doc/lbd/examples/keepalived.conf (a config lbd -t accepts), the
# scale-out examples beside it, iproute2's name for lbd's route protocol in
# etc/iproute2/rt_protos.d (/etc for --prefix /usr), and the
# man pages of the build tree's man/ in share/man/man8 and man5 when there
# are any; nothing else. A package (DESTDIR, --prefix /usr) gets the unit
# exactly as config/lbd.service has it; any other prefix gets its own lbd
# path in ExecStart=.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
WORK=$(mktemp -d /tmp/lbd-install.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$BUILD" --prefix "$WORK/prefix" >/dev/null
{
  printf '%s\n' sbin/lbd sbin/lbctl sbin/lbd-decap lib/systemd/system/lbd.service \
    share/doc/lbd/examples/keepalived.conf etc/iproute2/rt_protos.d/lbd.conf
  for f in config/scale-out/*; do echo "share/doc/lbd/examples/scale-out/$(basename "$f")"; done
  for page in "$BUILD"/man/*.[58]; do
    if [[ -e $page ]]; then echo "share/man/man${page##*.}/$(basename "$page")"; fi
  done
} | sort >"$WORK/expected"
(cd "$WORK/prefix" && find . -type f -printf '%P\n' | sort) >"$WORK/installed"
diff "$WORK/expected" "$WORK/installed" || fail "installed files are not the expected ones (< expected, > installed)"
for f in lbd lbctl lbd-decap; do [[ -x $WORK/prefix/sbin/$f ]] || fail "sbin/$f is not executable"; done
example=$WORK/prefix/share/doc/lbd/examples/keepalived.conf
cmp -s config/lab.conf "$example" || fail "the example is not config/lab.conf"
"$WORK/prefix/sbin/lbd" -t -f "$example" 2>"$WORK/err" \
  || fail "lbd -t refuses the example: $(cat "$WORK/err")"
grep -q "^ExecStart=$WORK/prefix/sbin/lbd " "$WORK/prefix/lib/systemd/system/lbd.service" \
  || fail "the unit under --prefix does not name that prefix's lbd"
echo "ok --prefix $WORK/prefix: $(wc -l <"$WORK/installed") files"

DESTDIR=$WORK/destdir cmake --install "$BUILD" --prefix /usr >/dev/null
cmp -s config/lbd.service "$WORK/destdir/usr/lib/systemd/system/lbd.service" \
  || fail "a package's unit differs from config/lbd.service"
[[ -x $WORK/destdir/usr/sbin/lbd ]] || fail "no usr/sbin/lbd under DESTDIR"
[[ -f $WORK/destdir/etc/iproute2/rt_protos.d/lbd.conf ]] || fail "no etc/iproute2/rt_protos.d/lbd.conf under DESTDIR"
echo "ok DESTDIR with --prefix /usr: the unit as written"
echo "PASS install"
