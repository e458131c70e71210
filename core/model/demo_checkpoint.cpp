#include "core/model/demo_checkpoint.h"

#include <nlohmann/json.hpp>

#include "core/io/atomic_dir.h"
#include "core/io/atomic_file.h"
#include "core/io/tensor_view.h"

namespace ps {
namespace {

struct Dims {
    int v_hidden = 64, v_inter = 256, v_layers = 4, v_heads = 4, image = 64, patch = 16;
    int t_hidden = 128, t_inter = 344, t_layers = 6, t_heads = 4, t_kv_heads = 2, vocab = 1024;
};

nlohmann::json demo_config(const Dims& d) {
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

}  // namespace

void write_demo_checkpoint(const std::string& dir, uint64_t seed) {
    const Dims d;
    at::Generator gen = at::detail::createCPUGenerator(seed);
    NamedTensors t;
    auto normal = [&](const std::string& name, std::vector<int64_t> shape) {
        t.emplace_back(name, at::normal(0.0, 0.02, shape, gen, at::kFloat));
    };
    auto fill = [&](const std::string& name, int64_t n, float v) { t.emplace_back(name, at::full({n}, v)); };
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

    AtomicDir out(dir);
    write_file_atomic(out.path() + "/config.json", demo_config(d).dump(2) + "\n");
    save_safetensors(out.path() + "/model.safetensors", t, {{"format", "pt"}, {"generator", "prunestudio demo"}});
    out.commit();
}

}  // namespace ps
