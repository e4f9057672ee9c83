#!/usr/bin/env bash
# Every benchmark of lbd in one go, as root on Debian 12 (installs what it
# needs, builds, then measures):
#
#   1. Maglev ring build time (build/bench/maglev_bench)  -> bench/results/maglev.md
#   2. per-packet cost of the lb program with BPF_PROG_TEST_RUN
#      (build/bench/lb_prog_bench --json, when it exists) -> bench/results/dataplane.md
#   3. forwarded packets per second on gen -> LB -> sink, in namespaces it
#      builds itself, for four forwarders over the same three reals:
#        baseline  no-lookup XDP MAC rewrite + devmap redirect (the limit)
#        lbd-dr    lbd in DR mode, 3 reals behind the sink's port
#        lbd-nat   lbd in NAT mode, the same reals (forward direction only)
#        nftables  nft DNAT (jhash over 3 reals) with conntrack, kernel routing
#        lbd-dr-flood  lbd-dr with every 4th frame a spoofed-source UDP
#                  datagram to a second VIP of the node (a new flow each):
#                  the other frames' flows are the established traffic, and
#                  their rate is the row
#      N runs of S seconds each, configurations alternated round-robin (the
#      first one rotating each round) so drift hits all of them alike
#                                   -> bench/results/dataplane.md, pps.png
#   4. VRRP against keepalived in the lab (bench/vrrp_bench.sh): failover
#      outage on a master crash at advert_int 1 s, 100 ms and 10 ms, and a
#      10 ms interval held with one CPU busy
#                                   -> bench/results/vrrp.md, vrrp_outage.png
#   5. health checkers' CPU over 1,000 and 4,000 loopback reals with
#      TCP_CHECK and HTTP_GET at delay_loop 1 (bench/checks_bench.sh)
#                                                 -> bench/results/checks.md
#   6. control plane: how long a weight change over lbd's control socket
#      takes to reach the VIP's ring in the pinned maps, and to be answered
#      (build/bench/lbd-bench-weight), and a failing HTTP_GET answer to its
#      real's removal from the ring (build/bench/lbd-bench-verdict), for one
#      service of 3, 100 and 1,000 reals, in a namespace of its own
#                                                 -> bench/results/control.md
#   7. losing a node, active-active behind BGP (BFD) against VRRP at its
#      fastest stable advert interval, in the lab's --bgp topology
#      (bench/scaleout_bench.sh): the outage a client probing every 10 ms
#      sees, and how many held connections survive
#                                                 -> bench/results/scaleout.md
#   8. start, restart (to VRRP resumed and to ready) and a no-change reload
#      with 10, 100 and 512 virtual services, from lbd's log
#      (bench/scale_bench.sh)                     -> bench/results/scale.md
#
#   scripts/bench.sh [--runs N] [--seconds S] [--cpu C] [--profile] [--no-build]
#                    [--skip-maglev] [--skip-prog] [--skip-pps] [--skip-vrrp] [--skip-checks]
#                    [--skip-control] [--vrrp-rounds N] [--vrrp-hold SECONDS]
#                    [--control-rounds N] [--skip-scaleout] [--scaleout-rounds N]
#                    [--skip-scale] [--scale-rounds N]
#
#   --runs N      runs per configuration (default 5)
#   --seconds S   length of a measured run (default 3)
#   --cpu C       CPU the generator is pinned to (default: the last one)
#   --profile     after the runs, one more run of each XDP path with
#                 kernel.bpf_stats_enabled=1: average ns per call of the
#                 forwarding and sink programs (adds the per-call cost of the
#                 statistics; restored afterwards)
#   --no-build    use build/ as it is (no package install, no build)
#   --skip-*      leave a part out (--skip-pps writes no dataplane.md and
#                 draws no pps.png)
#   --vrrp-rounds N       failover rounds per interval and implementation (3)
#   --vrrp-hold SECONDS   length of the 10 ms hold run of each implementation (60)
#   --control-rounds N    timed weight changes per service size (200)
#   --scaleout-rounds N   node losses per mode (bgp, vrrp) (5)
#   --scale-rounds N      rounds of the scale part (3)
#
# The plots are drawn with gnuplot (Debian's gnuplot-nox) from the run's own
# data, by bench/plot/*.gp.
#
# Exits non-zero when a configuration forwards nothing or to the wrong
# place: that is a broken run, not a number, and no result is written.
#
# The pps topology (namespaces ${LBD_BENCH_PREFIX:-lbdb}-{gen,lb,sink}):
#
#   gen: gen0 10.214.0.1 --- in0 10.214.0.2  lb  out0 10.215.0.1 --- sink0 10.215.0.10
#                                                                   + .11 .12 .13 (the reals)
#
#   The generator (bench/bpf/gen.bpf.c) sends 64-byte UDP frames to the VIP
#   10.214.0.100:9 out of gen0, 1024 source ports, with BPF_PROG_RUN live
#   frames and XDP_TX where the kernel allows them. Where it refuses them
#   (EPERM without CAP_SYS_RESOURCE), the frames recirculate instead: the sink
#   returns each frame it counted through ret0 (sink) --- ret1 (gen), where
#   the generator program rewrites it and sends it out of gen0 again.
#   LBD_BENCH_GENERATOR=live-frames|recirculate forces one. The sink
#   (bench/bpf/sink.bpf.c, native XDP on sink0) counts the frames and drops
#   or returns them, passing ARP to its kernel, which answers for the reals.
#   Every veth end has GRO on and TX checksum offload off (docs/lab.md).
#
# The control part has a namespace of its own, ${LBD_BENCH_PREFIX:-lbdb}-ctl:
# ctl0 10.216.0.1, the VIP 10.216.0.100:80, the reals 10.217.x.y behind a
# gateway 10.216.0.2 that exists only as a permanent neighbour entry.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

RUNS=5
SECONDS_PER_RUN=3
GEN_CPU=$(($(nproc) - 1))
PROFILE=0
BUILD_STEP=1
DO_MAGLEV=1 DO_PROG=1 DO_PPS=1 DO_VRRP=1 DO_CHECKS=1 DO_CONTROL=1 DO_SCALEOUT=1 DO_SCALE=1
SCALE_ROUNDS=3
SCALEOUT_ROUNDS=5
VRRP_ROUNDS=3 VRRP_HOLD=60
CONTROL_ROUNDS=200
while (($#)); do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
    --cpu) GEN_CPU=$2; shift 2 ;;
    --profile) PROFILE=1; shift ;;
    --no-build) BUILD_STEP=0; shift ;;
    --skip-maglev) DO_MAGLEV=0; shift ;;
    --skip-prog) DO_PROG=0; shift ;;
    --skip-pps) DO_PPS=0; shift ;;
    --skip-vrrp) DO_VRRP=0; shift ;;
    --skip-checks) DO_CHECKS=0; shift ;;
    --skip-control) DO_CONTROL=0; shift ;;
    --vrrp-rounds) VRRP_ROUNDS=$2; shift 2 ;;
    --vrrp-hold) VRRP_HOLD=$2; shift 2 ;;
    --control-rounds) CONTROL_ROUNDS=$2; shift 2 ;;
    --skip-scaleout) DO_SCALEOUT=0; shift ;;
    --scaleout-rounds) SCALEOUT_ROUNDS=$2; shift 2 ;;
    --skip-scale) DO_SCALE=0; shift ;;
    --scale-rounds) SCALE_ROUNDS=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || { echo "bench.sh: --runs wants 1..99" >&2; exit 2; }
[[ $SECONDS_PER_RUN =~ ^[1-9][0-9]?$ ]] || { echo "bench.sh: --seconds wants 1..99" >&2; exit 2; }
[[ $CONTROL_ROUNDS =~ ^[1-9][0-9]{0,3}$ ]] || { echo "bench.sh: --control-rounds wants 1..9999" >&2; exit 2; }
[[ $GEN_CPU =~ ^[0-9]+$ ]] && ((GEN_CPU < $(nproc))) || { echo "bench.sh: --cpu wants 0..$(($(nproc) - 1))" >&2; exit 2; }
((EUID == 0)) || { echo "bench.sh: must run as root (namespaces, XDP)" >&2; exit 1; }

