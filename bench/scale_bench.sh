#!/usr/bin/env bash
# Start, restart and reload at scale (issue 19): how long lbd takes, as its
# own log's clock has it, with 10, 100 and 512 virtual services. Called by
# scripts/bench.sh; alone:
#
#   bench/scale_bench.sh OUT.md [--rounds N] [--services "10 100 512 100/own 512/own"]
#
# One namespace (lbdsc) with a veth whose far end is a gateway that exists
# only as a permanent neighbour entry; N UDP services 10.218.x.y:53, each
# over the same 4 reals 10.219.0.1-4 behind it (N/own: 4 reals of its own,
# 10.219.x.y, 4N in all, so no two rings share a Maglev build), and one VRRP
# instance, MASTER at priority 150 with no peer (advert_int 1), holding
# 10.218.255.1. Each round, for each case:
#
#   start    lbd started on fresh pins: "Starting" to "lbd ready"
#   restart  that lbd SIGKILLed, a new one started on its pins (hitless
#            restart): "Starting" to "Resuming MASTER STATE" (the first
#            advert, which a peer must see within 3 advert intervals of the
#            last one) and to "lbd ready"
#   reload   SIGHUP with the file unchanged: the signal to "Reload finished"
#
# and, of each start, the two steps the log tells apart: up to the program's
# attachment (config, maps, the verifier), then to "lbd ready" (VRRP started,
# the services' rings built and swapped in). Exits non-zero on a broken run (lbd not
# ready in 60 s): nothing is written.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bench/scale_bench.sh OUT.md [--rounds N] [--services LIST]}
shift
ROUNDS=3
SERVICES="10 100 512 100/own 512/own"
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --services) SERVICES=$2; shift 2 ;;
    *) echo "scale_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || { echo "scale_bench.sh: --rounds wants 1..99" >&2; exit 2; }
for c in $SERVICES; do
  n=${c%/own}
  [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 512)) || { echo "scale_bench.sh: services 1..512[/own]" >&2; exit 2; }
done
((EUID == 0)) || { echo "scale_bench.sh: must run as root" >&2; exit 1; }
BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
NS=lbdsc
WORK=$(mktemp -d /tmp/lbd-scale.XXXXXX)
PID=
# lbd in the namespace with $WORK/bpffs as its /sys/fs/bpf: `ip netns exec`
# mounts a /sys of its own, where a bpffs lbd mounted would die with the
# process, and a restarted lbd would find no pins to adopt. ip, sh and lbd
# are one process (each execs the next).
WITH_BPFFS='mount --bind "$0" /sys/fs/bpf && exec "$@"'

