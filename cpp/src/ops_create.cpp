// Creation ops. They are never recorded: their results carry no gradient.
#include <cmath>
#include <cstring>
#include <limits>

#include "ops_common.h"

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
  Tensor out = Tensor::empty(dtype, shape);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T value = from_double<T>(v);
    T* p = out.data<T>();
    for (int64_t i = 0, n = out.numel(); i < n; ++i) p[i] = value;
  });
  return out;
}

Tensor scalar(double v, DType dtype) { return fill(Shape(), v, dtype); }
Tensor zeros(const Shape& shape, DType dtype) {
  Tensor out = Tensor::empty(dtype, shape);
  if (out.nbytes()) std::memset(out.raw(), 0, out.nbytes());
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

Tensor range(double start, double limit, double delta, DType dtype) {
  if (delta == 0) throw InvalidArgument("range: delta must not be zero");
  if (!std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta))
    throw InvalidArgument("range: start, limit and delta must be finite");
  if (dtype == DType::Bool) throw InvalidArgument("range: dtype bool is not supported");
  double count = std::ceil((limit - start) / delta);
  if (count < 0) count = 0;
  if (count > double(int64_t(1) << 40)) throw InvalidArgument("range: too many elements");
  Tensor out = Tensor::empty(dtype, Shape{int64_t(count)});
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = from_double<T>(start + double(i) * delta);
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
  Tensor out = zeros(s, dtype);
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
