#!/usr/bin/env bash
# lbd and Debian's keepalived in one VRRP instance, VRRPv3 and VRRPv2 with
# PASS authentication: keepalived master + lbd backup, then lbd master +
# keepalived backup; each takes over when the other is SIGKILLed; tcpdump -v
# decodes lbd's adverts as valid VRRP (checksums included).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

# ka_conf PRIORITY VERSION: keepalived's config for lb2, the same instance.
ka_conf() {
  local prio=$1 version=$2
  {
    echo "global_defs {"
    echo "  router_id ka_lb2"
    echo "  vrrp_version $version"
    echo "  vrrp_garp_master_delay 1"
    echo "}"
    echo "vrrp_instance VI_1 {"
    echo "  state BACKUP"
    echo "  interface eth0"
    echo "  virtual_router_id 51"
    echo "  priority $prio"
    echo "  advert_int 1"
    if ((version == 2)); then
      echo "  authentication {"
      echo "    auth_type PASS"
      echo "    auth_pass secret1"
      echo "  }"
    fi
    echo "  virtual_ipaddress {"
    echo "    10.213.0.100/32"
    echo "  }"
    echo "}"
  } >"$WORK/ka.conf"
}

# lbd_conf PRIORITY VERSION: lbd's config for lb1.
lbd_conf() {
  local prio=$1 version=$2
  if ((version == 2)); then
    VRRP_VERSION=2 vrrp_conf lb1 "$prio" "authentication {" "auth_type PASS" "auth_pass secret1" "}"
  else
    VRRP_VERSION=3 vrrp_conf lb1 "$prio"
  fi
}

# A SIGKILLed VRRP daemon leaves its VIP behind (issue 6's fencing is about
# that); the next round starts clean.
drop_stale_vip() { ip -n "$P-$1" addr del 10.213.0.100/32 dev eth0 2>/dev/null || true; }

# decoded_adverts VERSION PRIORITY: three of lbd's adverts as tcpdump -v
# reads them on the client.
check_decoded() {
  local version=$1 prio=$2 out
  out=$(ip netns exec "$P-cl" timeout 10 tcpdump -n -v -c 3 -i eth0 "ip proto 112 and src host 10.213.0.2" 2>/dev/null)
  grep -q "VRRPv$version, Advertisement, vrid 51, prio $prio" <<<"$out" \
    || fail "tcpdump does not read lbd's adverts as VRRPv$version: $out"
  ! grep -qi "bad" <<<"$out" || fail "tcpdump reports a bad field: $out"
  [[ $(echo "$out" | grep -c "VRRPv$version, Advertisement") == 3 ]] || fail "not three adverts: $out"
  if ((version == 2)); then
    grep -q 'auth "secret1' <<<"$out" || fail "no PASS authentication in: $out"
  fi
  echo "ok: tcpdump -v decodes lbd's VRRPv$version adverts: $(echo "$out" | grep -m1 VRRP | sed 's/^ *//')"
}

for version in 3 2; do
  # keepalived master, lbd backup; keepalived dies, lbd takes over.
  ka_conf 150 "$version"
  lbd_conf 100 "$version"
  keepalived_start lb2 "$WORK/ka.conf"
  wait_for_line "$WORK/lb2.log" "(VI_1) Entering MASTER STATE" 10
  lbd_start lb1 "$WORK/lb1.conf"
  wait_log lb1 0 "(VI_1) Entering BACKUP STATE" 10
  m1=$(log_mark lb1)
  sleep_until=$((SECONDS + 4))
  # Backup for more than a Master_Down_Interval: keepalived's adverts are accepted.
  while ((SECONDS < sleep_until)); do no_log lb1 "$m1" "Entering MASTER STATE"; sleep 0.5; done
  holds lb2 10.213.0.100 || fail "keepalived master without the VIP"
  echo "ok: v$version keepalived master, lbd backup"
  keepalived_kill lb2
  wait_log lb1 "$m1" "(VI_1) Entering MASTER STATE" 6
  gets lb1 10.213.0.100 || fail "lbd took over without the VIP"
  echo "ok: v$version keepalived SIGKILLed, lbd took over"
  lbd_stop lb1
  drop_stale_vip lb2

  # lbd master, keepalived backup; lbd dies, keepalived takes over.
  ka_conf 100 "$version"
  lbd_conf 150 "$version"
  lbd_start lb1 "$WORK/lb1.conf"
  wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
  keepalived_start lb2 "$WORK/ka.conf"
  wait_for_line "$WORK/lb2.log" "(VI_1) Entering BACKUP STATE" 10
  check_decoded "$version" 150
  ! grep -q "Entering MASTER STATE" "$WORK/lb2.log" || fail "keepalived did not accept lbd's adverts"
  grep -qi "bad\|invalid\|mismatch" "$WORK/lb2.log" && fail "keepalived complains: $(grep -i 'bad\|invalid\|mismatch' "$WORK/lb2.log")"
  echo "ok: v$version lbd master, keepalived backup"
  lbd_kill lb1
  wait_for_line "$WORK/lb2.log" "(VI_1) Entering MASTER STATE" 6
  gets lb2 10.213.0.100 || fail "keepalived took over without the VIP"
  echo "ok: v$version lbd SIGKILLed, keepalived took over"
  keepalived_stop lb2
  drop_stale_vip lb1
  drop_stale_vip lb2
done
echo "PASS"
