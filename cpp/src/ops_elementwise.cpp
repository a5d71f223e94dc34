// Elementwise ops: each forward beside its vjp. Rules are written with ops, so an outer tape
// records them (second and higher derivatives need nothing more).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <tuple>
#include <utility>

#include "fusion.h"
#include "kernels/elementwise.h"
#include "kernels/fused_rules.h"
#include "kernels/logistic.h"
#include "kernels/special.h"
#include "ops_common.h"
#include "scalar_code.h"
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
  // (an operand of the shape, one element, or repeated along the leading dimensions: a bias,
  // for a cheap op only. A costly one, pow or xlogy, runs its vector math function on every
  // element of a chunk, where the eager broadcast loop runs each row's tail through the scalar
  // function, which may round otherwise: an ulp apart when the period is not a multiple of the
  // vector width)
  auto fits = [&](const Tensor& t) {
    return fusion::operand_fits(t, shape) || (cost == fusion::Cost::Cheap && fusion::operand_repeats(t, shape));
  };
  if (!fits(a) || !fits(b)) return Tensor();
  return fusion::defer(fusion::binary_fn<F>(a.dtype()), cost, a, &b, shape);
}

// x's elements through F into out (x's shape). A rank-0 float32/float64 one is computed by the
// function scalar code runs for it (scalar_code::unary, never inlined), not by an inlined copy
// of F: the compiler may order a commutative operation's operands differently in each copy, and
// then which of two NaNs comes out would differ between eager and a program run as scalar code.
template <class T, class F>
void unary_into(const Tensor& x, Tensor& out) {
  if constexpr (scalar_code::kCodeType<T>) {
    if (out.ndim() == 0) {
      scalar_code::unary<T, F>(x.raw(), nullptr, nullptr, out.raw());
      return;
    }
  }
  map1(x.data<T>(), out.data<T>(), x.numel(), kernels::Apply1<T, F>{});
}

template <class F>
Tensor float_unary(const Tensor& x, const char* name, F /*f, applied as F{}*/, fusion::Cost cost = fusion::Cost::Costly) {
  require_float(x, name);
  if (Tensor d = try_defer_unary<F>(x, cost); d.defined()) return d;
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    unary_into<T, F>(x, out);
  });
  scalar_code::note_unary<F>(x, out);
  return out;
}

// Applies a unary function to any numeric dtype.
template <class F>
Tensor numeric_unary(const Tensor& x, const char* name, F /*f, applied as F{}*/) {
  require_defined(x, name);
  require_numeric(x, name);
  if (Tensor d = try_defer_unary<F>(x, fusion::Cost::Cheap); d.defined()) return d;
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    unary_into<T, F>(x, out);
  });
  if (is_floating(x.dtype())) scalar_code::note_unary<F>(x, out);
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

// A binary op over the numeric dtypes, or over float32 and float64 only (kFloatOnly), or the
// integer dtypes only (kIntOnly): an op must not instantiate kernels it can never run.
enum BinaryKinds { kNumeric, kFloatOnly, kIntOnly };
template <int Kind, class F>
Tensor binary_op(const Tensor& a, const Tensor& b, const char* name, F /*f, applied as F{}*/, fusion::Cost cost) {
  require_same_dtype(a, b, name);
  require_numeric(a, name);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  if constexpr (Kind != kIntOnly) {  // (only floats are deferred)
    if (Tensor d = try_defer_binary<F>(a, b, shape, cost); d.defined()) return d;
  }
  Tensor out = Tensor::empty(a.dtype(), shape);
  if (out.numel() == 0) return out;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    if constexpr (scalar_code::kCodeType<T>) {
      if (out.ndim() == 0) {  // (see unary_into)
        scalar_code::binary<T, F>(a.raw(), b.raw(), nullptr, out.raw());
        return;
      }
    }
    binary_into<T, T>(a, b, out, kernels::Apply2<T, F>{});
  };
  if constexpr (Kind == kFloatOnly) dispatch_float(a.dtype(), run);
  else if constexpr (Kind == kIntOnly) dispatch_integer(a.dtype(), run);
  else dispatch_numeric(a.dtype(), run);
  if constexpr (Kind != kIntOnly) {
    if (is_floating(a.dtype())) scalar_code::note_binary<F>(a, b, out);
  }
  return out;
}

template <class F>
Tensor numeric_binary(const Tensor& a, const Tensor& b, const char* name, F f,
                      fusion::Cost cost = fusion::Cost::Cheap) {
  return binary_op<kNumeric>(a, b, name, f, cost);
}

template <class F>
Tensor int_binary(const Tensor& a, const Tensor& b, const char* name, F f) {
  return binary_op<kIntOnly>(a, b, name, f, fusion::Cost::Cheap);
}

template <class F>
Tensor float_binary(const Tensor& a, const Tensor& b, const char* name, F f,
                    fusion::Cost cost = fusion::Cost::Cheap) {
  require_same_dtype(a, b, name);
  require_float(a, name);
  return binary_op<kFloatOnly>(a, b, name, f, cost);
}

template <class F>
Tensor compare(const Tensor& a, const Tensor& b, const char* name, F /*f, applied as F{}*/) {
  require_same_dtype(a, b, name);
  Tensor out = Tensor::empty(DType::Bool, broadcast_shapes(a.shape(), b.shape(), name));
  if (out.numel() == 0) return out;
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    binary_into<T, bool>(a, b, out, kernels::Compare2<T, F>{});
  });
  if (is_wide_float(a.dtype()) || a.dtype() == DType::Bool) scalar_code::note_compare<F>(a, &b, out);
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
  if constexpr (std::is_signed_v<T>) {
    if (y == T(-1)) return kernels::wrap_sub(T(0), x);  // avoids the INT_MIN / -1 trap
  }
  T q = x / y;
  if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
  return q;
}
template <class T>
inline T int_floormod(T x, T y) {
  if constexpr (std::is_signed_v<T>) {
    if (y == T(-1)) return 0;
  }
  T r = x % y;
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return r;
}

