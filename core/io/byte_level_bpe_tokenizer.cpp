#include "core/io/byte_level_bpe_tokenizer.h"

#include <unicode/regex.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/gguf.h"
#include "core/io/json_util.h"

namespace ps {

using tokenizer_detail::AddedToken;
using tokenizer_detail::is_numeric;
using tokenizer_detail::utf8_decode;
using tokenizer_detail::utf8_encode;

struct CompiledRegex {
    std::unique_ptr<icu::RegexPattern> pattern;
};

namespace {

// GPT-2's pre-tokenization pattern, which ByteLevel applies when use_regex is set.
const char* const kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// The split patterns of llama.cpp's pre-tokenizer names, for GGUF files.
const char* const kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The tokenizers library runs Oniguruma, whose \s is Unicode's White_Space; ICU's \s leaves out
// U+000B and U+0085, so the pattern names the property instead.
std::shared_ptr<const CompiledRegex> compile(const std::string& pattern, const std::string& where) {
    std::string icu_pattern;
    for (size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '\\' && i + 1 < pattern.size()) {
            const char n = pattern[++i];
            if (n == 's') icu_pattern += "\\p{White_Space}";
            else if (n == 'S') icu_pattern += "\\P{White_Space}";
            else (icu_pattern += '\\') += n;
        } else {
            icu_pattern += pattern[i];
        }
    }
    UErrorCode status = U_ZERO_ERROR;
    UParseError pe{};
    auto r = std::make_shared<CompiledRegex>();
    r->pattern.reset(icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(icu_pattern), pe, status));
    if (U_FAILURE(status)) throw Error(where, "split pattern \"" + pattern + "\" is not a regex this tokenizer reads");
    return r;
}


// Field access with errors naming the file and the field.
struct Reader {
    std::string path;
    [[noreturn]] void fail(const std::string& field, const std::string& what) const {
        throw Error(path, "\"" + field + "\" " + what);
    }
    const nlohmann::json& object(const nlohmann::json& j, const std::string& key, const std::string& field) const {
        auto it = j.find(key);
        if (it == j.end() || !it->is_object()) fail(field, "must be an object");
        return *it;
    }
    std::string type(const nlohmann::json& j, const std::string& field) const {
        if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) fail(field, "has no \"type\"");
        return j["type"].get<std::string>();
    }
    bool flag(const nlohmann::json& j, const std::string& key, bool fallback, const std::string& field) const {
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) return fallback;
        if (!it->is_boolean()) fail(field + "." + key, "must be true or false");
        return it->get<bool>();
    }
    std::string string(const nlohmann::json& j, const std::string& key, const std::string& field) const {
        auto it = j.find(key);
        if (it == j.end() || !it->is_string()) fail(field + "." + key, "must be a string");
        return it->get<std::string>();
    }
    // The list of a Sequence, or the item itself.
    std::vector<nlohmann::json> steps(const nlohmann::json& j, const char* list_key, const std::string& field) const {
        if (j.is_null()) return {};
        if (type(j, field) != "Sequence") return {j};
        auto it = j.find(list_key);
        if (it == j.end() || !it->is_array()) fail(field + "." + list_key, "must be an array");
        return it->get<std::vector<nlohmann::json>>();
    }
};

}  // namespace

ByteLevelBpeTokenizer::ByteLevelBpeTokenizer(const tokenizer_detail::TokenizerConfig& cfg, const nlohmann::json& j) {
    path_ = cfg.dir + "/tokenizer.json";
    try {
        read_json(cfg, j);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path_, json_error_text(e));
    }
}

