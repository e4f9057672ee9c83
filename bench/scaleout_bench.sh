#!/usr/bin/env bash
# Losing a node, active-active behind BGP against VRRP, in the lab's --bgp
# topology (prefix lbds). Called by scripts/bench.sh; alone:
#
#   bench/scaleout_bench.sh OUT.md [--rounds N] [--sessions N]
#
# Each round measures both, one after the other, the same way:
#
#   bgp   lb1-lb3 announce 10.216.0.100 through BIRD to the router (BFD at
#         100 ms x 3, ECMP over the three); the client ext, behind the
#         router, probes the VIP's UDP echo every 10 ms from 8 sockets (8
#         flows, which ECMP spreads over the nodes) and holds N TCP
#         connections; lb1 is lost: its links cut, its lbd and BIRD killed
#         (tests/netns/lib.sh node_lost).
#   vrrp  lb1 (master) and lb2 float 10.213.0.100 at advert_int 10 ms, the
#         fastest interval that held under load (bench/results/vrrp.md); the
#         client cl, on their segment, probes and holds connections the same
#         way; lb1 is lost the same way.
#
# The outage is the longest silence of any of the 8 flows (the flows through
# the surviving nodes see none); the survivors are the held connections that
# answer a line afterwards from the real they were opened on. Both use DR
# over rs1-rs3. Exits non-zero on a broken run (nothing measured, a node
# that never comes up): that is not a number, and nothing is written.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bench/scaleout_bench.sh OUT.md [--rounds N] [--sessions N]}
shift
ROUNDS=3
SESSIONS=60
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --sessions) SESSIONS=$2; shift 2 ;;
    *) echo "scaleout_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || { echo "scaleout_bench.sh: --rounds wants 1..99" >&2; exit 2; }
[[ $SESSIONS =~ ^[1-9][0-9]{0,2}$ ]] || { echo "scaleout_bench.sh: --sessions wants 1..999" >&2; exit 2; }
((EUID == 0)) || { echo "scaleout_bench.sh: must run as root" >&2; exit 1; }
command -v bird >/dev/null || { echo "scaleout_bench.sh: BIRD 2 is not installed" >&2; exit 1; }

export LBD_LAB_PREFIX=lbds
P=$LBD_LAB_PREFIX
BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
export LBD_BUILD_DIR=$BUILD
WORK=$(mktemp -d /tmp/lbd-scaleout-bench.XXXXXX)
source tests/netns/lib.sh
trap lab_test_end EXIT
trap 'exit 130' INT TERM
log() { printf 'scaleout_bench.sh: %s\n' "$*" >&2; }
scripts/lab.sh up --bgp >/dev/null

PROBE_SECONDS=6
ADVERT_INT=0.01
TSV=$WORK/rounds.tsv
echo -e "# round\tmode\toutage_ms\tsurvived\tsessions\tdetect_ms\tflows_gap_ms" >"$TSV"

# The VRRP pair's file: DR services on TCP and UDP port 7 of 10.213.0.100
# over rs1-rs3.
# The same service in UDP for the probe.
vrrp_pair_conf() {
  local node=$1 prio=$2 state=$3
  ADVERT_INT=$ADVERT_INT EXTRA_BLOCKS=$(printf 'virtual_server 10.213.0.100 7 {\n  lb_kind DR\n  protocol UDP\n  real_server 10.213.0.11 7 {\n  }\n  real_server 10.213.0.12 7 {\n  }\n  real_server 10.213.0.13 7 {\n  }\n}') \
    vrrp_conf "$node" "$prio" "state $state"
}

# all_down: every lbd stopped and its leftovers cleaned, lb1 back on its
# links with its BIRD.
all_down() {
  local node
  for node in lb1 lb2 lb3; do
    lbd_stop "$node"
    lbd_cleanup "$node"
  done
  ip -n "$P-lb1" addr del 10.213.0.100/32 dev eth0 2>/dev/null || true
  node_back lb1
}

