// core/dist/process_group: the launch environment (torchrun's variables, then Slurm's; malformed or
// inconsistent ones named), and two ranks in two threads of this process meeting over loopback:
// averaging and broadcasting in place, gathering rows whose own part keeps its gradient (checked
// against the same loss on one tensor of all rows), and a rank that is lost or never arrives
// ending the other's call with an Error within its timeout.
#include <QTest>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <thread>

#include "core/dist/process_group.h"
#include "tests/test_support.h"

namespace {

const char* const kVariables[] = {"RANK",         "WORLD_SIZE",    "LOCAL_RANK",    "MASTER_ADDR",
                                  "MASTER_PORT",  "SLURM_PROCID",  "SLURM_NTASKS",  "SLURM_LOCALID",
                                  "PRUNESTUDIO_DIST_TIMEOUT"};

void clear_environment() {
    for (const char* v : kVariables) qunsetenv(v);
}

ps::DistEnv loopback(int rank, int world, int port, int timeout_s = 30) {
    ps::DistEnv e;
    e.rank = rank;
    e.world_size = world;
    e.master_port = port;
    e.timeout = std::chrono::seconds(timeout_s);
    return e;
}

// Runs `work(rank)` for ranks 0 and 1 on two threads; the first exception is rethrown.
void two_ranks(const std::function<void(int)>& work) {
    auto other = std::async(std::launch::async, work, 1);
    std::exception_ptr first;
    try {
        work(0);
    } catch (...) {
        first = std::current_exception();
    }
    try {
        other.get();
    } catch (...) {
        if (!first) first = std::current_exception();
    }
    if (first) std::rethrow_exception(first);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

class TestProcessGroup : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init() { clear_environment(); }
    void cleanupTestCase() { clear_environment(); }

    void oneProcessWithoutVariables() {
        const ps::DistEnv e = ps::dist_env_from_environment();
        QCOMPARE(e.world_size, 1);
        QCOMPARE(e.rank, 0);
        QVERIFY(!e.distributed());
    }

    void torchrunVariables() {
        qputenv("RANK", "1");
        qputenv("WORLD_SIZE", "4");
        qputenv("LOCAL_RANK", "1");
        qputenv("MASTER_ADDR", "10.1.2.3");
        qputenv("MASTER_PORT", "29555");
        qputenv("PRUNESTUDIO_DIST_TIMEOUT", "12");
        qputenv("SLURM_PROCID", "3");  // torchrun's variables win
        const ps::DistEnv e = ps::dist_env_from_environment();
        QCOMPARE(e.rank, 1);
        QCOMPARE(e.world_size, 4);
        QCOMPARE(e.local_rank, 1);
        QCOMPARE(e.master_addr, std::string("10.1.2.3"));
        QCOMPARE(e.master_port, 29555);
        QCOMPARE(e.timeout.count(), int64_t(12));
        QVERIFY(e.distributed());
    }

    void slurmVariables() {
        qputenv("SLURM_PROCID", "3");
        qputenv("SLURM_NTASKS", "4");
        qputenv("SLURM_LOCALID", "1");
        const ps::DistEnv e = ps::dist_env_from_environment();
        QCOMPARE(e.rank, 3);
        QCOMPARE(e.world_size, 4);
        QCOMPARE(e.local_rank, 1);
        QCOMPARE(e.master_addr, std::string("127.0.0.1"));
        QCOMPARE(e.master_port, 29500);
    }

    void badVariablesAreNamed() {
        auto error = [] { return ps_test::error_of([] { ps::dist_env_from_environment(); }); };
        qputenv("RANK", "0");
        QCOMPARE(error(), QString("environment: RANK and WORLD_SIZE must be set together"));
        qputenv("WORLD_SIZE", "2");
        qputenv("RANK", "2");
        QCOMPARE(error(), QString("environment: RANK='2' is not an integer in [0, 1]"));
        qputenv("RANK", "1");
        qputenv("MASTER_PORT", "29x");
        QCOMPARE(error(), QString("environment: MASTER_PORT='29x' is not an integer in [1, 65535]"));
        qunsetenv("MASTER_PORT");
        qputenv("WORLD_SIZE", "0");
        QCOMPARE(error(), QString("environment: WORLD_SIZE='0' is not an integer in [1, 65536]"));
    }

    void averageBroadcastAndGather() {
        const int port = ps_test::free_port();
        QVERIFY(port > 0);
        // The reference: a loss that couples rows across the ranks (log-sum-exp down each column),
        // on one tensor holding both ranks' rows.
        const at::Tensor rows = at::arange(12, at::kFloat).reshape({4, 3}).div(5);
        const at::Tensor weights = at::arange(3, at::kFloat).add(1);
        at::Tensor whole = rows.clone().requires_grad_(true);
        (at::logsumexp(whole, 0) * weights).sum().backward();
        std::vector<at::Tensor> averaged(2), broadcast(2), gathered(2), grads(2);
        two_ranks([&](int rank) {
            ps::ProcessGroup g(loopback(rank, 2, port));
            QCOMPARE(g.rank(), rank);
            QCOMPARE(g.world_size(), 2);
            at::Tensor a = at::full({2, 2}, static_cast<float>(rank + 1)), b = at::tensor({rank * 10.0}, at::kDouble);
            g.average({a, b});
            averaged[rank] = at::cat({a.reshape({-1}), b.to(at::kFloat)});
            at::Tensor c = at::full({3}, static_cast<float>(rank + 5));
            g.broadcast({c});
            broadcast[rank] = c;
            at::Tensor mine = rows.slice(0, 2 * rank, 2 * rank + 2).clone().requires_grad_(true);
            const at::Tensor all = g.gather_rows(mine);
            gathered[rank] = all.detach();
            (at::logsumexp(all, 0) * weights).sum().backward();
            grads[rank] = mine.grad();
        });
        for (int rank = 0; rank < 2; ++rank) {
            QVERIFY(at::equal(averaged[rank], at::tensor({1.5f, 1.5f, 1.5f, 1.5f, 5.0f})));
            QVERIFY(at::equal(broadcast[rank], at::full({3}, 5.0f)));
            QVERIFY(at::equal(gathered[rank], rows));
            QVERIFY(at::allclose(grads[rank], whole.grad().slice(0, 2 * rank, 2 * rank + 2), 1e-6, 1e-7));
        }
        // Each rank's gradient is its own rows' share, not the other's.
        QVERIFY(!at::allclose(grads[0], grads[1]));
    }

    void lostRankEndsTheOthersCall() {
        const int port = ps_test::free_port();
        QString error;
        double waited = 0;
        two_ranks([&](int rank) {
            ps::ProcessGroup g(loopback(rank, 2, port));
            if (rank == 1) return;  // leaves: its group closes its connections
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            const auto t = std::chrono::steady_clock::now();
            error = ps_test::error_of([&] { g.average({at::ones({4})}); });
            waited = seconds_since(t);
        });
        QVERIFY2(error.startsWith("rank 0: lost the other processes while averaging ("), qPrintable(error));
        QVERIFY2(waited < 20, qPrintable(QString::number(waited)));
    }

    void silentRankTimesOut() {
        const int port = ps_test::free_port();
        QString error;
        double waited = 0;
        std::promise<void> done;
        two_ranks([&](int rank) {
            ps::ProcessGroup g(loopback(rank, 2, port, 2));
            if (rank == 1) {  // stays connected but never joins the collective
                done.get_future().wait();
                return;
            }
            const auto t = std::chrono::steady_clock::now();
            error = ps_test::error_of([&] { g.broadcast({at::ones({4})}); });
            waited = seconds_since(t);
            done.set_value();
        });
        QVERIFY2(error.startsWith("rank 0: lost the other processes while broadcasting ("), qPrintable(error));
        QVERIFY2(waited >= 1.5 && waited < 20, qPrintable(QString::number(waited)));
    }

    void missingRankIsNamed() {
        const int port = ps_test::free_port();
        const auto t = std::chrono::steady_clock::now();
        const QString error = ps_test::error_of([&] { ps::ProcessGroup g(loopback(1, 2, port, 2)); });
        QVERIFY2(error.startsWith(QString("rank 1 of 2: cannot meet the other processes at 127.0.0.1:%1 (").arg(port)), qPrintable(error));
        QVERIFY(seconds_since(t) < 30);
    }
};

QTEST_GUILESS_MAIN(TestProcessGroup)
#include "test_process_group.moc"
