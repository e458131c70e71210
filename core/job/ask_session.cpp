#include "core/job/ask_session.h"

#include <algorithm>
#include <mutex>

#include "core/data/fashion_mnist.h"
#include "core/data/image.h"
#include "core/error.h"
#include "core/model/causal_vlm.h"
#include "core/model/processor.h"
#include "core/model/vlm.h"

namespace ps {

struct AskSession::Impl {
    std::unique_ptr<Vlm> model;
    const CausalVlm* causal = nullptr;
    std::unique_ptr<Processor> processor;
    std::unique_ptr<LabelledImages> test;  // read on first use
    std::mutex mu;
};

AskSession::AskSession(const std::string& model_dir, const std::string& device, const std::string& dtype)
    : impl_(std::make_unique<Impl>()) {
    LoadOptions load;
    load.device = device;
    load.dtype = dtype;
    load.sparse_kernels = true;
    impl_->model = Vlm::load(model_dir, load);
    impl_->causal = dynamic_cast<const CausalVlm*>(impl_->model.get());
    if (!impl_->causal) throw Error(model_dir, "is not a generative model: it answers no questions (the Tokens and Curves tabs show what it does)");
    impl_->processor = std::make_unique<Processor>(*impl_->model);
    impl_->processor->tokenizer();  // throws naming the tokenizer file
}

AskSession::~AskSession() = default;

std::vector<TestImage> AskSession::test_images(int64_t count) {
    const LabelledImages test = load_fashion_mnist(fashion_mnist_dir(), "test");
    std::vector<TestImage> out;
    for (int64_t i = 0; i < std::min<int64_t>(count, test.images.size(0)); ++i) {
        const cv::Mat rgb = labelled_image_rgb(test, i);
        TestImage t;
        t.label = test.classes[static_cast<size_t>(test.labels[i].item<int64_t>())];
        t.width = rgb.cols;
        t.height = rgb.rows;
        t.rgb.assign(rgb.data, rgb.data + rgb.total() * 3);
        out.push_back(std::move(t));
    }
    return out;
}

std::string AskSession::ask(const AskRequest& r, const std::function<void(const std::string&)>& partial, const JobControl& job) const {
    if (r.question.find_first_not_of(" \t\r\n") == std::string::npos) throw Error("question", "is empty");
    const std::lock_guard<std::mutex> lock(impl_->mu);
    cv::Mat image;
    if (impl_->model->capabilities().tower(Modality::Vision)) {
        if (!r.image.empty()) {
            image = load_image(r.image);
        } else {
            if (!impl_->test) impl_->test = std::make_unique<LabelledImages>(load_fashion_mnist(fashion_mnist_dir(), "test"));
            image = labelled_image_rgb(*impl_->test, r.test_image);
        }
    }
    const Tokenizer& tok = impl_->processor->tokenizer();
    const std::vector<int64_t> ids = impl_->causal->generate(
        impl_->processor->chat(image, r.question), r.max_new_tokens, tok.eos_id(), [&](const std::vector<std::vector<int64_t>>& so_far) {
            job.check("answering");
            if (partial) partial(tok.decode(so_far.front()));
        });
    return tok.decode(ids);
}

}  // namespace ps
