#include "kernels/matmul.h"

#include <cblas.h>

// scipy-openblas32 prefixes its symbols (scipy_cblas_sgemm) and has blasint; a system CBLAS
// (GRADTAPE_SYSTEM_BLAS) has the plain names and int. Only sgemm and dgemm are used.
#if defined(GRADTAPE_SYSTEM_BLAS)
#define GT_CBLAS(name) cblas_##name
using gt_blas_int = int;
#else
#define GT_CBLAS(name) scipy_cblas_##name
using gt_blas_int = blasint;
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <type_traits>

#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/parallel.h"

namespace gt::kernels {

namespace {

template <class T>
void gemm_loop(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C) {
  std::memset(C, 0, sizeof(T) * size_t(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k) {
      T a = ta ? A[k * M + i] : A[i * K + k];
      for (int64_t j = 0; j < N; ++j) {
        T b = tb ? B[j * K + k] : B[k * N + j];
        C[i * N + j] = wrap_add(C[i * N + j], wrap_mul(a, b));
      }
    }
}

void blas_call(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
               int64_t ldb, float* C, int64_t ldc) {
  GT_CBLAS(sgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    gt_blas_int(M), gt_blas_int(N), gt_blas_int(K), 1.0f, A, gt_blas_int(lda), B, gt_blas_int(ldb),
                    0.0f, C, gt_blas_int(ldc));
}
void blas_call(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double* A, int64_t lda, const double* B,
               int64_t ldb, double* C, int64_t ldc) {
  GT_CBLAS(dgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    gt_blas_int(M), gt_blas_int(N), gt_blas_int(K), 1.0, A, gt_blas_int(lda), B, gt_blas_int(ldb),
                    0.0, C, gt_blas_int(ldc));
}

// How many pieces gemm_f32 cuts C's larger dim `dim` into (1: one call), for a product of
// `macs` multiply-adds on a pool of `threads`. GRADTAPE_GEMM_PIECES (read per call, for the
// benchmarks only: 2..16) overrides the count where the dim allows it.
int64_t gemm_pieces(double macs, int64_t dim, int threads) {
  // Every piece is at least 2 * kGemmPieceAlign wide, so each starts at a multiple of the
  // alignment and only the last one holds the dim's remainder, as in one whole call; and at
  // least kGemmMinPieceMacs / 2 multiply-adds (a piece is at least half of dim / pieces), far
  // above the bound (1e6) under which OpenBLAS may take its "small matrix" kernels instead,
  // whose sums differ in the last bit from the blocked kernel's.
  const int64_t most = std::min<int64_t>({int64_t(16), dim / (2 * kGemmPieceAlign), int64_t(macs / kGemmMinPieceMacs)});
  if (threads < 2 || most < 2) return 1;
  if (const char* e = std::getenv("GRADTAPE_GEMM_PIECES")) {
    const int64_t v = std::atoll(e);
    if (v >= 2 && v <= 16) return std::min(v, most);
  }
  if (macs < kGemmSplitMinMacs) return 1;
  // the same number of pieces for each thread, so that on a quiet machine no thread has one
  // piece more than another (three pieces on two threads took 2/3 of one thread's time)
  const int64_t per_thread = std::clamp<int64_t>(std::llround(macs / (threads * kGemmMacsPerPiece)), 1,
                                                 kGemmMaxPiecesPerThread);
  return std::min<int64_t>(threads * per_thread, most);
}

// C[M,N] = op(A) op(B) (see matmul.h). A product OpenBLAS would run on its own threads runs
// as single-threaded OpenBLAS calls instead, on pieces of C's larger dim (cutting rows re-packs
// op(B) for each piece, cutting columns op(A): the smaller operand is the one re-packed) taken
// by whichever of the pool's threads is free. Every element of C comes from the same kernel
// over the same K loop as in one whole single-threaded call, so neither the pieces nor the
// thread count change a bit of C (tests/test_matmul_threads.py).
void gemm_f32(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C) {
  if (K == 0) { std::memset(C, 0, sizeof(float) * size_t(M * N)); return; }
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  const double macs = double(M) * double(N) * double(K);
  if (macs <= kGemmOneThreadMacs) {  // OpenBLAS runs these on the calling thread anyway
    blas_call(ta, tb, M, N, K, A, lda, B, ldb, C, N);
    return;
  }
  const char* e = std::getenv("GRADTAPE_GEMM_PIECES");
  if (macs > kGemmSplitMaxMacs || (e && std::atoll(e) == 1)) {
    quiet_workers();  // OpenBLAS's threads get both cores
    blas_call(ta, tb, M, N, K, A, lda, B, ldb, C, N);
    return;
  }
  const bool by_rows = M > N;
  const int64_t dim = by_rows ? M : N;
  const int64_t pieces = gemm_pieces(macs, dim, num_threads());
  SingleThreadedBlas one;
  if (pieces == 1) {
    quiet_workers();
    blas_call(ta, tb, M, N, K, A, lda, B, ldb, C, N);
    return;
  }
  // piece p covers [bound(p), bound(p + 1)): multiples of the alignment, the last one ends at dim
  auto bound = [&](int64_t p) {
    return p == pieces ? dim : (p * dim / pieces) / kGemmPieceAlign * kGemmPieceAlign;
  };
  parallel_for(pieces, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t b = bound(p), n = bound(p + 1) - b;
      if (by_rows)  // C[b:b+n, :] = op(A)[b:b+n, :] op(B)
        blas_call(ta, tb, n, N, K, A + (ta ? b : b * K), lda, B, ldb, C + b * N, N);
      else          // C[:, b:b+n] = op(A) op(B)[:, b:b+n]
        blas_call(ta, tb, M, n, K, A, lda, B + (tb ? b * K : b), ldb, C + b, N);
    }
  }, 1);
}
}  // namespace

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C) {
  gemm_f32(ta, tb, M, N, K, A, B, C);
}
// Doubles stay on OpenBLAS's threads: its double kernels take another path for pieces under
// ~200 columns wide (any M and K), whose sums differ in the last bit from one whole call's.
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double* A, const double* B, double* C) {
  if (K == 0) { std::memset(C, 0, sizeof(double) * size_t(M * N)); return; }
  quiet_workers();  // OpenBLAS's threads get both cores
  blas_call(ta, tb, M, N, K, A, ta ? M : K, B, tb ? K : N, C, N);
}
namespace {
std::mutex g_blas_threads_mu;
int g_single_depth = 0;  // live SingleThreadedBlas holders
int g_saved_threads = 0;
}  // namespace

