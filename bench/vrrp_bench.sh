#!/usr/bin/env bash
# VRRP benchmark: lbd against Debian's keepalived, same settings, same run,
# in the lab's namespaces (prefix lbdv). Called by scripts/bench.sh; alone:
#
#   bench/vrrp_bench.sh OUT.md [--rounds N] [--hold SECONDS] [--hold-runs N] [--tsv FILE]
#
# 1. Failover outage. Two nodes of one implementation (lb1 priority 150,
#    lb2 priority 100, VRRPv3) at advert_int 1 s, 100 ms and 10 ms; the
#    master node crashes (daemon SIGKILLed and its link cut at once, as
#    tests/netns/lib.sh node_crash) while the client pings the VIP every
#    2 ms; the outage is the longest silence it saw. N rounds, the
#    implementations alternated within each round.
# 2. Holding 10 ms. Two nodes at advert_int 10 ms for SECONDS while
#    stress-ng keeps one CPU busy: state transitions after the election
#    (must be none) and the gaps between the master's adverts as the client
#    captures them, against Master_Down_Interval. N runs of each
#    implementation, alternated.
#
# --tsv FILE also writes every failover round to FILE, tab-separated (round,
# advert_int in s, implementation, outage ms, takeover ms, Master_Down_Interval
# ms), for scripts/bench.sh to plot.
#
# Exits non-zero on a broken run (no takeover, no adverts captured): that is
# not a number, and nothing is written.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bench/vrrp_bench.sh OUT.md [--rounds N] [--hold SECONDS] [--hold-runs N] [--tsv FILE]}
shift
ROUNDS=3
HOLD=60
HOLD_RUNS=2
TSV=
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --hold) HOLD=$2; shift 2 ;;
    --hold-runs) HOLD_RUNS=$2; shift 2 ;;
    --tsv) TSV=$2; shift 2 ;;
    *) echo "vrrp_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || { echo "vrrp_bench.sh: --rounds wants 1..99" >&2; exit 2; }
[[ $HOLD =~ ^[1-9][0-9]{0,2}$ ]] || { echo "vrrp_bench.sh: --hold wants 1..999" >&2; exit 2; }
[[ $HOLD_RUNS =~ ^[1-9]$ ]] || { echo "vrrp_bench.sh: --hold-runs wants 1..9" >&2; exit 2; }
((EUID == 0)) || { echo "vrrp_bench.sh: must run as root" >&2; exit 1; }
command -v keepalived >/dev/null || { echo "vrrp_bench.sh: keepalived is not installed" >&2; exit 1; }
command -v stress-ng >/dev/null || { echo "vrrp_bench.sh: stress-ng is not installed" >&2; exit 1; }

export LBD_LAB_PREFIX=lbdv
P=$LBD_LAB_PREFIX
BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
export LBD_BUILD_DIR=$BUILD
WORK=$(mktemp -d /tmp/lbd-vrrp-bench.XXXXXX)
source tests/netns/lib.sh
STRESS_PID=
bench_end() {
  [[ -z $STRESS_PID ]] || kill "$STRESS_PID" 2>/dev/null || true
  lab_test_end
}
trap bench_end EXIT
trap 'exit 130' INT TERM
log() { printf 'vrrp_bench.sh: %s\n' "$*" >&2; }
scripts/lab.sh up >/dev/null

VIP=10.213.0.100
PING_INTERVAL=0.002

# ka_conf NODE PRIORITY ADVERT_INT STATE: keepalived's file for the same instance.
ka_conf() {
  cat >"$WORK/$1.ka.conf" <<EOF
global_defs {
  router_id ka_$1
  vrrp_version 3
  vrrp_garp_master_delay 1
}
vrrp_instance VI_1 {
  state $4
  interface eth0
  virtual_router_id 51
  priority $2
  advert_int $3
  virtual_ipaddress {
    $VIP/32
  }
}
EOF
}

