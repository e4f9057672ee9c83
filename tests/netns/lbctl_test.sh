#!/usr/bin/env bash
# Every lbctl subcommand against running daemons in the lab (lb1 master,
# lb2 backup, three reals with HTTP_GET), for people and with --json, the
# output parsed and asserted; and lbctl's exit codes for a refused request,
# a bad command line and a daemon that is not there.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

checker='HTTP_GET {
      url {
        path /
        status_code 200
      }
      connect_timeout 1
    }'
# vrrp_conf's service on port 7 plus one on port 80 with HTTP_GET.
EXTRA_BLOCKS="virtual_server 10.213.0.100 80 {
  delay_loop 1
  lb_kind DR
  protocol TCP
$(for n in 1 2 3; do echo "  real_server 10.213.0.1$n 80 { weight 1
    $checker
  }"; done)
}" GLOBAL_LINES="  metrics_listen 10.213.0.2:9165" vrrp_conf lb1 150
vrrp_conf lb2 100
vrrp_pair_start
wait_next_hops lb1 3

# py JSON EXPR MESSAGE: asserts a Python expression over the JSON `r`.
py() {
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" \
    || fail "$3: $1"
}
# contains TEXT PATTERN MESSAGE
contains() { grep -q -- "$2" <<<"$1" || fail "$3: $1"; }

# status
out=$(lbctl_json lb1 status)
py "$out" 'r["instances"][0]["name"] == "VI_1" and r["instances"][0]["state"] == "MASTER"' "status: VI_1 master"
py "$out" 'r["instances"][0]["effective_priority"] == 150 and r["instances"][0]["master"] == "10.213.0.2"' \
  "status: priority and master"
py "$out" '"10.213.0.100/32" in r["instances"][0]["vips"] and r["instances"][0]["since_unix_ms"] > 0' "status: VIPs"
py "$out" "r['daemon']['pid'] == $(cat "$WORK/lb1.pid")" "status: the daemon's pid"
py "$out" 'any(s["vs"] == "[10.213.0.100]:tcp:80" and s["reals"] == 3 for s in r["services"])' "status: services"
out=$(lbctl_json lb2 status)
py "$out" 'r["instances"][0]["state"] == "BACKUP" and r["instances"][0]["master"] == "10.213.0.2"' \
  "status on lb2: backup of 10.213.0.2"
out=$(lbctl_on lb1 status)
contains "$out" "^VI_1 *MASTER *150 *150 *eth0 *10.213.0.2 *10.213.0.100/32" "status for people"
contains "$out" "\[10.213.0.100\]:tcp:80 *3/3" "status for people: services"
echo "ok: status"

# Traffic, so that counters, flows and rates have something to say.
client http --addr 10.213.0.100 --port 80 --count 30 >/dev/null

# vips
out=$(lbctl_json lb1 vips)
py "$out" 'any(v["vip"] == "10.213.0.100:tcp:80" and v["active"] and v["mode"] == "DR" and v["counters"]["new_flows"] >= 30 for v in r)' \
  "vips: the HTTP service"
contains "$(lbctl_on lb1 vips)" "^10.213.0.100:tcp:80 .* DR *yes" "vips for people"
out=$(lbctl_json lb2 vips)
py "$out" 'all(not v["active"] for v in r)' "vips on the backup: not served"
echo "ok: vips"

# reals: each in two services, checked, with a latency; flows for each.
deadline=$((SECONDS + 5))
until out=$(lbctl_json lb1 reals) && python3 -c '
import json,sys; r=json.loads(sys.argv[1])
sys.exit(0 if all(s["last_check_unix_ms"] > 0 for x in r for s in x["services"] if s["port"] == 80)
            and all(x["flows"] >= 1 for x in r) else 1)' "$out"; do
  ((SECONDS < deadline)) || fail "reals: no check or no flows counted within 5 s: $out"
  sleep 0.2
done
py "$out" 'sorted(x["real"] for x in r) == ["10.213.0.11", "10.213.0.12", "10.213.0.13"]' "reals: the three"
py "$out" 'all(len(x["services"]) == 2 and x["flows"] >= 1 for x in r)' "reals: two services each, flows"
py "$out" 'all(s["up"] and s["weight"] == 1 and "status code 200" in s["last_result"] and s["last_latency_ms"] > 0 for x in r for s in x["services"] if s["port"] == 80)' \
  "reals: HTTP_GET results"
