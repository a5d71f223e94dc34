// matmul: batched over leading dims (which broadcast), with optional transposes, and its vjp;
// inv, det, slogdet, solve, triangular_solve, cholesky and cholesky_solve, batched over
// leading dims, with their vjps and jvps; diag_part, diag, set_diag, band_part and trace,
// composed of gather and where; eigh and eigvalsh, qr and svd (packed primitives).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>

#include "kernels/linalg.h"
#include "kernels/matmul.h"
#include "ops_common.h"

namespace gt {

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  require_same_dtype(a, b, "matmul");
  require_numeric(a, "matmul");
  if (a.ndim() == 0 || b.ndim() == 0)
    throw InvalidArgument("matmul: operands must have rank >= 1, got shapes " + a.shape().str() +
                          " and " + b.shape().str());
  // 1-d operands, as NumPy: a vector on the left is a row, on the right a column.
  if (a.ndim() == 1 || b.ndim() == 1) {
    Tensor a2 = a.ndim() == 1 ? reshape(a, {1, a.shape()[0]}) : a;
    Tensor b2 = b.ndim() == 1 ? reshape(b, {b.shape()[0], 1}) : b;
    Tensor r = matmul(a2, b2, a.ndim() == 1 ? false : ta, b.ndim() == 1 ? false : tb);
    std::vector<int64_t> s = r.shape().vec();
    if (b.ndim() == 1) s.erase(s.end() - 1);
    if (a.ndim() == 1) s.erase(s.end() - (b.ndim() == 1 ? 1 : 2));
    return reshape(r, s);
  }
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  const int ra = sa.rank(), rb = sb.rank();
  const int64_t M = ta ? sa[ra - 1] : sa[ra - 2];
  const int64_t Ka = ta ? sa[ra - 2] : sa[ra - 1];
  const int64_t Kb = tb ? sb[rb - 1] : sb[rb - 2];
  const int64_t N = tb ? sb[rb - 2] : sb[rb - 1];
  if (Ka != Kb)
    throw InvalidArgument("matmul: inner dimensions differ: shapes " + sa.str() + " and " + sb.str() +
                          (ta || tb ? " (after the requested transposes)" : "") + " give " +
                          std::to_string(Ka) + " vs " + std::to_string(Kb));
  const int64_t blas_max = std::numeric_limits<int32_t>::max();
  if (M > blas_max || N > blas_max || Ka > blas_max)
    throw InvalidArgument("matmul: dimensions exceed the 32-bit BLAS limit");
  Shape batch_a(sa.data(), ra - 2), batch_b(sb.data(), rb - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = Tensor::empty(a.dtype(), out_shape);

  const int64_t nbatch = batch.numel();
  const int br = batch.rank();
  // Element offsets of each batch matrix of a and b (0 strides where they broadcast).
  int64_t st_a[kMaxRank] = {}, st_b[kMaxRank] = {};
  {
    int64_t acc_a = M * Ka, acc_b = Kb * N;
    for (int i = br - 1; i >= 0; --i) {
      int ia = batch_a.rank() - br + i, ib = batch_b.rank() - br + i;
      int64_t da = ia >= 0 ? batch_a[ia] : 1, db = ib >= 0 ? batch_b[ib] : 1;
      st_a[i] = da == 1 ? 0 : acc_a;
      st_b[i] = db == 1 ? 0 : acc_b;
      acc_a *= da;
      acc_b *= db;
    }
  }
  const bool a_shared = batch_a.rank() == 0, b_shared = batch_b.rank() == 0;
  if (out.numel() > 0 && nbatch > 1 && b_shared && !ta && batch_a == batch) {
    // a stack of matrices times one matrix: one GEMM with the batch folded into the rows
    dispatch_wide(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kernels::gemm(false, tb, nbatch * M, N, Ka, a.data<T>(), b.data<T>(), out.data<T>());
    });
  } else if (out.numel() > 0 && nbatch > 1 && a_shared && N == 1 && batch_b == batch) {
    // one matrix times a stack of vectors (batched Jacobians of matrix-vector products):
    // out[i] = op(a) b[i], i.e. out = B op(a)^T with B the [batch, K] matrix of the vectors
    dispatch_wide(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kernels::gemm(false, !ta, nbatch, M, Ka, b.data<T>(), a.data<T>(), out.data<T>());
    });
  } else if (out.numel() > 0) {
    dispatch_wide(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      int64_t idx[kMaxRank] = {};
      int64_t off_a = 0, off_b = 0;
      for (int64_t bi = 0; bi < nbatch; ++bi) {
        kernels::gemm(ta, tb, M, N, Ka, a.data<T>() + off_a, b.data<T>() + off_b,
                      out.data<T>() + bi * M * N);
        for (int i = br - 1; i >= 0; --i) {
          ++idx[i];
          off_a += st_a[i];
          off_b += st_b[i];
          if (idx[i] < batch[i]) break;
          off_a -= st_a[i] * batch[i];
          off_b -= st_b[i] * batch[i];
          idx[i] = 0;
        }
      }
    });
  }
  record(OpId::MatMul, {&a, &b}, out, {int64_t(ta), int64_t(tb)});
  return out;
}

// d(AB) = (g B^T, A^T g), with the transposes folded into the flags as TensorFlow does.
void vjp_MatMul(VjpCtx& c) {
  const Tensor& a = c.in[0];
  const Tensor& b = c.in[1];
  const Tensor& g = c.g;
  const bool ta = c.attrs[0], tb = c.attrs[1];
  if (c.needs[0]) {
    if (!ta && !tb) c.gin[0] = matmul(g, b, false, true);
    else if (!ta && tb) c.gin[0] = matmul(g, b, false, false);
    else if (ta && !tb) c.gin[0] = matmul(b, g, false, true);
    else c.gin[0] = matmul(b, g, true, true);
  }
  if (c.needs[1]) {
    if (!ta && !tb) c.gin[1] = matmul(a, g, true, false);
    else if (!ta && tb) c.gin[1] = matmul(g, a, true, false);
    else if (ta && !tb) c.gin[1] = matmul(a, g, false, false);
    else c.gin[1] = matmul(g, a, true, true);
  }
}
// d(AB) = dA B + A dB, with the op's transposes (a batch of tangents broadcasts against the
// other operand's batch dims once padded to the output's rank)
Tensor jvp_MatMul(JvpCtx& c) {
  const bool ta = c.attrs[0], tb = c.attrs[1];
  Tensor r;
  if (c.t[0].defined()) r = matmul(c.aligned(0), c.in[1], ta, tb);
  if (c.t[1].defined()) {
    Tensor part = matmul(c.in[0], c.aligned(1), ta, tb);
    r = r.defined() ? r + part : part;
  }
  return r;
}

// ================================ inverses, determinants, solves, Cholesky
//
// Each op runs a kernel of kernels/linalg.h once per matrix of its batch (the leading dims).
// Their rules are written with the ops themselves (inv, solve, triangular_solve, matmul), so
// they nest; a rule's tensors may carry the leading dims of a batched sweep, which is why the
// rules call the broadcasting forms (solve_broadcast) and name the matrix dims from the end.