log() { printf 'bench.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if ((BUILD_STEP)); then
  source scripts/deps.sh
  lbd_install_deps
  lbd_build
fi
if ((DO_PPS || DO_VRRP)); then
  command -v gnuplot >/dev/null || die "gnuplot is not installed (apt-get install gnuplot-nox; scripts/deps.sh)"
fi
BUILD=$REPO/build
RESULTS=$REPO/bench/results
mkdir -p "$RESULTS"
WORK=$(mktemp -d /tmp/lbd-bench.XXXXXX)

P=${LBD_BENCH_PREFIX:-lbdb}
NS_GEN=$P-gen NS_LB=$P-lb NS_SINK=$P-sink NS_CTL=$P-ctl
LBD_PID=
LBD_STARTS=0
BPF_STATS_OLD=
NS_MADE=()
LBD_LOCKS=()

# The lbd this script started, if any: SIGTERM, then SIGKILL after 5 s.
lbd_stop() {
  [[ -n $LBD_PID ]] || return 0
  kill -TERM "$LBD_PID" 2>/dev/null || true
  local i
  for i in $(seq 50); do kill -0 "$LBD_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$LBD_PID" 2>/dev/null || true
  wait "$LBD_PID" 2>/dev/null || true
  LBD_PID=
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  lbd_stop
  [[ -n $BPF_STATS_OLD ]] && sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_OLD" || true
  local ns
  for ns in "${NS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  # lbd leaves its instance's lock file by design; these instances were ours.
  rm -f "${LBD_LOCKS[@]}"
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ns_add NS: a namespace of this run (deleted on exit), without IPv6 (no
# router solicitations or MLD in the measurements), lo up.
ns_add() {
  [[ -e /run/netns/$1 ]] && die "namespace $1 exists: another bench running? (ip netns del $1)"
  ip netns add "$1"
  NS_MADE+=("$1")
  nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  nsx "$1" ip link set lo up
}

# lbd_start NS CONF INSTANCE: lbd in NS, in the foreground, until it logs
# that it is ready (15 s at most). Its log goes to $WORK/lbd.log.
lbd_start() {
  # ip netns exec execs lbd: $! is lbd's pid (nsenter needs it). The log
  # exists before lbd starts, for the wait below to read.
  : >>"$WORK/lbd.log"
  ip netns exec "$1" "$BUILD/lbd" -n -l -f "$2" --instance "$3" >>"$WORK/lbd.log" 2>&1 &
  LBD_PID=$!
  LBD_LOCKS+=("/run/lbd/$3.lock")
  local deadline=$((SECONDS + 15))
  until (($(grep -c "lbd ready" "$WORK/lbd.log" || true) > LBD_STARTS)); do
    kill -0 "$LBD_PID" 2>/dev/null || { cat "$WORK/lbd.log" >&2; die "lbd exited"; }
    ((SECONDS < deadline)) || { cat "$WORK/lbd.log" >&2; die "lbd not ready in 15 s"; }
    sleep 0.1
  done
  LBD_STARTS=$((LBD_STARTS + 1))
}

# lbd_wait_hops N LBCTL...: until LBCTL (an lbctl command line) lists N
# reals up with a next hop, 10 s at most.
lbd_wait_hops() {
  local want=$1 n=0 deadline=$((SECONDS + 10))
  shift
  until ((n == want)); do
    n=$("$@" reals --json | python3 -c \
      'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["up"] and "next_hop" in r))')
    ((n == want)) && break
    ((SECONDS < deadline)) || die "lbd resolved $n of $want next hops"
    sleep 0.2
  done
}

# draw_png NAME TSV: bench/results/NAME.png from TSV by bench/plot/NAME.gp.
draw_png() {
  gnuplot -e "data='$2'; out='$RESULTS/$1.png'" "$REPO/bench/plot/$1.gp" \
    || die "gnuplot could not draw $1.png from $2"
  log "drew bench/results/$1.png"
}

machine_md() {
  local cpu
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  echo "- kernel: $(uname -r) ($(uname -m))"
  echo "- CPU: ${cpu:-unknown}, $(nproc) CPUs online"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- lbd: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . ':!bench/results' 2>/dev/null || echo ' (with uncommitted changes)')"
}

# json_to_md FILE: a Google Benchmark JSON report, or a JSON object holding
# one list of flat records (other keys printed above it), or a JSON list of
# flat records, as a markdown table.
json_to_md() {
  python3 - "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
def table(rows):
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")
def records(x):
    return isinstance(x, list) and x and all(isinstance(r, dict) for r in x)
if isinstance(doc, dict) and "benchmarks" in doc:
    print("| benchmark | time | CPU time | iterations |")
    print("|---|---:|---:|---:|")
    for b in doc["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        u = b.get("time_unit", "ns")
        print(f"| {b['name']} | {b['real_time']:.3f} {u} | {b['cpu_time']:.3f} {u} | {b.get('iterations', '')} |")
elif isinstance(doc, dict) and any(records(v) for v in doc.values()):
    others = [f"{k}: {v}" for k, v in doc.items() if not records(v)]
    if others:
        print("; ".join(others))
        print()
    lists = [(k, v) for k, v in doc.items() if records(v)]
    for i, (k, v) in enumerate(lists):
        if len(lists) > 1:
            print(f"{'' if i == 0 else chr(10)}**{k}**:")
            print()
        table(v)
elif records(doc):
    table(doc)
else:
    print("```json")
    print(json.dumps(doc, indent=2))
    print("```")
PY
}

# ------------------------------------------------------------ 1. Maglev ---
if ((DO_MAGLEV)); then
  log "Maglev ring build benchmark"
  "$BUILD/bench/maglev_bench" --benchmark_format=json >"$WORK/maglev.json" 2>"$WORK/maglev.err" \
    || { cat "$WORK/maglev.err" >&2; die "maglev_bench failed"; }
  {
    echo "# Maglev ring build time"
    echo
    echo "Generated by \`scripts/bench.sh\` (build/bench/maglev_bench): building one"
    echo "ring of the default size (65537 slots) from N reals, equal or uneven weights."
    echo
    machine_md
    echo
    json_to_md "$WORK/maglev.json"
  } >"$RESULTS/maglev.md"
  log "wrote bench/results/maglev.md"
fi

# ------------------------------------------- 2. per-packet (PROG_TEST_RUN)
PROG_MD=$WORK/prog.md
if ((DO_PROG)); then
  if [[ -x $BUILD/bench/lb_prog_bench ]]; then
    log "per-packet lb program benchmark (lb_prog_bench)"
    rc=0
    "$BUILD/bench/lb_prog_bench" --json >"$WORK/prog.json" 2>"$WORK/prog.err" || rc=$?
    if ((rc == 0)); then
      { echo "From \`build/bench/lb_prog_bench --json\`:"; echo; json_to_md "$WORK/prog.json"; } >"$PROG_MD"
    elif ((rc == 77)); then
      echo "Skipped by lb_prog_bench: $(head -1 "$WORK/prog.err")" >"$PROG_MD"
    else
      cat "$WORK/prog.err" >&2
      die "lb_prog_bench failed (exit $rc)"
    fi
  else
    echo "Skipped: \`build/bench/lb_prog_bench\` is not built yet." >"$PROG_MD"
    log "lb_prog_bench not built: skipped"
  fi
else
  echo "Skipped (\`--skip-prog\`)." >"$PROG_MD"
fi

# ------------------------------------------------------------ 5. checkers --
if ((DO_CHECKS)); then
  log "health checkers' CPU at 1,000 and 4,000 reals (bench/checks_bench.sh)"
  LBD_BUILD_DIR=$BUILD bench/checks_bench.sh "$WORK/checks.md"
  cp "$WORK/checks.md" "$RESULTS/checks.md"
  log "wrote bench/results/checks.md"
fi

# ------------------------------------------------------ 6. control plane --
# One namespace: ctl0 (the lb_interface) and its veth peer ctl1, there only
# for a carrier. The reals, 10.217.x.y, need not exist: they sit behind a
# gateway with a permanent neighbour entry, so every next hop resolves from
# that one entry (a thousand entries of their own would crowd the kernel's
# neighbour table, which every namespace shares).
CTL_SIZES=(3 100 1000)
CTL_VIP=10.216.0.100 CTL_PORT=80 CTL_GW=10.216.0.2 CTL_GW_MAC=02:d6:00:00:02:02
CTL_REAL=10.217.0.1  # the real whose weight changes, or whose checker fails
CTL_LBCTL_RUNS=20
CTL_HTTP=8080        # where lbd-bench-verdict answers CTL_REAL's HTTP_GET, on 10.216.0.1
CTL_VERDICT_ROUNDS=30

ctl_topology_up() {
  ns_add "$NS_CTL"
  ip -n "$NS_CTL" link add ctl0 type veth peer name ctl1
  ip -n "$NS_CTL" link set ctl1 up
  ip -n "$NS_CTL" link set ctl0 up
  ip -n "$NS_CTL" addr add 10.216.0.1/24 dev ctl0
  ip -n "$NS_CTL" neigh add $CTL_GW lladdr $CTL_GW_MAC dev ctl0 nud permanent
  ip -n "$NS_CTL" route add 10.217.0.0/16 via $CTL_GW dev ctl0
}

# ctl_conf N [verdict]: one TCP service of N reals at weight 1; TUN, as the
# reals are off link; no checkers, so every real counts as up. With
# `verdict`, CTL_REAL has an HTTP_GET every 0.1 s that lbd-bench-verdict
# answers, one failure taking it down.
ctl_conf() {
  local i
  {
    echo "global_defs { lb_interface ctl0 }"
    echo "virtual_server $CTL_VIP $CTL_PORT {"
    echo "  lb_algo mh"
    echo "  lb_kind TUN"
    echo "  protocol TCP"
    [[ ${2:-} == verdict ]] && echo "  delay_loop 0.1"
    for ((i = 0; i < $1; i++)); do
      echo "  real_server 10.217.$((i / 250)).$((i % 250 + 1)) $CTL_PORT {"
      echo "    weight 1"
      if [[ ${2:-} == verdict && $i == 0 ]]; then
        echo "    HTTP_GET {"
        echo "      url {"
        echo "        path /health"
        echo "        status_code 200"
        echo "      }"
        echo "      connect_ip 10.216.0.1"
        echo "      connect_port $CTL_HTTP"
        echo "      connect_timeout 1"
        echo "      retry 0"
        echo "    }"
      fi
      echo "  }"
    done
    echo "}"
  } >"$WORK/ctl-$1${2:+-$2}.conf"
}

# lbctl needs neither lbd's namespaces nor its bpffs: /run is shared.
ctl_lbctl() { "$BUILD/lbctl" --instance "$NS_CTL" "$@"; }

# ctl_measure N: lbd over N reals; lbd-bench-weight's JSON object with the
# end-to-end times of `lbctl weight` added -> $WORK/ctl-N.json.
ctl_measure() {
  local n=$1
  ctl_conf "$n"
  lbd_start "$NS_CTL" "$WORK/ctl-$n.conf" "$NS_CTL"
  lbd_wait_hops "$n" ctl_lbctl
  # The pins are in lbd's mount namespace, on a bpffs of its own.
  timeout 300 nsenter -t "$LBD_PID" -m "$BUILD/bench/lbd-bench-weight" \
    --socket "/run/lbd/$NS_CTL.sock" --pin-dir "/sys/fs/bpf/lbd/$NS_CTL" \
    --vip $CTL_VIP --port $CTL_PORT --real $CTL_REAL --rounds "$CONTROL_ROUNDS" >"$WORK/ctl-$n.bench.json" \
    || die "lbd-bench-weight over $n reals failed"
  python3 - "$BUILD/lbctl" "$NS_CTL" $CTL_REAL $CTL_LBCTL_RUNS "$WORK/ctl-$n.bench.json" \
    >"$WORK/ctl-$n.json" <<'PY'
import json, signal, statistics as st, subprocess, sys, time
lbctl, instance, real, runs, bench_f = sys.argv[1:]
cmd = [lbctl, "--instance", instance, "weight", real]

def lbctl_weight(w):
    # Bounded by an alarm, not by run()'s timeout: with a timeout, Python
    # polls for the child's exit at doubling sleeps, and every time read
    # would round up to 32 or 64 ms.
    signal.alarm(10)
    subprocess.run(cmd + [w], check=True, stdout=subprocess.DEVNULL)
    signal.alarm(0)

us = []
for i in range(int(runs)):
    t0 = time.monotonic_ns()
    lbctl_weight(str(2 - i % 2))
    us.append((time.monotonic_ns() - t0) / 1000)
lbctl_weight("reset")
doc = json.load(open(bench_f))
doc["lbctl"] = {"runs": len(us), "median_us": round(st.median(us), 1),
                "min_us": round(min(us), 1), "max_us": round(max(us), 1)}
print(json.dumps(doc))
PY
  lbd_stop
  ctl_conf "$n" verdict
  lbd_start "$NS_CTL" "$WORK/ctl-$n-verdict.conf" "$NS_CTL"
  timeout 300 nsenter -t "$LBD_PID" -m -n "$BUILD/bench/lbd-bench-verdict" \
    --pin-dir "/sys/fs/bpf/lbd/$NS_CTL" --vip $CTL_VIP --port $CTL_PORT --real $CTL_REAL \
    --listen 10.216.0.1 --http-port $CTL_HTTP --rounds $CTL_VERDICT_ROUNDS >"$WORK/ctl-$n.verdict.json" \
    || die "lbd-bench-verdict over $n reals failed"
  lbd_stop
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=json.load(open(sys.argv[2]))
print("bench.sh: control: %d reals: new slots median %.2f ms, answer %.2f ms (%.2f-%.2f); lbctl weight %.2f ms; "
      "verdict to ring %.2f ms"
      % (d["reals"], d["visible_median_us"] / 1e3, d["median_us"] / 1e3, d["min_us"] / 1e3, d["max_us"] / 1e3,
         d["lbctl"]["median_us"] / 1e3, v["median_us"] / 1e3), file=sys.stderr)' \
    "$WORK/ctl-$n.json" "$WORK/ctl-$n.verdict.json"
}

ctl_report() {
  machine_md >"$WORK/machine.md"
  python3 - "$WORK" "$WORK/machine.md" "$CONTROL_ROUNDS" $CTL_REAL $CTL_LBCTL_RUNS "${CTL_SIZES[@]}" \
    >"$WORK/control.md" <<'PY'
import json, sys
work, machine_f, rounds, real, lbctl_runs, *sizes = sys.argv[1:]
docs = [json.load(open(f"{work}/ctl-{n}.json")) for n in sizes]
verdicts = [json.load(open(f"{work}/ctl-{n}.verdict.json")) for n in sizes]
for n, d in zip(sizes, docs):
    if d["reals"] != int(n):
        sys.exit(f"control: the ring of {n} reals holds {d['reals']}")
ms = lambda us: f"{us / 1e3:.2f}"
L = ["# Control plane: a weight change and a checker's verdict to the data plane", ""]
L.append("Generated by `scripts/bench.sh` (build/bench/lbd-bench-weight) on this machine; do not edit by hand.")
L.append("")
L.append("## Machine")
L.append("")
L += open(machine_f).read().rstrip("\n").split("\n")
L.append("")
L.append("## Method")
L.append("")
L.append("lbd (`lbd -n -l -f CONF --instance NAME`) runs in a network namespace of its own with one TCP")
L.append("virtual service, `lb_algo mh`, `lb_kind TUN`, of N reals at weight 1 and no checkers, so every")
L.append(f"real is up; the ring has the default {docs[0]['ring_size']} slots. The reals are addresses behind a")
L.append("gateway with a permanent neighbour entry: nothing answers at them, and their next hops resolve")
L.append("from that entry.")
L.append("")
L.append("`lbd-bench-weight` connects once to the control socket and sends")
L.append(f"`{{\"command\": \"weight\", \"args\": {{\"real\": \"{real}\", \"weight\": W}}}}` {rounds} times per size,")
L.append("W alternating 2 and 1 (untimed first requests set 1, 2 and 1). Each request is timed (steady")
L.append("clock) from its send to two moments: **new slots**, when the last slot that the two weights give")
L.append("to different reals holds its new value in the pinned ring (the tool maps the VIP's inner map,")
L.append("which is `BPF_F_MMAPABLE`, and watches that slot; lbd writes slots in order, so by then every")
L.append("changed slot is written), and **answer**, the end of the reply line. lbd answers from its main")
L.append("loop once the checkers' thread has changed the real's pool and handed the service to the data")
L.append("plane, which builds the Maglev table from all its reals again and writes the slots that differ")
L.append("into the ring in place.")
L.append("")
L.append("After each reply, untimed, the tool reads the VIP's ring from the pinned maps (`vips4` for the")
L.append("VIP's id, `rings` for its inner map, then every slot) and stops the run unless it is the same")
L.append("inner map rewritten, not the previous round's ring, the very ring the same weight gave before,")
L.append("and gives the real more slots at weight 2 than at 1. A failed round is an error and writes no")
L.append("result: every round below found the new ring in the maps when lbd answered.")
L.append("")
L.append(f"**Verdict**: lbd runs again with the same reals, {real} with an HTTP_GET every 0.1 s")
L.append("(`retry 0`: one failure takes it down) whose `connect_ip`/`connect_port` is `lbd-bench-verdict`,")
L.append("in the same namespace. Each round the tool waits until the real is up and holds slots, answers")
L.append("the checker's next request with a 503, and times from that answer's send to the moment the last")
L.append("slot the real held names another real (watched as above); then it answers 200 until the real is")
L.append(f"back. {verdicts[0]['rounds']} rounds per size.")
L.append("")
L.append("## Results")
L.append("")
L.append("Milliseconds, median (min-max), p90 where named.")
L.append("")
L.append(f"| reals | ring slots | rounds | weight: new slots | p90 | weight: answer | p90 | slots of {real} at weight 1 / 2 | `lbctl weight` end-to-end | verdict: real out of the ring | p90 |")
L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for d, v in zip(docs, verdicts):
    c = d["lbctl"]
    L.append(f"| {d['reals']} | {d['ring_size']} | {d['rounds']} | "
             f"{ms(d['visible_median_us'])} ({ms(d['visible_min_us'])}-{ms(d['visible_max_us'])}) | "
             f"{ms(d['visible_p90_us'])} | "
             f"{ms(d['median_us'])} ({ms(d['min_us'])}-{ms(d['max_us'])}) | {ms(d['p90_us'])} | "
             f"{d['real_slots']['1']} / {d['real_slots']['2']} | "
             f"{ms(c['median_us'])} ({ms(c['min_us'])}-{ms(c['max_us'])}) | "
             f"{ms(v['median_us'])} ({ms(v['min_us'])}-{ms(v['max_us'])}) | {ms(v['p90_us'])} |")
L.append("")
L.append("## What is measured, and what is not")
L.append("")
L.append("- In: the request's way in and its JSON; the daemon's hand-over to the checkers' thread; the")
L.append("  pool's change and the status it publishes for every real; the data plane's lock, the Maglev")
L.append("  build (bench/results/maglev.md: it is most of the time, and it grows with the reals) and the")
L.append("  rewrite of the changed slots. The answer adds the way back. The verdict adds the 503's way to")
L.append("  the checker and its parse, and a real leaving adds, after its slots are rewritten, one RCU")
L.append("  grace period (an update of `rings` with the ring it holds) before its flows are purged and its")
L.append("  entry cleared, so that no packet that read an old slot still runs: not in the verdict time,")
L.append("  which ends at the slots. Also in: any wait behind the daemon's own work on the same lock or")
L.append("  thread, such as its 1 s next-hop refresh of every real.")
L.append("- Not in: lbctl's own process start and connect (the tool keeps one connection open); the")
L.append(f"  last column is the whole `lbctl --instance NAME weight {real} W` command instead, process")
L.append(f"  start to exit, {lbctl_runs} runs per size, W alternating 2 and 1. Nor the read-back and check")
L.append("  of the ring. Nor packets: flows already in conntrack keep their real, and only new flows are")
L.append("  placed by the new ring. The tool's watch loop shares the 2 CPUs with lbd.")
L.append("")
print("\n".join(L))
PY
}

if ((DO_CONTROL)); then
  [[ -x $BUILD/bench/lbd-bench-weight && -x $BUILD/bench/lbd-bench-verdict && -x $BUILD/lbd && -x $BUILD/lbctl ]] \
    || die "lbd, lbctl, bench/lbd-bench-weight and bench/lbd-bench-verdict are not built"
  log "control plane: weight change latency over ${CTL_SIZES[*]} reals, $CONTROL_ROUNDS rounds each"
  ctl_topology_up
  for n in "${CTL_SIZES[@]}"; do ctl_measure "$n"; done
  ip netns del "$NS_CTL"
  ctl_report
  cp "$WORK/control.md" "$RESULTS/control.md"
  log "wrote bench/results/control.md"
fi

# ---------------------------------------------------------------- 4. VRRP --
# Before the pps part, which ends the script.
if ((DO_VRRP)); then
  log "VRRP failover and 10 ms hold, lbd and keepalived (bench/vrrp_bench.sh)"
  LBD_BUILD_DIR=$BUILD bench/vrrp_bench.sh "$WORK/vrrp.md" --rounds "$VRRP_ROUNDS" --hold "$VRRP_HOLD" \
    --tsv "$WORK/vrrp_rounds.tsv"
  # Per interval, median / min / max of each implementation for
  # bench/plot/vrrp_outage.gp; the figure goes under the outage table.
  python3 - "$WORK/vrrp_rounds.tsv" "$WORK/vrrp_outage.tsv" "$WORK/vrrp.md" <<'PY'
import statistics as st, sys
rounds_f, tsv_f, md_f = sys.argv[1:]
by, mdi = {}, {}
for line in open(rounds_f):
    if line.startswith("#"):
        continue
    _, adv, impl, outage, _, master_down = line.rstrip("\n").split("\t")
    by.setdefault((adv, impl), []).append(float(outage))
    mdi[adv] = master_down
with open(tsv_f, "w") as t:
    t.write("# advert_int_ms\tlbd_median\tlbd_min\tlbd_max\tka_median\tka_min\tka_max\tmaster_down_ms\n")
    for adv in sorted(mdi, key=float, reverse=True):
        cols = [f"{float(adv) * 1000:g}"]
        for impl in ("lbd", "keepalived"):
            v = by[(adv, impl)]
            cols += [f"{st.median(v):.1f}", f"{min(v):.1f}", f"{max(v):.1f}"]
        t.write("\t".join(cols + [mdi[adv]]) + "\n")
L = open(md_f).read().split("\n")
start = L.index("## Outage when the master node crashes")
table = next(i for i in range(start, len(L)) if L[i].startswith("|"))
end = next(i for i in range(table, len(L)) if not L[i].startswith("|"))
L[end:end] = ["", "![Failover outage by advert interval, lbd and keepalived: median of the rounds, bars min-max]"
              "(vrrp_outage.png)"]
open(md_f, "w").write("\n".join(L))
PY
  draw_png vrrp_outage "$WORK/vrrp_outage.tsv"
  cp "$WORK/vrrp.md" "$RESULTS/vrrp.md"
  log "wrote bench/results/vrrp.md"
fi

# ---------------------------------------------------------- 7. scale-out --
if ((DO_SCALEOUT)); then
  log "losing a node: BGP with BFD against VRRP (bench/scaleout_bench.sh)"
  LBD_BUILD_DIR=$BUILD bench/scaleout_bench.sh "$WORK/scaleout.md" --rounds "$SCALEOUT_ROUNDS"
  { cat "$WORK/scaleout.md"; echo; machine_md; } >"$RESULTS/scaleout.md"
  log "wrote bench/results/scaleout.md"
fi

# -------------------------------------------------------------- 8. scale --
if ((DO_SCALE)); then
  log "start, restart and reload with 10, 100 and 512 services (bench/scale_bench.sh)"
  LBD_BUILD_DIR=$BUILD bench/scale_bench.sh "$WORK/scale.md" --rounds "$SCALE_ROUNDS"
  { cat "$WORK/scale.md"; echo; machine_md; } >"$RESULTS/scale.md"
  log "wrote bench/results/scale.md"
fi

((DO_PPS)) || exit 0

# ------------------------------------------------------ 3. pps: topology --
PPS=$BUILD/bench/lbd-bench-pps
[[ -x $PPS ]] || die "$PPS is not built"
[[ -x $BUILD/lbd && -x $BUILD/lbctl ]] || die "lbd and lbctl are not built"
for t in nft ethtool taskset nsenter timeout; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done

MAC_GEN=02:d6:00:00:00:01 MAC_IN=02:d6:00:00:00:02
MAC_OUT=02:d6:00:00:01:01 MAC_SINK=02:d6:00:00:01:0a
IP_GEN=10.214.0.1 IP_IN=10.214.0.2 IP_OUT=10.215.0.1 IP_SINK=10.215.0.10
VIP=10.214.0.100 PORT=9
REALS=(10.215.0.11 10.215.0.12 10.215.0.13)
IN_FLIGHT=64  # frames circulating when the generator recirculates
# lbd-dr-flood: the flooded VIP (UDP port 53, the same reals), and the
# share of the generator's frames sent to it.
FLOOD_VIP=10.214.0.101 FLOOD_PORT=53 FLOOD_EVERY=4
GENERATOR=

topology_up() {
  local ns
  for ns in "$NS_GEN" "$NS_LB" "$NS_SINK"; do ns_add "$ns"; done
  ip -n "$NS_GEN" link add gen0 address $MAC_GEN type veth peer name in0 address $MAC_IN netns "$NS_LB"
  ip -n "$NS_LB" link add out0 address $MAC_OUT type veth peer name sink0 address $MAC_SINK netns "$NS_SINK"
  local pair
  for pair in "$NS_GEN gen0" "$NS_LB in0" "$NS_LB out0" "$NS_SINK sink0"; do
    set -- $pair
    nsx "$1" ethtool -K "$2" gro on tx off >/dev/null
    ip -n "$1" link set "$2" up
  done
  ip -n "$NS_GEN" addr add $IP_GEN/24 dev gen0
  ip -n "$NS_LB" addr add $IP_IN/24 dev in0
  ip -n "$NS_LB" addr add $IP_OUT/24 dev out0
  ip -n "$NS_SINK" addr add $IP_SINK/24 dev sink0
  local r
  for r in "${REALS[@]}"; do ip -n "$NS_SINK" addr add "$r/24" dev sink0; done
  nsx "$NS_LB" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
    net.ipv4.conf.in0.rp_filter=0 net.ipv4.conf.out0.rp_filter=0 net.ipv4.ip_forward=0
  generator_up
  # The LB's kernel learns the reals' MACs (the sink passes ARP up).
  # A datagram to each makes the kernel ask; bounded wait for the answers.
  nsx "$NS_LB" python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for a in sys.argv[1:]: s.sendto(b"arp", (a, 9))' "${REALS[@]}"
  local deadline=$((SECONDS + 5))
  for r in "${REALS[@]}"; do
    until nsx "$NS_LB" ip neigh show "$r" dev out0 | grep -q "$MAC_SINK"; do
      ((SECONDS < deadline)) || die "ARP for real $r unanswered"
      sleep 0.1
    done
  done
}

# generator_up: GENERATOR is live-frames where BPF_PROG_RUN takes them on
# gen0 (the tool tries once, sending nothing), else recirculate; the sink
# goes on sink0, returning what it counts through ret0 -> ret1 to recirculate.
generator_up() {
  : >"$WORK/generator.why"
  GENERATOR=${LBD_BENCH_GENERATOR:-$(nsx "$NS_GEN" "$PPS" generator --ifname gen0 2>"$WORK/generator.why")}
  case $GENERATOR in
    live-frames)
      nsx "$NS_SINK" "$PPS" sink attach sink0 ;;
    recirculate)
      ip -n "$NS_SINK" link add ret0 type veth peer name ret1 netns "$NS_GEN"
      ip -n "$NS_SINK" link set ret0 up
      ip -n "$NS_GEN" link set ret1 up
      nsx "$NS_SINK" "$PPS" sink attach sink0 --return ret0 ;;
    *) die "LBD_BENCH_GENERATOR is live-frames or recirculate, not '$GENERATOR'" ;;
  esac
  local why
  why=$(sed 's/^lbd-bench-pps: //' "$WORK/generator.why")
  log "pps: generator: $GENERATOR${LBD_BENCH_GENERATOR:+ (LBD_BENCH_GENERATOR)}${why:+ ($why)}"
}

