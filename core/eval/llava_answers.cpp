#include "core/eval/llava_answers.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace ps {

std::string llava_answers_jsonl(const VqaSet& set, const std::vector<VqaRecord>& records, const std::string& model_id) {
    if (records.size() != set.items.size()) throw Error("answers", "one record per question is needed");
    std::string out;
    for (size_t i = 0; i < records.size(); ++i) {
        const nlohmann::json& id = set.items[i].question_id;
        const std::string id_text = id.is_string() ? id.get<std::string>() : id.dump();
        out += nlohmann::json{{"question_id", id},
                              {"prompt", records[i].prompt},
                              {"text", records[i].answer},
                              {"answer_id", model_id + "-" + id_text},
                              {"model_id", model_id},
                              {"metadata", nlohmann::json::object()}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
               "\n";
    }
    return out;
}

}  // namespace ps
