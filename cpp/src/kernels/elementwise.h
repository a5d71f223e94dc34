#pragma once
// Elementwise loops over contiguous buffers. Functors are inlined into `omp simd` loops, so
// the compiler vectorises them (libmvec for transcendentals, see vecmath.h). Broadcasting
// binary and ternary loops get a flat fast path for equal shapes and for a scalar operand.
#include <cstdint>
#include <type_traits>

#include "kernels/broadcast.h"
#include "kernels/isa.h"
#include "kernels/parallel.h"
#include "kernels/vecmath.h"

namespace gt::kernels {

// GCC does not vectorise loads or stores of `bool`; the loops see bool buffers as bytes (our
// bools are always 0 or 1), which it does.
template <class T>
using Lane = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;
template <class T>
inline const Lane<T>* lanes(const T* p) { return reinterpret_cast<const Lane<T>*>(p); }
template <class T>
inline Lane<T>* lanes(T* p) { return reinterpret_cast<Lane<T>*>(p); }

// An element function F (a captureless lambda or an empty functor) applied at type T: the
// functors the eager loops of ops_elementwise.cpp instantiate them with, and scalar code's loops
// too (scalar_code.h), so that the two are one function, compiled once, with the same bits.
template <class T, class F>
struct Apply1 {
  T operator()(T v) const { return T(F{}(v)); }
};
template <class T, class F>
struct Apply2 {
  T operator()(T x, T y) const { return T(F{}(x, y)); }
};
template <class T, class F>
struct Compare2 {
  bool operator()(T x, T y) const { return bool(F{}(x, y)); }
};

// Large loops are split over the thread pool (parallel_for); each element is computed the
// same way whatever the split, so results do not depend on the number of threads. The loops
// themselves are GT_DISPATCHED: compiled for AVX-512, AVX2 and the baseline (isa.h).

// The element types whose loops get the three ISA copies: the floats and int32/int64/bool.
// The 8- and 16-bit and unsigned integer types get the baseline copy only (still vectorised
// for SSE4.2): three copies of every loop for each of them would grow the module by half for
// types that are rarely hot.
template <class T>
inline constexpr bool kIsaCopies = std::is_floating_point_v<T> || std::is_same_v<T, int32_t> ||
                                   std::is_same_v<T, int64_t> || std::is_same_v<T, bool>;

template <class T, class R, class F>
inline void map1_body(const T* __restrict x_, R* __restrict out_, int64_t n, F f) {
  const auto* __restrict x = lanes(x_);
  auto* __restrict out = lanes(out_);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = Lane<R>(f(x[i]));
}
template <class T, class R, class F>
GT_DISPATCHED void map1_range_isa(const T* __restrict x, R* __restrict out, int64_t n, F f) { map1_body(x, out, n, f); }
template <class T, class R, class F>
void map1_range_base(const T* __restrict x, R* __restrict out, int64_t n, F f) { map1_body(x, out, n, f); }
template <class T, class R, class F>
inline void map1_range(const T* x, R* out, int64_t n, F f) {
  if constexpr (kIsaCopies<T> && kIsaCopies<R>) map1_range_isa(x, out, n, f);
  else map1_range_base(x, out, n, f);
}

template <class T, class R, class F>
inline void map1(const T* x, R* out, int64_t n, F f) {
  parallel_for(n, [&](int64_t b, int64_t e) { map1_range(x + b, out + b, e - b, f); });
}

// One row of a binary op: strides 0 or 1 get vectorised loops.
template <class A, class B, class R, class F>
inline void row2_body(const A* __restrict pa_, const B* __restrict pb_, R* __restrict po_, int64_t len,
                      int64_t sa, int64_t sb, F f) {
  const auto* __restrict pa = lanes(pa_);
  const auto* __restrict pb = lanes(pb_);
  auto* __restrict po = lanes(po_);
  if (sa == 1 && sb == 1) {
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) po[i] = Lane<R>(f(pa[i], pb[i]));
  } else if (sa == 1 && sb == 0) {
    const auto bv = *pb;
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) po[i] = Lane<R>(f(pa[i], bv));
  } else if (sa == 0 && sb == 1) {
    const auto av = *pa;
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) po[i] = Lane<R>(f(av, pb[i]));
  } else {
    for (int64_t i = 0; i < len; ++i) po[i] = Lane<R>(f(pa[i * sa], pb[i * sb]));
  }
}