template <class T>
inline T int_pow(T base, T e) {
  using U = kernels::WrapUnsigned<T>;  // (not uint16: it would multiply as signed int)
  U result = 1, b = U(base);
  while (e > 0) {
    if (e & 1) result *= b;
    b *= b;
    e >>= 1;
  }
  return T(result);
}

// Float to integer conversion as TensorFlow's CPU kernel gives it on x86, where C++ leaves it
// undefined (NaN, infinities, values out of the target's range); docs/dtypes.md:
//  - to int8, int16, int32, uint8, uint16: truncate toward zero to int32, where NaN and values
//    outside int32 give INT32_MIN (what cvttss2si gives), then keep the low bits (wrap);
//  - to int64 and uint32: the same through int64 (INT64_MIN for NaN and out of range);
//  - to uint64: values in [2^63, 2^64) convert exactly, others as to int64, then wrap.
// So 300.7 -> uint8 is 44, -1.7 -> uint8 is 255, NaN -> int32 is -2147483648, 1e20 -> int8 0.
template <class I>
inline I float_to_int(double v) {
  if constexpr (sizeof(I) < 4 || std::is_same_v<I, int32_t> || std::is_same_v<I, uint16_t>) {
    const int32_t w = (v > -2147483649.0 && v < 2147483648.0) ? int32_t(v) : std::numeric_limits<int32_t>::min();
    return I(std::make_unsigned_t<I>(uint32_t(w)));  // the low bits, two's complement
  } else {
    if constexpr (std::is_same_v<I, uint64_t>) {
      if (v >= 9223372036854775808.0 && v < 18446744073709551616.0) return uint64_t(v);
    }
    const int64_t w = (v >= -9223372036854775808.0 && v < 9223372036854775808.0) ? int64_t(v)
                                                                                 : std::numeric_limits<int64_t>::min();
    return I(std::make_unsigned_t<I>(uint64_t(w)));
  }
}

// cast's kernel (no recording): the wide floats, integers and bool among themselves.
Tensor cast_kernel(const Tensor& x, DType dtype) {
  Tensor out = Tensor::empty(dtype, x.shape());
  const int64_t n = x.numel();
  if (n == 0) return out;
  if (x.dtype() == dtype) {
    std::memcpy(out.raw(), x.raw(), x.nbytes());
    return out;
  }
  dispatch_all(x.dtype(), [&](auto in_tag) {
    using In = decltype(in_tag);
    dispatch_all(dtype, [&](auto out_tag) {
      using Out = decltype(out_tag);
      const In* src = x.data<In>();
      Out* dst = out.data<Out>();
      if constexpr (std::is_same_v<Out, bool>) {
        for (int64_t i = 0; i < n; ++i) dst[i] = src[i] != In(0);
      } else if constexpr (std::is_integral_v<Out> && std::is_floating_point_v<In>) {
        for (int64_t i = 0; i < n; ++i) dst[i] = float_to_int<Out>(double(src[i]));
      } else if constexpr (std::is_integral_v<Out> && std::is_integral_v<In> && !std::is_same_v<In, bool>) {
        // wraps: the low bits of the two's complement value (defined for unsigned targets,
        // and taken through them for signed ones)
        for (int64_t i = 0; i < n; ++i) dst[i] = Out(std::make_unsigned_t<Out>(src[i]));
      } else {
        map1(src, dst, n, [](In v) { return Out(v); });
      }
    });
  });
  return out;
}

// cast to or from float16 / bfloat16: through float32, rounding to nearest even on store (a
// float64 source rounds twice, float64 -> float32 -> half, as TensorFlow's Eigen cast does).
Tensor cast_half_kernel(const Tensor& x, DType dtype) {
  const int64_t n = x.numel();
  Tensor f;
  if (is_half(x.dtype())) {
    f = Tensor::empty(DType::Float32, x.shape());
    const uint16_t* s = x.data<uint16_t>();
    float* d = f.data<float>();
    if (x.dtype() == DType::BFloat16) for (int64_t i = 0; i < n; ++i) d[i] = bfloat16_to_float(s[i]);
    else for (int64_t i = 0; i < n; ++i) d[i] = half_to_float(s[i]);
  } else {
    f = cast_kernel(x, DType::Float32);
  }
  if (!is_half(dtype)) return cast_kernel(f, dtype);
  Tensor out = Tensor::empty(dtype, x.shape());
  const float* s = f.data<float>();
  uint16_t* d = out.data<uint16_t>();
  if (dtype == DType::BFloat16) for (int64_t i = 0; i < n; ++i) d[i] = float_to_bfloat16(s[i]);
  else for (int64_t i = 0; i < n; ++i) d[i] = float_to_half(s[i]);
  return out;
}

}  // namespace

// ================================ unary ================================

Tensor negative(const Tensor& x) {
  require_signed(x, "negative");
  // (-v for floats, so that -0.0 and 0.0 swap as in TensorFlow; 0 - v would give +0.0 for both)
  Tensor out = numeric_unary(x, "negative", [](auto v) {
    if constexpr (std::is_floating_point_v<decltype(v)>) return -v;
    else return kernels::wrap_sub(decltype(v)(0), v);
  });
  record(OpId::Negative, {&x}, out);
  return out;
}
// d/dx (-x) = -1
void vjp_Negative(VjpCtx& c) { c.gin[0] = negative(c.g); }

