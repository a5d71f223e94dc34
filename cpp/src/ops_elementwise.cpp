// Elementwise ops: each forward beside its vjp. Rules are written with ops, so an outer tape
// records them (second and higher derivatives need nothing more).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>
#include <utility>

#include "fusion.h"
#include "kernels/elementwise.h"
#include "kernels/fused_rules.h"
#include "ops_common.h"
#include "tape_internal.h"

namespace gt {

using kernels::map1;

namespace {

// Applies a float-only unary function; `F` is a generic lambda called with float or double.
// Big floating-point elementwise ops are deferred (fusion.h); f is a captureless lambda, so
// the deferred program can call it by its type. Undefined when the op is not deferred.
template <class F>
Tensor try_defer_unary(const Tensor& x, fusion::Cost cost) {
  if (!fusion::wanted(x.dtype(), x.numel())) return Tensor();
  return fusion::defer(fusion::unary_fn<F>(x.dtype()), cost, x, nullptr, x.shape());
}
template <class F>
Tensor try_defer_binary(const Tensor& a, const Tensor& b, const Shape& shape, fusion::Cost cost) {
  if (!fusion::wanted(a.dtype(), shape.numel())) return Tensor();
  if (!fusion::operand_fits(a, shape) || !fusion::operand_fits(b, shape)) return Tensor();
  return fusion::defer(fusion::binary_fn<F>(a.dtype()), cost, a, &b, shape);
}

template <class F>
Tensor float_unary(const Tensor& x, const char* name, F f, fusion::Cost cost = fusion::Cost::Costly) {
  require_float(x, name);
  if (Tensor d = try_defer_unary<F>(x, cost); d.defined()) return d;
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    map1(x.data<T>(), out.data<T>(), x.numel(), [&](T v) -> T { return f(v); });
  });
  return out;
}

// Applies a unary function to any numeric dtype.
template <class F>
Tensor numeric_unary(const Tensor& x, const char* name, F f) {
  require_defined(x, name);
  require_numeric(x, name);
  if (Tensor d = try_defer_unary<F>(x, fusion::Cost::Cheap); d.defined()) return d;
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    map1(x.data<T>(), out.data<T>(), x.numel(), [&](T v) -> T { return f(v); });
  });
  return out;
}

// Broadcasts a and b (same dtype In) into a new tensor of dtype `out_dtype`.
template <class In, class Out, class F>
void binary_into(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  if (a.shape() == b.shape()) {
    kernels::map2_flat(a.data<In>(), b.data<In>(), out.data<Out>(), out.numel(), f);
    return;
  }
  const Shape* shapes[2] = {&a.shape(), &b.shape()};
  kernels::Plan p = kernels::make_plan(out.shape(), shapes, 2);
  kernels::map2(a.data<In>(), b.data<In>(), out.data<Out>(), p, f);
}

template <class F>
Tensor numeric_binary(const Tensor& a, const Tensor& b, const char* name, F f,
                      fusion::Cost cost = fusion::Cost::Cheap) {
  require_same_dtype(a, b, name);
  require_numeric(a, name);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  if (Tensor d = try_defer_binary<F>(a, b, shape, cost); d.defined()) return d;
  Tensor out = Tensor::empty(a.dtype(), shape);
  if (out.numel() == 0) return out;
  dispatch_numeric(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    binary_into<T, T>(a, b, out, [&](T x, T y) -> T { return f(x, y); });
  });
  return out;
}

template <class F>
Tensor float_binary(const Tensor& a, const Tensor& b, const char* name, F f,
                    fusion::Cost cost = fusion::Cost::Cheap) {
  require_same_dtype(a, b, name);
  require_float(a, name);
  return numeric_binary(a, b, name, f, cost);
}

template <class F>
Tensor compare(const Tensor& a, const Tensor& b, const char* name, F f) {
  require_same_dtype(a, b, name);
  Tensor out = Tensor::empty(DType::Bool, broadcast_shapes(a.shape(), b.shape(), name));
  if (out.numel() == 0) return out;
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    binary_into<T, bool>(a, b, out, [&](T x, T y) -> bool { return f(x, y); });
  });
  return out;
}

// Rejects a zero divisor (and the INT_MIN / -1 overflow) in integer division.
void check_int_divisor(const Tensor& b, const char* name) {
  dispatch_all(b.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      const T* p = b.data<T>();
      for (int64_t i = 0; i < b.numel(); ++i)
        if (p[i] == 0) throw InvalidArgument(std::string(name) + ": integer division by zero");
    }
  });
}

