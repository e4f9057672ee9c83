#!/usr/bin/env bash
# Health checks with real servers and real traffic: killing rs2's server
# takes it out of the VIP within delay_loop + retry x delay_before_retry
# (plus a margin), its flows through the VIP are dropped, and client traffic
# then goes to rs1 and rs3 without an error; bringing it back puts it back;
# with every real down the sorry server (rs4) answers, and the reals take
# over again when they return.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/netns/lib.sh
lab_test_begin

# delay_loop 1, retry 1, delay_before_retry 1: a real that refuses is
# down at most 1 s (until its next check) + 1 s (one retry) after it died.
DETECT_S=2
MARGIN_S=1
cat >"$WORK/lbd.conf" <<'EOF'
global_defs {
  lb_interface eth0
}
virtual_server 10.213.0.100 80 {
  delay_loop 1
  lb_algo wrr
  lb_kind DR
  protocol TCP
  sorry_server 10.213.0.14 80
  real_server 10.213.0.11 80 {
    weight 1
    HTTP_GET {
      url {
        path /
        status_code 200
      }
      connect_timeout 1
      retry 1
      delay_before_retry 1
    }
  }
  real_server 10.213.0.12 80 {
    weight 1
    HTTP_GET {
      url {
        path /
        status_code 200
      }
      connect_timeout 1
      retry 1
      delay_before_retry 1
    }
  }
  real_server 10.213.0.13 80 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 1
      delay_before_retry 1
    }
  }
}
EOF

RUN_DIR=/run/$P-lab
kill_real() { kill -KILL "$(cat "$RUN_DIR/$1.pid")"; }
revive_reals() { scripts/lab.sh up >/dev/null; }

# http_spread N: N requests through the VIP; prints the client's JSON.
http_spread() { client http --addr 10.213.0.100 --port 80 --count "$1"; }
expect() {  # expect JSON PYTHON-CONDITION WHAT
  python3 -c "import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if ($2) else 1)" "$1" || fail "$3: $1"
}

lbd_start lb1 "$WORK/lbd.conf"
wait_next_hops lb1 3
wait_log lb1 0 "Health checkers started" 5
out=$(http_spread 30)
expect "$out" 'r["errors"] == 0 and sorted(r["counts"]) == ["rs1", "rs2", "rs3"]' "all three reals serve"
echo "ok: three reals serve: $out"

# Flows through rs2 exist before it dies.
rs2_index=$(lbctl_json lb1 reals | python3 -c \
  'import json,sys; print(next(r["index"] for r in json.load(sys.stdin) if r["real"] == "10.213.0.12"))')
flows_of() {  # the conntrack entries pointing at real index $1
  nsenter -t "$(cat "$WORK/lb1.pid")" -m bpftool -j map dump pinned "/sys/fs/bpf/lbd/$P-lb1/conntrack4" |
    python3 -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e["formatted"]["value"]["real"] == int(sys.argv[1])))' "$1"
}
(($(flows_of "$rs2_index") > 0)) || fail "no flow through rs2 before it died"

m=$(log_mark lb1)
killed_at=$SECONDS
kill_real rs2
wait_log lb1 "$m" "Removing service \[10.213.0.12\]:tcp:80 from VS \[10.213.0.100\]:tcp:80" $((DETECT_S + MARGIN_S + 1))
took=$((SECONDS - killed_at))
((took <= DETECT_S + MARGIN_S)) || fail "rs2 taken out after ${took} s"
wait_log lb1 "$m" "HTTP_GET on service \[10.213.0.12\]:tcp:80 failed" 1
# Its entries go with the next count of the flow tables, which its removal
# starts at once.
deadline=$((SECONDS + 3))
until (($(flows_of "$rs2_index") == 0)); do
  ((SECONDS < deadline)) || fail "$(flows_of "$rs2_index") flows still pinned to the dead rs2"
  sleep 0.1
done
out=$(http_spread 60)
expect "$out" 'r["errors"] == 0 and sorted(r["counts"]) == ["rs1", "rs3"]' "rs1 and rs3 serve alone"
echo "ok: rs2 killed, out after <= ${took} s, its flows dropped, traffic on rs1 and rs3 without errors: $out"

m=$(log_mark lb1)
revive_reals
wait_log lb1 "$m" "Adding service \[10.213.0.12\]:tcp:80 to VS \[10.213.0.100\]:tcp:80" $((DETECT_S + MARGIN_S))
out=$(http_spread 30)
expect "$out" 'r["errors"] == 0 and sorted(r["counts"]) == ["rs1", "rs2", "rs3"]' "rs2 back"
echo "ok: rs2 back: $out"

# Every real down: the quorum is lost and the sorry server answers.
m=$(log_mark lb1)
for rs in rs1 rs2 rs3; do kill_real "$rs"; done
wait_log lb1 "$m" "Lost quorum 1-0=1 > 0 for VS \[10.213.0.100\]:tcp:80" $((DETECT_S + MARGIN_S + 1))
wait_log lb1 "$m" "TCP connection to \[10.213.0.13\]:tcp:80 failed" 1
out=$(http_spread 20)
expect "$out" 'r["errors"] == 0 and r["counts"] == {"rs4": 20}' "the sorry server answers"
echo "ok: all reals down, sorry server rs4 answers: $out"

m=$(log_mark lb1)
revive_reals
wait_log lb1 "$m" "Gained quorum" $((DETECT_S + MARGIN_S))
for n in 1 2 3; do wait_log lb1 "$m" "Adding service \[10.213.0.1$n\]:tcp:80" $((DETECT_S + MARGIN_S)); done
out=$(http_spread 30)
expect "$out" 'r["errors"] == 0 and sorted(r["counts"]) == ["rs1", "rs2", "rs3"]' "reals back from the sorry server"
echo "ok: reals back, sorry server out: $out"
echo "PASS"
