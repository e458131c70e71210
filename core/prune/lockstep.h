// Runs one block over every calibration batch in lockstep at chosen Linears: each batch runs on a
// thread of its own and waits at such a Linear's input until every batch has reached it (or
// finished the block); the caller then sees that Linear's inputs in batch order and may replace its
// weight before any batch computes the product. So the pruning pipeline's "sequential": "linear"
// prunes each Linear from inputs that went through the Linears pruned before it, in one pass.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace ps {

class WeightStore;

struct LockstepBlock {
    size_t batches = 0;
    // How many batches compute at once; above 1 each batch's kernels run on one thread (the batches
    // side by side keep the cores busy, as the pipeline's other passes do on the CPU).
    int width = 1;
    std::function<void(size_t batch)> run;               // runs the block over one batch
    std::function<bool(const std::string&)> stops_at;    // a Linear (module name) every batch waits at
    // Optional: called on a batch's thread as it reaches a stop, before it waits (what each batch's
    // input gives is gathered side by side).
    std::function<void(const std::string& linear, size_t batch, const at::Tensor& input)> on_input;
    // Called on the caller's thread once every batch waits at `linear` or has finished: the inputs
    // in batch order (undefined for a batch that finished without reaching it). The batches are
    // parked meanwhile, so it may set weights; they compute `linear` with what the store then holds.
    std::function<void(const std::string& linear, const std::vector<at::Tensor>& inputs)> at_stop;
    std::function<void()> check;  // called at every stop before at_stop (cancellation)
};

// Runs `block` through the store's linear tap (installed for the run, removed after). An error of a
// batch, of at_stop or check stops every batch and is rethrown here; so is a ps::Error when the
// batches reach different stopping Linears at the same step (a block whose path differs by batch).
void run_in_lockstep(WeightStore& w, const LockstepBlock& block);

}  // namespace ps