void ByteLevelBpeTokenizer::read_json(const tokenizer_detail::TokenizerConfig& cfg, const nlohmann::json& j) {
    const Reader r{path_};
    if (!j.is_object()) throw Error(path_, "not a JSON object");
    const nlohmann::json& model = r.object(j, "model", "model");
    if (r.type(model, "model") != "BPE") r.fail("model.type", "is not BPE");
    for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
        if (model.contains(k) && !model[k].is_null() && model[k] != "")
            r.fail(std::string("model.") + k, "is set; byte-level BPE uses neither");
    byte_fallback_ = r.flag(model, "byte_fallback", false, "model");
    ignore_merges_ = r.flag(model, "ignore_merges", false, "model");
    fuse_unk_ = r.flag(model, "fuse_unk", false, "model");
    const nlohmann::json& vocab = r.object(model, "vocab", "model.vocab");
    // Ids are dense: the vocabulary's, then the added tokens'.
    const int64_t max_id = static_cast<int64_t>(vocab.size() + (j.contains("added_tokens") && j["added_tokens"].is_array()
                                                                     ? j["added_tokens"].size() : 0));
    for (const auto& [token, id] : vocab.items()) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= max_id)
            r.fail("model.vocab", "gives \"" + token + "\" an id outside 0.." + std::to_string(max_id - 1));
        vocab_[token] = id.get<int64_t>();
    }
    auto merges = model.find("merges");
    if (merges == model.end() || !merges->is_array()) r.fail("model.merges", "must be an array");
    for (size_t i = 0; i < merges->size(); ++i) {
        const auto& m = (*merges)[i];
        const std::string where = "model.merges[" + std::to_string(i) + "]";
        if (m.is_string()) {
            const auto symbols = tokenizer_detail::split_merge(m.get<std::string>());
            if (!symbols) r.fail(where, "is not two symbols separated by a space");
            add_merge(symbols->first, symbols->second, where);
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            add_merge(m[0].get<std::string>(), m[1].get<std::string>(), where);
        } else {
            r.fail(where, "is neither \"left right\" nor [left, right]");
        }
    }
    if (model.contains("unk_token") && model["unk_token"].is_string()) {
        auto it = vocab_.find(model["unk_token"].get<std::string>());
        if (it != vocab_.end()) model_unk_ = it->second;
    }

    if (j.contains("added_tokens")) {
        if (!j["added_tokens"].is_array()) r.fail("added_tokens", "must be an array");
        for (const auto& a : j["added_tokens"]) {
            AddedToken t;
            if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || a["id"].get<int64_t>() < 0 ||
                a["id"].get<int64_t>() >= max_id)
                r.fail("added_tokens", "has an entry without an \"id\" in 0.." + std::to_string(max_id - 1));
            t.id = a["id"].get<int64_t>();
            t.content = r.string(a, "content", "added_tokens");
            t.special = r.flag(a, "special", false, "added_tokens");
            t.normalized = r.flag(a, "normalized", !t.special, "added_tokens");
            t.lstrip = r.flag(a, "lstrip", false, "added_tokens");
            t.rstrip = r.flag(a, "rstrip", false, "added_tokens");
            if (r.flag(a, "single_word", false, "added_tokens")) r.fail("added_tokens", "single_word tokens are not supported");
            added_.push_back(t);
        }
    }

    for (const auto& n : r.steps(j.value("normalizer", nlohmann::json()), "normalizers", "normalizer")) {
        const std::string type = r.type(n, "normalizer");
        if (type == "NFC") {
            normalizers_.push_back({});
        } else if (type == "Replace") {
            const nlohmann::json& pat = r.object(n, "pattern", "normalizer.pattern");
            if (!pat.contains("String") || !pat["String"].is_string() || pat["String"].get<std::string>().empty())
                r.fail("normalizer.pattern", "must hold a non-empty \"String\" (regex replacements are not supported)");
            normalizers_.push_back({false, pat["String"].get<std::string>(), r.string(n, "content", "normalizer")});
        } else {
            r.fail("normalizer", "of type " + type + " is not supported (NFC and Replace are)");
        }
    }
    for (const auto& p : r.steps(j.value("pre_tokenizer", nlohmann::json()), "pretokenizers", "pre_tokenizer")) {
        const std::string type = r.type(p, "pre_tokenizer");
        Split s;
        if (type == "ByteLevel") {
            s.kind = Split::ByteLevel;
            s.add_prefix_space = r.flag(p, "add_prefix_space", true, "pre_tokenizer");
            s.use_regex = r.flag(p, "use_regex", true, "pre_tokenizer");
        } else if (type == "Digits") {
            s.kind = Split::Digits;
            s.individual_digits = r.flag(p, "individual_digits", false, "pre_tokenizer");
        } else if (type == "Split") {
            s.kind = Split::Regex;
            const nlohmann::json& pat = r.object(p, "pattern", "pre_tokenizer.pattern");
            if (pat.contains("Regex") && pat["Regex"].is_string()) s.pattern = pat["Regex"].get<std::string>();
            else if (pat.contains("String") && pat["String"].is_string() && !pat["String"].get<std::string>().empty())
                s.literal = pat["String"].get<std::string>();
            else r.fail("pre_tokenizer.pattern", "must hold a \"Regex\" or a non-empty \"String\"");
            const std::string behavior = r.string(p, "behavior", "pre_tokenizer");
            if (behavior == "Isolated") s.behavior = Split::Isolated;
            else if (behavior == "Removed") s.behavior = Split::Removed;
            else if (behavior == "MergedWithPrevious") s.behavior = Split::MergedWithPrevious;
            else r.fail("pre_tokenizer.behavior", "\"" + behavior + "\" is not supported (Isolated, Removed and MergedWithPrevious are)");
            if (r.flag(p, "invert", false, "pre_tokenizer")) r.fail("pre_tokenizer.invert", "true is not supported");
        } else {
            r.fail("pre_tokenizer", "of type " + type + " is not supported (ByteLevel, Split and Digits are)");
        }
        splits_.push_back(s);
    }
    for (const auto& p : r.steps(j.value("post_processor", nlohmann::json()), "processors", "post_processor")) {
        const std::string type = r.type(p, "post_processor");
        if (type == "ByteLevel") continue;  // offsets only
        if (type != "TemplateProcessing")
            r.fail("post_processor", "of type " + type + " is not supported (ByteLevel and TemplateProcessing are)");
        auto single = p.find("single");
        if (single == p.end() || !single->is_array()) r.fail("post_processor.single", "must be an array");
        bool after = false;
        for (const auto& item : *single) {
            if (item.contains("Sequence")) {
                after = true;
                continue;
            }
            if (!item.contains("SpecialToken") || !item["SpecialToken"].contains("id"))
                r.fail("post_processor.single", "holds an item that is neither Sequence nor SpecialToken");
            const std::string name = item["SpecialToken"]["id"].get<std::string>();
            const auto& st = p.value("special_tokens", nlohmann::json::object());
            if (!st.contains(name) || !st[name].contains("ids") || !st[name]["ids"].is_array())
                r.fail("post_processor.special_tokens", "has no ids for \"" + name + "\"");
            for (const auto& id : st[name]["ids"]) (after ? suffix_ : prefix_).push_back(id.get<int64_t>());
        }
    }
    for (const auto& d : r.steps(j.value("decoder", nlohmann::json()), "decoders", "decoder")) {
        const std::string type = r.type(d, "decoder");
        Decoder x;
        if (type == "ByteLevel") x.kind = Decoder::ByteLevel;
        else if (type == "ByteFallback") x.kind = Decoder::ByteFallback;
        else if (type == "Fuse") x.kind = Decoder::Fuse;
        else if (type == "Replace") {
            x.kind = Decoder::Replace;
            const nlohmann::json& pat = r.object(d, "pattern", "decoder.pattern");
            if (!pat.contains("String") || !pat["String"].is_string())
                r.fail("decoder.pattern", "must hold a \"String\" (regex replacements are not supported)");
            x.pattern = pat["String"].get<std::string>();
            x.content = r.string(d, "content", "decoder");
        } else if (type == "Strip") {
            x.kind = Decoder::Strip;
            x.strip_content = r.string(d, "content", "decoder");
            x.strip_start = d.value("start", 0);
            x.strip_stop = d.value("stop", 0);
        } else {
            r.fail("decoder", "of type " + type + " is not supported (ByteLevel, ByteFallback, Fuse, Replace, Strip are)");
        }
        decoders_.push_back(x);
    }

    clean_up_spaces_ = cfg.flag("clean_up_tokenization_spaces").value_or(false);
    if (!cfg.tokenizer_class.empty())
        reference_class_ = cfg.tokenizer_class.size() > 4 && cfg.tokenizer_class.compare(cfg.tokenizer_class.size() - 4, 4, "Fast") == 0
                               ? cfg.tokenizer_class : cfg.tokenizer_class + "Fast";
    for (const AddedToken& t : cfg.added) {
        bool known = false;
        for (const AddedToken& a : added_) known = known || a.id == t.id;
        if (!known) added_.push_back(t);
    }
    finish();
    const std::pair<const char*, std::optional<int64_t>*> specials[] = {
        {"bos_token", &bos_}, {"eos_token", &eos_}, {"unk_token", &unk_}, {"pad_token", &pad_}};
    for (const auto& [key, slot] : specials)
        if (auto tok = cfg.special_token(key)) *slot = token_to_id(*tok);
}