template <class T>
inline T int_floordiv(T x, T y) {
  if (y == -1) return kernels::wrap_sub(T(0), x);  // avoids the INT_MIN / -1 trap
  T q = x / y;
  if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
  return q;
}
template <class T>
inline T int_floormod(T x, T y) {
  if (y == -1) return 0;
  T r = x % y;
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return r;
}

template <class T>
inline T int_pow(T base, T e) {
  using U = std::make_unsigned_t<T>;
  U result = 1, b = U(base);
  while (e > 0) {
    if (e & 1) result *= b;
    b *= b;
    e >>= 1;
  }
  return T(result);
}

// Float to int conversion that is defined for NaN, inf and out-of-range values: NaN gives 0,
// everything else saturates (C++ leaves those cases undefined).
template <class I, class F>
inline I saturate_cast(F v) {
  if (!(v == v)) return 0;
  if (v <= F(std::numeric_limits<I>::min())) return std::numeric_limits<I>::min();
  if (v >= F(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
  return I(v);
}

}  // namespace

// ================================ unary ================================

Tensor negative(const Tensor& x) {
  Tensor out = numeric_unary(x, "negative", [](auto v) { return kernels::wrap_sub(decltype(v)(0), v); });
  record(OpId::Negative, {&x}, out);
  return out;
}
// d/dx (-x) = -1
void vjp_Negative(VjpCtx& c) { c.gin[0] = negative(c.g); }

Tensor abs(const Tensor& x) {
  Tensor out = numeric_unary(x, "abs", [](auto v) {
    using T = decltype(v);
    if constexpr (std::is_integral_v<T>) return v < 0 ? kernels::wrap_sub(T(0), v) : v;
    else return std::fabs(v);
  });
  record(OpId::Abs, {&x}, out);
  return out;
}
// d/dx |x| = sign(x)
void vjp_Abs(VjpCtx& c) { c.gin[0] = c.g * sign(c.in[0]); }

Tensor sign(const Tensor& x) {
  Tensor out = numeric_unary(x, "sign", [](auto v) {
    using T = decltype(v);
    if constexpr (std::is_integral_v<T>) return T((v > 0) - (v < 0));
    else return v > 0 ? T(1) : (v < 0 ? T(-1) : v);  // keeps NaN and signed zero
  });
  record(OpId::Sign, {&x}, out);
  return out;
}
// d/dx sign(x) = 0 (as TensorFlow: zeros, not None)
void vjp_Sign(VjpCtx& c) { c.gin[0] = zeros(c.input_shape(0), c.in[0].dtype()); }

Tensor exp(const Tensor& x) {
  Tensor out = float_unary(x, "exp", [](auto v) { return std::exp(v); });
  record(OpId::Exp, {&x}, out);
  return out;
}
// d/dx exp(x) = exp(x)
void vjp_Exp(VjpCtx& c) { c.gin[0] = c.g * c.out; }

Tensor log(const Tensor& x) {
  Tensor out = float_unary(x, "log", [](auto v) { return std::log(v); });
  record(OpId::Log, {&x}, out);
  return out;
}
// d/dx log(x) = 1/x
void vjp_Log(VjpCtx& c) { c.gin[0] = c.g / c.in[0]; }

Tensor log1p(const Tensor& x) {
  Tensor out = float_unary(x, "log1p", [](auto v) { return std::log1p(v); });
  record(OpId::Log1p, {&x}, out);
  return out;
}
// d/dx log(1+x) = 1/(1+x)
void vjp_Log1p(VjpCtx& c) { c.gin[0] = c.g / (c.in[0] + 1.0); }

Tensor expm1(const Tensor& x) {
  Tensor out = float_unary(x, "expm1", [](auto v) { return std::expm1(v); });
  record(OpId::Expm1, {&x}, out);
  return out;
}
// d/dx (exp(x)-1) = exp(x)
void vjp_Expm1(VjpCtx& c) { c.gin[0] = c.g * exp(c.in[0]); }

Tensor sqrt(const Tensor& x) {
  Tensor out = float_unary(x, "sqrt", [](auto v) { return std::sqrt(v); });
  record(OpId::Sqrt, {&x}, out);
  return out;
}
// d/dx sqrt(x) = 1/(2 sqrt(x))
void vjp_Sqrt(VjpCtx& c) { c.gin[0] = c.g / (c.out * 2.0); }

Tensor rsqrt(const Tensor& x) {
  Tensor out = float_unary(x, "rsqrt", [](auto v) { return decltype(v)(1) / std::sqrt(v); });
  record(OpId::Rsqrt, {&x}, out);
  return out;
}
// d/dx x^(-1/2) = -1/2 x^(-3/2) = -out^3/2
void vjp_Rsqrt(VjpCtx& c) { c.gin[0] = c.g * (c.out * c.out * c.out) * -0.5; }

Tensor square(const Tensor& x) {
  Tensor out = numeric_unary(x, "square", [](auto v) { return kernels::wrap_mul(v, v); });
  record(OpId::Square, {&x}, out);
  return out;
}
// d/dx x^2 = 2x
void vjp_Square(VjpCtx& c) { c.gin[0] = c.g * (c.in[0] * 2.0); }

Tensor reciprocal(const Tensor& x) {
  Tensor out = float_unary(x, "reciprocal", [](auto v) { return decltype(v)(1) / v; });
  record(OpId::Reciprocal, {&x}, out);
  return out;
}
// d/dx 1/x = -1/x^2
void vjp_Reciprocal(VjpCtx& c) { c.gin[0] = -(c.g * (c.out * c.out)); }

Tensor sin(const Tensor& x) {
  Tensor out = float_unary(x, "sin", [](auto v) { return std::sin(v); });
  record(OpId::Sin, {&x}, out);
  return out;
}
// d/dx sin(x) = cos(x)
void vjp_Sin(VjpCtx& c) { c.gin[0] = c.g * cos(c.in[0]); }

Tensor cos(const Tensor& x) {
  Tensor out = float_unary(x, "cos", [](auto v) { return std::cos(v); });
  record(OpId::Cos, {&x}, out);
  return out;
}
// d/dx cos(x) = -sin(x)
void vjp_Cos(VjpCtx& c) { c.gin[0] = -(c.g * sin(c.in[0])); }

Tensor tan(const Tensor& x) {
  Tensor out = float_unary(x, "tan", [](auto v) { return std::tan(v); });
  record(OpId::Tan, {&x}, out);
  return out;
}
// d/dx tan(x) = 1 + tan(x)^2
void vjp_Tan(VjpCtx& c) { c.gin[0] = c.g * (square(c.out) + 1.0); }

Tensor tanh(const Tensor& x) {
  Tensor out = float_unary(x, "tanh", [](auto v) { return std::tanh(v); });
  record(OpId::Tanh, {&x}, out);
  return out;
}
// d/dx tanh(x) = 1 - tanh(x)^2
void vjp_Tanh(VjpCtx& c) { c.gin[0] = c.g * (1.0 - square(c.out)); }

Tensor sigmoid(const Tensor& x) {
  // 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below: e = exp(-|x|) never overflows.
  Tensor out = float_unary(x, "sigmoid", [](auto v) {
    using T = decltype(v);
    T e = std::exp(-std::fabs(v));
    T r = T(1) / (T(1) + e);
    return v >= T(0) ? r : e * r;
  });
  record(OpId::Sigmoid, {&x}, out);
  return out;
}
// d/dx sigmoid(x) = sigmoid(x) sigmoid(-x)  (= s(1-s), but 1-s cancels to 0 for large x)
void vjp_Sigmoid(VjpCtx& c) { c.gin[0] = c.g * (c.out * sigmoid(negative(c.in[0]))); }

Tensor relu(const Tensor& x) {
  Tensor out = numeric_unary(x, "relu", [](auto v) { return v > decltype(v)(0) ? v : (v == v ? decltype(v)(0) : v); });
  record(OpId::Relu, {&x}, out);
  return out;
}
// d/dx relu(x) = 1 where x > 0, else 0
void vjp_Relu(VjpCtx& c) {
  Tensor g = c.g;
  // When this rule is itself recorded (a gradient of a gradient), tie it to the output with a
  // zero-gradient term, so that the second derivative with respect to relu's input is zeros,
  // not unconnected: TensorFlow's ReluGrad has that gradient. sign's gradient is 0 and
  // 0 * sign(out) is 0 wherever the branch is taken (out > 0), so no value changes.
  if (detail::tls_recording > 0) g = add(g, multiply(sign(c.out), zero_of(c.out)));
  c.gin[0] = where(greater(c.out, zero_of(c.out)), g, zero_of(c.g));
}

Tensor softplus(const Tensor& x) {
  // log(1+e^x) = log1p(e^-|x|) + max(x, 0): no overflow anywhere.
  Tensor out = float_unary(x, "softplus", [](auto v) {
    using T = decltype(v);
    return std::log1p(std::exp(-std::fabs(v))) + (v > T(0) ? v : T(0));
  });
  record(OpId::Softplus, {&x}, out);
  return out;
}
namespace {
// g * sigmoid(x) in one pass (kernels/fused_rules.h), when g and x are stored and of one shape.
bool fits_fused_pass(const Tensor& g, const Tensor& x) {
  return g.shape() == x.shape() && !fusion::is_deferred(g) && !fusion::is_deferred(x);
}
Tensor fused_g_times_sigmoid(const Tensor& g, const Tensor& x) {
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::g_times_sigmoid(x.numel(), g.data<T>(), x.data<T>(), out.data<T>());
  });
  return out;
}
}  // namespace

