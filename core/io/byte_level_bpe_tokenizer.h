// Byte-level BPE (the GPT-2 / SmolLM2 / Qwen2 / LLaMA-3 kind) and the SentencePiece-style BPE of
// Gemma's tokenizer.json (spaces replaced by "▁", characters with byte fallback), matching the
// tokenizers library that transformers' fast tokenizers run: the normalizers (NFC, string
// replacements), the pre-tokenizers (a split regex or string the file names, digits, ByteLevel
// with GPT-2's pattern), BPE over bytes mapped to printable characters or over characters (byte
// fallback, ignore_merges), added and special tokens, the post-processor's template and the
// decoder chain. Read from tokenizer.json, or from a GGUF file's tokenizer.ggml.* metadata as
// transformers converts it.
#pragma once
#include <unordered_map>

#include <nlohmann/json_fwd.hpp>

#include "core/io/tokenizer.h"

namespace ps {

class GgufFile;
struct CompiledRegex;  // an ICU pattern, private to the implementation

class ByteLevelBpeTokenizer : public Tokenizer {
public:
    // tokenizer.json (already parsed as `tokenizer_json`) with the folder's tokenizer_config.json.
    // Throws ps::Error naming tokenizer.json and the field for a setting it does not reproduce.
    ByteLevelBpeTokenizer(const tokenizer_detail::TokenizerConfig& cfg, const nlohmann::json& tokenizer_json);
    // A GGUF file whose tokenizer.ggml.model is "gpt2". Control tokens are the special added tokens;
    // BOS is added when tokenizer.ggml.add_bos_token says so.
    explicit ByteLevelBpeTokenizer(const GgufFile& file);

    std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = true) const override;
    int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }
    std::optional<int64_t> token_to_id(const std::string& token) const override;
    std::optional<std::string> id_to_token(int64_t id) const override;
    std::string reference_class() const override { return reference_class_; }

    // The tokenizer.json a transformers fast tokenizer reads back as this one (vocabulary, merges,
    // added tokens, pre-tokenizers, post-processor, decoder).
    nlohmann::json to_json() const;

protected:
    std::vector<int64_t> encode_text(const std::string& utf8) const override;

private:
    // One pre-tokenization step, applied to every piece the steps before it left.
    struct Split {
        enum Kind { Regex, Digits, ByteLevel } kind = ByteLevel;
        std::string pattern;            // Regex: the pattern as the file writes it
        std::string literal;            // Regex: the file's String pattern, which `pattern` quotes
        std::shared_ptr<const CompiledRegex> regex;
        // Regex: matches kept as pieces of their own, dropped, or ending the piece before them.
        enum Behavior { Isolated, Removed, MergedWithPrevious } behavior = Isolated;
        bool individual_digits = false;  // Digits
        bool add_prefix_space = false, use_regex = true;  // ByteLevel
    };
    struct Normalizer {  // NFC, or every `from` replaced by `to`
        bool nfc = true;
        std::string from, to;
    };
    struct Decoder {
        enum Kind { ByteFallback, Fuse, Replace, ByteLevel, Strip } kind = ByteLevel;
        std::string pattern, content;  // Replace
        int strip_start = 0, strip_stop = 0;
        std::string strip_content;
    };

    void read_json(const tokenizer_detail::TokenizerConfig& cfg, const nlohmann::json& tokenizer_json);
    void read_gguf(const GgufFile& file);
    void finish();  // derives the lookups from vocab_, merges and added_
    void add_merge(const std::string& left, const std::string& right, const std::string& where);
    std::u32string normalize(std::u32string text) const;  // the normalizers, in order
    std::vector<std::u32string> pre_tokenize(const std::u32string& text) const;
    void bpe(const std::u32string& piece, std::vector<int64_t>& out) const;
    std::vector<std::string> apply_decoders(std::vector<std::string> tokens) const;

    std::unordered_map<std::string, int64_t> vocab_;
    std::vector<std::string> tokens_;  // by id
    tokenizer_detail::BpeMerges merges_;
    std::vector<std::pair<std::string, std::string>> merge_list_;  // in rank order, for to_json()
    std::vector<tokenizer_detail::AddedToken> added_;
    std::vector<Split> splits_;
    std::vector<Decoder> decoders_;
    std::vector<Normalizer> normalizers_;
    bool byte_fallback_ = false, ignore_merges_ = false, fuse_unk_ = false;
    std::optional<int64_t> model_unk_;
    bool clean_up_spaces_ = false;
    std::string reference_class_ = "PreTrainedTokenizerFast";
    std::string path_;  // labels errors
};

}  // namespace ps