namespace {

// The leading (batch) dims of a tensor of matrices.
Shape batch_of(const Shape& s) { return Shape(s.data(), s.rank() - 2); }

std::string op_prefix(const char* op) { return std::string(op) + ": "; }

// A batch of square float matrices, as TensorFlow's linalg ops require.
void require_square(const Tensor& a, const char* op) {
  require_float(a, op);
  if (a.ndim() < 2)
    throw InvalidArgument(op_prefix(op) + "Input tensor 0 must have rank >= 2, got " + std::to_string(a.ndim()) +
                          " (shape " + a.shape().str() + ")");
  if (a.shape()[a.ndim() - 1] != a.shape()[a.ndim() - 2])
    throw InvalidArgument(op_prefix(op) + "Input matrix must be square, got shape " + a.shape().str());
}

// The matrices of a and b that each matrix of their broadcast batch pairs (batch dims of size
// 1 broadcast, as matmul's): pair(i) gives the indices of a's and b's matrix.
struct BatchPairs {
  Shape batch, ba, bb;
  std::pair<int64_t, int64_t> pair(int64_t i) const {
    const int r = batch.rank();
    int64_t ia = 0, ib = 0, sta = 1, stb = 1;
    for (int d = r - 1; d >= 0; --d) {
      const int64_t idx = i % batch[d];
      i /= batch[d];
      const int da = ba.rank() - r + d, db = bb.rank() - r + d;
      if (da >= 0) { if (ba[da] != 1) ia += idx * sta; sta *= ba[da]; }
      if (db >= 0) { if (bb[db] != 1) ib += idx * stb; stb *= bb[db]; }
    }
    return {ia, ib};
  }
};
BatchPairs batch_pairs(const Shape& sa, const Shape& sb, const char* op) {
  BatchPairs p;
  p.ba = batch_of(sa);
  p.bb = batch_of(sb);
  p.batch = broadcast_shapes(p.ba, p.bb, op);
  return p;
}

// x with its last two dims swapped (a batched tensor's too: the matrix dims are the last two).
Tensor matrix_transpose(const Tensor& x) {
  std::vector<int64_t> perm(size_t(x.ndim()));
  for (int i = 0; i < x.ndim(); ++i) perm[size_t(i)] = i;
  std::swap(perm[size_t(x.ndim() - 1)], perm[size_t(x.ndim() - 2)]);
  return transpose(x, perm);
}

// x[..., None, None]: a value per matrix, to scale the matrices.
Tensor per_matrix(const Tensor& x) {
  std::vector<int64_t> s = x.shape().vec();
  s.push_back(1);
  s.push_back(1);
  return reshape(x, s);
}

// The n x n mask of the triangle a triangular solve reads (the diagonal included), and
// Cholesky's Phi: the lower triangle with the diagonal halved.
Tensor triangle_mask(int64_t n, bool lower, double diag, DType dtype) {
  Tensor m = Tensor::empty(dtype, Shape{n, n});
  dispatch_float(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = m.data<T>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) p[i * n + j] = i == j ? T(diag) : (lower ? j < i : j > i) ? T(1) : T(0);
  });
  return m;
}

// sum over the matrix dims of a * b: trace(a^T b) per matrix.
Tensor matrix_inner(const Tensor& a, const Tensor& b) {
  const int64_t r = std::max(a.ndim(), b.ndim());
  return reduce_sum(a * b, std::vector<int64_t>{r - 2, r - 1});
}

}  // namespace

Tensor inv(const Tensor& input, bool adjoint) {
  require_square(input, "inv");
  const int64_t n = input.shape()[input.ndim() - 1];
  Tensor out = Tensor::empty(input.dtype(), input.shape());
  const int64_t nmat = out.numel() == 0 ? 0 : batch_of(input.shape()).numel();
  if (nmat > 0) dispatch_float(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> lu(size_t(n * n)), work(size_t(n * n));
    std::vector<int64_t> perm(static_cast<size_t>(n));
    for (int64_t b = 0; b < nmat; ++b) {
      const T* a = input.data<T>() + b * n * n;
      std::copy(a, a + n * n, lu.begin());
      kernels::lu_factor(lu.data(), n, perm.data());
      for (int64_t i = 0; i < n; ++i)
        if (!(std::abs(lu[size_t(i * n + i)]) > T(0))) throw InvalidArgument("inv: Input is not invertible.");
      T* x = out.data<T>() + b * n * n;
      for (int64_t i = 0; i < n * n; ++i) x[i] = T(i % (n + 1) == 0);
      kernels::lu_solve(lu.data(), perm.data(), n, x, n, adjoint, work.data());
    }
  });
  record(OpId::MatrixInverse, {&input}, out, {int64_t(adjoint)});
  return out;
}

// d(A^-1) = -A^-1 dA A^-1, so g_A = -A^-T g A^-T; with adjoint, out = A^-T and g_A = -out g^T out.
void vjp_MatrixInverse(VjpCtx& c) {
  const Tensor& out = c.out;
  if (c.attrs[0]) c.gin[0] = negative(matmul(matmul(out, c.g, false, true), out));
  else c.gin[0] = negative(matmul(matmul(out, c.g, true, false), out, false, true));
}
Tensor jvp_MatrixInverse(JvpCtx& c) {
  return negative(matmul(matmul(c.out, c.t[0], false, bool(c.attrs[0])), c.out));
}

namespace {
// LU of each matrix: the determinant (sign of the permutation times the pivots' product), or
// sign and log|det| as TensorFlow's LogMatrixDeterminant (a non-finite log|det| gets sign 0).
template <class F>
void for_each_lu(const Tensor& a, F&& f) {
  const int64_t n = a.shape()[a.ndim() - 1];
  const int64_t nmat = batch_of(a.shape()).numel();
  if (nmat == 0) return;
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> lu(size_t(n * n));
    std::vector<int64_t> perm(static_cast<size_t>(n));
    for (int64_t b = 0; b < nmat; ++b) {
      const T* m = a.data<T>() + b * n * n;
      std::copy(m, m + n * n, lu.begin());
      const int sign = kernels::lu_factor(lu.data(), n, perm.data());
      f(b, sign, lu.data(), n);
    }
  });
}
}  // namespace

Tensor det(const Tensor& input) {
  require_square(input, "det");
  Tensor out = Tensor::empty(input.dtype(), batch_of(input.shape()));
  for_each_lu(input, [&](int64_t b, int sign, const auto* lu, int64_t n) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(lu)>>;
    T d = T(sign);
    for (int64_t i = 0; i < n; ++i) d *= lu[i * n + i];
    out.data<T>()[b] = d;
  });
  record(OpId::MatrixDeterminant, {&input}, out);
  return out;
}

// d det(A) = det(A) tr(A^-1 dA): g_A = g det(A) A^-T (A singular: inv raises, as TensorFlow)
void vjp_MatrixDeterminant(VjpCtx& c) { c.gin[0] = per_matrix(c.g * c.out) * inv(c.in[0], true); }
Tensor jvp_MatrixDeterminant(JvpCtx& c) { return c.out * matrix_inner(inv(c.in[0], true), c.t[0]); }

TensorList slogdet(const Tensor& input) {
  require_square(input, "slogdet");
  const Shape batch = batch_of(input.shape());
  Tensor sign = Tensor::empty(input.dtype(), batch), logdet = Tensor::empty(input.dtype(), batch);
  for_each_lu(input, [&](int64_t b, int perm_sign, const auto* lu, int64_t n) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(lu)>>;
    T s = T(perm_sign), l = T(0);
    for (int64_t i = 0; i < n; ++i) {
      const T d = lu[i * n + i];
      s *= d > T(0) ? T(1) : d < T(0) ? T(-1) : d;  // a zero pivot gives a signed 0, NaN stays NaN
      l += std::log(std::abs(d));
    }
    if (!std::isfinite(l)) {
      s *= T(0);
      l = l > T(0) ? std::numeric_limits<T>::infinity() : -std::numeric_limits<T>::infinity();
    }
    sign.data<T>()[b] = s;
    logdet.data<T>()[b] = l;
  });
  record(OpId::LogMatrixDeterminant, {&input}, logdet);
  return {sign, logdet};
}

// Recorded on log_abs_determinant alone (the sign is piecewise constant: no gradient, None).
// d log|det A| = tr(A^-1 dA): g_A = g A^-T.
void vjp_LogMatrixDeterminant(VjpCtx& c) { c.gin[0] = per_matrix(c.g) * inv(c.in[0], true); }
Tensor jvp_LogMatrixDeterminant(JvpCtx& c) { return matrix_inner(inv(c.in[0], true), c.t[0]); }

