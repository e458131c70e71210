// bench_large_model: pruning a checkpoint larger than half of this machine's memory, streamed from
// its memory-mapped shards with one block resident, as `prunestudio-cli prune --streaming` runs.
//
// Usage: bench_large_model [--dir DIR] [--gib G] [--threads T] [--samples S] [--method M] [--device D] [--dtype T]
//   DIR (default $TMPDIR or /tmp, then prunestudio-bench-large) keeps the generated checkpoint in
//   DIR/model for later runs; the pruned checkpoint goes to DIR/pruned and is removed after the
//   run. G defaults to 55 % of MemTotal; T to the number of cores. S calibration samples (default
//   2), M the method (wanda; sparsegpt), D and T where and in which precision the blocks are pruned
//   (cpu, float32; e.g. cuda, bfloat16: on a GPU, 25 GiB gives LLaVA-7B's 32 decoder layers).
//
// The checkpoint: a random float32 LLaVA-1.5-style model (ps::write_demo_checkpoint, 2 GiB shards)
// with a CLIP tower of 8 layers x 1024 (224 px, 32 px patches: 49 image tokens) and a LLaMA
// decoder 4096 wide (MLP 11008, 32 query / 8 key-value heads, vocabulary 32000) with as many
// layers as reach G. What runs: M at 50 % unstructured on every Linear of both towers, S
// calibration samples of 64 tokens, writing the pruned weights and masks block by block.
//
// Printed: the checkpoint's size against MemTotal, the peak resident memory of the pruning
// (VmHWM reset after the model is opened and before pruning starts, so it covers the run and
// everything resident then: the libtorch runtime, the calibration data) against the checkpoint
// and the largest block, the same less what was resident before, and the time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "bench/bench_options.h"
#include "bench/largest_block.h"
#include "core/error.h"
#include "core/io/checkpoint.h"
#include "core/job/plan.h"
#include "core/model/demo_checkpoint.h"
#include "core/model/vlm.h"
#include "core/prune/allocation.h"
#include "core/prune/pipeline.h"
#include "core/prune/pruned_checkpoint.h"
#include "core/runtime.h"
#include "core/prune/scratch_pool.h"

namespace fs = std::filesystem;

namespace ps {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0, kMiB = 1024.0 * 1024.0;
constexpr const char* kUsage = "[--dir DIR] [--gib G] [--threads T] [--samples S] [--method M] [--device D] [--dtype T]";

int64_t mem_total_bytes() {
    std::ifstream f("/proc/meminfo");
    std::string key;
    int64_t kb = 0;
    while (f >> key >> kb)
        if (key == "MemTotal:") return kb * 1024;
    return 0;
}

uint64_t folder_bytes(const fs::path& dir) {
    uint64_t n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file()) n += e.file_size();
    return n;
}

DemoDims large_dims(double gib) {
    DemoDims d;
    d.v_hidden = 1024, d.v_inter = 4096, d.v_layers = 8, d.v_heads = 16, d.image = 224, d.patch = 32;
    d.t_hidden = 4096, d.t_inter = 11008, d.t_heads = 32, d.t_kv_heads = 8, d.vocab = 32000;
    const double h = d.t_hidden, kv = d.t_hidden / d.t_heads * d.t_kv_heads;
    const double layer = 4.0 * (2 * h * h + 2 * h * kv + 3 * h * d.t_inter + 2 * h);
    const double vision = 4.0 * d.v_layers * (4.0 * d.v_hidden * d.v_hidden + 2.0 * d.v_hidden * d.v_inter);
    const double fixed = 4.0 * 2 * d.vocab * h + vision;
    d.t_layers = std::max(1, static_cast<int>(std::ceil((gib * kGiB - fixed) / layer)));
    return d;
}

// `samples` samples: BOS, 5 text tokens, the 49 image tokens, 9 text tokens; random pixels.
std::vector<VlmInputs> calibration(const DemoDims& d, int64_t samples) {
    at::Generator gen = at::detail::createCPUGenerator(7);
    const int64_t image_tokens = (d.image / d.patch) * (d.image / d.patch);
    std::vector<VlmInputs> out;
    for (int64_t s = 0; s < samples; ++s) {
        VlmInputs in;
        in.pixel_values = at::randn({1, 3, d.image, d.image}, gen);
        in.input_ids = at::cat({at::ones({1, 1}, at::kLong), at::randint(2, d.vocab - 1, {1, 5}, gen, at::kLong),
                                at::full({1, image_tokens}, d.vocab - 1, at::kLong),
                                at::randint(2, d.vocab - 1, {1, 64 - 6 - image_tokens}, gen, at::kLong)},
                               1);
        in.attention_mask = at::ones_like(in.input_ids);
        out.push_back(std::move(in));
    }
    return out;
}

