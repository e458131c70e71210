// The Ask tab: pick a test image or drop one of your own, type a question, and read the dense
// model's and a pruned (or recovered) run's greedy answers side by side, each streamed token by
// token as it is generated on a worker thread. Each model is loaded once, in the background; a new
// question stops the answers still being written. What keeps a model from answering (a dual
// encoder, no tokenizer) is said in its own pane.
#pragma once
#include <QStringList>
#include <QWidget>
#include <memory>

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QPushButton;

namespace ps {

class AskSession;
class JobControl;

class AskPanel : public QWidget {
    Q_OBJECT
public:
    explicit AskPanel(QWidget* parent = nullptr);
    ~AskPanel() override;

    // The dense checkpoint, loaded in the background (`loaded` follows for each side); a model that
    // does not generate (a dual encoder) is not loaded, and the panes say so.
    void setCheckpoint(const QString& dir, bool generative = true);
    // Pruned and recovered runs offered for the right-hand pane.
    void setRuns(const QStringList& runs);
    // Adds an image file to the list and selects it.
    void addImage(const QString& path);
    // Asks the question in the box about the selected image; both panes answer.
    void ask();
    // Stops the answers being written (what they have so far stays).
    void stop();

    QListWidget* imageList() const { return images_; }
    QComboBox* runBox() const { return run_; }
    QLineEdit* questionEdit() const { return question_; }
    QPushButton* askButton() const { return askButton_; }
    QPlainTextEdit* answerPane(int side) const { return answers_[side]; }  // 0: dense, 1: the run

Q_SIGNALS:
    // A side's model is ready to answer (or `problem` says why not).
    void loaded(int side, const QString& problem);
    // A side's answer so far, after each generated token.
    void partial(int side, const QString& text);
    // A side finished its answer (or stopped, or failed: `problem` is then set).
    void answered(int side, const QString& text, const QString& problem);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void load(int side, const QString& dir);
    void answer(int side);
    void showPicture();
    void updateButtons();

    struct Side {
        QString dir;
        std::shared_ptr<const AskSession> session;
        std::shared_ptr<const JobControl> job;  // the answer being written, if any
        int serial = 0;  // the newest load or answer of this side; older results are dropped
        bool busy = false;
    };
    Side sides_[2];
    QComboBox* run_;
    QListWidget* images_;
    QLabel* picture_;
    QLineEdit* question_;
    QPushButton* askButton_;
    QPushButton* stopButton_;
    QLabel* titles_[2];
    QPlainTextEdit* answers_[2];
    QLabel* prompt_;
};

}  // namespace ps
