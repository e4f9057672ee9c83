#!/usr/bin/env bash
# LVS-NAT through lbd, as it is deployed: two networks (scripts/lab.sh up
# --nat), the clients outside, the reals inside with their default route
# through the gateway address VRRP floats with the VIPs (config/lab.conf:
# VI_1 and VI_GW in one sync group). Shows: HTTP through the NAT VIP, the
# real's port differing from the VIP's (8080 -> 80), spread over the reals,
# IPv4 and IPv6; UDP; the reals see the client's own address; replies leave
# from XDP (nat_reply_* counted); and established NAT connections survive a
# hard failure of the master (its links cut, lbd SIGKILLed) with none reset:
# the new master translates replies of flows it never saw.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp --decap --nat

cp config/lab.conf "$WORK/lb1.conf"
cat >>"$WORK/lb1.conf" <<'EOF'
virtual_server 10.213.0.200 53 {
    lb_algo rr
    lb_kind NAT
    protocol UDP
    real_server 10.214.0.21 7 { weight 1 }
    real_server 10.214.0.22 7 { weight 1 }
    real_server 10.214.0.23 7 { weight 1 }
}
EOF
sed -e 's/priority 150/priority 100/' -e 's/state MASTER/state BACKUP/' "$WORK/lb1.conf" >"$WORK/lb2.conf"
lbd_start lb2 "$WORK/lb2.conf"
lbd_start lb1 "$WORK/lb1.conf"
wait_log lb1 0 "(VI_GW) Entering MASTER STATE" 10
wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
wait_next_hops lb1 9

# spread_ok JSON REALS...: no error, and every one of REALS answered.
spread_ok() {
  python3 - "$@" <<'PY' || fail "spread: $1"
import json, sys
r = json.loads(sys.argv[1])
assert r["errors"] == 0, r
assert sorted(r["counts"]) == sorted(sys.argv[2:]), r
PY
}

out=$(client http --addr 10.213.0.200 --port 8080 --count 30)
spread_ok "$out" nat1 nat2 nat3
echo "ok: HTTP to 10.213.0.200:8080 answered by nat1-nat3 on port 80: $out"
out=$(client http --addr fd00:213::200 --port 8080 --count 30)
spread_ok "$out" nat1 nat2 nat3
echo "ok: HTTP to [fd00:213::200]:8080: $out"
out=$(client spread --proto udp --addr 10.213.0.200 --port 53 --count 30)
spread_ok "$out" nat1 nat2 nat3
echo "ok: UDP to 10.213.0.200:53, echoed from port 7: $out"

# Long-lived connections; each real sees the client's address.
exec {sess}> >(ip netns exec "$P-cl" python3 tests/tools/client.py session --addr 10.213.0.200 --port 7 \
                 --count 24 --timeout 5 >"$WORK/session.out")
session_line() { sed -n "${1}p" "$WORK/session.out"; }
deadline=$((SECONDS + 10))
until [[ -n $(session_line 1) ]]; do ((SECONDS < deadline)) || fail "no sessions"; sleep 0.1; done
conns=$(session_line 1)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert None not in r["conns"] and len(set(r["conns"])) == 3, r' \
  "$conns" || fail "sessions did not open on every real: $conns"
for node in nat1 nat2 nat3; do
  peers=$(ip netns exec "$P-$node" ss -Htn state established '( sport = :7 )' | awk '{print $4}')
  [[ $peers == *10.213.0.10:* ]] || fail "$node does not see the client's address: $peers"
done
echo "ok: 24 sessions on nat1-nat3, which see the client as 10.213.0.10: $conns"

# lbctl reals: a NAT real per (address, port, protocol), each with its flows
# (counted every two seconds).
nat_reals_ok() {
  python3 - "$(lbctl_json lb1 reals)" <<'PY'
import json, sys
reals = json.loads(sys.argv[1])
echo = [r for r in reals if r.get("nat_port") == 7 and r.get("nat_protocol") == "tcp"]
http = [r for r in reals if r.get("nat_port") == 80 and r["real"].startswith("10.214.")]
assert len(echo) == 3 and len(http) == 3, reals
assert sum(r["flows"] for r in echo) >= 24, echo
assert all(len(r["services"]) == 1 for r in echo + http), reals
PY
}
deadline=$((SECONDS + 5))
until nat_reals_ok 2>"$WORK/nat_reals.err"; do
  ((SECONDS < deadline)) || { cat "$WORK/nat_reals.err"; fail "lbctl reals does not tell NAT reals apart"; }
  sleep 0.5
done
echo "ok: lbctl reals lists each NAT real per port, the sessions' flows on port 7's"

replies() {
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(sum(1 for x in r["replies"] if x))' "$1"
}
echo ping >&"$sess"
deadline=$((SECONDS + 10))
until [[ -n $(session_line 2) ]]; do ((SECONDS < deadline)) || fail "no ping answer"; sleep 0.1; done
[[ $(replies "$(session_line 2)") == 24 ]] || fail "sessions before the failover: $(session_line 2)"

stats=$(lbctl_json lb1 stats)
python3 -c 'import json,sys; r=json.loads(sys.argv[1])["reasons"]; assert r["nat_reply_redirect"] > 0, r' "$stats" \
  || fail "no NAT reply left through XDP: $stats"
echo "ok: replies rewritten and sent from XDP (nat_reply_redirect)"

# The master dies hard: links cut, lbd SIGKILLed. lb2 takes both instances.
m2=$(log_mark lb2)
node_crash lb1
wait_log lb2 "$m2" "(VI_GW) Entering MASTER STATE" 10
wait_log lb2 "$m2" "(VI_1) Entering MASTER STATE" 10
echo ping >&"$sess"
deadline=$((SECONDS + 20))
until [[ -n $(session_line 3) ]]; do ((SECONDS < deadline)) || fail "no ping answer after the failover"; sleep 0.1; done
[[ $(replies "$(session_line 3)") == 24 ]] \
  || fail "connections broken by the failover: $(session_line 3) (before: $conns)"
python3 -c 'import json,sys; a=json.loads(sys.argv[1])["replies"]; b=json.loads(sys.argv[2])["conns"]
assert [x.split()[0] for x in a] == b, (a, b)' "$(session_line 3)" "$conns" \
  || fail "a connection changed real: $(session_line 3) (before: $conns)"
echo "ok: all 24 NAT connections carried on through lb2 on their own reals: $(session_line 3)"
echo quit >&"$sess"
exec {sess}>&-

out=$(client http --addr 10.213.0.200 --port 8080 --count 30)
spread_ok "$out" nat1 nat2 nat3
echo "ok: new connections through lb2: $out"
