#include "core/model/demo_checkpoint.h"

#include <cstdio>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/io/atomic_dir.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors_writer.h"

namespace ps {
namespace {

nlohmann::json demo_config(const DemoDims& d) {
    return {
        {"architectures", {"LlavaForConditionalGeneration"}},
        {"model_type", "llava"},
        {"image_token_index", d.vocab - 1},
        {"image_seq_length", (d.image / d.patch) * (d.image / d.patch)},
        {"projector_hidden_act", "gelu"},
        {"multimodal_projector_bias", true},
        {"vision_feature_layer", -2},
        {"vision_feature_select_strategy", "default"},
        {"tie_word_embeddings", false},
        {"torch_dtype", "float32"},
        {"vision_config",
         {{"model_type", "clip_vision_model"}, {"hidden_size", d.v_hidden}, {"intermediate_size", d.v_inter},
          {"num_hidden_layers", d.v_layers}, {"num_attention_heads", d.v_heads}, {"image_size", d.image},
          {"patch_size", d.patch}, {"num_channels", 3}, {"hidden_act", "quick_gelu"}, {"layer_norm_eps", 1e-5},
          {"projection_dim", d.t_hidden}}},
        {"text_config",
         {{"model_type", "llama"}, {"hidden_size", d.t_hidden}, {"intermediate_size", d.t_inter},
          {"num_hidden_layers", d.t_layers}, {"num_attention_heads", d.t_heads},
          {"num_key_value_heads", d.t_kv_heads}, {"head_dim", d.t_hidden / d.t_heads}, {"vocab_size", d.vocab},
          {"max_position_embeddings", 512}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0},
          {"hidden_act", "silu"}, {"tie_word_embeddings", false}}},
    };
}

// One tensor of the checkpoint and how it starts: normal(0, 0.02), or filled with `fill`.
struct DemoTensor {
    std::string name;
    std::vector<int64_t> shape;
    bool normal = true;
    float fill = 0.0f;
};

std::vector<DemoTensor> demo_tensors(const DemoDims& d) {
    std::vector<DemoTensor> t;
    auto normal = [&](const std::string& name, std::vector<int64_t> shape) { t.push_back({name, std::move(shape)}); };
    auto fill = [&](const std::string& name, int64_t n, float v) { t.push_back({name, {n}, false, v}); };
    auto linear = [&](const std::string& name, int64_t out, int64_t in, bool bias) {
        normal(name + ".weight", {out, in});
        if (bias) fill(name + ".bias", out, 0.0f);
    };

    const std::string v = "vision_tower.vision_model.";
    const int64_t positions = (d.image / d.patch) * (d.image / d.patch) + 1;
    normal(v + "embeddings.class_embedding", {d.v_hidden});
    normal(v + "embeddings.patch_embedding.weight", {d.v_hidden, 3, d.patch, d.patch});
    normal(v + "embeddings.position_embedding.weight", {positions, d.v_hidden});
    for (const char* ln : {"pre_layrnorm", "post_layernorm"}) {
        fill(v + ln + ".weight", d.v_hidden, 1.0f);
        fill(v + ln + ".bias", d.v_hidden, 0.0f);
    }
    for (int i = 0; i < d.v_layers; ++i) {
        const std::string p = v + "encoder.layers." + std::to_string(i) + ".";
        for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"})
            linear(p + "self_attn." + proj, d.v_hidden, d.v_hidden, true);
        linear(p + "mlp.fc1", d.v_inter, d.v_hidden, true);
        linear(p + "mlp.fc2", d.v_hidden, d.v_inter, true);
        for (const char* ln : {"layer_norm1", "layer_norm2"}) {
            fill(p + ln + ".weight", d.v_hidden, 1.0f);
            fill(p + ln + ".bias", d.v_hidden, 0.0f);
        }
    }
    linear("multi_modal_projector.linear_1", d.t_hidden, d.v_hidden, true);
    linear("multi_modal_projector.linear_2", d.t_hidden, d.t_hidden, true);

    const std::string l = "language_model.model.";
    const int head_dim = d.t_hidden / d.t_heads;
    normal(l + "embed_tokens.weight", {d.vocab, d.t_hidden});
    for (int i = 0; i < d.t_layers; ++i) {
        const std::string p = l + "layers." + std::to_string(i) + ".";
        linear(p + "self_attn.q_proj", d.t_heads * head_dim, d.t_hidden, false);
        linear(p + "self_attn.k_proj", d.t_kv_heads * head_dim, d.t_hidden, false);
        linear(p + "self_attn.v_proj", d.t_kv_heads * head_dim, d.t_hidden, false);
        linear(p + "self_attn.o_proj", d.t_hidden, d.t_heads * head_dim, false);
        linear(p + "mlp.gate_proj", d.t_inter, d.t_hidden, false);
        linear(p + "mlp.up_proj", d.t_inter, d.t_hidden, false);
        linear(p + "mlp.down_proj", d.t_hidden, d.t_inter, false);
        fill(p + "input_layernorm.weight", d.t_hidden, 1.0f);
        fill(p + "post_attention_layernorm.weight", d.t_hidden, 1.0f);
    }
    fill(l + "norm.weight", d.t_hidden, 1.0f);
    linear("language_model.lm_head", d.vocab, d.t_hidden, false);
    return t;
}

uint64_t float_bytes(const std::vector<int64_t>& shape) {
    uint64_t n = 4;
    for (int64_t s : shape) n *= static_cast<uint64_t>(s);
    return n;
}

}  // namespace

