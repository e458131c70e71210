// Recovery training of a pruned model (methods.md §1, §3): a Student (SparseLoRA, plain LoRA, full
// finetuning with the mask fixed, or the projector alone) trained on a fraction of the data with
// the task loss plus distillation from the dense model — KL(p_teacher ‖ p_student) of the logits
// at temperature T and the MSE of hidden states at chosen blocks. The teacher is the same model
// with the student's adapter removed: its dense weights are the checkpoint's, never a second copy.
// AdamW with a cosine schedule, gradient accumulation, seeded data order and dropout, resumable
// from a state file so that a resumed run replays the uninterrupted one. Data-parallel over
// processes when given a ProcessGroup: each trains on its share of the one-process schedule and
// the adapters' gradients are averaged. On class-labelled images N processes with batch B train as
// one process with batch N·B (the contrastive loss spans the shares); on prebuilt batches as one
// process accumulating N batches.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/calibration_options.h"
#include "core/data/fashion_mnist.h"
#include "core/data/image_processor.h"
#include "core/eval/eval_set.h"
#include "core/job_control.h"
#include "core/recover/recovery_options.h"
#include "core/recover/recovery_step.h"
#include "core/recover/sparse_lora.h"

namespace ps {

class ProcessGroup;

// The student a Plan's recovery section asks for: mode, ranks per modality, α, dropout; `seed` draws its initial adapters.
StudentOptions student_options(const RecoveryOptions& recovery, uint64_t seed);

struct RecoveryResult {
    std::string mode;
    int64_t trainable_params = 0;
    int64_t first_step = 0, steps = 0, total_steps = 0;  // first_step > 0 when resumed
    int64_t examples = 0;                                // training examples (the data fraction)
    std::vector<RecoveryStepLog> log;                    // one per optimiser step run in this call
    std::vector<std::pair<int64_t, double>> evals;       // (step, zero-shot top-1 %) during training
    double seconds = 0;
    nlohmann::json to_json() const;
};

struct RecoveryBatch {
    VlmInputs inputs;
    at::Tensor labels;  // class of each image, for the class-contrastive loss; undefined otherwise
};

// The training examples and the task loss for one model and Plan: for a dual encoder on
// Fashion-MNIST, batches of training images against every class prompt with the class-contrastive
// loss; for a generative VLM on Fashion-MNIST, the built-in questions about training images (open,
// yes/no, multiple choice) with the answer's next-token loss; otherwise the calibration source
// (caption folder, conversation file, or Fashion-MNIST captions for a language model alone) with
// the calibration loss (contrastive image-caption pairs, next-token cross-entropy for generative models).
// `seed` draws the examples (disjoint from the `calibration.samples` the pruning was scored on).
class RecoveryData {
public:
    RecoveryData(const Vlm& model, const RecoveryOptions& recovery, const CalibrationOptions& calibration, uint64_t seed);
    // Batches the caller made, with the calibration loss (contrastive image-caption pairs, or
    // next-token cross-entropy for generative models).
    RecoveryData(std::vector<VlmInputs> batches, const RecoveryOptions& recovery, uint64_t seed);
    int64_t examples() const { return examples_; }
    int64_t steps_per_epoch() const;
    // Batch `index` of the schedule (epoch after epoch), drawn from (seed, epoch) alone.
    RecoveryBatch batch(int64_t index) const;
    at::Tensor task_loss(const VlmOutputs& out, const RecoveryBatch& batch) const;

private:
    RecoveryOptions opt_;
    uint64_t seed_;
    int64_t examples_ = 0;
    // class-labelled images (when prompts_ holds the class prompts)
    LabelledImages images_;
    std::vector<int64_t> picks_;
    VlmInputs prompts_;
    at::Tensor prompt_labels_;
    ImageProcessorConfig image_cfg_;
    // otherwise
    std::vector<VlmInputs> batches_;
};

class RecoveryTrainer {
public:
    // `student` adapts `model`; the data's task loss and the recovery options set the loss; `seed`
    // draws dropout. With `group` (may be null) this process trains as its rank: batch_size is per process.
    RecoveryTrainer(Vlm& model, Student& student, const RecoveryData& data, const RecoveryOptions& recovery, uint64_t seed,
                    ProcessGroup* group = nullptr);

    struct Losses {
        at::Tensor total, task, kl, hidden;  // scalars; total is differentiable in the student's parameters
        bool shared_task = false;            // task is over every rank's share of the batch
        VlmOutputs teacher, student;         // with hidden states of the distilled blocks
    };
    // The teacher's (dense) and the student's passes over one batch; dropout draws from `dropout`.
    Losses losses(const RecoveryBatch& batch, std::optional<at::Generator> dropout);

    // Trains to the end of the schedule (or max_steps), saving its state to `state_path` (when not
    // empty) every checkpoint_every steps and resuming from it when it exists; `eval` (may be
    // null) is scored with the student every eval_every steps; `on_step` (may be empty) hears of
    // every step as it ends. With a group, rank 0 alone reads and writes the state (the others
    // receive it), scores `eval` and reports progress.
    RecoveryResult run(const std::string& state_path, const EvalSet* eval, const JobControl& job,
                       const RecoveryStepFn& on_step = {});

private:
    Vlm& model_;
    Student& student_;
    const RecoveryData& data_;
    RecoveryOptions opt_;
    uint64_t seed_;
    ProcessGroup* group_;
    std::vector<std::pair<int, int>> distilled_;  // (tower, block) of the hidden-state MSE
};

}  // namespace ps
