#!/usr/bin/env bash
# Active-active scale-out (docs/scale-out.md), in the lab's --bgp topology:
# lb1-lb3 run lbd with lb_announce_table 100 and BIRD, the router rt runs
# BIRD with BGP and BFD to each and installs ECMP routes, the client ext is
# behind rt.
# - Each node keeps one host route per VIP in table 100 (dev lo, proto 76),
#   and the router has one next hop per node for each VIP, IPv4 and IPv6.
# - Connections spread over the three nodes: each node's counters move.
# - A VIP whose last real fails leaves every node's table and the router;
#   it comes back with its real.
# - A hitless restart (SIGKILL, new lbd) keeps the routes: the router never
#   loses the node's next hop.
# - lbctl drain-node withdraws the node's VIPs and returns once its traffic
#   has moved; the connections it carried answer from the same reals,
#   none reset; undrain-node brings it back.
# - SIGTERM withdraws the node's VIPs before lbd ends.
# - With a vrrp_instance floating a VIP, only its MASTER announces it, and
#   the announcement follows a failover.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --bgp

VIP=10.216.0.100
VIP6=fd00:216::100
SOLO=10.216.0.101  # rs4 alone
NODES=(lb1 lb2 lb3)
bgp_nodes_start "${NODES[@]}"
wait_rt_hops "$VIP6" 3 5 >/dev/null
wait_rt_hops "$SOLO" 3 5 >/dev/null
for n in "${NODES[@]}"; do
  table=$(ip -n "$P-$n" route show table 100)
  [[ $table == *"$VIP dev lo proto 76 scope link"* && $table == *"$SOLO dev lo proto 76"* ]] ||
    fail "$n's table 100: $table"
  [[ $(ip -n "$P-$n" -6 route show table 100) == *"$VIP6 dev lo proto 76"* ]] || fail "$n: no IPv6 route in table 100"
  status=$(lbctl_json "$n" status)
  python3 -c 'import json,sys; a=json.loads(sys.argv[1])["announce"]
sys.exit(0 if a["table"] == 100 and not a["drained"] and len(a["vips"]) == 3 and all(v["announced"] and v["verdict"] == "announced" for v in a["vips"]) else 1)' \
    "$status" || fail "$n: lbctl status: $status"
  [[ $(lbctl_on "$n" status) == *"ANNOUNCED IN TABLE 100"* ]] || fail "$n: lbctl status says nothing of table 100"
done
echo "ok: three nodes announce three VIPs; the router has three next hops for each"

# Connections spread over the nodes, and every node forwards its share.
declare -A before
for n in "${NODES[@]}"; do before[$n]=$(vip_packets_on "$n"); done
out=$(client_ext spread --proto tcp --addr "$VIP" --port 7 --count 90)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["errors"] == 0 and len(r["counts"]) == 3 else 1)' \
  "$out" || fail "spread over the VIP: $out"
out6=$(client_ext spread --proto tcp --addr "$VIP6" --port 7 --count 30)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["errors"] == 0 else 1)' "$out6" ||
  fail "spread over the IPv6 VIP: $out6"
moved=""
for n in "${NODES[@]}"; do
  d=$(($(vip_packets_on "$n") - ${before[$n]}))
  ((d > 0)) || fail "$n forwarded nothing of 90 connections"
  moved+=" $n +$d"
done
echo "ok: 90 connections answered by rs1-rs3 through all three nodes (packets:$moved); IPv6 too"

# The last real of 10.216.0.101 fails: every node withdraws it.
marks=()
for n in "${NODES[@]}"; do marks+=("$(log_mark "$n")"); done
kill -KILL "$(cat "/run/$P-lab/rs4.pid")"
for i in 0 1 2; do wait_log "${NODES[$i]}" "${marks[$i]}" "Withdrawing VIP $SOLO (table 100): no virtual_server of it has its quorum" 10; done
wait_rt_hops "$SOLO" 0 5 >/dev/null
((($(rt_hops "$VIP" | wc -l)) == 3)) || fail "the other VIP lost next hops"
[[ $(ip -n "$P-lb1" route show table 100) != *"$SOLO"* ]] || fail "lb1 still has $SOLO in table 100"
python3 -c 'import json,sys; a=json.loads(sys.argv[1])["announce"]
sys.exit(0 if [v["verdict"] for v in a["vips"] if v["vip"] == sys.argv[2]] == ["no_quorum"] else 1)' \
  "$(lbctl_json lb1 status)" "$SOLO" || fail "lbctl status does not say why $SOLO is withdrawn"
scripts/lab.sh up --bgp >/dev/null
wait_rt_hops "$SOLO" 3 10 >/dev/null
echo "ok: rs4 down, $SOLO left every node and the router; back with rs4"

# A hitless restart keeps the routes: the router never drops lb2.
rt_watch "$VIP" 8
sleep 1
lbd_kill lb2
lbd_start lb2 "$WORK/lb2.conf"
grep -q "adopted the maps" "$WORK/lb2.log" || fail "lb2 did not adopt its maps"
least=$(rt_watch_least)
[[ $least == 3 ]] || fail "the router had $least next hops while lb2 restarted: $(cat "$WORK/rt_watch.out")"
no_log lb2 0 "Withdrawing VIP"
echo "ok: lb2 SIGKILLed and restarted: the router kept its three next hops, lb2 withdrew nothing"

