// BERT (BertModel) as a text tower: word + position + token-type embeddings, post-norm blocks,
// tanh pooler over [CLS]. Used by VisionTextDualEncoder (e.g. a MiniLM text tower).
#pragma once
#include <string>

#include "core/model/vit.h"

namespace ps {

BertStyleConfig bert_config(const ConfigReader& c);
StageState bert_embed(const WeightStore& w, const std::string& p, const BertStyleConfig& c, const at::Tensor& input_ids,
                      const at::Tensor& attention_mask);
void bert_block(const WeightStore& w, const std::string& p, const BertStyleConfig& c, StageState& s, at::Tensor* probs);
at::Tensor bert_pool(const WeightStore& w, const std::string& p, const at::Tensor& hidden);

}  // namespace ps
