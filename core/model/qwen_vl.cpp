#include "core/model/qwen_vl.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"
#include "core/model/causal_vlm.h"
#include "core/model/config_reader.h"
#include "core/model/layers.h"
#include "core/model/llama.h"
#include "core/model/prompt_tokens.h"

namespace ps {

namespace {

// The line's generations, by model_type.
enum class QwenVl { V2, V25, V3 };

QwenVl qwen_generation(const std::string& model_type) {
    if (model_type == "qwen2_5_vl") return QwenVl::V25;
    if (model_type == "qwen3_vl") return QwenVl::V3;
    return QwenVl::V2;
}

// The vision tower's sizes, with the names and defaults of Qwen2VLVisionConfig (Qwen2-VL),
// Qwen2_5_VLVisionConfig (Qwen2.5-VL) or Qwen3VLVisionConfig (Qwen3-VL).
struct QwenVisionConfig {
    QwenVl generation = QwenVl::V2;  // V25: RMSNorm, gated MLP with biases, window attention
    int64_t depth = 0, hidden = 0, heads = 0, intermediate = 0, out_hidden = 0;
    int64_t patch = 14, temporal_patch = 2, merge = 2, in_channels = 3, window = 112;
    std::vector<int64_t> full_attention;  // Qwen2.5-VL: the blocks that attend over the whole image
    // Qwen3-VL: a learned position table of side x side cells, interpolated to each image's grid,
    // and the blocks whose outputs DeepStack merges for the decoder's first layers.
    int64_t position_side = 0;
    std::vector<int64_t> deepstack;
    std::string act;
    bool v25() const { return generation == QwenVl::V25; }
    bool v3() const { return generation == QwenVl::V3; }
    int64_t head_dim() const { return hidden / heads; }
};

QwenVisionConfig qwen_vision_config(const ConfigReader& v, QwenVl generation, const std::string& path) {
    QwenVisionConfig c;
    c.generation = generation;
    c.depth = v.integer("depth", c.v3() ? 27 : 32);
    c.heads = v.integer("num_heads", 16);
    c.patch = v.integer("patch_size", c.v3() ? 16 : 14);
    c.temporal_patch = v.integer("temporal_patch_size", 2);
    c.merge = v.integer("spatial_merge_size", 2);
    c.in_channels = v.integer("in_channels", 3);
    if (c.v25()) {
        c.hidden = v.integer("hidden_size", 3584);
        c.intermediate = v.integer("intermediate_size", 3420);
        c.out_hidden = v.integer("out_hidden_size", 3584);
        c.act = v.string("hidden_act", "silu");
        c.window = v.integer("window_size", 112);
        c.full_attention = v.integers("fullatt_block_indexes", {7, 15, 23, 31});
    } else if (c.v3()) {
        c.hidden = v.integer("hidden_size", 1152);
        c.intermediate = v.integer("intermediate_size", 4304);
        c.out_hidden = v.integer("out_hidden_size", 3584);
        c.act = v.string("hidden_act", "gelu_pytorch_tanh");
        const int64_t cells = v.integer("num_position_embeddings", 2304);
        c.position_side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(std::max<int64_t>(cells, 0)))));
        if (cells <= 0 || c.position_side * c.position_side != cells)
            throw Error(path, "vision_config.num_position_embeddings " + std::to_string(cells) + " is not the square of a grid side");
        c.deepstack = v.integers("deepstack_visual_indexes", {8, 16, 24});
        for (int64_t i : c.deepstack)
            if (i < 0 || i >= c.depth)
                throw Error(path, "vision_config.deepstack_visual_indexes: block " + std::to_string(i) + " is not one of the " +
                                      std::to_string(c.depth) + " vision blocks");
    } else {
        c.hidden = v.integer("embed_dim", 1280);
        c.intermediate = static_cast<int64_t>(static_cast<double>(c.hidden) * v.number("mlp_ratio", 4.0));
        c.out_hidden = v.integer("hidden_size", 3584);
        c.act = v.string("hidden_act", "quick_gelu");
    }
    for (const auto& [key, value] : {std::pair<const char*, int64_t>{"depth", c.depth}, {"num_heads", c.heads},
                                     {"hidden size", c.hidden}, {"intermediate size", c.intermediate},
                                     {"output size", c.out_hidden}, {"patch_size", c.patch},
                                     {"temporal_patch_size", c.temporal_patch}, {"spatial_merge_size", c.merge}})
        if (value <= 0) throw Error(path, std::string("vision_config ") + key + " must be positive, not " + std::to_string(value));
    if (c.hidden % c.heads || c.head_dim() % 4)
        throw Error(path, "vision_config: a head of " + std::to_string(c.hidden) + " / " + std::to_string(c.heads) +
                              " channels is not a multiple of 4 (2-D rotary pairs)");
    if (c.v25() && (c.window % (c.patch * c.merge) || c.window <= 0))
        throw Error(path, "vision_config.window_size " + std::to_string(c.window) + " is not a multiple of " +
                              std::to_string(c.patch * c.merge) + " pixels");
    return c;
}

