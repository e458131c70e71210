#include "ui/recovery_view.h"

#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>
#include <exception>
#include <qcustomplot.h>

#include "core/eval/evaluation_options.h"
#include "core/io/json_util.h"
#include "core/job/recover_run.h"
#include "ui/chart_style.h"
#include "ui/job_controller.h"

namespace ps {
namespace {

QString stateFileOf(const QString& out) { return out + ".state"; }

}  // namespace

RecoveryView::RecoveryView(JobController* jobs, QWidget* parent)
    : QWidget(parent),
      jobs_(jobs),
      source_(new QComboBox(this)),
      mode_(new QComboBox(this)),
      dataPercent_(new QDoubleSpinBox(this)),
      batch_(new QSpinBox(this)),
      maxSteps_(new QSpinBox(this)),
      lr_(new QDoubleSpinBox(this)),
      kl_(new QDoubleSpinBox(this)),
      hidden_(new QDoubleSpinBox(this)),
      evalEvery_(new QSpinBox(this)),
      start_(new QPushButton(tr("Start…"), this)),
      cancel_(new QPushButton(tr("Cancel"), this)),
      resume_(new QPushButton(tr("Resume"), this)),
      status_(new QLabel(this)),
      plot_(new QCustomPlot(this)),
      numbers_(new QTableWidget(this)) {
    chooseOutput = [this](const QString& proposal) {
        return QFileDialog::getSaveFileName(this, tr("Recover into a new folder"), proposal, QString(), nullptr,
                                            QFileDialog::ShowDirsOnly);
    };
    source_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    source_->setMinimumContentsLength(14);
    source_->setToolTip(tr("The pruned run whose mask the recovery keeps, or the Plan pruned in memory first"));
    mode_->addItem(tr("SparseLoRA (masked LoRA)"), "sparselora");
    mode_->addItem(tr("LoRA (unmasked)"), "lora");
    mode_->addItem(tr("full finetuning, mask fixed"), "full");
    mode_->addItem(tr("projector only"), "projector");
    dataPercent_->setRange(0.1, 100);
    dataPercent_->setDecimals(1);
    dataPercent_->setSuffix(" %");
    dataPercent_->setToolTip(tr("Fraction of the training data the recovery sees"));
    batch_->setRange(1, 4096);
    maxSteps_->setRange(-1, 1000000);
    maxSteps_->setSpecialValueText(tr("whole schedule"));
    lr_->setDecimals(5);
    lr_->setRange(1e-6, 1);
    lr_->setSingleStep(1e-4);
    kl_->setRange(0, 100);
    kl_->setSingleStep(0.1);
    kl_->setToolTip(tr("Weight of KL(dense ‖ student) of the logits"));
    hidden_->setRange(0, 100);
    hidden_->setSingleStep(0.1);
    hidden_->setToolTip(tr("Weight of the hidden-state MSE to the dense model"));
    evalEvery_->setRange(0, 100000);
    evalEvery_->setSpecialValueText(tr("at the end"));
    evalEvery_->setToolTip(tr("Score zero-shot accuracy every k steps"));

    // Settings in a compact grid above the plot, so the curves get the tab's whole width.
    auto* grid = new QGridLayout;
    const auto field = [&](int row, int col, const QString& label, QWidget* w, int span = 1) {
        grid->addWidget(new QLabel(label, this), row, 2 * col);
        grid->addWidget(w, row, 2 * col + 1, 1, 2 * span - 1);
    };
    field(0, 0, tr("Source"), source_, 2);
    field(0, 2, tr("Student"), mode_);
    field(1, 0, tr("Data"), dataPercent_);
    field(1, 1, tr("Batch size"), batch_);
    field(1, 2, tr("Steps"), maxSteps_);
    field(2, 0, tr("Learning rate"), lr_);
    field(2, 1, tr("KL weight"), kl_);
    field(2, 2, tr("Hidden weight"), hidden_);
    field(3, 0, tr("Evaluate every"), evalEvery_);
    for (int c : {1, 3, 5}) grid->setColumnStretch(c, 1);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(start_);
    buttons->addWidget(cancel_);
    buttons->addWidget(resume_);
    grid->addLayout(buttons, 3, 2, 1, 4);
    start_->setToolTip(tr("Train into a new folder; the run keeps a state file beside it so it can resume"));
    resume_->setToolTip(tr("Continue the last cancelled run from its state file"));
    status_->setWordWrap(true);

    plot_->setAntialiasedElements(QCP::aeAll);
    legendBelow(plot_);
    plot_->xAxis->setLabel(tr("optimiser step"));
    plot_->yAxis->setLabel(tr("loss"));
    plot_->yAxis2->setLabel(tr("zero-shot top-1 (%)"));
    plot_->yAxis2->setVisible(true);
    plot_->yAxis2->setRange(0, 100);
    for (QCPAxis* a : {plot_->xAxis, plot_->yAxis}) a->grid()->setPen(QPen(QColor(0xdd, 0xdd, 0xdd), 0, Qt::SolidLine));
    const QString names[] = {tr("loss"), tr("task"), tr("KL"), tr("hidden"), tr("zero-shot top-1")};
    for (int c = Total; c <= Eval; ++c) {
        QCPGraph* g = plot_->addGraph(plot_->xAxis, c == Eval ? plot_->yAxis2 : plot_->yAxis);
        g->setName(names[c]);
        g->setPen(QPen(chartColor(c), c == Total || c == Eval ? 2.5 : 1.5, c == Eval ? Qt::DashLine : Qt::SolidLine));
        if (c == Eval) g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, chartColor(c), chartColor(c), 7));
    }

    numbers_->setColumnCount(2);
    numbers_->setHorizontalHeaderLabels({tr("measure"), tr("value")});
    numbers_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    numbers_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    numbers_->verticalHeader()->setVisible(false);
    numbers_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    numbers_->setMaximumHeight(200);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(grid);
    layout->addWidget(status_);
    layout->addWidget(plot_, 1);
    layout->addWidget(numbers_);

    connect(mode_, &QComboBox::currentIndexChanged, this, &RecoveryView::recoveryEdited);
    for (QDoubleSpinBox* s : {dataPercent_, lr_, kl_, hidden_}) connect(s, &QDoubleSpinBox::valueChanged, this, &RecoveryView::recoveryEdited);
    for (QSpinBox* s : {batch_, maxSteps_, evalEvery_}) connect(s, &QSpinBox::valueChanged, this, &RecoveryView::recoveryEdited);
    connect(start_, &QPushButton::clicked, this, &RecoveryView::start);
    connect(cancel_, &QPushButton::clicked, jobs_, &JobController::cancel);
    connect(resume_, &QPushButton::clicked, this, &RecoveryView::resume);
    connect(jobs_, &JobController::runningChanged, this, [this](bool running) {
        if (!running) ours_ = false;
        updateButtons();
    });
    const auto stopped = [this](const QString& why) {
        if (!ours_) return;
        const bool resumable = QFileInfo::exists(stateFileOf(lastOut_));
        status_->setText(resumable ? tr("%1. Resume continues from the last saved step.").arg(why)
                                   : tr("%1 before the first saved step; Start begins again.").arg(why));
    };
    connect(jobs_, &JobController::cancelled, this, [stopped] { stopped(tr("Cancelled")); });
    connect(jobs_, &JobController::failed, this, [stopped](const QString&, const QString& m) { stopped(tr("Failed: %1").arg(m)); });
    setPlan(Plan{});
    setRuns({});
    updateButtons();
    status_->setText(tr("Prune a run (Ctrl+R), choose it as the source, then Start."));
}

