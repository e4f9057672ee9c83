#include "util/child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace lbd {
namespace {

constexpr uint64_t kTimerTag = 0;  // epoll data of the timerfd; a pidfd carries its pid, never 0
constexpr std::string_view kBlanks = " \t\f\n\r\v";
// What keepalived drops from a script's environment: they change how the
// dynamic loader and the shell read everything that follows.
constexpr std::string_view kDroppedEnv[] = {"IFS=", "LD_PRELOAD=", "LD_LIBRARY_PATH="};
// The shell's default when PATH is unset (confstr(_CS_PATH)).
constexpr const char* kDefaultPath = "/bin:/usr/bin";

std::system_error sys_error(const char* what) { return {errno, std::generic_category(), what}; }

bool is_blank(char c) { return kBlanks.find(c) != std::string_view::npos; }

int hex_value(char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10; }

bool is_hex(std::string_view s, size_t i) { return i < s.size() && std::isxdigit(static_cast<unsigned char>(s[i])); }

bool is_octal(std::string_view s, size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '7'; }

// s[i] follows a backslash; returns the character meant and moves i past it.
char unescape(std::string_view s, size_t& i) {
    if (s[i] == 'x' && is_hex(s, i + 1)) {
        unsigned value = 0;
        for (++i; is_hex(s, i); ++i) value = (value << 4) | unsigned(hex_value(s[i]));
        return static_cast<char>(value & 0xff);  // keepalived keeps the low byte of a long run
    }
    if (s[i] == 'c' && i + 1 < s.size()) {
        i += 2;
        return static_cast<char>(s[i - 1] & 0x1f);  // \cX: control-X
    }
    if (is_octal(s, i)) {
        unsigned value = 0;
        for (int n = 0; n < 3 && is_octal(s, i); ++n, ++i) value = value * 8 + unsigned(s[i] - '0');
        return static_cast<char>(value);
    }
    switch (s[i++]) {
    case 'a': return '\a';
    case 'b': return '\b';
    case 'E': return '\x1b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'v': return '\v';
    default: return s[i - 1];
    }
}

// One word starting at s[i] (not a blank); moves i past it.
std::string next_word(std::string_view s, size_t& i) {
    std::string word;
    char quote = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (c == '\\') {
            if (++i == s.size()) throw std::invalid_argument(fmt::format("'{}' ends with a lone backslash", s));
            word += unescape(s, i);
        } else if (quote != 0 || c == '"' || c == '\'') {
            if (c == quote)
                quote = 0;
            else if (quote == 0)
                quote = c;
            else
                word += c;
            ++i;
        } else if (is_blank(c)) {
            break;
        } else {
            word += c;
            ++i;
        }
    }
    if (quote != 0) throw std::invalid_argument(fmt::format("'{}' has no closing {}", s, quote));
    return word;
}

// getpwnam_r / getgrnam_r with a buffer grown until the entry fits; `take`
// copies out what is needed while the buffer still holds it.
template <class Entry, class Take>
auto lookup(int (*get)(const char*, Entry*, char*, size_t, Entry**), const std::string& name, Take take)
    -> std::optional<decltype(take(std::declval<const Entry&>()))> {
    std::vector<char> buf(4096);
    for (;;) {
        Entry entry{};
        Entry* found = nullptr;
        const int err = get(name.c_str(), &entry, buf.data(), buf.size(), &found);
        if (err == ERANGE) {
            buf.resize(buf.size() * 2);
            continue;
        }
        // getpwnam(3): these too may mean "no such name".
        if (err == ENOENT || err == ESRCH || err == EBADF || err == EPERM) return std::nullopt;
        if (err != 0) throw std::system_error(err, std::generic_category(), fmt::format("looking up '{}'", name));
        if (found == nullptr) return std::nullopt;
        return take(entry);
    }
}

