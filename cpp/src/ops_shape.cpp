// Shape ops: reshape, transpose, broadcast_to, concat, gather, strided slices, each beside
// its vjp; expand_dims, squeeze, stack and boolean_mask are composites of those.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "kernels/broadcast.h"
#include "fusion.h"
#include "kernels/transpose.h"
#include "ops_common.h"

namespace gt {

namespace {

std::string vec_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Copies one element of `bytes` bytes (the kernels below move raw elements).
inline void copy_elem(char* dst, const char* src, size_t bytes) {
  switch (bytes) {
    case 1: *dst = *src; break;
    case 4: std::memcpy(dst, src, 4); break;
    case 8: std::memcpy(dst, src, 8); break;
    default: std::memcpy(dst, src, bytes);
  }
}

int64_t slice_count(int64_t begin, int64_t end, int64_t step) {
  // In 128 bits: any int64 begin, end and step (x[::sys.maxsize], step INT64_MIN) stay exact.
  const __int128 b = begin, e = end, st = step;
  if (st > 0) return e > b ? int64_t((e - b + st - 1) / st) : 0;
  return b > e ? int64_t((b - e + (-st) - 1) / (-st)) : 0;
}

// Validates a normalised slice spec against `shape`; returns the sliced shape.
Shape slice_shape(const Shape& shape, const std::vector<int64_t>& begin,
                  const std::vector<int64_t>& end, const std::vector<int64_t>& step, const char* op) {
  const int r = shape.rank();
  if (int(begin.size()) != r || int(end.size()) != r || int(step.size()) != r)
    throw InvalidArgument(std::string(op) + ": begin, end and step need one entry per axis of shape " +
                          shape.str());
  Shape out;
  for (int i = 0; i < r; ++i) {
    if (step[i] == 0) throw InvalidArgument(std::string(op) + ": slice step cannot be zero");
    int64_t n = slice_count(begin[i], end[i], step[i]);
    if (n > 0) {
      const __int128 last = __int128(begin[i]) + __int128(n - 1) * step[i];
      if (begin[i] < 0 || begin[i] >= shape[i] || last < 0 || last >= shape[i])
        throw InvalidArgument(std::string(op) + ": slice [" + std::to_string(begin[i]) + ":" +
                              std::to_string(end[i]) + ":" + std::to_string(step[i]) +
                              "] is out of range for axis " + std::to_string(i) + " of shape " +
                              shape.str());
    }
    out.push_back(n);
  }
  return out;
}

// Walks the elements of a strided slice of `shape`, calling f(slice_index, source_index).
template <class F>
void for_each_slice_elem(const Shape& shape, const Shape& out, const std::vector<int64_t>& begin,
                         const std::vector<int64_t>& step, F f) {
  const int r = shape.rank();
  const int64_t n = out.numel();
  if (n == 0) return;
  int64_t st[kMaxRank];
  contiguous_strides(shape, st);
  // An axis that keeps one element never steps: its step (which may be as large as any int64,
  // x[::sys.maxsize]) takes no part in an offset. Every other step is bounded by its axis.
  int64_t jump[kMaxRank];
  int64_t base = 0;
  for (int i = 0; i < r; ++i) {
    base += begin[i] * st[i];
    jump[i] = out[i] > 1 ? step[i] * st[i] : 0;
  }
  int64_t idx[kMaxRank] = {};
  int64_t off = base;
  for (int64_t k = 0; k < n; ++k) {
    f(k, off);
    for (int i = r - 1; i >= 0; --i) {
      ++idx[i];
      off += jump[i];
      if (idx[i] < out[i]) break;
      off -= jump[i] * out[i];
      idx[i] = 0;
    }
  }
}

}  // namespace

// ================================ reshape ================================

Tensor reshape(const Tensor& x, const std::vector<int64_t>& dims) {
  require_defined(x, "reshape");
  if (dims.size() > size_t(kMaxRank))
    throw InvalidArgument("reshape: rank " + std::to_string(dims.size()) + " exceeds the maximum rank " +
                          std::to_string(kMaxRank));
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      if (infer >= 0) throw InvalidArgument("reshape: only one dimension can be -1, got " + vec_str(dims));
      infer = int(i);
    } else if (dims[i] < 0) {
      throw InvalidArgument("reshape: invalid dimension " + std::to_string(dims[i]) + " in " + vec_str(dims));
    } else {
      if (dims[i] != 0 && known > (int64_t(1) << 62) / dims[i])
        throw InvalidArgument("reshape: shape " + vec_str(dims) + " has too many elements");
      known *= dims[i];
    }
  }
  std::vector<int64_t> d = dims;
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0)
      throw InvalidArgument("reshape: cannot reshape a tensor of shape " + x.shape().str() + " (" +
                            std::to_string(x.numel()) + " elements) into shape " + vec_str(dims));
    d[size_t(infer)] = x.numel() / known;
  } else if (known != x.numel()) {
    throw InvalidArgument("reshape: cannot reshape a tensor of shape " + x.shape().str() + " (" +
                          std::to_string(x.numel()) + " elements) into shape " + vec_str(dims) +
                          " (" + std::to_string(known) + " elements)");
  }
  Tensor out = x.view_as(Shape(d));
  record(OpId::Reshape, {&x}, out);
  return out;
}
// d reshape(x) = g reshaped back
void vjp_Reshape(VjpCtx& c) { c.gin[0] = reshape(c.g, c.shape(c.in[0].shape())); }
Tensor jvp_Reshape(JvpCtx& c) { return reshape(c.t[0], c.shape(c.out.shape())); }

