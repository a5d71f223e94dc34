#pragma once
// Lets the vectoriser call glibc's vector math library (libmvec) for the transcendentals in
// `#pragma omp simd` loops. glibc declares these SIMD variants only under -ffast-math, which
// would break NaN and inf; declaring them here, with -fno-math-errno, gets the vector calls
// and keeps IEEE semantics. libmvec is a few ulp less accurate than the scalar functions; the
// stability-critical ops (softplus, sigmoid, log_softmax) use scalar calls where it matters.
#include <cmath>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(GRADTAPE_NO_MVEC)
#define GT_SIMD_DECL __attribute__((simd("notinbranch")))
extern "C" {
GT_SIMD_DECL float expf(float) noexcept;
GT_SIMD_DECL double exp(double) noexcept;
GT_SIMD_DECL float logf(float) noexcept;
GT_SIMD_DECL double log(double) noexcept;
GT_SIMD_DECL float log1pf(float) noexcept;
GT_SIMD_DECL double log1p(double) noexcept;
GT_SIMD_DECL float expm1f(float) noexcept;
GT_SIMD_DECL double expm1(double) noexcept;
GT_SIMD_DECL float sinf(float) noexcept;
GT_SIMD_DECL double sin(double) noexcept;
GT_SIMD_DECL float cosf(float) noexcept;
GT_SIMD_DECL double cos(double) noexcept;
GT_SIMD_DECL float tanf(float) noexcept;
GT_SIMD_DECL double tan(double) noexcept;
GT_SIMD_DECL float tanhf(float) noexcept;
GT_SIMD_DECL double tanh(double) noexcept;
GT_SIMD_DECL float powf(float, float) noexcept;
GT_SIMD_DECL double pow(double, double) noexcept;
}
#undef GT_SIMD_DECL
#endif
