#include "core/prune/lockstep.h"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <omp.h>

#include "core/error.h"
#include "core/model/weights.h"
#include "core/prune/torch_symbol.h"

namespace ps {
namespace {

// Thrown into a parked batch when the run stops early; its thread then ends quietly.
struct Abandoned {};

// The batch the calling thread runs (-1 on other threads).
thread_local long current_batch = -1;

// Kernels of the calling thread on one thread: ATen's per-thread set-up first (its first parallel
// call would otherwise restore the process's count), then OpenMP's and MKL's counts for this thread.
void one_kernel_thread() {
    (void)at::get_num_threads();
    omp_set_num_threads(1);
    using SetLocal = int (*)(int);
    static const auto mkl_local = reinterpret_cast<SetLocal>(torch_cpu_symbol("MKL_Set_Num_Threads_Local"));
    if (mkl_local) mkl_local(1);
}

class Lockstep {
public:
    explicit Lockstep(const LockstepBlock& b) : b_(b), names_(b.batches), inputs_(b.batches), permits_(b.width) {}

    void run(WeightStore& w) {
        w.set_linear_tap([this](const std::string& name, const at::Tensor& x) { park(name, x); });
        std::vector<std::thread> threads;
        threads.reserve(b_.batches);
        try {
            for (size_t i = 0; i < b_.batches; ++i) threads.emplace_back([this, i] { batch(i); });
            steer();
        } catch (...) {  // a thread the system would not start: the others are let go
            fail(std::current_exception());
        }
        for (std::thread& t : threads) t.join();
        w.set_linear_tap(nullptr);
        if (error_) std::rethrow_exception(error_);
    }

private:
    // A batch's thread: takes a compute permit, runs the block, gives the permit back.
    void batch(size_t i) {
        current_batch = static_cast<long>(i);
        const at::NoGradGuard no_grad;  // grad mode is per thread
        if (b_.width > 1) one_kernel_thread();
        bool holding = false;
        try {
            acquire();
            holding = true;
            b_.run(i);
        } catch (const Abandoned&) {
            holding = false;  // thrown while parked, without a permit
        } catch (...) {
            fail(std::current_exception());
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (holding) ++permits_;
        ++finished_;
        permit_cv_.notify_one();
        steer_cv_.notify_one();
    }

    // The tap, on a batch's thread: waits at a stopping Linear until the caller lets the batches on.
    void park(const std::string& name, const at::Tensor& x) {
        if (current_batch < 0 || !b_.stops_at(name)) return;
        const auto i = static_cast<size_t>(current_batch);
        if (b_.on_input) b_.on_input(name, i, x);
        std::unique_lock<std::mutex> lock(mu_);
        names_[i] = name;
        inputs_[i] = x;
        ++parked_;
        ++permits_;
        permit_cv_.notify_one();
        steer_cv_.notify_one();
        const long step = step_;
        go_cv_.wait(lock, [&] { return step_ != step || abandoned_; });
        if (abandoned_) throw Abandoned{};
        permit_cv_.wait(lock, [&] { return permits_ > 0 || abandoned_; });
        if (abandoned_) throw Abandoned{};
        --permits_;
    }

    void acquire() {
        std::unique_lock<std::mutex> lock(mu_);
        permit_cv_.wait(lock, [&] { return permits_ > 0 || abandoned_; });
        if (abandoned_) throw Abandoned{};
        --permits_;
    }

    void fail(std::exception_ptr e) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!error_) error_ = std::move(e);
        abandoned_ = true;
        go_cv_.notify_all();
        permit_cv_.notify_all();
    }

    // The caller's thread: at each step, once every batch is parked or finished, hands the stop's
    // inputs to at_stop and lets the batches on.
    void steer() {
        std::unique_lock<std::mutex> lock(mu_);
        for (;;) {
            steer_cv_.wait(lock, [&] { return parked_ + finished_ == b_.batches || abandoned_; });
            if (abandoned_ || finished_ == b_.batches) return;
            std::string linear;
            std::vector<at::Tensor> inputs(b_.batches);
            for (size_t i = 0; i < b_.batches; ++i) {
                if (names_[i].empty()) continue;  // finished
                if (linear.empty()) linear = names_[i];
                if (names_[i] != linear) {
                    auto e = std::make_exception_ptr(Error(
                        names_[i], "calibration batch " + std::to_string(i) + " reached it where an earlier batch reached " +
                                       linear + "; the batches take different paths through this block (prune it with "
                                       "\"sequential\": \"block\")"));
                    lock.unlock();
                    fail(std::move(e));
                    return;
                }
                inputs[i] = std::move(inputs_[i]);
                names_[i].clear();
            }
            lock.unlock();
            try {
                if (b_.check) b_.check();
                b_.at_stop(linear, inputs);
            } catch (...) {
                fail(std::current_exception());
                return;
            }
            inputs.clear();
            lock.lock();
            parked_ = 0;
            ++step_;
            go_cv_.notify_all();
        }
    }

    const LockstepBlock& b_;
    std::mutex mu_;
    std::condition_variable steer_cv_, go_cv_, permit_cv_;
    std::vector<std::string> names_;  // where each parked batch waits ("" while it runs or once finished)
    std::vector<at::Tensor> inputs_;
    size_t parked_ = 0, finished_ = 0;
    int permits_;
    long step_ = 0;
    bool abandoned_ = false;
    std::exception_ptr error_;
};

}  // namespace

void run_in_lockstep(WeightStore& w, const LockstepBlock& block) {
    if (block.batches == 0) return;
    if (block.width < 1) throw Error("lockstep", "width must be at least 1");
    Lockstep(block).run(w);
}

}  // namespace ps
