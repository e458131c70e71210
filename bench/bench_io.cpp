// bench_io: how long our C++ reader (ps::Checkpoint + ps::tensor_view) takes to open a sharded
// safetensors checkpoint and read every tensor, next to the reference Python loader
// (safetensors.safe_open(framework="pt") with torch, bench/bench_io_reference.py). Opening
// checkpoints is the first thing every PruneStudio session does, so the C++ path should be no slower
// than what users would get from Python: the printed ratio cpp/python targets <= 1.0.
//
// Usage: bench_io [--dir DIR] [--size-mb N] [--repeats R] [--threads T]
//   DIR defaults to $TMPDIR (or /tmp)/prunestudio-bench-io-<N>mb and is generated when absent: a
//   LLaVA-like folder (config.json, two shards, model.safetensors.index.json) of ~N MiB of bf16 /
//   f16 / f32 matrices and 1-D norms and biases. An existing DIR is used as it is. T defaults to the
//   number of cores.
//
// Fairness: the page cache is warmed once by reading every file; then the two sides alternate R
// times. Both touch every tensor the same way, `t.sum()` in the tensor's own dtype (reads every
// byte; `sum(float64)` would too, but its cast kernel is ~10x slower and would swamp the reader), in
// the same sorted-name order, with the same torch intra-op thread count. Each repeat of each side is
// one untimed open + touch pass followed by the timed one: a fresh process's first pass is 30-50%
// slower here (thread pool start and placement, lazy kernel set-up), and the Python side is a fresh
// process every time. Only open + touch is timed: Python excludes interpreter start-up and `import
// torch`, and neither side times dropping the mappings (~25 ms per GB on both). Both add the
// per-tensor sums as float64 in the same order, so the checksums must agree, otherwise the program
// fails with exit status 2.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "bench/bench_options.h"
#include "bench/capture_stdout.h"
#include "bench/median.h"
#include "core/error.h"
#include "core/io/atomic_dir.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint.h"
#include "core/io/tensor_view.h"

namespace fs = std::filesystem;

