# Shared by the netns tests and the demo: run lbd in the lab and wait for
# what it says, bounded in time. Needs P (lab prefix), BUILD (build dir),
# WORK (a scratch directory); lab_test_begin sets them for a test.

# lab_test_begin [--decap]: how every lab test starts. Skips (77) without
# root; lab prefix lbdt; a scratch directory; on exit, lbd on lb1 stopped and
# the lab and scratch removed; the lab up, and lb1 holding the VIPs so the
# client's ARP/ND reach it (the VRRP engine's job, once it exists).
lab_test_begin() {
  [[ $(id -u) == 0 ]] || { echo "SKIP: needs root (namespaces, XDP)"; exit 77; }
  export LBD_LAB_PREFIX=lbdt
  P=$LBD_LAB_PREFIX
  BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
  export LBD_BUILD_DIR=$BUILD
  WORK=$(mktemp -d /tmp/lbd-test.XXXXXX)
  trap lab_test_end EXIT
  scripts/lab.sh up "$@" >/dev/null
  ip netns exec "$P-lb1" ip addr add 10.213.0.100/32 dev eth0
  ip netns exec "$P-lb1" ip -6 addr add fd00:213::100/128 dev eth0 nodad
}

lab_test_end() {
  lbd_stop lb1
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

# lbd_start NODE CONF: starts lbd in namespace ${P}-NODE, logging to
# $WORK/NODE.log, and waits until it is ready.
lbd_start() {
  local node=$1 conf=$2
  ip netns exec "${P}-${node}" "$BUILD/lbd" -n -l -f "$conf" --instance "$P-$node" \
    >"$WORK/$node.log" 2>&1 &
  echo $! >"$WORK/$node.pid"
  wait_for_line "$WORK/$node.log" "lbd ready" 15
}

# lbd_reload NODE: SIGHUP, then waits for the reload's outcome.
lbd_reload() {
  local node=$1 before
  before=$(grep -c "Reload finished" "$WORK/$node.log" || true)
  kill -HUP "$(cat "$WORK/$node.pid")"
  local deadline=$((SECONDS + 10))
  until (($(grep -c "Reload finished" "$WORK/$node.log" || true) > before)); do
    grep -q "Reload failed" "$WORK/$node.log" && fail "reload failed: $(grep 'Reload failed' "$WORK/$node.log")"
    ((SECONDS < deadline)) || fail "no reload finished on $node"
    sleep 0.1
  done
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

# lbctl_json NODE ARGS...: lbctl beside the node's daemon. `ip netns exec`
# gives every command its own /sys, so the daemon's bpffs (and its pins) is
# seen only from its mount namespace: enter that one.
lbctl_json() {
  local node=$1; shift
  nsenter -t "$(cat "$WORK/$node.pid")" -m -n "$BUILD/lbctl" --instance "$P-$node" "$@" --json
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