template <class A, class B, class R, class F>
GT_DISPATCHED void row2_isa(const A* __restrict pa, const B* __restrict pb, R* __restrict po, int64_t len, int64_t sa,
                            int64_t sb, F f) {
  row2_body(pa, pb, po, len, sa, sb, f);
}
template <class A, class B, class R, class F>
void row2_base(const A* __restrict pa, const B* __restrict pb, R* __restrict po, int64_t len, int64_t sa, int64_t sb,
               F f) {
  row2_body(pa, pb, po, len, sa, sb, f);
}
template <class A, class B, class R, class F>
inline void row2(const A* pa, const B* pb, R* po, int64_t len, int64_t sa, int64_t sb, F f) {
  if constexpr (kIsaCopies<A> && kIsaCopies<B> && kIsaCopies<R>) row2_isa(pa, pb, po, len, sa, sb, f);
  else row2_base(pa, pb, po, len, sa, sb, f);
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

// One row of a ternary op with compile-time strides (0: a broadcast scalar, 1: contiguous).
// (A stride-0 operand is read once before the loop: GCC does not vectorise pb[i * 0].)
template <int S0, int S1, int S2, class C, class A, class B, class R, class F>
GT_DISPATCHED void row3_fixed(const C* __restrict pc_, const A* __restrict pa_, const B* __restrict pb_, R* __restrict po_,
                       int64_t len, F f) {
  if (len <= 0) return;
  const auto* __restrict pc = lanes(pc_);
  const auto* __restrict pa = lanes(pa_);
  const auto* __restrict pb = lanes(pb_);
  auto* __restrict po = lanes(po_);
  const auto c0 = *pc;
  const auto a0 = *pa;
  const auto b0 = *pb;
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) po[i] = Lane<R>(f(S0 ? pc[i] : c0, S1 ? pa[i] : a0, S2 ? pb[i] : b0));
}

// One row of a ternary op (where): every mix of strides 0 and 1 gets a vectorised loop
// (where(c, g, 0) has a scalar third operand).
template <class C, class A, class B, class R, class F>
inline void row3(const C* __restrict pc, const A* __restrict pa, const B* __restrict pb, R* __restrict po,
                 int64_t len, const int64_t* s, F f) {
  if (s[0] > 1 || s[1] > 1 || s[2] > 1 || s[0] < 0 || s[1] < 0 || s[2] < 0) {
    for (int64_t i = 0; i < len; ++i) po[i] = f(pc[i * s[0]], pa[i * s[1]], pb[i * s[2]]);
    return;
  }
  switch (s[0] * 4 + s[1] * 2 + s[2]) {
    case 7: return row3_fixed<1, 1, 1>(pc, pa, pb, po, len, f);
    case 6: return row3_fixed<1, 1, 0>(pc, pa, pb, po, len, f);
    case 5: return row3_fixed<1, 0, 1>(pc, pa, pb, po, len, f);
    case 4: return row3_fixed<1, 0, 0>(pc, pa, pb, po, len, f);
    case 3: return row3_fixed<0, 1, 1>(pc, pa, pb, po, len, f);
    case 2: return row3_fixed<0, 1, 0>(pc, pa, pb, po, len, f);
    case 1: return row3_fixed<0, 0, 1>(pc, pa, pb, po, len, f);
    default: return row3_fixed<0, 0, 0>(pc, pa, pb, po, len, f);
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
// It computes in an unsigned type at least as wide as unsigned int: 8- and 16-bit operands
// would otherwise be promoted to (signed) int, where uint16 65535 * 65535 overflows.
template <class T>
using WrapUnsigned = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
template <class T>
inline T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T>) return T(WrapUnsigned<T>(a) + WrapUnsigned<T>(b));
  else return a + b;
}
// reduce_sum's accumulation of T (ops_reduce.cpp): float32 in double, the others in their own
// type (integers wrap). One statement of it, so that scalar code runs the same instantiation of
// kernels::reduce as eager (scalar_code.cpp, note_reduce_sum_slow).
struct SumInDouble {
  double operator()(double a, double b) const { return a + b; }
};
template <class T>
struct SumWrapping {
  T operator()(T a, T b) const { return wrap_add(a, b); }
};
// The starting value of a sum of n elements into each result: +0, as TensorFlow's and NumPy's
// (a sum of -0s is +0), but -0 for one element, whose sum TensorFlow gives as the element itself
// (-0 + x is x for every x: reduce_sum([-0.]) is -0).
template <class Acc>
constexpr Acc sum_identity(int64_t n) {
  if constexpr (std::is_floating_point_v<Acc>) return n == 1 ? Acc(-0.0) : Acc(0);
  else return Acc(0);
}
template <class T>
struct SumOf {
  using Acc = T;
  using Op = SumWrapping<T>;
};
template <>
struct SumOf<float> {
  using Acc = double;
  using Op = SumInDouble;
};
template <class T>
inline T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T>) return T(WrapUnsigned<T>(a) - WrapUnsigned<T>(b));
  else return a - b;
}
template <class T>
inline T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T>) return T(WrapUnsigned<T>(a) * WrapUnsigned<T>(b));
  else return a * b;
}

}  // namespace gt::kernels
