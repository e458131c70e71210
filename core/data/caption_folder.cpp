#include "core/data/caption_folder.h"

#include <filesystem>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/data/image.h"
#include "core/error.h"
#include "core/io/jsonl.h"

namespace ps {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

}  // namespace

CaptionDataset load_caption_folder(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw Error(dir, "no such folder");
    const std::string file = (fs::path(dir) / "captions.jsonl").string();
    if (!fs::is_regular_file(file, ec)) throw Error(dir, "no captions.jsonl");

    CaptionDataset out;
    out.dir = dir;
    std::unordered_map<std::string, int64_t> label_ids;
    for_each_jsonl_object(file, [&](const json& j, const std::string& where) {
        CaptionedImage item;
        const std::string rel = jsonl_string(j, "image", where);
        item.caption = jsonl_string(j, "caption", where);
        if (auto it = j.find("label"); it != j.end() && !it->is_null()) {
            if (!it->is_string()) throw Error(where, "\"label\" must be a string, got " + it->dump());
            item.label = it->get<std::string>();
        }
        item.image = image_in_folder(dir, rel, where);

        int64_t index = -1;
        if (!item.label.empty()) {
            const auto [it, added] = label_ids.emplace(item.label, static_cast<int64_t>(out.labels.size()));
            if (added) out.labels.push_back(item.label);
            index = it->second;
        }
        out.label_index.push_back(index);
        out.items.push_back(std::move(item));
    });
    if (out.items.empty()) throw Error(file, "has no images");
    return out;
}

}  // namespace ps
