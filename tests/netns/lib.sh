# Shared by the netns tests and the demo: run lbd in the lab and wait for
# what it says, bounded in time. Needs P (lab prefix), BUILD (build dir),
# WORK (a scratch directory); lab_test_begin sets them for a test.

# lab_test_begin [--vrrp] [--decap] [--bgp]: how every lab test starts.
# Skips (77) without root; lab prefix lbdt; a scratch directory; on exit,
# lbd and keepalived stopped on the LB nodes and the lab and scratch
# removed; the lab up. Without --vrrp or --bgp, lb1 holds the VIPs by hand
# (the tests of the data plane alone); with --vrrp, VRRP instances take
# them; with --bgp (scripts/lab.sh up --bgp), nobody: the nodes announce.
lab_test_begin() {
  local by_hand=1
  if [[ ${1:-} == --vrrp ]]; then by_hand=0; shift; fi
  [[ " $* " == *" --bgp "* ]] && by_hand=0
  [[ $(id -u) == 0 ]] || { echo "SKIP: needs root (namespaces, XDP)"; exit 77; }
  export LBD_LAB_PREFIX=lbdt
  P=$LBD_LAB_PREFIX
  BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
  export LBD_BUILD_DIR=$BUILD
  WORK=$(mktemp -d /tmp/lbd-test.XXXXXX)
  trap lab_test_end EXIT
  scripts/lab.sh up "$@" >/dev/null
  ((by_hand)) || return 0
  ip netns exec "$P-lb1" ip addr add 10.213.0.100/32 dev eth0
  ip netns exec "$P-lb1" ip -6 addr add fd00:213::100/128 dev eth0 nodad
}

lab_test_end() {
  local node
  for node in lb1 lb2 lb3; do
    lbd_stop "$node"
    keepalived_stop "$node"
    lbd_cleanup "$node"
  done
  scripts/lab.sh down >/dev/null 2>&1 || true
  rm -rf "$WORK"
}

# fail MESSAGE: the test's verdict, on stderr.
fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_for_line FILE PATTERN [SECONDS]: until a line of FILE matches.
wait_for_line() {
  local file=$1 pattern=$2 deadline=$((SECONDS + ${3:-10}))
  until grep -q -- "$pattern" "$file" 2>/dev/null; do
    ((SECONDS < deadline)) || { echo "--- $file"; cat "$file"; fail "no '$pattern' in $file"; }
    sleep 0.1
  done
}

# lbd_in NODE ARGS...: lbd in namespace ${P}-NODE with the lab's bpffs as
# its /sys/fs/bpf (scripts/lab.sh), where pins outlive the process. In the
# foreground: `lbd_in ... &` would give $! of a subshell, not lbd's.
LBD_WITH_LAB_BPFFS='mount --bind "$0" /sys/fs/bpf && exec "$@"'
lbd_in() {
  local node=$1; shift
  ip netns exec "${P}-${node}" sh -c "$LBD_WITH_LAB_BPFFS" "/run/${P}-lab/bpffs" "$BUILD/lbd" "$@"
}

# lbd_start NODE CONF: starts lbd in namespace ${P}-NODE, logging to
# $WORK/NODE.log, and waits until it is ready.
lbd_start() {
  local node=$1 conf=$2
  # Emptied here, not only by the background job's redirection, which may
  # come after the wait below has read the previous run's "lbd ready".
  : >"$WORK/$node.log"
  # ip netns exec, sh and lbd are one process: $! is lbd's pid.
  ip netns exec "${P}-${node}" sh -c "$LBD_WITH_LAB_BPFFS" "/run/${P}-lab/bpffs" \
    "$BUILD/lbd" -n -l -f "$conf" --instance "$P-$node" >>"$WORK/$node.log" 2>&1 &
  echo $! >"$WORK/$node.pid"
  disown  # killing it is part of the tests: no "Killed" notice from bash
  wait_for_line "$WORK/$node.log" "lbd ready" 15
}

