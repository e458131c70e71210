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
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>
#include <exception>

#include "core/error.h"
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
      samples_(new QSpinBox(this)),
      device_(new QComboBox(this)),
      dtype_(new QComboBox(this)),
      seed_(new QSpinBox(this)) {
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
    for (const auto& [name, plan] : builtInPresets()) addPreset(name, plan);

    for (const CatalogEntry& m : method_catalog()) {
        method_->addItem(QString::fromStdString(m.display), QString::fromStdString(m.id));
        method_->setItemData(method_->count() - 1, QString::fromStdString(m.description), Qt::ToolTipRole);
    }
    pattern_->setEditable(true);  // any N:M with N < M
    pattern_->addItems({"unstructured", "2:4", "4:8", "structured"});
    pattern_->setToolTip(tr("unstructured, N:M (N zeros in every M consecutive inputs), or structured (width, depth, joint)"));
    sparsity_->setRange(0.0, 0.99);
    sparsity_->setSingleStep(0.05);
    sparsity_->setDecimals(2);
    for (const CatalogEntry& a : allocation_catalog()) {
        allocation_->addItem(QString::fromStdString(a.display), QString::fromStdString(a.id));
        allocation_->setItemData(allocation_->count() - 1, QString::fromStdString(a.description), Qt::ToolTipRole);
    }

    auto* what = new QGroupBox(tr("Pruning"), this);
    auto* form = new QFormLayout(what);
    form->addRow(tr("Method"), method_);
    form->addRow(tr("Pattern"), pattern_);
    form->addRow(tr("Target sparsity"), sparsity_);
    form->addRow(tr("Allocation"), allocation_);

    auto* ratios = new QGroupBox(tr("Per modality (allocation \"Per modality\")"), this);
    auto* grid = new QFormLayout(ratios);
    for (auto [slider, label, name] : {std::tuple{vision_, visionValue_, tr("Vision")},
                                       std::tuple{projector_, projectorValue_, tr("Projector")},
                                       std::tuple{language_, languageValue_, tr("Language")}}) {
        slider->setRange(0, 99);
        label->setMinimumWidth(40);
        auto* row = new QHBoxLayout;
        row->addWidget(slider, 1);
        row->addWidget(label);
        grid->addRow(name, row);
        connect(slider, &QSlider::valueChanged, this, [this, slider = slider] { ratioMoved(slider); });
    }
    grid->addRow(QString(), link_);

    auto* run = new QGroupBox(tr("Calibration and run"), this);
    auto* runForm = new QFormLayout(run);
    calibrationData_->setEditable(true);
    calibrationData_->addItem("fashion-mnist", "fashion-mnist");
    calibrationData_->setToolTip(tr("fashion-mnist, or a folder with images and captions.jsonl"));
    samples_->setRange(1, 100000);
    device_->addItem("cpu", "cpu");
    if (runtime_info().cuda_available) device_->addItem("cuda", "cuda");
    for (const char* d : {"float32", "bfloat16", "float16"}) dtype_->addItem(d, d);
    seed_->setRange(0, 1 << 30);
    runForm->addRow(tr("Calibration data"), calibrationData_);
    runForm->addRow(tr("Samples"), samples_);
    runForm->addRow(tr("Device"), device_);
    runForm->addRow(tr("Dtype"), dtype_);
    runForm->addRow(tr("Seed"), seed_);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(presets);
    layout->addWidget(what);
    layout->addWidget(ratios);
    layout->addWidget(run);
    layout->addStretch(1);

    setPlan(Plan{});
    const auto changed = [this] {
        if (updating_) return;
        updateEnabled();
        Q_EMIT planChanged();
    };
    connect(preset_, &QComboBox::activated, this, &PlanPanel::applyPreset);
    connect(load, &QPushButton::clicked, this, &PlanPanel::loadPreset);
    connect(save, &QPushButton::clicked, this, &PlanPanel::savePresetAs);
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
    }
    p.calibration.data = calibrationData_->currentText().trimmed().toStdString();
    p.calibration.samples = samples_->value();
    p.device = device_->currentData().toString().toStdString();
    p.dtype = dtype_->currentData().toString().toStdString();
    p.seed = static_cast<uint64_t>(seed_->value());
    return p;
}

void PlanPanel::setPlan(const Plan& plan) {
    updating_ = true;
    base_ = plan;
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
    showRatios();
    updating_ = false;
    updateEnabled();
    Q_EMIT planChanged();
}

void PlanPanel::applyPreset(int index) {
    if (index <= 0 || index > presets_.size()) return;
    Plan p = presets_[index - 1];
    if (p.model.empty()) p.model = base_.model;  // presets leave the model to the user
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
    if (!updating_) Q_EMIT planChanged();
}

void PlanPanel::showRatios() {
    for (auto [slider, label] : {std::pair{vision_, visionValue_}, std::pair{projector_, projectorValue_},
                                 std::pair{language_, languageValue_}})
        label->setText(QString("%1 %").arg(slider->value()));
}

void PlanPanel::updateEnabled() {
    const bool perModality = allocation_->currentData().toString() == "modality";
    for (QWidget* w : std::initializer_list<QWidget*>{vision_, projector_, language_, link_}) w->setEnabled(perModality);
    const bool structured = method_->currentIndex() >= 0 &&
                            method_catalog()[static_cast<size_t>(method_->currentIndex())].structured;
    pattern_->setEnabled(!structured);
}

void PlanPanel::loadPreset() {
    const QString file = QFileDialog::getOpenFileName(this, tr("Load Plan"), QDir::homePath(), tr("Plans (*.json)"));
    if (file.isEmpty()) return;
    try {
        Plan p = Plan::load(file.toStdString());
        if (p.model.empty()) p.model = base_.model;
        addPreset(QString::fromStdString(p.name.empty() ? QFileInfo(file).completeBaseName().toStdString() : p.name), p);
        preset_->setCurrentIndex(preset_->count() - 1);
        setPlan(p);
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
