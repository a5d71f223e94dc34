// softplus(z) and sigmoid(z) of 256 floats in L1 (one call of W4's batch pass on a quarter of a
// chunk), computed the two ways the pair loop (fusion.h, chunk_unary_pair) could run: one loop
// doing both from e = exp(-|z|), or two loops (e stored, then both values from it), as it does
// now. ns per element, the best of 40 rounds of 3000 calls, the two ways alternated:
//   g++ -std=gnu++20 -O3 -fopenmp-simd -march=x86-64-v4 -I cpp/src bench/w4_pair.cpp -o /tmp/w4_pair && /tmp/w4_pair [n]
// (the v4 copy of the pair loop is compiled for x86-64-v4 with FMA contraction, as here).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/logistic.h"

using namespace gt::kernels;

__attribute__((noinline)) void one_loop(const float* __restrict a, float* __restrict sp, float* __restrict sg, long n) {
#pragma omp simd
  for (long i = 0; i < n; ++i) {
    const float e = exp_neg_abs(a[i]);
    sp[i] = softplus_from(a[i], e);
    sg[i] = sigmoid_from(a[i], e);
  }
}

__attribute__((noinline)) void two_loops(const float* __restrict a, float* __restrict sp, float* __restrict sg, long n) {
#pragma omp simd
  for (long i = 0; i < n; ++i) sp[i] = exp_neg_abs(a[i]);
#pragma omp simd
  for (long i = 0; i < n; ++i) {
    const float e = sp[i];
    sp[i] = softplus_from(a[i], e);
    sg[i] = sigmoid_from(a[i], e);
  }
}

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 256;
  const size_t m = size_t(n);
  std::vector<float> a(m), sp1(m), sg1(m), sp2(m), sg2(m);
  std::mt19937 g(1);
  std::normal_distribution<float> d(0.0f, 1.4f);  // about W4's z = x w + 0.25
  for (float& v : a) v = d(g);
  using F = void (*)(const float*, float*, float*, long);
  const F fs[2] = {one_loop, two_loops};
  double best[2] = {1e9, 1e9};
  for (int r = 0; r < 40; ++r)
    for (int k = 0; k < 2; ++k) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int q = 0; q < 3000; ++q) fs[k](a.data(), k ? sp2.data() : sp1.data(), k ? sg2.data() : sg1.data(), n);
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 3000 / double(n) * 1e9;
      if (t < best[k]) best[k] = t;
    }
  const bool same = std::memcmp(sp1.data(), sp2.data(), size_t(n) * 4) == 0 && std::memcmp(sg1.data(), sg2.data(), size_t(n) * 4) == 0;
  std::printf("one loop %.3f ns/element, two loops %.3f ns/element (values %s)\n", best[0], best[1], same ? "equal" : "DIFFER");
  return same ? 0 : 1;
}
