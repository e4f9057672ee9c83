#!/usr/bin/env bash
# A refused reload changes nothing (issue 17). lb1 is VRRP MASTER of
# 10.213.0.100 and serves tcp:7 over rs1..rs3 and tcp:8 over 2,100 reals
# that take no traffic, while a client holds connections open and another
# opens new ones all along. Then: (a) a file that replaces tcp:8's 2,100
# reals by 2,100 others, which the data plane cannot hold at once (4,203 of
# 4,096 real ids), and lowers VI_1's priority; (b) a file of 513 virtual
# servers, which validation refuses. After each: `lbctl reload` exits 1
# with the reason, status shows the failed reload, `lbctl vips`, `reals` and
# `status` are as before (counters, rates and times aside), VI_1 made no
# transition and keeps its priority, and the held connections answer from
# the reals they were opened on. A good reload then still applies.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

STEADY_PID=
end() {
  [[ -z $STEADY_PID ]] || { exec 7>&- || true; wait "$STEADY_PID" || true; }
  lab_test_end
}
trap end EXIT

# service PORT BLOCK N: a DR service on 10.213.0.100 over N reals 10.BLOCK.x.y.
service() {
  local port=$1 block=$2 n=$3 i
  echo "virtual_server 10.213.0.100 $port {"
  echo "  lb_kind DR"
  echo "  protocol TCP"
  for ((i = 0; i < n; i++)); do echo "  real_server 10.$block.$((i / 250)).$((i % 250 + 1)) $port"; done
  echo "}"
}
EXTRA_BLOCKS=$(service 8 214 2100) vrrp_conf lb1 150
cp "$WORK/lb1.conf" "$WORK/running.conf"
lbd_start lb1 "$WORK/lb1.conf"
wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
gets lb1 10.213.0.100 || fail "lb1 is master without the VIP"
wait_next_hops lb1 3

coproc SESSION { client session --addr 10.213.0.100 --port 7 --count 12 --timeout 5; }
read -r -t 15 conns <&"${SESSION[0]}" || fail "sessions did not open"
python3 -c 'import json,sys; sys.exit(0 if None not in json.loads(sys.argv[1])["conns"] else 1)' "$conns" ||
  fail "sessions: $conns"
mkfifo "$WORK/steady.in"
client steady --addr 10.213.0.100 --port 7 --interval 0.01 --max-seconds 120 <"$WORK/steady.in" >"$WORK/steady.json" &
STEADY_PID=$!
exec 7>"$WORK/steady.in"

# What lbctl shows, without what moves by itself: counters, rates, times,
# checks' results, flows and the reloads' own record.
shown() {
  lbctl_json lb1 "$1" | python3 -c '
import json, sys
MOVING = {"counters", "rates", "flows", "since_unix_ms", "last_check", "latency_ms", "reloads", "uptime_s",
          "stats", "flow_table", "guard"}
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items()
                if k not in MOVING and not k.endswith("_unix_ms") and not k.startswith("adverts_")}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
print(json.dumps(strip(json.load(sys.stdin)), sort_keys=True, indent=1))'
}
snapshot() { for what in vips reals status; do shown "$what" >"$WORK/$what.$1"; done; }
vi1() {
  lbctl_json lb1 status | python3 -c 'import json,sys
for i in json.load(sys.stdin)["instances"]:
    if i["name"] == "VI_1": print(i["state"], i["transitions"], i["since_unix_ms"], i["priority"], i["effective_priority"])'
}

snapshot before
vi1_before=$(vi1)
[[ $vi1_before == MASTER* ]] || fail "VI_1 at start: $vi1_before"
echo "ok lb1 MASTER, tcp:7 and tcp:8 (2100 reals) served, 12 connections held"

# refused NAME REASON: the file in lb1.conf is refused by `lbctl reload`
# with REASON (a pattern), and nothing lbctl shows changed.
refused() {
  local name=$1 reason=$2 failed
  failed=$(json_field "$(reload_record lb1)" failed)
  reload_refused lb1 "$reason"
  local r
  r=$(reload_record lb1)
  [[ $(json_field "$r" last_applied) == False && $(json_field "$r" failed) == $((failed + 1)) ]] ||
    fail "$name: status after the refused reload: $r"
  [[ $(json_field "$r" last_error) =~ $reason ]] || fail "$name: status has no reason: $r"
  grep -q "Reload failed, keeping the running configuration: .*$reason" "$WORK/lb1.log" ||
    fail "$name: no Reload failed line in the log"
  snapshot "$name"
  for what in vips reals status; do
    diff -u "$WORK/$what.before" "$WORK/$what.$name" >"$WORK/diff" ||
      fail "$name: lbctl $what changed: $(head -40 "$WORK/diff")"
  done
  [[ $(vi1) == "$vi1_before" ]] || fail "$name: VI_1 was $vi1_before, now $(vi1)"
  holds lb1 10.213.0.100 || fail "$name: lb1 lost the VIP"
  echo ping >&"${SESSION[1]}"
  local replies
  read -r -t 30 replies <&"${SESSION[0]}" || fail "$name: the held connections did not answer"
  python3 -c 'import json,sys; a=json.loads(sys.argv[1])["conns"]; b=json.loads(sys.argv[2])["replies"]; sys.exit(a != b)' \
    "$conns" "$replies" || fail "$name: held connections moved or died: $conns -> $replies"
}

# (a) tcp:8's reals all replaced, and VI_1's priority lowered: the data
# plane would need 2100 + 2100 + rs1..rs3 real ids at once.
EXTRA_BLOCKS=$(service 8 216 2100) vrrp_conf lb1 140
refused pools "4203 real servers at once.*room for 4096"
echo "ok (a) a reload beyond the real ids: refused, services, reals, VRRP and held connections as they were"

# (b) 513 virtual servers: refused by validation, at the 513th.
{
  cat "$WORK/running.conf"
  for ((i = 0; i < 511; i++)); do
    echo "virtual_server 10.215.$((i / 250)).$((i % 250 + 1)) 80 {"
    echo "  real_server 10.213.0.11 80"
    echo "}"
  done
} >"$WORK/lb1.conf"
line=$(($(wc -l <"$WORK/lb1.conf") - 2))
refused invalid "lb1.conf:$line: virtual_server \[10.215.2.11\]:tcp:80: more than 512 virtual services"
echo "ok (b) a file over the virtual services' limit: refused at its line, nothing changed"

# The running file again, and one change: applied, the held connections
# untouched.
EXTRA_BLOCKS=$(service 8 214 2099) vrrp_conf lb1 150
out=$(lbctl_on lb1 reload) || fail "the good reload failed: $out"
[[ $(json_field "$(reload_record lb1)" last_applied) == True ]] || fail "status after the good reload: $(reload_record lb1)"
[[ $(vi1) == "$vi1_before" ]] || fail "good reload: VI_1 was $vi1_before, now $(vi1)"

echo quit >&7
exec 7>&-
wait "$STEADY_PID"
STEADY_PID=
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["errors"]==0 and r["ok"]>0 else 1)' \
  "$WORK/steady.json" || fail "new connections failed during the reloads: $(cat "$WORK/steady.json")"
echo "ok new connections all along: $(cat "$WORK/steady.json")"
echo quit >&"${SESSION[1]}"
wait "$SESSION_PID" || true
echo "PASS reload_atomic"
