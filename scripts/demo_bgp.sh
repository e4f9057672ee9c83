# The active-active part of the demo (scripts/demo.sh --bgp), sourced by
# demo.sh once the build is done and tests/netns/lib.sh is loaded: two
# lbd nodes announce the VIPs through BIRD to a router that spreads the
# client's connections over both (ECMP); one node is lost and the client's
# connections carry on through the other, each on its real
# (docs/scale-out.md).

demo_bgp() {
  say "Lab with BGP: a router rt (BIRD, ECMP, BFD), LB nodes lb1 and lb2 (lbd + BIRD), the client ext behind rt (see docs/lab.md)"
  scripts/lab.sh up --bgp

  say "Starting lbd on lb1 and lb2: each keeps a host route per VIP it can serve in table 100"
  bgp_nodes_start lb1 lb2
  echo "  lb1's global_defs: $(sed -n '/^global_defs/,/^}/p' "$WORK/lb1.conf" | tr -s '\n ' ' ')"
  grep "Announcing VIP" "$WORK/lb1.log" | sed 's/^/  lb1: /'
  echo "  ip -n $P-lb1 route show table 100:"
  ip -n "$P-lb1" route show table 100 | sed 's/^/    /'
  echo "  the router learned them over BGP, one next hop per node (ip -n $P-rt route show 10.216.0.100):"
  ip -n "$P-rt" route show 10.216.0.100 | sed 's/^/    /'

  say "60 TCP connections from the client to 10.216.0.100:7, spread by the router over both nodes"
  local b1 b2
  b1=$(vip_packets_on lb1) b2=$(vip_packets_on lb2)
  client_ext spread --proto tcp --addr 10.216.0.100 --port 7 --count 60 | python3 -c 'import json,sys
r = json.load(sys.stdin)
print("  answers: " + ", ".join(f"{k} {v}" for k, v in sorted(r["counts"].items())) + "; " + str(r["errors"]) + " errors")'
  echo "  packets forwarded: lb1 +$(($(vip_packets_on lb1) - b1)), lb2 +$(($(vip_packets_on lb2) - b2))"

  say "lbctl status on lb1: what it announces, and why"
  lbctl_on lb1 status | sed -n '/ANNOUNCED/,$p'

  say "The client opens 16 TCP connections to 10.216.0.100:7 and keeps them open"
  local replies lost
  ext_sessions_open 10.216.0.100 16
  b1=$(vip_packets_on lb1)
  replies=$(ext_sessions_ping)
  echo "  open on: $(per_real_of "$EXT_CONNS" conns)"
  echo "  a ping on each: $(per_real_of "$replies" replies) answering, $(($(vip_packets_on lb1) - b1)) packets of it through lb1"

  say "Losing lb1: its links cut, its lbd and its BIRD killed"
  rt_watch 10.216.0.100 10
  lost=$(now_ms)
  node_lost lb1
  echo "  the router dropped lb1 $(($(rt_watch_until 1 5) - lost)) ms later (BFD, 3 x 100 ms):"
  ip -n "$P-rt" route show 10.216.0.100 | sed 's/^/    /'
  replies=$(ext_sessions_ping)
  echo "  echoed on: $(per_real_of "$replies" replies)"
  echo "  (lb2 had never seen the connections lb1 carried: its Maglev ring picks the same reals)"
  ext_sessions_close

  say "lb2 serves the VIP alone: 30 more connections"
  client_ext spread --proto tcp --addr 10.216.0.100 --port 7 --count 30 | python3 -c 'import json,sys
r = json.load(sys.stdin)
print("  answers: " + ", ".join(f"{k} {v}" for k, v in sorted(r["counts"].items())) + "; " + str(r["errors"]) + " errors")'
}

# per_real_of JSON KEY: how many of the session's connections each real answered.
per_real_of() {
  python3 -c 'import collections,json,sys
r = json.loads(sys.argv[1])[sys.argv[2]]
c = collections.Counter((x or "none").split()[0] for x in r)
print(", ".join(f"{k} {v}" for k, v in sorted(c.items())))' "$1" "$2"
}