namespace {
// The shape checks of a solve: matrix [..., n, n] and rhs [..., n, m] of one dtype.
void require_solve_args(const Tensor& matrix, const Tensor& rhs, const char* op) {
  require_square(matrix, op);
  require_same_dtype(matrix, rhs, op);
  if (rhs.ndim() < 2)
    throw InvalidArgument(op_prefix(op) + "Input tensor 1 must have rank >= 2, got " + std::to_string(rhs.ndim()) +
                          " (shape " + rhs.shape().str() + ")");
  if (rhs.shape()[rhs.ndim() - 2] != matrix.shape()[matrix.ndim() - 1])
    throw InvalidArgument(op_prefix(op) + "Input matrix and rhs are incompatible: shapes " + matrix.shape().str() +
                          " and " + rhs.shape().str());
}

// Runs f(matrix, x, n, m) over the broadcast batch, x holding a copy of the rhs matrix that f
// overwrites with the solution; returns the solutions.
template <class T, class F>
Tensor solve_each(const Tensor& matrix, const Tensor& rhs, const char* op, F&& f) {
  const BatchPairs p = batch_pairs(matrix.shape(), rhs.shape(), op);
  const int64_t n = matrix.shape()[matrix.ndim() - 1], m = rhs.shape()[rhs.ndim() - 1];
  Shape out_shape = p.batch;
  out_shape.push_back(n);
  out_shape.push_back(m);
  Tensor out = Tensor::empty(rhs.dtype(), out_shape);
  const int64_t nmat = out.numel() == 0 ? 0 : p.batch.numel();
  for (int64_t b = 0; b < nmat; ++b) {
    const auto [ia, ib] = p.pair(b);
    const T* src = rhs.data<T>() + ib * n * m;
    T* x = out.data<T>() + b * n * m;
    std::copy(src, src + n * m, x);
    f(matrix.data<T>() + ia * n * n, x, n, m);
  }
  return out;
}
}  // namespace

Tensor solve_broadcast(const Tensor& matrix, const Tensor& rhs, bool adjoint) {
  require_solve_args(matrix, rhs, "solve");
  Tensor out = dispatch_float(matrix.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> lu, work;  // sized at the first matrix (none when the result is empty)
    std::vector<int64_t> perm;
    return solve_each<T>(matrix, rhs, "solve", [&](const T* a, T* x, int64_t n_, int64_t m) {
      lu.assign(a, a + n_ * n_);
      perm.resize(size_t(n_));
      kernels::lu_factor(lu.data(), n_, perm.data());
      for (int64_t i = 0; i < n_; ++i)
        if (!(std::abs(lu[size_t(i * n_ + i)]) > T(0))) throw InvalidArgument("solve: Input matrix is not invertible.");
      work.resize(size_t(n_ * m));
      kernels::lu_solve(lu.data(), perm.data(), n_, x, m, adjoint, work.data());
    });
  });
  record(OpId::MatrixSolve, {&matrix, &rhs}, out, {int64_t(adjoint)});
  return out;
}

Tensor solve(const Tensor& matrix, const Tensor& rhs, bool adjoint) {
  require_solve_args(matrix, rhs, "solve");
  // TensorFlow's MatrixSolve does not broadcast: one rank, one batch shape
  if (matrix.ndim() != rhs.ndim())
    throw InvalidArgument("solve: All input tensors must have the same rank, got shapes " + matrix.shape().str() +
                          " and " + rhs.shape().str());
  if (batch_of(matrix.shape()) != batch_of(rhs.shape()))
    throw InvalidArgument("solve: All input tensors must have the same outer dimensions, got shapes " +
                          matrix.shape().str() + " and " + rhs.shape().str());
  return solve_broadcast(matrix, rhs, adjoint);
}

// X = op(A)^-1 B: g_B = op(A)^-T g, and g_A = -g_B X^T (op the identity) or -X g_B^T (adjoint).
void vjp_MatrixSolve(VjpCtx& c) {
  const bool adjoint = c.attrs[0];
  const Tensor gb = solve_broadcast(c.in[0], c.g, !adjoint);
  if (c.needs[0]) c.gin[0] = negative(adjoint ? matmul(c.out, gb, false, true) : matmul(gb, c.out, false, true));
  if (c.needs[1]) c.gin[1] = gb;
}
// dX = op(A)^-1 (dB - op(dA) X)
Tensor jvp_MatrixSolve(JvpCtx& c) {
  const bool adjoint = c.attrs[0];
  Tensor r;
  if (c.t[1].defined()) r = c.aligned(1);
  if (c.t[0].defined()) {
    Tensor da_x = matmul(c.aligned(0), c.out, adjoint, false);
    r = r.defined() ? r - da_x : negative(da_x);
  }
  return solve_broadcast(c.in[0], r, adjoint);
}

Tensor triangular_solve(const Tensor& matrix, const Tensor& rhs, bool lower, bool adjoint) {
  require_solve_args(matrix, rhs, "triangular_solve");
  Tensor out = dispatch_float(matrix.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return solve_each<T>(matrix, rhs, "triangular_solve", [&](const T* a, T* x, int64_t n, int64_t m) {
      kernels::triangular_solve(a, n, x, m, lower, adjoint);
    });
  });
  record(OpId::MatrixTriangularSolve, {&matrix, &rhs}, out, {int64_t(lower), int64_t(adjoint)});
  return out;
}

// As solve's, with g_A kept to the triangle the op reads.
void vjp_MatrixTriangularSolve(VjpCtx& c) {
  const bool lower = c.attrs[0], adjoint = c.attrs[1];
  const Tensor gb = triangular_solve(c.in[0], c.g, lower, !adjoint);
  if (c.needs[0]) {
    const int64_t n = c.in[0].shape()[c.in[0].ndim() - 1];
    const Tensor ga = adjoint ? matmul(c.out, gb, false, true) : matmul(gb, c.out, false, true);
    c.gin[0] = negative(ga * triangle_mask(n, lower, 1.0, ga.dtype()));
  }
  if (c.needs[1]) c.gin[1] = gb;
}
Tensor jvp_MatrixTriangularSolve(JvpCtx& c) {
  const bool lower = c.attrs[0], adjoint = c.attrs[1];
  Tensor r;
  if (c.t[1].defined()) r = c.aligned(1);
  if (c.t[0].defined()) {
    const int64_t n = c.in[0].shape()[c.in[0].ndim() - 1];
    const Tensor da = c.aligned(0) * triangle_mask(n, lower, 1.0, c.in[0].dtype());
    const Tensor da_x = matmul(da, c.out, adjoint, false);
    r = r.defined() ? r - da_x : negative(da_x);
  }
  return triangular_solve(c.in[0], r, lower, adjoint);
}

Tensor cholesky(const Tensor& input) {
  require_square(input, "cholesky");
  const int64_t n = input.shape()[input.ndim() - 1];
  Tensor out = Tensor::empty(input.dtype(), input.shape());
  const int64_t nmat = out.numel() == 0 ? 0 : batch_of(input.shape()).numel();
  dispatch_float(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (int64_t b = 0; b < nmat; ++b) {
      const T* a = input.data<T>() + b * n * n;
      T* l = out.data<T>() + b * n * n;
      std::copy(a, a + n * n, l);
      if (!kernels::cholesky_factor(l, n)) {
        // not positive definite: TensorFlow fills the lower triangle with NaN (no error)
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < n; ++j) l[i * n + j] = j <= i ? std::numeric_limits<T>::quiet_NaN() : T(0);
      }
    }
  });
  record(OpId::Cholesky, {&input}, out);
  return out;
}

// A = L L^T, read as symmetric: dL = L Phi(L^-1 sym(dA) L^-T), Phi the lower triangle with
// the diagonal halved; its adjoint is g_A = sym(L^-T Phi(L^T g) L^-1) (Murray 2016, and
// TensorFlow's CholeskyGrad), sym(X) = (X + X^T) / 2.
void vjp_Cholesky(VjpCtx& c) {
  const Tensor& l = c.out;
  const int64_t n = l.shape()[l.ndim() - 1];
  const Tensor phi = matmul(l, c.g, true, false) * triangle_mask(n, true, 0.5, l.dtype());
  const Tensor left = triangular_solve(l, phi, true, true);                                 // L^-T Phi
  const Tensor s = matrix_transpose(triangular_solve(l, matrix_transpose(left), true, true));  // .. L^-1
  c.gin[0] = (s + matrix_transpose(s)) * scalar(0.5, l.dtype());
}
Tensor jvp_Cholesky(JvpCtx& c) {
  const Tensor& l = c.out;
  const int64_t n = l.shape()[l.ndim() - 1];
  const Tensor sym = (c.t[0] + matrix_transpose(c.t[0])) * scalar(0.5, l.dtype());
  const Tensor left = triangular_solve(l, sym, true, false);                                   // L^-1 S
  const Tensor mid = matrix_transpose(triangular_solve(l, matrix_transpose(left), true, false));  // .. L^-T
  return matmul(l, mid * triangle_mask(n, true, 0.5, l.dtype()));
}

