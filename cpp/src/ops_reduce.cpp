// Reductions over axes (int list or all), with keepdims, each beside its vjp; and
// sum_to_shape, the one place a broadcast gradient is summed back to its input's shape.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "gradtape/tape.h"
#include "fusion.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "ops_common.h"
#include "scalar_code.h"

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
  if constexpr (std::is_floating_point_v<T>) {
    // In a batch (fusion.h), all of a deferred x to one value: deferred too, computed with the
    // batch's other results.
    if (fusion::is_deferred(x)) {
      kernels::ReducePlan p = kernels::make_reduce_plan(x.shape(), r.reduced);
      if (Tensor d = fusion::defer_reduce_all<T>(x, p, Shape(r.out), identity, op); d.defined()) return d;
    }
  }
  Tensor out = Tensor::empty(x.dtype(), r.out);
  const int64_t n_out = out.numel();
  std::vector<Acc> acc(size_t(std::max<int64_t>(n_out, 1)), identity);
  if (x.numel() > 0) {
    kernels::ReducePlan p = kernels::make_reduce_plan(x.shape(), r.reduced);
    // A deferred x reduced to one value is computed block by block, never stored. (Only
    // float32/float64 tensors are ever deferred: the integer instances skip it, and with it its
    // per-instance thread_local block buffer, which would use up the module's static TLS.)
    bool done = false;
    // A deferred x summed over its leading dimensions (a bias's gradient) is stored in the pass
    // that reduces it.
    if constexpr (std::is_floating_point_v<T>)
      done = fusion::reduce_all<T>(x, p, acc.data(), op) || fusion::materialize_reducing_rows<T>(x, p, acc.data(), op);
    if (!done) kernels::reduce(x.data<T>(), acc.data(), p, op);
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
    using Sum = kernels::SumOf<T>;
    return run_reduce<typename Sum::Acc, T>(x, r, kernels::sum_identity<typename Sum::Acc>(r.count), typename Sum::Op{});
  });
  scalar_code::note_reduce_sum(x, out);
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
  if (dtype_size(x.dtype()) <= 2) {
    // 8- and 16-bit integers are summed in int64 for the mean (as TensorFlow: the mean of
    // uint8 [200, 100] is 150), then divided and stored back (the mean is in range)
    Tensor wide = reduce_sum(cast(x, DType::Int64), axes, keepdims);
    int64_t* p = wide.data<int64_t>();
    for (int64_t i = 0; i < wide.numel(); ++i) p[i] /= r.count;
    return cast(wide, x.dtype());
  }
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
  if (shape.rank() == 0 && nb == 0) return reduce_sum(g, axes, false);  // (no reshape: it would compute a deferred sum)
  Tensor s = axes.empty() ? g : reduce_sum(g, axes, true);
  return reshape(s, shape.vec());
}

}  // namespace gt

// ================================ scans: cumsum, cumprod, linear_scan ================================

