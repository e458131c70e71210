// bench_generate: batched greedy generation of the generative default (build/default-vlm) on the
// built-in open-ended questions, our CausalVlm::generate_batch against transformers'
// LlavaForConditionalGeneration.generate (bench/bench_generate_reference.py) on the same batches
// (the same left-padded prompts and pixels, written to a file both sides read), with the same torch
// and thread count. The evaluation of a pruned model is mostly this loop; the printed ratio
// ours/transformers targets <= 0.8, and the answers must be identical (exit status 2 otherwise).
//
// Usage: bench_generate [--dir MODEL] [--repeats R] [--threads T] [--questions N] [--batch B]
//   MODEL defaults to the build's default-vlm; N to 1000 questions, B to 16 per batch (what
//   `eval` uses), T to the number of cores, R to 1 (each repeat times both sides once more, the
//   Python side in a fresh process; medians are printed). At most 16 new tokens per answer, EOS
//   ends a row. Timed: the generate calls only, after one untimed call on the first batch on
//   each side; not loading, preprocessing or decoding text.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "bench/bench_options.h"
#include "bench/capture_stdout.h"
#include "bench/median.h"
#include "core/data/fashion_mnist.h"
#include "core/data/fashion_mnist_vqa.h"
#include "core/error.h"
#include "core/eval/vqa_eval.h"
#include "core/io/safetensors.h"
#include "core/io/tensor_view.h"
#include "core/model/causal_vlm.h"
#include "core/model/processor.h"
#include "core/model/vlm.h"

namespace ps {
namespace {

constexpr int kMaxNew = 16;

int run(const BenchOptions& o) {
    at::set_num_threads(o.threads);
    const int64_t questions = o.values.at("--questions"), batch = o.values.at("--batch");
    auto model = Vlm::load(o.dir);
    const auto* causal = dynamic_cast<const CausalVlm*>(model.get());
    if (!causal) throw Error(o.dir, "is not a generative model");
    const Processor processor(*model);
    const Tokenizer& tok = processor.tokenizer();
    const int64_t eos = tok.eos_id().value_or(0), pad = tok.pad_id().value_or(eos);

    // The batches `eval` builds: the open-ended questions of the first N test images.
    const VqaSet set = fashion_mnist_vqa(load_fashion_mnist(fashion_mnist_dir(), "test"), VqaKind::Open, questions);
    std::vector<VlmInputs> batches;
    NamedTensors file;
    for (int64_t b = 0; b * batch < questions; ++b) {
        const int64_t begin = b * batch, end = std::min(questions, begin + batch);
        const ImageInputs pixels = processor.gray_images(set.images->images.slice(0, begin, end));
        std::vector<std::vector<int64_t>> ids;
        for (int64_t i = begin; i < end; ++i)
            ids.push_back(processor.chat_ids(vqa_prompt(set.items[i], set.kind, {}), pixels.prompt(static_cast<size_t>(i - begin))));
        VlmInputs in = processor.batch(ids, /*pad_left=*/true);
        pixels.put(in);
        const std::string k = std::to_string(b);
        file.push_back({"input_ids." + k, in.input_ids});
        file.push_back({"attention_mask." + k, in.attention_mask});
        file.push_back({"pixel_values." + k, in.pixel_values.contiguous()});
        batches.push_back(std::move(in));
    }
    const std::string tmp = bench_temp_root() + "/bench_generate-" + std::to_string(::getpid());
    std::filesystem::create_directories(tmp);
    const std::string inputs = tmp + "/inputs.safetensors", tokens = tmp + "/tokens.safetensors";
    save_safetensors(inputs, file, {{"format", "pt"}});

    std::printf("bench_generate: %s, %lld open-ended questions in batches of %lld, at most %d new tokens, %d threads\n",
                o.dir.c_str(), static_cast<long long>(questions), static_cast<long long>(batch), kMaxNew, o.threads);
    std::vector<double> ours, theirs;
    std::vector<std::vector<int64_t>> answers;
    nlohmann::json info;
    int exit_status = 0;
    for (int r = 0; r < o.repeats; ++r) {
        causal->generate_batch(batches.front(), kMaxNew, eos);  // untimed warm-up
        answers.clear();
        const auto start = std::chrono::steady_clock::now();
        for (const VlmInputs& in : batches)
            for (auto& row : causal->generate_batch(in, kMaxNew, eos)) answers.push_back(std::move(row));
        ours.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

        info = nlohmann::json::parse(capture_stdout({PS_BENCH_PYTHON, PS_BENCH_GENERATE_REFERENCE, o.dir, inputs,
                                                     std::to_string(o.threads), std::to_string(kMaxNew),
                                                     std::to_string(eos), std::to_string(pad), tokens}));
        theirs.push_back(info.at("seconds").get<double>());

        // Transformers pads a row after its EOS; ours stops there.
        const auto ref = SafetensorsFile::open(tokens);
        int64_t row = 0, differ = 0;
        for (size_t b = 0; b < batches.size(); ++b) {
            const at::Tensor t = tensor_view(ref, *ref->find("tokens." + std::to_string(b))).to(at::kLong);
            for (int64_t i = 0; i < t.size(0); ++i, ++row) {
                std::vector<int64_t> want;
                for (int64_t j = 0; j < t.size(1); ++j) {
                    want.push_back(t[i][j].item<int64_t>());
                    if (want.back() == eos) break;
                }
                differ += want != answers[static_cast<size_t>(row)];
            }
        }
        std::printf("  repeat %d: ours %.2f s, transformers %.2f s (ratio %.3f); answers differing: %lld of %lld\n", r + 1,
                    ours.back(), theirs.back(), ours.back() / theirs.back(), static_cast<long long>(differ),
                    static_cast<long long>(row));
        if (differ) exit_status = 2;
    }
    std::filesystem::remove_all(tmp);
    std::printf("  transformers %s (torch %s, attention %s, %d threads)\n", info.at("transformers").get<std::string>().c_str(),
                info.at("torch").get<std::string>().c_str(), info.at("attn_implementation").get<std::string>().c_str(),
                info.at("threads").get<int>());
    std::printf("  median: ours %.2f s, transformers %.2f s: ratio %.3f (target <= 0.8)%s\n", median(ours), median(theirs),
                median(ours) / median(theirs), exit_status ? "; ANSWERS DIFFER" : "");
    return exit_status;
}

}  // namespace
}  // namespace ps

int main(int argc, char** argv) {
    ps::BenchOptions o = ps::parse_bench_options(argc, argv, "bench_generate",
                                                 "[--dir MODEL] [--repeats R] [--threads T] [--questions N] [--batch B]", 1,
                                                 {{"--questions", 1000}, {"--batch", 16}});
    if (o.dir.empty()) o.dir = PS_DEFAULT_VLM;
    try {
        return ps::run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_generate: %s\n", e.what());
        return 1;
    }
}