# lbd_cleanup NODE: `lbd --cleanup` for the node's instance, in its
# namespace while the lab is up, so that a killed lbd's control socket and
# lock under the shared /run/lbd go with the lab.
lbd_cleanup() {
  local node=$1
  [[ -e /run/netns/${P}-${node} ]] || return 0
  lbd_in "$node" --cleanup -f /dev/null --instance "$P-$node" >/dev/null 2>&1 ||
    rm -f "/run/lbd/$P-$node.sock" "/run/lbd/$P-$node.lock"
}

# lbd_reload NODE: SIGHUP, then waits for the reload's outcome.
lbd_reload() {
  local node=$1 before failed
  before=$(grep -c "Reload finished" "$WORK/$node.log" || true)
  failed=$(grep -c "Reload failed" "$WORK/$node.log" || true)
  kill -HUP "$(cat "$WORK/$node.pid")"
  local deadline=$((SECONDS + 10))
  until (($(grep -c "Reload finished" "$WORK/$node.log" || true) > before)); do
    (($(grep -c "Reload failed" "$WORK/$node.log" || true) > failed)) &&
      fail "reload failed: $(grep 'Reload failed' "$WORK/$node.log" | tail -1)"
    ((SECONDS < deadline)) || fail "no reload finished on $node"
    sleep 0.1
  done
}

# reload_record NODE: what NODE's daemon says of its reloads (lbctl status's
# daemon.reloads), as JSON; json_field JSON KEY: one of its fields.
reload_record() {
  lbctl_json "$1" status | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["daemon"]["reloads"]))'
}
json_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# reload_refused NODE PATTERN: `lbctl reload` on NODE exits 1 and gives a
# reason that matches PATTERN.
reload_refused() {
  local node=$1 reason=$2 rc
  set +e
  lbctl_on "$node" reload >"$WORK/out" 2>"$WORK/err"
  rc=$?
  set -e
  [[ $rc == 1 ]] || fail "lbctl reload on $node exited $rc: $(cat "$WORK/out" "$WORK/err")"
  grep -q "reload failed, running configuration kept: .*$reason" "$WORK/err" ||
    fail "lbctl reload on $node did not say why: $(cat "$WORK/err")"
}

# lbd_kill NODE: SIGKILL, as a crash; returns once the process is gone.
lbd_kill() {
  local node=$1 pid
  pid=$(cat "$WORK/$node.pid")
  kill -KILL "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$WORK/$node.pid"
}

# node_crash NODE: the node dies: its lbd SIGKILLed and its cable pulled at
# the same moment. SIGKILL alone leaves the VIP on the node (as keepalived
# does; issue 6's fencing is about that), still answering the client, so
# only a dead node shows the outage VRRP is there to bound.
node_crash() {
  node_links "$1" down
  lbd_kill "$1"
}

# node_revive NODE: its cables back, for lbd_start.
node_revive() { node_links "$1" up; }

# node_links NODE up|down: the node's bridge ports, the inside one (lab.sh
# up --nat) too when there is one.
node_links() {
  local port
  for port in "veth-$1" "veth1-$1"; do
    ip -n "$P-br" link show "$port" >/dev/null 2>&1 && ip -n "$P-br" link set "$port" "$2"
  done
  return 0
}

# log_mark NODE: the number of lines of NODE's log so far, for wait_log.
log_mark() { wc -l <"$WORK/$1.log"; }

# wait_log NODE MARK PATTERN [SECONDS]: until a line after MARK matches.
wait_log() {
  local node=$1 mark=$2 pattern=$3 deadline=$((SECONDS + ${4:-10}))
  # grep reads a here-string, not a pipe: grep -q quitting early would give
  # the writer SIGPIPE, and pipefail would call a match a miss.
  until grep -q -- "$pattern" <<<"$(tail -n +"$((mark + 1))" "$WORK/$node.log")"; do
    if ((SECONDS >= deadline)); then
      echo "--- $node.log"; cat "$WORK/$node.log"
      fail "$node: no '$pattern' within ${4:-10} s"
    fi
    sleep 0.05
  done
}

# vrrp_pair_start: lbd on lb2, then on lb1, from $WORK/lb2.conf and
# $WORK/lb1.conf (vrrp_conf), until lb1 is MASTER and lb2 BACKUP of VI_1.
vrrp_pair_start() {
  lbd_start lb2 "$WORK/lb2.conf"
  lbd_start lb1 "$WORK/lb1.conf"
  wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
  wait_log lb2 0 "(VI_1) Entering BACKUP STATE" 10
}

