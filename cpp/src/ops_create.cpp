// Creation ops. They are never recorded: their results carry no gradient.
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "ops_common.h"
#include "scalar_code.h"

namespace gt {

namespace {
template <class T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else if constexpr (std::is_integral_v<T>) {
    if (!(v == v)) return 0;
    if (v <= double(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
    if (v >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return T(v);
  } else {
    return T(v);
  }
}
}  // namespace

Tensor fill(const Shape& shape, double v, DType dtype) {
  if (is_half(dtype)) return cast(fill(shape, v, DType::Float32), dtype);  // rounded once, then copied
  Tensor out = Tensor::empty(dtype, shape);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T value = from_double<T>(v);
    T* p = out.data<T>();
    for (int64_t i = 0, n = out.numel(); i < n; ++i) p[i] = value;
  });
  scalar_code::note_constant(out);
  return out;
}

Tensor scalar(double v, DType dtype) { return fill(Shape(), v, dtype); }
Tensor zeroed(const Shape& shape, DType dtype) {
  Tensor out = Tensor::empty(dtype, shape);
  if (out.nbytes()) std::memset(out.raw(), 0, out.nbytes());
  return out;
}
Tensor zeros(const Shape& shape, DType dtype) {
  Tensor out = zeroed(shape, dtype);
  scalar_code::note_constant(out);
  return out;
}
Tensor ones(const Shape& shape, DType dtype) { return fill(shape, 1.0, dtype); }
Tensor zeros_like(const Tensor& x) {
  require_defined(x, "zeros_like");
  return zeros(x.shape(), x.dtype());
}
Tensor ones_like(const Tensor& x) {
  require_defined(x, "ones_like");
  return ones(x.shape(), x.dtype());
}

namespace {
// As TensorFlow's Range kernel: a delta that walks away from the limit is an error, not an
// empty range (Python's range and NumPy's arange give an empty one).
template <class T>
void check_direction(T start, T limit, T delta) {
  if (delta == 0) throw InvalidArgument("range: delta must not be zero");
  if ((delta > 0 && start > limit) || (delta < 0 && start < limit)) {
    std::ostringstream msg;
    msg << "range: Requires start " << (delta > 0 ? "<=" : ">=") << " limit when delta " << (delta > 0 ? "> 0: " : "< 0: ")
        << start << "/" << limit;
    throw InvalidArgument(msg.str());
  }
}
}  // namespace

Tensor range(double start, double limit, double delta, DType dtype) {
  check_direction(start, limit, delta);
  if (!std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta))
    throw InvalidArgument("range: start, limit and delta must be finite");
  if (dtype == DType::Bool) throw InvalidArgument("range: dtype bool is not supported");
  double count = std::ceil((limit - start) / delta);
  if (count < 0) count = 0;
  if (count >= 9.2e18) throw ResourceExhausted("OOM when allocating range: more elements than int64 can count");
  Tensor out = Tensor::empty(dtype, Shape{int64_t(count)});
  if (is_half(dtype)) {
    // as TensorFlow's Range kernel in half precision: val += delta, each sum rounded
    const bool bf = dtype == DType::BFloat16;
    auto store = [bf](float v) { return bf ? float_to_bfloat16(v) : float_to_half(v); };
    auto load = [bf](uint16_t h) { return bf ? bfloat16_to_float(h) : half_to_float(h); };
    const float d = load(store(float(delta)));
    uint16_t* p = out.data<uint16_t>();
    uint16_t val = store(float(start));
    for (int64_t i = 0; i < out.numel(); ++i) {
      p[i] = val;
      val = store(load(val) + d);
    }
    return out;
  }
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = from_double<T>(start + double(i) * delta);
  });
  return out;
}

Tensor range_int(int64_t start, int64_t limit, int64_t delta, DType dtype) {
  check_direction(start, limit, delta);
  if (!is_integer(dtype)) throw InvalidArgument(std::string("range_int: dtype must be an integer type, got ") + dtype_name(dtype));
  // The count in 128 bits: limit - start can exceed int64 (range(-2**62, 2**62, 2**61)).
  const __int128 span = __int128(limit) - start;
  __int128 count = delta > 0 ? (span + delta - 1) / delta : (span + delta + 1) / delta;
  if (count < 0) count = 0;
  if (count > std::numeric_limits<int64_t>::max())
    throw ResourceExhausted("OOM when allocating range(" + std::to_string(start) + ", " + std::to_string(limit) + ", " +
                            std::to_string(delta) + "): more elements than int64 can count");
  if (dtype != DType::Int64 && dtype != DType::UInt64 && count > 0) {
    const __int128 last = __int128(start) + (count - 1) * delta;
    dispatch_all(dtype, [&](auto tag) {
      using T = decltype(tag);
      for (__int128 v : {__int128(start), last})
        if (v < __int128(std::numeric_limits<T>::min()) || v > __int128(std::numeric_limits<T>::max()))
          throw InvalidArgument("range: value " + std::to_string(int64_t(v)) + " is out of the " + dtype_name(dtype) +
                                " range (use dtype=int64)");
    });
  } else if (dtype == DType::UInt64 && count > 0 && std::min(start, int64_t(start + (count - 1) * __int128(delta))) < 0) {
    throw InvalidArgument("range: a negative value is out of the uint64 range");
  }
  Tensor out = Tensor::empty(dtype, Shape{int64_t(count)});
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      T* p = out.data<T>();
      // modulo 2**64 (well defined for unsigned): exact, as every element lies in [start, limit)
      for (int64_t i = 0, n = out.numel(); i < n; ++i) p[i] = T(int64_t(uint64_t(start) + uint64_t(i) * uint64_t(delta)));
    }
  });
  return out;
}

Tensor from_data(const void* data, DType dtype, const Shape& shape) {
  Tensor out = Tensor::empty(dtype, shape);
  if (out.nbytes()) std::memcpy(out.raw(), data, out.nbytes());
  return out;
}

Tensor one_hot(const Tensor& indices, int64_t depth, DType dtype) {
  require_index(indices, "one_hot", "indices");
  if (depth < 0) throw InvalidArgument("one_hot: depth must be >= 0, got " + std::to_string(depth));
  Shape s = indices.shape();
  s.push_back(depth);
  if (is_half(dtype)) return cast(one_hot(indices, depth, DType::Float32), dtype);
  Tensor out = zeroed(s, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    for (int64_t i = 0; i < indices.numel(); ++i) {
      int64_t k = index_at(indices, i);
      if (k >= 0 && k < depth) p[i * depth + k] = T(1);  // out of range: a row of zeros, as TF
    }
  });
  return out;
}

}  // namespace gt
