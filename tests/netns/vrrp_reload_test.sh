#!/usr/bin/env bash
# VRRP through SIGHUP, as keepalived users reload: at advert_int 100 ms,
# while the client pings the VIP every 10 ms, lb1 (MASTER) and lb2 (BACKUP)
# reload configs that add and drop a VIP, add and remove a second instance,
# and name an interface that does not exist: VI_1 makes no transition on
# either node, no notify script runs again, its counters go on, the ping
# sees no outage, added addresses appear and dropped ones go. A lowered
# priority then takes effect: lb2 preempts.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

export ADVERT_INT=0.1
printf '#!/bin/sh\necho "$*" >>"%s/notify.log"\n' "$WORK" >"$WORK/notify.sh"
chmod +x "$WORK/notify.sh"
NOTIFY="notify $WORK/notify.sh"
EXTRA_VIP=$'virtual_ipaddress_excluded {\n    10.213.0.101/32\n  }'
VI_2=$'vrrp_instance VI_2 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 52\n  priority 150\n  advert_int 0.1\n  virtual_ipaddress {\n    10.213.0.102/32\n  }\n}'

vrrp_conf lb1 150 "$NOTIFY"
vrrp_conf lb2 100 "$NOTIFY"
vrrp_pair_start
gets lb1 10.213.0.100 || fail "lb1 is master without the VIP"
wait_for_line "$WORK/notify.log" "^INSTANCE VI_1 MASTER 150$" 5

# VI_1 as lbctl shows it: state, transitions, since.
vi1() {
  lbctl_json "$1" status | python3 -c 'import json,sys
for i in json.load(sys.stdin)["instances"]:
    if i["name"] == "VI_1": print(i["state"], i["transitions"], i["since_unix_ms"])'
}
lb1_before=$(vi1 lb1)
lb2_before=$(vi1 lb2)
notify_lines=$(wc -l <"$WORK/notify.log")
[[ $lb1_before == MASTER* && $lb2_before == BACKUP* ]] || fail "unexpected start: lb1 $lb1_before, lb2 $lb2_before"

# reload_to NODE [LINE...]: the node's config rewritten (vrrp_conf LINEs,
# $EXTRA_BLOCKS) and reloaded; VI_1 must come through unchanged.
reload_to() {
  local node=$1 prio=150 state=MASTER m1 m2 m; shift
  [[ $node == lb2 ]] && prio=100 state=BACKUP
  vrrp_conf "$node" "$prio" "$NOTIFY" "$@"
  m1=$(log_mark lb1) m2=$(log_mark lb2)
  m=$(log_mark "$node")
  lbd_reload "$node"
  wait_log "$node" "$m" "(VI_1) kept through the reload as $state" 1
  no_log lb1 "$m1" "(VI_1) Entering"
  no_log lb2 "$m2" "(VI_1) Entering"
}

reloads() {
  EXTRA_BLOCKS=$VI_2 reload_to lb1 "$EXTRA_VIP"
  gets lb1 10.213.0.101 || fail "lb1 did not add the VIP the reload gave VI_1"
  wait_log lb1 0 "(VI_2) Entering MASTER STATE" 5
  gets lb1 10.213.0.102 || fail "the new VI_2 holds no address"
  EXTRA_BLOCKS= reload_to lb2 "$EXTRA_VIP"
  EXTRA_BLOCKS= reload_to lb1
  drops lb1 10.213.0.101 || fail "lb1 kept the VIP the reload dropped"
  drops lb1 10.213.0.102 || fail "lb1 kept the address of the removed VI_2"
  grep -q "VRRP_Instance(VI_2) is not in the new configuration: stopping it" "$WORK/lb1.log" ||
    fail "VI_2 not stopped"
  holds lb1 10.213.0.100 || fail "lb1 lost VI_1's VIP"
}
gap=$(outage_during 8 reloads)
python3 -c "import sys; sys.exit(0 if $gap < 100 else 1)" || fail "the client saw a ${gap} ms outage over the reloads"
echo "ok: VIP added, instance added, both removed, backup reloaded: longest silence ${gap} ms"

# A config that cannot run is refused before anything stops.
vrrp_conf lb1 150 "$NOTIFY"
sed -i 's/^  interface eth0$/  interface eth9/' "$WORK/lb1.conf"
m1=$(log_mark lb1)
kill -HUP "$(cat "$WORK/lb1.pid")"
wait_log lb1 "$m1" "Reload failed, keeping the running configuration: vrrp_instance VI_1: no interface eth9" 5
no_log lb1 "$m1" "(VI_1) Entering"
echo "ok: a reload naming a missing interface fails and VI_1 runs on"

[[ $(vi1 lb1) == "$lb1_before" ]] || fail "lb1's VI_1 changed: $lb1_before -> $(vi1 lb1)"
[[ $(vi1 lb2) == "$lb2_before" ]] || fail "lb2's VI_1 changed: $lb2_before -> $(vi1 lb2)"
extra=$(tail -n +"$((notify_lines + 1))" "$WORK/notify.log" | grep "VI_1" || true)
[[ -z $extra ]] || fail "notify ran again for VI_1: $extra"
echo "ok: VI_1 kept its state, transitions and since on both nodes ($lb1_before / $lb2_before); no notify"

# The new settings do apply: lb1 at priority 50 gives way to lb2 (preempt).
m2=$(log_mark lb2)
sed -i 's/priority 150/priority 50/' "$WORK/lb1.conf"
sed -i 's/^  interface eth9$/  interface eth0/' "$WORK/lb1.conf"
lbd_reload lb1
wait_log lb2 "$m2" "(VI_1) Entering MASTER STATE" 5
wait_log lb1 "$m1" "(VI_1) Entering BACKUP STATE" 5
gets lb2 10.213.0.100 && drops lb1 10.213.0.100 || fail "the VIP did not move to lb2"
echo "ok: a priority lowered by reload hands VI_1 to lb2"
echo "PASS"