# no_log NODE MARK PATTERN: fails if a line after MARK matches.
no_log() {
  ! grep -q -- "$3" <<<"$(tail -n +"$(($2 + 1))" "$WORK/$1.log")" || fail "$1: unexpected '$3'"
}

# holds NODE ADDR: whether NODE has ADDR on its eth0.
holds() { [[ $(ip -n "$P-$1" -o addr show dev eth0) == *" $2/"* ]]; }

# gets NODE ADDR / drops NODE ADDR: whether NODE adds (removes) ADDR within
# 2 s. An instance logs "Entering MASTER STATE" before it adds its addresses
# (as keepalived does), so a test that has just read that line waits.
gets() {
  local deadline=$((SECONDS + 2))
  until holds "$1" "$2"; do ((SECONDS < deadline)) || return 1; sleep 0.05; done
}
drops() {
  local deadline=$((SECONDS + 2))
  while holds "$1" "$2"; do ((SECONDS < deadline)) || return 1; sleep 0.05; done
}

# vrrp_conf NODE PRIORITY [LINE...]: writes $WORK/NODE.conf, an LB node's
# keepalived.conf: instance VI_1 (VRRPv$VRRP_VERSION, default 3; VRID 51;
# advert_int $ADVERT_INT, default 1) on eth0 holding 10.213.0.100, and a DR
# TCP service on port 7 over rs1..rs3. LINEs go into the instance;
# $GLOBAL_LINES into global_defs, $EXTRA_BLOCKS after everything.
vrrp_conf() {
  local node=$1 prio=$2; shift 2
  {
    echo "global_defs {"
    echo "  router_id $node"
    echo "  lb_interface eth0"
    echo "  vrrp_version ${VRRP_VERSION:-3}"
    echo "  vrrp_garp_master_delay 1"
    [[ -z ${GLOBAL_LINES:-} ]] || echo "$GLOBAL_LINES"
    echo "}"
    echo "vrrp_instance VI_1 {"
    echo "  state BACKUP"
    echo "  interface eth0"
    echo "  virtual_router_id 51"
    echo "  priority $prio"
    echo "  advert_int ${ADVERT_INT:-1}"
    local line
    for line in "$@"; do echo "  $line"; done
    echo "  virtual_ipaddress {"
    echo "    10.213.0.100/32"
    echo "  }"
    echo "}"
    echo "virtual_server 10.213.0.100 7 {"
    echo "  lb_algo wrr"
    echo "  lb_kind DR"
    echo "  protocol TCP"
    local n
    for n in 1 2 3; do echo "  real_server 10.213.0.1$n 7 { weight 1 }"; done
    echo "}"
    [[ -z ${EXTRA_BLOCKS:-} ]] || echo "$EXTRA_BLOCKS"
  } >"$WORK/$node.conf"
}

# keepalived_start NODE CONF: Debian's keepalived (VRRP only) in ${P}-NODE,
# its pid files and log in $WORK; waits until its VRRP child runs.
keepalived_start() {
  local node=$1 conf=$2
  ip netns exec "${P}-${node}" keepalived --vrrp -n -l -D -f "$conf" \
    -p "$WORK/ka-$node.pid" -r "$WORK/ka-$node-vrrp.pid" -c "$WORK/ka-$node-chk.pid" \
    >"$WORK/$node.log" 2>&1 &
  echo $! >"$WORK/ka-$node.main"
  disown
  wait_for_line "$WORK/$node.log" "Entering BACKUP STATE\|Entering MASTER STATE" 15
}

# keepalived_kill NODE [SIGNAL]: the whole keepalived (parent and VRRP child).
keepalived_kill() {
  local node=$1 sig=${2:-KILL} pid
  for f in "$WORK/ka-$node-vrrp.pid" "$WORK/ka-$node.main"; do
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    kill "-$sig" "$pid" 2>/dev/null || true
  done
  for f in "$WORK/ka-$node-vrrp.pid" "$WORK/ka-$node.main"; do
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$f"
  done
}

