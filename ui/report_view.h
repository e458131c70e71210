// The Report tab: a finished run chosen from the project's runs; its HTML report (core/report) built
// on the worker thread and summarised here — accuracy, sparsity per modality, measured speed —
// with a button to open the page in the browser; and Export… of the run as a Hugging Face
// checkpoint, asking before it replaces an existing folder.
#pragma once
#include <QStringList>
#include <QWidget>
#include <functional>

class QComboBox;
class QPushButton;
class QTextBrowser;

namespace ps {

class JobController;

class ReportView : public QWidget {
    Q_OBJECT
public:
    explicit ReportView(JobController* jobs, QWidget* parent = nullptr);

    // The runs to choose from; the newest is selected.
    void setRuns(const QStringList& runs);
    // A sweep folder whose curves the report includes; empty: none.
    void setSweep(const QString& dir) { sweep_ = dir; }
    void setEvalImages(int n) { evalImages_ = n; }
    QString currentRun() const;
    QTextBrowser* summary() const { return summary_; }

    // Asked before an export replaces an existing folder; a dialog unless replaced (tests do).
    std::function<bool(const QString& folder)> confirmReplace;

public Q_SLOTS:
    // Writes RUN/report.html and RUN/report.json as a job; false when a job is already running.
    bool buildReport();
    // Exports the current run to `out` as a job (dtype "", "bfloat16" or "float16"). An existing
    // `out` is replaced only when confirmReplace agrees; false when it did not or a job runs.
    bool exportTo(const QString& out, const QString& dtype);

Q_SIGNALS:
    void reportBuilt(const QString& html);
    void exported(const QString& out);

private:
    void showSummary();
    void chooseExport();

    JobController* jobs_;
    QString sweep_;
    int evalImages_ = 1000;
    QComboBox* runs_;
    QComboBox* dtype_;
    QPushButton* build_;
    QPushButton* open_;
    QPushButton* export_;
    QTextBrowser* summary_;
};

}  // namespace ps
