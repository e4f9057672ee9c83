#!/usr/bin/env bash
# The daemon's contract outside the lab's traffic: -t checks a config (0, or
# 1 with file:line on stderr); on an interface without native XDP it falls
# back to generic mode and says so; a second daemon of the same instance is
# refused; a stopped daemon leaves no XDP program and no pins behind.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (namespaces, XDP)"; exit 77; }
BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
NS=lbdt-daemon
WORK=$(mktemp -d /tmp/lbd-daemon.XXXXXX)
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  # lbd leaves its instance's lock file by design; these instances were ours.
  rm -f /run/lbd/lbdt-daemon.lock /run/lbd/lbdt-iface.lock
  rm -rf "$WORK"
}
trap cleanup EXIT

printf 'global_defs { lb_interface lo }\nvirtual_server 192.0.2.1 80 { real_server 192.0.2.2 80 }\n' >"$WORK/good.conf"
printf 'vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 256\n  priority 100\n}\n' >"$WORK/bad.conf"

"$BUILD/lbd" -t -f "$WORK/good.conf" || fail "-t rejected a valid config"
if "$BUILD/lbd" -t -f "$WORK/bad.conf" 2>"$WORK/err"; then fail "-t accepted VRID 256"; fi
grep -qx "$WORK/bad.conf:3: virtual_router_id 256 is out of range 1..255" "$WORK/err" || fail "-t said: $(cat "$WORK/err")"
echo "ok -t"

# An interface this host lacks: a warning at -t (configs are checked
# elsewhere), an error at start-up.
printf 'vrrp_instance VI_1 {\n  interface nosuch0\n  virtual_router_id 7\n  priority 100\n  virtual_ipaddress {\n    192.0.2.9\n  }\n}\n' >"$WORK/iface.conf"
"$BUILD/lbd" -t -f "$WORK/iface.conf" 2>"$WORK/err" || fail "-t refused a config naming a missing interface"
grep -qx "warning: $WORK/iface.conf:2: interface nosuch0 does not exist on this host" "$WORK/err" \
  || fail "-t said: $(cat "$WORK/err")"
if timeout 20 "$BUILD/lbd" -n -l -f "$WORK/iface.conf" --instance lbdt-iface >"$WORK/iface.log" 2>&1; then
  fail "lbd started with a missing interface"
fi
grep -q "$WORK/iface.conf:2: interface nosuch0 does not exist on this host" "$WORK/iface.log" \
  || fail "start-up said: $(cat "$WORK/iface.log")"
echo "ok missing interface: warned by -t, refused at start-up"

ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" bash -c "
  mount -t bpf bpf /sys/fs/bpf
  '$BUILD/lbd' -n -l -f '$WORK/good.conf' --instance lbdt-daemon >'$WORK/lbd.log' 2>&1 &
  echo \$! >'$WORK/pid'
  for _ in \$(seq 100); do grep -q 'lbd ready' '$WORK/lbd.log' && break; sleep 0.1; done
  ls /sys/fs/bpf/lbd/lbdt-daemon >'$WORK/pins.before'
  ip link show lo >'$WORK/link.before'
  if '$BUILD/lbd' -n -l -f '$WORK/good.conf' --instance lbdt-daemon >'$WORK/second.log' 2>&1; then
    echo second-started >'$WORK/second.rc'
  fi
  kill -TERM \$(cat '$WORK/pid')
  while kill -0 \$(cat '$WORK/pid') 2>/dev/null; do sleep 0.1; done
  ls /sys/fs/bpf/lbd/lbdt-daemon >'$WORK/pins.after' 2>/dev/null || true
  ip link show lo >'$WORK/link.after'
"
grep -q "lbd ready" "$WORK/lbd.log" || { cat "$WORK/lbd.log"; fail "lbd did not start"; }
grep -q "lo: native XDP refused .* using generic mode" "$WORK/lbd.log" || fail "no generic-mode warning"
grep -q "attached to lo in generic mode" "$WORK/lbd.log" || fail "not attached in generic mode"
grep -q "xdpgeneric" "$WORK/link.before" || fail "no generic XDP program on lo while running"
grep -qx "vips4" "$WORK/pins.before" || fail "maps not pinned: $(cat "$WORK/pins.before")"
echo "ok generic-mode fallback, pins"
[[ ! -e $WORK/second.rc ]] || fail "a second daemon of the same instance started"
grep -q "another lbd runs as instance 'lbdt-daemon'" "$WORK/second.log" || fail "second daemon said: $(cat "$WORK/second.log")"
echo "ok second instance refused"
grep -q "xdp" "$WORK/link.after" && fail "XDP program left on lo: $(cat "$WORK/link.after")"
[[ ! -s $WORK/pins.after ]] || fail "pins left: $(cat "$WORK/pins.after")"
grep -q "Stopping" "$WORK/lbd.log" || fail "no Stopping line"
echo "PASS daemon"