# xdp_prog_id NS IF: id of the native XDP program on IF, or nothing.
xdp_prog_id() {
  ip -n "$1" -j -d link show "$2" | python3 -c \
    'import json,sys; l=json.load(sys.stdin)[0]; print(l.get("xdp",{}).get("prog",{}).get("id",""))'
}

# ------------------------------------------------------------ forwarders --
lbctl() { nsenter -t "$LBD_PID" -m -n "$BUILD/lbctl" --instance "$P-lb" "$@"; }

# service ADDR PORT PROTO KIND: a virtual_server over the reals.
service() {
  local r
  echo "virtual_server $1 $2 {"
  echo "  lb_algo mh"
  echo "  mh-port"  # hash the whole 5-tuple, not only the one client address
  echo "  lb_kind $4"
  echo "  protocol $3"
  for r in "${REALS[@]}"; do echo "  real_server $r $2 { weight 1 }"; done
  echo "}"
}

# write_lbd_conf: $WORK/lbd-dr.conf and lbd-nat.conf, one UDP service over
# the reals, the same but for lb_kind (NAT's reals keep the VIP's port);
# lbd-dr-flood.conf, lbd-dr's with the flooded VIP's service beside.
write_lbd_conf() {
  local kind
  for kind in DR NAT; do
    { echo "global_defs { lb_interface in0 }"; service $VIP $PORT UDP $kind; } >"$WORK/lbd-${kind,,}.conf"
  done
  { cat "$WORK/lbd-dr.conf"; service $FLOOD_VIP $FLOOD_PORT UDP DR; } >"$WORK/lbd-dr-flood.conf"
}

