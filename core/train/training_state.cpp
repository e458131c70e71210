#include "core/train/training_state.h"

#include <ATen/core/grad_mode.h>

#include "core/error.h"
#include "core/io/tensor_view.h"

namespace ps {

void save_training_state(const std::string& path, const AdamW& adam, int64_t step, const RunIdentity& identity) {
    NamedTensors state;
    for (const auto& [name, p] : adam.params()) state.emplace_back("param." + name, p.detach());
    for (auto& s : adam.state()) state.push_back(std::move(s));
    auto meta = identity;
    meta["step"] = std::to_string(step);
    save_safetensors(path, state, meta);
}

int64_t restore_training_state(const std::string& path, AdamW& adam, const RunIdentity& identity) {
    std::map<std::string, std::string> meta;
    const NamedTensors state = load_safetensors(path, &meta);
    for (const auto& [k, v] : identity)
        if (meta[k] != v) throw Error(path, "training state of another run (" + k + " " + meta[k] + ", now " + v + ")");
    const std::map<std::string, at::Tensor> by_name(state.begin(), state.end());
    at::NoGradGuard no_grad;
    for (const auto& [name, p] : adam.params()) {
        auto it = by_name.find("param." + name);
        if (it == by_name.end() || it->second.sizes() != p.sizes()) throw Error(path, "tensor param." + name + " missing or of the wrong shape");
        at::Tensor(p).copy_(it->second);
    }
    const int64_t step = std::stoll(meta["step"]);
    adam.restore(state, step);
    return step;
}

}  // namespace ps