// d/dx softplus(x) = sigmoid(x)
void vjp_Softplus(VjpCtx& c) {
  // (unrecorded, one fused pass; a deferred g or x takes the ops, which fusion folds into their programs)
  if (!rule_is_recorded() && fits_fused_pass(c.g, c.in[0])) c.gin[0] = fused_g_times_sigmoid(c.g, c.in[0]);
  else c.gin[0] = c.g * sigmoid(c.in[0]);
}

Tensor log_sigmoid(const Tensor& x) { return negative(softplus(negative(x))); }

Tensor erf(const Tensor& x) {
  Tensor out = float_unary(x, "erf", [](auto v) { return std::erf(v); });
  record(OpId::Erf, {&x}, out);
  return out;
}
// d/dx erf(x) = 2/sqrt(pi) exp(-x^2)
void vjp_Erf(VjpCtx& c) { c.gin[0] = c.g * (exp(-square(c.in[0])) * 1.1283791670955126); }

Tensor floor(const Tensor& x) {
  require_defined(x, "floor");
  if (!is_floating(x.dtype())) return stop_gradient(x);
  return float_unary(x, "floor", [](auto v) { return std::floor(v); });
}

Tensor logical_not(const Tensor& x) {
  require_bool(x, "logical_not", "x");
  Tensor out = Tensor::empty(DType::Bool, x.shape());
  map1(x.data<bool>(), out.data<bool>(), x.numel(), [](bool v) { return !v; });
  return out;
}