std::optional<std::pair<uid_t, gid_t>> find_user(const std::string& name) {
    return lookup(getpwnam_r, name, [](const passwd& p) { return std::pair{p.pw_uid, p.pw_gid}; });
}

std::vector<gid_t> supplementary_groups(const std::string& user, gid_t primary) {
    int count = 16;
    std::vector<gid_t> groups;
    do {
        groups.resize(size_t(count));
    } while (getgrouplist(user.c_str(), primary, groups.data(), &count) < 0);
    groups.resize(size_t(count));
    return groups;
}

bool is_executable_file(const std::string& path) {
    struct stat st{};
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

// execvp's search, done before fork so that the child only calls execve.
std::string find_executable(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* env = std::getenv("PATH");
    const std::string_view path = env != nullptr ? env : kDefaultPath;
    for (size_t start = 0; start <= path.size();) {
        size_t end = path.find(':', start);
        if (end == std::string_view::npos) end = path.size();
        const std::string_view dir = path.substr(start, end - start);
        std::string candidate = fmt::format("{}/{}", dir.empty() ? "." : dir, name);
        if (is_executable_file(candidate)) return candidate;
        start = end + 1;
    }
    throw std::runtime_error(fmt::format("'{}' is not found in PATH", name));
}

// keepalived check_security(): owned by root and, for a file or a directory
// without the sticky bit, not writable by a non-root group or by others.
bool safe_component(const struct stat& st) {
    const bool guarded = S_ISREG(st.st_mode) || (S_ISDIR(st.st_mode) && !(st.st_mode & S_ISVTX));
    const bool writable = (st.st_gid != 0 && (st.st_mode & S_IWGRP)) || (st.st_mode & S_IWOTH);
    return st.st_uid == 0 && !(guarded && writable);
}

// The first component of an absolute path, "/" included, that someone other
// than root could change, if any.
std::optional<std::string> unsafe_component(const std::string& path) {
    for (size_t end = 0;;) {
        const std::string prefix = end == 0 ? "/" : path.substr(0, end);
        struct stat st{};
        if (lstat(prefix.c_str(), &st) < 0 || !safe_component(st)) return prefix;
        if (end == path.size()) return std::nullopt;
        end = std::min(path.find('/', end + 1), path.size());
    }
}

bool runs_privileged(const std::string& path, const std::optional<ScriptIdentity>& id) {
    const uid_t uid = id ? id->uid : geteuid();
    const gid_t gid = id ? id->gid : getegid();
    struct stat st{};
    const bool setid_root = stat(path.c_str(), &st) == 0 && ((st.st_uid == 0 && (st.st_mode & S_ISUID)) ||
                                                             (st.st_gid == 0 && (st.st_mode & S_ISGID)));
    return uid == 0 || gid == 0 || setid_root;
}

// enable_script_security: both the path as written and the file it resolves
// to must be out of reach of non-root users.
void check_security(const std::string& path) {
    std::unique_ptr<char, decltype(&std::free)> real(realpath(path.c_str(), nullptr), &std::free);
    if (!real) throw std::runtime_error(fmt::format("cannot access '{}': {}", path, std::strerror(errno)));
    for (const std::string& p : {path, std::string(real.get())}) {
        if (p.front() != '/') continue;
        if (auto bad = unsafe_component(p))
            throw std::runtime_error(fmt::format(
                "unsafe permissions on '{}' for a script run as root (enable_script_security)", *bad));
    }
}

std::vector<std::string> script_environment() {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view var(*e);
        const bool dropped = std::any_of(std::begin(kDroppedEnv), std::end(kDroppedEnv),
                                         [&](std::string_view p) { return var.starts_with(p); });
        if (!dropped) env.emplace_back(var);
    }
    return env;
}

