#include "kernels/matmul.h"

#include <cblas.h>

#include <cstring>
#include <type_traits>

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
  scipy_cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    blasint(M), blasint(N), blasint(K), 1.0f, A, blasint(ta ? M : K), B,
                    blasint(tb ? K : N), 0.0f, C, blasint(N));
}
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double* A, const double* B, double* C) {
  if (K == 0) { std::memset(C, 0, sizeof(double) * size_t(M * N)); return; }
  quiet_workers();
  scipy_cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    blasint(M), blasint(N), blasint(K), 1.0, A, blasint(ta ? M : K), B,
                    blasint(tb ? K : N), 0.0, C, blasint(N));
}
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const int32_t* A, const int32_t* B, int32_t* C) {
  gemm_loop(ta, tb, M, N, K, A, B, C);
}
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const int64_t* A, const int64_t* B, int64_t* C) {
  gemm_loop(ta, tb, M, N, K, A, B, C);
}

}  // namespace gt::kernels