Tensor stop_gradient(const Tensor& x) {
  require_defined(x, "stop_gradient");
  if (detail::tls_recording) detail::note_stop_gradient(x);
  return x.view_as(x.shape());  // a new TensorImpl with no tape links
}

Tensor cast(const Tensor& x, DType dtype) {
  require_defined(x, "cast");
  Tensor out = Tensor::empty(dtype, x.shape());
  const int64_t n = x.numel();
  if (x.dtype() == dtype) {
    if (n) std::memcpy(out.raw(), x.raw(), x.nbytes());
  } else {
    dispatch_all(x.dtype(), [&](auto in_tag) {
      using In = decltype(in_tag);
      dispatch_all(dtype, [&](auto out_tag) {
        using Out = decltype(out_tag);
        const In* src = x.data<In>();
        Out* dst = out.data<Out>();
        if constexpr (std::is_same_v<Out, bool>) {
          for (int64_t i = 0; i < n; ++i) dst[i] = src[i] != In(0);
        } else if constexpr (std::is_integral_v<Out> && std::is_floating_point_v<In>) {
          for (int64_t i = 0; i < n; ++i) dst[i] = saturate_cast<Out>(src[i]);
        } else {
          map1(src, dst, n, [](In v) { return Out(v); });
        }
      });
    });
  }
  if (is_floating(x.dtype()) && is_floating(dtype)) {
    int64_t attr = int64_t(x.dtype());
    record(OpId::Cast, {&x}, out, {attr});
  }
  return out;
}
// d/dx cast(x) = cast back to the input's dtype
void vjp_Cast(VjpCtx& c) { c.gin[0] = cast(c.g, DType(c.attrs[0])); }
Tensor jvp_Cast(JvpCtx& c) { return cast(c.t[0], c.out.dtype()); }

