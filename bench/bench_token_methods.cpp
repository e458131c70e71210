// bench_token_methods: prefill latency and decode speed of every registered token-reduction method
// at one keep ratio (--keep-percent, 25 by default) against no pruning, in the same run, on two
// generative models whose image tokens dominate the prompt: the built-in generative default (32
// Fashion-MNIST-sized random images, 512 image tokens in a 541-token prompt) and a random
// LLaVA-1.5-shaped model of about 93 M parameters (CLIP ViT 6 x 256 at 336 px -> 576 image tokens
// in a 640-token prompt; LLaMA 12 x 768), both written by bench/bench_token_methods_reference.py
// into DIR on first use.
//
// Per method: where it acts, the attention maps it reads (an attention-free method keeps fused
// attention in every block), the image tokens the language model meets in effect (equivalent
// tokens for staged methods), the block-FLOPs ratio, the prefill latency (one forward of the prompt
// to its logits, vision tower included; median of R) and its speed-up over no pruning, the decode
// rate (greedy tokens with the KV cache: (NEW - 1) / (the time of NEW tokens - the time of one),
// both generations timed in the same repeat), and whether the greedy answer equals a hand reference's: transformers' language
// model run on a prompt holding only the image tokens the method's rule keeps (random, DART,
// DivPrune; FasterVLM and VisionZip where the feature layer is inside the vision tower), computed by
// the reference script from the rules alone. Methods with no reference print "-". Configurations
// alternate within each repeat so that load from other processes falls on all alike; one untimed
// warm-up round first. Target: speed-up >= 2.5 for the attention-free methods at 25 %.
//
// Usage: bench_token_methods [--dir DIR] [--repeats R] [--threads T] [--keep-percent K] [--new N]
//   (DIR $TMPDIR/prunestudio-bench-token-methods, R 5, T the cores, K 25, N 16)
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <vector>

#include "bench/bench_options.h"
#include "bench/capture_stdout.h"
#include "bench/median.h"
#include "core/io/tensor_view.h"
#include "core/model/causal_vlm.h"
#include "core/token/flops.h"
#include "core/token/token_method.h"
#include "core/token/token_pruning.h"

