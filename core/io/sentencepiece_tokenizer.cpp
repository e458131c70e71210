#include "core/io/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include "core/error.h"

namespace ps {

using tokenizer_detail::AddedToken;

namespace {
const std::string kUnderline = "\xE2\x96\x81";  // "▁", SentencePiece's space
}

SentencePieceTokenizer::SentencePieceTokenizer(const tokenizer_detail::TokenizerConfig& cfg)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()), model_path_(cfg.dir + "/tokenizer.model") {
    if (!tokenizer_detail::file_exists(model_path_))
        throw Error(cfg.dir, "no SentencePiece model (expected tokenizer.model)");
    if (!cfg.flag("legacy").value_or(true))
        throw Error(cfg.dir + "/tokenizer_config.json",
                    "legacy=false is not supported (only LlamaTokenizer's legacy tokenization is implemented)");
    const auto status = sp_->Load(model_path_);
    if (!status.ok()) throw Error(model_path_, std::string("not a valid SentencePiece model (") + status.message() + ")");
    add_prefix_space_ = cfg.flag("add_prefix_space").value_or(true);
    clean_up_spaces_ = cfg.flag("clean_up_tokenization_spaces").value_or(false);

    for (AddedToken t : cfg.added) {
        t.normalized = false;  // the slow tokenizer splits every added token out of the raw text
        added_.push_back(t);
    }
    const std::pair<const char*, const char*> defaults[] = {
        {"bos_token", "<s>"}, {"eos_token", "</s>"}, {"unk_token", "<unk>"}, {"pad_token", nullptr}};
    std::optional<int64_t>* ids[] = {&bos_, &eos_, &unk_, &pad_};
    for (size_t i = 0; i < 4; ++i) {
        const auto tok = defaults[i].second ? cfg.special_token(defaults[i].first).value_or(defaults[i].second)
                                            : cfg.special_token(defaults[i].first);
        if (!tok) continue;
        *ids[i] = token_to_id(*tok);
        if (!*ids[i]) throw Error(cfg.dir, std::string(defaults[i].first) + " \"" + *tok + "\" is not in the vocabulary");
        bool known = false;
        for (const auto& a : added_) known = known || a.content == *tok;
        if (!known) added_.push_back({*tok, **ids[i], true, false, false, false});
    }
    if (cfg.flag("add_bos_token").value_or(true) && bos_) prefix_ = {*bos_};
    if (cfg.flag("add_eos_token").value_or(false) && eos_) suffix_ = {*eos_};
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

int64_t SentencePieceTokenizer::vocab_size() const {
    int64_t n = sp_->GetPieceSize();
    for (const auto& a : added_) n = std::max(n, a.id + 1);
    return n;
}

std::optional<int64_t> SentencePieceTokenizer::token_to_id(const std::string& token) const {
    for (const auto& a : added_)
        if (a.content == token) return a.id;
    const int id = sp_->PieceToId(token);
    if (id == sp_->unk_id() && sp_->IdToPiece(id) != token) return std::nullopt;
    return id;
}

std::optional<std::string> SentencePieceTokenizer::id_to_token(int64_t id) const {
    for (const auto& a : added_)
        if (a.id == id) return a.content;
    if (id < 0 || id >= sp_->GetPieceSize()) return std::nullopt;
    return sp_->IdToPiece(static_cast<int>(id));
}

bool SentencePieceTokenizer::is_special(int64_t id) const {
    for (const auto& a : added_)
        if (a.special && a.id == id) return true;
    return false;
}

std::vector<int64_t> SentencePieceTokenizer::encode_text(const std::string& utf8) const {
    tokenizer_detail::utf8_decode(utf8);  // validates
    std::vector<int64_t> out;
    for (const auto& seg : tokenizer_detail::split_added_tokens(utf8, added_, false)) {
        if (seg.id >= 0) {
            out.push_back(seg.id);
            continue;
        }
        std::vector<int> ids;
        const auto status = sp_->Encode(seg.text, &ids);
        if (!status.ok()) throw Error(model_path_, std::string("encoding failed (") + status.message() + ")");
        out.insert(out.end(), ids.begin(), ids.end());
    }
    return out;
}

std::string SentencePieceTokenizer::decode_pieces(const std::vector<std::string>& pieces) const {
    std::string text;
    const auto status = sp_->Decode(pieces, &text);
    if (!status.ok()) throw Error(model_path_, std::string("decoding failed (") + status.message() + ")");
    return text;
}

std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
    std::vector<std::string> tokens;
    std::vector<bool> special;
    for (int64_t id : ids) {
        const auto tok = id_to_token(id);
        if (!tok) throw Error("", "token id " + std::to_string(id) + " is outside the vocabulary");
        if (skip_special_tokens && is_special(id)) continue;
        tokens.push_back(*tok);
        special.push_back(is_special(id));
    }
    if (tokens.empty()) return "";
    // LlamaTokenizer.convert_tokens_to_string with legacy=True: special tokens are written as they
    // are (a space before one that follows text), the pieces between them decoded by SentencePiece.
    if (add_prefix_space_ && tokens[0].compare(0, kUnderline.size(), kUnderline) == 0) tokens[0].erase(0, kUnderline.size());
    std::string out;
    std::vector<std::string> run;
    bool prev_special = false;
    for (size_t i = 0; i < tokens.size(); ++i) {
        if (special[i]) {
            if (!prev_special && i != 0) out += ' ';
            out += decode_pieces(run) + tokens[i];
            run.clear();
            prev_special = true;
        } else {
            if (prev_special && i == 1 && add_prefix_space_ && tokens[i].compare(0, kUnderline.size(), kUnderline) != 0)
                out += ' ';
            run.push_back(tokens[i]);
            prev_special = false;
        }
    }
    out += decode_pieces(run);
    return clean_up_spaces_ ? tokenizer_detail::clean_up_tokenization(out) : out;
}

}  // namespace ps
