// The Help menu's pages, shown in the app and offline: the README's quick start, the keyboard
// shortcuts of every action, and the guides under docs/ (embedded at build time), as rendered
// Markdown in a window of their own.
#pragma once
#include <QDialog>
#include <QList>
#include <QString>

class QAction;
class QTextBrowser;

namespace ps {

class HelpBrowser : public QDialog {
    Q_OBJECT
public:
    HelpBrowser(const QString& title, const QString& markdown, QWidget* parent = nullptr);

    QTextBrowser* browser() const { return browser_; }

    // The section under "## Quick start" of the embedded README.md.
    static QString quickStart();
    // A table of the actions' texts and shortcuts (those without a shortcut left out).
    static QString shortcuts(const QList<QAction*>& actions);
    // The embedded guides: {title, Markdown}, in the order docs/ lists them (by file name).
    static QList<QPair<QString, QString>> guides();

private:
    QTextBrowser* browser_;
};

}  // namespace ps