namespace ps {
namespace {

const char* kUsage = "[--dir DIR] [--repeats R] [--threads T] [--keep-percent K] [--new N]";

std::map<std::string, at::Tensor> read_all(const std::string& path) {
    std::map<std::string, at::Tensor> out;
    for (const auto& [name, t] : load_safetensors(path)) out[name] = t.clone();
    return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Config {
    std::string name;  // "none" or a registered method
    TokenPruning pruning;
    std::vector<double> prefill, decode;  // seconds: a forward; NEW greedy tokens less one
    std::vector<int64_t> answer;
};

void bench_model(const std::string& label, const std::string& model_dir, const std::string& inputs_path, const BenchOptions& o) {
    const double keep = static_cast<double>(o.values.at("--keep-percent")) / 100.0;
    const int new_tokens = static_cast<int>(o.values.at("--new"));
    const std::string answers_path = inputs_path + ".answers-" + std::to_string(o.values.at("--keep-percent")) + ".safetensors";
    capture_stdout({PS_BENCH_PYTHON, PS_BENCH_TOKEN_METHODS_REFERENCE, "answers", model_dir, inputs_path, std::to_string(keep),
                    std::to_string(new_tokens), answers_path});
    const auto reference = read_all(answers_path);

    auto model = Vlm::load(model_dir);
    const auto* causal = dynamic_cast<const CausalVlm*>(model.get());
    const auto inputs = read_all(inputs_path);
    VlmInputs in;
    in.pixel_values = inputs.at("pixel_values");
    in.input_ids = inputs.at("input_ids");
    const SampleTokens sample = sample_tokens(*model, in);  // the prompt's tokens, and an untimed first forward

    std::vector<Config> configs{{"none", {}, {}, {}, {}}};
    for (const TokenMethod& m : token_methods()) {
        TokenOptions t;
        t.method = m.name;
        t.keep = keep;
        try {
            TokenPruning p = TokenPruning::from_plan(t, *model);
            install_token_pruning(*model, p);
            configs.push_back({m.name, p, {}, {}, {}});
        } catch (const Error& e) {
            std::printf("  %-11s not run: %s\n", m.name.c_str(), e.what());
        }
    }
    for (int r = -1; r < o.repeats; ++r)
        for (Config& c : configs) {
            install_token_pruning(*model, c.pruning);
            auto t0 = std::chrono::steady_clock::now();
            model->forward(in);
            const double prefill = seconds_since(t0);
            t0 = std::chrono::steady_clock::now();
            causal->generate_batch(in, 1, std::nullopt);
            const double first = seconds_since(t0);
            t0 = std::chrono::steady_clock::now();
            const auto answer = causal->generate_batch(in, new_tokens, std::nullopt).front();
            const double all = seconds_since(t0);
            if (r < 0) {
                c.answer = answer;
                continue;
            }
            c.prefill.push_back(prefill);
            c.decode.push_back(all - first);
        }
    install_token_pruning(*model, {});

    const int64_t text = sample.language - sample.image;
    const int language = tower_index(*model, Modality::Language);
    const double dense_flops = block_flops(*model, token_counts(*model, {}, sample.vision, sample.language, sample.image)).total();
    const double dense_prefill = median(configs.front().prefill);
    std::printf("\n%s: %lld-token prompt, %lld image tokens; keep %.0f %%, %d threads, medians of %d\n", label.c_str(),
                static_cast<long long>(in.input_ids.size(1)), static_cast<long long>(sample.image), 100 * keep,
                at::get_num_threads(), o.repeats);
    std::printf("  %-11s %-15s %-9s %9s %7s %11s %8s %10s %7s\n", "method", "acts", "attention", "img tokens", "FLOPs",
                "prefill ms", "speed-up", "decode t/s", "answer");
    for (const Config& c : configs) {
        const TokenMethod* m = find_token_method(c.name);
        const auto counts = token_counts(*model, c.pruning, sample.vision, sample.language, sample.image);
        const double flops = block_flops(*model, counts).total();
        const double prefill = median(c.prefill), decode_s = median(c.decode);
        const char* acts = !m ? "-" : m->stage == TokenStage::Vision ? "vision tower" : m->stage == TokenStage::Language ? "language model"
                                                                                                                           : "before the LM";
        std::string same = "-";
        if (reference.count(c.name)) {
            const at::Tensor want = reference.at(c.name)[0];
            same = static_cast<int64_t>(c.answer.size()) == want.numel() &&
                           at::equal(at::tensor(c.answer, at::kLong), want)
                       ? "same"
                       : "DIFFERS";
        }
        std::printf("  %-11s %-15s %-9s %10.1f %6.1f%% %11.1f %8.2f %10.1f %7s\n", c.name.c_str(), acts, m ? m->attention.c_str() : "-",
                    equivalent_image_tokens(counts[language], text), 100 * flops / dense_flops, 1000 * prefill,
                    dense_prefill / prefill, decode_s > 0 ? (new_tokens - 1) / decode_s : 0.0, same.c_str());
    }
}

int run(const BenchOptions& o) {
    const std::string dir = o.dir.empty() ? bench_temp_root() + "/prunestudio-bench-token-methods" : o.dir;
    capture_stdout({PS_BENCH_PYTHON, PS_BENCH_TOKEN_METHODS_REFERENCE, "prepare", dir, PS_DEFAULT_VLM});
    if (o.threads > 0) at::set_num_threads(o.threads);
    at::NoGradGuard no_grad;
    bench_model("generative default (SmolLM2-135M decoder)", PS_DEFAULT_VLM, dir + "/default-inputs.safetensors", o);
    bench_model("LLaVA-1.5-shaped, 93 M parameters", dir + "/llava", dir + "/llava-inputs.safetensors", o);
    return 0;
}

}  // namespace
}  // namespace ps

int main(int argc, char** argv) {
    try {
        const ps::BenchOptions o = ps::parse_bench_options(argc, argv, "bench_token_methods", ps::kUsage, 5,
                                                           {{"--keep-percent", 25}, {"--new", 16}});
        if (o.values.at("--keep-percent") > 100) ps::bench_usage_error("bench_token_methods", ps::kUsage, "--keep-percent above 100");
        return ps::run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_token_methods: %s\n", e.what());
        return 1;
    }
}
