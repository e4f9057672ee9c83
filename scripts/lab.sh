#!/usr/bin/env bash
# lbd lab: the LB topology out of network namespaces, all on one L2 segment.
#
#   scripts/lab.sh up [--decap] [--nat] [--bgp [--frr]]
#                                 build (or complete) the lab; idempotent
#   scripts/lab.sh down           tear it down; quiet when nothing exists
#   scripts/lab.sh status         namespaces, addresses, real server processes
#
# Environment:
#   LBD_LAB_PREFIX  namespace prefix P (default lbd); tests use their own
#   LBD_BUILD_DIR   where lbd-decap lives, relative to the repo root unless
#                   absolute (default build)
#   LBD_LAB_VIPS    addresses put on the reals' lo (default
#                   "10.213.0.100 fd00:213::100")
#   LBD_PYTHON      interpreter for the real servers (default /usr/bin/python3)
#   LBD_LAB_WAIT    seconds up waits for the real servers to listen (15)
#
#                                namespace ${P}-br
#   +--------------------------------------------------------------------------+
#   |                         br0 (no STP, fd 0, no mcast snooping, no IPv6)   |
#   |  veth-cl   veth-lb1   veth-lb2   veth-rs1   veth-rs2   veth-rs3   veth-rs4|
#   +-----|---------|----------|----------|----------|----------|----------|----+
#         |         |          |          |          |          |          |
#       eth0      eth0       eth0       eth0       eth0       eth0       eth0
#   +--------+ +--------+ +--------+ +---------+ +---------+ +---------+ +---------+
#   |${P}-cl | |${P}-lb1| |${P}-lb2| |${P}-rs1 | |${P}-rs2 | |${P}-rs3 | |${P}-rs4 |
#   | client | |LB node | |LB node | |real srv | |real srv | |real srv | |spare    |
#   +--------+ +--------+ +--------+ +---------+ +---------+ +---------+ +---------+
#      .10        .2         .3         .11         .12         .13         .14
#
#   10.213.0.X/24 and fd00:213::X/64 on each eth0 (X as above), MAC
#   02:d5:00:00:00:XX (XX = X in hex).
#
#   --nat adds the inside network of LVS-NAT, a second bridge br1 in ${P}-br:
#   the LB nodes' eth1 (10.214.0.2, .3; fd00:214::2, ::3; MAC
#   02:d5:00:00:01:XX; forwarding on) and real servers nat1-nat3 (.21-.23),
#   no VIP on their lo, their default routes via 10.214.0.1 / fd00:214::1,
#   the inside VIPs that VRRP floats between the LB nodes. Reals: VIPs 10.213.0.100/32 and
#   fd00:213::100/128 on lo, arp_ignore=1, arp_announce=2, rp_filter=0, and
#   tests/tools/realserver.py NAME (TCP echo 7, UDP echo 7, HTTP 80).
#
#   --bgp adds the scale-out topology (docs/scale-out.md): a third LB node
#   lb3 (.4), a router rt on br0 (10.213.0.1, fd00:213::1; MAC
#   02:d5:00:00:00:01) and behind it, on a link of their own, the client ext
#   (10.215.0.10, fd00:215::10; the router is .1 there). BIRD runs on rt and
#   on lb1-lb3, each node in a BGP session (and BFD, 100 ms x 3) per family
#   with rt; the nodes announce what lbd keeps in table 100 (protocol 76);
#   rt installs the ECMP routes (merge paths) and hashes flows over them by
#   their ports (fib_multipath_hash_policy 1). The anycast VIPs 10.216.0.100,
#   10.216.0.101 and fd00:216::100 are on every real's lo, and the reals
#   route the client's network through rt. BIRD's sockets, logs and pid
#   files are /run/${P}-lab/bird-NODE.{ctl,log,pid}. With --frr, lb3 runs
#   FRR (zebra, bfdd, bgpd) instead, from /run/${P}-lab/frr-lb3/.
#   Every veth end has GRO on, and every bridge-side end also runs a trivial
#   XDP_PASS program (lab_port_pass): a frame sent with XDP_TX into a veth is
#   only delivered promptly when the receiving end has an XDP program (GRO
#   alone gives it NAPI, but XDP_TX does not kick that NAPI). Transmit
#   checksum offload is off on every veth end, so frames forwarded by XDP
#   carry complete L4 checksums. /run/${P}-lab/bpffs is a bpffs for the LB
#   nodes' pins, so they outlive one daemon. See docs/lab.md.
set -euo pipefail

