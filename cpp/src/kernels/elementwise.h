#pragma once
// Elementwise loops over contiguous buffers. Functors are inlined into `omp simd` loops, so
// the compiler vectorises them (libmvec for transcendentals, see vecmath.h). Broadcasting
// binary and ternary loops get a flat fast path for equal shapes and for a scalar operand.
#include <cstdint>
#include <type_traits>

#include "kernels/broadcast.h"
#include "kernels/parallel.h"
#include "kernels/vecmath.h"

namespace gt::kernels {

// Large loops are split over the thread pool (parallel_for); each element is computed the
// same way whatever the split, so results do not depend on the number of threads.

template <class T, class R, class F>
inline void map1_range(const T* __restrict x, R* __restrict out, int64_t n, F f) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
}

template <class T, class R, class F>
inline void map1(const T* x, R* out, int64_t n, F f) {
  parallel_for(n, [&](int64_t b, int64_t e) { map1_range(x + b, out + b, e - b, f); });
}

// One row of a binary op: strides 0 or 1 get vectorised loops.
template <class A, class B, class R, class F>
inline void row2(const A* __restrict pa, const B* __restrict pb, R* __restrict po, int64_t len,
                 int64_t sa, int64_t sb, F f) {
  if (sa == 1 && sb == 1) {
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) po[i] = f(pa[i], pb[i]);
  } else if (sa == 1 && sb == 0) {
    const B bv = *pb;
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) po[i] = f(pa[i], bv);
  } else if (sa == 0 && sb == 1) {
    const A av = *pa;
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) po[i] = f(av, pb[i]);
  } else {
    for (int64_t i = 0; i < len; ++i) po[i] = f(pa[i * sa], pb[i * sb]);
  }
}

template <class A, class B, class R, class F>
inline void map2_flat(const A* a, const B* b, R* out, int64_t n, F f) {
  parallel_for(n, [&](int64_t s, int64_t e) { row2(a + s, b + s, out + s, e - s, 1, 1, f); });
}

template <class A, class B, class R, class F>
inline void map2(const A* a, const B* b, R* out, const Plan& p, F f) {
  if (p.rank == 1) {  // one long row (e.g. a tensor and a scalar): split it
    const int64_t sa = p.strides[0][0], sb = p.strides[1][0];
    parallel_for(p.dims[0], [&](int64_t s, int64_t e) { row2(a + s * sa, b + s * sb, out + s, e - s, sa, sb, f); });
    return;
  }
  for_each_row(p, [&](const int64_t* off, int64_t o, int64_t len, const int64_t* s) {
    row2(a + off[0], b + off[1], out + o, len, s[0], s[1], f);
  });
}

template <class C, class A, class B, class R, class F>
inline void row3(const C* __restrict pc, const A* __restrict pa, const B* __restrict pb, R* __restrict po,
                 int64_t len, const int64_t* s, F f) {
  if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) po[i] = f(pc[i], pa[i], pb[i]);
  } else {
    for (int64_t i = 0; i < len; ++i) po[i] = f(pc[i * s[0]], pa[i * s[1]], pb[i * s[2]]);
  }
}

template <class C, class A, class B, class R, class F>
inline void map3(const C* c, const A* a, const B* b, R* out, const Plan& p, F f) {
  if (p.rank == 1) {
    const int64_t s[3] = {p.strides[0][0], p.strides[1][0], p.strides[2][0]};
    parallel_for(p.dims[0], [&](int64_t b0, int64_t e) {
      row3(c + b0 * s[0], a + b0 * s[1], b + b0 * s[2], out + b0, e - b0, s, f);
    });
    return;
  }
  for_each_row(p, [&](const int64_t* off, int64_t o, int64_t len, const int64_t* s) {
    row3(c + off[0], a + off[1], b + off[2], out + o, len, s, f);
  });
}

// Integer arithmetic that wraps instead of overflowing (signed overflow is undefined in C++).
template <class T>
inline T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T>) return T(std::make_unsigned_t<T>(a) + std::make_unsigned_t<T>(b));
  else return a + b;
}
template <class T>
inline T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T>) return T(std::make_unsigned_t<T>(a) - std::make_unsigned_t<T>(b));
  else return a - b;
}
template <class T>
inline T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T>) return T(std::make_unsigned_t<T>(a) * std::make_unsigned_t<T>(b));
  else return a * b;
}

}  // namespace gt::kernels
