// `prunestudio-cli recover` as two processes meeting over Gloo on loopback (RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT as torchrun sets them): batch 16 per process gives the merged weights
// of one process with batch 32 (within 1e-5, while training moves them far more), rank 0 alone
// writes; a rank killed mid-run ends the other within a time bound with one error line, no output
// folder and the last state file intact, from which both resume to the uninterrupted run's weights.
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <chrono>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/io/tensor_view.h"
#include "core/job/plan.h"
#include "tests/test_support.h"

namespace {

constexpr int kBoundMs = 180000;  // every run here ends well within this

std::map<std::string, at::Tensor> tensors(const QString& path) {
    std::map<std::string, at::Tensor> m;
    for (auto& [name, t] : ps::load_safetensors(path.toStdString())) m[name] = t.to(at::kFloat);
    return m;
}

// The largest elementwise difference between two checkpoints with the same tensors.
double max_difference(const QString& a, const QString& b) {
    const auto x = tensors(a), y = tensors(b);
    if (x.size() != y.size()) return 1e30;
    double d = 0;
    for (const auto& [name, t] : x) d = std::max(d, (t - y.at(name)).abs().max().item<double>());
    return d;
}

nlohmann::json read_json(const QString& path) { return nlohmann::json::parse(ps_test::read_bytes(path).toStdString()); }

}  // namespace