// argv / envp over strings that must stay untouched until execve.
std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (std::string& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

// What a child that failed before or at execve sends back.
struct ChildFailure {
    enum Stage : int { setup, groups, gid, uid, exec } stage;
    int error;
};

[[noreturn]] void fail_child(int report_fd, ChildFailure::Stage stage) {
    const ChildFailure failure{stage, errno};
    [[maybe_unused]] const ssize_t sent = write(report_fd, &failure, sizeof(failure));
    _exit(127);
}

timespec to_timespec(std::chrono::steady_clock::time_point t) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    if (ts.tv_sec == 0 && ts.tv_nsec == 0) ts.tv_nsec = 1;  // all zero would disarm the timer
    return ts;
}

void kill_group(pid_t pid) {
    if (kill(-pid, SIGKILL) < 0) kill(pid, SIGKILL);
}

// Everything the child needs, built before fork: after it, the child may only
// make async-signal-safe calls (another thread may hold malloc's lock).
struct Exec {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<ScriptIdentity> identity;
    std::string user;  // for messages
    pid_t parent = 0;
};

Exec prepare(const Command& script, const std::vector<std::string>& extra_args, bool script_security) {
    Exec e;
    e.args = split_command(script.command);
    e.args.insert(e.args.end(), extra_args.begin(), extra_args.end());
    e.path = find_executable(e.args.front());
    e.identity = resolve_identity(script);
    e.user = script.user;
    if (script_security && runs_privileged(e.path, e.identity)) check_security(e.path);
    e.env = script_environment();
    e.parent = getpid();
    return e;
}

// The child between fork and execve.
[[noreturn]] void exec_child(const Exec& e, char* const* argv, char* const* envp, int report_fd, int devnull) {
    for (int sig = 1; sig < NSIG; ++sig) {
        struct sigaction dfl{};
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, nullptr);  // fails harmlessly for SIGKILL, SIGSTOP and libc's own
    }
    setpgid(0, 0);
    // Out of 0..2 first, so that redirecting those cannot close either.
    report_fd = fcntl(report_fd, F_DUPFD_CLOEXEC, 3);
    if (report_fd < 0) _exit(127);
    devnull = fcntl(devnull, F_DUPFD_CLOEXEC, 3);
    if (devnull < 0) fail_child(report_fd, ChildFailure::setup);
    for (int fd = 0; fd < 3; ++fd)
        if (dup2(devnull, fd) < 0) fail_child(report_fd, ChildFailure::setup);
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);  // whatever a library left inheritable
    // Raw system calls: glibc's wrappers would try to reach the parent's
    // other threads, which do not exist here.
    if (const auto& id = e.identity) {
        if (syscall(SYS_setgroups, id->groups.size(), id->groups.data()) < 0)
            fail_child(report_fd, ChildFailure::groups);
        if (syscall(SYS_setresgid, id->gid, id->gid, id->gid) < 0) fail_child(report_fd, ChildFailure::gid);
        if (syscall(SYS_setresuid, id->uid, id->uid, id->uid) < 0) fail_child(report_fd, ChildFailure::uid);
    }
    // After setuid, which clears it. The check closes the window where the
    // parent ended before the request.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != e.parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(e.path.c_str(), argv, envp);
    fail_child(report_fd, ChildFailure::exec);
}

[[noreturn]] void throw_failure(const ChildFailure& failure, const Exec& e) {
    const char* why = std::strerror(failure.error);
    switch (failure.stage) {
    case ChildFailure::groups: throw std::runtime_error(fmt::format("setgroups for '{}': {}", e.user, why));
    case ChildFailure::gid: throw std::runtime_error(fmt::format("setgid for '{}': {}", e.user, why));
    case ChildFailure::uid: throw std::runtime_error(fmt::format("setuid to '{}': {}", e.user, why));
    case ChildFailure::exec: throw std::runtime_error(fmt::format("cannot execute '{}': {}", e.path, why));
    case ChildFailure::setup: break;
    }
    throw std::runtime_error(fmt::format("setting up the child for '{}': {}", e.path, why));
}

