// Project files: a project saved and loaded again has the same checkpoint, Plan, runs, sweeps and
// calibration folders (a project written before those were kept loads without any); a file
// that is not a project, a newer version, or one with a bad Plan is refused with an error naming
// the file; saving over a project replaces it whole (no temporary left); a project the first
// release wrote opens with its Plan intact.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include "tests/test_support.h"
#include "ui/project.h"

class TestProject : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

private Q_SLOTS:
    // A project the first release wrote, with a Plan of every section: its Plan is the Plan file's.
    void firstReleaseProjectOpens() {
        const QString dir = QString(PS_SOURCE_DIR) + "/tests/data/projects/";
        const ps::Project p = ps::Project::load(dir + "every-section.psproj");
        const ps::Plan plan = ps::Plan::load((dir + "plan-every-section.json").toStdString());
        QCOMPARE(QString::fromStdString(p.plan.to_json().dump()), QString::fromStdString(plan.to_json().dump()));
        QCOMPARE(p.plan.name, std::string("Every section, as the first release wrote it"));
        QVERIFY(p.model.isEmpty() && p.runs.isEmpty());
    }

    void roundTrip() {
        ps::Project p;
        p.model = "/models/clip";
        p.plan.method = "sparsegpt";
        p.plan.sparsity = 0.7;
        p.plan.overrides["text_model.encoder.layer.0.attention.self.query"] = 0.2;
        p.runs = {"/runs/a", "/runs/b"};
        p.sweeps = {"/sweeps/methods"};
        p.calibrationFolders = {"/data/captions", "/data/more captions"};
        const QString path = tmp_.filePath("p.psproj");
        p.save(path);
        p.runs.append("/runs/c");
        p.save(path);
        const ps::Project q = ps::Project::load(path);
        QCOMPARE(q.model, p.model);
        QVERIFY(q.plan.to_json() == p.plan.to_json());
        QCOMPARE(q.runs, p.runs);
        QCOMPARE(q.sweeps, p.sweeps);
        QCOMPARE(q.calibrationFolders, p.calibrationFolders);
        QCOMPARE(QDir(tmp_.path()).entryList(QDir::Files | QDir::Hidden), QStringList{"p.psproj"});
        const QString older = tmp_.filePath("older.psproj");
        ps_test::write_bytes(older, R"({"format": "prunestudio-project", "version": 1, "model": "/m", "plan": {}, "runs": ["/r"]})");
        const ps::Project o = ps::Project::load(older);
        QCOMPARE(o.runs, QStringList{"/r"});
        QVERIFY(o.calibrationFolders.isEmpty());
        QFile::remove(older);
    }

    void badFilesAreNamed() {
        const QString notProject = tmp_.filePath("x.psproj"), newer = tmp_.filePath("newer.psproj"),
                      badPlan = tmp_.filePath("bad.psproj"), missing = tmp_.filePath("missing.psproj");
        ps_test::write_bytes(notProject, R"({"model": "/m"})");
        ps_test::write_bytes(newer, R"({"format": "prunestudio-project", "version": 2, "plan": {}})");
        ps_test::write_bytes(badPlan, R"({"format": "prunestudio-project", "version": 1, "plan": {"sparsity": 1.5}})");
        const auto error = [](const QString& path) { return ps_test::error_of([&] { ps::Project::load(path); }); };
        QVERIFY2(error(notProject).startsWith(notProject + ": is not a PruneStudio project"), qPrintable(error(notProject)));
        QVERIFY2(error(newer).startsWith(newer + ": version 2 is not supported"), qPrintable(error(newer)));
        QVERIFY2(error(badPlan).contains(badPlan) && error(badPlan).contains("sparsity"), qPrintable(error(badPlan)));
        QVERIFY2(error(missing).startsWith(missing), qPrintable(error(missing)));
    }
};

QTEST_GUILESS_MAIN(TestProject)
#include "test_project.moc"
