// Convolutions and pooling over NHWC images (batch, rows, columns, channels), TensorFlow's
// tf.nn functions: conv2d, conv1d, depthwise_conv2d, conv2d_transpose, max_pool*, avg_pool*.
//
// Two primitives carry them, each the other's adjoint and both linear:
//   im2col(x) [N, H, W, C] -> [N*OH*OW, KH*KW*C]: each output position's window, flattened;
//   col2im(cols) -> [N, H, W, C]: each pixel the sum of its copies in cols.
// So vjp(im2col) = col2im and vjp(col2im) = im2col, and each one's jvp is itself on the
// tangent. A convolution is im2col followed by one GEMM with the filters as a [KH*KW*C, O]
// matrix; its gradients come from matmul's rule and im2col's: the input's gradient is
// col2im(g W^T) (TensorFlow's Conv2DBackpropInput), the filters' cols^T g
// (Conv2DBackpropFilter), and, written in ops, they differentiate again (any order).
// conv2d_transpose is col2im(x W^T) itself; avg_pool sums the window's columns of im2col;
// max_pool takes each window's first largest element (the gradient goes to that one alone,
// as TensorFlow's MaxPoolGrad): its primitive max_pool_nhwc saves those positions, and its
// rules are gather's (gather_grad, and gather again) with a dedicated scatter on the fast path.
// A float conv2d runs as the blocked primitive conv2d_nhwc (kernels/conv.h), whose rules are
// the im2col/matmul ones above; in float32 with a multiple of 16 output channels its kernels
// are the direct convolution (kernels/conv_direct.cpp) instead of im2col + GEMM.
// NCHW runs through transposes to NHWC and back.
#include <cmath>

#include "kernels/conv.h"
#include "kernels/im2col.h"
#include "ops_common.h"
#include "structural.h"