namespace gt {
namespace {

// A tensor seen as [outer, n, inner] around one axis.
struct AxisWalk {
  int64_t outer = 1, n = 1, inner = 1;
  int64_t at(int64_t o, int64_t i, int64_t k) const { return (o * n + i) * inner + k; }
};
AxisWalk axis_walk(const Shape& s, int a) {
  AxisWalk w;
  for (int d = 0; d < a; ++d) w.outer *= s[d];
  w.n = s[a];
  for (int d = a + 1; d < s.rank(); ++d) w.inner *= s[d];
  // An empty tensor has nothing to walk: no outer loop at all, however big the other dims are
  // ([2**32, 0] would otherwise spin 2**32 times over empty rows).
  if (w.n == 0 || w.inner == 0) w.outer = 0;
  return w;
}

// Runs acc = step(acc, x) along the axis (backwards when reverse), writing acc before
// (exclusive) or after each step.
template <class T, class Step>
void scan_along(const T* x, T* out, const AxisWalk& w, T init, bool exclusive, bool reverse, Step step) {
  for (int64_t o = 0; o < w.outer; ++o)
    for (int64_t k = 0; k < w.inner; ++k) {
      T acc = init;
      for (int64_t s = 0; s < w.n; ++s) {
        const int64_t i = w.at(o, reverse ? w.n - 1 - s : s, k);
        if (exclusive) {
          out[i] = acc;
          acc = step(acc, x[i]);
        } else {
          acc = step(acc, x[i]);
          out[i] = acc;
        }
      }
    }
}

int scan_axis(const Tensor& x, int64_t axis, const char* op) {
  require_defined(x, op);
  require_numeric(x, op);
  if (axis < -x.ndim() || axis >= x.ndim())
    throw InvalidArgument(std::string(op) + ": expected scan axis in the range [" + std::to_string(-x.ndim()) + ", " +
                          std::to_string(x.ndim()) + "), but got " + std::to_string(axis));
  return int(axis < 0 ? axis + x.ndim() : axis);
}

// t moved one step along axis a: result[j] = t[j + dir] (dir = +1 or -1), `fill` where that
// is outside. Written with ops (slice, concat), so it is differentiable.
Tensor shift_along(const Tensor& t, int64_t a, int dir, double fill = 0.0) {
  const int64_t n = t.shape()[int(a)];
  if (n == 0) return t;
  std::vector<int64_t> b(size_t(t.ndim()), 0), e = t.shape().vec(), st(size_t(t.ndim()), 1);
  std::vector<int64_t> zshape = t.shape().vec();
  zshape[size_t(a)] = 1;
  const Tensor z = gt::fill(Shape(zshape), fill, t.dtype());
  if (dir > 0) {
    b[size_t(a)] = 1;
    return concat({strided_slice(t, b, e, st), z}, a);
  }
  e[size_t(a)] = n - 1;
  return concat({z, strided_slice(t, b, e, st)}, a);
}

}  // namespace

Tensor linear_scan(const Tensor& a, const Tensor& b, int64_t axis, bool reverse);

Tensor cumsum(const Tensor& x, int64_t axis, bool exclusive, bool reverse) {
  const int a = scan_axis(x, axis, "cumsum");
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  const AxisWalk w = axis_walk(x.shape(), a);
  dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    scan_along<T>(x.data<T>(), out.data<T>(), w, T(0), exclusive, reverse,
                  [](T s, T v) { return kernels::wrap_add(s, v); });
  });
  record(OpId::Cumsum, {&x}, out, {a, exclusive, reverse});
  return out;
}
// d cumsum(x) = the cumulative sum of g in the other direction
void vjp_Cumsum(VjpCtx& c) { c.gin[0] = cumsum(c.g, c.axis(c.attrs[0]), c.attrs[1] != 0, c.attrs[2] == 0); }
Tensor jvp_Cumsum(JvpCtx& c) { return cumsum(c.t[0], c.axis(c.attrs[0]), c.attrs[1] != 0, c.attrs[2] != 0); }

Tensor cumprod(const Tensor& x, int64_t axis, bool exclusive, bool reverse) {
  const int a = scan_axis(x, axis, "cumprod");
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  const AxisWalk w = axis_walk(x.shape(), a);
  dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    scan_along<T>(x.data<T>(), out.data<T>(), w, T(1), exclusive, reverse, [](T p, T v) {
      return kernels::wrap_mul(p, v);
    });
  });
  record(OpId::Cumprod, {&x}, out, {a, exclusive, reverse});
  return out;
}
// With E the exclusive cumulative product and "next" the following position in the scan's
// direction: d/dx_j = E_j u_j, u_j = g_j + x_next u_next, a linear scan in the other direction,
// with no division, so it is exact where x holds zeros. The exclusive product is the inclusive
// one of x moved one step (a 1 in front): its gradient is that one's moved back, and the last
// element, which no output depends on, gets an exact 0 (not E * 0, NaN where E is infinite).
void vjp_Cumprod(VjpCtx& c) {
  const int64_t a = c.attrs[0];
  const bool exclusive = c.attrs[1] != 0, reverse = c.attrs[2] != 0;
  const int dir = reverse ? -1 : 1;
  const Tensor x = exclusive ? shift_along(c.in[0], a, -dir, 1.0) : c.in[0];
  const Tensor e = cumprod(x, a, true, reverse);
  const Tensor next_x = broadcast_to(shift_along(x, a, dir), c.g.shape());
  const Tensor gx = e * linear_scan(next_x, c.g, c.axis(a), !reverse);
  c.gin[0] = exclusive ? shift_along(gx, c.axis(a), dir) : gx;
}
// y_i = x_i y_prev (inclusive) or x_prev y_prev (exclusive): the tangent follows the same
// linear recurrence, driven by t_i E_i (or its value one step back)
Tensor jvp_Cumprod(JvpCtx& c) {
  const int64_t a = c.attrs[0];
  const bool exclusive = c.attrs[1] != 0, reverse = c.attrs[2] != 0;
  const int dir = reverse ? -1 : 1;
  const Tensor& x = c.in[0];
  const Shape ts = c.t[0].shape();
  if (!exclusive)
    return linear_scan(broadcast_to(x, ts), c.t[0] * cumprod(x, a, true, reverse), c.axis(a), reverse);
  return linear_scan(broadcast_to(shift_along(x, a, -dir), ts), shift_along(c.t[0] * c.out, c.axis(a), -dir),
                     c.axis(a), reverse);
}

