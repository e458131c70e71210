// The command line the benchmarks share: --dir DIR, --repeats R, --threads T and each program's
// own positive-integer options (bench_io's --size-mb), with one usage line, --help, and exit
// status 64 for a bad option; plus where their scratch files go.
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace ps {

struct BenchOptions {
    std::string dir;                        // --dir; "" when not given (each program has its default)
    int repeats = 1;                        // --repeats, at most 1000
    int threads = 0;                        // --threads, at most 1024; defaults to the number of cores
    std::map<std::string, int64_t> values;  // the program's own options by flag, defaults filled in
    std::map<std::string, std::string> texts;  // the program's own text options (--device cuda), defaults filled in
};

// `extra`: the program's own options (flag -> default), each taking a positive integer; `texts`:
// those taking any text.
// `usage` is printed after "usage: <program> ". Exits the process on --help or a bad option.
BenchOptions parse_bench_options(int argc, char** argv, const std::string& program, const std::string& usage,
                                 int default_repeats, const std::map<std::string, int64_t>& extra = {},
                                 const std::map<std::string, std::string>& texts = {});

// Prints "<program>: <what>" and the usage line to stderr and exits with status 64.
[[noreturn]] void bench_usage_error(const std::string& program, const std::string& usage, const std::string& what);

// $TMPDIR, or /tmp when it is unset or empty.
std::string bench_temp_root();

}  // namespace ps
