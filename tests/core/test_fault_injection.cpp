// Faults injected into the long jobs on the default model. Cancel at seeded random points of prune,
// recover, sweep and export (every progress report is a point; a point past the last lets the job
// finish), and a write failure at a seeded random file size (RLIMIT_FSIZE: the write that passes it
// fails with EFBIG) during export and prune. After each trial: no temporary file or folder is left,
// the destination is absent or complete (it opens as a checkpoint with the files and tensor sizes
// of an uninterrupted run; a sweep folder holds only finished points, and finishing it gives the
// uninterrupted run's accuracies), and at the end the source checkpoint is byte-identical.
#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <filesystem>
#include <map>
#include <random>
#include <sys/resource.h>

#include "core/io/json_util.h"
#include "core/job/plan.h"
#include "core/job/prune_run.h"
#include "core/job/recover_run.h"
#include "core/job/sweep.h"
#include "core/model/model_map.h"
#include "core/report/export.h"
#include "tests/short_recovery_plan.h"
#include "tests/test_support.h"

namespace {

enum Op { Prune, Recover, Sweep, Export, kOps };
const char* const kOpNames[] = {"prune", "recover", "sweep", "export"};

// Relative path → size of every file below `dir`, and whether any name is a temporary's.
struct Listing {
    std::map<QString, qint64> files;
    bool temporaries = false;
};

Listing list(const QString& dir) {
    Listing l;
    QDirIterator it(dir, QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        const QFileInfo f = it.fileInfo();
        if (f.fileName().contains(".tmp")) l.temporaries = true;
        if (f.isFile()) l.files[QDir(dir).relativeFilePath(f.filePath())] = f.size();
    }
    return l;
}

QByteArray digest(const QString& dir) {
    QCryptographicHash h(QCryptographicHash::Sha256);
    for (const auto& [name, size] : list(dir).files) {
        QFile f(dir + "/" + name);
        if (!f.open(QIODevice::ReadOnly)) return {};
        h.addData(name.toUtf8());
        h.addData(&f);
    }
    return h.result();
}

// A job that cancels itself at its `at`-th progress report (1-based; 0: never) and counts them.
struct CancelAt {
    ps::JobControl job;
    std::shared_ptr<int64_t> reports = std::make_shared<int64_t>(0);
    explicit CancelAt(int64_t at) {
        job.on_progress = [r = reports, at, job = job](const ps::Progress&) {
            if (++*r == at) job.cancel();
        };
    }
};

// The file-size limit of this process for one scope; writes past it fail with EFBIG.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        getrlimit(RLIMIT_FSIZE, &saved_);
        rlimit l = saved_;
        l.rlim_cur = bytes;
        setrlimit(RLIMIT_FSIZE, &l);
    }
    ~FileSizeLimit() { setrlimit(RLIMIT_FSIZE, &saved_); }

private:
    rlimit saved_{};
};

}  // namespace

