#include "core/io/chat_template.h"

#include "core/error.h"
#include "core/io/gguf.h"
#include "core/io/json_util.h"
#include "core/io/tokenizer.h"

namespace ps {
namespace {

using tokenizer_detail::file_exists;

// The chat template field of a JSON file, "" when the file or the field is absent. transformers
// also writes a list of named templates: the one named "default" is taken.
std::string json_string_field(const std::string& path, const char* key) {
    if (!file_exists(path)) return {};
    const nlohmann::json j = read_json_file(path);
    auto it = j.is_object() ? j.find(key) : j.end();
    if (!j.is_object() || it == j.end() || it->is_null()) return {};
    if (it->is_array())
        for (const auto& named : *it)
            if (named.is_object() && named.value("name", "") == "default" && named.contains("template") &&
                named["template"].is_string())
                return named["template"].get<std::string>();
    if (!it->is_string()) throw Error(path, std::string("\"") + key + "\" must be a string or a list with a \"default\" template");
    return it->get<std::string>();
}

}  // namespace

std::string read_chat_template(const std::string& dir) {
    if (is_gguf_path(dir)) {
        const auto f = GgufFile::open(dir);
        auto it = f->metadata().find("tokenizer.chat_template");
        return it != f->metadata().end() && it->is_string() ? it->get<std::string>() : std::string();
    }
    if (file_exists(dir + "/chat_template.jinja")) return read_text_file(dir + "/chat_template.jinja");
    if (std::string t = json_string_field(dir + "/chat_template.json", "chat_template"); !t.empty()) return t;
    return json_string_field(dir + "/tokenizer_config.json", "chat_template");
}

std::optional<std::string> chat_prompt_template(const std::string& jinja) {
    // Mistral's instruction format (LLaVA-NeXT on Mistral): the images, then the text, in one turn.
    if (jinja.find("[INST]") != std::string::npos && jinja.find("[/INST]") != std::string::npos)
        return std::string("[INST] {image}\n{question} [/INST]");
    // Idefics3's and SmolVLM's: "User:" before the turn's content, with a space only when it starts
    // with text; after the literal text the template opens with (SmolVLM's <|im_start|>, Idefics3's
    // <|begin_of_text|>).
    if (jinja.find("<end_of_utterance>") != std::string::npos && jinja.find("Assistant:") != std::string::npos)
        return jinja.substr(0, jinja.find('{')) + "User:{image| }{question}<end_of_utterance>\nAssistant:";
    // Gemma's turns (the tokenizer adds <bos>, which the template writes).
    if (jinja.find("<start_of_turn>") != std::string::npos)
        return std::string("<start_of_turn>user\n{image}{question}<end_of_turn>\n<start_of_turn>model\n");
    const std::string start = "<|im_start|>", end = "<|im_end|>";
    if (jinja.find(start) == std::string::npos) return std::nullopt;
    std::string system;
    const std::string system_turn = start + "system\n";
    if (const size_t at = jinja.find(system_turn); at != std::string::npos) {
        const size_t from = at + system_turn.size(), to = jinja.find(end, from);
        // Only a literal message counts: a template that prints a variable there has no default.
        if (to != std::string::npos && jinja.find_first_of("{}'\"", from) >= to)
            system = system_turn + jinja.substr(from, to - from) + end + "\n";
    }
    // Qwen2-VL's templates put the image (between its vision start and end tokens) right before the text.
    const bool vision_markers = jinja.find("<|vision_start|>") != std::string::npos;
    return system + start + "user\n{image}" + (vision_markers ? "" : "\n") + "{question}" + end + "\n" + start + "assistant\n";
}

}  // namespace ps
