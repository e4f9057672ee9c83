#!/usr/bin/env bash
# A restart at scale stays hitless: lb1, the master of a VRRP pair, serves
# 300 virtual services (a ring each, some 14 ms apiece to build); its lbd is
# SIGKILLed and started again, three times. Each time the new daemon resumes
# MASTER from its lease before it applies the services, so its first advert
# goes out long before lb2's Master_Down_Interval (3.6 s at advert_int 1)
# ends, though it is ready only seconds later: lb2 never leaves BACKUP and
# logs no transition.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

SERVICES=300
EXTRA_BLOCKS=$(python3 - "$SERVICES" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print(f"virtual_server 10.213.{100 + i // 250}.{i % 250 + 1} 53 {{\n  lb_kind DR\n  protocol UDP")
    for r in (1, 2, 3):
        print(f"  real_server 10.213.0.1{r} 53 {{ weight 1 }}")
    print("}")
PY
) vrrp_conf lb1 150
vrrp_conf lb2 100
vrrp_pair_start
lb2_mark=$(log_mark lb2)
transitions() { lbctl_json lb2 status | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"][0]["transitions"])'; }
before=$(transitions)

for i in 1 2 3; do
  lbd_kill lb1
  start=$(date +%s%N)
  lbd_start lb1 "$WORK/lb1.conf"
  ready_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  grep -q "adopted the maps" "$WORK/lb1.log" || fail "restart $i: maps not adopted"
  grep -q "(VI_1) Resuming MASTER STATE" "$WORK/lb1.log" || fail "restart $i: VI_1 did not resume MASTER"
  # The resume comes before the services: its line precedes the first
  # service's in the log.
  resume=$(grep -m1 -n "(VI_1) Resuming MASTER STATE" "$WORK/lb1.log" | cut -d: -f1)
  first=$(grep -m1 -n "Keeping service\|Adding service" "$WORK/lb1.log" | cut -d: -f1)
  ((resume < first)) || fail "restart $i: VRRP resumed after the services were applied"
  no_log lb2 "$lb2_mark" "Entering MASTER STATE"
  echo "ok: restart $i: ready after ${ready_ms} ms with $SERVICES services, VI_1 resumed first"
done

after=$(transitions)
((after == before)) || fail "lb2 made $((after - before)) transitions during the restarts"
lbctl_json lb2 status | python3 -c 'import json,sys; s=json.load(sys.stdin)["instances"][0]["state"]; sys.exit(s != "BACKUP")' ||
  fail "lb2 is not BACKUP"
echo "PASS restart_scale: lb2 stayed BACKUP through 3 restarts of a master with $SERVICES services"
