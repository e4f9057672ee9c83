#!/usr/bin/env bash
# net_namespace and the static network through the real daemon. lbd is
# started in this (the root) namespace with a file naming net_namespace NS:
# its lb program, its static address, route and rule and its master's
# virtual rule are in NS and not here, its instance is named NS (lbctl
# reaches it by that name); a reload changes the static network by
# difference and refuses another namespace; SIGTERM removes the static
# network, and after a SIGKILL `lbd --cleanup` (no --instance: the file
# names it) removes them and the program.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (namespaces, XDP)"; exit 77; }
BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
NS=lbdt-netns-kw
WORK=$(mktemp -d /tmp/lbd-netns-kw.XXXXXX)
fail() { echo "FAIL: $*" >&2; [[ -f $WORK/lbd.log ]] && cat "$WORK/lbd.log" >&2; exit 1; }
cleanup() {
  [[ -f $WORK/pid ]] && kill -KILL "$(cat "$WORK/pid")" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  # The daemon leaves its instance's lock file by design; the instance was ours.
  rm -f "/run/lbd/$NS.lock" "/run/lbd/$NS.sock"
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add s0 type veth peer name s1
ip -n "$NS" link set s1 up
ip -n "$NS" link set s0 up

write_conf() {  # ADDRESS [ROUTE]
  cat >"$WORK/lbd.conf" <<EOF
net_namespace $NS
global_defs {
    lb_interface s0
}
static_ipaddress {
    $1 dev s0
}
static_routes {
    ${2:-}
}
static_rules {
    from 10.77.0.0/24 table 77 priority 777
}
vrrp_instance VI_NS {
    interface s0
    virtual_router_id 77
    version 3
    advert_int 0.1
    virtual_ipaddress {
        10.77.0.50/32
    }
    virtual_rules {
        to 10.79.0.0/16 table 79 priority 779
    }
}
virtual_server 10.77.0.100 80 {
    real_server 10.77.0.20 80
}
EOF
}

# lbd in a mount namespace of its own, with a bpffs of its own: its pins
# never meet this host's. unshare, sh and lbd are one process: $! is lbd's.
start_lbd() {  # STARTS: how many times lbd will have started once this one is ready
  unshare -m sh -c 'mount -t bpf bpf /sys/fs/bpf && exec "$@"' sh \
    "$BUILD/lbd" -n -l -f "$WORK/lbd.conf" >>"$WORK/lbd.log" 2>&1 &
  echo $! >"$WORK/pid"
  disown  # a SIGKILL is part of the test: no "Killed" notice from bash
  wait_line "lbd ready" "$1"
}

# wait_line PATTERN COUNT: until PATTERN is on COUNT lines of the log.
wait_line() {
  local deadline=$((SECONDS + 15))
  until (($(grep -c -- "$1" "$WORK/lbd.log" || true) >= $2)); do
    kill -0 "$(cat "$WORK/pid")" 2>/dev/null || fail "lbd exited before '$1'"
    ((SECONDS < deadline)) || fail "no '$1' in the log"
    sleep 0.1
  done
}

stop_lbd() {  # SIGNAL
  local pid
  pid=$(cat "$WORK/pid")
  kill "-$1" "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "lbd did not exit on SIG$1"
  rm -f "$WORK/pid"
}

in_ns() { ip -n "$NS" "$@"; }

write_conf 10.77.0.5/24 "10.78.0.0/16 via 10.77.0.1"
start_lbd 1
grep -q "Running in network namespace $NS; changing syslog ident to lbd_$NS" "$WORK/lbd.log" \
  || fail "no namespace line"
grep -q "control socket /run/lbd/$NS.sock" "$WORK/lbd.log" || fail "the instance is not named after the namespace"
"$BUILD/lbctl" --instance "$NS" vips | grep -q "10.77.0.100" || fail "lbctl --instance $NS does not reach it"
[[ $(in_ns -o -4 addr show dev s0) == *" 10.77.0.5/24 "* ]] || fail "static address not in $NS"
[[ $(in_ns route show 10.78.0.0/16) == *"via 10.77.0.1"* ]] || fail "static route not in $NS"
[[ $(in_ns rule show priority 777) == *"lookup 77 proto keepalived"* ]] || fail "static rule not in $NS"
[[ $(in_ns link show dev s0) == *xdp* ]] || fail "no lb program on s0 in $NS"
wait_line "(VI_NS) Entering MASTER STATE" 1
[[ $(in_ns rule show priority 779) == *"lookup 79 proto keepalived"* ]] || fail "the master's virtual rule is missing"
[[ $(ip -o -4 addr show) != *"10.77.0.5/"* ]] || fail "the static address is in the root namespace"
[[ $(ip rule show priority 777) == "" ]] || fail "the static rule is in the root namespace"
echo "ok runs in $NS, static network there"

write_conf 10.77.0.6/24
kill -HUP "$(cat "$WORK/pid")"
wait_line "Reload finished" 1
[[ $(in_ns -o -4 addr show dev s0) == *" 10.77.0.6/24 "* ]] || fail "the reload's new address is missing"
[[ $(in_ns -o -4 addr show dev s0) != *" 10.77.0.5/24 "* ]] || fail "the reload left the old address"
[[ $(in_ns route show 10.78.0.0/16) == "" ]] || fail "the reload left the dropped route"
[[ $(in_ns rule show priority 777) == *"lookup 77"* ]] || fail "the reload took the kept rule"
grep -q "Static addresses, routes and rules removed: 1, 1, 0; added: 1, 0, 0" "$WORK/lbd.log" \
  || fail "no line for the static changes"
sed -i "s/^net_namespace $NS\$/net_namespace lbdt-netns-other/" "$WORK/lbd.conf"
kill -HUP "$(cat "$WORK/pid")"
wait_line "Reload failed" 1
grep -q "Reload failed, keeping the running configuration: .*net_namespace take a restart" "$WORK/lbd.log" \
  || fail "a changed namespace was not refused"
[[ $(in_ns -o -4 addr show dev s0) == *" 10.77.0.6/24 "* ]] || fail "a refused reload changed the static network"
echo "ok reload by difference; another namespace refused"

stop_lbd TERM
[[ $(in_ns -o -4 addr show dev s0) != *"10.77.0."* ]] || fail "SIGTERM left the static address"
[[ $(in_ns rule show priority 777) == "" ]] || fail "SIGTERM left the static rule"
[[ $(in_ns rule show priority 779) == "" ]] || fail "SIGTERM left the virtual rule"
[[ $(in_ns link show dev s0) != *xdp* ]] || fail "SIGTERM left the lb program"
echo "ok SIGTERM removes the static network"

write_conf 10.77.0.6/24
start_lbd 2
wait_line "(VI_NS) Entering MASTER STATE" 2
stop_lbd KILL
[[ $(in_ns rule show priority 779) == *"lookup 79"* ]] || fail "SIGKILL took the virtual rule"
[[ $(in_ns -o -4 addr show dev s0) == *" 10.77.0.6/24 "* ]] || fail "SIGKILL took the static address"
"$BUILD/lbd" --cleanup -l -f "$WORK/lbd.conf" >>"$WORK/lbd.log" 2>&1 || fail "--cleanup failed"
grep -q "cleanup of instance '$NS' done" "$WORK/lbd.log" || fail "--cleanup did not take the namespace's instance"
[[ $(in_ns -o -4 addr show dev s0) != *"10.77.0."* ]] || fail "--cleanup left the static address"
[[ $(in_ns rule show priority 777) == "" ]] || fail "--cleanup left the static rule"
[[ $(in_ns rule show priority 779) == "" ]] || fail "--cleanup left the virtual rule"
[[ $(in_ns link show dev s0) != *xdp* ]] || fail "--cleanup left the lb program"
echo "ok --cleanup after SIGKILL"
echo "PASS net_namespace"
