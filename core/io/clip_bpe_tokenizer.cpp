#include "core/io/clip_bpe_tokenizer.h"

#include <unicode/uchar.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/json_util.h"

namespace ps {

using tokenizer_detail::AddedToken;
using tokenizer_detail::is_numeric;
using tokenizer_detail::is_white_space;
using tokenizer_detail::utf8_decode;
using tokenizer_detail::utf8_encode;

namespace {

// CLIPTokenizer reads at most this many merges (49152 minus the 256 + 2 other symbols).
constexpr size_t kMaxMerges = 49152 - 256 - 2;
const char* const kEndOfWord = "</w>";

bool is_letter(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK) != 0; }

// Python's str.strip(): White_Space plus the information separators U+001C..U+001F.
bool is_python_space(char32_t c) { return is_white_space(c) || (c >= 0x1C && c <= 0x1F); }

}  // namespace

ClipBpeTokenizer::ClipBpeTokenizer(const tokenizer_detail::TokenizerConfig& cfg) {
    const std::string vocab_path = cfg.dir + "/vocab.json", merges_path = cfg.dir + "/merges.txt";
    for (const auto& p : {vocab_path, merges_path})
        if (!tokenizer_detail::file_exists(p))
            throw Error(cfg.dir, "no CLIP BPE vocabulary (expected vocab.json + merges.txt; " +
                                     p.substr(cfg.dir.size() + 1) + " is missing)");
    clean_up_spaces_ = cfg.flag("clean_up_tokenization_spaces").value_or(false);

    const nlohmann::json vocab = read_json_file(vocab_path);
    if (!vocab.is_object() || vocab.empty()) throw Error(vocab_path, "not a JSON object of token ids");
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it->is_number_integer() || it->get<int64_t>() < 0)
            throw Error(vocab_path, "the id of \"" + it.key() + "\" is not a non-negative integer");
        vocab_[it.key()] = it->get<int64_t>();
    }

    // merges.txt: an optional "#version" line, then one "left right" pair a line, best first.
    const std::string text = read_text_file(merges_path);
    size_t pos = 0, line_no = 0;
    while (pos < text.size() && merges_.size() < kMaxMerges) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if ((line_no == 1 && line.rfind("#version", 0) == 0) || line.empty()) continue;
        const auto symbols = tokenizer_detail::split_merge(line);
        if (!symbols) throw Error(merges_path, "line " + std::to_string(line_no) + ": expected two symbols separated by a space");
        const auto& [left, right] = *symbols;
        const auto a = vocab_.find(left), b = vocab_.find(right), m = vocab_.find(left + right);
        if (a == vocab_.end() || b == vocab_.end() || m == vocab_.end())
            throw Error(merges_path, "line " + std::to_string(line_no) + ": \"" + line +
                                         "\" uses a symbol that is not in vocab.json");
        merges_.add(a->second, b->second, m->second);
    }

    // Special tokens: CLIP's are matched in the normalized text unless the config says otherwise.
    auto add = [&](AddedToken t) {
        for (const auto& a : added_)
            if (a.content == t.content) return;
        if (t.normalized) t.content = utf8_encode(normalize(utf8_decode(t.content)));
        if (!vocab_.count(t.content)) vocab_.emplace(t.content, t.id >= 0 ? t.id : static_cast<int64_t>(vocab_.size()));
        t.id = vocab_.at(t.content);
        added_.push_back(t);
    };
    for (const auto& t : cfg.added) add(t);
    const std::pair<const char*, const char*> defaults[] = {
        {"bos_token", "<|startoftext|>"}, {"eos_token", "<|endoftext|>"}, {"unk_token", "<|endoftext|>"},
        {"pad_token", "<|endoftext|>"}};
    const std::pair<const char*, std::optional<int64_t>*> specials[] = {
        {"bos_token", &bos_}, {"eos_token", &eos_}, {"unk_token", &unk_}, {"pad_token", &pad_}};
    for (size_t i = 0; i < 4; ++i) {
        const std::string tok = cfg.special_token(specials[i].first).value_or(defaults[i].second);
        add({tok, -1, true, true, false, false});
        *specials[i].second = token_to_id(tok);
    }
    word_unk_ = *unk_;
    prefix_ = {*bos_};
    suffix_ = {*eos_};
    for (const auto& [tok, id] : vocab_) {
        if (static_cast<size_t>(id) >= tokens_.size()) tokens_.resize(id + 1);
        tokens_[id] = tok;
    }
}

