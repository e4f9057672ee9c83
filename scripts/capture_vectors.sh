#!/usr/bin/env bash
# Capture VRRP wire vectors from the real keepalived, in the namespace lab.
#
#   scripts/capture_vectors.sh [OUTDIR]     (default: tests/vectors)
#
# For each tests/vectors/keepalived-*.conf: builds the lab (prefix lbdv unless
# LBD_LAB_PREFIX says otherwise), starts tcpdump on lb2's eth0, runs keepalived
# (VRRP only) in lb1 with that configuration until lb1 has become master and
# tcpdump has its N frames (the first adverts and the gratuitous ARPs /
# unsolicited NAs that follow), stops keepalived, and writes
# OUTDIR/keepalived-NAME.pcap. The filter keeps only frames from lb1's MAC that
# are VRRP, gratuitous ARPs (sender IP = target IP) or neighbour
# advertisements: no IGMP/MLD reports, no ARP for the unicast peer.
#
# LBD_CAPTURE_LOGS=DIR keeps keepalived's and tcpdump's output there.
#
# Bounded in time (every tcpdump under `timeout`, keepalived stopped with
# SIGTERM then SIGKILL); on any exit keepalived and tcpdump are stopped, the
# lab is torn down and the scratch directory removed. Needs root, keepalived,
# tcpdump (scripts/deps.sh lists both) and what scripts/lab.sh needs.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$REPO_ROOT/tests/vectors}
CONF_DIR=$REPO_ROOT/tests/vectors
export LBD_LAB_PREFIX=${LBD_LAB_PREFIX:-lbdv}
P=$LBD_LAB_PREFIX
LB1_MAC=02:d5:00:00:00:02  # scripts/lab.sh: 02:d5:00:00:00:XX, XX = host part
CAPTURE_SECS=${LBD_CAPTURE_SECS:-30}  # per vector; keepalived needs ~4 s to become master

# vector name -> frames to capture. Each: the first advert, five gratuitous
# ARPs or unsolicited NAs (keepalived's vrrp_garp_master_repeat default), then
# two more adverts, one per advert_int.
declare -A COUNT=([v3-ipv4]=8 [v2-pass]=8 [v3-ipv6]=8 [v3-unicast]=8)
VECTORS=(v3-ipv4 v2-pass v3-ipv6 v3-unicast)

FILTER="ether src $LB1_MAC and (ip proto 112 or ip6 proto 112 \
or (arp and arp[14:4] = arp[24:4]) or (icmp6 and ip6[40] = 136))"

log() { printf 'capture_vectors: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

((EUID == 0)) || { log "skipped: needs root (namespaces)"; exit 77; }
for t in keepalived tcpdump timeout ip; do
  command -v "$t" >/dev/null 2>&1 || die "missing $t (apt-get install -y keepalived tcpdump)"
done

WORK=$(mktemp -d /tmp/lbd-vectors.XXXXXX)
KD_PID=""
TD_PID=""

# stop PID: SIGTERM, up to 5 s, then SIGKILL.
stop_pid() {
  local pid=$1 i
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_keepalived() {
  local f
  stop_pid "$KD_PID"
  KD_PID=""
  # The VRRP child normally leaves with its parent; make sure.
  for f in "$WORK"/*.vrrp.pid; do
    [[ -s $f ]] && stop_pid "$(cat "$f")"
    rm -f "$f"
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_keepalived
  stop_pid "$TD_PID"
  if [[ -n ${LBD_CAPTURE_LOGS:-} ]]; then
    mkdir -p "$LBD_CAPTURE_LOGS" && cp "$WORK"/*.log "$LBD_CAPTURE_LOGS"/ 2>/dev/null || true
  fi
  "$REPO_ROOT/scripts/lab.sh" down >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "keepalived: $(keepalived --version 2>&1 | head -n1)"
"$REPO_ROOT/scripts/lab.sh" up >/dev/null
mkdir -p "$OUT"

for v in "${VECTORS[@]}"; do
  conf=$CONF_DIR/keepalived-$v.conf
  pcap=$WORK/keepalived-$v.pcap
  [[ -f $conf ]] || die "no $conf"
  n=${COUNT[$v]}

  # No address left over from the previous vector.
  ip -n "$P-lb1" addr del 10.213.0.100/24 dev eth0 2>/dev/null || true
  ip -n "$P-lb1" addr del fd00:213::100/64 dev eth0 2>/dev/null || true

  # -U: each frame written as it arrives, so -c N ends with a complete file.
  timeout "$CAPTURE_SECS" ip netns exec "$P-lb2" \
    tcpdump -i eth0 -n -U -c "$n" -w "$pcap" "$FILTER" 2>"$WORK/$v.tcpdump.log" &
  TD_PID=$!
  for ((i = 0; i < 50; i++)); do
    grep -q "listening on" "$WORK/$v.tcpdump.log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "listening on" "$WORK/$v.tcpdump.log" || { cat "$WORK/$v.tcpdump.log" >&2; die "$v: tcpdump did not start"; }

  # -P: VRRP only; own pid files so nothing clashes with another keepalived.
  ip netns exec "$P-lb1" keepalived -n -l -D -P -f "$conf" \
    -p "$WORK/$v.pid" -r "$WORK/$v.vrrp.pid" >"$WORK/$v.keepalived.log" 2>&1 &
  KD_PID=$!

  rc=0
  wait "$TD_PID" || rc=$?
  TD_PID=""
  stop_keepalived
  if ((rc != 0)); then
    log "$v: tcpdump ended with $rc (124 = timed out before $n frames)"
    tail -n 30 "$WORK/$v.keepalived.log" >&2
    die "$v: capture incomplete"
  fi
  cp "$pcap" "$OUT/keepalived-$v.pcap"
  log "$v: $n frames, $(stat -c %s "$pcap") bytes -> $OUT/keepalived-$v.pcap"
done
