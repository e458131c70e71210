// The built-in generative benchmark: questions about Fashion-MNIST test images generated
// deterministically from their labels. Open-ended ("What is the item in this image?", the class
// name as reference); yes/no as POPE asks it, each image's own class once and one absent class
// from each of POPE's negative sets — random, popular (the set's most frequent other class) and
// adversarial (the other class whose mean image is nearest, the analogue of POPE's most
// co-occurring object); four-option lettered multiple choice.
#pragma once
#include <cstdint>

#include "core/data/fashion_mnist.h"
#include "core/data/vqa_set.h"

namespace ps {

// Questions of `kind` about the first `images` images of `data` (-1: all): open and choice one per
// image, yes/no four (the positive, then the random, popular and adversarial negatives; the
// negatives carry their set as category). `seed` draws the random negatives and the options.
VqaSet fashion_mnist_vqa(const LabelledImages& data, VqaKind kind, int64_t images = -1, uint64_t seed = 0);

}  // namespace ps
