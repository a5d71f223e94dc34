#pragma once
// Argument checks and small helpers shared by the op families (internal).
#include <string>

#include "gradtape/errors.h"
#include "gradtape/ops.h"
#include "record.h"

namespace gt {

// A zero-filled buffer that a kernel then writes in place (a scatter's, a pad's or a gather's
// gradient, one_hot, Jacobian seeds). Unlike zeros(), it is not reported to a scalar-code trace
// as a constant (scalar_code.h): its final values are the kernel's, not zeros. Every buffer a
// kernel fills after making it must come from here (or Tensor::empty), never from zeros().
Tensor zeroed(const Shape& shape, DType dtype);

inline std::string dt(const Tensor& t) { return dtype_name(t.dtype()); }

inline void require_defined(const Tensor& t, const char* op) {
  if (!t.defined()) throw InvalidArgument(std::string(op) + ": got an empty (undefined) tensor");
}
inline void require_float(const Tensor& t, const char* op) {
  require_defined(t, op);
  if (!is_floating(t.dtype()))
    throw InvalidArgument(std::string(op) + ": expected a float32 or float64 tensor, got " + dt(t));
}
inline void require_bool(const Tensor& t, const char* op, const char* what) {
  require_defined(t, op);
  if (t.dtype() != DType::Bool)
    throw InvalidArgument(std::string(op) + ": " + what + " must be a bool tensor, got " + dt(t));
}
inline void require_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  require_defined(a, op);
  require_defined(b, op);
  if (a.dtype() != b.dtype())
    throw InvalidArgument(std::string(op) + ": dtype mismatch: " + dt(a) + " and " + dt(b) +
                          " (no implicit promotion; cast one side with gt.cast)");
}
inline void require_numeric(const Tensor& t, const char* op) {
  if (t.dtype() == DType::Bool)
    throw InvalidArgument(std::string(op) + ": not defined for bool tensors");
}
// TensorFlow has no kernel of negative, abs or sign for the unsigned types.
inline void require_signed(const Tensor& t, const char* op) {
  require_defined(t, op);
  if (is_unsigned(t.dtype())) throw InvalidArgument(std::string(op) + ": not defined for " + dt(t) + " tensors");
}
inline void require_index(const Tensor& t, const char* op, const char* what) {
  require_defined(t, op);
  if (!is_integer(t.dtype()))
    throw InvalidArgument(std::string(op) + ": " + what + " must be an integer tensor, got " + dt(t));
}

// Reads an integer tensor's i-th element (any of the eight integer dtypes).
inline int64_t index_at(const Tensor& t, int64_t i) { return load_int(t.raw(), t.dtype(), i); }

// Dispatch over the floating dtypes that have kernels (float32, float64). float16 and
// bfloat16 never get here from Python (gt::call_op computes them in float32); from C++ they
// are an InvalidArgument, never read as another type.
template <class F>
inline decltype(auto) dispatch_float(DType d, F&& f) {
  switch (d) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: throw_no_kernel(d);
  }
}
// Dispatch over the numeric dtypes of the arithmetic kernels (elementwise ops, reductions,
// scatter-adds): the wide floats and the eight integer types.
template <class F>
inline decltype(auto) dispatch_numeric(DType d, F&& f) {
  switch (d) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: return dispatch_integer(d, f);
  }
}
// Dispatch over the dtypes of the heavier kernels (matmul, convolution, linear algebra,
// random draws), which TensorFlow has for few integer types: float32, float64, int32, int64.
template <class F>
inline decltype(auto) dispatch_wide(DType d, F&& f) {
  switch (d) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int32: return f(int32_t{});
    case DType::Int64: return f(int64_t{});
    default: throw_no_kernel(d);
  }
}

inline Tensor zero_of(const Tensor& like) { return scalar(0.0, like.dtype()); }

// x - m along `axes` (m the max, or 0 where the max is not finite) and log(sum(exp(x - m)))
// with keepdims, computed as log1p of the sum without one exp(0) = 1 term so that tiny terms
// keep their bits. Used by reduce_logsumexp and log_softmax; call it with recording paused.
struct ShiftedLogSumExp {
  Tensor shift;    // m, keepdims
  Tensor shifted;  // x - m
  Tensor lse;      // log(sum(exp(x - m))), keepdims
};
ShiftedLogSumExp shifted_logsumexp(const Tensor& x, const std::vector<int64_t>& axes);

}  // namespace gt
