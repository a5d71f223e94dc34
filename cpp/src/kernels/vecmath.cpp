// Vector variants of log1p for builds that may not ask glibc for its own (libmvec added them in
// glibc 2.35; see vecmath.h). They carry the names of the x86-64 vector function ABI
// (_ZGV<isa>N<lanes>v_log1pf), which the vectoriser calls for std::log1p in `omp simd` loops
// once vecmath.h declares log1pf with the simd attribute, so no kernel or op changes: the
// core's own definitions, hidden, are linked in instead of libmvec's.
//
// log1p(x) = log(u) * x / (u - 1) with u = fl(1 + x) (Goldberg, "What every computer
// scientist should know about floating-point arithmetic", theorem 4): the rounding error of u
// is divided out by x / (u - 1), so the result is within a few ulp of log1p(x) given an
// accurate log, here libmvec's (glibc 2.22) of the same width. u == 1 returns x (|x| below
// half an ulp of 1, where log1p(x) rounds to x); x = inf returns inf; x = -1 gives -inf and
// x < -1 or NaN gives NaN through log.
#include "kernels/vecmath.h"

#if defined(GT_OWN_VECTOR_LOG1P)
#pragma GCC diagnostic ignored "-Wpsabi"  // vector arguments wider than the baseline's registers

namespace {

template <class V, class T, V (*Log)(V)>
[[gnu::always_inline]] inline V log1p_from_log(V x) {
  const V u = T(1) + x;
  const V d = u - T(1);
  const V r = Log(u) * (x / d);
  const V tiny = d == T(0) ? x : r;
  return u == T(__builtin_inf()) ? u : tiny;
}

}  // namespace

// One vector width: V holds N lanes of T; `target` is the ISA of the vector ABI letter.
#define GT_LOG1P_VARIANT(T, N, ISA, TARGET, LOG, NAME)                                        \
  typedef T NAME##_vec __attribute__((vector_size(sizeof(T) * N)));                           \
  extern "C" NAME##_vec LOG(NAME##_vec);                                                      \
  extern "C" __attribute__((visibility("hidden"), target(TARGET))) NAME##_vec NAME(NAME##_vec x) { \
    return log1p_from_log<NAME##_vec, T, LOG>(x);                                             \
  }

GT_LOG1P_VARIANT(float, 4, b, "sse2", _ZGVbN4v_logf, _ZGVbN4v_log1pf)
GT_LOG1P_VARIANT(float, 8, c, "avx", _ZGVcN8v_logf, _ZGVcN8v_log1pf)
GT_LOG1P_VARIANT(float, 8, d, "avx2", _ZGVdN8v_logf, _ZGVdN8v_log1pf)
GT_LOG1P_VARIANT(float, 16, e, "avx512f", _ZGVeN16v_logf, _ZGVeN16v_log1pf)
GT_LOG1P_VARIANT(double, 2, b, "sse2", _ZGVbN2v_log, _ZGVbN2v_log1p)
GT_LOG1P_VARIANT(double, 4, c, "avx", _ZGVcN4v_log, _ZGVcN4v_log1p)
GT_LOG1P_VARIANT(double, 4, d, "avx2", _ZGVdN4v_log, _ZGVdN4v_log1p)
GT_LOG1P_VARIANT(double, 8, e, "avx512f", _ZGVeN8v_log, _ZGVeN8v_log1p)
#endif
