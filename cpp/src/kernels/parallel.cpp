#include "kernels/parallel.h"

#include "gradtape/tensor.h"  // gt::set_num_threads, gt::num_threads

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace gt::kernels {

namespace {

std::atomic<bool> g_forked_child{false};
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

  // Runs job(part) for part in [0, parts) with the caller taking part 0.
  void run_job(int parts, const std::function<void(int)>& job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &job;
      parts_ = parts;
      pending_ = parts - 1;
      ++generation_;
    }
    wake_.notify_all();
    job(0);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  void run(int index) {
    uint64_t seen = 0;
    tls_in_parallel = true;
    for (;;) {
      const std::function<void(int)>* job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (index >= parts_) continue;
        job = job_;
      }
      (*job)(index);
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int parts_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
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

void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t min_items) {
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
  const int64_t per = ((n + parts - 1) / parts + align - 1) / align * align;
  tls_in_parallel = true;
  p->run_job(parts, [&](int part) {
    int64_t b = std::min(n, int64_t(part) * per), e = std::min(n, b + per);
    if (b < e) fn(b, e);
  });
  tls_in_parallel = false;
}

}  // namespace gt::kernels

namespace gt {
void set_num_threads(int n) { kernels::set_num_threads(n); }
int num_threads() { return kernels::num_threads(); }
}  // namespace gt
