// The options of one prunestudio-cli command: positional arguments, flags (--json) and valued
// options (--seed 3, repeatable). Mistakes throw UsageError, which main reports with the usage.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Args {
public:
    Args(const std::string& command, const std::vector<std::string>& argv, const std::set<std::string>& flags,
         const std::set<std::string>& valued)
        : command_(command) {
        for (size_t i = 0; i < argv.size(); ++i) {
            const std::string& a = argv[i];
            if (flags.count(a)) {
                values_[a].push_back("");
            } else if (valued.count(a)) {
                if (i + 1 >= argv.size()) fail(a + " needs a value");
                values_[a].push_back(argv[++i]);
            } else if (a.size() > 1 && a[0] == '-') {
                fail("unknown option " + a);
            } else {
                positional_.push_back(a);
            }
        }
    }

    // The positional arguments, checking there are between min and max of them.
    const std::vector<std::string>& positional(size_t min, size_t max, const std::string& what) const {
        if (positional_.size() < min) fail("missing " + what);
        if (positional_.size() > max) fail("unexpected argument " + positional_[max]);
        return positional_;
    }
    bool flag(const std::string& name) const { return values_.count(name) > 0; }
    std::vector<std::string> values(const std::string& name) const {
        auto it = values_.find(name);
        return it == values_.end() ? std::vector<std::string>{} : it->second;
    }
    std::string value(const std::string& name, const std::string& fallback) const {
        auto it = values_.find(name);
        return it == values_.end() ? fallback : it->second.back();
    }
    int64_t integer(const std::string& name, int64_t fallback, int64_t min) const {
        if (!flag(name)) return fallback;
        int64_t x = 0;
        if (!parse_whole(value(name, ""), [](const std::string& v, size_t* used) { return std::stoll(v, used); }, x) || x < min)
            fail(name + " needs an integer >= " + std::to_string(min));
        return x;
    }
    double number(const std::string& name, double fallback) const {
        if (!flag(name)) return fallback;
        double x = 0;
        if (!parse_whole(value(name, ""), [](const std::string& v, size_t* used) { return std::stod(v, used); }, x) || !(x > 0))
            fail(name + " needs a positive number");
        return x;
    }
    [[noreturn]] void fail(const std::string& msg) const { throw UsageError(command_ + ": " + msg); }

private:
    // Whether `convert` reads all of `v` (std::stoll / std::stod with their position out-argument).
    template <class T, class Convert>
    static bool parse_whole(const std::string& v, Convert convert, T& x) {
        size_t used = 0;
        try {
            x = convert(v, &used);
        } catch (const std::exception&) {
            return false;
        }
        return !v.empty() && used == v.size();
    }

    std::string command_;
    std::vector<std::string> positional_;
    std::map<std::string, std::vector<std::string>> values_;
};
