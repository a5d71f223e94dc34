#pragma once
// The symmetric eigendecomposition and the SVD through LAPACK (dsyevd, dgesdd: divide and
// conquer), for the matrices big enough that the Jacobi loops of linalg.h are slow. LAPACK is the
// one scipy-openblas32 ships, so a build with GRADTAPE_SYSTEM_BLAS (a CBLAS only) has none: the
// functions then return false and the callers keep the Jacobi path. Same layouts as linalg.h's
// symmetric_eigen and tall_svd (row-major, eigenvalues ascending, singular values descending).
#include <cstdint>

namespace gt::kernels {

// From these orders on the factorizations go to LAPACK; below, the Jacobi loops are as fast or
// faster, and accurate to the last bits (`python bench/linalg.py`; bench/README.md, "Linear
// algebra", has the figures). For the SVD the order is the factored tall matrix's column count.
inline constexpr int64_t kLapackMinEigh = 12;
inline constexpr int64_t kLapackMinSvd = 16;

// a: n x n symmetric (finite), read only. false: no LAPACK in this build, or it failed.
bool lapack_symmetric_eigen(const double* a, int64_t n, double* w, double* v);
// a: m x n, m >= n (finite), read only; u: m x ucols (ucols n or m); v: n x n.
bool lapack_tall_svd(const double* a, int64_t m, int64_t n, double* s, double* u, int64_t ucols, double* v);

}  // namespace gt::kernels
