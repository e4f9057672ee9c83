#!/usr/bin/env bash
# Builds lbd and runs every test with ctest: unit (pure code), bpf (the
# programs through BPF_PROG_TEST_RUN) and netns (the daemon in the lab with
# real traffic). Run as root on Debian 12; installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
lbd_install_deps
lbd_build
cd build
ctest --output-on-failure --timeout 900 "$@"
