// CLIP's byte-level BPE tokenizer, matching transformers' CLIPTokenizerFast (what AutoTokenizer
// returns for CLIP): NFC, whitespace runs to one space, lowercase; CLIP's pre-tokenization regex
// over letters / numbers / others; bytes mapped to printable characters; BPE with a "</w>"
// end-of-word suffix; <|startoftext|> … <|endoftext|>.
#pragma once
#include <unordered_map>

#include "core/io/tokenizer.h"

namespace ps {

class ClipBpeTokenizer : public Tokenizer {
public:
    // Reads vocab.json and merges.txt; special tokens from tokenizer_config.json and
    // special_tokens_map.json.
    explicit ClipBpeTokenizer(const tokenizer_detail::TokenizerConfig& cfg);

    std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = true) const override;
    int64_t vocab_size() const override { return static_cast<int64_t>(vocab_.size()); }
    std::optional<int64_t> token_to_id(const std::string& token) const override;
    std::optional<std::string> id_to_token(int64_t id) const override;
    std::string reference_class() const override { return "CLIPTokenizerFast"; }

protected:
    std::vector<int64_t> encode_text(const std::string& utf8) const override;

private:
    std::u32string normalize(const std::u32string& text) const;
    void add_word(const std::u32string& word, std::vector<int64_t>& out) const;

    std::unordered_map<std::string, int64_t> vocab_;
    std::vector<std::string> tokens_;                 // by id
    tokenizer_detail::BpeMerges merges_;
    std::vector<tokenizer_detail::AddedToken> added_;
    int64_t word_unk_ = -1;                           // the BPE model's unknown token
    bool clean_up_spaces_ = false;                    // transformers' clean_up_tokenization_spaces
};

}  // namespace ps
