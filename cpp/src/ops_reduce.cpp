// Reductions over axes (int list or all), with keepdims, each beside its vjp; and
// sum_to_shape, the one place a broadcast gradient is summed back to its input's shape.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "gradtape/tape.h"
#include "fusion.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "ops_common.h"

namespace gt {

namespace {

struct Reduction {
  bool reduced[kMaxRank] = {};
  std::vector<int64_t> axes;  // sorted, unique, non-negative
  Shape kept;                 // the keepdims shape
  Shape out;                  // the result shape
  int64_t count = 1;          // elements reduced into each output
};

Reduction plan_reduction(const Tensor& x, const Axes& axes, bool keepdims, const char* op) {
  require_defined(x, op);
  Reduction r;
  const int rank = x.ndim();
  if (!axes) {
    for (int i = 0; i < rank; ++i) r.reduced[i] = true;
  } else {
    for (int64_t a : *axes) r.reduced[normalize_axis(a, rank, op)] = true;
  }
  for (int i = 0; i < rank; ++i) {
    if (r.reduced[i]) {
      r.axes.push_back(i);
      r.count *= x.shape()[i];
      r.kept.push_back(1);
      if (keepdims) r.out.push_back(1);
    } else {
      r.kept.push_back(x.shape()[i]);
      r.out.push_back(x.shape()[i]);
    }
  }
  return r;
}

std::vector<int64_t> reduction_attrs(const Reduction& r, bool keepdims) {
  std::vector<int64_t> a;
  a.push_back(keepdims);
  a.insert(a.end(), r.axes.begin(), r.axes.end());
  return a;
}

template <class Acc, class T, class Op>
Tensor run_reduce(const Tensor& x, const Reduction& r, Acc identity, Op op) {
  Tensor out = Tensor::empty(x.dtype(), r.out);
  const int64_t n_out = out.numel();
  std::vector<Acc> acc(size_t(std::max<int64_t>(n_out, 1)), identity);
  if (x.numel() > 0) {
    kernels::ReducePlan p = kernels::make_reduce_plan(x.shape(), r.reduced);
    // A deferred x reduced to one value is computed block by block, never stored.
    if (!fusion::reduce_all<T>(x, p, acc.data(), op)) kernels::reduce(x.data<T>(), acc.data(), p, op);
  }
  T* o = out.data<T>();
  for (int64_t i = 0; i < n_out; ++i) o[i] = T(acc[size_t(i)]);
  return out;
}

template <class T>
constexpr T lowest() {
  if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::lowest();
}
template <class T>
constexpr T highest() {
  if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::max();
}

// The attributes of a recorded reduction: keepdims, then the reduced axes.
Reduction reduction_from_attrs(const VjpCtx& c) {
  Reduction r;
  const Tensor& x = c.in[0];
  for (int i = 1; i < c.n_attrs; ++i) {
    r.reduced[c.attrs[i]] = true;
    r.axes.push_back(c.attrs[i]);
  }
  for (int i = 0; i < x.ndim(); ++i) r.kept.push_back(r.reduced[i] ? 1 : x.shape()[i]);
  return r;
}

// g reshaped to the keepdims shape and broadcast to the input's shape (after `batch`
// leading batch dims of g).
Tensor broadcast_back(const Tensor& g, const Reduction& r, const Shape& input, int batch = 0) {
  std::vector<int64_t> kept(g.shape().data(), g.shape().data() + batch), full = kept;
  for (int i = 0; i < r.kept.rank(); ++i) kept.push_back(r.kept[i]);
  for (int i = 0; i < input.rank(); ++i) full.push_back(input[i]);
  return broadcast_to(reshape(g, kept), Shape(full));
}

}  // namespace

Tensor reduce_sum(const Tensor& x, const Axes& axes, bool keepdims) {
  Reduction r = plan_reduction(x, axes, keepdims, "reduce_sum");
  require_numeric(x, "reduce_sum");
  Tensor out = dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float>)
      return run_reduce<double, T>(x, r, 0.0, [](double a, double b) { return a + b; });
    else
      return run_reduce<T, T>(x, r, T(0), [](T a, T b) { return kernels::wrap_add(a, b); });
  });
  auto attrs = reduction_attrs(r, keepdims);
  const Tensor* in[1] = {&x};
  record_n(OpId::ReduceSum, in, 1, out, attrs.data(), int(attrs.size()));
  return out;
}
// d sum(x) = g broadcast back over the reduced axes
void vjp_ReduceSum(VjpCtx& c) {
  c.gin[0] = broadcast_back(c.g, reduction_from_attrs(c), c.in[0].shape(), c.batch);
}

Tensor reduce_mean(const Tensor& x, const Axes& axes, bool keepdims) {
  Reduction r = plan_reduction(x, axes, keepdims, "reduce_mean");
  Tensor s = reduce_sum(x, axes, keepdims);
  if (is_floating(x.dtype())) return s * (1.0 / double(r.count));
  if (r.count == 0) return s;
  return dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(s.dtype(), s.shape());
    for (int64_t i = 0; i < s.numel(); ++i) out.data<T>()[i] = s.data<T>()[i] / T(r.count);
    return out;
  });
}

Tensor reduce_max(const Tensor& x, const Axes& axes, bool keepdims) {
  Reduction r = plan_reduction(x, axes, keepdims, "reduce_max");
  require_numeric(x, "reduce_max");
  Tensor out = dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return run_reduce<T, T>(x, r, lowest<T>(), [](T a, T b) { return (b > a || b != b) ? b : a; });
  });
  auto attrs = reduction_attrs(r, keepdims);
  const Tensor* in[1] = {&x};
  record_n(OpId::ReduceMax, in, 1, out, attrs.data(), int(attrs.size()));
  return out;
}

