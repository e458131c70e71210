#include "core/model/default_model.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "core/io/atomic_dir.h"
#include "core/io/atomic_file.h"
#include "core/io/json_util.h"

namespace ps {
namespace fs = std::filesystem;

nlohmann::json DefaultModelSpec::to_json() const {
    return {{"image_size", image_size}, {"patch_size", patch_size}, {"hidden_size", hidden},
            {"intermediate_size", intermediate}, {"num_hidden_layers", layers}, {"num_attention_heads", heads},
            {"projection_dim", projection_dim}, {"image_mean", image_mean}, {"image_std", image_std}};
}

DefaultModelSpec DefaultModelSpec::from_json(const nlohmann::json& j, const std::string& path) {
    DefaultModelSpec s;
    try {
        s.image_size = j.at("image_size").get<int64_t>();
        s.patch_size = j.at("patch_size").get<int64_t>();
        s.hidden = j.at("hidden_size").get<int64_t>();
        s.intermediate = j.at("intermediate_size").get<int64_t>();
        s.layers = j.at("num_hidden_layers").get<int64_t>();
        s.heads = j.at("num_attention_heads").get<int64_t>();
        s.projection_dim = j.at("projection_dim").get<int64_t>();
        s.image_mean = j.at("image_mean").get<std::array<double, 3>>();
        s.image_std = j.at("image_std").get<std::array<double, 3>>();
    } catch (const nlohmann::json::exception& e) {
        throw Error(path, "model spec: " + json_error_text(e));
    }
    if (s.patch_size <= 0 || s.image_size % s.patch_size != 0 || s.heads <= 0 || s.hidden % s.heads != 0)
        throw Error(path, "model spec: patch_size must divide image_size and heads must divide hidden_size");
    return s;
}

std::string default_text_tower_dir() {
    if (const char* env = std::getenv("PRUNESTUDIO_TEXT_TOWER")) return env;
    return PS_DEFAULT_TEXT_TOWER;
}

std::string default_model_resources_dir() {
    if (const char* env = std::getenv("PRUNESTUDIO_RESOURCES")) return std::string(env) + "/default-model";
    return std::string(PS_RESOURCE_DIR) + "/default-model";
}

NamedTensors init_default_trainables(const DefaultModelSpec& s, uint64_t seed) {
    at::Generator gen = at::detail::createCPUGenerator(seed);
    NamedTensors t;
    // transformers' ViT init: truncated normal(0, 0.02) for weights and embeddings, zero biases.
    auto normal = [&](const std::string& name, std::vector<int64_t> shape, double std = 0.02) {
        t.emplace_back(name, at::normal(0.0, std, shape, gen, at::kFloat).clamp_(-2 * std, 2 * std));
    };
    auto fill = [&](const std::string& name, int64_t n, float v) { t.emplace_back(name, at::full({n}, v)); };
    auto linear = [&](const std::string& name, int64_t out, int64_t in) {
        normal(name + ".weight", {out, in});
        fill(name + ".bias", out, 0.0f);
    };
    auto norm = [&](const std::string& name) {
        fill(name + ".weight", s.hidden, 1.0f);
        fill(name + ".bias", s.hidden, 0.0f);
    };
    const std::string v = "vision_model.";
    const int64_t patches = (s.image_size / s.patch_size) * (s.image_size / s.patch_size);
    normal(v + "embeddings.cls_token", {1, 1, s.hidden});
    normal(v + "embeddings.position_embeddings", {1, patches + 1, s.hidden});
    normal(v + "embeddings.patch_embeddings.projection.weight", {s.hidden, 3, s.patch_size, s.patch_size});
    fill(v + "embeddings.patch_embeddings.projection.bias", s.hidden, 0.0f);
    for (int64_t i = 0; i < s.layers; ++i) {
        const std::string p = v + "encoder.layer." + std::to_string(i) + ".";
        for (const char* n : {"query", "key", "value"}) linear(p + "attention.attention." + n, s.hidden, s.hidden);
        linear(p + "attention.output.dense", s.hidden, s.hidden);
        linear(p + "intermediate.dense", s.intermediate, s.hidden);
        linear(p + "output.dense", s.hidden, s.intermediate);
        norm(p + "layernorm_before");
        norm(p + "layernorm_after");
    }
    norm(v + "layernorm");
    linear(v + "pooler.dense", s.hidden, s.hidden);
    normal("visual_projection.weight", {s.projection_dim, s.hidden});
    normal("text_projection.weight", {s.projection_dim, 384});
    t.emplace_back("logit_scale", at::full({}, std::log(1.0 / 0.07), at::kFloat));
    return t;
}

nlohmann::json default_vision_config(const DefaultModelSpec& s) {
    return {{"model_type", "vit"}, {"hidden_size", s.hidden}, {"intermediate_size", s.intermediate},
            {"num_hidden_layers", s.layers}, {"num_attention_heads", s.heads}, {"image_size", s.image_size},
            {"patch_size", s.patch_size}, {"num_channels", 3}, {"hidden_act", "gelu"}, {"layer_norm_eps", 1e-12},
            {"qkv_bias", true}, {"initializer_range", 0.02}};
}

nlohmann::json default_preprocessor_config(const DefaultModelSpec& s) {
    return {
        {"image_processor_type", "ViTImageProcessor"},
        {"do_resize", true},
        {"size", {{"height", s.image_size}, {"width", s.image_size}}},
        {"resample", 2},
        {"do_rescale", true},
        {"rescale_factor", 1.0 / 255},
        {"do_normalize", true},
        {"image_mean", s.image_mean},
        {"image_std", s.image_std},
        {"do_convert_rgb", true},
    };
}

namespace {

const char* kTokenizerFiles[] = {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"};

nlohmann::json read_text_config(const std::string& text_tower_dir) {
    nlohmann::json c = read_json_file(text_tower_dir + "/config.json");
    if (c.value("model_type", "") != "bert")
        throw Error(text_tower_dir + "/config.json", "the default's text tower must be a BERT model");
    for (const char* k : {"_name_or_path", "architectures", "transformers_version", "gradient_checkpointing"}) c.erase(k);
    return c;
}

}  // namespace

void write_default_checkpoint(const std::string& dir, const std::string& text_tower_dir, const NamedTensors& trainables,
                              const DefaultModelSpec& s) {
    if (!fs::is_directory(text_tower_dir))
        throw Error(text_tower_dir, "text tower folder not found (run packaging/setup.sh, or set PRUNESTUDIO_TEXT_TOWER)");
    const nlohmann::json text_config = read_text_config(text_tower_dir);
    NamedTensors tensors = trainables;
    for (auto& [name, t] : load_safetensors(text_tower_dir + "/model.safetensors"))
        if (name != "embeddings.position_ids") tensors.emplace_back("text_model." + name, t);
    for (const auto& [name, t] : tensors)
        if (name == "text_projection.weight" && t.size(1) != text_config.value("hidden_size", 0))
            throw Error(text_tower_dir, "text tower width does not match text_projection");

    const nlohmann::json config = {
        {"architectures", {"VisionTextDualEncoderModel"}},
        {"model_type", "vision-text-dual-encoder"},
        {"projection_dim", s.projection_dim},
        {"logit_scale_init_value", 2.6592},
        {"torch_dtype", "float32"},
        {"vision_config", default_vision_config(s)},
        {"text_config", text_config},
    };
    AtomicDir out(dir);
    write_file_atomic(out.path() + "/config.json", config.dump(2) + "\n");
    write_file_atomic(out.path() + "/preprocessor_config.json", default_preprocessor_config(s).dump(2) + "\n");
    for (const char* f : kTokenizerFiles) {
        const fs::path src = fs::path(text_tower_dir) / f;
        if (!fs::exists(src)) throw Error(src.string(), "tokenizer file missing from the text tower");
        fs::copy_file(src, fs::path(out.path()) / f);
    }
    save_safetensors(out.path() + "/model.safetensors", tensors, {{"format", "pt"}});
    out.commit();
}

NamedTensors load_default_trainables(const std::string& resources_dir, DefaultModelSpec* spec_out) {
    const std::string manifest_path = resources_dir + "/manifest.json";
    const nlohmann::json manifest = read_json_file(manifest_path);
    if (!manifest.contains("spec")) throw Error(manifest_path, "no \"spec\" section");
    const DefaultModelSpec spec = DefaultModelSpec::from_json(manifest["spec"], manifest_path);
    const NamedTensors trained = load_safetensors(resources_dir + "/vision.safetensors");
    check_default_tensors(resources_dir + "/vision.safetensors", trained, init_default_trainables(spec, 0), "the spec");
    if (spec_out) *spec_out = spec;
    return trained;
}

void check_default_tensors(const std::string& path, const NamedTensors& got, const NamedTensors& expected, const std::string& whose) {
    if (got.size() != expected.size())
        throw Error(path, std::to_string(got.size()) + " tensors, " + whose + " needs " + std::to_string(expected.size()));
    for (const auto& [name, t] : expected) {
        const auto it = std::find_if(got.begin(), got.end(), [&](const auto& g) { return g.first == name; });
        if (it == got.end() || it->second.sizes() != t.sizes()) throw Error(path, "tensor " + name + " missing or of the wrong shape");
    }
}

void assemble_default_model(const std::string& resources_dir, const std::string& text_tower_dir, const std::string& dir) {
    DefaultModelSpec spec;
    const NamedTensors trained = load_default_trainables(resources_dir, &spec);
    write_default_checkpoint(dir, text_tower_dir, trained, spec);
}

}  // namespace ps
