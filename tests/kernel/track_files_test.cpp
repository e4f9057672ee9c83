// TrackFiles on real files: init_file, values written in place, replaced by
// rename and deleted, keepalived's number parsing, a missing directory.
#include "kernel_test.h"
#include "temp_dir.h"
#include "util/track_files.h"

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

namespace lbd {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

using lbd::test::TempDir;

using lbd::test::slurp;

void put(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TrackedFile track_file(std::string name, std::string path) {
    TrackedFile f;
    f.name = std::move(name);
    f.path = std::move(path);
    return f;
}

struct Change {
    std::string name;
    int64_t value;
    bool operator==(const Change&) const = default;
};

// Dispatches until `count` changes arrived; false when `limit` passes first.
bool pump(TrackFiles& files, const std::vector<Change>& changes, size_t count, milliseconds limit = 2s) {
    const auto until = Clock::now() + limit;
    while (changes.size() < count) {
        const auto left = std::chrono::ceil<milliseconds>(until - Clock::now());
        if (left <= 0ms) return false;
        pollfd p{files.fd(), POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) == 1) files.dispatch();
    }
    return true;
}

TEST(TrackFiles, InitFileWritesMissingFilesAndOverwritesOnRequest) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    auto missing = track_file("missing", dir / "missing");
    missing.init_value = 5;
    put(dir / "kept", "7\n");
    auto kept = track_file("kept", dir / "kept");
    kept.init_value = 5;
    put(dir / "overwritten", "7\n");
    auto overwritten = track_file("overwritten", dir / "overwritten");
    overwritten.init_value = -3;
    overwritten.init_overwrite = true;
    put(dir / "reloaded", "7\n");
    auto reloaded = overwritten;
    reloaded.name = "reloaded";
    reloaded.path = dir / "reloaded";

    TrackFiles files({missing, kept, overwritten}, [](const std::string&, int64_t) {});
    EXPECT_EQ(slurp(dir / "missing"), "5\n");
    EXPECT_EQ(files.value("missing"), 5);
    EXPECT_EQ(slurp(dir / "kept"), "7\n");
    EXPECT_EQ(files.value("kept"), 7);
    EXPECT_EQ(slurp(dir / "overwritten"), "-3\n");
    EXPECT_EQ(files.value("overwritten"), -3);
    EXPECT_THROW(files.value("other"), std::out_of_range);

    TrackFiles on_reload({reloaded}, [](const std::string&, int64_t) {}, true);
    EXPECT_EQ(slurp(dir / "reloaded"), "7\n") << "never overwritten on a reload";
}

TEST(TrackFiles, FollowsWritesRenamesAndDeletes) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    put(dir / "weight", "1\n");
    put(dir / "other", "9\n");
    std::vector<Change> changes;
    TrackFiles files({track_file("w", dir / "weight"), track_file("o", dir / "other")},
                     [&](const std::string& name, int64_t value) { changes.push_back({name, value}); });
    EXPECT_EQ(files.value("w"), 1);

    put(dir / "weight", "20\n");
    ASSERT_TRUE(pump(files, changes, 1));
    EXPECT_EQ(changes.back(), (Change{"w", 20}));

    put(dir / "weight.new", "-40\n");
    ASSERT_EQ(std::rename((dir / "weight.new").c_str(), (dir / "weight").c_str()), 0);
    ASSERT_TRUE(pump(files, changes, 2));
    EXPECT_EQ(changes.back(), (Change{"w", -40}));

    ASSERT_EQ(std::remove((dir / "weight").c_str()), 0);
    ASSERT_TRUE(pump(files, changes, 3));
    EXPECT_EQ(changes.back(), (Change{"w", 0}));

    put(dir / "weight", "3\n");
    ASSERT_TRUE(pump(files, changes, 4));
    EXPECT_EQ(changes.back(), (Change{"w", 3})) << "created again";

    put(dir / "weight", "3\n");
    put(dir / "other", "8\n");
    ASSERT_TRUE(pump(files, changes, 5));
    EXPECT_EQ(changes.back(), (Change{"o", 8})) << "the same value again is no change";
    EXPECT_EQ(files.value("w"), 3);
}

TEST(TrackFiles, ReadsNumbersAsKeepalived) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    std::vector<Change> changes;
    put(dir / "n", "  12 apples\n");
    TrackFiles files({track_file("n", dir / "n")},
                     [&](const std::string& name, int64_t value) { changes.push_back({name, value}); });
    EXPECT_EQ(files.value("n"), 12) << "leading blanks skipped, the rest ignored";

    const std::pair<std::string, int64_t> cases[] = {
        {"0x10\n", 16}, {"010\n", 8}, {"-2147483648\n", -2147483648LL}, {"garbage\n", 0}, {"7", 7}, {"", 0},
    };
    for (const auto& [text, value] : cases) {
        const size_t before = changes.size();
        put(dir / "n", text);
        ASSERT_TRUE(pump(files, changes, before + 1)) << "'" << text << "'";
        EXPECT_EQ(changes.back().value, value) << "'" << text << "'";
    }

    testing::internal::CaptureStderr();
    put(dir / "n", "4294967296\n");
    pollfd p{files.fd(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 2000), 1);
    files.dispatch();
    put(dir / "n", "6\n");
    ASSERT_TRUE(pump(files, changes, changes.size() + 1));
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(changes.back().value, 6);
    EXPECT_NE(log.find("Invalid number 4294967296 read from " + dir / "n" + " - ignoring"), std::string::npos)
        << log;
}

TEST(TrackFiles, MissingDirectoryReadsZero) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    testing::internal::CaptureStderr();
    TrackFiles files({track_file("lost", dir / "no-such-dir/file")}, [](const std::string&, int64_t) {});
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(files.value("lost"), 0);
    EXPECT_NE(log.find("Track file directory for lost does not exist"), std::string::npos) << log;
}

}  // namespace
}  // namespace lbd
