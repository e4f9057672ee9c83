#!/usr/bin/env bash
# lbd runs the keepalived.conf files of tests/config/lab/ (real-world shapes
# with the lab's addresses): each passes -t, each started daemon shows exactly
# the virtual services (with their lb_kind) and reals its file announces in
# "! expect vip NAME MODE REAL..." lines, and client traffic to each service
# is answered by its reals only, once the file's VRRP instances are master.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --decap

# traffic VIP_NAME REAL...: 20 fresh flows to the service, answered by its reals.
traffic() {
  local name=$1; shift
  local addr=${name%:*:*} rest=${name#"${name%:*:*}":}
  local proto=${rest%%:*} port=${rest##*:} out
  # An IPv6 service is named [ADDR]:PROTO:PORT.
  addr=${addr#[} addr=${addr%]}
  if [[ $port == 80 ]]; then
    out=$(client http --addr "$addr" --port 80 --count 20)
  else
    out=$(client spread --proto "$proto" --addr "$addr" --port "$port" --count 20)
  fi
  python3 - "$out" "$name" "$@" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); name = sys.argv[2]
allowed = {"rs" + a[-1] for a in sys.argv[3:]}  # 10.213.0.1N, fd00:213::1N -> rsN
assert r["errors"] == 0, f"{name}: {r}"
assert set(r["counts"]) <= allowed, f"{name}: answered by {r['counts']}, expected only {allowed}"
print(f"  ok traffic {name}: {r['counts']}")
PY
}

for conf in tests/config/lab/*.conf; do
  echo "== $conf"
  "$BUILD/lbd" -t -f "$conf" 2>"$WORK/t.err" || fail "$conf: -t failed: $(cat "$WORK/t.err")"
  lbd_start lb1 "$conf"
  # Alone on the link, each instance is master after Master_Down_Interval:
  # only then are its VIPs on eth0 and served.
  for vi in $(awk '$1 == "vrrp_instance" {print $2}' "$conf"); do
    wait_log lb1 0 "($vi) Entering MASTER STATE" 15
  done
  grep "^! expect vip" "$conf" | cut -d' ' -f4- >"$WORK/expect"
  [[ -s $WORK/expect ]] || fail "$conf has no expect lines"
  reals=$(cut -d' ' -f3- "$WORK/expect" | tr ' ' '\n' | sort -u | grep -c .)
  wait_next_hops lb1 "$reals"
  lbctl_json lb1 vips >"$WORK/vips.json"
  lbctl_json lb1 reals >"$WORK/reals.json"
  python3 - "$WORK" <<'PY' || fail "$conf: the maps differ from the file"
import json, sys
w = sys.argv[1]
want_vips, want_reals = {}, set()
for line in open(f"{w}/expect"):
    name, mode, *reals = line.split()
    want_vips[name] = mode
    want_reals |= set(reals)
got_vips = {v["vip"]: v["mode"] for v in json.load(open(f"{w}/vips.json"))}
got_reals = {r["real"] for r in json.load(open(f"{w}/reals.json")) if r["up"]}
assert got_vips == want_vips, f"vips {got_vips} != {want_vips}"
assert got_reals == want_reals, f"reals {sorted(got_reals)} != {sorted(want_reals)}"
print(f"  ok maps: {len(got_vips)} services, {len(got_reals)} reals")
PY
  while read -r name mode reals_of; do
    # shellcheck disable=SC2086
    traffic "$name" $reals_of
  done <"$WORK/expect"
  lbd_stop lb1
done
echo "PASS corpus"
