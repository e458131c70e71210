#include "core/eval/vqa_eval.h"

#include <algorithm>

#include "core/data/class_questions.h"
#include "core/data/fashion_mnist.h"
#include "core/data/image.h"
#include "core/data/image_processor.h"
#include "core/ends_with.h"
#include "core/error.h"
#include "core/model/causal_vlm.h"
#include "core/model/processor.h"

namespace ps {
namespace {

// The images of `items` (in order): built-in rows, or decoded files.
ImageInputs images_of(const VqaSet& set, const std::vector<size_t>& items, const Processor& p) {
    if (set.images) {
        std::vector<int64_t> rows;
        for (size_t i : items) rows.push_back(set.items[i].image_index);
        return p.gray_images(set.images->images.index_select(0, at::tensor(rows, at::kLong)));
    }
    std::vector<cv::Mat> images;
    for (size_t i : items) images.push_back(load_image(set.items[i].image));
    return p.images(images);
}

// Teacher-forced: for each row (a prompt followed by a continuation, `cont` tokens long), the
// log-softmax [cont, V] at the positions that predict the continuation's tokens. Rows are
// right-padded; `images` holds one image per row (null for a model without images). Run-time token
// pruning may drop image tokens: the logits are then shorter, the text after the images shifted
// left by the same count in every row.
std::vector<at::Tensor> continuation_logprobs(const Vlm& m, const Processor& p, const std::vector<std::vector<int64_t>>& rows,
                                              const std::vector<int64_t>& cont, const ImageInputs* images) {
    VlmInputs in = p.batch(rows, /*pad_left=*/false);
    if (images) images->put(in);
    const at::Tensor logits = m.forward(in).logits;
    if (!logits.defined()) throw Error(m.map().dir, "gives no next-token logits");
    const int64_t dropped = in.input_ids.size(1) - logits.size(1);
    std::vector<at::Tensor> out;
    for (size_t r = 0; r < rows.size(); ++r) {
        const int64_t end = static_cast<int64_t>(rows[r].size()) - dropped, c = cont[r];
        out.push_back(logits[static_cast<int64_t>(r)].slice(0, end - c - 1, end - 1).to(at::kCPU, at::kDouble).log_softmax(-1));
    }
    return out;
}

// Sum of the log-probabilities of `tokens` under `logp` [n, V].
double sum_logprob(const at::Tensor& logp, const std::vector<int64_t>& tokens) {
    const at::Tensor idx = at::tensor(tokens, at::kLong).unsqueeze(1);
    return logp.gather(1, idx).sum().item<double>();
}

}  // namespace

std::string vqa_prompt(const VqaItem& item, VqaKind kind, const VqaEvalOptions& opt) {
    const std::string& suffix = kind == VqaKind::Choice ? opt.choice_suffix : opt.open_suffix;
    const std::string q = trimmed(item.question);
    if (suffix.empty() || ends_with(q, suffix)) return q;
    return q + "\n" + suffix;
}

std::string vqa_reference_text(const VqaItem& item, VqaKind kind) {
    if (kind == VqaKind::YesNo) return item.answers.at(0) == "yes" ? "Yes" : "No";
    return capitalised(item.answers.at(0));
}

VqaEvalResult evaluate_vqa(const Vlm& model, const VqaSet& set, const VqaEvalOptions& opt, const JobControl& job) {
    const auto* causal = dynamic_cast<const CausalVlm*>(&model);
    if (!causal) throw Error("evaluate", "the model does not generate text");
    if (opt.batch_size < 1) throw Error("evaluate", "batch size must be at least 1");
    const Processor processor(model);
    const Tokenizer& tok = processor.tokenizer();
    const bool images = model.capabilities().tower(Modality::Vision) != nullptr;
    const int max_new = opt.max_new_tokens > 0 ? opt.max_new_tokens : set.kind == VqaKind::Open ? 16 : 8;
    const bool likelihood = opt.likelihood || opt.dense;
    const int64_t total = static_cast<int64_t>(set.items.size());
    const std::string stage = std::string("answering ") + vqa_kind_name(set.kind) + " questions";

    VqaEvalResult r;
    r.records.resize(set.items.size());
    for (int64_t begin = 0; begin < total; begin += opt.batch_size) {
        const int64_t end = std::min(total, begin + opt.batch_size);
        std::vector<size_t> items;
        std::vector<std::vector<int64_t>> prompts;
        for (int64_t i = begin; i < end; ++i) {
            VqaRecord& rec = r.records[static_cast<size_t>(i)];
            rec.prompt = vqa_prompt(set.items[static_cast<size_t>(i)], set.kind, opt);
            items.push_back(static_cast<size_t>(i));
        }
        const ImageInputs pixels = images ? images_of(set, items, processor) : ImageInputs{};
        for (size_t k = 0; k < items.size(); ++k)
            prompts.push_back(processor.chat_ids(r.records[items[k]].prompt, images ? pixels.prompt(k) : PromptImage{}));

        if (opt.generate) {
            VlmInputs in = processor.batch(prompts, /*pad_left=*/true);
            pixels.put(in);
            const auto answers = causal->generate_batch(in, max_new, tok.eos_id());
            for (size_t k = 0; k < items.size(); ++k) {
                VqaRecord& rec = r.records[items[k]];
                rec.answer = trimmed(tok.decode(answers[k]));
                rec.generated = true;
            }
            job.check(stage);
        }

        if (likelihood) {
            // Rows: the reference after each prompt, then (choice) each option's text after it.
            EncodeOptions plain;
            plain.add_special_tokens = false;
            std::vector<std::vector<int64_t>> rows, conts;
            std::vector<int64_t> row_item;
            for (size_t k = 0; k < items.size(); ++k) {
                const VqaItem& item = set.items[items[k]];
                std::vector<std::string> texts = {vqa_reference_text(item, set.kind)};
                if (opt.likelihood && set.kind == VqaKind::Choice) texts.insert(texts.end(), item.options.begin(), item.options.end());
                for (const std::string& t : texts) {
                    std::vector<int64_t> c = tok.encode(t, plain);
                    if (c.empty()) throw Error(set.name, "question " + item.question_id.dump() + ": the answer \"" + t + "\" has no tokens");
                    std::vector<int64_t> row = prompts[k];
                    row.insert(row.end(), c.begin(), c.end());
                    rows.push_back(std::move(row));
                    conts.push_back(std::move(c));
                    row_item.push_back(static_cast<int64_t>(k));
                }
            }
            for (size_t a = 0; a < rows.size(); a += static_cast<size_t>(opt.batch_size)) {
                const size_t b = std::min(rows.size(), a + static_cast<size_t>(opt.batch_size));
                const std::vector<std::vector<int64_t>> chunk(rows.begin() + static_cast<std::ptrdiff_t>(a), rows.begin() + static_cast<std::ptrdiff_t>(b));
                std::vector<int64_t> cont;
                for (size_t x = a; x < b; ++x) cont.push_back(static_cast<int64_t>(conts[x].size()));
                const ImageInputs px = images ? pixels.select({row_item.begin() + static_cast<std::ptrdiff_t>(a), row_item.begin() + static_cast<std::ptrdiff_t>(b)})
                                              : ImageInputs{};
                const ImageInputs* with = images ? &px : nullptr;
                const auto logp = continuation_logprobs(model, processor, chunk, cont, with);
                const auto dense_logp = opt.dense ? continuation_logprobs(*opt.dense, processor, chunk, cont, with) : std::vector<at::Tensor>{};
                if (opt.dense && dense_logp.front().size(-1) != logp.front().size(-1))
                    throw Error(model.map().dir, "predicts over " + std::to_string(logp.front().size(-1)) + " tokens, the dense model over " +
                                                     std::to_string(dense_logp.front().size(-1)) + ": not the same vocabulary");
                for (size_t x = a; x < b; ++x) {
                    VqaRecord& rec = r.records[items[static_cast<size_t>(row_item[x])]];
                    const double lp = sum_logprob(logp[x - a], conts[x]);
                    const bool reference = x == 0 || row_item[x] != row_item[x - 1];
                    if (reference) {
                        if (opt.likelihood) rec.nll = -lp;
                        rec.answer_tokens = static_cast<int64_t>(conts[x].size());
                        if (opt.dense) {
                            const at::Tensor& p = dense_logp[x - a];
                            rec.kl = (p.exp() * (p - logp[x - a])).sum().item<double>();
                        }
                    } else {
                        rec.option_logprob.push_back(lp);
                    }
                }
                job.check(stage);
            }
        }
        job.report(stage, end, total);
    }
    r.metrics = vqa_metrics(set, r.records);
    return r;
}

}  // namespace ps
