#include "core/io/tokenizer.h"

#include <sys/stat.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>

#include <queue>

#include <nlohmann/json.hpp>

#include "core/ends_with.h"
#include "core/error.h"
#include "core/io/byte_level_bpe_tokenizer.h"
#include "core/io/clip_bpe_tokenizer.h"
#include "core/io/gguf.h"
#include "core/io/json_util.h"
#include "core/io/sentencepiece_tokenizer.h"
#include "core/io/wordpiece_tokenizer.h"

namespace ps {

std::vector<int64_t> Tokenizer::encode(const std::string& utf8, const EncodeOptions& opt) const {
    std::vector<int64_t> body = encode_text(utf8);
    const size_t n_special = opt.add_special_tokens ? prefix_.size() + suffix_.size() : 0;
    const size_t n = body.size() + n_special;
    if (opt.max_length > 0 && n > opt.max_length) {
        if (!opt.truncate)
            throw Error("", "the text is " + std::to_string(n) + " tokens, longer than the limit " +
                                std::to_string(opt.max_length) +
                                " (truncation is an explicit option: EncodeOptions::truncate)");
        if (opt.max_length < n_special)
            throw Error("", "max_length " + std::to_string(opt.max_length) + " leaves no room for the " +
                                std::to_string(n_special) + " special tokens");
        body.resize(opt.max_length - n_special);
    }
    if (!opt.add_special_tokens) return body;
    std::vector<int64_t> out(prefix_);
    out.insert(out.end(), body.begin(), body.end());
    out.insert(out.end(), suffix_.begin(), suffix_.end());
    return out;
}

namespace tokenizer_detail {

std::u32string utf8_decode(const std::string& s) {
    std::u32string out;
    out.reserve(s.size());
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    for (size_t i = 0; i < n;) {
        const unsigned char b = p[i];
        int len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
        char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
        bool ok = len > 0 && i + len <= n;
        for (int k = 1; ok && k < len; ++k) {
            ok = (p[i + k] & 0xC0) == 0x80;
            c = (c << 6) | (p[i + k] & 0x3F);
        }
        const char32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (!ok || c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            throw Error("", "the text is not valid UTF-8 (at byte " + std::to_string(i) + ")");
        out.push_back(c);
        i += len;
    }
    return out;
}

void utf8_append(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

std::string utf8_encode(const std::u32string& s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t c : s) utf8_append(out, c);
    return out;
}

std::u32string normalize_unicode9(const std::u32string& s, bool compose) {
    UErrorCode err = U_ZERO_ERROR;
    const icu::Normalizer2* n = compose ? icu::Normalizer2::getNFCInstance(err) : icu::Normalizer2::getNFDInstance(err);
    if (U_FAILURE(err)) throw Error("ICU", "Unicode normalization data unavailable");
    auto newer = [](char32_t c) {
        UVersionInfo age;
        u_charAge(static_cast<UChar32>(c), age);
        return age[0] > 9;
    };
    std::u32string out;
    out.reserve(s.size());
    for (size_t start = 0; start < s.size();) {
        size_t end = start;
        while (end < s.size() && !newer(s[end])) ++end;
        if (end > start) {
            const icu::UnicodeString u = n->normalize(
                icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(s.data() + start),
                                              static_cast<int32_t>(end - start)),
                err);
            for (int32_t i = 0; i < u.length();) {
                const UChar32 c = u.char32At(i);
                out.push_back(static_cast<char32_t>(c));
                i += U16_LENGTH(c);
            }
        }
        if (end < s.size()) out.push_back(s[end++]);
        start = end;
    }
    return out;
}

void append_lowercase(std::u32string& out, char32_t c) {
    UChar src[2], dst[8];
    int32_t n = 0;
    U16_APPEND_UNSAFE(src, n, static_cast<UChar32>(c));
    UErrorCode err = U_ZERO_ERROR;
    const int32_t m = u_strToLower(dst, 8, src, n, "", &err);
    if (U_FAILURE(err)) {
        out.push_back(c);
        return;
    }
    for (int32_t i = 0; i < m;) {
        UChar32 l;
        U16_NEXT(dst, i, m, l);
        out.push_back(static_cast<char32_t>(l));
    }
}

std::string utf8_lossy(const std::string& bytes) {
    // Unicode's "maximal subpart" practice, as Rust and Python use it.
    std::string out;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const size_t n = bytes.size();
    for (size_t i = 0; i < n;) {
        const unsigned char b = p[i];
        if (b < 0x80) {
            out += static_cast<char>(b);
            ++i;
            continue;
        }
        int len = 0;
        unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
        if (b >= 0xC2 && b <= 0xDF) len = 2;
        else if (b >= 0xE0 && b <= 0xEF) len = 3, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
        else if (b >= 0xF0 && b <= 0xF4) len = 4, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
        size_t k = 1;
        while (len > 0 && k < static_cast<size_t>(len) && i + k < n) {
            const unsigned char c = p[i + k];
            if (k == 1 ? (c < lo || c > hi) : (c & 0xC0) != 0x80) break;
            ++k;
        }
        if (len > 0 && k == static_cast<size_t>(len)) {
            out.append(bytes, i, k);
        } else {
            out += "\xEF\xBF\xBD";
        }
        i += k;
    }
    return out;
}

bool is_white_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_numeric(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0; }

namespace {

size_t utf8_char_start(const std::string& s, size_t i) {
    while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
    return i;
}

}  // namespace

void encode_around_added_tokens(const std::string& utf8, const std::vector<AddedToken>& added,
                                const std::function<std::u32string(const std::u32string&)>& normalize,
                                const std::function<void(const std::u32string&, std::vector<int64_t>&)>& encode_piece,
                                std::vector<int64_t>& out) {
    utf8_decode(utf8);  // validates
    for (const auto& raw : split_added_tokens(utf8, added, false)) {
        if (raw.id >= 0) {
            out.push_back(raw.id);
            continue;
        }
        for (const auto& seg : split_added_tokens(utf8_encode(normalize(utf8_decode(raw.text))), added, true)) {
            if (seg.id >= 0) out.push_back(seg.id);
            else encode_piece(utf8_decode(seg.text), out);
        }
    }
}

void BpeMerges::add(int64_t left, int64_t right, int64_t merged) {
    merges_.emplace(key(left, right), Merge{static_cast<uint32_t>(merges_.size()), merged});
}

void BpeMerges::apply(std::vector<int64_t>& symbols) const {
    if (symbols.size() < 2) return;
    struct Symbol {
        int64_t id;
        int prev, next;
        bool alive;
    };
    std::vector<Symbol> sym;
    sym.reserve(symbols.size());
    for (size_t i = 0; i < symbols.size(); ++i)
        sym.push_back({symbols[i], static_cast<int>(i) - 1, static_cast<int>(i) + 1, true});
    sym.back().next = -1;
    struct Candidate {
        uint32_t rank;
        int pos;
        int64_t id;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
    auto push = [&](int left) {
        const int right = sym[left].next;
        if (right < 0) return;
        auto m = merges_.find(key(sym[left].id, sym[right].id));
        if (m != merges_.end()) queue.push({m->second.rank, left, m->second.id});
    };
    for (size_t i = 0; i + 1 < sym.size(); ++i) push(static_cast<int>(i));
    while (!queue.empty()) {
        const Candidate top = queue.top();
        queue.pop();
        Symbol& left = sym[top.pos];
        if (!left.alive || left.next < 0) continue;
        Symbol& right = sym[left.next];
        auto m = merges_.find(key(left.id, right.id));
        if (m == merges_.end() || m->second.id != top.id) continue;  // stale entry
        left.id = top.id;
        right.alive = false;
        left.next = right.next;
        if (right.next >= 0) sym[right.next].prev = top.pos;
        if (left.prev >= 0) push(left.prev);
        push(top.pos);
    }
    symbols.clear();
    for (const auto& x : sym)
        if (x.alive) symbols.push_back(x.id);
}

const std::array<std::string, 256>& byte_level_chars() {
    static const std::array<std::string, 256> table = [] {
        std::array<std::string, 256> t;
        int extra = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            utf8_append(t[b], printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++));
        }
        return t;
    }();
    return table;
}

int byte_level_byte(char32_t c) {
    static const std::unordered_map<char32_t, int> inverse = [] {
        std::unordered_map<char32_t, int> m;
        for (int b = 0; b < 256; ++b) m[utf8_decode(byte_level_chars()[b])[0]] = b;
        return m;
    }();
    auto it = inverse.find(c);
    return it == inverse.end() ? -1 : it->second;
}

std::optional<std::pair<std::string, std::string>> split_merge(const std::string& merge) {
    const size_t space = merge.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == merge.size() || merge.find(' ', space + 1) != std::string::npos)
        return std::nullopt;
    return std::make_pair(merge.substr(0, space), merge.substr(space + 1));
}

