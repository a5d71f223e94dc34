#pragma once
// DType: the element types a tensor can hold. The floating dtypes (float32, float64, float16,
// bfloat16) are differentiable; the integer dtypes (int8 ... int64, uint8 ... uint64) and bool
// serve as data, indices and masks and never carry a gradient.
//
// float16 and bfloat16 are storage types (TensorFlow's CPU model): a tensor holds 2-byte
// values; an op on them computes in float32 and rounds its result to nearest-even on store.
// The conversion happens in one place, call_op() (gradtape/program.h): the half inputs are
// cast to float32 with recorded casts, the float32 op runs, its float32 results are cast back,
// so tapes differentiate through the casts and a float16 source gets a float16 gradient. Only
// copies (cast, creation, the shape ops that move bytes) touch 2-byte elements directly.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gt {

// The values are TensorFlow's DataType enum values (types.proto), so that code building dtypes
// from TF's numbers (tf.DType(9) is int64, tf.as_dtype(1) float32) gets the same dtype here.
enum class DType : uint8_t {
  Float32 = 1,
  Float64 = 2,
  Int32 = 3,
  UInt8 = 4,
  Int16 = 5,
  Int8 = 6,
  Int64 = 9,
  Bool = 10,
  BFloat16 = 14,
  UInt16 = 17,
  Float16 = 19,  // TF's DT_HALF
  UInt32 = 22,
  UInt64 = 23,
};

// Whether `v` is the enum value of a DType gradtape has (anything else is refused at the
// boundary, never cast into a DType).
constexpr bool is_dtype_value(int64_t v) {
  switch (v) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 9: case 10: case 14: case 17: case 19: case 22: case 23:
      return true;
    default:
      return false;
  }
}

constexpr size_t dtype_size(DType d) {
  switch (d) {
    case DType::Float64: case DType::Int64: case DType::UInt64: return 8;
    case DType::Float32: case DType::Int32: case DType::UInt32: return 4;
    case DType::Float16: case DType::BFloat16: case DType::Int16: case DType::UInt16: return 2;
    case DType::Int8: case DType::UInt8: case DType::Bool: return 1;
  }
  return 1;
}
// float16 or bfloat16: stored in 2 bytes, computed in float32.
constexpr bool is_half(DType d) { return d == DType::Float16 || d == DType::BFloat16; }
// The dtypes the floating kernels are compiled for.
constexpr bool is_wide_float(DType d) { return d == DType::Float32 || d == DType::Float64; }
constexpr bool is_floating(DType d) { return is_wide_float(d) || is_half(d); }
constexpr bool is_unsigned(DType d) {
  return d == DType::UInt8 || d == DType::UInt16 || d == DType::UInt32 || d == DType::UInt64;
}
constexpr bool is_integer(DType d) {
  return d == DType::Int8 || d == DType::Int16 || d == DType::Int32 || d == DType::Int64 || is_unsigned(d);
}
const char* dtype_name(DType d);

// ---- float16 and bfloat16 <-> float32 (bit exact, round to nearest even) ----

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline float bfloat16_to_float(uint16_t h) { return bits_float(uint32_t(h) << 16); }
inline uint16_t float_to_bfloat16(float f) {
  const uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // NaN stays a (quiet) NaN
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);                  // nearest even
}
inline float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (man << 13));  // inf, NaN
  if (exp != 0) return bits_float(sign | ((exp + 112) << 23) | (man << 13));
  // zero or subnormal: man * 2^-24, exact in float32
  const float v = float(man) * 5.9604644775390625e-08f;
  return sign ? -v : v;
}
inline uint16_t float_to_half(float f) {
  const uint32_t u = float_bits(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // NaN
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (a >= 0x38800000u) {                                  // normal half (>= 2^-14)
    const uint32_t r = a + 0xfffu + ((a >> 13) & 1u) - (112u << 23);
    return uint16_t(sign | (r >> 13));
  }
  if (a < 0x33000000u) return sign;  // below half the smallest subnormal (2^-25): zero
  // subnormal half: value * 2^24 rounded to nearest even (the FPU rounds this float product)
  const float scaled = bits_float(a) * 16777216.0f;  // exact: a power of two
  const uint32_t m = uint32_t(scaled);
  const float rest = scaled - float(m);
  uint32_t q = m + ((rest > 0.5f || (rest == 0.5f && (m & 1u))) ? 1u : 0u);
  return uint16_t(sign | q);  // (q = 0x400 is the smallest normal: the bits carry over)
}

// The two-byte storage types, distinct so that dispatch can tell them apart from uint16_t.
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};
inline float to_float(Half h) { return half_to_float(h.bits); }
inline float to_float(BFloat16 h) { return bfloat16_to_float(h.bits); }

// InvalidArgument: no kernel for dtype d.
[[noreturn]] void throw_no_kernel(DType d);
// Run `f` with a value of the integer C++ type that `d` stands for (the eight integer types).
template <class F>
decltype(auto) dispatch_integer(DType d, F&& f) {
  switch (d) {
    case DType::Int8: return f(int8_t{});
    case DType::Int16: return f(int16_t{});
    case DType::Int32: return f(int32_t{});
    case DType::Int64: return f(int64_t{});
    case DType::UInt8: return f(uint8_t{});
    case DType::UInt16: return f(uint16_t{});
    case DType::UInt32: return f(uint32_t{});
    case DType::UInt64: return f(uint64_t{});
    default: throw_no_kernel(d);
  }
}
// Run `f` with a value of the C++ type that `d` stands for, e.g.
//   dispatch_all(d, [&](auto tag) { using T = decltype(tag); ... });
// The wide floats, the eight integer types and bool: not float16/bfloat16, which have no
// kernels (InvalidArgument; gt::call_op converts them to float32 before an op runs).
template <class F>
decltype(auto) dispatch_all(DType d, F&& f) {
  switch (d) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Bool: return f(bool{});
    default: return dispatch_integer(d, f);
  }
}
// Run `f` with an unsigned type of the element size of `d`: for ops that only move elements.
template <class F>
decltype(auto) dispatch_bytes(DType d, F&& f) {
  switch (dtype_size(d)) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    default: return f(uint64_t{});
  }
}

// Element i of an integer (or bool) buffer of dtype d, as int64 (uint64 past int64 wraps).
inline int64_t load_int(const void* data, DType d, int64_t i) {
  switch (d) {
    case DType::Int8: return static_cast<const int8_t*>(data)[i];
    case DType::Int16: return static_cast<const int16_t*>(data)[i];
    case DType::Int32: return static_cast<const int32_t*>(data)[i];
    case DType::Int64: return static_cast<const int64_t*>(data)[i];
    case DType::UInt8: return static_cast<const uint8_t*>(data)[i];
    case DType::UInt16: return static_cast<const uint16_t*>(data)[i];
    case DType::UInt32: return static_cast<const uint32_t*>(data)[i];
    case DType::UInt64: return int64_t(static_cast<const uint64_t*>(data)[i]);
    case DType::Bool: return static_cast<const bool*>(data)[i];
    default: throw_no_kernel(d);
  }
}

}  // namespace gt
