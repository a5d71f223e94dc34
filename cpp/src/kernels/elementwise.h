#pragma once
// Elementwise loops over contiguous buffers. Functors are inlined into `omp simd` loops, so
// the compiler vectorises them (libmvec for transcendentals, see vecmath.h). Broadcasting
// binary and ternary loops get a flat fast path for equal shapes and for a scalar operand.
#include <cstdint>
#include <type_traits>

#include "kernels/broadcast.h"
#include "kernels/vecmath.h"

namespace gt::kernels {

template <class T, class R, class F>
inline void map1(const T* __restrict x, R* __restrict out, int64_t n, F f) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
}

template <class A, class B, class R, class F>
inline void map2_flat(const A* __restrict a, const B* __restrict b, R* __restrict out, int64_t n, F f) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
}

template <class A, class B, class R, class F>
inline void map2(const A* a, const B* b, R* out, const Plan& p, F f) {
  for_each_row(p, [&](const int64_t* off, int64_t o, int64_t len, const int64_t* s) {
    const A* __restrict pa = a + off[0];
    const B* __restrict pb = b + off[1];
    R* __restrict po = out + o;
    if (s[0] == 1 && s[1] == 1) {
      map2_flat(pa, pb, po, len, f);
    } else if (s[0] == 1 && s[1] == 0) {
      const B bv = *pb;
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) po[i] = f(pa[i], bv);
    } else if (s[0] == 0 && s[1] == 1) {
      const A av = *pa;
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) po[i] = f(av, pb[i]);
    } else {
      for (int64_t i = 0; i < len; ++i) po[i] = f(pa[i * s[0]], pb[i * s[1]]);
    }
  });
}

template <class C, class A, class B, class R, class F>
inline void map3(const C* c, const A* a, const B* b, R* out, const Plan& p, F f) {
  for_each_row(p, [&](const int64_t* off, int64_t o, int64_t len, const int64_t* s) {
    const C* __restrict pc = c + off[0];
    const A* __restrict pa = a + off[1];
    const B* __restrict pb = b + off[2];
    R* __restrict po = out + o;
    if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) po[i] = f(pc[i], pa[i], pb[i]);
    } else {
      for (int64_t i = 0; i < len; ++i) po[i] = f(pc[i * s[0]], pa[i * s[1]], pb[i * s[2]]);
    }
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
