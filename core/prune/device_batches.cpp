#include "core/prune/device_batches.h"

#include <algorithm>

#include "core/model/weights.h"
#include "core/runtime.h"

namespace ps {

namespace {

int64_t rows_of(const VlmInputs& b) { return b.input_ids.defined() ? b.input_ids.size(0) : b.pixel_values.size(0); }

// Whether b can be appended to a batch that starts like `a`.
bool joinable(const VlmInputs& a, const VlmInputs& b) {
    auto same = [](const at::Tensor& x, const at::Tensor& y, int64_t from) {
        if (x.defined() != y.defined()) return false;
        if (!x.defined()) return true;
        return x.dim() == y.dim() && x.scalar_type() == y.scalar_type() && x.sizes().slice(from).equals(y.sizes().slice(from));
    };
    return same(a.input_ids, b.input_ids, 1) && same(a.attention_mask, b.attention_mask, 1) && same(a.labels, b.labels, 1) &&
           same(a.pixel_values, b.pixel_values, 1) && same(a.image_grid_thw, b.image_grid_thw, 1) &&
           same(a.image_sizes, b.image_sizes, 1) && same(a.image_tiles, b.image_tiles, 1);
}

at::Tensor cat_defined(const std::vector<const VlmInputs*>& parts, at::Tensor VlmInputs::*field) {
    if (!(parts.front()->*field).defined()) return {};
    std::vector<at::Tensor> t;
    for (const VlmInputs* p : parts) t.push_back(p->*field);
    return t.size() == 1 ? t.front() : at::cat(t);
}

}  // namespace

std::optional<int64_t> free_device_memory(at::Device device) {
    if (!device.is_cuda()) return std::nullopt;
    const int64_t free = cuda_free_bytes();
    return free >= 0 ? std::optional<int64_t>(free) : std::nullopt;
}

int64_t block_bytes_per_row(const Vlm& model, int64_t tokens) {
    int64_t width = 0, hidden = 0;
    for (const LinearLayer& l : model.map().linears) {
        if (l.block < 0) continue;
        width = std::max({width, l.out_features, l.in_features});
        hidden = std::max(hidden, l.in_features);
    }
    const int64_t element = static_cast<int64_t>(c10::elementSize(model.weights().dtype()));
    return element * tokens * (8 * hidden + 3 * width + tokens);
}

int64_t rows_per_batch(int64_t free_bytes, int64_t bytes_per_row, int64_t most) {
    if (bytes_per_row <= 0) return std::max<int64_t>(1, most);
    return std::clamp<int64_t>(free_bytes / 2 / bytes_per_row, 1, std::max<int64_t>(1, most));
}

std::vector<VlmInputs> join_batches(const std::vector<VlmInputs>& batches, int64_t rows) {
    std::vector<VlmInputs> out;
    std::vector<const VlmInputs*> group;
    int64_t in_group = 0;
    auto close = [&] {
        if (group.empty()) return;
        VlmInputs b;
        for (at::Tensor VlmInputs::*f : {&VlmInputs::pixel_values, &VlmInputs::image_grid_thw, &VlmInputs::image_sizes,
                                         &VlmInputs::image_tiles, &VlmInputs::input_ids, &VlmInputs::attention_mask,
                                         &VlmInputs::labels})
            b.*f = cat_defined(group, f);
        out.push_back(std::move(b));
        group.clear();
        in_group = 0;
    };
    for (const VlmInputs& b : batches) {
        if (!group.empty() && (in_group + rows_of(b) > rows || !joinable(*group.front(), b))) close();
        group.push_back(&b);
        in_group += rows_of(b);
    }
    close();
    return out;
}

std::vector<VlmInputs> size_for_device(const Vlm& model, std::vector<VlmInputs> batches) {
    const std::optional<int64_t> free = free_device_memory(model.weights().device());
    if (!free || batches.empty() || !batches.front().input_ids.defined()) return batches;
    int64_t total = 0;
    for (const VlmInputs& b : batches) total += rows_of(b);
    const int64_t rows = rows_per_batch(*free, block_bytes_per_row(model, batches.front().input_ids.size(1)), total);
    return rows > 1 ? join_batches(batches, rows) : batches;
}

}  // namespace ps