Tensor cholesky_solve(const Tensor& chol, const Tensor& rhs) {
  // (L L^T)^-1 B = L^-T (L^-1 B): two triangular solves, as TensorFlow composes it
  return triangular_solve(chol, triangular_solve(chol, rhs, true, false), true, true);
}

// ================================ diagonals and bands: index maps over gather and where
//
// diag_part, diag and set_diag move elements between a matrix and its diagonals: each builds
// an int64 map (which element of the source, or the padding value, each output element is)
// and calls gather, so their gradients are gather's (and its second order); band_part and
// set_diag select with where. TensorFlow's MatrixDiagV3 conventions: diagonal d = j - i, a
// range k = (lo, hi) of diagonals is stored from hi down to lo, each in a row of max_len
// elements, the shorter ones padded on the side `align` says.

namespace {

struct DiagRange {
  int64_t lo, hi;
  int64_t count() const { return hi - lo + 1; }
  bool single() const { return lo == hi; }
};

DiagRange diag_range(const std::vector<int64_t>& k, const char* op) {
  if (k.empty() || k.size() > 2)
    throw InvalidArgument(op_prefix(op) + "k must be an integer or a pair of integers, got " +
                          std::to_string(k.size()) + " values");
  DiagRange r{k[0], k.size() == 2 ? k[1] : k[0]};
  if (r.lo > r.hi)
    throw InvalidArgument(op_prefix(op) + "lower_diag_index must not be larger than upper_diag_index: " +
                          std::to_string(r.lo) + " > " + std::to_string(r.hi));
  return r;
}

// The diagonals an M x N matrix has: -M < d < N (and 0, for an empty matrix).
void require_diags_in(const DiagRange& r, int64_t m, int64_t n, const char* op) {
  for (int64_t d : {r.lo, r.hi})
    if (!((-m < d && d < n) || d == 0))
      throw InvalidArgument(op_prefix(op) + (d == r.lo ? "lower" : "upper") + "_diag_index is out of bound: " +
                            std::to_string(d) + ". It must be between " + std::to_string(-m) + " and " +
                            std::to_string(n));
}

int64_t diag_len(int64_t m, int64_t n, int64_t d) {
  return std::max<int64_t>(0, std::min(m + std::min<int64_t>(d, 0), n - std::max<int64_t>(d, 0)));
}

struct Align {
  bool super_left, sub_left;  // superdiagonals (d >= 0) / subdiagonals (d <= 0) padded on the right
  // Where element 0 of diagonal d sits in its row of max_len.
  int64_t offset(int64_t m, int64_t n, int64_t d, int64_t max_len) const {
    const bool left = (d >= 0 && super_left) || (d <= 0 && sub_left);
    return left ? 0 : max_len - diag_len(m, n, d);
  }
};

Align parse_align(const std::string& a, const char* op) {
  if (a == "RIGHT_LEFT") return {false, true};
  if (a == "LEFT_RIGHT") return {true, false};
  if (a == "LEFT_LEFT") return {true, true};
  if (a == "RIGHT_RIGHT") return {false, false};
  throw InvalidArgument(op_prefix(op) + "align must be one of 'RIGHT_LEFT', 'LEFT_RIGHT', 'LEFT_LEFT' or "
                        "'RIGHT_RIGHT', got '" + a + "'");
}

void require_scalar(const Tensor& t, const char* op, const char* what) {
  require_defined(t, op);
  if (t.ndim() != 0)
    throw InvalidArgument(op_prefix(op) + what + " must be a scalar, got shape " + t.shape().str());
}

// out[..., i] = values[..., map[i] - 1], or pad where map[i] is 0: one gather over the last
// axis of [pad, values...] (the padding takes no gradient, as TensorFlow's).
Tensor gather_with_padding(const Tensor& values, const Tensor& pad, const std::vector<int64_t>& map,
                           const std::vector<int64_t>& map_shape) {
  std::vector<int64_t> pad_shape = values.shape().vec();
  pad_shape.back() = 1;
  const Tensor padded = concat({broadcast_to(stop_gradient(cast(pad, values.dtype())), Shape(pad_shape)), values},
                               values.ndim() - 1);
  const Tensor idx = from_data(map.data(), DType::Int64, Shape(map_shape));
  return gather(padded, idx, values.ndim() - 1);
}

// The M x N matrices whose diagonals lo..hi are `diagonal` (shape checked by the caller).
Tensor diag_to_matrix(const Tensor& diagonal, const DiagRange& r, int64_t m, int64_t n, const Tensor& pad,
                      const Align& align) {
  const int64_t max_len = diagonal.shape()[diagonal.ndim() - 1];
  std::vector<int64_t> map(size_t(m * n), 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t d = j - i;
      if (d < r.lo || d > r.hi) continue;
      const int64_t p = (d >= 0 ? i : j) + align.offset(m, n, d, max_len);
      if (p < max_len) map[size_t(i * n + j)] = 1 + (r.hi - d) * max_len + p;
    }
  const int lead = diagonal.ndim() - (r.single() ? 1 : 2);
  std::vector<int64_t> flat(diagonal.shape().data(), diagonal.shape().data() + lead);
  flat.push_back(r.count() * max_len);
  std::vector<int64_t> out_shape(diagonal.shape().data(), diagonal.shape().data() + lead);
  out_shape.push_back(m);
  out_shape.push_back(n);
  return reshape(gather_with_padding(reshape(diagonal, flat), pad, map, {m * n}), out_shape);
}

void require_matrices(const Tensor& input, const char* op) {
  require_defined(input, op);
  if (input.ndim() < 2)
    throw InvalidArgument(op_prefix(op) + "input must be at least 2-dim, received shape: " + input.shape().str());
}

}  // namespace

Tensor diag_part(const Tensor& input, const std::vector<int64_t>& k, const Tensor& padding_value,
                 const std::string& align) {
  require_matrices(input, "diag_part");
  require_scalar(padding_value, "diag_part", "padding_value");
  const DiagRange r = diag_range(k, "diag_part");
  const Align al = parse_align(align, "diag_part");
  const int rank = input.ndim();
  const int64_t m = input.shape()[rank - 2], n = input.shape()[rank - 1];
  require_diags_in(r, m, n, "diag_part");
  const int64_t max_len = std::min(m + std::min<int64_t>(r.hi, 0), n - std::max<int64_t>(r.lo, 0));
  std::vector<int64_t> map_shape;
  if (!r.single()) map_shape.push_back(r.count());
  map_shape.push_back(max_len);
  if (input.numel() == 0) {  // no matrix to read (and no index map to build for them)
    std::vector<int64_t> out_shape(input.shape().data(), input.shape().data() + rank - 2);
    out_shape.insert(out_shape.end(), map_shape.begin(), map_shape.end());
    return zeros(Shape(out_shape), input.dtype());
  }
  std::vector<int64_t> map(size_t(r.count() * max_len), 0);
  for (int64_t d = r.hi; d >= r.lo; --d) {
    const int64_t off = al.offset(m, n, d, max_len), len = diag_len(m, n, d);
    for (int64_t p = 0; p < len; ++p) {
      const int64_t i = d >= 0 ? p : p - d;
      map[size_t((r.hi - d) * max_len + off + p)] = 1 + i * n + i + d;
    }
  }
  std::vector<int64_t> flat(input.shape().data(), input.shape().data() + rank - 2);
  flat.push_back(m * n);
  return gather_with_padding(reshape(input, flat), padding_value, map, map_shape);
}

