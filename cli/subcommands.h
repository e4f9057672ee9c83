// lbctl's subcommands, said once: the help text CLI11 shows, the man page
// and the bash completion (cli/generate.cpp) all come from this table.
#pragma once

#include <array>
#include <string_view>

namespace lbctl {

struct Option {
    std::string_view flag;  // "--vip VIP"
    std::string_view help;
};

struct Subcommand {
    std::string_view name;
    std::string_view synopsis;  // what follows the name
    std::string_view summary;   // one line, the --help list
    std::string_view description;
    std::array<Option, 8> options{};  // empty flags end the list
};

inline constexpr Subcommand kSubcommands[] = {
    {"status", "", "VRRP instances and services at a glance",
     "Each vrrp_instance: its state, configured and effective priority, the master's address, its "
     "VIPs and since when it is in that state; each virtual service: how many of its reals serve; with "
     "lb_announce_table, each VIP's route: announced or withdrawn, and why."},
    {"vips", "", "virtual services and their counters",
     "Each virtual service the data plane serves: its id, forwarding mode, whether this node serves "
     "it now (VRRP master, or not managed by VRRP), packets, bytes and new flows, and their rates over "
     "the last second."},
    {"reals", "", "real servers: health, weight, last check, next hop, flows",
     "Each real server: for each virtual service it is in, whether its checks find it up, whether it is "
     "drained, the weight it serves with, its last check's result and latency; its next hop, "
     "counters and the flows the connection table holds for it."},
    {"stats", "", "counters and rates by verdict, VIP and real",
     "Every verdict of the XDP program by reason, the VRRP receive path's by reason, the connection "
     "table's size, and the counters of each VIP and real, with their rates over the last second."},
    {"conntrack", "[--vip VIP] [--real ADDR] [--count] [--limit N]", "list or count tracked flows",
     "The flows the connection table holds: client, VIP, real and idle time.",
     {{{"--vip VIP", "only flows to this VIP (an address, or ADDR:PROTO:PORT as `vips` names it, [ADDR]:PROTO:PORT "
                     "for IPv6)"},
       {"--real ADDR", "only flows to this real server"},
       {"--count", "print the number of flows only"},
       {"--limit N", "list at most N flows (default 1000)"}}}},
    {"drain", "ADDR [--port PORT]", "weight 0 for a real, keeping its established flows",
     "The real server takes no new flows in any virtual service it is in (or only on PORT); the flows "
     "it has go on. Its checks go on too. Kept through reloads until undrain.",
     {{{"--port PORT", "only the real server ADDR:PORT"}}}},
    {"undrain", "ADDR [--port PORT]", "give a drained real its weight back", "The opposite of drain.",
     {{{"--port PORT", "only the real server ADDR:PORT"}}}},
    {"weight", "ADDR WEIGHT|reset [--port PORT]", "set a real's weight, or back to the configured one",
     "The real server serves with WEIGHT (0..65535) in every virtual service it is in (or only on "
     "PORT), whatever its configured or dynamic weight; `reset` gives it back. Kept through reloads.",
     {{{"--port PORT", "only the real server ADDR:PORT"}}}},
    {"failover", "INSTANCE", "a master gives up its VIPs with a priority-0 advert",
     "The vrrp_instance, if MASTER here, sends a priority-0 advert (its backup takes over after its "
     "skew time) and becomes BACKUP; with preempt and the higher priority it takes the role back after "
     "Master_Down_Interval."},
    {"drain-node", "[--wait SECONDS]", "withdraw every VIP of this node, and wait until its traffic has moved",
     "With lb_announce_table: every VIP's route leaves the table, so the BGP engine withdraws it and the "
     "routers send the node's flows to the other nodes (the same reals, by Maglev); then waits until no "
     "packet to those VIPs has arrived for a second. Kept through reloads until undrain-node; a restarted "
     "lbd announces again. Exit 1 when traffic still arrives after the wait.",
     {{{"--wait SECONDS", "how long to wait for the traffic to move (default 30; 0: do not wait)"}}}},
    {"undrain-node", "", "announce this node's VIPs again", "The opposite of drain-node."},
    {"reload", "", "re-read the configuration (as SIGHUP) and say whether it was applied",
     "The daemon re-reads its file and applies it by difference, then answers: lbctl prints `reload "
     "applied` and exits 0, or prints why the file was refused (its `file:line: message`, or what could not "
     "be applied) and exits 1, the running configuration kept. It waits up to 60 s for the answer. "
     "`lbctl status` shows the last reload's time and outcome."},
    {"dump", "[data|stats]", "the running data or the statistics, as SIGUSR1 and SIGUSR2 write them",
     "Prints what the daemon writes to /run/lbd/NAME.data on SIGUSR1 (data, the default: VRRP instances "
     "and their addresses, virtual servers, real servers and their state) or to /run/lbd/NAME.stats on "
     "SIGUSR2 (stats: reloads, VRRP and data-plane counters, connection tables, checks), as keepalived's "
     "/tmp/keepalived.data and .stats."},
    {"check", "FILE", "test a configuration file, as lbd -t",
     "Runs `lbd -t -f FILE` (the lbd installed beside lbctl, else the one in PATH), without a daemon: "
     "`file:line: message` for an error, warnings for what is read but not acted on. Exit 0 when valid, 1 "
     "when not."},
    {"capture", "[--vrrp] [--forwarded] [--dropped] [--passed] [-c COUNT] [--duration SECONDS] [-w FILE|-]",
     "the packets lbd's XDP programs handle, as pcap or one line each",
     "Shows what tcpdump on the node cannot: VRRP adverts received and the frames lbd sends (adverts, "
     "gratuitous ARPs, NAs), packets forwarded by XDP_TX or XDP_REDIRECT (as they leave, rewritten), "
     "packets XDP drops, and packets passed to the kernel, each with its interface, verdict and reason. "
     "Without a class, all four. Without -w, one line per packet; with -w, a pcap file (nanosecond "
     "timestamps, Ethernet) that tcpdump -r reads: `lbctl capture --vrrp -w - | tcpdump -n -v -r -`. "
     "Stops after COUNT packets or SECONDS, whichever first, or on Ctrl-C; capture is off again once no "
     "lbctl captures. Packets the daemon could not keep up with are counted as lost.",
     {{{"--vrrp", "VRRP adverts received, and the adverts, gratuitous ARPs and NAs lbd sends"},
       {"--forwarded", "packets sent on by XDP_TX or XDP_REDIRECT, as they leave"},
       {"--dropped", "packets XDP drops"},
       {"--passed", "packets XDP passes to the kernel"},
       {"-c, --count COUNT", "stop after COUNT packets (default 100)"},
       {"--duration SECONDS", "stop after SECONDS (default 10)"},
       {"-w, --write FILE", "write pcap to FILE, or to standard output for -"},
       {"--snaplen BYTES", "bytes of each packet kept, 1..256 (default 256)"}}}},
    {"watch", "[--interval SECONDS] [--count N]", "status, VIPs and reals, refreshed like top",
     "Clears the terminal and prints status, vips and reals every interval, until interrupted or N "
     "times.",
     {{{"--interval SECONDS", "time between refreshes (default 1)"}, {"--count N", "stop after N refreshes"}}}},
};

// Global options, before or after the subcommand.
inline constexpr Option kGlobalOptions[] = {
    {"--instance NAME", "the daemon's --instance (default: default): its socket is /run/lbd/NAME.sock"},
    {"-s, --socket PATH", "the control socket to use instead"},
    {"--json", "print the daemon's answer as JSON, for scripts"},
    {"--pid PID", "the daemon whose pid is PID, whatever its instance (the one its /run/lbd/NAME.lock holds)"},
    {"--version", "print lbctl's version and exit"},
};

}  // namespace lbctl