namespace gt {

using kernels::ConvGeom;

namespace {

constexpr int kGeomAttrs = 13;  // h w c kh kw sh sw dh dw pt pl oh ow

std::vector<int64_t> geom_attrs(const ConvGeom& g) {
  return {g.h, g.w, g.c, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl, g.oh, g.ow};
}
ConvGeom geom_of(const int64_t* a) {
  return ConvGeom{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12]};
}

std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// The output size and padding before of one spatial dimension (TensorFlow's
// GetWindowedOutputSize): VALID: no padding; SAME: ceil(size / stride) outputs, padded evenly
// (the odd one after); EXPLICIT: the given before and after.
void window(const char* op, const char* dim, int64_t size, int64_t k, int64_t s, int64_t d, const std::string& mode,
            int64_t before, int64_t after, int64_t& out, int64_t& pad) {
  const int64_t eff = (k - 1) * d + 1;
  if (mode == "SAME") {
    out = (size + s - 1) / s;
    const int64_t total = std::max<int64_t>((out - 1) * s + eff - size, 0);
    pad = total / 2;
    return;
  }
  if (mode == "VALID") before = after = 0;
  pad = before;
  const int64_t span = size + before + after - eff;
  if (span < 0)
    throw InvalidArgument(std::string(op) + ": computed output size would be negative: the window of " +
                          std::to_string(eff) + " (with dilation) is larger than the padded input " + dim +
                          " of " + std::to_string(size + before + after));
  out = span / s + 1;
}

// TensorFlow's _get_sequence: an int, or a list of 1, n or n + 2 ints (the latter in the data
// format's order) -> the n spatial values; the batch and channel entries must be 1.
std::vector<int64_t> spatial(const std::optional<std::vector<int64_t>>& v, int n, bool channels_last,
                             const char* what, const char* op) {
  if (!v) return std::vector<int64_t>(size_t(n), 1);
  const std::vector<int64_t>& a = *v;
  std::vector<int64_t> r;
  if (a.size() == 1) r.assign(size_t(n), a[0]);
  else if (int(a.size()) == n) r = a;
  else if (int(a.size()) == n + 2) {
    const int64_t batch = a[0], chan = channels_last ? a[size_t(n + 1)] : a[1];
    if (batch != 1 || chan != 1)
      throw InvalidArgument(std::string(op) + ": " + what + " " + ints_str(a) +
                            " must be 1 in the batch and channel dimensions");
    r.assign(a.begin() + (channels_last ? 1 : 2), a.begin() + (channels_last ? 1 : 2) + n);
  } else {
    throw ValueError_(std::string(op) + ": " + what + " should be of length 1, " + std::to_string(n) + " or " +
                      std::to_string(n + 2) + ". Received: " + what + "=" + ints_str(a) + " of length " +
                      std::to_string(a.size()));
  }
  for (int64_t x : r)
    if (x < 1) throw InvalidArgument(std::string(op) + ": " + what + " must be positive, got " + ints_str(a));
  return r;
}

// The padding's mode and the [before, after] pairs of the n spatial dims (explicit only).
std::string padding_mode(const Padding& p, int n, bool channels_last, const char* op, bool explicit_ok,
                         std::vector<int64_t>& pairs) {
  pairs.assign(size_t(2 * n), 0);
  if (p.mode == "SAME" || p.mode == "VALID") return p.mode;
  if (p.mode != "EXPLICIT")
    throw InvalidArgument(std::string(op) + ": value for attr 'padding' of \"" + p.mode +
                          "\" is not in the list of allowed values: \"SAME\", \"VALID\"" +
                          (explicit_ok ? ", or explicit paddings" : ""));
  if (!explicit_ok) throw TypeError_(std::string(op) + ": padding must be the string 'SAME' or 'VALID'");
  if (int(p.pairs.size()) != 2 * (n + 2))
    throw ValueError_(std::string(op) + ": explicit padding must have " + std::to_string(n + 2) +
                      " [before, after] pairs (one per input dimension), got " + ints_str(p.pairs));
  const int first = channels_last ? 1 : 2;
  for (int d = 0; d < n + 2; ++d) {
    const int64_t b = p.pairs[size_t(2 * d)], a = p.pairs[size_t(2 * d + 1)];
    if (b < 0 || a < 0) throw InvalidArgument(std::string(op) + ": explicit paddings must be nonnegative, got " + ints_str(p.pairs));
    const bool spatial_dim = d >= first && d < first + n;
    if (!spatial_dim && (b || a))
      throw ValueError_(std::string(op) + ": explicit padding of the batch and channel dimensions must be 0, got " +
                        ints_str(p.pairs));
    if (spatial_dim) {
      pairs[size_t(2 * (d - first))] = b;
      pairs[size_t(2 * (d - first) + 1)] = a;
    }
  }
  return "EXPLICIT";
}

bool channels_last_format(const std::string& f, const char* last, const char* first, const char* op) {
  if (f == last) return true;
  if (f == first) return false;
  throw InvalidArgument(std::string(op) + ": value for attr 'data_format' of \"" + f +
                        "\" is not in the list of allowed values: \"" + last + "\", \"" + first + "\"");
}

Tensor to_nhwc(const Tensor& x, bool channels_last) { return channels_last ? x : transpose(x, {0, 2, 3, 1}); }
Tensor from_nhwc(const Tensor& x, bool channels_last) { return channels_last ? x : transpose(x, {0, 3, 1, 2}); }

// The geometry of a 2-d window op on an NHWC input of shape x.
ConvGeom make_geom(const char* op, const Shape& x, int64_t kh, int64_t kw, const std::vector<int64_t>& s,
                   const std::vector<int64_t>& d, const std::string& mode, const std::vector<int64_t>& pairs) {
  ConvGeom g{};
  g.h = x[1]; g.w = x[2]; g.c = x[3];
  g.kh = kh; g.kw = kw; g.sh = s[0]; g.sw = s[1]; g.dh = d[0]; g.dw = d[1];
  window(op, "height", g.h, kh, g.sh, g.dh, mode, pairs[0], pairs[1], g.oh, g.pt);
  window(op, "width", g.w, kw, g.sw, g.dw, mode, pairs[2], pairs[3], g.ow, g.pl);
  return g;
}

// Folds leading dims beyond `keep` into the first: [B..., N, rest] -> [B*N, rest].
std::vector<int64_t> folded(const Shape& s, int keep) {
  std::vector<int64_t> v{-1};
  for (int i = s.rank() - keep + 1; i < s.rank(); ++i) v.push_back(s[i]);
  return v;
}

}  // namespace

// ---------------- the primitives: im2col and its adjoint col2im

Tensor im2col(const Tensor& x, const std::vector<int64_t>& attrs) {
  const ConvGeom g = geom_of(attrs.data());
  const int64_t n = x.shape()[0];
  Tensor out = Tensor::empty(x.dtype(), Shape{n * g.oh * g.ow, g.k()});
  if (out.numel() > 0)
    dispatch_wide(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kernels::im2col(x.data<T>(), n, g, out.data<T>());
    });
  const Tensor* in[1] = {&x};
  record_n(OpId::Im2Col, in, 1, out, attrs.data(), kGeomAttrs);
  return out;
}

