// What an instance or sync group entering a state tells the outside world,
// as keepalived's vrrp_notify.c does: the notify_master / notify_backup /
// notify_fault / notify_stop script of the state, the generic `notify`
// script with TYPE NAME STATE PRIORITY appended, a line on the notify fifos,
// and a mail. Nothing here waits: scripts run through ChildProcesses, fifos
// are non-blocking, mails go to SmtpNotifier's thread. A script or fifo that
// fails is logged and stops nothing.
#pragma once

#include "config/model.h"
#include "util/unique_fd.h"
#include "util/child_process.h"
#include "vrrp/state_machine.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lbd::notify {
class SmtpNotifier;
struct Mail;
}

namespace lbd::vrrp {

class Notifier {
public:
    // smtp may be null (no smtp_server): then no mail.
    Notifier(ChildProcesses& children, const config::GlobalDefs& global, notify::SmtpNotifier* smtp);
    // Closes the fifos, removing those it created (keepalived).
    ~Notifier();
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    // INIT is keepalived's STOP (Instance::shutdown): notify_stop, "STOP".
    // Scripts get user and group from with_default_user(); a STOP script is
    // killed after a second, as keepalived does at shutdown, the others may
    // run as long as they like. The fifo line,
    //   INSTANCE "VI_1" MASTER 100
    // goes to the instance's notify_fifo when it has one, else to global_defs'
    // notify_fifo and vrrp_notify_fifo (each: keepalived writes both).
    // A mail goes out when smtp_alert (the instance's, else smtp_alert_vrrp,
    // else smtp_alert) is on and the state differs from the last one mailed.
    // The caller leaves out an instance whose sync group already notified the
    // same state (keepalived's send_instance_notifies).
    void instance_state(const config::VrrpInstance& instance, State state, int priority);
    // The same for a group: `notify` gets GROUP NAME STATE 0, the fifo line
    // is GROUP "G1" MASTER 0, on the global fifos.
    void group_state(const config::VrrpSyncGroup& group, State state);

private:
    // A fifo is created (mkfifo, 0644, owned by its USER [GROUP]) and opened
    // at its first line: read-write and non-blocking, so that neither opening
    // nor writing ever waits for a reader; lines wait in the pipe until one
    // comes, and are dropped, logged once, while the pipe is full.
    struct Fifo {
        UniqueFd fd;
        bool created = false;
        bool full = false;
    };

    void run_scripts(const config::NotifyScripts& scripts, std::string_view type, const std::string& name,
                     State state, int priority);
    void run(const config::Script& script, std::vector<std::string> args, State state);
    void write_line(const config::Script& fifo, const std::string& line);
    void write_global(const std::string& line);
    bool alerts(const std::optional<bool>& own) const;
    void mail(const std::string& key, State state, notify::Mail mail);

    ChildProcesses& children_;
    const config::GlobalDefs global_;
    notify::SmtpNotifier* const smtp_;
    const std::string router_id_;           // global_defs' router_id, else the host name
    std::map<std::string, Fifo> fifos_;     // by path
    std::map<std::string, State> mailed_;   // "INSTANCE VI_1" / "GROUP G1": the last state mailed
};

}  // namespace lbd::vrrp