Tensor abs(const Tensor& x) {
  require_signed(x, "abs");
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
  require_signed(x, "sign");
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

namespace {
// sigmoid and softplus, from e = exp(-|x|) (kernels/logistic.h): named types, so a batch pass
// that has both of one operand computes them together, exp(-|x|) once (fusion.h, register_pair).
struct SigmoidFn {
  template <class T>
  T operator()(T v) const { return kernels::sigmoid_of(v); }
};
struct SoftplusFn {
  template <class T>
  T operator()(T v) const { return kernels::softplus_of(v); }
};
struct SoftplusSigmoidFn {
  template <class T>
  T shared(T v) const { return kernels::exp_neg_abs(v); }
  template <class T>
  void from(T v, T e, T& softplus, T& sigmoid) const {
    softplus = kernels::softplus_from(v, e);
    sigmoid = kernels::sigmoid_from(v, e);
  }
};
const fusion::PairRegistration<SoftplusFn, SigmoidFn, SoftplusSigmoidFn> softplus_sigmoid_pair;
// Their results are arithmetic's (sigmoid's r or e * r, softplus' sum), never a signalling NaN,
// so a batch pass may drop their product by a fill of 1 (fusion.h, register_quiet).
const fusion::QuietRegistration<SigmoidFn> sigmoid_quiet;
const fusion::QuietRegistration<SoftplusFn> softplus_quiet;
}  // namespace

Tensor sigmoid(const Tensor& x) {
  // 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below: e = exp(-|x|) never overflows.
  Tensor out = float_unary(x, "sigmoid", SigmoidFn{});
  record(OpId::Sigmoid, {&x}, out);
  return out;
}
// d/dx sigmoid(x) = sigmoid(x) sigmoid(-x)  (= s(1-s), but 1-s cancels to 0 for large x)
void vjp_Sigmoid(VjpCtx& c) { c.gin[0] = c.g * (c.out * sigmoid(negative(c.in[0]))); }

namespace {
bool fits_fused_pass(const Tensor& g, const Tensor& x);
// where(out > 0, g, 0) in one pass (relu's rule): the same values, without the bool tensor.
// A named element function, which the pass reports to scalar code (a select: any loop gives
// the same bits).
struct ReluGradFn {
  template <class T>
  T operator()(T gv, T o) const { return o > T(0) ? gv : T(0); }
};
Tensor fused_relu_grad(const Tensor& g, const Tensor& out) {
  // (big: deferred, a program of this one function, so that a sum over its leading dimensions,
  // a bias's gradient, computes it in the pass that sums it: fusion::materialize_reducing_rows)
  if (fusion::wanted(out.dtype(), out.numel()))
    if (Tensor d = fusion::defer(fusion::binary_fn<ReluGradFn>(out.dtype()), fusion::Cost::Cheap, g, &out, out.shape());
        d.defined())
      return d;
  Tensor r = Tensor::empty(out.dtype(), out.shape());
  dispatch_float(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::map2_flat(g.data<T>(), out.data<T>(), r.data<T>(), out.numel(), kernels::Apply2<T, ReluGradFn>{});
  });
  scalar_code::note_binary<ReluGradFn>(g, out, r);
  return r;
}
}  // namespace

Tensor relu(const Tensor& x) {
  // max(x, 0) as TensorFlow computes it: x unless x < 0, so relu(-0.0) is -0.0 and NaN stays NaN.
  Tensor out = numeric_unary(x, "relu", [](auto v) { return v < decltype(v)(0) ? decltype(v)(0) : v; });
  record(OpId::Relu, {&x}, out);
  return out;
}
// d/dx relu(x) = 1 where x > 0, else 0
void vjp_Relu(VjpCtx& c) {
  Tensor g = c.g;
  // When this rule is itself recorded (a gradient of a gradient), tie it to the output with a
  // zero-gradient term, so that the second derivative with respect to relu's input is zeros,
  // not unconnected: TensorFlow's ReluGrad has that gradient. sign's gradient is 0, and the
  // term, -(|sign(out)| * 0), is -0 wherever the branch is taken (out > 0), so g + term is g,
  // bit for bit (a -0 in g stays -0, as in TensorFlow).
  if (detail::tls_recording > 0) g = add(g, negative(multiply(abs(sign(c.out)), zero_of(c.out))));
  // (unrecorded, floating, stored operands of one shape: the compare and the where in one pass)
  if (!rule_is_recorded() && is_floating(c.g.dtype()) && c.g.dtype() == c.out.dtype() && fits_fused_pass(c.g, c.out)) {
    c.gin[0] = fused_relu_grad(c.g, c.out);
    return;
  }
  c.gin[0] = where(greater(c.out, zero_of(c.out)), g, zero_of(c.g));
}

Tensor softplus(const Tensor& x) {
  // log(1+e^x) = log1p(e^-|x|) + max(x, 0): no overflow anywhere.
  Tensor out = float_unary(x, "softplus", SoftplusFn{});
  record(OpId::Softplus, {&x}, out);
  return out;
}
namespace {
// Whether a rule's one-pass form applies (g * sigmoid(x) here, relu's select above): g and x
// stored and of one shape, of more than one element (for one, the ops cost the same). The
// passes report to scalar code (scalar_code.h) with the loop they run.
bool fits_fused_pass(const Tensor& g, const Tensor& x) {
  return g.shape() == x.shape() && x.numel() > 1 && !fusion::is_deferred(g) && !fusion::is_deferred(x);
}
// (a named element function: scalar code's loop calls the same loop, kernels::Apply2)
struct GTimesSigmoidFn {
  template <class T>
  T operator()(T gv, T v) const { return gv * kernels::sigmoid_of(v); }
};
Tensor fused_g_times_sigmoid(const Tensor& g, const Tensor& x) {
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::g_times_sigmoid<T, GTimesSigmoidFn>(x.numel(), g.data<T>(), x.data<T>(), out.data<T>());
  });
  scalar_code::note_binary<GTimesSigmoidFn>(g, x, out);
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

