// LLaVA's training conversations (llava_v1_5_mix665k.json and the files made like it): a JSON list
// of {"id", "image"?, "conversations": [{"from": "human", "value": "<image>\nQuestion"},
// {"from": "gpt", "value": "Answer"}, ...]}, read as question-answer turns about one image (or
// none), for calibration and recovery on the kind of data a generative VLM is trained on.
#pragma once
#include <string>
#include <vector>

namespace ps {

struct ConversationTurn {
    std::string question, answer;  // the "<image>" placeholder removed from the first question
};

struct Conversation {
    std::string id;
    std::string image;  // the image file (the folder joined with its path); empty for a text-only record
    std::vector<ConversationTurn> turns;
};

// Images are relative to `image_folder` (empty: the file's folder). Throws ps::Error naming the
// file, and the record by its index (and id): not a JSON list, a record that is not an object, a
// missing or mistyped field, turns that do not alternate human, gpt starting with human, an
// "<image>" placeholder without an image (or an image without one), an image missing or outside the
// folder, or no records at all.
std::vector<Conversation> load_llava_conversations(const std::string& file, const std::string& image_folder = "");

}  // namespace ps
