#!/usr/bin/env bash
# lb_algo lc and wlc by active connections: rs1 holds 20 long connections
# (made while rs2 and rs3 were drained); with all three back, 30 new
# connections go to rs2 and rs3 only, the connections on rs1 go on; then
# with wlc and rs1's weight raised to 40, most of 30 new long connections go
# to rs1 (20 / 40 is less than one connection for weight 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

vrrp_conf lb1 150
sed -i 's/lb_algo wrr/lb_algo lc/' "$WORK/lb1.conf"
lbd_start lb1 "$WORK/lb1.conf"
wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
wait_next_hops lb1 3

spread() { client spread --addr 10.213.0.100 --port 7 --count "$1" --parallel 1; }
# only JSON REALS...: no errors, and only REALS answered.
only() {
  python3 - "$@" <<'PY' || fail "expected only ${*:2}: $1"
import json, sys
r = json.loads(sys.argv[1])
assert r["errors"] == 0 and set(r["counts"]) <= set(sys.argv[2:]) and r["counts"], r
PY
}

lbctl_json lb1 drain 10.213.0.12 >/dev/null
lbctl_json lb1 drain 10.213.0.13 >/dev/null
exec {sess}> >(exec ip netns exec "$P-cl" python3 tests/tools/client.py session --addr 10.213.0.100 --port 7 \
                 --count 20 --timeout 5 >"$WORK/session.out")
conns=$(wait_session_line 1)
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["conns"] == ["rs1"] * 20, r' "$conns" \
  || fail "the 20 connections are not all on rs1: $conns"
lbctl_json lb1 undrain 10.213.0.12 >/dev/null
lbctl_json lb1 undrain 10.213.0.13 >/dev/null
echo "ok: 20 long connections on rs1"

out=$(spread 30)
only "$out" rs2 rs3
echo "ok: lc sends 30 new connections to rs2 and rs3, not to rs1 with its 20: $out"

echo ping >&"$sess"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["replies"] == ["rs1"] * 20, r' \
  "$(wait_session_line 2)" || fail "connections on rs1 broken: $(wait_session_line 2)"
echo "ok: the 20 connections on rs1 go on"

# wlc: rs1 at weight 40 has 20/40 active flows per weight; 30 more long
# connections, opened one after another, go where that ratio is least: to
# rs2 and rs3 until each has one, then mostly to rs1 (lc would give it none).
sed -i -e 's/lb_algo lc/lb_algo wlc/' -e 's/real_server 10.213.0.11 7 { weight 1 }/real_server 10.213.0.11 7 { weight 40 }/' \
  "$WORK/lb1.conf"
lbd_reload lb1
exec {morefd}> >(exec ip netns exec "$P-cl" python3 tests/tools/client.py session --addr 10.213.0.100 --port 7 \
                 --count 30 --parallel 1 --timeout 5 >"$WORK/more.out")
deadline=$((SECONDS + 30))
until [[ -s $WORK/more.out ]]; do ((SECONDS < deadline)) || fail "no second sessions"; sleep 0.1; done
more=$(head -1 "$WORK/more.out")
python3 -c 'import json,sys; c=json.loads(sys.argv[1])["conns"]; assert None not in c and c.count("rs1") >= 15, c' \
  "$more" || fail "wlc does not weigh rs1's 40: $more"
echo "ok: wlc with rs1 at weight 40 gives it most of 30 new long connections despite its 20: $more"
echo quit >&"$morefd"
exec {morefd}>&-
echo quit >&"$sess"
exec {sess}>&-