ByteLevelBpeTokenizer::ByteLevelBpeTokenizer(const GgufFile& f) {
    path_ = f.path();
    try {
        read_gguf(f);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path_, "tokenizer metadata: " + json_error_text(e));
    }
}

void ByteLevelBpeTokenizer::read_gguf(const GgufFile& f) {
    const nlohmann::json& m = f.metadata();
    auto field = [&](const std::string& key) -> const nlohmann::json& {
        auto it = m.find(key);
        if (it == m.end()) throw Error(path_, "metadata '" + key + "' is missing (no tokenizer in the file)");
        return *it;
    };
    if (field("tokenizer.ggml.model") != "gpt2")
        throw Error(path_, "tokenizer.ggml.model " + field("tokenizer.ggml.model").dump() +
                               " is not supported (gpt2, byte-level BPE, is)");
    const nlohmann::json& tokens = field("tokenizer.ggml.tokens");
    const nlohmann::json& merges = field("tokenizer.ggml.merges");
    if (!tokens.is_array() || !merges.is_array())
        throw Error(path_, "metadata tokenizer.ggml.tokens and tokenizer.ggml.merges must be arrays");
    nlohmann::json types = m.value("tokenizer.ggml.token_type", nlohmann::json::array());
    if (!types.is_array()) types = nlohmann::json::array();
    for (size_t i = 0; i < tokens.size(); ++i) {
        if (!tokens[i].is_string()) throw Error(path_, "tokenizer.ggml.tokens[" + std::to_string(i) + "] is not a string");
        const std::string t = tokens[i].get<std::string>();
        vocab_.emplace(t, static_cast<int64_t>(i));
        tokens_.push_back(t);
        const int type = i < types.size() && types[i].is_number_integer() ? types[i].get<int>() : 1;
        if (type == 3 || type == 4) added_.push_back({t, static_cast<int64_t>(i), type == 3, false, false, false});
    }
    for (size_t i = 0; i < merges.size(); ++i) {
        const std::string where = "tokenizer.ggml.merges[" + std::to_string(i) + "]";
        const auto symbols = tokenizer_detail::split_merge(merges[i].is_string() ? merges[i].get<std::string>() : std::string());
        if (!symbols) throw Error(path_, where + " is not two symbols separated by a space");
        add_merge(symbols->first, symbols->second, where);
    }
    const std::string pre = m.value("tokenizer.ggml.pre", std::string("default"));
    Split byte_level;
    byte_level.add_prefix_space = m.value("tokenizer.ggml.add_space_prefix", false);
    if (pre == "smollm") {
        Split digits;
        digits.kind = Split::Digits;
        digits.individual_digits = true;
        splits_.push_back(digits);
    } else if (pre == "qwen2" || pre == "llama-bpe") {
        Split s;
        s.kind = Split::Regex;
        s.pattern = pre == "qwen2" ? kQwen2Pattern : kLlama3Pattern;
        splits_.push_back(s);
        byte_level.use_regex = false;
    } else if (pre != "default" && pre != "gpt2") {
        throw Error(path_, "tokenizer.ggml.pre \"" + pre + "\" is not supported (default, gpt2, smollm, qwen2, llama-bpe are)");
    }
    splits_.push_back(byte_level);
    decoders_.push_back({});
    reference_class_ = "GPT2TokenizerFast";
    auto id = [&](const char* key) -> std::optional<int64_t> {
        auto it = m.find(std::string("tokenizer.ggml.") + key);
        if (it == m.end() || !it->is_number_integer()) return std::nullopt;
        const int64_t v = it->get<int64_t>();
        if (v < 0 || static_cast<size_t>(v) >= tokens.size())
            throw Error(path_, std::string("tokenizer.ggml.") + key + " " + std::to_string(v) + " is outside the vocabulary");
        return v;
    };
    bos_ = id("bos_token_id");
    eos_ = id("eos_token_id");
    unk_ = id("unknown_token_id");
    pad_ = id("padding_token_id");
    model_unk_ = unk_;
    if (m.value("tokenizer.ggml.add_bos_token", false) && bos_) prefix_ = {*bos_};
    if (m.value("tokenizer.ggml.add_eos_token", false) && eos_) suffix_ = {*eos_};
    finish();
}

