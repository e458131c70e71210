#include "core/prune/scratch_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include "core/prune/torch_symbol.h"

namespace ps {
namespace {

constexpr std::size_t kPage = 4096;

// The mappings handed out (address -> mapped bytes) and those kept for reuse, by size. Never
// destroyed: tensors may be freed during the process's exit.
struct Pool {
    std::mutex mu;
    std::unordered_map<void*, std::size_t> in_use;
    std::map<std::size_t, std::vector<void*>> kept;
    std::size_t kept_bytes = 0, in_use_bytes = 0;
    std::size_t peak_in_use = 0;  // the most in use at once since the outermost scope opened
    int scopes = 0, bounded_scopes = 0;  // open scopes, and those of them with Keep::UpToPeak

    // A mapping of at least `bytes` (a multiple of the page size) while a scope is open: the
    // smallest kept one of at most twice that, else a new one; nullptr outside a scope or when the
    // system has none. Under a Keep::UpToPeak scope, before a new one is mapped, the largest kept
    // ones are unmapped until what the pool maps is no more than the most it has had in use at
    // once: buffers used once and not asked for again are not kept on top of the live ones.
    void* take(std::size_t bytes) {
        std::vector<std::pair<void*, std::size_t>> evicted;
        {
            const std::lock_guard<std::mutex> lock(mu);
            if (scopes == 0) return nullptr;
            auto it = kept.lower_bound(bytes);
            if (it != kept.end() && it->first <= 2 * bytes) {
                const std::size_t size = it->first;
                void* p = it->second.back();
                it->second.pop_back();
                if (it->second.empty()) kept.erase(it);
                kept_bytes -= size;
                in_use.emplace(p, size);
                in_use_bytes += size;
                return p;
            }
            const std::size_t live = in_use_bytes + bytes;
            peak_in_use = std::max(peak_in_use, live);
            while (bounded_scopes > 0 && !kept.empty() && live + kept_bytes > peak_in_use) {
                auto largest = std::prev(kept.end());
                evicted.emplace_back(largest->second.back(), largest->first);
                kept_bytes -= largest->first;
                largest->second.pop_back();
                if (largest->second.empty()) kept.erase(largest);
            }
        }
        for (const auto& [p, size] : evicted) ::munmap(p, size);
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return nullptr;
        const std::lock_guard<std::mutex> lock(mu);
        in_use.emplace(p, bytes);
        in_use_bytes += bytes;
        return p;
    }

    // Takes back a mapping of this pool (false for any other address): kept while a scope is open,
    // else unmapped. Mappings start on a page; other addresses are told apart without the lock.
    bool give(void* p) {
        if (reinterpret_cast<std::uintptr_t>(p) % kPage != 0) return false;
        std::size_t bytes = 0;
        {
            const std::lock_guard<std::mutex> lock(mu);
            auto it = in_use.find(p);
            if (it == in_use.end()) return false;
            bytes = it->second;
            in_use.erase(it);
            in_use_bytes -= bytes;
            if (scopes > 0) {
                kept[bytes].push_back(p);
                kept_bytes += bytes;
                return true;
            }
        }
        ::munmap(p, bytes);
        return true;
    }

    void trim() {
        std::map<std::size_t, std::vector<void*>> out;
        {
            const std::lock_guard<std::mutex> lock(mu);
            out.swap(kept);
            kept_bytes = 0;
        }
        for (const auto& [bytes, ptrs] : out)
            for (void* p : ptrs) ::munmap(p, bytes);
    }
};

Pool& pool() {
    static Pool* p = new Pool;
    return *p;
}

std::size_t mapped_size(std::size_t n) { return (n + kPage - 1) / kPage * kPage; }

// Torch's CPU allocator while installed: large buffers from the pool (when pooling), the rest as
// torch's default allocator makes them. One deleter for both, so the raw interface holds.
void free_tensor(void* p) {
    if (!pool().give(p)) c10::free_cpu(p);
}

class PoolAllocator final : public c10::Allocator {
public:
    c10::DataPtr allocate(std::size_t n) override {
        void* p = n >= ScratchPool::kMinBytes ? pool().take(mapped_size(n)) : nullptr;
        if (!p) p = c10::alloc_cpu(n);
        return {p, p, &free_tensor, c10::Device(c10::DeviceType::CPU)};
    }
    c10::DeleterFnPtr raw_deleter() const override { return &free_tensor; }
    void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
};

}  // namespace

// Installed once for the life of the process, never taken away or destroyed.
void ScratchPool::install() {
    static std::once_flag once;
    std::call_once(once, [] { c10::SetCPUAllocator(new PoolAllocator, /*priority=*/1); });
}

ScratchPool::Scope::Scope(Keep keep) : keep_(keep) {
    const std::lock_guard<std::mutex> lock(pool().mu);
    if (pool().scopes++ == 0) pool().peak_in_use = pool().in_use_bytes;
    if (keep_ == Keep::UpToPeak) ++pool().bounded_scopes;
}

ScratchPool::Scope::~Scope() {
    bool last = false;
    {
        const std::lock_guard<std::mutex> lock(pool().mu);
        last = --pool().scopes == 0;
        if (keep_ == Keep::UpToPeak) --pool().bounded_scopes;
    }
    if (last) trim();
}

void ScratchPool::trim() {
    pool().trim();
    // MKL keeps each thread's GEMM packing buffers, one per size it has met, until told otherwise.
    static const auto mkl_free_buffers = reinterpret_cast<void (*)()>(torch_cpu_symbol("mkl_serv_free_buffers"));
    if (mkl_free_buffers) mkl_free_buffers();
}

std::size_t ScratchPool::kept_bytes() {
    const std::lock_guard<std::mutex> lock(pool().mu);
    return pool().kept_bytes;
}

std::size_t ScratchPool::in_use_bytes() {
    const std::lock_guard<std::mutex> lock(pool().mu);
    return pool().in_use_bytes;
}

}  // namespace ps
