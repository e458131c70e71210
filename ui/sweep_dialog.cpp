#include "ui/sweep_dialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QVBoxLayout>
#include <cmath>
#include <exception>

#include "core/prune/catalog.h"

namespace ps {
namespace {

QCheckBox* checkable(QWidget* parent, QList<QCheckBox*>& boxes, const QString& text, const QString& id, bool checked) {
    auto* box = new QCheckBox(text, parent);
    box->setObjectName(id);
    box->setChecked(checked);
    boxes.append(box);
    return box;
}

std::vector<std::string> checkedIds(const QList<QCheckBox*>& boxes) {
    std::vector<std::string> out;
    for (const QCheckBox* b : boxes)
        if (b->isChecked()) out.push_back(b->objectName().toStdString());
    return out;
}

QCheckBox* byId(const QList<QCheckBox*>& boxes, const QString& id) {
    for (QCheckBox* b : boxes)
        if (b->objectName() == id) return b;
    return nullptr;
}

QString duration(double seconds) {
    if (seconds < 90) return QObject::tr("%1 s").arg(std::ceil(seconds));
    if (seconds < 5400) return QObject::tr("%1 min").arg(std::ceil(seconds / 60));
    return QObject::tr("%1 h").arg(seconds / 3600, 0, 'f', 1);
}

}  // namespace

SweepDialog::SweepDialog(const Plan& base, const Timings& timings, QWidget* parent)
    : QDialog(parent),
      base_(base),
      timings_(timings),
      sparsities_(new QLineEdit("0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9", this)),
      images_(new QSpinBox(this)),
      keepSplit_(new QCheckBox(this)),
      summary_(new QLabel(this)),
      buttons_(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this)) {
    setWindowTitle(tr("Sweep methods × sparsities"));
    setMinimumWidth(620);
    auto* methods = new QGridLayout;  // two columns of methods
    for (const CatalogEntry& m : method_catalog())
        if (!m.structured) {
            const bool usual = m.id == "magnitude" || m.id == "wanda" || m.id == "sparsegpt";
            QCheckBox* box = checkable(this, methods_, QString::fromStdString(m.display), QString::fromStdString(m.id), usual);
            box->setToolTip(QString::fromStdString(m.description));
            methods->addWidget(box, (methods_.size() - 1) / 2, (methods_.size() - 1) % 2);
        }
    auto* patterns = new QVBoxLayout;
    patterns->addWidget(checkable(this, patterns_, tr("unstructured, at every sparsity below"), "unstructured", true));
    patterns->addWidget(checkable(this, patterns_, tr("2:4, one point per method (50 %)"), "2:4", false));
    patterns->addWidget(checkable(this, patterns_, tr("4:8, one point per method (50 %)"), "4:8", false));
    if (base_.allocation.kind == "modality") {
        QStringList ratios;
        for (const auto& [m, r] : base_.allocation.modality) ratios << QString("%1 %2 %").arg(QString::fromStdString(m)).arg(100 * r, 0, 'f', 0);
        keepSplit_->setText(tr("Keep the Plan's split (%1), scaled to each target").arg(ratios.join(", ")));
        keepSplit_->setChecked(true);
    } else {
        keepSplit_->setText(tr("The Plan's %1 allocation at each target").arg(QString::fromStdString(base_.allocation.kind)));
        keepSplit_->setChecked(true);
        keepSplit_->setEnabled(false);
    }
    keepSplit_->setToolTip(tr("Checked: each point keeps the Plan's allocation (a per-modality split keeps its proportions, "
                              "which a high target can push past 100 %); unchecked: every Linear gets the target"));
    sparsities_->setToolTip(tr("Target sparsities of the unstructured points, each in [0, 1), separated by spaces or commas"));
    images_->setRange(100, 10000);
    images_->setSingleStep(100);
    images_->setValue(1000);
    images_->setToolTip(tr("Fashion-MNIST test images each point is scored on (a seeded subset; 10 000 is all)"));
    summary_->setWordWrap(true);

    auto* form = new QFormLayout;
    form->addRow(tr("Methods"), methods);
    form->addRow(tr("Patterns"), patterns);
    form->addRow(tr("Sparsities"), sparsities_);
    form->addRow(tr("Test images per point"), images_);
    form->addRow(tr("Allocation"), keepSplit_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(summary_);
    layout->addWidget(buttons_);
    connect(buttons_, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
    for (QCheckBox* b : methods_ + patterns_) connect(b, &QCheckBox::toggled, this, &SweepDialog::revalidate);
    connect(sparsities_, &QLineEdit::textChanged, this, &SweepDialog::revalidate);
    connect(images_, &QSpinBox::valueChanged, this, &SweepDialog::revalidate);
    connect(keepSplit_, &QCheckBox::toggled, this, &SweepDialog::revalidate);
    revalidate();
}

QCheckBox* SweepDialog::methodBox(const QString& id) const { return byId(methods_, id); }
QCheckBox* SweepDialog::patternBox(const QString& id) const { return byId(patterns_, id); }

SweepSpec SweepDialog::spec() const {
    SweepSpec spec;
    spec.methods = checkedIds(methods_);
    spec.patterns = checkedIds(patterns_);
    for (const QString& s : sparsities_->text().split(QRegularExpression("[\\s,]+"), Qt::SkipEmptyParts)) spec.sparsities.push_back(s.toDouble());
    spec.eval_limit = images_->value();
    return spec;
}

Plan SweepDialog::base() const {
    Plan p = base_;
    if (!keepSplit_->isChecked()) p.allocation = AllocationOptions{};
    return p;
}

void SweepDialog::revalidate() {
    error_.clear();
    const SweepSpec s = spec();
    bool unstructured = false;
    for (const std::string& p : s.patterns) unstructured = unstructured || p == "unstructured";
    for (const QString& t : sparsities_->text().split(QRegularExpression("[\\s,]+"), Qt::SkipEmptyParts)) {
        bool ok = false;
        const double v = t.toDouble(&ok);
        if (!ok || !(v >= 0 && v < 1)) error_ = tr("Sparsity \"%1\" is not a number in [0, 1).").arg(t);
    }
    if (s.methods.empty()) error_ = tr("Choose at least one method.");
    else if (s.patterns.empty()) error_ = tr("Choose at least one pattern.");
    else if (unstructured && s.sparsities.empty() && error_.isEmpty()) error_ = tr("Give at least one sparsity.");
    if (error_.isEmpty()) {
        try {  // every point's Plan, as the sweep will make them
            sweep_plans(base(), s);
        } catch (const std::exception& e) {
            error_ = QString::fromUtf8(e.what());
            if (keepSplit_->isChecked() && base_.allocation.kind == "modality")
                error_ += tr(" — lower the sparsities, or uncheck the Plan's split to give every Linear the target");
        }
    }
    buttons_->button(QDialogButtonBox::Ok)->setEnabled(error_.isEmpty());
    summary_->setText(error_.isEmpty() ? estimate() : QString("<span style='color:#a02020'>%1</span>").arg(error_));
}

QString SweepDialog::estimate() const {
    const SweepSpec s = spec();
    int points = 0;
    double seconds = 0;
    QStringList untimed;
    for (const std::string& m : s.methods) {
        int perMethod = 0;
        for (const std::string& p : s.patterns) perMethod += p == "unstructured" ? static_cast<int>(s.sparsities.size()) : 1;
        points += perMethod;
        const auto t = timings_.prune_seconds.find(m);
        if (t == timings_.prune_seconds.end()) untimed << QString::fromStdString(m);
        else seconds += perMethod * t->second;
    }
    const double scoring = timings_.seconds_per_image * static_cast<double>(s.eval_limit) * (points + 1);  // and the dense point
    QString text = tr("%1 points and the dense model, each scored on %2 test images.").arg(points).arg(s.eval_limit);
    if (timings_.seconds_per_image < 0) return text + " " + tr("No time estimate yet: prune once to measure what a point costs.");
    text += " " + tr("About %1 on this machine").arg(duration(seconds + scoring));
    if (!untimed.isEmpty()) text += " " + tr("plus the %1 points, not timed yet (no run of them on this checkpoint)").arg(untimed.join(", "));
    return text + " " + tr("(points already in the folder's cache are free).");
}

}  // namespace ps
