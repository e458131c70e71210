#include "core/eval/eval_set.h"

#include "core/data/image.h"
#include "core/data/prompts.h"
#include "core/error.h"

namespace ps {

bool EvalSet::fully_labelled() const { return size > 0 && labels.defined() && labels.min().item<int64_t>() >= 0; }

EvalSet labelled_eval_set(const std::string& name, const LabelledImages& data, const ImageProcessorConfig& cfg,
                          const std::vector<std::string>& templates, int64_t limit, uint64_t seed) {
    const int64_t n = data.images.size(0);
    at::Tensor keep = at::arange(n, at::kLong);
    if (limit >= 0 && limit < n) keep = at::randperm(n, at::detail::createCPUGenerator(seed), at::kLong).slice(0, 0, limit);
    EvalSet set;
    set.name = name;
    set.size = keep.size(0);
    set.classes = data.classes;
    set.labels = data.labels.index_select(0, keep);
    const at::Tensor images = data.images.index_select(0, keep);
    set.pixels = [images, cfg](int64_t begin, int64_t end) { return preprocess_gray_batch(images.slice(0, begin, end), cfg); };
    const std::vector<std::string> prompts = class_prompts(data.classes, templates);
    const auto* lab = set.labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < set.size; ++i)
        set.captions.push_back(prompts[lab[i] * templates.size() + static_cast<size_t>(i) % templates.size()]);
    return set;
}

EvalSet caption_eval_set(const CaptionDataset& data, const ImageProcessorConfig& cfg) {
    EvalSet set;
    set.name = data.dir;
    set.size = static_cast<int64_t>(data.items.size());
    set.classes = data.labels;
    set.labels = at::tensor(data.label_index, at::kLong);
    std::vector<std::string> paths;
    for (const CaptionedImage& item : data.items) {
        paths.push_back(item.image);
        set.captions.push_back(item.caption);
    }
    set.pixels = [paths, cfg](int64_t begin, int64_t end) {
        std::vector<cv::Mat> images;
        for (int64_t i = begin; i < end; ++i) images.push_back(load_image(paths[i]));
        return preprocess_batch(images, cfg);
    };
    return set;
}

}  // namespace ps
