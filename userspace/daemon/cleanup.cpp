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
#include <string_view>

#include "config/load.h"
#include "dataplane/dataplane.h"
#include "ctl/dump.h"
#include "ctl/protocol.h"
#include "lbd_abi.h"
#include "util/bpffs.h"
#include "util/instance.h"
#include "util/log.h"
#include "util/netif.h"
#include "vrrp/address_manager.h"
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

void remove_vrrp_state(const config::Config& cfg) {
    vrrp::AddressManager addresses;
    for (const auto& v : cfg.vrrp_instances) {
        if (v.use_vmac) vrrp::remove_stale_vmac(v.vmac_name.empty() ? "vrrp." + std::to_string(v.vrid) : v.vmac_name);
        if (!netif::exists(v.interface)) continue;
        const int ifindex = netif::lookup(v.interface).ifindex;
        std::vector<config::VirtualAddress> all = v.virtual_addresses;
        all.insert(all.end(), v.excluded_addresses.begin(), v.excluded_addresses.end());
        // Errors name addresses that were not there: nothing to say.
        addresses.remove_routes(v.virtual_routes, ifindex);
        addresses.remove(all, ifindex);
        log::info("VRRP_Instance({}) addresses and routes removed", v.name);
    }
}

}  // namespace

int run_cleanup(const DaemonOptions& options) {
    try {
        UniqueFd lock = lock_instance(options.instance);
        try {
            remove_vrrp_state(config::load(options.config_path));
        } catch (const std::exception& e) {
            log::warn("{}: {}; VRRP addresses, routes and vmacs left as they are", options.config_path, e.what());
        }
        detach_programs();
        remove_pins(options.instance);
        std::error_code ec;
        std::filesystem::remove(ctl::socket_path(options.instance), ec);
        std::filesystem::remove(lock_path(options.instance), ec);
        for (const auto what : {ctl::Dump::data, ctl::Dump::stats})
            std::filesystem::remove(ctl::dump_path(options.instance, what), ec);
        log::info("cleanup of instance '{}' done", options.instance);
        return 0;
    } catch (const std::exception& e) {
        log::error("cleanup: {}", e.what());
        return 1;
    }
}

}  // namespace lbd
