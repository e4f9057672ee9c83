#!/usr/bin/env bash
# Losing scale-out nodes (docs/scale-out.md), in the lab's --bgp topology:
# - A node dies (its links cut, lbd and BIRD SIGKILLed): BFD takes it out of
#   the router's ECMP route within about a second, and the 24 connections
#   open through the three nodes go on answering from the same reals.
# - A node's lbd dies and stays dead, its links up and its BIRD running:
#   the lb program left behind keeps forwarding until its lease runs out,
#   then drops the node's BGP and BFD packets (drop_fenced_routing), and the
#   router withdraws the node within seconds. A new lbd brings it back.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --bgp

VIP=10.216.0.100
bgp_nodes_start lb1 lb2 lb3

# reason_count NODE NAME: the node's pinned verdict counter NAME, read
# without its daemon: its index is its place in LBD_REASONS.
reason_count() {
  local index
  index=$(python3 -c 'import re,sys
names = re.findall(r"X\(LBD_R_\w+, \"(\w+)\"\)", open("bpf/lbd_abi.h").read())
print(names.index(sys.argv[1]))' "$2")
  bpftool -j map dump pinned "/run/$P-lab/bpffs/lbd/$P-$1/reasons" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["formatted"]["key"] == int(sys.argv[1]):
        print(sum(v["value"] for v in e["formatted"]["values"]))' "$index"
}

# --- a node dies ---
ext_sessions_open "$VIP" 24
lb1_before=$(vip_packets_on lb1)
ext_sessions_ping >/dev/null
(($(vip_packets_on lb1) > lb1_before)) || fail "none of the 24 sessions goes through lb1"

rt_watch "$VIP" 20
cut=$(now_ms)
node_lost lb1
gone=$(($(rt_watch_until 2 5) - cut))
((gone < 1500)) || fail "the router dropped the dead lb1 after $gone ms"
replies=$(ext_sessions_ping)
ext_sessions_same "$replies" || fail "after losing lb1: $EXT_CONNS -> $replies"
ext_sessions_close
echo "ok: lb1 died: out of the router's route $gone ms after its links were cut (BFD); 24 connections answered from the same reals"

node_back lb1
lbd_start lb1 "$WORK/lb1.conf"
wait_rt_hops "$VIP" 3 20 >/dev/null
echo "ok: lb1 back (links, BIRD, lbd): three next hops"

# --- a node's lbd stays dead ---
fenced_before=$(reason_count lb3 drop_fenced_routing)
m3=$(log_mark lb3)
rt_watch "$VIP" 20
killed=$(now_ms)
lbd_kill lb3
withdrawn=$(($(rt_watch_until 2 10) - killed))
# The lease (3 s from its last renewal, at most a second before the kill)
# covers a restart; BFD then takes 300 ms.
((withdrawn >= 1500 && withdrawn < 5000)) || fail "lb3 withdrawn $withdrawn ms after its lbd died"
fenced=$(($(reason_count lb3 drop_fenced_routing) - fenced_before))
((fenced > 0)) || fail "no BGP or BFD packet counted as drop_fenced_routing on lb3"
[[ $(birdc_on lb3 show protocols router1_v4) != *Established* ]] || fail "lb3's BGP session to rt is still up"
[[ $(ip -n "$P-lb3" route show table 100) == *"$VIP dev lo proto 76"* ]] ||
  fail "lb3's routes are gone from table 100: nothing was left for the fence to do"
out=$(client_ext spread --proto tcp --addr "$VIP" --port 7 --count 30)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["errors"] == 0 else 1)' "$out" ||
  fail "lb1 and lb2 do not serve: $out"
echo "ok: lb3's lbd dead: the router withdrew lb3 $withdrawn ms later (drop_fenced_routing +$fenced); lb1 and lb2 serve"

lbd_start lb3 "$WORK/lb3.conf"
wait_rt_hops "$VIP" 3 20 >/dev/null
echo "ok: a new lbd on lb3: its sessions and next hop are back"
echo "PASS"