// y_i = log(exp(y_prev) + exp(x_i)), scanned with a log-add-exp that never leaves the log
// domain (so a long run of small terms is not lost, as m + log(cumsum(exp(x - m))) loses it).
// The primitive is the inclusive scan; the exclusive one is it moved one step, -inf in front.
Tensor cumulative_logsumexp(const Tensor& x, int64_t axis, bool exclusive, bool reverse) {
  const int a = scan_axis(x, axis, "cumulative_logsumexp");
  require_float(x, "cumulative_logsumexp");
  if (exclusive)
    return shift_along(cumulative_logsumexp(x, a, false, reverse), a, reverse ? 1 : -1,
                       -std::numeric_limits<double>::infinity());
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  const AxisWalk w = axis_walk(x.shape(), a);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    scan_along<T>(x.data<T>(), out.data<T>(), w, -std::numeric_limits<T>::infinity(), false, reverse, [](T s, T v) {
      if (std::isnan(s) || std::isnan(v)) return s + v;
      if (s == v) return s + T(0.69314718055994530942);  // (also inf + inf, -inf + -inf)
      const T m = std::max(s, v);
      return m + std::log1p(std::exp(-std::fabs(s - v)));
    });
  });
  record(OpId::CumulativeLogsumexp, {&x}, out, {a, reverse});
  return out;
}
// exp(a - b), and 0 where b is -inf (then a is -inf too: a prefix of -inf terms). The
// exponent is taken of a safe value there, so the derivative of this is 0, not NaN, and a NaN
// does not enter the linear scans below (where 0 * NaN would spread it along the row).
Tensor exp_diff_or_zero(const Tensor& a, const Tensor& b) {
  const Tensor empty = equal(b, scalar(-std::numeric_limits<double>::infinity(), b.dtype()));
  const Tensor zero = zero_of(b);
  return where(empty, zero, exp(where(empty, zero, a - b)));
}
// NaN where y is -inf (the derivative of the log of a sum of zeros: TensorFlow's NaN there too),
// else v.
Tensor nan_where_empty(const Tensor& y, const Tensor& v) {
  const Tensor empty = equal(y, scalar(-std::numeric_limits<double>::infinity(), y.dtype()));
  return where(broadcast_to(empty, v.shape()), scalar(std::numeric_limits<double>::quiet_NaN(), v.dtype()), v);
}

// dy_k/dx_i = exp(x_i - y_k) for k at or after i: gx_i = exp(x_i - y_i) u_i with
// u_i = g_i + exp(y_i - y_next) u_next, a linear scan in the other direction whose factors are
// all <= 1 (y grows along the scan), so nothing overflows.
void vjp_CumulativeLogsumexp(VjpCtx& c) {
  const int64_t a = c.attrs[0];
  const bool reverse = c.attrs[1] != 0;
  const Tensor& y = c.out;
  const Tensor factor = exp_diff_or_zero(y, shift_along(y, a, reverse ? -1 : 1, std::numeric_limits<double>::infinity()));
  const Tensor u = linear_scan(broadcast_to(factor, c.g.shape()), c.g, c.axis(a), !reverse);
  c.gin[0] = nan_where_empty(y, exp_diff_or_zero(c.in[0], y) * u);
}
// The tangent follows ty_i = exp(y_prev - y_i) ty_prev + exp(x_i - y_i) t_i.
Tensor jvp_CumulativeLogsumexp(JvpCtx& c) {
  const int64_t a = c.attrs[0];
  const bool reverse = c.attrs[1] != 0;
  const Tensor& y = c.out;
  const Tensor ts = c.t[0];
  const Tensor factor = exp_diff_or_zero(shift_along(y, a, reverse ? 1 : -1, -std::numeric_limits<double>::infinity()), y);
  return nan_where_empty(y, linear_scan(broadcast_to(factor, ts.shape()), ts * exp_diff_or_zero(c.in[0], y), c.axis(a), reverse));
}