// ================================ binary ================================

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = numeric_binary(a, b, "add", [](auto x, auto y) { return kernels::wrap_add(x, y); });
  record(OpId::Add, {&a, &b}, out);
  return out;
}
// d(a+b) = (g, g)
void vjp_Add(VjpCtx& c) {
  c.gin[0] = c.g;
  c.gin[1] = c.g;
}

Tensor subtract(const Tensor& a, const Tensor& b) {
  Tensor out = numeric_binary(a, b, "subtract", [](auto x, auto y) { return kernels::wrap_sub(x, y); });
  record(OpId::Subtract, {&a, &b}, out);
  return out;
}
// d(a-b) = (g, -g)
void vjp_Subtract(VjpCtx& c) {
  if (c.needs[0]) c.gin[0] = c.g;
  if (c.needs[1]) c.gin[1] = negative(c.g);
}

Tensor multiply(const Tensor& a, const Tensor& b) {
  Tensor out = numeric_binary(a, b, "multiply", [](auto x, auto y) { return kernels::wrap_mul(x, y); });
  record(OpId::Multiply, {&a, &b}, out);
  return out;
}
namespace {
static_assert(kernels::kProductPairChunkBytes == fusion::kChunkBytes, "a deferred g is computed in fusion's chunks");
// (g b, g a) in one pass over g, a and b (kernels/fused_rules.h); a deferred g (fusion.h) is
// computed chunk by chunk inside that pass and never stored. For float a and b of g's shape.
std::pair<Tensor, Tensor> fused_product_pair(const Tensor& g, const Tensor& a, const Tensor& b) {
  const std::shared_ptr<const fusion::Pending> gp = fusion::claim(g);
  Tensor ga = Tensor::empty(a.dtype(), a.shape()), gb = Tensor::empty(a.dtype(), a.shape());
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* stored_g = gp ? nullptr : g.data<T>();
    auto g_chunk = [&](int64_t start, int64_t count, T* buffer) -> const T* {
      if (!gp) return stored_g + start;
      fusion::eval(*gp, start, start + count, buffer);
      return buffer;
    };
    kernels::product_pair(a.numel(), g_chunk, a.data<T>(), b.data<T>(), ga.data<T>(), gb.data<T>());
  });
  return {ga, gb};
}
}  // namespace

// d(ab) = (g b, g a)
void vjp_Multiply(VjpCtx& c) {
  const Tensor& a = c.in[0];
  const Tensor& b = c.in[1];
  if (!rule_is_recorded() && c.needs[0] && c.needs[1] && a.shape() == b.shape() && c.g.shape() == a.shape() &&
      is_floating(a.dtype())) {
    std::tie(c.gin[0], c.gin[1]) = fused_product_pair(c.g, a, b);  // (unrecorded: one fused pass)
    return;
  }
  if (c.needs[0]) c.gin[0] = c.g * b;
  if (c.needs[1]) c.gin[1] = c.g * a;
}

Tensor divide(const Tensor& a, const Tensor& b) {
  require_same_dtype(a, b, "divide");
  if (!is_floating(a.dtype())) {  // true division of integers gives float64, as TensorFlow
    require_numeric(a, "divide");
    return divide(cast(a, DType::Float64), cast(b, DType::Float64));
  }
  Tensor out = float_binary(a, b, "divide", [](auto x, auto y) { return x / y; });
  record(OpId::Divide, {&a, &b}, out);
  return out;
}
// d(a/b) = (g/b, -g a/b^2)
void vjp_Divide(VjpCtx& c) {
  if (c.needs[0]) c.gin[0] = c.g / c.in[1];
  if (c.needs[1]) c.gin[1] = c.g * ((-c.in[0] / c.in[1]) / c.in[1]);
}