std::optional<int64_t> ClipBpeTokenizer::token_to_id(const std::string& token) const {
    auto it = vocab_.find(token);
    return it == vocab_.end() ? std::nullopt : std::optional<int64_t>(it->second);
}

std::optional<std::string> ClipBpeTokenizer::id_to_token(int64_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= tokens_.size()) return std::nullopt;
    return tokens_[id];
}

std::u32string ClipBpeTokenizer::normalize(const std::u32string& text) const {
    const std::u32string composed = tokenizer_detail::normalize_unicode9(text, true);
    std::u32string out;
    bool in_space = false;
    for (const char32_t c : composed) {
        if (is_white_space(c)) {  // \s+ → " "
            if (!in_space) out += U' ';
            in_space = true;
            continue;
        }
        in_space = false;
        tokenizer_detail::append_lowercase(out, c);
    }
    return out;
}

void ClipBpeTokenizer::add_word(const std::u32string& word, std::vector<int64_t>& out) const {
    // Symbols: one per byte (as its printable character), "</w>" on the last.
    const std::string bytes = utf8_encode(word);
    std::vector<int64_t> symbols;
    for (size_t i = 0; i < bytes.size(); ++i) {
        std::string s = tokenizer_detail::byte_level_chars()[static_cast<uint8_t>(bytes[i])];
        if (i + 1 == bytes.size()) s += kEndOfWord;
        const auto id = token_to_id(s);
        symbols.push_back(id ? *id : word_unk_);
    }
    merges_.apply(symbols);
    out.insert(out.end(), symbols.begin(), symbols.end());
}

std::vector<int64_t> ClipBpeTokenizer::encode_text(const std::string& utf8) const {
    std::vector<int64_t> out;
    tokenizer_detail::encode_around_added_tokens(
        utf8, added_, [this](const std::u32string& t) { return normalize(t); },
        [this](const std::u32string& s, std::vector<int64_t>& out) {
            // CLIP's regex 's|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+ ; whitespace dropped.
            static const std::u32string kContractions[] = {U"s", U"t", U"re", U"ve", U"m", U"ll", U"d"};
            for (size_t i = 0; i < s.size();) {
                const char32_t c = s[i];
                size_t j = i + 1;
                if (c == U'\'') {
                    for (const auto& k : kContractions)
                        if (s.compare(i + 1, k.size(), k) == 0) {
                            j = i + 1 + k.size();
                            break;
                        }
                }
                if (j == i + 1) {
                    if (is_white_space(c)) {
                        i = j;
                        continue;
                    }
                    if (is_letter(c)) {
                        while (j < s.size() && is_letter(s[j])) ++j;
                    } else if (!is_numeric(c)) {
                        while (j < s.size() && !is_white_space(s[j]) && !is_letter(s[j]) && !is_numeric(s[j])) ++j;
                    }
                }
                add_word(s.substr(i, j - i), out);
                i = j;
            }
        },
        out);
    return out;
}

std::string ClipBpeTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
    // The byte-level decoder: each token's characters back to bytes (a token with other characters
    // as its own UTF-8), invalid UTF-8 replaced; then CLIPTokenizerFast's "</w>" → " " and strip().
    std::string bytes;
    for (int64_t id : ids) {
        const auto tok = id_to_token(id);
        if (!tok || tok->empty()) throw Error("", "token id " + std::to_string(id) + " is outside the vocabulary");
        bool special = false;
        for (const auto& a : added_) special = special || (a.special && a.id == id);
        if (skip_special_tokens && special) continue;
        bytes += tokenizer_detail::byte_level_bytes(*tok);
    }
    std::string text = tokenizer_detail::utf8_lossy(bytes), spaced;
    for (size_t pos = 0;;) {
        const size_t hit = text.find(kEndOfWord, pos);
        spaced.append(text, pos, hit == std::string::npos ? std::string::npos : hit - pos);
        if (hit == std::string::npos) break;
        spaced += ' ';
        pos = hit + 4;
    }
    std::u32string u = utf8_decode(spaced);
    size_t b = 0, e = u.size();
    while (b < e && is_python_space(u[b])) ++b;
    while (e > b && is_python_space(u[e - 1])) --e;
    const std::string out = utf8_encode(u.substr(b, e - b));
    return clean_up_spaces_ ? tokenizer_detail::clean_up_tokenization(out) : out;
}

}  // namespace ps