void RecoveryView::setRuns(const QStringList& runs) {
    const QString chosen = source();
    const QSignalBlocker block(source_);
    source_->clear();
    source_->addItem(tr("prune by the Plan first (in memory)"), QString());
    QString newestRecovered;
    for (const QString& r : runs) {
        if (!QFileInfo::exists(r + "/masks.safetensors")) continue;  // structured runs have no mask to keep
        source_->addItem(QDir::toNativeSeparators(r), r);
        try {
            if (read_json_file((r + "/result.json").toStdString()).contains("recovery")) newestRecovered = r;
        } catch (const std::exception&) {
        }
    }
    setSource(chosen.isEmpty() && source_->count() > 1 ? source_->itemData(source_->count() - 1).toString() : chosen);
    if (!newestRecovered.isEmpty() && !jobs_->isRunning() && stepCount() == 0) {
        try {
            showResult(newestRecovered, read_json_file((newestRecovered + "/result.json").toStdString()));
        } catch (const std::exception& e) {
            status_->setText(QString::fromUtf8(e.what()));
        }
    }
}

void RecoveryView::setSource(const QString& run) {
    const int i = source_->findData(run);
    source_->setCurrentIndex(i >= 0 ? i : 0);
}

QString RecoveryView::source() const { return source_->currentData().toString(); }

void RecoveryView::setPlan(const Plan& plan) {
    const RecoveryOptions& r = plan.recovery;
    shown_ = r;
    const QSignalBlocker b0(mode_), b1(dataPercent_), b2(batch_), b3(maxSteps_), b4(lr_), b5(kl_), b6(hidden_), b7(evalEvery_);
    mode_->setCurrentIndex(std::max(0, mode_->findData(QString::fromStdString(r.mode))));
    dataPercent_->setValue(100 * r.data_fraction);
    batch_->setValue(static_cast<int>(r.batch_size));
    maxSteps_->setValue(static_cast<int>(std::min<int64_t>(r.max_steps, 1000000)));
    lr_->setValue(r.lr);
    kl_->setValue(r.kl);
    hidden_->setValue(r.hidden);
    evalEvery_->setValue(static_cast<int>(r.eval_every));
}

