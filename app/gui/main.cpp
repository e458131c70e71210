// prunestudio: the desktop front end. Opens the project (.psproj) or checkpoint folder given as the
// first argument, if any.
#include <QApplication>
#include <QStringList>

#include "core/prune/plugins.h"
#include "ui/main_window.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName("PruneStudio");
    QApplication::setOrganizationName("PruneStudio");
    QApplication::setApplicationVersion(PRUNESTUDIO_VERSION);
    ps::load_default_plugins();  // methods and allocators from plugins; failures are warnings on stderr

    ps::MainWindow window;
    const QStringList args = QApplication::arguments();
    if (args.size() > 1) {
        if (args.at(1).endsWith(".psproj")) window.openProject(args.at(1));
        else window.openCheckpoint(args.at(1));
    }
    window.show();
    return app.exec();
}
