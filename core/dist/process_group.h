// Data-parallel training across processes on torch.distributed's c10d (TCPStore rendezvous, Gloo
// collectives): the launch environment torchrun and Slurm set, and the averaging and broadcast
// that recovery training needs. One process (world size 1) needs none of it.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace ps {

struct DistEnv {
    int rank = 0, world_size = 1, local_rank = 0;
    std::string master_addr = "127.0.0.1";
    int master_port = 29500;
    std::chrono::seconds timeout{300};  // rendezvous and each collective
    bool distributed() const { return world_size > 1; }
};

// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT as torchrun sets them, else SLURM_PROCID,
// SLURM_NTASKS, SLURM_LOCALID; PRUNESTUDIO_DIST_TIMEOUT in seconds. Nothing set: one process.
// Throws Error naming the variable that is malformed or inconsistent.
DistEnv dist_env_from_environment();

class ProcessGroup {
public:
    // Meets the other processes at MASTER_ADDR:MASTER_PORT (rank 0 listens there). Throws Error
    // when they do not all arrive within the timeout.
    explicit ProcessGroup(const DistEnv& env);
    ~ProcessGroup();
    ProcessGroup(const ProcessGroup&) = delete;
    ProcessGroup& operator=(const ProcessGroup&) = delete;

    int rank() const { return env_.rank; }
    int world_size() const { return env_.world_size; }

    // In place on every process: the mean over processes of each tensor, summed in float64 in one
    // collective for all of them. Throws Error when a process is gone or times out.
    void average(const std::vector<at::Tensor>& tensors);
    // Every process's `local` (same shape past dim 0 on all) end to end along dim 0, in rank order.
    // This process's part is `local` itself, so gradients flow back into it; the others' parts are
    // constants. A loss over the result summed over processes has the whole batch's gradient.
    at::Tensor gather_rows(const at::Tensor& local);
    // In place: every process ends with rank `root`'s values.
    void broadcast(const std::vector<at::Tensor>& tensors, int root = 0);

private:
    struct Impl;
    DistEnv env_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ps
