#pragma once
// DType: the element types a tensor can hold. float32 and float64 are differentiable; int32,
// int64 and bool serve as indices and masks and never carry a gradient.
#include <cstddef>
#include <cstdint>

namespace gt {

// The values are TensorFlow's DataType enum values (types.proto), so that code building dtypes
// from TF's numbers (tf.DType(9) is int64, tf.as_dtype(1) float32) gets the same dtype here.
enum class DType : uint8_t { Float32 = 1, Float64 = 2, Int32 = 3, Int64 = 9, Bool = 10 };

// Whether `v` is the enum value of a DType gradtape has (anything else is refused at the
// boundary, never cast into a DType).
constexpr bool is_dtype_value(int64_t v) { return v == 1 || v == 2 || v == 3 || v == 9 || v == 10; }

constexpr size_t dtype_size(DType d) {
  switch (d) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int32: return 4;
    case DType::Int64: return 8;
    case DType::Bool: return 1;
  }
  return 1;
}
constexpr bool is_floating(DType d) { return d == DType::Float32 || d == DType::Float64; }
constexpr bool is_integer(DType d) { return d == DType::Int32 || d == DType::Int64; }
const char* dtype_name(DType d);

// Run `f` with a value of the C++ type that `d` stands for, e.g.
//   dispatch(d, [&](auto tag) { using T = decltype(tag); ... });
template <class F>
decltype(auto) dispatch_all(DType d, F&& f) {
  switch (d) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int32: return f(int32_t{});
    case DType::Int64: return f(int64_t{});
    case DType::Bool: return f(bool{});
  }
  return f(float{});
}

}  // namespace gt
