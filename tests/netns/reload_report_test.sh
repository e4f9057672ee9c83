#!/usr/bin/env bash
# What became of a reload is told everywhere an operator looks: a file that
# fails validation makes `lbctl reload` exit 1 with the file's
# `file:line: message`, `lbctl status` show the reload failed and why, the
# metric lbd_config_last_reload_successful 0, systemd's STATUS say it failed,
# and the running services stay; a good file is reported applied by all of
# them, whether it came by `lbctl reload`, by `lbctl --pid PID reload` (the
# unit's ExecReload) or by SIGHUP.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin

# systemd's notification socket, stood in for by a listener.
SOCK=$WORK/notify.sock
RECORD=$WORK/notify.jsonl
trap 'kill "${NOTIFY_LISTENER:-}" 2>/dev/null || true; lab_test_end' EXIT
notify_listener "$SOCK" "$RECORD"

# write_conf PORT... [LINE]: lb_interface eth0, metrics on lb1's loopback,
# a DR service on 10.213.0.100 per PORT over rs1..rs3; an extra LINE last.
write_conf() {
  local extra=${EXTRA:-} port n
  {
    echo "global_defs {"
    echo "  lb_interface eth0"
    echo "  metrics_listen 127.0.0.1:9165"
    echo "}"
    for port in "$@"; do
      echo "virtual_server 10.213.0.100 $port {"
      echo "  lb_kind DR"
      echo "  protocol TCP"
      for n in 1 2 3; do echo "  real_server 10.213.0.1$n $port { weight 1 }"; done
      echo "}"
    done
    [[ -z $extra ]] || echo "$extra"
  } >"$WORK/lbd.conf"
}
metric() {
  ip netns exec "$P-lb1" python3 -c '
import sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:9165/metrics", timeout=5).read().decode()
for line in text.splitlines():
    if line.split(" ")[0] == sys.argv[1]:
        print(line.split(" ")[1])
' "$1"
}
vips() { lbctl_json lb1 vips | python3 -c 'import json,sys; print(" ".join(sorted(v["vip"] for v in json.load(sys.stdin))))'; }
# The last STATUS= systemd was given.
status_line() {
  python3 -c '
import json, sys
said = [l for m in map(json.loads, open(sys.argv[1])) for l in m["msg"].split("\n") if l.startswith("STATUS=")]
print(said[-1] if said else "")' "$RECORD"
}

write_conf 7
NOTIFY_SOCKET=$SOCK lbd_start lb1 "$WORK/lbd.conf"
[[ $(json_field "$(reload_record lb1)" last_unix_ms) == 0 ]] || fail "a reload before any: $(reload_record lb1)"
lbctl_on lb1 status | grep -q "^last reload: none since start$" || fail "status: $(lbctl_on lb1 status | head -3)"
[[ $(metric lbd_config_last_reload_successful) == 1 ]] || fail "metric before any reload is not 1"
echo "ok before any reload: none, metric 1"

# A file that does not validate: an unknown keyword on line 6.
before=$(vips)
EXTRA="virtual_server 10.213.0.100 80 { lb_kinds DR }" write_conf 7 80
bad_line=$(grep -n "lb_kinds" "$WORK/lbd.conf" | cut -d: -f1)
reload_refused lb1 "lbd.conf:$bad_line: .*lb_kinds"
r=$(reload_record lb1)
[[ $(json_field "$r" last_applied) == False && $(json_field "$r" failed) == 1 && $(json_field "$r" applied) == 0 ]] ||
  fail "status after the bad reload: $r"
[[ $(json_field "$r" last_error) == *"lbd.conf:$bad_line:"* ]] || fail "status has no reason: $r"
lbctl_on lb1 status | grep -q "^last reload: .*FAILED, running configuration kept: .*lbd.conf:$bad_line:" ||
  fail "lbctl status: $(lbctl_on lb1 status | head -3)"
[[ $(metric lbd_config_last_reload_successful) == 0 ]] || fail "metric after the bad reload is not 0"
[[ $(metric 'lbd_config_reloads_total{result="failed"}') == 1 ]] || fail "reloads_total failed is not 1"
[[ $(status_line) == *"reload at "*" failed: "*"lbd.conf:$bad_line:"* ]] || fail "systemd STATUS: $(status_line)"
grep -q "Reload failed, keeping the running configuration: .*lbd.conf:$bad_line:" "$WORK/lb1.log" ||
  fail "no Reload failed line in the log"
[[ $(vips) == "$before" ]] || fail "the bad reload changed the services: $(vips)"
echo "ok bad file: lbctl exit 1 with the reason, status, metric 0, STATUS, log, services as they were"

# The same file fixed, by SIGHUP: applied, and every report says so.
write_conf 7 80
lbd_reload lb1
r=$(reload_record lb1)
[[ $(json_field "$r" last_applied) == True && $(json_field "$r" applied) == 1 && $(json_field "$r" failed) == 1 ]] ||
  fail "status after SIGHUP: $r"
lbctl_on lb1 status | grep -q "^last reload: .*, applied (1 applied, 1 failed since start)$" ||
  fail "lbctl status: $(lbctl_on lb1 status | head -3)"
[[ $(metric lbd_config_last_reload_successful) == 1 ]] || fail "metric after the good reload is not 1"
[[ $(status_line) == *"reload at "*" applied"* ]] || fail "systemd STATUS: $(status_line)"
[[ $(vips) == "10.213.0.100:tcp:7 10.213.0.100:tcp:80" ]] || fail "tcp:80 not added: $(vips)"
echo "ok SIGHUP of a good file: applied everywhere, tcp:80 served"

# lbctl reload of a good file, then as the unit's ExecReload does, by pid.
write_conf 7
out=$(lbctl_on lb1 reload) || fail "lbctl reload of a good file failed: $out"
[[ $out == "reload applied" ]] || fail "lbctl reload said: $out"
[[ $(vips) == "10.213.0.100:tcp:7" ]] || fail "tcp:80 not removed: $(vips)"
write_conf 7 80
out=$("$BUILD/lbctl" --pid "$(cat "$WORK/lb1.pid")" reload) || fail "lbctl --pid reload failed: $out"
[[ $(vips) == "10.213.0.100:tcp:7 10.213.0.100:tcp:80" ]] || fail "lbctl --pid reload did not apply: $(vips)"
[[ $(json_field "$(reload_record lb1)" applied) == 3 ]] || fail "not 3 applied: $(reload_record lb1)"
set +e
"$BUILD/lbctl" --pid 1 reload 2>"$WORK/err"
rc=$?
set -e
[[ $rc == 3 ]] && grep -q "no lbd with pid 1" "$WORK/err" || fail "lbctl --pid 1: exit $rc, $(cat "$WORK/err")"
echo "ok lbctl reload and lbctl --pid PID reload: applied"
echo "PASS reload_report"