// h_i = a_i h_prev + b_i along axis (h before the first element: 0), backwards when reverse.
Tensor linear_scan(const Tensor& a, const Tensor& b, int64_t axis, bool reverse) {
  require_float(a, "linear_scan");
  require_same_dtype(a, b, "linear_scan");
  if (a.shape() != b.shape()) throw InvalidArgument("linear_scan: a and b must have one shape");
  const AxisWalk w = axis_walk(a.shape(), int(axis));
  Tensor out = Tensor::empty(a.dtype(), a.shape());
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* h = out.data<T>();
    for (int64_t o = 0; o < w.outer; ++o)
      for (int64_t k = 0; k < w.inner; ++k) {
        T acc = 0;
        for (int64_t s = 0; s < w.n; ++s) {
          const int64_t i = w.at(o, reverse ? w.n - 1 - s : s, k);
          acc = pa[i] * acc + pb[i];
          h[i] = acc;
        }
      }
  });
  record(OpId::LinearScan, {&a, &b}, out, {axis, reverse});
  return out;
}
// h = L b with L[i][j] = a_{j+1} ... a_i: the adjoint u = L^T g is the scan in the other
// direction with a moved one step; d/da_i = u_i h_prev
void vjp_LinearScan(VjpCtx& c) {
  const int64_t a = c.attrs[0];
  const bool reverse = c.attrs[1] != 0;
  const int dir = reverse ? -1 : 1;
  const Tensor u = linear_scan(broadcast_to(shift_along(c.in[0], a, dir), c.g.shape()), c.g, c.axis(a), !reverse);
  if (c.needs[1]) c.gin[1] = u;
  if (c.needs[0]) c.gin[0] = u * shift_along(c.out, a, -dir);
}
Tensor jvp_LinearScan(JvpCtx& c) {
  const int64_t a = c.attrs[0];
  const int dir = c.attrs[1] != 0 ? -1 : 1;
  Tensor drive;
  if (c.t[0].defined()) drive = c.t[0] * shift_along(c.out, a, -dir);
  if (c.t[1].defined()) drive = drive.defined() ? drive + c.t[1] : c.t[1];
  return linear_scan(broadcast_to(c.in[0], drive.shape()), drive, c.axis(a), c.attrs[1] != 0);
}

// ================================ sort, argsort, top_k ================================

namespace {

// The stable order of x along axis a (ascending or descending; NaN last either way), as int64
// positions of x's shape.
Tensor sort_positions(const Tensor& x, int a, bool descending) {
  const AxisWalk w = axis_walk(x.shape(), a);
  Tensor perm = Tensor::empty(DType::Int64, x.shape());
  int64_t* p = perm.data<int64_t>();
  std::vector<int64_t> order(size_t(w.n));
  dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* v = x.data<T>();
    for (int64_t o = 0; o < w.outer; ++o)
      for (int64_t k = 0; k < w.inner; ++k) {
        std::iota(order.begin(), order.end(), 0);
        auto val = [&](int64_t i) { return v[w.at(o, i, k)]; };
        std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) {
          const T vi = val(i), vj = val(j);
          if constexpr (std::is_floating_point_v<T>) {
            if (std::isnan(vi)) return false;
            if (std::isnan(vj)) return true;
          }
          return descending ? vi > vj : vi < vj;
        });
        for (int64_t i = 0; i < w.n; ++i) p[w.at(o, i, k)] = order[size_t(i)];
      }
  });
  return perm;
}