RecoveryOptions RecoveryView::recovery() const {
    RecoveryOptions r = shown_;
    r.mode = mode_->currentData().toString().toStdString();
    r.data_fraction = dataPercent_->value() / 100;
    r.batch_size = batch_->value();
    r.max_steps = maxSteps_->value();
    r.lr = lr_->value();
    r.kl = kl_->value();
    r.hidden = hidden_->value();
    r.eval_every = evalEvery_->value();
    return r;
}

QList<QPointF> RecoveryView::curve(Curve c) const {
    QList<QPointF> points;
    for (auto it = plot_->graph(c)->data()->constBegin(); it != plot_->graph(c)->data()->constEnd(); ++it) points.append({it->key, it->value});
    return points;
}

int RecoveryView::stepCount() const { return plot_->graph(Total)->dataCount(); }

void RecoveryView::start() {
    if (!currentPlan) return;
    const Plan plan = currentPlan();
    const QString from = source().isEmpty() ? QString::fromStdString(plan.model) : source();
    if (from.isEmpty()) {
        status_->setText(tr("Open a checkpoint folder first (Ctrl+O)."));
        return;
    }
    const QFileInfo base(QDir::cleanPath(from));
    QString proposal = base.dir().filePath(base.fileName() + "-recovered");
    for (int i = 2; QFileInfo::exists(proposal); ++i) proposal = base.dir().filePath(QString("%1-recovered-%2").arg(base.fileName()).arg(i));
    const QString out = chooseOutput ? chooseOutput(proposal) : QString();
    if (!out.isEmpty()) startInto(out);
}

bool RecoveryView::startInto(const QString& out) {
    if (!currentPlan || jobs_->isRunning()) return false;
    Plan plan = currentPlan();
    if (plan.model.empty()) return false;
    plan.recovery = recovery();
    plan.recovery.pruned = source().toStdString();
    QFile::remove(stateFileOf(out));  // a new run starts from step 0
    clearCurves();
    return launch(plan, out);
}

bool RecoveryView::resume() {
    if (jobs_->isRunning()) return false;
    if (!lastPlan_ || !QFileInfo::exists(stateFileOf(lastOut_))) {
        status_->setText(tr("Nothing to resume: no recovery run of this session stopped early."));
        return false;
    }
    return launch(*lastPlan_, lastOut_);
}

bool RecoveryView::launch(const Plan& plan, const QString& out) {
    const std::string outDir = out.toStdString(), state = stateFileOf(out).toStdString();
    const QString title = tr("Recover %1 (%2)").arg(QFileInfo(out).fileName(), QString::fromStdString(plan.recovery.mode));
    const bool ok = jobs_->start(title, [this, plan, outDir, state, out](const JobControl& job) -> JobController::Deliver {
        const RecoverRunSummary s = run_recover(plan, outDir, state, job, [this](const RecoveryStepLog& step, std::optional<double> top1) {
            // From the worker thread; dropped if the tab is gone by then.
            QMetaObject::invokeMethod(this, [this, step, top1] { addStep(step, top1); }, Qt::QueuedConnection);
        });
        const nlohmann::json result = s.result;
        const QString text = QString::fromStdString(s.text);
        return [this, out, result, text] {
            QFile::remove(stateFileOf(out));  // finished: nothing left to resume
            showResult(out, result);
            Q_EMIT recovered(out, text);
        };
    });
    if (ok) {
        lastPlan_ = plan;
        lastOut_ = out;
        ours_ = true;
        status_->setText(tr("Training into %1…").arg(QDir::toNativeSeparators(out)));
        updateButtons();
    }
    return ok;
}

void RecoveryView::clearCurves() {
    for (int c = Total; c <= Eval; ++c) plot_->graph(c)->data()->clear();
    numbers_->setRowCount(0);
    plot_->replot();
}

