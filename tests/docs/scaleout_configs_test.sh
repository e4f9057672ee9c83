#!/usr/bin/env bash
# The scale-out examples of config/scale-out/ are what their programs accept:
# lbd -t for lbd.conf, BIRD's parser (bird -p) for the BIRD files and
# vtysh's dry run for the FRR files. The lab runs bird-node.conf and
# frr-node.conf (netns.scaleout*); this checks the router files too.
set -euo pipefail
cd "$(dirname "$0")/../.."
LBD=${LBD_BUILD_DIR:-build}/lbd
dir=config/scale-out
"$LBD" -t -f "$dir/lbd.conf" 2>/dev/null || { "$LBD" -t -f "$dir/lbd.conf"; exit 1; }
missing=()
command -v bird >/dev/null || missing+=(bird2)
command -v vtysh >/dev/null || missing+=(frr)
((${#missing[@]} == 0)) || { echo "SKIP: ${missing[*]} not installed (scripts/deps.sh)"; exit 77; }
for f in "$dir"/bird-*.conf; do bird -p -c "$f" || { echo "FAIL: $f"; exit 1; }; done
for f in "$dir"/frr-*.conf; do vtysh -C -f "$f" || { echo "FAIL: $f"; exit 1; }; done
echo "PASS: $(ls "$dir" | tr '\n' ' ')"
