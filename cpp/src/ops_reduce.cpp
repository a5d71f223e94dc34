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
    for (int64_t a : *axes) {
      const int n = normalize_axis(a, rank, op);
      if (r.reduced[n])
        throw InvalidArgument(std::string(op) + ": axis " + std::to_string(n) + " is given twice (" +
                              std::to_string(a) + " names it); the axes must be distinct");
      r.reduced[n] = true;
    }
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

// The attributes of a recorded reduction: keepdims, then the reduced axes (of a VjpCtx or JvpCtx).
template <class Ctx>
Reduction reduction_from_attrs(const Ctx& c) {
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
Tensor broadcast_back(const Tensor& g, const Reduction& r, const Shape& input, int batch) {
  std::vector<int64_t> kept(g.shape().data(), g.shape().data() + batch), full = kept;
  for (int i = 0; i < r.kept.rank(); ++i) kept.push_back(r.kept[i]);
  for (int i = 0; i < input.rank(); ++i) full.push_back(input[i]);
  return broadcast_to(reshape(g, kept), Shape(full));
}
// The upstream gradient of a reduction spread back over its input: broadcast_back of c.g,
// behind the batch dims of a batched sweep.
Tensor g_spread_back(const VjpCtx& c, const Reduction& r) {
  return broadcast_back(c.g, r, c.in[0].shape(), c.batch_dims());
}

// A reduction's jvp: the tangent times `weights` (of x's shape), summed over the op's axes
// (behind the batch dims of the tangent), with the op's keepdims.
Tensor reduce_tangent(const JvpCtx& c, const Reduction& r, const Tensor& weights) {
  std::vector<int64_t> axes;
  for (int64_t a : r.axes) axes.push_back(c.axis(a));
  return reduce_sum(weights.defined() ? c.t[0] * weights : c.t[0], axes, c.attrs[0] != 0);
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
  c.gin[0] = g_spread_back(c, reduction_from_attrs(c));
}
Tensor jvp_ReduceSum(JvpCtx& c) { return reduce_tangent(c, reduction_from_attrs(c), Tensor()); }

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

// d max(x): g shared equally among the positions equal to the max (as TensorFlow); the jvp is
// the mean of the tangent over those positions
namespace {
Tensor extremum_weights(const Tensor& x, const Tensor& out, const Reduction& r) {
  Tensor y = broadcast_back(out, r, x.shape(), 0);
  Tensor hit = cast(equal(x, y), x.dtype());
  return hit / reduce_sum(hit, r.axes, true);
}
void extremum_vjp(VjpCtx& c) {
  Reduction r = reduction_from_attrs(c);
  c.gin[0] = g_spread_back(c, r) * extremum_weights(c.in[0], c.out, r);
}
Tensor extremum_jvp(JvpCtx& c) {
  Reduction r = reduction_from_attrs(c);
  return reduce_tangent(c, r, extremum_weights(c.in[0], c.out, r));
}
}  // namespace
void vjp_ReduceMax(VjpCtx& c) { extremum_vjp(c); }
void vjp_ReduceMin(VjpCtx& c) { extremum_vjp(c); }
Tensor jvp_ReduceMax(JvpCtx& c) { return extremum_jvp(c); }
Tensor jvp_ReduceMin(JvpCtx& c) { return extremum_jvp(c); }

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
// d prod(x)/dx_i = the product of the others, which prod_others forms without dividing by
// x_i (prod/x_i overflows, and gives NaN or 0 where the inputs hold zeros, infinities or NaNs):
// the reduced axes move last, one row per output element. The jvp sums the tangent times the same.
namespace {
Tensor prod_of_others(const Tensor& x, const Reduction& r) {
  std::vector<int64_t> perm, rows_shape;
  int64_t n = 1;
  for (int i = 0; i < x.ndim(); ++i)
    if (!r.reduced[i]) {
      perm.push_back(i);
      rows_shape.push_back(x.shape()[i]);
    }
  for (int64_t a : r.axes) {
    perm.push_back(a);
    n *= x.shape()[int(a)];
  }
  rows_shape.push_back(n);
  bool moved = false;
  for (size_t i = 0; i < perm.size(); ++i) moved |= perm[i] != int64_t(i);
  const Tensor xt = moved ? transpose(x, perm) : x;
  Tensor others = reshape(prod_others(reshape(xt, rows_shape)), xt.shape().vec());
  if (moved) {
    std::vector<int64_t> inverse(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) inverse[size_t(perm[i])] = int64_t(i);
    others = transpose(others, inverse);
  }
  return others;
}
}  // namespace
void vjp_ReduceProd(VjpCtx& c) {
  Reduction r = reduction_from_attrs(c);
  c.gin[0] = g_spread_back(c, r) * prod_of_others(c.in[0], r);
}
Tensor jvp_ReduceProd(JvpCtx& c) {
  Reduction r = reduction_from_attrs(c);
  return reduce_tangent(c, r, prod_of_others(c.in[0], r));
}

Tensor prod_others(const Tensor& x) {
  require_defined(x, "prod_others");
  require_float(x, "prod_others");
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  const int64_t n = x.ndim() ? x.shape()[x.ndim() - 1] : 1;
  const int64_t rows = n ? x.numel() / n : 0;
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* o = out.data<T>();
    for (int64_t row = 0; row < rows; ++row, in += n, o += n) {
      T acc = T(1);  // the product of the prefix, then of the suffix
      for (int64_t i = 0; i < n; ++i) {
        o[i] = acc;
        acc *= in[i];
      }
      acc = T(1);
      for (int64_t i = n - 1; i >= 0; --i) {
        o[i] *= acc;
        acc *= in[i];
      }
    }
    return 0;
  });
  const Tensor* in[1] = {&x};
  record_n(OpId::ProdOthers, in, 1, out, nullptr, 0);
  return out;
}
// d prod_others(x)_i / dx_j = the product of x_k for k not in {i, j} (i != j), so
// gin_j = sum_{i != j} g_i prod_{k not in {i, j}} x_k: prod_others_grad(x, g).
namespace {
// prod_others_grad(x, g) with x broadcast to g's shape (g has batch dims under a batched sweep).
Tensor prod_others_grad_of(const Tensor& x, const Tensor& g) {
  return prod_others_grad(g.shape() == x.shape() ? x : broadcast_to(x, g.shape()), g);
}
}  // namespace

