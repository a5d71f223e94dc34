#pragma once
// The caching allocator behind every Storage: 64-byte aligned blocks. Small blocks come from
// per-thread free lists by power-of-two size class; large blocks from a global cache (bounded
// in bytes) because a freshly faulted-in large buffer costs a third of a big op's time.
// Built with GRADTAPE_NO_CACHE (sanitizer builds), or run with GRADTAPE_NO_CACHE=1 in the
// environment, it allocates and frees directly so that tools see every block.
#include <cstddef>

namespace gt::alloc {

// Returns a block of at least `nbytes` bytes; *capacity receives its real size.
void* allocate(size_t nbytes, size_t* capacity);
void deallocate(void* p, size_t capacity) noexcept;

}  // namespace gt::alloc