Tensor reduce_min(const Tensor& x, const Axes& axes, bool keepdims) {
  Reduction r = plan_reduction(x, axes, keepdims, "reduce_min");
  require_numeric(x, "reduce_min");
  Tensor out = dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return run_reduce<T, T>(x, r, highest<T>(), [](T a, T b) { return (b < a || b != b) ? b : a; });
  });
  auto attrs = reduction_attrs(r, keepdims);
  const Tensor* in[1] = {&x};
  record_n(OpId::ReduceMin, in, 1, out, attrs.data(), int(attrs.size()));
  return out;
}

// d max(x): g shared equally among the positions equal to the max (as TensorFlow)
static void extremum_vjp(VjpCtx& c) {
  Reduction r = reduction_from_attrs(c);
  const Tensor& x = c.in[0];
  Tensor y = broadcast_back(c.out, r, x.shape());
  Tensor hit = cast(equal(x, y), x.dtype());
  Tensor count = reduce_sum(hit, r.axes, true);
  c.gin[0] = broadcast_back(c.g, r, x.shape(), c.batch) * (hit / count);
}
void vjp_ReduceMax(VjpCtx& c) { extremum_vjp(c); }
void vjp_ReduceMin(VjpCtx& c) { extremum_vjp(c); }

Tensor reduce_prod(const Tensor& x, const Axes& axes, bool keepdims) {
  Reduction r = plan_reduction(x, axes, keepdims, "reduce_prod");
  require_numeric(x, "reduce_prod");
  Tensor out = dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return run_reduce<T, T>(x, r, T(1), [](T a, T b) { return kernels::wrap_mul(a, b); });
  });
  auto attrs = reduction_attrs(r, keepdims);
  const Tensor* in[1] = {&x};
  record_n(OpId::ReduceProd, in, 1, out, attrs.data(), int(attrs.size()));
  return out;
}
// d prod(x)/dx_i = product of the others: prod/x_i where x_i != 0; where x_i is the only zero
// of its group, the product of the non-zeros; 0 where the group has two or more zeros.
void vjp_ReduceProd(VjpCtx& c) {
  Reduction r = reduction_from_attrs(c);
  const Tensor& x = c.in[0];
  Tensor zero = zero_of(x);
  Tensor is_zero = equal(x, zero);
  Tensor safe_x = where(is_zero, ones_like(x), x);
  Tensor n_zeros = broadcast_back(reduce_sum(cast(is_zero, x.dtype()), r.axes, true), r, x.shape());
  Tensor prod_nonzero = broadcast_back(reduce_prod(safe_x, r.axes, true), r, x.shape());
  Tensor prod_all = broadcast_back(c.out, r, x.shape());
  Tensor at_zero = where(equal(n_zeros, ones_like(n_zeros)), prod_nonzero, zero);
  Tensor others = where(is_zero, at_zero, prod_all / safe_x);
  c.gin[0] = broadcast_back(c.g, r, x.shape(), c.batch) * others;
}

Tensor reduce_logsumexp(const Tensor& x, const Axes& axes, bool keepdims) {
  Reduction r = plan_reduction(x, axes, keepdims, "reduce_logsumexp");
  require_float(x, "reduce_logsumexp");
  Tensor out;
  {
    RecordingPause pause;
    ShiftedLogSumExp s = shifted_logsumexp(x, r.axes);
    out = reshape(s.lse + s.shift, r.out.vec());
  }
  auto attrs = reduction_attrs(r, keepdims);
  const Tensor* in[1] = {&x};
  record_n(OpId::ReduceLogSumExp, in, 1, out, attrs.data(), int(attrs.size()));
  return out;
}
// d logsumexp(x) = g softmax(x) = g exp(x - logsumexp(x))
void vjp_ReduceLogSumExp(VjpCtx& c) {
  Reduction r = reduction_from_attrs(c);
  const Tensor& x = c.in[0];
  c.gin[0] = broadcast_back(c.g, r, x.shape(), c.batch) * exp(x - broadcast_back(c.out, r, x.shape()));
}

ShiftedLogSumExp shifted_logsumexp(const Tensor& x, const std::vector<int64_t>& axes) {
  Tensor m = reduce_max(x, axes, true);
  Tensor finite = equal(m - m, zero_of(m));
  Tensor shift = where(finite, m, zero_of(m));
  Tensor s = x - shift;
  Tensor at_max = logical_and(equal(s, zero_of(s)), broadcast_to(finite, s.shape()));
  Tensor others = reduce_sum(where(at_max, zero_of(s), exp(s)), axes, true);
  Tensor n_max = reduce_sum(cast(at_max, s.dtype()), axes, true);
  Tensor rest = others + maximum(n_max - 1.0, zero_of(s));
  // rows whose max is not finite have no entry at the max: the plain sum then
  Tensor lse = where(greater(n_max, zero_of(n_max)), log1p(rest), log(reduce_sum(exp(s), axes, true)));
  return {shift, s, lse};
}

Tensor sum_to_shape(const Tensor& g, const Shape& shape, int nb) {
  if (g.shape() == shape) return g;
  const int lead = g.ndim() - shape.rank();
  if (lead < 0) return broadcast_to(g, shape);
  std::vector<int64_t> axes;
  for (int i = nb; i < g.ndim(); ++i) {
    if (i - nb < lead) axes.push_back(i);
    else if (shape[i - lead] == 1 && g.shape()[i] != 1) axes.push_back(i);
    else if (shape[i - lead] != g.shape()[i])
      throw InvalidArgument("sum_to_shape: gradient of shape " + g.shape().str() +
                            " cannot be summed to shape " + shape.str());
  }
  Tensor s = axes.empty() ? g : reduce_sum(g, axes, true);
  return reshape(s, shape.vec());
}

}  // namespace gt
