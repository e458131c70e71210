#include "core/data/splits.h"

#include <string>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"

namespace ps {

DataSplits make_splits(int64_t train_size, uint64_t seed, int64_t calibration, int64_t recovery) {
    if (train_size < 0) throw Error("data splits", "training set size " + std::to_string(train_size) + " is negative");
    if (calibration < 0) throw Error("data splits", "calibration count " + std::to_string(calibration) + " is negative");
    if (recovery < 0) throw Error("data splits", "recovery count " + std::to_string(recovery) + " is negative");
    if (calibration > train_size || recovery > train_size - calibration)
        throw Error("data splits", "calibration " + std::to_string(calibration) + " + recovery " + std::to_string(recovery) +
                                       " examples exceed the training set's " + std::to_string(train_size));
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const at::Tensor perm = at::randperm(train_size, gen, at::TensorOptions(at::kLong));
    const int64_t* p = perm.data_ptr<int64_t>();
    DataSplits out;
    out.calibration.assign(p, p + calibration);
    out.recovery.assign(p + calibration, p + calibration + recovery);
    return out;
}

}  // namespace ps
