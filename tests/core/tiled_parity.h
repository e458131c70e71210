// Checks the tests of the families that tile images (LLaVA-NeXT, LLaVA-OneVision, InternVL,
// Idefics3) share, on a reference their script wrote: the processor against transformers', every
// hidden state, the logits and the greedy answers of the reference's prompts, and the scores that
// heatmaps are checked against.
#pragma once
#include <QTest>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/data/image.h"
#include "core/model/processor.h"
#include "core/token/token_importance.h"
#include "core/token/token_pruning.h"
#include "tests/core/generative_parity.h"
#include "tests/core/model_parity.h"

namespace ps_test {

// The image processor's views, image sizes and image tokens for images a, b and c, their chat
// prompts and the prompt without an image, the image-token counts of the reference's 300 image
// sizes, and two images padded to the most views. `worst_pixel` gets the largest pixel difference.
// Reports through QTest.
inline void check_tiled_processor(const ps::Vlm& model, const Reference& ref, const nlohmann::json& questions, double& worst_pixel) {
    const ps::Processor processor(model);
    const int64_t image_token = nlohmann::json::parse(read_bytes(ref.dir + "/config.json").toStdString()).at("image_token_index").get<int64_t>();
    worst_pixel = 0;
    for (const std::string name : {"a", "b", "c"}) {
        const cv::Mat image = ps::load_image((ref.dir + "/" + QString::fromStdString(name) + ".png").toStdString());
        const ps::ImageInputs img = processor.images({image});
        QCOMPARE(ids_of(img.image_sizes), ids_of(ref[name + ".image_sizes"]));
        QCOMPARE(img.pixel_values.sizes().vec(), ref[name + ".pixel_values"].sizes().vec());
        worst_pixel = std::max(worst_pixel, diff(img.pixel_values, ref[name + ".pixel_values"]).first);
        QCOMPARE(img.tokens.front(), (ref[name + ".input_ids"] == image_token).sum().item<int64_t>());
        QCOMPARE(ids_of(processor.chat(image, questions.at(name).get<std::string>()).input_ids), ids_of(ref[name + ".input_ids"]));
    }
    QVERIFY2(worst_pixel <= 1e-6, qPrintable(QString("pixel values differ by %1").arg(worst_pixel)));
    QCOMPARE(processor.chat_ids(questions.at("text").get<std::string>(), {}), ids_of(ref["text.input_ids"]));
    const at::Tensor counts = ref["token_counts"];
    for (int64_t i = 0; i < counts.size(0); ++i) {
        const int h = static_cast<int>(counts[i][0].item<int64_t>()), w = static_cast<int>(counts[i][1].item<int64_t>());
        QVERIFY2(processor.prompt_image(h, w).tokens == counts[i][2].item<int64_t>(),
                 qPrintable(QString("%1x%2: %3 image tokens, the processor's %4").arg(w).arg(h).arg(processor.prompt_image(h, w).tokens)
                                .arg(counts[i][2].item<int64_t>())));
    }
    // Two images in one call: padded to the most views, as the processor's do_pad.
    const ps::ImageInputs both = processor.images({ps::load_image((ref.dir + "/a.png").toStdString()),
                                                   ps::load_image((ref.dir + "/c.png").toStdString())});
    QCOMPARE(both.pixel_values.sizes().vec(), ref["generate.pixel_values"].sizes().vec());
    QVERIFY(diff(both.pixel_values, ref["generate.pixel_values"]).first <= 1e-6);
}

// `out`'s hidden states of every tower (<tower name>.hidden.<i>: vision, language, and BLIP-2's
// qformer), then its logits, within 1e-4 of the reference's; `report` gets the largest
// differences. Reports through QTest.
inline void check_hidden_states(const ps::Vlm& model, const Reference& ref, const ps::VlmOutputs& out, QString& report) {
    for (size_t t = 0; t < model.towers().size(); ++t) {
        const std::string& tower = model.towers()[t].name;
        QCOMPARE(out.hidden_states[t].size(), size_t(model.towers()[t].num_blocks + 1));
        double worst = 0;
        for (size_t i = 0; i < out.hidden_states[t].size(); ++i) {
            const std::string key = tower + ".hidden." + std::to_string(i);
            PS_COMPARE_TENSOR(out.hidden_states[t][i], ref[key], key, false, 1e-4, 0);
            worst = std::max(worst, diff(out.hidden_states[t][i], ref[key]).first);
        }
        report += QString("%1 hidden x%2 %3, ").arg(QString::fromStdString(tower)).arg(out.hidden_states[t].size()).arg(worst);
    }
    PS_COMPARE_TENSOR(out.logits, ref["logits"], std::string("logits"), false, 1e-4, 0);
    report += QString("logits %1").arg(diff(out.logits, ref["logits"]).first);
}

// The reference prompt about two images through `model`: every hidden state and the logits
// (check_hidden_states), greedy answers and streaming (check_generation_and_streaming), image tokens
// chosen before the language model (check_tokens_before_the_language_model); logs the largest
// differences after `worst_pixel`. Reports through QTest.
inline void check_outputs(const ps::Vlm& model, const Reference& ref, double worst_pixel) {
    ps::CaptureOptions cap;
    cap.hidden_states = true;
    const ps::VlmOutputs out = model.forward(reference_inputs(ref), cap);
    QString report = QString("pixels %1, ").arg(worst_pixel);
    check_hidden_states(model, ref, out, report);
    if (QTest::currentTestFailed()) return;
    check_generation_and_streaming(model, ref, out.logits);
    if (QTest::currentTestFailed()) return;
    check_tokens_before_the_language_model(ref);
    if (QTest::currentTestFailed()) return;
    qInfo("%s: max abs diff %s; greedy answers identical", QTest::currentDataTag(), qPrintable(report));
}

// Vision block `block`'s token scores by `metric` [views, tokens], its blocks run one by one.
inline at::Tensor vision_block_scores(const ps::Vlm& model, const ps::VlmInputs& in, int block, ps::TokenMetric metric) {
    ps::StageState s = model.embed(0, in, {});
    for (int i = 0; i < block; ++i) model.block(0, i, s);
    at::Tensor probs;
    model.block(0, block, s, &probs);
    return ps::token_scores(model, 0, block, s, probs, metric).to(at::kFloat);
}

// FastV's scores at the decoder's first layer: the last prompt token's attention to each image
// token, in prompt order.
inline at::Tensor first_layer_image_scores(const ps::Vlm& model, const ps::VlmInputs& in) {
    ps::StageState lang = model.embed(1, in, {model.run_tower(0, in)});
    at::Tensor probs;
    model.block(1, 0, lang, &probs);
    return ps::last_token_attention(probs).masked_select(lang.image_slots).to(at::kFloat);
}

// A question file about the reference's images a, c and b (4, 3 and 4 views): dir/questions.jsonl.
inline QString write_tiled_questions(const QString& dir) {
    const QString path = dir + "/questions.jsonl";
    write_bytes(path, R"({"id": "q1", "image": "a.png", "question": "What is shown?", "answers": "a cat", "kind": "open"}
{"id": "q2", "image": "c.png", "question": "How dark is it?", "answers": "very", "kind": "open"}
{"id": "q3", "image": "b.png", "question": "Which colour?", "answers": "red", "kind": "open"}
)");
    return path;
}

}  // namespace ps_test
