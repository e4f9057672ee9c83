// Child processes for scripts (vrrp_script checks, notify scripts), started
// the way keepalived starts them, without the owner's event loop ever
// waiting on one: start() returns as soon as the child has reached execve,
// and the end of each child arrives later through fd() and dispatch().
#pragma once

#include "util/command.h"
#include "util/unique_fd.h"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lbd {

// How a child ended. exit_status is valid when signal == 0; it stays -1 when
// someone else reaped the child (the owner must not set SIGCHLD to SIG_IGN).
struct ChildResult {
    int exit_status = -1;
    int signal = 0;          // the signal that ended it; 0 when it exited
    bool timed_out = false;  // we killed its process group at its timeout
};

// keepalived's split of a command into arguments (alloc_strvec_quoted_escaped):
// words separated by blanks; "double" and 'single' quotes keep blanks and may
// join pieces (a"b c"d is one word); a backslash escapes the next character
// everywhere, inside quotes too (\n \t \xHH \NNN as in C, anything else
// literally). No shell: no variables, globs or redirections. Throws
// std::invalid_argument on an unterminated quote, a trailing backslash or
// a command without words.
std::vector<std::string> split_command(std::string_view command);

// keepalived's user for a script whose line names none: global_defs'
// script_user (with script_group), else the user keepalived_script when it
// exists, else root (the daemon's own identity, an empty user).
Command with_default_user(Command command, const std::string& script_user, const std::string& script_group);

// Who a script runs as. A group written with a leading ':' also gives the
// user's supplementary groups (keepalived); otherwise the child has none.
struct ScriptIdentity {
    uid_t uid = 0;
    gid_t gid = 0;  // the group named, else the user's primary group
    std::vector<gid_t> groups;
};
// nullopt for an empty user: the daemon's own identity. Throws
// std::runtime_error naming a user or group that does not exist.
std::optional<ScriptIdentity> resolve_identity(const Command& command);

// Whether `command` (its user as with_default_user() leaves it) runs as
// root: a user of uid 0, or none while the daemon is root. Throws
// std::runtime_error naming a user that does not exist.
bool runs_as_root(const Command& command);

// The children of one owner. An internal epoll holds one pidfd per child and
// a timerfd set to the nearest timeout; fd() is that epoll, so the owner adds
// a single fd to its own loop and calls dispatch() when it is readable.
//
// Each child gets: argv from split_command(command) plus extra_args; the
// executable from execvp's PATH search, done before fork; the user, group
// and supplementary groups of resolve_identity(); a process group of its own
// (a timeout kills the script's own children too); stdin, stdout and stderr
// on /dev/null and no other descriptor; an empty signal mask and default
// signal dispositions (the daemon blocks signals for its signalfd and
// ignores some); the daemon's environment without IFS, LD_PRELOAD and
// LD_LIBRARY_PATH; SIGTERM when this object's forking thread ends, that is
// with this object or with the daemon.
//
// Children are forked from a thread of this object's own, not the caller's:
// PR_SET_PDEATHSIG fires when the thread that forked a child ends, and the
// threads that start scripts (the VRRP engine's, the checkers') end at every
// reload, while the scripts must run to their end or their timeout. A
// reload hands this object from one engine to the next for the same reason.
class ChildProcesses {
public:
    // script_security: global_defs' enable_script_security. A script that
    // would run as root (or is set-uid/gid root) is then refused unless every
    // component of its path, resolved or not, is owned by root and writable
    // by nobody else, as keepalived's check_security().
    explicit ChildProcesses(bool script_security = false);
    // SIGKILLs the process group of every child still running and reaps it;
    // their done() is not called.
    ~ChildProcesses();
    ChildProcesses(const ChildProcesses&) = delete;
    ChildProcesses& operator=(const ChildProcesses&) = delete;

    // A reload's new global_defs, for the scripts started from now on.
    void set_script_security(bool on) { script_security_ = on; }

    int fd() const { return epoll_.get(); }

    // Returns why the child could not start: bad quoting, unknown user,
    // executable not found, refused by script security, or the errno of
    // setuid/execve in the child (sent back through a close-on-exec pipe, so
    // a failed exec never shows up later as an exit status). done() is then
    // never called. Otherwise done() is called exactly once, from dispatch().
    // timeout 0: none. Waits only for the child to reach execve, never for
    // the script.
    std::optional<std::string> start(const Command& command, const std::vector<std::string>& extra_args,
                                     std::chrono::milliseconds timeout,
                                     std::function<void(const ChildResult&)> done);

    // Reaps the children that ended, SIGKILLs the process group of those past
    // their timeout (their result follows at a later dispatch), then calls
    // the done() of the reaped ones, which may start() again.
    void dispatch();

    size_t running() const { return children_.size(); }

private:
    using Clock = std::chrono::steady_clock;
    class Forker;
    struct Child {
        UniqueFd pidfd;
        Clock::time_point deadline;  // time_point::max(): no timeout
        bool killed = false;
        std::function<void(const ChildResult&)> done;
    };

    void track(pid_t pid, std::chrono::milliseconds timeout, std::function<void(const ChildResult&)> done);
    std::optional<ChildResult> reap(const Child& child) const;
    void kill_overdue(Clock::time_point now);
    void arm_timer() const;

    bool script_security_;
    std::unique_ptr<Forker> forker_;
    UniqueFd epoll_;
    UniqueFd timer_;
    UniqueFd devnull_;
    std::map<pid_t, Child> children_;
};

}  // namespace lbd