P=${LBD_LAB_PREFIX:-lbd}
if [[ ! $P =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$ ]]; then
    echo "lab.sh: bad LBD_LAB_PREFIX '$P' (letters, digits, _ . -; max 32)" >&2
    exit 2
fi

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${LBD_BUILD_DIR:-build}
[[ $BUILD_DIR == /* ]] || BUILD_DIR="$REPO_ROOT/$BUILD_DIR"
RUN_DIR="/run/${P}-lab"
REALSERVER="$REPO_ROOT/tests/tools/realserver.py"
if [[ -n ${LBD_PYTHON:-} ]]; then
    PYTHON=$LBD_PYTHON
elif [[ -x /usr/bin/python3 ]]; then
    PYTHON=/usr/bin/python3
else
    PYTHON=python3
fi

BR_NS="${P}-br"
SUBNET4_PREFIX=10.213.0
SUBNET6_PREFIX=fd00:213:
read -r -a VIPS <<<"${LBD_LAB_VIPS:-10.213.0.100 fd00:213::100}"

# node name -> host part of its addresses (10.213.0.X, fd00:213::X)
NODES=(cl lb1 lb2 rs1 rs2 rs3 rs4)
REALS=(rs1 rs2 rs3 rs4)
declare -A HOST=([cl]=10 [lb1]=2 [lb2]=3 [rs1]=11 [rs2]=12 [rs3]=13 [rs4]=14)

# The inside network of --nat: NAT reals, and the LB nodes' eth1, on br1.
INSIDE4_PREFIX=10.214.0
INSIDE6_PREFIX=fd00:214:
NAT_REALS=(nat1 nat2 nat3)
HOST+=([nat1]=21 [nat2]=22 [nat3]=23)
INSIDE_VIP4=$INSIDE4_PREFIX.1
INSIDE_VIP6=${INSIDE6_PREFIX}:1

# --bgp: the router, the client behind it, a third LB node, BIRD everywhere.
OUTER4_PREFIX=10.215.0
OUTER6_PREFIX=fd00:215:
BGP_NODES=(rt ext lb3)
BGP_LBS=(lb1 lb2 lb3)
HOST+=([rt]=1 [lb3]=4 [ext]=10)
ANYCAST_VIPS=(10.216.0.100 10.216.0.101 fd00:216::100)
ANNOUNCE_TABLE=100
ROUTER_AS=65000
NODE_AS=65001

# Real server ports (must match realserver.py's defaults).
RS_TCP_PORT=7
RS_UDP_PORT=7
RS_HTTP_PORT=80

# MTUs. Client and LB nodes send standard 1500-byte frames. The bridge and the
# reals' eth0 accept up to 1600 so that a full-size packet still fits once an
# LB in tunnel mode adds an IPIP (20) or IP6IP6 (40) header; the reals' own
# routes keep mtu 1500 so they never send more than the client accepts.
MTU_STD=1500
MTU_BIG=1600

WAIT_SECS=${LBD_LAB_WAIT:-15}

log() { printf 'lab.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

ns_exists() { [[ -e /run/netns/$1 ]]; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

need_tools() {
    local t missing=()
    for t in ip ethtool ss sysctl clang "$PYTHON"; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    ((${#missing[@]} == 0)) || die "missing tools: ${missing[*]}"
    ((EUID == 0)) || die "must run as root"
}

mac_of() { printf '02:d5:00:00:%02x:%02x' "${2:-0}" "$1"; }

PORT_PROG_OBJ="$RUN_DIR/lab_port_pass.o"

# The XDP program for the bridge-side veth ends: pass everything up to the
# bridge. Its only job is to be there: veth schedules the receiving NAPI
# after an XDP_TX from the peer only when the receiver has an XDP program.
build_port_prog() {
    [[ -s $PORT_PROG_OBJ ]] && return 0
    clang -O2 -g -target bpf -c -x c - -o "$PORT_PROG_OBJ.tmp" <<'EOF'
/* lbd lab: attached to every bridge port; returns XDP_PASS (2). */
__attribute__((section("xdp"), used)) int lab_port_pass(void *ctx)
{
	return 2;
}
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
    mv "$PORT_PROG_OBJ.tmp" "$PORT_PROG_OBJ"
}

# ---------------------------------------------------------------- up ---------

ensure_ns() {
    local ns=$1
    if ! ns_exists "$ns"; then
        ip netns add "$ns"
    fi
    ip -n "$ns" link set lo up
    # New interfaces get these: usable IPv6 link-local addresses at once, no
    # router solicitations on the lab segment.
    nsx "$ns" sysctl -q -w net.ipv6.conf.default.accept_dad=0 \
        net.ipv6.conf.all.accept_dad=0 \
        net.ipv6.conf.default.router_solicitations=0
}

# ensure_bridge [BRIDGE]: br0 (the outside segment) unless named.
ensure_bridge() {
    local br=${1:-br0}
    ensure_ns "$BR_NS"
    # The bridge namespace is a switch: no IPv6 of its own, so it sends
    # nothing (no MLD, no DAD) onto the segment.
    nsx "$BR_NS" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1
    # br_netfilter (when loaded) must not see bridged frames.
    nsx "$BR_NS" sysctl -q -w net.bridge.bridge-nf-call-iptables=0 \
        net.bridge.bridge-nf-call-ip6tables=0 \
        net.bridge.bridge-nf-call-arptables=0 2>/dev/null || true
    local opts=(stp_state 0 forward_delay 0 mcast_snooping 0
        nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0)
    if ! ip -n "$BR_NS" link show "$br" >/dev/null 2>&1; then
        ip -n "$BR_NS" link add "$br" mtu "$MTU_BIG" type bridge "${opts[@]}"
    else
        ip -n "$BR_NS" link set "$br" type bridge "${opts[@]}"
    fi
    ip -n "$BR_NS" link set "$br" up
}

# ensure_link NODE [IFACE PORT BRIDGE NET]: the veth pair for one node's
# interface, eth0 in ${P}-NODE and veth-NODE on br0 unless named; NET is the
# MAC's network byte (0 outside, 1 inside).
ensure_link() {
    local node=$1 ns="${P}-$1" ifc=${2:-eth0} port=${3:-veth-$1} br=${4:-br0} net=${5:-0}
    local have_ifc=0 have_port=0
    ip -n "$ns" link show "$ifc" >/dev/null 2>&1 && have_ifc=1
    ip -n "$BR_NS" link show "$port" >/dev/null 2>&1 && have_port=1
    if ((have_ifc && have_port)); then
        # Both ends exist; make sure they are each other's peer.
        local peer_idx port_idx
        peer_idx=$(ip -n "$ns" -o link show "$ifc" | sed -n "s/.*$ifc@if\([0-9]*\).*/\1/p")
        port_idx=$(ip -n "$BR_NS" -o link show "$port" | cut -d: -f1)
        [[ -n $peer_idx && $peer_idx == "$port_idx" ]] || have_port=2
    fi
    if ! ((have_ifc == 1 && have_port == 1)); then
        if ((have_ifc)); then ip -n "$ns" link del "$ifc"; fi
        if ((have_port)); then ip -n "$BR_NS" link del "$port" 2>/dev/null || true; fi
        ip -n "$ns" link add "$ifc" type veth peer name "$port" netns "$BR_NS"
    fi

    local mtu=$MTU_STD
    [[ $node == rs* ]] && mtu=$MTU_BIG
    ip -n "$BR_NS" link set "$port" mtu "$MTU_BIG" master "$br" up
    ip -n "$ns" link set "$ifc" mtu "$mtu" address "$(mac_of "${HOST[$node]}" "$net")" up
    # GRO gives a veth end NAPI, which frames from XDP_REDIRECT / ndo_xdp_xmit
    # (e.g. BPF_PROG_RUN live frames) need at the receiver. Transmit checksum
    # offload off: veth would otherwise hand frames with only a partial
    # (pseudo-header) L4 checksum to the peer, and an XDP program forwarding
    # such a frame sends a bad checksum on (the real drops it).
    nsx "$BR_NS" ethtool -K "$port" gro on tx off >/dev/null
    nsx "$ns" ethtool -K "$ifc" gro on tx off >/dev/null
    # XDP_TX from an LB into this port is only delivered (NAPI kicked) when
    # the port has an XDP program of its own.
    if [[ $(ip -n "$BR_NS" -d link show "$port") != *prog/xdp* ]]; then
        ip -n "$BR_NS" link set dev "$port" xdpdrv obj "$PORT_PROG_OBJ" sec xdp
    fi
}

ensure_addrs() {
    local node=$1 ns="${P}-$1" h=${HOST[$1]}
    ip -n "$ns" addr replace "$SUBNET4_PREFIX.$h/24" dev eth0
    ip -n "$ns" -6 addr replace "$SUBNET6_PREFIX:$h/64" dev eth0 nodad
}

ensure_lb() {
    local ns="${P}-$1"
    nsx "$ns" sysctl -q -w net.ipv4.conf.all.rp_filter=0 \
        net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
}

# An LB node's side of the inside network: eth1, and forwarding on, which
# LVS-NAT needs (the kernel's FIB routes the replies only then).
ensure_lb_inside() {
    local node=$1 ns="${P}-$1" h=${HOST[$1]}
    ensure_link "$node" eth1 "veth1-$node" br1 1
    ip -n "$ns" addr replace "$INSIDE4_PREFIX.$h/24" dev eth1
    ip -n "$ns" -6 addr replace "${INSIDE6_PREFIX}:$h/64" dev eth1 nodad
    nsx "$ns" sysctl -q -w net.ipv4.conf.eth1.rp_filter=0 net.ipv4.ip_forward=1 \
        net.ipv6.conf.all.forwarding=1
}

# A NAT real: on the inside network only, answering through the inside VIP.
ensure_nat_real() {
    local node=$1 ns="${P}-$1" h=${HOST[$1]}
    ensure_ns "$ns"
    ensure_link "$node" eth0 "veth-$node" br1 1
    ip -n "$ns" addr replace "$INSIDE4_PREFIX.$h/24" dev eth0
    ip -n "$ns" -6 addr replace "${INSIDE6_PREFIX}:$h/64" dev eth0 nodad
    ip -n "$ns" route replace default via "$INSIDE_VIP4"
    ip -n "$ns" -6 route replace default via "$INSIDE_VIP6"
}

# on_lo NS ADDR...: each address as a host address on NS's lo.
on_lo() {
    local ns=$1 vip
    shift
    for vip in "$@"; do
        if [[ $vip == *:* ]]; then
            ip -n "$ns" -6 addr replace "$vip/128" dev lo nodad
        else
            ip -n "$ns" addr replace "$vip/32" dev lo
        fi
    done
}

ensure_real_net() {
    local node=$1 ns="${P}-$1" h=${HOST[$1]}
    nsx "$ns" sysctl -q -w \
        net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1 \
        net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_announce=2 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
        net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.lo.rp_filter=0
    on_lo "$ns" "${VIPS[@]}"
    # Link MTU is MTU_BIG (to receive encapsulated frames); send at 1500.
    ip -n "$ns" route replace "$SUBNET4_PREFIX.0/24" dev eth0 proto kernel \
        scope link src "$SUBNET4_PREFIX.$h" mtu "$MTU_STD"
    ip -n "$ns" -6 route replace "$SUBNET6_PREFIX:/64" dev eth0 proto kernel \
        metric 256 mtu "$MTU_STD"
}

# Is PID alive and in namespace NS?
pid_in_ns() {
    local pid=$1 ns=$2
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null &&
        [[ $(ip netns identify "$pid" 2>/dev/null) == "$ns" ]]
}

# Is PID one of our real servers for NODE (whatever namespace it is in)?
pid_is_our_realserver() {
    local pid=$1 node=$2 cmd
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    # The redirection inside the group: a pid that is gone is no error to print.
    cmd=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || return 1
    [[ $cmd == *"$REALSERVER $node "* ]]
}

# A pid file's server that is no longer in its namespace (the namespace was
# deleted under it) keeps running in an anonymous one: stop it.
reap_orphan() {
    local node=$1 pidfile="$RUN_DIR/$1.pid" pid=""
    [[ -r $pidfile ]] && pid=$(<"$pidfile")
    if pid_is_our_realserver "$pid" "$node" && ! pid_in_ns "$pid" "${P}-$node"; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    return 0
}

start_realserver() {
    local node=$1 ns="${P}-$1"
    local pidfile="$RUN_DIR/$node.pid" pid=""
    [[ -r $pidfile ]] && pid=$(<"$pidfile")
    if pid_in_ns "$pid" "$ns"; then
        return 0
    fi
    reap_orphan "$node"
    # ip netns exec execs the interpreter, so $! is the server's pid.
    # Output goes to a file: a caller capturing lab.sh's stdout must not be
    # kept waiting by a background process holding the pipe open.
    ip netns exec "$ns" "$PYTHON" "$REALSERVER" "$node" \
        --tcp-port "$RS_TCP_PORT" --udp-port "$RS_UDP_PORT" \
        --http-port "$RS_HTTP_PORT" \
        </dev/null >>"$RUN_DIR/$node.log" 2>&1 &
    echo $! >"$pidfile"
}

# All of a real server's sockets are bound (both families).
realserver_listening() {
    local ns=$1 tcp udp
    tcp=$(ip netns exec "$ns" ss -Hltn) || return 1
    udp=$(ip netns exec "$ns" ss -Hlun) || return 1
    grep -q "0\.0\.0\.0:$RS_TCP_PORT " <<<"$tcp" &&
        grep -q "\[::\]:$RS_TCP_PORT " <<<"$tcp" &&
        grep -q "0\.0\.0\.0:$RS_HTTP_PORT " <<<"$tcp" &&
        grep -q "\[::\]:$RS_HTTP_PORT " <<<"$tcp" &&
        grep -q "0\.0\.0\.0:$RS_UDP_PORT " <<<"$udp" &&
        grep -q "\[::\]:$RS_UDP_PORT " <<<"$udp"
}

realserver_ready() {
    local node=$1 ns="${P}-$1" pid
    pid=$(<"$RUN_DIR/$node.pid")
    pid_in_ns "$pid" "$ns" || return 2
    realserver_listening "$ns"
}

wait_realservers() {
    local node rc deadline=$((SECONDS + WAIT_SECS))
    for node in "$@"; do
        while :; do
            rc=0
            realserver_ready "$node" || rc=$?
            ((rc == 0)) && break
            if ((rc == 2)); then
                log "real server $node exited; its log:"
                tail -n 20 "$RUN_DIR/$node.log" >&2 || true
                die "real server $node did not start"
            fi
            ((SECONDS < deadline)) ||
                die "real server $node not listening after ${WAIT_SECS}s (log: $RUN_DIR/$node.log)"
            sleep 0.05
        done
    done
}

# The reals unwrap tunnels from the LB nodes only. Without lb_tunnel_source
# (the lab's configs set none) an LB node's tunnel source is the first
# address of its family on the egress interface: its eth0 address, or for
# IPv6 a VIP it holds there, which Linux lists first.
attach_decap() {
    local decap="$BUILD_DIR/lbd-decap" node ns out lb vip from=() lbs=(lb1 lb2)
    ns_exists "${P}-lb3" && lbs+=(lb3)
    for lb in "${lbs[@]}"; do
        from+=(--from "$SUBNET4_PREFIX.${HOST[$lb]}" --from "${SUBNET6_PREFIX}:${HOST[$lb]}")
    done
    for vip in "${VIPS[@]}"; do from+=(--from "$vip"); done
    for node in "${REALS[@]}"; do
        ns="${P}-$node"
        if ! out=$(timeout 30 ip netns exec "$ns" "$decap" attach eth0 "${from[@]}" 2>&1); then
            printf '%s\n' "$out" >&2
            die "$decap attach eth0 failed in $ns"
        fi
    done
}

# The LB nodes' lbd see this bpffs as /sys/fs/bpf (tests/netns/lib.sh,
# lbd_start): `ip netns exec` mounts a fresh /sys for every command, and pins
# in a bpffs of its own would die with each daemon, where a restarted lbd
# must find them.
ensure_bpffs() {
    mkdir -p "$RUN_DIR/bpffs"
    mountpoint -q "$RUN_DIR/bpffs" || mount -t bpf bpf "$RUN_DIR/bpffs" ||
        die "cannot mount a bpffs on $RUN_DIR/bpffs"
}

# ---------------------------------------------------------------- bgp --------

# The router: eth0 on br0, eth1 a link of its own to the client behind it.
ensure_router() {
    local ns="${P}-rt"
    ensure_ns "$ns"
    ensure_link rt
    ensure_addrs rt
    ensure_ns "${P}-ext"
    if ! ip -n "$ns" link show eth1 >/dev/null 2>&1; then
        ip -n "${P}-ext" link del eth0 2>/dev/null || true
        ip -n "$ns" link add eth1 type veth peer name eth0 netns "${P}-ext"
    fi
    ip -n "$ns" link set eth1 mtu "$MTU_STD" up
    ip -n "${P}-ext" link set eth0 mtu "$MTU_STD" address "$(mac_of "${HOST[ext]}" 2)" up
    nsx "$ns" ethtool -K eth1 gro on tx off >/dev/null
    nsx "${P}-ext" ethtool -K eth0 gro on tx off >/dev/null
    ip -n "$ns" addr replace "$OUTER4_PREFIX.1/24" dev eth1
    ip -n "$ns" -6 addr replace "${OUTER6_PREFIX}:1/64" dev eth1 nodad
    ip -n "${P}-ext" addr replace "$OUTER4_PREFIX.${HOST[ext]}/24" dev eth0
    ip -n "${P}-ext" -6 addr replace "${OUTER6_PREFIX}:${HOST[ext]}/64" dev eth0 nodad
    ip -n "${P}-ext" route replace default via "$OUTER4_PREFIX.1"
    ip -n "${P}-ext" -6 route replace default via "${OUTER6_PREFIX}:1"
    # Flows spread over the ECMP next hops by their ports, not only by their
    # addresses: one client's connections reach every node.
    nsx "$ns" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
        net.ipv4.fib_multipath_hash_policy=1 net.ipv6.fib_multipath_hash_policy=1 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# A real's side of --bgp: the anycast VIPs on lo, the client's network
# through the router (direct routing answers the client from the real).
ensure_real_bgp() {
    local ns="${P}-$1"
    on_lo "$ns" "${ANYCAST_VIPS[@]}"
    ip -n "$ns" route replace "$OUTER4_PREFIX.0/24" via "$SUBNET4_PREFIX.${HOST[rt]}"
    ip -n "$ns" -6 route replace "${OUTER6_PREFIX}:/64" via "${SUBNET6_PREFIX}:${HOST[rt]}"
}

# BIRD's file for NODE. An LB node runs config/scale-out/bird-node.conf, the
# example operators start from, with the lab's addresses and one router; the
# router's sessions to every LB node are written here, with the example
# router's settings (config/scale-out/bird-router.conf): BFD finds a lost
# node in 300 ms, and a session a fenced node lost comes back a second or
# two after the fence lifts.
bird_conf() {
    local node=$1 h=${HOST[$1]} lb
    echo "# lbd lab ($P): BIRD on $node, written by scripts/lab.sh up --bgp"
    if [[ $node != rt ]]; then
        sed -e "s|^log syslog all;|log \"$RUN_DIR/bird-$node.log\" all;|" \
            -e "s|^router id 192.0.2.11;|router id $SUBNET4_PREFIX.$h;|" \
            -e "s|neighbor 192.0.2.1 as|neighbor $SUBNET4_PREFIX.${HOST[rt]} as|" \
            -e "s|neighbor 2001:db8::1 as|neighbor ${SUBNET6_PREFIX}:${HOST[rt]} as|" \
            -e "s|kernel table 100;|kernel table $ANNOUNCE_TABLE;|" \
            -e "/^protocol bgp router2_/,/^}/d" "$REPO_ROOT/config/scale-out/bird-node.conf"
        return
    fi
    echo "log \"$RUN_DIR/bird-$node.log\" all;"
    echo "router id $SUBNET4_PREFIX.$h;"
    echo "protocol device {}"
    echo "protocol bfd { interface \"eth0\" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }"
    echo "protocol kernel { ipv4 { import none; export all; }; merge paths on; }"
    echo "protocol kernel { ipv6 { import none; export all; }; merge paths on; }"
    echo "template bgp lbnode { local as $ROUTER_AS; bfd on; connect delay time 1; connect retry time 1; error wait time 1, 5; }"
    for lb in "${BGP_LBS[@]}"; do
        echo "protocol bgp ${lb}_v4 from lbnode { neighbor $SUBNET4_PREFIX.${HOST[$lb]} as $NODE_AS; ipv4 { import all; export none; }; }"
        echo "protocol bgp ${lb}_v6 from lbnode { neighbor ${SUBNET6_PREFIX}:${HOST[$lb]} as $NODE_AS; ipv6 { import all; export none; }; }"
    done
}

# FRR on NODE instead of BIRD (up --bgp --frr: lb3): zebra, bfdd and bgpd
# as user frr, configured from config/scale-out/frr-node.conf with the lab's
# addresses, their sockets and logs in /run/${P}-lab/frr-NODE/; vtysh
# --vty_socket there talks to them.
frr_running() {
    local pid=""
    [[ -r $RUN_DIR/frr-$1/bgpd.pid ]] && pid=$(<"$RUN_DIR/frr-$1/bgpd.pid")
    pid_in_ns "$pid" "${P}-$1"
}

start_frr() {
    local node=$1 h=${HOST[$1]} dir="$RUN_DIR/frr-$1" d extra
    frr_running "$node" && return 0
    command -v vtysh >/dev/null || die "--frr needs FRR (apt-get install frr; scripts/deps.sh)"
    mkdir -p "$dir"
    sed -e "s|^log syslog informational|log file $dir/frr.log informational|" \
        -e "s|bgp router-id 192.0.2.11|bgp router-id $SUBNET4_PREFIX.$h|" \
        -e "s|192\.0\.2\.1 |$SUBNET4_PREFIX.${HOST[rt]} |" \
        -e "/192\.0\.2\.2 /d" \
        -e "s|ip import-table 100|ip import-table $ANNOUNCE_TABLE|" \
        -e "s|redistribute table 100|redistribute table $ANNOUNCE_TABLE|" \
        "$REPO_ROOT/config/scale-out/frr-node.conf" >"$dir/frr.conf"
    : >"$dir/empty.conf"
    chown -R frr:frr "$dir"
    for d in zebra bfdd bgpd; do
        extra=()
        [[ $d == bfdd ]] && extra=(--bfdctl "$dir/bfdd.sock")
        nsx "${P}-$node" "/usr/lib/frr/$d" -d -f "$dir/empty.conf" -i "$dir/$d.pid" -z "$dir/zserv.api" \
            --vty_socket "$dir" "${extra[@]}" </dev/null >>"$dir/start.log" 2>&1 ||
            die "FRR's $d did not start on $node (log: $dir/start.log)"
    done
    # As FRR's own start does (vtysh -b): vtysh hands each line of the
    # integrated file to the daemon it belongs to.
    vtysh --vty_socket "$dir" -f "$dir/frr.conf" >>"$dir/start.log" 2>&1 ||
        die "vtysh refused $dir/frr.conf on $node (log: $dir/start.log)"
}

bird_running() {
    local pid=""
    [[ -r $RUN_DIR/bird-$1.pid ]] && pid=$(<"$RUN_DIR/bird-$1.pid")
    pid_in_ns "$pid" "${P}-$1"
}

# BIRD on NODE unless it runs; it goes to the background by itself (its pid
# in bird-NODE.pid) and dies with the lab (down kills every process of its
# namespaces).
start_bird() {
    local node=$1
    bird_running "$node" && return 0
    bird_conf "$node" >"$RUN_DIR/bird-$node.conf"
    nsx "${P}-$node" bird -c "$RUN_DIR/bird-$node.conf" -s "$RUN_DIR/bird-$node.ctl" \
        -P "$RUN_DIR/bird-$node.pid" </dev/null >>"$RUN_DIR/bird-$node.log" 2>&1 ||
        die "BIRD did not start on $node (log: $RUN_DIR/bird-$node.log)"
}

up_bgp() {
    local frr=$1 node
    command -v bird >/dev/null || die "--bgp needs BIRD 2 (apt-get install bird2; scripts/deps.sh)"
    ensure_ns "${P}-lb3"
    ensure_link lb3
    ensure_addrs lb3
    ensure_lb lb3
    ensure_router
    for node in "${REALS[@]}"; do ensure_real_bgp "$node"; done
    for node in rt "${BGP_LBS[@]}"; do
        if ((frr)) && [[ $node == lb3 ]]; then start_frr "$node"; else start_bird "$node"; fi
    done
}

cmd_up() {
    local decap=0 nat=0 bgp=0 frr=0 arg node
    for arg in "$@"; do
        case $arg in
        --decap) decap=1 ;;
        --nat) nat=1 ;;
        --bgp) bgp=1 ;;
        --frr) bgp=1 frr=1 ;;
        *) die "up: unknown argument '$arg' (usage: lab.sh up [--decap] [--nat] [--bgp [--frr]])" ;;
        esac
    done
    need_tools
    [[ -r $REALSERVER ]] || die "missing $REALSERVER"
    if ((decap)) && [[ ! -x $BUILD_DIR/lbd-decap ]]; then
        die "--decap needs $BUILD_DIR/lbd-decap (build it first, or set LBD_BUILD_DIR)"
    fi

    mkdir -p "$RUN_DIR"
    ensure_bpffs
    build_port_prog
    ensure_bridge
    for node in "${NODES[@]}"; do
        ensure_ns "${P}-$node"
        ensure_link "$node"
        ensure_addrs "$node"
    done
    for node in lb1 lb2; do
        ensure_lb "$node"
    done
    for node in "${REALS[@]}"; do
        ensure_real_net "$node"
        start_realserver "$node"
    done
    local reals=("${REALS[@]}")
    if ((nat)); then
        ensure_bridge br1
        for node in lb1 lb2; do ensure_lb_inside "$node"; done
        for node in "${NAT_REALS[@]}"; do
            ensure_nat_real "$node"
            start_realserver "$node"
        done
        reals+=("${NAT_REALS[@]}")
    fi
    ((bgp)) && up_bgp "$frr"
    ((decap)) && attach_decap
    wait_realservers "${reals[@]}"
    log "up: prefix $P, namespaces ${BR_NS} ${NODES[*]/#/${P}-}$( ((nat)) && echo " ${NAT_REALS[*]/#/${P}-}")$( ((bgp)) && echo " ${BGP_NODES[*]/#/${P}-}, BGP on rt ${BGP_LBS[*]}$( ((frr)) && echo ' (FRR on lb3)')")$( ((decap)) && echo ', decap attached')"
}

