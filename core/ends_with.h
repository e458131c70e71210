// Whether a string ends with a suffix (std::string::ends_with arrives with C++20): file
// extensions, name suffixes of tensors and modules, a question's prompt suffix.
#pragma once
#include <string>

namespace ps {

inline bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace ps
