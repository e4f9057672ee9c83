#!/usr/bin/env bash
# lbd speaks systemd's notification protocol (config/lbd.service is
# Type=notify with WatchdogSec=), checked without systemd: a listener stands
# in for its socket and lbd gets the environment systemd gives it
# (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID = its own pid). With a VRRP
# instance: READY=1 with a STATUS= line once it is ready, WATCHDOG=1 from the
# VRRP loop at least 3 times in 4 s (WatchdogSec=2s: one every second),
# RELOADING=1 and READY=1 again around a SIGHUP, STOPPING=1 on SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

SOCK=$WORK/notify.sock
RECORD=$WORK/notify.jsonl
trap 'kill "${NOTIFY_LISTENER:-}" 2>/dev/null || true; lab_test_end' EXIT
notify_listener "$SOCK" "$RECORD"

# lbd_start runs $BUILD/lbd: put a wrapper there that sets WATCHDOG_PID to
# its own pid and execs the real lbd, which so keeps that pid, as it has
# under systemd.
REAL_BUILD=$BUILD
BUILD=$WORK/bin
mkdir -p "$BUILD"
cat >"$BUILD/lbd" <<EOF
#!/usr/bin/env bash
export NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=2000000 WATCHDOG_PID=\$\$
exec $REAL_BUILD/lbd "\$@"
EOF
chmod +x "$BUILD/lbd"

# count PATTERN [SINCE]: datagrams matching PATTERN (a Python regex, the
# whole datagram) recorded at or after monotonic time SINCE.
count() {
  python3 -c '
import json, re, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["t"] >= float(sys.argv[3]) and re.fullmatch(sys.argv[2], r["msg"], re.S):
        n += 1
print(n)
' "$RECORD" "$1" "${2:-0}"
}
now() { python3 -c 'import time; print(time.monotonic())'; }
# wait_datagram PATTERN SINCE SECONDS WHAT: until one is recorded.
wait_datagram() {
  local deadline=$((SECONDS + $3))
  until (($(count "$1" "$2") > 0)); do
    if ((SECONDS >= deadline)); then
      echo "--- datagrams received"; cat "$RECORD" 2>/dev/null || true
      fail "no $4 from lbd within $3 s: the daemon does not call lbd::sd::$5 yet (see userspace/util/sd_notify.h)"
    fi
    sleep 0.1
  done
}

touch "$RECORD"
vrrp_conf lb1 150
start=$(now)
lbd_start lb1 "$WORK/lb1.conf"
wait_datagram 'READY=1\nSTATUS=.+' "$start" 5 "READY=1 with a STATUS= line" "ready()"
echo "ok READY=1: $(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)["msg"]
    if m.startswith("READY=1"):
        print(m.replace("\n", " | ")); break
' "$RECORD")"

from=$(now)
sleep 4
pings=$(count 'WATCHDOG=1' "$from")
if ((pings < 3)); then
  cat "$RECORD"
  fail "$pings WATCHDOG=1 in 4 s at WATCHDOG_USEC=2000000, want 3 or more: no loop ticks a WatchdogPacer yet"
fi
echo "ok $pings WATCHDOG=1 in 4 s"

from=$(now)
lbd_reload lb1
wait_datagram 'RELOADING=1\nMONOTONIC_USEC=[0-9]+' "$from" 5 "RELOADING=1 on SIGHUP" "reloading()"
wait_datagram 'READY=1\nSTATUS=.+' "$from" 5 "READY=1 after the reload" "ready() after a reload"
echo "ok RELOADING=1, then READY=1"

from=$(now)
lbd_stop lb1
wait_datagram 'STOPPING=1' "$from" 5 "STOPPING=1 on SIGTERM" "stopping()"
echo "ok STOPPING=1"
echo "PASS systemd_notify"
