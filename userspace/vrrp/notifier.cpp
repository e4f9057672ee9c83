#include "vrrp/notifier.h"

#include "notify/smtp.h"
#include "util/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace lbd::vrrp {
namespace {

using namespace std::chrono_literals;

// keepalived runs the STOP scripts with a one second child timer.
constexpr std::chrono::milliseconds kStopTimeout = 1s;

// keepalived's words for a state in scripts, fifo lines and mails.
std::string_view state_word(State s) { return s == State::INIT ? "STOP" : to_string(s); }

const std::optional<config::Script>& script_for(const config::NotifyScripts& scripts, State s) {
    switch (s) {
    case State::MASTER: return scripts.master;
    case State::BACKUP: return scripts.backup;
    case State::FAULT: return scripts.fault;
    case State::INIT: break;
    }
    return scripts.stop;
}

std::string host_name() {
    char name[HOST_NAME_MAX + 1] = {};
    if (gethostname(name, sizeof(name) - 1) < 0) return "localhost";
    return name;
}

void log_result(const std::string& command, const ChildResult& r) {
    if (r.timed_out)
        log::warn("Notify script {} timed out and was killed", command);
    else if (r.signal != 0)
        log::warn("Notify script {} was killed by signal {}", command, r.signal);
    else if (r.exit_status != 0)
        log::warn("Notify script {} exited with status {}", command, r.exit_status);
}

// keepalived's subjects and bodies (smtp.c, vrrp_notify.c).
notify::Mail instance_mail(std::string_view router_id, std::string_view name, State s) {
    if (s == State::INIT)
        return {fmt::format("[{}] VRRP Instance {} - Stopping", router_id, name), "=> VRRP Instance stopping <="};
    return notify::vrrp_state_mail(router_id, name, to_string(s));
}

notify::Mail group_mail(std::string_view router_id, std::string_view name, State s) {
    if (s == State::INIT)
        return {fmt::format("[{}] VRRP Group {} - Stopping", router_id, name),
                "=> All VRRP group instances are now stopping <="};
    return {fmt::format("[{}] VRRP Group {} - Entering {} state", router_id, name, to_string(s)),
            fmt::format("=> All VRRP group instances are now in {} state <=", to_string(s))};
}

// keepalived's fifo_open(): made if missing and given to its user; one found
// in place must be a fifo owned by us or that user, not something planted.
// Throws for a user or group that does not exist.
UniqueFd open_fifo(const Command& fifo, bool& created) {
    const char* path = fifo.command.c_str();
    const auto owner = resolve_identity(fifo);
    created = mkfifo(path, S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH) == 0;
    if (!created && errno != EEXIST) {
        log::warn("Unable to create notify fifo {}: {}", fifo.command, std::strerror(errno));
        return {};
    }
    // Opened before it is handed to its user: once chowned, root without
    // CAP_DAC_OVERRIDE (lbd.service) could no longer open the 0644 fifo.
    UniqueFd fd(open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
    struct stat st{};
    if (!fd) {
        log::warn("Unable to open notify fifo {}: {}", fifo.command, std::strerror(errno));
    } else if (fstat(fd.get(), &st) < 0 || !S_ISFIFO(st.st_mode) ||
               (st.st_uid != geteuid() && (!owner || st.st_uid != owner->uid))) {
        log::warn("notify fifo {} is not a fifo we own - not using", fifo.command);
        fd.reset();
    } else if (created && owner && fchown(fd.get(), owner->uid, owner->gid) < 0) {
        log::warn("Failed to set the owner of notify fifo {}: {}", fifo.command, std::strerror(errno));
    }
    if (!fd && created) {
        unlink(path);
        created = false;
    }
    return fd;
}

}  // namespace

Notifier::Notifier(ChildProcesses& children, const config::GlobalDefs& global, notify::SmtpNotifier* smtp)
    : children_(children),
      global_(global),
      smtp_(smtp),
      router_id_(global.router_id.empty() ? host_name() : global.router_id) {}

Notifier::~Notifier() {
    for (const auto& [path, fifo] : fifos_)
        if (fifo.created) unlink(path.c_str());  // first, so a reader looping on the path cannot reopen it
}

void Notifier::instance_state(const config::VrrpInstance& instance, State state, int priority) {
    run_scripts(instance.notify, "INSTANCE", instance.name, state, priority);
    const std::string line = fmt::format("INSTANCE \"{}\" {} {}\n", instance.name, state_word(state), priority);
    if (instance.notify_fifo)
        write_line(*instance.notify_fifo, line);
    else
        write_global(line);
    if (alerts(instance.smtp_alert))
        mail("INSTANCE " + instance.name, state, instance_mail(router_id_, instance.name, state));
}

void Notifier::group_state(const config::VrrpSyncGroup& group, State state) {
    run_scripts(group.notify, "GROUP", group.name, state, 0);
    write_global(fmt::format("GROUP \"{}\" {} 0\n", group.name, state_word(state)));
    if (alerts(group.smtp_alert)) mail("GROUP " + group.name, state, group_mail(router_id_, group.name, state));
}

void Notifier::run_scripts(const config::NotifyScripts& scripts, std::string_view type, const std::string& name,
                           State state, int priority) {
    if (const auto& script = script_for(scripts, state)) run(*script, {}, state);
    if (scripts.any)
        run(*scripts.any, {std::string(type), name, std::string(state_word(state)), std::to_string(priority)}, state);
}

void Notifier::run(const config::Script& script, std::vector<std::string> args, State state) {
    try {
        const auto timeout = state == State::INIT ? kStopTimeout : std::chrono::milliseconds(0);
        auto error = children_.start(with_default_user(script, global_.script_user, global_.script_group), args, timeout,
                                     [command = script.command](const ChildResult& r) { log_result(command, r); });
        if (error) log::warn("Cannot run notify script {}: {}", script.command, *error);
    } catch (const std::exception& e) {
        log::warn("Cannot run notify script {}: {}", script.command, e.what());
    }
}

void Notifier::write_line(const config::Script& where, const std::string& line) {
    auto [it, fresh] = fifos_.try_emplace(where.command);
    Fifo& fifo = it->second;
    if (fresh) {
        try {
            fifo.fd = open_fifo(with_default_user(where, global_.script_user, global_.script_group), fifo.created);
        } catch (const std::exception& e) {
            log::warn("notify fifo {}: {}", where.command, e.what());
        }
    }
    if (!fifo.fd) return;
    // A line is far below PIPE_BUF: it goes in whole or not at all.
    if (write(fifo.fd.get(), line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
        if (fifo.full) log::info("notify fifo {} takes lines again", where.command);
        fifo.full = false;
    } else if (!fifo.full) {
        log::warn("notify fifo {}: {}; lines are dropped until its reader catches up", where.command,
                  std::strerror(errno));
        fifo.full = true;
    }
}

void Notifier::write_global(const std::string& line) {
    if (global_.notify_fifo) write_line(*global_.notify_fifo, line);
    if (global_.vrrp_notify_fifo) write_line(*global_.vrrp_notify_fifo, line);
}

bool Notifier::alerts(const std::optional<bool>& own) const {
    return smtp_ != nullptr && own.value_or(global_.smtp_alert_vrrp.value_or(global_.smtp_alert));
}

void Notifier::mail(const std::string& key, State state, notify::Mail m) {
    auto [it, fresh] = mailed_.try_emplace(key, state);
    if (!fresh && it->second == state) return;
    it->second = state;
    smtp_->post(std::move(m));
}

}  // namespace lbd::vrrp
