// global_defs' lb_announce_table: off unless written; a table id of lbd's
// own (not 0, nor the kernel's default, main and local tables); and what is
// refused, with the exact "file:line: message".
#include "config/load.h"

#include <gtest/gtest.h>

#include <string>

namespace lbd::config {
namespace {

GlobalDefs globals(const std::string& body) { return parse_string("global_defs {\n" + body + "}\n", "a.conf").global; }

std::string error_of(const std::string& body) {
    try {
        globals(body);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}

TEST(ConfigAnnounce, OffWhenAbsent) { EXPECT_FALSE(globals("  router_id LB1\n").announce_table); }

TEST(ConfigAnnounce, TakesATableId) {
    EXPECT_EQ(globals("  lb_announce_table 100\n").announce_table, 100u);
    EXPECT_EQ(globals("  lb_announce_table 1\n").announce_table, 1u);
    EXPECT_EQ(globals("  lb_announce_table 252\n").announce_table, 252u);
    EXPECT_EQ(globals("  lb_announce_table 256\n").announce_table, 256u);
    EXPECT_EQ(globals("  lb_announce_table 4294967295\n").announce_table, 4294967295u);
}

TEST(ConfigAnnounce, RefusesTheKernelsTablesAndNonsense) {
    const std::string own = " is one of the kernel's own tables (default 253, main 254, local 255): give lbd a table of its own";
    EXPECT_EQ(error_of("  lb_announce_table 253\n"), "a.conf:2: lb_announce_table 253" + own);
    EXPECT_EQ(error_of("  lb_announce_table 254\n"), "a.conf:2: lb_announce_table 254" + own);
    EXPECT_EQ(error_of("  lb_announce_table 255\n"), "a.conf:2: lb_announce_table 255" + own);
    EXPECT_EQ(error_of("  lb_announce_table 0\n"), "a.conf:2: lb_announce_table 0 is out of range 1..4294967295");
    EXPECT_EQ(error_of("  lb_announce_table 4294967296\n"),
              "a.conf:2: lb_announce_table 4294967296 is out of range 1..4294967295");
    EXPECT_EQ(error_of("  lb_announce_table main\n"), "a.conf:2: lb_announce_table 'main' is not a whole number");
    EXPECT_EQ(error_of("  lb_announce_table\n"), "a.conf:2: lb_announce_table needs a value");
}

TEST(ConfigAnnounce, ATableChangeIsAChange) {
    EXPECT_NE(globals("  lb_announce_table 100\n"), globals("  lb_announce_table 101\n"));
    EXPECT_NE(globals("  lb_announce_table 100\n"), globals(""));
}

}  // namespace
}  // namespace lbd::config
