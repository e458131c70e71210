// LLaMA's SentencePiece tokenizer (tokenizer.model, run by libsentencepiece), matching
// transformers' LlamaTokenizer, the slow sentencepiece-backed class, with legacy=True: the text is
// split at the special tokens and each part is encoded by SentencePiece itself, so the ids are the
// model's own rather than a re-implementation's. (LlamaTokenizerFast, a re-implementation in the
// tokenizers library, differs from it on text next to special tokens.) BOS is added.
#pragma once
#include <memory>

#include "core/io/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace ps {

class SentencePieceTokenizer : public Tokenizer {
public:
    // Reads tokenizer.model; special tokens and add_bos_token / add_eos_token from
    // tokenizer_config.json and special_tokens_map.json. legacy=false is refused.
    explicit SentencePieceTokenizer(const tokenizer_detail::TokenizerConfig& cfg);
    ~SentencePieceTokenizer() override;

    std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = true) const override;
    int64_t vocab_size() const override;
    std::optional<int64_t> token_to_id(const std::string& token) const override;
    std::optional<std::string> id_to_token(int64_t id) const override;
    std::string reference_class() const override { return "LlamaTokenizer"; }

protected:
    std::vector<int64_t> encode_text(const std::string& utf8) const override;

private:
    bool is_special(int64_t id) const;
    std::string decode_pieces(const std::vector<std::string>& pieces) const;

    std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
    std::string model_path_;
    std::vector<tokenizer_detail::AddedToken> added_;  // split out of the text before SentencePiece
    bool add_prefix_space_ = true;                     // decode drops the first piece's "▁"
    bool clean_up_spaces_ = false;
};

}  // namespace ps