Tensor expand_dims(const Tensor& x, int64_t axis) {
  require_defined(x, "expand_dims");
  int a = normalize_axis(axis, x.ndim() + 1, "expand_dims");
  std::vector<int64_t> d = x.shape().vec();
  d.insert(d.begin() + a, 1);
  return reshape(x, d);
}

Tensor squeeze(const Tensor& x, const std::vector<int64_t>& axes) {
  require_defined(x, "squeeze");
  bool drop[kMaxRank] = {};
  if (axes.empty()) {
    for (int i = 0; i < x.ndim(); ++i) drop[i] = x.shape()[i] == 1;
  } else {
    for (int64_t a : axes) {
      int i = normalize_axis(a, x.ndim(), "squeeze");
      if (x.shape()[i] != 1)
        throw InvalidArgument("squeeze: cannot squeeze axis " + std::to_string(a) + " of shape " +
                              x.shape().str() + ": its size is " + std::to_string(x.shape()[i]) + ", not 1");
      drop[i] = true;
    }
  }
  std::vector<int64_t> d;
  for (int i = 0; i < x.ndim(); ++i)
    if (!drop[i]) d.push_back(x.shape()[i]);
  return reshape(x, d);
}

// ================================ transpose ================================

Tensor transpose(const Tensor& x, const std::vector<int64_t>& perm_in) {
  require_defined(x, "transpose");
  const int r = x.ndim();
  std::vector<int64_t> perm = perm_in;
  if (perm.empty() && r > 0) {
    perm.resize(size_t(r));
    for (int i = 0; i < r; ++i) perm[size_t(i)] = r - 1 - i;
  }
  if (int(perm.size()) != r)
    throw InvalidArgument("transpose: perm " + vec_str(perm_in) + " does not match rank " +
                          std::to_string(r) + " of shape " + x.shape().str());
  bool seen[kMaxRank] = {};
  for (auto& p : perm) {
    if (p < -r || p >= r) throw InvalidArgument("transpose: perm " + vec_str(perm_in) + " is not a permutation of 0.." + std::to_string(r - 1));
    if (p < 0) p += r;
    if (seen[p]) throw InvalidArgument("transpose: perm " + vec_str(perm_in) + " repeats axis " + std::to_string(p));
    seen[p] = true;
  }
  Shape out_shape;
  for (int i = 0; i < r; ++i) out_shape.push_back(x.shape()[int(perm[size_t(i)])]);
  Tensor out = Tensor::empty(x.dtype(), out_shape);
  int64_t in_st[kMaxRank];
  contiguous_strides(x.shape(), in_st);
  int64_t st[kMaxRank];  // input stride of each output axis
  for (int i = 0; i < r; ++i) st[i] = in_st[perm[size_t(i)]];
  if (out.numel() > 0) kernels::permute_copy(x.raw(), out.raw(), out_shape.data(), st, r, dtype_size(x.dtype()));
  const Tensor* in[1] = {&x};
  record_n(OpId::Transpose, in, 1, out, perm.data(), int(perm.size()));
  return out;
}
// d transpose(x, p) = transpose(g, inverse of p)
void vjp_Transpose(VjpCtx& c) {
  std::vector<int64_t> inv(size_t(c.n_attrs));
  for (int i = 0; i < c.n_attrs; ++i) inv[size_t(c.attrs[i])] = i;
  c.gin[0] = transpose(c.g, c.permutation(inv.data(), c.n_attrs));
}
Tensor jvp_Transpose(JvpCtx& c) { return transpose(c.t[0], c.permutation(c.attrs, c.n_attrs)); }

