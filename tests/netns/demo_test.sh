#!/usr/bin/env bash
# The first command of the README, run as a newcomer would, twice in a row:
# each run must elect lb1, spread the client's requests over the three reals
# (DR) and over the three NAT reals, see rs3's checker take it out, and fail
# over to lb2 with an outage below lb2's Master_Down_Interval plus 100 ms,
# the NAT connections open through lb1 answering through lb2; after each run
# the machine must be as it was (namespaces, links, mounts, pins, processes, /run/lbd, scratch).
# Then `demo.sh --bgp` once: two nodes announcing over BGP both carry the
# client's connections, the router drops the lost one within a second and
# the connections it carried answer from the same reals through the other.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (namespaces, XDP)"; exit 77; }
# The demo's lab prefix is "lbd": a lab left up by `demo.sh --keep` is
# somebody's, not this test's to tear down.
if ip netns list | grep -q '^lbd-'; then
  echo "SKIP: a demo lab (namespaces lbd-*) is up"
  exit 77
fi

OUT=$(mktemp -d /tmp/lbd-demo-test.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
LOG=
fail() {
  [[ -z $LOG ]] || cat "$LOG"
  echo "FAIL: $*" >&2
  exit 1
}

# What a run may leave behind, as one listing to compare before and after.
machine_state() {
  echo "netns: $(ip netns list | awk '{print $1}' | sort | tr '\n' ' ')"
  echo "links: $(ip -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' ')"
  echo "mounts: $(awk '$5 ~ /lbd/ {print $5}' /proc/self/mountinfo | sort | tr '\n' ' ')"
  echo "pins: $(find /sys/fs/bpf -mindepth 1 2>/dev/null | sort | tr '\n' ' ')"
  echo "run: $(find /run/lbd /run/lbd-lab -mindepth 0 2>/dev/null | sort | tr '\n' ' ')"
  echo "scratch: $(find /tmp -maxdepth 1 -name 'lbd-demo.*' | sort | tr '\n' ' ')"
  echo "processes: $(pgrep -f 'build/lbd |realserver.py|outage.py|client.py|route_watch.py|tcpdump|bird -c' | sort | tr '\n' ' ')"
}

# check_run LOG: the demo's narration says what it must.
check_run() {
  local log=$1 line gap mdi
  grep -q "lb1: .*(VI_1) Entering MASTER STATE" "$log" || fail "no master elected on lb1"
  grep -q "lb2: .*(VI_1) Entering BACKUP STATE" "$log" || fail "lb2 did not start as backup"
  # The first answers line: 30 requests to the IPv4 VIP, all three reals.
  line=$(grep -m1 "^  answers:" "$log")
  for rs in rs1 rs2 rs3; do
    [[ $line =~ $rs\ [1-9] ]] || fail "no traffic on $rs: $line"
  done
  [[ $line == *"; 0 errors" ]] || fail "client errors: $line"
  # The third: 30 requests to the NAT VIP, all three NAT reals.
  line=$(grep "^  answers:" "$log" | sed -n 3p)
  for rs in nat1 nat2 nat3; do
    [[ $line =~ $rs\ [1-9] ]] || fail "no NAT traffic on $rs: $line"
  done
  [[ $line == *"; 0 errors" ]] || fail "NAT client errors: $line"
  grep -q "Removing service \[10.213.0.13\]:tcp:80 from VS \[10.213.0.100\]:tcp:80" "$log" ||
    fail "rs3 not taken out by its checker"
  # After rs3 is out (the fourth answers line), only rs1 and rs2 answer.
  line=$(grep "^  answers:" "$log" | sed -n 4p)
  [[ $line != *rs3* && $line == *"; 0 errors" ]] || fail "rs3 still served, or errors: $line"
  grep -q "lb2: .*(VI_1) Entering MASTER STATE" "$log" || fail "lb2 did not take over"
  line=$(grep "the client saw the VIP silent for" "$log") || fail "no outage measured"
  [[ $line =~ silent\ for\ ([0-9.]+)\ ms.*Master_Down_Interval:\ ([0-9]+)\ ms ]] || fail "unreadable: $line"
  gap=${BASH_REMATCH[1]} mdi=${BASH_REMATCH[2]}
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < int(sys.argv[2]) + 100 else 1)' "$gap" "$mdi" ||
    fail "outage ${gap} ms, not below Master_Down_Interval ${mdi} ms + 100 ms"
  # The NAT connections: the same reals, all 9 answering, after the failover.
  local opened echoed
  opened=$(grep -m1 "^  open on:" "$log") || fail "no NAT connections opened"
  echoed=$(grep -m1 "^  echoed on:" "$log") || fail "NAT connections not tried after the failover"
  # Each real's count, before and after: 9 in all, none lost or moved.
  [[ ${opened#*:} == "${echoed#*:}" && $opened == *nat* && $opened != *none* ]] ||
    fail "NAT connections broken by the failover: $opened / $echoed"
  python3 -c 'import re,sys; sys.exit(sum(map(int, re.findall(r" (\d+)(?:,|$)", sys.argv[1]))) != 9)' "$opened" ||
    fail "not 9 NAT connections: $opened"
  # The last two answers lines: lb2 serving the NAT and the DR VIP.
  grep "^  answers:" "$log" | tail -2 | grep -q "rs[0-9]" || fail "lb2 does not serve the DR VIP"
  grep "^  answers:" "$log" | tail -2 | grep -q "nat[0-9]" || fail "lb2 does not serve the NAT VIP"
  line=$(grep "^  answers:" "$log" | tail -2 | grep -v "; 0 errors") && fail "lb2 serves with errors: $line"
  echo "outage ${gap} ms (Master_Down_Interval ${mdi} ms)"
}

# check_bgp_run LOG: what demo.sh --bgp must say.
check_bgp_run() {
  local log=$1 line opened echoed ms
  grep -q "lb1: .*Announcing VIP 10.216.0.100 (table 100)" "$log" || fail "lb1 announced nothing"
  grep -q "10.216.0.100 dev lo proto 76" "$log" || fail "no route in lb1's table 100 shown"
  [[ $(grep -c "nexthop via 10.213.0.[23] dev eth0" "$log") -ge 2 ]] || fail "the router has not both nodes as next hops"
  line=$(grep -m1 "^  answers:" "$log")
  [[ $line == *"; 0 errors" && $line == *rs1* && $line == *rs2* && $line == *rs3* ]] || fail "spread: $line"
  line=$(grep -m1 "^  packets forwarded:" "$log")
  [[ $line =~ lb1\ \+[1-9].*lb2\ \+[1-9] ]] || fail "both nodes did not forward: $line"
  opened=$(grep -m1 "^  open on:" "$log") || fail "no connections opened"
  echoed=$(grep -m1 "^  echoed on:" "$log") || fail "connections not tried after losing lb1"
  [[ ${opened#*: } == "${echoed#*: }" && $opened != *none* ]] || fail "connections broken or moved: $opened / $echoed"
  line=$(grep "the router dropped lb1" "$log") || fail "no time to drop lb1"
  [[ $line =~ dropped\ lb1\ ([0-9]+)\ ms ]] && ms=${BASH_REMATCH[1]} || fail "unreadable: $line"
  ((ms < 1500)) || fail "the router dropped lb1 after $ms ms"
  line=$(grep "^  answers:" "$log" | tail -1)
  [[ $line == *"; 0 errors" ]] || fail "lb2 alone serves with errors: $line"
  echo "lb1 lost: out of the router's route after $ms ms"
}

before=$(machine_state)
for run in 1 2; do
  start=$SECONDS
  # Bounded: the demo is meant to finish in under two minutes.
  LOG=$OUT/run$run.log
  timeout 300 scripts/demo.sh </dev/null >"$LOG" 2>&1 || fail "demo run $run failed"
  echo "run $run: $((SECONDS - start)) s"
  check_run "$LOG"
  LOG=
  after=$(machine_state)
  if [[ $after != "$before" ]]; then
    diff <(echo "$before") <(echo "$after") || true
    fail "demo run $run left something behind"
  fi
done
start=$SECONDS
LOG=$OUT/bgp.log
timeout 300 scripts/demo.sh --bgp </dev/null >"$LOG" 2>&1 || fail "demo --bgp failed"
echo "run --bgp: $((SECONDS - start)) s"
check_bgp_run "$LOG"
LOG=
after=$(machine_state)
if [[ $after != "$before" ]]; then
  diff <(echo "$before") <(echo "$after") || true
  fail "demo --bgp left something behind"
fi
echo "PASS: the demo ran twice, and --bgp once, said what it must, left nothing behind"
