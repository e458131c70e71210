#include "ui/ask_panel.h"

#include <QComboBox>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <exception>
#include <vector>

#include "core/job/ask_session.h"

namespace ps {
namespace {

constexpr int kTestImages = 12;
constexpr int kPicture = 160;  // the shown image's box, in pixels
constexpr int kPathRole = Qt::UserRole;  // an image file, or empty for a test image
constexpr int kTestIndexRole = Qt::UserRole + 1;
constexpr int kImageRole = Qt::UserRole + 2;  // a test image's pixels (QImage)

struct Loaded {
    std::shared_ptr<const AskSession> session;
    std::vector<TestImage> tests;  // the test images, on the first load
    QString error;
};

}  // namespace

AskPanel::AskPanel(QWidget* parent)
    : QWidget(parent),
      run_(new QComboBox(this)),
      images_(new QListWidget(this)),
      picture_(new QLabel(this)),
      question_(new QLineEdit(this)),
      askButton_(new QPushButton(tr("Ask"), this)),
      stopButton_(new QPushButton(tr("Stop"), this)),
      prompt_(new QLabel(this)) {
    setAcceptDrops(true);
    for (int i = 0; i < kTestImages; ++i) {
        auto* item = new QListWidgetItem(tr("test image %1").arg(i), images_);
        item->setData(kTestIndexRole, i);
    }
    images_->setToolTip(tr("Fashion-MNIST test images; drop your own images on the tab or use Add…"));
    run_->setToolTip(tr("The model answering on the right: a pruned or recovered run of this checkpoint"));
    run_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    run_->setMinimumContentsLength(14);
    run_->addItem(tr("(no run yet: prune one)"), QString());
    auto* add = new QPushButton(tr("Add images…"), this);
    picture_->setAlignment(Qt::AlignCenter);
    question_->setPlaceholderText(tr("Ask about the image, e.g. What is the item in this image?"));
    question_->setText(tr("What is the item in this image?"));
    question_->setClearButtonEnabled(true);
    prompt_->setWordWrap(true);
    prompt_->setTextFormat(Qt::PlainText);
    prompt_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    prompt_->setStyleSheet("color:#606060");
    prompt_->setText(tr("Answers are greedy (the most likely token each step), in the checkpoint's chat format, with the image."));

    auto* side = new QVBoxLayout;
    side->setContentsMargins(0, 0, 0, 0);
    side->addWidget(new QLabel(tr("Compare the dense model with"), this));
    side->addWidget(run_);
    side->addWidget(picture_);
    side->addWidget(images_, 1);
    side->addWidget(add);
    auto* sideWidget = new QWidget(this);
    sideWidget->setLayout(side);
    sideWidget->setFixedWidth(240);
    picture_->setFixedSize(kPicture, kPicture);
    side->setAlignment(picture_, Qt::AlignHCenter);

    auto* askRow = new QHBoxLayout;
    askRow->addWidget(new QLabel(tr("Question"), this));
    askRow->addWidget(question_, 1);
    askRow->addWidget(askButton_);
    askRow->addWidget(stopButton_);
    auto* panes = new QGridLayout;
    for (int s = 0; s < 2; ++s) {
        titles_[s] = new QLabel(this);
        titles_[s]->setWordWrap(true);
        answers_[s] = new QPlainTextEdit(this);
        answers_[s]->setReadOnly(true);
        answers_[s]->setFont(QFont(font().family(), font().pointSize() + 2));
        panes->addWidget(titles_[s], 0, s);
        panes->addWidget(answers_[s], 1, s);
    }
    titles_[0]->setText(tr("<b>Dense</b>: open a checkpoint"));
    titles_[1]->setText(tr("<b>Pruned</b>: no run chosen"));
    auto* answersColumn = new QVBoxLayout;
    answersColumn->addLayout(panes, 1);
    answersColumn->addWidget(prompt_);
    auto* body = new QHBoxLayout;
    body->addWidget(sideWidget);
    body->addLayout(answersColumn, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(askRow);
    layout->addLayout(body, 1);

    connect(askButton_, &QPushButton::clicked, this, &AskPanel::ask);
    connect(question_, &QLineEdit::returnPressed, this, &AskPanel::ask);
    connect(stopButton_, &QPushButton::clicked, this, &AskPanel::stop);
    connect(images_, &QListWidget::currentRowChanged, this, &AskPanel::showPicture);
    connect(run_, &QComboBox::currentIndexChanged, this, [this] { load(1, run_->currentData().toString()); });
    connect(add, &QPushButton::clicked, this, [this] {
        for (const QString& f : QFileDialog::getOpenFileNames(this, tr("Add images"), QString(), tr("Images (*.png *.jpg *.jpeg *.bmp *.webp)")))
            addImage(f);
    });
    images_->setCurrentRow(0);
    updateButtons();
}

AskPanel::~AskPanel() {
    for (Side& s : sides_)
        if (s.job) s.job->cancel();  // the workers stop at their next token; their results are dropped
}

void AskPanel::setCheckpoint(const QString& dir, bool generative) {
    {
        const QSignalBlocker b(run_);
        run_->clear();
        run_->addItem(tr("(no run yet: prune one)"), QString());
    }
    run_->setEnabled(generative);
    load(1, QString());
    load(0, generative ? dir : QString());
    if (!generative)
        answers_[0]->setPlainText(tr("%1 is a dual encoder: it scores images against texts and answers no questions. "
                                     "The Ask tab answers with generative models (LLaVA, a LLaMA language model, the generative default).")
                                      .arg(QFileInfo(QDir::cleanPath(dir)).fileName()));
}

void AskPanel::setRuns(const QStringList& runs) {
    if (!run_->isEnabled()) return;  // a dual encoder's runs answer no questions either
    const QSignalBlocker b(run_);
    const QString shown = run_->currentData().toString();
    run_->clear();
    if (runs.isEmpty()) run_->addItem(tr("(no run yet: prune one)"), QString());
    for (const QString& r : runs) {
        run_->addItem(QFileInfo(QDir::cleanPath(r)).fileName(), r);
        run_->setItemData(run_->count() - 1, QDir::toNativeSeparators(r), Qt::ToolTipRole);
    }
    const int keep = run_->findData(shown);
    run_->setCurrentIndex(keep >= 0 ? keep : run_->count() - 1);  // a new run: the newest
    if (run_->currentData().toString() != sides_[1].dir || (!sides_[1].session && !sides_[1].busy))
        load(1, run_->currentData().toString());
}

void AskPanel::load(int side, const QString& dir) {
    Side& s = sides_[side];
    if (s.job) s.job->cancel();
    s.job.reset();
    s.session.reset();
    s.dir = dir;
    const int serial = ++s.serial;
    const QString who = side == 0 ? tr("Dense") : tr("Pruned");
    answers_[side]->clear();
    answers_[side]->setStyleSheet(QString());
    if (side == 1)
        answers_[1]->setPlaceholderText(dir.isEmpty() ? tr("Prune the model (Prune… in the Plan panel): the run's answers appear here "
                                                           "beside the dense model's.")
                                                      : QString());
    if (dir.isEmpty()) {
        s.busy = false;
        titles_[side]->setText(side == 0 ? tr("<b>Dense</b>: open a checkpoint") : tr("<b>Pruned</b>: no run chosen"));
        updateButtons();
        return;
    }
    const QString name = QFileInfo(QDir::cleanPath(dir)).fileName();
    titles_[side]->setText(tr("<b>%1</b>: %2 — loading…").arg(who, name.toHtmlEscaped()));
    s.busy = true;
    updateButtons();
    const bool tests = images_->item(0)->data(kImageRole).isNull();
    auto* watcher = new QFutureWatcher<Loaded>(this);
    connect(watcher, &QFutureWatcher<Loaded>::finished, this, [this, watcher, side, serial, who, name] {
        const Loaded r = watcher->result();
        watcher->deleteLater();
        for (size_t i = 0; i < r.tests.size() && static_cast<int>(i) < images_->count(); ++i) {
            const TestImage& t = r.tests[i];
            QListWidgetItem* item = images_->item(static_cast<int>(i));
            item->setText(tr("test image %1 — %2").arg(i).arg(QString::fromStdString(t.label)));
            item->setData(kImageRole, QVariant::fromValue(QImage(t.rgb.data(), t.width, t.height, t.width * 3, QImage::Format_RGB888).copy()));
        }
        if (!r.tests.empty()) showPicture();
        Side& s = sides_[side];
        if (serial != s.serial) return;
        s.busy = false;
        s.session = r.session;
        if (!r.session) {
            titles_[side]->setText(tr("<b>%1</b>: %2").arg(who, name.toHtmlEscaped()));
            answers_[side]->setStyleSheet("color:#a02020");
            answers_[side]->setPlainText(tr("This model cannot answer: %1").arg(r.error));
        } else {
            titles_[side]->setText(tr("<b>%1</b>: %2").arg(who, name.toHtmlEscaped()));
        }
        updateButtons();
        Q_EMIT loaded(side, r.error);
    });
    watcher->setFuture(QtConcurrent::run([dir, tests] {
        Loaded r;
        try {
            if (tests) r.tests = AskSession::test_images(kTestImages);
        } catch (const std::exception&) {  // no test images to show: the list keeps its numbers
        }
        try {
            r.session = std::make_shared<const AskSession>(dir.toStdString());
        } catch (const std::exception& e) {
            r.error = QString::fromUtf8(e.what());
        }
        return r;
    }));
}

void AskPanel::ask() {
    if (question_->text().trimmed().isEmpty() || !images_->currentItem()) return;
    const QListWidgetItem* item = images_->currentItem();
    prompt_->setText(tr("Asked about %1: “%2” — greedy, at most 64 new tokens, in each checkpoint's chat format.")
                         .arg(item->text(), question_->text().trimmed()));
    for (int side = 0; side < 2; ++side)
        if (sides_[side].session) answer(side);
}

void AskPanel::answer(int side) {
    Side& s = sides_[side];
    if (s.job) s.job->cancel();
    auto job = std::make_shared<JobControl>();
    s.job = job;
    s.busy = true;
    const int serial = ++s.serial;
    const QListWidgetItem* item = images_->currentItem();
    AskRequest request;
    request.image = item->data(kPathRole).toString().toStdString();
    request.test_image = item->data(kTestIndexRole).toInt();
    request.question = question_->text().trimmed().toStdString();
    answers_[side]->setStyleSheet(QString());
    answers_[side]->setPlainText(QString());
    updateButtons();

    // The worker reports each partial answer through a queued call; a newer question or model makes
    // it stale (serial), and a deleted panel drops it (QPointer).
    const QPointer<AskPanel> self(this);
    auto onPartial = [self, side, serial](const std::string& text) {
        const QString t = QString::fromStdString(text);
        QMetaObject::invokeMethod(
            self.data(),
            [self, side, serial, t] {
                if (!self || self->sides_[side].serial != serial) return;
                self->answers_[side]->setPlainText(t);
                Q_EMIT self->partial(side, t);
            },
            Qt::QueuedConnection);
    };
    struct Answer {
        QString text, problem;
    };
    auto* watcher = new QFutureWatcher<Answer>(this);
    connect(watcher, &QFutureWatcher<Answer>::finished, this, [this, watcher, side, serial] {
        const Answer a = watcher->result();
        watcher->deleteLater();
        Side& s = sides_[side];
        if (serial != s.serial) return;
        s.busy = false;
        s.job.reset();
        if (a.problem.isEmpty()) {
            answers_[side]->setPlainText(a.text);
        } else {
            answers_[side]->setStyleSheet("color:#a02020");
            answers_[side]->appendPlainText(a.problem);
        }
        updateButtons();
        Q_EMIT answered(side, a.text, a.problem);
    });
    watcher->setFuture(QtConcurrent::run([session = s.session, request, job, onPartial] {
        Answer a;
        try {
            a.text = QString::fromStdString(session->ask(request, onPartial, *job));
        } catch (const Cancelled&) {
            a.problem = tr("(stopped)");
        } catch (const std::exception& e) {
            a.problem = QString::fromUtf8(e.what());
        }
        return a;
    }));
}

void AskPanel::stop() {
    for (Side& s : sides_)
        if (s.job) s.job->cancel();
}

void AskPanel::updateButtons() {
    const bool answering = (sides_[0].job != nullptr) || (sides_[1].job != nullptr);
    askButton_->setEnabled(sides_[0].session != nullptr || sides_[1].session != nullptr);
    stopButton_->setEnabled(answering);
}

void AskPanel::addImage(const QString& path) {
    auto* item = new QListWidgetItem(QFileInfo(path).fileName(), images_);
    item->setData(kPathRole, path);
    item->setToolTip(path);
    images_->setCurrentItem(item);
}

void AskPanel::showPicture() {
    const QListWidgetItem* item = images_->currentItem();
    if (!item) return;
    const QString path = item->data(kPathRole).toString();
    const QImage image = path.isEmpty() ? item->data(kImageRole).value<QImage>() : QImage(path);
    if (image.isNull()) {
        picture_->setText(path.isEmpty() ? tr("(test image)") : tr("cannot show %1").arg(QFileInfo(path).fileName()));
        return;
    }
    picture_->setPixmap(QPixmap::fromImage(image).scaled(kPicture, kPicture, Qt::KeepAspectRatio,
                                                         image.width() < 64 ? Qt::FastTransformation : Qt::SmoothTransformation));
}

void AskPanel::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void AskPanel::dropEvent(QDropEvent* event) {
    for (const QUrl& url : event->mimeData()->urls())
        if (url.isLocalFile()) addImage(url.toLocalFile());
    event->acceptProposedAction();
}

}  // namespace ps
