#include "core/model/vlm.h"

#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/io/checkpoint.h"
#include "core/model/families.h"
#include "core/model/semi_structured.h"

namespace ps {

std::unique_ptr<Vlm> Vlm::load(const std::string& dir, const LoadOptions& opt) {
    Checkpoint ckpt = Checkpoint::open(dir);
    ModelMap map = map_model(ckpt);
    auto weights = std::make_unique<WeightStore>(std::move(ckpt), opt);
    if (opt.sparse_kernels) use_semi_structured_kernels(*weights);
    return create_family_model(std::move(map), std::move(weights));
}

VlmOutputs Vlm::forward(const VlmInputs& in, const CaptureOptions& capture) const {
    at::NoGradGuard no_grad;
    std::vector<StageState> done;
    std::vector<std::vector<at::Tensor>> hidden(towers_.size());
    std::map<std::pair<int, int>, at::Tensor> attentions;
    for (int t = 0; t < static_cast<int>(towers_.size()); ++t) {
        StageState s = embed(t, in, done);
        if (capture.hidden_states) hidden[t].push_back(s.hidden);
        for (int i = 0; i < towers_[t].num_blocks; ++i) {
            const bool want = capture.attentions.count({t, i}) > 0;
            at::Tensor probs;
            run_block(t, i, s, want ? &probs : nullptr);
            if (want) attentions[{t, i}] = probs;
            if (capture.hidden_states) hidden[t].push_back(s.hidden);
        }
        finish(t, s);
        done.push_back(std::move(s));
    }
    VlmOutputs out = head(in, done);
    out.hidden_states = std::move(hidden);
    out.attentions = std::move(attentions);
    return out;
}

StageState Vlm::run_tower(int tower, const VlmInputs& in, const std::vector<StageState>& done) const {
    StageState s = embed(tower, in, done);
    for (int i = 0; i < towers_[tower].num_blocks; ++i) run_block(tower, i, s, nullptr);
    finish(tower, s);
    return s;
}

void Vlm::run_block(int tower, int index, StageState& s, at::Tensor* probs) const {
    if (!token_hook_.apply || !token_hook_.after.count({tower, index}) || !s.hidden.defined()) {
        block(tower, index, s, probs);
        return;
    }
    at::Tensor local;
    at::Tensor* p = probs ? probs : &local;
    block(tower, index, s, p);
    token_hook_.apply(tower, index, s, *p);
}

int tower_index(const Vlm& model, Modality m) {
    for (int t = 0; t < static_cast<int>(model.towers().size()); ++t)
        if (model.towers()[t].modality == m) return t;
    return -1;
}

}  // namespace ps
