// core/data/caption_folder.cpp: captions.jsonl folders load items, labels and label indices in
// file order; malformed lines, missing or escaping image paths fail with one line naming the
// file and line.
#include <QDir>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <opencv2/imgcodecs.hpp>

#include "core/data/caption_folder.h"
#include "core/data/image.h"
#include "core/error.h"
#include "tests/test_support.h"

namespace {

QString folder_error(const QString& dir) {
    return ps_test::error_of([&] { ps::load_caption_folder(dir.toStdString()); });
}

}  // namespace

class TestCaptionFolder : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    // A folder `name` with captions.jsonl = `jsonl` and empty files at `images`.
    QString folder(const QString& name, const QByteArray& jsonl, const QStringList& images = {"a.png"}) {
        const QString dir = tmp_.filePath(name);
        QDir().mkpath(dir);
        for (const QString& image : images) {
            QDir().mkpath(QFileInfo(dir + "/" + image).path());
            ps_test::write_bytes(dir + "/" + image, "not decoded here");
        }
        ps_test::write_bytes(dir + "/captions.jsonl", jsonl);
        return dir;
    }
    void expect_error(const QString& dir, const QString& expected) {
        const QString msg = folder_error(dir);
        qInfo("%s", qPrintable(msg));
        QVERIFY2(msg.startsWith(expected) && !msg.contains('\n'),
                 qPrintable("'" + msg + "', expected it to start with '" + expected + "'"));
    }

