#!/usr/bin/env bash
# lbctl capture in the lab (lb1 master, lb2 backup, VRRP between them): the
# backup captures the master's adverts as it receives them, the master the
# adverts it sends, and the master the client's packets it forwards, with
# their rewritten Ethernet header; each pcap is read by tcpdump. A summary
# line per packet without -w; a capture whose lbctl is killed ends by itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

vrrp_conf lb1 150
vrrp_conf lb2 100
vrrp_pair_start
wait_next_hops lb1 3

# read_pcap FILE [ARGS]: tcpdump -n -e's lines for FILE, failing when it
# cannot read it.
read_pcap() {
  local file=$1; shift
  tcpdump -n -e "$@" -r "$file" 2>"$WORK/tcpdump.err" || fail "tcpdump cannot read $file: $(cat "$WORK/tcpdump.err")"
}

# header_written FILE: until lbctl has written FILE's pcap header, which it
# does once its session is open.
header_written() {
  local deadline=$((SECONDS + 5))
  until (($(stat -c %s "$1" 2>/dev/null || echo 0) >= 24)); do
    ((SECONDS < deadline)) || fail "capture into $1 did not start"
    sleep 0.05
  done
}

# The backup receives the master's adverts (advert_int 1 s): three in some 3 s.
lbctl_on lb2 capture --vrrp -c 3 --duration 8 -w "$WORK/rx.pcap" 2>"$WORK/rx.err"
grep -q "^3 packet(s) captured" "$WORK/rx.err" || fail "backup's capture: $(cat "$WORK/rx.err")"
lines=$(read_pcap "$WORK/rx.pcap" -v)
(($(grep -c "VRRPv3, Advertisement, vrid 51, prio 150" <<<"$lines") == 3)) \
  || fail "3 adverts of vrid 51 prio 150 expected in what lb2 received: $lines"
echo "ok: the backup's capture holds the master's 3 adverts"

# The master's own adverts leave from its tx program, unseen by tcpdump on
# the node: captured as sent.
lbctl_on lb1 capture --vrrp -c 2 --duration 8 -w "$WORK/tx.pcap" 2>"$WORK/tx.err"
lines=$(read_pcap "$WORK/tx.pcap" -v)
(($(grep -c "VRRPv3, Advertisement, vrid 51, prio 150" <<<"$lines") == 2)) \
  || fail "2 adverts of vrid 51 prio 150 expected in what lb1 sent: $lines"
echo "ok: the master's capture holds the adverts it sent"

# Forwarded packets, as they leave: to the VIP's port 7, the Ethernet
# destination a real's MAC, not the LB's.
"$BUILD/lbctl" --instance "$P-lb1" capture --forwarded -c 5 --duration 15 -w "$WORK/fwd.pcap" 2>"$WORK/fwd.err" &
capture_pid=$!
header_written "$WORK/fwd.pcap"
out=$(client spread --proto tcp --addr 10.213.0.100 --port 7 --count 10)
wait "$capture_pid" || fail "forwarded capture: $(cat "$WORK/fwd.err")"
lines=$(read_pcap "$WORK/fwd.pcap")
(($(grep -c "> 10.213.0.100.7: " <<<"$lines") == 5)) || fail "5 packets to the VIP expected: $lines"
lb1_mac=$(ip -n "$P-lb1" -o link show eth0 | grep -o "link/ether [0-9a-f:]*" | cut -d' ' -f2)
grep "> 10.213.0.100.7: " <<<"$lines" | grep -q "^[0-9:.]* $lb1_mac > " \
  || fail "forwarded frames do not leave from lb1's MAC $lb1_mac: $lines"
! grep "> 10.213.0.100.7: " <<<"$lines" | grep -q "> $lb1_mac, " \
  || fail "a forwarded frame still addressed to lb1: $lines"
echo "ok: forwarded packets captured as rewritten ($out)"

# Without -w: a line per packet.
text=$(lbctl_on lb2 capture --vrrp -c 1 --duration 8 2>/dev/null)
[[ $text == *"eth0 vrrp pass rx_queued len "*"VRRPv3 vrid 51 prio 150"* ]] || fail "summary line: $text"
echo "ok: summary line: $text"

# Sessions of killed clients end once their lease (3 s) runs out: with the
# daemon's 4 sessions taken, a fifth is refused until then.
pids=()
for n in 1 2 3 4; do
  "$BUILD/lbctl" --instance "$P-lb1" capture --passed --duration 60 -w "$WORK/held$n.pcap" 2>"$WORK/held$n.err" &
  pids+=($!)
  header_written "$WORK/held$n.pcap"
done
! lbctl_on lb1 capture --passed --duration 0.1 -w /dev/null 2>"$WORK/refused.err" \
  || fail "a fifth capture session was accepted"
grep -q "4 captures already run" "$WORK/refused.err" || fail "refusal: $(cat "$WORK/refused.err")"
kill -KILL "${pids[@]}"
wait "${pids[@]}" 2>/dev/null || true
deadline=$((SECONDS + 6))
until lbctl_on lb1 capture --passed --duration 0.1 -w /dev/null 2>/dev/null; do
  ((SECONDS < deadline)) || fail "the killed clients' sessions never ended"
  sleep 0.2
done
echo "ok: the sessions of killed clients ended by themselves"
