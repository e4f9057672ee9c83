#include "daemon/cleanup.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/statfs.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

#include "config/load.h"
#include "dataplane/dataplane.h"
#include "ctl/dump.h"
#include "ctl/protocol.h"
#include "lbd_abi.h"
#include "net/host_routes.h"
#include "util/bpffs.h"
#include "util/instance.h"
#include "util/log.h"
#include "util/netif.h"
#include "vrrp/address_manager.h"
#include "vrrp/static_network.h"
#include "vrrp/vmac.h"

namespace lbd {
namespace {

constexpr std::string_view kProgName = "lbd_lb";

// The lb program wherever it is attached in this namespace: an interface
// the config no longer names may still carry it.
void detach_programs() {
    struct if_nameindex* names = if_nameindex();
    if (!names) return;
    for (struct if_nameindex* i = names; i->if_index != 0; ++i) {
        LIBBPF_OPTS(bpf_xdp_query_opts, q);
        if (bpf_xdp_query(static_cast<int>(i->if_index), 0, &q) < 0 || q.prog_id == 0) continue;
        UniqueFd fd(bpf_prog_get_fd_by_id(q.prog_id));
        bpf_prog_info info{};
        __u32 len = sizeof(info);
        if (!fd || bpf_obj_get_info_by_fd(fd.get(), &info, &len) < 0 || std::string_view(info.name) != kProgName)
            continue;
        const __u32 mode = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
        LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = fd.get());
        if (int err = bpf_xdp_detach(static_cast<int>(i->if_index), mode | XDP_FLAGS_REPLACE, &opts); err)
            log::warn("{}: cannot detach the lb program: {}", i->if_name, strerror(-err));
        else
            log::info("{}: lb program detached", i->if_name);
    }
    if_freenameindex(names);
}

void remove_pins(const std::string& instance) {
    struct statfs st {};
    if (statfs("/sys/fs/bpf", &st) != 0 || st.f_type != BPF_FS_MAGIC) return;
    const std::string dir = dataplane::pin_dir(instance);
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) return;
    remove_pin_dir(dir);
    log::info("pins under {} removed", dir);
}

void remove_network_state(const config::Config& cfg) {
    vrrp::AddressManager addresses;
    for (const auto& v : cfg.vrrp_instances) {
        if (v.use_vmac) vrrp::remove_stale_vmac(v.vmac_name.empty() ? "vrrp." + std::to_string(v.vrid) : v.vmac_name);
        // Errors name what was not there: nothing to say. Rules need no
        // interface; addresses and routes went with a missing one.
        addresses.remove_rules(v.virtual_rules);
        if (!netif::exists(v.interface)) continue;
        const int ifindex = netif::lookup(v.interface).ifindex;
        std::vector<config::VirtualAddress> all = v.virtual_addresses;
        all.insert(all.end(), v.excluded_addresses.begin(), v.excluded_addresses.end());
        addresses.remove_routes(v.virtual_routes, ifindex);
        addresses.remove(all, ifindex);
        log::info("VRRP_Instance({}) addresses, routes and rules removed", v.name);
    }
    vrrp::remove_static_network(cfg, addresses);
}

// The config, or nothing when it cannot be read (then only what needs no
// config is cleaned).
std::optional<config::Config> read_config(const DaemonOptions& options) {
    try {
        return config::load(options.config_path, options.config_id);
    } catch (const std::exception& e) {
        log::warn("{}: {}; static and VRRP addresses, routes, rules and vmacs left as they are",
                  options.config_path, e.what());
        return std::nullopt;
    }
}

// A killed lbd's routes in lb_announce_table: the BGP engine announces
// them for as long as they are there.
void remove_announced(const config::Config& cfg) {
    if (!cfg.global.announce_table) return;
    net::HostRoutes routes(*cfg.global.announce_table);
    for (const auto& a : routes.read()) {
        routes.remove(a);
        log::info("VIP {} withdrawn from table {}", a.str(), routes.table());
    }
}

}  // namespace

int run_cleanup(const DaemonOptions& options) {
    try {
        const std::optional<config::Config> cfg = read_config(options);
        const config::GlobalDefs global = cfg ? cfg->global : config::GlobalDefs{};
        enter_net_namespace(global);
        const std::string instance = instance_name(options, global);
        UniqueFd lock = lock_instance(instance);
        if (cfg) {
            remove_announced(*cfg);
            remove_network_state(*cfg);
        }
        detach_programs();
        remove_pins(instance);
        std::error_code ec;
        std::filesystem::remove(ctl::socket_path(instance), ec);
        std::filesystem::remove(lock_path(instance), ec);
        for (const auto what : {ctl::Dump::data, ctl::Dump::stats})
            std::filesystem::remove(ctl::dump_path(instance, what), ec);
        log::info("cleanup of instance '{}' done", instance);
        return 0;
    } catch (const std::exception& e) {
        log::error("cleanup: {}", e.what());
        return 1;
    }
}

}  // namespace lbd
