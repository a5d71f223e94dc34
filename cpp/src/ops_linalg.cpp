// matmul: batched over leading dims (which broadcast), with optional transposes, and its vjp.
#include <limits>

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
    dispatch_numeric(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kernels::gemm(false, tb, nbatch * M, N, Ka, a.data<T>(), b.data<T>(), out.data<T>());
    });
  } else if (out.numel() > 0 && nbatch > 1 && a_shared && N == 1 && batch_b == batch) {
    // one matrix times a stack of vectors (batched Jacobians of matrix-vector products):
    // out[i] = op(a) b[i], i.e. out = B op(a)^T with B the [batch, K] matrix of the vectors
    dispatch_numeric(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kernels::gemm(false, !ta, nbatch, M, Ka, b.data<T>(), a.data<T>(), out.data<T>());
    });
  } else if (out.numel() > 0) {
    dispatch_numeric(a.dtype(), [&](auto tag) {
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

}  // namespace gt
