// ViT (ViTModel) as a tower: patch + class + position embeddings, pre-norm blocks with
// attention.attention.{query,key,value} / attention.output.dense / intermediate / output, final
// layernorm and a tanh pooler over the class token. Used by VisionTextDualEncoder.
#pragma once
#include <string>

#include "core/model/config_reader.h"
#include "core/model/vlm.h"

namespace ps {

struct BertStyleConfig {  // the fields ViT and BERT share
    int64_t hidden = 0, intermediate = 0, layers = 0, heads = 0;
    std::string act;
    double eps = 1e-12;
    int64_t image_size = 0, patch_size = 0;  // ViT
    int64_t max_positions = 0;               // BERT
    std::string pooler_act = "tanh";
};

BertStyleConfig vit_config(const ConfigReader& c);
StageState vit_embed(const WeightStore& w, const std::string& p, const BertStyleConfig& c, const at::Tensor& pixel_values);
void vit_block(const WeightStore& w, const std::string& p, const BertStyleConfig& c, StageState& s, at::Tensor* probs);
// Final layernorm over the sequence, and the pooler over its class token.
void vit_finish(const WeightStore& w, const std::string& p, const BertStyleConfig& c, StageState& s);
at::Tensor vit_pool(const WeightStore& w, const std::string& p, const BertStyleConfig& c, const at::Tensor& hidden);

// A linear layer `name` of [out, in], its shape checked against the config.
at::Tensor bert_style_linear(const WeightStore& w, const std::string& name, const at::Tensor& x, int64_t out, int64_t in);
// Self-attention of ViT/BERT blocks: {query,key,value} under `p`, output projection `out`.
at::Tensor bert_style_attention(const WeightStore& w, const std::string& p, const std::string& out,
                                const BertStyleConfig& c, const at::Tensor& x, const at::Tensor& bias, at::Tensor* probs);

}  // namespace ps
