// Text tokenizers of Hugging Face checkpoint folders (WordPiece, CLIP byte-level BPE,
// SentencePiece), each giving the same ids as its transformers class, so that calibration text and
// prompts are tokenized in C++ exactly as the model was trained. Torch-free, plain types.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ps {

struct EncodeOptions {
    bool add_special_tokens = true;  // [CLS] … [SEP], <s> …, <|startoftext|> … <|endoftext|>
    size_t max_length = 0;           // 0: no limit; counts the special tokens too
    bool truncate = false;           // over max_length: cut the text (keeping the special tokens
                                     // as transformers' truncation=True does) instead of throwing
};

class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // Ids of UTF-8 text (invalid UTF-8 throws ps::Error). Over opt.max_length it throws ps::Error
    // unless opt.truncate is set.
    std::vector<int64_t> encode(const std::string& utf8, const EncodeOptions& opt = {}) const;
    // Text of ids, as the transformers class's decode(ids, skip_special_tokens=...) gives it; an id
    // outside the vocabulary throws ps::Error.
    virtual std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = true) const = 0;

    // Number of ids, added tokens included (Python's len(tokenizer)).
    virtual int64_t vocab_size() const = 0;
    virtual std::optional<int64_t> token_to_id(const std::string& token) const = 0;
    virtual std::optional<std::string> id_to_token(int64_t id) const = 0;
    // Which transformers class this tokenizer reproduces, e.g. "BertTokenizerFast".
    virtual std::string reference_class() const = 0;

    std::optional<int64_t> bos_id() const { return bos_; }
    std::optional<int64_t> eos_id() const { return eos_; }
    std::optional<int64_t> pad_id() const { return pad_; }
    std::optional<int64_t> unk_id() const { return unk_; }
    std::optional<int64_t> cls_id() const { return cls_; }
    std::optional<int64_t> sep_id() const { return sep_; }

protected:
    // Ids of the text alone, without the special tokens that encode() puts around it.
    virtual std::vector<int64_t> encode_text(const std::string& utf8) const = 0;

    std::vector<int64_t> prefix_, suffix_;  // special tokens around a single sequence
    std::optional<int64_t> bos_, eos_, pad_, unk_, cls_, sep_;
};

// Reads the tokenizer of a Hugging Face checkpoint folder, or of a .gguf file. A tokenizer.json of a
// byte-level BPE or of Gemma's SentencePiece-style BPE is read as one whatever class the config
// names; otherwise the kind comes from
// tokenizer_config.json's "tokenizer_class" when present, else from the files: tokenizer.model →
// SentencePiece, vocab.json + merges.txt → CLIP BPE, vocab.txt or a WordPiece tokenizer.json →
// WordPiece. Missing or malformed files throw a one-line ps::Error naming the folder or file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir);

// Building blocks shared by the implementations.
namespace tokenizer_detail {

// Code points of UTF-8 text; invalid UTF-8 throws ps::Error.
std::u32string utf8_decode(const std::string& s);
void utf8_append(std::string& out, char32_t c);
std::string utf8_encode(const std::u32string& s);
// Unicode's White_Space property (Rust's char::is_whitespace, the regex class \s).
bool is_white_space(char32_t c);
// Unicode general category N (Nd, Nl, No): the tokenizers library's char::is_numeric.
bool is_numeric(char32_t c);
// NFD or NFC as the tokenizers library computes them: its tables are Unicode 9.0, so a character
// assigned later passes through unchanged, as a starter that nothing reorders or composes across.
std::u32string normalize_unicode9(const std::u32string& s, bool compose);
// Appends the lowercase of c as Rust's char::to_lowercase: the full mapping, without context.
void append_lowercase(std::u32string& out, char32_t c);
// Bytes to text as Rust's String::from_utf8_lossy: each maximal invalid sequence becomes U+FFFD.
std::string utf8_lossy(const std::string& bytes);

// An added token of tokenizer.json / tokenizer_config.json ("added_tokens_decoder").
struct AddedToken {
    std::string content;
    int64_t id = -1;
    bool special = true;
    bool normalized = false;  // matched in the normalized text rather than the raw text
    bool lstrip = false, rstrip = false;
};
// A run of text, or an added token (id >= 0) found in it.
struct Segment {
    std::string text;
    int64_t id = -1;
};
// Splits text at the added tokens whose `normalized` flag equals `normalized`, leftmost-longest
// first, as the tokenizers library does; lstrip / rstrip tokens take the whitespace beside them.
std::vector<Segment> split_added_tokens(const std::string& text, const std::vector<AddedToken>& tokens,
                                        bool normalized);
// The tokenizers library's order around added tokens: split the raw text at the added tokens
// matched before normalization, normalize the rest, split again at those matched after it. Ids of
// added tokens are appended to `out`; every remaining piece goes to `encode_piece`.
void encode_around_added_tokens(const std::string& utf8, const std::vector<AddedToken>& added,
                                const std::function<std::u32string(const std::u32string&)>& normalize,
                                const std::function<void(const std::u32string&, std::vector<int64_t>&)>& encode_piece,
                                std::vector<int64_t>& out);
// BPE merge rules by pair of symbol ids, ranked in the order they were added (the first of a
// repeated pair counts).
class BpeMerges {
public:
    void add(int64_t left, int64_t right, int64_t merged);
    size_t size() const { return merges_.size(); }
    // The tokenizers library's merge loop: the best-ranked pair first, leftmost among equals.
    void apply(std::vector<int64_t>& symbols) const;

private:
    struct Merge {
        uint32_t rank;
        int64_t id;  // of the merged symbol
    };
    static uint64_t key(int64_t a, int64_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }
    std::unordered_map<uint64_t, Merge> merges_;
};

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others map to U+0100
// and up; each byte's character as UTF-8.
const std::array<std::string, 256>& byte_level_chars();
// The inverse: the byte a character stands for, or -1.
int byte_level_byte(char32_t c);
// A BPE merge written "left right": its two symbols, or nullopt unless it is two non-empty
// symbols separated by one space.
std::optional<std::pair<std::string, std::string>> split_merge(const std::string& merge);
// A byte-level token's bytes: each character's byte, or the token's own UTF-8 unchanged when one
// of its characters stands for no byte (an added token written as plain text).
std::string byte_level_bytes(const std::string& token);

// transformers' clean_up_tokenization: " ." → "." and the like.
std::string clean_up_tokenization(std::string s);

// The settings of tokenizer_config.json and special_tokens_map.json that the kinds read.
struct TokenizerConfig {
    std::string dir;
    std::string tokenizer_class;                        // "" when absent
    std::vector<std::pair<std::string, std::string>> special;  // ("bos_token", "<s>"), …
    std::vector<AddedToken> added;                      // "added_tokens_decoder"
    std::vector<std::pair<std::string, bool>> flags;    // every boolean top-level field

    std::optional<std::string> special_token(const std::string& key) const;
    std::optional<bool> flag(const std::string& key) const;
};
TokenizerConfig read_tokenizer_config(const std::string& dir);
bool file_exists(const std::string& path);

}  // namespace tokenizer_detail
}  // namespace ps
