#include "ui/job_controller.h"

#include <QThread>
#include <chrono>
#include <exception>

namespace ps {

// What the worker leaves for the GUI thread.
struct JobController::Outcome {
    Deliver deliver;
    bool cancelled = false;
    QString error;
};

JobController::JobController(QObject* parent) : QObject(parent) {}

JobController::~JobController() {
    if (!thread_) return;
    job_.cancel();
    thread_->wait();
    delete thread_;
}

bool JobController::start(const QString& title, Work work) {
    if (thread_) return false;
    job_ = JobControl{};
    title_ = title;
    // Progress from the worker: forwarded when the stage changes, at the end of a stage, or when
    // 40 ms have passed since the last one (the state below is touched by the worker alone).
    auto last_stage = std::make_shared<std::string>();
    auto last_time = std::make_shared<std::chrono::steady_clock::time_point>();
    job_.on_progress = [this, last_stage, last_time](const Progress& p) {
        const auto now = std::chrono::steady_clock::now();
        if (p.stage == *last_stage && p.done < p.total && now - *last_time < std::chrono::milliseconds(40)) return;
        *last_stage = p.stage;
        *last_time = now;
        const QString stage = QString::fromStdString(p.stage), detail = QString::fromStdString(p.detail);
        const qint64 done = p.done, total = p.total;
        QMetaObject::invokeMethod(
            this, [this, stage, done, total, detail] { Q_EMIT progress(stage, done, total, detail); }, Qt::QueuedConnection);
    };
    auto outcome = std::make_shared<Outcome>();
    const JobControl job = job_;
    thread_ = QThread::create([work = std::move(work), job, outcome] {
        try {
            outcome->deliver = work(job);
        } catch (const Cancelled&) {
            outcome->cancelled = true;
        } catch (const std::exception& e) {  // ps::Error's text names the file or field
            outcome->error = QString::fromStdString(first_line(e));
        }
    });
    connect(thread_, &QThread::finished, this, [this, outcome] { conclude(outcome); });
    thread_->start();
    Q_EMIT started(title_);
    Q_EMIT runningChanged(true);
    return true;
}

void JobController::cancel() {
    if (thread_) job_.cancel();
}

void JobController::conclude(const std::shared_ptr<Outcome>& outcome) {
    thread_->deleteLater();
    thread_ = nullptr;
    const QString title = title_;
    if (outcome->cancelled) {
        Q_EMIT cancelled(title);
    } else if (!outcome->error.isEmpty()) {
        Q_EMIT failed(title, outcome->error);
    } else {
        try {
            if (outcome->deliver) outcome->deliver();
            Q_EMIT finished(title);
        } catch (const std::exception& e) {
            Q_EMIT failed(title, QString::fromUtf8(e.what()));
        }
    }
    Q_EMIT runningChanged(false);
}

}  // namespace ps
