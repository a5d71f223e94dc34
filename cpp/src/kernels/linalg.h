#pragma once
// Dense factorizations of one small row-major n x n matrix (float or double), as plain loops:
// LU with partial pivoting, Cholesky, triangular solves, the symmetric eigendecomposition
// (cyclic Jacobi) and the singular value decomposition (one-sided Jacobi). The linear algebra ops
// (ops_linalg.cpp) call them once per matrix of a batch. They are written here rather than
// taken from LAPACK because the core links only a CBLAS (the system-BLAS build guarantees no
// LAPACK); the loops are the textbook ones (Golub & Van Loan, algorithms 3.4.1, 4.2.1, 3.1.3),
// O(n^3) with unit-stride inner loops, fine for the matrix sizes autodiff programs factor.
// From order 12 (eigh) and 16 (svd) on, they go to LAPACK when the build has it (kernels/lapack.h).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "kernels/lapack.h"

namespace gt::kernels {

// sqrt(1 + x^2) without overflow for large |x|. (Not std::hypot: glibc 2.35 versioned hypot
// anew, and a wheel calling it would not load on older systems: .ci/check-wheel.)
inline double hypot1(double x) {
  const double a = std::abs(x);
  if (a > 1e150) return a;  // 1 + x^2 rounds to x^2, and x^2 would overflow
  return std::sqrt(1.0 + a * a);
}

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

// The power of two near the largest |entry| of a (n entries), as its exponent: the Jacobi loops
// work on a / 2^e (exact) and scale the eigen- or singular values back, so that their sums of
// squares neither overflow (|a| > 1e154) nor underflow (|a| < 1e-154). 0 for a zero, inf or
// NaN largest entry.
inline int scale_exponent(const double* a, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::abs(a[i]));
  return m > 0 && std::isfinite(m) ? std::ilogb(m) : 0;
}

// The eigenvalues w (ascending) and eigenvectors (the columns of v, orthonormal) of the
// symmetric n x n matrix a, which is overwritten. Cyclic Jacobi (Golub & Van Loan, algorithm
// 8.5.3): sweeps of plane rotations, each zeroing one off-diagonal pair, until the
// off-diagonal mass is below the rounding of the diagonal; accurate to the last bits even for
// close eigenvalues. Each eigenvector's sign is arbitrary, as LAPACK's and Eigen's are.
inline void symmetric_eigen(double* a, int64_t n, double* w, double* v) {
  if (n >= kLapackMinEigh && lapack_symmetric_eigen(a, n, w, v)) return;
  const int e = scale_exponent(a, n * n);
  for (int64_t i = 0; i < n * n; ++i) a[i] = std::ldexp(a[i], -e);
  for (int64_t i = 0; i < n * n; ++i) v[i] = i % (n + 1) == 0 ? 1.0 : 0.0;
  double total = 0;
  for (int64_t i = 0; i < n * n; ++i) total += a[i] * a[i];
  for (int sweep = 0; sweep < 60; ++sweep) {
    double off = 0;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) off += a[p * n + q] * a[p * n + q];
    if (!(off > 1e-34 * total)) break;  // converged (or NaN: nothing more to do)
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (apq == 0.0) continue;
        // the rotation [c s; -s c] that diagonalises the 2 x 2 block (p, q)
        const double tau = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
        const double t = tau >= 0 ? 1.0 / (tau + hypot1(tau)) : -1.0 / (-tau + hypot1(tau));
        const double c = 1.0 / hypot1(t), s = t * c;
        for (int64_t k = 0; k < n; ++k) {  // A J: columns p and q
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {  // J^T A: rows p and q
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = a[q * n + p] = 0.0;
        for (int64_t k = 0; k < n; ++k) {  // V J
          const double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  // ascending eigenvalues, the eigenvector columns in the same order
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t(0));
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return a[x * n + x] < a[y * n + y]; });
  std::vector<double> vs(v, v + n * n);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t src = order[size_t(j)];
    w[j] = std::ldexp(a[src * n + src], e);
    for (int64_t k = 0; k < n; ++k) v[k * n + j] = vs[size_t(k * n + src)];
  }
}

