// The student of a recovery run, over a pruned model whose dense weights stay in its WeightStore
// (they are the teacher's). SparseLoRA (methods.md §3): each adapted Linear computes
// (W + s·B·A) ⊙ M with A kaiming-uniform, B zero and s = α/r, so merging keeps exactly the pruned
// mask M; plain LoRA (W ⊙ M + s·B·A) is the baseline whose merge loses the sparsity. Full
// finetuning with the mask fixed and projector-only finetuning train whole weights instead.
// Installed on the model as its Linear adapter; without it the model is the dense teacher.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/io/tensor_view.h"
#include "core/model/vlm.h"

namespace ps {

enum class RecoveryMode { SparseLora, Lora, Full, Projector };
RecoveryMode parse_recovery_mode(const std::string& s);  // sparselora | lora | full | projector
const char* recovery_mode_name(RecoveryMode m);

// One pruned Linear as the pruned checkpoint holds it.
struct PrunedLinear {
    at::Tensor keep;    // bool [out, in], true where the weight is kept
    at::Tensor weight;  // the pruned weight when it is not the dense one times `keep` (SparseGPT's
                        // updates); undefined when it is, and derived from the dense weight then
};
using PrunedLinears = std::map<std::string, PrunedLinear>;

// Reads `pruned_dir`'s masks.safetensors (1 = pruned) and, for each masked Linear, its weight in
// model.safetensors, against the dense weights of `dense`. Throws ps::Error naming the file when
// masks.safetensors is missing (structured pruning removes weights instead: nothing to recover
// with a mask), a mask does not fit its weight, or a kept weight is zero where the mask says kept
// and dense where it says pruned.
PrunedLinears load_pruned_linears(const std::string& pruned_dir, const WeightStore& dense);
// The same from a model pruned in memory (prune_model without a sink): its pruned weights are taken
// out of the store's overrides, which leaves the store dense again.
PrunedLinears take_pruned_linears(WeightStore& w, const std::map<std::string, at::Tensor>& masks);

struct StudentOptions {
    RecoveryMode mode = RecoveryMode::SparseLora;
    std::map<Modality, int64_t> rank = {{Modality::Vision, 4}, {Modality::Language, 8}};  // 0: not adapted
    double alpha = 16, dropout = 0.05;
    uint64_t seed = 0;
};

class Student {
public:
    // Adapts the Linears of `pruned` (LoRA modes, towers with a rank; full mode, every one) or the
    // projector Linears (projector mode). The other pruned Linears run masked and frozen.
    Student(const Vlm& model, PrunedLinears pruned, const StudentOptions& opt);

    RecoveryMode mode() const { return opt_.mode; }
    // The trainable tensors, float32 leaves: "<linear>.lora_A" / ".lora_B" or "<linear>.weight".
    const NamedTensors& parameters() const { return params_; }
    int64_t trainable_count() const;
    // The Linears whose weights the student changes or masks, sorted.
    std::vector<std::string> linears() const;
    const PrunedLinears& pruned() const { return pruned_; }

    // The pruned weight of a masked Linear (or `dense` for another) as the checkpoint holds it.
    at::Tensor pruned_weight(const std::string& name, const at::Tensor& dense) const;
    // Dropout on the LoRA branch's input draws from `generator` while set; none when undefined.
    void set_dropout_generator(std::optional<at::Generator> generator) { dropout_gen_ = std::move(generator); }
    // The Linear's output as the student computes it, or undefined for a Linear it leaves plain.
    at::Tensor forward(const std::string& name, const at::Tensor& x, const at::Tensor& dense, const at::Tensor& bias) const;
    // The weight a merged export holds: (W + s·B·A) ⊙ M, W ⊙ M + s·B·A for plain LoRA (with
    // `repruned`, times M again), the trained weight ⊙ M; `dense` is the store's weight.
    at::Tensor merged(const std::string& name, const at::Tensor& dense, bool repruned = false) const;

private:
    struct Adapted {
        at::Tensor a, b;       // LoRA: [r, in], [out, r]
        at::Tensor weight;     // full / projector: the trained weight
        double scale = 0;
    };

    StudentOptions opt_;
    PrunedLinears pruned_;
    std::map<std::string, Adapted> adapted_;
    NamedTensors params_;
    std::optional<at::Generator> dropout_gen_;
};

// Installs a student as the model's Linear adapter for its lifetime (the model is the student
// while it lives, the dense teacher before and after).
class StudentScope {
public:
    StudentScope(Vlm& model, const Student& student);
    ~StudentScope();
    StudentScope(const StudentScope&) = delete;
    StudentScope& operator=(const StudentScope&) = delete;

private:
    WeightStore& w_;
};

}  // namespace ps