Tensor diag(const Tensor& diagonal, const std::vector<int64_t>& k, int64_t num_rows, int64_t num_cols,
            const Tensor& padding_value, const std::string& align) {
  require_defined(diagonal, "diag");
  require_scalar(padding_value, "diag", "padding_value");
  const DiagRange r = diag_range(k, "diag");
  const Align al = parse_align(align, "diag");
  if (diagonal.ndim() < 1)
    throw InvalidArgument("diag: diagonal must be at least 1-dim, received shape: " + diagonal.shape().str());
  if (!r.single() && (diagonal.ndim() < 2 || diagonal.shape()[diagonal.ndim() - 2] != r.count()))
    throw InvalidArgument("diag: The number of diagonals provided in the input does not match the "
                          "lower_diag_index and upper_diag_index range: k = (" + std::to_string(r.lo) + ", " +
                          std::to_string(r.hi) + "), diagonal shape " + diagonal.shape().str());
  const int64_t max_len = diagonal.shape()[diagonal.ndim() - 1];
  const int64_t min_rows = max_len - std::min<int64_t>(r.hi, 0), min_cols = max_len + std::max<int64_t>(r.lo, 0);
  if (num_rows == -1 && num_cols == -1) num_rows = num_cols = std::max(min_rows, min_cols);
  else if (num_rows == -1) num_rows = min_rows;
  else if (num_cols == -1) num_cols = min_cols;
  if (num_rows < min_rows) throw InvalidArgument("diag: The number of rows is too small.");
  if (num_cols < min_cols) throw InvalidArgument("diag: The number of columns is too small.");
  if (num_rows != min_rows && num_cols != min_cols)
    throw InvalidArgument("diag: The number of rows or columns is not consistent with the specified d_lower, "
                          "d_upper, and diagonal.");
  checked_numel(Shape{num_rows, num_cols}, 8, "diag");  // the index map's size
  return diag_to_matrix(diagonal, r, num_rows, num_cols, padding_value, al);
}

