#include "ui/token_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMimeData>
#include <QPainter>
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <cmath>
#include <exception>
#include <utility>
#include <vector>

#include "core/job/heatmap_session.h"
#include "core/token/token_method.h"

namespace ps {
namespace {

constexpr int kTestImages = 12;
constexpr int kPathRole = Qt::UserRole;       // an image file, or empty for a test image
constexpr int kTestIndexRole = Qt::UserRole + 1;

// The metrics a model may offer, in the order the box lists them, with their labels.
const std::vector<std::pair<const char*, const char*>>& metricLabels() {
    static const std::vector<std::pair<const char*, const char*>> labels = {
        {"cls", QT_TRANSLATE_NOOP("ps::TokenView", "[CLS] attention")},
        {"received", QT_TRANSLATE_NOOP("ps::TokenView", "attention received")},
        {"cim", QT_TRANSLATE_NOOP("ps::TokenView", "CoMP CIT (head-masked)")},
        {"text", QT_TRANSLATE_NOOP("ps::TokenView", "text-guided (question → image tokens)")}};
    return labels;
}

struct Loaded {
    std::shared_ptr<const HeatmapSession> session;
    std::vector<std::string> metrics, methods;
    std::string limits;
    std::vector<std::string> classes;  // of the test images, once
    QString error;
};

struct Rendered {
    std::shared_ptr<HeatmapImage> image;
    QString error;
};

struct Compared {
    std::vector<HeatmapImage> images;
    QString error;
};

// A method's caption: its name, what it keeps of the grid, and the attention it needs.
QString caption(const HeatmapImage& h) {
    const TokenMethod* m = find_token_method(h.method);
    const auto n = static_cast<qsizetype>(h.grid.scores.size());
    const auto dropped = std::count(h.grid.dropped.begin(), h.grid.dropped.end(), 1);
    const auto merged = m && m->merges ? std::count(h.grid.scores.begin(), h.grid.scores.end(), 0.5f) : 0;
    QString text = QString("%1: %2/%3").arg(QString::fromStdString(m ? m->display : h.method)).arg(n - dropped - merged).arg(n);
    if (merged) text += QString(" +%1 merged").arg(merged);
    return text + (m && m->attention == "none" ? QString(", fused") : QString());
}

// The images side by side in the grid whose shape fills `area` best, each with its caption above it.
QImage composeGrid(const std::vector<HeatmapImage>& images, const QSize& area) {
    const int count = static_cast<int>(images.size()), cell = 240, label = 30, gap = 8;
    int cols = 1;
    double best = 0;
    for (int c = 1; c <= count; ++c) {  // the most pixels a panel gets once the grid is scaled into the area
        const int r = (count + c - 1) / c;
        const double scale = std::min(area.width() / double((cell + gap) * c + gap), area.height() / double((cell + label + gap) * r + gap));
        if (scale > best + 1e-9) best = scale, cols = c;
    }
    const int rows = (count + cols - 1) / cols;
    QImage out((cell + gap) * cols + gap, (cell + label + gap) * rows + gap, QImage::Format_RGB888);
    out.fill(Qt::white);
    QPainter p(&out);
    p.setRenderHint(QPainter::SmoothPixmapTransform);
    QFont font = p.font();
    font.setPixelSize(17);
    p.setFont(font);
    for (int i = 0; i < count; ++i) {
        const HeatmapImage& h = images[static_cast<size_t>(i)];
        const int x = gap + (i % cols) * (cell + gap), y = gap + (i / cols) * (cell + label + gap);
        p.setPen(Qt::black);
        p.drawText(QRect(x, y, cell, label), Qt::AlignCenter, caption(h));
        const QImage img(h.rgb.data(), h.width, h.height, h.width * 3, QImage::Format_RGB888);
        p.drawImage(QRect(x, y + label, cell, cell), img.scaled(cell, cell, Qt::KeepAspectRatio, Qt::SmoothTransformation));
    }
    return out;
}

}  // namespace

TokenView::TokenView(QWidget* parent)
    : QWidget(parent),
      model_(new QComboBox(this)),
      images_(new QListWidget(this)),
      metric_(new QComboBox(this)),
      compare_(new QCheckBox(tr("Compare token methods"), this)),
      block_(new QSlider(Qt::Horizontal, this)),
      keep_(new QSlider(Qt::Horizontal, this)),
      blockValue_(new QLabel(this)),
      keepValue_(new QLabel(this)),
      picture_(new QLabel(this)),
      info_(new QLabel(this)) {
    setAcceptDrops(true);
    for (int i = 0; i < kTestImages; ++i) {
        auto* item = new QListWidgetItem(tr("test image %1").arg(i), images_);
        item->setData(kTestIndexRole, i);
    }
    images_->setToolTip(tr("Fashion-MNIST test images; drop your own images on the tab or use Add…"));
    model_->setToolTip(tr("The model whose attention is shown: the dense checkpoint, or one of the pruned runs"));
    model_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    model_->setMinimumContentsLength(14);
    metric_->setToolTip(tr("How a token's importance is measured; only the metrics this model supports are listed"));
    compare_->setToolTip(tr("Every token method this model can show, side by side over the image: what each keeps at the keep ratio"));
    auto* add = new QPushButton(tr("Add images…"), this);
    block_->setRange(0, 0);
    keep_->setRange(5, 100);
    keep_->setValue(100);
    keep_->setToolTip(tr("Tokens run-time pruning keeps; the ones it drops are dimmed and hatched"));
    picture_->setAlignment(Qt::AlignCenter);
    picture_->setMinimumSize(240, 240);
    picture_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Ignored);
    picture_->installEventFilter(this);
    info_->setWordWrap(true);
    info_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    info_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* side = new QVBoxLayout;
    auto* controls = new QFormLayout;
    auto slider = [&](QSlider* s, QLabel* value) {
        auto* row = new QHBoxLayout;
        row->addWidget(s, 1);
        value->setMinimumWidth(48);
        row->addWidget(value);
        return row;
    };
    controls->addRow(tr("Model"), model_);
    side->addLayout(controls);
    side->addWidget(images_, 1);
    side->addWidget(add);
    auto* scoring = new QFormLayout;
    scoring->addRow(tr("Metric"), metric_);
    scoring->addRow(tr("Block"), slider(block_, blockValue_));
    scoring->addRow(tr("Keep"), slider(keep_, keepValue_));
    side->addLayout(scoring);
    side->addWidget(compare_);
    auto* sideWidget = new QWidget(this);
    sideWidget->setLayout(side);
    sideWidget->setMaximumWidth(300);
    auto* main = new QVBoxLayout;
    main->addWidget(picture_, 1);
    main->addWidget(info_);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(sideWidget);
    layout->addLayout(main, 1);

