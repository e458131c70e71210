#include "ui/compare_view.h"

#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>
#include <exception>
#include <qcustomplot.h>
#include <set>

#include "core/io/json_util.h"
#include "core/eval/evaluation_options.h"
#include "core/job/run_score.h"
#include "ui/chart_style.h"

namespace ps {
namespace {

const char* const kRunNames[] = {"A", "B"};

QString percent(double v) { return QString("%1 %").arg(v, 0, 'f', 2); }

QTableWidgetItem* cell(const QString& text, bool number) {
    auto* item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
    item->setToolTip(text);
    if (number) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

QTableWidget* makeTable(QWidget* parent, const QStringList& headers) {
    auto* t = new QTableWidget(parent);
    t->setColumnCount(static_cast<int>(headers.size()));
    t->setHorizontalHeaderLabels(headers);
    t->verticalHeader()->setVisible(false);
    t->verticalHeader()->setDefaultSectionSize(t->fontMetrics().height() + 6);
    t->setWordWrap(false);
    t->setTextElideMode(Qt::ElideLeft);  // what is cut (a long folder name) differs at its end; the tooltip has it all
    t->setAlternatingRowColors(true);
    return t;
}

// B − A as printed with `decimals`, signed; a difference that rounds to zero prints as zero,
// without a sign and without a colour. `better` is +1 where more is better (sparsity, accuracy),
// -1 where less is (a divergence), 0 for neither: green where B is better, red where worse.
QTableWidgetItem* deltaCell(double delta, int decimals, int better) {
    const double scale = std::pow(10.0, decimals);
    const double shown = std::round(delta * scale) / scale;
    auto* item = cell(shown == 0 ? QString::number(0.0, 'f', decimals) : QString("%1%2").arg(shown > 0 ? "+" : "").arg(shown, 0, 'f', decimals),
                      true);
    if (shown * better > 0) item->setBackground(QColor(200, 235, 200));
    else if (shown * better < 0) item->setBackground(QColor(245, 205, 205));
    return item;
}

// The checkpoint a run was pruned from, as its plan.json names it.
QString modelOf(const nlohmann::json& plan) {
    const QString m = QString::fromStdString(plan.value("model", std::string()));
    const QString canonical = QFileInfo(m).canonicalFilePath();
    return canonical.isEmpty() ? QDir::cleanPath(m) : canonical;
}

}  // namespace

CompareView::CompareView(QWidget* parent)
    : QWidget(parent),
      note_(new QLabel(this)),
      summary_(makeTable(this, {tr("measure"), "A", "B", tr("B − A")})),
      layers_(makeTable(this, {tr("Linear"), tr("A sparsity"), tr("B sparsity"), tr("B − A")})),
      blocks_(new QCustomPlot(this)),
      curves_(new QCustomPlot(this)) {
    auto* bar = new QHBoxLayout;
    for (int i = 0; i < 2; ++i) {
        pick_[i] = new QComboBox(this);
        pick_[i]->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        pick_[i]->setMinimumContentsLength(16);
        auto* label = new QLabel(tr("Run %1").arg(kRunNames[i]), this);
        label->setStyleSheet(QString("font-weight:bold;color:%1").arg(chartColor(i).name()));
        bar->addWidget(label);
        bar->addWidget(pick_[i], 1);
        connect(pick_[i], &QComboBox::currentIndexChanged, this,
                [this] { compare(pick_[0]->currentData().toString(), pick_[1]->currentData().toString()); });
    }
    note_->setWordWrap(true);
    note_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

    blocks_->setAntialiasedElements(QCP::aeAll);
    blocks_->plotLayout()->insertRow(0);
    blocks_->plotLayout()->addElement(
        0, 0, new QCPTextElement(blocks_, tr("Sparsity per block, A and B"), QFont(font().family(), font().pointSize() + 1, QFont::Bold)));
    auto* group = new QCPBarsGroup(blocks_);
    group->setSpacing(1);
    for (int i = 0; i < 2; ++i) {
        bars_[i] = new QCPBars(blocks_->xAxis, blocks_->yAxis);
        bars_[i]->setPen(QPen(chartColor(i).darker(130)));
        bars_[i]->setBrush(chartColor(i));
        bars_[i]->setWidth(0.38);
        bars_[i]->setBarsGroup(group);
    }
    blocks_->xAxis->setTicker(QSharedPointer<QCPAxisTickerText>::create());
    blocks_->xAxis->setSubTicks(false);
    blocks_->xAxis->grid()->setVisible(false);
    blocks_->xAxis->setLabel(tr("block"));
    blocks_->yAxis->setLabel(tr("sparsity"));
    blocks_->yAxis->setRange(0, 1);
    blocks_->yAxis->grid()->setPen(QPen(QColor(0xdd, 0xdd, 0xdd), 0, Qt::SolidLine));
    legendBelow(blocks_);

    curves_->setAntialiasedElements(QCP::aeAll);
    curves_->plotLayout()->insertRow(0);
    curves_->plotLayout()->addElement(0, 0, new QCPTextElement(curves_, QString(), QFont(font().family(), font().pointSize() + 1, QFont::Bold)));
    curves_->xAxis->setLabel(tr("optimiser step"));
    curves_->yAxis->setLabel(tr("recovery loss"));
    curves_->yAxis2->setLabel(tr("zero-shot top-1 (%)"));
    curves_->yAxis2->setVisible(true);
    curves_->yAxis2->setRange(0, 100);
    curves_->yAxis->grid()->setPen(QPen(QColor(0xdd, 0xdd, 0xdd), 0, Qt::SolidLine));
    legendBelow(curves_);

    // The summary's A and B share the width left by the measures and the difference; the per-Linear
    // table shows its names in full ("V0 attention.query": short, never cut) and scrolls instead.
    for (int c : {1, 2}) summary_->horizontalHeader()->setSectionResizeMode(c, QHeaderView::Stretch);
    layers_->horizontalHeader()->setStretchLastSection(true);
    layers_->setTextElideMode(Qt::ElideNone);
    layers_->setToolTip(tr("Green: B is sparser than A; red: B is denser"));
    // Rows the tab's full width: the summary, the per-block bars, then the per-Linear table beside
    // the training curves.
    auto* bottom = new QSplitter(Qt::Horizontal, this);
    bottom->addWidget(layers_);
    bottom->addWidget(curves_);
    bottom->setSizes({380, 250});
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(summary_);
    split->addWidget(blocks_);
    split->addWidget(bottom);
    split->setSizes({300, 220, 280});
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(note_);
    layout->addWidget(split, 1);
    setRuns({});
}

void CompareView::setModel(const ModelMap& map) {
    map_ = map;
    groups_ = blockGroups(map_);
    drawBlocks();
    fillLayers();
}

void CompareView::setRuns(const QStringList& runs) {
    for (int i = 0; i < 2; ++i) {
        const QSignalBlocker block(pick_[i]);
        pick_[i]->clear();
        for (const QString& r : runs) {
            pick_[i]->addItem(QFileInfo(r).fileName(), r);
            pick_[i]->setItemData(pick_[i]->count() - 1, QDir::toNativeSeparators(r), Qt::ToolTipRole);
        }
        // A: the run before the newest, B: the newest
        pick_[i]->setCurrentIndex(std::max(0, static_cast<int>(runs.size()) - 2 + i));
    }
    compare(pick_[0]->currentData().toString(), pick_[1]->currentData().toString());
}

CompareView::Run CompareView::read(const QString& dir) {
    Run r;
    r.dir = dir;
    if (dir.isEmpty()) return r;
    try {
        const std::string d = dir.toStdString();
        r.result = read_json_file(d + "/result.json");
        if (QFileInfo::exists(dir + "/plan.json")) r.plan = read_json_file(d + "/plan.json");
        const nlohmann::json report = QFileInfo::exists(dir + "/report.json") ? read_json_file(d + "/report.json") : nlohmann::json::object();
        // Per-Linear sparsity: the run's own per-tensor results, else the report's count on the weights (recovery runs)
        if (r.result.contains("tensors")) {
            for (const auto& t : r.result["tensors"]) r.sparsity[t.at("name").get<std::string>()] = t.at("achieved").get<double>();
        } else {
            for (const auto& l : report.value("layers", nlohmann::json::array())) r.sparsity[l.at("name").get<std::string>()] = l.at("sparsity").get<double>();
        }
        // Accuracy: the report's scoring, else what a recovery run measured on its own test images,
        // else the score taken after the run
        std::optional<RunScore> score;
        if (QFileInfo::exists(dir + "/score.json")) score = RunScore::from_json(read_json_file(d + "/score.json"), d + "/score.json");
        if (report.contains("accuracy")) {
            const auto& a = report["accuracy"];
            if (a.value("run", -1.0) >= 0) r.accuracy = a["run"].get<double>();
            if (a.value("dense", -1.0) >= 0) r.dense = a["dense"].get<double>();
            r.images = a.value("images", int64_t{0});
        } else if (r.result.contains("zero_shot_top1")) {
            const auto& a = r.result["zero_shot_top1"];
            if (a.contains("recovered")) r.accuracy = a["recovered"].get<double>();
            if (a.contains("dense")) r.dense = a["dense"].get<double>();
            r.images = r.plan.contains("recovery") ? r.plan["recovery"].value("eval_samples", int64_t{0}) : 0;
        } else if (score && score->metric == kZeroShotTop1) {
            r.accuracy = score->run;
            r.dense = score->dense;
            r.images = score->samples;
        }
        // A generative run's evaluation task metric: the report's questions, else a recovery run's own
        // measurement; the Plan's metric, else the task's headline.
        const nlohmann::json evaluation = r.plan.value("evaluation", nlohmann::json::object());
        const auto take = [&](const std::string& task, const nlohmann::json& values) {
            std::string metric = evaluation.value("metric", std::string());
            if (metric.empty() && !EvaluationOptions::metrics_of(task).empty()) metric = EvaluationOptions::metrics_of(task).front();
            if (!values.contains(metric)) return;
            r.task = values[metric].get<double>();
            r.taskLabel = QString::fromStdString(task + " " + metric);
        };
        if (report.contains("questions")) {
            const auto& q = report["questions"];
            take(q.value("task", std::string()), q["metrics"].value("run", nlohmann::json::object()));
        } else if (r.result.contains("task_metric")) {
            const auto& m = r.result["task_metric"];
            std::string metric = m.value("metric", std::string());
            if (m.contains("recovered")) {
                r.task = m["recovered"].get<double>();
                r.taskLabel = QString::fromStdString(m.value("task", std::string()) + " " + metric);
            }
        }
        // A decoder's next-token KL to its dense model: the report's, else the score's
        if (report.contains("next_token_kl")) {
            r.kl = report["next_token_kl"].at("mean").get<double>();
            r.prompts = report["next_token_kl"].value("samples", int64_t{0});
        } else if (score && score->metric == kNextTokenKl) {
            r.kl = score->run;
            r.prompts = score->samples;
        }
        // Totals: the run's, else the report's
        if (!r.result.contains("total") && report.contains("totals")) {
            r.result["total"] = report["totals"]["total"];
            r.result["modalities"] = report["totals"]["modalities"];
        }
    } catch (const std::exception& e) {
        r.error = QString::fromUtf8(e.what());
    }
    return r;
}

void CompareView::refresh() { compare(runs_[0].dir, runs_[1].dir); }

void CompareView::compare(const QString& a, const QString& b) {
    runs_[0] = read(a);
    runs_[1] = read(b);
    QStringList notes;
    for (const Run& r : runs_)
        if (!r.error.isEmpty()) notes << r.error;
    const bool bothRead = !a.isEmpty() && !b.isEmpty() && runs_[0].error.isEmpty() && runs_[1].error.isEmpty();
    if (bothRead && modelOf(runs_[0].plan) != modelOf(runs_[1].plan))
        notes << tr("A and B were pruned from different checkpoints (%1 and %2): their numbers are not comparable.")
                     .arg(QDir::toNativeSeparators(modelOf(runs_[0].plan)), QDir::toNativeSeparators(modelOf(runs_[1].plan)));
    if (runs_[0].accuracy && runs_[1].accuracy && runs_[0].images != runs_[1].images)
        notes << tr("A and B were scored on different test images (%1 and %2): their accuracies differ by more than pruning; "
                    "build both reports (the same number of images) to compare them.")
                     .arg(runs_[0].images)
                     .arg(runs_[1].images);
    for (int i = 0; i < 2; ++i)
        if (runs_[i].error.isEmpty() && !runs_[i].dir.isEmpty() && !runs_[i].accuracy && !runs_[i].kl)
            notes << tr("Run %1 has no score yet: it is scored after pruning, or build its report in the Report tab.").arg(kRunNames[i]);
    if (a.isEmpty() && b.isEmpty()) notes << tr("No runs yet: prune (Ctrl+R) twice, or open a project with runs, to compare them here.");
    note_->setText(notes.join(' '));
    note_->setVisible(!notes.isEmpty());
    fillSummary();
    fillLayers();
    drawBlocks();
    drawCurves();
}

double CompareView::blockSparsity(int run, int block) const {
    return weightedSparsity(groups_.at(static_cast<size_t>(block)), runs_.at(static_cast<size_t>(run)).sparsity);
}

void CompareView::fillSummary() {
    struct Row {
        QString measure;
        std::array<QString, 2> text;
        std::array<std::optional<double>, 2> value;  // numeric rows get a difference
        int decimals = 2;                              // as the difference is printed
        int better = 0;                                // +1: more is better, -1: less, 0: neither
    };
    std::vector<Row> rows;
    const auto textRow = [&](const QString& measure, const auto& of) {
        Row row{measure, {}, {}};
        for (int i = 0; i < 2; ++i)
            if (!runs_[i].dir.isEmpty() && runs_[i].error.isEmpty()) row.text[i] = of(runs_[i]);
        rows.push_back(row);
    };
    // `optional` rows are left out when neither run has a value.
    const auto numberRow = [&](const QString& measure, int decimals, int better, const auto& of, const auto& format,
                               bool optional = false) {
        Row row{measure, {}, {}, decimals, better};
        for (int i = 0; i < 2; ++i) {
            row.value[i] = runs_[i].error.isEmpty() ? of(runs_[i]) : std::nullopt;
            row.text[i] = row.value[i] ? format(*row.value[i]) : QString("–");
        }
        if (!optional || row.value[0] || row.value[1]) rows.push_back(row);
    };
    const auto planText = [](const char* key) {
        return [key](const Run& r) {
            const nlohmann::json v = r.plan.value(key, r.result.value(key, nlohmann::json()));
            return v.is_string() ? QString::fromStdString(v.get<std::string>()) : v.is_null() ? QString("–") : QString::fromStdString(v.dump());
        };
    };
    textRow(tr("folder"), [](const Run& r) { return QFileInfo(r.dir).fileName(); });
    textRow(tr("method"), planText("method"));
    textRow(tr("pattern"), planText("pattern"));
    textRow(tr("allocation"), [](const Run& r) {
        return r.plan.contains("allocation") ? QString::fromStdString(r.plan["allocation"].value("kind", "uniform")) : QString("–");
    });
    textRow(tr("recovery"), [](const Run& r) {
        if (!r.result.contains("recovery")) return tr("none");
        const auto& t = r.result["recovery"];
        return tr("%1, %2 steps").arg(QString::fromStdString(t.value("mode", ""))).arg(t.value("steps", int64_t{0}));
    });
    const auto pct = [](double v) { return percent(v); };
    const auto count = [](double v) { return QString::number(static_cast<qint64>(v)); };
    // The target the run pruned to: its parameter-weighted overall target, else the Plan's sparsity
    numberRow(tr("target sparsity"), 2, 0, [](const Run& r) -> std::optional<double> {
        if (r.result.contains("total") && r.result["total"].contains("target")) return 100 * r.result["total"]["target"].get<double>();
        if (!r.plan.contains("sparsity")) return std::nullopt;
        return 100 * r.plan["sparsity"].get<double>();
    }, pct);
    numberRow(tr("achieved sparsity"), 2, +1, [](const Run& r) -> std::optional<double> {
        if (r.result.contains("total")) return 100 * r.result["total"].value("sparsity", 0.0);
        if (r.result.contains("masked_linears")) return 100 * r.result["masked_linears"].value("sparsity_merged", 0.0);
        return std::nullopt;
    }, pct);
    for (const char* m : {"vision", "projector", "language"})
        numberRow(tr("  %1").arg(m), 2, +1, [m](const Run& r) -> std::optional<double> {
            const nlohmann::json mods = r.result.value("modalities", nlohmann::json::object());
            if (!mods.contains(m)) return std::nullopt;
            return 100 * mods[m].value("sparsity", 0.0);
        }, pct);
    // Accuracies on different test images are not a difference pruning made: not coloured.
    const int accuracyBetter = runs_[0].images == runs_[1].images ? +1 : 0;
    numberRow(tr("zero-shot top-1"), 2, accuracyBetter, [](const Run& r) { return r.accuracy; }, pct);
    numberRow(tr("dense zero-shot top-1"), 2, 0, [](const Run& r) { return r.dense; }, pct);
    numberRow(tr("test images scored"), 0, 0, [](const Run& r) -> std::optional<double> {
        if (r.images <= 0) return std::nullopt;
        return static_cast<double>(r.images);
    }, count);
    // The task metric, compared only when both runs were scored by the same one.
    const QString taskLabel = runs_[0].taskLabel.isEmpty() ? runs_[1].taskLabel : runs_[0].taskLabel;
    const bool sameTask = runs_[0].taskLabel == runs_[1].taskLabel;
    numberRow(sameTask ? taskLabel : tr("task metric (%1 / %2)").arg(runs_[0].taskLabel, runs_[1].taskLabel), 2,
              !sameTask ? 0 : metric_lower_is_better(taskLabel.section(' ', -1).toStdString()) ? -1 : +1, [](const Run& r) { return r.task; },
              [](double v) { return QString::number(v, 'f', 2); }, true);
    numberRow(tr("next-token KL to dense (nats)"), 4, -1, [](const Run& r) { return r.kl; },
              [](double v) { return QString::number(v, 'f', 4); }, true);
    numberRow(tr("prompts the KL was measured on"), 0, 0, [](const Run& r) -> std::optional<double> {
        if (r.prompts <= 0) return std::nullopt;
        return static_cast<double>(r.prompts);
    }, count, true);

    summary_->setUpdatesEnabled(false);
    summary_->setRowCount(static_cast<int>(rows.size()));
    for (int i = 0; i < static_cast<int>(rows.size()); ++i) {
        const Row& row = rows[i];
        summary_->setItem(i, 0, cell(row.measure, false));
        for (int k = 0; k < 2; ++k) summary_->setItem(i, 1 + k, cell(row.text[k], row.value[k].has_value()));
        summary_->setItem(i, 3, row.value[0] && row.value[1] ? deltaCell(*row.value[1] - *row.value[0], row.decimals, row.better)
                                                             : cell(QString(), true));
    }
    for (int c : {0, 3}) summary_->resizeColumnToContents(c);  // A and B share the rest
    summary_->setUpdatesEnabled(true);
}

void CompareView::fillLayers() {
    // The model's order, then Linears the model does not know; shown as "V0 attention.query"
    // (block label and the name within the block), the full name in the tooltip.
    std::vector<std::string> names;
    std::vector<QString> shown;
    std::set<std::string> seen;
    for (const BlockGroup& g : groups_)
        for (const LinearLayer* l : g.linears)
            if ((runs_[0].sparsity.count(l->name) || runs_[1].sparsity.count(l->name)) && seen.insert(l->name).second) {
                names.push_back(l->name);
                const QString full = QString::fromStdString(l->name);
                shown.push_back(full.startsWith(g.path + '.') ? g.label + ' ' + full.mid(g.path.size() + 1) : full);
            }
    for (const Run& r : runs_)
        for (const auto& [name, v] : r.sparsity)
            if (seen.insert(name).second) {
                names.push_back(name);
                shown.push_back(QString::fromStdString(name));
            }
    layers_->setUpdatesEnabled(false);
    layers_->setRowCount(static_cast<int>(names.size()));
    for (int i = 0; i < static_cast<int>(names.size()); ++i) {
        QTableWidgetItem* name = cell(shown[i], false);
        name->setToolTip(QString::fromStdString(names[i]));
        layers_->setItem(i, 0, name);
        std::array<std::optional<double>, 2> v;
        for (int k = 0; k < 2; ++k) {
            const auto it = runs_[k].sparsity.find(names[i]);
            if (it != runs_[k].sparsity.end()) v[k] = it->second;
            layers_->setItem(i, 1 + k, cell(v[k] ? QString::number(*v[k], 'f', 4) : QString("–"), true));
        }
        layers_->setItem(i, 3, v[0] && v[1] ? deltaCell(*v[1] - *v[0], 4, +1) : cell(QString(), true));
    }
    for (int c = 0; c < 3; ++c) layers_->resizeColumnToContents(c);  // the last one stretches
    layers_->setUpdatesEnabled(true);
}

void CompareView::drawBlocks() {
    auto ticker = qSharedPointerCast<QCPAxisTickerText>(blocks_->xAxis->ticker());
    ticker->clear();
    for (size_t i = 0; i < groups_.size(); ++i) ticker->addTick(static_cast<double>(i), groups_[i].label);
    for (int k = 0; k < 2; ++k) {
        QVector<double> keys, values;
        for (size_t i = 0; i < groups_.size(); ++i) {
            const double s = weightedSparsity(groups_[i], runs_[k].sparsity);
            if (s < 0) continue;
            keys.append(static_cast<double>(i));
            values.append(s);
        }
        bars_[k]->setData(keys, values, true);
        bars_[k]->setName(QString("%1: %2").arg(kRunNames[k], runs_[k].dir.isEmpty() ? tr("none") : QFileInfo(runs_[k].dir).fileName()));
    }
    blocks_->xAxis->setRange(-0.7, std::max<double>(1, static_cast<double>(groups_.size())) - 0.3);
    blocks_->replot();
}

void CompareView::drawCurves() {
    curves_->clearGraphs();
    int logged = 0;
    for (int k = 0; k < 2; ++k) {
        if (!runs_[k].result.contains("recovery")) continue;
        const auto& t = runs_[k].result["recovery"];
        QCPGraph* loss = curves_->addGraph();
        loss->setName(tr("%1 loss").arg(kRunNames[k]));
        loss->setPen(QPen(chartColor(k), 2));
        for (const auto& s : t.value("log", nlohmann::json::array())) loss->addData(s.at("step").get<double>(), s.at("loss").get<double>());
        QCPGraph* eval = curves_->addGraph(curves_->xAxis, curves_->yAxis2);
        eval->setName(tr("%1 zero-shot top-1").arg(kRunNames[k]));
        eval->setPen(QPen(chartColor(k), 1.5, Qt::DashLine));
        eval->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, chartColor(k), chartColor(k), 6));
        for (const auto& e : t.value("evals", nlohmann::json::array()))
            eval->addData(e.at("step").get<double>(), e.at("zero_shot_top1").get<double>());
        if (eval->dataCount() == 0) curves_->removeGraph(eval);
        ++logged;
    }
    curves_->setVisible(logged > 0);  // the per-Linear table takes the width when neither run trained
    auto* title = qobject_cast<QCPTextElement*>(curves_->plotLayout()->element(0, 0));
    title->setText(tr("Recovery training"));
    curves_->rescaleAxes();
    curves_->yAxis->setRangeLower(0);
    curves_->yAxis2->setRange(0, 100);
    curves_->replot();
}

}  // namespace ps
