# Debian 12 packages lbd needs, by what for. Sourced by the other scripts:
# lbd_install_deps installs what is missing, once; lbd_build builds.
#
# build: compiling lbd, lbctl, lbd-decap, their BPF programs and man pages,
#        and packaging them (build-essential brings dpkg-dev, whose
#        dpkg-shlibdeps gives the .deb its Depends).
LBD_BUILD_PACKAGES=(
  build-essential cmake pkg-config clang llvm python3
  libbpf-dev libxdp-dev bpftool linux-libc-dev
  libnl-3-dev libnl-route-3-dev libssl-dev libpcre2-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev libsystemd-dev
)
# run: what a node running lbd needs, the libraries the binaries link, and
# nothing else: the .deb's Depends (tests/package checks they agree).
LBD_RUN_PACKAGES=(
  libbpf1 libxdp1 libnl-3-200 libnl-route-3-200 libssl3 libpcre2-8-0
  libfmt9 libsystemd0 libstdc++6 libgcc-s1 libc6
)
# demo: the namespace lab (scripts/lab.sh) and its clients.
LBD_DEMO_PACKAGES=(
  iproute2 ethtool procps python3 iputils-ping
)
# test: the tests, fuzzers and benchmarks (scripts/test.sh, scripts/bench.sh):
# real Debian tools to run against, and the frameworks.
LBD_TEST_PACKAGES=(
  libgtest-dev libgmock-dev libbenchmark-dev libclang-rt-14-dev
  xdp-tools keepalived nftables stress-ng hping3 tcpdump groff-base gnuplot-nox python3-yaml
)
# bgp: the BGP engines of the scale-out lab (lab.sh up --bgp, demo.sh --bgp,
# the scale-out tests and bench).
LBD_BGP_PACKAGES=(
  bird2 frr
)

# lbd_install_deps [build] [run] [demo] [test] [bgp]: installs what is missing
# of those groups (all five without an argument).
lbd_install_deps() {
  local groups=("$@") group p missing=()
  ((${#groups[@]})) || groups=(build run demo test bgp)
  for group in "${groups[@]}"; do
    local -n list="LBD_${group^^}_PACKAGES"
    for p in "${list[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# lbd_build [TARGET...]: configures build/ and builds those targets (all
# without an argument), two jobs at a time.
lbd_build() {
  local targets=()
  (($#)) && targets=(--target "$@")
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j2 "${targets[@]}"
}