NFT_RULES="table ip $P {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $VIP udp dport $PORT dnat to jhash ip saddr . udp sport mod 3 map { 0 : ${REALS[0]}, 1 : ${REALS[1]}, 2 : ${REALS[2]} }
  }
}"

# fwd_up CONFIG / fwd_down CONFIG: put a forwarder on the LB node / take it off.
fwd_up() {
  case $1 in
    baseline)
      nsx "$NS_LB" "$PPS" baseline attach in0 out0 --dst-mac $MAC_SINK 2>/dev/null ;;
    lbd-dr|lbd-nat|lbd-dr-flood)
      lbd_start "$NS_LB" "$WORK/$1.conf" "$P-lb"
      lbd_wait_hops ${#REALS[@]} lbctl ;;
    nftables)
      nsx "$NS_LB" sysctl -qw net.ipv4.ip_forward=1
      nsx "$NS_LB" nft -f - <<<"$NFT_RULES" ;;
  esac
}

fwd_down() {
  case $1 in
    baseline) nsx "$NS_LB" "$PPS" detach in0 ;;
    lbd-dr|lbd-nat|lbd-dr-flood)
      lbd_stop
      # A killed lbd leaves its program attached.
      [[ -z $(xdp_prog_id "$NS_LB" in0) ]] || nsx "$NS_LB" "$PPS" detach in0 ;;
    nftables)
      nsx "$NS_LB" nft delete table ip "$P"
      nsx "$NS_LB" sysctl -qw net.ipv4.ip_forward=0 ;;
  esac
}