// ================================ broadcast_to ================================

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  require_defined(x, "broadcast_to");
  if (x.shape() == shape) {  // a new TensorImpl on the same storage, recorded like any other
    Tensor out = x.view_as(shape);
    record(OpId::BroadcastTo, {&x}, out);
    return out;
  }
  Shape b = broadcast_shapes(x.shape(), shape, "broadcast_to");
  if (b != shape)
    throw InvalidArgument("broadcast_to: cannot broadcast shape " + x.shape().str() + " to shape " + shape.str());
  if (x.numel() == 1 && fusion::wanted(x.dtype(), shape.numel())) {  // e.g. a reduction's gradient
    Tensor out = fusion::defer_fill(x, shape);
    record(OpId::BroadcastTo, {&x}, out);
    return out;
  }
  Tensor out = Tensor::empty(x.dtype(), shape);
  if (out.numel()) {
    const Shape* shapes[1] = {&x.shape()};
    kernels::Plan p = kernels::make_plan(shape, shapes, 1);
    dispatch_all(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = x.data<T>();
      T* dst = out.data<T>();
      kernels::for_each_row(p, [&](const int64_t* off, int64_t o, int64_t len, const int64_t* s) {
        if (s[0] == 0) std::fill(dst + o, dst + o + len, src[off[0]]);
        else std::memcpy(dst + o, src + off[0], sizeof(T) * size_t(len));
      });
    });
  }
  record(OpId::BroadcastTo, {&x}, out);
  return out;
}
// d broadcast_to(x) = g summed back to x's shape
void vjp_BroadcastTo(VjpCtx& c) { c.gin[0] = sum_to_shape(c.g, c.input_shape(0), c.batch_dims()); }
Tensor jvp_BroadcastTo(JvpCtx& c) { return broadcast_to(c.aligned(0), Shape(c.shape(c.out.shape()))); }

// ================================ concat / stack ================================

