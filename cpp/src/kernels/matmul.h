#pragma once
// One row-major GEMM: C[M,N] = op(A) op(B), op = optional transpose. float and double go to
// OpenBLAS (scipy-openblas32); integers use a plain loop with wrapping arithmetic.
//
// A float32 product of more than kGemmOneThreadMacs and at most kGemmSplitMaxMacs
// multiply-adds never runs on OpenBLAS's threads. From kGemmSplitMinMacs on, with a pool of two
// threads or more, C's larger dim is cut into pieces (about one per kGemmMacsPerPiece, the same
// number for each thread, 1..kGemmMaxPiecesPerThread, each at least two kGemmPieceAlign wide,
// starting at a multiple of it, and at most one per kGemmMinPieceMacs), each one single-threaded OpenBLAS call, taken by
// whichever of gradtape's threads is free; below that, one single-threaded call. OpenBLAS's
// own threads share packed blocks and wait for one another at each block, so one of them held
// off its core by another process stalls the whole product while the others spin: on this
// shared 2-core machine W5's traced step took 22-46 ms of CPU per step on OpenBLAS's threads
// against 5.6-7 ms so (bench/README.md, "W5's GEMMs on gradtape's pool").
// Up to kGemmSplitMaxMacs the values are those of one single-threaded call, for any thread
// count (OpenBLAS's threads give other last bits for some shapes, e.g. W5's 128x784 @ 784x512).
// float64 products run on OpenBLAS's threads as before (matmul.cpp says why).
#include <cstdint>

namespace gt::kernels {

constexpr double kGemmOneThreadMacs = 65536.0 * 4;      // OpenBLAS's own one-thread bound
constexpr double kGemmSplitMinMacs = double(1 << 23);    // below: one call (< ~100 us)
constexpr double kGemmMinPieceMacs = double(1 << 22);
constexpr double kGemmSplitMaxMacs = double(1LL << 31);  // above: OpenBLAS's threads
constexpr double kGemmMacsPerPiece = double(1 << 23);
constexpr int64_t kGemmMaxPiecesPerThread = 4;
constexpr int64_t kGemmPieceAlign = 16;

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
