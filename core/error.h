// The one exception type core throws: a single line naming the item (file, field, tensor) and the
// problem, meant to be shown to the user verbatim.
#pragma once
#include <stdexcept>
#include <string>

namespace ps {

class Error : public std::runtime_error {
public:
    Error(const std::string& where, const std::string& what)
        : std::runtime_error(where.empty() ? what : where + ": " + what) {}
};

// The first line of an exception's message: all of a ps::Error, and the part of a torch error
// before the C++ backtrace it appends.
inline std::string first_line(const std::exception& e) {
    const std::string what = e.what();
    return what.substr(0, what.find('\n'));
}

}  // namespace ps
