#!/usr/bin/env bash
# Fragmented datagrams in the lab: UDP datagrams of 3000 bytes from the
# client (MTU 1500, so its kernel sends each in three fragments) to a DR
# service, IPv4 and IPv6; every one is answered whole by a real, which could
# only reassemble it if every fragment reached it. A lone later fragment to
# the VIP is dropped and counted, not answered by the LB's kernel.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin

{
  echo "global_defs { lb_interface eth0 }"
  for vip in 10.213.0.100 fd00:213::100; do
    echo "virtual_server $vip 7 {"
    echo "  lb_algo wrr"
    echo "  lb_kind DR"
    echo "  protocol UDP"
    for n in 1 2 3; do
      if [[ $vip == *:* ]]; then addr=fd00:213::1$n; else addr=10.213.0.1$n; fi
      echo "  real_server $addr 7 { weight 1 }"
    done
    echo "}"
  done
} >"$WORK/lbd.conf"
lbd_start lb1 "$WORK/lbd.conf"
wait_next_hops lb1 6

reasons() { lbctl_json lb1 stats | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["reasons"]))'; }
before=$(reasons)

# big VIP: 20 datagrams from fresh ports, each answered "NAME payload".
big() {
  ip netns exec "$P-cl" timeout 60 python3 - "$1" <<'PY'
import os, socket, sys
vip = sys.argv[1]
family = socket.AF_INET6 if ":" in vip else socket.AF_INET
names = {}
for i in range(20):
    payload = f"{i:04d}".encode() + os.urandom(1498).hex().encode()  # 3000 bytes
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.connect((vip, 7))
        s.send(payload)
        reply = s.recv(65535)
    name, _, echoed = reply.partition(b" ")
    assert echoed == payload, f"{vip}: datagram {i}: reply of {len(reply)} bytes does not echo it"
    names[name.decode()] = names.get(name.decode(), 0) + 1
assert len(names) > 1, f"{vip}: all datagrams on one real: {names}"
print(f"ok {vip}: 20 fragmented datagrams answered whole by {names}")
PY
}
big 10.213.0.100 || fail "fragmented IPv4 datagrams"
big fd00:213::100 || fail "fragmented IPv6 datagrams"

# A later fragment alone (offset 1480, no first): dropped, never answered.
ip netns exec "$P-cl" timeout 10 hping3 -q -2 -p 7 -g 1480 -c 1 -d 200 10.213.0.100 >/dev/null 2>&1 || true
after=$(reasons)
python3 - "$before" "$after" <<'PY' || fail "fragment counters"
import json, sys
b, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
d = {k: a[k] - b.get(k, 0) for k in a}
# Three fragments per datagram, 40 datagrams, forwarded on the ingress port.
assert d["fwd_tx"] >= 120, f"fwd_tx grew by {d['fwd_tx']}, want >= 120"
assert d["drop_fragment_unknown"] == 1, f"drop_fragment_unknown grew by {d['drop_fragment_unknown']}"
assert d["pass_fragment"] == 0, f"pass_fragment grew by {d['pass_fragment']}"
print(f"ok counters: fwd_tx +{d['fwd_tx']}, drop_fragment_unknown +1, pass_fragment +0")
PY
echo "PASS fragments"
