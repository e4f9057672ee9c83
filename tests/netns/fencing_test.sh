#!/usr/bin/env bash
# Self-fencing: the master's lbd SIGKILLed and not restarted, its link left
# up. Its XDP program and the VIP stay on the node, but once its lease runs
# out the node answers no ARP for the VIP and forwards none of its traffic:
# captured on the bridge port of the old master while the client ARPs for
# the VIP and sends the service's traffic straight to the old master's MAC.
# The backup serves. A daemon started on the fenced node begins as BACKUP.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

LB1_MAC=02:d5:00:00:00:02
VIP=10.213.0.100
VIP_HEX=0x0ad50064
vrrp_conf lb1 150
vrrp_conf lb2 100
vrrp_pair_start
gets lb1 "$VIP" || fail "lb1 is master without the VIP"
wait_next_hops lb1 3

# capture_start NAME: every frame lb1 sends into the bridge, into
# $WORK/NAME.pcap; waits until tcpdump listens. capture_stop ends it once a
# marker (a ping from lb1's own address) is written: everything lb1 sent
# before it is in the file then.
capture_pid=
capture_start() {
  ip netns exec "$P-br" timeout 60 tcpdump -i veth-lb1 --immediate-mode -U -n -w "$WORK/$1.pcap" \
    "ether src $LB1_MAC" 2>"$WORK/$1.tcpdump" &
  capture_pid=$!
  wait_for_line "$WORK/$1.tcpdump" "listening on" 5
}
capture_stop() {
  local deadline=$((SECONDS + 5))
  ip netns exec "$P-lb1" ping -c 1 -W 1 10.213.0.10 >/dev/null || fail "lb1 cannot ping the client"
  until (($(tcpdump -r "$WORK/$1.pcap" -n "icmp and src host 10.213.0.2" 2>/dev/null | wc -l) > 0)); do
    ((SECONDS < deadline)) || fail "the marker never reached the capture"
    sleep 0.05
  done
  kill -TERM "$capture_pid"
  wait "$capture_pid" || true
}
# frames NAME: what lb1 sent for the VIP: ARP replies for it, and IP to or
# from it (forwarded to a real, or answered by lb1's kernel).
frames() {
  tcpdump -r "$WORK/$1.pcap" -n "(arp and arp[6:2] == 2 and arp[14:4] == $VIP_HEX) or (ip and host $VIP)" \
    2>/dev/null | wc -l
}
# traffic: the client asks who has the VIP (a fresh ARP), then sends the
# service's traffic to lb1's MAC whatever ARP said.
traffic() {
  ip -n "$P-cl" neigh flush dev eth0
  client spread --proto tcp --addr "$VIP" --port 7 --count 5 --timeout 1 >/dev/null
  ip -n "$P-cl" neigh replace "$VIP" lladdr "$LB1_MAC" dev eth0 nud permanent
  client spread --proto tcp --addr "$VIP" --port 7 --count 10 --timeout 1
  ip -n "$P-cl" neigh del "$VIP" dev eth0
}
reason() {
  bpftool -j map dump pinned "/run/$P-lab/bpffs/lbd/$P-lb1/reasons" | python3 -c '
import json, sys
names = sys.argv[1:]
want = {"fwd_tx": 0, "drop_fenced": 16, "drop_fenced_neigh": 17}[names[0]]
for e in json.load(sys.stdin):
    if e["formatted"]["key"] == want:
        print(sum(v["value"] for v in e["formatted"]["values"]))' "$1"
}

# The capture sees what it should while lb1 serves: its ARP replies and the
# frames it forwards.
capture_start serving
out=$(traffic)
capture_stop serving
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["errors"] == 0 else 1)' "$out" \
  || fail "lb1 did not serve while alive: $out"
(($(frames serving) > 0)) || fail "the capture saw nothing of lb1 serving"
echo "ok: while lbd runs, lb1 answers ARP for the VIP and forwards ($(frames serving) frames)"

m2=$(log_mark lb2)
lbd_kill lb1
wait_log lb2 "$m2" "(VI_1) Entering MASTER STATE" 6
gets lb2 "$VIP" || fail "lb2 is master without the VIP"
holds lb1 "$VIP" || fail "the killed lbd took its VIP along: nothing left to fence"
fenced_before=$(reason drop_fenced)
neigh_before=$(reason drop_fenced_neigh)

capture_start fenced
out=$(traffic)
capture_stop fenced
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["errors"] == 10 else 1)' "$out" \
  || fail "connections through the fenced lb1 were answered: $out"
n=$(frames fenced)
((n == 0)) || fail "the fenced lb1 sent $n frames for the VIP: $(tcpdump -r "$WORK/fenced.pcap" -n -e 2>/dev/null | head)"
fenced=$(($(reason drop_fenced) - fenced_before))
neigh=$(($(reason drop_fenced_neigh) - neigh_before))
((fenced > 0 && neigh > 0)) || fail "drop_fenced +$fenced, drop_fenced_neigh +$neigh: the traffic did not reach lb1"
echo "ok: fenced lb1 answered no ARP and forwarded nothing (drop_fenced +$fenced, drop_fenced_neigh +$neigh)"

# The backup serves the same client.
out=$(client spread --proto tcp --addr "$VIP" --port 7 --count 20)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["errors"] == 0 and len(r["counts"]) == 3 else 1)' "$out" \
  || fail "lb2 does not serve: $out"
echo "ok: lb2 serves the VIP"

# A daemon started on the fenced node: BACKUP first, its VIP released, and
# only then the election (lb1's priority is higher: it preempts).
m2=$(log_mark lb2)
lbd_start lb1 "$WORK/lb1.conf"
grep -q "lease of the previous lbd expired" "$WORK/lb1.log" || fail "no word of the expired lease: $(cat "$WORK/lb1.log")"
wait_log lb1 0 "(VI_1) Entering BACKUP STATE (init)" 2
wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
wait_log lb2 "$m2" "(VI_1) Entering BACKUP STATE" 5
echo "ok: restarted on the fenced node, lb1 began as BACKUP, then preempted"
echo "PASS"