Tensor concat(const std::vector<Tensor>& values, int64_t axis) {
  if (values.empty()) throw InvalidArgument("concat: needs at least one tensor");
  const Tensor& first = values[0];
  require_defined(first, "concat");
  if (first.ndim() == 0) throw InvalidArgument("concat: cannot concatenate scalars (rank 0); use stack");
  const int r = first.ndim();
  const int a = normalize_axis(axis, r, "concat");
  int64_t total = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const Tensor& v = values[i];
    require_same_dtype(first, v, "concat");
    bool ok = v.ndim() == r;
    for (int d = 0; ok && d < r; ++d) ok = d == a || v.shape()[d] == first.shape()[d];
    if (!ok)
      throw InvalidArgument("concat: shapes " + first.shape().str() + " and " + v.shape().str() +
                            " (value " + std::to_string(i) + ") differ outside axis " + std::to_string(axis));
    total += v.shape()[a];
  }
  Shape out_shape = first.shape();
  out_shape[a] = total;
  Tensor out = Tensor::empty(first.dtype(), out_shape);
  const size_t es = dtype_size(first.dtype());
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < a; ++d) outer *= out_shape[d];
  for (int d = a + 1; d < r; ++d) inner *= out_shape[d];
  if (out.numel()) {
    char* dst = static_cast<char*>(out.raw());
    for (int64_t o = 0; o < outer; ++o)
      for (const Tensor& v : values) {
        size_t chunk = size_t(v.shape()[a] * inner) * es;
        std::memcpy(dst, static_cast<const char*>(v.raw()) + size_t(o) * chunk, chunk);
        dst += chunk;
      }
  }
  if (detail::tls_recording) {
    std::vector<const Tensor*> ins;
    for (const Tensor& v : values) ins.push_back(&v);
    int64_t attr = a;
    record_n(OpId::Concat, ins.data(), int(ins.size()), out, &attr, 1);
  }
  return out;
}
// d concat(x_i) = the slice of g where x_i went
void vjp_Concat(VjpCtx& c) {
  const int a = int(c.axis(c.attrs[0]));
  const int r = c.g.ndim();
  int64_t offset = 0;
  for (int i = 0; i < c.n_in; ++i) {
    const int64_t size = c.in[i].shape()[c.attrs[0]];
    if (c.needs[i]) {
      std::vector<int64_t> begin(size_t(r), 0), end = c.g.shape().vec(), step(size_t(r), 1);
      begin[size_t(a)] = offset;
      end[size_t(a)] = offset + size;
      c.gin[i] = strided_slice(c.g, begin, end, step);
    }
    offset += size;
  }
}
// the tangents concatenated (zeros for the inputs that have none)
Tensor jvp_Concat(JvpCtx& c) {
  std::vector<Tensor> parts;
  for (int i = 0; i < c.n_in; ++i) parts.push_back(c.or_zeros(i));
  return concat(parts, c.axis(c.attrs[0]));
}

Tensor stack(const std::vector<Tensor>& values, int64_t axis) {
  if (values.empty()) throw InvalidArgument("stack: needs at least one tensor");
  require_defined(values[0], "stack");
  const int64_t r = values[0].ndim() + 1;
  if (axis < -r || axis >= r)  // (TensorFlow checks it in Python: a ValueError)
    throw ValueError_("stack: argument `axis` = " + std::to_string(axis) + " not in range [" + std::to_string(-r) +
                      ", " + std::to_string(r) + ")");
  const int a = normalize_axis(axis, int(r), "stack");
  std::vector<Tensor> expanded;
  expanded.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    require_defined(values[i], "stack");
    if (values[i].shape() != values[0].shape())
      throw InvalidArgument("stack: shapes " + values[0].shape().str() + " and " + values[i].shape().str() +
                            " (value " + std::to_string(i) + ") differ");
    expanded.push_back(expand_dims(values[i], a));
  }
  return concat(expanded, a);
}

// ================================ gather ================================

Tensor gather(const Tensor& params, const Tensor& indices, int64_t axis) {
  require_defined(params, "gather");
  require_index(indices, "gather", "indices");
  if (params.ndim() == 0) throw InvalidArgument("gather: params must have rank >= 1, got a scalar");
  const int a = normalize_axis(axis, params.ndim(), "gather");
  const int64_t dim = params.shape()[a];
  for (int64_t i = 0; i < indices.numel(); ++i) {
    int64_t k = index_at(indices, i);
    if (k < 0 || k >= dim)
      throw InvalidArgument("gather: index " + std::to_string(k) + " is out of range [0, " +
                            std::to_string(dim) + ") for axis " + std::to_string(axis) + " of shape " +
                            params.shape().str());
  }
  Shape out_shape;
  for (int d = 0; d < a; ++d) out_shape.push_back(params.shape()[d]);
  for (int d = 0; d < indices.ndim(); ++d) out_shape.push_back(indices.shape()[d]);
  for (int d = a + 1; d < params.ndim(); ++d) out_shape.push_back(params.shape()[d]);
  Tensor out = Tensor::empty(params.dtype(), out_shape);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < a; ++d) outer *= params.shape()[d];
  for (int d = a + 1; d < params.ndim(); ++d) inner *= params.shape()[d];
  const size_t es = dtype_size(params.dtype());
  const int64_t n = indices.numel();
  if (out.numel()) {
    const char* src = static_cast<const char*>(params.raw());
    char* dst = static_cast<char*>(out.raw());
    const size_t chunk = size_t(inner) * es;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < n; ++j) {
        std::memcpy(dst, src + (size_t(o * dim + index_at(indices, j))) * chunk, chunk);
        dst += chunk;
      }
  }
  record(OpId::Gather, {&params, &indices}, out, {a});
  return out;
}
// d gather(p, i) = g scattered (summed) back to the gathered rows of p
void vjp_Gather(VjpCtx& c) {
  const int a = int(c.attrs[0]);
  c.gin[0] = gather_grad(c.g, c.in[1], c.axis(a), c.in[0].shape()[a]);
}
Tensor jvp_Gather(JvpCtx& c) { return gather(c.t[0], c.in[1], c.axis(c.attrs[0])); }

