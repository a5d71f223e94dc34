#include "kernels/parallel.h"

#include "gradtape/tensor.h"  // gt::set_num_threads, gt::num_threads

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace gt::kernels {

namespace {

std::atomic<bool> g_forked_child{false};
std::atomic<uint64_t> g_quiet{0};  // bumped by quiet_workers(): spinning workers go to sleep
thread_local bool tls_in_parallel = false;

int default_threads() {
  if (const char* e = std::getenv("GRADTAPE_NUM_THREADS")) {
    int n = std::atoi(e);
    if (n >= 1) return std::min(n, 64);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return int(std::max(1u, std::min(hw, 8u)));
}

class Pool {
 public:
  explicit Pool(int workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i] { run(i + 1); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }
  int size() const { return int(threads_.size()) + 1; }

  // Runs job(part) for part in [0, parts) with the caller taking part 0, and a worker each
  // part it joins in time: job(0) must return only once the job's work is all taken (the
  // caller takes whatever pieces are left), as parallel_for_pool's does. The caller then waits
  // for the workers that joined, which are running their pieces, but never for one that has
  // not started: on a shared machine a woken worker may wait milliseconds for a core, and the
  // caller has done its part of the work by then (a worker that comes later finds no job).
  void run_job(int parts, const std::function<void(int)>& job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &job;
      parts_ = parts;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    job(0);
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = nullptr;
    }
    spin_until([this] { return active_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return active_.load(std::memory_order_acquire) == 0; });
  }

 private:
  void run(int index) {
    uint64_t seen = 0;
    tls_in_parallel = true;
    for (;;) {
      const std::function<void(int)>* job;
      const uint64_t quiet = g_quiet.load(std::memory_order_relaxed);
      spin_until([&] {
        return generation_.load(std::memory_order_acquire) != seen || g_quiet.load(std::memory_order_relaxed) != quiet;
      });
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_ || generation_.load(std::memory_order_relaxed) != seen; });
        if (stop_) return;
        seen = generation_.load(std::memory_order_relaxed);
        if (index >= parts_ || !job_) continue;  // not needed, or the caller finished without us
        job = job_;
        active_.fetch_add(1, std::memory_order_relaxed);
      }
      (*job)(index);
      std::lock_guard<std::mutex> lock(mu_);
      if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_.notify_one();
    }
  }

  // Waits up to kSpinMicros for cond() before the caller blocks on a condition variable: on
  // a VM, waking a sleeping thread costs tens of microseconds, more than a 64K-element kernel.
  // The spin is short, and quiet_workers() (called before each BLAS call) ends it, so that it
  // never holds a core OpenBLAS's threads need (the 27x trap of PERFORMANCE.md came from
  // spins of ~0.1 s).
  template <class Cond>
  static void spin_until(Cond cond) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
    for (int i = 0;; ++i) {
      if (cond()) return;
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return;
    }
  }
  static constexpr int kSpinMicros = 50;

  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int parts_ = 0;
  std::atomic<int> active_{0};  // workers running the current job
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;
};

std::atomic<int> g_threads{0};
std::mutex g_pool_mu;   // one parallel_for at a time; others run inline
Pool* g_pool = nullptr; // leaked at exit on purpose (joining threads in static destructors can hang)

// fork(): the pool's lock is held across it (a running parallel_for finishes first); the
// child, which has none of the pool's threads, runs every kernel inline from then on.
void before_fork() { g_pool_mu.lock(); }
void after_fork_parent() { g_pool_mu.unlock(); }
void after_fork_child() {
  g_forked_child.store(true);
  g_pool = nullptr;  // its threads are gone in the child; never touch it
  g_pool_mu.unlock();
}

Pool* pool() {
  static bool registered = [] {
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    return true;
  }();
  (void)registered;
  int want = num_threads();
  if (want <= 1 || g_forked_child.load()) return nullptr;
  if (!g_pool || g_pool->size() != want) {
    delete g_pool;
    g_pool = new Pool(want - 1);
  }
  return g_pool;
}

}  // namespace

int num_threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    n = default_threads();
    g_threads.store(n);
  }
  return n;
}

void set_num_threads(int n) { g_threads.store(std::max(1, n)); }

void quiet_workers() { g_quiet.fetch_add(1, std::memory_order_relaxed); }

void parallel_for_pool(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t min_items) {
  if (n < min_items || tls_in_parallel || g_forked_child.load(std::memory_order_relaxed) || num_threads() <= 1) {
    fn(0, n);
    return;
  }
  std::unique_lock<std::mutex> lock(g_pool_mu, std::try_to_lock);
  Pool* p = lock.owns_lock() ? pool() : nullptr;
  if (!p) {
    fn(0, n);
    return;
  }
  const int parts = int(std::min<int64_t>(p->size(), std::max<int64_t>(1, n / std::max<int64_t>(min_items / 2, 1))));
  if (parts <= 1) {
    fn(0, n);
    return;
  }
  const int64_t align = min_items >= 128 ? 64 : 1;
  // Pieces taken in turn by whichever thread is free: kPiecesPerThread a thread when the
  // work is big enough, so that a core slowed by another process (a shared machine) does not
  // hold the whole call back; each piece is still at least half of min_items.
  // (GRADTAPE_PIECES_PER_THREAD sets it, for bench/w4_pieces.py only.)
  static const int64_t kPiecesPerThread = [] {
    const char* e = std::getenv("GRADTAPE_PIECES_PER_THREAD");
    const int64_t v = e ? std::atoll(e) : 0;
    return v >= 1 && v <= 64 ? v : int64_t(4);
  }();
  const int64_t pieces = std::max<int64_t>(
      parts, std::min<int64_t>(parts * kPiecesPerThread, n / std::max<int64_t>(min_items / 2, 1)));
  const int64_t per = ((n + pieces - 1) / pieces + align - 1) / align * align;
  std::atomic<int64_t> next{0};
  tls_in_parallel = true;
  p->run_job(parts, [&](int) {
    for (int64_t k; (k = next.fetch_add(1, std::memory_order_relaxed)) < pieces;) {
      int64_t b = std::min(n, k * per), e = std::min(n, b + per);
      if (b < e) fn(b, e);
    }
  });
  tls_in_parallel = false;
}

}  // namespace gt::kernels

namespace gt {
void set_num_threads(int n) { kernels::set_num_threads(n); }
int num_threads() { return kernels::num_threads(); }
}  // namespace gt
