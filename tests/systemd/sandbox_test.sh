#!/usr/bin/env bash
# lbd inside config/lbd.service's sandbox, rebuilt without systemd (which
# cannot run here): the unit's CapabilityBoundingSet= and NoNewPrivileges=
# through setpriv, ProtectSystem=strict, ProtectKernelTunables=, ProtectHome=,
# RuntimeDirectory= and ReadWritePaths= as the read-only and writable mounts
# systemd would make, in a network namespace of its own. Everything lbd does
# with a privilege or a write is exercised: XDP attach and live-frame adverts,
# SCHED_RR, a checker bound to a port below 1024, a use_vmac macvlan (its
# disable_ipv6 sysctl), a track script as nobody killed at its timeout, a
# notify_fifo in a directory a drop-in opened, a clean stop that detaches and
# unpins, and a restart after SIGKILL that replaces the program left behind.
# A capability the code starts to need fails here first.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (namespaces, XDP)"; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: no setpriv (util-linux)"; exit 77; }
command -v capsh >/dev/null || { echo "SKIP: no capsh (libcap2-bin)"; exit 77; }
BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
UNIT=$PWD/config/lbd.service
NS=lbdt-sandbox
WORK=$(mktemp -d /tmp/lbd-sandbox.XXXXXX)
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

unit_values() { sed -n "s/^$1=//p" "$UNIT" | tr ' ' '\n' | sed '/^$/d'; }
# setpriv's spelling of the unit's set: -all,+bpf,+perfmon,...
CAPS=-all$(unit_values CapabilityBoundingSet | sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/,+/' | tr -d '\n')
[[ $CAPS != -all ]] || fail "no CapabilityBoundingSet= in $UNIT"
for key in NoNewPrivileges ProtectSystem ProtectKernelTunables ProtectHome RuntimeDirectory; do
  grep -q "^$key=" "$UNIT" || fail "$UNIT has no $key=: this test rebuilds a sandbox the unit no longer asks for"
done
read -r -a RW_PATHS <<<"$(unit_values ReadWritePaths | tr '\n' ' ')"
echo "capabilities: $CAPS; writable: /run/lbd ${RW_PATHS[*]}"

ip netns add "$NS"
ip -n "$NS" link add va type veth peer name vb
for i in lo va vb; do ip -n "$NS" link set "$i" up; done
ip -n "$NS" addr add 10.9.0.1/24 dev va
# A frame that XDP_TX puts on a veth is delivered when the peer has NAPI.
ip netns exec "$NS" ethtool -K va gro on >/dev/null
ip netns exec "$NS" ethtool -K vb gro on >/dev/null

# $WORK/rw stands for the operator's drop-in (ReadWritePaths= for the fifo);
# $OUT is this test's, for what it records.
OUT=$WORK/out
mkdir -p "$WORK/rw" "$OUT"
cat >"$WORK/lbd.conf" <<EOF
global_defs {
  lb_interface va
  vrrp_version 3
  notify_fifo $WORK/rw/fifo
}
vrrp_script chk_slow {
  script "/bin/sleep 30"
  user nobody nogroup
  interval 2
  timeout 1
  weight -10
  fall 1
  rise 1
}
vrrp_instance VI_1 {
  state BACKUP
  interface va
  use_vmac vmac51
  virtual_router_id 51
  priority 150
  advert_int 1
  track_script {
    chk_slow
  }
  virtual_ipaddress {
    10.9.0.100/32
  }
}
virtual_server 10.9.0.100 7 {
  delay_loop 1
  lb_kind DR
  protocol TCP
  real_server 10.9.0.11 7 {
    weight 1
    TCP_CHECK {
      bind_port 999
      connect_timeout 1
    }
  }
}
EOF

# Runs in the namespace's own mount namespace (ip netns exec makes one, a
# slave of the host's: nothing here reaches the host's mounts).
sandbox() {
  mount -t bpf bpf /sys/fs/bpf  # the host's bpffs, under systemd
  mkdir -p /run/lbd
  mount -t tmpfs -o mode=0755 tmpfs /run/lbd  # RuntimeDirectory=lbd
  local m
  # ProtectHome=yes
  for m in /home /root /run/user; do
    [[ -d $m ]] && mount -t tmpfs -o ro,mode=000 tmpfs "$m"
  done
  # ProtectSystem=strict: every mount read-only but the API file systems;
  # ProtectKernelTunables=yes: /sys and /proc/sys read-only too.
  while read -r m; do
    case $m in
      /dev | /dev/* | /proc | /proc/* | /sys/fs/bpf | /run/lbd) ;;
      *) mount -o remount,bind,ro "$m" 2>/dev/null || echo "note: $m stays writable" ;;
    esac
  done < <(findmnt -rn -o TARGET)
  mount --bind /proc/sys /proc/sys
  mount -o remount,bind,ro /proc/sys
  for m in "${RW_PATHS[@]}" "$WORK/rw" "$OUT"; do
    [[ $m == /sys/fs/bpf ]] && continue  # a mount of its own, left writable
    mount --bind "$m" "$m"
    mount -o remount,bind,rw "$m"
  done
  [[ ! -w /etc && ! -w /tmp && ! -w /proc/sys/kernel/hostname && -w /proc/sys/net/ipv4/ip_forward ]] \
    || fail "the sandbox is not the unit's: /etc, /tmp or /proc/sys writable, or /proc/sys/net not"

  local lbd=(setpriv --no-new-privs --bounding-set="$CAPS" -- "$BUILD/lbd" -n -l -f "$WORK/lbd.conf"
             --instance lbdt-sandbox)
  if command -v tcpdump >/dev/null; then
    tcpdump -ni vb -c 3 vrrp >"$OUT/tcpdump.txt" 2>&1 &
    echo $! >"$OUT/tcpdump.pid"
  fi
  "${lbd[@]}" >"$OUT/lbd.log" 2>&1 &
  echo $! >"$OUT/pid"
  for _ in $(seq 150); do grep -q "Entering MASTER STATE" "$OUT/lbd.log" && break; sleep 0.1; done
  # Two rounds of the track script: each killed at its 1 s timeout.
  sleep 4.5
  grep Cap /proc/"$(cat "$OUT/pid")"/status >"$OUT/caps"
  cat /proc/sys/net/ipv6/conf/vmac51/disable_ipv6 >"$OUT/vmac.disable_ipv6" 2>&1 || true
  stat -c %F "$WORK/rw/fifo" >"$OUT/fifo.type" 2>&1 || true
  ls /sys/fs/bpf/lbd/lbdt-sandbox >"$OUT/pins.running" 2>&1 || true
  kill -TERM "$(cat "$OUT/pid")"
  while kill -0 "$(cat "$OUT/pid")" 2>/dev/null; do sleep 0.1; done
  ip -d link show va >"$OUT/link.stopped"
  ls /sys/fs/bpf/lbd/lbdt-sandbox >"$OUT/pins.stopped" 2>/dev/null || true
  ip link show vmac51 >"$OUT/vmac.stopped" 2>&1 || true

  # A crash leaves the program attached; the next start replaces it.
  "${lbd[@]}" >"$OUT/crash.log" 2>&1 &
  echo $! >"$OUT/pid"
  disown  # killed on purpose: no "Killed" notice
  for _ in $(seq 150); do grep -q "lbd ready" "$OUT/crash.log" && break; sleep 0.1; done
  kill -KILL "$(cat "$OUT/pid")"
  while kill -0 "$(cat "$OUT/pid")" 2>/dev/null; do sleep 0.1; done
  "${lbd[@]}" >"$OUT/restart.log" 2>&1 &
  echo $! >"$OUT/pid"
  for _ in $(seq 150); do grep -q "lbd ready\|rror" "$OUT/restart.log" && break; sleep 0.1; done
  kill -TERM "$(cat "$OUT/pid")"
  while kill -0 "$(cat "$OUT/pid")" 2>/dev/null; do sleep 0.1; done
  ip -d link show va >"$OUT/link.restarted"
  [[ -f $OUT/tcpdump.pid ]] && kill "$(cat "$OUT/tcpdump.pid")" 2>/dev/null
  return 0
}
export -f sandbox fail
export WORK OUT BUILD CAPS
RW_LIST="${RW_PATHS[*]}" ip netns exec "$NS" bash -c 'read -r -a RW_PATHS <<<"$RW_LIST"; sandbox'

log=$OUT/lbd.log
show() { echo "--- $1"; cat "$1"; }
grep -q "lbd ready" "$log" || { show "$log"; fail "lbd did not start in the sandbox"; }
# What lbd ran with: exactly the unit's set, effective and bounding alike.
want=$(unit_values CapabilityBoundingSet | tr 'A-Z' 'a-z' | sort | paste -sd,)
for set in CapEff CapBnd; do
  mask=$(awk -v s="$set:" '$1 == s {print $2}' "$OUT/caps")
  have=$(capsh --decode="$mask" | sed 's/.*=//' | tr , '\n' | sort | paste -sd,)
  [[ $have == "$want" ]] || fail "$set: $have, the unit asks for $want"
done
grep -q "(VI_1) Entering MASTER STATE" "$log" || { show "$log"; fail "VI_1 never became master"; }
grep -q "lb program attached to va in native mode" "$log" || { show "$log"; fail "not attached in native mode"; }
grep -q "sent by XDP" "$log" || { show "$log"; fail "adverts not sent by XDP live frames"; }
if [[ -s $OUT/tcpdump.txt ]]; then
  grep -q "vrid 51" "$OUT/tcpdump.txt" || { show "$OUT/tcpdump.txt"; fail "no advert seen on the wire"; }
fi
echo "ok attached, master, adverts sent"
! grep -q "SCHED_RR refused" "$log" || fail "$(grep 'SCHED_RR refused' "$log")"
echo "ok VRRP thread in SCHED_RR"
[[ $(cat "$OUT/vmac.disable_ipv6") == 1 ]] || fail "vmac51's disable_ipv6: $(cat "$OUT/vmac.disable_ipv6")"
echo "ok use_vmac (macvlan, /proc/sys/net written)"
! grep -q "cannot run" "$log" || fail "a script could not start: $(grep 'cannot run' "$log")"
grep -q "VRRP_Script(chk_slow) timed_out" "$log" \
  || { show "$log"; fail "the track script was not killed at its timeout"; }
! grep -q "already running" "$log" || fail "a timed-out script was not killed: $(grep 'already running' "$log")"
echo "ok track script as nobody, killed at its timeout"
grep -q "TCP connection to \[10.9.0.11\]:tcp:7 failed" "$log" || { show "$log"; fail "the TCP_CHECK never ran"; }
! grep -q "binding the check" "$log" || fail "$(grep -m1 'binding the check' "$log")"
echo "ok checker bound to port 999"
[[ $(cat "$OUT/fifo.type") == fifo ]] || fail "notify_fifo: $(cat "$OUT/fifo.type")"
! grep -q "notify fifo" "$log" || fail "$(grep 'notify fifo' "$log")"
echo "ok notify_fifo"
grep -qx vips4 "$OUT/pins.running" || fail "pins: $(cat "$OUT/pins.running")"
! grep -q "prog/xdp" "$OUT/link.stopped" || fail "SIGTERM left the program attached: $(cat "$OUT/link.stopped")"
[[ ! -s $OUT/pins.stopped ]] || fail "SIGTERM left pins: $(cat "$OUT/pins.stopped")"
grep -q "does not exist" "$OUT/vmac.stopped" || fail "SIGTERM left vmac51"
echo "ok clean stop: detached, unpinned, vmac removed"
grep -q "lb program of the previous lbd replaced in place" "$OUT/restart.log" \
  || { show "$OUT/restart.log"; fail "a restart after SIGKILL did not replace the program"; }
grep -q "lbd ready" "$OUT/restart.log" || { show "$OUT/restart.log"; fail "no restart after SIGKILL"; }
! grep -q "prog/xdp" "$OUT/link.restarted" || fail "the restarted lbd left its program attached"
echo "ok restart after SIGKILL"
! grep -q "Read-only file system" "$log" "$OUT/restart.log" \
  || fail "a write the sandbox refuses: $(grep -h 'Read-only' "$log" "$OUT/restart.log")"
echo "PASS sandbox"