// x's elements at positions `pos` along axis a (pos: x's shape, or fewer along a), as one
// recorded gather of the flattened x, so that the gradient flows back to the positions taken.
Tensor take_along(const Tensor& x, const Tensor& pos, int a) {
  const AxisWalk w = axis_walk(x.shape(), a);
  const AxisWalk pw = axis_walk(pos.shape(), a);
  Tensor flat = Tensor::empty(DType::Int64, pos.shape());
  int64_t* f = flat.data<int64_t>();
  const int64_t* p = pos.data<int64_t>();
  for (int64_t o = 0; o < pw.outer; ++o)
    for (int64_t i = 0; i < pw.n; ++i)
      for (int64_t k = 0; k < pw.inner; ++k) f[pw.at(o, i, k)] = w.at(o, p[pw.at(o, i, k)], k);
  return reshape(gather(reshape(x, {-1}), reshape(flat, {-1}), 0), pos.shape().vec());
}

bool descending_arg(const std::string& direction, const char* op) {
  if (direction == "ASCENDING") return false;
  if (direction == "DESCENDING") return true;
  throw InvalidArgument(std::string(op) + ": argument `direction` should be one of ASCENDING, DESCENDING. Received: direction=" +
                        direction);
}

int sort_axis(const Tensor& values, int64_t axis, const char* op) {
  require_defined(values, op);
  if (values.dtype() == DType::Bool) throw InvalidArgument(std::string(op) + ": bool tensors cannot be sorted");
  if (values.ndim() == 0) throw InvalidArgument(std::string(op) + ": values must have rank >= 1, got a scalar");
  return normalize_axis(axis, values.ndim(), op);
}

}  // namespace

Tensor sort(const Tensor& values, int64_t axis, const std::string& direction) {
  const int a = sort_axis(values, axis, "sort");
  return take_along(values, sort_positions(values, a, descending_arg(direction, "sort")), a);
}

Tensor argsort(const Tensor& values, int64_t axis, const std::string& direction, bool /*stable*/) {
  const int a = sort_axis(values, axis, "argsort");
  return cast(sort_positions(values, a, descending_arg(direction, "argsort")), DType::Int32);
}

TensorList top_k(const Tensor& input, int64_t k, bool /*sorted*/, DType index_type) {
  require_defined(input, "top_k");
  if (input.ndim() == 0) throw InvalidArgument("top_k: input must be >= 1-D, got shape []");
  if (input.dtype() == DType::Bool) throw InvalidArgument("top_k: bool tensors are not supported");
  if (index_type != DType::Int32 && index_type != DType::Int64)
    throw InvalidArgument("top_k: index_type must be int32 or int64");
  const int a = input.ndim() - 1;
  const int64_t n = input.shape()[a];
  if (k < 0) throw InvalidArgument("top_k: need k >= 0, got " + std::to_string(k));
  if (k > n)
    throw InvalidArgument("top_k: input must have at least k columns. Had " + std::to_string(n) + ", needed " +
                          std::to_string(k));
  Tensor order = sort_positions(input, a, true);
  std::vector<int64_t> b(size_t(input.ndim()), 0), e = input.shape().vec(), st(size_t(input.ndim()), 1);
  e[size_t(a)] = k;
  Tensor pos;
  {
    RecordingPause pause;
    pos = strided_slice(order, b, e, st);
  }
  return {take_along(input, pos, a), cast(pos, index_type)};
}

// ================================ segments ================================

