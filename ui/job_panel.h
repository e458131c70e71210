// The bottom dock: the log of what jobs did, and while one runs its stage, a progress bar and a
// Cancel button. It listens to a JobController and never touches core itself.
#pragma once
#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace ps {

class JobController;

class JobPanel : public QWidget {
    Q_OBJECT
public:
    explicit JobPanel(JobController* jobs, QWidget* parent = nullptr);

    QPlainTextEdit* log() const { return log_; }
    QProgressBar* progressBar() const { return bar_; }
    QPushButton* cancelButton() const { return cancel_; }

public Q_SLOTS:
    void appendLog(const QString& line);

private:
    QPlainTextEdit* log_;
    QLabel* stage_;
    QProgressBar* bar_;
    QPushButton* cancel_;
};

}  // namespace ps