void vjp_ProdOthers(VjpCtx& c) { c.gin[0] = prod_others_grad_of(c.in[0], c.g); }

Tensor prod_others_grad(const Tensor& x, const Tensor& g) {
  require_defined(x, "prod_others_grad");
  require_defined(g, "prod_others_grad");
  require_float(x, "prod_others_grad");
  require_same_dtype(x, g, "prod_others_grad");
  if (x.shape() != g.shape())
    throw InvalidArgument("prod_others_grad: x " + x.shape().str() + " and g " + g.shape().str() + " differ in shape");
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  const int64_t n = x.ndim() ? x.shape()[x.ndim() - 1] : 1;
  const int64_t rows = n ? x.numel() / n : 0;
  // With p_j, s_j the products of the elements before and after j (as prod_others forms them):
  //   L_j = sum_{i<j} g_i p_i prod_{i<k<j} x_k,  L_0 = 0,      L_{j+1} = L_j x_j + g_j p_j
  //   R_j = sum_{i>j} g_i s_i prod_{j<k<i} x_k,  R_{n-1} = 0,  R_{j-1} = R_j x_j + g_j s_j
  //   out_j = L_j s_j + p_j R_j, an empty sum adding exactly 0 (p_j may overflow while R_j = 0).
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* xs = x.data<T>();
    const T* gs = g.data<T>();
    T* o = out.data<T>();
    std::vector<T> before(static_cast<size_t>(n)), after(static_cast<size_t>(n));  // p_j and s_j
    for (int64_t row = 0; row < rows; ++row, xs += n, gs += n, o += n) {
      T acc = T(1);
      for (int64_t i = 0; i < n; ++i) {
        before[size_t(i)] = acc;
        acc *= xs[i];
      }
      acc = T(1);
      for (int64_t i = n - 1; i >= 0; --i) {
        after[size_t(i)] = acc;
        acc *= xs[i];
      }
      T left = T(0);
      for (int64_t j = 0; j < n; ++j) {
        o[j] = j > 0 ? left * after[size_t(j)] : T(0);
        left = (j > 0 ? left * xs[j] : T(0)) + gs[j] * before[size_t(j)];  // (0 * inf: no NaN from an empty sum)
      }
      T right = T(0);
      for (int64_t j = n - 1; j >= 0; --j) {
        if (j < n - 1) o[j] += before[size_t(j)] * right;
        right = (j < n - 1 ? right * xs[j] : T(0)) + gs[j] * after[size_t(j)];
      }
    }
    return 0;
  });
  const Tensor* in[2] = {&x, &g};
  record_n(OpId::ProdOthersGrad, in, 2, out, nullptr, 0);
  return out;
}
// prod_others_grad is linear in g with a symmetric matrix (the products of all but i and j), so
// its vjp with respect to g is itself. With respect to x it is reduce_prod's third derivative,
// which is not implemented: raised, never a wrong value.
void vjp_ProdOthersGrad(VjpCtx& c) {
  if (c.needs[0])
    throw InvalidArgument("reduce_prod: derivatives of the third order and beyond are not implemented");
  c.gin[1] = prod_others_grad_of(c.in[0], c.g);
}
Tensor jvp_ProdOthersGrad(JvpCtx& c) {
  if (c.t[0].defined())
    throw InvalidArgument("reduce_prod: derivatives of the third order and beyond are not implemented");
  return prod_others_grad_of(c.in[0], c.t[1]);
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
// d logsumexp(x) = g softmax(x), formed from x - max(x) as the forward was: exp(x - out) with
// the rounded out is |out| ulps off (0.368 for 0.25 at x = [1e7]*4 in float32). The shift is a
// constant: softmax does not depend on it.
// The jvp is the tangent's mean under the same softmax.
namespace {
Tensor softmax_over(const Tensor& x, const Reduction& r) {
  Tensor m = reduce_max(stop_gradient(x), r.axes, true);
  Tensor shift = where(equal(m - m, zero_of(m)), m, zero_of(m));  // a non-finite max: no shift
  Tensor e = exp(x - shift);
  return e / reduce_sum(e, r.axes, true);
}
}  // namespace
void vjp_ReduceLogSumExp(VjpCtx& c) {
  Reduction r = reduction_from_attrs(c);
  c.gin[0] = g_spread_back(c, r) * softmax_over(c.in[0], r);
}
Tensor jvp_ReduceLogSumExp(JvpCtx& c) {
  Reduction r = reduction_from_attrs(c);
  return reduce_tangent(c, r, softmax_over(c.in[0], r));
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
