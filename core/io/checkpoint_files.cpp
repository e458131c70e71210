#include "core/io/checkpoint_files.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "core/io/gguf_checkpoint.h"

namespace ps {
namespace fs = std::filesystem;

void copy_checkpoint_side_files(const std::string& src, const std::string& dst, const std::set<std::string>& skip) {
    if (is_gguf_path(src)) {
        write_gguf_side_files(*GgufFile::open(src), dst, skip);
        return;
    }
    for (const auto& entry : fs::directory_iterator(src)) {
        const std::string name = entry.path().filename().string();
        const bool weights = entry.path().extension() == ".safetensors" || name == "model.safetensors.index.json";
        if (entry.is_regular_file() && !weights && !skip.count(name)) fs::copy_file(entry.path(), fs::path(dst) / name);
    }
}

nlohmann::json checkpoint_identity(const std::string& dir) {
    nlohmann::json files = nlohmann::json::array();
    std::error_code ec;
    std::vector<fs::path> paths;
    if (is_gguf_path(dir)) {
        const fs::path p(dir);
        files.push_back({p.filename().string(), fs::file_size(p, ec),
                         static_cast<int64_t>(fs::last_write_time(p, ec).time_since_epoch().count())});
        return files;
    }
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file(ec)) paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) {
        const auto ext = p.extension().string();
        if (ext != ".safetensors" && ext != ".json") continue;
        files.push_back({p.filename().string(), fs::file_size(p, ec),
                         static_cast<int64_t>(fs::last_write_time(p, ec).time_since_epoch().count())});
    }
    return files;
}

}  // namespace ps