# pair_up IMPL ADVERT_INT: lb1 master (state MASTER), lb2 backup.
pair_up() {
  local impl=$1 adv=$2
  if [[ $impl == lbd ]]; then
    ADVERT_INT=$adv vrrp_conf lb1 150 "state MASTER"
    ADVERT_INT=$adv vrrp_conf lb2 100
    lbd_start lb1 "$WORK/lb1.conf"
    lbd_start lb2 "$WORK/lb2.conf"
  else
    ka_conf lb1 150 "$adv" MASTER
    ka_conf lb2 100 "$adv" BACKUP
    keepalived_start lb1 "$WORK/lb1.ka.conf"
    keepalived_start lb2 "$WORK/lb2.ka.conf"
  fi
  wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
  wait_log lb2 0 "(VI_1) Entering BACKUP STATE" 10
}

# A crashed lbd leaves its programs on eth0, fenced but still taking the
# instance's adverts: lbd --cleanup, or the next round's keepalived on that
# node would never hear its peer.
pair_down() {
  local node
  for node in lb1 lb2; do
    lbd_stop "$node"
    keepalived_stop "$node"
    lbd_cleanup "$node"
    ip -n "$P-$node" addr del "$VIP/32" dev eth0 2>/dev/null || true
  done
  ip -n "$P-br" link set veth-lb1 up
  ip -n "$P-cl" neigh flush "$VIP" 2>/dev/null || true
}

crash() {
  ip -n "$P-br" link set veth-lb1 down
  if [[ $1 == lbd ]]; then lbd_kill lb1; else keepalived_kill lb1; fi
}

# outage IMPL ADVERT_INT CAPTURE: one round; prints the outage in ms and
# leaves the client's capture of adverts and ARP in CAPTURE.
outage() {
  local impl=$1 adv=$2 cap=$3 secs
  pair_up "$impl" "$adv"
  # Long enough for Master_Down_Interval (at most 3.7 s here) and a margin.
  secs=$(python3 -c "print(max(3, round(4 * $adv + 2)))")
  ip netns exec "$P-cl" ping -c 20 -i 0.01 -q "$VIP" >/dev/null 2>&1 || true
  local m2
  m2=$(log_mark lb2)
  ip netns exec "$P-cl" timeout "$((secs + 1))" tcpdump -n -tt -l -i eth0 "ip proto 112 or arp" \
    >"$cap" 2>/dev/null &
  local capture=$!
  ip netns exec "$P-cl" python3 tests/tools/outage.py --addr "$VIP" --interval "$PING_INTERVAL" \
    --duration "$secs" >"$WORK/outage.json" &
  local pinger=$!
  sleep 1
  crash "$impl"
  wait "$pinger"
  wait "$capture" || true
  wait_log lb2 "$m2" "(VI_1) Entering MASTER STATE" 2
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["max_gap_ms"])' "$WORK/outage.json"
  pair_down
}

: >"$WORK/outages.txt"
for round in $(seq "$ROUNDS"); do
  for adv in 1 0.1 0.01; do
    if ((round % 2)); then order="lbd keepalived"; else order="keepalived lbd"; fi
    for impl in $order; do
      gap=$(outage "$impl" "$adv" "$WORK/cap-$round-$adv-$impl.txt")
      log "round $round, advert_int $adv s, $impl: outage $gap ms"
      echo "$round $adv $impl $gap" >>"$WORK/outages.txt"
    done
  done
done

