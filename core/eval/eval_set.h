// The items an evaluation task runs over: images (preprocessed lazily, batch by batch, for the
// model at hand), their class labels and one caption each for retrieval.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/data/caption_folder.h"
#include "core/data/fashion_mnist.h"
#include "core/data/image_processor.h"

namespace ps {

struct EvalSet {
    std::string name;
    int64_t size = 0;
    std::function<at::Tensor(int64_t begin, int64_t end)> pixels;  // pixel_values of items [begin, end)
    at::Tensor labels;                  // [size] int64 class index, -1 where an item has none
    std::vector<std::string> classes;
    std::vector<std::string> captions;  // one per item

    bool fully_labelled() const;
};

// Labelled grayscale images (Fashion-MNIST); item i's caption is templates[i % T] of its class.
// limit >= 0 keeps a seeded random subset of that many items.
EvalSet labelled_eval_set(const std::string& name, const LabelledImages& data, const ImageProcessorConfig& cfg,
                          const std::vector<std::string>& templates, int64_t limit = -1, uint64_t seed = 0);

// A user's image folder with captions.jsonl; images are decoded when a batch is asked for.
EvalSet caption_eval_set(const CaptionDataset& data, const ImageProcessorConfig& cfg);

}  // namespace ps
