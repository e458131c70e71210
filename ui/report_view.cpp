#include "ui/report_view.h"

#include <QComboBox>
#include <QDesktopServices>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QMessageBox>
#include <QPushButton>
#include <QTextBrowser>
#include <QUrl>
#include <QVBoxLayout>
#include <exception>

#include "core/io/json_util.h"
#include "core/job/run_score.h"
#include "core/report/export.h"
#include "core/report/html_report.h"
#include "ui/job_controller.h"

namespace ps {
namespace {

// The Plan in one line: its name, the allocation (a per-modality split's ratios), and the overall
// target the run pruned to.
QString planLine(const nlohmann::json& plan, const nlohmann::json& totals) {
    QStringList parts;
    if (plan.contains("name") && !plan["name"].get<std::string>().empty())
        parts << QString::fromStdString(plan["name"].get<std::string>()).toHtmlEscaped();
    const nlohmann::json allocation = plan.value("allocation", nlohmann::json::object());
    QString kind = QString::fromStdString(allocation.value("kind", std::string("uniform")));
    QStringList ratios;
    for (const char* m : {"vision", "projector", "language"})
        if (allocation.contains(m)) ratios << QObject::tr("%1 %2 %").arg(m).arg(100 * allocation[m].get<double>(), 0, 'f', 0);
    if (!ratios.isEmpty()) kind += " (" + ratios.join(", ") + ")";
    parts << QObject::tr("allocation %1").arg(kind);
    if (totals.contains("total") && totals["total"].contains("target"))
        parts << QObject::tr("overall target %1 %").arg(100 * totals["total"]["target"].get<double>(), 0, 'f', 2);
    return QObject::tr("<p>Plan: %1</p>").arg(parts.join(" · "));
}

}  // namespace

ReportView::ReportView(JobController* jobs, QWidget* parent)
    : QWidget(parent),
      jobs_(jobs),
      runs_(new QComboBox(this)),
      dtype_(new QComboBox(this)),
      build_(new QPushButton(tr("Build report"), this)),
      open_(new QPushButton(tr("Open in browser"), this)),
      export_(new QPushButton(tr("Export checkpoint…"), this)),
      summary_(new QTextBrowser(this)) {
    confirmReplace = [this](const QString& folder) {
        return QMessageBox::question(this, tr("Replace folder?"),
                                     tr("%1 already exists. Replace it with the export? (It is replaced only once the "
                                        "new folder is complete.)")
                                         .arg(QDir::toNativeSeparators(folder))) == QMessageBox::Yes;
    };
    runs_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    runs_->setMinimumContentsLength(12);
    dtype_->addItem(tr("dtype as pruned"), "");
    dtype_->addItem("bfloat16", "bfloat16");
    dtype_->addItem("float16", "float16");
    build_->setToolTip(tr("Write report.html and report.json into the run folder: Plan, per-layer table, accuracy, curves, "
                          "heatmaps, measured speed"));
    export_->setToolTip(tr("Write the run as a Hugging Face checkpoint folder that transformers loads"));
    auto* bar = new QHBoxLayout;
    bar->addWidget(runs_, 1);
    bar->addWidget(build_);
    bar->addWidget(open_);
    bar->addWidget(dtype_);
    bar->addWidget(export_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(summary_, 1);
    connect(runs_, &QComboBox::currentIndexChanged, this, &ReportView::showSummary);
    connect(build_, &QPushButton::clicked, this, &ReportView::buildReport);
    connect(open_, &QPushButton::clicked, this, [this] {
        QDesktopServices::openUrl(QUrl::fromLocalFile(currentRun() + "/report.html"));
    });
    connect(export_, &QPushButton::clicked, this, &ReportView::chooseExport);
    setRuns({});
}

void ReportView::setRuns(const QStringList& runs) {
    const QSignalBlocker block(runs_);
    runs_->clear();
    for (const QString& r : runs) {
        runs_->addItem(QFileInfo(r).fileName(), r);
        runs_->setItemData(runs_->count() - 1, QDir::toNativeSeparators(r), Qt::ToolTipRole);
    }
    runs_->setCurrentIndex(runs_->count() - 1);
    for (QWidget* w : std::initializer_list<QWidget*>{build_, export_, dtype_}) w->setEnabled(!runs.isEmpty());
    showSummary();
}

QString ReportView::currentRun() const { return runs_->currentData().toString(); }

bool ReportView::buildReport() {
    const QString run = currentRun();
    if (run.isEmpty()) return false;
    ReportOptions opt;
    opt.sweep_dir = sweep_.toStdString();
    opt.eval_limit = evalImages_;
    const QString html = run + "/report.html";
    return jobs_->start(tr("Report of %1").arg(QFileInfo(run).fileName()),
                        [this, run, html, opt](const JobControl& job) -> JobController::Deliver {
                            write_report(run.toStdString(), html.toStdString(), opt, job);
                            return [this, html] {
                                showSummary();
                                Q_EMIT reportBuilt(html);
                            };
                        });
}

bool ReportView::exportTo(const QString& out, const QString& dtype) {
    const QString run = currentRun();
    if (run.isEmpty() || jobs_->isRunning()) return false;
    ExportOptions opt;
    opt.dtype = dtype.toStdString();
    if (QFileInfo::exists(out)) {
        if (!confirmReplace || !confirmReplace(out)) return false;
        opt.force = true;
    }
    return jobs_->start(tr("Export %1").arg(QFileInfo(out).fileName()), [this, run, out, opt](const JobControl& job) -> JobController::Deliver {
        export_checkpoint(run.toStdString(), out.toStdString(), opt, job);
        return [this, out] { Q_EMIT exported(out); };
    });
}

void ReportView::chooseExport() {
    const QString out = QFileDialog::getSaveFileName(this, tr("Export as a Hugging Face checkpoint folder"), currentRun() + "-hf",
                                                     QString(), nullptr, QFileDialog::DontConfirmOverwrite);
    if (!out.isEmpty()) exportTo(out, dtype_->currentData().toString());
}

void ReportView::showSummary() {
    const QString run = currentRun();
    if (run.isEmpty()) {
        summary_->setHtml(tr("<p>No run yet: Run → Prune (Ctrl+R), then build its report here.</p>"));
        open_->setEnabled(false);
        return;
    }
    const QString json = run + "/report.json";
    open_->setEnabled(QFileInfo::exists(run + "/report.html"));
    if (!QFileInfo::exists(json)) {
        QString h = tr("<p>%1 has no report yet: <b>Build report</b> writes report.html and report.json into it.</p>")
                        .arg(QDir::toNativeSeparators(run).toHtmlEscaped());
        try {  // what the run was scored on right after it was written
            if (QFileInfo::exists(run + "/score.json"))
                h += tr("<p>Scored after pruning: %1.</p>")
                         .arg(QString::fromStdString(RunScore::from_json(read_json_file(run.toStdString() + "/score.json"),
                                                                         run.toStdString() + "/score.json")
                                                         .to_text())
                                  .toHtmlEscaped());
        } catch (const std::exception& e) {
            h += QString("<p>%1</p>").arg(QString::fromUtf8(e.what()).toHtmlEscaped());
        }
        summary_->setHtml(h);
        return;
    }
    try {
        const nlohmann::json r = read_json_file(json.toStdString());
        QString h = tr("<h2>%1 — %2 %3</h2>")
                        .arg(QFileInfo(run).fileName().toHtmlEscaped(), QString::fromStdString(r.value("method", "")),
                             QString::fromStdString(r.value("pattern", "")));
        h += planLine(r.value("plan", nlohmann::json::object()), r.value("totals", nlohmann::json::object()));
        if (r.contains("accuracy")) {
            const auto& a = r["accuracy"];
            h += tr("<h3>Zero-shot top-1 (%1 test images)</h3><table cellpadding=4>").arg(a.value("images", 0));
            for (const auto& [key, label] : {std::pair{"dense", tr("dense")}, std::pair{"pruned", tr("pruned, before recovery")},
                                             std::pair{"run", tr("this run")}})
                if (a.contains(key) && a[key].get<double>() >= 0)
                    h += QString("<tr><td>%1</td><td align=right>%2 %</td></tr>").arg(label).arg(a[key].get<double>(), 0, 'f', 2);
            h += "</table>";
        }
        if (r.contains("next_token_kl")) {
            const auto& kl = r["next_token_kl"];
            h += tr("<h3>Next-token KL to the dense model (%1 calibration prompts)</h3><table cellpadding=4>"
                    "<tr><td>mean over %2 positions</td><td align=right>%3 nats</td></tr>"
                    "<tr><td>largest at one position</td><td align=right>%4 nats</td></tr></table>")
                     .arg(kl.value("samples", int64_t{0}))
                     .arg(kl.value("positions", int64_t{0}))
                     .arg(kl.value("mean", 0.0), 0, 'f', 5)
                     .arg(kl.value("max", 0.0), 0, 'f', 5);
        }
        if (r.contains("totals")) {
            h += tr("<h3>Sparsity per modality</h3><table cellpadding=4>");
            for (const auto& [m, v] : r["totals"]["modalities"].items())
                h += QString("<tr><td>%1</td><td align=right>%2 %</td></tr>").arg(QString::fromStdString(m)).arg(100 * v["sparsity"].get<double>(), 0, 'f', 2);
            h += QString("<tr><td><b>%1</b></td><td align=right><b>%2 %</b></td></tr></table>")
                     .arg(tr("total"))
                     .arg(100 * r["totals"]["total"]["sparsity"].get<double>(), 0, 'f', 2);
        }
        if (r.contains("speed") && r["speed"].contains("size_only"))
            h += r["speed"]["size_only"].get<bool>()
                     ? tr("<p><b>Speed: size only</b> — this pattern gives no speed-up with dense kernels on this hardware.</p>")
                     : tr("<p>Speed: see the report's latency section.</p>");
        h += tr("<p>The whole report (per-layer table, curves, heatmaps, timings, machine): <b>Open in browser</b>.</p>");
        summary_->setHtml(h);
    } catch (const std::exception& e) {
        summary_->setHtml(QString("<p>%1</p>").arg(QString::fromUtf8(e.what()).toHtmlEscaped()));
    }
}

}  // namespace ps
