// bench_semi_structured: the Linears of a 2:4-pruned LLaMA-7B-shaped decoder layer (q, k, v, o
// 4096 x 4096, gate and up 11008 x 4096, down 4096 x 11008) through PyTorch's semi-structured sparse
// kernel, as core/model/semi_structured.h runs a pruned model's Linears on CUDA, against the dense
// product of the same weights, in bfloat16, for a prefill of --tokens rows (default 2048).
// Prints each Linear's median times over R repeats (default 20, after 3 unmeasured), the layer's
// speed-up, and the largest relative difference of the outputs. Where the kernel cannot run (no
// CUDA device, compute capability below 8.0, a torch without cuSPARSELt) it prints why and exits 0.
//
// Usage: bench_semi_structured [--repeats R] [--tokens N]
#include <chrono>
#include <cstdio>
#include <vector>

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include "bench/bench_options.h"
#include "bench/median.h"
#include "core/model/semi_structured.h"

namespace ps {
namespace {

constexpr const char* kUsage = "[--repeats R] [--tokens N]";

// Seconds of f() on the GPU, median over `repeats` after 3 unmeasured runs.
double gpu_seconds(const std::function<void()>& f, int repeats) {
    for (int i = 0; i < 3; ++i) f();
    torch::cuda::synchronize();
    std::vector<double> s;
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        torch::cuda::synchronize();
        s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return median(s);
}

int run(const BenchOptions& o) {
    const int64_t tokens = o.values.at("--tokens");
    if (!at::hasCUDA()) {
        std::printf("bench_semi_structured: no CUDA device; Linears run dense here (%s)\n",
                    semi_structured_refusal(semi_structured_query(at::zeros({64, 64}))).c_str());
        return 0;
    }
    const at::TensorOptions bf16 = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
    struct Shape {
        const char* name;
        int64_t out, in;
    };
    const std::vector<Shape> shapes = {{"q/k/v/o", 4096, 4096}, {"gate/up", 11008, 4096}, {"down", 4096, 11008}};
    const std::vector<int> per_layer = {4, 2, 1};
    double dense_layer = 0, sparse_layer = 0, worst = 0;
    std::printf("%-8s %14s %10s %10s %8s\n", "Linear", "shape", "dense ms", "2:4 ms", "speed-up");
    for (size_t i = 0; i < shapes.size(); ++i) {
        const Shape& s = shapes[i];
        at::Tensor w = at::randn({s.out, s.in}, bf16);
        // Keep the two largest of each group of four: an exact 2:4 weight.
        const at::Tensor groups = w.abs().reshape({s.out, s.in / 4, 4});
        const at::Tensor keep = at::zeros_like(groups, groups.options().dtype(at::kBool)).scatter_(2, std::get<1>(groups.topk(2, 2)), true);
        w = w * keep.reshape({s.out, s.in}).to(w.scalar_type());
        const std::string why = semi_structured_refusal(semi_structured_query(w));
        if (!why.empty()) {
            std::printf("bench_semi_structured: the kernel cannot run here: %s\n", why.c_str());
            return 0;
        }
        const at::Tensor x = at::randn({tokens, s.in}, bf16), packed = at::_cslt_compress(w);
        const double dense = gpu_seconds([&] { at::linear(x, w); }, o.repeats);
        const double sparse = gpu_seconds([&] { semi_structured_linear(packed, x, at::Tensor(), s.out); }, o.repeats);
        const at::Tensor want = at::linear(x, w).to(at::kFloat), got = semi_structured_linear(packed, x, at::Tensor(), s.out).to(at::kFloat);
        worst = std::max(worst, ((got - want).norm() / want.norm()).item<double>());
        dense_layer += per_layer[i] * dense;
        sparse_layer += per_layer[i] * sparse;
        std::printf("%-8s %6lld x %-6lld %10.3f %10.3f %7.2fx\n", s.name, static_cast<long long>(s.out), static_cast<long long>(s.in),
                    dense * 1e3, sparse * 1e3, dense / sparse);
    }
    std::printf("decoder layer (7 Linears), %lld tokens, bfloat16: dense %.3f ms, 2:4 %.3f ms: %.2fx; outputs within %.2g (relative)\n",
                static_cast<long long>(tokens), dense_layer * 1e3, sparse_layer * 1e3, dense_layer / sparse_layer, worst);
    return 0;
}

}  // namespace
}  // namespace ps

int main(int argc, char** argv) {
    try {
        return ps::run(ps::parse_bench_options(argc, argv, "bench_semi_structured", ps::kUsage, 20, {{"--tokens", 2048}}));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_semi_structured: %s\n", e.what());
        return 1;
    }
}