# gen SECONDS [FLOOD]: the generator, pinned, on its one CPU; prints its
# JSON line. FLOOD 1: every FLOOD_EVERYth frame a new flow to the flooded VIP.
gen() {
  local how=(--generator "$GENERATOR")
  [[ ${2:-0} == 1 ]] && how+=(--flood-every $FLOOD_EVERY --flood-dst $FLOOD_VIP --flood-dport $FLOOD_PORT)
  [[ $GENERATOR == recirculate ]] && how+=(--return-if ret1 --in-flight $IN_FLIGHT)
  timeout $(($1 + 30)) taskset -c "$GEN_CPU" ip netns exec "$NS_GEN" "$PPS" gen "${how[@]}" --ifname gen0 \
    --dst-mac $MAC_IN --src-ip $IP_GEN --dst-ip $VIP --dport $PORT --flows 1024 --seconds "$1"
}

sink_read() { nsx "$NS_SINK" "$PPS" sink read sink0; }

# cpu_kernel_ticks: the generator's CPU's time so far in the contexts the
# whole path runs in, in USER_HZ ticks (/proc/stat): irq and softirq when the
# frames recirculate, and system too with live frames (BPF_PROG_RUN's loop
# is a system call). The time other work on the machine takes from that CPU
# is not in it, which is why it is steadier than the rate on a shared machine.
cpu_kernel_ticks() {
  awk -v c="cpu$GEN_CPU" -v sys=$([[ $GENERATOR == live-frames ]] && echo 1 || echo 0) \
    '$1 == c { print sys * $4 + $7 + $8 }' /proc/stat
}