std::string byte_level_bytes(const std::string& token) {
    std::string bytes;
    for (char32_t c : utf8_decode(token)) {
        const int b = byte_level_byte(c);
        if (b < 0) return token;
        bytes += static_cast<char>(b);
    }
    return bytes;
}

std::vector<Segment> split_added_tokens(const std::string& text, const std::vector<AddedToken>& tokens,
                                        bool normalized) {
    std::vector<Segment> out;
    size_t start_offset = 0, i = 0;
    while (i < text.size()) {
        const AddedToken* best = nullptr;
        for (const auto& t : tokens)
            if (t.normalized == normalized && !t.content.empty() && (!best || t.content.size() > best->content.size()) &&
                text.compare(i, t.content.size(), t.content) == 0)
                best = &t;
        if (!best) {
            ++i;
            continue;
        }
        size_t start = i, stop = i + best->content.size();
        if (best->lstrip) {
            while (start > start_offset) {
                const size_t prev = utf8_char_start(text, start - 1);
                if (!is_white_space(utf8_decode(text.substr(prev, start - prev))[0])) break;
                start = prev;
            }
        }
        if (best->rstrip) {
            while (stop < text.size()) {
                size_t next = stop + 1;
                while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) ++next;
                if (!is_white_space(utf8_decode(text.substr(stop, next - stop))[0])) break;
                stop = next;
            }
        }
        if (start_offset < start) out.push_back({text.substr(start_offset, start - start_offset), -1});
        out.push_back({text.substr(start, stop - start), best->id});
        start_offset = i = stop;
    }
    if (start_offset < text.size()) out.push_back({text.substr(start_offset), -1});
    return out;
}

