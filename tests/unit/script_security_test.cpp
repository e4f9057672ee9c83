// keepalived's start-up warning when scripts run as root while
// enable_script_security is off: its words, one line for any number of such
// scripts, and none when the scripts run as another user or security is on.
#include "config/load.h"
#include "daemon/config_check.h"

#include <gtest/gtest.h>

#include <string>

namespace lbd {
namespace {

constexpr const char* kWarning = "SECURITY VIOLATION - scripts are being executed but script_security not enabled.";

config::Config with(const std::string& global, const std::string& body) {
    return config::parse_string("global_defs {\n" + global + "\n}\n" + body, "security.conf");
}

const std::string kRootScripts = R"(vrrp_script chk {
    script "/bin/true"
    user root
}
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    track_script { chk }
    notify_master "/bin/true" root
    notify_backup "/bin/true" root
    virtual_ipaddress { 192.0.2.1/32 }
}
)";

TEST(ScriptSecurity, RootScriptsWithoutScriptSecurityGetKeepalivedsWarningOnce) {
    EXPECT_EQ(script_security_warning(with("", kRootScripts)), kWarning);
}

TEST(ScriptSecurity, NoWarningWithScriptSecurity) {
    EXPECT_EQ(script_security_warning(with("enable_script_security", kRootScripts)), std::nullopt);
}

TEST(ScriptSecurity, NoWarningForScriptsOfAnotherUser) {
    const std::string body = R"(virtual_server 192.0.2.1 80 {
    real_server 192.0.2.2 80 {
        notify_up "/bin/true" nobody
        MISC_CHECK {
            misc_path "/bin/true"
            user nobody
        }
    }
}
)";
    EXPECT_EQ(script_security_warning(with("", body)), std::nullopt);
    // script_user: the user of scripts that name none.
    EXPECT_EQ(script_security_warning(with("script_user nobody", R"(virtual_server 192.0.2.1 80 {
    quorum_up "/bin/true"
    real_server 192.0.2.2 80 { weight 1 }
}
)")),
              std::nullopt);
    // A MISC_CHECK of root among them is enough.
    EXPECT_EQ(script_security_warning(with("script_user nobody", R"(virtual_server 192.0.2.1 80 {
    real_server 192.0.2.2 80 {
        MISC_CHECK {
            misc_path "/bin/true"
            user root
        }
    }
}
)")),
              kWarning);
}

TEST(ScriptSecurity, NoScriptsNoWarning) { EXPECT_EQ(script_security_warning(with("router_id x", "")), std::nullopt); }

}  // namespace
}  // namespace lbd
