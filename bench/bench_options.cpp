#include "bench/bench_options.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace ps {

void bench_usage_error(const std::string& program, const std::string& usage, const std::string& what) {
    std::fprintf(stderr, "%s: %s\nusage: %s %s\n", program.c_str(), what.c_str(), program.c_str(), usage.c_str());
    std::exit(64);
}

BenchOptions parse_bench_options(int argc, char** argv, const std::string& program, const std::string& usage,
                                 int default_repeats, const std::map<std::string, int64_t>& extra,
                                 const std::map<std::string, std::string>& texts) {
    BenchOptions o;
    o.repeats = default_repeats;
    o.values = extra;
    o.texts = texts;
    auto positive = [&](const std::string& flag, const char* text) {
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(text, &end, 10);
        if (errno != 0 || end == text || *end != '\0' || v <= 0) bench_usage_error(program, usage, flag + " needs a positive integer");
        return static_cast<int64_t>(v);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            std::printf("usage: %s %s\n", program.c_str(), usage.c_str());
            std::exit(0);
        }
        if (i + 1 >= argc) bench_usage_error(program, usage, "unknown option or missing value: " + a);
        const char* v = argv[++i];
        if (a == "--dir")
            o.dir = v;
        else if (a == "--repeats")
            o.repeats = static_cast<int>(std::min<int64_t>(positive(a, v), 1000));
        else if (a == "--threads")
            o.threads = static_cast<int>(std::min<int64_t>(positive(a, v), 1024));
        else if (o.values.count(a))
            o.values[a] = positive(a, v);
        else if (o.texts.count(a))
            o.texts[a] = v;
        else
            bench_usage_error(program, usage, "unknown option: " + a);
    }
    if (o.threads == 0) o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return o;
}

std::string bench_temp_root() {
    const char* tmp = std::getenv("TMPDIR");
    return tmp && *tmp ? tmp : "/tmp";
}

}  // namespace ps
