// Runs a helper program (the Python reference side of a benchmark) and returns what it printed.
#pragma once
#include <string>
#include <vector>

namespace ps {

// Runs args[0] with args[1..] with its stdout captured; stderr passes through. Throws ps::Error
// when it cannot start or exits non-zero.
std::string capture_stdout(const std::vector<std::string>& args);

}  // namespace ps
