#include "core/report/export.h"

#include <filesystem>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "core/io/atomic_dir.h"
#include "core/io/checkpoint.h"
#include "core/io/checkpoint_files.h"
#include "core/io/json_util.h"
#include "core/io/safetensors_writer.h"
#include "core/io/tensor_view.h"

namespace fs = std::filesystem;

namespace ps {
namespace {

const char* kMasks = "masks.safetensors";
const char* kExportedMasks = "prunestudio_masks.safetensors";

bool floating(DType t) { return t == DType::F16 || t == DType::BF16 || t == DType::F32 || t == DType::F64; }

// The method and pattern the run's plan.json names ("dense" when it has none).
std::pair<std::string, std::string> run_method(const std::string& dir) {
    const std::string plan = dir + "/plan.json";
    if (!fs::exists(plan)) return {"dense", "dense"};
    const nlohmann::json j = read_json_file(plan);
    return {j.value("method", std::string("dense")), j.value("pattern", std::string("unstructured"))};
}

void write_into(const std::string& run_dir, const std::string& dst, const ExportOptions& opt, ExportSummary& s,
                const JobControl& job) {
    const Checkpoint ckpt = Checkpoint::open(run_dir);
    std::optional<DType> cast;
    if (!opt.dtype.empty()) {
        if (opt.dtype == "bfloat16") cast = DType::BF16;
        else if (opt.dtype == "float16") cast = DType::F16;
        else throw Error("--dtype", "\"" + opt.dtype + "\" is not bfloat16 or float16");
    }
    std::vector<TensorInfo> infos;
    for (const std::string& name : ckpt.names()) {
        TensorInfo t = *ckpt.at(name).info;
        if (cast && floating(t.dtype)) t.dtype = *cast;
        infos.push_back(t);
    }
    SafetensorsWriter model(dst + "/model.safetensors", infos,
                            {{"format", "pt"}, {"prunestudio_method", s.method}, {"prunestudio_pattern", s.pattern}});
    for (size_t i = 0; i < infos.size(); ++i) {
        const at::Tensor t = tensor_view(ckpt, infos[i].name).to(to_scalar_type(infos[i].dtype)).contiguous();
        model.write(infos[i].name, t.data_ptr(), static_cast<uint64_t>(t.nbytes()));
        job.report("export", static_cast<int64_t>(i + 1), static_cast<int64_t>(infos.size()), infos[i].name);
    }
    model.finish();
    s.tensors = static_cast<int64_t>(infos.size());
    s.bytes = fs::file_size(dst + "/model.safetensors");
    copy_checkpoint_side_files(run_dir, dst, {});
    if (fs::exists(run_dir + "/" + kMasks)) {
        fs::copy_file(run_dir + "/" + kMasks, dst + "/" + kExportedMasks);
        s.masks = true;
    }
}

}  // namespace

ExportSummary export_checkpoint(const std::string& run_dir, const std::string& out, const ExportOptions& opt,
                                const JobControl& job) {
    const bool replace = fs::exists(out);
    if (replace && !opt.force) throw Error(out, "already exists; pass --force to replace it");
    if (replace && !fs::is_directory(out)) throw Error(out, "exists and is not a folder");
    if (fs::weakly_canonical(run_dir) == fs::weakly_canonical(out)) throw Error(out, "is the run folder itself");
    ExportSummary s;
    std::tie(s.method, s.pattern) = run_method(run_dir);
    const std::string target = replace ? out + ".prunestudio-new" : out;
    if (replace && fs::exists(target)) fs::remove_all(target);  // a replacement an earlier crash left unfinished
    AtomicDir dir(target);
    write_into(run_dir, dir.path(), opt, s, job);
    dir.commit();
    if (replace) {  // the old folder goes only once the new one is complete
        const std::string old = out + ".prunestudio-old";
        fs::remove_all(old);
        fs::rename(out, old);
        fs::rename(target, out);
        fs::remove_all(old);
    }
    return s;
}

}  // namespace ps
