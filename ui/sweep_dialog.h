// What Run → Sweep asks before a methods × sparsities sweep starts: which methods (the unstructured
// and N:M ones), patterns and sparsities, how many test images score each point, whether a
// per-modality split of the Plan is kept (scaled to each target) or every Linear gets the target,
// and how long that will take by the timings this checkpoint's runs have shown. The sweep is
// checked as it is edited: what cannot run (a split scaled past 100 %) is said before it starts.
// An N:M pattern is one point per method (at N/M); points already in the chosen folder's cache cost
// nothing and are not counted.
#pragma once
#include <QDialog>
#include <QList>
#include <map>
#include <string>

#include "core/job/sweep.h"

class QCheckBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace ps {

class SweepDialog : public QDialog {
    Q_OBJECT
public:
    // What a point costs here: seconds one prune of each method took on this checkpoint, and the
    // seconds scoring took per test image (negative: not measured yet).
    struct Timings {
        std::map<std::string, double> prune_seconds;
        double seconds_per_image = -1;
    };

    // `base`: the Plan every point derives from (the Plan panel's).
    SweepDialog(const Plan& base, const Timings& timings, QWidget* parent = nullptr);

    // The sweep the widgets describe, and the Plan its points derive from; check valid() first.
    SweepSpec spec() const;
    Plan base() const;
    bool valid() const { return error_.isEmpty(); }
    QString error() const { return error_; }
    // The estimated time, or what is missing for one.
    QString estimate() const;

    // The check box of a method or pattern by its id ("wanda", "2:4"); nullptr when not offered.
    QCheckBox* methodBox(const QString& id) const;
    QCheckBox* patternBox(const QString& id) const;
    QLineEdit* sparsityEdit() const { return sparsities_; }
    QSpinBox* imagesBox() const { return images_; }
    QCheckBox* keepSplitBox() const { return keepSplit_; }

private:
    void revalidate();  // the error or the estimate, and OK, after any edit

    Plan base_;
    Timings timings_;
    QString error_;
    QList<QCheckBox*> methods_, patterns_;  // their ids in objectName()
    QLineEdit* sparsities_;
    QSpinBox* images_;
    QCheckBox* keepSplit_;
    QLabel* summary_;
    QDialogButtonBox* buttons_;
};

}  // namespace ps
