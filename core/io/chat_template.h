// The chat format a checkpoint was tuned on, read from the template it ships (tokenizer_config.json,
// chat_template.json / .jinja, or a GGUF file's tokenizer.chat_template) and built in code for the
// formats recognised (ChatML, Mistral's [INST], Gemma's turns, Idefics3's User/Assistant) — no Jinja is run. A
// prompt template marks "{image}" (or "{image|text}": without an image, the text) and "{question}".
#pragma once
#include <optional>
#include <string>

namespace ps {

// The Jinja chat template of a checkpoint folder or .gguf file; "" when it ships none. Throws
// ps::Error naming the file when one is malformed.
std::string read_chat_template(const std::string& dir);

// One user turn with the generation prompt, for a recognised format: ChatML
// ("<|im_start|>user\n{image}\n{question}<|im_end|>\n<|im_start|>assistant\n"; no line break
// after the image when the template marks it with <|vision_start|>, as Qwen2-VL's), after the
// system turn the template inserts by default (SmolLM2's, Qwen2's) when it has one; Mistral's
// "[INST] {image}\n{question} [/INST]"; Gemma's "<start_of_turn>user\n{image}{question}<end_of_turn>\n
// <start_of_turn>model\n"; Idefics3's and SmolVLM's
// "<|im_start|>User:{image| }{question}<end_of_utterance>\nAssistant:" (after the literal text
// their template opens with). nullopt for other templates.
std::optional<std::string> chat_prompt_template(const std::string& jinja);

}  // namespace ps
