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
    struct Merge {
        uint32_t rank;
        int64_t id;  // of the merged symbol
    };
    std::u32string normalize(const std::u32string& text) const;
    void add_word(const std::u32string& word, std::vector<int64_t>& out) const;

    std::unordered_map<std::string, int64_t> vocab_;
    std::vector<std::string> tokens_;                 // by id
    std::unordered_map<uint64_t, Merge> merges_;      // (left id << 32 | right id) → merge
    std::vector<tokenizer_detail::AddedToken> added_;
    std::string byte_to_char_[256];                   // GPT-2's bytes_to_unicode, as UTF-8
    std::unordered_map<char32_t, uint8_t> char_to_byte_;
    int64_t word_unk_ = -1;                           // the BPE model's unknown token
    bool clean_up_spaces_ = false;                    // transformers' clean_up_tokenization_spaces
};

}  // namespace ps