// The text model's config: the family's defaults (Qwen2VLTextConfig's or Qwen3VLTextConfig's),
// then the checkpoint's text_config (or, in older files, its top level).
LlamaConfig qwen_text_config(const nlohmann::json& config, QwenVl generation, const std::string& path) {
    nlohmann::json text = {{"vocab_size", 152064}, {"hidden_size", 8192}, {"intermediate_size", 29568},
                           {"num_hidden_layers", 80}, {"num_attention_heads", 64}, {"num_key_value_heads", 8},
                           {"hidden_act", "silu"}, {"max_position_embeddings", 32768}, {"rms_norm_eps", 1e-5},
                           {"rope_theta", 1000000.0}};
    if (generation == QwenVl::V3)
        text = {{"vocab_size", 151936}, {"hidden_size", 4096}, {"intermediate_size", 22016}, {"num_hidden_layers", 32},
                {"num_attention_heads", 32}, {"num_key_value_heads", 32}, {"head_dim", 128}, {"hidden_act", "silu"},
                {"max_position_embeddings", 128000}, {"rms_norm_eps", 1e-6}, {"rope_theta", 5000000.0}};
    const auto sub = config.find("text_config");
    const nlohmann::json& own = sub != config.end() && sub->is_object() ? *sub : config;
    for (const auto& [key, value] : own.items())
        if (!value.is_null()) text[key] = value;
    const ConfigReader t(text, path, sub != config.end() ? "text_config." : "");
    if (t.boolean("use_sliding_window", false))
        throw Error(path, "use_sliding_window: sliding-window attention is not supported for Qwen2-VL's decoder");
    LlamaConfig c = llama_config(t, path);
    if (generation == QwenVl::V3) {
        // Qwen3: RMSNorm on each head's queries and keys, biases as attention_bias says; the
        // rotary interleaves time, row and column frequencies, sections [24, 20, 20] unless given.
        c.qk_norm = true;
        c.mrope_interleaved = true;
        if (c.mrope_section.empty()) c.mrope_section = {24, 20, 20};
        if (2 * (c.mrope_section[0] + c.mrope_section[1] + c.mrope_section[2]) != c.head_dim)
            throw Error(path, "text_config.rope_scaling.mrope_section: not given, and Qwen3-VL's default [24, 20, 20] does not "
                              "add up to head_dim / 2 = " + std::to_string(c.head_dim / 2));
    } else {
        c.qkv_bias = true;
    }
    c.tie_word_embeddings = ConfigReader(config, path).boolean("tie_word_embeddings", t.boolean("tie_word_embeddings", false));
    return c;
}