Tensor col2im(const Tensor& cols, const std::vector<int64_t>& attrs) {
  const ConvGeom g = geom_of(attrs.data());
  const int64_t n = g.oh * g.ow == 0 ? 0 : cols.shape()[0] / (g.oh * g.ow);
  Tensor out = Tensor::empty(cols.dtype(), Shape{n, g.h, g.w, g.c});
  if (out.numel() > 0)
    dispatch_wide(cols.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kernels::col2im(cols.data<T>(), n, g, out.data<T>());
    });
  const Tensor* in[1] = {&cols};
  record_n(OpId::Col2Im, in, 1, out, attrs.data(), kGeomAttrs);
  return out;
}

// A batch of gradients or tangents [B..., N, H, W, C] folds into the image batch and back.
// d im2col(x) = col2im(g)
void vjp_Im2Col(VjpCtx& c) {
  std::vector<int64_t> a(c.attrs, c.attrs + c.n_attrs);
  c.gin[0] = reshape(col2im(reshape(c.g, folded(c.g.shape(), 2)), a), c.shape(c.in[0].shape()));
}
Tensor jvp_Im2Col(JvpCtx& c) {
  std::vector<int64_t> a(c.attrs, c.attrs + c.n_attrs);
  return reshape(im2col(reshape(c.t[0], folded(c.t[0].shape(), 4)), a), c.shape(c.out.shape()));
}
// d col2im(cols) = im2col(g)
void vjp_Col2Im(VjpCtx& c) {
  std::vector<int64_t> a(c.attrs, c.attrs + c.n_attrs);
  c.gin[0] = reshape(im2col(reshape(c.g, folded(c.g.shape(), 4)), a), c.shape(c.in[0].shape()));
}
Tensor jvp_Col2Im(JvpCtx& c) {
  std::vector<int64_t> a(c.attrs, c.attrs + c.n_attrs);
  return reshape(col2im(reshape(c.t[0], folded(c.t[0].shape(), 2)), a), c.shape(c.out.shape()));
}

// ---------------- the blocked float convolution
//
// conv2d_nhwc(x, w) is reshape(im2col(x) W) with W = reshape(w, [K, O]), computed block by
// block of images (kernels/conv.h) so that the patch matrix is never stored whole. Its rule:
//   d x = col2im(g W^T)   d w = reshape(im2col(x)^T g)
// When nothing records the rule, both come from the blocked kernels; when a tape records it
// (a gradient of a gradient) or g carries batch dims (a Jacobian), they are written with
// im2col, col2im and matmul, which differentiate again. The op is linear in each input, so its
// jvp is conv2d_nhwc(tx, w) + im2col(x) reshape(tw, [K, O]).

Tensor conv2d_nhwc(const Tensor& x, const Tensor& w, const std::vector<int64_t>& attrs) {
  const ConvGeom g = geom_of(attrs.data());
  const int64_t n = x.shape()[0], o = w.shape()[3];
  Tensor out = Tensor::empty(x.dtype(), Shape{n, g.oh, g.ow, o});
  if (out.numel() > 0)
    dispatch_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kernels::conv_forward(x.data<T>(), n, g, w.data<T>(), o, out.data<T>());
    });
  const Tensor* in[2] = {&x, &w};
  record_n(OpId::Conv2DNhwc, in, 2, out, attrs.data(), kGeomAttrs);
  return out;
}

