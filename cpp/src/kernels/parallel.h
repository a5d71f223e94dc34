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

namespace gt::kernels {

constexpr int64_t kMinParallel = int64_t(1) << 16;

// Calls fn(begin, end) on disjoint chunks covering [0, n); chunk bounds are multiples of 64.
// Runs inline when n < min_items.
void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t min_items = kMinParallel);

// Workers wait for the next job spinning for a few microseconds before they sleep (waking a
// sleeping thread on a VM costs more than a 64K-element kernel). Call this before handing the
// cores to another pool (OpenBLAS): spinning workers go to sleep at once.
void quiet_workers();

// Threads the pool will use (1 = everything inline).
int num_threads();
void set_num_threads(int n);

}  // namespace gt::kernels
