#include "generate.h"

#include "client.h"
#include "subcommands.h"
#include "util/version.h"

#include <fmt/format.h>

namespace lbctl {
namespace {

// roff: a leading dot or quote would be a request; backslashes escape.
std::string roff(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else
            out += c;
    }
    if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
    return out;
}

}  // namespace

std::string man_page() {
    std::string m;
    m += fmt::format(".TH LBCTL 8 \"\" \"lbd {}\" \"lbd\"\n", lbd::kVersion);
    m += ".SH NAME\nlbctl \\- look at and steer a running lbd\n";
    m += ".SH SYNOPSIS\n.B lbctl\n[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n";
    m += ".SH DESCRIPTION\nlbctl talks to the lbd daemon over its control socket, /run/lbd/\\fINAME\\fR.sock "
         "(newline-delimited JSON, root or lbd's own user only). Every command prints a table for people, or "
         "with \\fB\\-\\-json\\fR the daemon's answer as JSON, for scripts.\n";
    m += ".SH OPTIONS\n";
    for (const auto& o : kGlobalOptions) m += fmt::format(".TP\n.B {}\n{}\n", roff(o.flag), roff(o.help));
    m += ".SH COMMANDS\n";
    for (const auto& s : kSubcommands) {
        m += fmt::format(".TP\n.B {}{}{}\n{}\n", s.name, s.synopsis.empty() ? "" : " ", roff(s.synopsis),
                         roff(s.description));
        for (const auto& o : s.options) {
            if (o.flag.empty()) break;
            m += fmt::format(".RS\n.TP\n.B {}\n{}\n.RE\n", roff(o.flag), roff(o.help));
        }
    }
    m += fmt::format(
        ".SH EXIT STATUS\n.TP\n{}\nsuccess\n.TP\n{}\nthe daemon refused the request (its reason is printed), or "
        "\\fBcheck\\fR found the file invalid\n.TP\n{}\nbad command line\n.TP\n{}\nno daemon answers on the "
        "socket (not running, another \\-\\-instance, or no permission)\n.TP\n{}\nan answer lbctl cannot read "
        "(another protocol version)\n",
        int(kOk), int(kRefused), int(kUsage), int(kUnreachable), int(kProtocol));
    m += ".SH FILES\n.TP\n/run/lbd/\\fINAME\\fR.sock\nthe control socket of the daemon started with "
         "\\-\\-instance \\fINAME\\fR\n.TP\n/run/lbd/\\fINAME\\fR.lock\nholds that daemon's pid, which "
         "\\-\\-pid looks for\n";
    m += ".SH SEE ALSO\n.BR lbd (8),\n.BR lbd.conf (5)\n";
    return m;
}

std::string bash_completion() {
    std::string names;
    for (const auto& s : kSubcommands) names += (names.empty() ? "" : " ") + std::string(s.name);
    std::string cases;
    for (const auto& s : kSubcommands) {
        std::string flags;
        for (const auto& o : s.options) {
            if (o.flag.empty()) break;
            flags += " " + std::string(o.flag.substr(0, o.flag.find(' ')));
        }
        if (s.name == "check")
            cases += "        check) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n";
        else if (s.name == "dump")
            cases += "        dump) COMPREPLY=($(compgen -W \"data stats --json\" -- \"$cur\")); return ;;\n";
        else if (!flags.empty())
            cases += fmt::format("        {}) COMPREPLY=($(compgen -W \"{} --json\" -- \"$cur\")); return ;;\n",
                                 s.name, flags.substr(1));
    }
    return fmt::format(R"(# bash completion for lbctl, written by `lbctl generate bash-completion`.
_lbctl() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} i cmd=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${{COMP_WORDS[i]}} in
            --instance|-s|--socket|--pid) ((i++)) ;;
            -*) ;;
            *) cmd=${{COMP_WORDS[i]}}; break ;;
        esac
    done
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "{} --instance --socket --pid --json --version --help" -- "$cur"))
        return
    fi
    case $cmd in
{}        *) COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
    esac
}}
complete -F _lbctl lbctl
)",
                       names, cases);
}

}  // namespace lbctl