# drain-node: lb1's traffic moves away with no reset.
ext_sessions_open "$VIP" 24
lb1_before=$(vip_packets_on lb1)
ext_sessions_ping >/dev/null
(($(vip_packets_on lb1) > lb1_before)) || fail "none of the 24 sessions goes through lb1: nothing to drain"
# New connections all along, one every 10 ms: none may fail.
exec {steady}> >(exec ip netns exec "$P-ext" python3 tests/tools/client.py steady --addr "$VIP" --port 7 \
                   --interval 0.01 --timeout 2 --max-seconds 120 >"$WORK/steady.out")
steady_pid=$!
sleep 1
m1=$(log_mark lb1)
drained=$(lbctl_on lb1 drain-node --wait 20) || fail "drain-node: $drained"
[[ $drained == *"node drained: 3 VIP(s) withdrawn"* && $drained == *"flows have moved"* ]] || fail "drain-node said: $drained"
wait_log lb1 "$m1" "Node drained: withdrawing every VIP" 1
((($(rt_hops "$VIP" | wc -l)) == 2)) || fail "the router still has $(rt_hops "$VIP" | wc -l) next hops"
[[ $(ip -n "$P-lb1" route show table 100) == "" ]] || fail "lb1's table 100 is not empty"
replies=$(ext_sessions_ping)
ext_sessions_same "$replies" || fail "after the drain: $EXT_CONNS -> $replies"
lb1_after=$(vip_packets_on lb1)
ext_sessions_ping >/dev/null
client_ext spread --proto tcp --addr "$VIP" --port 7 --count 30 >/dev/null
(($(vip_packets_on lb1) == lb1_after)) || fail "lb1 still forwards after drain-node"
lbctl_on lb1 undrain-node | grep -q "node undrained: 3 VIP(s) announced again" || fail "undrain-node"
wait_rt_hops "$VIP" 3 10 >/dev/null
sleep 1
echo quit >&"$steady"
exec {steady}>&-
wait "$steady_pid" || true
steady=$(cat "$WORK/steady.out")
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["errors"] == 0 and r["ok"] > 100 else 1)' \
  "$steady" || fail "new connections during the drain: $steady"
replies=$(ext_sessions_ping)
ext_sessions_same "$replies" || fail "after the undrain: $EXT_CONNS -> $replies"
echo "ok: drain-node took lb1 out ('$(tail -n1 <<<"$drained")'); 24 connections answered from the same reals, $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ok"])' "$steady") new ones all along; undrain-node put it back"
ext_sessions_close

# SIGTERM: lb3 withdraws before it ends.
m3=$(log_mark lb3)
lbd_stop lb3
wait_log lb3 "$m3" "Withdrawing VIP $VIP (table 100): lbd is stopping" 1
wait_log lb3 "$m3" "No traffic to the withdrawn VIPs" 1
wait_rt_hops "$VIP" 2 5 >/dev/null
[[ $(ip -n "$P-lb3" route show table 100) == "" ]] || fail "lb3 left routes in table 100"
echo "ok: SIGTERM: lb3 withdrew its VIPs, the router dropped it"

# VRRP and BGP combined: a vrrp_instance floats 10.216.0.101 between lb1
# and lb2, so only its master announces it.
vrrp_block() {
  printf 'vrrp_instance VI_SOLO {\n  state BACKUP\n  interface eth0\n  virtual_router_id 60\n  priority %s\n  advert_int 1\n  virtual_ipaddress {\n    %s/32\n  }\n}\n' "$1" "$SOLO"
}
for n in lb1 lb2; do
  prio=100
  [[ $n == lb1 ]] && prio=150
  EXTRA_BLOCKS=$(vrrp_block "$prio") bgp_conf "$n"
  lbd_reload "$n"
done
wait_log lb1 0 "(VI_SOLO) Entering MASTER STATE" 10
wait_rt_hops "$SOLO" 1 10 >/dev/null
[[ $(rt_hops "$SOLO") == 10.213.0.2 ]] || fail "the router's next hop for $SOLO is not lb1: $(rt_hops "$SOLO")"
python3 -c 'import json,sys; a=json.loads(sys.argv[1])["announce"]
sys.exit(0 if [v["verdict"] for v in a["vips"] if v["vip"] == sys.argv[2]] == ["not_master"] else 1)' \
  "$(lbctl_json lb2 status)" "$SOLO" || fail "lb2 does not say it withholds $SOLO as not master"
((($(rt_hops "$VIP" | wc -l)) == 2)) || fail "$VIP lost a next hop in the reload"
m2=$(log_mark lb2)
lbctl_on lb1 failover VI_SOLO >/dev/null
wait_log lb2 "$m2" "(VI_SOLO) Entering MASTER STATE" 10
deadline=$((SECONDS + 10))
until [[ $(rt_hops "$SOLO") == 10.213.0.3 ]]; do
  ((SECONDS < deadline)) || fail "after the failover the router's next hop for $SOLO is $(rt_hops "$SOLO")"
  sleep 0.1
done
echo "ok: VRRP and BGP combined: only VI_SOLO's master announces $SOLO, and the announcement follows a failover"
echo "PASS"