Tensor set_diag(const Tensor& input, const Tensor& diagonal, const std::vector<int64_t>& k, const std::string& align) {
  require_matrices(input, "set_diag");
  require_defined(diagonal, "set_diag");
  const DiagRange r = diag_range(k, "set_diag");
  const Align al = parse_align(align, "set_diag");
  const int rank = input.ndim();
  const int64_t m = input.shape()[rank - 2], n = input.shape()[rank - 1];
  require_diags_in(r, m, n, "set_diag");
  const int64_t max_len = std::min(m + std::min<int64_t>(r.hi, 0), n - std::max<int64_t>(r.lo, 0));
  std::vector<int64_t> expected(input.shape().data(), input.shape().data() + rank - 2);
  if (!r.single()) expected.push_back(r.count());
  expected.push_back(max_len);
  if (diagonal.shape() != Shape(expected))
    throw InvalidArgument("set_diag: Either first dimensions of diagonal don't match input.shape[:-2], or "
                          "diagonal.shape[:-1] is not equal to the diagonals range: expected shape " +
                          Shape(expected).str() + " for input " + input.shape().str() + ", got " +
                          diagonal.shape().str());
  require_same_dtype(input, diagonal, "set_diag");
  if (input.numel() == 0) return reshape(input, input.shape().vec());
  std::vector<uint8_t> mask(size_t(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) mask[size_t(i * n + j)] = j - i >= r.lo && j - i <= r.hi;
  const Tensor cond = from_data(mask.data(), DType::Bool, Shape{m, n});
  return where(cond, diag_to_matrix(diagonal, r, m, n, scalar(0.0, input.dtype()), al), input);
}

Tensor band_part(const Tensor& input, int64_t num_lower, int64_t num_upper) {
  require_matrices(input, "band_part");
  const int rank = input.ndim();
  const int64_t m = input.shape()[rank - 2], n = input.shape()[rank - 1];
  if (num_lower > m)
    throw InvalidArgument("band_part: num_lower must be negative or less or equal to number of rows (" +
                          std::to_string(m) + ") got: " + std::to_string(num_lower));
  if (num_upper > n)
    throw InvalidArgument("band_part: num_upper must be negative or less or equal to number of columns (" +
                          std::to_string(n) + ") got: " + std::to_string(num_upper));
  if (input.numel() == 0) return reshape(input, input.shape().vec());
  std::vector<uint8_t> mask(size_t(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      mask[size_t(i * n + j)] = (num_lower < 0 || i - j <= num_lower) && (num_upper < 0 || j - i <= num_upper);
  const Tensor cond = from_data(mask.data(), DType::Bool, Shape{m, n});
  return where(cond, input, zeros_like(input));
}

Tensor trace(const Tensor& x) {
  require_matrices(x, "trace");
  return reduce_sum(diag_part(x, {0}, scalar(0.0, x.dtype()), "RIGHT_LEFT"), std::vector<int64_t>{-1});
}

// ================================ eigh: the symmetric eigendecomposition
//
// The tape records one output per op, so the primitive (eigh_packed) returns the eigenvalues
// and eigenvectors packed in one tensor [..., n + 1, n] (row 0 the eigenvalues e, rows 1..n
// the matrix V whose columns are the eigenvectors); eigh slices it, and the slices' rules
// hand the rule one gradient of the packed shape. Like TensorFlow's SelfAdjointEigV2 it reads
// the lower triangle of each matrix (the upper one is taken as its mirror).

namespace {

// Rows [begin, end) of the matrices of x (its dim -2), whatever its leading dims.
Tensor matrix_rows(const Tensor& x, int64_t begin, int64_t end) {
  const int r = x.ndim();
  std::vector<int64_t> b(size_t(r), 0), e = x.shape().vec(), step(size_t(r), 1);
  b[size_t(r - 2)] = begin;
  e[size_t(r - 2)] = end;
  return strided_slice(x, b, e, step);
}

// Row 0 of a packed eigh tensor as a vector per matrix: [..., n].
Tensor packed_values(const Tensor& p) {
  std::vector<int64_t> s = p.shape().vec();
  s.erase(s.end() - 2);
  return reshape(matrix_rows(p, 0, 1), s);
}

// F[..., i, j] = 1 / (e_j - e_i) off the diagonal, as TensorFlow's _SafeReciprocal computes it,
// d / (d^2 + 1e-20): 0 where eigenvalues repeat (the term of a pair of eigenvectors that are
// not unique is dropped), and smooth. The diagonal is then zeroed by a constant mask, so that
// no derivative flows through its d = 0 (where d / (d^2 + 1e-20) has slope 1e20).
Tensor eigen_gaps(const Tensor& e) {
  const int64_t n = e.shape()[e.ndim() - 1];
  const Tensor diff = expand_dims(e, e.ndim() - 1) - expand_dims(e, e.ndim());  // [i, j] = e_j - e_i
  const Tensor off = triangle_mask(n, true, 0.0, e.dtype()) + triangle_mask(n, false, 0.0, e.dtype());
  return diff * reciprocal(diff * diff + scalar(1e-20, e.dtype())) * off;
}

// The symmetric matrix eigh sees in a: its lower triangle, mirrored.
Tensor lower_mirrored(const Tensor& a) {
  const int64_t n = a.shape()[a.ndim() - 1];
  return a * triangle_mask(n, true, 1.0, a.dtype()) + matrix_transpose(a * triangle_mask(n, true, 0.0, a.dtype()));
}

}  // namespace

Tensor eigh_packed(const Tensor& tensor) {
  require_square(tensor, "eigh");
  const int64_t n = tensor.shape()[tensor.ndim() - 1];
  std::vector<int64_t> out_shape = tensor.shape().vec();
  out_shape[out_shape.size() - 2] = n + 1;
  Tensor out = Tensor::empty(tensor.dtype(), Shape(out_shape));
  const int64_t nmat = out.numel() == 0 ? 0 : batch_of(tensor.shape()).numel();
  if (nmat > 0) dispatch_float(tensor.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<double> a(size_t(n * n)), w(static_cast<size_t>(n)), v(size_t(n * n));
    for (int64_t b = 0; b < nmat; ++b) {
      const T* src = tensor.data<T>() + b * n * n;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j <= i; ++j) {
          const double x = double(src[i * n + j]);
          if (!std::isfinite(x))  // as TensorFlow's Eigen solver, which fails on inf and NaN
            throw InvalidArgument("eigh: Self-adjoint eigen decomposition was not successful. The input might not "
                                  "be valid (it holds inf or NaN).");
          a[size_t(i * n + j)] = a[size_t(j * n + i)] = x;
        }
      kernels::symmetric_eigen(a.data(), n, w.data(), v.data());
      T* dst = out.data<T>() + b * (n + 1) * n;
      for (int64_t j = 0; j < n; ++j) dst[j] = T(w[size_t(j)]);
      for (int64_t i = 0; i < n * n; ++i) dst[n + i] = T(v[size_t(i)]);
    }
  });
  record(OpId::SelfAdjointEig, {&tensor}, out);
  return out;
}

// S V = V diag(e), S the lower triangle of A mirrored. For a symmetric dS:
//   de = diag(V^T dS V),  dV = V (F o (V^T dS V)),  F_ij = 1 / (e_j - e_i);
// so g_S = V (diag(g_e) + F o (V^T g_V)) V^T, and g_A is g_S through the mirroring:
// tril(g_S) + tril(g_S^T, -1) (TensorFlow's rule).
void vjp_SelfAdjointEig(VjpCtx& c) {
  const int64_t n = c.out.shape()[c.out.ndim() - 1];
  const Tensor e = packed_values(c.out), v = matrix_rows(c.out, 1, n + 1);
  const Tensor ge = packed_values(c.g), gv = matrix_rows(c.g, 1, n + 1);
  const Tensor eye = triangle_mask(n, true, 1.0, e.dtype()) * triangle_mask(n, false, 1.0, e.dtype());
  const Tensor inner = expand_dims(ge, ge.ndim() - 1) * eye + eigen_gaps(e) * matmul(v, gv, true, false);
  const Tensor gs = matmul(v, matmul(inner, v, false, true));
  c.gin[0] = gs * triangle_mask(n, true, 1.0, gs.dtype()) + matrix_transpose(gs) * triangle_mask(n, true, 0.0, gs.dtype());
}
Tensor jvp_SelfAdjointEig(JvpCtx& c) {
  const int64_t n = c.out.shape()[c.out.ndim() - 1];
  const Tensor e = packed_values(c.out), v = matrix_rows(c.out, 1, n + 1);
  const Tensor m = matmul(v, matmul(lower_mirrored(c.t[0]), v), true, false);  // V^T dS V
  const Tensor eye = triangle_mask(n, true, 1.0, e.dtype()) * triangle_mask(n, false, 1.0, e.dtype());
  const Tensor de = reduce_sum(m * eye, std::vector<int64_t>{m.ndim() - 2}, true);  // [..., 1, n]
  return concat({de, matmul(v, eigen_gaps(e) * m)}, m.ndim() - 2);
}

TensorList eigh(const Tensor& tensor) {
  const Tensor p = eigh_packed(tensor);
  const int64_t n = tensor.shape()[tensor.ndim() - 1];
  return {packed_values(p), matrix_rows(p, 1, n + 1)};
}

Tensor eigvalsh(const Tensor& tensor) { return packed_values(eigh_packed(tensor)); }

// ================================ qr: Householder QR
//
// As eigh's, the primitive (qr_packed) returns both factors in one tensor: Q [..., M, Kq] in
// rows 0..M-1 and R [..., Kq, N] in rows M..M+Kq-1, each padded with zeros to max(Kq, N)
// columns (Kq = min(M, N), or M with full_matrices).

namespace {

// Rows [r0, r1) and columns [c0, c1) of the matrices of x, whatever its leading dims.
Tensor matrix_block(const Tensor& x, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int r = x.ndim();
  std::vector<int64_t> b(size_t(r), 0), e = x.shape().vec(), step(size_t(r), 1);
  b[size_t(r - 2)] = r0;
  e[size_t(r - 2)] = r1;
  b[size_t(r - 1)] = c0;
  e[size_t(r - 1)] = c1;
  return strided_slice(x, b, e, step);
}

// x padded with zero columns on the right to `cols` columns.
Tensor pad_columns(const Tensor& x, int64_t cols) {
  const int64_t have = x.shape()[x.ndim() - 1];
  if (have == cols) return x;
  std::vector<int64_t> s = x.shape().vec();
  s.back() = cols - have;
  return concat({x, zeros(Shape(s), x.dtype())}, x.ndim() - 1);
}

struct QrDims {
  int64_t m, n, kq, cols;
};
QrDims qr_dims(const Shape& input, bool full) {
  const int64_t m = input[input.rank() - 2], n = input[input.rank() - 1];
  const int64_t kq = full ? m : std::min(m, n);
  return {m, n, kq, std::max(kq, n)};
}

// x R^-T, R upper triangular (TensorFlow's _TriangularSolve in its QR gradient)
Tensor times_inverse_transpose(const Tensor& x, const Tensor& r) {
  return matrix_transpose(triangular_solve(r, matrix_transpose(x), false, false));
}
// x R^-1, R upper triangular
Tensor times_inverse(const Tensor& x, const Tensor& r) {
  return matrix_transpose(triangular_solve(r, matrix_transpose(x), false, true));
}

// TensorFlow's _QrGradSquareAndDeepMatrices (M >= N, reduced): Walter & Lehmann's adjoint.
Tensor qr_vjp_deep(const Tensor& q, const Tensor& r, const Tensor& dq, const Tensor& dr) {
  const Tensor qdq = matmul(q, dq, true, false);
  const Tensor rdr = matmul(r, dr, false, true);
  const Tensor tril = band_part(qdq - matrix_transpose(qdq) + rdr - matrix_transpose(rdr), -1, 0);
  return matmul(q, dr + times_inverse_transpose(tril, r)) + times_inverse_transpose(dq - matmul(q, qdq), r);
}

// dQ, dR of A = QR (M >= N, reduced) for a tangent dA: with C = Q^T dA R^-1 and
// W = tril(C, -1) - tril(C, -1)^T (skew), dQ = Q (W - C) + dA R^-1 and dR = (C - W) R.
std::pair<Tensor, Tensor> qr_jvp_deep(const Tensor& q, const Tensor& r, const Tensor& da) {
  const int64_t k = r.shape()[r.ndim() - 1];
  const Tensor da_rinv = times_inverse(da, r);
  const Tensor c = matmul(q, da_rinv, true, false);
  const Tensor low = c * triangle_mask(k, true, 0.0, c.dtype());
  const Tensor w = low - matrix_transpose(low);
  return {matmul(q, w - c) + da_rinv, matmul(c - w, r)};
}

}  // namespace

Tensor qr_packed(const Tensor& input, bool full_matrices) {
  require_float(input, "qr");
  if (input.ndim() < 2)
    throw InvalidArgument("qr: Input tensor 0 must have rank >= 2, got " + std::to_string(input.ndim()) + " (shape " +
                          input.shape().str() + ")");
  const QrDims d = qr_dims(input.shape(), full_matrices);
  const int64_t k = std::min(d.m, d.n);
  std::vector<int64_t> out_shape(input.shape().data(), input.shape().data() + input.ndim() - 2);
  out_shape.push_back(d.m + d.kq);
  out_shape.push_back(d.cols);
  Tensor out = zeroed(Shape(out_shape), input.dtype());
  const int64_t nmat = out.numel() == 0 ? 0 : batch_of(input.shape()).numel();
  if (nmat > 0) dispatch_float(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t m = d.m, n = d.n;
    std::vector<double> a(size_t(m * n)), tau(static_cast<size_t>(k)), q(size_t(m * d.kq));
    for (int64_t b = 0; b < nmat; ++b) {
      const T* src = input.data<T>() + b * m * n;
      for (int64_t i = 0; i < m * n; ++i) a[size_t(i)] = double(src[i]);
      // Householder reflections H_j = I - tau_j v_j v_j^T, v_j = [1, a[j+1.., j]] (Eigen's
      // makeHouseholder, so R's signs are TensorFlow's: R[j, j] = -sign(a_jj) |x|)
      for (int64_t j = 0; j < k; ++j) {
        const double alpha = a[size_t(j * n + j)];
        double tail = 0;
        for (int64_t i = j + 1; i < m; ++i) tail += a[size_t(i * n + j)] * a[size_t(i * n + j)];
        if (tail <= std::numeric_limits<double>::min()) {
          tau[size_t(j)] = 0;
          for (int64_t i = j + 1; i < m; ++i) a[size_t(i * n + j)] = 0;
          continue;
        }
        double beta = std::sqrt(alpha * alpha + tail);
        if (alpha >= 0) beta = -beta;
        for (int64_t i = j + 1; i < m; ++i) a[size_t(i * n + j)] /= alpha - beta;
        tau[size_t(j)] = (beta - alpha) / beta;
        a[size_t(j * n + j)] = beta;
        for (int64_t c = j + 1; c < n; ++c) {
          double s = a[size_t(j * n + c)];
          for (int64_t i = j + 1; i < m; ++i) s += a[size_t(i * n + j)] * a[size_t(i * n + c)];
          s *= tau[size_t(j)];
          a[size_t(j * n + c)] -= s;
          for (int64_t i = j + 1; i < m; ++i) a[size_t(i * n + c)] -= s * a[size_t(i * n + j)];
        }
      }
      // Q = H_0 H_1 ... H_{k-1} applied to the first kq columns of the identity
      for (int64_t i = 0; i < m * d.kq; ++i) q[size_t(i)] = i / d.kq == i % d.kq ? 1.0 : 0.0;
      for (int64_t j = k - 1; j >= 0; --j) {
        if (tau[size_t(j)] == 0) continue;
        for (int64_t c = 0; c < d.kq; ++c) {
          double s = q[size_t(j * d.kq + c)];
          for (int64_t i = j + 1; i < m; ++i) s += a[size_t(i * n + j)] * q[size_t(i * d.kq + c)];
          s *= tau[size_t(j)];
          q[size_t(j * d.kq + c)] -= s;
          for (int64_t i = j + 1; i < m; ++i) q[size_t(i * d.kq + c)] -= s * a[size_t(i * n + j)];
        }
      }
      T* dst = out.data<T>() + b * (m + d.kq) * d.cols;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t c = 0; c < d.kq; ++c) dst[i * d.cols + c] = T(q[size_t(i * d.kq + c)]);
      for (int64_t i = 0; i < k; ++i)
        for (int64_t c = i; c < n; ++c) dst[(m + i) * d.cols + c] = T(a[size_t(i * n + c)]);
    }
  });
  record(OpId::Qr, {&input}, out, {int64_t(full_matrices)});
  return out;
}