class TestRecoverDistributed : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString pruned_;

    // A SparseLoRA Plan on the pruned default model: `batch` per process, no dropout (its draws are
    // per process), KL and hidden-state distillation, state every 2 steps. Learning rate 2e-4:
    // AdamW divides each gradient by its own running size, so float32 rounding in a gradient near
    // zero (the two ways of summing the batch differ there) becomes an update difference in
    // proportion to the learning rate: on these 4 steps 3.4e-6 at 2e-4, 8.5e-6 at 5e-4, 1.7e-5 at 1e-3.
    QString plan(const QString& name, int batch, int steps) {
        nlohmann::json j = {{"model", PS_DEFAULT_MODEL},
                            {"seed", 3},
                            {"recovery",
                             {{"pruned", pruned_.toStdString()}, {"batch_size", batch}, {"data_fraction", 0.004},
                              {"dropout", 0.0}, {"hidden", 0.5}, {"lr", 2e-4}, {"eval_samples", 100}, {"checkpoint_every", 2},
                              {"max_steps", steps}}}};
        const QString path = tmp_.filePath(name);
        ps_test::write_bytes(path, QByteArray::fromStdString(j.dump()));
        return path;
    }

    // `world` processes of `recover`, started at once.
    std::vector<std::unique_ptr<QProcess>> launch(int world, const QString& plan, const QString& out, const QString& state = {}) {
        const int port = ps_test::free_port();
        std::vector<std::unique_ptr<QProcess>> ranks;
        for (int r = 0; r < world; ++r) {
            auto p = std::make_unique<QProcess>();
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.insert("RANK", QString::number(r));
            env.insert("WORLD_SIZE", QString::number(world));
            env.insert("MASTER_ADDR", "127.0.0.1");
            env.insert("MASTER_PORT", QString::number(port));
            env.insert("PRUNESTUDIO_DIST_TIMEOUT", "60");
            p->setProcessEnvironment(env);
            QStringList args{"recover", "--plan", plan, "--out", out};
            if (!state.isEmpty()) args << "--state" << state;
            p->start(PS_CLI, args);
            ranks.push_back(std::move(p));
        }
        return ranks;
    }

    // Waits for every rank; true when all exit 0.
    static bool finish(std::vector<std::unique_ptr<QProcess>>& ranks) {
        bool ok = true;
        for (auto& p : ranks) {
            if (!p->waitForFinished(kBoundMs)) p->kill();
            const bool good = p->exitStatus() == QProcess::NormalExit && p->exitCode() == 0;
            if (!good) qWarning("%s", p->readAllStandardError().constData());
            ok = ok && good;
        }
        return ok;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        pruned_ = tmp_.filePath("pruned");
        nlohmann::json j = {{"model", PS_DEFAULT_MODEL}, {"method", "wanda"}, {"sparsity", 0.6}, {"calibration", {{"samples", 16}}}};
        const QString p = tmp_.filePath("prune.json");
        ps_test::write_bytes(p, QByteArray::fromStdString(j.dump()));
        const auto r = ps_test::run_cli({"prune", "--plan", p, "--out", pruned_});
        QVERIFY2(r.exit_code == 0, r.err.constData());
    }

    void twoProcessesTrainAsOneWithTheDoubledBatch() {
        const QString two = tmp_.filePath("two"), one = tmp_.filePath("one");
        auto ranks = launch(2, plan("b16.json", 16, 4), two);
        QVERIFY(finish(ranks));
        const QByteArray rank1 = ranks[1]->readAllStandardOutput();
        QVERIFY2(rank1.startsWith("rank 1 of 2: recovery sparselora:"), rank1.constData());
        QVERIFY2(rank1.contains("rank 0 writes " + two.toUtf8()), rank1.constData());
        auto single = launch(1, plan("b32.json", 32, 4), one);
        QVERIFY(finish(single));

        const double diff = max_difference(two + "/model.safetensors", one + "/model.safetensors");
        const double moved = max_difference(one + "/model.safetensors", pruned_ + "/model.safetensors");
        qInfo("merged weights: 2 x 16 vs 1 x 32 differ by at most %.3g; training moved them by up to %.3g", diff, moved);
        QVERIFY2(diff <= 1e-5, qPrintable(QString::number(diff)));
        QVERIFY2(moved > 20 * 1e-5, qPrintable(QString::number(moved)));

        const auto a = read_json(two + "/result.json"), b = read_json(one + "/result.json");
        QVERIFY(a["recovery"]["total_steps"] == b["recovery"]["total_steps"]);
        QVERIFY(a["recovery"]["examples"] == b["recovery"]["examples"]);
        QCOMPARE(a["recovery"]["log"].size(), size_t(4));
        for (size_t i = 0; i < 4; ++i)
            for (const char* k : {"loss", "task", "kl", "hidden"})
                QVERIFY2(std::abs(a["recovery"]["log"][i][k].get<double>() - b["recovery"]["log"][i][k].get<double>()) <= 1e-5,
                         qPrintable(QString("step %1 %2").arg(i + 1).arg(k)));
        QVERIFY(a["masked_linears"]["nnz_merged"] == a["masked_linears"]["nnz_pruned"]);
        QVERIFY(a["masked_linears"]["nnz_merged"] == b["masked_linears"]["nnz_merged"]);
    }

    void lostRankStopsCleanlyAndResumes() {
        const QString out = tmp_.filePath("killed"), state = out + ".state", plan6 = plan("b16x6.json", 16, 6);
        auto ranks = launch(2, plan6, out, state);
        const auto start = std::chrono::steady_clock::now();
        while (!QFile::exists(state) && std::chrono::steady_clock::now() - start < std::chrono::milliseconds(kBoundMs))
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        QVERIFY2(QFile::exists(state), "rank 0 saved no state");
        ranks[1]->kill();  // SIGKILL: no goodbye to the other rank
        QVERIFY(ranks[1]->waitForFinished(10000));
        const auto killed = std::chrono::steady_clock::now();
        QVERIFY2(ranks[0]->waitForFinished(60000), "rank 0 did not stop after rank 1 was lost");
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
        qInfo("rank 0 stopped %.2f s after rank 1 was killed", seconds);
        QCOMPARE(ranks[0]->exitCode(), 1);
        const QList<QByteArray> lines = ranks[0]->readAllStandardError().split('\n');
        const QByteArray last = lines.size() >= 2 ? lines[lines.size() - 2] : QByteArray();
        QVERIFY2(last.startsWith("error: rank 0: lost the other processes while "), last.constData());
        QVERIFY(!QDir(out).exists());
        const QByteArray saved = ps_test::read_bytes(state);
        QVERIFY(!saved.isEmpty());

        auto resumed = launch(2, plan6, out, state);
        QVERIFY(finish(resumed));
        const QString whole = tmp_.filePath("uninterrupted");
        auto uninterrupted = launch(2, plan6, whole);
        QVERIFY(finish(uninterrupted));
        const auto r = read_json(out + "/result.json");
        QCOMPARE(r["recovery"]["first_step"].get<int64_t>(), int64_t(2));
        QCOMPARE(r["recovery"]["steps"].get<int64_t>(), int64_t(6));
        QCOMPARE(max_difference(out + "/model.safetensors", whole + "/model.safetensors"), 0.0);
        const auto w = read_json(whole + "/result.json");
        for (size_t i = 0; i < 4; ++i) QVERIFY(r["recovery"]["log"][i]["loss"] == w["recovery"]["log"][i + 2]["loss"]);
    }
};

QTEST_GUILESS_MAIN(TestRecoverDistributed)
#include "test_recover_distributed.moc"