void vjp_Conv2DNhwc(VjpCtx& c) {
  const ConvGeom g = geom_of(c.attrs);
  std::vector<int64_t> a(c.attrs, c.attrs + c.n_attrs);
  const Tensor &x = c.in[0], &w = c.in[1];
  const int64_t n = x.shape()[0], o = w.shape()[3], K = g.k(), P = n * g.oh * g.ow;
  if (!rule_is_recorded() && c.batch_dims() == 0) {
    const Tensor gout = c.g;
    dispatch_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if (c.needs[0]) {
        c.gin[0] = Tensor::empty(x.dtype(), x.shape());
        if (c.gin[0].numel() > 0) kernels::conv_backward_input(gout.data<T>(), n, g, w.data<T>(), o, c.gin[0].data<T>());
      }
      if (c.needs[1]) {
        c.gin[1] = Tensor::empty(w.dtype(), w.shape());
        if (c.gin[1].numel() > 0) kernels::conv_backward_filter(x.data<T>(), n, g, gout.data<T>(), o, c.gin[1].data<T>());
      }
    });
    return;
  }
  const Tensor g2 = reshape(c.g, c.shape(Shape{P, o}));  // [B..., P, O]
  if (c.needs[0]) {
    const Tensor gcols = matmul(g2, reshape(w, {K, o}), false, true);  // [B..., P, K]
    c.gin[0] = reshape(col2im(reshape(gcols, {-1, K}), a), c.shape(x.shape()));
  }
  if (c.needs[1]) c.gin[1] = reshape(matmul(im2col(x, a), g2, true, false), c.shape(w.shape()));
}

Tensor jvp_Conv2DNhwc(JvpCtx& c) {
  const ConvGeom g = geom_of(c.attrs);
  std::vector<int64_t> a(c.attrs, c.attrs + c.n_attrs);
  const Tensor &x = c.in[0], &w = c.in[1];
  const int64_t o = w.shape()[3], K = g.k();
  Tensor r;
  if (c.t[0].defined())
    r = reshape(conv2d_nhwc(reshape(c.t[0], folded(c.t[0].shape(), 4)), w, a), c.shape(c.out.shape()));
  if (c.t[1].defined()) {
    Tensor part = matmul(im2col(x, a), reshape(c.t[1], c.shape(Shape{K, o})));  // [B..., P, O]
    part = reshape(part, c.shape(c.out.shape()));
    r = r.defined() ? r + part : part;
  }
  return r;
}

// ---------------- convolutions

