#!/usr/bin/env bash
# Hitless restart: a master's lbd SIGKILLed and started again, 20 times,
# with a client opening connections through the VIP all along and 8
# established connections held open: no connection fails, none breaks, the
# peer sees no transition (the restarted daemon resumes as MASTER from its
# lease before the peer's Master_Down_Interval ends), and the counters carry
# on from the adopted maps. Then `lbd --cleanup` removes what the last
# killed daemon left.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

RESTARTS=${LBD_RESTARTS:-20}
vrrp_conf lb1 150
vrrp_conf lb2 100
vrrp_pair_start
gets lb1 10.213.0.100 || fail "lb1 is master without the VIP"
wait_next_hops lb1 3

py() { python3 -c "import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if ($2) else 1)" "$1"; }
vip_packets() {
  lbctl_json lb1 stats | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(sum(v["counters"]["packets"] for v in r["vips"] if v["vip"] == "10.213.0.100:tcp:7"))'
}
lb2_status=$(lbctl_json lb2 status)
py "$lb2_status" 'r["instances"][0]["state"] == "BACKUP"' || fail "lb2 is not BACKUP: $lb2_status"
lb2_transitions=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["instances"][0]["transitions"])' "$lb2_status")
lb2_mark=$(log_mark lb2)

# Established connections, and a client that keeps opening new ones.
exec {sess}> >(ip netns exec "$P-cl" python3 tests/tools/client.py session --addr 10.213.0.100 --port 7 --count 8 \
                 --timeout 3 >"$WORK/session.out")
session_line() { sed -n "${1}p" "$WORK/session.out"; }
deadline=$((SECONDS + 5))
until [[ -n $(session_line 1) ]]; do ((SECONDS < deadline)) || fail "no sessions"; sleep 0.1; done
conns=$(session_line 1)
py "$conns" 'None not in r["conns"]' || fail "sessions did not all open: $conns"
exec {steady}> >(ip netns exec "$P-cl" python3 tests/tools/client.py steady --addr 10.213.0.100 --port 7 \
                   --interval 0.01 --timeout 2 --max-seconds 600 >"$WORK/steady.out")

packets=$(vip_packets)
for i in $(seq "$RESTARTS"); do
  cat "$WORK/lb1.log" >>"$WORK/lb1.all.log"
  lbd_kill lb1
  lbd_start lb1 "$WORK/lb1.conf"
  grep -q "adopted the maps" "$WORK/lb1.log" || fail "restart $i: maps not adopted: $(cat "$WORK/lb1.log")"
  grep -q "lb program of the previous lbd replaced in place" "$WORK/lb1.log" || fail "restart $i: program not replaced"
  wait_log lb1 0 "(VI_1) Resuming MASTER STATE" 2
  no_log lb1 0 "Entering MASTER STATE"
  now=$(vip_packets)
  ((now >= packets)) || fail "restart $i: VIP packets went from $packets back to $now"
  packets=$now
  # The restarted daemon serves (and renews its lease) for a moment.
  sleep 0.3
done
cat "$WORK/lb1.log" >>"$WORK/lb1.all.log"

echo quit >&"$steady"
exec {steady}>&-
deadline=$((SECONDS + 10))
until [[ -s $WORK/steady.out ]]; do ((SECONDS < deadline)) || fail "no steady client result"; sleep 0.1; done
steady_out=$(cat "$WORK/steady.out")
py "$steady_out" 'r["errors"] == 0 and r["ok"] > 0 and len(r["counts"]) == 3' \
  || fail "client connections during $RESTARTS restarts: $steady_out"
echo ping >&"$sess"
deadline=$((SECONDS + 5))
until [[ -n $(session_line 2) ]]; do ((SECONDS < deadline)) || fail "no session reply"; sleep 0.05; done
python3 - "$conns" "$(session_line 2)" <<'PY' || fail "an established connection broke: $(session_line 2)"
import json, sys
conns = json.loads(sys.argv[1])["conns"]
replies = json.loads(sys.argv[2])["replies"]
sys.exit(0 if replies == conns else 1)
PY
echo quit >&"$sess"
exec {sess}>&-

# From each start to its first advert, as the log's clock has it.
took=$(python3 - "$WORK/lb1.all.log" <<'PY'
import datetime, statistics, sys
def at(line):
    return datetime.datetime.strptime(" ".join(line.split()[1:4]), "%b %d %H:%M:%S.%f")
starts, resumed = [], []
for line in open(sys.argv[1]):
    if "Starting lbd" in line: starts.append(at(line))
    elif "Resuming MASTER STATE" in line: resumed.append(at(line))
ms = [(r - s).total_seconds() * 1000 for s, r in zip(starts[1:], resumed)]
print(f"start to first advert: median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms over {len(ms)}")
PY
)
no_log lb2 "$lb2_mark" "Entering MASTER STATE"
lb2_status=$(lbctl_json lb2 status)
py "$lb2_status" "r['instances'][0]['state'] == 'BACKUP' and r['instances'][0]['transitions'] == $lb2_transitions" \
  || fail "lb2 changed state during the restarts: $lb2_status"
((packets > 0)) || fail "no VIP packets counted"
echo "ok: $RESTARTS SIGKILL restarts: $(py "$steady_out" 'print(r["ok"]) or True' | head -1) new connections, 0 failed; 8 established kept; lb2 stayed BACKUP (transitions $lb2_transitions); VIP packets up to $packets"

# What a killed daemon leaves, --cleanup removes.
lbd_kill lb1
pins="/run/$P-lab/bpffs/lbd/$P-lb1"
[[ -e $pins/conntrack4 ]] || fail "no pins left by the killed daemon"
lbd_in lb1 -l --cleanup -f "$WORK/lb1.conf" --instance "$P-lb1" >"$WORK/cleanup.log" 2>&1 \
  || fail "lbd --cleanup failed: $(cat "$WORK/cleanup.log")"
[[ ! -e $pins ]] || fail "pins left after --cleanup: $(ls "$pins")"
[[ $(ip -n "$P-lb1" -d link show dev eth0) != *"prog/xdp"* ]] || fail "lb program still on eth0 after --cleanup"
! holds lb1 10.213.0.100 || fail "VIP still on lb1 after --cleanup"
echo "ok: $took"
echo "ok: lbd --cleanup removed the program, the pins and the VIP"
echo "PASS"