// ---- more elementwise math (TensorFlow's tf.math names). Rules follow TensorFlow's
// math_grad.py, except where a form with fewer roundings or no overflow exists (asinh, acosh,
// asin, acos, atanh: docs/choices.md).

Tensor erfc(const Tensor& x) {
  Tensor out = float_unary(x, "erfc", [](auto v) { return std::erfc(v); });
  record(OpId::Erfc, {&x}, out);
  return out;
}
// d/dx erfc(x) = -2/sqrt(pi) exp(-x^2)
void vjp_Erfc(VjpCtx& c) { c.gin[0] = c.g * (exp(-square(c.in[0])) * -1.1283791670955126); }

Tensor erfinv(const Tensor& x) {
  Tensor out = float_unary(x, "erfinv", [](auto v) { return kernels::round_to<decltype(v)>(kernels::erfinv(double(v))); });
  record(OpId::Erfinv, {&x}, out);
  return out;
}
// d/dx erfinv(x) = sqrt(pi)/2 exp(erfinv(x)^2)
void vjp_Erfinv(VjpCtx& c) { c.gin[0] = c.g * (exp(square(c.out)) * 0.88622692545275801); }

Tensor erfcinv(const Tensor& x) {
  Tensor out = float_unary(x, "erfcinv", [](auto v) { return kernels::round_to<decltype(v)>(kernels::erfcinv(double(v))); });
  record(OpId::Erfcinv, {&x}, out);
  return out;
}
// d/dx erfcinv(x) = -sqrt(pi)/2 exp(erfcinv(x)^2)
void vjp_Erfcinv(VjpCtx& c) { c.gin[0] = c.g * (exp(square(c.out)) * -0.88622692545275801); }

Tensor ndtri(const Tensor& x) {
  Tensor out = float_unary(x, "ndtri", [](auto v) { return kernels::round_to<decltype(v)>(kernels::ndtri(double(v))); });
  record(OpId::Ndtri, {&x}, out);
  return out;
}
// d/dp ndtri(p) = 1 / phi(ndtri(p)) = sqrt(2 pi) exp(ndtri(p)^2 / 2)
void vjp_Ndtri(VjpCtx& c) { c.gin[0] = c.g * (exp(square(c.out) * 0.5) * 2.5066282746310002); }

// The Bessel functions I0, I1 and their exp(-|x|)-scaled forms. The rules of the order-1 ones
// divide by x, whose limit at 0 is taken exactly: 1/2.
namespace {
Tensor at_zero_half(const Tensor& x, const std::function<Tensor(const Tensor&)>& f) {
  const Tensor zero = equal(x, zero_of(x));
  return where(zero, scalar(0.5, x.dtype()), f(where(zero, ones_like(x), x)));
}
}  // namespace
Tensor bessel_i0(const Tensor& x) {
  Tensor out = float_unary(x, "bessel_i0", [](auto v) { return kernels::round_to<decltype(v)>(kernels::bessel_i0(double(v))); });
  record(OpId::BesselI0, {&x}, out);
  return out;
}
void vjp_BesselI0(VjpCtx& c) { c.gin[0] = c.g * bessel_i1(c.in[0]); }
Tensor bessel_i0e(const Tensor& x) {
  Tensor out = float_unary(x, "bessel_i0e", [](auto v) { return kernels::round_to<decltype(v)>(kernels::bessel_i0e(double(v))); });
  record(OpId::BesselI0e, {&x}, out);
  return out;
}
void vjp_BesselI0e(VjpCtx& c) { c.gin[0] = c.g * (bessel_i1e(c.in[0]) - sign(c.in[0]) * c.out); }
Tensor bessel_i1(const Tensor& x) {
  Tensor out = float_unary(x, "bessel_i1", [](auto v) { return kernels::round_to<decltype(v)>(kernels::bessel_i1(double(v))); });
  record(OpId::BesselI1, {&x}, out);
  return out;
}
// d/dx I1 = I0 - I1 / x
void vjp_BesselI1(VjpCtx& c) {
  c.gin[0] = c.g * at_zero_half(c.in[0], [](const Tensor& x) { return bessel_i0(x) - bessel_i1(x) / x; });
}
Tensor bessel_i1e(const Tensor& x) {
  Tensor out = float_unary(x, "bessel_i1e", [](auto v) { return kernels::round_to<decltype(v)>(kernels::bessel_i1e(double(v))); });
  record(OpId::BesselI1e, {&x}, out);
  return out;
}
// d/dx (I1 e^-|x|) = I0e - I1e (sign(x) + 1/x)
void vjp_BesselI1e(VjpCtx& c) {
  c.gin[0] = c.g * at_zero_half(c.in[0], [](const Tensor& x) {
    return bessel_i0e(x) - bessel_i1e(x) * (sign(x) + reciprocal(x));
  });
}

Tensor atan(const Tensor& x) {
  Tensor out = float_unary(x, "atan", [](auto v) { return std::atan(v); });
  record(OpId::Atan, {&x}, out);
  return out;
}
// d/dx atan(x) = 1/(1 + x^2)
void vjp_Atan(VjpCtx& c) { c.gin[0] = c.g * reciprocal(square(c.in[0]) + 1.0); }

