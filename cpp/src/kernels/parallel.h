#pragma once
// parallel_for: splits [0, n) over a small pool of worker threads, for big memory-bound
// kernels. Designed around three measured traps:
//   - workers sleep on a condition variable (no spinning), so they never fight OpenBLAS's
//     own threads for the two cores;
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

// Threads the pool will use (1 = everything inline).
int num_threads();
void set_num_threads(int n);

}  // namespace gt::kernels
