#include "allocator.h"

#include "record.h"  // GT_TLS

#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace gt::alloc {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kSmallMax = 1 << 16;      // size classes up to 64 KiB, per thread
constexpr int kNumClasses = 11;            // 64 B .. 64 KiB
// Blocks kept per size class and thread: 256, or more of the small classes, up to 1 MiB of
// each. A program replay or a tape of a long scalar chain (W3: a thousand records) holds a
// thousand small tensors at once and frees them all at the end; a cache shorter than that
// sends most of them back to malloc each time.
constexpr size_t kPerClassCached = 256;
constexpr size_t kPerClassCachedBytes = size_t(1) << 20;
constexpr size_t class_limit(int c) {
  return std::max(kPerClassCached, kPerClassCachedBytes / (size_t(64) << c));
}
constexpr size_t kLargeCacheBytes = size_t(1) << 30;  // at most 1 GiB kept for reuse
constexpr size_t kHugePage = size_t(2) << 20;

bool caching_enabled() {
#ifdef GRADTAPE_NO_CACHE
  return false;
#else
  static const bool on = [] {
    const char* e = std::getenv("GRADTAPE_NO_CACHE");
    return !(e && e[0] && e[0] != '0');
  }();
  return on;
#endif
}

void* raw_alloc(size_t capacity) {
  void* p = std::aligned_alloc(kAlign, capacity);
  if (!p) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)  // Linux
  if (capacity >= kHugePage) madvise(p, capacity, MADV_HUGEPAGE);
#endif
  return p;
}

int size_class(size_t n) {
  int c = 0;
  size_t s = 64;
  while (s < n) { s <<= 1; ++c; }
  return c;
}

struct ThreadCache {
  std::vector<void*> lists[kNumClasses];
  ~ThreadCache() {
    for (auto& l : lists)
      for (void* p : l) std::free(p);
  }
};
thread_local ThreadCache* tls_cache_ptr GT_TLS = nullptr;
thread_local bool tls_cache_dead GT_TLS = false;

ThreadCache* thread_cache() {
  if (tls_cache_ptr) return tls_cache_ptr;
  if (tls_cache_dead) return nullptr;
  static thread_local struct Holder {
    ThreadCache cache;
    Holder() { tls_cache_ptr = &cache; }
    ~Holder() { tls_cache_ptr = nullptr; tls_cache_dead = true; }
  } holder;
  return tls_cache_ptr;
}

struct LargeCache {
  std::mutex mu;
  std::multimap<size_t, void*> blocks;
  size_t bytes = 0;
};
// fork() while another thread holds the cache's lock would leave the child's copy locked
// forever: hold it across fork() (prepare locks, parent and child unlock).
void lock_for_fork();
void unlock_after_fork();

LargeCache& large_cache() {
  static LargeCache* c = [] {
    auto* cache = new LargeCache();  // leaked on purpose: used until exit
    pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
    return cache;
  }();
  return *c;
}
void lock_for_fork() { large_cache().mu.lock(); }
void unlock_after_fork() { large_cache().mu.unlock(); }

void cache_large(void* p, size_t capacity);

}  // namespace

void* allocate(size_t nbytes, size_t* capacity) {
  if (nbytes == 0) nbytes = 1;
  if (nbytes > (size_t(1) << 48)) throw std::bad_alloc();
  if (!caching_enabled()) {
    *capacity = (nbytes + kAlign - 1) / kAlign * kAlign;
    return raw_alloc(*capacity);
  }
  if (nbytes <= kSmallMax) {
    int c = size_class(nbytes);
    *capacity = size_t(64) << c;
    if (ThreadCache* tc = thread_cache()) {
      auto& l = tc->lists[c];
      if (!l.empty()) { void* p = l.back(); l.pop_back(); return p; }
    }
    return raw_alloc(*capacity);
  }
  size_t cap = (nbytes + 4095) / 4096 * 4096;
  {
    LargeCache& lc = large_cache();
    std::lock_guard<std::mutex> lock(lc.mu);
    auto it = lc.blocks.lower_bound(cap);
    if (it != lc.blocks.end() && it->first <= cap + cap / 8) {
      void* p = it->second;
      *capacity = it->first;
      lc.bytes -= it->first;
      lc.blocks.erase(it);
      return p;
    }
  }
  *capacity = cap;
  return raw_alloc(cap);
}

// Called from destructors: it never throws (a cache that cannot grow frees the block).
void deallocate(void* p, size_t capacity) noexcept {
  if (!caching_enabled()) { std::free(p); return; }
  if (capacity <= kSmallMax) {
    ThreadCache* tc = thread_cache();
    if (tc) {
      auto& l = tc->lists[size_class(capacity)];
      if (l.size() < class_limit(size_class(capacity))) {
        try {
          l.push_back(p);
          return;
        } catch (...) {
        }
      }
    }
    std::free(p);
    return;
  }
  try {
    cache_large(p, capacity);
  } catch (...) {
    std::free(p);
  }
}

void* allocate_small(size_t nbytes) {
  size_t capacity;
  return allocate(nbytes, &capacity);
}

void deallocate_small(void* p, size_t nbytes) noexcept {
  if (!caching_enabled()) {
    std::free(p);
    return;
  }
  deallocate(p, size_t(64) << size_class(nbytes == 0 ? 1 : nbytes));
}

namespace {
void cache_large(void* p, size_t capacity) {
  LargeCache& lc = large_cache();
  std::lock_guard<std::mutex> lock(lc.mu);
  if (lc.bytes + capacity > kLargeCacheBytes) {
    // Evict the largest blocks first to make room.
    while (!lc.blocks.empty() && lc.bytes + capacity > kLargeCacheBytes) {
      auto last = std::prev(lc.blocks.end());
      lc.bytes -= last->first;
      std::free(last->second);
      lc.blocks.erase(last);
    }
    if (capacity > kLargeCacheBytes) { std::free(p); return; }
  }
  // Before the blocks of its size: allocate() takes the first of a size, so the block freed last
  // (the one most likely still in the CPU's caches) is reused first.
  lc.blocks.emplace_hint(lc.blocks.lower_bound(capacity), capacity, p);
  lc.bytes += capacity;
}

}  // namespace

}  // namespace gt::alloc