namespace {
// 1/sqrt(1 - x^2), in TensorFlow's form: (1 - x)(1 + x) is exact near |x| = 1, but its
// derivative -(1 + x) + (1 - x) loses x entirely for tiny x (and is NaN at +-1), where
// TensorFlow's -2x is exact.
Tensor rsqrt_one_minus_square(const Tensor& x) { return reciprocal(sqrt(1.0 - square(x))); }
}  // namespace

Tensor asin(const Tensor& x) {
  Tensor out = float_unary(x, "asin", [](auto v) { return std::asin(v); });
  record(OpId::Asin, {&x}, out);
  return out;
}
// d/dx asin(x) = 1/sqrt(1 - x^2)
void vjp_Asin(VjpCtx& c) { c.gin[0] = c.g * rsqrt_one_minus_square(c.in[0]); }

Tensor acos(const Tensor& x) {
  Tensor out = float_unary(x, "acos", [](auto v) { return std::acos(v); });
  record(OpId::Acos, {&x}, out);
  return out;
}
// d/dx acos(x) = -1/sqrt(1 - x^2)
void vjp_Acos(VjpCtx& c) { c.gin[0] = -(c.g * rsqrt_one_minus_square(c.in[0])); }

Tensor sinh(const Tensor& x) {
  Tensor out = float_unary(x, "sinh", [](auto v) { return std::sinh(v); });
  record(OpId::Sinh, {&x}, out);
  return out;
}
// d/dx sinh(x) = cosh(x)
void vjp_Sinh(VjpCtx& c) { c.gin[0] = c.g * cosh(c.in[0]); }

Tensor cosh(const Tensor& x) {
  Tensor out = float_unary(x, "cosh", [](auto v) { return std::cosh(v); });
  record(OpId::Cosh, {&x}, out);
  return out;
}
// d/dx cosh(x) = sinh(x)
void vjp_Cosh(VjpCtx& c) { c.gin[0] = c.g * sinh(c.in[0]); }

namespace {
// Above 2^27, 1 + x^2 and x^2 - 1 round to x^2 in float64 (and float32): the derivatives of
// asinh and acosh are then 1/|x|, which does not overflow where x^2 would.
constexpr double kHuge = 134217728.0;
// where(big, 1/|x|, f(x)) with `big` = |x| > 2^27 (`signed_big`: x > 2^27), and x replaced by 2
// where big so that f never sees it (its untaken branch stays finite, and so do its derivatives).
template <class F>
Tensor reciprocal_abs_beyond_huge(const Tensor& x, bool signed_big, F f) {
  Tensor ax = abs(x);
  Tensor big = greater(signed_big ? x : ax, scalar(kHuge, x.dtype()));
  Tensor small_x = where(big, scalar(2.0, x.dtype()), x);
  return where(big, reciprocal(ax), f(small_x));
}
}  // namespace

Tensor asinh(const Tensor& x) {
  Tensor out = float_unary(x, "asinh", [](auto v) { return std::asinh(v); });
  record(OpId::Asinh, {&x}, out);
  return out;
}
// d/dx asinh(x) = 1/sqrt(x^2 + 1) (TensorFlow: 1/cosh(asinh(x)), which loses digits for big x)
void vjp_Asinh(VjpCtx& c) {
  c.gin[0] = c.g * reciprocal_abs_beyond_huge(c.in[0], false, [](const Tensor& s) { return rsqrt(square(s) + 1.0); });
}

Tensor acosh(const Tensor& x) {
  Tensor out = float_unary(x, "acosh", [](auto v) { return std::acosh(v); });
  record(OpId::Acosh, {&x}, out);
  return out;
}
// d/dx acosh(x) = 1/(sqrt(x - 1) sqrt(x + 1)) (TensorFlow: 1/sinh(acosh(x))); NaN below 1
void vjp_Acosh(VjpCtx& c) {
  c.gin[0] = c.g * reciprocal_abs_beyond_huge(c.in[0], true, [](const Tensor& s) { return rsqrt(s - 1.0) * rsqrt(s + 1.0); });
}

Tensor atanh(const Tensor& x) {
  Tensor out = float_unary(x, "atanh", [](auto v) { return std::atanh(v); });
  record(OpId::Atanh, {&x}, out);
  return out;
}
// d/dx atanh(x) = 1/(1 - x^2) (TensorFlow's form, for the second derivative's sake as asin's),
// NaN outside [-1, 1] where atanh is (TensorFlow's is finite there), at every order: the NaN
// enters as a constant factor.
void vjp_Atanh(VjpCtx& c) {
  const Tensor& x = c.in[0];
  Tensor domain = where(greater(abs(x), ones_like(x)), scalar(std::numeric_limits<double>::quiet_NaN(), x.dtype()),
                        ones_like(x));
  c.gin[0] = c.g * (reciprocal(1.0 - square(x)) * domain);
}

Tensor lgamma(const Tensor& x) {
  Tensor out = float_unary(x, "lgamma", [](auto v) { return kernels::round_to<decltype(v)>(kernels::lgamma(double(v))); });
  record(OpId::Lgamma, {&x}, out);
  return out;
}
// d/dx log|Gamma(x)| = digamma(x)
void vjp_Lgamma(VjpCtx& c) { c.gin[0] = c.g * digamma(c.in[0]); }

Tensor digamma(const Tensor& x) {
  Tensor out = float_unary(x, "digamma", [](auto v) { return kernels::round_to<decltype(v)>(kernels::digamma(double(v))); });
  record(OpId::Digamma, {&x}, out);
  return out;
}