# measure CONFIG ROUND: one run; appends a JSON line to runs.jsonl.
measure() {
  local cfg=$1 round=$2 before after sent reals_before='[]' reals_after='[]' stats='{}' ticks
  fwd_up "$cfg"
  gen 1 >/dev/null  # warm-up: neighbours, conntrack, caches
  [[ $cfg == lbd-* ]] && reals_before=$(lbctl reals --json)
  before=$(sink_read)
  ticks=$(cpu_kernel_ticks)
  # The warm-up made the generator's flows: under lbd-dr-flood they are the
  # established traffic when the flood frames join them.
  sent=$(gen "$SECONDS_PER_RUN" $([[ $cfg == lbd-dr-flood ]] && echo 1))
  ticks=$(($(cpu_kernel_ticks) - ticks))
  after=$(sink_read)
  if [[ $cfg == lbd-* ]]; then
    reals_after=$(lbctl reals --json)
    stats=$(lbctl stats --json)
  fi
  fwd_down "$cfg"
  python3 - "$cfg" "$round" "$before" "$sent" "$after" "$reals_before" "$reals_after" "$stats" \
    "$ticks" "$(getconf CLK_TCK)" "${REALS[@]}" >>"$WORK/runs.jsonl" <<'PY'
import json, sys
cfg, rnd, *docs = sys.argv[1:9]
ticks, hz = int(sys.argv[9]), int(sys.argv[10])
reals = sys.argv[11:]
before, sent, after, rb, ra, stats = (json.loads(x) for x in docs)
got_all = after["packets"] - before["packets"]
by_dst = {k: v - before["by_dst"].get(k, 0) for k, v in after["by_dst"].items()}
# Under the flood, the established traffic is what reached the sink for the
# generator's VIP (DR keeps it as destination); the flooded VIP's is apart.
got = by_dst.get("100", 0) if cfg == "lbd-dr-flood" else got_all
flooded = by_dst.get("101", 0)
if cfg in ("lbd-dr", "lbd-dr-flood"):  # DR keeps the VIP as destination: lbd's own per-real counters
    b = {r["real"]: r["counters"]["packets"] for r in rb}
    spread = {r["real"]: r["counters"]["packets"] - b.get(r["real"], 0) for r in ra}
elif cfg in ("lbd-nat", "nftables"):  # NAT, DNAT: the sink sees the reals' addresses
    spread = {r: by_dst.get(r.rsplit(".", 1)[1], 0) for r in reals}
else:
    spread = {}
print(json.dumps({"config": cfg, "round": int(rnd), "generator": sent["generator"],
                  "received": got, "received_all": got_all, "seconds": sent["seconds"],
                  "flood_pps": flooded / sent["seconds"],
                  "lbd_flow_events": {k: v for k, v in stats.get("flow_events", {}).items() if v},
                  "pps": got / sent["seconds"], "sent": sent["sent"], "sent_pps": sent["pps"],
                  "cpu_ns": ticks * 1e9 / hz / got if got else None,
                  "other": after["other"] - before["other"],
                  "sink_per_cpu": [a - b for a, b in zip(after["per_cpu"], before["per_cpu"])],
                  "by_dst": {k: v for k, v in by_dst.items() if v}, "spread": spread,
                  "lbd_reasons": {k: v for k, v in stats.get("reasons", {}).items() if v}}))
PY
  tail -1 "$WORK/runs.jsonl" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("bench.sh:   round %d %-9s %6.3f Mpps at the sink (generator %.3f Mpps), %.0f ns of CPU per frame, to %s"
      % (r["round"], r["config"], r["pps"] / 1e6, r["sent_pps"] / 1e6, r["cpu_ns"] or 0, r["spread"] or r["by_dst"]),
      file=sys.stderr)'
}

# profile CONFIG: one run with BPF run-time statistics on; appends a line to
# profile.jsonl with ns per call of the LB's and the sink's programs.
profile() {
  local cfg=$1 lb_id sink_id before after
  fwd_up "$cfg"
  gen 1 >/dev/null
  lb_id=$(xdp_prog_id "$NS_LB" in0)
  sink_id=$(xdp_prog_id "$NS_SINK" sink0)
  before=$(bpftool -j prog show id "$lb_id"; bpftool -j prog show id "$sink_id")
  gen "$SECONDS_PER_RUN" >/dev/null
  after=$(bpftool -j prog show id "$lb_id"; bpftool -j prog show id "$sink_id")
  fwd_down "$cfg"
  python3 - "$cfg" "$before" "$after" >>"$WORK/profile.jsonl" <<'PY'
import json, sys
cfg, before, after = sys.argv[1:]
dec = json.JSONDecoder()
def objs(s):
    out, i = [], 0
    while i < len(s):
        if s[i].isspace(): i += 1; continue
        o, i = dec.raw_decode(s, i); out.append(o)
    return out
b, a = objs(before), objs(after)
rec = {"config": cfg}
for role, x, y in zip(("lb", "sink"), b, a):
    n = y.get("run_cnt", 0) - x.get("run_cnt", 0)
    t = y.get("run_time_ns", 0) - x.get("run_time_ns", 0)
    rec[role] = {"name": y.get("name"), "runs": n, "ns_per_run": t / n if n else None,
                 "xlated": y.get("bytes_xlated"), "jited": y.get("bytes_jited")}
print(json.dumps(rec))
PY
}

