#include "core/model/llama_lm.h"

#include "core/io/checkpoint.h"
#include "core/model/causal_vlm.h"
#include "core/model/config_reader.h"
#include "core/model/llama.h"

namespace ps {
namespace {

class LlamaLm : public Vlm, public CausalVlm {
public:
    LlamaLm(ModelMap map, std::unique_ptr<WeightStore> weights) : Vlm(std::move(map), std::move(weights)) {
        const Checkpoint& ckpt = weights_->checkpoint();
        config_ = llama_config(ConfigReader(ckpt.config(), ckpt.config_path()), ckpt.config_path());
        towers_ = {{"language", Modality::Language, static_cast<int>(config_.layers)}};
    }

    StageState embed(int, const VlmInputs& in, const std::vector<StageState>&) const override {
        const at::Tensor ids = in.input_ids.to(weights_->device());
        return llama_start(config_, llama_embed_tokens(*weights_, kModel, config_, ids), in.attention_mask,
                           at::arange(ids.size(1), ids.options()).unsqueeze(0));
    }

    void block(int, int i, StageState& s, at::Tensor* probs) const override {
        llama_decoder_block(*weights_, kModel, i, config_, s, probs);
    }

    void finish(int, StageState& s) const override { s.hidden = llama_final_norm(*weights_, kModel, config_, s.hidden); }

    VlmOutputs head(const VlmInputs&, const std::vector<StageState>& t) const override {
        VlmOutputs out;
        out.logits = llama_logits(*weights_, kModel, kHead, config_, t[0].hidden);
        return out;
    }

    std::vector<std::vector<int64_t>> generate_batch(const VlmInputs& in, int max_new_tokens, std::optional<int64_t> eos,
                                                     const TokenStep& step) const override {
        const at::Tensor ids = in.input_ids.to(weights_->device());
        return llama_generate(*weights_, kModel, kHead, config_, llama_embed_tokens(*weights_, kModel, config_, ids),
                              in.attention_mask, max_new_tokens, eos, step);
    }

private:
    static constexpr const char* kModel = "model.";
    static constexpr const char* kHead = "lm_head.weight";
    LlamaConfig config_;
};

std::unique_ptr<Vlm> make_llama_lm(ModelMap map, std::unique_ptr<WeightStore> weights) {
    return std::make_unique<LlamaLm>(std::move(map), std::move(weights));
}

}  // namespace

FamilySpec llama_lm_family() {
    FamilySpec f{"llama", "LLaMA language model", {"llama"},
                 {{"model\\.", Modality::Language}, {"lm_head\\.", Modality::Language}}};
    Capabilities& c = f.capabilities;
    c.kind = ModelKind::Generative;
    c.chat_template = "{image}{question}";  // a plain completion unless the tokenizer names a chat format
    c.towers = {{Modality::Language, "", true}};
    f.factory = make_llama_lm;
    return f;
}

}  // namespace ps