// polygamma_n(n, x), n >= 1: the derivatives of digamma (an Internal op: its rule is itself
// with n + 1, so every order of lgamma and digamma has a rule).
Tensor polygamma_n(int64_t n, const Tensor& x) {
  require_float(x, "polygamma");
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) dst[i] = kernels::round_to<T>(kernels::polygamma(int(n), double(src[i])));
  });
  record(OpId::PolygammaN, {&x}, out, {n});
  return out;
}
// d/dx digamma(x) = polygamma(1, x)
void vjp_Digamma(VjpCtx& c) { c.gin[0] = c.g * polygamma_n(1, c.in[0]); }
// d/dx polygamma(n, x) = polygamma(n + 1, x)
void vjp_PolygammaN(VjpCtx& c) { c.gin[0] = c.g * polygamma_n(c.attrs[0] + 1, c.in[0]); }

// polygamma(a, x) with the orders in a float tensor (tf.math.polygamma): NaN where a is not a
// non-negative integer, or past the largest order whose factorial long double holds.
Tensor polygamma(const Tensor& a, const Tensor& x) {
  Tensor out = float_binary(a, x, "polygamma", [](auto order, auto v) {
    using T = decltype(v);
    const double n = double(order);
    if (!(n >= 0 && n <= double(kernels::kMaxPolygammaOrder)) || n != std::floor(n))
      return std::numeric_limits<T>::quiet_NaN();
    return kernels::round_to<T>(kernels::polygamma(int(n), double(v)));
  }, fusion::Cost::Costly);
  record(OpId::Polygamma, {&a, &x}, out);
  return out;
}
// d/dx polygamma(a, x) = polygamma(a + 1, x); none for the order a (None, as TensorFlow)
void vjp_Polygamma(VjpCtx& c) {
  if (c.needs[1]) c.gin[1] = c.g * polygamma(c.in[0] + scalar(1.0, c.in[0].dtype()), c.in[1]);
}

// The Hurwitz zeta function; its derivative in q is -x zeta(x + 1, q); none in x (None, as
// TensorFlow, whose rule has none either).
Tensor zeta(const Tensor& x, const Tensor& q) {
  Tensor out = float_binary(x, q, "zeta", [](auto s, auto v) {
    return kernels::round_to<decltype(v)>(kernels::zeta(double(s), double(v)));
  }, fusion::Cost::Costly);
  record(OpId::Zeta, {&x, &q}, out);
  return out;
}
void vjp_Zeta(VjpCtx& c) {
  if (c.needs[1]) c.gin[1] = c.g * (-c.in[0] * zeta(c.in[0] + scalar(1.0, c.in[0].dtype()), c.in[1]));
}

// The regularized incomplete beta function I_x(a, b). The three are broadcast first (recorded
// broadcasts, so their rules sum the gradient back to each input's shape); the derivative in x
// is x^(a-1) (1-x)^(b-1) / B(a, b); none in a and b (None, as TensorFlow).
Tensor betainc(const Tensor& a, const Tensor& b, const Tensor& x) {
  require_same_dtype(a, b, "betainc");
  require_same_dtype(a, x, "betainc");
  require_float(a, "betainc");
  const Shape shape = broadcast_shapes(broadcast_shapes(a.shape(), b.shape(), "betainc"), x.shape(), "betainc");
  const Tensor ab = a.shape() == shape ? a : broadcast_to(a, shape);
  const Tensor bb = b.shape() == shape ? b : broadcast_to(b, shape);
  const Tensor xb = x.shape() == shape ? x : broadcast_to(x, shape);
  Tensor out = Tensor::empty(a.dtype(), shape);
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = ab.data<T>();
    const T* pb = bb.data<T>();
    const T* px = xb.data<T>();
    T* po = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i)
      po[i] = kernels::round_to<T>(kernels::betainc(double(pa[i]), double(pb[i]), double(px[i])));
  });
  record(OpId::Betainc, {&ab, &bb, &xb}, out);
  return out;
}
void vjp_Betainc(VjpCtx& c) {
  if (!c.needs[2]) return;
  const Tensor& a = c.in[0];
  const Tensor& b = c.in[1];
  const Tensor& x = c.in[2];
  const Tensor one = scalar(1.0, x.dtype());
  const Tensor log_beta = lgamma(a) + lgamma(b) - lgamma(a + b);
  c.gin[2] = c.g * exp(xlogy(a - one, x) + xlog1py(b - one, -x) - log_beta);
}

// ---- rounding (no gradient: None, as TensorFlow)

Tensor round(const Tensor& x) {
  require_defined(x, "round");
  if (!is_floating(x.dtype())) {
    require_numeric(x, "round");
    return stop_gradient(x);
  }
  // half to even: nearbyint in the default rounding mode
  return float_unary(x, "round", [](auto v) { return std::nearbyint(v); }, fusion::Cost::Cheap);
}

Tensor rint(const Tensor& x) {
  return float_unary(x, "rint", [](auto v) { return std::nearbyint(v); }, fusion::Cost::Cheap);
}

Tensor ceil(const Tensor& x) {
  return float_unary(x, "ceil", [](auto v) { return std::ceil(v); }, fusion::Cost::Cheap);
}

Tensor floor(const Tensor& x) {
  require_defined(x, "floor");
  if (!is_floating(x.dtype())) return stop_gradient(x);
  return float_unary(x, "floor", [](auto v) { return std::floor(v); });
}

