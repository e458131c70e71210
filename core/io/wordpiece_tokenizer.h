// BERT's WordPiece tokenizer, matching transformers' BertTokenizerFast (what AutoTokenizer
// returns): BertNormalizer (clean text, CJK split, NFD accent stripping, lowercase), the BERT
// punctuation / whitespace pre-tokenizer, greedy longest-match WordPiece with "##", [CLS] … [SEP].
#pragma once
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/io/tokenizer.h"

namespace ps {

class WordPieceTokenizer : public Tokenizer {
public:
    // Reads tokenizer.json when present (as BertTokenizerFast does), else vocab.txt;
    // `tokenizer_json`: that file's JSON when the caller has parsed it already.
    explicit WordPieceTokenizer(const tokenizer_detail::TokenizerConfig& cfg, const nlohmann::json* tokenizer_json = nullptr);

    std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = true) const override;
    int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }  // one past the largest id
    std::optional<int64_t> token_to_id(const std::string& token) const override;
    std::optional<std::string> id_to_token(int64_t id) const override;
    std::string reference_class() const override { return "BertTokenizerFast"; }

protected:
    std::vector<int64_t> encode_text(const std::string& utf8) const override;

private:
    void read_tokenizer_json(const nlohmann::json& j, const std::string& path);
    void read_vocab_txt(const std::string& path);
    std::u32string normalize(const std::u32string& text) const;
    void add_word(const std::u32string& word, std::vector<int64_t>& out) const;

    std::unordered_map<std::string, int64_t> vocab_;
    int64_t entries_ = 0;  // vocabulary lines / entries and added tokens read, duplicates included
    std::vector<std::string> tokens_;  // by id
    std::vector<tokenizer_detail::AddedToken> added_;
    std::string unk_token_ = "[UNK]", subword_prefix_ = "##";
    size_t max_chars_per_word_ = 100;
    bool clean_text_ = true, chinese_chars_ = true, lowercase_ = true;
    std::optional<bool> strip_accents_;    // unset: follow lowercase_
    bool decoder_cleanup_ = true;          // the WordPiece decoder's own clean-up
    bool clean_up_spaces_ = false;         // transformers' clean_up_tokenization_spaces
    std::string subword_decoder_prefix_ = "##";
    bool has_decoder_ = true;
    std::optional<int64_t> word_unk_;      // the WordPiece model's unknown token
    bool has_template_ = false;            // tokenizer.json set the special tokens around a text
};

}  // namespace ps
