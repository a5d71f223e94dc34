#pragma once
// The ops: each returns a new tensor, checks its arguments (shapes, dtypes, axes) before it
// allocates, and records itself on every active tape that watches one of its inputs. Binary
// and ternary elementwise ops broadcast as NumPy does. Mixing float32 and float64 is an error.
// Every differentiable op's vjp is written with these same functions, so an outer tape records
// an inner backward pass (Hessians need no special code).
#include <optional>
#include <string>
#include <vector>

#include "gradtape/tensor.h"

namespace gt {

using Axes = std::optional<std::vector<int64_t>>;  // nullopt: every axis
using TensorList = std::vector<Tensor>;

// A convolution's or pool's padding (TensorFlow's `padding` argument): "SAME", "VALID", or
// "EXPLICIT" with a [before, after] pair per input dimension, flat, in the data format's order.
struct Padding {
  std::string mode;
  std::vector<int64_t> pairs;
};

// ---- creation (never recorded) ----
Tensor scalar(double v, DType dtype);
Tensor fill(const Shape& shape, double v, DType dtype);
Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
Tensor zeros_like(const Tensor& x);
Tensor ones_like(const Tensor& x);
Tensor range(double start, double limit, double delta, DType dtype);
// Integer range, exact for every int64 (int32 or int64 dtype; values must fit the dtype).
Tensor range_int(int64_t start, int64_t limit, int64_t delta, DType dtype);
Tensor from_data(const void* data, DType dtype, const Shape& shape);  // copies
Tensor one_hot(const Tensor& indices, int64_t depth, DType dtype);

// ---- the regular families of the op manifest (gradtape/ops.def) ----
// Every Unary, Binary and Reduce row is declared here from its row: the elementwise ops of one
// input (negative abs sign exp log log1p expm1 sqrt rsqrt square reciprocal sin cos tan tanh
// sigmoid relu softplus log_sigmoid floor logical_not stop_gradient, ...), of two inputs,
// broadcasting (add subtract multiply divide pow maximum minimum floordiv floormod, the
// comparisons, logical_and logical_or, ...) and the reductions (reduce_sum reduce_mean
// reduce_max reduce_min reduce_prod reduce_logsumexp, ...); see ops.def for each one's meaning.
#define GT_DECLARE_Unary(fn) Tensor fn(const Tensor& x);
#define GT_DECLARE_Binary(fn) Tensor fn(const Tensor& a, const Tensor& b);
#define GT_DECLARE_Reduce(fn) Tensor fn(const Tensor& x, const Axes& axes = std::nullopt, bool keepdims = false);
#define GT_DECLARE_Custom(fn)
#define GT_DECLARE_Internal(fn)
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc) GT_DECLARE_##kind(fn)
#define GT_FN(fn, kind, ns, sig, doc) GT_DECLARE_##kind(fn)
// The Args rows (shape ops, scans, segment ops, ...) say their C++ declaration themselves.
#define GT_OP_ARGS(E, fn, mask, jvp, ns, ret, params, sig, doc) ret fn params;
#define GT_FN_ARGS(fn, ns, ret, params, sig, doc) ret fn params;
#include "gradtape/ops.def"
#undef GT_DECLARE_Unary
#undef GT_DECLARE_Binary
#undef GT_DECLARE_Reduce
#undef GT_DECLARE_Custom
#undef GT_DECLARE_Internal

// ---- elementwise, irregular arguments ----
Tensor cast(const Tensor& x, DType dtype);
Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y);
Tensor clip_by_value(const Tensor& t, const Tensor& lo, const Tensor& hi);

// Sums a (broadcast) gradient down to `shape`: the one place broadcasting is undone. With
// batch_dims > 0, the first batch_dims dims of g and of shape are a batch (batched Jacobians)
// and broadcasting is undone behind them.
Tensor sum_to_shape(const Tensor& g, const Shape& shape, int batch_dims = 0);

// ---- linear algebra ----
// Batched matmul over the last two dims, batch dims broadcasting; 1-d operands as NumPy.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
// solve (an Args row) with the batch dims of matrix and rhs broadcasting, as the rules need
// under a batched sweep; the same op (MatrixSolve).
Tensor solve_broadcast(const Tensor& matrix, const Tensor& rhs, bool adjoint);
// eigh's primitive: the eigenvalues (row 0) and eigenvectors (rows 1..n) of each symmetric
// matrix, packed in one tensor [..., n + 1, n] (the tape records one output per op).
Tensor eigh_packed(const Tensor& tensor);
// qr's primitive: q (rows 0..M-1) and r (rows M..) of each matrix, packed in one tensor
// [..., M + Kq, max(Kq, N)] padded with zeros.
Tensor qr_packed(const Tensor& input, bool full_matrices);
// svd's primitive: s (row 0), u (rows 1..M) and v (rows M+1..M+N) of each matrix, packed in one
// tensor [..., 1 + M + N, C] padded with zeros.
Tensor svd_packed(const Tensor& tensor, bool full_matrices);