// Attention of q, k, v [1,H,N,d] within consecutive runs of `segments` tokens (one call per run, as
// transformers splits at cu_seqlens); `probs`, when asked, is block-diagonal [1,H,N,N].
at::Tensor segmented_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const std::vector<int64_t>& segments,
                               double scale, at::Tensor* probs) {
    int64_t total = 0;
    for (int64_t n : segments) total += n;
    if (total != q.size(2))
        throw Error("vision tower", std::to_string(q.size(2)) + " patches where the images and windows hold " + std::to_string(total));
    if (probs) *probs = at::zeros({q.size(0), q.size(1), total, total}, q.options().dtype(at::kFloat));
    std::vector<at::Tensor> out;
    int64_t from = 0;
    for (int64_t n : segments) {
        at::Tensor p;
        out.push_back(attention(q.narrow(2, from, n), k.narrow(2, from, n), v.narrow(2, from, n), at::Tensor(), scale, probs ? &p : nullptr));
        if (probs) probs->narrow(2, from, n).narrow(3, from, n).copy_(p);
        from += n;
    }
    return at::cat(out, 2);
}

class QwenVlModel : public Vlm, public CausalVlm {
public:
    QwenVlModel(ModelMap map, std::unique_ptr<WeightStore> weights) : Vlm(std::move(map), std::move(weights)) {
        const Checkpoint& ckpt = weights_->checkpoint();
        const std::string path = ckpt.config_path();
        const ConfigReader cfg(ckpt.config(), path);
        const QwenVl generation = qwen_generation(cfg.string("model_type", ""));
        vision_ = qwen_vision_config(cfg.sub("vision_config"), generation, path);
        text_ = qwen_text_config(ckpt.config(), generation, path);
        if (vision_.out_hidden != text_.hidden)
            throw Error(path, "the patch merger gives " + std::to_string(vision_.out_hidden) + " channels, the decoder takes " +
                                  std::to_string(text_.hidden));
        image_token_ = cfg.integer("image_token_id", 151655);
        map_.capabilities.vision_token_group = static_cast<int>(vision_.merge * vision_.merge);

        const auto& names = ckpt.names();
        const bool modules = std::any_of(names.begin(), names.end(), [](const std::string& n) {
            return n.rfind("model.language_model.", 0) == 0 || n.rfind("model.visual.", 0) == 0;
        });
        vision_prefix_ = modules ? "model.visual." : "visual.";
        language_prefix_ = modules ? "model.language_model." : "model.";
        towers_ = {{"vision", Modality::Vision, static_cast<int>(vision_.depth)},
                   {"language", Modality::Language, static_cast<int>(text_.layers)}};
    }

    // The patches of every image one after another as one sequence [1,P,D], attending within their
    // image (and, Qwen2.5-VL, within windows), in the merger's order of 2 x 2 groups — for
    // Qwen2.5-VL grouped by window; `positions` [P] holds each patch's index in the processor's
    // order, which finish() restores (token pruning may have dropped whole groups by then).
    StageState embed(int tower, const VlmInputs& in, const std::vector<StageState>& done) const override {
        if (tower == 0) return vision_embed(in);
        const PromptTokens p = language_inputs(in, done.empty() ? StageState{} : done[0]);
        StageState s = llama_start(text_, p.per_token[0], p.mask, p.positions);
        s.image_slots = p.ids == image_token_;
        s.deepstack.assign(p.per_token.begin() + 1, p.per_token.end());
        s.prompt_index = p.index;
        return s;
    }

