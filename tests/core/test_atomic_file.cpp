// core/io/atomic_file.cpp and atomic_dir.cpp: the target is either untouched or complete, and no
// temporary file or folder is left behind.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include "core/error.h"
#include "core/io/atomic_dir.h"
#include "core/io/atomic_file.h"
#include "tests/test_support.h"

class TestAtomicFile : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QStringList leftovers() const { return QDir(tmp_.path()).entryList({"*.tmp-*"}, QDir::AllEntries | QDir::Hidden); }

private Q_SLOTS:
    void commit_replaces_target() {
        const QString path = tmp_.filePath("a.txt");
        ps_test::write_bytes(path, "old");
        ps::write_file_atomic(path.toStdString(), "new content");
        QCOMPARE(ps_test::read_bytes(path), QByteArray("new content"));
        QVERIFY(leftovers().isEmpty());
    }

    void abandoned_write_leaves_target_untouched() {
        const QString path = tmp_.filePath("b.txt");
        ps_test::write_bytes(path, "old");
        {
            ps::AtomicFile f(path.toStdString());
            f.write("partial", 7);
            QVERIFY(QFile::exists(QString::fromStdString(f.temp_path())));
        }  // destroyed without commit, as when an exception unwinds
        QCOMPARE(ps_test::read_bytes(path), QByteArray("old"));
        QVERIFY(leftovers().isEmpty());
    }

    void unwritable_folder_is_reported() {
        const std::string path = tmp_.filePath("no/such/dir/c.txt").toStdString();
        try {
            ps::write_file_atomic(path, "x");
            QFAIL("no error raised");
        } catch (const ps::Error& e) {
            QVERIFY2(QString(e.what()).startsWith(QString::fromStdString(path)), e.what());
        }
    }

    void dir_commit_and_abandon() {
        const QString target = tmp_.filePath("out");
        {
            ps::AtomicDir d(target.toStdString());
            ps::write_file_atomic(d.path() + "/f.txt", "x");
            QVERIFY(!QFile::exists(target));
        }
        QVERIFY(!QFile::exists(target));
        QVERIFY(leftovers().isEmpty());
        {
            ps::AtomicDir d(target.toStdString());
            ps::write_file_atomic(d.path() + "/f.txt", "x");
            d.commit();
        }
        QCOMPARE(ps_test::read_bytes(target + "/f.txt"), QByteArray("x"));
        QVERIFY(leftovers().isEmpty());
        QVERIFY_THROWS_EXCEPTION(ps::Error, ps::AtomicDir(target.toStdString()));  // never overwrites
    }
};

QTEST_GUILESS_MAIN(TestAtomicFile)
#include "test_atomic_file.moc"
