#include "core/dist/process_group.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <unistd.h>

// c10d's Gloo backend is compiled into the torch wheel; its header is guarded by this macro.
#define USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "core/error.h"

namespace ps {

namespace {

int env_int(const char* name, int fallback, int lo, int hi) {
    const char* v = std::getenv(name);
    if (!v) return fallback;
    char* end = nullptr;
    const long x = std::strtol(v, &end, 10);
    if (end == v || *end != '\0' || x < lo || x > hi)
        throw Error("environment", std::string(name) + "='" + v + "' is not an integer in [" + std::to_string(lo) + ", " +
                                       std::to_string(hi) + "]");
    return static_cast<int>(x);
}

// Gloo prints each rank's connection to stdout, which carries a command's results: while one of
// these lives, stdout goes to stderr.
struct StdoutToStderr {
    int saved;
    StdoutToStderr() {
        std::fflush(stdout);
        saved = ::dup(STDOUT_FILENO);
        ::dup2(STDERR_FILENO, STDOUT_FILENO);
    }
    ~StdoutToStderr() {
        std::fflush(stdout);
        ::dup2(saved, STDOUT_FILENO);
        ::close(saved);
    }
};

// The tensors end to end in one float64 CPU buffer (exact for every float32 value), for one
// collective over all of them.
std::vector<at::Tensor> flatten(const std::vector<at::Tensor>& tensors) {
    std::vector<at::Tensor> flat;
    for (const at::Tensor& t : tensors) flat.push_back(t.detach().reshape({-1}).to(at::kCPU, at::kDouble));
    return {at::cat(flat)};
}

// The buffer's pieces back into the tensors, in place.
void unflatten(const at::Tensor& buffer, const std::vector<at::Tensor>& tensors) {
    int64_t at = 0;
    for (const at::Tensor& t : tensors) {
        const int64_t n = t.numel();
        t.detach().copy_(buffer.slice(0, at, at + n).view(t.sizes()));
        at += n;
    }
}

// Starts a collective and waits for it; a process that is gone or silent past the timeout
// becomes one line naming this rank and what it was doing.
template <typename Start>
void run_collective(int rank, const char* doing, Start&& start) {
    try {
        start()->wait();
    } catch (const std::exception& e) {
        throw Error("rank " + std::to_string(rank), std::string("lost the other processes while ") + doing + " (" + first_line(e) + ")");
    }
}

}  // namespace

DistEnv dist_env_from_environment() {
    DistEnv env;
    const bool torchrun = std::getenv("RANK") || std::getenv("WORLD_SIZE");
    if (torchrun) {
        if (!std::getenv("RANK") || !std::getenv("WORLD_SIZE"))
            throw Error("environment", "RANK and WORLD_SIZE must be set together");
        env.world_size = env_int("WORLD_SIZE", 1, 1, 1 << 16);
        env.rank = env_int("RANK", 0, 0, env.world_size - 1);
        env.local_rank = env_int("LOCAL_RANK", 0, 0, 1 << 16);
    } else {
        env.world_size = env_int("SLURM_NTASKS", 1, 1, 1 << 16);
        env.rank = env_int("SLURM_PROCID", 0, 0, env.world_size - 1);
        env.local_rank = env_int("SLURM_LOCALID", 0, 0, 1 << 16);
    }
    if (const char* addr = std::getenv("MASTER_ADDR")) env.master_addr = addr;
    env.master_port = env_int("MASTER_PORT", env.master_port, 1, 65535);
    env.timeout = std::chrono::seconds(env_int("PRUNESTUDIO_DIST_TIMEOUT", static_cast<int>(env.timeout.count()), 1, 1 << 20));
    return env;
}

struct ProcessGroup::Impl {
    c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};

ProcessGroup::ProcessGroup(const DistEnv& env) : env_(env), impl_(std::make_unique<Impl>()) {
    // c10d logs every connection retry and failure with a C++ backtrace; the Errors thrown here
    // carry the first line, so its log stays quiet unless TORCH_CPP_LOG_LEVEL asks for it.
    if (!std::getenv("TORCH_CPP_LOG_LEVEL")) FLAGS_caffe2_log_level = std::max(FLAGS_caffe2_log_level, 3);
    const std::string where = "rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size);
    try {
        c10d::TCPStoreOptions so;
        so.port = static_cast<uint16_t>(env.master_port);
        // Under torchrun the agent already serves the store at MASTER_ADDR:MASTER_PORT.
        const char* agent_store = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
        so.isServer = env.rank == 0 && !(agent_store && std::string(agent_store) == "True");
        so.numWorkers = env.world_size;
        so.waitWorkers = true;
        so.timeout = env.timeout;
        auto store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
        auto opts = c10d::ProcessGroupGloo::Options::create(env.timeout);
        // The network interface Gloo uses: GLOO_SOCKET_IFNAME as torch.distributed reads it, loopback
        // for a master on this machine, else the one the host name resolves to.
        const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
        const bool local = env.master_addr == "127.0.0.1" || env.master_addr == "localhost";
        opts->devices.push_back(ifname  ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                                : local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                        : c10d::ProcessGroupGloo::createDefaultDevice());
        const StdoutToStderr quiet;
        impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, opts);
    } catch (const std::exception& e) {
        throw Error(where, "cannot meet the other processes at " + env.master_addr + ":" + std::to_string(env.master_port) +
                               " (" + first_line(e) + ")");
    }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::average(const std::vector<at::Tensor>& tensors) {
    if (tensors.empty()) return;
    std::vector<at::Tensor> buffer = flatten(tensors);
    run_collective(env_.rank, "averaging", [&] { return impl_->gloo->allreduce(buffer); });
    buffer[0].div_(env_.world_size);
    unflatten(buffer[0], tensors);
}

at::Tensor ProcessGroup::gather_rows(const at::Tensor& local) {
    std::vector<at::Tensor> input{local.detach().to(at::kCPU).contiguous()};
    std::vector<std::vector<at::Tensor>> output(1);
    for (int r = 0; r < env_.world_size; ++r) output[0].push_back(at::empty_like(input[0]));
    run_collective(env_.rank, "gathering", [&] { return impl_->gloo->allgather(output, input); });
    std::vector<at::Tensor> parts;
    for (int r = 0; r < env_.world_size; ++r) parts.push_back(r == env_.rank ? local : output[0][r].to(local.device()));
    return at::cat(parts);
}

void ProcessGroup::broadcast(const std::vector<at::Tensor>& tensors, int root) {
    if (tensors.empty()) return;
    std::vector<at::Tensor> buffer = flatten(tensors);
    c10d::BroadcastOptions o;
    o.rootRank = root;
    run_collective(env_.rank, "broadcasting", [&] { return impl_->gloo->broadcast(buffer, o); });
    unflatten(buffer[0], tensors);
}

}  // namespace ps