void ByteLevelBpeTokenizer::add_merge(const std::string& left, const std::string& right, const std::string& where) {
    const auto a = vocab_.find(left), b = vocab_.find(right), m = vocab_.find(left + right);
    if (a == vocab_.end() || b == vocab_.end() || m == vocab_.end())
        throw Error(path_, where + " \"" + left + " " + right + "\" names a token missing from the vocabulary");
    merges_.add(a->second, b->second, m->second);
    merge_list_.emplace_back(left, right);
}

void ByteLevelBpeTokenizer::finish() {
    for (AddedToken& t : added_) vocab_.emplace(t.content, t.id);
    for (const auto& [tok, id] : vocab_) {  // a GGUF file's list came first: a repeated token keeps its ids
        if (static_cast<size_t>(id) >= tokens_.size()) tokens_.resize(id + 1);
        if (tokens_[id].empty()) tokens_[id] = tok;
    }
    for (const AddedToken& t : added_) tokens_[t.id] = t.content;  // an added token's id names it
    for (const auto* ids : {&prefix_, &suffix_})
        for (int64_t id : *ids)
            if (id < 0 || static_cast<size_t>(id) >= tokens_.size())
                throw Error(path_, "the post-processor adds token id " + std::to_string(id) + ", outside the vocabulary");
    for (Split& s : splits_) {
        if (s.kind == Split::ByteLevel && s.use_regex) s.pattern = kGpt2Pattern;
        if (!s.literal.empty()) s.pattern = "\\Q" + s.literal + "\\E";
        if (!s.pattern.empty()) s.regex = compile(s.pattern, path_);
    }
}