std::string clean_up_tokenization(std::string s) {
    static const std::pair<const char*, const char*> kRules[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : kRules) {
        const std::string f(from), t(to);
        std::string r;
        size_t pos = 0, hit;
        while ((hit = s.find(f, pos)) != std::string::npos) {
            r.append(s, pos, hit - pos).append(t);
            pos = hit + f.size();
        }
        s = r.append(s, pos, std::string::npos);
    }
    return s;
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::optional<std::string> TokenizerConfig::special_token(const std::string& key) const {
    for (const auto& [k, v] : special)
        if (k == key) return v;
    return std::nullopt;
}

std::optional<bool> TokenizerConfig::flag(const std::string& key) const {
    for (const auto& [k, v] : flags)
        if (k == key) return v;
    return std::nullopt;
}

namespace {

// A special-token entry: "<s>", {"content": "<s>", ...} or null (no such token).
void read_special(TokenizerConfig& cfg, const std::string& key, const nlohmann::json& v, const std::string& path) {
    for (auto it = cfg.special.begin(); it != cfg.special.end(); ++it)
        if (it->first == key) {
            cfg.special.erase(it);
            break;
        }
    if (v.is_string()) {
        cfg.special.emplace_back(key, v.get<std::string>());
    } else if (v.is_object() && v.contains("content") && v["content"].is_string()) {
        cfg.special.emplace_back(key, v["content"].get<std::string>());
    } else if (!v.is_null()) {
        throw Error(path, "\"" + key + "\" must be a string, a token object or null");
    }
}

bool is_special_key(const std::string& k) {
    return k == "bos_token" || k == "eos_token" || k == "unk_token" || k == "pad_token" || k == "cls_token" ||
           k == "sep_token" || k == "mask_token";
}

}  // namespace

TokenizerConfig read_tokenizer_config(const std::string& dir) {
    TokenizerConfig cfg;
    cfg.dir = dir;
    const std::string config_path = dir + "/tokenizer_config.json";
    if (file_exists(config_path)) {
        const nlohmann::json j = read_json_file(config_path);
        if (!j.is_object()) throw Error(config_path, "not a JSON object");
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (it->is_boolean()) cfg.flags.emplace_back(it.key(), it->get<bool>());
            if (is_special_key(it.key())) read_special(cfg, it.key(), *it, config_path);
        }
        if (j.contains("tokenizer_class") && j["tokenizer_class"].is_string())
            cfg.tokenizer_class = j["tokenizer_class"].get<std::string>();
        if (j.contains("added_tokens_decoder")) {
            const auto& a = j["added_tokens_decoder"];
            if (!a.is_object()) throw Error(config_path, "\"added_tokens_decoder\" must be an object");
            for (auto it = a.begin(); it != a.end(); ++it) {
                AddedToken t;
                try {
                    t.id = std::stoll(it.key());
                    t.content = it->at("content").get<std::string>();
                    t.special = it->value("special", false);
                    t.normalized = it->value("normalized", !t.special);
                    t.lstrip = it->value("lstrip", false);
                    t.rstrip = it->value("rstrip", false);
                } catch (const std::exception&) {
                    throw Error(config_path, "added token \"" + it.key() + "\" is malformed");
                }
                cfg.added.push_back(t);
            }
        }
    }
    const std::string map_path = dir + "/special_tokens_map.json";
    if (file_exists(map_path)) {
        const nlohmann::json j = read_json_file(map_path);
        if (!j.is_object()) throw Error(map_path, "not a JSON object");
        for (auto it = j.begin(); it != j.end(); ++it)
            if (is_special_key(it.key())) read_special(cfg, it.key(), *it, map_path);
    }
    return cfg;
}

}  // namespace tokenizer_detail

