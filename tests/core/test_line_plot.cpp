// The headless line chart: the requested size, each series drawn in its own palette colour where
// its points lie, the dense reference line dashed across the plot area, a scatter series with markers
// and no joining line, and bad series refused.
#include <QTest>

#include <opencv2/imgproc.hpp>

#include "core/report/line_plot.h"
#include "tests/test_support.h"

class TestLinePlot : public QObject {
    Q_OBJECT
private:
    static int pixels_of(const cv::Mat& img, const cv::Vec3b& rgb) {
        int n = 0;
        for (int y = 0; y < img.rows; ++y)
            for (int x = 0; x < img.cols; ++x) n += img.at<cv::Vec3b>(y, x) == rgb;
        return n;
    }

private Q_SLOTS:
    void draws_each_series_in_its_colour() {
        ps::PlotOptions opt;
        opt.width = 640;
        opt.height = 400;
        opt.title = "t";
        opt.y_min = 0;
        opt.y_max = 100;
        opt.reference = 87.5;
        opt.reference_label = "dense";
        const std::vector<ps::PlotSeries> series = {{"a", {10, 50, 90}, {85, 60, 10}}, {"b", {10, 50, 90}, {86, 80, 40}}};
        const cv::Mat img = ps::render_line_plot(series, opt);
        QCOMPARE(img.cols, 640);
        QCOMPARE(img.rows, 400);
        const int blue = pixels_of(img, {31, 119, 180}), orange = pixels_of(img, {255, 127, 14});
        qInfo("series pixels: %d and %d", blue, orange);
        QVERIFY(blue > 100 && orange > 100);
        QCOMPARE(pixels_of(img, {44, 160, 44}), 0);  // no third series
        // series a's last point (90, 10) is blue: the plot area ends where the legend (its names
        // measured) begins; y 10 of 0..100 in the 280-pixel-high area
        int base = 0;
        const int legend = cv::getTextSize("a", cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, &base).width;
        const int x = 640 - (legend + 70), y = 50 + 280 - 28;
        QCOMPARE(img.at<cv::Vec3b>(y, x), cv::Vec3b(31, 119, 180));
    }

    // Two points far apart: joined, the pixel half-way between them is drawn; as a
    // scatter it is background, while both markers are drawn.
    void scatter_series_are_not_joined() {
        ps::PlotOptions opt;
        opt.width = 640;
        opt.height = 400;
        opt.y_min = 0;
        opt.y_max = 100;
        int base = 0;
        const int right = 640 - (cv::getTextSize("s", cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, &base).width + 70);
        const int mid_x = (80 + right) / 2, mid_y = 50 + 140;  // (50, 50) on axes 0..100
        auto at = [&](bool joined) {
            ps::PlotSeries s{"s", {0, 100}, {0, 100}, joined};
            const cv::Mat img = ps::render_line_plot({s}, opt);
            return std::make_tuple(img.at<cv::Vec3b>(mid_y, mid_x), img.at<cv::Vec3b>(50 + 280, 80), pixels_of(img, {31, 119, 180}));
        };
        const auto [joined_mid, joined_end, joined_pixels] = at(true);
        const auto [scatter_mid, scatter_end, scatter_pixels] = at(false);
        QVERIFY(joined_mid != cv::Vec3b(255, 255, 255));  // on the line (anti-aliased)
        QCOMPARE(scatter_mid, cv::Vec3b(255, 255, 255));
        QCOMPARE(joined_end, cv::Vec3b(31, 119, 180));
        QCOMPARE(scatter_end, cv::Vec3b(31, 119, 180));
        QVERIFY(scatter_pixels > 20 && scatter_pixels < joined_pixels / 4);
    }

    void bad_series_are_refused() {
        QVERIFY(ps_test::error_of([] { ps::render_line_plot({}, {}); }).contains("no series"));
        QVERIFY(ps_test::error_of([] { ps::render_line_plot({{"x", {1, 2}, {1}}}, {}); }).contains("series \"x\""));
    }
};

QTEST_GUILESS_MAIN(TestLinePlot)
#include "test_line_plot.moc"
