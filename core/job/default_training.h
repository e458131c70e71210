// How the built-in default model is made (`prunestudio-cli train-default`): initialise the ViT and
// projections from a seed, put them beside the locked MiniLM text tower, train LiT-style on the
// 60k Fashion-MNIST training images, score zero-shot and linear-probe accuracy on the 10k test
// images, and write the trained tensors and a manifest with those figures to resources.
#pragma once
#include <string>

#include "core/eval/eval_result.h"
#include "core/job_control.h"
#include "core/train/lit_trainer.h"

namespace ps {

struct DefaultTrainingOptions {
    LitOptions lit = recipe();
    std::string out_dir;         // receives vision.safetensors + manifest.json
    std::string work_dir;        // initial checkpoint and resumable state; removed after success
    std::string data_dir;        // Fashion-MNIST IDX files
    std::string text_tower_dir;  // the MiniLM checkpoint folder
    int64_t eval_limit = -1;     // evaluate on a seeded subset of this many images (-1: all)

    // The recipe of the committed default: 15 epochs of 234 batches of 256 images.
    static LitOptions recipe() {
        LitOptions o;
        o.epochs = 15;
        return o;
    }
};

struct DefaultTrainingResult {
    LitResult training;
    EvalResult zero_shot, linear_probe;
    double minutes = 0;
};

DefaultTrainingResult train_default_model(const DefaultTrainingOptions& opt, const JobControl& job);

}  // namespace ps
