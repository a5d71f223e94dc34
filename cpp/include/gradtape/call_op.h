#pragma once
// call_op(f, args...): calls a public op, computing float16 and bfloat16 in float32.
//
// The kernels exist for float32 and float64 only; float16 and bfloat16 are storage types (as
// TensorFlow on CPU). When a tensor argument is float16 or bfloat16, call_op casts it to
// float32, runs the op, and casts each float32 result back to that dtype (rounding to nearest
// even). The casts are ordinary recorded ops, so tapes, forward accumulators and traced
// programs see cast -> float32 op -> cast, and the gradient of a float16 source is float16.
// This is the one place half-precision arithmetic is defined: the bindings reach every op
// through traced() (gradtape/program.h), which calls call_op; the tape's gradient sums do too.
//
// Rules: all floating tensor arguments must have one dtype (a float16 and a float32 operand
// are an InvalidArgument, as TensorFlow, which never promotes); a float32 result stays float32
// when the op was asked for float32 (a DType argument equal to float32: cast(x, float32)).
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "gradtape/errors.h"
#include "gradtape/ops.h"
#include "gradtape/tensor.h"
#include "gradtape/variable.h"

namespace gt {

namespace half_detail {
inline bool has_half(const Tensor& t) { return t.defined() && is_half(t.dtype()); }
inline bool has_half(const std::vector<Tensor>& v) {
  for (const Tensor& t : v)
    if (has_half(t)) return true;
  return false;
}
inline bool has_half(const std::optional<Tensor>& o) { return o && has_half(*o); }
template <class T>
bool has_half(const T&) { return false; }
// An op on a variable (assign_add, an optimizer step) is an effect on its storage, which keeps
// its dtype: call_op leaves it alone (Variable::update handles float16 itself).
inline bool is_variable(const std::shared_ptr<Variable>&) { return true; }
template <class T>
bool is_variable(const T&) { return false; }

template <class F> void each(Tensor& t, F&& f) { f(t); }
template <class F> void each(std::vector<Tensor>& v, F&& f) { for (Tensor& t : v) f(t); }
template <class F> void each(std::optional<Tensor>& o, F&& f) { if (o) f(*o); }
template <class T, class F> void each(T&, F&&) {}

inline bool asks_float32(DType d) { return d == DType::Float32; }
inline bool asks_float32(const std::optional<DType>& d) { return d && *d == DType::Float32; }
template <class T>
bool asks_float32(const T&) { return false; }

template <class R, class... P, class... A>
R call_in_float32(R (*f)(P...), A&&... args) {
  std::tuple<std::decay_t<P>...> a(std::forward<A>(args)...);
  std::optional<DType> half, other;
  bool keep_float32 = false;
  std::apply([&](auto&... x) {
    (each(x, [&](Tensor& t) {
       if (!t.defined() || !is_floating(t.dtype())) return;
       if (is_half(t.dtype()) && (!half || *half == t.dtype())) half = t.dtype();
       else other = t.dtype();
     }), ...);
    ((keep_float32 = keep_float32 || asks_float32(x)), ...);
  }, a);
  if (other)
    throw InvalidArgument(std::string("dtype mismatch: ") + dtype_name(*half) + " and " + dtype_name(*other) +
                          " (no implicit promotion; cast one side with gt.cast)");
  std::apply([&](auto&... x) {
    (each(x, [&](Tensor& t) {
       if (t.defined() && is_half(t.dtype())) t = cast(t, DType::Float32);
     }), ...);
  }, a);
  if constexpr (std::is_void_v<R>) {
    std::apply(f, a);
  } else {
    R r = std::apply(f, a);
    if (!keep_float32)
      each(r, [&](Tensor& t) {
        if (t.defined() && t.dtype() == DType::Float32) t = cast(t, *half);
      });
    return r;
  }
}
}  // namespace half_detail

template <class R, class... P, class... A>
R call_op(R (*f)(P...), A&&... args) {
  if ((half_detail::has_half(args) || ...) && !(half_detail::is_variable(args) || ...)) return half_detail::call_in_float32(f, std::forward<A>(args)...);
  return f(std::forward<A>(args)...);
}

}  // namespace gt
