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
}  // namespace

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C) {
  if (K == 0) { std::memset(C, 0, sizeof(float) * size_t(M * N)); return; }
  quiet_workers();  // OpenBLAS's threads get both cores
  GT_CBLAS(sgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    gt_blas_int(M), gt_blas_int(N), gt_blas_int(K), 1.0f, A, gt_blas_int(ta ? M : K), B,
                    gt_blas_int(tb ? K : N), 0.0f, C, gt_blas_int(N));
}
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double* A, const double* B, double* C) {
  if (K == 0) { std::memset(C, 0, sizeof(double) * size_t(M * N)); return; }
  quiet_workers();
  GT_CBLAS(dgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    gt_blas_int(M), gt_blas_int(N), gt_blas_int(K), 1.0, A, gt_blas_int(ta ? M : K), B,
                    gt_blas_int(tb ? K : N), 0.0, C, gt_blas_int(N));
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