namespace {

// data as [N, rest...] with N the elements of segment_ids (a prefix of data's shape).
Tensor rows_of(const Tensor& data, const Tensor& ids, const char* op) {
  require_defined(data, op);
  require_index(ids, op, "segment_ids");
  bool ok = ids.ndim() <= data.ndim();
  for (int d = 0; ok && d < ids.ndim(); ++d) ok = ids.shape()[d] == data.shape()[d];
  if (!ok)
    throw InvalidArgument(std::string(op) + ": segment_ids shape " + ids.shape().str() +
                          " must be a prefix of data shape " + data.shape().str());
  std::vector<int64_t> s{ids.numel()};
  for (int d = ids.ndim(); d < data.ndim(); ++d) s.push_back(data.shape()[d]);
  return reshape(data, s);
}

// Sorted segment ids: checked (1-d, data's first dimension, non-negative, non-decreasing);
// returns the number of segments (the last id + 1).
int64_t sorted_segments(const Tensor& data, const Tensor& ids, const char* op) {
  require_defined(data, op);
  require_index(ids, op, "segment_ids");
  if (ids.ndim() != 1) throw InvalidArgument(std::string(op) + ": segment_ids should be a vector, got shape " + ids.shape().str());
  if (data.ndim() < 1 || ids.shape()[0] != data.shape()[0])
    throw InvalidArgument(std::string(op) + ": segment_ids should be the same size as dimension 0 of input data");
  int64_t last = -1;
  for (int64_t i = 0; i < ids.numel(); ++i) {
    const int64_t s = index_at(ids, i);
    if (s < 0) throw InvalidArgument(std::string(op) + ": segment id " + std::to_string(s) + " out of range");
    if (s < last) throw InvalidArgument(std::string(op) + ": segment ids are not increasing");
    last = s;
  }
  return last + 1;
}

Tensor segment_counts(const Tensor& ids, int64_t num) {
  std::vector<int64_t> counts(size_t(num), 0);
  for (int64_t i = 0; i < ids.numel(); ++i) {
    const int64_t s = index_at(ids, i);
    if (s >= 0 && s < num) ++counts[size_t(s)];
  }
  return from_data(counts.data(), DType::Int64, Shape{num});
}

}  // namespace

Tensor unsorted_segment_sum(const Tensor& data, const Tensor& segment_ids, int64_t num_segments) {
  const char* op = "unsorted_segment_sum";
  Tensor rows = rows_of(data, segment_ids, op);
  require_numeric(data, op);
  if (num_segments < 0) throw InvalidArgument("unsorted_segment_sum: num_segments must be >= 0");
  // negative ids are dropped: they go to one extra segment, sliced off
  std::vector<int64_t> ids(size_t(segment_ids.numel()));
  bool dropped = false;
  for (int64_t i = 0; i < segment_ids.numel(); ++i) {
    const int64_t s = index_at(segment_ids, i);
    if (s >= num_segments)
      throw InvalidArgument("unsorted_segment_sum: segment_ids[" + std::to_string(i) + "] = " + std::to_string(s) +
                            " is out of range [0, " + std::to_string(num_segments) + ")");
    dropped = dropped || s < 0;
    ids[size_t(i)] = s < 0 ? num_segments : s;
  }
  Tensor idx = from_data(ids.data(), DType::Int64, Shape{int64_t(ids.size())});
  Tensor sums = gather_grad(rows, idx, 0, num_segments + (dropped ? 1 : 0));
  if (!dropped) return sums;
  std::vector<int64_t> b(size_t(sums.ndim()), 0), e = sums.shape().vec(), st(size_t(sums.ndim()), 1);
  e[0] = num_segments;
  return strided_slice(sums, b, e, st);
}

Tensor segment_sum(const Tensor& data, const Tensor& segment_ids) {
  return unsorted_segment_sum(data, segment_ids, sorted_segments(data, segment_ids, "segment_sum"));
}

Tensor segment_mean(const Tensor& data, const Tensor& segment_ids) {
  const int64_t num = sorted_segments(data, segment_ids, "segment_mean");
  require_numeric(data, "segment_mean");
  Tensor sums = unsorted_segment_sum(data, segment_ids, num);
  std::vector<int64_t> cshape(size_t(data.ndim()), 1);
  cshape[0] = num;
  Tensor counts = reshape(maximum(segment_counts(segment_ids, num), scalar(1, DType::Int64)), cshape);
  if (is_floating(data.dtype())) return sums / cast(counts, data.dtype());
  // integers: the quotient rounded toward zero, as TensorFlow
  return cast(cast(sums, DType::Float64) / cast(counts, DType::Float64), data.dtype());
}

