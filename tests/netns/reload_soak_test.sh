#!/usr/bin/env bash
# 100 SIGHUPs alternating two configs under traffic: established
# connections through a service both configs share are never reset (each
# still answers from the same real), new connections keep being answered,
# and the daemon ends with the descriptors it had and about the memory it
# had (no leak across reloads).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin

RELOADS=100
http_check='HTTP_GET {
      url {
        path /
      }
      connect_timeout 1
    }'
# write_conf A|B: tcp:7 the same in both; tcp:80 loses rs3 and reweighs in
# B, with checkers; udp:7 only in B.
write_conf() {
  {
    echo "global_defs { lb_interface eth0 }"
    echo "virtual_server 10.213.0.100 7 { lb_kind DR
  protocol TCP"
    for n in 1 2 3; do echo "  real_server 10.213.0.1$n 7 { weight 1 }"; done
    echo "}"
    echo "virtual_server 10.213.0.100 80 { lb_kind DR
  protocol TCP
  delay_loop 1"
    if [[ $1 == A ]]; then
      for n in 1 2 3; do echo "  real_server 10.213.0.1$n 80 { weight 1
    $http_check
  }"; done
    else
      for n in 1 2; do echo "  real_server 10.213.0.1$n 80 { weight $n
    $http_check
  }"; done
    fi
    echo "}"
    if [[ $1 == B ]]; then
      echo "virtual_server 10.213.0.100 7 { lb_kind DR
  protocol UDP"
      for n in 1 2 3; do echo "  real_server 10.213.0.1$n 7 { weight 1 }"; done
      echo "}"
    fi
  } >"$WORK/$1.conf"
}
write_conf A
write_conf B
cp "$WORK/A.conf" "$WORK/lbd.conf"
lbd_start lb1 "$WORK/lbd.conf"
wait_next_hops lb1 3
pid=$(cat "$WORK/lb1.pid")

# Long-lived connections through tcp:7.
exec {to}> >(ip netns exec "$P-cl" python3 tests/tools/client.py session --addr 10.213.0.100 --port 7 --count 12 \
               --timeout 3 >"$WORK/session.out")
session_line() { sed -n "${1}p" "$WORK/session.out"; }
deadline=$((SECONDS + 5))
until [[ -n $(session_line 1) ]]; do ((SECONDS < deadline)) || fail "no sessions"; sleep 0.1; done
conns=$(session_line 1)
python3 -c 'import json,sys; c=json.loads(sys.argv[1])["conns"]; sys.exit(0 if None not in c else 1)' "$conns" \
  || fail "sessions did not all open: $conns"

# Descriptors and memory once a first round of reloads has warmed things up.
fds() { ls "/proc/$pid/fd" | wc -l; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
reload_to() { cp "$WORK/$1.conf" "$WORK/lbd.conf"; lbd_reload lb1; }
for i in $(seq 10); do if ((i % 2)); then reload_to B; else reload_to A; fi; done
fds_before=$(fds)
rss_before=$(rss_kib)

pings=0 errors=0 line=2
for i in $(seq "$RELOADS"); do
  if ((i % 2)); then reload_to B; else reload_to A; fi
  if ((i % 10 == 0)); then
    # The established connections answer from the real they had.
    echo ping >&"$to"
    deadline=$((SECONDS + 5))
    until [[ -n $(session_line "$line") ]]; do ((SECONDS < deadline)) || fail "no session reply"; sleep 0.05; done
    python3 - "$conns" "$(session_line "$line")" <<'PY' || fail "an established connection broke at reload $i"
import json, sys
conns = json.loads(sys.argv[1])["conns"]
replies = json.loads(sys.argv[2])["replies"]
sys.exit(0 if replies == conns else 1)
PY
    line=$((line + 1))
    pings=$((pings + 1))
    # New connections are answered, whichever config is in.
    out=$(client spread --proto tcp --addr 10.213.0.100 --port 7 --count 20)
    e=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["errors"])' "$out")
    errors=$((errors + e))
  fi
done
echo quit >&"$to"
exec {to}>&-
((errors == 0)) || fail "$errors new connections failed during the reloads"
grep -q "Reload failed" "$WORK/lb1.log" && fail "a reload failed: $(grep 'Reload failed' "$WORK/lb1.log" | head -1)"

# The checkers' threads and sockets of replaced engines are gone: same count.
# (A check in flight holds one socket; a few tries let it finish.)
for _ in $(seq 20); do (($(fds) == fds_before)) && break; sleep 0.1; done
fds_after=$(fds)
((fds_after == fds_before)) || fail "descriptors: $fds_before before, $fds_after after $RELOADS reloads: $(ls -l /proc/$pid/fd)"
rss_after=$(rss_kib)
growth=$((rss_after - rss_before))
((growth < 2048)) || fail "memory grew by $growth KiB over $RELOADS reloads ($rss_before -> $rss_after)"
echo "ok: $RELOADS reloads, $pings checks of 12 established connections, 0 resets, $((pings * 20)) new connections without an error"
echo "ok: descriptors $fds_before -> $fds_after, resident memory $rss_before -> $rss_after KiB"
echo "PASS"
