#!/usr/bin/env bash
# lbd in two minutes: builds, brings up the namespace lab, runs lbd on the LB
# node lb1 with config/lab.conf, and shows client traffic through the VIP
# spread over three real servers, in DR (IPv4) and TUN (IPv6) mode; then
# takes a real out with a config reload and shows its traffic move.
#   scripts/demo.sh          run and tear everything down (also on Ctrl-C)
#   scripts/demo.sh --keep   leave the lab and lbd running to poke at
# VRRP failover between lb1 and lb2 joins this demo with the VRRP engine.
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[[ ${1:-} == --keep ]] && keep=1
[[ $(id -u) == 0 ]] || { echo "demo.sh: run as root (namespaces, XDP)" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
source scripts/deps.sh
say "Installing what is missing and building"
lbd_install_deps
lbd_build >/dev/null

export LBD_LAB_PREFIX=lbd
P=lbd
BUILD=$PWD/build
export LBD_BUILD_DIR=$BUILD
WORK=$(mktemp -d /tmp/lbd-demo.XXXXXX)
source tests/netns/lib.sh
cleanup() {
  lbd_stop lb1
  scripts/lab.sh down >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
if ((keep)); then
  trap 'echo "demo failed; cleaning up"; cleanup' ERR
  trap 'cleanup; exit 130' INT TERM
else
  trap cleanup EXIT
fi

say "Lab: client 10.213.0.10, LB nodes lb1/lb2, real servers rs1-rs3 (see docs/lab.md)"
scripts/lab.sh up --decap
# Until the VRRP engine owns the VIPs, lb1 holds them by hand.
ip netns exec $P-lb1 ip addr add 10.213.0.100/32 dev eth0
ip netns exec $P-lb1 ip -6 addr add fd00:213::100/128 dev eth0 nodad
cp config/lab.conf "$WORK/lbd.conf"

say "Starting lbd on lb1: lbd -n -l -f config/lab.conf"
lbd_start lb1 "$WORK/lbd.conf"
grep -v "libbpf\|libxdp" "$WORK/lb1.log" | sed 's/^/  /'
wait_next_hops lb1 6

say "lbctl vips"
nsenter -t "$(cat "$WORK/lb1.pid")" -m -n "$BUILD/lbctl" --instance $P-lb1 vips

say "30 HTTP requests from the client to http://10.213.0.100/ (DR): answers per real"
client http --addr 10.213.0.100 --port 80 --count 30
say "30 HTTP requests to http://[fd00:213::100]/ (TUN, decapsulated on the reals)"
client http --addr fd00:213::100 --port 80 --count 30

say "lbctl reals (next hops resolved from the kernel's neighbour table)"
nsenter -t "$(cat "$WORK/lb1.pid")" -m -n "$BUILD/lbctl" --instance $P-lb1 reals

say "Taking rs2 (10.213.0.12) out of the config and reloading (SIGHUP)"
sed -i '/real_server 10.213.0.12 80/,/}/d' "$WORK/lbd.conf"
lbd_reload lb1
grep "Reload\|Removing\|ring rebuilt" "$WORK/lb1.log" | sed 's/^/  /'
client http --addr 10.213.0.100 --port 80 --count 30

say "lbctl stats: every verdict by reason"
nsenter -t "$(cat "$WORK/lb1.pid")" -m -n "$BUILD/lbctl" --instance $P-lb1 stats

if ((keep)); then
  cat <<EOT

The lab is up and lbd runs on lb1 (log: $WORK/lb1.log). Try:
  ip netns exec lbd-cl curl -s http://10.213.0.100/
  nsenter -t $(cat "$WORK/lb1.pid") -m -n $BUILD/lbctl --instance lbd-lb1 stats
  ip netns exec lbd-lb1 tcpdump -ni eth0 -c 10 host 10.213.0.100
  nsenter -t $(cat "$WORK/lb1.pid") -m -n bpftool map dump pinned /sys/fs/bpf/lbd/lbd-lb1/vips4
  ip netns exec lbd-rs1 bash
When done: kill $(cat "$WORK/lb1.pid"); scripts/lab.sh down
EOT
  trap - ERR INT TERM
else
  say "Tearing down"
fi