// TensorFlow's _QrGrad: the deep case directly; a wide A = [X, Y] (M < N) as X = Q U (square)
// and Y = Q V. Not defined (as in TensorFlow) for full_matrices with M > N.
void vjp_Qr(VjpCtx& c) {
  const QrDims d = qr_dims(c.in[0].shape(), c.attrs[0]);
  if (d.m > d.n && d.kq == d.m)
    throw NotImplemented_("qr: the gradient is not implemented when nrows > ncols and full_matrices is true "
                          "(r.shape " + Shape{d.m, d.n}.str() + "), as in TensorFlow");
  const Tensor q = matrix_block(c.out, 0, d.m, 0, d.kq), r = matrix_block(c.out, d.m, d.m + d.kq, 0, d.n);
  const Tensor dq = matrix_block(c.g, 0, d.m, 0, d.kq), dr = matrix_block(c.g, d.m, d.m + d.kq, 0, d.n);
  if (d.m >= d.n) {
    c.gin[0] = qr_vjp_deep(q, r, dq, dr);
    return;
  }
  const Tensor y = matrix_block(c.in[0], 0, d.m, d.m, d.n), u = matrix_block(r, 0, d.m, 0, d.m);
  const Tensor du = matrix_block(dr, 0, d.m, 0, d.m), dv = matrix_block(dr, 0, d.m, d.m, d.n);
  const Tensor dx = qr_vjp_deep(q, u, dq + matmul(y, dv, false, true), du);
  const Tensor dy = matmul(q, dv);
  c.gin[0] = concat({dx, dy}, dx.ndim() - 1);
}
Tensor jvp_Qr(JvpCtx& c) {
  const QrDims d = qr_dims(c.in[0].shape(), c.attrs[0]);
  if (d.m > d.n && d.kq == d.m)
    throw NotImplemented_("qr: forward mode is not implemented when nrows > ncols and full_matrices is true");
  const Tensor q = matrix_block(c.out, 0, d.m, 0, d.kq), r = matrix_block(c.out, d.m, d.m + d.kq, 0, d.n);
  const Tensor& da = c.t[0];
  Tensor dq, dr;
  if (d.m >= d.n) {
    std::tie(dq, dr) = qr_jvp_deep(q, r, da);
  } else {
    const Tensor u = matrix_block(r, 0, d.m, 0, d.m);
    Tensor du;
    std::tie(dq, du) = qr_jvp_deep(q, u, matrix_block(da, 0, d.m, 0, d.m));
    const Tensor y = matrix_block(c.in[0], 0, d.m, d.m, d.n);
    const Tensor dv = matmul(dq, y, true, false) + matmul(q, matrix_block(da, 0, d.m, d.m, d.n), true, false);
    dr = concat({du, dv}, du.ndim() - 1);
  }
  return concat({pad_columns(dq, d.cols), pad_columns(dr, d.cols)}, dq.ndim() - 2);
}

TensorList qr(const Tensor& input, bool full_matrices) {
  const Tensor p = qr_packed(input, full_matrices);
  const QrDims d = qr_dims(input.shape(), full_matrices);
  return {matrix_block(p, 0, d.m, 0, d.kq), matrix_block(p, d.m, d.m + d.kq, 0, d.n)};
}

// ================================ svd: one-sided Jacobi
//
// The primitive (svd_packed) returns s, u and v in one tensor [..., 1 + M + N, C], zero-padded
// to C = max(Ku, Kv) columns: row 0 s (K = min(M, N) values), rows 1..M u [M, Ku], rows
// M+1..M+N v [N, Kv] (Ku = M and Kv = N with full_matrices, K otherwise).

namespace {

struct SvdDims {
  int64_t m, n, k, ku, kv, cols;
};
SvdDims svd_dims(const Shape& input, bool full) {
  const int64_t m = input[input.rank() - 2], n = input[input.rank() - 1], k = std::min(m, n);
  const int64_t ku = full ? m : k, kv = full ? n : k;
  return {m, n, k, ku, kv, std::max<int64_t>({ku, kv, k})};
}

struct SvdParts {
  Tensor s, u, v;
};
SvdParts svd_parts(const Tensor& p, const SvdDims& d) {
  std::vector<int64_t> s_shape = p.shape().vec();
  s_shape.erase(s_shape.end() - 2);
  s_shape.back() = d.k;
  return {reshape(matrix_block(p, 0, 1, 0, d.k), s_shape), matrix_block(p, 1, 1 + d.m, 0, d.ku),
          matrix_block(p, 1 + d.m, 1 + d.m + d.n, 0, d.kv)};
}

// diag(x) for x [..., k]: x[..., None, :] * I
Tensor diag_matrix(const Tensor& x) {
  const int64_t k = x.shape()[x.ndim() - 1];
  return expand_dims(x, x.ndim() - 1) * triangle_mask(k, true, 1.0, x.dtype()) * triangle_mask(k, false, 1.0, x.dtype());
}

// TensorFlow's _SafeReciprocal: x / (x^2 + 1e-20)
Tensor safe_reciprocal(const Tensor& x) { return x * reciprocal(x * x + scalar(1e-20, x.dtype())); }

// F[..., i, j] = 1 / (s_j^2 - s_i^2) off the diagonal (safe, as eigen_gaps), 0 on it.
Tensor singular_gaps(const Tensor& s) { return eigen_gaps(s * s); }

}  // namespace

