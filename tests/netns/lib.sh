# Shared by the netns tests and the demo: run lbd in the lab and wait for
# what it says, bounded in time. Needs P (lab prefix), BUILD (build dir),
# WORK (a scratch directory); lab_test_begin sets them for a test.

# lab_test_begin [--vrrp] [--decap]: how every lab test starts. Skips (77)
# without root; lab prefix lbdt; a scratch directory; on exit, lbd and
# keepalived stopped on both LB nodes and the lab and scratch removed; the
# lab up. Without --vrrp, lb1 holds the VIPs by hand (the tests of the data
# plane alone); with it, VRRP instances take them.
lab_test_begin() {
  local by_hand=1
  if [[ ${1:-} == --vrrp ]]; then by_hand=0; shift; fi
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
  for node in lb1 lb2; do
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
    "$BUILD/lbd" -n -l -f "$conf" --instance "$P-$node" >"$WORK/$node.log" 2>&1 &
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
