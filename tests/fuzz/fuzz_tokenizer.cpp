// The tokenizers on fuzzed input. The first byte chooses what the rest is: text encoded and
// decoded by the WordPiece tokenizer of PS_TOKENIZER_DIR (the default model's), or the
// tokenizer.json, tokenizer_config.json or vocab.txt of a small WordPiece folder (its other files
// valid), loaded and used. Every outcome is ids within the vocabulary or a ps::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>
#include <unistd.h>

#include "core/error.h"
#include "core/io/tokenizer.h"

namespace fs = std::filesystem;

namespace {

const ps::Tokenizer* reference() {
    static const std::unique_ptr<ps::Tokenizer> t = ps::load_tokenizer(PS_TOKENIZER_DIR);
    return t.get();
}

// A scratch folder, one per process, removed at exit.
struct Scratch {
    fs::path dir = fs::temp_directory_path() / ("prunestudio-fuzz-tokenizer-" + std::to_string(getpid()));
    Scratch() { fs::create_directories(dir); }
    ~Scratch() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

const fs::path& scratch() {
    static const Scratch s;
    return s.dir;
}

const char kVocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nphoto\nof\n##s\nsandal\n,\n";
const char kConfig[] = R"({"tokenizer_class": "BertTokenizer", "do_lower_case": true})";
const char kJson[] = R"({"model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
  "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4, "photo": 5, "of": 6, "##s": 7}},
  "normalizer": {"type": "BertNormalizer", "lowercase": true}, "added_tokens": []})";

void put(const char* name, const std::string& bytes) {
    std::ofstream(scratch() / name, std::ios::binary | std::ios::trunc) << bytes;
}

void encode_checked(const ps::Tokenizer& t, const std::string& text) {
    const std::vector<int64_t> ids = t.encode(text);
    for (int64_t id : ids)
        if (id < 0 || id >= t.vocab_size()) std::abort();  // an id outside the vocabulary
    t.decode(ids);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        const int mode = data[0] % 4;
        if (mode == 0) {
            encode_checked(*reference(), rest);
            return 0;
        }
        fs::remove(scratch() / "tokenizer.json");
        put("tokenizer_config.json", mode == 2 ? rest : kConfig);
        if (mode == 1) put("tokenizer.json", rest);
        else put("vocab.txt", mode == 3 ? rest : kVocab);
        const std::unique_ptr<ps::Tokenizer> t = ps::load_tokenizer(scratch().string());
        encode_checked(*t, "a photo of a sandal, ankle boot");
    } catch (const ps::Error&) {
    }
    return 0;
}