namespace {

// conv over NHWC x [N, H, W, C] and w [KH, KW, C, O]: im2col and one GEMM.
Tensor conv_nhwc(const Tensor& x, const Tensor& w, const ConvGeom& g) {
  const int64_t n = x.shape()[0], o = w.shape()[3];
  Tensor cols;
  if (g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.oh == g.h && g.ow == g.w)
    cols = reshape(x, {n * g.h * g.w, g.c});  // a 1x1 convolution is a matmul
  else if (is_floating(x.dtype()) && x.dtype() == w.dtype() && w.ndim() == 4)
    return conv2d_nhwc(x, w, geom_attrs(g));  // blocked: the patch matrix is never stored whole
  else
    cols = im2col(x, geom_attrs(g));
  return reshape(matmul(cols, reshape(w, {g.k(), o})), {n, g.oh, g.ow, o});
}

void check_conv_operands(const char* op, const Tensor& input, const Tensor& filters, int spatial_rank) {
  require_same_dtype(input, filters, op);
  require_numeric(input, op);
  if (filters.ndim() != spatial_rank + 2)
    throw InvalidArgument(std::string(op) + ": filter must be " + std::to_string(spatial_rank + 2) +
                          "-dimensional: " + filters.shape().str());
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& filters, const std::vector<int64_t>& strides, const Padding& padding,
              const std::string& data_format, const std::optional<std::vector<int64_t>>& dilations) {
  const char* op = "conv2d";
  check_conv_operands(op, input, filters, 2);
  const bool last = channels_last_format(data_format, "NHWC", "NCHW", op);
  if (input.ndim() < 4)
    throw InvalidArgument(std::string(op) + ": input must be at least 4-dimensional, got shape " + input.shape().str());
  std::vector<int64_t> s = spatial(strides, 2, last, "strides", op);
  std::vector<int64_t> d = spatial(dilations, 2, last, "dilations", op);
  std::vector<int64_t> pairs;
  const std::string mode = padding_mode(padding, 2, last, op, true, pairs);
  // leading dims beyond the 4 are batch dims
  const Shape& full = input.shape();
  Tensor x = input.ndim() > 4 ? reshape(input, folded(full, 4)) : input;
  x = to_nhwc(x, last);
  const int64_t c = x.shape()[3];
  if (filters.shape()[2] != c)
    throw InvalidArgument(std::string(op) + ": input depth " + std::to_string(c) + " must equal the filter depth " +
                          std::to_string(filters.shape()[2]) + " (grouped convolutions are not supported); shapes " +
                          full.str() + " and " + filters.shape().str());
  const ConvGeom g = make_geom(op, x.shape(), filters.shape()[0], filters.shape()[1], s, d, mode, pairs);
  Tensor out = from_nhwc(conv_nhwc(x, filters, g), last);
  if (input.ndim() > 4) {
    std::vector<int64_t> shape(full.data(), full.data() + full.rank() - 3);
    for (int i = 1; i < 4; ++i) shape.push_back(out.shape()[i]);
    out = reshape(out, shape);
  }
  return out;
}

namespace {
// A 1-d op as the 2-d one over a height of 1: [N, W, C] <-> [N, 1, W, C] (or NCW <-> NC1W).
Padding padding_2d(const Padding& p, bool last) {
  if (p.mode != "EXPLICIT" || p.pairs.size() != 6) return p;
  std::vector<int64_t> v = p.pairs;
  v.insert(v.begin() + (last ? 2 : 4), {0, 0});
  return Padding{p.mode, v};
}
std::vector<int64_t> seq_2d(const std::vector<int64_t>& v, bool last, int64_t fill) {
  if (v.size() != 3) return v.size() == 1 ? std::vector<int64_t>{fill, v[0]} : v;
  std::vector<int64_t> r = v;
  r.insert(r.begin() + (last ? 1 : 2), fill);
  return r;
}
}  // namespace

Tensor conv1d(const Tensor& input, const Tensor& filters, const std::vector<int64_t>& stride, const Padding& padding,
              const std::string& data_format, const std::optional<std::vector<int64_t>>& dilations) {
  const char* op = "conv1d";
  check_conv_operands(op, input, filters, 1);
  const bool last = channels_last_format(data_format, "NWC", "NCW", op);
  if (input.ndim() < 3)
    throw InvalidArgument(std::string(op) + ": input must be at least 3-dimensional, got shape " + input.shape().str());
  if (stride.size() != 1 && stride.size() != 3)
    throw ValueError_(std::string(op) + ": stride should be of length 1 or 3. Received: stride=" + ints_str(stride));
  if (dilations && dilations->size() != 1 && dilations->size() != 3)
    throw ValueError_(std::string(op) + ": dilations should be of length 1 or 3. Received: dilations=" + ints_str(*dilations));
  const int axis = last ? input.ndim() - 2 : input.ndim() - 1;
  std::optional<std::vector<int64_t>> d2;
  if (dilations) d2 = seq_2d(*dilations, last, 1);
  Tensor out = conv2d(expand_dims(input, axis), expand_dims(filters, 0), seq_2d(stride, last, 1),
                      padding_2d(padding, last), last ? "NHWC" : "NCHW", d2);
  return squeeze(out, {axis});
}

Tensor depthwise_conv2d(const Tensor& input, const Tensor& filter, const std::vector<int64_t>& strides,
                        const Padding& padding, const std::optional<std::string>& data_format,
                        const std::optional<std::vector<int64_t>>& dilations) {
  const char* op = "depthwise_conv2d";
  check_conv_operands(op, input, filter, 2);
  const bool last = channels_last_format(data_format.value_or("NHWC"), "NHWC", "NCHW", op);
  if (input.ndim() != 4)
    throw InvalidArgument(std::string(op) + ": input must be 4-dimensional, got shape " + input.shape().str());
  if (strides.size() != 4)
    throw ValueError_(std::string(op) + ": strides should be of length 4. Received: strides=" + ints_str(strides));
  std::vector<int64_t> s = spatial(strides, 2, last, "strides", op);
  std::vector<int64_t> d = spatial(dilations, 2, last, "dilations", op);
  std::vector<int64_t> pairs;
  const std::string mode = padding_mode(padding, 2, last, op, true, pairs);
  Tensor x = to_nhwc(input, last);
  const int64_t n = x.shape()[0], c = x.shape()[3], kh = filter.shape()[0], kw = filter.shape()[1];
  const int64_t m = filter.shape()[3];
  if (filter.shape()[2] != c)
    throw InvalidArgument(std::string(op) + ": input depth " + std::to_string(c) + " must equal the filter's in_channels " +
                          std::to_string(filter.shape()[2]) + "; shapes " + input.shape().str() + " and " +
                          filter.shape().str());
  const ConvGeom g = make_geom(op, x.shape(), kh, kw, s, d, mode, pairs);
  const int64_t p = n * g.oh * g.ow;
  // per channel: its [P, KH*KW] columns times its [KH*KW, M] filter, as one batched matmul
  Tensor cols = transpose(reshape(im2col(x, geom_attrs(g)), {p, kh * kw, c}), {2, 0, 1});  // [C, P, KH*KW]
  Tensor w = transpose(reshape(filter, {kh * kw, c, m}), {1, 0, 2});                      // [C, KH*KW, M]
  Tensor out = transpose(matmul(cols, w), {1, 0, 2});                                       // [P, C, M]
  return from_nhwc(reshape(out, {n, g.oh, g.ow, c * m}), last);
}

Tensor conv2d_transpose(const Tensor& input, const Tensor& filters, const std::vector<int64_t>& output_shape,
                        const std::vector<int64_t>& strides, const Padding& padding, const std::string& data_format,
                        const std::optional<std::vector<int64_t>>& dilations) {
  const char* op = "conv2d_transpose";
  check_conv_operands(op, input, filters, 2);
  const bool last = channels_last_format(data_format, "NHWC", "NCHW", op);
  if (input.ndim() != 4)
    throw InvalidArgument(std::string(op) + ": input must be 4-dimensional, got shape " + input.shape().str());
  if (output_shape.size() != 4)
    throw ValueError_(std::string(op) + ": output_shape must have length 4, got " + ints_str(output_shape));
  std::vector<int64_t> s = spatial(strides, 2, last, "strides", op);
  std::vector<int64_t> d = spatial(dilations, 2, last, "dilations", op);
  std::vector<int64_t> pairs;
  const std::string mode = padding_mode(padding, 2, last, op, true, pairs);
  Tensor x = to_nhwc(input, last);  // [N, OH, OW, O]: the output of the convolution this transposes
  const Shape out_nhwc = last ? Shape{output_shape[0], output_shape[1], output_shape[2], output_shape[3]}
                              : Shape{output_shape[0], output_shape[2], output_shape[3], output_shape[1]};
  for (int i = 0; i < 4; ++i)
    if (out_nhwc[i] < 0) throw InvalidArgument(std::string(op) + ": output_shape must be nonnegative, got " + ints_str(output_shape));
  const int64_t kh = filters.shape()[0], kw = filters.shape()[1], c = filters.shape()[2], o = filters.shape()[3];
  if (out_nhwc[3] != c)
    throw ValueError_(std::string(op) + ": output_shape's depth " + std::to_string(out_nhwc[3]) +
                      " must equal the filters' output channels (dimension 2) " + std::to_string(c));
  if (x.shape()[3] != o)
    throw ValueError_(std::string(op) + ": input depth " + std::to_string(x.shape()[3]) +
                      " must equal the filters' input channels (dimension 3) " + std::to_string(o));
  const ConvGeom g = make_geom(op, out_nhwc, kh, kw, s, d, mode, pairs);
  if (out_nhwc[0] != x.shape()[0] || g.oh != x.shape()[1] || g.ow != x.shape()[2])
    throw InvalidArgument(std::string(op) + ": a convolution of output_shape " + ints_str(output_shape) +
                          " gives shape [" + std::to_string(out_nhwc[0]) + ", " + std::to_string(g.oh) + ", " +
                          std::to_string(g.ow) + ", " + std::to_string(o) + "], not the input's " + x.shape().str());
  const int64_t p = x.shape()[0] * g.oh * g.ow;
  Tensor cols = matmul(reshape(x, {p, o}), reshape(filters, {g.k(), o}), false, true);  // [P, KH*KW*C]
  return from_nhwc(col2im(cols, geom_attrs(g)), last);
}

// ---------------- pooling

namespace {

struct Pool {
  Tensor x;     // NHWC
  ConvGeom g;
  bool last;
};

Pool pool_setup(const char* op, const Tensor& input, const std::vector<int64_t>& ksize,
                const std::vector<int64_t>& strides, const Padding& padding, const std::string& data_format,
                bool explicit_ok) {
  require_defined(input, op);
  require_numeric(input, op);
  const bool last = channels_last_format(data_format, "NHWC", "NCHW", op);
  if (input.ndim() != 4)
    throw InvalidArgument(std::string(op) + ": input must be 4-dimensional, got shape " + input.shape().str());
  std::vector<int64_t> k = spatial(ksize, 2, last, "ksize", op);
  std::vector<int64_t> s = spatial(strides, 2, last, "strides", op);
  std::vector<int64_t> pairs;
  const std::string mode = padding_mode(padding, 2, last, op, explicit_ok, pairs);
  if (mode == "EXPLICIT" && (pairs[0] >= k[0] || pairs[1] >= k[0] || pairs[2] >= k[1] || pairs[3] >= k[1]))
    throw InvalidArgument(std::string(op) + ": explicit padding must be smaller than the window, got " +
                          ints_str(padding.pairs) + " with ksize " + ints_str(k));
  Tensor x = to_nhwc(input, last);
  return Pool{x, make_geom(op, x.shape(), k[0], k[1], s, {1, 1}, mode, pairs), last};
}

}  // namespace

// max_pool_nhwc(x) -> out [N, OH, OW, C]: each window's first largest element, per channel.
// It records x and the flat indices into x of those elements (idx, int64, one per output), so
// its rule scatters g back to them, as TensorFlow's MaxPoolGrad:
//   d x = gather_grad(g, idx)  (its mask rule is a gather's: unpicked positions get
//                               structural zeros)
// taken by a dedicated scatter kernel when nothing records the rule, and by gather_grad (which
// differentiates again) when a tape does or g is batched. Its jvp is gather(t, idx).
Tensor max_pool_nhwc(const Tensor& x, const std::vector<int64_t>& attrs) {
  const ConvGeom g = geom_of(attrs.data());
  const int64_t n = x.shape()[0];
  Tensor out = Tensor::empty(x.dtype(), Shape{n, g.oh, g.ow, g.c});
  Tensor idx = Tensor::empty(DType::Int64, Shape{n * g.oh * g.ow * g.c});
  if (out.numel() > 0)
    dispatch_wide(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kernels::max_pool_forward(x.data<T>(), n, g, out.data<T>(), idx.data<int64_t>());
    });
  const Tensor* in[2] = {&x, &idx};
  record_n(OpId::MaxPoolNhwc, in, 2, out, attrs.data(), kGeomAttrs);
  return out;
}

