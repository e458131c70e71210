#include "core/io/wordpiece_tokenizer.h"

#include <unicode/uchar.h>

#include <tuple>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/json_util.h"

namespace ps {

using tokenizer_detail::AddedToken;
using tokenizer_detail::utf8_decode;
using tokenizer_detail::utf8_encode;

namespace {

// The tokenizers library classifies characters with the unicode_categories crate, whose tables
// are Unicode 8.0: a character assigned later has no category there, and a few changed since.
bool in_unicode8(char32_t c) {
    UVersionInfo age;
    u_charAge(static_cast<UChar32>(c), age);
    return u_charType(static_cast<UChar32>(c)) != U_UNASSIGNED && age[0] <= 8;
}

bool is_control(char32_t c) {  // Cc, Cf, Co; tab and newlines are whitespace
    if (c == '\t' || c == '\n' || c == '\r' || !in_unicode8(c)) return false;
    const int8_t t = u_charType(static_cast<UChar32>(c));
    return t == U_CONTROL_CHAR || t == U_FORMAT_CHAR || t == U_PRIVATE_USE_CHAR;
}

bool is_nonspacing_mark(char32_t c) {
    if (c == 0x1734) return true;  // Mn in Unicode 8, Mc later
    if (c == 0x1885 || c == 0x1886 || c == 0xA9BD || c == 0x111C9) return false;
    return in_unicode8(c) && u_charType(static_cast<UChar32>(c)) == U_NON_SPACING_MARK;
}

bool is_punctuation(char32_t c) {  // ASCII punctuation (incl. $+<=>^`|~) or a P* category
    if (c < 0x80) return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
                         (c >= 0x7B && c <= 0x7E);
    if (c == 0x166D || c == 0x111C9) return true;  // Po in Unicode 8
    return in_unicode8(c) && (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_P_MASK) != 0;
}

bool is_chinese_char(char32_t c) {  // the CJK ideograph blocks BERT pads with spaces
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(const tokenizer_detail::TokenizerConfig& cfg, const nlohmann::json* tokenizer_json) {
    // BertTokenizerFast puts tokenizer_config.json's flags (with its defaults) over tokenizer.json's.
    lowercase_ = cfg.flag("do_lower_case").value_or(true);
    strip_accents_ = cfg.flag("strip_accents");
    chinese_chars_ = cfg.flag("tokenize_chinese_chars").value_or(true);
    clean_up_spaces_ = cfg.flag("clean_up_tokenization_spaces").value_or(false);
    if (auto unk = cfg.special_token("unk_token")) unk_token_ = *unk;

    const std::string json_path = cfg.dir + "/tokenizer.json", txt_path = cfg.dir + "/vocab.txt";
    if (tokenizer_json) {
        read_tokenizer_json(*tokenizer_json, json_path);
    } else if (tokenizer_detail::file_exists(json_path)) {
        read_tokenizer_json(read_json_file(json_path), json_path);
    } else if (tokenizer_detail::file_exists(txt_path)) {
        read_vocab_txt(txt_path);
    } else {
        throw Error(cfg.dir, "no WordPiece vocabulary (expected tokenizer.json or vocab.txt)");
    }
    // Added tokens of the config and its special tokens are split out of the text.
    auto add = [&](AddedToken t) {
        for (const auto& a : added_)
            if (a.id == t.id) return;
        if (t.normalized) t.content = utf8_encode(normalize(utf8_decode(t.content)));
        if (vocab_.emplace(t.content, t.id).second) ++entries_;
        added_.push_back(t);
    };
    for (const auto& t : cfg.added) add(t);
    // BertTokenizer's defaults stand in for tokens the config does not name.
    std::optional<int64_t> mask;
    const std::tuple<const char*, const char*, std::optional<int64_t>*> specials[] = {
        {"cls_token", "[CLS]", &cls_}, {"sep_token", "[SEP]", &sep_}, {"pad_token", "[PAD]", &pad_},
        {"unk_token", "[UNK]", &unk_}, {"mask_token", "[MASK]", &mask}, {"bos_token", nullptr, &bos_},
        {"eos_token", nullptr, &eos_}};
    for (const auto& [key, fallback, id] : specials) {
        const auto s = cfg.special_token(key);
        if (!s && (!fallback || !vocab_.count(fallback))) continue;
        const std::string tok = s ? *s : fallback;
        *id = token_to_id(tok);
        if (!*id) throw Error(cfg.dir, std::string(key) + " \"" + tok + "\" is not in the vocabulary");
        add({tok, **id, true, false, false, false});
    }
    if (!unk_) unk_ = token_to_id(unk_token_);
    if (!word_unk_) word_unk_ = unk_;
    if (!word_unk_) throw Error(cfg.dir, "the unknown token \"" + unk_token_ + "\" is not in the vocabulary");
    if (!has_template_) {
        if (cls_) prefix_ = {*cls_};
        if (sep_) suffix_ = {*sep_};
    }
    tokens_.clear();
    // Ids lie below the number of entries read: what the embedding table holds, and a bound on the
    // id → token table.
    for (const auto& [tok, id] : vocab_) {
        if (id < 0 || id >= entries_)
            throw Error(cfg.dir, "token id " + std::to_string(id) + " of \"" + tok + "\" is outside the vocabulary's " +
                                     std::to_string(entries_) + " entries");
        if (static_cast<size_t>(id) >= tokens_.size()) tokens_.resize(id + 1);
        tokens_[id] = tok;
    }
    // Ids that encode() emits without looking them up: the post-processor's and the added tokens'.
    const auto check = [&](int64_t id, const std::string& what) {
        if (id < 0 || id >= vocab_size())
            throw Error(cfg.dir, what + " id " + std::to_string(id) + " is outside the vocabulary's " + std::to_string(vocab_size()) + " ids");
    };
    for (const std::vector<int64_t>* ids : {&prefix_, &suffix_})
        for (int64_t id : *ids) check(id, "post-processor token");
    for (const AddedToken& t : added_) check(t.id, "added token \"" + t.content + "\"");
}

void WordPieceTokenizer::read_vocab_txt(const std::string& path) {
    // One token a line, the id is the line number; as Python's readlines(), a later duplicate wins.
    const std::string text = read_text_file(path);
    size_t pos = 0;
    for (int64_t id = 0; pos < text.size(); ++id) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string tok = text.substr(pos, end - pos);
        if (!tok.empty() && tok.back() == '\r') tok.pop_back();
        vocab_[tok] = id;
        ++entries_;
        pos = end + 1;
    }
    if (vocab_.empty()) throw Error(path, "empty vocabulary");
}

void WordPieceTokenizer::read_tokenizer_json(const nlohmann::json& j, const std::string& path) {
    // A float never converts to an id (a huge one would overflow int64).
    const auto id_of = [&](const nlohmann::json& v) {
        if (!v.is_number_integer()) throw Error(path, "token id " + v.dump() + " is not a whole number");
        return v.get<int64_t>();
    };
    try {
        if (!j.is_object()) throw Error(path, "not a JSON object");
        const auto& model = j.at("model");
        const std::string type = model.value("type", "");
        if (type != "WordPiece") throw Error(path, "model type \"" + type + "\" is not WordPiece");
        for (auto it = model.at("vocab").begin(); it != model.at("vocab").end(); ++it) {
            vocab_[it.key()] = id_of(*it);
            ++entries_;
        }
        if (vocab_.empty()) throw Error(path, "empty vocabulary");
        unk_token_ = model.value("unk_token", unk_token_);
        word_unk_ = token_to_id(unk_token_);
        subword_prefix_ = model.value("continuing_subword_prefix", subword_prefix_);
        max_chars_per_word_ = model.value("max_input_chars_per_word", max_chars_per_word_);

        if (j.contains("normalizer") && !j["normalizer"].is_null()) {
            const auto& n = j["normalizer"];
            if (n.value("type", "") != "BertNormalizer")
                throw Error(path, "normalizer \"" + n.value("type", "") + "\" is not supported (BertNormalizer only)");
            clean_text_ = n.value("clean_text", true);
        } else {
            clean_text_ = false;
        }
        if (j.contains("pre_tokenizer") && !j["pre_tokenizer"].is_null() &&
            j["pre_tokenizer"].value("type", "") != "BertPreTokenizer")
            throw Error(path, "pre_tokenizer \"" + j["pre_tokenizer"].value("type", "") +
                                  "\" is not supported (BertPreTokenizer only)");
        if (j.contains("added_tokens")) {
            for (const auto& a : j.at("added_tokens")) {
                AddedToken t{a.at("content").get<std::string>(), id_of(a.at("id")), a.value("special", false),
                             a.value("normalized", false), a.value("lstrip", false), a.value("rstrip", false)};
                if (t.normalized) t.content = utf8_encode(normalize(utf8_decode(t.content)));
                if (vocab_.emplace(t.content, t.id).second) ++entries_;
                added_.push_back(t);
            }
        }
        if (j.contains("post_processor") && !j["post_processor"].is_null()) {
            const auto& p = j["post_processor"];
            const std::string ptype = p.value("type", "");
            if (ptype == "TemplateProcessing") {
                bool seen_sequence = false;
                for (const auto& item : p.at("single")) {
                    if (item.contains("Sequence")) {
                        seen_sequence = true;
                        continue;
                    }
                    const std::string name = item.at("SpecialToken").at("id").get<std::string>();
                    for (const auto& id : p.at("special_tokens").at(name).at("ids"))
                        (seen_sequence ? suffix_ : prefix_).push_back(id_of(id));
                }
            } else if (ptype == "BertProcessing") {
                prefix_ = {id_of(p.at("cls").at(1))};
                suffix_ = {id_of(p.at("sep").at(1))};
            } else {
                throw Error(path, "post_processor \"" + ptype + "\" is not supported");
            }
            has_template_ = true;
        }
        if (j.contains("decoder") && !j["decoder"].is_null()) {
            const auto& d = j["decoder"];
            if (d.value("type", "") != "WordPiece")
                throw Error(path, "decoder \"" + d.value("type", "") + "\" is not supported (WordPiece only)");
            subword_decoder_prefix_ = d.value("prefix", subword_prefix_);
            decoder_cleanup_ = d.value("cleanup", true);
        } else {
            has_decoder_ = false;
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(path, json_error_text(e));
    }
}

std::optional<int64_t> WordPieceTokenizer::token_to_id(const std::string& token) const {
    auto it = vocab_.find(token);
    return it == vocab_.end() ? std::nullopt : std::optional<int64_t>(it->second);
}

std::optional<std::string> WordPieceTokenizer::id_to_token(int64_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= tokens_.size()) return std::nullopt;
    return tokens_[id];
}

std::u32string WordPieceTokenizer::normalize(const std::u32string& text) const {
    std::u32string s;
    s.reserve(text.size());
    for (char32_t c : text) {
        if (clean_text_) {
            if (c == 0 || c == 0xFFFD || is_control(c)) continue;
            if (tokenizer_detail::is_white_space(c)) c = ' ';
        }
        if (chinese_chars_ && is_chinese_char(c)) {
            s += U' ';
            s += c;
            s += U' ';
        } else {
            s += c;
        }
    }
    if (strip_accents_.value_or(lowercase_)) {
        std::u32string kept;
        for (char32_t c : tokenizer_detail::normalize_unicode9(s, false))
            if (!is_nonspacing_mark(c)) kept += c;
        s.swap(kept);
    }
    if (lowercase_) {
        std::u32string lower;
        lower.reserve(s.size());
        for (char32_t c : s) tokenizer_detail::append_lowercase(lower, c);
        s.swap(lower);
    }
    return s;
}

void WordPieceTokenizer::add_word(const std::u32string& word, std::vector<int64_t>& out) const {
    if (word.size() > max_chars_per_word_) {
        out.push_back(*word_unk_);
        return;
    }
    const size_t n_before = out.size();
    for (size_t start = 0; start < word.size();) {
        std::optional<int64_t> id;
        size_t end = word.size();
        for (; end > start; --end) {
            id = token_to_id((start > 0 ? subword_prefix_ : std::string()) + utf8_encode(word.substr(start, end - start)));
            if (id) break;
        }
        if (!id) {  // some part matches nothing: the whole word is unknown
            out.resize(n_before);
            out.push_back(*word_unk_);
            return;
        }
        out.push_back(*id);
        start = end;
    }
}

std::vector<int64_t> WordPieceTokenizer::encode_text(const std::string& utf8) const {
    std::vector<int64_t> out;
    tokenizer_detail::encode_around_added_tokens(
        utf8, added_, [this](const std::u32string& t) { return normalize(t); },
        [this](const std::u32string& s, std::vector<int64_t>& out) {
            // Split at whitespace (dropped) and punctuation (kept, one character a word).
            std::u32string word;
            for (char32_t c : s) {
                const bool space = tokenizer_detail::is_white_space(c), punct = !space && is_punctuation(c);
                if (space || punct) {
                    if (!word.empty()) add_word(word, out);
                    word.clear();
                    if (punct) add_word(std::u32string(1, c), out);
                } else {
                    word += c;
                }
            }
            if (!word.empty()) add_word(word, out);
        },
        out);
    return out;
}

std::string WordPieceTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
    // The tokenizers WordPiece decoder: "##" pieces join the previous token, others get a space.
    static const std::pair<std::string, std::string> kCleanup[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
        {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    std::string out;
    size_t n = 0;
    for (int64_t id : ids) {
        const auto tok = id_to_token(id);
        if (!tok) throw Error("", "token id " + std::to_string(id) + " is outside the vocabulary");
        bool special = false;
        for (const auto& a : added_) special = special || (a.special && a.id == id);
        if (skip_special_tokens && special) continue;
        std::string t = *tok;
        if (!has_decoder_) {
            out += (n++ ? " " : "") + t;
            continue;
        }
        if (n++ > 0) {
            if (t.compare(0, subword_decoder_prefix_.size(), subword_decoder_prefix_) == 0)
                t.erase(0, subword_decoder_prefix_.size());
            else
                t.insert(0, " ");
        }
        if (decoder_cleanup_) {
            for (const auto& [from, to] : kCleanup) {
                for (size_t pos = 0; (pos = t.find(from, pos)) != std::string::npos; pos += to.size())
                    t.replace(pos, from.size(), to);
            }
        }
        out += t;
    }
    return clean_up_spaces_ ? tokenizer_detail::clean_up_tokenization(out) : out;
}

}  // namespace ps
