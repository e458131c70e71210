#include "core/io/gguf_checkpoint.h"

#include <cctype>
#include <cstring>
#include <optional>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/byte_level_bpe_tokenizer.h"

namespace ps {
namespace {

// A metadata value of the file; `fallback` when absent (null fallback: required), of its kind.
nlohmann::json meta(const GgufFile& f, const std::string& key, const nlohmann::json& fallback = nullptr) {
    auto it = f.metadata().find(key);
    if (it != f.metadata().end()) {
        if (!fallback.is_null() && (it->is_number() != fallback.is_number() || it->is_string() != fallback.is_string()))
            throw Error(f.path(), "metadata '" + key + "' has the wrong type (" + it->dump() + ")");
        return *it;
    }
    if (fallback.is_null()) throw Error(f.path(), "metadata '" + key + "' is missing");
    return fallback;
}

int64_t positive(const GgufFile& f, const std::string& key, const nlohmann::json& fallback = nullptr) {
    const nlohmann::json v = meta(f, key, fallback);
    if (!v.is_number_integer() || v.get<int64_t>() <= 0)
        throw Error(f.path(), "metadata '" + key + "' must be a positive integer, not " + v.dump());
    return v.get<int64_t>();
}

// llama.cpp's converter stores Q and K with each head's rotary halves interleaved (rows reordered
// as reshape(heads, 2, head_dim / 2, in).swapaxes(1, 2)); this puts them back: row h·d + s·d/2 + j
// of the result is row h·d + 2j + s of the file's.
void unpermute_rows(float* w, int64_t rows, int64_t cols, int64_t heads) {
    const int64_t d = rows / heads, half = d / 2;
    std::vector<float> head(static_cast<size_t>(d * cols));
    for (int64_t h = 0; h < heads; ++h) {
        float* base = w + h * d * cols;
        std::memcpy(head.data(), base, head.size() * sizeof(float));
        for (int64_t j = 0; j < half; ++j)
            for (int64_t s = 0; s < 2; ++s)
                std::memcpy(base + (s * half + j) * cols, head.data() + (2 * j + s) * cols, cols * sizeof(float));
    }
}

}  // namespace

std::string gguf_llama_hf_name(const std::string& n) {
    static const std::pair<const char*, const char*> kTop[] = {
        {"token_embd.weight", "model.embed_tokens.weight"},
        {"output_norm.weight", "model.norm.weight"},
        {"output.weight", "lm_head.weight"},
    };
    static const std::pair<const char*, const char*> kBlock[] = {
        {"attn_norm.weight", "input_layernorm.weight"},
        {"ffn_norm.weight", "post_attention_layernorm.weight"},
        {"attn_q.weight", "self_attn.q_proj.weight"},
        {"attn_k.weight", "self_attn.k_proj.weight"},
        {"attn_v.weight", "self_attn.v_proj.weight"},
        {"attn_output.weight", "self_attn.o_proj.weight"},
        {"ffn_gate.weight", "mlp.gate_proj.weight"},
        {"ffn_up.weight", "mlp.up_proj.weight"},
        {"ffn_down.weight", "mlp.down_proj.weight"},
    };
    for (const auto& [g, hf] : kTop)
        if (n == g) return hf;
    // "blk.<digits>.<part>"
    if (n.compare(0, 4, "blk.") != 0) return {};
    size_t end = 4;
    while (end < n.size() && end < 14 && std::isdigit(static_cast<unsigned char>(n[end]))) ++end;
    if (end == 4 || end >= n.size() || n[end] != '.') return {};
    const std::string index = n.substr(4, end - 4), part = n.substr(end + 1);
    for (const auto& [g, hf] : kBlock)
        if (part == g) return "model.layers." + index + "." + hf;
    return {};
}

nlohmann::json gguf_checkpoint_config(const GgufFile& f) {
    const nlohmann::json arch = meta(f, "general.architecture");
    if (arch != "llama") throw Error(f.path(), "GGUF architecture " + arch.dump() + " is not supported (llama is)");
    const std::string p = "llama.";
    const int64_t hidden = positive(f, p + "embedding_length");
    const int64_t heads = positive(f, p + "attention.head_count");
    const int64_t kv_heads = positive(f, p + "attention.head_count_kv", heads);
    const int64_t layers = positive(f, p + "block_count");
    const auto* embed = f.find("token_embd.weight");
    if (!embed || embed->shape.size() != 2) throw Error(f.path(), "tensor 'token_embd.weight' is missing or not 2-D");
    const nlohmann::json scaling = meta(f, p + "rope.scaling.type", "none");
    if (scaling != "none" && scaling != "linear")
        throw Error(f.path(), "rope scaling " + scaling.dump() + " is not supported (none and linear are)");

    nlohmann::json c = {
        {"architectures", {"LlamaForCausalLM"}},
        {"model_type", "llama"},
        {"hidden_size", hidden},
        {"intermediate_size", positive(f, p + "feed_forward_length")},
        {"num_hidden_layers", layers},
        {"num_attention_heads", heads},
        {"num_key_value_heads", kv_heads},
        {"head_dim", positive(f, p + "attention.key_length", hidden / heads)},
        {"max_position_embeddings", positive(f, p + "context_length", 2048)},
        {"rms_norm_eps", meta(f, p + "attention.layer_norm_rms_epsilon", 1e-5)},
        {"rope_theta", meta(f, p + "rope.freq_base", 10000.0)},
        {"vocab_size", embed->shape[0]},
        {"hidden_act", "silu"},
        {"tie_word_embeddings", f.find("output.weight") == nullptr},
        {"torch_dtype", "float32"},
    };
    if (scaling == "linear")
        c["rope_scaling"] = {{"type", "linear"}, {"factor", meta(f, p + "rope.scaling.factor", 1.0)}};
    for (const auto& [gguf, hf] : {std::pair<const char*, const char*>{"bos_token_id", "bos_token_id"},
                                   {"eos_token_id", "eos_token_id"},
                                   {"unknown_token_id", "unk_token_id"},
                                   {"padding_token_id", "pad_token_id"}}) {
        const std::string key = std::string("tokenizer.ggml.") + gguf;
        if (f.metadata().contains(key)) c[hf] = meta(f, key, 0);
    }
    return c;
}

GgufCheckpoint gguf_checkpoint(const GgufFile& f) {
    nlohmann::json c = gguf_checkpoint_config(f);
    const int64_t heads = c.at("num_attention_heads").get<int64_t>(), kv_heads = c.at("num_key_value_heads").get<int64_t>();
    SafetensorsHeader header;
    uint64_t total = 0;
    for (const GgufTensorInfo& t : f.header().tensors) {
        const std::string name = gguf_llama_hf_name(t.name);
        if (name.empty()) throw Error(f.path(), "tensor '" + t.name + "' is not part of a llama model");
        if (!ggml_type_supported(t.type))  // before anything is allocated
            dequantize(t.type, nullptr, nullptr, 0, f.path() + ": tensor '" + t.name + "'");
        if (t.numel() > (UINT64_MAX - total) / 4) throw Error(f.path(), "tensors too large to dequantise");
        TensorInfo info;
        info.name = name;
        info.dtype = DType::F32;
        info.shape = t.shape;
        info.begin = total;
        info.end = total + t.numel() * 4;
        total = info.end;
        header.tensors.push_back(std::move(info));
    }
    std::vector<uint8_t> data(total);
    for (size_t i = 0; i < header.tensors.size(); ++i) {
        const GgufTensorInfo& t = f.header().tensors[i];
        const TensorInfo& info = header.tensors[i];
        float* out = reinterpret_cast<float*>(data.data() + info.begin);
        dequantize(t.type, f.data(t), out, t.numel(), f.path() + ": tensor '" + t.name + "'");
        const bool q = info.name.find("self_attn.q_proj") != std::string::npos;
        const bool k = info.name.find("self_attn.k_proj") != std::string::npos;
        if (q || k) {
            const int64_t h = q ? heads : kv_heads;
            if (t.shape.size() != 2 || t.shape[0] % (2 * h) != 0)
                throw Error(f.path(), "tensor '" + t.name + "': " + std::to_string(t.shape.empty() ? 0 : t.shape[0]) +
                                          " rows do not split into " + std::to_string(h) + " heads of rotary pairs");
            unpermute_rows(out, t.shape[0], t.shape[1], h);
        }
    }
    return {std::move(c), SafetensorsFile::in_memory(f.path(), std::move(header), std::move(data))};
}

void write_gguf_side_files(const GgufFile& f, const std::string& dir, const std::set<std::string>& skip) {
    const ByteLevelBpeTokenizer tok(f);
    auto name = [&](std::optional<int64_t> id) { return id ? nlohmann::json(*tok.id_to_token(*id)) : nlohmann::json(); };
    const nlohmann::json tokenizer_json = tok.to_json();
    nlohmann::json added = nlohmann::json::object();
    for (const auto& t : tokenizer_json.at("added_tokens"))
        added[std::to_string(t.at("id").get<int64_t>())] = {
            {"content", t.at("content")}, {"lstrip", false}, {"normalized", false}, {"rstrip", false},
            {"single_word", false}, {"special", t.at("special")}};
    const nlohmann::json special = {{"bos_token", name(tok.bos_id())}, {"eos_token", name(tok.eos_id())},
                                    {"unk_token", name(tok.unk_id())}, {"pad_token", name(tok.pad_id())}};
    nlohmann::json config = special;
    config.update({{"tokenizer_class", "GPT2Tokenizer"},
                   {"add_prefix_space", false},
                   {"clean_up_tokenization_spaces", false},
                   {"model_max_length", meta(f, "llama.context_length", 2048)},
                   {"added_tokens_decoder", added}});
    if (const auto t = f.metadata().find("tokenizer.chat_template"); t != f.metadata().end() && t->is_string())
        config["chat_template"] = *t;
    const std::pair<const char*, std::string> files[] = {
        {"config.json", gguf_checkpoint_config(f).dump(2) + "\n"},
        {"tokenizer.json", tokenizer_json.dump() + "\n"},
        {"tokenizer_config.json", config.dump(2) + "\n"},
        {"special_tokens_map.json", special.dump(2) + "\n"}};
    for (const auto& [file, text] : files)
        if (!skip.count(file)) write_file_atomic(dir + "/" + file, text);
}

}  // namespace ps