namespace {
Tensor segment_extremum(const Tensor& data, const Tensor& segment_ids, bool is_min, const char* op) {
  const int64_t num = sorted_segments(data, segment_ids, op);
  require_numeric(data, op);
  Shape out_shape = data.shape();
  out_shape[0] = num;
  Tensor out = Tensor::empty(data.dtype(), out_shape);
  const int64_t inner = data.shape()[0] ? data.numel() / data.shape()[0] : 0;
  dispatch_numeric(data.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = data.data<T>();
    T* o = out.data<T>();
    std::fill(o, o + out.numel(), T(0));  // an empty segment is 0, as TensorFlow
    int64_t prev = -1;
    for (int64_t i = 0; i < segment_ids.numel(); ++i) {
      const int64_t s = index_at(segment_ids, i);
      T* row = o + s * inner;
      const T* src = x + i * inner;
      if (s != prev) {
        std::copy(src, src + inner, row);
        prev = s;
        continue;
      }
      for (int64_t k = 0; k < inner; ++k) {
        const T v = src[k];
        bool take = is_min ? v < row[k] : v > row[k];
        if constexpr (std::is_floating_point_v<T>) take = take || (std::isnan(v) && !std::isnan(row[k]));
        if (take) row[k] = v;
      }
    }
  });
  record(OpId::SegmentExtremum, {&data, &segment_ids}, out, {num, is_min});
  return out;
}

// Which elements equal their segment's extremum (as data's dtype), and how many per segment
// (at least 1): the gradient is shared equally among them, as TensorFlow's.
template <class Ctx>
void extremum_selection(const Ctx& c, Tensor& sel, Tensor& count) {
  RecordingPause pause;
  sel = cast(equal(c.in[0], gather(c.out, c.in[1], 0)), c.in[0].dtype());
  count = maximum(gather_grad(sel, c.in[1], 0, c.attrs[0]), scalar(1, sel.dtype()));
}
}  // namespace

Tensor segment_max(const Tensor& data, const Tensor& segment_ids) {
  return segment_extremum(data, segment_ids, false, "segment_max");
}
Tensor segment_min(const Tensor& data, const Tensor& segment_ids) {
  return segment_extremum(data, segment_ids, true, "segment_min");
}
// d/dx_i = g of its segment / (the number of elements at the extremum) where x_i is one
void vjp_SegmentExtremum(VjpCtx& c) {
  Tensor sel, count;
  extremum_selection(c, sel, count);
  c.gin[0] = gather(c.g / count, c.in[1], c.axis(0)) * sel;
}
Tensor jvp_SegmentExtremum(JvpCtx& c) {
  Tensor sel, count;
  extremum_selection(c, sel, count);
  return gather_grad(c.t[0] * sel, c.in[1], c.axis(0), c.attrs[0]) / count;
}

// ================================ reductions composed of others ================================

Tensor reduce_euclidean_norm(const Tensor& x, const Axes& axes, bool keepdims) {
  require_defined(x, "reduce_euclidean_norm");
  require_numeric(x, "reduce_euclidean_norm");
  if (is_floating(x.dtype())) return sqrt(reduce_sum(square(x), axes, keepdims));
  // integers: the root of the exact sum of squares, rounded toward zero (as TensorFlow)
  const Tensor d = cast(x, DType::Float64);
  return cast(sqrt(reduce_sum(d * d, axes, keepdims)), x.dtype());
}

Tensor count_nonzero(const Tensor& input, const Axes& axis, const std::optional<bool>& keepdims, DType dtype) {
  require_defined(input, "count_nonzero");
  const Tensor nz = input.dtype() == DType::Bool ? input : not_equal(input, zero_of(input));
  return cast(reduce_sum(cast(nz, DType::Int64), axis, keepdims.value_or(false)), dtype);
}

Tensor add_n(const TensorList& inputs) {
  if (inputs.empty())
    throw InvalidArgument("add_n: inputs must be an iterable of at least one Tensor with the same dtype and shape");
  for (const Tensor& t : inputs) {
    require_same_dtype(inputs[0], t, "add_n");
    if (t.shape() != inputs[0].shape())
      throw InvalidArgument("add_n: inputs must have the same size and shape: " + inputs[0].shape().str() + " != " +
                            t.shape().str());
  }
  if (inputs.size() == 1) return reshape(inputs[0], inputs[0].shape().vec());  // a new tensor, as identity
  Tensor sum = inputs[0] + inputs[1];
  for (size_t i = 2; i < inputs.size(); ++i) sum = sum + inputs[i];
  return sum;
}

}  // namespace gt
