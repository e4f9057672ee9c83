#!/usr/bin/env bash
# The daemon in the lab with real traffic: TCP and UDP connections from the
# client to the VIP spread over three reals in DR and TUN modes, IPv4 and
# IPv6; established connections keep their real when a fourth real is added;
# removing a real moves only its flows.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --decap

# write_conf MODE REALS...: one TCP and one UDP service on port 7 per family.
write_conf() {
  local mode=$1; shift
  {
    echo "global_defs { lb_interface eth0 }"
    for vip in 10.213.0.100 fd00:213::100; do
      for proto in TCP UDP; do
        echo "virtual_server $vip 7 {"
        echo "  lb_algo wrr"
        echo "  lb_kind $mode"
        echo "  protocol $proto"
        for n in "$@"; do
          if [[ $vip == *:* ]]; then addr=fd00:213::1$n; else addr=10.213.0.1$n; fi
          echo "  real_server $addr 7 { weight 1 }"
        done
        echo "}"
      done
    done
  } >"$WORK/lbd.conf"
}

# spread PROTO VIP: 60 fresh flows; every one answered, every real used.
spread() {
  local proto=$1 vip=$2 out
  out=$(client spread --proto "$proto" --addr "$vip" --port 7 --count 60)
  python3 - "$out" "$proto $vip" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); what = sys.argv[2]
counts = r["counts"]
assert r["errors"] == 0, f"{what}: {r['errors']} failed flows: {r}"
assert sorted(counts) == ["rs1", "rs2", "rs3"], f"{what}: reals used {counts}"
assert min(counts.values()) >= 5, f"{what}: uneven spread {counts}"
print(f"ok {what}: {counts}")
PY
}

for mode in DR TUN; do
  write_conf "$mode" 1 2 3
  if [[ $mode == DR ]]; then lbd_start lb1 "$WORK/lbd.conf"; else lbd_reload lb1; fi
  wait_next_hops lb1 6
  for vip in 10.213.0.100 fd00:213::100; do
    spread tcp "$vip"
    spread udp "$vip"
  done
  modes=$(lbctl_json lb1 vips | python3 -c 'import json,sys; print(" ".join(sorted({v["mode"] for v in json.load(sys.stdin)})))')
  [[ $modes == "$mode" ]] || fail "vips report mode '$modes', want $mode"
done

# Long-lived connections across ring changes (TUN mode still in force).
coproc SESSION { client session --addr 10.213.0.100 --port 7 --count 24; }
read -r -t 10 conns <&"${SESSION[0]}" || fail "session did not open"
python3 -c 'import json,sys; c=json.loads(sys.argv[1])["conns"]; assert None not in c, c; assert len(set(c)) == 3, c' "$conns" \
  || fail "session connections: $conns"

ping_session() {
  echo ping >&"${SESSION[1]}"
  read -r -t 60 replies <&"${SESSION[0]}" || fail "session ping got no answer"
  echo "$replies"
}

write_conf TUN 1 2 3 4
lbd_reload lb1
wait_next_hops lb1 8
replies=$(ping_session)
python3 - "$conns" "$replies" <<'PY' || fail "a connection changed real when rs4 was added"
import json, sys
before = json.loads(sys.argv[1])["conns"]; after = json.loads(sys.argv[2])["replies"]
assert before == after, f"before {before}\nafter  {after}"
print(f"ok adding rs4: all {len(before)} connections kept their real")
PY

write_conf TUN 1 3 4
lbd_reload lb1
replies=$(ping_session)
python3 - "$conns" "$replies" <<'PY' || fail "removing rs2 disturbed other flows"
import json, sys
before = json.loads(sys.argv[1])["conns"]; after = json.loads(sys.argv[2])["replies"]
for b, a in zip(before, after):
    if b == "rs2":
        assert a != "rs2", f"a flow still reached the removed rs2"
    else:
        assert a == b, f"a flow on {b} moved to {a}"
print(f"ok removing rs2: {sum(b != 'rs2' for b in before)} other connections kept their real")
PY
echo quit >&"${SESSION[1]}"
wait "$SESSION_PID" || true

out=$(client spread --proto tcp --addr 10.213.0.100 --port 7 --count 30)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["errors"]==0 and "rs2" not in r["counts"], r' "$out" \
  || fail "new flows after removing rs2: $out"

drops=$(lbctl_json lb1 stats | python3 -c 'import json,sys; r=json.load(sys.stdin)["reasons"]; print(r["drop_no_real"]+r["drop_adjust"])')
[[ $drops == 0 ]] || fail "unexpected drops: $drops"
echo "PASS forwarding"