    void block(int tower, int i, StageState& s, at::Tensor* probs) const override {
        if (tower == 1) {
            llama_decoder_block(*weights_, language_prefix_, i, text_, s, probs);
            llama_deepstack(s, i);
            return;
        }
        if (!s.hidden.defined()) return;
        const WeightStore& w = *weights_;
        const std::string p = vision_prefix_ + "blocks." + std::to_string(i) + ".";
        const int64_t d = vision_.hidden, hd = vision_.head_dim();
        at::Tensor x = norm(p + "norm1", s.hidden);
        const at::Tensor qkv = w.linear(p + "attn.qkv", x, 3 * d, d, true).view({1, -1, 3, vision_.heads, hd}).permute({2, 0, 3, 1, 4});
        // Rotary in float32, as apply_rotary_pos_emb_vision does.
        const at::Tensor cos = s.cos.unsqueeze(1), sin = s.sin.unsqueeze(1);
        const auto rotary = [&](const at::Tensor& t) {
            const at::Tensor f = t.to(at::kFloat);
            return (f * cos + rotate_half(f) * sin).to(t.scalar_type());
        };
        const bool windowed = vision_.v25() && std::find(vision_.full_attention.begin(), vision_.full_attention.end(), i) ==
                                                 vision_.full_attention.end();
        at::Tensor o = segmented_attention(rotary(qkv[0]), rotary(qkv[1]), qkv[2], windowed ? s.window_segments : s.segments,
                                           1.0 / std::sqrt(static_cast<double>(hd)), probs);
        const at::Tensor h = s.hidden + w.linear(p + "attn.proj", merge_heads(o), d, d, true);
        x = norm(p + "norm2", h);
        if (vision_.v25()) {
            const int64_t inter = w.coupled_width({p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"}, {p + "mlp.down_proj.weight"},
                                                  vision_.intermediate);
            x = activation(w.linear(p + "mlp.gate_proj", x, inter, d, true), vision_.act) * w.linear(p + "mlp.up_proj", x, inter, d, true);
            s.hidden = h + w.linear(p + "mlp.down_proj", x, d, inter, true);
        } else {
            const std::string fc1 = p + (vision_.v3() ? "mlp.linear_fc1" : "mlp.fc1"), fc2 = p + (vision_.v3() ? "mlp.linear_fc2" : "mlp.fc2");
            const int64_t inter = w.coupled_width({fc1 + ".weight"}, {fc2 + ".weight"}, vision_.intermediate);
            x = activation(w.linear(fc1, x, inter, d, true), vision_.act);
            s.hidden = h + w.linear(fc2, x, d, inter, true);
        }
        if (std::find(vision_.deepstack.begin(), vision_.deepstack.end(), i) != vision_.deepstack.end()) s.deepstack.push_back(s.hidden);
    }

    // The merger: each 2 x 2 group of normalised patches through a 2-layer MLP, one token per
    // group, back in the image's order; `positions` then lists the merged tokens present (all of
    // them unless token pruning dropped some), counted over the images in order. Qwen3-VL's
    // DeepStack mergers do the same to their blocks' outputs, normalising each group whole.
    void finish(int tower, StageState& s) const override {
        if (tower == 1) {
            s.hidden = llama_final_norm(*weights_, language_prefix_, text_, s.hidden);
            return;
        }
        if (!s.hidden.defined()) return;
        const WeightStore& w = *weights_;
        const int64_t unit = vision_.merge * vision_.merge, group = vision_.hidden * unit;
        const auto merger = [&](const std::string& p, const at::Tensor& x, bool group_norm) {
            at::Tensor y = group_norm ? norm(p + "norm", x.reshape({-1, group}))
                                      : norm(p + (vision_.v3() ? "norm" : "ln_q"), x).reshape({-1, group});
            const std::string fc1 = vision_.v3() ? "linear_fc1" : "mlp.0", fc2 = vision_.v3() ? "linear_fc2" : "mlp.2";
            y = activation(w.linear(p + fc1, y, group, group, true), "gelu");
            return w.linear(p + fc2, y, vision_.out_hidden, group, true);
        };
        const at::Tensor merged = at::floor_divide(s.positions.reshape({-1, unit}).select(1, 0), unit);
        const at::Tensor order = at::argsort(merged);
        StageState out;
        out.hidden = merger(vision_prefix_ + "merger.", s.hidden, false).index_select(0, order).unsqueeze(0);
        for (size_t k = 0; k < s.deepstack.size(); ++k)
            out.deepstack.push_back(merger(vision_prefix_ + "deepstack_merger_list." + std::to_string(k) + ".", s.deepstack[k], true)
                                        .index_select(0, order)
                                        .unsqueeze(0));
        out.positions = merged.index_select(0, order);
        s = std::move(out);
    }

    VlmOutputs head(const VlmInputs&, const std::vector<StageState>& t) const override {
        VlmOutputs out;
        out.logits = llama_logits(*weights_, language_prefix_, "lm_head.weight", text_, t[1].hidden);
        return out;
    }

    std::vector<std::vector<int64_t>> generate_batch(const VlmInputs& in, int max_new_tokens, std::optional<int64_t> eos,
                                                     const TokenStep& step) const override {
        at::NoGradGuard no_grad;
        const PromptTokens p = language_inputs(in, run_tower(0, in));
        return llama_generate(*weights_, language_prefix_, "lm_head.weight", text_, p.per_token[0], p.mask, max_new_tokens, eos, step,
                              p.positions, {&token_hook(), 1, p.ids == image_token_}, {p.per_token.begin() + 1, p.per_token.end()});
    }

private:
    at::Tensor norm(const std::string& name, const at::Tensor& x) const {
        const WeightStore& w = *weights_;
        const int64_t d = x.size(-1);
        if (vision_.v25()) return rms_norm(x, w.get(name + ".weight", {d}), 1e-6);
        return layer_norm(x, w.get(name + ".weight", {d}), w.get(name + ".bias", {d}), 1e-6);
    }

    StageState vision_embed(const VlmInputs& in) const {
        if (!in.pixel_values.defined()) return StageState{};
        if (!in.image_grid_thw.defined() || in.image_grid_thw.dim() != 2 || in.image_grid_thw.size(1) != 3)
            throw Error("pixel_values", "Qwen-VL images need image_grid_thw [images, 3]");
        const WeightStore& w = *weights_;
        const int64_t d = vision_.hidden, m = vision_.merge, unit = m * m;
        const int64_t patch_dim = vision_.in_channels * vision_.temporal_patch * vision_.patch * vision_.patch;
        const at::Tensor grid = in.image_grid_thw.to(at::kCPU, at::kLong).contiguous();
        const int64_t patches = grid.prod(-1).sum().item<int64_t>();
        if (in.pixel_values.dim() != 2 || in.pixel_values.size(0) != patches || in.pixel_values.size(1) != patch_dim)
            throw Error("pixel_values", "expected [" + std::to_string(patches) + ", " + std::to_string(patch_dim) +
                                            "] patches for image_grid_thw, not " + std::to_string(in.pixel_values.size(0)) + " x " +
                                            std::to_string(in.pixel_values.dim() > 1 ? in.pixel_values.size(1) : 0));
        // The Conv3d patch embedding with stride = kernel is one matrix product per patch.
        const at::Tensor kernel = w.get(vision_prefix_ + "patch_embed.proj.weight",
                                        {d, vision_.in_channels, vision_.temporal_patch, vision_.patch, vision_.patch});
        at::Tensor x = at::linear(in.pixel_values.to(kernel.device(), kernel.scalar_type()), kernel.reshape({d, patch_dim}),
                                  vision_.v3() ? w.get(vision_prefix_ + "patch_embed.proj.bias", {d}) : at::Tensor());

        // Per patch: its row and column (for the 2-D rotary); per frame (an image is one; attention
        // stays within it) and — Qwen2.5-VL — per window, their patches, which are consecutive.
        StageState s;
        std::vector<int64_t> rows, cols, order;
        const int64_t cells = vision_.window / (vision_.patch * m);  // merged tokens per window side
        int64_t base = 0;
        for (int64_t g = 0; g < grid.size(0); ++g) {
            const int64_t t = grid[g][0].item<int64_t>(), h = grid[g][1].item<int64_t>(), wd = grid[g][2].item<int64_t>();
            if (h % m || wd % m)
                throw Error("image_grid_thw", "image " + std::to_string(g) + ": a grid of " + std::to_string(h) + " x " + std::to_string(wd) +
                                                  " patches is not made of " + std::to_string(m) + " x " + std::to_string(m) + " groups");
            const int64_t gh = h / m, gw = wd / m;
            for (int64_t ti = 0; ti < t; ++ti) {
                s.segments.push_back(h * wd);
                for (int64_t bh = 0; bh < gh; ++bh)
                    for (int64_t bw = 0; bw < gw; ++bw)
                        for (int64_t ih = 0; ih < m; ++ih)
                            for (int64_t iw = 0; iw < m; ++iw) {
                                rows.push_back(bh * m + ih);
                                cols.push_back(bw * m + iw);
                            }
            }
            if (!vision_.v25()) continue;
            // Windows of cells x cells merged tokens, row by row from the top left, the last ones cut short.
            const int64_t wh = (gh + cells - 1) / cells, ww = (gw + cells - 1) / cells;
            for (int64_t ti = 0; ti < t; ++ti)
                for (int64_t a = 0; a < wh; ++a)
                    for (int64_t b = 0; b < ww; ++b) {
                        const int64_t r1 = std::min(gh, (a + 1) * cells), c1 = std::min(gw, (b + 1) * cells);
                        s.window_segments.push_back((r1 - a * cells) * (c1 - b * cells) * unit);
                        for (int64_t r = a * cells; r < r1; ++r)
                            for (int64_t c = b * cells; c < c1; ++c) order.push_back(base + (ti * gh + r) * gw + c);
                    }
            base += t * gh * gw;
        }
        // Rotary angles [P, head_dim]: the row's frequencies then the column's, twice over.
        const int64_t quarter = vision_.head_dim() / 4;
        const at::Tensor inv_freq =
            1.0 / at::pow(10000.0, at::arange(0, 2 * quarter, 2, at::kLong).to(at::kFloat) / static_cast<double>(2 * quarter));
        const at::Tensor angles = at::cat({at::tensor(rows, at::kLong).to(at::kFloat).unsqueeze(1) * inv_freq,
                                           at::tensor(cols, at::kLong).to(at::kFloat).unsqueeze(1) * inv_freq}, 1);
        at::Tensor emb = at::cat({angles, angles}, 1);
        if (vision_.v3()) x = x + interpolated_positions(grid, rows, cols).to(x.scalar_type());
        at::Tensor patch_order = at::arange(patches, at::kLong);
        if (vision_.v25()) {
            // Whole 2 x 2 groups move to their window's place, as get_window_index orders them
            // (each frame's windows stay within its patches).
            const at::Tensor groups = at::tensor(order, at::kLong);
            patch_order = (groups.unsqueeze(1) * unit + at::arange(unit, at::kLong)).reshape({-1});
            x = x.index_select(0, patch_order.to(x.device()));
            emb = emb.index_select(0, patch_order);
        }
        s.hidden = x.unsqueeze(0);
        s.positions = patch_order.to(x.device());
        s.cos = emb.cos().to(x.device()).view({1, patches, -1});
        s.sin = emb.sin().to(x.device()).view({1, patches, -1});
        return s;
    }

    // Qwen3-VL's position embedding of each patch at (rows[i], cols[i]): the learned table of
    // side x side cells read bilinearly at the patch's place on a grid stretched over the table,
    // as fast_pos_embed_interpolate does (corners weighted and summed in its order).
    at::Tensor interpolated_positions(const at::Tensor& grid, const std::vector<int64_t>& rows, const std::vector<int64_t>& cols) const {
        const int64_t side = vision_.position_side;
        const at::Tensor table = weights_->get(vision_prefix_ + "pos_embed.weight", {side * side, vision_.hidden});
        std::vector<at::Tensor> out;
        int64_t first = 0;
        for (int64_t g = 0; g < grid.size(0); ++g) {
            const int64_t h = grid[g][1].item<int64_t>(), wd = grid[g][2].item<int64_t>(), n = grid[g].prod().item<int64_t>();
            // Per patch of this image: the two table cells around it along one axis and its share of the far one.
            const auto axis = [&](const std::vector<int64_t>& at_patch, int64_t cells) {
                const at::Tensor index = at::tensor(std::vector<int64_t>(at_patch.begin() + first, at_patch.begin() + first + n), at::kLong);
                const at::Tensor place = at::linspace(0, static_cast<double>(side - 1), cells, at::kFloat).index_select(0, index);
                const at::Tensor low = place.to(at::kInt).to(at::kLong);
                return std::tuple{low, at::clamp_max(low + 1, side - 1), place - low.to(at::kFloat)};
            };
            const auto [h0, h1, dh] = axis(rows, h);
            const auto [w0, w1, dw] = axis(cols, wd);
            const auto corner = [&](const at::Tensor& r, const at::Tensor& c, const at::Tensor& weight) {
                const at::Tensor share = weight.to(table.device(), table.scalar_type()).unsqueeze(1);
                return table.index_select(0, (r * side + c).to(table.device())) * share;
            };
            out.push_back(corner(h0, w0, (1 - dh) * (1 - dw)) + corner(h0, w1, (1 - dh) * dw) + corner(h1, w0, dh * (1 - dw)) +
                          corner(h1, w1, dh * dw));
            first += n;
        }
        return at::cat(out);
    }

    // The decoder's input for `in` after the vision tower's `vision` state: token embeddings with
    // the merged image tokens over the image pads (per_token[0], then Qwen3-VL's DeepStack features
    // per layer, zero off the image tokens), the mask and the multimodal positions. Where token
    // pruning dropped merged tokens (`vision.positions` lists those left, or the token hook chose
    // before the language model), their pads leave the prompt, each row is left-padded again to the
    // longest (masked repeats of its first token), and every token keeps its position.
    PromptTokens language_inputs(const VlmInputs& in, const StageState& vision) const {
        const at::Device device = weights_->device();
        PromptTokens p{in.input_ids.to(device), in.attention_mask.defined() ? in.attention_mask.to(device) : at::Tensor(), rope_index(in), {}, {}};
        const at::Tensor slots = (p.ids == image_token_).cpu();
        const int64_t pads = slots.sum().item<int64_t>();
        if (vision.hidden.defined() && vision.hidden.size(1) < pads && vision.positions.defined()) {
            at::Tensor kept_pad = at::zeros({pads}, at::kBool);
            kept_pad.index_fill_(0, vision.positions.to(at::kCPU, at::kLong), true);
            keep_prompt_tokens(p, slots.logical_not().masked_scatter(slots, kept_pad));
        }
        p.per_token = {with_image_features(p.ids, llama_embed_tokens(*weights_, language_prefix_, text_, p.ids), vision.hidden)};
        for (const at::Tensor& f : vision.deepstack) p.per_token.push_back(with_image_features(p.ids, at::zeros_like(p.per_token[0]), f));
        choose_image_tokens(token_hook(), p, image_token_);
        return p;
    }

    // Token embeddings with the merged image tokens [1,N,D] written over the image pads.
    at::Tensor with_image_features(const at::Tensor& ids, const at::Tensor& x, const at::Tensor& features) const {
        return write_image_features(x, ids == image_token_, features, image_token_, "the images", "merged patches");
    }

    // Qwen2-VL's multimodal position ids [B,T,3] (time, row, column), as get_rope_index gives them:
    // text counts on from the last position; an image's tokens sit at (t, row, column) of its
    // merged grid after the text before it; padding is 1. Without images, the attended tokens count.
    at::Tensor rope_index(const VlmInputs& in) const {
        const at::Tensor ids = in.input_ids.to(at::kCPU).contiguous();
        const int64_t batch = ids.size(0), len = ids.size(1);
        const at::Tensor mask = in.attention_mask.defined() ? in.attention_mask.to(at::kCPU, at::kLong).contiguous()
                                                             : at::ones({batch, len}, at::kLong);
        const at::Tensor device_mask = mask.to(weights_->device());
        if (!in.image_grid_thw.defined())
            return (device_mask.cumsum(-1) - 1).masked_fill(device_mask == 0, 1).unsqueeze(-1).expand({batch, len, 3}).contiguous();
        const at::Tensor grid = in.image_grid_thw.to(at::kCPU, at::kLong).contiguous();
        at::Tensor out = at::ones({batch, len, 3}, at::kLong);
        const int64_t* id = ids.data_ptr<int64_t>();
        const int64_t* attended = mask.data_ptr<int64_t>();
        int64_t* pos = out.data_ptr<int64_t>();
        int64_t next_image = 0;
        for (int64_t b = 0; b < batch; ++b) {
            int64_t next = 0, t = 0;
            const auto put = [&](int64_t at, int64_t p0, int64_t p1, int64_t p2) {
                pos[(b * len + at) * 3] = p0, pos[(b * len + at) * 3 + 1] = p1, pos[(b * len + at) * 3 + 2] = p2;
            };
            while (t < len) {
                if (!attended[b * len + t]) {
                    ++t;
                    continue;
                }
                if (id[b * len + t] != image_token_) {
                    put(t++, next, next, next);
                    ++next;
                    continue;
                }
                if (next_image >= grid.size(0))
                    throw Error("input_ids", "more images in the prompts than rows of image_grid_thw (" + std::to_string(grid.size(0)) + ")");
                const int64_t gt = grid[next_image][0].item<int64_t>(), gh = grid[next_image][1].item<int64_t>() / vision_.merge,
                              gw = grid[next_image][2].item<int64_t>() / vision_.merge;
                ++next_image;
                for (int64_t a = 0; a < gt; ++a)
                    for (int64_t r = 0; r < gh; ++r)
                        for (int64_t c = 0; c < gw; ++c) {
                            while (t < len && !attended[b * len + t]) ++t;
                            if (t >= len || id[b * len + t] != image_token_)
                                throw Error("input_ids", "an image of " + std::to_string(gt * gh * gw) + " merged patches has fewer image tokens");
                            put(t++, next + a, next + r, next + c);
                        }
                next += std::max({gt, gh, gw});
            }
        }
        return out.to(weights_->device());
    }

    QwenVisionConfig vision_;
    LlamaConfig text_;
    int64_t image_token_ = 0;
    std::string vision_prefix_, language_prefix_;
};

std::unique_ptr<Vlm> make_qwen_vl(ModelMap map, std::unique_ptr<WeightStore> weights) {
    return std::make_unique<QwenVlModel>(std::move(map), std::move(weights));
}

// The line's capabilities; `chat_template` and the decoder's head size decide the rest.
FamilySpec qwen_vl_family(FamilySpec f, const std::string& chat_template, bool removable_heads) {
    Capabilities& c = f.capabilities;
    c.kind = ModelKind::Generative;
    c.image_tokens_in_language = true;
    c.vision_token_group = 4;  // 2 x 2 patches a merged token (the constructor reads spatial_merge_size)
    c.vision_cls = false;
    c.chat_template = chat_template;
    c.towers = {{Modality::Vision, "vision_config", false}, {Modality::Language, "text_config", removable_heads}};
    f.factory = make_qwen_vl;
    return f;
}

}  // namespace

