#!/usr/bin/env bash
# Health checkers' CPU at scale, called by scripts/bench.sh; alone:
#
#   bench/checks_bench.sh OUT.md [--seconds S] [--runs N]
#
# In a namespace of its own (lbdc, lo only): lbd-check-target answers every
# 127.x address on port 8080; lbd-checks-bench runs the daemon's checker
# engine over 1,000 and 4,000 reals (4,096 is the most a config may have)
# with TCP_CHECK and with HTTP_GET at
# delay_loop 1 and reads its CPU time over S seconds, N runs each,
# configurations alternated. keepalived's checker process is started on the
# same reals to measure it beside lbd; where it cannot run here (no IPVS in
# this kernel), the report says so with keepalived's own words.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bench/checks_bench.sh OUT.md [--seconds S] [--runs N]}
shift
SECS=20
RUNS=3
while (($#)); do
  case $1 in
    --seconds) SECS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    *) echo "checks_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $SECS =~ ^[1-9][0-9]{0,2}$ ]] || { echo "checks_bench.sh: --seconds wants 1..999" >&2; exit 2; }
[[ $RUNS =~ ^[1-9]$ ]] || { echo "checks_bench.sh: --runs wants 1..9" >&2; exit 2; }
((EUID == 0)) || { echo "checks_bench.sh: must run as root" >&2; exit 1; }
BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
for b in lbd-checks-bench lbd-check-target; do
  [[ -x $BUILD/bench/$b ]] || { echo "checks_bench.sh: $BUILD/bench/$b is not built" >&2; exit 1; }
done

