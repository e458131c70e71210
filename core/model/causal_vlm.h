// A model that continues its text (LLaVA, a LLaMA language model): reach it with
// dynamic_cast<const CausalVlm*>(vlm).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/error.h"
#include "core/model/vlm.h"

namespace ps {

// Called after each decoding step with every row's tokens so far (a front end shows the answer as
// it grows); it may throw (Cancelled) to stop the decoding.
using TokenStep = std::function<void(const std::vector<std::vector<int64_t>>& so_far)>;

class CausalVlm {
public:
    virtual ~CausalVlm() = default;
    // Greedy decoding with a KV cache, as transformers' generate(do_sample=False): for each row of
    // the (possibly left-padded) batch, the new token ids, ending with `eos` where it was produced.
    virtual std::vector<std::vector<int64_t>> generate_batch(const VlmInputs& in, int max_new_tokens,
                                                             std::optional<int64_t> eos, const TokenStep& step = {}) const = 0;
    // The same for a single prompt (a batch of one); throws ps::Error for larger batches.
    std::vector<int64_t> generate(const VlmInputs& in, int max_new_tokens, std::optional<int64_t> eos,
                                  const TokenStep& step = {}) const {
        if (in.input_ids.size(0) != 1)
            throw Error("generate", "a batch of " + std::to_string(in.input_ids.size(0)) +
                                        " prompts; generate takes one (use generate_batch)");
        return generate_batch(in, max_new_tokens, eos, step).front();
    }
};

}  // namespace ps
