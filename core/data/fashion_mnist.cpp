#include "core/data/fashion_mnist.h"

#include <opencv2/imgproc.hpp>

#include <cstdlib>
#include <filesystem>

#include "core/data/idx.h"
#include "core/error.h"

namespace ps {

const std::vector<std::string>& fashion_mnist_classes() {
    static const std::vector<std::string> classes{"t-shirt", "trouser", "pullover", "dress", "coat",
                                                  "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot"};
    return classes;
}

std::string fashion_mnist_dir() {
    const char* env = std::getenv("PRUNESTUDIO_FASHION_MNIST");
    return env && *env ? std::string(env) : std::string("/usr/share/datasets/fashion-mnist");
}

LabelledImages load_fashion_mnist(const std::string& dir, const std::string& split) {
    std::string prefix;
    if (split == "train") {
        prefix = "train";
    } else if (split == "test") {
        prefix = "t10k";
    } else {
        throw Error("fashion-mnist", "unknown split '" + split + "' (expected train or test)");
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw Error(dir, "no such folder (install the Debian package dataset-fashion-mnist or set "
                         "PRUNESTUDIO_FASHION_MNIST to a folder holding the IDX files)");
    const std::string image_path = (std::filesystem::path(dir) / (prefix + "-images-idx3-ubyte.gz")).string();
    const std::string label_path = (std::filesystem::path(dir) / (prefix + "-labels-idx1-ubyte.gz")).string();

    LabelledImages out;
    out.images = read_idx(image_path);
    if (out.images.dim() != 3)
        throw Error(image_path, "expected 3 dimensions (images, rows, columns), got " + std::to_string(out.images.dim()));
    const at::Tensor labels = read_idx(label_path);
    if (labels.dim() != 1) throw Error(label_path, "expected 1 dimension (labels), got " + std::to_string(labels.dim()));
    if (labels.size(0) != out.images.size(0))
        throw Error(label_path, std::to_string(labels.size(0)) + " labels for " + std::to_string(out.images.size(0)) +
                                    " images in " + image_path);
    out.classes = fashion_mnist_classes();
    const int64_t n_classes = static_cast<int64_t>(out.classes.size());
    const at::Tensor bad = (labels >= n_classes).nonzero();
    if (bad.size(0) > 0) {
        const int64_t i = bad[0][0].item<int64_t>();
        throw Error(label_path, "label " + std::to_string(labels[i].item<int>()) + " at index " + std::to_string(i) +
                                    " is out of range (" + std::to_string(n_classes) + " classes)");
    }
    out.labels = labels.to(at::kLong);
    return out;
}

cv::Mat labelled_image_rgb(const LabelledImages& set, int64_t i) {
    if (i < 0 || i >= set.images.size(0))
        throw Error("test image", std::to_string(i) + " is outside 0.." + std::to_string(set.images.size(0) - 1));
    const at::Tensor img = set.images[i].contiguous();
    const cv::Mat gray(static_cast<int>(img.size(0)), static_cast<int>(img.size(1)), CV_8UC1, img.data_ptr<uint8_t>());
    cv::Mat rgb;
    cv::cvtColor(gray, rgb, cv::COLOR_GRAY2RGB);
    return rgb;
}

}  // namespace ps
