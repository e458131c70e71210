// Line charts drawn with OpenCV for files the CLI and reports write (accuracy-vs-sparsity curves):
// axes with ticks, one coloured polyline with markers (or markers alone) per series, a legend, and an optional
// horizontal reference line. The GUI draws its own interactive charts; this is the headless twin.
#pragma once
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace ps {

struct PlotSeries {
    std::string name;
    std::vector<double> x, y;  // same length, x increasing when joined
    bool joined = true;        // false: markers only (a scatter)
};

struct PlotOptions {
    std::string title, x_label, y_label;
    int width = 960, height = 600;
    double y_min = 0, y_max = 0;  // both 0: from the data
    double reference = -1;        // >= 0: a dashed line at this y, labelled `reference_label`
    std::string reference_label;
};

// RGB CV_8UC3. Throws ps::Error when there is no series or a series' x and y differ in length.
cv::Mat render_line_plot(const std::vector<PlotSeries>& series, const PlotOptions& opt);

}  // namespace ps