// Completes the first `have` orthonormal columns of u (rows x cols, row-major, cols <= rows)
// to `cols` orthonormal columns: each new one is, of the unit vectors e_k, the one that keeps
// the most of its length after two passes of Gram-Schmidt against the columns so far. (The
// complement's dimension d is the sum over k of those squared lengths, so the best keeps at
// least d / rows: never nothing, where "the first that keeps half" could find none.)
inline void complete_orthonormal(double* u, int64_t rows, int64_t cols, int64_t have) {
  std::vector<double> x(static_cast<size_t>(rows)), best(static_cast<size_t>(rows));
  for (int64_t j = have; j < cols; ++j) {
    double best_norm = -1;
    for (int64_t k = 0; k < rows; ++k) {
      for (int64_t i = 0; i < rows; ++i) x[size_t(i)] = i == k ? 1.0 : 0.0;
      for (int pass = 0; pass < 2; ++pass)
        for (int64_t c = 0; c < j; ++c) {
          double dot = 0;
          for (int64_t i = 0; i < rows; ++i) dot += u[i * cols + c] * x[size_t(i)];
          for (int64_t i = 0; i < rows; ++i) x[size_t(i)] -= dot * u[i * cols + c];
        }
      double norm = 0;
      for (int64_t i = 0; i < rows; ++i) norm += x[size_t(i)] * x[size_t(i)];
      if (norm > best_norm) {
        best_norm = norm;
        best.swap(x);
      }
      if (best_norm > 0.5) break;  // (more than half its length: good enough, and the common case)
    }
    const double norm = std::sqrt(best_norm);
    for (int64_t i = 0; i < rows; ++i) u[i * cols + j] = best[size_t(i)] / norm;
  }
}

// The SVD of a tall a (m x n, m >= n, read only): a = U diag(s) V^T with s descending (n
// values), V (n x n) orthogonal, and U (m x ucols, ucols n or m) with orthonormal columns, the
// columns past the nonzero singular values completed to an orthonormal set. One-sided Jacobi
// (Hestenes; Demmel & Veselic): rotate pairs of columns until they are orthogonal, then the
// column norms are the singular values. Signs are arbitrary, as LAPACK's.
inline void tall_svd(const double* a, int64_t m, int64_t n, double* s, double* u, int64_t ucols, double* v) {
  if (n >= kLapackMinSvd && lapack_tall_svd(a, m, n, s, u, ucols, v)) return;
  // columns of a and of V as contiguous rows (w[p] = column p of a, vt[p] = column p of V), so
  // that the dot products and rotations run over unit strides
  std::vector<double> w(size_t(n * m)), vt(size_t(n * n), 0.0);
  const int e = scale_exponent(a, m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < n; ++p) w[size_t(p * m + i)] = std::ldexp(a[i * n + p], -e);
  for (int64_t p = 0; p < n; ++p) vt[size_t(p * n + p)] = 1.0;
  for (int sweep = 0; sweep < 60; ++sweep) {
    bool rotated = false;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        double* wp = w.data() + p * m;
        double* wq = w.data() + q * m;
        double alpha = 0, beta = 0, gamma = 0;
        for (int64_t i = 0; i < m; ++i) {
          alpha += wp[i] * wp[i];
          beta += wq[i] * wq[i];
          gamma += wp[i] * wq[i];
        }
        if (!(std::abs(gamma) > 1e-16 * std::sqrt(alpha * beta))) continue;  // orthogonal enough (or NaN)
        rotated = true;
        const double zeta = (beta - alpha) / (2.0 * gamma);
        const double t = (zeta >= 0 ? 1.0 : -1.0) / (std::abs(zeta) + hypot1(zeta));
        const double c = 1.0 / hypot1(t), sn = c * t;
        for (int64_t i = 0; i < m; ++i) {
          const double xp = wp[i], xq = wq[i];
          wp[i] = c * xp - sn * xq;
          wq[i] = sn * xp + c * xq;
        }
        double* vp = vt.data() + p * n;
        double* vq = vt.data() + q * n;
        for (int64_t i = 0; i < n; ++i) {
          const double xp = vp[i], xq = vq[i];
          vp[i] = c * xp - sn * xq;
          vq[i] = sn * xp + c * xq;
        }
      }
    if (!rotated) break;
  }
  std::vector<double> norm(static_cast<size_t>(n));
  for (int64_t p = 0; p < n; ++p) {
    double q = 0;
    for (int64_t i = 0; i < m; ++i) q += w[size_t(p * m + i)] * w[size_t(p * m + i)];
    norm[size_t(p)] = std::sqrt(q);
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t(0));
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return norm[size_t(x)] > norm[size_t(y)]; });
  int64_t nonzero = 0;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t src = order[size_t(j)];
    const double sj = norm[size_t(src)];
    s[j] = std::ldexp(sj, e);
    for (int64_t i = 0; i < n; ++i) v[i * n + j] = vt[size_t(src * n + i)];
    const bool keep = sj > 1e-300 && std::isfinite(sj);
    for (int64_t i = 0; i < m; ++i) u[i * ucols + j] = keep ? w[size_t(src * m + i)] / sj : 0.0;
    if (keep && nonzero == j) ++nonzero;
  }
  for (int64_t j = n; j < ucols; ++j)
    for (int64_t i = 0; i < m; ++i) u[i * ucols + j] = 0.0;
  if (nonzero < ucols) complete_orthonormal(u, m, ucols, nonzero);
}

}  // namespace gt::kernels
