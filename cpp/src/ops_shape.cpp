// Shape ops: reshape, transpose, broadcast_to, concat, gather, strided slices, each beside
// its vjp; expand_dims, squeeze, stack and boolean_mask are composites of those.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "gradtape/tape.h"
#include "kernels/broadcast.h"
#include "kernels/elementwise.h"
#include "fusion.h"
#include "kernels/transpose.h"
#include "ops_common.h"
#include "scalar_code.h"

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
    dispatch_bytes(x.dtype(), [&](auto tag) {  // (moves elements: by their size)
      using T = decltype(tag);
      const T* src = x.data<T>();
      T* dst = out.data<T>();
      kernels::for_each_row(p, [&](const int64_t* off, int64_t o, int64_t len, const int64_t* s) {
        if (s[0] == 0) std::fill(dst + o, dst + o + len, src[off[0]]);
        else std::memcpy(dst + o, src + off[0], sizeof(T) * size_t(len));
      });
    });
  }
  scalar_code::note_broadcast(x, out);
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
// gather with batch dimensions: params [B..., dim at axis, rest...] and indices [B..., K...].
// The gathered axis is moved behind the batch and the batch flattened into it (batch element
// j's rows become rows j * dim ...), so one plain gather with offset indices does every batch
// element; the index axes are then moved back to where the gathered axis was. Every step is a
// differentiable op, so the gradient (and the jvp) follow.
Tensor gather_batched(const Tensor& params, const Tensor& indices, int64_t axis, int64_t batch_dims) {
  require_defined(params, "gather");
  require_index(indices, "gather", "indices");
  const int64_t pr = params.ndim(), ir = indices.ndim();
  int64_t b = batch_dims;
  if (b < -ir || b > ir)
    throw InvalidArgument("gather: Expected batch_dims in the range [" + std::to_string(-ir) + ", " +
                          std::to_string(ir) + "], but got " + std::to_string(b));
  if (b < 0) b += ir;
  if (b >= pr)
    throw InvalidArgument("gather: Shape must be at least rank " + std::to_string(b + 1) + " but is rank " +
                          std::to_string(pr));
  if (axis < -pr || axis >= pr)
    throw InvalidArgument("gather: axis " + std::to_string(axis) + " is out of range for params of rank " +
                          std::to_string(pr));
  const int64_t a = axis < 0 ? axis + pr : axis;
  if (b > a)
    throw InvalidArgument("gather: batch_dims (" + std::to_string(b) + ") must be less than or equal to axis (" +
                          std::to_string(a) + ").");
  if (b == 0) return gather(params, indices, a);
  const Shape& ps = params.shape();
  const Shape& is = indices.shape();
  int64_t batch = 1;
  for (int64_t d = 0; d < b; ++d) {
    if (ps[int(d)] != is[int(d)])
      throw InvalidArgument("gather: params.shape[" + std::to_string(d) + "]: " + std::to_string(ps[int(d)]) +
                            " should be equal to indices.shape[" + std::to_string(d) + "]: " +
                            std::to_string(is[int(d)]));
    batch *= ps[int(d)];
  }
  const int64_t dim = ps[int(a)];
  for (int64_t i = 0; i < indices.numel(); ++i) {
    const int64_t k = index_at(indices, i);
    if (k < 0 || k >= dim) {
      std::string at;  // indices[i0,i1,...]: the multi-index of flat position i
      for (int64_t d = ir - 1, rem = i; d >= 0; --d) {
        at = std::to_string(rem % is[int(d)]) + (at.empty() ? "" : ",") + at;
        rem /= is[int(d)];
      }
      throw InvalidArgument("gather: indices[" + at + "] = " + std::to_string(k) + " is not in [0, " +
                            std::to_string(dim) + ")");
    }
  }
  // params: batch axes, the gathered axis, then the others; flattened to [batch * dim, rest...]
  std::vector<int64_t> perm, flat{batch * dim}, rest;
  for (int64_t d = 0; d < b; ++d) perm.push_back(d);
  perm.push_back(a);
  for (int64_t d = b; d < pr; ++d)
    if (d != a) {
      perm.push_back(d);
      rest.push_back(ps[int(d)]);
    }
  flat.insert(flat.end(), rest.begin(), rest.end());
  Tensor pf = reshape(transpose(params, perm), flat);
  // indices [batch, K] offset by batch element * dim
  int64_t k_count = 1;
  for (int64_t d = b; d < ir; ++d) k_count *= is[int(d)];
  Tensor offsets = reshape(multiply(range_int(0, batch, 1, DType::Int64), scalar(double(dim), DType::Int64)), {batch, 1});
  Tensor idx = add(reshape(cast(indices, DType::Int64), {batch, k_count}), offsets);
  Tensor out = gather(pf, reshape(idx, {batch * k_count}), 0);
  // [B..., K..., P[b:a]..., P[a+1:]...], then the index axes moved behind P[b:a]
  std::vector<int64_t> shape;
  for (int64_t d = 0; d < ir; ++d) shape.push_back(is[int(d)]);
  shape.insert(shape.end(), rest.begin(), rest.end());
  out = reshape(out, shape);
  const int64_t ni = ir - b, na = a - b;
  if (ni > 0 && na > 0) {
    std::vector<int64_t> back;
    for (int64_t d = 0; d < b; ++d) back.push_back(d);
    for (int64_t d = 0; d < na; ++d) back.push_back(b + ni + d);
    for (int64_t d = 0; d < ni; ++d) back.push_back(b + d);
    for (int64_t d = b + ni + na; d < int64_t(shape.size()); ++d) back.push_back(d);
    out = transpose(out, back);
  }
  return out;
}

// d gather(p, i) = g scattered (summed) back to the gathered rows of p
void vjp_Gather(VjpCtx& c) {
  const int a = int(c.attrs[0]);
  c.gin[0] = gather_grad(c.g, c.in[1], c.axis(a), c.in[0].shape()[a]);
}
Tensor jvp_Gather(JvpCtx& c) { return gather(c.t[0], c.in[1], c.axis(c.attrs[0])); }