void vjp_MaxPoolNhwc(VjpCtx& c) {
  if (!c.needs[0]) return;
  const Tensor &x = c.in[0], &idx = c.in[1];
  if (!rule_is_recorded() && c.batch_dims() == 0 && is_floating(c.g.dtype()) && c.g.dtype() == x.dtype()) {
    const ConvGeom g = geom_of(c.attrs);
    const Tensor gout = c.g;
    c.gin[0] = Tensor::empty(x.dtype(), x.shape());
    if (c.gin[0].numel() > 0)
      dispatch_float(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        kernels::max_pool_scatter(gout.data<T>(), idx.data<int64_t>(), x.shape()[0], g, c.gin[0].data<T>());
      });
    return;
  }
  const Tensor flat = reshape(c.g, c.shape(Shape{idx.numel()}));
  c.gin[0] = reshape(gather_grad(flat, idx, c.batch_dims(), x.numel()), c.shape(x.shape()));
}

Tensor jvp_MaxPoolNhwc(JvpCtx& c) {
  const Tensor &x = c.in[0], &idx = c.in[1];
  if (!c.t[0].defined()) return Tensor();
  const Tensor flat = reshape(c.t[0], c.shape(Shape{x.numel()}));
  return reshape(gather(flat, idx, c.batch_dims()), c.shape(c.out.shape()));
}

