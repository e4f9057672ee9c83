// lbd-decap: puts the TUN-mode decapsulation program (bpf/decap.bpf.c) on a
// real server's interface at tc ingress, for hosts without the ipip module.
//   lbd-decap attach IFACE --from ADDR... [--addr ADDR]...
//       --from: the LB nodes' tunnel sources, the only outer sources taken
//       --addr: outer destinations besides IFACE's own addresses
//   lbd-decap detach IFACE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "util/ip_addr.h"
#include "util/bpffs.h"
#include "util/version.h"
#include "decap.skel.h"
#include "lbd_abi.h"

namespace {

// One filter of ours per interface, at a fixed place so detach finds it.
constexpr __u32 kHandle = 0x1bd;
constexpr __u32 kPriority = 1;

std::string pins_for(const std::string& ifname) { return std::string(LBD_PIN_ROOT) + "/decap-" + ifname; }

std::vector<lbd::IpAddr> own_addresses(const std::string& ifname) {
    std::vector<lbd::IpAddr> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) < 0)
        return out;
    for (ifaddrs* a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || ifname != a->ifa_name)
            continue;
        lbd::IpAddr ip;
        ip.family = a->ifa_addr->sa_family;
        if (ip.family == AF_INET)
            memcpy(ip.bytes.data(), &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, 4);
        else if (ip.family == AF_INET6)
            memcpy(ip.bytes.data(), &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, 16);
        else
            continue;
        out.push_back(ip);
    }
    freeifaddrs(list);
    return out;
}

bpf_tc_hook ingress_hook(int ifindex) {
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = ifindex;
    hook.attach_point = BPF_TC_INGRESS;
    return hook;
}

std::vector<lbd::IpAddr> parse_all(const char* option, const std::vector<std::string>& texts) {
    std::vector<lbd::IpAddr> out;
    for (const auto& text : texts) {
        auto a = lbd::IpAddr::parse(text);
        if (!a)
            throw std::runtime_error(fmt::format("{} {}: not an IP address", option, text));
        out.push_back(*a);
    }
    return out;
}

// decap_dsts and decap_srcs share the layout of their keys (lbd_abi.h).
template <class Key>
void put_all(const bpf_map* map, const char* name, const std::vector<lbd::IpAddr>& addrs) {
    for (const auto& a : addrs) {
        Key k{};
        memcpy(k.addr.bytes, a.bytes.data(), sizeof(k.addr.bytes));
        k.family = static_cast<__u8>(a.family);
        __u32 one = 1;
        if (bpf_map_update_elem(bpf_map__fd(map), &k, &one, BPF_ANY))
            throw std::runtime_error(fmt::format("{}: adding {}: {}", name, a.str(), strerror(errno)));
    }
}

int attach(const std::string& ifname, const std::vector<std::string>& extra, const std::vector<std::string>& from) {
    int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (!ifindex)
        throw std::runtime_error(fmt::format("interface {} does not exist", ifname));
    std::vector<lbd::IpAddr> addrs = own_addresses(ifname);
    for (const auto& a : parse_all("--addr", extra))
        addrs.push_back(a);
    const std::vector<lbd::IpAddr> sources = parse_all("--from", from);
    std::string dir = pins_for(ifname);
    lbd::remove_pin_dir(dir);
    lbd::ensure_pin_dir(dir);
    LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = dir.c_str());
    lbd_decap* skel = lbd_decap__open_opts(&open_opts);
    if (!skel || lbd_decap__load(skel))
        throw std::runtime_error(fmt::format("cannot load the decap program: {}", strerror(errno)));
    try {
        put_all<lbd_decap_key>(skel->maps.decap_dsts, LBD_PIN_DECAP_DSTS, addrs);
        put_all<lbd_decap_src_key>(skel->maps.decap_srcs, LBD_PIN_DECAP_SRCS, sources);
    } catch (...) {
        lbd_decap__destroy(skel);
        throw;
    }
    bpf_tc_hook hook = ingress_hook(ifindex);
    int err = bpf_tc_hook_create(&hook);
    if (err && err != -EEXIST)
        throw std::runtime_error(fmt::format("{}: cannot add clsact: {}", ifname, strerror(-err)));
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(skel->progs.lbd_decap),
                .flags = BPF_TC_F_REPLACE, .handle = kHandle, .priority = kPriority);
    err = bpf_tc_attach(&hook, &opts);
    // The filter holds the program and its maps; the pins keep them visible.
    lbd_decap__destroy(skel);
    if (err)
        throw std::runtime_error(fmt::format("{}: cannot attach decap: {}", ifname, strerror(-err)));
    fmt::print("decap attached to {} for {} addresses from {} tunnel sources; maps pinned under {}\n", ifname,
               addrs.size(), sources.size(), dir);
    return 0;
}

int detach(const std::string& ifname) {
    int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (!ifindex)
        throw std::runtime_error(fmt::format("interface {} does not exist", ifname));
    bpf_tc_hook hook = ingress_hook(ifindex);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kHandle, .priority = kPriority);
    int err = bpf_tc_detach(&hook, &opts);
    lbd::remove_pin_dir(pins_for(ifname));
    if (err && err != -ENOENT)
        throw std::runtime_error(fmt::format("{}: cannot detach decap: {}", ifname, strerror(-err)));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"lbd-decap: strip IPIP/IP6IP6 tunnels from lbd on a real server"};
    app.set_version_flag("--version", fmt::format("lbd-decap {}", lbd::kVersion), "print the version and exit");
    app.require_subcommand(1);
    std::string ifname;
    std::vector<std::string> addrs;
    std::vector<std::string> from;
    auto* att = app.add_subcommand("attach", "attach to IFACE at tc ingress");
    att->add_option("iface", ifname, "interface")->required();
    att->add_option("--addr", addrs, "also unwrap tunnels to this address");
    att->add_option("--from", from, "unwrap tunnels from this source only (each LB node's tunnel source)")
        ->required();
    auto* det = app.add_subcommand("detach", "remove from IFACE");
    det->add_option("iface", ifname, "interface")->required();
    CLI11_PARSE(app, argc, argv);
    try {
        return att->parsed() ? attach(ifname, addrs, from) : detach(ifname);
    } catch (const std::exception& e) {
        fmt::print(stderr, "lbd-decap: {}\n", e.what());
        return 1;
    }
}
