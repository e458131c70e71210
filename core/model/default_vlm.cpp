#include "core/model/default_vlm.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "core/io/atomic_dir.h"
#include "core/io/atomic_file.h"
#include "core/io/gguf_checkpoint.h"

namespace ps {
namespace fs = std::filesystem;

namespace {

const char* const kImageToken = "<empty_output>";
const char* const kProjector = "model.multi_modal_projector.";

}  // namespace

std::string smollm2_gguf_path() {
    if (const char* env = std::getenv("PRUNESTUDIO_SMOLLM2")) return env;
    return PS_SMOLLM2_GGUF;
}

std::string default_vlm_resources_dir() {
    if (const char* env = std::getenv("PRUNESTUDIO_RESOURCES")) return std::string(env) + "/default-vlm";
    return std::string(PS_RESOURCE_DIR) + "/default-vlm";
}

NamedTensors init_default_projector(const DefaultModelSpec& vision, int64_t text_hidden, uint64_t seed) {
    at::Generator gen = at::detail::createCPUGenerator(seed);
    NamedTensors t;
    auto linear = [&](const std::string& name, int64_t out, int64_t in) {
        t.emplace_back(kProjector + name + ".weight", at::normal(0.0, 0.02, {out, in}, gen, at::kFloat));
        t.emplace_back(kProjector + name + ".bias", at::zeros({out}));
    };
    linear("linear_1", text_hidden, vision.hidden);
    linear("linear_2", text_hidden, text_hidden);
    return t;
}

void write_default_vlm_checkpoint(const std::string& dir, const std::string& gguf_path, const NamedTensors& vision,
                                  const DefaultModelSpec& spec, const NamedTensors& projector) {
    if (!fs::is_regular_file(gguf_path))
        throw Error(gguf_path, "SmolLM2's GGUF file not found (run packaging/setup.sh, or set PRUNESTUDIO_SMOLLM2)");
    const auto file = GgufFile::open(gguf_path);
    const GgufCheckpoint lm = gguf_checkpoint(*file);
    const int64_t text_hidden = lm.config.at("hidden_size").get<int64_t>();
    for (const auto& [name, t] : projector)
        if (t.dim() < 1 || t.size(0) != text_hidden)
            throw Error(name, "the projector's output width must be the language model's " + std::to_string(text_hidden));
    const nlohmann::json vocabulary = file->metadata().value("tokenizer.ggml.tokens", nlohmann::json::array());
    const auto found = std::find(vocabulary.begin(), vocabulary.end(), kImageToken);
    if (found == vocabulary.end()) throw Error(gguf_path, std::string("the vocabulary has no ") + kImageToken + " token");
    const int64_t image_token = found - vocabulary.begin();
    const int64_t patches = (spec.image_size / spec.patch_size) * (spec.image_size / spec.patch_size);

    NamedTensors tensors;
    for (const auto& [name, t] : vision)
        if (name.rfind("vision_model.", 0) == 0) tensors.emplace_back("model.vision_tower." + name.substr(13), t);
    tensors.insert(tensors.end(), projector.begin(), projector.end());
    for (const TensorInfo& info : lm.tensors->tensors())  // "model.X" → "model.language_model.X"; lm_head stays
        tensors.emplace_back(info.name.rfind("model.", 0) == 0 ? "model.language_model." + info.name.substr(6) : info.name,
                             tensor_view(lm.tensors, info));

    nlohmann::json text_config = lm.config;
    text_config.erase("architectures");
    text_config.erase("torch_dtype");
    const nlohmann::json config = {
        {"architectures", {"LlavaForConditionalGeneration"}},
        {"model_type", "llava"},
        {"image_token_index", image_token},
        {"image_seq_length", patches},
        {"projector_hidden_act", "gelu"},
        {"multimodal_projector_bias", true},
        {"vision_feature_layer", -1},
        {"vision_feature_select_strategy", "default"},
        {"tie_word_embeddings", lm.config.value("tie_word_embeddings", false)},
        {"torch_dtype", "float32"},
        {"vision_config", default_vision_config(spec)},
        {"text_config", text_config},
    };
    const nlohmann::json processor = {{"processor_class", "LlavaProcessor"}, {"image_token", kImageToken},
                                      {"patch_size", spec.patch_size}, {"vision_feature_select_strategy", "default"},
                                      {"num_additional_image_tokens", 1}};
    AtomicDir out(dir);
    write_file_atomic(out.path() + "/config.json", config.dump(2) + "\n");
    write_file_atomic(out.path() + "/preprocessor_config.json", default_preprocessor_config(spec).dump(2) + "\n");
    write_file_atomic(out.path() + "/processor_config.json", processor.dump(2) + "\n");
    write_gguf_side_files(*file, out.path(), {"config.json"});
    save_safetensors(out.path() + "/model.safetensors", tensors, {{"format", "pt"}});
    out.commit();
}

void assemble_default_vlm(const std::string& vision_resources_dir, const std::string& vlm_resources_dir,
                          const std::string& gguf_path, const std::string& dir) {
    DefaultModelSpec spec;
    const NamedTensors vision = load_default_trainables(vision_resources_dir, &spec);
    const std::string path = vlm_resources_dir + "/projector.safetensors";
    const NamedTensors projector = load_safetensors(path);
    const int64_t width = projector.empty() || projector.front().second.dim() < 1 ? 0 : projector.front().second.size(0);
    check_default_tensors(path, projector, init_default_projector(spec, width, 0), "the projector");
    write_default_vlm_checkpoint(dir, gguf_path, vision, spec, projector);
}

}  // namespace ps