std::optional<int64_t> ByteLevelBpeTokenizer::token_to_id(const std::string& token) const {
    auto it = vocab_.find(token);
    return it == vocab_.end() ? std::nullopt : std::optional<int64_t>(it->second);
}

std::optional<std::string> ByteLevelBpeTokenizer::id_to_token(int64_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= tokens_.size()) return std::nullopt;
    return tokens_[id];
}

std::vector<std::u32string> ByteLevelBpeTokenizer::pre_tokenize(const std::u32string& text) const {
    std::vector<std::u32string> pieces = {text};
    for (const Split& s : splits_) {
        std::vector<std::u32string> next;
        for (std::u32string piece : pieces) {
            if (s.kind == Split::ByteLevel && s.add_prefix_space && (piece.empty() || piece[0] != U' ')) piece.insert(0, 1, U' ');
            if (s.kind == Split::Digits) {
                for (size_t i = 0; i < piece.size();) {
                    size_t j = i + 1;
                    if (is_numeric(piece[i])) {
                        if (!s.individual_digits)
                            while (j < piece.size() && is_numeric(piece[j])) ++j;
                    } else {
                        while (j < piece.size() && !is_numeric(piece[j])) ++j;
                    }
                    next.push_back(piece.substr(i, j - i));
                    i = j;
                }
                continue;
            }
            if (!s.regex) {
                if (!piece.empty()) next.push_back(piece);
                continue;
            }
            // Matches and the gaps between them, in order (Isolated); gaps only (Removed); each gap
            // with the match after it (MergedWithPrevious).
            const icu::UnicodeString u = icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(piece.data()),
                                                                       static_cast<int32_t>(piece.size()));
            UErrorCode status = U_ZERO_ERROR;
            std::unique_ptr<icu::RegexMatcher> m(s.regex->pattern->matcher(u, status));
            auto take = [&](int32_t b, int32_t e) {
                if (e <= b) return;
                std::string utf8;
                u.tempSubStringBetween(b, e).toUTF8String(utf8);
                next.push_back(utf8_decode(utf8));
            };
            int32_t last = 0;
            while (U_SUCCESS(status) && m->find(status)) {
                const int32_t b = m->start(status), e = m->end(status);
                if (e == b) continue;
                if (s.behavior == Split::MergedWithPrevious) {
                    take(last, e);
                } else {
                    take(last, b);
                    if (s.behavior == Split::Isolated) take(b, e);
                }
                last = e;
            }
            if (U_FAILURE(status)) throw Error(path_, "the split pattern failed on a text");
            take(last, u.length());
        }
        pieces = std::move(next);
    }
    return pieces;
}