# hold IMPL RUN: HOLD seconds at 10 ms under stress; writes
# $WORK/hold-IMPL-RUN.txt (transitions) and $WORK/adverts-IMPL-RUN.txt.
hold() {
  local impl=$1 run=$2
  pair_up "$impl" 0.01
  local m1 m2
  m1=$(log_mark lb1)
  m2=$(log_mark lb2)
  taskset -c "$(($(nproc) - 1))" stress-ng --cpu 1 --cpu-load 100 --timeout "${HOLD}s" --quiet &
  STRESS_PID=$!
  ip netns exec "$P-cl" timeout "$HOLD" tcpdump -n -tt -i eth0 -l "ip proto 112 and src host 10.213.0.2" \
    >"$WORK/adverts-$impl-$run.txt" 2>/dev/null || true
  wait "$STRESS_PID" || true
  STRESS_PID=
  local transitions
  transitions=$(( $(tail -n +"$((m1 + 1))" "$WORK/lb1.log" | grep -c "Entering" || true) +
                  $(tail -n +"$((m2 + 1))" "$WORK/lb2.log" | grep -c "Entering" || true) ))
  echo "$transitions" >"$WORK/hold-$impl-$run.txt"
  log "hold $impl run $run: $transitions transitions, $(wc -l <"$WORK/adverts-$impl-$run.txt") adverts captured"
  pair_down
}
for run in $(seq "$HOLD_RUNS"); do
  if ((run % 2)); then order="lbd keepalived"; else order="keepalived lbd"; fi
  for impl in $order; do hold "$impl" "$run"; done
done

machine() {
  local cpu
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  echo "- kernel: $(uname -r) ($(uname -m))"
  echo "- CPU: ${cpu:-unknown}, $(nproc) CPUs online"
  echo "- keepalived: $(keepalived --version 2>&1 | head -1)"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- lbd: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . ':!bench/results' 2>/dev/null || echo ' (with uncommitted changes)')"
}
machine >"$WORK/machine.md"

python3 - "$WORK" "$OUT" "$ROUNDS" "$HOLD" "$PING_INTERVAL" "$HOLD_RUNS" "$TSV" <<'PY'
import statistics as st, sys
work, out, rounds, hold, ping = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
hold_runs, tsv = int(sys.argv[6]), sys.argv[7]

def mdi_ms(adv_s, prio=100):  # RFC 5798 6.1, v3: 3 * interval + (256 - prio) * interval / 256
    return 3 * adv_s * 1000 + (256 - prio) * adv_s * 1000 / 256

# Takeover: from lb1's last advert to lb2's first, as the client captured
# them. The outage also holds the part of an advert interval that had run
# when the crash came, which is chance; the takeover is the backup's own
# Master_Down_Timer plus its reaction.
def takeover_ms(path):
    last1 = first2 = None
    for line in open(path):
        f = line.split()
        if len(f) < 4 or f[2] not in ("10.213.0.2", "10.213.0.3") or "VRRP" not in line:
            continue
        t = float(f[0])
        if f[2] == "10.213.0.2":
            last1 = t
        elif last1 is not None and first2 is None:
            first2 = t
    if last1 is None or first2 is None:
        sys.exit(f"{path}: no hand-over from lb1's adverts to lb2's in the capture")
    return (first2 - last1) * 1000

rows = []
for l in open(f"{work}/outages.txt"):
    r, adv, impl, gap = l.split()
    rows.append((r, adv, impl, float(gap), takeover_ms(f"{work}/cap-{r}-{adv}-{impl}.txt")))
by, take = {}, {}
for r, adv, impl, gap, tk in rows:
    by.setdefault((adv, impl), []).append(gap)
    take.setdefault((adv, impl), []).append(tk)
L = ["# VRRP: failover outage and a 10 ms advert interval, lbd and keepalived", ""]
L.append("Generated by `scripts/bench.sh` (bench/vrrp_bench.sh) in the lab's namespaces: two LB")
L.append("nodes of one implementation on a bridge, VRRPv3, VRID 51, lb1 priority 150 (master),")
L.append("lb2 priority 100, the VIP 10.213.0.100 pinged by the client.")
L.append("")
L += open(f"{work}/machine.md").read().rstrip("\n").split("\n")
L.append("")
L.append("## Outage when the master node crashes")
L.append("")
L.append("lb1's daemon is SIGKILLed and its bridge port taken down at the same moment; the")
L.append(f"client pings the VIP every {ping * 1000:g} ms; the outage is the longest time without a reply")
L.append("(minus one ping interval). It is bounded by lb2's Master_Down_Interval and starts")
L.append("anywhere within one advert interval after lb1's last advert, so its floor is")
L.append(f"Master_Down_Interval - advert_int. {rounds} rounds; in each, both implementations")
L.append("at every interval, their order alternating from round to round.")
L.append("")
L.append("| advert_int | Master_Down_Interval | lbd outage median (min-max) ms | keepalived outage median (min-max) ms | lbd takeover median (min-max) ms | keepalived takeover median (min-max) ms | takeover lbd / keepalived |")
L.append("|---:|---:|---:|---:|---:|---:|---:|")
mm = lambda v: f"{st.median(v):.1f} ({min(v):.1f}-{max(v):.1f})"
for adv in ("1", "0.1", "0.01"):
    a, k = by[(adv, "lbd")], by[(adv, "keepalived")]
    ta, tk = take[(adv, "lbd")], take[(adv, "keepalived")]
    L.append(f"| {float(adv) * 1000:g} ms | {mdi_ms(float(adv)):.1f} ms | {mm(a)} | {mm(k)} | {mm(ta)} | {mm(tk)} | "
             f"{st.median(ta) / st.median(tk):.2f} |")
