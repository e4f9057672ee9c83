// The figures lbctl shows, and the engines' own, in Prometheus text
// exposition format 0.0.4; MetricsServer (ctl/metrics_server.h) serves them.
//
// Every family, always with its # HELP and # TYPE, even when it has no
// sample (no VIP configured yet):
//
// | name                                  | type    | labels                 | from                        |
// |---------------------------------------|---------|------------------------|-----------------------------|
// | lbd_build_info                        | gauge   | version, abi           | 1                           |
// | lbd_config_last_reload_successful     | gauge   |                        | the daemon's Reloads        |
// | lbd_config_last_reload_success_timestamp_seconds | gauge |              |                             |
// | lbd_config_reloads_total              | counter | result                 |                             |
// | lbd_vip_packets_total                 | counter | vip, mode              | data plane, per VIP         |
// | lbd_vip_bytes_total                   | counter | vip, mode              |                             |
// | lbd_vip_new_flows_total               | counter | vip, mode              |                             |
// | lbd_vip_active                        | gauge   | vip, mode              | 1 while this node owns it   |
// | lbd_real_packets_total                | counter | real                   | data plane, per real        |
// | lbd_real_bytes_total                  | counter | real                   |                             |
// | lbd_real_new_flows_total              | counter | real                   |                             |
// | lbd_packets_total                     | counter | reason                 | data plane verdicts         |
// | lbd_vrrp_rx_packets_total             | counter | reason                 | VRRP receive verdicts       |
// | lbd_conntrack_entries                 | gauge   |                        | flow tables, live or idle   |
// | lbd_conntrack_flows                   | gauge   |                        | entries still pinning flows |
// | lbd_conntrack_capacity                | gauge   |                        | entries the tables can hold |
// | lbd_flow_events_total                 | counter | event                  | flows that found no entry   |
// | lbd_flood_guard_active                | gauge   |                        | 1 while the guard refuses   |
// | lbd_vrrp_state                        | gauge   | vrrp_instance, state   | per instance, 1 per state   |
// | lbd_vrrp_priority                     | gauge   | vrrp_instance          | configured                  |
// | lbd_vrrp_effective_priority           | gauge   | vrrp_instance          | with tracking               |
// | lbd_vrrp_transitions_total            | counter | vrrp_instance          |                             |
// | lbd_vrrp_adverts_sent_total           | counter | vrrp_instance          |                             |
// | lbd_vrrp_adverts_received_total       | counter | vrrp_instance          |                             |
// | lbd_real_up                           | gauge   | vip, real, port        | checkers, per checked real  |
// | lbd_real_drained                      | gauge   | vip, real, port        |                             |
// | lbd_real_weight                       | gauge   | vip, real, port        | as the data plane serves it |
// | lbd_real_checks_total                 | counter | vip, real, port        |                             |
// | lbd_real_check_failures_total         | counter | vip, real, port        |                             |
// | lbd_real_last_check_latency_seconds   | gauge   | vip, real, port        | only once checked           |
// | lbd_vip_announced                     | gauge   | vip                    | lb_announce_table, per VIP  |
// | lbd_node_drained                      | gauge   |                        | lbctl drain-node            |
//
// The last two have samples only while lb_announce_table is configured; their
// vip is the address alone, as the route is.
// Label values: vip as lbctl names a service ("10.213.0.100:tcp:80",
// "[2001:db8::100]:tcp:443"), mode as lb_kind ("DR"), real the address
// alone ("10.213.0.12") so that the checkers' families join the data
// plane's, reason as lbctl stats prints it, state one of INIT BACKUP MASTER
// FAULT, event as lbctl stats prints it, result "applied" or "failed". VRRP
// instances are labelled vrrp_instance: Prometheus gives `instance` to the
// scraped target.
#pragma once

#include "announce/status.h"
#include "check/status.h"
#include "ctl/reloads.h"
#include "dataplane/flow_census.h"
#include "dataplane/stats_reader.h"
#include "vrrp/status.h"

#include <string>
#include <vector>

namespace lbd::ctl {

// What the flow tables hold (counted off the main loop), and whether the
// flood guard refused entries in the last second.
struct FlowState {
    dataplane::FlowCounts counts;
    bool guard_active = false;
};

std::string render_metrics(const dataplane::Snapshot& dp, const FlowState& flows,
                           const std::vector<vrrp::InstanceStatus>& vrrp, const std::vector<check::RealStatus>& reals,
                           const Reloads& reloads = {}, const announce::Status& announce = {});

}  // namespace lbd::ctl
