#!/usr/bin/env bash
# keepalived's operators' habits on lbd: SIGUSR1 and SIGUSR2 do not kill it
# (no failover, not even a transition) but write the running data and the
# statistics to /run/lbd/NAME.data and .stats, which `lbctl dump` prints
# too; `--signum` names the signals; `-d` logs the data once ready; every
# binary has `--version` from PROJECT_VERSION.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin --vrrp

version=$(sed -n 's/^project(lbd VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
for bin in lbd lbctl lbd-decap; do
  [[ $("$BUILD/$bin" --version) == "$bin $version" ]] || fail "$bin --version: $("$BUILD/$bin" --version)"
done
for pair in STOP:15 RELOAD:1 DATA:10 STATS:12; do
  [[ $("$BUILD/lbd" --signum="${pair%:*}") == "${pair#*:}" ]] || fail "--signum=${pair%:*} is not ${pair#*:}"
done
"$BUILD/lbd" --signum=JSON >/dev/null 2>&1 && fail "--signum=JSON accepted"
echo "ok --version ($version) and --signum"

vrrp_conf lb1 150
lbd_start lb1 "$WORK/lb1.conf"
wait_log lb1 0 "(VI_1) Entering MASTER STATE" 10
pid=$(cat "$WORK/lb1.pid")
DATA=/run/lbd/$P-lb1.data STATS=/run/lbd/$P-lb1.stats
rm -f "$DATA" "$STATS"

# await_file FILE: until FILE exists (lbd renames it into place whole).
await_file() {
  local deadline=$((SECONDS + 5))
  until [[ -s $1 ]]; do ((SECONDS < deadline)) || fail "no $1"; sleep 0.05; done
}

mark=$(log_mark lb1)
kill -USR1 "$pid"
await_file "$DATA"
kill -USR2 "$pid"
await_file "$STATS"
kill -0 "$pid" 2>/dev/null || fail "lbd died of SIGUSR1 or SIGUSR2"
wait_log lb1 "$mark" "Printing data to $DATA on signal"
wait_log lb1 "$mark" "Printing statistics to $STATS on signal"
no_log lb1 "$mark" "Entering\|Transition"
[[ $(grep -c "Entering MASTER STATE" "$WORK/lb1.log") == 1 ]] || fail "a transition around the signals"
for want in "VRRP Instance = VI_1" "State = MASTER since" "Virtual Router ID = 51" "     10.213.0.100/32" \
            "Virtual server = \[10.213.0.100\]:tcp:7" "Forwarding = DR, active here" \
            "\[10.213.0.11\]:tcp:7 = up, weight 1" "Real servers = 3, 3 serving"; do
  grep -q -- "$want" "$DATA" || { cat "$DATA"; fail "the data has no '$want'"; }
done
sent=$(awk '$1 == "Adverts" && $2 == "sent" {print $4}' "$STATS")
((sent > 0)) || { cat "$STATS"; fail "the statistics count no advert sent"; }
grep -q "Entries = [0-9]* of [1-9][0-9]*," "$STATS" || fail "the statistics have no connection table"
echo "ok SIGUSR1 and SIGUSR2: lbd alive, no transition, $DATA and $STATS written"

# lbctl dump: the same text (but the first line's time) and the same sections.
lbctl_on lb1 dump >"$WORK/data"
diff <(tail -n +2 "$DATA") <(tail -n +2 "$WORK/data") || fail "lbctl dump differs from $DATA"
head -1 "$WORK/data" | grep -q "^lbd $version data, instance $P-lb1, pid $pid, at " || fail "header: $(head -1 "$WORK/data")"
lbctl_on lb1 dump stats >"$WORK/stats"
diff <(grep "^------<\| = " "$STATS" | cut -d= -f1) <(grep "^------<\| = " "$WORK/stats" | cut -d= -f1) ||
  fail "lbctl dump stats has other lines than $STATS"
lbctl_on lb1 dump nonsense >/dev/null 2>&1 && fail "lbctl dump nonsense accepted"
echo "ok lbctl dump and lbctl dump stats: what the signals wrote"

# -d: the data in the log once ready, lb2 as backup.
: >"$WORK/lb2.log"
vrrp_conf lb2 100
ip netns exec "$P-lb2" sh -c "$LBD_WITH_LAB_BPFFS" "/run/$P-lab/bpffs" \
  "$BUILD/lbd" -n -l -d -f "$WORK/lb2.conf" --instance "$P-lb2" >"$WORK/lb2.log" 2>&1 &
echo $! >"$WORK/lb2.pid"
disown
wait_for_line "$WORK/lb2.log" "lbd ready" 15
wait_for_line "$WORK/lb2.log" "Real servers = 3, 3 serving" 5
grep -q "lbd $version data, instance $P-lb2" "$WORK/lb2.log" || fail "-d logged no data"
echo "ok -d: the running data in the log"

# --cleanup takes the dumps away with the lock and the socket.
lbd_stop lb1
lbd_cleanup lb1
[[ ! -e $DATA && ! -e $STATS ]] || fail "--cleanup left the dumps"
echo "PASS signals"
