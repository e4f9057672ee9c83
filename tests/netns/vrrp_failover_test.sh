#!/usr/bin/env bash
# VRRP between two lbd nodes with real traffic: the higher priority is
# elected and holds the VIP; a SIGKILLed master is replaced within
# Master_Down_Interval (+100 ms) as a client pinging every 10 ms sees it; the
# old master returns and preempts; SIGTERM (priority 0) hands over within one
# advert interval (+100 ms); with nopreempt a returning node stays backup.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

# advert_int 1 s, VRRPv3: lb2 (priority 100) waits 3 * 1 s + (256 - 100) / 256 s.
MASTER_DOWN_MS=3609
ADVERT_MS=1000

# lb1's notify scripts log what they are given: `notify` gets INSTANCE NAME
# STATE PRIORITY appended, notify_master its own arguments only.
printf '#!/bin/sh\necho "$*" >>"%s/notify.log"\n' "$WORK" >"$WORK/notify.sh"
chmod +x "$WORK/notify.sh"
vrrp_conf lb1 150 "notify $WORK/notify.sh" "notify_master \"$WORK/notify.sh became-master\""
vrrp_conf lb2 100
vrrp_pair_start
gets lb1 10.213.0.100 || fail "lb1 is master without the VIP"
! holds lb2 10.213.0.100 || fail "lb2 is backup with the VIP"
echo "ok: lb1 (150) elected over lb2 (100)"
# Scripts run as children of the VRRP loop: wait for their lines.
wait_for_line "$WORK/notify.log" "^INSTANCE VI_1 MASTER 150$" 5
wait_for_line "$WORK/notify.log" "^became-master$" 5
grep -qx "INSTANCE VI_1 BACKUP 150" "$WORK/notify.log" || fail "no BACKUP notify at start: $(cat "$WORK/notify.log")"
echo "ok: notify and notify_master ran"

# Traffic to the virtual service goes through the master.
out=$(client spread --proto tcp --addr 10.213.0.100 --port 7 --count 30)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["errors"]==0 and len(r["counts"])==3, r' "$out" \
  || fail "service through lb1: $out"

# SIGKILL (with the node's link, see node_crash): lb2 takes over after
# Master_Down_Interval. The outage is at least the time since lb1's last
# advert, so it cannot be near zero.
m2=$(log_mark lb2)
gap=$(outage_during 7 node_crash lb1)
wait_log lb2 "$m2" "(VI_1) Entering MASTER STATE" 1
gets lb2 10.213.0.100 || fail "lb2 is master without the VIP"
python3 -c "import sys; sys.exit(0 if $MASTER_DOWN_MS - $ADVERT_MS <= $gap <= $MASTER_DOWN_MS + 100 else 1)" \
  || fail "outage after SIGKILL ${gap} ms, not within Master_Down_Interval ${MASTER_DOWN_MS} ms - one advert .. + 100 ms"
echo "ok: SIGKILL of the master: outage ${gap} ms (Master_Down_Interval ${MASTER_DOWN_MS} ms)"
out=$(client spread --proto tcp --addr 10.213.0.100 --port 7 --count 30)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["errors"]==0 and len(r["counts"])==3, r' "$out" \
  || fail "service through lb2: $out"

# lb1 returns with the higher priority and preempts.
m2=$(log_mark lb2)
node_revive lb1
lbd_start lb1 "$WORK/lb1.conf"
wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
wait_log lb2 "$m2" "(VI_1) Entering BACKUP STATE" 5
gets lb1 10.213.0.100 && drops lb2 10.213.0.100 || fail "VIP not back on lb1 alone"
echo "ok: lb1 came back and preempted"

# SIGTERM: lb1 sends priority 0, lb2 takes over after Skew_Time.
m2=$(log_mark lb2)
gap=$(outage_during 4 lbd_stop lb1)
wait_log lb2 "$m2" "(VI_1) Entering MASTER STATE" 1
python3 -c "import sys; sys.exit(0 if $gap <= $ADVERT_MS + 100 else 1)" \
  || fail "outage after SIGTERM ${gap} ms > ${ADVERT_MS} + 100 ms"
drops lb1 10.213.0.100 || fail "lb1 kept the VIP after SIGTERM"
grep -qx "INSTANCE VI_1 STOP 150" "$WORK/notify.log" || fail "no STOP notify at shutdown: $(cat "$WORK/notify.log")"
echo "ok: SIGTERM of the master: outage ${gap} ms, notify STOP ran"

# nopreempt: lb1 returns and stays backup for two Master_Down_Intervals.
vrrp_conf lb1 150 nopreempt
lbd_start lb1 "$WORK/lb1.conf"
wait_log lb1 0 "(VI_1) Entering BACKUP STATE" 10
m1=$(log_mark lb1)
deadline=$((SECONDS + 8))
while ((SECONDS < deadline)); do
  no_log lb1 "$m1" "Entering MASTER STATE"
  holds lb2 10.213.0.100 || { tail -n 20 "$WORK/lb1.log" "$WORK/lb2.log"; fail "lb2 lost the VIP to a nopreempt node"; }
  sleep 0.5
done
echo "ok: nopreempt: lb1 stays backup"
echo "PASS"