void RecoveryView::addStep(const RecoveryStepLog& s, std::optional<double> top1) {
    const double x = static_cast<double>(s.step);
    // A resumed run repeats the steps after its last saved state: they replace the old points.
    for (int c = Total; c <= Eval; ++c) plot_->graph(c)->data()->removeAfter(x - 0.5);
    plot_->graph(Total)->addData(x, s.loss);
    plot_->graph(Task)->addData(x, s.task);
    plot_->graph(Kl)->addData(x, s.kl);
    plot_->graph(Hidden)->addData(x, s.hidden);
    if (top1) plot_->graph(Eval)->addData(x, *top1);
    // The hidden-state curve only for runs that distil hidden states
    QCPGraph* hidden = plot_->graph(Hidden);
    hidden->setVisible(s.hidden != 0);
    if (s.hidden != 0) hidden->addToLegend();
    else hidden->removeFromLegend();
    bool found = false;
    const QCPRange y = plot_->graph(Total)->data()->valueRange(found);
    plot_->xAxis->setRange(0, std::max(2.0, x + 1));
    if (found) plot_->yAxis->setRange(0, y.upper * 1.1);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void RecoveryView::showResult(const QString& out, const nlohmann::json& result) {
    const nlohmann::json& training = result.at("recovery");
    if (stepCount() == 0) {  // a finished run opened from a project: its logged steps
        std::map<int64_t, double> evals;
        for (const auto& e : training.value("evals", nlohmann::json::array())) evals[e.at("step")] = e.at("zero_shot_top1");
        for (const auto& l : training.value("log", nlohmann::json::array())) {
            RecoveryStepLog s;
            s.step = l.at("step");
            s.loss = l.at("loss");
            s.task = l.at("task");
            s.kl = l.at("kl");
            s.hidden = l.at("hidden");
            auto e = evals.find(s.step);
            addStep(s, e == evals.end() ? std::nullopt : std::optional<double>(e->second));
        }
    }
    std::vector<std::pair<QString, QString>> rows;
    // A dual encoder's zero-shot top-1, or a generative run's evaluation task metric.
    const bool task = result.contains("task_metric");
    const nlohmann::json acc = result.value(task ? "task_metric" : "zero_shot_top1", nlohmann::json::object());
    const QString score = task ? QString::fromStdString(acc.value("task", "") + " " + acc.value("metric", "")) : tr("zero-shot top-1");
    const bool percent = !task || !metric_lower_is_better(acc.value("metric", ""));
    const auto value = [&](double v) { return percent ? QString("%1 %").arg(v, 0, 'f', 2) : QString::number(v, 'f', 4); };
    for (const auto& [key, label] : {std::pair{"dense", tr("dense")}, std::pair{"pruned", tr("pruned")}, std::pair{"recovered", tr("recovered")},
                                     std::pair{"repruned", tr("merged and pruned again")}})
        if (acc.contains(key)) rows.emplace_back(tr("%1, %2").arg(score, label), value(acc[key].get<double>()));
    if (acc.contains("pruned") && acc.contains("recovered"))
        rows.emplace_back(tr("recovered − pruned"), percent ? QString("%1 points").arg(acc["recovered"].get<double>() - acc["pruned"].get<double>(), 0, 'f', 2)
                                                           : QString::number(acc["recovered"].get<double>() - acc["pruned"].get<double>(), 'f', 4));
    const nlohmann::json masked = result.value("masked_linears", nlohmann::json::object());
    if (masked.contains("sparsity_pruned"))
        rows.emplace_back(tr("sparsity of the masked Linears, pruned → exported"),
                          QString("%1 % → %2 %").arg(100 * masked["sparsity_pruned"].get<double>(), 0, 'f', 2)
                              .arg(100 * masked["sparsity_merged"].get<double>(), 0, 'f', 2));
    rows.emplace_back(tr("student"), tr("%1, %2 trainable parameters")
                                         .arg(QString::fromStdString(training.value("mode", "")))
                                         .arg(QLocale().toString(training.value("trainable_params", qint64(0)))));
    rows.emplace_back(tr("steps"), tr("%1–%2 of %3 (%4 examples), %5 s")
                                       .arg(training.value("first_step", qint64(0)))
                                       .arg(training.value("steps", qint64(0)))
                                       .arg(training.value("total_steps", qint64(0)))
                                       .arg(training.value("examples", qint64(0)))
                                       .arg(training.value("seconds", 0.0), 0, 'f', 1));
    if (result.contains("memory"))
        rows.emplace_back(tr("peak memory growth while training"),
                          QString("%1 MiB").arg(result["memory"].value("peak_growth_bytes", qint64(0)) / 1048576.0, 0, 'f', 1));
    numbers_->setRowCount(static_cast<int>(rows.size()));
    for (int i = 0; i < static_cast<int>(rows.size()); ++i) {
        numbers_->setItem(i, 0, new QTableWidgetItem(rows[i].first));
        auto* v = new QTableWidgetItem(rows[i].second);
        v->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        numbers_->setItem(i, 1, v);
    }
    status_->setText(tr("Recovered into %1.").arg(QDir::toNativeSeparators(out)));
}

void RecoveryView::updateButtons() {
    const bool running = jobs_->isRunning();
    start_->setEnabled(!running);
    cancel_->setEnabled(running && ours_);
    resume_->setEnabled(!running && lastPlan_ && QFileInfo::exists(stateFileOf(lastOut_)));
}

}  // namespace ps