// The first holder saves OpenBLAS's thread count and sets 1; the last one restores it (two
// Python threads may run blocked convolutions at once).
SingleThreadedBlas::SingleThreadedBlas() : saved_(0) {
#if !defined(GRADTAPE_SYSTEM_BLAS)
  std::lock_guard<std::mutex> lock(g_blas_threads_mu);
  if (g_single_depth++ == 0) {
    g_saved_threads = scipy_openblas_get_num_threads();
    if (g_saved_threads != 1) scipy_openblas_set_num_threads(1);
  }
#endif
}
SingleThreadedBlas::~SingleThreadedBlas() {
#if !defined(GRADTAPE_SYSTEM_BLAS)
  std::lock_guard<std::mutex> lock(g_blas_threads_mu);
  if (--g_single_depth == 0 && g_saved_threads != 1) scipy_openblas_set_num_threads(g_saved_threads);
#endif
}

void gemm_ex(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
             int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  GT_CBLAS(sgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    gt_blas_int(M), gt_blas_int(N), gt_blas_int(K), 1.0f, A, gt_blas_int(lda), B, gt_blas_int(ldb),
                    beta, C, gt_blas_int(ldc));
}
void gemm_ex(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double* A, int64_t lda, const double* B,
             int64_t ldb, double beta, double* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  GT_CBLAS(dgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    gt_blas_int(M), gt_blas_int(N), gt_blas_int(K), 1.0, A, gt_blas_int(lda), B, gt_blas_int(ldb),
                    beta, C, gt_blas_int(ldc));
}
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const int32_t* A, const int32_t* B, int32_t* C) {
  gemm_loop(ta, tb, M, N, K, A, B, C);
}
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const int64_t* A, const int64_t* B, int64_t* C) {
  gemm_loop(ta, tb, M, N, K, A, B, C);
}

}  // namespace gt::kernels