Tensor svd_packed(const Tensor& tensor, bool full_matrices) {
  require_float(tensor, "svd");
  if (tensor.ndim() < 2)
    throw InvalidArgument("svd: Input tensor 0 must have rank >= 2, got " + std::to_string(tensor.ndim()) +
                          " (shape " + tensor.shape().str() + ")");
  const SvdDims d = svd_dims(tensor.shape(), full_matrices);
  std::vector<int64_t> out_shape(tensor.shape().data(), tensor.shape().data() + tensor.ndim() - 2);
  out_shape.push_back(1 + d.m + d.n);
  out_shape.push_back(d.cols);
  Tensor out = zeroed(Shape(out_shape), tensor.dtype());
  const int64_t nmat = out.numel() == 0 ? 0 : batch_of(tensor.shape()).numel();
  if (nmat > 0) dispatch_float(tensor.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const bool tall = d.m >= d.n;
    const int64_t rows = tall ? d.m : d.n, cols = tall ? d.n : d.m;  // of the tall matrix factored
    const int64_t tall_ucols = tall ? d.ku : d.kv;
    std::vector<double> a(size_t(rows * cols)), s(static_cast<size_t>(cols)), u(size_t(rows * tall_ucols)),
        v(size_t(cols * cols));
    for (int64_t b = 0; b < nmat; ++b) {
      const T* src = tensor.data<T>() + b * d.m * d.n;
      bool finite = true;
      for (int64_t i = 0; i < d.m; ++i)
        for (int64_t j = 0; j < d.n; ++j) {
          const double x = double(src[i * d.n + j]);
          finite = finite && std::isfinite(x);
          if (tall) a[size_t(i * d.n + j)] = x;
          else a[size_t(j * d.m + i)] = x;
        }
      if (finite) {
        kernels::tall_svd(a.data(), rows, cols, s.data(), u.data(), tall_ucols, v.data());
      } else {  // inf or NaN: every output NaN (TensorFlow returns NaN too; no error)
        std::fill(s.begin(), s.end(), std::numeric_limits<double>::quiet_NaN());
        std::fill(u.begin(), u.end(), std::numeric_limits<double>::quiet_NaN());
        std::fill(v.begin(), v.end(), std::numeric_limits<double>::quiet_NaN());
      }
      // the tall factorization's U and V are (u, v) for a tall input, (v, u) for a wide one
      const double* uu = tall ? u.data() : v.data();
      const double* vv = tall ? v.data() : u.data();
      const int64_t uu_cols = tall ? tall_ucols : cols, vv_cols = tall ? cols : tall_ucols;
      T* dst = out.data<T>() + b * (1 + d.m + d.n) * d.cols;
      for (int64_t j = 0; j < d.k; ++j) dst[j] = T(s[size_t(j)]);
      for (int64_t i = 0; i < d.m; ++i)
        for (int64_t j = 0; j < d.ku; ++j) dst[(1 + i) * d.cols + j] = T(uu[i * uu_cols + j]);
      for (int64_t i = 0; i < d.n; ++i)
        for (int64_t j = 0; j < d.kv; ++j) dst[(1 + d.m + i) * d.cols + j] = T(vv[i * vv_cols + j]);
    }
  });
  record(OpId::Svd, {&tensor}, out, {int64_t(full_matrices)});
  return out;
}

// TensorFlow's _SvdGrad: for M < N as written; for M > N on A^T (u and v swapped) and
// transposed back. With full_matrices it needs |M - N| <= 1, as TensorFlow's.
void vjp_Svd(VjpCtx& c) {
  const bool full = c.attrs[0];
  const SvdDims d = svd_dims(c.in[0].shape(), full);
  SvdParts p = svd_parts(c.out, d), g = svd_parts(c.g, d);
  int64_t m = d.m, n = d.n;
  const bool adjoint = m > n;
  if (adjoint) {
    std::swap(m, n);
    std::swap(p.u, p.v);
    std::swap(g.u, g.v);
  }
  if (full && n - m > 1)
    throw NotImplemented_("svd: the gradient is not implemented for abs(m - n) > 1 when full_matrices is True, "
                          "as in TensorFlow");
  const Tensor s_mat = diag_matrix(p.s);
  const Tensor f = singular_gaps(p.s);
  const Tensor v1 = matrix_block(p.v, 0, n, 0, m), gv1 = matrix_block(g.v, 0, n, 0, m);
  const Tensor f_u = f * matmul(p.u, g.u, true, false);
  const Tensor f_v = f * matmul(v1, gv1, true, false);
  const Tensor inner = diag_matrix(g.s) + matmul(f_u + matrix_transpose(f_u), s_mat) +
                       matmul(s_mat, f_v + matrix_transpose(f_v));
  Tensor ga = matmul(p.u, matmul(inner, v1, false, true));
  if (m != n) {
    const Tensor gv1t = matrix_transpose(gv1);
    Tensor rest = gv1t - matmul(matmul(gv1t, v1), v1, false, true);
    if (full) {
      const Tensor v2 = matrix_block(p.v, 0, n, m, n), gv2 = matrix_block(g.v, 0, n, m, n);
      rest = rest - matmul(matmul(v1, gv2, true, false), v2, false, true);
    }
    ga = ga + matmul(matmul(p.u, diag_matrix(safe_reciprocal(p.s))), rest);
  }
  c.gin[0] = adjoint ? matrix_transpose(ga) : ga;
}

// The reduced SVD's tangents (JAX's svd_jvp_rule, real case): dS = U^T dA V, ds = diag(dS),
// dU = U (F o (dS S + S dS^T)) + (I - U U^T) dA V S^-1 (M > N),
// dV = V (F o (S dS + dS^T S)) + (I - V V^T) dA^T U S^-1 (M < N).
Tensor jvp_Svd(JvpCtx& c) {
  const bool full = c.attrs[0];
  const SvdDims d = svd_dims(c.in[0].shape(), full);
  if (full && d.m != d.n)
    throw NotImplemented_("svd: forward mode is not implemented with full_matrices for non-square matrices");
  const SvdParts p = svd_parts(c.out, d);
  const Tensor& da = c.t[0];
  const Tensor ds_mat = matmul(p.u, matmul(da, p.v), true, false);  // U^T dA V
  const int64_t k = d.k;
  const Tensor eye = triangle_mask(k, true, 1.0, ds_mat.dtype()) * triangle_mask(k, false, 1.0, ds_mat.dtype());
  const Tensor ds = reduce_sum(ds_mat * eye, std::vector<int64_t>{ds_mat.ndim() - 2}, true);  // [..., 1, k]
  const Tensor s_row = expand_dims(p.s, p.s.ndim() - 1);                                       // [..., 1, k]
  const Tensor f = singular_gaps(p.s);
  const Tensor dss = ds_mat * s_row, sds = ds_mat * matrix_transpose(s_row);
  Tensor du = matmul(p.u, f * (dss + matrix_transpose(dss)));
  Tensor dv = matmul(p.v, f * (sds + matrix_transpose(sds)));
  const Tensor s_inv = safe_reciprocal(s_row);
  if (d.m > d.n) {
    const Tensor dav = matmul(da, p.v);
    du = du + (dav - matmul(p.u, matmul(p.u, dav, true, false))) * s_inv;
  } else if (d.n > d.m) {
    const Tensor dau = matmul(da, p.u, true, false);
    dv = dv + (dau - matmul(p.v, matmul(p.v, dau, true, false))) * s_inv;
  }
  return concat({pad_columns(ds, d.cols), pad_columns(du, d.cols), pad_columns(dv, d.cols)}, ds.ndim() - 2);
}

TensorList svd(const Tensor& tensor, bool full_matrices, bool compute_uv) {
  const Tensor packed = svd_packed(tensor, full_matrices);
  const SvdParts p = svd_parts(packed, svd_dims(tensor.shape(), full_matrices));
  if (!compute_uv) return {p.s};
  return {p.s, p.u, p.v};
}

}  // namespace gt