keepalived_stop() {
  [[ -f $WORK/ka-$1.main ]] || return 0
  keepalived_kill "$1" TERM
  keepalived_kill "$1" KILL
}

# outage_during SECONDS CMD...: pings the VIP from the client every 10 ms for
# SECONDS while CMD runs (started after 1 s), and prints the longest silence
# in ms.
outage_during() {
  local secs=$1; shift
  ip netns exec "${P}-cl" python3 tests/tools/outage.py --addr 10.213.0.100 --interval 0.01 \
    --duration "$secs" >"$WORK/outage.json" &
  local pinger=$!
  sleep 1
  "$@"
  wait "$pinger"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["max_gap_ms"])' "$WORK/outage.json"
}

lbd_stop() {
  local node=$1 pid
  [[ -f $WORK/$node.pid ]] || return 0
  pid=$(cat "$WORK/$node.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$WORK/$node.pid"
}

# lbctl_json NODE ARGS...: lbctl with --json, talking to the node's daemon
# over its control socket (/run/lbd/$P-NODE.sock: /run is shared by the
# namespaces, so no nsenter is needed).
lbctl_json() {
  local node=$1; shift
  "$BUILD/lbctl" --instance "$P-$node" "$@" --json
}

# lbctl_on NODE ARGS...: lbctl for people, on the node's daemon.
lbctl_on() {
  local node=$1; shift
  "$BUILD/lbctl" --instance "$P-$node" "$@"
}

# wait_next_hops NODE N: until N reals have a resolved next hop.
wait_next_hops() {
  local node=$1 want=$2 deadline=$((SECONDS + 10)) have
  while :; do
    have=$(lbctl_json "$node" reals | python3 -c \
      'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["up"] and "next_hop" in r))')
    ((have >= want)) && return 0
    ((SECONDS < deadline)) || fail "only $have of $want next hops resolved on $node"
    sleep 0.2
  done
}

client() { ip netns exec "${P}-cl" python3 tests/tools/client.py "$@"; }

# wait_session_line N: line N of $WORK/session.out, what a `client.py session`
# started by the test printed, once it is there (20 s at most).
wait_session_line() {
  local deadline=$((SECONDS + 20))
  until [[ -n $(sed -n "${1}p" "$WORK/session.out") ]]; do
    ((SECONDS < deadline)) || fail "the session client did not answer ($1)"
    sleep 0.1
  done
  sed -n "${1}p" "$WORK/session.out"
}

# --- scale-out (scripts/lab.sh up --bgp, docs/scale-out.md) ---

# client_ext ARGS...: tests/tools/client.py on the client behind the router.
client_ext() { ip netns exec "${P}-ext" python3 tests/tools/client.py "$@"; }

# ext_sessions_open VIP COUNT: COUNT TCP connections from ext to VIP port 7,
# held open (coproc EXT_SESSION); the real each was opened on in EXT_CONNS.
ext_sessions_open() {
  coproc EXT_SESSION { client_ext session --addr "$1" --port 7 --count "$2" --timeout 5; }
  read -r -t 15 EXT_CONNS <&"${EXT_SESSION[0]}" || fail "sessions did not open"
  python3 -c 'import json,sys; sys.exit(0 if None not in json.loads(sys.argv[1])["conns"] else 1)' "$EXT_CONNS" ||
    fail "sessions: $EXT_CONNS"
}

# ext_sessions_ping: a line on each held connection; prints the answers.
ext_sessions_ping() {
  echo ping >&"${EXT_SESSION[1]}"
  local replies
  read -r -t 30 replies <&"${EXT_SESSION[0]}" || fail "the sessions did not answer"
  echo "$replies"
}

# ext_sessions_same REPLIES: whether every connection answered, each from
# the real it was opened on.
ext_sessions_same() {
  python3 -c 'import json,sys
conns = json.loads(sys.argv[1])["conns"]; replies = json.loads(sys.argv[2])["replies"]
sys.exit(0 if [r.split()[0] if r else None for r in replies] == conns else 1)' "$EXT_CONNS" "$1"
}

ext_sessions_close() {
  echo quit >&"${EXT_SESSION[1]}"
  wait "$EXT_SESSION_PID" || true
}

# rt_hops VIP: the next hops of the router's route to VIP, one per line
# (none when it has no route).
rt_hops() {
  local fam=-4
  [[ $1 == *:* ]] && fam=-6
  ip -n "$P-rt" -j "$fam" route show "$1" | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    for h in r.get("nexthops") or [r]:
        if "gateway" in h:
            print(h["gateway"])'
}

# wait_rt_hops VIP N [SECONDS]: until the router has N next hops for VIP;
# prints how long that took, in ms.
wait_rt_hops() {
  local vip=$1 want=$2 start deadline have
  start=$(date +%s%N)
  deadline=$(( start / 1000000 + ${3:-10} * 1000 ))
  while :; do
    have=$(rt_hops "$vip" | wc -l)
    ((have == want)) && break
    (($(date +%s%N) / 1000000 < deadline)) || fail "router: $have next hops for $vip, not $want: $(rt_hops "$vip" | tr '\n' ' ')"
    sleep 0.01
  done
  echo $(( ($(date +%s%N) - start) / 1000000 ))
}

# now_ms: unix time in ms, as tests/tools/route_watch.py stamps its lines.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# rt_watch VIP SECONDS: the router's next hops for VIP watched in the
# background (tests/tools/route_watch.py, a line per change into
# $WORK/rt_watch.out), for SECONDS; returns once the first line is there.
rt_watch() {
  if [[ -n ${RT_WATCH_PID:-} ]]; then
    kill "$RT_WATCH_PID" 2>/dev/null || true
    wait "$RT_WATCH_PID" 2>/dev/null || true
  fi
  : >"$WORK/rt_watch.out"
  ip netns exec "$P-rt" python3 tests/tools/route_watch.py --dst "$1" --duration "$2" >"$WORK/rt_watch.out" &
  RT_WATCH_PID=$!
  local deadline=$((SECONDS + 5))
  until [[ -s $WORK/rt_watch.out ]]; do
    ((SECONDS < deadline)) || fail "route_watch.py did not start"
    sleep 0.02
  done
}

# rt_watch_until N [SECONDS]: the unix time in ms at which the watcher first
# saw N next hops, waiting for it at most SECONDS (default 10).
rt_watch_until() {
  local want=$1 deadline=$((SECONDS + ${2:-10})) t
  while :; do
    t=$(python3 -c 'import json,sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["hops"] == int(sys.argv[2]):
        print(r["t_ms"]); break' "$WORK/rt_watch.out" "$want")
    [[ -n $t ]] && { echo "$t"; return 0; }
    ((SECONDS < deadline)) || fail "the router never had $want next hops: $(cat "$WORK/rt_watch.out")"
    sleep 0.05
  done
}

# rt_watch_least: once the watcher has ended, the fewest next hops it saw.
rt_watch_least() {
  wait "$RT_WATCH_PID" || true
  python3 -c 'import json,sys; print(min(json.loads(l)["hops"] for l in open(sys.argv[1])))' "$WORK/rt_watch.out"
}

# birdc_on NODE ARGS...: BIRD's client on the node's BIRD.
birdc_on() { local node=$1; shift; birdc -s "/run/$P-lab/bird-$node.ctl" "$@"; }

# bird_kill NODE: the node's BIRD SIGKILLed; `scripts/lab.sh up --bgp` starts it again.
bird_kill() {
  local pid
  pid=$(cat "/run/$P-lab/bird-$1.pid")
  kill -KILL "$pid"
  # BIRD is no child of ours: whoever reaps it may be slow, and a zombie is dead.
  for _ in $(seq 50); do
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) =~ ^(Z|)$ ]] && break
    sleep 0.05
  done
}