log() { printf 'scale_bench.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $PID ]]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  [[ -f $WORK/lbd.conf ]] && ip netns exec "$NS" sh -c "$WITH_BPFFS" "$WORK/bpffs" "$BUILD/lbd" --cleanup -l \
    -f "$WORK/lbd.conf" --instance "$NS" >/dev/null 2>&1
  ip netns del "$NS" 2>/dev/null || true
  umount "$WORK/bpffs" 2>/dev/null || true
  rm -f "/run/lbd/$NS.lock"
  [[ -n ${KEEP_WORK:-} ]] || rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$WORK/bpffs"
mount -t bpf bpf "$WORK/bpffs"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add sc0 type veth peer name sc1
ip -n "$NS" link set sc1 up
ip -n "$NS" link set sc0 up
ip -n "$NS" addr add 10.218.255.254/16 dev sc0
ip -n "$NS" neigh add 10.218.255.253 lladdr 02:00:00:00:02:19 dev sc0 nud permanent
ip -n "$NS" route add 10.219.0.0/16 via 10.218.255.253 dev sc0

# write_conf N[/own]: $WORK/lbd.conf with N services and the VRRP instance.
write_conf() {
  python3 - "$1" >"$WORK/lbd.conf" <<'PY'
import sys
n, own = int(sys.argv[1].split("/")[0]), sys.argv[1].endswith("/own")
print("global_defs {\n  lb_interface sc0\n}")
print("vrrp_instance VI_1 {\n  state MASTER\n  interface sc0\n  virtual_router_id 219\n  priority 150\n"
      "  advert_int 1\n  virtual_ipaddress {\n    10.218.255.1/16\n  }\n}")
for i in range(n):
    print(f"virtual_server 10.218.{i // 250}.{i % 250 + 1} 53 {{\n  lb_algo mh\n  lb_kind DR\n  protocol UDP")
    for r in range(1, 5):
        k = 4 * i + r - 1 if own else r - 1
        print(f"  real_server 10.219.{k // 250}.{k % 250 + 1} 53 {{ weight 1 }}")
    print("}")
PY
}

# start: lbd in the namespace, logging to $WORK/lbd.log (appended); its pid
# in PID.
start() {
  ip netns exec "$NS" sh -c "$WITH_BPFFS" "$WORK/bpffs" "$BUILD/lbd" -n -l -f "$WORK/lbd.conf" --instance "$NS" \
    >>"$WORK/lbd.log" 2>&1 &
  PID=$!
}

# wait_lines PATTERN COUNT: until the log has COUNT lines matching PATTERN.
wait_lines() {
  local deadline=$((SECONDS + 60))
  until (($(grep -c -- "$1" "$WORK/lbd.log" || true) >= $2)); do
    kill -0 "$PID" 2>/dev/null || { tail -20 "$WORK/lbd.log" >&2; die "lbd exited"; }
    ((SECONDS < deadline)) || { tail -20 "$WORK/lbd.log" >&2; die "no '$1' in 60 s"; }
    sleep 0.02
  done
}

: >"$WORK/runs.log"
for ((round = 0; round < ROUNDS; round++)); do
  for n in $SERVICES; do
    write_conf "$n"
    : >"$WORK/lbd.log"
    start
    wait_lines "lbd ready" 1
    # The restart: the lease is current (adverts every second), so the new
    # daemon resumes MASTER from it.
    wait_lines "Entering MASTER STATE" 1
    sleep 1.2
    kill -KILL "$PID"
    wait "$PID" 2>/dev/null || true
    start
    wait_lines "lbd ready" 2
    kill -HUP "$PID"
    wait_lines "Reload finished" 1
    kill -TERM "$PID"
    wait "$PID" 2>/dev/null || true
    PID=
    python3 - "$n" "$round" "$WORK/lbd.log" >>"$WORK/runs.log" <<'PY'
import json, re, sys
from datetime import datetime
n, rnd, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = []
for line in open(path):
    m = re.match(r"\w{3} (\w{3} +\d+ [\d:]+\.\d{3}) (.*)", line)
    if m:
        t = datetime.strptime("2000 " + m.group(1), "%Y %b %d %H:%M:%S.%f")
        lines.append((t, m.group(2)))
def first(pat, after=0):
    for i in range(after, len(lines)):
        if re.search(pat, lines[i][1]):
            return i
    raise SystemExit(f"no {pat!r} in the log ({n} services)")
ms = lambda a, b: round((lines[b][0] - lines[a][0]).total_seconds() * 1000)
s0 = first(r"^Starting lbd")
a0 = first(r"lb program attached to", s0)
r0 = first(r"lbd ready", s0)
s1 = first(r"^Starting lbd", r0 + 1)
a1 = first(r"lb program of the previous lbd replaced", s1)
v1 = first(r"Resuming MASTER STATE", s1)
r1 = first(r"lbd ready", s1)
h = first(r"^Reloading", r1)
h1 = first(r"Reload finished", h)
print(json.dumps({"services": int(n.split("/")[0]), "own_reals": n.endswith("/own"), "round": rnd,
                  "start": ms(s0, r0), "start_load": ms(s0, a0), "start_services": ms(a0, r0),
                  "restart_vrrp": ms(s1, v1), "restart_ready": ms(s1, r1), "restart_load": ms(s1, a1),
                  "reload": ms(h, h1)}))
PY
    log "round $round, $n services: $(tail -1 "$WORK/runs.log")"
  done
done

python3 - "$WORK/runs.log" "$OUT" "$ROUNDS" "$(git rev-parse --short HEAD)" "$(uname -r)" <<'PY'
import json, statistics as st, sys
from datetime import datetime, timezone
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out, rounds, rev, kernel = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
cases = sorted({(r["own_reals"], r["services"]) for r in runs})
def cell(case, key):
    v = [r[key] for r in runs if (r["own_reals"], r["services"]) == case]
    return f"{st.median(v):.0f} ({min(v)}-{max(v)})"
L = ["# Start, restart and reload at scale", "",
     "Generated by `scripts/bench.sh` (bench/scale_bench.sh) on this machine; do not edit by hand.", "",
     f"- kernel: {kernel}; lbd: {rev}; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {rounds} rounds", "",
     "N UDP services of 4 reals each (DR, Maglev, 65537-slot rings) and one VRRP instance, MASTER with",
     "no peer, advert_int 1 s, in a namespace of their own. **reals**: *shared*, every service over the",
     "same 4 reals (lbd builds one Maglev table for all of them); *own*, each service over 4 reals of",
     "its own (4N reals, a Maglev build per service, on both CPUs). Times in ms from lbd's log (1 ms",
     "steps), median (min-max):", "",
     "- **start**: fresh pins, `Starting lbd` to `lbd ready`; of it, **load**: to the lb program's",
     "  attachment (config, maps, the verifier), **services**: from there to ready (VRRP started, every",
     "  service's ring built, written and put into `rings`).",
     "- **restart**: the daemon SIGKILLed, a new one started on its pins: to `Resuming MASTER STATE`",
     "  (its first advert; a backup takes over 3 advert intervals after the last one) and to ready.",
     "- **reload**: SIGHUP, the file unchanged: `Reloading` to `Reload finished`.", "",
     "- A restarted daemon adopts each ring in `rings`, builds its table again and rewrites no slot",
     "  when the weights are the same.", "",
     "| services | reals | start | load | services | restart: VRRP resumed | restart: ready | reload, no change |",
     "|---:|---|---:|---:|---:|---:|---:|---:|"]
for case in cases:
    own, n = case
    L.append(f"| {n} | {'own' if own else 'shared'} | {cell(case, 'start')} | {cell(case, 'start_load')} | "
             f"{cell(case, 'start_services')} | {cell(case, 'restart_vrrp')} | {cell(case, 'restart_ready')} | "
             f"{cell(case, 'reload')} |")
L += ["", "<details><summary>Every run</summary>", "", "```"] + [json.dumps(r) for r in runs] + ["```", "", "</details>"]
open(out, "w").write("\n".join(L) + "\n")
PY
log "wrote $OUT"
