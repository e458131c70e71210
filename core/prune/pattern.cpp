#include "core/prune/pattern.h"

#include <sstream>

#include "core/error.h"

namespace ps {

namespace {

// A decimal count of 1 to 6 digits, or -1.
int parse_count(const std::string& s) {
    if (s.empty() || s.size() > 6) return -1;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

}  // namespace

std::string SparsityPattern::name() const {
    return is_nm() ? std::to_string(n) + ":" + std::to_string(m) : std::string("unstructured");
}

SparsityPattern SparsityPattern::parse(const std::string& s, const std::string& where) {
    if (s == "unstructured") return {};
    const size_t colon = s.find(':');
    if (colon == std::string::npos)
        throw Error(where, "'" + s + "' is neither 'unstructured' nor N:M (e.g. 2:4)");
    const int n = parse_count(s.substr(0, colon)), m = parse_count(s.substr(colon + 1));
    if (n < 0 || m < 0) throw Error(where, "'" + s + "' is not N:M with whole numbers N and M (e.g. 2:4)");
    SparsityPattern p;
    p.n = n;
    p.m = m;
    if (n < 1 || n >= m) throw Error(where, "'" + s + "' needs 1 <= N < M");
    return p;
}

void check_pattern(const SparsityPattern& p, int64_t cols, const std::string& tensor) {
    if (!p.is_nm()) {
        if (p.m < 0 || p.n != 0)
            throw Error(tensor, "invalid sparsity pattern " + std::to_string(p.n) + ":" + std::to_string(p.m));
        return;
    }
    if (p.n < 1 || p.n >= p.m) throw Error(tensor, "sparsity pattern " + p.name() + " needs 1 <= N < M");
    if (cols % p.m != 0)
        throw Error(tensor, "sparsity pattern " + p.name() + " needs the input columns (" + std::to_string(cols) +
                                ") to be a multiple of " + std::to_string(p.m));
}

void check_sparsity(double sparsity, const std::string& where) {
    if (!(sparsity >= 0.0 && sparsity < 1.0))
    {
        std::ostringstream os;
        os << "sparsity " << sparsity << " is outside [0, 1)";
        throw Error(where, os.str());
    }
}

}  // namespace ps
