// lbctl(8) and lbctl's bash completion, written from cli/subcommands.h so
// that they say what `lbctl --help` says. The build runs
// `lbctl generate man` and `lbctl generate bash-completion`.
#pragma once

#include <string>

namespace lbctl {

std::string man_page();
std::string bash_completion();

}  // namespace lbctl