FamilySpec qwen2_vl_family() {
    // Qwen2-VL's attention derives its head size from hidden_size / num_attention_heads in both
    // towers, so transformers cannot load fewer heads: width pruning removes MLP channels only.
    return qwen_vl_family({"qwen2-vl", "Qwen2-VL / Qwen2.5-VL", {"qwen2_vl", "qwen2_5_vl"},
                           {{"(model\\.)?visual\\.merger\\.", Modality::Projector},
                            {"(model\\.)?visual\\.", Modality::Vision},
                            {"model\\.", Modality::Language}}},
                          "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{image}{question}<|im_end|>\n"
                          "<|im_start|>assistant\n",
                          false);
}

FamilySpec qwen3_vl_family() {
    // Qwen3's decoder states head_dim, so width pruning may remove whole groups of heads there; no
    // default system turn in the chat template.
    return qwen_vl_family({"qwen3-vl", "Qwen3-VL", {"qwen3_vl"},
                           {{"(model\\.)?visual\\.(merger|deepstack_merger_list)\\.", Modality::Projector},
                            {"(model\\.)?visual\\.", Modality::Vision},
                            {"model\\.", Modality::Language}}},
                          "<|im_start|>user\n{image}{question}<|im_end|>\n<|im_start|>assistant\n", true);
}

}  // namespace ps