void write_demo_checkpoint(const std::string& dir, uint64_t seed, const DemoDims& dims, uint64_t shard_bytes,
                           const JobControl& job) {
    const std::vector<DemoTensor> tensors = demo_tensors(dims);
    // Consecutive tensors, a shard each time the next would pass shard_bytes.
    std::vector<std::vector<size_t>> shards(1);
    uint64_t in_shard = 0, total = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const uint64_t bytes = float_bytes(tensors[i].shape);
        if (!shards.back().empty() && in_shard + bytes > shard_bytes) {
            shards.emplace_back();
            in_shard = 0;
        }
        shards.back().push_back(i);
        in_shard += bytes;
        total += bytes;
    }

    AtomicDir out(dir);
    write_file_atomic(out.path() + "/config.json", demo_config(dims).dump(2) + "\n");
    at::Generator gen = at::detail::createCPUGenerator(seed);
    nlohmann::json weight_map = nlohmann::json::object();
    uint64_t written = 0;
    for (size_t s = 0; s < shards.size(); ++s) {
        char name[64];
        if (shards.size() == 1) std::snprintf(name, sizeof name, "model.safetensors");
        else std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
        std::vector<TensorInfo> infos;
        for (size_t i : shards[s]) {
            TensorInfo info;
            info.name = tensors[i].name;
            info.dtype = DType::F32;
            info.shape = tensors[i].shape;
            infos.push_back(info);
            weight_map[tensors[i].name] = name;
        }
        SafetensorsWriter w(out.path() + "/" + name, infos, {{"format", "pt"}, {"generator", "prunestudio demo"}});
        for (size_t i : shards[s]) {
            const DemoTensor& t = tensors[i];
            const at::Tensor x = t.normal ? at::normal(0.0, 0.02, t.shape, gen, at::kFloat) : at::full(t.shape, t.fill);
            w.write(t.name, x.data_ptr(), float_bytes(t.shape));
            written += float_bytes(t.shape);
            job.report("demo", static_cast<int64_t>(written >> 20), static_cast<int64_t>(total >> 20), "MiB written");
            job.check("demo");
        }
        w.finish();
    }
    if (shards.size() > 1)
        write_file_atomic(out.path() + "/model.safetensors.index.json",
                          nlohmann::json{{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}}.dump(2) + "\n");
    out.commit();
}

}  // namespace ps