namespace {

enum class Kind { WordPiece, ClipBpe, SentencePiece };

Kind kind_of_class(const std::string& cls, const std::string& config_path) {
    std::string base = cls;
    if (base.size() > 4 && ends_with(base, "Fast")) base.resize(base.size() - 4);
    if (base == "BertTokenizer" || base == "DistilBertTokenizer") return Kind::WordPiece;
    if (base == "CLIPTokenizer") return Kind::ClipBpe;
    if (base == "LlamaTokenizer") return Kind::SentencePiece;
    throw Error(config_path, "tokenizer_class \"" + cls +
                                 "\" is not supported (supported: BertTokenizer, DistilBertTokenizer, CLIPTokenizer, "
                                 "LlamaTokenizer and their Fast variants)");
}

// A BPE model, without CLIP's end-of-word suffix, whose pre-tokenizer or decoder is (or holds)
// ByteLevel, or whose normalizer writes spaces as "▁" (Gemma's): ByteLevelBpeTokenizer reads both.
bool is_bpe_json(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("model") || !j["model"].is_object() || j["model"].value("type", "") != "BPE")
        return false;
    const auto suffix = j["model"].find("end_of_word_suffix");
    if (suffix != j["model"].end() && suffix->is_string() && !suffix->get<std::string>().empty()) return false;
    for (const char* part : {"pre_tokenizer", "decoder"}) {
        auto it = j.find(part);
        if (it != j.end() && it->dump().find("\"ByteLevel\"") != std::string::npos) return true;
    }
    // Gemma's: spaces replaced by "▁" and nothing prepended (LLaMA's, which prepends, stays with
    // SentencePiece and its tokenizer.model).
    const std::string normalizer = j.contains("normalizer") ? j["normalizer"].dump() : "";
    return normalizer.find("\"Replace\"") != std::string::npos && normalizer.find("\"Prepend\"") == std::string::npos;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir) {
    using namespace tokenizer_detail;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) throw Error(dir, "no such folder");
    if (is_gguf_path(dir)) return std::make_unique<ByteLevelBpeTokenizer>(*GgufFile::open(dir));
    if (!S_ISDIR(st.st_mode)) throw Error(dir, "not a folder");
    const bool has_json = file_exists(dir + "/tokenizer.json"), has_vocab_txt = file_exists(dir + "/vocab.txt"),
               has_vocab_json = file_exists(dir + "/vocab.json"), has_merges = file_exists(dir + "/merges.txt"),
               has_model = file_exists(dir + "/tokenizer.model");
    if (!has_json && !has_vocab_txt && !(has_vocab_json && has_merges) && !has_model)
        throw Error(dir, "no tokenizer files (expected tokenizer.json, vocab.txt, vocab.json + merges.txt or "
                         "tokenizer.model)");
    const TokenizerConfig cfg = read_tokenizer_config(dir);
    std::optional<nlohmann::json> tokenizer_json;  // parsed once, handed to the tokenizer that reads it
    if (has_json) {
        tokenizer_json = read_json_file(dir + "/tokenizer.json");
        if (is_bpe_json(*tokenizer_json)) return std::make_unique<ByteLevelBpeTokenizer>(cfg, *tokenizer_json);
    }

    Kind kind;
    if (!cfg.tokenizer_class.empty()) {
        kind = kind_of_class(cfg.tokenizer_class, dir + "/tokenizer_config.json");
    } else if (has_model) {
        kind = Kind::SentencePiece;
    } else if (has_vocab_json && has_merges) {
        kind = Kind::ClipBpe;
    } else if (has_vocab_txt) {
        kind = Kind::WordPiece;
    } else {
        const std::string path = dir + "/tokenizer.json";
        const nlohmann::json& j = *tokenizer_json;
        const nlohmann::json* type = j.is_object() && j.contains("model") && j["model"].is_object() &&
                                             j["model"].contains("type")
                                         ? &j["model"]["type"]
                                         : nullptr;
        if (!type || !type->is_string()) throw Error(path, "missing \"model\".\"type\"");
        if (type->get<std::string>() != "WordPiece")
            throw Error(path, "a " + type->get<std::string>() +
                                  " tokenizer.json needs tokenizer_config.json's tokenizer_class to say which "
                                  "tokenizer it is (supported without it: WordPiece)");
        kind = Kind::WordPiece;
    }
    switch (kind) {
        case Kind::WordPiece: return std::make_unique<WordPieceTokenizer>(cfg, tokenizer_json ? &*tokenizer_json : nullptr);
        case Kind::ClipBpe: return std::make_unique<ClipBpeTokenizer>(cfg);
        case Kind::SentencePiece: return std::make_unique<SentencePieceTokenizer>(cfg);
    }
    return nullptr;
}

}  // namespace ps