contains "$(lbctl_on lb1 reals)" "^10.213.0.12 *\[10.213.0.100\]:tcp:80 *up *1 " "reals for people"
echo "ok: reals"

# stats, with rates once two samples a second apart exist.
sleep 2.1
out=$(lbctl_json lb1 stats)
py "$out" 'r["reasons"]["fwd_tx"] >= 30 and r["flows"] >= 30 and r["interval_s"] > 0.5' "stats: counters"
py "$out" '"rates" in r and "fwd_tx" in r["rates"]["reasons"] and any(v["vip"] == "10.213.0.100:tcp:80" for v in r["vips"])' \
  "stats: rates and VIPs"
contains "$(lbctl_on lb1 stats)" "^fwd_tx" "stats for people"
echo "ok: stats"

# conntrack: counted, listed, filtered.
out=$(lbctl_json lb1 conntrack --count)
total=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["total"])' "$out")
((total >= 30)) || fail "conntrack --count: $out"
out=$(lbctl_json lb1 conntrack --real 10.213.0.11 --limit 5)
py "$out" 'r["total"] >= 1 and len(r["flows"]) <= 5 and all(f["real"] == "10.213.0.11" and f["client"].startswith("10.213.0.10:") for f in r["flows"])' \
  "conntrack --real"
out=$(lbctl_json lb1 conntrack --vip 10.213.0.100:tcp:80)
py "$out" 'r["total"] >= 30 and all(f["vip"] == "10.213.0.100:tcp:80" for f in r["flows"])' "conntrack --vip"
contains "$(lbctl_on lb1 conntrack --count)" "^[0-9]* flows$" "conntrack --count for people"
echo "ok: conntrack ($total flows)"

# drain: rs2 takes no new flows; a connection it had goes on; undrain.
exec {to}> >(ip netns exec "$P-cl" python3 tests/tools/client.py session --addr 10.213.0.100 --port 7 --count 12 \
               >"$WORK/session.out")
sleep 0.5
python3 - "$WORK/session.out" <<'PY' || fail "sessions: $(cat "$WORK/session.out")"
import json, sys
conns = json.loads(open(sys.argv[1]).readline())["conns"]
sys.exit(0 if "rs2" in conns else 1)
PY
out=$(lbctl_json lb1 drain 10.213.0.12)
py "$out" 'r["services"] == 2 and r["drained"]' "drain"
out=$(lbctl_json lb1 reals)
py "$out" 'all(s["drained"] and s["weight"] == 0 for x in r if x["real"] == "10.213.0.12" for s in x["services"])' \
  "reals after drain"
spread=$(client http --addr 10.213.0.100 --port 80 --count 40)
py "$spread" 'r["errors"] == 0 and "rs2" not in r["counts"]' "no new flow to a drained real"
echo ping >&"$to"
sleep 0.5
python3 - "$WORK/session.out" <<'PY' || fail "the drained real's connections: $(cat "$WORK/session.out")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
conns, replies = json.loads(lines[0])["conns"], json.loads(lines[1])["replies"]
sys.exit(0 if all(rep == c for c, rep in zip(conns, replies)) else 1)
PY
echo quit >&"$to"
exec {to}>&-
contains "$(lbctl_on lb1 undrain 10.213.0.12)" "undrained 10.213.0.12 in 2 service" "undrain for people"
spread=$(client http --addr 10.213.0.100 --port 80 --count 40)
py "$spread" 'r["errors"] == 0 and "rs2" in r["counts"]' "undrained real serves again"
echo "ok: drain keeps established connections, undrain"

# weight, and back.
out=$(lbctl_json lb1 weight 10.213.0.11 5 --port 80)
py "$out" 'r["services"] == 1 and r["weight"] == 5' "weight"
out=$(lbctl_json lb1 reals)
py "$out" 'all((s["weight"] == 5) == (s["port"] == 80) for x in r if x["real"] == "10.213.0.11" for s in x["services"])' \
  "reals after weight"
lbctl_on lb1 weight 10.213.0.11 reset --port 80 >/dev/null
py "$(lbctl_json lb1 reals)" 'all(s["weight"] == 1 for x in r for s in x["services"])' "weight reset"
echo "ok: weight"