private Q_SLOTS:
    void loads_items_and_labels() {
        const QString dir = folder("good",
                                   "{\"image\": \"a.png\", \"caption\": \"a red coat\", \"label\": \"coat\"}\n"
                                   "\n"
                                   "   \r\n"
                                   "{\"image\": \"sub/b.png\", \"caption\": \"boots\", \"label\": \"ankle boot\"}\r\n"
                                   "{\"image\": \"./c.png\", \"caption\": \"caf\xc3\xa9, no label\"}\n"
                                   "{\"image\": \"d.png\", \"caption\": \"another coat\", \"label\": \"coat\", \"id\": 4}\n"
                                   "{\"label\": null, \"caption\": \"\", \"image\": \"e.png\"}",  // no final newline
                                   {"a.png", "sub/b.png", "c.png", "d.png", "e.png"});
        const ps::CaptionDataset d = ps::load_caption_folder(dir.toStdString());
        QCOMPARE(d.dir, dir.toStdString());
        QCOMPARE(d.items.size(), size_t{5});
        QCOMPARE(d.labels, (std::vector<std::string>{"coat", "ankle boot"}));
        QCOMPARE(d.label_index, (std::vector<int64_t>{0, 1, -1, 0, -1}));
        QCOMPARE(d.items[0].image, (dir + "/a.png").toStdString());
        QCOMPARE(d.items[1].image, (dir + "/sub/b.png").toStdString());
        QCOMPARE(d.items[2].image, (dir + "/c.png").toStdString());
        QCOMPARE(d.items[0].caption, std::string("a red coat"));
        QCOMPARE(d.items[2].caption, std::string("caf\xc3\xa9, no label"));
        QCOMPARE(d.items[2].label, std::string());
        QCOMPARE(d.items[3].label, std::string("coat"));
        QCOMPARE(d.items[4].caption, std::string());
        for (const auto& item : d.items) QVERIFY(QFileInfo::exists(QString::fromStdString(item.image)));
    }

    void paths_feed_load_image() {
        const QString dir = tmp_.filePath("png");
        QDir().mkpath(dir);
        cv::Mat bgr(5, 7, CV_8UC3, cv::Scalar(10, 20, 30));
        QVERIFY(cv::imwrite((dir + "/x.png").toStdString(), bgr));
        ps_test::write_bytes(dir + "/captions.jsonl", "\xEF\xBB\xBF{\"image\": \"x.png\", \"caption\": \"grey\"}\n");
        const ps::CaptionDataset d = ps::load_caption_folder(dir.toStdString());
        QCOMPARE(d.items.size(), size_t{1});
        QVERIFY(d.labels.empty());
        QCOMPARE(d.label_index, std::vector<int64_t>{-1});
        const cv::Mat rgb = ps::load_image(d.items[0].image);
        QCOMPARE(rgb.rows, 5);
        QCOMPARE(rgb.at<cv::Vec3b>(2, 3)[0], uint8_t{30});  // RGB order
    }

    void missing_folder_or_file() {
        const QString missing = tmp_.filePath("absent");
        QCOMPARE(folder_error(missing), missing + ": no such folder");
        const QString empty = tmp_.filePath("no_jsonl");
        QDir().mkpath(empty);
        QCOMPARE(folder_error(empty), empty + ": no captions.jsonl");
        const QString file = tmp_.filePath("plain_file");
        ps_test::write_bytes(file, "x");
        QCOMPARE(folder_error(file), file + ": no such folder");
    }

    void malformed_lines_name_file_and_line() {
        struct Case {
            const char* name;
            QByteArray jsonl;
            QString expected;  // after "<dir>/captions.jsonl:"
        };
        const QByteArray ok = "{\"image\": \"a.png\", \"caption\": \"x\"}\n";
        const QList<Case> cases{
            {"json", ok + "{\"image\": \"a.png\", \"caption\": \n", "2: not valid JSON ("},
            {"array", "[\"a.png\", \"x\"]\n", "1: expected a JSON object, got array"},
            {"no_image", ok + "\n" + "{\"caption\": \"x\"}\n", "3: missing \"image\""},
            {"no_caption", "{\"image\": \"a.png\"}\n", "1: missing \"caption\""},
            {"image_type", "{\"image\": 3, \"caption\": \"x\"}\n", "1: \"image\" must be a string, got 3"},
            {"caption_type", "{\"image\": \"a.png\", \"caption\": [\"x\"]}\n", "1: \"caption\" must be a string"},
            {"label_type", "{\"image\": \"a.png\", \"caption\": \"x\", \"label\": 7}\n", "1: \"label\" must be a string"},
            {"empty_image", "{\"image\": \"\", \"caption\": \"x\"}\n", "1: \"image\" is empty"},
            {"not_found", ok + "{\"image\": \"x.png\", \"caption\": \"x\"}\n", "2: image 'x.png' not found"},
            {"absolute", "{\"image\": \"/etc/hostname\", \"caption\": \"x\"}\n", "1: image '/etc/hostname' is an absolute path"},
            {"dotdot", "{\"image\": \"../good/a.png\", \"caption\": \"x\"}\n", "1: image '../good/a.png' leaves the folder"},
            {"inner_dotdot", "{\"image\": \"sub/../../good/a.png\", \"caption\": \"x\"}\n",
             "1: image 'sub/../../good/a.png' leaves the folder"},
            {"directory", "{\"image\": \"sub\", \"caption\": \"x\"}\n", "1: image 'sub' is not a file"},
        };
        for (const Case& c : cases) {
            const QString dir = folder(c.name, c.jsonl, {"a.png", "sub/b.png"});
            expect_error(dir, dir + "/captions.jsonl:" + c.expected);
        }
        // the escaping targets exist, so only the path rule refuses them
        QVERIFY(QFileInfo::exists(tmp_.filePath("good/a.png")));
        // ".." inside a file name is not a parent reference
        const QString dots = folder("dots", "{\"image\": \"a..b.png\", \"caption\": \"x\"}\n", {"a..b.png"});
        QCOMPARE(ps::load_caption_folder(dots.toStdString()).items.size(), size_t{1});
    }

    void no_images() {
        for (const char* name : {"empty", "blank_lines"}) {
            const QString dir = folder(name, QByteArray(name) == "empty" ? "" : "\n  \n\r\n");
            QCOMPARE(folder_error(dir), dir + "/captions.jsonl: has no images");
        }
    }
};

QTEST_GUILESS_MAIN(TestCaptionFolder)
#include "test_caption_folder.moc"
