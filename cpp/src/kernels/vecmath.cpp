// Vector variants of log1p, expm1 and tanh for builds that may not ask glibc for its own at
// link time (libmvec added them in glibc 2.35; see vecmath.h). They carry the names of the
// x86-64 vector function ABI (_ZGV<isa>N<lanes>v_log1pf, ...), which the vectoriser calls for
// std::log1p, std::expm1 and std::tanh in `omp simd` loops once vecmath.h declares them with
// the simd attribute, so no kernel or op changes: the core's definitions, hidden, are linked in
// instead of libmvec's. Each forwards, through a pointer set once when the library loads, to
// - libmvec's own variant when the running glibc has it (>= 2.35: looked up by name and
//   version with dlvsym, so the library never asks the dynamic linker for a glibc 2.35 symbol
//   and still loads on glibc 2.28), unless GRADTAPE_NO_LIBMVEC_2_35=1;
// - else the core's own implementation below, built on libmvec's exp and log of glibc 2.22.
//
// log1p(x) = log(u) * x / (u - 1) with u = fl(1 + x) (Goldberg, "What every computer
// scientist should know about floating-point arithmetic", theorem 4): the rounding error of u
// is divided out by x / (u - 1), so the result is within a few ulp of log1p(x) given an
// accurate log, here libmvec's (glibc 2.22) of the same width. u == 1 returns x (|x| below
// half an ulp of 1, where log1p(x) rounds to x); x = inf returns inf; x = -1 gives -inf and
// x < -1 or NaN gives NaN through log.
#include "kernels/vecmath.h"

#include <dlfcn.h>

#include <cstdlib>

namespace gt::kernels {
const char* vecmath_runtime_source();  // for gt::kernel_build_info() (isa.cpp)
}

#if defined(GT_OWN_VECTOR_MATH)
#pragma GCC diagnostic ignored "-Wpsabi"  // vector arguments wider than the baseline's registers