Tensor logical_not(const Tensor& x) {
  require_bool(x, "logical_not", "x");
  Tensor out = Tensor::empty(DType::Bool, x.shape());
  auto f = [](bool v) { return !v; };
  map1(x.data<bool>(), out.data<bool>(), x.numel(), f);
  scalar_code::note_logical_not<decltype(f)>(x, out);
  return out;
}

Tensor stop_gradient(const Tensor& x) {
  require_defined(x, "stop_gradient");
  if (detail::tls_recording) detail::note_stop_gradient(x);
  return x.view_as(x.shape());  // a new TensorImpl with no tape links
}

Tensor cast(const Tensor& x, DType dtype) {
  require_defined(x, "cast");
  Tensor out = (x.dtype() != dtype && (is_half(x.dtype()) || is_half(dtype))) ? cast_half_kernel(x, dtype)
                                                                           : cast_kernel(x, dtype);
  auto reported = [](DType d) { return is_wide_float(d) || d == DType::Bool; };
  if (reported(x.dtype()) && reported(dtype)) scalar_code::note_cast(x, out);
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

namespace {
// A named type, so a batch pass knows its products (fusion.h, register_multiply).
struct MultiplyFn {
  template <class T>
  T operator()(T x, T y) const { return kernels::wrap_mul(x, y); }
};
const fusion::MultiplyRegistration<MultiplyFn> multiply_known;
}  // namespace

Tensor multiply(const Tensor& a, const Tensor& b) {
  Tensor out = numeric_binary(a, b, "multiply", MultiplyFn{});
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
  // (In a batch a deferred g is left to it: the batch's other consumers of g share the pass.)
  // (up to scalar code's size, the two ops, which it computes: the pair's loop orders the
  // operands of its products otherwise, so which of two NaNs comes out would differ)
  if (!rule_is_recorded() && c.needs[0] && c.needs[1] && a.shape() == b.shape() && c.g.shape() == a.shape() &&
      a.numel() > scalar_code::kMaxElements && is_floating(a.dtype()) && !(fusion::in_batch() && fusion::is_deferred(c.g))) {
    std::tie(c.gin[0], c.gin[1]) = fused_product_pair(c.g, a, b);  // (unrecorded: one fused pass)
    return;
  }
  if (c.needs[0]) c.gin[0] = c.g * b;
  if (c.needs[1]) c.gin[1] = c.g * a;
}

Tensor divide(const Tensor& a, const Tensor& b) {
  require_same_dtype(a, b, "divide");
  if (!is_floating(a.dtype())) {
    // true division of integers, as TensorFlow: in float32 for the 8- and 16-bit types, in
    // float64 for the 32- and 64-bit ones
    require_numeric(a, "divide");
    const DType f = dtype_size(a.dtype()) <= 2 ? DType::Float32 : DType::Float64;
    return divide(cast(a, f), cast(b, f));
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
    out = int_binary(a, b, "pow", [](auto x, auto y) {
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
      // folded, fewer ops (an outer tape watching it needs d/db of this rule: no folding). The
      // folded forms give pow_da's values bit for bit (its a + 0 included: -0 becomes +0), so
      // whether a tape ever watched b changes no value.
      const double e = b.item();
      if (e == 1.0) c.gin[0] = c.g;
      else if (e == 2.0) c.gin[0] = c.g * ((a + 0.0) * 2.0);
      else if (e > 1.0) c.gin[0] = c.g * (pow(a + 0.0, scalar(e - 1.0, a.dtype())) * e);
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
  return int_binary(a, b, "floordiv", [](auto x, auto y) {
    if constexpr (std::is_integral_v<decltype(x)>) return int_floordiv(x, y);
    else return x;
  });
}

Tensor floormod(const Tensor& a, const Tensor& b) {
  require_same_dtype(a, b, "floormod");
  require_numeric(a, "floormod");
  if (is_integer(a.dtype())) {
    check_int_divisor(b, "floormod");
    return int_binary(a, b, "floormod", [](auto x, auto y) {
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

// ---- more binary math (tf.math names)

Tensor atan2(const Tensor& y, const Tensor& x) {
  Tensor out = float_binary(y, x, "atan2", [](auto a, auto b) { return std::atan2(a, b); }, fusion::Cost::Costly);
  record(OpId::Atan2, {&y, &x}, out);
  return out;
}
// d atan2(y, x) = (g x, -g y) / (x^2 + y^2), as TensorFlow: NaN at the origin
void vjp_Atan2(VjpCtx& c) {
  const Tensor& y = c.in[0];
  const Tensor& x = c.in[1];
  Tensor g_inv = c.g / (square(x) + square(y));
  if (c.needs[0]) c.gin[0] = x * g_inv;
  if (c.needs[1]) c.gin[1] = -y * g_inv;
}

namespace {
// 1 where x != 0, else 0 (in x's dtype): the x-derivative of xlogy, xdivy and xlog1py is
// theirs with x replaced by it, so that it is 0 where x = 0 whatever y is (as TensorFlow).
Tensor nonzero_indicator(const Tensor& x) { return cast(not_equal(x, zero_of(x)), x.dtype()); }
}  // namespace

Tensor xlogy(const Tensor& x, const Tensor& y) {
  Tensor out = float_binary(x, y, "xlogy", [](auto a, auto b) {
    return a == decltype(a)(0) ? decltype(a)(0) : a * std::log(b);
  }, fusion::Cost::Costly);
  record(OpId::Xlogy, {&x, &y}, out);
  return out;
}
// d xlogy(x, y) = (g xlogy(x != 0, y), g xdivy(x, y))
void vjp_Xlogy(VjpCtx& c) {
  if (c.needs[0]) c.gin[0] = c.g * xlogy(nonzero_indicator(c.in[0]), c.in[1]);
  if (c.needs[1]) c.gin[1] = c.g * xdivy(c.in[0], c.in[1]);
}

Tensor xdivy(const Tensor& x, const Tensor& y) {
  Tensor out = float_binary(x, y, "xdivy", [](auto a, auto b) {
    return a == decltype(a)(0) ? decltype(a)(0) : a / b;
  });
  record(OpId::Xdivy, {&x, &y}, out);
  return out;
}
// d xdivy(x, y) = (g xdivy(x != 0, y), g xdivy(-x, y^2))
void vjp_Xdivy(VjpCtx& c) {
  if (c.needs[0]) c.gin[0] = c.g * xdivy(nonzero_indicator(c.in[0]), c.in[1]);
  // (y y: its rule sends g y, 0 for g = 0 at y = inf; where x = 0: 0 whatever g is, so that a
  // second derivative never multiplies an infinite g by that 0)
  if (c.needs[1]) c.gin[1] = where(equal(c.in[0], zero_of(c.in[0])), zero_of(c.g), c.g * xdivy(-c.in[0], c.in[1] * c.in[1]));
}

Tensor xlog1py(const Tensor& x, const Tensor& y) {
  Tensor out = float_binary(x, y, "xlog1py", [](auto a, auto b) {
    return a == decltype(a)(0) ? decltype(a)(0) : a * std::log1p(b);
  }, fusion::Cost::Costly);
  record(OpId::Xlog1py, {&x, &y}, out);
  return out;
}
// d xlog1py(x, y) = (g xlog1py(x != 0, y), g xdivy(x, y + 1))
void vjp_Xlog1py(VjpCtx& c) {
  if (c.needs[0]) c.gin[0] = c.g * xlog1py(nonzero_indicator(c.in[0]), c.in[1]);
  if (c.needs[1]) c.gin[1] = c.g * xdivy(c.in[0], c.in[1] + 1.0);
}

Tensor multiply_no_nan(const Tensor& x, const Tensor& y) {
  Tensor out = float_binary(x, y, "multiply_no_nan", [](auto a, auto b) {
    return b == decltype(b)(0) ? decltype(a)(0) : a * b;
  });
  record(OpId::MultiplyNoNan, {&x, &y}, out);
  return out;
}
// d mul_no_nan(x, y) = (mul_no_nan(g, y), mul_no_nan(x, g)), as TensorFlow
void vjp_MultiplyNoNan(VjpCtx& c) {
  if (c.needs[0]) c.gin[0] = multiply_no_nan(c.g, c.in[1]);
  if (c.needs[1]) c.gin[1] = multiply_no_nan(c.in[0], c.g);
}

Tensor divide_no_nan(const Tensor& x, const Tensor& y) {
  require_same_dtype(x, y, "divide_no_nan");
  if (!is_floating(x.dtype())) {  // integers divide in float64, as divide
    require_numeric(x, "divide_no_nan");
    return divide_no_nan(cast(x, DType::Float64), cast(y, DType::Float64));
  }
  Tensor out = float_binary(x, y, "divide_no_nan", [](auto a, auto b) {
    return b == decltype(b)(0) ? decltype(a)(0) : a / b;
  });
  record(OpId::DivideNoNan, {&x, &y}, out);
  return out;
}
// d div_no_nan(x, y) = (div_no_nan(g, y), g div_no_nan(div_no_nan(-x, y), y)), as TensorFlow:
// 0 where y = 0, and no y^2 that could underflow
void vjp_DivideNoNan(VjpCtx& c) {
  if (c.needs[0]) c.gin[0] = divide_no_nan(c.g, c.in[1]);
  if (c.needs[1]) c.gin[1] = c.g * divide_no_nan(divide_no_nan(-c.in[0], c.in[1]), c.in[1]);
}

Tensor squared_difference(const Tensor& x, const Tensor& y) { return square(x - y); }

Tensor truncatediv(const Tensor& a, const Tensor& b) {
  require_same_dtype(a, b, "truncatediv");
  require_numeric(a, "truncatediv");
  if (is_floating(a.dtype()))
    return float_binary(a, b, "truncatediv", [](auto x, auto y) { return std::trunc(x / y); });
  check_int_divisor(b, "truncatediv");
  return int_binary(a, b, "truncatediv", [](auto x, auto y) {
    using T = decltype(x);
    if constexpr (std::is_signed_v<T>) {
      if (y == T(-1)) return kernels::wrap_sub(T(0), x);  // (MIN / -1 wraps)
    }
    return T(x / y);
  });
}

Tensor truncatemod(const Tensor& a, const Tensor& b) {
  require_same_dtype(a, b, "truncatemod");
  require_numeric(a, "truncatemod");
  if (is_floating(a.dtype()))
    return float_binary(a, b, "truncatemod", [](auto x, auto y) { return std::fmod(x, y); }, fusion::Cost::Costly);
  check_int_divisor(b, "truncatemod");
  return int_binary(a, b, "truncatemod", [](auto x, auto y) {
    using T = decltype(x);
    if constexpr (std::is_signed_v<T>) {
      if (y == T(-1)) return T(0);
    }
    return T(x % y);
  });
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
    dispatch_bytes(x.dtype(), [&](auto tag) {  // (picks elements: by their size)
      using T = decltype(tag);
      kernels::map3(cond.data<bool>(), x.data<T>(), y.data<T>(), out.data<T>(), p,
                    [](bool c, T a, T b) { return c ? a : b; });
    });
  }
  scalar_code::note_select(cond, x, y, out);
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
