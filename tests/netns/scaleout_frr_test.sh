#!/usr/bin/env bash
# Scale-out with FRR as a node's BGP engine (docs/scale-out.md): in the
# lab's --bgp topology lb3 runs FRR (zebra, bfdd, bgpd) from
# config/scale-out/frr-node.conf instead of BIRD; the router runs BIRD.
# - lb3's IPv4 VIPs reach the router through FRR's table import, next to
#   lb1's and lb2's through BIRD, and connections through lb3 are served.
# - A VIP whose last real fails leaves the router through FRR too.
# - lb3's lbd dead: its fence cuts FRR's BFD and BGP sessions and the router
#   withdraws lb3 within seconds; a new lbd brings it back.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
command -v vtysh >/dev/null || { echo "SKIP: FRR is not installed (scripts/deps.sh)"; exit 77; }
lab_test_begin --bgp --frr

VIP=10.216.0.100
SOLO=10.216.0.101
vtysh_lb3() { vtysh --vty_socket "/run/$P-lab/frr-lb3" "$@"; }
bgp_nodes_start lb1 lb2 lb3
wait_rt_hops "$SOLO" 3 5 >/dev/null
rt_hops "$VIP" | grep -qx 10.213.0.4 || fail "the router has no next hop through lb3: $(rt_hops "$VIP" | tr '\n' ' ')"
table=$(vtysh_lb3 -c "show ip route table 100")
[[ $table == *"$VIP/32"* && $table == *"$SOLO/32"* ]] || fail "FRR did not import table 100: $table"
[[ $(vtysh_lb3 -c "show bfd peers brief") == *" up "* ]] || fail "lb3's BFD session is not up: $(vtysh_lb3 -c "show bfd peers brief")"
echo "ok: FRR on lb3 imports table 100 and announces it: the router has lb1, lb2 and lb3 for $VIP"

before=$(vip_packets_on lb3)
out=$(client_ext spread --proto tcp --addr "$VIP" --port 7 --count 60)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["errors"] == 0 else 1)' "$out" ||
  fail "spread over the VIP: $out"
(($(vip_packets_on lb3) > before)) || fail "lb3 forwarded none of 60 connections"
echo "ok: 60 connections served, lb3 among the nodes"

kill -KILL "$(cat "/run/$P-lab/rs4.pid")"
wait_rt_hops "$SOLO" 0 10 >/dev/null
scripts/lab.sh up --bgp --frr >/dev/null
wait_rt_hops "$SOLO" 3 15 >/dev/null
echo "ok: rs4 down: $SOLO withdrawn by all three nodes, FRR's included; back with rs4"

rt_watch "$VIP" 20
killed=$(now_ms)
lbd_kill lb3
withdrawn=$(($(rt_watch_until 2 10) - killed))
((withdrawn >= 1500 && withdrawn < 5000)) || fail "lb3 withdrawn $withdrawn ms after its lbd died"
rt_hops "$VIP" | grep -qx 10.213.0.4 && fail "lb3 is still a next hop"
lbd_start lb3 "$WORK/lb3.conf"
wait_rt_hops "$VIP" 3 20 >/dev/null
echo "ok: lb3's lbd dead: FRR's sessions cut, the router withdrew lb3 $withdrawn ms later; back with a new lbd"
echo "PASS"