NS=lbdc
WORK=$(mktemp -d /tmp/lbd-checks-bench.XXXXXX)
TARGET_PID=
cleanup() {
  [[ -z $TARGET_PID ]] || kill "$TARGET_PID" 2>/dev/null || true
  [[ -z ${KA_PID:-} ]] || kill "$KA_PID" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf 'checks_bench.sh: %s\n' "$*" >&2; }

ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.core.somaxconn=65535
ip netns exec "$NS" "$BUILD/bench/lbd-check-target" 8080 >"$WORK/target.log" 2>&1 &
TARGET_PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/target.log" && break; sleep 0.1; done
grep -q listening "$WORK/target.log" || { cat "$WORK/target.log" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

: >"$WORK/runs.jsonl"
for run in $(seq "$RUNS"); do
  for reals in 1000 4000; do
    for type in tcp http; do
      t0=$(cpu_ticks "$TARGET_PID")
      out=$(ip netns exec "$NS" "$BUILD/bench/lbd-checks-bench" --reals "$reals" --type "$type" \
              --seconds "$SECS" --port 8080 2>"$WORK/bench.err") || {
        cat "$WORK/bench.err" >&2
        log "lbd-checks-bench failed for $reals reals $type: $out"
        exit 1
      }
      t1=$(cpu_ticks "$TARGET_PID")
      log "run $run: $out"
      python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["run"]=int(sys.argv[2]); r["target_cpu_ticks"]=int(sys.argv[3]); print(json.dumps(r))' \
        "$out" "$run" "$((t1 - t0))" >>"$WORK/runs.jsonl"
    done
  done
done

# keepalived's checker on the same 1,000 reals (TCP_CHECK), if it runs.
python3 - "$WORK/ka.conf" <<'PY'
import sys
lines = ["global_defs {", "  router_id bench", "}", "virtual_server 10.255.0.1 8080 {", "  delay_loop 1",
         "  lb_kind DR", "  protocol TCP"]
for i in range(1000):
    lines += [f"  real_server 127.1.{i // 250}.{i % 250 + 1} 8080 {{", "    TCP_CHECK {", "      connect_timeout 2",
              "    }", "  }"]
lines.append("}")
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
ip netns exec "$NS" keepalived --check -n -l -f "$WORK/ka.conf" -p "$WORK/ka.pid" -c "$WORK/ka-chk.pid" \
  -r "$WORK/ka-vrrp.pid" >"$WORK/ka.log" 2>&1 &
KA_PID=$!
sleep 3
KA_CPU=
if kill -0 "$KA_PID" 2>/dev/null && [[ -s $WORK/ka-chk.pid ]]; then
  chk=$(cat "$WORK/ka-chk.pid")
  t0=$(cpu_ticks "$chk")
  sleep "$SECS"
  t1=$(cpu_ticks "$chk")
  KA_CPU=$(python3 -c "print(round(100 * ($t1 - $t0) / $(getconf CLK_TCK) / $SECS, 1))")
  KA_NOTE="its checker process used ${KA_CPU} % of one core"
else
  KA_NOTE=$(grep -m1 "Can't initialize ipvs\|permanent error\|FATAL" "$WORK/ka.log" | sed 's/^[^:]*:[^:]*:[^:]*: //')
  [[ -n $KA_NOTE ]] || KA_NOTE="it exited: $(tail -1 "$WORK/ka.log")"
fi
kill "$KA_PID" 2>/dev/null || true
wait "$KA_PID" 2>/dev/null || true
log "keepalived --check: $KA_NOTE"

{
  echo "- kernel: $(uname -r) ($(uname -m))"
  echo "- CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs online"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- lbd: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . ':!bench/results' 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "- keepalived: $(keepalived --version 2>&1 | head -1)"
} >"$WORK/machine.md"

python3 - "$WORK" "$OUT" "$SECS" "$RUNS" "$KA_NOTE" "$(getconf CLK_TCK)" "$KA_CPU" <<'PY'
import json, statistics as st, sys
work, out, secs, runs, ka_note, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
ka_cpu = sys.argv[7]
rows = [json.loads(l) for l in open(f"{work}/runs.jsonl")]
L = ["# Health checkers: CPU at scale", ""]
L.append("Generated by `scripts/bench.sh` (bench/checks_bench.sh): the daemon's checker engine")
L.append("(`check::Engine`, one thread, one epoll loop) over N real servers on loopback, each with one")
L.append("checker at `delay_loop 1`, `connect_timeout 2`, no data plane behind it. The reals are")
L.append("127.1.x.y:8080, all answered by one single-threaded epoll server (`lbd-check-target`): a")
L.append("TCP_CHECK connects and closes, an HTTP_GET sends `GET /` and reads a 200. CPU is the")
L.append(f"checker process's user + system time over {secs} s after a 3 s warm-up, as a percentage of")
L.append(f"one CPU; {runs} runs of each configuration, alternated.")
L.append("")
L += open(f"{work}/machine.md").read().rstrip("\n").split("\n")
L.append("")
L.append("| reals | checker | CPU % of one core, median (min-max) | user % | system % | attempts/s, median | reals down at the end | server CPU % |")
L.append("|---:|---|---:|---:|---:|---:|---:|---:|")
for reals in (1000, 4000):
    for typ in ("tcp", "http"):
        rs = [r for r in rows if r["reals"] == reals and r["type"] == typ]
        cpu = [r["cpu_percent"] for r in rs]
        med = lambda k: st.median(r[k] for r in rs)
        srv = st.median(100 * r["target_cpu_ticks"] / hz / (r["seconds"] + 3) for r in rs)
        name = "TCP_CHECK" if typ == "tcp" else "HTTP_GET"
        L.append(f"| {reals} | {name} | {st.median(cpu):.1f} ({min(cpu):.1f}-{max(cpu):.1f}) | {med('user_percent'):.1f} | "
                 f"{med('sys_percent'):.1f} | {med('attempts_per_second'):.0f} | {max(r['down_at_end'] for r in rs)} | {srv:.1f} |")
L.append("")
L.append("The server's CPU is over the bench process's whole life (warm-up included), for scale only.")
L.append("")
L.append("## keepalived beside it")
L.append("")
L.append("keepalived's checker process (`keepalived --check`) was started on the same 1,000 reals with")
if ka_cpu:
    L.append(f"TCP_CHECK: {ka_note}, over {secs} s.")
else:
    L.append(f"TCP_CHECK. It does not run on this kernel: `{ka_note}` (keepalived's checker will not")
    L.append("start without IPVS, which this kernel lacks), so there is no figure to set beside lbd's.")
L.append("")
open(out, "w").write("\n".join(L) + "\n")
PY
log "wrote $OUT"
