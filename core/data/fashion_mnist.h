// Fashion-MNIST (Zalando): 28x28 grey images of clothing in 10 classes, 60k for training and 10k
// for testing, read from the gzipped IDX files that Debian's dataset-fashion-mnist installs.
#pragma once
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <opencv2/core/mat.hpp>

namespace ps {

struct LabelledImages {
    at::Tensor images;  // [N, H, W] uint8
    at::Tensor labels;  // [N] int64, indices into classes
    std::vector<std::string> classes;
};

// The 10 class names in label order: "t-shirt", "trouser", ..., "ankle boot".
const std::vector<std::string>& fashion_mnist_classes();

// $PRUNESTUDIO_FASHION_MNIST when set (and not empty), else /usr/share/datasets/fashion-mnist.
std::string fashion_mnist_dir();

// Split "train" (60k) or "test" (10k): {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz in `dir`.
// Throws ps::Error for an unknown split, a missing folder or file, a malformed IDX file, images
// that are not 3-d, labels that are not 1-d or not one per image, or a label outside 0..9.
LabelledImages load_fashion_mnist(const std::string& dir, const std::string& split);

// Image i as the 8-bit RGB a user's image file decodes to (grey replicated on three channels);
// throws ps::Error for an index outside the set.
cv::Mat labelled_image_rgb(const LabelledImages& set, int64_t i);

}  // namespace ps