// The positions of x no window picked: the structural zeros of its gradient (structural.cpp
// asks for them instead of running the rule on ones and comparing with zero).
// The windows of image b pick positions of image b only: the images split over threads.
Tensor max_pool_unpicked(const Tensor& x, const Tensor& idx) {
  Tensor m = Tensor::empty(DType::Bool, x.shape());
  bool* dst = m.data<bool>();
  const int64_t* id = idx.data<int64_t>();
  const int64_t n = x.shape()[0], img = n > 0 ? x.numel() / n : 0, per = n > 0 ? idx.numel() / n : 0;
  kernels::parallel_for(n, [&](int64_t begin, int64_t end) {
    std::fill(dst + begin * img, dst + end * img, true);
    for (int64_t k = begin * per; k < end * per; ++k) dst[id[k]] = false;
  }, std::max<int64_t>(1, kernels::kMinParallel / std::max<int64_t>(img, 1)));
  return m;
}

Tensor max_pool2d(const Tensor& input, const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
                  const Padding& padding, const std::string& data_format) {
  Pool p = pool_setup("max_pool2d", input, ksize, strides, padding, data_format, true);
  return from_nhwc(max_pool_nhwc(p.x, geom_attrs(p.g)), p.last);
}

Tensor avg_pool2d(const Tensor& input, const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
                  const Padding& padding, const std::string& data_format) {
  Pool p = pool_setup("avg_pool2d", input, ksize, strides, padding, data_format, false);
  if (!is_floating(input.dtype()))
    throw InvalidArgument("avg_pool2d: expected a float32 or float64 tensor, got " + dt(input));
  const ConvGeom& g = p.g;
  const int64_t n = p.x.shape()[0];
  // the mean over the window's positions inside the input (padding is not counted)
  std::vector<double> count(size_t(g.oh * g.ow));
  for (int64_t oh = 0; oh < g.oh; ++oh)
    for (int64_t ow = 0; ow < g.ow; ++ow) {
      const int64_t h0 = oh * g.sh - g.pt, w0 = ow * g.sw - g.pl;
      const int64_t rows = std::min(h0 + g.kh, g.h) - std::max<int64_t>(h0, 0);
      const int64_t cols = std::min(w0 + g.kw, g.w) - std::max<int64_t>(w0, 0);
      count[size_t(oh * g.ow + ow)] = 1.0 / double(std::max<int64_t>(rows * cols, 1));
    }
  Tensor scale = cast(from_data(count.data(), DType::Float64, Shape{1, g.oh, g.ow, 1}), input.dtype());
  Tensor sums = reduce_sum(reshape(im2col(p.x, geom_attrs(g)), {n * g.oh * g.ow, g.kh * g.kw, g.c}),
                           std::vector<int64_t>{1});
  return from_nhwc(reshape(sums, {n, g.oh, g.ow, g.c}) * scale, p.last);
}