# measure MODE CLIENT_NS VIP ROUND: probes and held connections across the
# loss of lb1 (tests/netns/lib.sh node_lost: links cut, lbd and BIRD killed,
# its MAC pinned so that the bridge drops what is still sent to it);
# appends the round to $TSV.
measure() {
  local mode=$1 ns=$2 vip=$3 round=$4
  coproc HELD { ip netns exec "$ns" python3 tests/tools/client.py session --addr "$vip" --port 7 \
                  --count "$SESSIONS" --timeout 5; }
  local conns replies
  read -r -t 30 conns <&"${HELD[0]}" || { log "$mode: connections did not open"; exit 1; }
  ip netns exec "$ns" python3 tests/tools/outage.py --addr "$vip" --udp 7 --flows 8 --interval 0.01 \
    --duration "$PROBE_SECONDS" >"$WORK/probe.json" &
  local probe=$!
  local detect=""
  [[ $mode == bgp ]] && rt_watch "$vip" "$PROBE_SECONDS"
  sleep 1.5
  local lost
  lost=$(now_ms)
  node_lost lb1
  [[ $mode == bgp ]] && detect=$(($(rt_watch_until 2 5) - lost))
  wait "$probe"
  echo ping >&"${HELD[1]}"
  read -r -t 60 replies <&"${HELD[0]}" || { log "$mode: the held connections did not answer"; exit 1; }
  echo quit >&"${HELD[1]}"
  wait "$HELD_PID" || true
  python3 - "$WORK/probe.json" "$conns" "$replies" "$round" "$mode" "$detect" >>"$TSV" <<'PY'
import json, sys
probe = json.load(open(sys.argv[1]))
conns = json.loads(sys.argv[2])["conns"]
replies = json.loads(sys.argv[3])["replies"]
if probe["replies"] == 0 or None in conns:
    sys.exit(f"broken round: {probe} {conns}")
same = sum(1 for c, r in zip(conns, replies) if r and r.split()[0] == c)
print("\t".join(map(str, [sys.argv[4], sys.argv[5], probe["max_gap_ms"], same, len(conns), sys.argv[6] or "-",
                          " ".join(f"{g:g}" for g in probe["flows_gap_ms"])])))
PY
  log "round $round $mode: $(tail -1 "$TSV" | cut -f3-)"
}

for round in $(seq "$ROUNDS"); do
  bgp_nodes_start lb1 lb2 lb3
  measure bgp "$P-ext" 10.216.0.100 "$round"
  all_down

  # VRRP: lb1 and lb2 only, BIRD idle (nothing in their tables).
  vrrp_pair_conf lb1 150 MASTER
  vrrp_pair_conf lb2 100 BACKUP
  lbd_start lb1 "$WORK/lb1.conf"
  lbd_start lb2 "$WORK/lb2.conf"
  wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
  wait_log lb2 0 "(VI_1) Entering BACKUP STATE" 10
  wait_next_hops lb1 3
  wait_next_hops lb2 3
  measure vrrp "$P-cl" 10.213.0.100 "$round"
  all_down
done

python3 - "$TSV" "$OUT" "$ROUNDS" "$SESSIONS" <<'PY'
import statistics as st, sys
tsv, out, rounds, sessions = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows = [l.rstrip("\n").split("\t") for l in open(tsv) if not l.startswith("#")]
def of(mode, col):
    return [float(r[col]) for r in rows if r[1] == mode]
L = []
L.append("# Losing a node: active-active behind BGP (BFD) against VRRP")
L.append("")
L.append("`bench/scaleout_bench.sh`, from `scripts/bench.sh`, in the lab's `--bgp` topology")
L.append("(`docs/lab.md`). Each round loses lb1 (links cut, lbd and BIRD killed) twice:")
L.append("")
L.append("- **bgp**: lb1, lb2 and lb3 announce 10.216.0.100 through BIRD to the router")
L.append("  (BGP with BFD at 100 ms x 3, ECMP over the three, L4 hashing); the client")
L.append("  behind the router probes.")
L.append("- **vrrp**: lb1 (master) and lb2 float 10.213.0.100 at `advert_int 0.01`, the")
L.append("  fastest interval that held under load (`bench/results/vrrp.md`); the client")
L.append("  on their segment probes.")
L.append("")
L.append(f"The probe: the VIP's UDP echo every 10 ms from 8 sockets (8 flows, which ECMP")
L.append(f"spreads over the nodes); the outage is the longest silence of any flow. The")
L.append(f"held connections: {sessions} TCP connections opened before, each asked for a")
L.append(f"line after; a survivor answers from the real it was opened on. Both modes use")
L.append(f"DR over rs1-rs3. For bgp, the router's next hops were also watched: the time")
L.append(f"from the cut to the route without lb1. {rounds} rounds, the modes alternated.")
L.append("")
L.append("| mode | outage, median (min-max) | connections surviving | router drops the node, median |")
L.append("|---|---:|---:|---:|")
for mode in ("bgp", "vrrp"):
    o = of(mode, 2)
    surv = sum(of(mode, 3)); tot = sum(of(mode, 4))
    det = [float(r[5]) for r in rows if r[1] == mode and r[5] != "-"]
    L.append(f"| {mode} | {st.median(o):.1f} ms ({min(o):.1f}-{max(o):.1f}) | {surv:.0f} of {tot:.0f} ({100*surv/tot:.1f} %) | "
             + (f"{st.median(det):.0f} ms |" if det else "- |"))
L.append("")
L.append("Every round:")
L.append("")
L.append("| round | mode | outage ms | survived | of | route without lb1 after ms | each flow's silence, ms |")
L.append("|---:|---|---:|---:|---:|---:|---|")
for r in rows:
    L.append("| " + " | ".join(r) + " |")
L.append("")
open(out, "w").write("\n".join(L))
PY
log "wrote $OUT"
