#include "core/job/heatmap_session.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>

#include <opencv2/imgproc.hpp>

#include "core/data/fashion_mnist.h"
#include "core/data/image.h"
#include "core/error.h"
#include "core/model/processor.h"
#include "core/model/vlm.h"
#include "core/report/token_heatmap.h"
#include "core/token/image_tokens.h"
#include "core/token/method_grid.h"
#include "core/token/token_method.h"
#include "core/token/token_importance.h"
#include "core/token/token_pruning.h"

namespace ps {

struct HeatmapSession::Impl {
    std::unique_ptr<Vlm> model;
    std::unique_ptr<Processor> processor;
    std::unique_ptr<LabelledImages> test;  // read on first use
    struct Scored {
        TokenGrid grid;
        cv::Mat view;  // what the model saw
    };
    std::map<std::string, Scored> cache;
    std::mutex mu;

    int tower_of(TokenMetric metric) const {
        return std::max(0, tower_index(*model, metric == TokenMetric::Text ? Modality::Language : Modality::Vision));
    }

    cv::Mat image_of(const HeatmapRequest& r) {
        if (!r.image.empty()) return load_image(r.image);
        if (!test) test = std::make_unique<LabelledImages>(load_fashion_mnist(fashion_mnist_dir(), "test"));
        return labelled_image_rgb(*test, r.test_image);
    }
};

namespace {
// `h.grid` over `view` in `colormap`, into h's pixels.
void draw(HeatmapImage& h, const cv::Mat& view, const std::string& colormap) {
    HeatmapOptions style;
    style.colormap = colormap;
    const cv::Mat rgb = render_token_heatmap(view, h.grid, style);
    h.width = rgb.cols;
    h.height = rgb.rows;
    h.rgb.resize(static_cast<size_t>(rgb.total()) * 3);
    for (int y = 0; y < rgb.rows; ++y)
        std::copy(rgb.ptr<uint8_t>(y), rgb.ptr<uint8_t>(y) + rgb.cols * 3, h.rgb.data() + static_cast<size_t>(y) * rgb.cols * 3);
}
}  // namespace

HeatmapSession::HeatmapSession(const std::string& model_dir, const std::string& device, const std::string& dtype)
    : impl_(std::make_unique<Impl>()) {
    if (std::filesystem::is_directory(model_dir) && !std::filesystem::exists(model_dir + "/preprocessor_config.json"))
        throw Error(model_dir, "has no preprocessor_config.json: token heatmaps need the checkpoint's image processor to "
                               "prepare the image as the model sees it");
    LoadOptions load;
    load.device = device;
    load.dtype = dtype;
    impl_->model = Vlm::load(model_dir, load);
    impl_->processor = std::make_unique<Processor>(*impl_->model);
    impl_->processor->image_config();  // throws naming preprocessor_config.json
}

HeatmapSession::~HeatmapSession() = default;

std::vector<std::string> HeatmapSession::metrics() const {
    std::vector<std::string> out = {"received", "cim"};
    if (impl_->model->capabilities().vision_cls) out.insert(out.begin(), "cls");
    if (impl_->model->capabilities().image_tokens_in_language && impl_->processor->has_tokenizer()) out.push_back("text");
    return out;
}

std::string HeatmapSession::limits() const {
    if (!impl_->model->capabilities().image_tokens_in_language || impl_->processor->has_tokenizer()) return {};
    try {
        impl_->processor->tokenizer();
    } catch (const Error& e) {
        return std::string("text-guided scores need the checkpoint's tokenizer: ") + e.what();
    }
    return {};
}

std::vector<std::string> HeatmapSession::test_image_classes(int64_t count) {
    const LabelledImages test = load_fashion_mnist(fashion_mnist_dir(), "test");
    std::vector<std::string> out;
    for (int64_t i = 0; i < std::min<int64_t>(count, test.labels.size(0)); ++i)
        out.push_back(test.classes[static_cast<size_t>(test.labels[i].item<int64_t>())]);
    return out;
}

int HeatmapSession::blocks(const std::string& metric) const {
    return impl_->model->towers()[impl_->tower_of(parse_token_metric(metric))].num_blocks;
}

HeatmapImage HeatmapSession::render(const HeatmapRequest& r) const {
    if (!(r.keep > 0 && r.keep <= 1)) throw Error("keep", std::to_string(r.keep) + " is outside (0, 1]");
    const TokenMetric metric = parse_token_metric(r.metric);
    std::lock_guard<std::mutex> lock(impl_->mu);
    const Vlm& model = *impl_->model;
    if (metric == TokenMetric::Text && !model.capabilities().image_tokens_in_language)
        throw Error("metric", text_guided_unavailable(model));
    const int tower = impl_->tower_of(metric);
    const int last = model.towers()[tower].num_blocks - 1;
    const int block = r.block < 0 ? last : r.block;
    if (block > last) throw Error("block", std::to_string(block) + " is outside 0.." + std::to_string(last) + " of the " + model.towers()[tower].name + " tower");
    const std::string key = (r.image.empty() ? "test:" + std::to_string(r.test_image) : "file:" + r.image) + "|" + r.text + "|" +
                            std::to_string(block) + "|" + r.metric;
    auto it = impl_->cache.find(key);
    if (it == impl_->cache.end()) {
        const cv::Mat image = impl_->image_of(r);
        const Processor& processor = *impl_->processor;
        // The vision tower's metrics need the image alone; the text-guided one a chat prompt about it.
        VlmInputs in;
        if (metric == TokenMetric::Text) in = processor.chat(image, r.text.empty() ? "What is shown in this image?" : r.text);
        else processor.images({image}).put(in);
        Impl::Scored s;
        s.grid = image_token_importance(model, in, block, metric).front();
        s.view = model_view(in, 0, processor.image_config());
        it = impl_->cache.emplace(key, std::move(s)).first;
    }
    HeatmapImage out;
    out.grid = it->second.grid;
    mark_dropped(out.grid, r.keep);
    draw(out, it->second.view, r.colormap);
    out.tower = model.towers()[tower].name;
    out.block = block;
    return out;
}

std::vector<std::string> HeatmapSession::token_methods() const {
    std::vector<std::string> out;
    if (!impl_->model->capabilities().image_tokens_follow_vision || !impl_->processor->has_tokenizer()) return out;
    for (const TokenMethod& m : ps::token_methods())
        if (impl_->model->capabilities().vision_cls || (m.name != "cls" && m.name != "fastervlm")) out.push_back(m.name);
    return out;
}

std::vector<HeatmapImage> HeatmapSession::compare(const HeatmapRequest& r, const std::vector<std::string>& methods) const {
    if (!(r.keep > 0 && r.keep <= 1)) throw Error("keep", std::to_string(r.keep) + " is outside (0, 1]");
    std::lock_guard<std::mutex> lock(impl_->mu);
    const cv::Mat image = impl_->image_of(r);
    const VlmInputs in = impl_->processor->chat(image, r.text.empty() ? "What is shown in this image?" : r.text);
    const cv::Mat view = model_view(in, 0, impl_->processor->image_config());
    std::vector<HeatmapImage> out;
    for (const std::string& name : methods) {
        TokenOptions t;
        t.method = name;
        t.keep = r.keep;
        HeatmapImage h;
        h.grid = method_token_grid(*impl_->model, in, t);
        draw(h, view, r.colormap);
        h.method = name;
        out.push_back(std::move(h));
    }
    return out;
}

}  // namespace ps
