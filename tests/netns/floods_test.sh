#!/usr/bin/env bash
# Floods must not cost established connections: 24 connections open through
# the VIP and silent, then a spoofed-source SYN flood (hping3 --rand-source)
# and a UDP flood, each far larger than the flow tables (lb_conntrack_size
# 4096), each with the ring changing under it (a real drained, then put
# back and another drained); afterwards every connection still answers, from
# the real it had. During the floods the control socket answers `lbctl
# status`, and SIGHUP and SIGTERM are taken up, within 100 ms (status: median
# of five).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
command -v hping3 >/dev/null || { echo "SKIP: hping3 is not installed (scripts/deps.sh)"; exit 77; }
lab_test_begin --vrrp

FLOOD_S=6
GLOBAL_LINES="  lb_conntrack_size 4096
  lb_flood_guard 5000" EXTRA_BLOCKS="virtual_server 10.213.0.100 53 {
  lb_kind DR
  protocol UDP
$(for n in 1 2 3; do echo "  real_server 10.213.0.1$n 53 { weight 1 }"; done)
}" vrrp_conf lb1 150
lbd_start lb1 "$WORK/lb1.conf"
wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
wait_next_hops lb1 3

exec {sess}> >(exec ip netns exec "$P-cl" python3 tests/tools/client.py session --addr 10.213.0.100 --port 7 \
                 --count 24 --timeout 5 >"$WORK/session.out")
conns=$(wait_session_line 1)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert None not in r["conns"] and "rs1" in r["conns"], r' \
  "$conns" || fail "sessions did not open, or none on rs1: $conns"
echo ping >&"$sess"
wait_session_line 2 >/dev/null
echo "ok: 24 connections open: $conns"

stats() { lbctl_json lb1 stats; }
event() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["flow_events"][sys.argv[2]])' "$1" "$2"; }
before=$(stats)

# flood ARGS...: hping3 from the client at the VIP for FLOOD_S seconds, in
# the background; its pid in $flood.
flood() {
  ip netns exec "$P-cl" timeout "$FLOOD_S" hping3 --flood --rand-source -q "$@" 10.213.0.100 \
    >/dev/null 2>&1 &
  flood=$!
}

# taken_up SIGNAL LINE: sends lb1 SIGNAL and prints how long (ms) it took
# until lb1's log shows LINE; fails past 100 ms (or with no LINE in 2 s).
taken_up() {
  local m t0 took
  m=$(log_mark lb1)
  t0=$(date +%s%N)
  kill -"$1" "$(cat "$WORK/lb1.pid")"
  until grep -q -- "$2" <<<"$(tail -n +"$((m + 1))" "$WORK/lb1.log")"; do
    (( ($(date +%s%N) - t0) / 1000000 < 2000 )) || fail "SIG$1 not taken up in 2 s during the flood"
    sleep 0.01
  done
  took=$(( ($(date +%s%N) - t0) / 1000000 ))
  ((took < 100)) || fail "SIG$1 taken up after ${took} ms during the flood"
  echo "$took"
}

# responsive: lbctl status round trips (median of five, ms), and how long a
# SIGHUP takes to be taken up (until "Reloading" is logged).
responsive() {
  local ms
  ms=$(python3 - "$BUILD/lbctl" "$P-lb1" <<'PY'
import statistics, subprocess, sys, time
times = []
for _ in range(5):
    t = time.monotonic()
    subprocess.run([sys.argv[1], "--instance", sys.argv[2], "status"], check=True, capture_output=True,
                   timeout=10)
    times.append((time.monotonic() - t) * 1000)
print(round(statistics.median(times)))
PY
  )
  ((ms < 100)) || fail "lbctl status took ${ms} ms (median) during the flood"
  local m took
  m=$(log_mark lb1)
  took=$(taken_up HUP "Reloading")
  wait_log lb1 "$m" "Reload finished" 10
  echo "  during the flood: lbctl status ${ms} ms (median), SIGHUP taken up in ${took} ms"
}

# The SYN flood, and rs1 drained (its ring slots go to rs2 and rs3) in it.
flood -S -p 7
sleep 1
out=$(lbctl_json lb1 drain 10.213.0.11) || fail "drain: $out"
responsive
wait "$flood" || true
mid=$(stats)
syns=$(( $(event "$mid" syn_untracked) - $(event "$before" syn_untracked) ))
((syns > 4096)) || fail "the SYN flood was too small to matter: $syns SYNs"
echo "ok: a SYN flood of $syns spoofed SYNs made no entries, rs1 drained during it"

# The UDP flood, rs1 back and rs2 drained in it.
flood --udp -p 53
sleep 1
lbctl_json lb1 undrain 10.213.0.11 >/dev/null
lbctl_json lb1 drain 10.213.0.12 >/dev/null
responsive
wait "$flood" || true
after=$(stats)
udp=$(( $(event "$after" inserted) + $(event "$after" guarded) - $(event "$mid" inserted) - $(event "$mid" guarded) ))
((udp > 4096)) || fail "the UDP flood was too small to matter: $udp new flows"
guarded=$(( $(event "$after" guarded) - $(event "$mid" guarded) ))
((guarded > 0)) || fail "the flood guard refused nothing in a flood of $udp new flows"
echo "ok: a UDP flood of $udp new flows, $guarded refused an entry by the guard, rs2 drained during it"

echo ping >&"$sess"
replies=$(wait_session_line 3)
python3 -c 'import json,sys; a=json.loads(sys.argv[1])["replies"]; b=json.loads(sys.argv[2])["conns"]
assert [x.split()[0] if x else None for x in a] == b, (a, b)' "$replies" "$conns" \
  || fail "connections lost or moved by the floods: $replies (before: $conns)"
echo quit >&"$sess"
exec {sess}>&-
echo "ok: all 24 connections answer from their own reals after both floods: $replies"

# SIGTERM during a flood: taken up (the log's "Stopping") within 100 ms,
# and the daemon gone in the time its stop takes anyway.
flood --udp -p 53
sleep 1
took=$(taken_up TERM "Stopping")
lbd_stop lb1
wait "$flood" || true
echo "ok: SIGTERM taken up in ${took} ms during a UDP flood"
