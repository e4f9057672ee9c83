#!/usr/bin/env bash
# The Debian package (cmake/Package.cmake), made by CPack into a scratch
# directory, then installed with apt, as an operator would, into a scratch
# root: an overlay of this machine's / in a mount namespace of its own, so
# that the machine itself is never written (the namespace, its mounts and
# the overlay's upper layer go when the test ends). Checked: the file list,
# the conffiles, Depends against scripts/deps.sh's run group (the shared
# libraries the binaries link and nothing else, no -dev package), that
# every library the binaries need belongs to a package of Depends, the
# maintainer scripts on install, remove and purge, `--version` of the
# installed binaries, the example configuration under `lbd -t`, and the
# installed units under `systemd-analyze verify`.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (a mount namespace for the scratch root)"; exit 77; }
command -v cpack >/dev/null || { echo "SKIP: no cpack"; exit 77; }
BUILD=$(realpath "${LBD_BUILD_DIR:-build}")
WORK=$(mktemp -d /tmp/lbd-package.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

version=$(sed -n 's/^project(lbd VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
arch=$(dpkg --print-architecture)
(cd "$BUILD" && cpack --config CPackConfig.cmake -B "$WORK/out" >"$WORK/cpack.log" 2>&1) ||
  { cat "$WORK/cpack.log"; fail "cpack failed"; }
deb=$WORK/out/lbd_${version}_${arch}.deb
[[ -f $deb ]] || fail "no $deb: $(ls "$WORK/out")"
echo "ok cpack: $(basename "$deb"), $(stat -c %s "$deb") bytes"

# What is in it.
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {sub(/^\./, "", $6); print $6}' | sort >"$WORK/files"
{
  printf '%s\n' /etc/default/lbd /etc/lbd/keepalived.conf /etc/iproute2/rt_protos.d/lbd.conf \
    /usr/sbin/lbd /usr/sbin/lbctl /usr/sbin/lbd-decap \
    /usr/lib/systemd/system/lbd.service /usr/lib/systemd/system/lbd-decap@.service \
    /usr/share/bash-completion/completions/lbctl \
    /usr/share/man/man8/lbd.8 /usr/share/man/man8/lbctl.8 /usr/share/man/man8/lbd-decap.8 \
    /usr/share/man/man5/lbd.conf.5 \
    /usr/share/doc/lbd/README.md /usr/share/doc/lbd/examples/keepalived.conf \
    /usr/share/doc/lbd/examples/grafana/lbd.json /usr/share/doc/lbd/examples/prometheus/lbd-alerts.yml
  for doc in docs/*.md; do echo "/usr/share/doc/lbd/$(basename "$doc")"; done
  for f in config/scale-out/*; do echo "/usr/share/doc/lbd/examples/scale-out/$(basename "$f")"; done
} | sort >"$WORK/expected"
diff "$WORK/expected" "$WORK/files" || fail "the package's files are not the expected ones (< expected, > packaged)"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | sort >"$WORK/conffiles"
[[ $(cat "$WORK/conffiles") == $'/etc/default/lbd\n/etc/iproute2/rt_protos.d/lbd.conf\n/etc/lbd/keepalived.conf' ]] ||
  fail "conffiles: $(cat "$WORK/conffiles")"
echo "ok files: $(wc -l <"$WORK/files"), conffiles: $(tr "\n" " " <"$WORK/conffiles")"

# Depends: the run group of scripts/deps.sh, exactly.
depends=$(dpkg-deb -f "$deb" Depends)
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
diff <(tr ',' '\n' <<<"$depends" | sed 's/(.*)//; s/ //g' | sort) <(printf '%s\n' "${LBD_RUN_PACKAGES[@]}" | sort) ||
  fail "Depends ($depends) is not scripts/deps.sh's run group (< Depends, > deps.sh)"
[[ $depends != *-dev* ]] || fail "Depends names a -dev package: $depends"
echo "ok Depends: $depends"

# The scratch root: this machine's / under an overlay whose upper layer is
# a tmpfs of the namespace. The script below runs in that namespace.
cp "$deb" "$WORK/lbd.deb"
cat >"$WORK/inside.sh" <<'EOF'
set -euo pipefail
work=$1 version=$2 run_packages=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
mount --make-rprivate /
mkdir -p "$work/t"
mount -t tmpfs tmpfs "$work/t"
mkdir -p "$work/t/upper" "$work/t/work" "$work/t/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/t/upper,workdir=$work/t/work" "$work/t/root"
root=$work/t/root
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
cp "$work/lbd.deb" "$root/tmp/"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C "$@"; }

in_root dpkg-query -W lbd >/dev/null 2>&1 && fail "lbd is already installed here"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Use-Pty=0 \
  /tmp/lbd.deb >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt install ./lbd.deb failed"; }
[[ $(in_root dpkg-query -W -f='${Status} ${Version}' lbd) == "install ok installed $version" ]] ||
  fail "dpkg says: $(in_root dpkg-query -W -f='${Status} ${Version}' lbd)"
echo "ok apt install ./lbd_*.deb in the scratch root"

for bin in lbd lbctl lbd-decap; do
  [[ $(in_root "/usr/sbin/$bin" --version) == "$bin $version" ]] || fail "$bin --version: $(in_root "/usr/sbin/$bin" --version)"
done
in_root lbd -t -f /etc/lbd/keepalived.conf 2>"$work/t.err" || fail "lbd -t refuses /etc/lbd/keepalived.conf: $(cat "$work/t.err")"
echo "ok lbd, lbctl, lbd-decap --version $version; lbd -t accepts /etc/lbd/keepalived.conf"

# Every library the binaries link (NEEDED; theirs are their packages'
# business) belongs to a package of Depends.
for bin in lbd lbctl lbd-decap; do
  needed=$(in_root readelf -d "/usr/sbin/$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  in_root ldd "/usr/sbin/$bin" | awk -v needed=" $(echo $needed) " '$3 ~ /^\// && index(needed, " " $1 " ") {print $3}'
done | sort -u | while read -r lib; do
  # dpkg knows a library by the path its package ships, /lib or /usr/lib
  # (one directory on a merged /usr), as the link or as the file.
  owner=
  real=$(in_root readlink -f "$lib")
  for path in "$lib" "$real" "${lib/#\/usr\/lib\//\/lib\/}" "${real/#\/usr\/lib\//\/lib\/}" \
              "${lib/#\/lib\//\/usr\/lib\/}" "${real/#\/lib\//\/usr\/lib\/}"; do
    owner=$(in_root dpkg -S "$path" 2>/dev/null | cut -d: -f1) && break
  done
  [[ -n $owner ]] || fail "no package owns $lib"
  [[ " $run_packages " == *" $owner "* ]] || fail "$lib belongs to $owner, which Depends does not name"
done
echo "ok every library the binaries link comes from a package of Depends"

if command -v systemd-analyze >/dev/null; then
  mkdir -p "$root/tmp/units"
  cp "$root/usr/lib/systemd/system/lbd.service" "$root/tmp/units/"
  cp "$root/usr/lib/systemd/system/lbd-decap@.service" "$root/tmp/units/lbd-decap@lo.service"
  out=$(in_root systemd-analyze verify /tmp/units/lbd.service /tmp/units/lbd-decap@lo.service 2>&1) ||
    fail "systemd-analyze verify: $out"
  [[ -z $out ]] || fail "systemd-analyze verify warns: $out"
  echo "ok systemd-analyze verify of the installed units"
fi

# Removal keeps the conffiles; purge takes them.
echo "# edited" >>"$root/etc/default/lbd"
in_root dpkg -r lbd >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "dpkg -r lbd failed"; }
[[ ! -e $root/usr/sbin/lbd && -e $root/etc/default/lbd ]] || fail "remove: binaries left or conffiles gone"
in_root dpkg --purge lbd >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge lbd failed"; }
[[ ! -e $root/etc/default/lbd && ! -e $root/etc/lbd ]] || fail "purge left /etc/default/lbd or /etc/lbd"
echo "ok remove keeps the conffiles, purge removes them"
EOF
unshare --mount --fork bash "$WORK/inside.sh" "$WORK" "$version" "${LBD_RUN_PACKAGES[*]}" ||
  fail "in the scratch root"
echo "PASS package"