void ByteLevelBpeTokenizer::bpe(const std::u32string& piece, std::vector<int64_t>& out) const {
    const bool byte_level = !splits_.empty() && splits_.back().kind == Split::ByteLevel;
    std::string word;
    if (byte_level)
        for (unsigned char b : utf8_encode(piece)) word += tokenizer_detail::byte_level_chars()[b];
    else
        word = utf8_encode(piece);
    if (ignore_merges_)
        if (auto it = vocab_.find(word); it != vocab_.end()) {
            out.push_back(it->second);
            return;
        }
    std::vector<int64_t> symbols;
    bool last_unk = false;
    for (char32_t c : utf8_decode(word)) {
        std::string ch;
        tokenizer_detail::utf8_append(ch, c);
        if (auto it = vocab_.find(ch); it != vocab_.end()) {
            symbols.push_back(it->second);
            last_unk = false;
            continue;
        }
        if (byte_fallback_) {
            std::vector<int64_t> bytes;
            for (unsigned char b : ch) {
                char name[8];
                std::snprintf(name, sizeof name, "<0x%02X>", b);
                if (auto it = vocab_.find(name); it != vocab_.end()) bytes.push_back(it->second);
            }
            if (bytes.size() == ch.size()) {
                symbols.insert(symbols.end(), bytes.begin(), bytes.end());
                last_unk = false;
                continue;
            }
        }
        if (!model_unk_) continue;  // as the tokenizers library does without an unknown token: the character goes
        if (!(fuse_unk_ && last_unk)) symbols.push_back(*model_unk_);
        last_unk = true;
    }
    merges_.apply(symbols);
    out.insert(out.end(), symbols.begin(), symbols.end());
}

