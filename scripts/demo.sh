#!/usr/bin/env bash
# lbd in two minutes: builds, brings up the namespace lab, runs lbd on both
# LB nodes with config/lab.conf, shows VRRP electing lb1 and client traffic
# through the VIP spread over three real servers, in DR (IPv4) and TUN
# (IPv6) mode, and through a NAT VIP to three reals on an inside network;
# stops a real's server and shows its checker take it out and put it back;
# then crashes the master and shows the outage the client saw, the NAT
# connections it had open carrying on, and lb2 serving.
#   scripts/demo.sh          run and tear everything down (also on Ctrl-C)
#   scripts/demo.sh --keep   leave the lab and lbd running to poke at
#   scripts/demo.sh --bgp    active-active instead (scripts/demo_bgp.sh): two
#                            nodes announce the VIPs over BGP to a router
#                            that spreads the client's connections; one is
#                            lost and the connections carry on
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0 bgp=0
for arg in "$@"; do
  case $arg in
  --keep) keep=1 ;;
  --bgp) bgp=1 ;;
  *) echo "demo.sh: unknown argument $arg (--keep, --bgp)" >&2; exit 2 ;;
  esac
done
[[ $(id -u) == 0 ]] || { echo "demo.sh: run as root (namespaces, XDP)" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
source scripts/deps.sh
say "Installing what is missing and building lbd, lbctl and lbd-decap (scripts/test.sh builds the rest)"
lbd_install_deps build run demo $( ((bgp)) && echo bgp)
lbd_build lbd lbctl lbd-decap | sed -u 's/^/  /'

export LBD_LAB_PREFIX=lbd
P=lbd
BUILD=$PWD/build
export LBD_BUILD_DIR=$BUILD
WORK=$(mktemp -d /tmp/lbd-demo.XXXXXX)
source tests/netns/lib.sh
sess_pid=
cleanup() {
  local node
  if [[ -n $sess_pid ]]; then
    exec {sess}>&-
    wait "$sess_pid" 2>/dev/null || true
  fi
  for node in lb1 lb2; do
    lbd_stop "$node"
    lbd_cleanup "$node"
  done
  scripts/lab.sh down >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
if ((keep)); then
  trap 'echo "demo failed; cleaning up"; cleanup' ERR
  trap 'cleanup; exit 130' INT TERM
else
  trap cleanup EXIT
fi
# answers ARGS...: the client's requests, as a line of counts per real.
answers() {
  client "$@" | python3 -c 'import json,sys
r = json.load(sys.stdin)
per = ", ".join(f"{k} {v}" for k, v in sorted(r["counts"].items()))
print("  answers: " + per + "; " + str(r["errors"]) + " errors")'
}
vrrp_lines() { grep "VRRP_Instance\|VRRP_Group" "$WORK/$1.log" | tail -n "${2:-4}" | sed "s/^/  $1: /"; }

if ((bgp)); then
  source scripts/demo_bgp.sh
  demo_bgp
  if ((keep)); then
    echo "The lab is up; lbd runs on lb2 (log: $WORK/lb2.log). Try:"
    echo "  ip -n $P-rt route show 10.216.0.100; birdc -s /run/$P-lab/bird-rt.ctl show protocols"
    echo "  $BUILD/lbctl --instance $P-lb2 drain-node   # then undrain-node"
    echo "When done: kill $(cat "$WORK/lb2.pid"); scripts/lab.sh down"
    trap - ERR INT TERM
  else
    say "Tearing down"
  fi
  exit 0
fi

say "Lab: client 10.213.0.10, LB nodes lb1/lb2, real servers rs1-rs3; NAT reals nat1-nat3 inside 10.214.0.0/24 (see docs/lab.md)"
scripts/lab.sh up --decap --nat
cp config/lab.conf "$WORK/lb1.conf"
sed -e 's/priority 150/priority 100/' -e 's/state MASTER/state BACKUP/' config/lab.conf >"$WORK/lb2.conf"
# lb2's Master_Down_Interval (RFC 5798): 3 x advert_int + (256 - priority) x advert_int / 256.
advert_ms=$(awk '$1 == "advert_int" {print $2 * 1000; exit}' "$WORK/lb2.conf")
prio=$(awk '$1 == "priority" {print $2; exit}' "$WORK/lb2.conf")
mdi_ms=$((3 * advert_ms + (256 - prio) * advert_ms / 256))

say "Starting lbd on lb2 (priority 100), then on lb1 (priority 150): lbd -n -l -f config/lab.conf"
lbd_start lb2 "$WORK/lb2.conf"
lbd_start lb1 "$WORK/lb1.conf"
wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
wait_log lb1 0 "(VI_GW) Entering MASTER STATE" 10
wait_log lb2 0 "(VI_1) Entering BACKUP STATE" 10
grep -v "libbpf\|libxdp" "$WORK/lb1.log" | sed 's/^/  lb1: /'
vrrp_lines lb2 2
echo "  lb1 holds: $(ip -n $P-lb1 -o addr show | awk '/10.21[34].0.1\/|10.213.0.100|fd00:21[34]::1?00\/|fd00:214::1\// {print $4}' | tr '\n' ' ')"
wait_next_hops lb1 12

say "lbctl status (on lb1, the master)"
lbctl_on lb1 status

say "lbctl vips"
lbctl_on lb1 vips

say "30 HTTP requests from the client to http://10.213.0.100/ (DR): answers per real"
answers http --addr 10.213.0.100 --port 80 --count 30
say "30 HTTP requests to http://[fd00:213::100]/ (TUN, decapsulated on the reals)"
answers http --addr fd00:213::100 --port 80 --count 30
say "30 HTTP requests to http://10.213.0.200:8080/ (NAT: to port 80 of nat1-nat3, whose default route is lb1's VI_GW address 10.214.0.1)"
answers http --addr 10.213.0.200 --port 8080 --count 30

say "lbctl reals (next hops resolved from the kernel's neighbour table)"
lbctl_on lb1 reals

say "Stopping rs3's server: its HTTP_GET checker takes it out (delay_loop 1, retry 1)"
m1=$(log_mark lb1)
kill -KILL "$(cat /run/$P-lab/rs3.pid)"
wait_log lb1 "$m1" "Removing service \[10.213.0.13\]:tcp:80 from VS \[10.213.0.100\]:tcp:80" 5
tail -n +"$((m1 + 1))" "$WORK/lb1.log" | grep "10.213.0.13" | sed 's/^/  lb1: /'
answers http --addr 10.213.0.100 --port 80 --count 30

say "Starting rs3 again: its checker puts it back"
m1=$(log_mark lb1)
scripts/lab.sh up >/dev/null
wait_log lb1 "$m1" "Adding service \[10.213.0.13\]:tcp:80 to VS \[10.213.0.100\]:tcp:80" 5
# Its IPv6 service too, when its TCP_CHECK (delay_loop 2) had taken it out.
wait_next_hops lb1 12
tail -n +"$((m1 + 1))" "$WORK/lb1.log" | grep "Adding service" | sed 's/^/  lb1: /'
answers http --addr 10.213.0.100 --port 80 --count 30

say "lbctl stats on lb1: every verdict by reason, VRRP adverts included"
lbctl_on lb1 stats

say "The client opens 9 TCP connections to the NAT VIP 10.213.0.200:7 (echo) and keeps them open"
exec {sess}> >(exec ip netns exec "$P-cl" python3 tests/tools/client.py session --addr 10.213.0.200 --port 7 \
                 --count 9 --timeout 5 >"$WORK/session.out")
sess_pid=$!
# session_line N: the session client's Nth answer, waited for.
session_line() {
  local deadline=$((SECONDS + 20))
  until [[ -n $(sed -n "${1}p" "$WORK/session.out") ]]; do
    ((SECONDS < deadline)) || { echo "demo: the session client did not answer" >&2; return 1; }
    sleep 0.1
  done
  sed -n "${1}p" "$WORK/session.out"
}
# per_real JSON KEY: how many of the connections answered, per real.
per_real() {
  python3 -c 'import collections,json,sys
r = json.loads(sys.argv[1])[sys.argv[2]]
c = collections.Counter((x or "none").split()[0] for x in r)
print(", ".join(f"{k} {v}" for k, v in sorted(c.items())))' "$1" "$2"
}
echo "  open on: $(per_real "$(session_line 1)" conns)"

say "Crashing the master: lbd on lb1 SIGKILLed and its links cut, while the client pings the VIP every 10 ms"
m2=$(log_mark lb2)
gap=$(outage_during 7 node_crash lb1)
wait_log lb2 "$m2" "(VI_1) Entering MASTER STATE" 2
wait_log lb2 "$m2" "(VI_GW) Entering MASTER STATE" 2
vrrp_lines lb2 4
echo "  the client saw the VIP silent for ${gap} ms (lb2's Master_Down_Interval: ${mdi_ms} ms)"

say "The 9 NAT connections, opened through lb1, answer through lb2 (which never saw them)"
echo ping >&"$sess"
echo "  echoed on: $(per_real "$(session_line 2)" replies)"
echo quit >&"$sess"
exec {sess}>&-
wait "$sess_pid" || true
sess_pid=

say "lb2 serves the VIPs now: 30 HTTP requests to each of the DR and NAT VIPs"
answers http --addr 10.213.0.200 --port 8080 --count 30
answers http --addr 10.213.0.100 --port 80 --count 30

if ((keep)); then
  node_revive lb1
  lbd_start lb1 "$WORK/lb1.conf"
  wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
  wait_log lb1 0 "(VI_GW) Entering MASTER STATE" 10
  cat <<EOT

The lab is up; lbd runs on lb1 (master again) and lb2 (logs: $WORK/lb1.log,
$WORK/lb2.log). Try:
  ip netns exec lbd-cl curl -s http://10.213.0.100/
  ip netns exec lbd-cl curl -s http://10.213.0.200:8080/    # NAT
  $BUILD/lbctl --instance lbd-lb1 status         # also vips, reals, stats, conntrack, watch
  $BUILD/lbctl --instance lbd-lb1 drain 10.213.0.12
  ip netns exec lbd-lb2 tcpdump -ni eth0 -v -c 5 vrrp
  ip netns exec lbd-lb1 tcpdump -ni eth0 -c 10 host 10.213.0.100
  nsenter -t $(cat "$WORK/lb1.pid") -m -n bpftool map dump pinned /sys/fs/bpf/lbd/lbd-lb1/vrrp_tx
  kill $(cat "$WORK/lb1.pid")     # SIGTERM: priority 0, lb2 takes over at once
When done: kill $(cat "$WORK/lb1.pid") $(cat "$WORK/lb2.pid"); scripts/lab.sh down
EOT
  trap - ERR INT TERM
else
  say "Tearing down"
fi