class TestFaultInjection : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QByteArray source_;     // digest of the default model
    QString pruned_;        // a pruned run: what recover and export start from
    ps::Plan prunePlan_;
    ps::SweepSpec spec_;
    std::array<int64_t, kOps> reports_{};            // progress reports of an uninterrupted run
    std::array<Listing, kOps> complete_{};           // its output
    std::vector<double> accuracies_;                 // the uninterrupted sweep's

    // Runs `op` into `out` (which must not exist); throws what the job throws.
    void run(Op op, const QString& out, const ps::JobControl& job) {
        const std::string o = out.toStdString();
        switch (op) {
            case Prune: ps::run_prune(prunePlan_, o, job); break;
            case Recover: {
                ps::Plan p = ps_test::short_recovery_plan(PS_DEFAULT_MODEL, 7);
                p.recovery.pruned = pruned_.toStdString();
                ps::run_recover(p, o, "", job);
                break;
            }
            case Sweep: ps::run_sweep(prunePlan_, spec_, o, job); break;
            case Export: ps::export_checkpoint(pruned_.toStdString(), o, {}, job); break;
            default: break;
        }
    }

    // The destination is absent or complete; nothing temporary is left in `parent`.
    void checkAbsentOrComplete(Op op, const QString& parent, const QString& out) {
        const Listing all = list(parent);
        QStringList names;
        for (const auto& [name, size] : all.files) names << name;
        QVERIFY2(!all.temporaries, qPrintable(names.join(", ")));
        for (const auto& [name, size] : all.files) QVERIFY2(name.startsWith(QFileInfo(out).fileName() + "/"), qPrintable(name));
        if (!QFileInfo::exists(out)) return;
        const Listing l = list(out);
        if (op == Sweep) {  // finished points only, each a whole JSON file
            for (const auto& [name, size] : l.files)
                ps::SweepPoint::from_json(ps::read_json_file((out + "/" + name).toStdString()), name.toStdString());
            const ps::SweepResult r = ps::run_sweep(prunePlan_, spec_, out.toStdString(), {});
            std::vector<double> acc;
            for (const ps::SweepPoint& p : r.points) acc.push_back(p.accuracy);
            QCOMPARE(acc, accuracies_);
            return;
        }
        QCOMPARE(l.files.size(), complete_[op].files.size());
        for (const auto& [name, size] : complete_[op].files) {
            QVERIFY2(l.files.count(name), qPrintable(name));
            if (name.endsWith(".safetensors")) QCOMPARE(l.files.at(name), size);
        }
        ps::inspect_checkpoint(out.toStdString());  // config and every header whole
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead
        source_ = digest(PS_DEFAULT_MODEL);
        QVERIFY(!source_.isEmpty());
        prunePlan_.model = PS_DEFAULT_MODEL;
        prunePlan_.method = "wanda";
        prunePlan_.sparsity = 0.5;
        prunePlan_.calibration.samples = 16;
        prunePlan_.calibration.batch_size = 16;
        prunePlan_.targets = {"vision_model\\.encoder\\.layer\\.[01]\\..*", "text_model\\.encoder\\.layer\\.0\\..*"};
        spec_.sparsities = {0.3, 0.6};
        spec_.eval_limit = 100;
        pruned_ = tmp_.filePath("pruned");
        ps::run_prune(prunePlan_, pruned_.toStdString(), {});
        for (int op = 0; op < kOps; ++op) {
            const QString out = tmp_.filePath(QString("complete_%1").arg(kOpNames[op]));
            CancelAt never(0);
            run(static_cast<Op>(op), out, never.job);
            reports_[op] = *never.reports;
            complete_[op] = list(out);
            QVERIFY2(reports_[op] >= 3, kOpNames[op]);
            qInfo("%s: %lld progress reports", kOpNames[op], static_cast<long long>(reports_[op]));
        }
        for (const auto& p : ps::run_sweep(prunePlan_, spec_, tmp_.filePath("complete_sweep").toStdString(), {}).points)
            accuracies_.push_back(p.accuracy);
    }

    void cancelAtRandomPoints() {
        std::mt19937_64 rng(20261201);
        int cancelled = 0, finished = 0;
        for (int trial = 0; trial < 52; ++trial) {
            const Op op = static_cast<Op>(trial % kOps);
            const int64_t at = std::uniform_int_distribution<int64_t>(1, reports_[op] + 1)(rng);
            const QString parent = tmp_.filePath(QString("cancel_%1").arg(trial)), out = parent + "/out";
            QVERIFY(QDir().mkpath(parent));
            CancelAt job(at);
            bool stopped = false;
            try {
                run(op, out, job.job);
            } catch (const ps::Cancelled&) {
                stopped = true;
            }
            QVERIFY2(stopped == (at <= reports_[op]), qPrintable(QString("%1 at %2 of %3").arg(kOpNames[op]).arg(at).arg(reports_[op])));
            if (stopped && op != Sweep) QVERIFY2(!QFileInfo::exists(out), kOpNames[op]);
            checkAbsentOrComplete(op, parent, out);
            if (QTest::currentTestFailed()) return;
            (stopped ? cancelled : finished) += 1;
        }
        qInfo("%d trials cancelled, %d finished", cancelled, finished);
        QVERIFY(cancelled >= 40);
    }

    void writeFailures() {
        std::mt19937_64 rng(7);
        qint64 largest = 0;
        for (Op op : {Prune, Export})
            for (const auto& [name, size] : complete_[op].files) largest = std::max(largest, size);
        int failed = 0;
        for (int trial = 0; trial < 12; ++trial) {
            const Op op = trial % 2 ? Export : Prune;
            // Up to a quarter past the largest file: most trials fail somewhere, a few write everything.
            const rlim_t limit = std::uniform_int_distribution<rlim_t>(1, static_cast<rlim_t>(largest + largest / 4))(rng);
            const QString parent = tmp_.filePath(QString("write_%1").arg(trial)), out = parent + "/out";
            QVERIFY(QDir().mkpath(parent));
            QString error;
            {
                const FileSizeLimit fsize(limit);
                error = ps_test::error_of([&] { run(op, out, {}); });
            }
            if (!error.isEmpty()) {
                ++failed;
                QVERIFY2(error.contains(out) && !error.contains('\n'), qPrintable(error));  // the file is named
                QVERIFY2(!QFileInfo::exists(out), qPrintable(error));
            }
            checkAbsentOrComplete(op, parent, out);
            if (QTest::currentTestFailed()) return;
        }
        qInfo("%d of 12 writes failed", failed);
        QVERIFY(failed >= 6 && failed < 12);
    }

    void sourceUntouched() { QCOMPARE(digest(PS_DEFAULT_MODEL), source_); }
};

QTEST_MAIN(TestFaultInjection)
#include "test_fault_injection.moc"
