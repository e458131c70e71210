// The heatmap renderer: small images are scaled up, the most important token's cell takes the
// colormap's top colour blended over the image, dropped tokens are darker than kept ones, PNGs
// round-trip through OpenCV and are written atomically; mark_dropped keeps the highest scores;
// bad grids and colormaps are refused with the problem named.
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/report/token_heatmap.h"
#include "core/token/token_grid.h"
#include "tests/test_support.h"

class TestTokenHeatmap : public QObject {
    Q_OBJECT
private:
    static ps::TokenGrid grid() {
        ps::TokenGrid g;
        g.rows = g.cols = 4;
        for (int i = 0; i < 16; ++i) g.scores.push_back(static_cast<float>(i));  // token 15 (bottom right) highest
        return g;
    }
    static cv::Vec3b at(const cv::Mat& m, double fy, double fx) {
        return m.at<cv::Vec3b>(static_cast<int>(fy * m.rows), static_cast<int>(fx * m.cols));
    }

private Q_SLOTS:
    void mark_dropped_keeps_the_highest() {
        ps::TokenGrid g = grid();
        ps::mark_dropped(g, 0.25);
        QCOMPARE(g.dropped.size(), size_t(16));
        for (int i = 0; i < 16; ++i) QCOMPARE(int(g.dropped[i]), i < 12 ? 1 : 0);
        ps::mark_dropped(g, 1.0);
        QVERIFY(g.dropped.empty());
    }

    void renders_colormap_over_the_image() {
        const cv::Mat grey(28, 28, CV_8UC3, cv::Scalar(128, 128, 128));
        ps::HeatmapOptions opt;
        opt.alpha = 1.0;  // colormap only: cells show their colours exactly at their centres
        opt.colormap = "jet";
        const cv::Mat out = ps::render_token_heatmap(grey, grid(), opt);
        QVERIFY(out.rows >= 336 && out.cols >= 336);
        QCOMPARE(out.type(), CV_8UC3);
        // jet: lowest score blue, highest red (RGB order out)
        cv::Mat lut(1, 2, CV_8U);
        lut.at<uint8_t>(0, 0) = 0;
        lut.at<uint8_t>(0, 1) = 255;
        cv::Mat jet;
        cv::applyColorMap(lut, jet, cv::COLORMAP_JET);
        const cv::Vec3b low = jet.at<cv::Vec3b>(0, 0), high = jet.at<cv::Vec3b>(0, 1);  // BGR
        const cv::Vec3b top = at(out, 7.0 / 8, 7.0 / 8), bottom = at(out, 1.0 / 8, 1.0 / 8);
        for (int c = 0; c < 3; ++c) {
            QVERIFY(std::abs(top[c] - high[2 - c]) <= 2);
            QVERIFY(std::abs(bottom[c] - low[2 - c]) <= 2);
        }
    }

    void dropped_tokens_are_dimmed() {
        const cv::Mat grey(28, 28, CV_8UC3, cv::Scalar(200, 200, 200));
        ps::TokenGrid g = grid();
        g.scores.assign(16, 1.0f);  // flat: every cell the same colour
        const cv::Mat plain = ps::render_token_heatmap(grey, g);
        g.dropped.assign(16, 0);
        g.dropped[0] = 1;
        const cv::Mat marked = ps::render_token_heatmap(grey, g);
        const cv::Rect first(0, 0, marked.cols / 4, marked.rows / 4), other(marked.cols / 2, 0, marked.cols / 4, marked.rows / 4);
        const double dropped = cv::mean(marked(first))[0] + cv::mean(marked(first))[1] + cv::mean(marked(first))[2];
        const double kept = cv::mean(plain(first))[0] + cv::mean(plain(first))[1] + cv::mean(plain(first))[2];
        QVERIFY2(dropped < 0.8 * kept, qPrintable(QString("%1 vs %2").arg(dropped).arg(kept)));
        QCOMPARE(cv::norm(marked(other), plain(other), cv::NORM_INF), 0.0);
    }

    void png_round_trips_atomically() {
        QTemporaryDir tmp;
        const std::string path = tmp.filePath("heat.png").toStdString();
        const cv::Mat out = ps::render_token_heatmap(cv::Mat(32, 32, CV_8UC3, cv::Scalar(10, 20, 30)), grid());
        ps::write_png(path, out);
        cv::Mat back = cv::imread(path, cv::IMREAD_COLOR);
        cv::cvtColor(back, back, cv::COLOR_BGR2RGB);
        QCOMPARE(cv::norm(back, out, cv::NORM_INF), 0.0);
        QCOMPARE(std::distance(std::filesystem::directory_iterator(tmp.path().toStdString()), {}), 1L);  // no temp left
        QVERIFY(!ps_test::error_of([&] { ps::write_png(tmp.filePath("none/heat.png").toStdString(), out); }).isEmpty());
    }

    void bad_input_is_refused() {
        const cv::Mat img(28, 28, CV_8UC3, cv::Scalar(0, 0, 0));
        ps::TokenGrid g = grid();
        g.scores.pop_back();
        QVERIFY(ps_test::error_of([&] { ps::render_token_heatmap(img, g); }).contains("grid"));
        ps::HeatmapOptions opt;
        opt.colormap = "rainbowish";
        QVERIFY(ps_test::error_of([&] { ps::render_token_heatmap(img, grid(), opt); }).contains("rainbowish"));
        QVERIFY(ps_test::error_of([&] { ps::render_token_heatmap(cv::Mat(), grid()); }).contains("RGB"));
    }
};

QTEST_GUILESS_MAIN(TestTokenHeatmap)
#include "test_token_heatmap.moc"