L.append("")
L.append("*Takeover* is the time from lb1's last advert to lb2's first, both as the client captured")
L.append("them: lb2's Master_Down_Timer plus its reaction, the part of the outage that belongs to the")
L.append("implementation. The outage adds chance (how much of an advert interval had run when the")
L.append("crash came) and the time for the client to follow the gratuitous ARP.")
L.append("")
L.append("<details><summary>Every round</summary>")
L.append("")
L.append("| round | advert_int | implementation | outage ms | takeover ms |")
L.append("|---:|---:|---|---:|---:|")
for r, adv, impl, gap, tk in rows:
    L.append(f"| {r} | {float(adv) * 1000:g} ms | {impl} | {gap:.1f} | {tk:.1f} |")
L.append("")
L.append("</details>")
L.append("")
L.append("## Holding a 10 ms advert interval with one CPU busy")
L.append("")
L.append(f"Both nodes at advert_int 0.01 for {hold} s while `stress-ng --cpu 1 --cpu-load 100` runs")
L.append(f"pinned to the last CPU; {hold_runs} runs of each implementation, alternated. Transitions are")
L.append("the `Entering ... STATE` lines of both nodes after the election (a false one is a backup")
L.append("taking over from a live master). Gaps are between the master's adverts as captured on the")
L.append(f"client; Master_Down_Interval is {mdi_ms(0.01):.2f} ms.")
L.append("")
L.append("| implementation | run | transitions | adverts captured | gap median ms | p99 ms | p99.9 ms | max ms | gaps over Master_Down_Interval |")
L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for impl in ("lbd", "keepalived"):
    for run in range(1, hold_runs + 1):
        stamps = []
        for line in open(f"{work}/adverts-{impl}-{run}.txt"):
            try:
                stamps.append(float(line.split()[0]))
            except (ValueError, IndexError):
                pass
        if len(stamps) < 100:
            sys.exit(f"{impl}: only {len(stamps)} adverts captured in hold run {run}")
        gaps = sorted((b - a) * 1000 for a, b in zip(stamps, stamps[1:]))
        q = lambda p: gaps[min(len(gaps) - 1, int(p * len(gaps)))]
        over = sum(g > mdi_ms(0.01) for g in gaps)
        trans = int(open(f"{work}/hold-{impl}-{run}.txt").read())
        L.append(f"| {impl} | {run} | {trans} | {len(stamps)} | {st.median(gaps):.2f} | {q(0.99):.2f} | {q(0.999):.2f} | "
                 f"{gaps[-1]:.2f} | {over} |")
L.append("")
open(out, "w").write("\n".join(L) + "\n")
if tsv:
    with open(tsv, "w") as t:
        t.write("# round\tadvert_int_s\timplementation\toutage_ms\ttakeover_ms\tmaster_down_ms\n")
        for r, adv, impl, gap, tk in rows:
            t.write(f"{r}\t{adv}\t{impl}\t{gap:.1f}\t{tk:.1f}\t{mdi_ms(float(adv)):.1f}\n")
PY
log "wrote $OUT"