# --------------------------------------------------------------- 3. runs --
read -ra CONFIGS <<<"${LBD_BENCH_CONFIGS:-baseline lbd-dr lbd-nat nftables lbd-dr-flood}"
log "pps: building namespaces $NS_GEN, $NS_LB, $NS_SINK"
topology_up
write_lbd_conf
: >"$WORK/runs.jsonl"
log "pps: $RUNS rounds of ${CONFIGS[*]}, $SECONDS_PER_RUN s each, generator on CPU $GEN_CPU"
for ((round = 0; round < RUNS; round++)); do
  for ((i = 0; i < ${#CONFIGS[@]}; i++)); do
    measure "${CONFIGS[(round + i) % ${#CONFIGS[@]}]}" "$round"
  done
done

: >"$WORK/profile.jsonl"
if ((PROFILE)); then
  BPF_STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
  sysctl -qw kernel.bpf_stats_enabled=1
  log "pps: profiling (kernel.bpf_stats_enabled=1)"
  profile baseline
  profile lbd-dr
  profile lbd-nat
  sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_OLD"
  BPF_STATS_OLD=
fi

# ------------------------------------------------------------- 3. report --
machine_md >"$WORK/machine.md"
python3 - "$WORK/runs.jsonl" "$WORK/profile.jsonl" "$WORK/machine.md" "$PROG_MD" \
  "$RUNS" "$SECONDS_PER_RUN" "$GEN_CPU" "$WORK/dataplane.md" "$WORK/pps.tsv" \
  "$GENERATOR" "$WORK/generator.why" "$IN_FLIGHT" "$FLOOD_EVERY" "${CONFIGS[@]}" <<'PY'
import json, statistics as st, sys
(runs_f, prof_f, machine_f, prog_f, nruns, secs, cpu, out_f, tsv_f,
 generator, why_f, in_flight, flood_every, *configs) = sys.argv[1:]
flood_every = int(flood_every)
cpu = int(cpu)
runs = [json.loads(l) for l in open(runs_f) if l.strip()]
prof = [json.loads(l) for l in open(prof_f) if l.strip()]
why = open(why_f).read().strip().removeprefix("lbd-bench-pps: ")
recirculate = generator == "recirculate"
errors = []
for r in runs:
    what = f"round {r['round']} {r['config']}"
    total = r["received"]
    if total <= 0:
        errors.append(f"{what}: nothing reached the sink")
        continue
    if r["config"] in ("baseline", "lbd-dr"):  # the VIP stays the destination
        if r["by_dst"].get("100", 0) < 0.99 * total:
            errors.append(f"{what}: frames at the sink not addressed to the VIP: {r['by_dst']}")
    if r["config"] in ("lbd-nat", "nftables"):  # rewritten to the reals
        if sum(r["spread"].values()) < 0.99 * total:
            errors.append(f"{what}: frames at the sink not addressed to the reals: {r['by_dst']}")
    if r["config"] in ("lbd-dr", "lbd-nat", "nftables", "lbd-dr-flood"):  # every real used, nothing lost on the way
        sp = r["spread"]
        n = sum(sp.values())
        if len(sp) != 3 or min(sp.values()) < 0.15 * n:
            errors.append(f"{what}: not spread over the 3 reals: {sp}")
        if not 0.98 * n <= r["received_all"] <= 1.02 * n:
            errors.append(f"{what}: {n} packets sent to reals, {total} at the sink")
    if r["config"] == "lbd-dr-flood":  # every FLOOD_EVERYth frame to the flooded VIP, the rest to the VIP
        share = r["flood_pps"] * r["seconds"] / r["received_all"]
        if not 0.9 / flood_every <= share <= 1.1 / flood_every:
            errors.append(f"{what}: {share:.3f} of the frames at the sink were the flood's: {r['by_dst']}")
    if recirculate and not 0.98 * r["sent"] <= r["received_all"] <= r["sent"]:
        errors.append(f"{what}: the generator sent {r['sent']}, the sink got {r['received_all']}")
    if r["sink_per_cpu"][cpu] < 0.99 * r["received_all"]:
        errors.append(f"{what}: the path left the generator's CPU {cpu}: {r['sink_per_cpu']}")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)

by = {c: [r for r in runs if r["config"] == c] for c in configs}
med = {c: st.median(r["pps"] for r in by[c]) for c in configs}
cpu_med = {c: st.median(r["cpu_ns"] for r in by[c]) for c in configs}
def mpps(x): return f"{x / 1e6:.3f}"
rounds = sorted({r["round"] for r in runs})
def paired(a, b, key="pps"):
    out = []
    for n in rounds:
        x = [r[key] for r in by[a] if r["round"] == n]
        y = [r[key] for r in by[b] if r["round"] == n]
        if x and y:
            out.append(x[0] / y[0])
    return out
ratios = [("lbd-dr", "baseline"), ("lbd-dr", "nftables"), ("lbd-nat", "baseline"), ("lbd-nat", "nftables"),
          ("lbd-nat", "lbd-dr"), ("nftables", "baseline"), ("lbd-dr-flood", "lbd-dr")]

L = []
L.append("# Data plane benchmarks")
L.append("")
L.append("Generated by `scripts/bench.sh` on this machine; do not edit by hand.")
L.append("")
L.append("## Machine")
L.append("")
L += open(machine_f).read().rstrip("\n").split("\n")
L.append(f"- generator: {generator}" + (f" ({why})" if why else ""))
L.append("")
L.append("## Forwarding throughput: gen -> LB -> sink")
L.append("")
L.append("### Method")
L.append("")
L.append("Three network namespaces joined by two veth pairs: `gen` (gen0) <-> (in0) `lb` (out0) <-> (sink0) `sink`.")
L.append("Every frame is a 64-byte (without FCS) IPv4/UDP frame to the VIP 10.214.0.100:9, source port")
L.append("cycling over 1024 values (1024 flows), written whole from a template by an XDP program")
L.append("(`lbd-bench-pps gen`, bench/bpf/gen.bpf.c) and sent out of gen0; the frames reach in0 as XDP")
L.append("frames through gen0's `ndo_xdp_xmit`. The sink (bench/bpf/sink.bpf.c, native XDP on sink0)")
L.append("counts every frame per CPU and by IPv4 destination; the sink's kernel answers ARP for the three")
L.append("reals 10.215.0.11-13, which are addresses of sink0. Every veth end has GRO on and TX checksum")
L.append("offload off (see docs/lab.md). Two generators drive the program; the script takes live frames")
L.append("where the kernel allows them, else recirculation (`LBD_BENCH_GENERATOR` forces one):")
L.append("")
L.append("- **live frames**: `BPF_PROG_RUN` with `BPF_F_TEST_XDP_LIVE_FRAMES` on gen0, XDP_TX; the sink")
L.append("  drops what it counted. The tool, pinned with `taskset` to one CPU, sends as fast as the path")
L.append("  takes frames; the rate is over its own run time, which includes BPF_PROG_RUN's setup and")
L.append("  teardown (about 25 ms per call, calls of about 1 s): a few per cent low, alike for all.")
L.append(f"- **recirculation**: the sink returns every frame it counted through a third veth pair, ret0")
L.append("  (`sink`) -> ret1 (`gen`), where the generator program, native XDP, rewrites it and redirects it")
L.append(f"  out of gen0 again. {in_flight} frames circulate, sent first by an AF_PACKET socket of the tool,")
L.append("  pinned with `taskset` to one CPU; every hop from then on (in0, sink0, ret1) runs in softirq on")
L.append("  that CPU. The rate is over the time from the first frame to the stop; the frames still on the")
L.append("  way are dropped when they come back. A run only counts if the sink got what the generator")
L.append("  sent, within 2 %: a frame lost on the way would leave one fewer circulating.")
L.append("")
L.append(f"This run: **{generator}**" + (f" ({why})." if why else "."))
L.append(f"The generator is on CPU {cpu}, and with it the whole path: each forwarder's work, the sink's")
L.append("and the generator's own share one vCPU, and the rate is what that vCPU carries through the")
L.append("forwarder (the sink's count per CPU shows it; a run with less than 99 % there does not count).")
L.append("")
L.append("Why recirculation where live frames are refused: candidates measured side by side on this")
L.append("machine (2026-12-06, prototypes outside the tree, the baseline forwarder, 3 rounds alternated,")
L.append("median), as frames at the sink and as the kernel's CPU time on the generator's CPU per frame")
L.append("(`/proc/stat` system + softirq), which depends less on what else runs on the machine:")
L.append("")
L.append("| generator | Mpps | ns per frame |")
L.append("|---|---:|---:|")
L.append("| recirculation, 64 frames in flight | 2.830 | 271 |")
L.append("| XDP on a looped veth, each frame cloned once by a `BPF_F_BROADCAST` devmap to gen0 and back | 1.640 | 472 |")
L.append("| tc (clsact, gen0 egress): 64 `bpf_clone_redirect` per trigger frame, source port rewritten per clone | 0.652 | 1114 |")
L.append("| AF_XDP TX, copy mode, batches of 512 | 0.358 | 1994 |")
L.append("| AF_PACKET, `sendmmsg` of 1024, `PACKET_QDISC_BYPASS` | 0.324 | 2304 |")
L.append("| AF_PACKET, `PACKET_TX_RING` (TPACKET_V2), `PACKET_QDISC_BYPASS` | 0.316 | 2260 |")
L.append("")
L.append("Everything built on socket buffers pays per frame an skb, the socket or tc path, and at in0 a")
L.append("copy into an XDP buffer; the broadcast loop pays a page and a copy per clone. Recirculation")
L.append("allocates nothing and copies nothing; per frame it has one veth hop and a redirect more than")
L.append("the live-frames generator, and the generator no longer pays BPF_PROG_RUN's calls. The last")
L.append("live-frames run here (2026-12-03, kernel 6.18.44-fc-v1252) carried 3.620 Mpps on the baseline:")
L.append("at most 276 ns per frame for the whole path, about what recirculation costs. Both share the")
L.append("vCPU with the forwarder, so their cost is in every row: ratios to the baseline would be lower")
L.append("with a free generator.")
L.append("")
L.append("The forwarder on the `lb` namespace is, in turn:")
L.append("")
L.append("- **baseline**: bench/bpf/fwd_baseline.bpf.c on in0, native XDP: checks the EtherType,")
L.append("  writes both MACs from constants, `bpf_redirect_map` through a devmap to out0. No lookup:")
L.append("  the practical limit of an XDP forwarder on this path.")
L.append("- **lbd-dr**: `build/lbd` with one UDP virtual service (`lb_kind DR`, `lb_algo mh`, `mh-port`, 3 reals,")
L.append("  default 65537-slot ring), lb program native on in0; each packet is parsed, looked up")
L.append("  (VIP, conntrack, Maglev ring), counted and redirected to out0 with the real's MAC.")
L.append("- **lbd-nat**: the same service with `lb_kind NAT`, the reals on the VIP's port: besides, the")
L.append("  destination address becomes the real's, the TTL drops by one and the IPv4 checksum is")
L.append("  updated (the UDP checksum is 0). Forward direction only: the sink returns nothing through the")
L.append("  LB, so the replies NAT would carry back (real -> LB -> client) are not measured.")
L.append("- **nftables**: no XDP on in0; `ip_forward=1` and an nft `dnat to jhash ip saddr . udp")
L.append("  sport mod 3 map { ... }` rule on prerouting over the same 3 reals, with conntrack, then")
L.append("  kernel routing out of out0: the job of lbd-nat, in the kernel.")
L.append("- **lbd-dr-flood**: lbd-dr with a second service on the node, UDP port 53 of 10.214.0.101")
L.append("  (DR, the same reals). The warm-up gives the generator's 1024 flows their entries (the")
L.append(f"  established traffic); in the measured run every {flood_every}th frame goes to that service from")
L.append("  a random source in 10.0.0.0/8 instead, a new flow each, as a spoofed-source UDP flood; lbd's")
L.append("  default flood guard. The rate in the tables is the established traffic's alone (what the")
L.append("  sink got for 10.214.0.100); the flood's frames reach the sink too, as 10.214.0.101, and go")
L.append("  round again like the others. Flood and established traffic share the one vCPU, as they")
L.append("  would share a NIC queue: the established rate is at most 1 - 1/N of the frames by design,")
L.append("  and what the flood costs beyond that share is its new-flow path (entry, guard) and what it")
L.append("  does to the established flows' entries.")
L.append("")
L.append(f"Each configuration gets {nruns} runs of {secs} s, alternated round-robin (the first")
L.append(f"configuration rotating each round) so that drift on this shared machine hits all {len(configs)}")
L.append("alike; every run starts from a freshly attached forwarder and a 1 s warm-up. The rate")
L.append("is the packets counted by the sink during the run over the generator's own run time.")
L.append("Beside it, the CPU time per frame: the time the generator's CPU spent in the contexts the")
L.append("whole path runs in during the run (`/proc/stat`, sampled at each tick: irq and softirq when")
L.append("recirculating, system too with live frames, whose loop is a system call), over the frames the")
L.append("sink counted. That is the path's cost per frame, and the time other work takes from that CPU")
L.append("is not in it (only that work's own softirq time is): it moves less than the rate when the")
L.append("machine is busy. Its ratios are inverted to read as rates.")
L.append("A run only counts if the sink got packets, addressed as the configuration should")
L.append("address them (the VIP for baseline and lbd-dr; the reals for lbd-nat and nftables), each of")
L.append("the 3 reals got at least 15 % — lbd's per-real counters for lbd-dr, the sink's count per")
L.append("destination for the others — and the sink received what was sent to the reals, within 2 %.")
L.append("")
L.append("### Results")
L.append("")
L.append("| configuration | median Mpps | min Mpps | max Mpps | generator median Mpps | CPU ns per frame, median (min-max) | runs |")
L.append("|---|---:|---:|---:|---:|---:|---:|")
for c in configs:
    v = [r["pps"] for r in by[c]]
    g = [r["sent_pps"] for r in by[c]]
    ns = [r["cpu_ns"] for r in by[c]]
    L.append(f"| {c} | {mpps(med[c])} | {mpps(min(v))} | {mpps(max(v))} | {mpps(st.median(g))} | "
             f"{cpu_med[c]:.0f} ({min(ns):.0f}-{max(ns):.0f}) | {len(v)} |")
L.append("")
L.append("![Forwarded packets per second by configuration: median of the runs, bars from min to max](pps.png)")
L.append("")
L.append("| ratio | of medians | per-round median (min-max) | by CPU ns per frame, of medians | per-round median (min-max) |")
L.append("|---|---:|---:|---:|---:|")
for a, b in ratios:
    p = paired(a, b)
    q = paired(b, a, "cpu_ns")
    L.append(f"| {a} / {b} | {med[a] / med[b]:.2f} | {st.median(p):.2f} ({min(p):.2f}-{max(p):.2f}) | "
             f"{cpu_med[b] / cpu_med[a]:.2f} | {st.median(q):.2f} ({min(q):.2f}-{max(q):.2f}) |")
L.append("")
L.append("The generator's rate is what it pushed into gen0; frames the path could not take")
L.append("(full veth rings) are lost before the sink and only the sink's count is the result.")
L.append("")
if "lbd-dr-flood" in configs:
    fl = by["lbd-dr-flood"]
    ev = {}
    for r in fl:
        for k, v in r["lbd_flow_events"].items():
            ev[k] = ev.get(k, 0) + v
    L.append(f"lbd-dr-flood's flood: a median {mpps(st.median(r['flood_pps'] for r in fl))} Mpps of new flows "
             "forwarded beside the established traffic, and "
             f"{mpps(st.median(r['received_all'] / r['seconds'] for r in fl))} Mpps in all at the sink; lbd's "
             "flow events over those runs (warm-ups included): " +
             (", ".join(f"{k} {v}" for k, v in sorted(ev.items())) or "none") + ".")
    L.append("")
L.append("<details><summary>Every run</summary>")
L.append("")
L.append("| round | configuration | sink Mpps | generator Mpps | CPU ns per frame | packets at the sink | by CPU | per real |")
L.append("|---:|---|---:|---:|---:|---:|---|---|")
for r in runs:
    d = ", ".join(f"{k}: {v}" for k, v in sorted(r["spread"].items()))
    cpus = " / ".join(str(n) for n in r["sink_per_cpu"])
    L.append(f"| {r['round']} | {r['config']} | {mpps(r['pps'])} | {mpps(r['sent_pps'])} | {r['cpu_ns']:.0f} | "
             f"{r['received']} | {cpus} | {d} |")
L.append("")
for c in configs:
    if not c.startswith("lbd-"):
        continue
    reasons = {}
    for r in by[c]:
        for k, v in r["lbd_reasons"].items():
            reasons[k] = reasons.get(k, 0) + v
    L.append(f"lbd's verdicts over all its {c} runs (warm-ups included): " +
             ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) + ".")
    L.append("")
L.append("</details>")
L.append("")
if prof:
    L.append("### Cost per packet in the data path (`--profile`)")
    L.append("")
    L.append("One more run of each XDP configuration with `kernel.bpf_stats_enabled=1`; the kernel's")
    L.append("`run_time_ns / run_cnt` per program (the statistics add a little to each call).")
    L.append("")
    L.append("| configuration | program on in0 | ns per packet | xlated / jited bytes | sink ns per packet |")
    L.append("|---|---|---:|---:|---:|")
    for p in prof:
        lb, sk = p["lb"], p["sink"]
        f = lambda x: f"{x:.1f}" if x is not None else "-"
        L.append(f"| {p['config']} | {lb['name']} | {f(lb['ns_per_run'])} | {lb['xlated']} / {lb['jited']} | {f(sk['ns_per_run'])} |")
    L.append("")
L.append("## Per-packet cost of the lb program (BPF_PROG_TEST_RUN)")
L.append("")
L += open(prog_f).read().rstrip("\n").split("\n")
open(out_f, "w").write("\n".join(L) + "\n")
with open(tsv_f, "w") as t:  # for bench/plot/pps.gp
    t.write("# configuration\tmedian_mpps\tmin_mpps\tmax_mpps\n")
    for c in configs:
        v = [r["pps"] / 1e6 for r in by[c]]
        t.write(f"{c}\t{med[c] / 1e6:.4f}\t{min(v):.4f}\t{max(v):.4f}\n")
for c in configs:
    print(f"{c}: median {mpps(med[c])} Mpps, {cpu_med[c]:.0f} ns of CPU per frame", file=sys.stderr)
print(", ".join(f"{a}/{b} {med[a] / med[b]:.2f} ({cpu_med[b] / cpu_med[a]:.2f} by CPU)" for a, b in ratios),
      file=sys.stderr)
PY
draw_png pps "$WORK/pps.tsv"
cp "$WORK/dataplane.md" "$RESULTS/dataplane.md"
log "wrote bench/results/dataplane.md"
