#!/usr/bin/env bash
# lbd under a real systemd: a transient service (systemd-run) with the unit's
# Type=notify and a WatchdogSec=, in a network namespace of its own with a
# VRRP instance. systemd-run returns once the start job is over, which for
# Type=notify is READY=1; the unit must then be active with a status line,
# its watchdog timestamp must move (WATCHDOG=1 arriving) and it must outlive
# its watchdog interval twice over; a stop must end it cleanly. Needs systemd
# as PID 1: skipped (77), saying what PID 1 is, where it is not.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (namespaces, XDP, systemd-run)"; exit 77; }
state=$(systemctl is-system-running 2>&1) || true
if [[ $state != running && $state != degraded ]]; then
  pid1=$(tr '\0' ' ' </proc/1/cmdline | cut -c1-120)
  probe=$(timeout 10 systemd-run --quiet --unit="lbdt-probe-$$" /bin/true 2>&1 | tr '\n' ' ') || true
  echo "SKIP: systemd is not this machine's service manager, so systemd-run cannot start a unit."
  echo "  PID 1 is '$(cat /proc/1/comm)' ($pid1)"
  echo "  systemctl is-system-running: $(tr '\n' ' ' <<<"$state")"
  echo "  systemd-run: ${probe:-no answer}"
  echo "  The unit file is checked by systemd.unit_verify, its sandbox by systemd.sandbox, and the"
  echo "  notification protocol by tests/netns/systemd_notify_test.sh: none needs systemd running."
  exit 77
fi

BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
NS=lbdt-sdrun
UNIT=lbdt-sdrun-$$
WATCHDOG=2
WORK=$(mktemp -d /tmp/lbd-sdrun.XXXXXX)
fail() {
  echo "FAIL: $*" >&2
  journalctl -u "$UNIT" --no-pager -n 50 >&2 || true
  exit 1
}
cleanup() {
  systemctl stop "$UNIT" 2>/dev/null || true
  systemctl reset-failed "$UNIT" 2>/dev/null || true
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link add va type veth peer name vb
for i in lo va vb; do ip -n "$NS" link set "$i" up; done
ip -n "$NS" addr add 10.9.0.1/24 dev va
cat >"$WORK/lbd.conf" <<'EOF'
global_defs {
  lb_interface va
}
vrrp_instance VI_1 {
  state BACKUP
  interface va
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress {
    10.9.0.100/32
  }
}
EOF

show() { systemctl show -p "$1" --value "$UNIT"; }
timeout 30 systemd-run --quiet --unit="$UNIT" -p Type=notify -p WatchdogSec="$WATCHDOG" -p KillMode=mixed \
  -p NetworkNamespacePath="/run/netns/$NS" -p LimitMEMLOCK=infinity \
  "$BUILD/lbd" --dont-fork -l -f "$WORK/lbd.conf" --instance "$NS" \
  || fail "systemd-run: the start job failed (no READY=1?)"
[[ $(show ActiveState) == active ]] || fail "not active after its start job: $(show ActiveState)/$(show SubState)"
status=$(show StatusText)
[[ -n $status ]] || fail "READY=1 came without a STATUS= line"
echo "ok READY=1, status: $status"

# WatchdogTimestampMonotonic is when the last WATCHDOG=1 arrived.
declare -A seen=()
for _ in $(seq 40); do
  ts=$(show WatchdogTimestampMonotonic)
  [[ $ts != 0 ]] && seen[$ts]=1
  sleep 0.1
done
((${#seen[@]} >= 3)) || fail "${#seen[@]} watchdog pings seen in 4 s at WatchdogSec=$WATCHDOG (want 3 or more)"
echo "ok ${#seen[@]} watchdog pings in 4 s"
[[ $(show ActiveState) == active && $(show NRestarts) == 0 ]] \
  || fail "did not outlive its watchdog: $(show ActiveState), $(show NRestarts) restarts"
echo "ok alive after $((2 * WATCHDOG)) s"

systemctl stop "$UNIT"
[[ $(show ActiveState) != failed ]] || fail "stopped as failed: $(show Result)"
journalctl -u "$UNIT" --no-pager | grep -q "Stopping" || fail "no Stopping line in the journal"
echo "PASS systemd_run"
