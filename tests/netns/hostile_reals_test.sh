#!/usr/bin/env bash
# Hostile real servers beside healthy ones: one answers an HTTP_GET with a
# regex by a 2 MiB page on one line (std::regex's recursion once killed lbd
# on it), one sends a chunked body that never ends, one accepts and never
# answers, one resets the connection in the middle of its response. lbd
# stays up (the same pid), every checker keeps its schedule (its check count
# grows at the rate delay_loop and its timeouts allow), no healthy real is
# ever taken out, and every hostile one is.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin

HOSTILE=(rs2:huge:8081 rs3:chunked:8082 rs1:silent:8083 rs2:reset:8084)
stop_hostile() {
  local pid
  for pid in "$WORK"/hostile-*.pid; do
    [[ -f $pid ]] || continue
    kill -TERM "$(cat "$pid")" 2>/dev/null || true
  done
}
trap 'stop_hostile; lab_test_end' EXIT

for h in "${HOSTILE[@]}"; do
  IFS=: read -r node mode port <<<"$h"
  ip netns exec "$P-$node" python3 tests/tools/hostile_server.py "$mode" --port "$port" \
    >"$WORK/hostile-$mode.log" 2>&1 &
  echo $! >"$WORK/hostile-$mode.pid"
done
for h in "${HOSTILE[@]}"; do
  IFS=: read -r node mode port <<<"$h"
  deadline=$((SECONDS + 10))
  until ip netns exec "$P-$node" ss -Hltn "sport = :$port" | grep -q LISTEN; do
    ((SECONDS < deadline)) || fail "hostile server $mode did not listen on $node:$port"
    sleep 0.05
  done
done

# delay_loop 1, connect_timeout 2, retry 1 after 1 s. The healthy reals are
# rs1:80 and rs4:80 (HTTP_GET with a regex on realserver.py's page, and
# TCP_CHECK), rs3:7 and rs4:7; each hostile server is the check target of
# one real through connect_port.
check() {  # check CONNECT_PORT [REGEX]
  echo "    HTTP_GET {"
  echo "      url {"
  echo "        path /"
  [[ -z ${2:-} ]] || echo "        regex \"$2\""
  echo "      }"
  echo "      connect_port $1"
  echo "      connect_timeout 2"
  echo "      retry 1"
  echo "      delay_before_retry 1"
  echo "    }"
}
{
  echo "global_defs {"
  echo "  lb_interface eth0"
  echo "}"
  echo "virtual_server 10.213.0.100 80 {"
  echo "  delay_loop 1"
  echo "  lb_kind DR"
  echo "  protocol TCP"
  echo "  real_server 10.213.0.11 80 {"; check 80 "^rs1$"; echo "  }"
  echo "  real_server 10.213.0.12 80 {"; check 8081 ".*status: ok"; echo "  }"
  echo "  real_server 10.213.0.13 80 {"; check 8082; echo "  }"
  echo "  real_server 10.213.0.14 80 {"
  echo "    TCP_CHECK {"
  echo "      connect_timeout 2"
  echo "    }"
  echo "  }"
  echo "}"
  echo "virtual_server 10.213.0.100 7 {"
  echo "  delay_loop 1"
  echo "  lb_kind DR"
  echo "  protocol TCP"
  echo "  real_server 10.213.0.11 7 {"; check 8083; echo "  }"
  echo "  real_server 10.213.0.12 7 {"; check 8084; echo "  }"
  echo "  real_server 10.213.0.13 7 {"; check 80 "rs3"; echo "  }"
  echo "  real_server 10.213.0.14 7 {"; check 80; echo "  }"
  echo "}"
} >"$WORK/lbd.conf"

HEALTHY=(10.213.0.11:80 10.213.0.14:80 10.213.0.13:7 10.213.0.14:7)
HOSTILE_REALS=(10.213.0.12:80 10.213.0.13:80 10.213.0.11:7 10.213.0.12:7)

lbd_start lb1 "$WORK/lbd.conf"
pid=$(cat "$WORK/lb1.pid")
wait_log lb1 0 "Health checkers started" 5

# Each hostile real leaves its service: a first failure, a retry 1 s later.
for r in "${HOSTILE_REALS[@]}"; do
  addr=${r%:*} port=${r#*:}
  wait_log lb1 0 "Removing service \[$addr\]:tcp:$port from VS \[10.213.0.100\]:tcp:$port" 15
done
echo "ok: the four hostile reals are out"

# checks SERVICE...: "real:port checks up" per service, from lbctl reals.
checks() {
  lbctl_json lb1 reals | python3 -c '
import json, sys
want = sys.argv[1:]
got = {}
for r in json.load(sys.stdin):
    for s in r["services"]:
        got["%s:%d" % (r["real"], s["port"])] = (s["checks"], s["up"])
for w in want:
    print(w, *got[w])
' "$@"
}
WINDOW_S=8
before=$(checks "${HEALTHY[@]}" "${HOSTILE_REALS[@]}")
sleep "$WINDOW_S"  # the checkers' schedule over a window of time is what is measured
after=$(checks "${HEALTHY[@]}" "${HOSTILE_REALS[@]}")
kill -0 "$pid" 2>/dev/null || fail "lbd (pid $pid) died"
[[ $(cat "$WORK/lb1.pid") == "$pid" ]] || fail "lbd was restarted"

# A healthy real is checked every delay_loop (1 s) plus its latency; a
# hostile one that is down every delay_loop plus its attempt, at most the
# 2 s connect_timeout. Half the expected count is the floor: the loop never
# stalled for seconds on a page, a body or a server.
printf '%s\n' "$before" >"$WORK/checks.before"
printf '%s\n' "$after" >"$WORK/checks.after"
python3 - "$WINDOW_S" "${#HEALTHY[@]}" "$WORK/checks.before" "$WORK/checks.after" <<'PY' ||
import sys
window, healthy = int(sys.argv[1]), int(sys.argv[2])
def parse(path):
    return {f[0]: (int(f[1]), f[2]) for f in (l.split() for l in open(path)) if f}
b, a = parse(sys.argv[3]), parse(sys.argv[4])
ok = True
for i, (name, (n_after, up)) in enumerate(a.items()):
    grew = n_after - b[name][0]
    is_healthy = i < healthy
    floor = window // 2 if is_healthy else window // 3 // 2 + 1
    good = grew >= floor and (up == "True") == is_healthy
    ok &= good
    print(f"{'ok' if good else 'BAD'}: {name} {'healthy' if is_healthy else 'hostile'}: "
          f"{grew} checks in {window} s (floor {floor}), up {up}")
sys.exit(0 if ok else 1)
PY
  fail "checks fell behind or a real is in the wrong state"
for r in "${HEALTHY[@]}"; do
  addr=${r%:*} port=${r#*:}
  no_log lb1 0 "Removing service \[$addr\]:tcp:$port "
done
echo "ok: lbd up as pid $pid, every checker on schedule, no healthy real taken out"
echo "PASS"
