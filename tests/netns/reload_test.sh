#!/usr/bin/env bash
# A changed config applied by difference (lbctl reload = SIGHUP): services
# and reals that stay keep their ids, counters and flows; a changed service
# gets a new ring and nothing else; a new one is added; a removed one and the
# reals only it used go. Asserted through the pinned maps (lbctl --json) and
# with long-lived connections.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin

# service PROTO PORT REAL[:WEIGHT]...
service() {
  local proto=$1 port=$2; shift 2
  echo "virtual_server 10.213.0.100 $port {"
  echo "  lb_kind DR"
  echo "  protocol $proto"
  for r in "$@"; do echo "  real_server 10.213.0.1${r%%:*} $port { weight ${r#*:} }"; done
  echo "}"
}
{ echo "global_defs { lb_interface eth0 }"
  service TCP 7 1:1 2:1 3:1
  service UDP 7 1:1 2:1 3:1; } >"$WORK/lbd.conf"
lbd_start lb1 "$WORK/lbd.conf"
wait_next_hops lb1 3
client spread --proto tcp --addr 10.213.0.100 --port 7 --count 30 >/dev/null
client spread --proto udp --addr 10.213.0.100 --port 7 --count 30 >/dev/null
coproc SESSION { client session --addr 10.213.0.100 --port 7 --count 12; }
read -r -t 10 conns <&"${SESSION[0]}" || fail "session did not open"

snapshot() {
  lbctl_json lb1 vips >"$WORK/vips.$1"
  lbctl_json lb1 reals >"$WORK/reals.$1"
}
ping_session() {
  echo ping >&"${SESSION[1]}"
  read -r -t 30 replies <&"${SESSION[0]}" || fail "session ping got no answer"
  echo "$replies"
}
reload() {
  local before
  before=$(grep -c "Reload finished" "$WORK/lb1.log" || true)
  lbctl_on lb1 reload >/dev/null
  local deadline=$((SECONDS + 10))
  until (($(grep -c "Reload finished" "$WORK/lb1.log" || true) > before)); do
    ((SECONDS < deadline)) || fail "no reload finished: $(tail -3 "$WORK/lb1.log")"
    sleep 0.1
  done
}

snapshot a
# B: tcp:7 unchanged; udp:7 loses rs3 and weighs rs1 double; tcp:80 is new.
{ echo "global_defs { lb_interface eth0 }"
  service TCP 7 1:1 2:1 3:1
  service UDP 7 1:2 2:1
  service TCP 80 1:1 2:1; } >"$WORK/lbd.conf"
reload
snapshot b
python3 - "$WORK" <<'PY' || fail "reload B changed more than the file did"
import json, sys
w = sys.argv[1]
def load(kind, tag): return json.load(open(f"{w}/{kind}.{tag}"))
va = {v["vip"]: v for v in load("vips", "a")}
vb = {v["vip"]: v for v in load("vips", "b")}
ra = {r["real"]: r for r in load("reals", "a")}
rb = {r["real"]: r for r in load("reals", "b")}
for vip in ("10.213.0.100:tcp:7", "10.213.0.100:udp:7"):
    assert vb[vip]["id"] == va[vip]["id"], f"{vip} changed id"
    assert vb[vip]["counters"]["packets"] >= va[vip]["counters"]["packets"] > 0, f"{vip} counters reset"
assert "10.213.0.100:tcp:80" in vb and vb["10.213.0.100:tcp:80"]["counters"]["packets"] == 0
assert vb["10.213.0.100:tcp:80"]["id"] not in {v["id"] for v in va.values()}
for real in ("10.213.0.11", "10.213.0.12", "10.213.0.13"):   # rs3 still serves tcp:7
    assert rb[real]["index"] == ra[real]["index"], f"{real} changed index"
    assert rb[real]["counters"]["packets"] >= ra[real]["counters"]["packets"] > 0, f"{real} counters reset"
    assert rb[real]["up"]
print("ok reload B: ids, counters and reals kept; tcp:80 added")
PY
grep -q "VS \[10.213.0.100\]:udp:7: real servers changed" "$WORK/lb1.log" || fail "udp:7 ring not rebuilt"
grep -q "VS \[10.213.0.100\]:tcp:7: real servers changed" "$WORK/lb1.log" && fail "unchanged tcp:7 was rebuilt"
grep -q "Adding service \[10.213.0.100\]:tcp:80" "$WORK/lb1.log" || fail "tcp:80 not added"
replies=$(ping_session)
python3 -c 'import json,sys; a=json.loads(sys.argv[1])["conns"]; b=json.loads(sys.argv[2])["replies"]; assert a==b, (a,b)' "$conns" "$replies" \
  || fail "tcp:7 connections moved on a reload that did not touch tcp:7"
out=$(client spread --proto udp --addr 10.213.0.100 --port 7 --count 30)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["errors"]==0 and "rs3" not in r["counts"], r' "$out" \
  || fail "udp:7 after reload: $out"
out=$(client http --addr 10.213.0.100 --port 80 --count 20)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["errors"]==0 and sorted(r["counts"])==["rs1","rs2"], r' "$out" \
  || fail "tcp:80 after reload: $out"
echo "ok traffic after reload B"

# C: tcp:7 goes, and with it rs3, which only it used.
{ echo "global_defs { lb_interface eth0 }"
  service UDP 7 1:2 2:1
  service TCP 80 1:1 2:1; } >"$WORK/lbd.conf"
reload
snapshot c
python3 - "$WORK" <<'PY' || fail "reload C"
import json, sys
w = sys.argv[1]
def load(kind, tag): return json.load(open(f"{w}/{kind}.{tag}"))
vb = {v["vip"]: v for v in load("vips", "b")}
vc = {v["vip"]: v for v in load("vips", "c")}
rc = {r["real"]: r for r in load("reals", "c")}
assert "10.213.0.100:tcp:7" not in vc, "tcp:7 still a service"
for vip in ("10.213.0.100:udp:7", "10.213.0.100:tcp:80"):
    assert vc[vip]["id"] == vb[vip]["id"], f"{vip} changed id"
assert "10.213.0.13" not in rc, "rs3 still in reals"
assert rc["10.213.0.11"]["up"] and rc["10.213.0.12"]["up"]
print("ok reload C: tcp:7 and rs3 gone, the rest kept")
PY
grep -q "Removing real server \[10.213.0.13\]" "$WORK/lb1.log" || fail "rs3 not removed"
echo quit >&"${SESSION[1]}"
wait "$SESSION_PID" || true
echo "PASS reload"
