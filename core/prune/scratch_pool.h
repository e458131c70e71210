// Memory for the pruning pipeline's repeated temporaries. A stage runs one block over every
// calibration batch, so buffers of the same few sizes are freed and asked for again and again, by
// several threads, among longer-lived tensors; the C heap then fragments and keeps a multiple of
// what is live. While a ScratchPool::Scope is open, large CPU tensors come from page mappings kept
// by size and handed to the next request of (about) that size; trim() unmaps what is kept and has
// MKL, where it is torch's BLAS, free the GEMM packing buffers it caches.
#pragma once
#include <cstddef>

namespace ps {

class ScratchPool {
public:
    // Buffers from this size up are pooled; smaller ones come from the C heap as before.
    static constexpr std::size_t kMinBytes = 256 * 1024;

    // What freed buffers are kept for while a scope is open. All: a loop that asks for the same sizes
    // again (every pass over the batches). UpToPeak: steps whose temporaries mostly differ in size
    // (pruning one Linear): kept only while the pool maps no more than the most it has had in use
    // at once since the outermost scope opened; the largest kept ones go first.
    enum class Keep { All, UpToPeak };

    // Makes the pool torch's CPU allocator for the rest of the process (tensors it made may be freed
    // at any time later, exit included). Called once by whoever runs the work that pools; before it,
    // scopes pool nothing. Idempotent and thread-safe.
    static void install();

    // Pools while open (scopes nest). Freed buffers go back to the system once no scope is open.
    class Scope {
    public:
        explicit Scope(Keep keep = Keep::All);
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        Keep keep_;
    };

    static void trim();                   // unmaps every kept buffer
    static std::size_t kept_bytes();      // freed and kept for reuse
    static std::size_t in_use_bytes();    // handed out and not yet freed
};

}  // namespace ps