std::u32string ByteLevelBpeTokenizer::normalize(std::u32string text) const {
    for (const Normalizer& n : normalizers_) {
        if (n.nfc) {
            text = tokenizer_detail::normalize_unicode9(text, true);
            continue;
        }
        const std::u32string from = utf8_decode(n.from), to = utf8_decode(n.to);
        for (size_t at = text.find(from); at != std::u32string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
    }
    return text;
}

std::vector<int64_t> ByteLevelBpeTokenizer::encode_text(const std::string& utf8) const {
    std::vector<int64_t> out;
    tokenizer_detail::encode_around_added_tokens(
        utf8, added_,
        [this](const std::u32string& t) { return normalize(t); },
        [this](const std::u32string& s, std::vector<int64_t>& ids) {
            for (const std::u32string& piece : pre_tokenize(s)) bpe(piece, ids);
        },
        out);
    return out;
}

std::vector<std::string> ByteLevelBpeTokenizer::apply_decoders(std::vector<std::string> tokens) const {
    for (const Decoder& d : decoders_) {
        std::vector<std::string> next;
        switch (d.kind) {
            case Decoder::ByteLevel: {  // each token's characters back to bytes (others: its own UTF-8)
                std::string bytes;
                for (const std::string& t : tokens) bytes += tokenizer_detail::byte_level_bytes(t);
                next = {tokenizer_detail::utf8_lossy(bytes)};
                break;
            }
            case Decoder::ByteFallback: {  // runs of <0xXX> tokens to their UTF-8, else one U+FFFD a byte
                std::string run;
                size_t run_len = 0;
                auto flush = [&] {
                    if (!run_len) return;
                    bool valid = true;
                    try {
                        utf8_decode(run);
                    } catch (const Error&) {
                        valid = false;
                    }
                    if (valid) next.push_back(run);
                    else
                        for (size_t i = 0; i < run_len; ++i) next.push_back("\xEF\xBF\xBD");
                    run.clear();
                    run_len = 0;
                };
                for (const std::string& t : tokens) {
                    unsigned int byte = 0;
                    if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && std::isxdigit(static_cast<unsigned char>(t[3])) &&
                        std::isxdigit(static_cast<unsigned char>(t[4])) && std::sscanf(t.c_str() + 3, "%2x", &byte) == 1) {
                        run += static_cast<char>(byte);
                        ++run_len;
                        continue;
                    }
                    flush();
                    next.push_back(t);
                }
                flush();
                break;
            }
            case Decoder::Fuse: {
                std::string all;
                for (const std::string& t : tokens) all += t;
                next = {all};
                break;
            }
            case Decoder::Replace:
                for (std::string t : tokens) {
                    for (size_t pos = 0; !d.pattern.empty() && (pos = t.find(d.pattern, pos)) != std::string::npos;
                         pos += d.content.size())
                        t.replace(pos, d.pattern.size(), d.content);
                    next.push_back(t);
                }
                break;
            case Decoder::Strip:
                for (const std::string& t : tokens) {
                    std::u32string u = utf8_decode(t);
                    const char32_t c = utf8_decode(d.strip_content).empty() ? 0 : utf8_decode(d.strip_content)[0];
                    size_t b = 0, e = u.size();
                    for (int i = 0; i < d.strip_start && b < e && u[b] == c; ++i) ++b;
                    for (int i = 0; i < d.strip_stop && e > b && u[e - 1] == c; ++i) --e;
                    next.push_back(utf8_encode(u.substr(b, e - b)));
                }
                break;
        }
        tokens = std::move(next);
    }
    return tokens;
}

std::string ByteLevelBpeTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
    std::vector<std::string> tokens;
    for (int64_t id : ids) {
        const auto tok = id_to_token(id);
        if (!tok) throw Error(path_, "token id " + std::to_string(id) + " is outside the vocabulary");
        bool special = false;
        for (const auto& a : added_) special = special || (a.special && a.id == id);
        if (skip_special_tokens && special) continue;
        tokens.push_back(*tok);
    }
    std::string out;
    if (decoders_.empty()) {  // the library joins undecoded tokens with spaces
        for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    } else {
        for (const std::string& t : apply_decoders(std::move(tokens))) out += t;
    }
    return clean_up_spaces_ ? tokenizer_detail::clean_up_tokenization(out) : out;
}

