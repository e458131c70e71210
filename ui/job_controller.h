// Runs one core job at a time on a worker thread and forwards what it reports to the GUI thread
// through queued signals: progress (throttled, so a chatty job cannot flood the event loop), the
// outcome, and cancel from any button. A job's work returns a closure that the GUI thread runs
// when the work succeeded: it hands the results to the widgets, which never see a half-done job.
#pragma once
#include <QObject>
#include <QString>
#include <functional>
#include <memory>

#include "core/job_control.h"

class QThread;

namespace ps {

class JobController : public QObject {
    Q_OBJECT
public:
    using Deliver = std::function<void()>;
    using Work = std::function<Deliver(const JobControl&)>;

    explicit JobController(QObject* parent = nullptr);
    ~JobController() override;  // cancels a running job and waits for it; its results are dropped

    bool isRunning() const { return thread_ != nullptr; }
    QString currentTitle() const { return title_; }

    // Starts `work` on a worker thread. Returns false, starting nothing, while another job runs.
    bool start(const QString& title, Work work);

public Q_SLOTS:
    void cancel();

Q_SIGNALS:
    void started(const QString& title);
    void progress(const QString& stage, qint64 done, qint64 total, const QString& detail);
    void finished(const QString& title);  // after the work's closure ran
    void failed(const QString& title, const QString& message);
    void cancelled(const QString& title);
    void runningChanged(bool running);

private:
    struct Outcome;
    void conclude(const std::shared_ptr<Outcome>& outcome);

    QThread* thread_ = nullptr;
    JobControl job_;
    QString title_;
};

}  // namespace ps