namespace {

// libmvec's variant `name` when the running glibc has it (GLIBC_2.35), else null.
void* libmvec_2_35(const char* name) {
  static void* const lib = [] {
    const char* off = std::getenv("GRADTAPE_NO_LIBMVEC_2_35");
    if (off && off[0] && off[0] != '0') return static_cast<void*>(nullptr);
    return dlopen("libmvec.so.1", RTLD_NOW | RTLD_NOLOAD);  // loaded already: the core needs it
  }();
  return lib ? dlvsym(lib, name, "GLIBC_2.35") : nullptr;
}

int g_from_libmvec = 0;  // variants bound to libmvec's when the library loaded

// Points `*slot` at libmvec's variant `name` when there is one (at load time, see below; the
// slot is constant-initialised to the own variant, so a call before that is still right).
template <class Fn>
struct BindLibmvec {
  BindLibmvec(const char* name, Fn* slot) {
    if (void* p = libmvec_2_35(name)) {
      *slot = reinterpret_cast<Fn>(p);
      ++g_from_libmvec;
    }
  }
};

template <class V, class T, V (*Log)(V)>
[[gnu::always_inline]] inline V log1p_from_log(V x) {
  const V u = T(1) + x;
  const V d = u - T(1);
  const V r = Log(u) * (x / d);
  const V tiny = d == T(0) ? x : r;
  return u == T(__builtin_inf()) ? u : tiny;
}

// expm1(x) = (u - 1) * x / log(u) with u = fl(exp(x)) (Kahan): (u - 1) / log(u) is a smooth
// function of u, so the rounding error of u cancels; x returns when u rounds to 1 (|x| below
// half an ulp), -1 when u - 1 does (x below about -17 in float, -37 in double, and -inf), inf
// when exp overflows (or x = inf); NaN stays NaN.
template <class V, class T, V (*Exp)(V), V (*Log)(V)>
[[gnu::always_inline]] inline V expm1_from_exp(V x) {
  const V u = Exp(x);
  const V um1 = u - T(1);
  V r = um1 * (x / Log(u));
  r = u == T(1) ? x : r;
  r = um1 == T(-1) ? um1 : r;
  return u == T(__builtin_inf()) ? u : r;
}

// tanh(x) = sign(x) * r with a = |x|: r = 1 - 2 / (exp(2a) + 1) for a >= 0.55 (r >= 0.5, so
// exp's error shrinks instead of growing), r = a + a^3 P(a^2) below, P the Taylor series of
// (tanh(a) - a) / a^3 cut where its remainder at a = 0.55 is under 1e-9 (float) or 1e-17
// (double) of the result. x = +-0 returns x (the sign of zero), NaN stays NaN.
constexpr double kTanhTaylor[] = {
    -0.333333333333333333333,  0.133333333333333333333,  -0.053968253968253968254,  0.0218694885361552028219,
    -0.00886323552990219656886, 0.00359212803657248101693, -0.00145583438705131826825, 0.000590027440945585981378,
    -0.000239129114243552481486, 0.000096915379569294503256, -0.0000392783238833168340534,
    0.0000159189050693289647407, -0.00000645168921565543076319, 0.00000261477115129075455426,
    -0.00000105972683201046543509, 4.29491107827380585482e-7, -1.74066189635716477799e-7,
    7.05463694640096832521e-8, -2.85913666230525390833e-8};
template <class T>
constexpr int kTanhTerms = sizeof(T) == 4 ? 8 : 19;

template <class V, class T, V (*Exp)(V)>
[[gnu::always_inline]] inline V tanh_from_exp(V x) {
  const V a = x < T(0) ? -x : x;
  const V big = T(1) - T(2) / (Exp(T(2) * a) + T(1));
  const V z = a * a;
  V p = V{} + T(kTanhTaylor[kTanhTerms<T> - 1]);
  for (int k = kTanhTerms<T> - 2; k >= 0; --k) p = p * z + T(kTanhTaylor[k]);
  const V small = a + a * z * p;
  const V r = a < T(0.55) ? small : big;
  const V s = x < T(0) ? -r : r;
  return x == T(0) ? x : s;
}

// One function at one vector width: V holds N lanes of T, TARGET is the ISA of the vector ABI
// letter (b: SSE2, c: AVX, d: AVX2, e: AVX-512); `own` computes it with BODY.
#define GT_VECMATH_FN(V, TARGET, NAME, BODY)                                                   \
  __attribute__((target(TARGET))) V NAME##_own(V x) { return BODY; }                          \
  V (*NAME##_impl)(V) = &NAME##_own;                                                          \
  const BindLibmvec<V (*)(V)> NAME##_bind(#NAME, &NAME##_impl);                               \
  }                                                                                           \
  extern "C" __attribute__((visibility("hidden"), target(TARGET))) V NAME(V x) {              \
    return NAME##_impl(x);                                                                    \
  }                                                                                           \
  namespace {

// The three functions at one width, on libmvec's exp and log of that width (EXP, LOG).
#define GT_VECMATH_VARIANT(T, N, TARGET, EXP, LOG, LOG1P, EXPM1, TANH)                         \
  typedef T LOG1P##_vec __attribute__((vector_size(sizeof(T) * N)));                          \
  }                                                                                           \
  extern "C" LOG1P##_vec EXP(LOG1P##_vec);                                                    \
  extern "C" LOG1P##_vec LOG(LOG1P##_vec);                                                    \
  namespace {                                                                                 \
  GT_VECMATH_FN(LOG1P##_vec, TARGET, LOG1P, (log1p_from_log<LOG1P##_vec, T, LOG>(x)))         \
  GT_VECMATH_FN(LOG1P##_vec, TARGET, EXPM1, (expm1_from_exp<LOG1P##_vec, T, EXP, LOG>(x)))    \
  GT_VECMATH_FN(LOG1P##_vec, TARGET, TANH, (tanh_from_exp<LOG1P##_vec, T, EXP>(x)))

GT_VECMATH_VARIANT(float, 4, "sse2", _ZGVbN4v_expf, _ZGVbN4v_logf, _ZGVbN4v_log1pf, _ZGVbN4v_expm1f, _ZGVbN4v_tanhf)
GT_VECMATH_VARIANT(float, 8, "avx", _ZGVcN8v_expf, _ZGVcN8v_logf, _ZGVcN8v_log1pf, _ZGVcN8v_expm1f, _ZGVcN8v_tanhf)
GT_VECMATH_VARIANT(float, 8, "avx2", _ZGVdN8v_expf, _ZGVdN8v_logf, _ZGVdN8v_log1pf, _ZGVdN8v_expm1f, _ZGVdN8v_tanhf)
GT_VECMATH_VARIANT(float, 16, "avx512f", _ZGVeN16v_expf, _ZGVeN16v_logf, _ZGVeN16v_log1pf, _ZGVeN16v_expm1f,
                   _ZGVeN16v_tanhf)
GT_VECMATH_VARIANT(double, 2, "sse2", _ZGVbN2v_exp, _ZGVbN2v_log, _ZGVbN2v_log1p, _ZGVbN2v_expm1, _ZGVbN2v_tanh)
GT_VECMATH_VARIANT(double, 4, "avx", _ZGVcN4v_exp, _ZGVcN4v_log, _ZGVcN4v_log1p, _ZGVcN4v_expm1, _ZGVcN4v_tanh)
GT_VECMATH_VARIANT(double, 4, "avx2", _ZGVdN4v_exp, _ZGVdN4v_log, _ZGVdN4v_log1p, _ZGVdN4v_expm1, _ZGVdN4v_tanh)
GT_VECMATH_VARIANT(double, 8, "avx512f", _ZGVeN8v_exp, _ZGVeN8v_log, _ZGVeN8v_log1p, _ZGVeN8v_expm1, _ZGVeN8v_tanh)

}  // namespace

const char* gt::kernels::vecmath_runtime_source() {
  return g_from_libmvec == 24 ? "log1p/expm1/tanh from libmvec (glibc >= 2.35 at run time)"
                              : "own vector log1p/expm1/tanh";
}
#else
const char* gt::kernels::vecmath_runtime_source() { return ""; }
#endif