# node_lost NODE: a scale-out node dies: its links cut, its lbd and its BGP
# engine killed. Its MAC stays pinned to its bridge port (a static FDB
# entry): a real switch floods frames for a MAC whose port went down too,
# but real NICs drop frames for other MACs, where a veth hands them all to
# the XDP program, and the other nodes' lbd would forward them; pinned, the
# bridge drops them, as the lost node's NIC would.
node_lost() {
  local mac pid
  mac=$(ip -n "$P-$1" -br link show eth0 2>/dev/null | awk '{print $3}')
  ip netns exec "$P-br" bridge fdb replace "$mac" dev "veth-$1" master static
  node_links "$1" down
  lbd_kill "$1"
  pid=$(cat "/run/$P-lab/bird-$1.pid" 2>/dev/null || true)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then bird_kill "$1"; fi
}

# node_back NODE: the lost node's links back, its MAC unpinned, its BIRD
# started again; then lbd_start.
node_back() {
  local mac
  mac=$(ip -n "$P-$1" -br link show eth0 2>/dev/null | awk '{print $3}')
  ip netns exec "$P-br" bridge fdb del "$mac" dev "veth-$1" master static 2>/dev/null || true
  node_links "$1" up
  scripts/lab.sh up --bgp >/dev/null
}

# bgp_conf NODE: writes $WORK/NODE.conf, an LB node of the scale-out lab:
# lb_announce_table 100, TCP port 7 of 10.216.0.100 and fd00:216::100 and
# UDP port 7 of 10.216.0.100 in DR over rs1-rs3, and TCP port 7 of
# 10.216.0.101 over rs4 alone, each real checked every second (TCP_CHECK).
# $GLOBAL_LINES into global_defs, $EXTRA_BLOCKS after.
bgp_conf() {
  local node=$1 vip n
  {
    echo "global_defs {"
    echo "  router_id $node"
    echo "  lb_interface eth0"
    echo "  lb_announce_table 100"
    [[ -z ${GLOBAL_LINES:-} ]] || echo "$GLOBAL_LINES"
    echo "}"
    local service proto
    for service in 10.216.0.100/TCP 10.216.0.100/UDP fd00:216::100/TCP 10.216.0.101/TCP; do
      vip=${service%/*} proto=${service#*/}
      echo "virtual_server $vip 7 {"
      echo "  delay_loop 1"
      echo "  lb_algo wrr"
      echo "  lb_kind DR"
      echo "  protocol $proto"
      local reals=(1 2 3) prefix=10.213.0.1
      [[ $vip == *:* ]] && prefix=fd00:213::1
      [[ $vip == 10.216.0.101 ]] && reals=(4)
      for n in "${reals[@]}"; do
        echo "  real_server $prefix$n 7 {"
        echo "    weight 1"
        echo "    TCP_CHECK {"
        echo "      connect_timeout 1"
        echo "      retry 1"
        echo "      delay_before_retry 1"
        echo "    }"
        echo "  }"
      done
      echo "}"
    done
    [[ -z ${EXTRA_BLOCKS:-} ]] || echo "$EXTRA_BLOCKS"
  } >"$WORK/$node.conf"
}

