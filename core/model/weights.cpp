#include "core/model/weights.h"

#include <algorithm>
#include <regex>

#include "core/error.h"
#include "core/io/tensor_view.h"

namespace ps {

at::Device parse_device(const std::string& s) {
    if (s == "cpu") return at::Device(at::kCPU);
    if (s == "cuda" || s.rfind("cuda:", 0) == 0) {
        if (!at::hasCUDA()) throw Error("device", "\"" + s + "\" requested but CUDA is not available on this machine");
        return at::Device(s);
    }
    throw Error("device", "unknown device \"" + s + "\" (use cpu, cuda or cuda:N)");
}

at::ScalarType parse_dtype(const std::string& s) {
    if (s == "float32" || s == "fp32") return at::kFloat;
    if (s == "bfloat16" || s == "bf16") return at::kBFloat16;
    if (s == "float16" || s == "fp16") return at::kHalf;
    throw Error("dtype", "unknown dtype \"" + s + "\" (use float32, bfloat16 or float16)");
}

WeightStore::WeightStore(Checkpoint ckpt, const LoadOptions& opt)
    : ckpt_(std::move(ckpt)), device_(parse_device(opt.device)), dtype_(parse_dtype(opt.dtype)), streaming_(opt.streaming) {
    if (!streaming_)
        for (const std::string& name : ckpt_.names()) cache_.emplace(name, materialise(name));
}

bool WeightStore::is_block_tensor(const std::string& name) const {
    static const std::regex re("(^|\\.)(layers|layer|blocks|block)\\.\\d+\\.");
    return std::regex_search(name, re);
}

at::Tensor WeightStore::materialise(const std::string& name) const {
    const Checkpoint::Entry& e = ckpt_.at(name);
    at::Tensor view = tensor_view(e.shard, *e.info);
    const at::ScalarType target = at::isFloatingType(view.scalar_type()) ? dtype_ : view.scalar_type();
    // Streaming a tensor already in the run dtype on the CPU: use the mapped bytes as they are and
    // drop their pages when the last reference goes, saving a copy per block per pass.
    if (streaming_ && device_.is_cpu() && target == view.scalar_type() &&
        view.data_ptr() == static_cast<void*>(e.shard->data(*e.info))) {
        auto shard = e.shard;
        const TensorInfo* info = e.info;
        return at::from_blob(shard->data(*info), view.sizes(), [shard, info](void*) { shard->release(*info); },
                             view.options());
    }
    // Otherwise an owned copy: the mapping's pages are then dropped so RSS holds only live weights.
    at::Tensor t = view.to(device_, target, /*non_blocking=*/false, /*copy=*/true);
    e.shard->release(*e.info);
    return t;
}

bool WeightStore::has(const std::string& name) const { return overrides_.count(name) || ckpt_.find(name); }

at::Tensor WeightStore::get(const std::string& name) const {
    auto o = overrides_.find(name);
    if (o != overrides_.end()) return o->second;
    std::lock_guard<std::mutex> lock(mu_);
    auto c = cache_.find(name);
    if (c != cache_.end()) return c->second;
    at::Tensor t = materialise(name);
    // Copies outside the blocks stay (embeddings, norms and heads converted once). Mapped views cost
    // nothing to make again, so they go when their users do, and their pages with them (an
    // embedding table is not kept for the few rows a prompt looks up); so do block copies. Held
    // tensors stay until the hold ends.
    const Checkpoint::Entry& e = ckpt_.at(name);
    const bool always = !is_block_tensor(name) && t.data_ptr() != static_cast<void*>(e.shard->data(*e.info));
    if (always || hold_) cache_.emplace(name, t);
    if (!always && hold_) held_.push_back(name);
    return t;
}

at::Tensor WeightStore::get(const std::string& name, at::IntArrayRef expected_shape) const {
    at::Tensor t = get(name);
    if (t.sizes() != expected_shape) {
        std::ostringstream msg;
        msg << "tensor '" << name << "' has shape " << t.sizes() << " but the config implies " << expected_shape;
        throw Error(ckpt_.dir(), msg.str());
    }
    return t;
}

std::vector<int64_t> WeightStore::shape(const std::string& name) const {
    auto o = overrides_.find(name);
    if (o != overrides_.end()) return o->second.sizes().vec();
    const TensorInfo& info = *ckpt_.at(name).info;
    return std::vector<int64_t>(info.shape.begin(), info.shape.end());
}

int64_t WeightStore::coupled_width(const std::vector<std::string>& rows, const std::vector<std::string>& cols,
                                   int64_t config_value) const {
    std::vector<int64_t> widths;
    for (const std::string& r : rows) {
        const auto s = shape(r);
        widths.push_back(s.size() == 2 ? s[0] : -1);
    }
    for (const std::string& c : cols) {
        const auto s = shape(c);
        widths.push_back(s.size() == 2 ? s[1] : -1);
    }
    for (int64_t x : widths)
        if (x != widths.front() || x <= 0) return config_value;
    return widths.empty() ? config_value : widths.front();
}

void WeightStore::set(const std::string& name, at::Tensor value) {
    overrides_[name] = std::move(value);
    if (streaming_) {
        std::lock_guard<std::mutex> lock(mu_);
        if (std::find(held_.begin(), held_.end(), name) != held_.end()) cache_.erase(name);  // not needed while overridden
    }
}

void WeightStore::hold_block_tensors(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!streaming_) return;
    hold_ = hold;
    if (hold) return;
    for (const std::string& name : held_) cache_.erase(name);
    held_.clear();
}

void WeightStore::release_held(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find(held_.begin(), held_.end(), name);
    if (it == held_.end()) return;
    held_.erase(it);
    cache_.erase(name);
}

void WeightStore::unset(const std::string& name) { overrides_.erase(name); }

void WeightStore::clear_overrides() { overrides_.clear(); }

at::Tensor WeightStore::linear(const std::string& name, const at::Tensor& x, int64_t out, int64_t in, bool bias) const {
    if (tap_) tap_(name, x);
    const at::Tensor weight = get(name + ".weight", {out, in});  // checked before the bias
    const at::Tensor b = bias ? get(name + ".bias", {out}) : at::Tensor();
    if (adapter_) {
        at::Tensor y = adapter_(name, x, weight, b);
        if (y.defined()) return y;
    }
    return at::linear(x, weight, b);
}

}  // namespace ps
