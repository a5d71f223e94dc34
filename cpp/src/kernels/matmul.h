#pragma once
// One row-major GEMM: C[M,N] = op(A) op(B), op = optional transpose. float and double go to
// OpenBLAS (scipy-openblas32); integers use a plain loop with wrapping arithmetic.
#include <cstdint>

namespace gt::kernels {

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C);
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double* A, const double* B, double* C);
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const int32_t* A, const int32_t* B, int32_t* C);
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const int64_t* A, const int64_t* B, int64_t* C);

// C[M,N] (row stride ldc) = op(A) op(B) + beta * C, with explicit row strides: the blocked
// convolution's GEMMs (a block of patch rows; the filters' gradient accumulated over blocks).
void gemm_ex(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
             int64_t ldb, float beta, float* C, int64_t ldc);
void gemm_ex(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double* A, int64_t lda, const double* B,
             int64_t ldb, double beta, double* C, int64_t ldc);

}  // namespace gt::kernels
