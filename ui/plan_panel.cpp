#include "ui/plan_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QVBoxLayout>
#include <exception>
#include <utility>

#include "core/error.h"
#include "core/eval/evaluation_options.h"
#include "core/prune/allocation.h"
#include "core/prune/catalog.h"
#include "core/runtime.h"

namespace ps {
namespace {

void selectData(QComboBox* box, const QString& value) {
    const int i = box->findData(value);
    if (i >= 0) box->setCurrentIndex(i);
}

void selectText(QComboBox* box, const QString& value) {
    int i = box->findText(value);
    if (i < 0) {
        box->addItem(value, value);
        i = box->count() - 1;
    }
    box->setCurrentIndex(i);
}

}  // namespace

QList<QPair<QString, Plan>> PlanPanel::builtInPresets() {
    QList<QPair<QString, Plan>> out;
    const QDir dir(":/presets");
    for (const QString& file : dir.entryList({"*.json"}, QDir::Files, QDir::Name)) {
        QFile f(dir.filePath(file));
        if (!f.open(QIODevice::ReadOnly)) continue;
        const Plan p = Plan::from_json(nlohmann::json::parse(f.readAll().toStdString()), file.toStdString());
        out.append({QString::fromStdString(p.name.empty() ? file.toStdString() : p.name), p});
    }
    return out;
}

PlanPanel::PlanPanel(QWidget* parent)
    : QWidget(parent),
      preset_(new QComboBox(this)),
      method_(new QComboBox(this)),
      pattern_(new QComboBox(this)),
      sparsity_(new QDoubleSpinBox(this)),
      allocation_(new QComboBox(this)),
      vision_(new QSlider(Qt::Horizontal, this)),
      projector_(new QSlider(Qt::Horizontal, this)),
      language_(new QSlider(Qt::Horizontal, this)),
      visionValue_(new QLabel(this)),
      projectorValue_(new QLabel(this)),
      languageValue_(new QLabel(this)),
      link_(new QCheckBox(tr("Link (equal)"), this)),
      calibrationData_(new QComboBox(this)),
      browse_(new QPushButton(tr("Browse…"), this)),
      samples_(new QSpinBox(this)),
      device_(new QComboBox(this)),
      dtype_(new QComboBox(this)),
      seed_(new QSpinBox(this)),
      task_(new QComboBox(this)),
      metric_(new QComboBox(this)) {
    auto* presets = new QGroupBox(tr("Preset"), this);
    auto* presetButtons = new QHBoxLayout;
    auto* load = new QPushButton(tr("Load…"), this);
    auto* save = new QPushButton(tr("Save as…"), this);
    load->setToolTip(tr("Load a Plan JSON file as a user preset"));
    save->setToolTip(tr("Save the current settings as a Plan JSON file"));
    presetButtons->addWidget(load);
    presetButtons->addWidget(save);
    auto* presetLayout = new QVBoxLayout(presets);
    presetLayout->addWidget(preset_);
    presetLayout->addLayout(presetButtons);
    preset_->addItem(tr("(choose a preset)"));
    preset_->setToolTip(tr("A saved Plan to start from: the built-in presets and the Plan files you load. Any edit marks "
                           "it \"(modified)\", and the run's plan.json and report carry that name."));
    for (const auto& [name, plan] : builtInPresets()) addPreset(name, plan);

    for (const CatalogEntry& m : method_catalog()) {
        method_->addItem(QString::fromStdString(m.display), QString::fromStdString(m.id));
        method_->setItemData(method_->count() - 1, QString::fromStdString(m.description), Qt::ToolTipRole);
    }
    method_->setToolTip(tr("How each Linear is pruned: Magnitude (smallest |W|), Wanda (|W|·‖X‖; Sun et al., ICLR 2024), "
                           "SparseGPT (pruning with OBS weight updates; Frantar & Alistarh, ICML 2023), DSnoT (Wanda's mask "
                           "refined by prune-and-grow swaps; Zhang et al., ICLR 2024), ALPS (ADMM with a conjugate-gradient refit; "
                           "Meng et al., NeurIPS 2024) and plugins; Width, "
                           "Depth and Joint remove whole heads, channels, blocks and tokens. Hover an entry for its rule."));
    pattern_->setEditable(true);  // any N:M with N < M
    pattern_->addItems({"unstructured", "2:4", "4:8", "structured"});
    pattern_->setToolTip(tr("unstructured: any weights; N:M: N zeros in every M consecutive inputs of a row, N < M, M "
                            "dividing the row (2:4 runs on NVIDIA sparse tensor cores; Mishra et al., 2021); structured: "
                            "whole heads, channels or blocks (Width, Depth, Joint)"));
    sparsity_->setRange(0.0, 0.99);
    sparsity_->setSingleStep(0.05);
    sparsity_->setDecimals(2);
    for (const CatalogEntry& a : allocation_catalog()) {
        allocation_->addItem(QString::fromStdString(a.display), QString::fromStdString(a.id));
        allocation_->setItemData(allocation_->count() - 1, QString::fromStdString(a.description), Qt::ToolTipRole);
    }
    allocation_->setToolTip(tr("How the target is spread over the Linears: uniform; per modality (the sliders below; "
                               "RESSA finds an equal vision / language split near-optimal); ECoFLaP (Sung et al., ICLR "
                               "2024), OWL (Yin et al., ICML 2024) and sensitivity redistribute it per block"));

    auto* what = new QGroupBox(tr("Pruning"), this);
    auto* form = new QFormLayout(what);
    form->addRow(tr("Method"), method_);
    form->addRow(tr("Pattern"), pattern_);
    form->addRow(tr("Target sparsity"), sparsity_);
    form->addRow(tr("Allocation"), allocation_);

    auto* ratios = new QGroupBox(tr("Per modality (allocation \"Per modality\")"), this);
    auto* grid = new QFormLayout(ratios);
    for (auto [slider, label, name, tip] :
         {std::tuple{vision_, visionValue_, tr("Vision"), tr("Sparsity of the vision tower's block Linears, 0–99 %")},
          std::tuple{projector_, projectorValue_, tr("Projector"),
                     tr("Sparsity of the projector's Linears, 0–99 %; 0 keeps it dense, as RESSA and ECoFLaP do")},
          std::tuple{language_, languageValue_, tr("Language"),
                     tr("Sparsity of the language (text) tower's block Linears, 0–99 %")}}) {
        slider->setRange(0, 99);
        slider->setToolTip(tip);
        label->setMinimumWidth(40);
        auto* row = new QHBoxLayout;
        row->addWidget(slider, 1);
        row->addWidget(label);
        grid->addRow(name, row);
        connect(slider, &QSlider::valueChanged, this, [this, slider = slider] { ratioMoved(slider); });
    }
    link_->setToolTip(tr("Move the vision, language (and a non-zero projector) ratio together: an equal split"));
    grid->addRow(QString(), link_);

    auto* run = new QGroupBox(tr("Calibration and run"), this);
    auto* runForm = new QFormLayout(run);
    calibrationData_->setEditable(true);
    calibrationData_->addItem("fashion-mnist", "fashion-mnist");
    calibrationData_->setToolTip(tr("What the method reads each Linear's inputs from (Wanda, SparseGPT, the adaptive "
                                    "allocations; magnitude needs none): Fashion-MNIST training images with class "
                                    "prompts, a folder of images with captions.jsonl ({\"image\", \"caption\"} per "
                                    "line) — Browse… adds one — or, typed as a path, a LLaVA conversation .json file or a "
                                    ".safetensors file of the model's own inputs (input_ids, pixel_values, …)"));
    browse_->setToolTip(tr("Add a caption folder (images and captions.jsonl) as calibration data"));
    auto* calibration = new QHBoxLayout;
    calibration->addWidget(calibrationData_, 1);
    calibration->addWidget(browse_);
    samples_->setRange(1, 100000);
    samples_->setToolTip(tr("Calibration samples, 1–100 000 (Wanda and SparseGPT use 128)"));
    device_->addItem("cpu", "cpu");
    if (runtime_info().cuda_available) device_->addItem("cuda", "cuda");
    device_->setToolTip(tr("Where the model runs: cpu, or cuda when a GPU is present"));
    for (const char* d : {"float32", "bfloat16", "float16"}) dtype_->addItem(d, d);
    dtype_->setToolTip(tr("The precision the model runs and is pruned in; the pruned checkpoint keeps it"));
    seed_->setRange(0, 1 << 30);
    seed_->setToolTip(tr("Seeds the calibration subset and every random step, 0–2^30: the same Plan and seed give the same run"));
    runForm->addRow(tr("Calibration data"), calibration);
    runForm->addRow(tr("Samples"), samples_);
    runForm->addRow(tr("Device"), device_);
    runForm->addRow(tr("Dtype"), dtype_);
    runForm->addRow(tr("Seed"), seed_);

    auto* scoring = new QGroupBox(tr("Score by"), this);
    auto* scoringForm = new QFormLayout(scoring);
    task_->addItem(tr("the model's default"), QString());
    task_->addItem(tr("zero-shot top-1 (dual encoders)"), "zero-shot");
    task_->addItem(tr("open-ended questions"), "open");
    task_->addItem(tr("yes/no questions (POPE)"), "yes-no");
    task_->addItem(tr("multiple choice"), "choice");
    task_->setToolTip(tr("What sweeps, curves, Pareto fronts and the sensitivity table score a model by: a dual encoder "
                         "zero-shot top-1; a generative model questions about the Fashion-MNIST test images (open-ended, "
                         "yes/no with POPE's negatives, multiple choice), answered greedily. Default: zero-shot or "
                         "open-ended by the model's kind."));
    metric_->setEditable(true);
    metric_->lineEdit()->setPlaceholderText(tr("the task's headline"));
    metric_->setToolTip(tr("The task's metric: empty for its headline (exact match, F1, letter accuracy); answer_nll, the "
                           "reference answer's negative log-likelihood per token, is smooth and lower-is-better"));
    scoringForm->addRow(tr("Task"), task_);
    scoringForm->addRow(tr("Metric"), metric_);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(presets);
    layout->addWidget(what);
    layout->addWidget(ratios);
    layout->addWidget(run);
    layout->addWidget(scoring);
    layout->addStretch(1);

    setPlan(Plan{});
    const auto changed = [this] {
        if (!updating_) edited();
    };
    connect(preset_, &QComboBox::activated, this, &PlanPanel::applyPreset);
    connect(load, &QPushButton::clicked, this, &PlanPanel::loadPreset);
    connect(save, &QPushButton::clicked, this, &PlanPanel::savePresetAs);
    connect(browse_, &QPushButton::clicked, this, &PlanPanel::browseCalibration);
    connect(method_, &QComboBox::currentIndexChanged, this, [this, changed] {
        if (updating_) return;
        const bool structured = method_catalog()[static_cast<size_t>(method_->currentIndex())].structured;
        if (structured) selectText(pattern_, "structured");
        else if (pattern_->currentText() == "structured") selectText(pattern_, "unstructured");
        changed();
    });
    connect(pattern_, &QComboBox::currentTextChanged, this, changed);
    connect(sparsity_, &QDoubleSpinBox::valueChanged, this, changed);
    connect(allocation_, &QComboBox::currentIndexChanged, this, changed);
    connect(link_, &QCheckBox::toggled, this, [this](bool on) {
        if (on) ratioMoved(language_);
    });
    connect(calibrationData_, &QComboBox::currentTextChanged, this, changed);
    connect(samples_, &QSpinBox::valueChanged, this, changed);
    connect(device_, &QComboBox::currentIndexChanged, this, changed);
    connect(dtype_, &QComboBox::currentIndexChanged, this, changed);
    connect(seed_, &QSpinBox::valueChanged, this, changed);
    connect(task_, &QComboBox::currentIndexChanged, this, [this, changed] {
        fillMetrics();
        changed();
    });
    connect(metric_, &QComboBox::currentTextChanged, this, changed);
}

void PlanPanel::fillMetrics() {
    const QSignalBlocker b(metric_);
    const QString chosen = metric_->currentText();
    std::string task = task_->currentData().toString().toStdString();
    if (task.empty()) task = map_ && map_->capabilities.generative() ? "open" : "zero-shot";
    metric_->clear();
    metric_->addItem(QString());  // the task's headline
    for (const std::string& m : EvaluationOptions::metrics_of(task)) metric_->addItem(QString::fromStdString(m));
    metric_->setCurrentText(chosen);
}

QSlider* PlanPanel::ratioSlider(const QString& modality) const {
    if (modality == "vision") return vision_;
    if (modality == "projector") return projector_;
    if (modality == "language") return language_;
    return nullptr;
}

void PlanPanel::addPreset(const QString& name, const Plan& plan) {
    preset_->addItem(name);
    presets_.append(plan);
    presetNames_.append(name);
}

void PlanPanel::setModel(std::shared_ptr<const ModelMap> map) {
    map_ = std::move(map);
    {  // only the tasks of the model's kind
        const bool generative = map_ && map_->capabilities.generative();
        auto* items = qobject_cast<QStandardItemModel*>(task_->model());
        for (int i = 1; i < task_->count(); ++i)
            items->item(i)->setEnabled((task_->itemData(i).toString() == "zero-shot") != generative);
        if (!items->item(task_->currentIndex())->isEnabled()) task_->setCurrentIndex(0);
        fillMetrics();
    }
    const bool wasModified = modified_;
    showDerivedTarget();
    // A preset's derived target follows the model: still as applied, it is re-read on this one.
    if (presetIndex_ > 0 && !wasModified) presetContent_ = content();
    markPreset();
}

Plan PlanPanel::plan() const {
    Plan p = base_;
    p.method = method_->currentData().toString().toStdString();
    p.pattern = pattern_->currentText().trimmed().toStdString();
    p.sparsity = sparsity_->value();
    p.allocation.kind = allocation_->currentData().toString().toStdString();
    p.allocation.modality.clear();
    if (p.allocation.kind == "modality") {
        p.allocation.modality["vision"] = vision_->value() / 100.0;
        p.allocation.modality["language"] = language_->value() / 100.0;
        if (projector_->value() > 0) p.allocation.modality["projector"] = projector_->value() / 100.0;
        // The sliders set the target: their split's overall sparsity on the open model.
        if (map_) {
            try {
                p.sparsity = overall_sparsity(allocate(p, *map_), *map_);
            } catch (const std::exception&) {  // a Plan that cannot be allocated keeps the box's value; the run says why
            }
        }
    }
    p.calibration.data = calibrationData_->currentText().trimmed().toStdString();
    p.calibration.samples = samples_->value();
    p.device = device_->currentData().toString().toStdString();
    p.dtype = dtype_->currentData().toString().toStdString();
    p.seed = static_cast<uint64_t>(seed_->value());
    p.evaluation.task = task_->currentData().toString().toStdString();
    p.evaluation.metric = metric_->currentText().trimmed().toStdString();
    if (presetIndex_ > 0) p.name = (presetNames_[presetIndex_ - 1] + (modified_ ? tr(" (modified)") : QString())).toStdString();
    return p;
}

nlohmann::json PlanPanel::content() const {
    Plan p = plan();
    p.name.clear();
    p.model.clear();
    return p.to_json();
}

void PlanPanel::setPlan(const Plan& plan) {
    updating_ = true;
    base_ = plan;
    // A Plan named after neither the preset in use nor its modified form is no longer that preset.
    if (presetIndex_ > 0) {
        const QString name = QString::fromStdString(plan.name), preset = presetNames_[presetIndex_ - 1];
        if (name != preset && name != preset + tr(" (modified)")) {
            preset_->setItemText(presetIndex_, preset);
            presetIndex_ = 0;
            preset_->setCurrentIndex(0);
        }
    }
    selectData(method_, QString::fromStdString(plan.method));
    selectText(pattern_, QString::fromStdString(plan.pattern));
    sparsity_->setValue(plan.sparsity);
    selectData(allocation_, QString::fromStdString(plan.allocation.kind));
    const auto ratio = [&](const char* m) {
        const auto it = plan.allocation.modality.find(m);
        return static_cast<int>(std::lround(100 * (it != plan.allocation.modality.end() ? it->second : plan.sparsity)));
    };
    vision_->setValue(ratio("vision"));
    language_->setValue(ratio("language"));
    projector_->setValue(plan.allocation.modality.count("projector") ? ratio("projector") : 0);
    link_->setChecked(vision_->value() == language_->value());
    selectText(calibrationData_, QString::fromStdString(plan.calibration.data));
    samples_->setValue(static_cast<int>(plan.calibration.samples));
    selectData(device_, QString::fromStdString(plan.device));
    selectData(dtype_, QString::fromStdString(plan.dtype));
    seed_->setValue(static_cast<int>(plan.seed));
    selectData(task_, QString::fromStdString(plan.evaluation.task));
    fillMetrics();
    metric_->setCurrentText(QString::fromStdString(plan.evaluation.metric));
    showRatios();
    updating_ = false;
    edited();
}

void PlanPanel::applyPreset(int index) {
    if (index <= 0 || index > presets_.size()) return;
    Plan p = presets_[index - 1];
    if (p.model.empty()) p.model = base_.model;  // presets leave the model to the user
    p.name = presetNames_[index - 1].toStdString();
    presetIndex_ = index;
    modified_ = false;
    preset_->setCurrentIndex(index);
    snapshot_ = true;  // the preset's own content is what later edits are compared with
    setPlan(p);
}

void PlanPanel::ratioMoved(QSlider* moved) {
    if (link_->isChecked() && !updating_) {
        const bool was = updating_;
        updating_ = true;
        for (QSlider* s : {vision_, projector_, language_})
            if (s != moved && !(s == projector_ && projector_->value() == 0)) s->setValue(moved->value());
        updating_ = was;
    }
    showRatios();
    if (!updating_) edited();
}

void PlanPanel::showRatios() {
    for (auto [slider, label] : {std::pair{vision_, visionValue_}, std::pair{projector_, projectorValue_},
                                 std::pair{language_, languageValue_}})
        label->setText(QString("%1 %").arg(slider->value()));
}

void PlanPanel::edited() {
    updateEnabled();
    showDerivedTarget();
    markPreset();
    Q_EMIT planChanged();
}

void PlanPanel::updateEnabled() {
    const bool perModality = allocation_->currentData().toString() == "modality";
    for (QWidget* w : std::initializer_list<QWidget*>{vision_, projector_, language_, link_}) w->setEnabled(perModality);
    const bool structured = method_->currentIndex() >= 0 &&
                            method_catalog()[static_cast<size_t>(method_->currentIndex())].structured;
    pattern_->setEnabled(!structured);
}

void PlanPanel::showDerivedTarget() {
    const bool derived = allocation_->currentData().toString() == "modality";
    sparsity_->setEnabled(!derived);
    if (!derived) {
        sparsity_->setToolTip(tr("The fraction of the targeted weights set to zero, 0–0.99. Width: of the heads and MLP "
                                 "channels of each block; depth: of each tower's blocks."));
        return;
    }
    if (!map_) {
        sparsity_->setToolTip(tr("Set by the per-modality sliders: open a model to see their overall target"));
        return;
    }
    const double overall = plan().sparsity;
    const QSignalBlocker block(sparsity_);
    sparsity_->setValue(overall);
    sparsity_->setToolTip(tr("Set by the per-modality sliders: their split's overall target on this model, %1 of the "
                             "targeted weights (each modality's ratio weighted by its parameters)")
                              .arg(QString::number(overall, 'f', 4)));
}

void PlanPanel::markPreset() {
    if (presetIndex_ <= 0) return;
    if (snapshot_) {  // just applied: this content is the preset's own
        presetContent_ = content();
        snapshot_ = false;
    }
    modified_ = content() != presetContent_;
    preset_->setItemText(presetIndex_, presetNames_[presetIndex_ - 1] + (modified_ ? tr(" (modified)") : QString()));
}

QStringList PlanPanel::calibrationFolders() const {
    QStringList out;
    for (int i = 0; i < calibrationData_->count(); ++i)
        if (calibrationData_->itemText(i) != "fashion-mnist") out << calibrationData_->itemText(i);
    return out;
}

void PlanPanel::setCalibrationFolders(const QStringList& folders) {
    for (const QString& f : folders)
        if (calibrationData_->findText(f) < 0) calibrationData_->addItem(f, f);
}

void PlanPanel::browseCalibration() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Calibration data: a folder with images and captions.jsonl"),
                                                          QDir::homePath());
    if (!dir.isEmpty()) selectText(calibrationData_, dir);
}

void PlanPanel::loadPreset() {
    const QString file = QFileDialog::getOpenFileName(this, tr("Load Plan"), QDir::homePath(), tr("Plans (*.json)"));
    if (file.isEmpty()) return;
    try {
        const Plan p = Plan::load(file.toStdString());
        addPreset(QString::fromStdString(p.name.empty() ? QFileInfo(file).completeBaseName().toStdString() : p.name), p);
        applyPreset(preset_->count() - 1);
    } catch (const std::exception& e) {
        Q_EMIT presetError(QString::fromUtf8(e.what()));
    }
}

void PlanPanel::savePresetAs() {
    const QString file = QFileDialog::getSaveFileName(this, tr("Save Plan"), QDir::homePath() + "/plan.json", tr("Plans (*.json)"));
    if (file.isEmpty()) return;
    try {
        plan().save(file.toStdString());
    } catch (const std::exception& e) {
        Q_EMIT presetError(QString::fromUtf8(e.what()));
    }
}

}  // namespace ps