// Forks and returns once the child has reached execve.
pid_t spawn(Exec& e, int devnull) {
    std::vector<char*> argv = pointers(e.args), envp = pointers(e.env);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) throw sys_error("pipe2");
    UniqueFd report_read(fds[0]), report_write(fds[1]);

    // No handler of ours may run in the child before it resets them all.
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    const pid_t pid = fork();
    if (pid == 0) exec_child(e, argv.data(), envp.data(), report_write.get(), devnull);
    const int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    if (pid < 0) throw std::system_error(fork_errno, std::generic_category(), "fork");
    report_write.reset();

    // End of file: execve succeeded, closing the pipe on its way.
    ChildFailure failure{};
    ssize_t n;
    while ((n = read(report_read.get(), &failure, sizeof(failure))) < 0 && errno == EINTR) {
    }
    if (n <= 0) return pid;
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw_failure(failure, e);
}

}  // namespace

// One thread that forks, for one ChildProcesses: its children's
// PR_SET_PDEATHSIG is this thread's end. Its owner's calls come one at a
// time (ChildProcesses is used from one thread at a time), each waiting for
// its fork.
class ChildProcesses::Forker {
public:
    Forker() : thread_([this] { serve(); }) {}
    ~Forker() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    Forker(const Forker&) = delete;
    Forker& operator=(const Forker&) = delete;

    // fork_child() run on the forker's thread; its exception comes back here.
    pid_t run(const std::function<pid_t()>& fork_child) {
        std::unique_lock lock(mutex_);
        job_ = &fork_child;
        wake_.notify_all();
        wake_.wait(lock, [&] { return job_ == nullptr; });
        if (auto error = std::exchange(error_, nullptr)) std::rethrow_exception(error);
        return pid_;
    }

private:
    void serve() {
        // Signals are for the daemon's own threads; spawn() blocks them
        // around fork as ever.
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, nullptr);
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || job_ != nullptr; });
            if (stopping_) return;
            try {
                pid_ = (*job_)();
            } catch (...) {
                error_ = std::current_exception();
            }
            job_ = nullptr;
            wake_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    const std::function<pid_t()>* job_ = nullptr;
    pid_t pid_ = 0;
    std::exception_ptr error_;
    bool stopping_ = false;
    std::thread thread_;  // last: it starts once the rest is ready
};

std::vector<std::string> split_command(std::string_view command) {
    std::vector<std::string> words;
    for (size_t i = 0;;) {
        while (i < command.size() && is_blank(command[i])) ++i;
        if (i == command.size()) break;
        words.push_back(next_word(command, i));
    }
    if (words.empty()) throw std::invalid_argument("the command is empty");
    return words;
}

Command with_default_user(Command command, const std::string& script_user, const std::string& script_group) {
    if (!command.user.empty()) return command;
    if (!script_user.empty()) {
        command.user = script_user;
        command.group = script_group;
    } else if (find_user("keepalived_script")) {
        command.user = "keepalived_script";
    }
    return command;
}

std::optional<ScriptIdentity> resolve_identity(const Command& script) {
    if (script.user.empty()) return std::nullopt;
    const auto user = find_user(script.user);
    if (!user) throw std::runtime_error(fmt::format("script user '{}' does not exist", script.user));
    ScriptIdentity id{user->first, user->second, {}};
    std::string_view group = script.group;
    const bool supplementary = group.starts_with(':');
    if (supplementary) group.remove_prefix(1);
    if (!group.empty()) {
        const std::string name(group);
        const auto gid = lookup(getgrnam_r, name, [](const struct group& g) { return g.gr_gid; });
        if (!gid) throw std::runtime_error(fmt::format("script group '{}' does not exist", name));
        id.gid = *gid;
    }
    if (supplementary) id.groups = supplementary_groups(script.user, user->second);
    return id;
}

bool runs_as_root(const Command& command) {
    const auto id = resolve_identity(command);
    return (id ? id->uid : geteuid()) == 0;
}