int run(const BenchOptions& o) {
    at::set_num_threads(o.threads);
    const int64_t ram = mem_total_bytes();
    const double gib = o.values.at("--gib") > 0 ? static_cast<double>(o.values.at("--gib")) : 0.55 * ram / kGiB;
    const DemoDims dims = large_dims(gib);
    const fs::path model_dir = fs::path(o.dir) / "model", out_dir = fs::path(o.dir) / "pruned";
    std::error_code ec;
    fs::create_directories(o.dir, ec);
    fs::remove_all(out_dir, ec);
    JobControl job;
    job.on_progress = [last = std::string()](const Progress& p) mutable {  // one line per stage and percent
        const std::string now = p.stage + std::to_string(p.total > 0 ? 100 * p.done / p.total : 0);
        if (now == last) return;
        last = now;
        std::fprintf(stderr, "\r  %s: %lld/%lld %s   ", p.stage.c_str(), static_cast<long long>(p.done),
                     static_cast<long long>(p.total), p.detail.c_str());
    };
    if (!fs::exists(model_dir / "config.json")) {
        std::printf("generating %s (%d language layers)\n", model_dir.c_str(), dims.t_layers);
        std::fflush(stdout);
        const auto t = std::chrono::steady_clock::now();
        write_demo_checkpoint(model_dir.string(), 0, dims, uint64_t(2) << 30, job);
        std::fprintf(stderr, "\n");
        std::printf("  written in %.0f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
    }
    const uint64_t checkpoint = folder_bytes(model_dir);

    LoadOptions load;
    load.streaming = true;
    load.device = o.texts.at("--device");
    load.dtype = o.texts.at("--dtype");
    auto model = Vlm::load(model_dir.string(), load);
    Plan plan;
    plan.model = model_dir.string();
    plan.streaming = true;
    plan.device = load.device;
    plan.dtype = load.dtype;
    plan.method = o.texts.at("--method");
    plan.sparsity = 0.5;
    const std::vector<VlmInputs> batches = calibration(dims, o.values.at("--samples"));
    const SparsityMap allocation = allocate(plan, model->map());
    const auto [largest_name, largest] = largest_block(model->weights().checkpoint());
    const int64_t before = resident_bytes();
    reset_peak_resident();

    const auto t0 = std::chrono::steady_clock::now();
    PrunedCheckpointWriter writer(model->weights().checkpoint(), plan.to_json(), out_dir.string());
    const PruneResult result = prune_model(*model, plan, allocation, batches, job, &writer);
    writer.commit(result);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const int64_t peak = peak_resident_bytes();
    std::fprintf(stderr, "\n");
    const uint64_t pruned = folder_bytes(out_dir);
    fs::remove_all(out_dir, ec);

    int64_t linears = 0, zeros = 0, numel = 0;
    for (const TensorResult& t : result.tensors)
        if (t.target > 0) ++linears, zeros += t.numel - t.nnz, numel += t.numel;
    std::printf("checkpoint %.2f GiB in %s (%d + %d blocks), MemTotal %.2f GiB: ratio %.2f of memory\n", checkpoint / kGiB,
                model_dir.c_str(), dims.v_layers, dims.t_layers, ram / kGiB, static_cast<double>(checkpoint) / ram);
    std::printf("%s pruned %lld Linears to %.2f %% sparsity in %.0f s on %s (%s, %d threads); wrote %.2f GiB (weights and masks)\n",
                plan.method.c_str(), static_cast<long long>(linears), 100.0 * zeros / std::max<int64_t>(1, numel), seconds,
                load.device.c_str(), load.dtype.c_str(), at::get_num_threads(), pruned / kGiB);
    std::printf("peak resident memory during pruning %.0f MiB: %.3f x the checkpoint, %.2f x the largest block (%s, %.0f "
                "MiB); above the %.0f MiB resident before pruning: %.0f MiB, %.2f x the largest block\n",
                peak / kMiB, peak / static_cast<double>(checkpoint), peak / static_cast<double>(largest), largest_name.c_str(),
                largest / kMiB, before / kMiB, (peak - before) / kMiB, (peak - before) / static_cast<double>(largest));
    return 0;
}

}  // namespace
}  // namespace ps

int main(int argc, char** argv) {
    ps::ScratchPool::install();  // as the runs in core/job do
    try {
        ps::BenchOptions o = ps::parse_bench_options(argc, argv, "bench_large_model", ps::kUsage, 1, {{"--gib", 0}, {"--samples", 2}},
                                                     {{"--method", "wanda"}, {"--device", "cpu"}, {"--dtype", "float32"}});
        if (o.dir.empty()) o.dir = ps::bench_temp_root() + "/prunestudio-bench-large";
        return ps::run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_large_model: %s\n", e.what());
        return 1;
    }
}