nlohmann::json ByteLevelBpeTokenizer::to_json() const {
    nlohmann::json vocab = nlohmann::json::object();
    for (size_t id = 0; id < tokens_.size(); ++id) vocab[tokens_[id]] = id;
    nlohmann::json merges = nlohmann::json::array();
    for (const auto& [l, r] : merge_list_) merges.push_back({l, r});
    nlohmann::json added = nlohmann::json::array();
    for (const AddedToken& t : added_)
        added.push_back({{"id", t.id}, {"content", t.content}, {"single_word", false}, {"lstrip", t.lstrip},
                         {"rstrip", t.rstrip}, {"normalized", t.normalized}, {"special", t.special}});
    nlohmann::json pre = nlohmann::json::array();
    for (const Split& s : splits_) {
        if (s.kind == Split::ByteLevel)
            pre.push_back({{"type", "ByteLevel"}, {"add_prefix_space", s.add_prefix_space}, {"trim_offsets", true},
                           {"use_regex", s.use_regex}});
        else if (s.kind == Split::Digits)
            pre.push_back({{"type", "Digits"}, {"individual_digits", s.individual_digits}});
        else
            pre.push_back({{"type", "Split"},
                           {"pattern", s.literal.empty() ? nlohmann::json{{"Regex", s.pattern}} : nlohmann::json{{"String", s.literal}}},
                           {"behavior", s.behavior == Split::Removed             ? "Removed"
                                        : s.behavior == Split::MergedWithPrevious ? "MergedWithPrevious"
                                                                                  : "Isolated"},
                           {"invert", false}});
    }
    nlohmann::json post = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", true}};
    if (!prefix_.empty() || !suffix_.empty()) {
        nlohmann::json single = nlohmann::json::array(), special = nlohmann::json::object();
        auto add = [&](int64_t id) {
            single.push_back({{"SpecialToken", {{"id", tokens_[id]}, {"type_id", 0}}}});
            special[tokens_[id]] = {{"id", tokens_[id]}, {"ids", {id}}, {"tokens", {tokens_[id]}}};
        };
        for (int64_t id : prefix_) add(id);
        single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
        for (int64_t id : suffix_) add(id);
        post = {{"type", "TemplateProcessing"}, {"single", single}, {"pair", single}, {"special_tokens", special}};
    }
    nlohmann::json normalizers = nlohmann::json::array();
    for (const Normalizer& n : normalizers_)
        normalizers.push_back(n.nfc ? nlohmann::json{{"type", "NFC"}}
                                    : nlohmann::json{{"type", "Replace"}, {"pattern", {{"String", n.from}}}, {"content", n.to}});
    nlohmann::json decoders = nlohmann::json::array();
    for (const Decoder& d : decoders_) {
        switch (d.kind) {
            case Decoder::ByteLevel:
                decoders.push_back({{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}});
                break;
            case Decoder::ByteFallback: decoders.push_back({{"type", "ByteFallback"}}); break;
            case Decoder::Fuse: decoders.push_back({{"type", "Fuse"}}); break;
            case Decoder::Replace:
                decoders.push_back({{"type", "Replace"}, {"pattern", {{"String", d.pattern}}}, {"content", d.content}});
                break;
            case Decoder::Strip:
                decoders.push_back({{"type", "Strip"}, {"content", d.strip_content}, {"start", d.strip_start}, {"stop", d.strip_stop}});
                break;
        }
    }
    nlohmann::json model = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", model_unk_ ? nlohmann::json(tokens_[*model_unk_]) : nlohmann::json()},
                            {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr}, {"fuse_unk", fuse_unk_},
                            {"byte_fallback", byte_fallback_}, {"ignore_merges", ignore_merges_}, {"vocab", vocab}, {"merges", merges}};
    return {{"version", "1.0"},
            {"truncation", nullptr},
            {"padding", nullptr},
            {"added_tokens", added},
            {"normalizer", normalizers.empty()      ? nlohmann::json()
                           : normalizers.size() == 1 ? normalizers[0]
                                                     : nlohmann::json{{"type", "Sequence"}, {"normalizers", normalizers}}},
            {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", pre}}},
            {"post_processor", post},
            {"decoder", decoders.empty()      ? nlohmann::json()
                        : decoders.size() == 1 ? decoders[0]
                                               : nlohmann::json{{"type", "Sequence"}, {"decoders", decoders}}},
            {"model", model}};
}

}  // namespace ps
