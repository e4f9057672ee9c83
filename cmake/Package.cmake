# The Debian package, from the install rules above by CPack's DEB generator:
# `cmake --build build --target package` writes build/lbd_VERSION_ARCH.deb,
# which `apt install ./lbd_*.deb` installs. CPack rather than a debian/
# directory and dpkg-buildpackage: the install rules (tested by
# systemd.install) are then the one list of what goes where, the package
# is one target of the build everyone already runs, and no debhelper
# tooling is needed to make it.
#
# Depends comes from dpkg-shlibdeps (dpkg-dev, with build-essential): the
# libraries the binaries link, and nothing else; tests/package checks it
# against scripts/deps.sh's run group. The package neither enables nor starts
# lbd: a node may still run keepalived (which lbd.service conflicts with),
# and its configuration is the operator's to write first.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lbd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "lbd developers <lbd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "XDP layer-4 load balancer with VRRP, configured by keepalived.conf")
set(CPACK_PACKAGE_DESCRIPTION "lbd does what a keepalived and LVS pair does: VRRP elections that float
virtual addresses between nodes, health checks of real servers, and the
forwarding of virtual services to them, with its packet paths in XDP. It
reads keepalived.conf. lbctl inspects and steers it; lbd-decap unwraps its
tunnels on real servers.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The tools docs/debugging.md sends an operator to.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "xdp-tools, bpftool")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/config/debian/conffiles
    ${CMAKE_SOURCE_DIR}/config/debian/postinst
    ${CMAKE_SOURCE_DIR}/config/debian/prerm
    ${CMAKE_SOURCE_DIR}/config/debian/postrm)
include(CPack)