# Refusals and exit codes.
rc=0; err=$(lbctl_on lb1 drain 10.9.9.9 2>&1) || rc=$?
((rc == 1)) && contains "$err" "no real server 10.9.9.9 in any virtual_server" "drain of an unknown real" || fail "drain unknown: rc $rc: $err"
rc=0; err=$(lbctl_on lb1 failover VI_9 2>&1) || rc=$?
((rc == 1)) && contains "$err" "no vrrp_instance VI_9" "failover of an unknown instance" || fail "failover unknown: rc $rc"
rc=0; lbctl_on lb1 weight 10.213.0.11 lots >/dev/null 2>&1 || rc=$?
((rc == 2)) || fail "a bad weight: rc $rc, not 2"
rc=0; "$BUILD/lbctl" --instance nosuch status >/dev/null 2>&1 || rc=$?
((rc == 3)) || fail "no daemon: rc $rc, not 3"
rc=0; lbctl_on lb1 frobnicate >/dev/null 2>&1 || rc=$?
((rc == 2)) || fail "an unknown subcommand: rc $rc, not 2"
echo "ok: exit codes 1, 2, 3"

# check: the daemon's own validation, no daemon needed.
"$BUILD/lbctl" check "$WORK/lb1.conf" || fail "check of a valid file"
printf 'vrrp_instance VI_1 {\n  virtual_router_id 300\n}\n' >"$WORK/bad.conf"
rc=0; err=$("$BUILD/lbctl" check "$WORK/bad.conf" 2>&1) || rc=$?
((rc == 1)) && contains "$err" "bad.conf:2: " "check: file:line" || fail "check of a bad file: rc $rc: $err"
echo "ok: check"

# metrics: the same figures as stats, scraped from the client.
scrape() {
  ip netns exec "$P-cl" python3 -c '
import sys, urllib.request
r = urllib.request.urlopen("http://10.213.0.2:9165/metrics", timeout=5)
assert r.headers["Content-Type"] == "text/plain; version=0.0.4", r.headers["Content-Type"]
sys.stdout.write(r.read().decode())'
}
metrics=$(scrape) || fail "no metrics from lb1"
contains "$metrics" '^lbd_vrrp_state{vrrp_instance="VI_1",state="MASTER"} 1$' "metrics: VRRP state"
contains "$metrics" '^lbd_real_up{vip="10.213.0.100:tcp:80",real="10.213.0.12",port="80"} 1$' "metrics: real up"
fwd_metric=$(awk '$1 == "lbd_packets_total{reason=\"fwd_tx\"}" {print $2}' <<<"$metrics")
fwd_stats=$(lbctl_json lb1 stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["reasons"]["fwd_tx"])')
[[ -n $fwd_metric ]] && ((fwd_metric > 0 && fwd_metric <= fwd_stats)) \
  || fail "metrics fwd_tx $fwd_metric against stats $fwd_stats"
echo "ok: metrics (fwd_tx $fwd_metric, then $fwd_stats in stats)"

# watch: two refreshes, as JSON lines.
out=$(lbctl_json lb1 watch --count 2 --interval 0.2)
(($(wc -l <<<"$out") == 2)) || fail "watch --count 2: $out"
py "$(head -1 <<<"$out")" 'r["status"]["instances"][0]["state"] == "MASTER" and len(r["reals"]) == 3' "watch"
echo "ok: watch"

# reload through the socket: answered once applied.
m1=$(log_mark lb1)
out=$(lbctl_json lb1 reload)
py "$out" 'r["last_applied"] and r["applied"] == 1 and r["failed"] == 0' "reload"
wait_log lb1 "$m1" "Reload finished" 1
echo "ok: reload"

# failover: lb1 gives up at once, lb2 takes over, lb1 (preempt, 150) takes back.
m1=$(log_mark lb1); m2=$(log_mark lb2)
out=$(lbctl_json lb1 failover VI_1)
py "$out" 'r["failover"] and r["instance"] == "VI_1"' "failover"
wait_log lb1 "$m1" "(VI_1) sent 0 priority" 1
wait_log lb2 "$m2" "(VI_1) Entering MASTER STATE" 3
py "$(lbctl_json lb1 status)" 'r["instances"][0]["state"] == "BACKUP"' "lb1 backup after failover"
wait_log lb1 "$m1" "(VI_1) Entering MASTER STATE" 10
echo "ok: failover, and lb1 preempted back"
echo "PASS"
