// The scratch pool: inside a scope, large CPU tensors reuse the mappings freed before them (the
// same address, no new pages), small ones and those made outside a scope come from the C heap, a
// Keep::UpToPeak scope keeps no more than its peak in use, trim() and the end of the last scope
// unmap what is kept, tensors outlive their scope intact, and the accounting returns to where it
// was after many threads allocate and free at once.
#include <QTest>

#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "core/prune/scratch_pool.h"
#include "core/runtime.h"

namespace {

constexpr int64_t kMiB = 1024 * 1024;

at::Tensor floats(int64_t bytes) { return at::empty({bytes / 4}, at::kFloat); }

}  // namespace

class TestScratchPool : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { ps::ScratchPool::install(); }  // as the runs in core/job do

    void reusesFreedBuffersOfTheSameSize() {
        const std::size_t before = ps::ScratchPool::in_use_bytes();
        const ps::ScratchPool::Scope scope;
        void* first = nullptr;
        {
            at::Tensor a = floats(4 * kMiB);
            first = a.data_ptr();
            QCOMPARE(ps::ScratchPool::in_use_bytes(), before + 4 * kMiB);
            a.fill_(1.0f);
        }
        QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(4 * kMiB));
        at::Tensor b = floats(4 * kMiB);
        QCOMPARE(b.data_ptr(), first);  // the same mapping again
        QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(0));
        b.reset();
        // A smaller request takes a kept mapping of at most twice its size; a much smaller one not.
        at::Tensor c = floats(3 * kMiB);
        QCOMPARE(c.data_ptr(), first);
        c.reset();
        at::Tensor d = floats(1 * kMiB);
        QVERIFY(d.data_ptr() != first);
        QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(4 * kMiB));
    }

    // Keep::All keeps a buffer a step used once; Keep::UpToPeak maps no more than was in use at
    // once, unmapping the largest kept buffer before it maps a new one beyond that.
    void upToPeakKeepsNoMoreThanThePeak() {
        for (const auto keep : {ps::ScratchPool::Keep::All, ps::ScratchPool::Keep::UpToPeak}) {
            const bool all = keep == ps::ScratchPool::Keep::All;
            const ps::ScratchPool::Scope scope(keep);
            const std::size_t before = ps::ScratchPool::in_use_bytes();
            floats(8 * kMiB).fill_(0.0f);  // freed at once, kept
            QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(8 * kMiB));
            at::Tensor b = floats(3 * kMiB);  // too small for the kept one: a new mapping
            QCOMPARE(ps::ScratchPool::in_use_bytes(), before + 3 * kMiB);
            QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(all ? 8 * kMiB : 0));
            b.reset();  // 3 MiB more kept: within the 8 MiB peak once the 8 MiB buffer is gone
            QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(all ? 11 * kMiB : 3 * kMiB));
            at::Tensor c = floats(3 * kMiB);  // reuse is unchanged
            QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(all ? 8 * kMiB : 0));
        }
        QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(0));
    }

    void smallTensorsAndTensorsOutsideAScopeAreNotPooled() {
        const std::size_t before = ps::ScratchPool::in_use_bytes();
        {
            const ps::ScratchPool::Scope scope;
            at::Tensor small = floats(ps::ScratchPool::kMinBytes - 4);
            QCOMPARE(ps::ScratchPool::in_use_bytes(), before);
            at::Tensor large = floats(ps::ScratchPool::kMinBytes);
            QCOMPARE(ps::ScratchPool::in_use_bytes(), before + ps::ScratchPool::kMinBytes);
        }
        at::Tensor outside = floats(8 * kMiB);
        QCOMPARE(ps::ScratchPool::in_use_bytes(), before);
        QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(0));
    }

    void tensorsOutliveTheirScopeAndAreUnmappedAfterIt() {
        const std::size_t before = ps::ScratchPool::in_use_bytes();
        at::Tensor kept;
        {
            const ps::ScratchPool::Scope scope;
            kept = at::arange(2 * kMiB, at::kFloat);  // 8 MiB
            at::Tensor freed = floats(8 * kMiB);
        }
        QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(0));  // the scope's end trimmed
        QCOMPARE(ps::ScratchPool::in_use_bytes(), before + 8 * kMiB);
        QCOMPARE(kept.sum(at::kDouble).item<double>(), 2.0 * kMiB * (2.0 * kMiB - 1) / 2);
        kept.reset();
        QCOMPARE(ps::ScratchPool::in_use_bytes(), before);
        QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(0));  // unmapped, not kept
    }

    void nestedScopesTrimOnlyAtTheLast() {
        const ps::ScratchPool::Scope outer;
        {
            const ps::ScratchPool::Scope inner;
            at::Tensor t = floats(2 * kMiB);
        }
        QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(2 * kMiB));
        ps::ScratchPool::trim();
        QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(0));
    }

    // What the pool is for: a loop that frees and asks for the same buffers stays at the size of
    // one iteration's buffers instead of growing.
    void repeatedTemporariesDoNotGrowResidentMemory() {
        const ps::ScratchPool::Scope scope;
        (void)floats(16 * kMiB).fill_(0.0f);  // the first iteration's pages
        ps::reset_peak_resident();
        const int64_t start = ps::resident_bytes();
        double sum = 0;
        for (int i = 0; i < 64; ++i) {
            at::Tensor t = floats(16 * kMiB);
            t.fill_(static_cast<float>(i));
            sum += t[0].item<float>();
        }
        QCOMPARE(sum, 63.0 * 64 / 2);
        const int64_t growth = ps::peak_resident_bytes() - start;
        QVERIFY2(growth < 4 * kMiB, qPrintable(QString("peak grew by %1 MiB").arg(growth / double(kMiB))));
    }

    void threadsAllocatingAtOnceKeepTheAccounting() {
        const std::size_t before = ps::ScratchPool::in_use_bytes();
        at::set_num_threads(4);
        {
            const ps::ScratchPool::Scope scope;
            std::vector<double> sums(64, 0.0);
            at::parallel_for(0, 64, 1, [&](int64_t begin, int64_t end) {
                for (int64_t i = begin; i < end; ++i) {
                    at::Tensor t = at::full({(i % 4 + 1) * 65536}, static_cast<float>(i), at::kFloat);
                    sums[i] = t.sum(at::kDouble).item<double>();
                }
            });
            for (int64_t i = 0; i < 64; ++i) QCOMPARE(sums[i], static_cast<double>(i) * (i % 4 + 1) * 65536);
        }
        QCOMPARE(ps::ScratchPool::in_use_bytes(), before);
        QCOMPARE(ps::ScratchPool::kept_bytes(), std::size_t(0));
    }
};

QTEST_APPLESS_MAIN(TestScratchPool)
#include "test_scratch_pool.moc"
