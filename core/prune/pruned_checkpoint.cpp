#include "core/prune/pruned_checkpoint.h"

#include <sstream>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint_files.h"
#include "core/io/tensor_view.h"
#include "core/prune/pattern.h"

namespace ps {

namespace {

const std::string kWeight = ".weight";

// Bytes of a tensor as the file holds them: CPU, contiguous, `type`, with the expected shape.
at::Tensor file_bytes(const at::Tensor& t, at::ScalarType type, const TensorInfo& info, const std::string& path) {
    if (t.sizes() != at::IntArrayRef(info.shape)) {
        std::ostringstream want;
        want << at::IntArrayRef(info.shape);
        throw Error(path, "tensor '" + info.name + "' has shape " + shape_string(t) + " but the checkpoint holds " + want.str());
    }
    return t.to(at::kCPU, type).contiguous();
}

}  // namespace

PrunedCheckpointWriter::PrunedCheckpointWriter(const Checkpoint& source, nlohmann::json plan, const std::string& dir)
    : source_(source), plan_(std::move(plan)), dir_(dir) {
    copy_checkpoint_side_files(source_.dir(), dir_.path(), {"result.json", "plan.json"});
    std::vector<TensorInfo> tensors;
    for (const std::string& name : source_.names()) tensors.push_back(*source_.at(name).info);
    model_ = std::make_unique<SafetensorsWriter>(dir_.path() + "/model.safetensors", tensors,
                                                 std::map<std::string, std::string>{{"format", "pt"}});
}

PrunedCheckpointWriter::~PrunedCheckpointWriter() = default;

void PrunedCheckpointWriter::begin(const std::vector<std::string>& linears) {
    if (masks_) throw Error(dir_.path() + "/masks.safetensors", "already laid out");
    std::vector<TensorInfo> masks;
    for (const std::string& linear : linears) {
        const TensorInfo* w = model_->find(linear + kWeight);
        if (!w) throw Error(source_.dir(), "'" + linear + "' has no weight '" + linear + kWeight + "' in the checkpoint");
        TensorInfo m;
        m.name = linear + kWeight;
        m.dtype = DType::U8;
        m.shape = w->shape;
        masks.push_back(std::move(m));
    }
    const std::string pattern = plan_.value("pattern", "unstructured");
    masks_ = std::make_unique<SafetensorsWriter>(
        dir_.path() + "/masks.safetensors", masks,
        std::map<std::string, std::string>{
            {"method", plan_.value("method", "")},
            {"pattern", pattern == "structured" ? pattern : SparsityPattern::parse(pattern).name()}});
}

void PrunedCheckpointWriter::add(const std::string& linear, const at::Tensor& weight, const at::Tensor& mask) {
    if (!masks_) throw Error(dir_.path() + "/masks.safetensors", "'" + linear + "' added before begin()");
    const std::string name = linear + kWeight;
    const TensorInfo* m = masks_->find(name);
    if (!m) throw Error(dir_.path(), "'" + linear + "' is not one of the Linears this export was begun with");
    replace(name, weight);
    const at::Tensor mb = file_bytes(mask, at::kByte, *m, masks_->path());
    masks_->write(name, mb.data_ptr(), static_cast<uint64_t>(mb.nbytes()));
}

void PrunedCheckpointWriter::replace(const std::string& tensor, const at::Tensor& value) {
    const TensorInfo* w = model_->find(tensor);
    if (!w) throw Error(source_.dir(), "has no tensor '" + tensor + "'");
    const at::Tensor wb = file_bytes(value, to_scalar_type(w->dtype), *w, model_->path());
    model_->write(tensor, wb.data_ptr(), static_cast<uint64_t>(wb.nbytes()));
}

void PrunedCheckpointWriter::commit(const PruneResult& result) { commit_json(result.to_json()); }

void PrunedCheckpointWriter::commit_json(const nlohmann::json& result) {
    if (!masks_) begin({});
    for (const TensorInfo& t : model_->tensors()) {
        if (model_->written(t.name)) continue;
        const Checkpoint::Entry& e = source_.at(t.name);  // the same bytes: same name, dtype and shape
        model_->write(t.name, e.shard->data(*e.info), e.info->nbytes());
        e.shard->release(*e.info);
    }
    masks_->finish();  // throws naming a begun Linear that was never added
    model_->finish();
    write_file_atomic(dir_.path() + "/plan.json", plan_.dump(2) + "\n");
    write_file_atomic(dir_.path() + "/result.json", result.dump(2) + "\n");
    dir_.commit();
}

void write_pruned_checkpoint(const Vlm& model, const nlohmann::json& plan, const PruneResult& result, const std::string& dir) {
    PrunedCheckpointWriter out(model.weights().checkpoint(), plan, dir);
    std::vector<std::string> linears;
    for (const auto& [name, mask] : result.masks) linears.push_back(name);
    out.begin(linears);
    for (const auto& [name, mask] : result.masks) out.add(name, model.weights().get(name + kWeight), mask);
    out.commit(result);
}

}  // namespace ps
