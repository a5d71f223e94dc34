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

// A small block (at most 64 KiB) whose size the caller knows when freeing it: the same
// per-thread lists, without the capacity to carry around (deallocate_small takes the size
// asked for).
void* allocate_small(size_t nbytes);
void deallocate_small(void* p, size_t nbytes) noexcept;

// A std::allocator for objects made very often and freed soon (TensorImpl with its
// shared_ptr control block, tensor.cpp): from the per-thread lists instead of malloc. A block
// freed on another thread joins that thread's list, as a storage's does.
template <class T>
struct SmallAllocator {
  using value_type = T;
  static_assert(sizeof(T) <= (size_t(1) << 16), "SmallAllocator is for small objects");
  SmallAllocator() = default;
  template <class U>
  SmallAllocator(const SmallAllocator<U>&) noexcept {}  // NOLINT: implicit (rebinding)
  T* allocate(size_t n) {
    if (n != 1) return static_cast<T*>(::operator new(n * sizeof(T)));
    return static_cast<T*>(allocate_small(sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n != 1) {
      ::operator delete(p);
      return;
    }
    deallocate_small(p, sizeof(T));
  }
  template <class U>
  bool operator==(const SmallAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const SmallAllocator<U>&) const noexcept { return false; }
};

}  // namespace gt::alloc
