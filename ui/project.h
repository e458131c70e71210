// A PruneStudio project (.psproj, JSON): the open checkpoint, the current Plan, the run and
// sweep folders finished so far, and the caption folders used as calibration data, so a session
// can be closed and picked up again. Saved atomically.
#pragma once
#include <QString>
#include <QStringList>

#include "core/job/plan.h"

namespace ps {

struct Project {
    QString model;     // checkpoint folder; empty: none open
    Plan plan;
    QStringList runs;    // finished run folders, oldest first
    QStringList sweeps;  // sweep folders (sweep.json and its cache), oldest first
    QStringList calibrationFolders;  // caption folders offered as calibration data

    // Throws ps::Error naming the file: unreadable, not JSON, not a project, or a bad Plan inside.
    static Project load(const QString& path);
    void save(const QString& path) const;
};

}  // namespace ps