# ---------------------------------------------------------------- down -------

lab_namespaces() {
    local node
    for node in br "${NODES[@]}" "${NAT_REALS[@]}" "${BGP_NODES[@]}"; do
        ns_exists "${P}-$node" && echo "${P}-$node"
    done
    return 0
}

kill_ns_pids() {
    local ns=$1 sig=$2 pid
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
        kill "-$sig" "$pid" 2>/dev/null || true
    done
}

ns_has_pids() { [[ -n $(ip netns pids "$1" 2>/dev/null) ]]; }

# Wait up to SECS for every namespace given to have no process left.
wait_no_pids() {
    local secs=$1 ns
    shift
    local deadline=$((SECONDS + secs))
    while :; do
        for ns in "$@"; do
            ns_has_pids "$ns" && break
            ns=""
        done
        [[ -z $ns ]] && return 0
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}

cmd_down() {
    local nss=() ns
    mapfile -t nss < <(lab_namespaces)
    if ((${#nss[@]})); then
        for ns in "${nss[@]}"; do kill_ns_pids "$ns" TERM; done
        # Give them a moment to exit cleanly, then insist.
        if ! wait_no_pids 3 "${nss[@]}"; then
            for ns in "${nss[@]}"; do kill_ns_pids "$ns" KILL; done
            wait_no_pids 5 "${nss[@]}" ||
                log "warning: processes still running in ${nss[*]}"
        fi
        for ns in "${nss[@]}"; do
            ip netns del "$ns" 2>/dev/null || ! ns_exists "$ns" ||
                die "cannot delete namespace $ns"
        done
    fi
    local node
    for node in "${REALS[@]}" "${NAT_REALS[@]}"; do reap_orphan "$node"; done
    # The last mount of a bpffs takes its pins along.
    if mountpoint -q "$RUN_DIR/bpffs" 2>/dev/null; then
        umount "$RUN_DIR/bpffs" || die "cannot unmount $RUN_DIR/bpffs"
    fi
    rm -rf "$RUN_DIR"
}

# ---------------------------------------------------------------- status -----

cmd_status() {
    local nss=() ns node pid state
    mapfile -t nss < <(lab_namespaces)
    if ((${#nss[@]} == 0)); then
        echo "lab '$P': down"
        return 0
    fi
    echo "lab '$P': ${#nss[@]} namespace(s)"
    for ns in "${nss[@]}"; do
        echo "== $ns"
        ip -n "$ns" -br addr show | sed 's/^/   /'
    done
    echo "== real servers"
    for node in "${REALS[@]}" "${NAT_REALS[@]}"; do
        ns_exists "${P}-$node" || continue
        pid=""
        [[ -r $RUN_DIR/$node.pid ]] && pid=$(<"$RUN_DIR/$node.pid")
        if pid_in_ns "$pid" "${P}-$node"; then
            state="running (pid $pid)"
        else
            state="not running"
        fi
        printf '   %-4s %s\n' "$node" "$state"
    done
}

usage() {
    echo "usage: $0 up [--decap] [--nat] [--bgp [--frr]] | down | status" >&2
    exit 2
}

(($# >= 1)) || usage
cmd=$1
shift
case $cmd in
up) cmd_up "$@" ;;
down) (($# == 0)) || usage; cmd_down ;;
status) (($# == 0)) || usage; cmd_status ;;
*) usage ;;
esac