    connect(model_, &QComboBox::currentIndexChanged, this, [this] { load(model_->currentData().toString()); });
    connect(images_, &QListWidget::currentRowChanged, this, &TokenView::request);
    connect(metric_, &QComboBox::currentIndexChanged, this, [this] {
        if (!session_ || metric_->currentIndex() < 0) return;
        const int blocks = session_->blocks(metric_->currentData().toString().toStdString());
        {
            const QSignalBlocker b(block_);
            block_->setRange(0, blocks - 1);
            block_->setValue(blocks - 1);
        }
        request();
    });
    connect(block_, &QSlider::valueChanged, this, &TokenView::request);
    connect(keep_, &QSlider::valueChanged, this, &TokenView::request);
    connect(compare_, &QCheckBox::toggled, this, [this](bool on) {
        metric_->setEnabled(!on && session_);
        block_->setEnabled(!on && session_);
        request();
    });
    connect(add, &QPushButton::clicked, this, [this] {
        for (const QString& f : QFileDialog::getOpenFileNames(this, tr("Add images"), QString(), tr("Images (*.png *.jpg *.jpeg *.bmp *.webp)")))
            addImage(f);
    });
    info_->setText(tr("Open a checkpoint to see which tokens its blocks attend to."));
}

TokenView::~TokenView() = default;

void TokenView::setCheckpoint(const QString& dir) {
    const QSignalBlocker b(model_);
    model_->clear();
    model_->addItem(tr("dense: %1").arg(QFileInfo(QDir::cleanPath(dir)).fileName()), dir);
    model_->setItemData(0, QDir::toNativeSeparators(dir), Qt::ToolTipRole);
    load(dir);
}

void TokenView::setRuns(const QStringList& runs) {
    if (model_->count() == 0) return;  // no checkpoint: runs are of none
    const QSignalBlocker b(model_);
    const QString shown = model_->currentData().toString();
    while (model_->count() > 1) model_->removeItem(1);
    for (const QString& r : runs) {
        model_->addItem(tr("pruned: %1").arg(QFileInfo(r).fileName()), r);
        model_->setItemData(model_->count() - 1, QDir::toNativeSeparators(r), Qt::ToolTipRole);
    }
    model_->setCurrentIndex(std::max(0, model_->findData(shown)));
    if (model_->currentData().toString() != shown) load(model_->currentData().toString());
}