Tensor pow(const Tensor& a, const Tensor& b) {
  require_same_dtype(a, b, "pow");
  require_numeric(a, "pow");
  Tensor out;
  if (is_integer(a.dtype())) {
    bool negative_exponent = false;
    dispatch_numeric(b.dtype(), [&](auto tag) {
      using T = decltype(tag);
      for (int64_t i = 0; i < b.numel(); ++i) negative_exponent |= b.data<T>()[i] < T(0);
    });
    if (negative_exponent)
      throw InvalidArgument("pow: integers to negative integer powers are not allowed");
    out = numeric_binary(a, b, "pow", [](auto x, auto y) {
      if constexpr (std::is_integral_v<decltype(x)>) return int_pow(x, y);
      else return x;
    });
  } else {
    out = float_binary(a, b, "pow", [](auto x, auto y) { return std::pow(x, y); }, fusion::Cost::Costly);
  }
  record(OpId::Pow, {&a, &b}, out);
  return out;
}
namespace {
// d(a^b)/da = b a^(b-1), formed as b pow(a, b - 1) with a zero's sign dropped (b - 1 may round
// to an odd integer: pow(-0, -1) is -inf where the limit is +inf), and as (b a^b) / a where
// a^(b-1) overflows but the product does not (a = b = the smallest denormal: a^(b-1) = inf,
// a^b = 1, so the derivative is 1).
Tensor pow_da(const Tensor& a, const Tensor& b, const Tensor& out) {
  Tensor zero = zero_of(a);
  Tensor is_zero = equal(a, zero);
  Tensor direct = b * pow(a + 0.0, b - 1.0);  // (-0 + 0 is +0; every other a is itself)
  auto finite = [&](const Tensor& t) { return equal(t - t, zeros_like(t)); };
  Tensor overflowed = logical_and(logical_and(logical_not(is_zero), logical_not(finite(direct))),
                                  logical_and(logical_and(finite(a), finite(b)), finite(out)));
  Tensor safe_a = where(is_zero, ones_like(a), a);
  return where(overflowed, (b * out) / safe_a, direct);
}
}  // namespace

// d(a^b) = (g b a^(b-1), g a^b log(a)); log(a) is taken as 0 where a <= 0 (as TensorFlow)
void vjp_Pow(VjpCtx& c) {
  const Tensor& a = c.in[0];
  const Tensor& b = c.in[1];
  if (c.needs[0]) {
    if (!c.needs[1] && !on_any_tape(b) && b.numel() == 1 && b.ndim() == 0) {
      // a constant exponent (x ** 2) that no tape watches: the same rule with the exponent
      // folded, fewer ops (an outer tape watching it needs d/db of this rule: no folding)
      const double e = b.item();
      if (e == 1.0) c.gin[0] = c.g;
      else if (e == 2.0) c.gin[0] = c.g * (a * 2.0);
      else if (e > 1.0) c.gin[0] = c.g * (pow(a, scalar(e - 1.0, a.dtype())) * e);
      else c.gin[0] = c.g * pow_da(a, b, c.out);  // (a negative power of a tiny a can overflow)
    } else {
      c.gin[0] = c.g * pow_da(a, b, c.out);
    }
  }
  if (c.needs[1]) {
    Tensor positive = greater(a, zero_of(a));
    Tensor safe_a = where(positive, a, ones_like(a));
    Tensor log_a = where(positive, log(safe_a), zero_of(a));
    c.gin[1] = c.g * (c.out * log_a);
  }
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor out = numeric_binary(a, b, "maximum", [](auto x, auto y) {
    return (x >= y || x != x) ? x : y;  // NaN propagates
  });
  record(OpId::Maximum, {&a, &b}, out);
  return out;
}
// d max(a,b): g goes to a where a >= b, else to b
void vjp_Maximum(VjpCtx& c) {
  Tensor a_wins = greater_equal(c.in[0], c.in[1]);
  if (c.needs[0]) c.gin[0] = where(a_wins, c.g, zero_of(c.g));
  if (c.needs[1]) c.gin[1] = where(a_wins, zero_of(c.g), c.g);
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor out = numeric_binary(a, b, "minimum", [](auto x, auto y) {
    return (x <= y || x != x) ? x : y;
  });
  record(OpId::Minimum, {&a, &b}, out);
  return out;
}
// d min(a,b): g goes to a where a <= b, else to b
void vjp_Minimum(VjpCtx& c) {
  Tensor a_wins = less_equal(c.in[0], c.in[1]);
  if (c.needs[0]) c.gin[0] = where(a_wins, c.g, zero_of(c.g));
  if (c.needs[1]) c.gin[1] = where(a_wins, zero_of(c.g), c.g);
}

Tensor floordiv(const Tensor& a, const Tensor& b) {
  require_same_dtype(a, b, "floordiv");
  require_numeric(a, "floordiv");
  if (is_floating(a.dtype())) return stop_gradient(floor(divide(stop_gradient(a), stop_gradient(b))));
  check_int_divisor(b, "floordiv");
  return numeric_binary(a, b, "floordiv", [](auto x, auto y) {
    if constexpr (std::is_integral_v<decltype(x)>) return int_floordiv(x, y);
    else return x;
  });
}

