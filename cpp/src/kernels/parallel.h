#pragma once
// parallel_for: splits [0, n) over a small pool of worker threads, for big memory-bound
// kernels. Designed around three measured traps:
//   - between jobs, workers spin for at most 50 us, then sleep on a condition variable, and
//     quiet_workers() (before every BLAS call) puts them to sleep at once, so they never
//     fight OpenBLAS's own threads for the two cores;
//   - below kMinParallel elements a call runs inline (waking a worker costs microseconds);
//   - after fork() the child runs everything inline (the pool's threads do not exist there).
// Nested calls, and calls while another thread is using the pool, run inline too. The pool
// size is GRADTAPE_NUM_THREADS, or the number of cores (at most 8).
#include <cstdint>
#include <functional>
#include <utility>

namespace gt::kernels {

constexpr int64_t kMinParallel = int64_t(1) << 16;

// The pool's side of parallel_for (parallel.cpp): splits [0, n) over the workers, or runs
// fn(0, n) inline when they cannot take it (nested, busy, after fork, one thread).
void parallel_for_pool(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t min_items);

// Calls fn(begin, end) on disjoint chunks covering [0, n); chunk bounds are multiples of 64
// (when min_items >= 128). Big calls are cut into a few pieces per thread, taken in turn, so a
// thread may get several chunks and their order is not fixed.
// Runs inline when n < min_items: then fn is called directly, with no std::function made (a
// small op's kernel call costs no allocation).
template <class F>
inline void parallel_for(int64_t n, F&& fn, int64_t min_items = kMinParallel) {
  if (n < min_items) {
    fn(int64_t(0), n);
    return;
  }
  parallel_for_pool(n, std::function<void(int64_t, int64_t)>(std::ref(fn)), min_items);
}

// Workers wait for the next job spinning for a few microseconds before they sleep (waking a
// sleeping thread on a VM costs more than a 64K-element kernel). Call this before handing the
// cores to another pool (OpenBLAS): spinning workers go to sleep at once.
void quiet_workers();

// Threads the pool will use (1 = everything inline).
int num_threads();
void set_num_threads(int n);

}  // namespace gt::kernels