Tensor gather_grad(const Tensor& g, const Tensor& indices, int64_t axis, int64_t dim) {
  require_float(g, "gather_grad");
  require_index(indices, "gather_grad", "indices");
  const int a = int(axis);
  const int ir = indices.ndim();
  if (a < 0 || a + ir > g.ndim()) throw InvalidArgument("gather_grad: axis out of range");
  Shape out_shape;
  for (int d = 0; d < a; ++d) out_shape.push_back(g.shape()[d]);
  out_shape.push_back(dim);
  for (int d = a + ir; d < g.ndim(); ++d) out_shape.push_back(g.shape()[d]);
  Tensor out = zeros(out_shape, g.dtype());
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < a; ++d) outer *= g.shape()[d];
  for (int d = a + ir; d < g.ndim(); ++d) inner *= g.shape()[d];
  const int64_t n = indices.numel();
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = g.data<T>();
    T* dst = out.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < n; ++j) {
        int64_t k = index_at(indices, j);
        if (k < 0 || k >= dim) throw InvalidArgument("gather_grad: index out of range");
        T* row = dst + (o * dim + k) * inner;
        const T* grow = src + (o * n + j) * inner;
        for (int64_t i = 0; i < inner; ++i) row[i] += grow[i];
      }
  });
  record(OpId::GatherGrad, {&g, &indices}, out, {axis, dim});
  return out;
}
// d gather_grad(g) = gather of the upstream gradient
void vjp_GatherGrad(VjpCtx& c) { c.gin[0] = gather(c.g, c.in[1], c.axis(c.attrs[0])); }
Tensor jvp_GatherGrad(JvpCtx& c) { return gather_grad(c.t[0], c.in[1], c.axis(c.attrs[0]), c.attrs[1]); }

Tensor boolean_mask(const Tensor& x, const Tensor& mask) {
  require_defined(x, "boolean_mask");
  require_bool(mask, "boolean_mask", "mask");
  const int mr = mask.ndim();
  bool ok = mr >= 1 && mr <= x.ndim();
  for (int d = 0; ok && d < mr; ++d) ok = mask.shape()[d] == x.shape()[d];
  if (!ok)  // (TensorFlow compares the static shapes in Python: a ValueError)
    throw ValueError_("boolean_mask: mask shape " + mask.shape().str() +
                      " must match the leading dims of tensor shape " + x.shape().str());
  std::vector<int64_t> flat_shape{-1};
  for (int d = mr; d < x.ndim(); ++d) flat_shape.push_back(x.shape()[d]);
  std::vector<int64_t> picked;
  const bool* m = mask.data<bool>();
  for (int64_t i = 0; i < mask.numel(); ++i)
    if (m[i]) picked.push_back(i);
  Tensor idx = from_data(picked.data(), DType::Int64, Shape{int64_t(picked.size())});
  return gather(reshape(x, flat_shape), idx, 0);
}

// ================================ strided slices ================================

