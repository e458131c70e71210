#include "core/eval/retrieval.h"

#include <map>

namespace ps {

at::Tensor recall_at(const at::Tensor& similarity, const at::Tensor& query_groups, const at::Tensor& item_groups, int64_t k) {
    const at::Tensor top = std::get<1>(similarity.topk(std::min<int64_t>(k, similarity.size(1)), 1));
    return (item_groups.index({top}) == query_groups.unsqueeze(1)).any(1).to(at::kDouble) * 100.0;
}

EvalResult retrieval(const Vlm& model, const EvalSet& set, const EvalOptions& opt, const JobControl& job) {
    const DualEncoderEncoder enc(model);
    at::Tensor groups;
    if (set.fully_labelled()) {
        groups = set.labels;
    } else {
        std::map<std::string, int64_t> ids;
        std::vector<int64_t> g;
        for (const std::string& c : set.captions) g.push_back(ids.emplace(c, static_cast<int64_t>(ids.size())).first->second);
        groups = at::tensor(g, at::kLong);
    }
    const at::Tensor images = enc.images(set, opt.batch_size, job, "retrieval");
    const at::Tensor texts = enc.texts(set.captions, opt.batch_size);
    const at::Tensor sim = at::matmul(images, texts.t());
    const at::Tensor i2t1 = recall_at(sim, groups, groups, 1), i2t5 = recall_at(sim, groups, groups, 5);
    const at::Tensor t2i1 = recall_at(sim.t(), groups, groups, 1), t2i5 = recall_at(sim.t(), groups, groups, 5);
    EvalResult r;
    r.task = "retrieval";
    r.metrics = {{"image_to_text_r1", i2t1.mean().item<double>()}, {"image_to_text_r5", i2t5.mean().item<double>()},
                 {"text_to_image_r1", t2i1.mean().item<double>()}, {"text_to_image_r5", t2i5.mean().item<double>()},
                 {"pairs", static_cast<double>(set.size)}};
    r.set_per_class(set.labels, set.classes,
                    {{"image_to_text_r1", i2t1}, {"image_to_text_r5", i2t5}, {"text_to_image_r1", t2i1}, {"text_to_image_r5", t2i5}});
    return r;
}

}  // namespace ps
