#include "core/prune/pruned_checkpoint.h"

#include <filesystem>

#include "core/io/atomic_dir.h"
#include "core/io/atomic_file.h"
#include "core/io/tensor_view.h"

namespace ps {
namespace fs = std::filesystem;

void write_pruned_checkpoint(const Vlm& model, const Plan& plan, const PruneResult& result, const std::string& dir) {
    const Checkpoint& ckpt = model.weights().checkpoint();
    AtomicDir out(dir);
    for (const auto& entry : fs::directory_iterator(ckpt.dir())) {
        const std::string name = entry.path().filename().string();
        const bool weights = entry.path().extension() == ".safetensors" || name == "model.safetensors.index.json";
        if (entry.is_regular_file() && !weights && name != "masks.safetensors" && name != "result.json" && name != "plan.json")
            fs::copy_file(entry.path(), fs::path(out.path()) / name);
    }
    NamedTensors tensors;
    for (const std::string& name : ckpt.names()) {
        const std::string suffix = ".weight";
        const bool pruned = name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
                            result.masks.count(name.substr(0, name.size() - suffix.size()));
        tensors.emplace_back(name, pruned ? model.weights().get(name).to(at::kCPU, to_scalar_type(ckpt.at(name).info->dtype))
                                             : tensor_view(ckpt, name));
    }
    save_safetensors(out.path() + "/model.safetensors", tensors, {{"format", "pt"}});
    NamedTensors masks;
    for (const auto& [name, mask] : result.masks) masks.emplace_back(name + ".weight", mask.to(at::kByte));
    save_safetensors(out.path() + "/masks.safetensors", masks, {{"method", result.method}, {"pattern", result.pattern}});
    plan.save(out.path() + "/plan.json");
    write_file_atomic(out.path() + "/result.json", result.to_json().dump(2) + "\n");
    out.commit();
}

}  // namespace ps
