// core/data/splits.cpp: seeded calibration / recovery subsets are deterministic, disjoint, of the
// requested sizes, and differ between seeds; impossible requests fail with one line.
#include <QTest>

#include <set>

#include "core/data/splits.h"
#include "core/error.h"
#include "tests/test_support.h"

namespace {

QString split_error(int64_t n, int64_t calibration, int64_t recovery) {
    return ps_test::error_of([&] { ps::make_splits(n, 0, calibration, recovery); });
}

}  // namespace

class TestSplits : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sizes_and_disjointness() {
        const ps::DataSplits s = ps::make_splits(60000, 1234);
        QCOMPARE(s.calibration.size(), size_t{128});
        QCOMPARE(s.recovery.size(), size_t{10000});
        std::set<int64_t> seen;
        for (int64_t i : s.calibration) {
            QVERIFY(i >= 0 && i < 60000);
            seen.insert(i);
        }
        QCOMPARE(seen.size(), size_t{128});
        for (int64_t i : s.recovery) {
            QVERIFY(i >= 0 && i < 60000);
            QVERIFY2(seen.insert(i).second, "index repeated across or within the splits");
        }
        QCOMPARE(seen.size(), size_t{10128});
        // a permutation, not the first indices in order
        QVERIFY(!std::is_sorted(s.calibration.begin(), s.calibration.end()));
    }

    void same_seed_same_splits() {
        const ps::DataSplits a = ps::make_splits(60000, 42, 64, 500);
        const ps::DataSplits b = ps::make_splits(60000, 42, 64, 500);
        QCOMPARE(a.calibration, b.calibration);
        QCOMPARE(a.recovery, b.recovery);
        // the recovery split continues the same permutation the calibration split starts
        const ps::DataSplits longer = ps::make_splits(60000, 42, 64, 1000);
        QCOMPARE(longer.calibration, a.calibration);
        QVERIFY(std::equal(a.recovery.begin(), a.recovery.end(), longer.recovery.begin()));
    }

    void different_seed_different_splits() {
        const ps::DataSplits a = ps::make_splits(60000, 42);
        const ps::DataSplits b = ps::make_splits(60000, 43);
        QVERIFY(a.calibration != b.calibration);
        QVERIFY(a.recovery != b.recovery);
    }

    void whole_set_and_empty_splits() {
        const ps::DataSplits all = ps::make_splits(100, 7, 30, 70);
        std::set<int64_t> seen(all.calibration.begin(), all.calibration.end());
        seen.insert(all.recovery.begin(), all.recovery.end());
        QCOMPARE(seen.size(), size_t{100});
        QCOMPARE(*seen.rbegin(), int64_t{99});
        const ps::DataSplits none = ps::make_splits(0, 7, 0, 0);
        QVERIFY(none.calibration.empty() && none.recovery.empty());
    }

    void impossible_requests_fail() {
        const QString too_many = split_error(5000, 128, 10000);
        QCOMPARE(too_many, QString("data splits: calibration 128 + recovery 10000 examples exceed the training set's 5000"));
        QVERIFY(split_error(100, 101, 0).contains("exceed"));
        QVERIFY(split_error(100, 50, 51).contains("exceed"));
        QVERIFY(split_error(100, -1, 10).contains("calibration count -1 is negative"));
        QVERIFY(split_error(100, 10, -5).contains("recovery count -5 is negative"));
        QVERIFY(split_error(-3, 0, 0).contains("training set size -3 is negative"));
        // a sum that would overflow int64 is still refused, not wrapped
        QVERIFY(split_error(100, 50, INT64_MAX).contains("exceed"));
        QVERIFY(split_error(100, 50, 50).isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestSplits)
#include "test_splits.moc"
