#include "ui/token_view.h"

#include <QComboBox>
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
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <exception>

#include "core/token/heatmap_session.h"

namespace ps {
namespace {

constexpr int kTestImages = 12;
constexpr int kPathRole = Qt::UserRole;       // an image file, or empty for a test image
constexpr int kTestIndexRole = Qt::UserRole + 1;

struct Loaded {
    std::shared_ptr<const HeatmapSession> session;
    int blocks = 0;
    QString error;
};

struct Rendered {
    std::shared_ptr<HeatmapImage> image;
    QString error;
};

}  // namespace

TokenView::TokenView(QWidget* parent)
    : QWidget(parent),
      images_(new QListWidget(this)),
      metric_(new QComboBox(this)),
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
    auto* add = new QPushButton(tr("Add images…"), this);
    metric_->addItem(tr("[CLS] attention"), "cls");
    metric_->addItem(tr("attention received"), "received");
    metric_->addItem(tr("CoMP CIT (head-masked)"), "cim");
    metric_->addItem(tr("text-guided (LLaVA)"), "text");
    block_->setRange(0, 0);
    keep_->setRange(5, 100);
    keep_->setValue(100);
    keep_->setToolTip(tr("Tokens run-time pruning keeps; the ones it drops are dimmed and hatched"));
    picture_->setAlignment(Qt::AlignCenter);
    picture_->setMinimumSize(240, 240);
    picture_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Ignored);
    info_->setWordWrap(true);
    info_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

    auto* side = new QVBoxLayout;
    side->addWidget(images_, 1);
    side->addWidget(add);
    auto* controls = new QFormLayout;
    auto slider = [&](QSlider* s, QLabel* value) {
        auto* row = new QHBoxLayout;
        row->addWidget(s, 1);
        value->setMinimumWidth(48);
        row->addWidget(value);
        return row;
    };
    controls->addRow(tr("Metric"), metric_);
    controls->addRow(tr("Block"), slider(block_, blockValue_));
    controls->addRow(tr("Keep"), slider(keep_, keepValue_));
    side->addLayout(controls);
    auto* sideWidget = new QWidget(this);
    sideWidget->setLayout(side);
    sideWidget->setMaximumWidth(280);
    auto* main = new QVBoxLayout;
    main->addWidget(picture_, 1);
    main->addWidget(info_);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(sideWidget);
    layout->addLayout(main, 1);

    connect(images_, &QListWidget::currentRowChanged, this, &TokenView::request);
    connect(metric_, &QComboBox::currentIndexChanged, this, [this] {
        if (!session_) return;
        try {
            const int blocks = session_->blocks(metric_->currentData().toString().toStdString());
            const QSignalBlocker b(block_);
            block_->setRange(0, blocks - 1);
            block_->setValue(blocks - 1);
        } catch (const std::exception& e) {
            Q_EMIT failed(QString::fromUtf8(e.what()));
        }
        request();
    });
    connect(block_, &QSlider::valueChanged, this, &TokenView::request);
    connect(keep_, &QSlider::valueChanged, this, &TokenView::request);
    connect(add, &QPushButton::clicked, this, [this] {
        for (const QString& f : QFileDialog::getOpenFileNames(this, tr("Add images"), QString(), tr("Images (*.png *.jpg *.jpeg *.bmp *.webp)")))
            addImage(f);
    });
    info_->setText(tr("Open a checkpoint to see which tokens its blocks attend to."));
}

TokenView::~TokenView() = default;

void TokenView::setCheckpoint(const QString& dir) {
    session_.reset();
    current_.reset();
    picture_->clear();
    info_->setText(tr("Loading %1 for token scoring…").arg(dir));
    const int serial = ++serial_;
    auto* watcher = new QFutureWatcher<Loaded>(this);
    connect(watcher, &QFutureWatcher<Loaded>::finished, this, [this, watcher, serial] {
        const Loaded r = watcher->result();
        watcher->deleteLater();
        if (serial != serial_) return;
        if (!r.session) {
            info_->setText(r.error);
            Q_EMIT failed(r.error);
            return;
        }
        session_ = r.session;
        {
            const QSignalBlocker b(block_);
            block_->setRange(0, r.blocks - 1);
            block_->setValue(r.blocks - 1);
        }
        Q_EMIT ready(r.blocks);
        if (images_->currentRow() < 0) images_->setCurrentRow(0);  // requests the first heatmap
        else request();
    });
    watcher->setFuture(QtConcurrent::run([dir] {
        Loaded r;
        try {
            auto s = std::make_shared<const HeatmapSession>(dir.toStdString());
            r.blocks = s->blocks("cls");
            r.session = std::move(s);
        } catch (const std::exception& e) {
            r.error = QString::fromUtf8(e.what());
        }
        return r;
    }));
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
    if (!session_ || !item) return;
    HeatmapRequest r;
    r.image = item->data(kPathRole).toString().toStdString();
    r.test_image = item->data(kTestIndexRole).toInt();
    r.block = block_->value();
    r.metric = metric_->currentData().toString().toStdString();
    r.keep = keep_->value() / 100.0;
    const int serial = ++serial_;
    auto* watcher = new QFutureWatcher<Rendered>(this);
    connect(watcher, &QFutureWatcher<Rendered>::finished, this, [this, watcher, serial, r] {
        const Rendered out = watcher->result();
        watcher->deleteLater();
        if (serial != serial_) return;  // a newer request is on its way
        if (!out.image) {
            info_->setText(out.error);
            Q_EMIT failed(out.error);
            return;
        }
        current_ = std::make_unique<HeatmapImage>(*out.image);
        const auto [lo, hi] = std::minmax_element(current_->grid.scores.begin(), current_->grid.scores.end());
        const auto dropped = std::count(current_->grid.dropped.begin(), current_->grid.dropped.end(), 1);
        info_->setText(tr("%1 at %2 block %3: %4×%5 tokens, scores %6 … %7; keep %8 % drops %9 (dimmed, hatched)")
                           .arg(metric_->currentText(), QString::fromStdString(current_->tower))
                           .arg(current_->block)
                           .arg(current_->grid.rows)
                           .arg(current_->grid.cols)
                           .arg(*lo, 0, 'g', 4)
                           .arg(*hi, 0, 'g', 4)
                           .arg(100 * r.keep, 0, 'f', 0)
                           .arg(dropped));
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

void TokenView::showPicture() {
    if (!current_) return;
    const QImage image(current_->rgb.data(), current_->width, current_->height, current_->width * 3, QImage::Format_RGB888);
    picture_->setPixmap(QPixmap::fromImage(image).scaled(picture_->size(), Qt::KeepAspectRatio, Qt::SmoothTransformation));
}

void TokenView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    showPicture();
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