Tensor gather_grad(const Tensor& g, const Tensor& indices, int64_t axis, int64_t dim) {
  require_defined(g, "gather_grad");
  require_numeric(g, "gather_grad");
  require_index(indices, "gather_grad", "indices");
  const int a = int(axis);
  const int ir = indices.ndim();
  if (a < 0 || a + ir > g.ndim()) throw InvalidArgument("gather_grad: axis out of range");
  Shape out_shape;
  for (int d = 0; d < a; ++d) out_shape.push_back(g.shape()[d]);
  out_shape.push_back(dim);
  for (int d = a + ir; d < g.ndim(); ++d) out_shape.push_back(g.shape()[d]);
  Tensor out = zeroed(out_shape, g.dtype());
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < a; ++d) outer *= g.shape()[d];
  for (int d = a + ir; d < g.ndim(); ++d) inner *= g.shape()[d];
  const int64_t n = indices.numel();
  if (g.numel() > 0) dispatch_numeric(g.dtype(), [&](auto tag) {  // (an empty g: nothing to add)
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

Tensor boolean_mask(const Tensor& x, const Tensor& mask, const std::optional<int64_t>& axis) {
  require_defined(x, "boolean_mask");
  require_bool(mask, "boolean_mask", "mask");
  const int mr = mask.ndim();
  if (mr == 0) throw ValueError_("boolean_mask: mask cannot be scalar");
  const int64_t a0 = axis.value_or(0);
  const int64_t an = a0 < 0 ? a0 + x.ndim() : a0;
  if (an < 0 || an + mr > x.ndim())
    throw ValueError_("boolean_mask: axis " + std::to_string(a0) + " and mask shape " + mask.shape().str() +
                          " do not fit tensor shape " + x.shape().str());
  const int a = int(an);
  bool ok = true;
  for (int d = 0; ok && d < mr; ++d) ok = mask.shape()[d] == x.shape()[a + d];
  if (!ok)  // (TensorFlow compares the static shapes in Python: a ValueError)
    throw ValueError_("boolean_mask: mask shape " + mask.shape().str() + " must match dims " + std::to_string(a) +
                          ".." + std::to_string(a + mr - 1) + " of tensor shape " + x.shape().str());
  // x as [dims before axis..., the masked dims as one, dims after...], gathered along axis
  std::vector<int64_t> flat_shape;
  for (int d = 0; d < a; ++d) flat_shape.push_back(x.shape()[d]);
  flat_shape.push_back(mask.numel());
  for (int d = a + mr; d < x.ndim(); ++d) flat_shape.push_back(x.shape()[d]);
  std::vector<int64_t> picked;
  const bool* m = mask.data<bool>();
  for (int64_t i = 0; i < mask.numel(); ++i)
    if (m[i]) picked.push_back(i);
  Tensor idx = from_data(picked.data(), DType::Int64, Shape{int64_t(picked.size())});
  return gather(reshape(x, flat_shape), idx, a);
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
  Tensor out = zeroed(input_shape, g.dtype());
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

// ================================ index maps: tile, pad, reverse, roll ================================
//
// Each of these ops reads out[i_0, ..., i_r] = x[m_0(i_0), ..., m_r(i_r)], one index map per
// dimension (-1: no source, the fill value). `map_copy` runs such a map, `map_add` its adjoint
// (every output element added into its source), which is mirror pad's gradient.

namespace gt {
namespace {

using IndexMaps = std::vector<std::vector<int64_t>>;

// Walks the outer dims of `out` (all but the last), calling f(out_row_offset, in_row_offset),
// in_row_offset -1 when some map of the outer dims has no source there.
template <class F>
void for_each_mapped_row(const Shape& in, const Shape& out, const IndexMaps& maps, F f) {
  const int r = out.rank();
  int64_t st[kMaxRank];
  contiguous_strides(in, st);
  const int64_t inner = r ? out[r - 1] : 1;
  int64_t rows = 1;
  for (int d = 0; d + 1 < r; ++d) rows *= out[d];
  if (inner == 0 || rows == 0) return;
  int64_t idx[kMaxRank] = {};
  for (int64_t row = 0; row < rows; ++row) {
    int64_t off = 0;
    for (int d = 0; d + 1 < r && off >= 0; ++d) {
      const int64_t m = maps[size_t(d)][size_t(idx[d])];
      off = m < 0 ? -1 : off + m * st[d];
    }
    f(row * inner, off);
    for (int d = r - 2; d >= 0; --d) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
}

Tensor map_copy(const Tensor& x, const Shape& out_shape, const IndexMaps& maps, const Tensor* fill) {
  Tensor out = Tensor::empty(x.dtype(), out_shape);
  if (out.numel() == 0) return out;
  dispatch_bytes(x.dtype(), [&](auto tag) {  // (moves elements: by their size)
    using T = decltype(tag);
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    const T value = fill ? fill->data<T>()[0] : T{};
    const int r = out_shape.rank();
    if (r == 0) {
      dst[0] = src[0];
      return;
    }
    const std::vector<int64_t>& last = maps[size_t(r - 1)];
    const int64_t inner = out_shape[r - 1];
    for_each_mapped_row(x.shape(), out_shape, maps, [&](int64_t o, int64_t in) {
      if (in < 0) {
        std::fill(dst + o, dst + o + inner, value);
        return;
      }
      for (int64_t j = 0; j < inner; ++j) dst[o + j] = last[size_t(j)] < 0 ? value : src[in + last[size_t(j)]];
    });
  });
  return out;
}

Tensor map_add(const Tensor& g, const Shape& in_shape, const IndexMaps& maps) {
  Tensor out = zeroed(in_shape, g.dtype());
  if (g.numel() == 0 || out.numel() == 0) return out;
  dispatch_numeric(g.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = g.data<T>();
    T* dst = out.data<T>();
    const int r = g.ndim();
    if (r == 0) {
      dst[0] += src[0];
      return;
    }
    const std::vector<int64_t>& last = maps[size_t(r - 1)];
    const int64_t inner = g.shape()[r - 1];
    for_each_mapped_row(in_shape, g.shape(), maps, [&](int64_t o, int64_t in) {
      if (in < 0) return;
      for (int64_t j = 0; j < inner; ++j)
        if (last[size_t(j)] >= 0) dst[in + last[size_t(j)]] += src[o + j];
    });
  });
  return out;
}

std::vector<int64_t> identity_map(int64_t n) {
  std::vector<int64_t> m(static_cast<size_t>(n));
  std::iota(m.begin(), m.end(), 0);
  return m;
}

// A pad's maps. attrs: mode (0 constant, 1 reflect, 2 symmetric), then before, after per dim.
IndexMaps pad_maps(const Shape& in, const int64_t* attrs) {
  const int64_t mode = attrs[0];
  IndexMaps maps;
  bool empty = false;  // an empty result needs no maps (its dims may still be huge: [2**32, 0])
  for (int d = 0; d < in.rank(); ++d) empty |= attrs[1 + 2 * d] + in[d] + attrs[2 + 2 * d] == 0;
  if (empty) return IndexMaps(size_t(in.rank()));
  for (int d = 0; d < in.rank(); ++d) {
    const int64_t b = attrs[1 + 2 * d], a = attrs[2 + 2 * d], n = in[d];
    std::vector<int64_t> m(size_t(b + n + a));
    for (int64_t i = 0; i < b + n + a; ++i) {
      int64_t j = i - b;
      if (mode == 0) {
        m[size_t(i)] = j >= 0 && j < n ? j : -1;
        continue;
      }
      if (j < 0) j = mode == 1 ? -j : -j - 1;
      if (j >= n) j = mode == 1 ? 2 * (n - 1) - j : 2 * n - 1 - j;
      m[size_t(i)] = j;
    }
    maps.push_back(std::move(m));
  }
  return maps;
}

// The pad attributes for a batched tensor: no padding on the batch dims in front.
std::vector<int64_t> batched_pad_attrs(const int64_t* attrs, int n_attrs, int batch) {
  std::vector<int64_t> a{attrs[0]};
  for (int b = 0; b < batch; ++b) {
    a.push_back(0);
    a.push_back(0);
  }
  a.insert(a.end(), attrs + 1, attrs + n_attrs);
  return a;
}

}  // namespace

Tensor pad_grad(const Tensor& g, const std::vector<int64_t>& attrs);

// ---------------- tile

Tensor tile(const Tensor& input, const std::vector<int64_t>& multiples) {
  require_defined(input, "tile");
  const int r = input.ndim();
  if (int(multiples.size()) != r)
    throw InvalidArgument("tile: expected multiples argument to be a vector of length " + std::to_string(r) +
                          " but got length " + std::to_string(multiples.size()));
  Shape out_shape;
  IndexMaps maps;
  for (int d = 0; d < r; ++d) {
    if (multiples[size_t(d)] < 0)
      throw InvalidArgument("tile: expected multiples[" + std::to_string(d) + "] >= 0, but got " +
                            std::to_string(multiples[size_t(d)]));
    const int64_t n = input.shape()[d];
    if (n != 0 && multiples[size_t(d)] > (int64_t(1) << 62) / n)
      throw InvalidArgument("tile: the result of tiling shape " + input.shape().str() + " is too large");
    out_shape.push_back(n * multiples[size_t(d)]);
  }
  // (an empty result needs no maps: its other dims may be huge, [2**32, 0])
  if (checked_numel(out_shape, dtype_size(input.dtype()), "tile") > 0)
    for (int d = 0; d < r; ++d) {
      const int64_t n = input.shape()[d];
      std::vector<int64_t> m(size_t(out_shape[d]));
      for (int64_t i = 0; i < out_shape[d]; ++i) m[size_t(i)] = i % n;
      maps.push_back(std::move(m));
    }
  Tensor out = map_copy(input, out_shape, maps, nullptr);
  const Tensor* in[1] = {&input};
  record_n(OpId::Tile, in, 1, out, multiples.data(), r);
  return out;
}
// d tile(x) = g summed over the copies: per tiled axis, g as [before, copies, n, after] summed
// over the copies
void vjp_Tile(VjpCtx& c) {
  Tensor g = c.g;
  for (int d = 0; d < c.n_attrs; ++d) {
    const int64_t m = c.attrs[d];
    if (m == 1) continue;
    const int a = int(c.axis(d));
    int64_t before = 1, after = 1;
    for (int k = 0; k < a; ++k) before *= g.shape()[k];
    for (int k = a + 1; k < g.ndim(); ++k) after *= g.shape()[k];
    const int64_t n = c.in[0].shape()[d];
    std::vector<int64_t> dims = g.shape().vec();
    dims[size_t(a)] = n;
    g = reshape(reduce_sum(reshape(g, {before, m, n, after}), std::vector<int64_t>{1}), dims);
  }
  c.gin[0] = g;
}
Tensor jvp_Tile(JvpCtx& c) {
  std::vector<int64_t> m(size_t(c.batch_dims()), 1);
  m.insert(m.end(), c.attrs, c.attrs + c.n_attrs);
  return tile(c.t[0], m);
}

// ---------------- pad

namespace {
Tensor pad_with(const Tensor& x, const std::vector<int64_t>& attrs, const Tensor* fill) {
  Shape out_shape;
  for (int d = 0; d < x.ndim(); ++d) out_shape.push_back(attrs[size_t(1 + 2 * d)] + x.shape()[d] + attrs[size_t(2 + 2 * d)]);
  checked_numel(out_shape, dtype_size(x.dtype()), "pad");
  Tensor out = map_copy(x, out_shape, pad_maps(x.shape(), attrs.data()), fill);
  const Tensor* in[1] = {&x};
  record_n(OpId::Pad, in, 1, out, attrs.data(), int(attrs.size()));
  return out;
}
}  // namespace

Tensor pad(const Tensor& tensor, const Tensor& paddings, const std::string& mode_arg, const Tensor& constant_values) {
  require_defined(tensor, "pad");
  require_index(paddings, "pad", "paddings");
  std::string mode = mode_arg;
  for (char& ch : mode) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  int64_t m;
  if (mode == "CONSTANT") m = 0;
  else if (mode == "REFLECT") m = 1;
  else if (mode == "SYMMETRIC") m = 2;
  else
    throw InvalidArgument("pad: value of argument `mode` expected to be one of \"CONSTANT\", \"REFLECT\", or "
                          "\"SYMMETRIC\". Received `mode` = " + mode_arg);
  const int r = tensor.ndim();
  if (paddings.ndim() != 2 || paddings.shape()[0] != r || paddings.shape()[1] != 2)
    throw InvalidArgument("pad: paddings must be a matrix of shape [" + std::to_string(r) + ", 2] (the rank of " +
                          tensor.shape().str() + "), got shape " + paddings.shape().str());
  std::vector<int64_t> attrs{m};
  for (int d = 0; d < r; ++d) {
    const int64_t b = index_at(paddings, 2 * d), a = index_at(paddings, 2 * d + 1), n = tensor.shape()[d];
    if (b < 0 || a < 0)
      throw InvalidArgument("pad: paddings must be non-negative: " + std::to_string(b) + " " + std::to_string(a));
    if (m == 1 && (b >= n || a >= n))
      throw InvalidArgument("pad: REFLECT paddings must be less than the dimension size: " + std::to_string(b) + ", " +
                            std::to_string(a) + " not less than " + std::to_string(n));
    if (m == 2 && (b > n || a > n))
      throw InvalidArgument("pad: SYMMETRIC paddings must be no greater than the dimension size: " +
                            std::to_string(b) + ", " + std::to_string(a) + " greater than " + std::to_string(n));
    attrs.push_back(b);
    attrs.push_back(a);
  }
  if (m == 0) {
    require_same_dtype(tensor, constant_values, "pad");
    if (constant_values.numel() != 1)
      throw InvalidArgument("pad: constant_values must be a scalar, got shape " + constant_values.shape().str());
    return pad_with(tensor, attrs, &constant_values);
  }
  return pad_with(tensor, attrs, nullptr);
}
// d pad(x) = the interior of g (constant); mirror pads add each reflected copy back (pad_grad)
void vjp_Pad(VjpCtx& c) {
  const int r = c.in[0].ndim();
  if (c.attrs[0] == 0) {
    std::vector<int64_t> begin, end, step(size_t(r), 1);
    for (int d = 0; d < r; ++d) {
      begin.push_back(c.attrs[1 + 2 * d]);
      end.push_back(c.attrs[1 + 2 * d] + c.in[0].shape()[d]);
    }
    c.slice_spec(begin, end, step);
    c.gin[0] = strided_slice(c.g, begin, end, step);
  } else {
    c.gin[0] = pad_grad(c.g, batched_pad_attrs(c.attrs, c.n_attrs, c.batch_dims()));
  }
}
Tensor jvp_Pad(JvpCtx& c) {
  const Tensor zero = zero_of(c.t[0]);
  return pad_with(c.t[0], batched_pad_attrs(c.attrs, c.n_attrs, c.batch_dims()), &zero);
}

Tensor pad_grad(const Tensor& g, const std::vector<int64_t>& attrs) {
  require_defined(g, "pad_grad");
  Shape in_shape;
  for (int d = 0; d < g.ndim(); ++d) in_shape.push_back(g.shape()[d] - attrs[size_t(1 + 2 * d)] - attrs[size_t(2 + 2 * d)]);
  Tensor out = map_add(g, in_shape, pad_maps(in_shape, attrs.data()));
  const Tensor* in[1] = {&g};
  record_n(OpId::PadGrad, in, 1, out, attrs.data(), int(attrs.size()));
  return out;
}
// pad_grad is the adjoint of pad: its vjp and its jvp are pad and pad_grad again
void vjp_PadGrad(VjpCtx& c) {
  const Tensor zero = zero_of(c.g);
  c.gin[0] = pad_with(c.g, batched_pad_attrs(c.attrs, c.n_attrs, c.batch_dims()), &zero);
}
Tensor jvp_PadGrad(JvpCtx& c) { return pad_grad(c.t[0], batched_pad_attrs(c.attrs, c.n_attrs, c.batch_dims())); }

// ---------------- reverse

namespace {
Tensor reverse_dims(const Tensor& x, const std::vector<int64_t>& dims) {
  IndexMaps maps;
  for (int d = 0; d < x.ndim() && x.numel() > 0; ++d) {  // (empty: no maps, as tile's)
    std::vector<int64_t> m = identity_map(x.shape()[d]);
    if (std::find(dims.begin(), dims.end(), d) != dims.end()) std::reverse(m.begin(), m.end());
    maps.push_back(std::move(m));
  }
  Tensor out = map_copy(x, x.shape(), maps, nullptr);
  const Tensor* in[1] = {&x};
  record_n(OpId::Reverse, in, 1, out, dims.data(), int(dims.size()));
  return out;
}
std::vector<int64_t> batched_axes(const BatchedRule<VjpCtx>& c, const int64_t* a, int n) {
  std::vector<int64_t> v;
  for (int i = 0; i < n; ++i) v.push_back(c.axis(a[i]));
  return v;
}
std::vector<int64_t> batched_axes(const BatchedRule<JvpCtx>& c, const int64_t* a, int n) {
  std::vector<int64_t> v;
  for (int i = 0; i < n; ++i) v.push_back(c.axis(a[i]));
  return v;
}
}  // namespace

Tensor reverse(const Tensor& tensor, const std::vector<int64_t>& axis) {
  require_defined(tensor, "reverse");
  std::vector<int64_t> dims;
  for (size_t i = 0; i < axis.size(); ++i) {
    const int64_t a = axis[i];
    if (a < -tensor.ndim() || a >= tensor.ndim())
      throw InvalidArgument("reverse: 'axis'[" + std::to_string(i) + "] = " + std::to_string(a) +
                            " is out of valid range [0, " + std::to_string(tensor.ndim() - 1) + "]");
    const int64_t d = a < 0 ? a + tensor.ndim() : a;
    if (std::find(dims.begin(), dims.end(), d) != dims.end())
      throw InvalidArgument("reverse: axis " + std::to_string(d) + " specified more than once");
    dims.push_back(d);
  }
  return reverse_dims(tensor, dims);
}
// d reverse(x) = g reversed along the same axes
void vjp_Reverse(VjpCtx& c) { c.gin[0] = reverse_dims(c.g, batched_axes(c, c.attrs, c.n_attrs)); }
Tensor jvp_Reverse(JvpCtx& c) { return reverse_dims(c.t[0], batched_axes(c, c.attrs, c.n_attrs)); }

// ---------------- roll

namespace {
// attrs: the shift of every dim, in [0, n)
Tensor roll_dims(const Tensor& x, const std::vector<int64_t>& shifts) {
  IndexMaps maps;
  for (int d = 0; d < x.ndim() && x.numel() > 0; ++d) {  // (empty: no maps, as tile's)
    const int64_t n = x.shape()[d], s = shifts[size_t(d)];
    std::vector<int64_t> m(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) m[size_t(i)] = (i - s + n) % n;
    maps.push_back(std::move(m));
  }
  Tensor out = map_copy(x, x.shape(), maps, nullptr);
  const Tensor* in[1] = {&x};
  record_n(OpId::Roll, in, 1, out, shifts.data(), int(shifts.size()));
  return out;
}
// A roll's per-dim shifts for the batched tensor, negated (the inverse roll) or not.
template <class Ctx>
std::vector<int64_t> batched_shifts(const Ctx& c, const Tensor& op_tensor, bool inverse) {
  std::vector<int64_t> s(size_t(c.batch_dims()), 0);
  for (int d = 0; d < c.n_attrs; ++d) {
    const int64_t n = op_tensor.shape()[d];
    s.push_back(inverse && n ? (n - c.attrs[d]) % n : c.attrs[d]);
  }
  return s;
}
}  // namespace

Tensor roll(const Tensor& input, const std::vector<int64_t>& shift, const std::vector<int64_t>& axis) {
  require_defined(input, "roll");
  if (shift.size() != axis.size()) throw InvalidArgument("roll: shift and axis must have the same size");
  std::vector<int64_t> shifts(size_t(input.ndim()), 0);
  for (size_t i = 0; i < axis.size(); ++i) {
    if (axis[i] < -input.ndim() || axis[i] >= input.ndim())
      throw InvalidArgument("roll: axis " + std::to_string(axis[i]) + " is out of range for shape " + input.shape().str());
    const int64_t d = axis[i] < 0 ? axis[i] + input.ndim() : axis[i];
    const int64_t n = input.shape()[int(d)];
    if (n) shifts[size_t(d)] = ((shifts[size_t(d)] + shift[i] % n) % n + n) % n;  // repeated axes add up
  }
  return roll_dims(input, shifts);
}
// d roll(x, s) = roll(g, -s)
void vjp_Roll(VjpCtx& c) { c.gin[0] = roll_dims(c.g, batched_shifts(c, c.in[0], true)); }
Tensor jvp_Roll(JvpCtx& c) { return roll_dims(c.t[0], batched_shifts(c, c.in[0], false)); }

}  // namespace gt

// ================================ gather_nd, scatter_nd, tensor_scatter_nd_* ================================
//
// The three share one layout: a tensor of shape [L..., P...] (L: `lead` dims that every index
// applies to alike; 0 in the public ops, the batch dims in their rules), indices of shape
// [I..., K] addressing the first K dims of P, and slices of shape [L..., I..., P[K:]...].

namespace gt {
namespace {

struct NdPlan {
  int64_t lead = 1;    // elements of the L dims
  int64_t n = 0;       // index tuples
  int64_t slice = 1;   // elements of P[K:]
  int64_t p_size = 1;  // elements of P
  std::vector<int64_t> offsets;  // element offset of each index tuple inside P
};

// Calls f(offset of the indexed slice in P, offset of its row among the gathered slices) for each
// lead position and index tuple; nothing when the slices are empty (lead and n may be huge).
template <class F>
void for_each_nd_slice(const NdPlan& p, F f) {
  if (p.slice == 0) return;
  for (int64_t l = 0; l < p.lead; ++l)
    for (int64_t j = 0; j < p.n; ++j) f(l * p.p_size + p.offsets[size_t(j)], (l * p.n + j) * p.slice);
}

NdPlan plan_nd(const Shape& full, int lead, const Tensor& indices, const char* op) {
  require_index(indices, op, "indices");
  if (indices.ndim() < 1) throw InvalidArgument(std::string(op) + ": indices must have rank >= 1, got a scalar");
  const int k = int(indices.shape()[indices.ndim() - 1]);
  const int pr = full.rank() - lead;
  if (k > pr)
    throw InvalidArgument(std::string(op) + ": index innermost dimension length must be <= params rank; saw: " +
                          std::to_string(k) + " vs. " + std::to_string(pr));
  NdPlan p;
  for (int d = 0; d < lead; ++d) p.lead *= full[d];
  int64_t st[kMaxRank];
  Shape pshape;
  for (int d = lead; d < full.rank(); ++d) pshape.push_back(full[d]);
  contiguous_strides(pshape, st);
  for (int d = k; d < pr; ++d) p.slice *= pshape[d];
  p.p_size = pshape.numel();
  p.n = k ? indices.numel() / k : indices.numel();
  if (k == 0) {
    p.n = 1;
    for (int d = 0; d + 1 < indices.ndim(); ++d) p.n *= indices.shape()[d];
  }
  p.offsets.resize(size_t(p.n));
  for (int64_t j = 0; j < p.n; ++j) {
    int64_t off = 0;
    for (int d = 0; d < k; ++d) {
      const int64_t i = index_at(indices, j * k + d);
      if (i < 0 || i >= pshape[d]) {
        std::string tuple;
        for (int e = 0; e < k; ++e) tuple += (e ? ", " : "") + std::to_string(index_at(indices, j * k + e));
        throw InvalidArgument(std::string(op) + ": indices[" + std::to_string(j) + "] = [" + tuple +
                              "] does not index into shape " + pshape.str());
      }
      off += i * st[d];
    }
    p.offsets[size_t(j)] = off;
  }
  return p;
}

// The slices' shape: [L..., I..., P[K:]...].
Shape nd_slices_shape(const Shape& full, int lead, const Tensor& indices) {
  Shape s;
  for (int d = 0; d < lead; ++d) s.push_back(full[d]);
  for (int d = 0; d + 1 < indices.ndim(); ++d) s.push_back(indices.shape()[d]);
  for (int d = lead + int(indices.shape()[indices.ndim() - 1]); d < full.rank(); ++d) s.push_back(full[d]);
  return s;
}

void check_policy(const std::string& policy, const char* op) {
  if (!policy.empty() && policy != "DEFAULT" && policy != "ERROR")
    throw InvalidArgument(std::string(op) + ": bad_indices_policy '" + policy +
                          "' is not supported (out-of-range indices are always an error)");
}

}  // namespace

Tensor gather_nd_lead(const Tensor& params, const Tensor& indices, int64_t lead) {
  require_defined(params, "gather_nd");
  NdPlan p = plan_nd(params.shape(), int(lead), indices, "gather_nd");
  Shape out_shape = nd_slices_shape(params.shape(), int(lead), indices);
  Tensor out = Tensor::empty(params.dtype(), out_shape);
  if (out.numel()) {
    const size_t es = dtype_size(params.dtype()), chunk = size_t(p.slice) * es;
    const char* src = static_cast<const char*>(params.raw());
    char* dst = static_cast<char*>(out.raw());
    for_each_nd_slice(p, [&](int64_t at, int64_t row) { std::memcpy(dst + size_t(row) * es, src + size_t(at) * es, chunk); });
  }
  record(OpId::GatherNd, {&params, &indices}, out, {lead});
  return out;
}

Tensor scatter_nd_lead(const Tensor& indices, const Tensor& updates, const std::vector<int64_t>& shape, int64_t lead) {
  require_defined(updates, "scatter_nd");
  require_numeric(updates, "scatter_nd");
  if (updates.ndim() < lead) throw InvalidArgument("scatter_nd: updates have too few dimensions");
  std::vector<int64_t> full(updates.shape().data(), updates.shape().data() + lead);
  for (int64_t d : shape) {
    if (d < 0) throw InvalidArgument("scatter_nd: shape " + Shape(shape).str() + " has a negative dimension");
    full.push_back(d);
  }
  const Shape full_shape(full);
  NdPlan p = plan_nd(full_shape, int(lead), indices, "scatter_nd");
  const Shape want = nd_slices_shape(full_shape, int(lead), indices);
  if (updates.shape() != want)
    throw InvalidArgument("scatter_nd: updates must have shape " + want.str() + " (indices.shape[:-1] + shape[K:]), got " +
                          updates.shape().str());
  Tensor out = zeroed(full_shape, updates.dtype());
  dispatch_numeric(updates.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = updates.data<T>();
    T* dst = out.data<T>();
    for_each_nd_slice(p, [&](int64_t at, int64_t row) {
      for (int64_t i = 0; i < p.slice; ++i) dst[at + i] = kernels::wrap_add(dst[at + i], src[row + i]);
    });
  });
  std::vector<int64_t> attrs{lead};
  attrs.insert(attrs.end(), shape.begin(), shape.end());
  const Tensor* in[2] = {&indices, &updates};
  record_n(OpId::ScatterNd, in, 2, out, attrs.data(), int(attrs.size()));
  return out;
}

Tensor tensor_scatter_nd_lead(const Tensor& tensor, const Tensor& indices, const Tensor& updates, int64_t mode,
                              int64_t lead) {
  const char* op = mode == 0 ? "tensor_scatter_nd_update" : "tensor_scatter_nd_add";
  require_same_dtype(tensor, updates, op);
  if (mode == 1) require_numeric(tensor, op);
  NdPlan p = plan_nd(tensor.shape(), int(lead), indices, op);
  const Shape want = nd_slices_shape(tensor.shape(), int(lead), indices);
  if (updates.shape() != want)
    throw InvalidArgument(std::string(op) + ": updates must have shape " + want.str() +
                          " (indices.shape[:-1] + tensor.shape[K:]), got " + updates.shape().str());
  Tensor out = Tensor::empty(tensor.dtype(), tensor.shape());
  if (out.numel()) std::memcpy(out.raw(), tensor.raw(), size_t(out.numel()) * dtype_size(out.dtype()));
  dispatch_all(tensor.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = updates.data<T>();
    T* dst = out.data<T>();
    for_each_nd_slice(p, [&](int64_t at, int64_t row) {
      if (mode == 0) std::copy(src + row, src + row + p.slice, dst + at);
      else if constexpr (!std::is_same_v<T, bool>)
        for (int64_t i = 0; i < p.slice; ++i) dst[at + i] = kernels::wrap_add(dst[at + i], src[row + i]);
    });
  });
  record(OpId::TensorScatterNd, {&tensor, &indices, &updates}, out, {mode, lead});
  return out;
}

Tensor gather_nd(const Tensor& params, const Tensor& indices, int64_t batch_dims, const std::string& bad_indices_policy) {
  if (batch_dims != 0) throw InvalidArgument("gather_nd: batch_dims other than 0 is not supported");
  check_policy(bad_indices_policy, "gather_nd");
  return gather_nd_lead(params, indices, 0);
}
// d gather_nd(p, i) = g added back at the gathered positions
void vjp_GatherNd(VjpCtx& c) {
  const int lead = int(c.attrs[0]);
  std::vector<int64_t> pshape(c.in[0].shape().data() + lead, c.in[0].shape().data() + c.in[0].ndim());
  c.gin[0] = scatter_nd_lead(c.in[1], c.g, pshape, c.axis(lead));
}
Tensor jvp_GatherNd(JvpCtx& c) { return gather_nd_lead(c.t[0], c.in[1], c.axis(c.attrs[0])); }

Tensor scatter_nd(const Tensor& indices, const Tensor& updates, const std::vector<int64_t>& shape,
                  const std::string& bad_indices_policy) {
  check_policy(bad_indices_policy, "scatter_nd");
  return scatter_nd_lead(indices, updates, shape, 0);
}
// d scatter_nd(i, u) / du = g gathered at the scattered positions
void vjp_ScatterNd(VjpCtx& c) { c.gin[1] = gather_nd_lead(c.g, c.in[0], c.axis(c.attrs[0])); }
Tensor jvp_ScatterNd(JvpCtx& c) {
  return scatter_nd_lead(c.in[0], c.t[1], std::vector<int64_t>(c.attrs + 1, c.attrs + c.n_attrs), c.axis(c.attrs[0]));
}

Tensor tensor_scatter_nd_update(const Tensor& tensor, const Tensor& indices, const Tensor& updates) {
  return tensor_scatter_nd_lead(tensor, indices, updates, 0, 0);
}
Tensor tensor_scatter_nd_add(const Tensor& tensor, const Tensor& indices, const Tensor& updates,
                             const std::string& bad_indices_policy) {
  check_policy(bad_indices_policy, "tensor_scatter_nd_add");
  return tensor_scatter_nd_lead(tensor, indices, updates, 1, 0);
}
// d/d tensor: g, less the overwritten positions (update); d/d updates: g gathered there
void vjp_TensorScatterNd(VjpCtx& c) {
  const int64_t mode = c.attrs[0], lead = c.attrs[1];
  if (c.needs[0]) {
    if (mode == 1) {
      c.gin[0] = c.g;
    } else {
      Tensor hit;
      {
        RecordingPause pause;  // which positions were overwritten: bookkeeping
        hit = tensor_scatter_nd_lead(zeros(c.in[0].shape(), DType::Bool), c.in[1],
                                     ones(c.in[2].shape(), DType::Bool), 0, lead);
      }
      c.gin[0] = where(hit, zero_of(c.g), c.g);
    }
  }
  if (c.needs[2]) c.gin[2] = gather_nd_lead(c.g, c.in[1], c.axis(lead));
}
Tensor jvp_TensorScatterNd(JvpCtx& c) {
  return tensor_scatter_nd_lead(c.or_zeros(0), c.in[1], c.or_zeros(2), c.attrs[0], c.axis(c.attrs[1]));
}

// ================================ shapes as tensors, eye, split, unstack, meshgrid ================================

namespace {
DType shape_dtype(const std::optional<DType>& out_type, const char* op) {
  const DType d = out_type.value_or(DType::Int32);
  if (d != DType::Int32 && d != DType::Int64)
    throw InvalidArgument(std::string(op) + ": value for attr 'out_type' of " + dtype_name(d) +
                          " is not in the list of allowed values: int32, int64");
  return d;
}
Tensor ints_tensor(const std::vector<int64_t>& v, DType d, const Shape& s) {
  Tensor t = from_data(v.data(), DType::Int64, s);
  return d == DType::Int64 ? t : cast(t, d);
}
}  // namespace

Tensor shape(const Tensor& input, const std::optional<DType>& out_type) {
  require_defined(input, "shape");
  return ints_tensor(input.shape().vec(), shape_dtype(out_type, "shape"), Shape{int64_t(input.ndim())});
}

TensorList shape_n(const TensorList& input, const std::optional<DType>& out_type) {
  TensorList out;
  for (const Tensor& t : input) out.push_back(shape(t, shape_dtype(out_type, "shape_n")));
  return out;
}

Tensor size(const Tensor& input, const std::optional<DType>& out_type) {
  require_defined(input, "size");
  // (TensorFlow's tf.size makes a constant of any out_type when the shape is known)
  return ints_tensor({input.numel()}, out_type.value_or(DType::Int32), Shape{});
}

Tensor rank(const Tensor& input) {
  require_defined(input, "rank");
  return ints_tensor({int64_t(input.ndim())}, DType::Int32, Shape{});
}

Tensor eye(int64_t num_rows, const std::optional<int64_t>& num_columns, const std::optional<std::vector<int64_t>>& batch_shape,
           DType dtype) {
  const int64_t cols = num_columns.value_or(num_rows);
  if (num_rows < 0 || cols < 0)
    throw InvalidArgument("eye: dimension " + std::to_string(std::min(num_rows, cols)) + " must be >= 0");
  std::vector<int64_t> dims = batch_shape.value_or(std::vector<int64_t>{});
  dims.push_back(num_rows);
  dims.push_back(cols);
  if (is_half(dtype)) return cast(eye(num_rows, num_columns, batch_shape, DType::Float32), dtype);
  Tensor out = zeroed(Shape(dims), dtype);
  const int64_t n = std::min(num_rows, cols), mat = num_rows * cols;
  if (out.numel())
    dispatch_all(dtype, [&](auto tag) {
      using T = decltype(tag);
      T* p = out.data<T>();
      for (int64_t b = 0; b < out.numel() / mat; ++b)
        for (int64_t i = 0; i < n; ++i) p[b * mat + i * cols + i] = T(1);
    });
  return out;
}

namespace {
// The piece [begin, begin + size) of x along axis a.
Tensor piece(const Tensor& x, int a, int64_t begin, int64_t size) {
  std::vector<int64_t> b(size_t(x.ndim()), 0), e = x.shape().vec(), st(size_t(x.ndim()), 1);
  b[size_t(a)] = begin;
  e[size_t(a)] = begin + size;
  return strided_slice(x, b, e, st);
}
}  // namespace

TensorList split(const Tensor& value, const Tensor& num_or_size_splits, int64_t axis, const std::optional<int64_t>& num) {
  require_defined(value, "split");
  require_index(num_or_size_splits, "split", "num_or_size_splits");
  const int a = normalize_axis(axis, value.ndim(), "split");
  const int64_t n = value.shape()[a];
  std::vector<int64_t> sizes;
  if (num_or_size_splits.ndim() == 0) {
    const int64_t k = index_at(num_or_size_splits, 0);
    if (k < 1) throw InvalidArgument("split: value for attr 'num_split' of " + std::to_string(k) + " must be at least minimum 1");
    if (n % k != 0)
      throw InvalidArgument("split: number of ways to split should evenly divide the split dimension, but got split_dim " +
                            std::to_string(a) + " (size = " + std::to_string(n) + ") and num_split " + std::to_string(k));
    sizes.assign(size_t(k), n / k);
  } else {
    if (num_or_size_splits.ndim() != 1)
      throw InvalidArgument("split: num_or_size_splits must be a scalar or a vector, got shape " +
                            num_or_size_splits.shape().str());
    int infer = -1;
    int64_t known = 0;
    for (int64_t i = 0; i < num_or_size_splits.numel(); ++i) {
      const int64_t s = index_at(num_or_size_splits, i);
      if (s == -1 && infer < 0) infer = int(i);
      else if (s < 0) throw InvalidArgument("split: size_splits may hold one -1 and otherwise sizes >= 0");
      else known += s;
      sizes.push_back(s);
    }
    if (infer >= 0 && known <= n) sizes[size_t(infer)] = n - known;
    else if (known != n || infer >= 0)
      throw InvalidArgument("split: determined shape must either match input shape along split_dim exactly if fully "
                            "specified, or be less than the size of the input along split_dim if not fully specified. "
                            "Got: " + std::to_string(known) + " vs. " + std::to_string(n));
    if (num && *num != int64_t(sizes.size()))
      throw InvalidArgument("split: num = " + std::to_string(*num) + " does not match the " +
                            std::to_string(sizes.size()) + " sizes given");
  }
  TensorList out;
  int64_t begin = 0;
  for (int64_t s : sizes) {
    out.push_back(piece(value, a, begin, s));
    begin += s;
  }
  return out;
}

TensorList unstack(const Tensor& value, const std::optional<int64_t>& num, int64_t axis) {
  require_defined(value, "unstack");
  if (axis < -value.ndim() || axis >= value.ndim())
    throw InvalidArgument("unstack: argument `axis` = " + std::to_string(axis) + " not in range [" +
                          std::to_string(-value.ndim()) + ", " + std::to_string(value.ndim()) + ")");
  const int a = int(axis < 0 ? axis + value.ndim() : axis);
  const int64_t n = value.shape()[a];
  if (num && *num != n)
    throw InvalidArgument("unstack: input shape axis " + std::to_string(a) + " must equal " + std::to_string(*num) +
                          ", got shape " + value.shape().str());
  TensorList out;
  for (int64_t i = 0; i < n; ++i) out.push_back(squeeze(piece(value, a, i, 1), {a}));
  return out;
}

TensorList meshgrid(const TensorList& args, const std::string& indexing) {
  if (indexing != "xy" && indexing != "ij")
    throw InvalidArgument("meshgrid: argument `indexing` parameter must be either 'xy' or 'ij', got '" + indexing + "'");
  const int n = int(args.size());
  if (n > kMaxRank) throw InvalidArgument("meshgrid: at most " + std::to_string(kMaxRank) + " inputs");
  std::vector<int64_t> dims;
  for (const Tensor& t : args) {
    require_same_dtype(args[0], t, "meshgrid");
    dims.push_back(t.numel());
  }
  if (indexing == "xy" && n >= 2) std::swap(dims[0], dims[1]);
  TensorList out;
  for (int i = 0; i < n; ++i) {
    std::vector<int64_t> s(size_t(n), 1);
    const int at = indexing == "xy" && n >= 2 && i < 2 ? 1 - i : i;
    s[size_t(at)] = -1;
    out.push_back(broadcast_to(reshape(args[size_t(i)], s), Shape(dims)));
  }
  return out;
}

Tensor broadcast_dynamic_shape(const Tensor& shape_x, const Tensor& shape_y) {
  require_index(shape_x, "broadcast_dynamic_shape", "shape_x");
  require_same_dtype(shape_x, shape_y, "broadcast_dynamic_shape");
  auto as_shape = [](const Tensor& t) {
    if (t.ndim() != 1) throw InvalidArgument("broadcast_dynamic_shape: shapes must be vectors, got shape " + t.shape().str());
    std::vector<int64_t> v;
    for (int64_t i = 0; i < t.numel(); ++i) v.push_back(index_at(t, i));
    return Shape(v);
  };
  const Shape b = broadcast_shapes(as_shape(shape_x), as_shape(shape_y), "broadcast_dynamic_shape");
  return ints_tensor(b.vec(), shape_x.dtype(), Shape{int64_t(b.rank())});
}

}  // namespace gt
