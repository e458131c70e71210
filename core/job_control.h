// How long work reports where it is and learns that it should stop: every long operation in core
// takes a JobControl. The GUI's worker thread and the CLI fill in the callback; cancel() may be
// called from any thread, and the work throws Cancelled at its next check.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/error.h"

namespace ps {

struct Progress {
    std::string stage;  // "training", "zero-shot", ...
    int64_t done = 0, total = 0;
    std::string detail;  // e.g. "loss 0.4312"
};

class Cancelled : public Error {
public:
    explicit Cancelled(const std::string& stage) : Error(stage, "cancelled") {}
};

class JobControl {
public:
    std::function<void(const Progress&)> on_progress;

    void cancel() const { cancelled_->store(true); }
    bool cancelled() const { return cancelled_->load(); }
    // Throws Cancelled when cancel() was called.
    void check(const std::string& stage) const {
        if (cancelled()) throw Cancelled(stage);
    }
    // Reports progress, then checks for cancellation.
    void report(const std::string& stage, int64_t done, int64_t total, const std::string& detail = {}) const {
        if (on_progress) on_progress({stage, done, total, detail});
        check(stage);
    }

private:
    std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace ps
