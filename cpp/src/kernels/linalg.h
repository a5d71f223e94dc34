#pragma once
// Dense factorizations of one small row-major n x n matrix (float or double), as plain loops:
// LU with partial pivoting, Cholesky, and triangular solves. The linear algebra ops
// (ops_linalg.cpp) call them once per matrix of a batch. They are written here rather than
// taken from LAPACK because the core links only a CBLAS (the system-BLAS build guarantees no
// LAPACK); the loops are the textbook ones (Golub & Van Loan, algorithms 3.4.1, 4.2.1, 3.1.3),
// O(n^3) with unit-stride inner loops, fine for the matrix sizes autodiff programs factor.
#include <cmath>
#include <cstdint>
#include <utility>

namespace gt::kernels {

// In place: a (n x n) becomes L (unit lower, below the diagonal) and U (upper, with the
// diagonal), P a = L U with the row permutation in perm (perm[i]: the row of a that row i of
// P a is). Returns the permutation's sign (+1 or -1). A zero (or NaN) pivot leaves its column
// as it is and goes on: the caller reads singularity off U's diagonal.
template <class T>
int lu_factor(T* a, int64_t n, int64_t* perm) {
  int sign = 1;
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  for (int64_t k = 0; k < n; ++k) {
    int64_t p = k;
    T best = std::abs(a[k * n + k]);
    for (int64_t i = k + 1; i < n; ++i) {
      const T v = std::abs(a[i * n + k]);
      if (v > best) { best = v; p = i; }
    }
    if (p != k) {
      for (int64_t j = 0; j < n; ++j) std::swap(a[k * n + j], a[p * n + j]);
      std::swap(perm[k], perm[p]);
      sign = -sign;
    }
    const T pivot = a[k * n + k];
    if (!(pivot != T(0))) continue;  // singular column: nothing to eliminate with
    for (int64_t i = k + 1; i < n; ++i) {
      const T f = a[i * n + k] / pivot;
      a[i * n + k] = f;
      if (f == T(0)) continue;
      T* row = a + i * n;
      const T* prow = a + k * n;
      for (int64_t j = k + 1; j < n; ++j) row[j] -= f * prow[j];
    }
  }
  return sign;
}

// Solves op(A) X = B for X (B: n x m, overwritten) from lu_factor's output for A, where op(A)
// is A or A^T. `work` holds n * m elements.
template <class T>
void lu_solve(const T* lu, const int64_t* perm, int64_t n, T* b, int64_t m, bool transpose, T* work) {
  if (!transpose) {
    // L U X = P B: permute, then forward (unit L) and back (U) substitution
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) work[i * m + j] = b[perm[i] * m + j];
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < i; ++k) {
        const T f = lu[i * n + k];
        if (f == T(0)) continue;
        for (int64_t j = 0; j < m; ++j) work[i * m + j] -= f * work[k * m + j];
      }
    for (int64_t i = n - 1; i >= 0; --i) {
      for (int64_t k = i + 1; k < n; ++k) {
        const T f = lu[i * n + k];
        if (f == T(0)) continue;
        for (int64_t j = 0; j < m; ++j) work[i * m + j] -= f * work[k * m + j];
      }
      const T d = lu[i * n + i];
      for (int64_t j = 0; j < m; ++j) work[i * m + j] /= d;
    }
    for (int64_t i = 0; i < n * m; ++i) b[i] = work[i];
    return;
  }
  // A^T = U^T L^T P, so A^T X = B: U^T Y = B (forward), L^T Z = Y (back), X = P^T Z
  for (int64_t i = 0; i < n * m; ++i) work[i] = b[i];
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < i; ++k) {
      const T f = lu[k * n + i];
      if (f == T(0)) continue;
      for (int64_t j = 0; j < m; ++j) work[i * m + j] -= f * work[k * m + j];
    }
    const T d = lu[i * n + i];
    for (int64_t j = 0; j < m; ++j) work[i * m + j] /= d;
  }
  for (int64_t i = n - 1; i >= 0; --i)
    for (int64_t k = i + 1; k < n; ++k) {
      const T f = lu[k * n + i];
      if (f == T(0)) continue;
      for (int64_t j = 0; j < m; ++j) work[i * m + j] -= f * work[k * m + j];
    }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) b[perm[i] * m + j] = work[i * m + j];
}

// In place: the lower triangle of a (n x n, read alone, as TensorFlow's Eigen::LLT) becomes L
// with A = L L^T, and the strict upper triangle zeros. Returns false when A is not positive
// definite (a pivot <= 0 or NaN); a is then partly overwritten.
template <class T>
bool cholesky_factor(T* a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    T d = a[j * n + j];
    for (int64_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > T(0))) return false;
    const T l = std::sqrt(d);
    a[j * n + j] = l;
    for (int64_t i = j + 1; i < n; ++i) {
      T s = a[i * n + j];
      const T* ri = a + i * n;
      const T* rj = a + j * n;
      for (int64_t k = 0; k < j; ++k) s -= ri[k] * rj[k];
      a[i * n + j] = s / l;
    }
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) a[i * n + j] = T(0);
  return true;
}

// Solves op(A) X = B for a triangular A (n x n; only its lower or upper triangle is read, the
// diagonal included) and B (n x m), overwriting B. op(A) is A or A^T. A zero on the diagonal
// gives inf or NaN (no error), as TensorFlow.
template <class T>
void triangular_solve(const T* a, int64_t n, T* b, int64_t m, bool lower, bool transpose) {
  // op(A) is lower triangular when (lower and not transposed) or (upper and transposed):
  // forward substitution; otherwise back substitution. Element (i, k) of op(A):
  auto at = [&](int64_t i, int64_t k) { return transpose ? a[k * n + i] : a[i * n + k]; };
  const bool forward = lower != transpose;
  for (int64_t s = 0; s < n; ++s) {
    const int64_t i = forward ? s : n - 1 - s;
    T* bi = b + i * m;
    if (forward) {
      for (int64_t k = 0; k < i; ++k) {
        const T f = at(i, k);
        if (f == T(0)) continue;
        const T* bk = b + k * m;
        for (int64_t j = 0; j < m; ++j) bi[j] -= f * bk[j];
      }
    } else {
      for (int64_t k = i + 1; k < n; ++k) {
        const T f = at(i, k);
        if (f == T(0)) continue;
        const T* bk = b + k * m;
        for (int64_t j = 0; j < m; ++j) bi[j] -= f * bk[j];
      }
    }
    const T d = at(i, i);
    for (int64_t j = 0; j < m; ++j) bi[j] /= d;
  }
}

}  // namespace gt::kernels
