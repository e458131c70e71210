#include "core/io/checkpoint_files.h"

#include <filesystem>

namespace ps {
namespace fs = std::filesystem;

void copy_checkpoint_side_files(const std::string& src, const std::string& dst, const std::set<std::string>& skip) {
    for (const auto& entry : fs::directory_iterator(src)) {
        const std::string name = entry.path().filename().string();
        const bool weights = entry.path().extension() == ".safetensors" || name == "model.safetensors.index.json";
        if (entry.is_regular_file() && !weights && !skip.count(name)) fs::copy_file(entry.path(), fs::path(dst) / name);
    }
}

}  // namespace ps