Tensor floormod(const Tensor& a, const Tensor& b) {
  require_same_dtype(a, b, "floormod");
  require_numeric(a, "floormod");
  if (is_integer(a.dtype())) {
    check_int_divisor(b, "floormod");
    return numeric_binary(a, b, "floormod", [](auto x, auto y) {
      if constexpr (std::is_integral_v<decltype(x)>) return int_floormod(x, y);
      else return x;
    });
  }
  Tensor out = float_binary(a, b, "floormod", [](auto x, auto y) {
    auto r = std::fmod(x, y);
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return r;
  }, fusion::Cost::Costly);
  record(OpId::FloorMod, {&a, &b}, out);
  return out;
}
// d(a mod b) = (g, -g floor(a/b))
void vjp_FloorMod(VjpCtx& c) {
  if (c.needs[0]) c.gin[0] = c.g;
  if (c.needs[1]) c.gin[1] = -(c.g * floordiv(c.in[0], c.in[1]));
}

Tensor greater(const Tensor& a, const Tensor& b) { return compare(a, b, "greater", [](auto x, auto y) { return x > y; }); }
Tensor greater_equal(const Tensor& a, const Tensor& b) { return compare(a, b, "greater_equal", [](auto x, auto y) { return x >= y; }); }
Tensor less(const Tensor& a, const Tensor& b) { return compare(a, b, "less", [](auto x, auto y) { return x < y; }); }
Tensor less_equal(const Tensor& a, const Tensor& b) { return compare(a, b, "less_equal", [](auto x, auto y) { return x <= y; }); }
Tensor equal(const Tensor& a, const Tensor& b) { return compare(a, b, "equal", [](auto x, auto y) { return x == y; }); }
Tensor not_equal(const Tensor& a, const Tensor& b) { return compare(a, b, "not_equal", [](auto x, auto y) { return x != y; }); }

Tensor logical_and(const Tensor& a, const Tensor& b) {
  require_bool(a, "logical_and", "x");
  require_bool(b, "logical_and", "y");
  return compare(a, b, "logical_and", [](auto x, auto y) { return bool(x) && bool(y); });
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  require_bool(a, "logical_or", "x");
  require_bool(b, "logical_or", "y");
  return compare(a, b, "logical_or", [](auto x, auto y) { return bool(x) || bool(y); });
}

// ================================ where ================================

Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y) {
  require_bool(cond, "where", "condition");
  require_same_dtype(x, y, "where");
  Shape s = broadcast_shapes(broadcast_shapes(cond.shape(), x.shape(), "where"), y.shape(), "where");
  if (fusion::wanted(x.dtype(), s.numel()) && fusion::operand_fits(cond, s) && fusion::operand_fits(x, s) &&
      fusion::operand_fits(y, s)) {
    Tensor d = fusion::defer_select(cond, x, y, s);  // a select in a deferred program (fusion.h)
    if (d.defined()) {
      record(OpId::Where, {&cond, &x, &y}, d);
      return d;
    }
  }
  Tensor out = Tensor::empty(x.dtype(), s);
  if (out.numel()) {
    const Shape* shapes[3] = {&cond.shape(), &x.shape(), &y.shape()};
    kernels::Plan p = kernels::make_plan(s, shapes, 3);
    dispatch_all(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kernels::map3(cond.data<bool>(), x.data<T>(), y.data<T>(), out.data<T>(), p,
                    [](bool c, T a, T b) { return c ? a : b; });
    });
  }
  record(OpId::Where, {&cond, &x, &y}, out);
  return out;
}
// d where(c, x, y) = (None, g where c, g where not c)
void vjp_Where(VjpCtx& c) {
  const Tensor& cond = c.in[0];
  if (c.needs[1]) c.gin[1] = where(cond, c.g, zero_of(c.g));
  if (c.needs[2]) c.gin[2] = where(cond, zero_of(c.g), c.g);
}
// where(c, tx, ty): the untaken branch's tangent (inf or NaN where its primal is) never enters
Tensor jvp_Where(JvpCtx& c) {
  const Tensor zero = zero_of(c.out);
  return where(c.in[0], c.t[1].defined() ? c.aligned(1) : zero, c.t[2].defined() ? c.aligned(2) : zero);
}

Tensor clip_by_value(const Tensor& t, const Tensor& lo, const Tensor& hi) {
  return minimum(maximum(t, lo), hi);
}

}  // namespace gt