namespace {
// The 1-d pools as 2-d ones over a height of 1.
Tensor pool1d(Tensor (*pool2d)(const Tensor&, const std::vector<int64_t>&, const std::vector<int64_t>&, const Padding&,
                               const std::string&),
              const char* op, const Tensor& input, const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
              const Padding& padding, const std::string& data_format) {
  require_defined(input, op);
  const bool last = channels_last_format(data_format, "NWC", "NCW", op);
  if (input.ndim() != 3)
    throw InvalidArgument(std::string(op) + ": input must be 3-dimensional, got shape " + input.shape().str());
  for (const std::vector<int64_t>* v : {&ksize, &strides})
    if (v->size() != 1 && v->size() != 3)
      throw ValueError_(std::string(op) + ": " + (v == &ksize ? "ksize" : "strides") +
                        " should be of length 1 or 3. Received: " + ints_str(*v));
  const int axis = last ? 1 : 2;
  Tensor out = pool2d(expand_dims(input, axis), seq_2d(ksize, last, 1), seq_2d(strides, last, 1),
                      padding_2d(padding, last), last ? "NHWC" : "NCHW");
  return squeeze(out, {axis});
}

Tensor pool_nd(bool max, const Tensor& input, const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
               const Padding& padding, const std::optional<std::string>& data_format) {
  const char* op = max ? "max_pool" : "avg_pool";
  require_defined(input, op);
  if (input.ndim() == 3)
    return pool1d(max ? &max_pool2d : &avg_pool2d, op, input, ksize, strides, padding, data_format.value_or("NWC"));
  if (input.ndim() == 4)
    return (max ? max_pool2d : avg_pool2d)(input, ksize, strides, padding, data_format.value_or("NHWC"));
  throw InvalidArgument(std::string(op) + ": input must be 3- or 4-dimensional (3-d pooling is not supported), got shape " +
                        input.shape().str());
}
}  // namespace

Tensor max_pool1d(const Tensor& input, const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
                  const Padding& padding, const std::string& data_format) {
  return pool1d(&max_pool2d, "max_pool1d", input, ksize, strides, padding, data_format);
}
Tensor avg_pool1d(const Tensor& input, const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
                  const Padding& padding, const std::string& data_format) {
  return pool1d(&avg_pool2d, "avg_pool1d", input, ksize, strides, padding, data_format);
}
Tensor max_pool(const Tensor& input, const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
                const Padding& padding, const std::optional<std::string>& data_format) {
  return pool_nd(true, input, ksize, strides, padding, data_format);
}
Tensor avg_pool(const Tensor& input, const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
                const Padding& padding, const std::optional<std::string>& data_format) {
  return pool_nd(false, input, ksize, strides, padding, data_format);
}

}  // namespace gt