namespace ps {
namespace {

constexpr double kChecksumRelTol = 1e-9;
constexpr uint64_t kMiB = 1024 * 1024;

struct Options {
    std::string dir;
    int64_t size_mb = 1024;
    int repeats = 3;
    int threads = 0;
};

struct RunResult {
    double seconds = 0;
    double checksum = 0;
    size_t tensors = 0;
};

constexpr const char* kUsage = "[--dir DIR] [--size-mb N] [--repeats R] [--threads T]";

Options parse_options(int argc, char** argv) {
    const BenchOptions b = parse_bench_options(argc, argv, "bench_io", kUsage, 3, {{"--size-mb", 1024}});
    Options o;
    o.dir = b.dir;
    o.size_mb = b.values.at("--size-mb");
    o.repeats = b.repeats;
    o.threads = b.threads;
    if (o.size_mb < 16) bench_usage_error("bench_io", kUsage, "--size-mb must be at least 16");
    if (o.dir.empty()) o.dir = bench_temp_root() + "/prunestudio-bench-io-" + std::to_string(o.size_mb) + "mb";
    return o;
}

// ---- checkpoint generation -------------------------------------------------------------------

struct Spec {
    std::string name;
    at::ScalarType dtype;
    std::vector<int64_t> shape;
    float lo, hi;  // values are uniform in [lo, hi): a nonzero mean keeps the checksum well-conditioned
    uint64_t nbytes() const {
        uint64_t n = c10::elementSize(dtype);
        for (int64_t d : shape) n *= static_cast<uint64_t>(d);
        return n;
    }
};

struct Dims {
    int64_t hidden, inter, kv, vocab, v_hidden, v_inter;
};

// Tensor names and shapes of a LLaVA-1.5-like model (Llama text model in bf16, CLIP vision tower in
// f16, projector and norms in f32), with as many text then vision layers as fit in target_bytes.
std::vector<Spec> plan_checkpoint(uint64_t target_bytes) {
    const auto bf16 = at::kBFloat16, f16 = at::kHalf, f32 = at::kFloat;
    const float wlo = -0.03f, whi = 0.05f;
    Dims d{};
    std::vector<Spec> fixed, text_layer, vision_layer;
    auto bytes = [](const std::vector<Spec>& v) {
        uint64_t n = 0;
        for (const Spec& s : v) n += s.nbytes();
        return n;
    };
    const std::string l = "language_model.model.", v = "vision_tower.vision_model.";
    const std::string pj = "multi_modal_projector.";
    // Full size is TinyLlama-1.1B text + CLIP-L vision; smaller targets divide every width by 2^k.
    for (int64_t f = 1;; f *= 2) {
        d = {2048 / f, 5632 / f, 256 / f, 32000 / f, 1024 / f, 4096 / f};
        fixed = {
            {l + "embed_tokens.weight", bf16, {d.vocab, d.hidden}, wlo, whi},
            {l + "norm.weight", f32, {d.hidden}, 0.9f, 1.1f},
            {"language_model.lm_head.weight", bf16, {d.vocab, d.hidden}, wlo, whi},
            {pj + "linear_1.weight", f32, {d.hidden, d.v_hidden}, wlo, whi},
            {pj + "linear_1.bias", f32, {d.hidden}, wlo, whi},
            {pj + "linear_2.weight", f32, {d.hidden, d.hidden}, wlo, whi},
            {pj + "linear_2.bias", f32, {d.hidden}, wlo, whi},
            {v + "embeddings.class_embedding", f16, {d.v_hidden}, wlo, whi},
            {v + "embeddings.patch_embedding.weight", f16, {d.v_hidden, 3, 14, 14}, wlo, whi},
            {v + "embeddings.position_embedding.weight", f16, {577, d.v_hidden}, wlo, whi},
            {v + "pre_layrnorm.weight", f32, {d.v_hidden}, 0.9f, 1.1f},
            {v + "pre_layrnorm.bias", f32, {d.v_hidden}, wlo, whi},
            {v + "post_layernorm.weight", f32, {d.v_hidden}, 0.9f, 1.1f},
            {v + "post_layernorm.bias", f32, {d.v_hidden}, wlo, whi},
        };
        text_layer = {
            {"self_attn.q_proj.weight", bf16, {d.hidden, d.hidden}, wlo, whi},
            {"self_attn.k_proj.weight", bf16, {d.kv, d.hidden}, wlo, whi},
            {"self_attn.v_proj.weight", bf16, {d.kv, d.hidden}, wlo, whi},
            {"self_attn.o_proj.weight", bf16, {d.hidden, d.hidden}, wlo, whi},
            {"mlp.gate_proj.weight", bf16, {d.inter, d.hidden}, wlo, whi},
            {"mlp.up_proj.weight", bf16, {d.inter, d.hidden}, wlo, whi},
            {"mlp.down_proj.weight", bf16, {d.hidden, d.inter}, wlo, whi},
            {"input_layernorm.weight", f32, {d.hidden}, 0.9f, 1.1f},
            {"post_attention_layernorm.weight", f32, {d.hidden}, 0.9f, 1.1f},
        };
        vision_layer.clear();
        for (const char* p : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
            vision_layer.push_back({std::string("self_attn.") + p + ".weight", f16, {d.v_hidden, d.v_hidden}, wlo, whi});
            vision_layer.push_back({std::string("self_attn.") + p + ".bias", f16, {d.v_hidden}, wlo, whi});
        }
        vision_layer.push_back({"mlp.fc1.weight", f16, {d.v_inter, d.v_hidden}, wlo, whi});
        vision_layer.push_back({"mlp.fc1.bias", f16, {d.v_inter}, wlo, whi});
        vision_layer.push_back({"mlp.fc2.weight", f16, {d.v_hidden, d.v_inter}, wlo, whi});
        vision_layer.push_back({"mlp.fc2.bias", f16, {d.v_hidden}, wlo, whi});
        for (const char* ln : {"layer_norm1", "layer_norm2"}) {
            vision_layer.push_back({std::string(ln) + ".weight", f32, {d.v_hidden}, 0.9f, 1.1f});
            vision_layer.push_back({std::string(ln) + ".bias", f32, {d.v_hidden}, wlo, whi});
        }
        if (bytes(fixed) + bytes(text_layer) + 2 * bytes(vision_layer) <= target_bytes || f >= 64) break;
    }

    const uint64_t fb = bytes(fixed), tb = bytes(text_layer), vb = bytes(vision_layer);
    int n_vision = 2;
    const uint64_t base = fb + n_vision * vb;
    int n_text = target_bytes > base ? std::max<int>(1, static_cast<int>((target_bytes - base) / tb)) : 1;
    int64_t rest = static_cast<int64_t>(target_bytes) - static_cast<int64_t>(base + n_text * tb);
    for (; rest >= static_cast<int64_t>(vb / 2); rest -= static_cast<int64_t>(vb)) ++n_vision;

    std::vector<Spec> out = fixed;
    for (int i = 0; i < n_vision; ++i)
        for (Spec s : vision_layer) {
            s.name = v + "encoder.layers." + std::to_string(i) + "." + s.name;
            out.push_back(std::move(s));
        }
    for (int i = 0; i < n_text; ++i)
        for (Spec s : text_layer) {
            s.name = l + "layers." + std::to_string(i) + "." + s.name;
            out.push_back(std::move(s));
        }
    return out;
}

void generate_checkpoint(const std::string& dir, int64_t size_mb) {
    const std::vector<Spec> plan = plan_checkpoint(static_cast<uint64_t>(size_mb) * kMiB);
    uint64_t total = 0;
    for (const Spec& s : plan) total += s.nbytes();
    std::printf("generating %s (%zu tensors, %.1f MiB) ...\n", dir.c_str(), plan.size(), double(total) / kMiB);
    std::fflush(stdout);

    std::error_code ec;
    const fs::path parent = fs::path(dir).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    AtomicDir out(dir);
    at::manual_seed(20240611);
    const std::map<std::string, std::string> meta = {{"format", "pt"}};
    nlohmann::json weight_map = nlohmann::json::object();
    uint64_t written = 0;
    size_t next = 0;
    for (int shard = 1; shard <= 2; ++shard) {
        const std::string file = "model-0000" + std::to_string(shard) + "-of-00002.safetensors";
        NamedTensors tensors;
        // The first shard takes tensors in plan order until it holds half the bytes.
        while (next < plan.size() && (shard == 2 || written < total / 2)) {
            const Spec& s = plan[next++];
            tensors.emplace_back(s.name, at::empty(s.shape, at::TensorOptions().dtype(s.dtype)).uniform_(s.lo, s.hi));
            weight_map[s.name] = file;
            written += s.nbytes();
        }
        save_safetensors(out.path() + "/" + file, tensors, meta);
    }
    const nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    write_file_atomic(out.path() + "/model.safetensors.index.json", index.dump(2) + "\n");
    const nlohmann::json config = {{"model_type", "llava"}, {"architectures", {"LlavaForConditionalGeneration"}},
                                   {"prunestudio_bench_io_size_mb", size_mb}};
    write_file_atomic(out.path() + "/config.json", config.dump(2) + "\n");
    out.commit();
}

// ---- measuring -------------------------------------------------------------------------------

// Reads every regular file of the folder once so both sides start from the same warm page cache.
uint64_t warm_page_cache(const std::string& dir) {
    std::vector<char> buf(8 * kMiB);
    uint64_t total = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw Error(e.path().string(), std::string("cannot open: ") + std::strerror(errno));
        ssize_t n;
        while ((n = ::read(fd, buf.data(), buf.size())) > 0) total += static_cast<uint64_t>(n);
        ::close(fd);
        if (n < 0) throw Error(e.path().string(), std::string("read failed: ") + std::strerror(errno));
    }
    return total;
}

RunResult run_cpp(const std::string& dir) {
    const auto start = std::chrono::steady_clock::now();
    const Checkpoint ckpt = Checkpoint::open(dir);
    double checksum = 0;
    for (const std::string& name : ckpt.names()) checksum += tensor_view(ckpt, name).sum().item<double>();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    return {took.count(), checksum, ckpt.names().size()};  // unmapping (ckpt's destructor) is not timed
}

RunResult run_python(const std::string& dir, int threads) {
    const std::string out = capture_stdout({PS_BENCH_PYTHON, PS_BENCH_IO_REFERENCE, dir, std::to_string(threads)});
    try {
        const auto j = nlohmann::json::parse(out);
        return {j.at("seconds").get<double>(), j.at("checksum").get<double>(), j.at("tensors").get<size_t>()};
    } catch (const nlohmann::json::exception& e) {
        throw Error(PS_BENCH_IO_REFERENCE, "unexpected output '" + out + "' (" + e.what() + ")");
    }
}

bool checksums_agree(double a, double b) {
    return std::fabs(a - b) <= kChecksumRelTol * std::max(std::fabs(a), std::fabs(b));
}

int run(const Options& o) {
    std::error_code ec;
    if (!fs::exists(o.dir, ec))
        generate_checkpoint(o.dir, o.size_mb);
    else if (!fs::exists(fs::path(o.dir) / "config.json", ec))
        throw Error(o.dir, "exists but has no config.json; pass a checkpoint folder or a new path");

    at::set_num_threads(o.threads);
    const uint64_t warmed = warm_page_cache(o.dir);

    // What is being read, by dtype (also checks the folder opens before anything is timed).
    std::map<std::string, std::pair<size_t, uint64_t>> by_dtype;
    size_t n_tensors = 0, n_shards = 0;
    {
        const Checkpoint ckpt = Checkpoint::open(o.dir);
        for (const std::string& name : ckpt.names()) {
            const TensorInfo& t = *ckpt.at(name).info;
            auto& [count, nbytes] = by_dtype[dtype_name(t.dtype)];
            ++count;
            nbytes += t.nbytes();
        }
        n_tensors = ckpt.names().size();
        n_shards = ckpt.shards().size();
    }
    std::printf("bench_io: %s\n", o.dir.c_str());
    std::printf("  %zu tensors in %zu shards, %.1f MiB on disk (page cache warmed):", n_tensors, n_shards,
                double(warmed) / kMiB);
    for (const auto& [name, cb] : by_dtype)
        std::printf(" %s %zu (%.1f MiB)", name.c_str(), cb.first, double(cb.second) / kMiB);
    std::printf("\n  touch: t.sum() of every tensor; torch intra-op threads: %d on both sides\n", o.threads);
    std::printf("  python: safetensors.safe_open(framework=\"pt\"), timed inside the process\n\n");
    std::printf("  %-8s %12s %12s\n", "repeat", "c++ (s)", "python (s)");
    std::fflush(stdout);

    std::vector<double> cpp_s, py_s;
    RunResult cpp, py;
    bool agree = true;
    for (int r = 0; r < o.repeats; ++r) {
        run_cpp(o.dir);  // untimed warm-up pass, as the Python side does in its process
        cpp = run_cpp(o.dir);
        py = run_python(o.dir, o.threads);
        cpp_s.push_back(cpp.seconds);
        py_s.push_back(py.seconds);
        const bool same = cpp.tensors == py.tensors && checksums_agree(cpp.checksum, py.checksum);
        agree = agree && same;
        std::printf("  %-8d %12.4f %12.4f%s\n", r + 1, cpp.seconds, py.seconds, same ? "" : "   checksum MISMATCH");
        std::fflush(stdout);
    }
    const double cpp_med = median(cpp_s), py_med = median(py_s);
    std::printf("  %-8s %12.4f %12.4f\n", "min", *std::min_element(cpp_s.begin(), cpp_s.end()),
                *std::min_element(py_s.begin(), py_s.end()));
    std::printf("  %-8s %12.4f %12.4f\n\n", "median", cpp_med, py_med);
    std::printf("  throughput: c++ %.2f GiB/s, python %.2f GiB/s\n", double(warmed) / (1024.0 * kMiB) / cpp_med,
                double(warmed) / (1024.0 * kMiB) / py_med);
    std::printf("  checksum: c++ %.17g (%zu tensors), python %.17g (%zu tensors): %s\n", cpp.checksum, cpp.tensors,
                py.checksum, py.tensors, agree ? "match" : "MISMATCH");
    std::printf("ratio cpp/python = %.2f (target <= 1.0)\n", cpp_med / py_med);
    if (!agree) {
        std::fprintf(stderr, "bench_io: the C++ and Python checksums disagree: the readers returned different data\n");
        return 2;
    }
    return 0;
}

}  // namespace
}  // namespace ps

int main(int argc, char** argv) {
    const ps::Options opts = ps::parse_options(argc, argv);
    try {
        return ps::run(opts);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_io: %s\n", e.what());
        return 1;
    }
}
