// bench_tokens: vision-tower throughput with run-time token pruning at keep 0.5 against keep 1.0,
// both in the same run. The tower is a randomly initialised ViT-S/16 (12 blocks of 384, MLP 1536,
// 6 heads, 224 px -> 196 patches + [CLS]) in a VisionTextDualEncoder checkpoint written to DIR on
// first use (with the default model's installed text tower, which this benchmark does not run).
// Keep 0.5 drops half the patch tokens after block 0 by [CLS]-attention (so block 0 runs eager
// attention and blocks 1-11 run on 99 tokens); keep 1.0 is the plain tower with fused SDPA
// everywhere. Images/s = batch / seconds of one Vlm::run_tower(vision) (on --device D in --dtype T:
// float32 on the CPU by default; on CUDA the clock stops after the device has finished). The two
// settings alternate R times (one untimed warm-up each first); medians are printed, with the ratio
// keep-0.5 / keep-1.0 (target >= 1.6) and the FLOPs ratio of block_flops() for comparison.
//
// Usage: bench_tokens [--dir DIR] [--repeats R] [--threads T] [--batch B] [--device D] [--dtype T]
//   (R 5, T the cores, B 32, D cpu, T float32)
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <torch/cuda.h>

#include "bench/bench_options.h"
#include "bench/median.h"
#include "core/model/default_model.h"
#include "core/model/vlm.h"
#include "core/token/flops.h"
#include "core/token/token_pruning.h"

namespace ps {
namespace {

const char* kUsage = "[--dir DIR] [--repeats R] [--threads T] [--batch B] [--device D] [--dtype T]";

void write_model(const std::string& dir) {
    DefaultModelSpec spec;
    spec.image_size = 224;
    spec.patch_size = 16;
    spec.hidden = 384;
    spec.intermediate = 1536;
    spec.layers = 12;
    spec.heads = 6;
    std::printf("writing a random ViT-S/16 dual encoder to %s\n", dir.c_str());
    write_default_checkpoint(dir, default_text_tower_dir(), init_default_trainables(spec, 0), spec);
}

double seconds_of(const Vlm& model, const VlmInputs& in) {
    const auto t0 = std::chrono::steady_clock::now();
    model.run_tower(0, in);
    if (model.weights().device().is_cuda()) torch::cuda::synchronize();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run(const BenchOptions& o) {
    const std::string dir = o.dir.empty() ? bench_temp_root() + "/prunestudio-bench-tokens" : o.dir;
    if (!std::filesystem::exists(dir)) write_model(dir);
    if (o.threads > 0) at::set_num_threads(o.threads);
    at::NoGradGuard no_grad;
    LoadOptions load;
    load.device = o.texts.at("--device");
    load.dtype = o.texts.at("--dtype");
    auto model = Vlm::load(dir, load);
    const int64_t batch = o.values.at("--batch");
    at::manual_seed(0);
    VlmInputs in;
    in.pixel_values = at::randn({batch, 3, 224, 224}).to(model->weights().device(), model->weights().dtype());

    TokenPruning half;
    half.vision = {{0, 0.5}};
    const int64_t tokens = model->embed(0, in, {}).hidden.size(1);
    const double dense_flops = block_flops(*model, token_counts(*model, {}, tokens, 0)).total();
    const double half_flops = block_flops(*model, token_counts(*model, half, tokens, 0)).total();

    std::vector<double> full_s, half_s;
    for (int r = -1; r < o.repeats; ++r) {
        install_token_pruning(*model, {});
        const double f = seconds_of(*model, in);
        install_token_pruning(*model, half);
        const double h = seconds_of(*model, in);
        if (r < 0) continue;  // warm-up
        full_s.push_back(f);
        half_s.push_back(h);
        std::printf("repeat %d: keep 1.0 %.3f s, keep 0.5 %.3f s\n", r + 1, f, h);
    }
    const double full = median(full_s), halved = median(half_s);
    std::printf("vision tower, %lld images of %lld tokens, %s %s, %d threads, medians of %d:\n", static_cast<long long>(batch),
                static_cast<long long>(tokens), load.device.c_str(), load.dtype.c_str(), at::get_num_threads(), o.repeats);
    std::printf("  keep 1.0: %8.2f images/s (%.3f s)\n", batch / full, full);
    std::printf("  keep 0.5: %8.2f images/s (%.3f s)\n", batch / halved, halved);
    std::printf("throughput ratio keep 0.5 / keep 1.0: %.2f (target >= 1.6); block FLOPs ratio %.2f\n", full / halved,
                dense_flops / half_flops);
    return 0;
}

}  // namespace
}  // namespace ps

int main(int argc, char** argv) {
    try {
        const ps::BenchOptions o = ps::parse_bench_options(argc, argv, "bench_tokens", ps::kUsage, 5, {{"--batch", 32}},
                                                           {{"--device", "cpu"}, {"--dtype", "float32"}});
        return ps::run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_tokens: %s\n", e.what());
        return 1;
    }
}
