#!/usr/bin/env bash
# no_accept (RFC 5798 Accept_Mode false): the master, not the address
# owner, answers no ping and no TCP to its VIP outside the virtual service
# (drop_no_accept counted), serves the service, and still answers ARP for
# the VIP; with `accept` after a reload, the VIP answers ping again.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

vrrp_conf lb1 150 no_accept
lbd_start lb1 "$WORK/lb1.conf"
wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
wait_next_hops lb1 3

reason() { lbctl_json lb1 stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["reasons"][sys.argv[1]])' "$1"; }
before=$(reason drop_no_accept)
ip netns exec "$P-cl" ip neigh flush dev eth0
if ip netns exec "$P-cl" ping -c 2 -W 1 -q 10.213.0.100 >/dev/null; then fail "the VIP answered ping under no_accept"; fi
ip netns exec "$P-cl" ip neigh show 10.213.0.100 dev eth0 | grep -q "lladdr" \
  || fail "no ARP answer for the VIP under no_accept"
out=$(client spread --addr 10.213.0.100 --port 22 --count 1 --timeout 1)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["error_kinds"] == {"timeout": 1}, r' \
  "$out" || fail "TCP to the VIP outside the service reached the node's kernel: $out"
after=$(reason drop_no_accept)
((after >= before + 3)) || fail "drop_no_accept moved from $before to $after only"
out=$(client spread --addr 10.213.0.100 --port 7 --count 10)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["errors"] == 0, r' "$out" \
  || fail "the virtual service is not served under no_accept: $out"
echo "ok: no_accept: ping and TCP to the VIP dropped ($((after - before)) counted), ARP answered, the service served"

sed -i 's/^  no_accept$/  accept/' "$WORK/lb1.conf"
lbd_reload lb1
deadline=$((SECONDS + 5))
until ip netns exec "$P-cl" ping -c 1 -W 1 -q 10.213.0.100 >/dev/null; do
  ((SECONDS < deadline)) || fail "the VIP does not answer ping with accept"
done
echo "ok: accept: the VIP answers ping"
