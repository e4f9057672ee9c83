#!/usr/bin/env bash
# Tracking moves VIPs between two lbd nodes: a failing track script lowers
# lb1's priority below lb2's and lb2 takes over (and gives back when the
# script recovers); a tracked interface going down puts lb1's instance in
# FAULT; both instances of a sync group move together (IPv4 VI_1 and IPv6
# VI_6).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

# A link of lb1's own to track (this kernel has no dummy devices): a veth
# pair inside the namespace, removed with it.
ip -n "$P-lb1" link add trk0 type veth peer name trk1
ip -n "$P-lb1" link set trk1 up
ip -n "$P-lb1" link set trk0 up

# VI_6: fd00:213::100 on VRID 52, tracking trk0 on lb1; G1 syncs it with VI_1.
instance6() {
  local prio=$1 track=$2
  cat <<EOB
vrrp_instance VI_6 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority $prio
  advert_int 1
  $track
  virtual_ipaddress {
    fd00:213::100/128
  }
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_6
  }
}
EOB
}

EXTRA_BLOCKS="$(instance6 150 'track_interface { trk0 }')
vrrp_script chk_down_file {
  script \"/usr/bin/test ! -e $WORK/down\"
  interval 1
  weight -60
  fall 1
  rise 1
}" vrrp_conf lb1 150 "track_script { chk_down_file }"
EXTRA_BLOCKS="$(instance6 100 '')" vrrp_conf lb2 100

lbd_start lb2 "$WORK/lb2.conf"
lbd_start lb1 "$WORK/lb1.conf"
wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
wait_log lb1 0 "(VI_6) Entering MASTER STATE" 10
gets lb1 10.213.0.100 && gets lb1 fd00:213::100 || fail "lb1 master without both VIPs"
echo "ok: lb1 master of VI_1 and VI_6"

# The script fails: 150 - 60 = 90 < 100, lb2 preempts; G1 takes VI_6 along.
m1=$(log_mark lb1); m2=$(log_mark lb2)
touch "$WORK/down"
wait_log lb1 "$m1" "chk_down_file.*failed" 5
wait_log lb2 "$m2" "(VI_1) Entering MASTER STATE" 10
wait_log lb2 "$m2" "(VI_6) Entering MASTER STATE" 10
wait_log lb1 "$m1" "(VI_6) Entering BACKUP STATE" 5
gets lb2 10.213.0.100 && gets lb2 fd00:213::100 || fail "lb2 master without both VIPs"
drops lb1 10.213.0.100 || fail "lb1 kept the IPv4 VIP"
echo "ok: failing track script moved the group to lb2"

# The script recovers: lb1 is back at 150 and preempts.
m1=$(log_mark lb1); m2=$(log_mark lb2)
rm "$WORK/down"
wait_log lb1 "$m1" "(VI_1) Entering MASTER STATE" 10
wait_log lb1 "$m1" "(VI_6) Entering MASTER STATE" 10
wait_log lb2 "$m2" "(VI_6) Entering BACKUP STATE" 5
echo "ok: recovered script gave the group back to lb1"

# trk0 down: VI_6 FAULT, and the group puts VI_1 in FAULT too.
m1=$(log_mark lb1); m2=$(log_mark lb2)
ip -n "$P-lb1" link set trk0 down
wait_log lb1 "$m1" "(VI_6) Entering FAULT STATE" 5
wait_log lb1 "$m1" "(VI_1) Entering FAULT STATE" 5
wait_log lb2 "$m2" "(VI_1) Entering MASTER STATE" 5
wait_log lb2 "$m2" "(VI_6) Entering MASTER STATE" 5
drops lb1 10.213.0.100 && drops lb1 fd00:213::100 || fail "lb1 in FAULT with a VIP"
echo "ok: tracked interface down put the group in FAULT"

m1=$(log_mark lb1)
ip -n "$P-lb1" link set trk0 up
wait_log lb1 "$m1" "(VI_1) Entering MASTER STATE" 10
wait_log lb1 "$m1" "(VI_6) Entering MASTER STATE" 10
echo "ok: interface up, lb1 master again"
echo "PASS"
