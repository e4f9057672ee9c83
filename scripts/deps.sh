# Debian 12 packages lbd builds, tests and demonstrates with. Sourced by the
# other scripts: lbd_install_deps installs what is missing, once.
LBD_PACKAGES=(
  build-essential cmake pkg-config clang llvm libclang-rt-14-dev
  libbpf-dev libxdp-dev bpftool xdp-tools linux-libc-dev
  libnl-3-dev libnl-route-3-dev libssl-dev openssl libpcre2-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  iproute2 ethtool python3 procps nftables keepalived tcpdump iputils-ping stress-ng hping3
  groff-base gnuplot-nox
  # tests and demo only: the BGP engines of the scale-out lab (lab.sh up --bgp)
  bird2 frr
)

lbd_install_deps() {
  local missing=()
  for p in "${LBD_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

lbd_build() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j2
}
