#pragma once
// The ops: each returns a new tensor, checks its arguments (shapes, dtypes, axes) before it
// allocates, and records itself on every active tape that watches one of its inputs. Binary
// and ternary elementwise ops broadcast as NumPy does. Mixing float32 and float64 is an error.
// Every differentiable op's vjp is written with these same functions, so an outer tape records
// an inner backward pass (Hessians need no special code).
#include <optional>
#include <vector>

#include "gradtape/tensor.h"

namespace gt {

using Axes = std::optional<std::vector<int64_t>>;  // nullopt: every axis

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

// ---- elementwise unary ----
Tensor negative(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor expm1(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tan(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor softplus(const Tensor& x);
Tensor log_sigmoid(const Tensor& x);
Tensor floor(const Tensor& x);
Tensor logical_not(const Tensor& x);
Tensor cast(const Tensor& x, DType dtype);
Tensor stop_gradient(const Tensor& x);

// ---- elementwise binary (broadcasting) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor subtract(const Tensor& a, const Tensor& b);
Tensor multiply(const Tensor& a, const Tensor& b);
Tensor divide(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor floordiv(const Tensor& a, const Tensor& b);
Tensor floormod(const Tensor& a, const Tensor& b);
Tensor greater(const Tensor& a, const Tensor& b);
Tensor greater_equal(const Tensor& a, const Tensor& b);
Tensor less(const Tensor& a, const Tensor& b);
Tensor less_equal(const Tensor& a, const Tensor& b);
Tensor equal(const Tensor& a, const Tensor& b);
Tensor not_equal(const Tensor& a, const Tensor& b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y);
Tensor clip_by_value(const Tensor& t, const Tensor& lo, const Tensor& hi);

// ---- reductions ----
Tensor reduce_sum(const Tensor& x, const Axes& axes = std::nullopt, bool keepdims = false);
Tensor reduce_mean(const Tensor& x, const Axes& axes = std::nullopt, bool keepdims = false);
Tensor reduce_max(const Tensor& x, const Axes& axes = std::nullopt, bool keepdims = false);
Tensor reduce_min(const Tensor& x, const Axes& axes = std::nullopt, bool keepdims = false);
Tensor reduce_prod(const Tensor& x, const Axes& axes = std::nullopt, bool keepdims = false);
Tensor reduce_logsumexp(const Tensor& x, const Axes& axes = std::nullopt, bool keepdims = false);
// Sums a (broadcast) gradient down to `shape`: the one place broadcasting is undone. With
// batch_dims > 0, the first batch_dims dims of g and of shape are a batch (batched Jacobians)
// and broadcasting is undone behind them.
Tensor sum_to_shape(const Tensor& g, const Shape& shape, int batch_dims = 0);

// ---- linear algebra ----
// Batched matmul over the last two dims, batch dims broadcasting; 1-d operands as NumPy.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);

// ---- shape ----
Tensor reshape(const Tensor& x, const std::vector<int64_t>& shape);  // one -1 allowed
Tensor transpose(const Tensor& x, const std::vector<int64_t>& perm = {});  // {}: reverse
Tensor expand_dims(const Tensor& x, int64_t axis);
Tensor squeeze(const Tensor& x, const std::vector<int64_t>& axes = {});  // {}: all size-1
Tensor broadcast_to(const Tensor& x, const Shape& shape);
Tensor concat(const std::vector<Tensor>& values, int64_t axis);
Tensor stack(const std::vector<Tensor>& values, int64_t axis = 0);
Tensor gather(const Tensor& params, const Tensor& indices, int64_t axis = 0);
// Strided slice over every axis: begin/end/step already normalised (as Python's slice.indices).
Tensor strided_slice(const Tensor& x, const std::vector<int64_t>& begin,
                     const std::vector<int64_t>& end, const std::vector<int64_t>& step);
// The vjp helpers of strided_slice and gather, themselves differentiable.
Tensor strided_slice_grad(const Tensor& g, const Shape& input_shape,
                          const std::vector<int64_t>& begin, const std::vector<int64_t>& end,
                          const std::vector<int64_t>& step);
Tensor gather_grad(const Tensor& g, const Tensor& indices, int64_t axis, int64_t dim);
// Exclusive products along the last axis: out[..., i] = product of x[..., k] for k != i, from
// prefix and suffix products (no division). reduce_prod's gradient.
Tensor prod_others(const Tensor& x);
// Its vjp: out[..., j] = sum over i != j of g[..., i] times the product of x[..., k], k not i or j.
Tensor prod_others_grad(const Tensor& x, const Tensor& g);
Tensor boolean_mask(const Tensor& x, const Tensor& mask);

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
