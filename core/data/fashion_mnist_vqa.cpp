#include "core/data/fashion_mnist_vqa.h"

#include <algorithm>
#include <random>

#include "core/data/class_questions.h"
#include "core/error.h"

namespace ps {
namespace {

// For each class, the other class whose mean image over `images` is nearest in L2 (-1 for a class
// with no images).
std::vector<int64_t> nearest_classes(const at::Tensor& images, const at::Tensor& labels, int64_t classes) {
    const at::Tensor flat = images.reshape({images.size(0), -1}).to(at::kDouble);
    std::vector<at::Tensor> means(classes);
    for (int64_t c = 0; c < classes; ++c) {
        const at::Tensor rows = flat.index({labels == c});
        if (rows.size(0) > 0) means[c] = rows.mean(0);
    }
    std::vector<int64_t> nearest(classes, -1);
    for (int64_t c = 0; c < classes; ++c) {
        double best = 0;
        for (int64_t o = 0; o < classes; ++o) {
            if (o == c || !means[c].defined() || !means[o].defined()) continue;
            const double d = (means[c] - means[o]).pow(2).sum().item<double>();
            if (nearest[c] < 0 || d < best) nearest[c] = o, best = d;
        }
    }
    return nearest;
}

}  // namespace

VqaSet fashion_mnist_vqa(const LabelledImages& data, VqaKind kind, int64_t images, uint64_t seed) {
    const int64_t n = images < 0 ? data.images.size(0) : std::min<int64_t>(images, data.images.size(0));
    const int64_t classes = static_cast<int64_t>(data.classes.size());
    if (n <= 0) throw Error("fashion-mnist questions", "no images to ask about");
    if (classes < 4) throw Error("fashion-mnist questions", "needs at least four classes");
    VqaSet set;
    set.name = "fashion-mnist test";
    set.kind = kind;
    const at::Tensor labels = data.labels.slice(0, 0, n).to(at::kLong).contiguous();
    set.images = std::make_shared<const LabelledImages>(LabelledImages{data.images.slice(0, 0, n), labels, data.classes});
    const int64_t* label = labels.data_ptr<int64_t>();
    std::mt19937_64 rng(seed);

    // POPE's popular negative: the most frequent class of the set other than the image's own
    // (ties to the lower class index); adversarial: the class that looks most alike.
    std::vector<int64_t> count(classes, 0);
    for (int64_t i = 0; i < n; ++i) ++count[label[i]];
    std::vector<int64_t> by_frequency(classes);
    for (int64_t c = 0; c < classes; ++c) by_frequency[c] = c;
    std::stable_sort(by_frequency.begin(), by_frequency.end(), [&](int64_t a, int64_t b) { return count[a] > count[b]; });
    const std::vector<int64_t> nearest = kind == VqaKind::YesNo ? nearest_classes(set.images->images, labels, classes) : std::vector<int64_t>{};

    auto add = [&](int64_t i, std::string question, std::vector<std::string> answers, std::string category = {}) {
        VqaItem item;
        item.question_id = static_cast<int64_t>(set.items.size());
        item.image_index = i;
        item.question = std::move(question);
        item.answers = std::move(answers);
        item.category = std::move(category);
        set.items.push_back(std::move(item));
    };
    auto is_there = [&](int64_t c) { return "Is there " + with_article(data.classes[c]) + " in the image?"; };
    for (int64_t i = 0; i < n; ++i) {
        const int64_t y = label[i];
        switch (kind) {
            case VqaKind::Open:
                add(i, "What is the item in this image?", {data.classes[y]});
                break;
            case VqaKind::YesNo: {
                const int64_t random = (y + std::uniform_int_distribution<int64_t>(1, classes - 1)(rng)) % classes;
                const int64_t popular = by_frequency[0] != y ? by_frequency[0] : by_frequency[1];
                add(i, is_there(y), {"yes"});
                add(i, is_there(random), {"no"}, "random");
                add(i, is_there(popular), {"no"}, "popular");
                add(i, is_there(nearest[y]), {"no"}, "adversarial");
                break;
            }
            case VqaKind::Choice: {
                size_t right = 0;
                const std::vector<int64_t> options = choice_options(y, classes, rng, right);
                std::string question = "Which item is in the image?";
                std::vector<std::string> texts;
                for (size_t k = 0; k < 4; ++k) {
                    texts.push_back(capitalised(data.classes[options[k]]));
                    question += "\n" + std::string(1, static_cast<char>('A' + k)) + ". " + texts.back();
                }
                add(i, question, {std::string(1, static_cast<char>('A' + right))});
                set.items.back().options = std::move(texts);
                break;
            }
        }
    }
    return set;
}

}  // namespace ps