QString TokenView::modelName() const {
    const QString name = QFileInfo(QDir::cleanPath(model_->currentData().toString())).fileName();
    return model_->currentIndex() == 0 ? tr("the dense model (%1)").arg(name) : tr("the pruned run %1").arg(name);
}

void TokenView::load(const QString& dir) {
    session_.reset();
    current_.reset();
    picture_->clear();
    compared_.clear();
    for (QWidget* w : std::initializer_list<QWidget*>{metric_, block_, keep_, compare_}) w->setEnabled(false);  // until scored
    info_->setStyleSheet(QString());
    info_->setText(tr("Loading %1 for token scoring…").arg(QDir::toNativeSeparators(dir)));
    const int serial = ++serial_;
    const bool classes = !classesShown_;
    auto* watcher = new QFutureWatcher<Loaded>(this);
    connect(watcher, &QFutureWatcher<Loaded>::finished, this, [this, watcher, serial] {
        const Loaded r = watcher->result();
        watcher->deleteLater();
        if (serial != serial_) return;
        for (size_t i = 0; i < r.classes.size() && static_cast<int>(i) < images_->count(); ++i)
            images_->item(static_cast<int>(i))->setText(tr("test image %1 — %2").arg(i).arg(QString::fromStdString(r.classes[i])));
        classesShown_ = classesShown_ || !r.classes.empty();
        if (!r.session) {
            showProblem(tr("No token heatmaps for %1: %2").arg(modelName(), r.error));
            return;
        }
        session_ = r.session;
        limits_ = QString::fromStdString(r.limits);
        methods_ = r.methods;
        for (QWidget* w : std::initializer_list<QWidget*>{metric_, block_, keep_}) w->setEnabled(!compare_->isChecked() || w == keep_);
        compare_->setEnabled(!methods_.empty());
        if (methods_.empty()) {
            compare_->setChecked(false);
            compare_->setToolTip(tr("Token methods are compared side by side on models whose image tokens are their vision patches one "
                                    "for one (LLaVA-1.5, the generative default)"));
        }
        {
            const QSignalBlocker b(metric_);
            const QString chosen = metric_->currentData().toString();
            metric_->clear();
            for (const auto& [id, label] : metricLabels())
                if (std::find(r.metrics.begin(), r.metrics.end(), id) != r.metrics.end()) metric_->addItem(tr(label), id);
            metric_->setCurrentIndex(std::max(0, metric_->findData(chosen)));
            const int blocks = session_->blocks(metric_->currentData().toString().toStdString());
            const QSignalBlocker bb(block_);
            block_->setRange(0, blocks - 1);
            block_->setValue(blocks - 1);
        }
        Q_EMIT ready(block_->maximum() + 1);
        if (images_->currentRow() < 0) images_->setCurrentRow(0);  // requests the first heatmap
        else request();
    });
    watcher->setFuture(QtConcurrent::run([dir, classes] {
        Loaded r;
        try {
            if (classes) r.classes = HeatmapSession::test_image_classes(kTestImages);
        } catch (const std::exception&) {  // no test images to label: the list keeps its numbers
        }
        try {
            auto s = std::make_shared<const HeatmapSession>(dir.toStdString());
            r.metrics = s->metrics();
            r.methods = s->token_methods();
            r.limits = s->limits();
            r.session = std::move(s);
        } catch (const std::exception& e) {
            r.error = QString::fromUtf8(e.what());
        }
        return r;
    }));
}

void TokenView::showProblem(const QString& message) {
    current_.reset();
    compared_.clear();
    picture_->clear();
    info_->setStyleSheet("color:#a02020");
    info_->setText(message);
    Q_EMIT failed(message);
}

void TokenView::addImage(const QString& path) {
    auto* item = new QListWidgetItem(QFileInfo(path).fileName(), images_);
    item->setData(kPathRole, path);
    item->setToolTip(path);
    images_->setCurrentItem(item);
}

