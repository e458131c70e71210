#include "ui/job_panel.h"

#include <QDateTime>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

#include "ui/job_controller.h"

namespace ps {

JobPanel::JobPanel(JobController* jobs, QWidget* parent)
    : QWidget(parent), log_(new QPlainTextEdit(this)), stage_(new QLabel(this)), bar_(new QProgressBar(this)),
      cancel_(new QPushButton(tr("Cancel"), this)) {
    log_->setReadOnly(true);
    log_->setMaximumBlockCount(5000);
    log_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    bar_->setTextVisible(true);
    cancel_->setEnabled(false);
    cancel_->setToolTip(tr("Stop the running job (Esc); nothing it was writing is kept"));
    stage_->setMinimumWidth(260);
    auto* row = new QHBoxLayout;
    row->addWidget(stage_);
    row->addWidget(bar_, 1);
    row->addWidget(cancel_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(row);
    layout->addWidget(log_, 1);

    connect(cancel_, &QPushButton::clicked, jobs, &JobController::cancel);
    connect(jobs, &JobController::started, this, [this](const QString& title) {
        appendLog(tr("%1 started").arg(title));
        stage_->setText(title);
        bar_->setRange(0, 0);
        cancel_->setEnabled(true);
    });
    connect(jobs, &JobController::progress, this, [this](const QString& stage, qint64 done, qint64 total, const QString& detail) {
        stage_->setText(detail.isEmpty() ? stage : QString("%1 — %2").arg(stage, detail));
        if (total > 0) {
            bar_->setRange(0, 1000);
            bar_->setValue(static_cast<int>(1000 * done / total));
            bar_->setFormat(QString("%1 / %2").arg(done).arg(total));
        }
    });
    auto end = [this](const QString& line) {
        appendLog(line);
        stage_->setText(QString());
        bar_->setRange(0, 1);
        bar_->setValue(0);
        bar_->setFormat(QString());
        cancel_->setEnabled(false);
    };
    connect(jobs, &JobController::finished, this, [end](const QString& title) { end(tr("%1 finished").arg(title)); });
    connect(jobs, &JobController::cancelled, this, [end](const QString& title) { end(tr("%1 cancelled; nothing was written").arg(title)); });
    connect(jobs, &JobController::failed, this, [end](const QString& title, const QString& message) {
        end(tr("%1 failed: %2").arg(title, message));
    });
}

void JobPanel::appendLog(const QString& line) {
    log_->appendPlainText(QString("[%1] %2").arg(QTime::currentTime().toString("HH:mm:ss"), line));
}

}  // namespace ps
