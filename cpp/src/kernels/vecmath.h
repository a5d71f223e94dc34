#pragma once
// Lets the vectoriser call vector versions of the transcendentals in `#pragma omp simd` loops.
// glibc declares its vector math library's (libmvec's) SIMD variants only under -ffast-math,
// which would break NaN and inf; declaring them here, with -fno-math-errno, gets the vector
// calls and keeps IEEE semantics. The vector versions are a few ulp less accurate than the
// scalar functions. (softplus and sigmoid compute their float32 exp and log1p inline instead,
// kernels/logistic.h.)
//
// Which glibc a build may ask for (docs/building.md):
// - exp, log, sin, cos, pow have been in libmvec since glibc 2.22; manylinux_2_28 allows them,
//   so every x86-64 GCC build uses them.
// - log1p, expm1, tan, tanh came with glibc 2.35. Only a -march=native build (for the machine
//   it is built on: CMake defines GRADTAPE_MVEC_GLIBC_2_35) links them from libmvec. A default
//   (portable) build declares log1p, expm1 and tanh with vector variants of the core's own
//   (vecmath.cpp, hidden): each calls libmvec's variant when the running glibc has one (looked
//   up when the library loads) and otherwise computes it from libmvec's exp and log; tan stays
//   scalar. So no symbol of glibc 2.35 is linked, and a new glibc's are still used.
#include <cmath>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(GRADTAPE_NO_MVEC)
#define GT_SIMD_DECL __attribute__((simd("notinbranch")))
#if defined(GRADTAPE_MVEC_GLIBC_2_35) && defined(__GLIBC__) && __GLIBC_PREREQ(2, 35)
#define GT_MVEC_GLIBC_2_35 1
#else
#define GT_OWN_VECTOR_MATH 1  // vecmath.cpp defines log1p's, expm1's and tanh's vector variants
#endif
extern "C" {
GT_SIMD_DECL float expf(float) noexcept;
GT_SIMD_DECL double exp(double) noexcept;
GT_SIMD_DECL float logf(float) noexcept;
GT_SIMD_DECL double log(double) noexcept;
GT_SIMD_DECL float sinf(float) noexcept;
GT_SIMD_DECL double sin(double) noexcept;
GT_SIMD_DECL float cosf(float) noexcept;
GT_SIMD_DECL double cos(double) noexcept;
GT_SIMD_DECL float powf(float, float) noexcept;
GT_SIMD_DECL double pow(double, double) noexcept;
// Vector variants from libmvec (glibc >= 2.35), or the core's own (vecmath.cpp).
GT_SIMD_DECL float log1pf(float) noexcept;
GT_SIMD_DECL double log1p(double) noexcept;
GT_SIMD_DECL float expm1f(float) noexcept;
GT_SIMD_DECL double expm1(double) noexcept;
GT_SIMD_DECL float tanhf(float) noexcept;
GT_SIMD_DECL double tanh(double) noexcept;
#if defined(GT_MVEC_GLIBC_2_35)
GT_SIMD_DECL float tanf(float) noexcept;
GT_SIMD_DECL double tan(double) noexcept;
#endif
}
#undef GT_SIMD_DECL
#endif