ChildProcesses::ChildProcesses(bool script_security)
    : script_security_(script_security),
      forker_(std::make_unique<Forker>()),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      timer_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      devnull_(open("/dev/null", O_RDWR | O_CLOEXEC)) {
    if (!epoll_ || !timer_ || !devnull_) throw sys_error("child processes: epoll, timerfd or /dev/null");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTimerTag;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, timer_.get(), &ev) < 0) throw sys_error("child processes: epoll_ctl");
}

ChildProcesses::~ChildProcesses() {
    for (auto& [pid, child] : children_) {
        kill_group(pid);
        siginfo_t info{};
        while (waitid(P_PIDFD, id_t(child.pidfd.get()), &info, WEXITED) < 0 && errno == EINTR) {
        }
    }
}

std::optional<std::string> ChildProcesses::start(const Command& script,
                                                 const std::vector<std::string>& extra_args,
                                                 std::chrono::milliseconds timeout,
                                                 std::function<void(const ChildResult&)> done) {
    try {
        Exec exec = prepare(script, extra_args, script_security_);
        track(forker_->run([&] { return spawn(exec, devnull_.get()); }), timeout, std::move(done));
        return std::nullopt;
    } catch (const std::exception& e) {
        return e.what();
    }
}

void ChildProcesses::track(pid_t pid, std::chrono::milliseconds timeout,
                           std::function<void(const ChildResult&)> done) {
    // The child stays a zombie until we reap it, so its pid cannot be reused
    // between fork and pidfd_open.
    UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = uint64_t(pid);
    if (!pidfd || epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, pidfd.get(), &ev) < 0) {
        const auto error = sys_error("watching the child");
        kill_group(pid);
        while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        throw error;
    }
    const auto deadline = timeout.count() > 0 ? Clock::now() + timeout : Clock::time_point::max();
    children_.emplace(pid, Child{std::move(pidfd), deadline, false, std::move(done)});
    arm_timer();
}

void ChildProcesses::dispatch() {
    std::vector<std::pair<std::function<void(const ChildResult&)>, ChildResult>> finished;
    epoll_event events[64];
    const int n = epoll_wait(epoll_.get(), events, 64, 0);
    for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == kTimerTag) {
            uint64_t expirations;
            if (read(timer_.get(), &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
                throw sys_error("child processes: timerfd");
            continue;
        }
        auto it = children_.find(static_cast<pid_t>(events[i].data.u64));
        if (it == children_.end()) continue;
        if (auto result = reap(it->second)) {
            finished.emplace_back(std::move(it->second.done), *result);
            children_.erase(it);  // closing the pidfd also leaves the epoll
        }
    }
    kill_overdue(Clock::now());
    arm_timer();
    for (auto& [done, result] : finished)
        if (done) done(result);
}

std::optional<ChildResult> ChildProcesses::reap(const Child& child) const {
    siginfo_t info{};
    ChildResult result;
    result.timed_out = child.killed;
    if (waitid(P_PIDFD, id_t(child.pidfd.get()), &info, WEXITED | WNOHANG) < 0) return result;  // reaped elsewhere
    if (info.si_pid == 0) return std::nullopt;
    if (info.si_code == CLD_EXITED)
        result.exit_status = info.si_status;
    else
        result.signal = info.si_status;
    return result;
}

void ChildProcesses::kill_overdue(Clock::time_point now) {
    for (auto& [pid, child] : children_) {
        if (child.killed || child.deadline > now) continue;
        kill_group(pid);
        child.killed = true;
    }
}

void ChildProcesses::arm_timer() const {
    auto next = Clock::time_point::max();
    for (const auto& [pid, child] : children_)
        if (!child.killed) next = std::min(next, child.deadline);
    itimerspec spec{};
    if (next != Clock::time_point::max()) spec.it_value = to_timespec(next);
    if (timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) < 0)
        throw sys_error("child processes: timerfd");
}

}  // namespace lbd
