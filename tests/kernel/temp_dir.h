// A scratch directory for a kernel test (scripts, fifos, track files),
// removed with everything in it when the test ends, and the small file
// helpers the tests around it share.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace lbd::test {

class TempDir {
public:
    // /tmp/lbd-TAG-XXXXXX
    explicit TempDir(const std::string& tag = "test") {
        std::string name = "/tmp/lbd-" + tag + "-XXXXXX";
        if (mkdtemp(name.data()) == nullptr) throw std::runtime_error("mkdtemp " + name);
        path_ = name;
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string operator/(const std::string& name) const { return path_ + "/" + name; }
    const std::string& path() const { return path_; }

    // An executable shell script `name` running `body`; its path.
    std::string script(const std::string& name, const std::string& body) const {
        const std::string path = *this / name;
        std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
        chmod(path.c_str(), 0755);
        return path;
    }

private:
    std::string path_;
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace lbd::test
