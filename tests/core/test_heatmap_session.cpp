// The heatmap session on the default model: a test image's grid equals the scores computed here
// directly (processor + image_token_importance at that block); the rendered image is the
// renderer's output for that grid; the keep ratio marks all but round(keep · 16) tokens and
// changes no score; an image file gives the same grid as the same pixels from the test set; a
// block out of range, a keep ratio outside (0, 1], an unknown metric, a missing image file and a
// test index out of range are refused with the field or file named.
#include <QTemporaryDir>
#include <QTest>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/data/fashion_mnist.h"
#include "core/job/heatmap_session.h"
#include "core/model/processor.h"
#include "core/model/vlm.h"
#include "core/report/token_heatmap.h"
#include "core/token/image_tokens.h"
#include "core/token/token_importance.h"
#include "tests/test_support.h"

class TestHeatmapSession : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    void matchesDirectScoring() {
        QVERIFY(tmp_.isValid());
        const ps::HeatmapSession session(PS_DEFAULT_MODEL);
        QCOMPARE(session.blocks("cls"), 4);
        ps::HeatmapRequest r;
        r.test_image = 5;
        r.block = 2;
        const ps::HeatmapImage h = session.render(r);

        auto model = ps::Vlm::load(PS_DEFAULT_MODEL);
        const ps::Processor processor(*model);
        const ps::LabelledImages test = ps::load_fashion_mnist(ps::fashion_mnist_dir(), "test");
        const at::Tensor img = test.images[5].contiguous();
        cv::Mat rgb;
        cv::cvtColor(cv::Mat(28, 28, CV_8UC1, img.data_ptr<uint8_t>()), rgb, cv::COLOR_GRAY2RGB);
        const ps::VlmInputs in = processor.dual_encoder({rgb}, {"a photo"});
        const ps::TokenGrid want = ps::image_token_importance(*model, in, 2, ps::TokenMetric::Cls).front();
        QCOMPARE(h.grid.rows, want.rows);
        QVERIFY(h.grid.scores == want.scores);
        const cv::Mat picture = ps::render_token_heatmap(ps::model_view(in, 0, processor.image_config()), want);
        QCOMPARE(h.width, picture.cols);
        QCOMPARE(h.height, picture.rows);
        QVERIFY(std::equal(h.rgb.begin(), h.rgb.end(), picture.data));
        QCOMPARE(h.tower, model->towers()[0].name);

        r.keep = 0.25;
        const ps::HeatmapImage marked = session.render(r);
        QVERIFY(marked.grid.scores == want.scores);
        QCOMPARE(std::count(marked.grid.dropped.begin(), marked.grid.dropped.end(), 1), 12L);

        // the same pixels from a file
        const std::string png = tmp_.filePath("five.png").toStdString();
        QVERIFY(cv::imwrite(png, cv::Mat(28, 28, CV_8UC1, img.data_ptr<uint8_t>())));
        ps::HeatmapRequest file;
        file.image = png;
        file.block = 2;
        QVERIFY(session.render(file).grid.scores == want.scores);
    }

    void badRequestsAreNamed() {
        const ps::HeatmapSession session(PS_DEFAULT_MODEL);
        ps::HeatmapRequest r;
        r.block = 4;
        QVERIFY(ps_test::error_of([&] { session.render(r); }).startsWith("block: 4 is outside 0..3"));
        r.block = -1;
        r.keep = 0;
        QVERIFY(ps_test::error_of([&] { session.render(r); }).startsWith("keep:"));
        r.keep = 1;
        r.metric = "nonsense";
        QVERIFY(!ps_test::error_of([&] { session.render(r); }).isEmpty());
        r.metric = "cls";
        r.image = tmp_.filePath("missing.png").toStdString();
        QVERIFY(ps_test::error_of([&] { session.render(r); }).contains("missing.png"));
        r.image.clear();
        r.test_image = 10000;
        QVERIFY(ps_test::error_of([&] { session.render(r); }).startsWith("test image: 10000 is outside 0..9999"));
    }
};

QTEST_GUILESS_MAIN(TestHeatmapSession)
#include "test_heatmap_session.moc"