void TokenView::request() {
    blockValue_->setText(QString::number(block_->value()));
    keepValue_->setText(QString("%1 %").arg(keep_->value()));
    const QListWidgetItem* item = images_->currentItem();
    if (!session_ || !item || metric_->currentIndex() < 0) return;
    HeatmapRequest r;
    r.image = item->data(kPathRole).toString().toStdString();
    r.test_image = item->data(kTestIndexRole).toInt();
    r.block = block_->value();
    r.metric = metric_->currentData().toString().toStdString();
    r.keep = keep_->value() / 100.0;
    const int serial = ++serial_;
    if (compare_->isChecked()) {
        requestComparison(r, serial);
        return;
    }
    auto* watcher = new QFutureWatcher<Rendered>(this);
    connect(watcher, &QFutureWatcher<Rendered>::finished, this, [this, watcher, serial, r] {
        const Rendered out = watcher->result();
        watcher->deleteLater();
        if (serial != serial_) return;  // a newer request is on its way
        if (!out.image) {
            showProblem(out.error);
            return;
        }
        current_ = std::make_unique<HeatmapImage>(*out.image);
        compared_.clear();
        const auto [lo, hi] = std::minmax_element(current_->grid.scores.begin(), current_->grid.scores.end());
        const auto dropped = std::count(current_->grid.dropped.begin(), current_->grid.dropped.end(), 1);
        QString text = tr("%1 of %2 at %3 block %4: %5×%6 tokens, scores %7 … %8; keep %9 % drops %10 (dimmed, hatched)")
                           .arg(metric_->currentText(), modelName(), QString::fromStdString(current_->tower))
                           .arg(current_->block)
                           .arg(current_->grid.rows)
                           .arg(current_->grid.cols)
                           .arg(*lo, 0, 'g', 4)
                           .arg(*hi, 0, 'g', 4)
                           .arg(100 * r.keep, 0, 'f', 0)
                           .arg(dropped);
        if (!limits_.isEmpty()) text += "\n" + limits_;
        info_->setStyleSheet(QString());
        info_->setText(text);
        showPicture();
        Q_EMIT rendered();
    });
    watcher->setFuture(QtConcurrent::run([session = session_, r] {
        Rendered out;
        try {
            out.image = std::make_shared<HeatmapImage>(session->render(r));
        } catch (const std::exception& e) {
            out.error = QString::fromUtf8(e.what());
        }
        return out;
    }));
}

void TokenView::requestComparison(const HeatmapRequest& r, int serial) {
    auto* watcher = new QFutureWatcher<Compared>(this);
    connect(watcher, &QFutureWatcher<Compared>::finished, this, [this, watcher, serial, r] {
        const Compared out = watcher->result();
        watcher->deleteLater();
        if (serial != serial_) return;
        if (out.images.empty()) {
            showProblem(out.error);
            return;
        }
        current_.reset();
        compared_ = out.images;
        comparison_ = composeGrid(compared_, picture_->size());
        info_->setStyleSheet(QString());
        info_->setText(tr("%1 token methods of %2 at keep %3 %: bright tokens are kept, half-bright ones merged into contextual "
                          "tokens, dimmed and hatched ones dropped; \"fused\" methods read no attention map and keep fused "
                          "attention in every block")
                           .arg(compared_.size())
                           .arg(modelName())
                           .arg(100 * r.keep, 0, 'f', 0));
        showPicture();
        Q_EMIT rendered();
    });
    watcher->setFuture(QtConcurrent::run([session = session_, r, methods = methods_] {
        Compared out;
        try {
            out.images = session->compare(r, methods);
        } catch (const std::exception& e) {
            out.error = QString::fromUtf8(e.what());
        }
        return out;
    }));
}

void TokenView::showPicture() {
    if (!compared_.empty()) {
        picture_->setPixmap(QPixmap::fromImage(comparison_).scaled(picture_->size(), Qt::KeepAspectRatio, Qt::SmoothTransformation));
        return;
    }
    if (!current_) return;
    const QImage image(current_->rgb.data(), current_->width, current_->height, current_->width * 3, QImage::Format_RGB888);
    picture_->setPixmap(QPixmap::fromImage(image).scaled(picture_->size(), Qt::KeepAspectRatio, Qt::SmoothTransformation));
}

void TokenView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    showPicture();
}

bool TokenView::eventFilter(QObject* watched, QEvent* event) {
    if (watched == picture_ && event->type() == QEvent::Resize) {  // also when the text below it takes more lines
        if (!compared_.empty()) comparison_ = composeGrid(compared_, picture_->size());  // the grid's shape follows the area
        showPicture();
    }
    return QWidget::eventFilter(watched, event);
}

void TokenView::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void TokenView::dropEvent(QDropEvent* event) {
    for (const QUrl& url : event->mimeData()->urls())
        if (url.isLocalFile()) addImage(url.toLocalFile());
    event->acceptProposedAction();
}

}  // namespace ps
