// How the generative default is made (`prunestudio-cli train-default --generative`): the dual
// encoder's Fashion-MNIST ViT and SmolLM2 put together with a freshly initialised projector, the
// projector aligned LLaVA-style on the 60k training images (core/train/projector_trainer.h), the
// result scored on the test images with open-ended, yes/no and multiple-choice questions, and the
// projector and a manifest with those figures written to resources/default-vlm.
#pragma once
#include <string>

#include "core/eval/eval_result.h"
#include "core/job_control.h"
#include "core/train/projector_trainer.h"

namespace ps {

struct DefaultVlmTrainingOptions {
    ProjectorTrainingOptions projector;
    std::string out_dir;                // receives projector.safetensors + manifest.json
    std::string work_dir;               // initial checkpoint and resumable state; removed after success
    std::string data_dir;               // Fashion-MNIST IDX files
    std::string vision_resources_dir;   // the dual encoder's resources (vision.safetensors + manifest.json)
    std::string gguf_path;              // SmolLM2
    int64_t eval_limit = -1;            // test images per question kind (-1: all 10,000)
};

struct DefaultVlmTrainingResult {
    ProjectorTrainingResult training;
    std::vector<EvalResult> evaluation;  // open, yes/no, choice (core/eval/vqa_eval.h)
    double minutes = 0;
};

DefaultVlmTrainingResult train_default_vlm(const DefaultVlmTrainingOptions& opt, const JobControl& job);

}  // namespace ps