// ---- shape ----
Tensor reshape(const Tensor& x, const std::vector<int64_t>& shape);  // one -1 allowed
Tensor transpose(const Tensor& x, const std::vector<int64_t>& perm = {});  // {}: reverse
Tensor expand_dims(const Tensor& x, int64_t axis);
Tensor squeeze(const Tensor& x, const std::vector<int64_t>& axes = {});  // {}: all size-1
Tensor broadcast_to(const Tensor& x, const Shape& shape);
Tensor concat(const std::vector<Tensor>& values, int64_t axis);
Tensor stack(const std::vector<Tensor>& values, int64_t axis = 0);
Tensor gather(const Tensor& params, const Tensor& indices, int64_t axis = 0);
// gather with batch_dims leading dimensions shared by params and indices (TensorFlow's
// batch_dims; negative counts from indices' rank); composed of transpose, reshape and gather.
Tensor gather_batched(const Tensor& params, const Tensor& indices, int64_t axis, int64_t batch_dims);
// Strided slice over every axis: begin/end/step already normalised (as Python's slice.indices).
Tensor strided_slice(const Tensor& x, const std::vector<int64_t>& begin,
                     const std::vector<int64_t>& end, const std::vector<int64_t>& step);
// The vjp helpers of strided_slice and gather, themselves differentiable.
Tensor strided_slice_grad(const Tensor& g, const Shape& input_shape,
                          const std::vector<int64_t>& begin, const std::vector<int64_t>& end,
                          const std::vector<int64_t>& step);
Tensor gather_grad(const Tensor& g, const Tensor& indices, int64_t axis, int64_t dim);
// The patch copies of convolutions and pooling (ops_conv.cpp), each the other's vjp; attrs give
// the window geometry (h w c kh kw sh sw dh dw pad_top pad_left oh ow).
Tensor im2col(const Tensor& x, const std::vector<int64_t>& attrs);
Tensor col2im(const Tensor& cols, const std::vector<int64_t>& attrs);
// A float convolution of NHWC x [N, H, W, C] with w [KH, KW, C, O] in the same geometry, as
// reshape(im2col(x) reshape(w, [K, O])) but blocked so that the patches stay in cache.
Tensor conv2d_nhwc(const Tensor& x, const Tensor& w, const std::vector<int64_t>& attrs);
// The max pool of NHWC x in a window geometry: each window's first largest element, per channel.
Tensor max_pool_nhwc(const Tensor& x, const std::vector<int64_t>& attrs);
// Exclusive products along the last axis: out[..., i] = product of x[..., k] for k != i, from
// prefix and suffix products (no division). reduce_prod's gradient.
Tensor prod_others(const Tensor& x);
// Its vjp: out[..., j] = sum over i != j of g[..., i] times the product of x[..., k], k not i or j.
Tensor prod_others_grad(const Tensor& x, const Tensor& g);

// ---- nn ----
Tensor softmax(const Tensor& x, int64_t axis = -1);
Tensor log_softmax(const Tensor& x, int64_t axis = -1);
Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits, int64_t axis = -1);
Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);

// ---- the op table: every primitive op's name and whether it has a gradient rule ----
struct OpInfo {
  const char* name;
  bool differentiable;
};
std::vector<OpInfo> op_table();

// ---- the op manifest (ops.def), every public row: what gradtape._core.manifest() returns ----
struct ManifestRow {
  const char* name;        // the Python name (and the C++ function's)
  const char* kind;        // Unary, Binary, Reduce, Custom or Internal
  const char* namespaces;  // space-separated: gt math nn linalg
  const char* signature;   // typed Python signature, "(x: TensorLike, ...) -> Tensor"
  const char* doc;         // TensorFlow-style docstring with a doctest example
  const char* op;          // the OpId's name for a primitive ("" for a GT_FN row)
  const char* mask;        // its mask rule, NoGrad when it has no rule ("" for a GT_FN row)
  const char* jvp;         // its forward-mode rule: Sym, Rule or NoGrad ("" for a GT_FN row)
};
std::vector<ManifestRow> manifest();

// ---- operators, for C++ users and for writing vjps ----
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return subtract(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return multiply(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return divide(a, b); }
inline Tensor operator-(const Tensor& a) { return negative(a); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, scalar(b, a.dtype())); }
inline Tensor operator-(const Tensor& a, double b) { return subtract(a, scalar(b, a.dtype())); }
inline Tensor operator*(const Tensor& a, double b) { return multiply(a, scalar(b, a.dtype())); }
inline Tensor operator/(const Tensor& a, double b) { return divide(a, scalar(b, a.dtype())); }
inline Tensor operator+(double a, const Tensor& b) { return add(scalar(a, b.dtype()), b); }
inline Tensor operator-(double a, const Tensor& b) { return subtract(scalar(a, b.dtype()), b); }
inline Tensor operator*(double a, const Tensor& b) { return multiply(scalar(a, b.dtype()), b); }
inline Tensor operator/(double a, const Tensor& b) { return divide(scalar(a, b.dtype()), b); }

}  // namespace gt
