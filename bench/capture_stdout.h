// Runs a helper program (the Python reference side of a benchmark, or a front end being timed)
// and returns what it printed, with its wall time and peak memory.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ps {

struct ChildRun {
    std::string out;            // its stdout
    double seconds = 0;         // wall time from start to exit
    int64_t peak_rss_bytes = 0;  // its own peak resident set (getrusage's ru_maxrss)
};

// Runs args[0] with args[1..] with its stdout captured (stderr passes through), `env` added to
// this process's environment ("NAME=value" each). Throws ps::Error when it cannot start or exits
// non-zero.
ChildRun run_child(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

// run_child's stdout alone.
std::string capture_stdout(const std::vector<std::string>& args);

}  // namespace ps
