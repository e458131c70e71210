#include "ui/help_browser.h"

#include <QAction>
#include <QDialogButtonBox>
#include <QDir>
#include <QFile>
#include <QRegularExpression>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace ps {
namespace {

QString readResource(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

}  // namespace

HelpBrowser::HelpBrowser(const QString& title, const QString& markdown, QWidget* parent)
    : QDialog(parent), browser_(new QTextBrowser(this)) {
    setWindowTitle(title);
    setAttribute(Qt::WA_DeleteOnClose);
    resize(860, 720);
    browser_->setOpenExternalLinks(true);
    browser_->setSearchPaths({":/help", ":/help/docs"});
    browser_->setMarkdown(markdown);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::close);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(browser_, 1);
    layout->addWidget(buttons);
}

QString HelpBrowser::quickStart() {
    const QString readme = readResource(":/help/README.md");
    const qsizetype start = readme.indexOf("## Quick start");
    if (start < 0) return tr("The quick start is in README.md.");
    const qsizetype end = readme.indexOf(QRegularExpression("\n## "), start + 3);
    return readme.mid(start, end < 0 ? -1 : end - start);
}

QString HelpBrowser::shortcuts(const QList<QAction*>& actions) {
    QString md = tr("## Keyboard shortcuts\n\n| action | shortcut |\n|---|---|\n");
    for (const QAction* a : actions)
        if (!a->shortcut().isEmpty())
            md += QString("| %1 | %2 |\n").arg(QString(a->text()).remove('&'), a->shortcut().toString(QKeySequence::NativeText));
    return md;
}

QList<QPair<QString, QString>> HelpBrowser::guides() {
    QList<QPair<QString, QString>> out;
    const QDir dir(":/help/docs");
    for (const QString& file : dir.entryList({"*.md"}, QDir::Files, QDir::Name)) {
        const QString text = readResource(dir.filePath(file));
        const QRegularExpressionMatch title = QRegularExpression("^# (.+)$", QRegularExpression::MultilineOption).match(text);
        out.append({title.hasMatch() ? title.captured(1).trimmed() : file, text});
    }
    return out;
}

}  // namespace ps
