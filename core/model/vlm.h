// The runnable model. A Vlm is a sequence of towers (vision, then text/language), each run as
// stages: embed -> block(i) for every block -> finish, then a family head combines the towers.
// Callers (the pruning pipeline, token scoring) drive the stages themselves to capture a block's
// inputs, change its weights and run it again; forward() is the plain driver over the stages.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "core/model/model_map.h"
#include "core/model/weights.h"

namespace ps {

struct VlmInputs {
    // [B,3,H,W] float, preprocessed as the family's image processor does; for a native-resolution
    // family (Qwen2-VL) every image's flattened patches one after another, [patches, C·T·p·p],
    // with image_grid_thw; for a tiled one, with image_sizes.
    at::Tensor pixel_values;
    at::Tensor image_grid_thw;  // [images,3] int64: each image's patch grid (time, rows, columns); native resolution only
    // [images,2] int64: each image's (height, width) as given, for a tiled family (LLaVA-NeXT), whose
    // pixel_values are then [images, tiles, 3, H, W]: each image's global view and tiles, zero-padded
    // to the most tiles.
    at::Tensor image_sizes;
    // [images,2] int64: each image's tile grid (rows, columns) for a family whose processor cuts
    // images into tiles and a thumbnail (InternVL), whose pixel_values are then [views, 3, H, W]:
    // each image's rows x columns tiles, then its thumbnail when it has more than one.
    at::Tensor image_tiles;
    at::Tensor input_ids;       // [B,T] int64
    at::Tensor attention_mask;  // [B,T] 0/1, optional (all ones when undefined)
    // [B,T] int64, optional, as transformers' `labels`: the token at t is what position t-1's
    // next-token loss targets, -100 where no loss is taken (a conversation's prompt); undefined:
    // every next token counts.
    at::Tensor labels;
};

struct TowerInfo {
    std::string name;  // "vision", "text", "language"
    Modality modality;
    int num_blocks;
};

// What flows through a tower's blocks.
struct StageState {
    at::Tensor hidden;     // [B,N,D]
    at::Tensor bias;       // additive attention mask broadcastable to [B,H,N,N], may be undefined
    at::Tensor cos, sin;   // rotary tables, for decoders with RoPE
    // [B,N] or [N] position ids, where the family needs them; in a vision tower whose tokens leave in
    // groups (Capabilities::vision_token_group), each patch's index in the image processor's order.
    at::Tensor positions;
    at::Tensor image_slots;  // [B,N] bool: positions holding image features (LLaVA's decoder)
    // A vision tower whose patches attend only within consecutive runs of them (Qwen2-VL: each
    // image; Qwen2.5-VL's window blocks: each window): the runs' lengths, adding up to N.
    std::vector<int64_t> segments, window_segments;
    // Per-token features that travel with the tokens (Qwen3-VL's DeepStack), each [B,N,D']: in
    // the vision tower the outputs of the blocks that feed DeepStack so far, in the decoder the
    // merged features added after its first layers (zero off the image tokens).
    std::vector<at::Tensor> deepstack;
    // What cross-attention reads its keys and values from (BLIP-2's Q-Former: the image's features).
    at::Tensor encoder_hidden;
    // [B,N] each token's index in input_ids, once tokens have left a decoder's sequence (run-time
    // token pruning); undefined while every token is there.
    at::Tensor prompt_index;
};

// Run-time token pruning (core/token): after the blocks it names, `apply` may drop tokens from the
// state. Only those blocks run with eager attention; they hand it their probabilities [B,H,N,N].
// `before_language` chooses image tokens before the language model: given the prompt's embeddings
// [B,N,D] (image features written over its image tokens) and which image each token belongs to
// [B,N] int64 (0: a text token; 1, 2, …: the row's images or views in order), it returns the
// tokens that stay [B,N] bool (every text token among them); the family then runs the prompt as if
// it held only those image tokens.
struct TokenHook {
    std::set<std::pair<int, int>> after;  // (tower, block)
    std::function<void(int tower, int block, StageState& s, const at::Tensor& probs)> apply;
    std::function<at::Tensor(const at::Tensor& embeds, const at::Tensor& images)> before_language;
};

struct CaptureOptions {
    bool hidden_states = false;
    std::set<std::pair<int, int>> attentions;  // (tower, block) whose probabilities to keep
};

struct VlmOutputs {
    // dual encoders
    at::Tensor image_embeds, text_embeds;  // projected (and for CLIP-style models normalised)
    at::Tensor logits_per_image;           // [B_img, B_txt]
    at::Tensor logits_per_text;            // [B_txt, B_img]
    // decoders
    at::Tensor logits;  // [B,T,V]
    // captures: per tower, the embedding output then each block's output
    std::vector<std::vector<at::Tensor>> hidden_states;
    std::map<std::pair<int, int>, at::Tensor> attentions;
};

class Vlm {
public:
    virtual ~Vlm() = default;

    // Opens a checkpoint folder of a supported family. Throws ps::Error naming the file / tensor.
    static std::unique_ptr<Vlm> load(const std::string& dir, const LoadOptions& opt = {});

    const ModelMap& map() const { return map_; }
    const Capabilities& capabilities() const { return map_.capabilities; }
    WeightStore& weights() { return *weights_; }
    const WeightStore& weights() const { return *weights_; }
    const std::vector<TowerInfo>& towers() const { return towers_; }

    // Stages. `done` holds the finished states of the towers before `tower` (LLaVA's language
    // tower takes the vision tower's features).
    virtual StageState embed(int tower, const VlmInputs& in, const std::vector<StageState>& done) const = 0;
    virtual void block(int tower, int index, StageState& s, at::Tensor* attention_probs = nullptr) const = 0;
    virtual void finish(int tower, StageState& s) const = 0;
    virtual VlmOutputs head(const VlmInputs& in, const std::vector<StageState>& towers) const = 0;

    VlmOutputs forward(const VlmInputs& in, const CaptureOptions& capture = {}) const;
    // One tower from embed to finish, under the caller's grad mode (training drives this).
    StageState run_tower(int tower, const VlmInputs& in, const std::vector<StageState>& done = {}) const;

    // forward() and run_tower() apply this hook between blocks (so every evaluation sees pruned
    // tokens); block() alone never does. An empty hook turns token pruning off.
    void set_token_hook(TokenHook hook) { token_hook_ = std::move(hook); }
    const TokenHook& token_hook() const { return token_hook_; }

protected:
    Vlm(ModelMap map, std::unique_ptr<WeightStore> weights) : map_(std::move(map)), weights_(std::move(weights)) {}
    // block(), then the token hook when it acts after this block; `probs` as in block().
    void run_block(int tower, int index, StageState& s, at::Tensor* probs) const;
    ModelMap map_;
    std::unique_ptr<WeightStore> weights_;
    std::vector<TowerInfo> towers_;
    TokenHook token_hook_;
};

// The index of the model's tower of modality `m`, -1 when it has none.
int tower_index(const Vlm& model, Modality m);

}  // namespace ps