# bgp_nodes_start NODE...: lbd (bgp_conf) on each node, their reals' next
# hops resolved, and the router's route to 10.216.0.100 through all of them.
bgp_nodes_start() {
  local n
  for n in "$@"; do
    bgp_conf "$n"
    lbd_start "$n" "$WORK/$n.conf"
  done
  for n in "$@"; do wait_next_hops "$n" 7; done
  wait_rt_hops 10.216.0.100 $# 20 >/dev/null
}

# vip_packets_on NODE [VIP]: packets the node forwarded to VIP's services
# (default 10.216.0.100), from its pinned counters.
vip_packets_on() {
  lbctl_json "$1" vips | python3 -c '
import json, sys
vip = sys.argv[1]
print(sum(v["counters"]["packets"] for v in json.load(sys.stdin) if v["vip"].rsplit(":", 2)[0].strip("[]") == vip))' "${2:-10.216.0.100}"
}

# notify_listener SOCK RECORD: stands in for systemd's notification socket:
# binds SOCK and appends each datagram to RECORD as a JSON line {t, msg}
# (t: CLOCK_MONOTONIC seconds). Sets NOTIFY_LISTENER to its pid, which the
# caller kills on exit.
notify_listener() {
  python3 -c '
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode()
        out.write(json.dumps({"t": time.monotonic(), "msg": msg}) + "\n")
' "$1" "$2" &
  NOTIFY_LISTENER=$!
  for _ in $(seq 50); do [[ -S $1 ]] && break; sleep 0.1; done
  [[ -S $1 ]] || fail "the notification listener did not bind $1"
}