Tensor strided_slice(const Tensor& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& end,
                     const std::vector<int64_t>& step) {
  require_defined(x, "strided_slice");
  Shape out_shape = slice_shape(x.shape(), begin, end, step, "strided_slice");
  Tensor out = Tensor::empty(x.dtype(), out_shape);
  const size_t es = dtype_size(x.dtype());
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(out.raw());
  for_each_slice_elem(x.shape(), out_shape, begin, step,
                      [&](int64_t k, int64_t off) { copy_elem(dst + k * es, src + off * es, es); });
  if (detail::tls_recording) {
    std::vector<int64_t> attrs(begin);
    attrs.insert(attrs.end(), end.begin(), end.end());
    attrs.insert(attrs.end(), step.begin(), step.end());
    const Tensor* in[1] = {&x};
    record_n(OpId::StridedSlice, in, 1, out, attrs.data(), int(attrs.size()));
  }
  return out;
}
// d x[slice] = g placed at the slice in zeros of x's shape
void vjp_StridedSlice(VjpCtx& c) {
  const size_t r = size_t(c.in[0].ndim());
  std::vector<int64_t> begin(c.attrs, c.attrs + r), end(c.attrs + r, c.attrs + 2 * r),
      step(c.attrs + 2 * r, c.attrs + 3 * r);
  c.slice_spec(begin, end, step);
  c.gin[0] = strided_slice_grad(c.g, c.input_shape(0), begin, end, step);
}
Tensor jvp_StridedSlice(JvpCtx& c) {
  const size_t r = size_t(c.in[0].ndim());
  std::vector<int64_t> begin(c.attrs, c.attrs + r), end(c.attrs + r, c.attrs + 2 * r),
      step(c.attrs + 2 * r, c.attrs + 3 * r);
  c.slice_spec(begin, end, step);
  return strided_slice(c.t[0], begin, end, step);
}

Tensor strided_slice_grad(const Tensor& g, const Shape& input_shape, const std::vector<int64_t>& begin,
                          const std::vector<int64_t>& end, const std::vector<int64_t>& step) {
  require_defined(g, "strided_slice_grad");
  Shape sliced = slice_shape(input_shape, begin, end, step, "strided_slice_grad");
  if (sliced != g.shape())
    throw InvalidArgument("strided_slice_grad: gradient shape " + g.shape().str() + " does not match slice shape " +
                          sliced.str());
  Tensor out = zeros(input_shape, g.dtype());
  const size_t es = dtype_size(g.dtype());
  const char* src = static_cast<const char*>(g.raw());
  char* dst = static_cast<char*>(out.raw());
  for_each_slice_elem(input_shape, sliced, begin, step,
                      [&](int64_t k, int64_t off) { copy_elem(dst + off * es, src + k * es, es); });
  if (detail::tls_recording) {
    std::vector<int64_t> attrs(begin);
    attrs.insert(attrs.end(), end.begin(), end.end());
    attrs.insert(attrs.end(), step.begin(), step.end());
    const Tensor* in[1] = {&g};
    record_n(OpId::StridedSliceGrad, in, 1, out, attrs.data(), int(attrs.size()));
  }
  return out;
}
// d strided_slice_grad(g) = the slice of the upstream gradient
void vjp_StridedSliceGrad(VjpCtx& c) {
  const size_t r = size_t(c.out.ndim());
  std::vector<int64_t> begin(c.attrs, c.attrs + r), end(c.attrs + r, c.attrs + 2 * r),
      step(c.attrs + 2 * r, c.attrs + 3 * r);
  c.slice_spec(begin, end, step);
  c.gin[0] = strided_slice(c.g, begin, end, step);
}
Tensor jvp_StridedSliceGrad(JvpCtx& c) {
  const size_t r = size_t(c.out.ndim());
  std::vector<int64_t> begin(c.attrs, c.attrs + r), end(c.attrs + r, c.attrs + 2 * r),
      step(c.attrs + 2 * r, c.attrs + 3 * r);
  c.slice_spec(begin, end, step);
  return strided_slice_grad(c.t[0], Shape(c.shape(c.out.shape())), begin, end, step);
}

}  // namespace gt
