// Neural-network ops: softmax and log_softmax (stable: shifted by the max), beside their
// vjps, and the cross-entropies composed from log_softmax.
#include "gradtape/tape.h"
#include "ops_common.h"

namespace gt {

// x - max(x) along `axis` (the max replaced by 0 where it is not finite, so -inf rows stay
// -inf rather than NaN).
Tensor shifted(const Tensor& x, int axis) {
  Tensor m = reduce_max(x, std::vector<int64_t>{axis}, true);
  Tensor finite = equal(m - m, zero_of(m));
  return x - where(finite, m, zero_of(m));
}

Tensor softmax(const Tensor& x, int64_t axis) {
  require_float(x, "softmax");
  if (x.ndim() == 0) throw InvalidArgument("softmax: expected a tensor of rank >= 1, got a scalar");
  const int a = normalize_axis(axis, x.ndim(), "softmax");
  Tensor out;
  {
    RecordingPause pause;
    Tensor e = exp(shifted(x, a));
    out = e / reduce_sum(e, std::vector<int64_t>{a}, true);
  }
  record(OpId::Softmax, {&x}, out, {a});
  return out;
}
// d softmax(x) = out (g - sum(g out))
void vjp_Softmax(VjpCtx& c) {
  std::vector<int64_t> axis{c.axis(c.attrs[0])};
  c.gin[0] = c.out * (c.g - reduce_sum(c.g * c.out, axis, true));
}

Tensor log_softmax(const Tensor& x, int64_t axis) {
  require_float(x, "log_softmax");
  if (x.ndim() == 0) throw InvalidArgument("log_softmax: expected a tensor of rank >= 1, got a scalar");
  const int a = normalize_axis(axis, x.ndim(), "log_softmax");
  Tensor out;
  {
    RecordingPause pause;
    ShiftedLogSumExp s = shifted_logsumexp(x, {a});
    out = s.shifted - s.lse;
  }
  record(OpId::LogSoftmax, {&x}, out, {a});
  return out;
}
// d log_softmax(x) = g - softmax(x) sum(g)
void vjp_LogSoftmax(VjpCtx& c) {
  std::vector<int64_t> axis{c.axis(c.attrs[0])};
  c.gin[0] = c.g - exp(c.out) * reduce_sum(c.g, axis, true);
}
// d log_softmax(x) = t - sum(softmax(x) t)
Tensor jvp_LogSoftmax(JvpCtx& c) {
  std::vector<int64_t> axis{c.axis(c.attrs[0])};
  return c.t[0] - reduce_sum(exp(c.out) * c.t[0], axis, true);
}

namespace {
// labels * log_softmax, with 0 where a label is 0: a class masked out by a -inf logit has
// log_softmax -inf, and 0 * -inf would make the loss NaN (TensorFlow's fused kernel gives the
// finite loss). The gradient with respect to such a label is 0 (docs/choices.md).
Tensor weighted_log_probs(const Tensor& labels, const Tensor& log_probs) {
  Tensor product = labels * log_probs;
  return where(equal(labels, zero_of(labels)), zeros_like(product), product);
}
}  // namespace

Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits, int64_t axis) {
  require_float(logits, "softmax_cross_entropy_with_logits");
  require_same_dtype(labels, logits, "softmax_cross_entropy_with_logits");
  if (labels.shape() != logits.shape())
    throw InvalidArgument("softmax_cross_entropy_with_logits: labels shape " + labels.shape().str() +
                          " and logits shape " + logits.shape().str() + " must be equal");
  const int a = normalize_axis(axis, logits.ndim(), "softmax_cross_entropy_with_logits");
  return negative(reduce_sum(weighted_log_probs(labels, log_softmax(logits, a)), std::vector<int64_t>{a}));
}

Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  const char* op = "sparse_softmax_cross_entropy_with_logits";
  require_float(logits, op);
  require_index(labels, op, "labels");
  // (a rank TensorFlow checks in Python, a ValueError; the dims in its kernel)
  if (logits.ndim() == 0 || labels.ndim() != logits.ndim() - 1)
    throw ValueError_(std::string(op) + ": labels shape " + labels.shape().str() +
                      " must equal logits shape " + logits.shape().str() + " without its last axis");
  if (Shape(logits.shape().data(), logits.ndim() - 1) != labels.shape())
    throw InvalidArgument(std::string(op) + ": labels shape " + labels.shape().str() +
                          " must equal logits shape " + logits.shape().str() + " without its last axis");
  const int64_t classes = logits.shape()[logits.ndim() - 1];
  for (int64_t i = 0; i < labels.numel(); ++i) {
    int64_t k = index_at(labels, i);
    if (k < 0 || k >= classes)
      throw InvalidArgument(std::string(op) + ": label " + std::to_string(k) + " is out of range [0, " +
                            std::to_string(classes) + ")");
  }
  Tensor picked = one_hot(labels, classes, logits.dtype());
  return negative(reduce_sum(weighted_log_probs(picked, log_softmax(logits, -1)), std::vector<int64_t>{-1}));
}

// ---- activations and losses that TensorFlow has as kernels, composed here of primitives
// with TensorFlow's values and gradients (kinks included: docs/choices.md)

Tensor selu(const Tensor& x) {
  require_float(x, "selu");
  const double scale = 1.0507009873554804934193349852946, scale_alpha = 1.7580993408473768599402175208123;
  // expm1 of min(x, 0): the untaken branch never overflows (its gradient is 0, not 0 * inf)
  Tensor negative_part = expm1(minimum(x, zero_of(x))) * scale_alpha;
  return where(less(x, zero_of(x)), negative_part, x * scale);
}

Tensor relu6(const Tensor& x) {
  require_defined(x, "relu6");
  require_numeric(x, "relu6");
  // the gradient passes on the open interval (0, 6) only (TensorFlow's Relu6Grad); outside it
  // the clipped value (NaN stays NaN) carries none
  Tensor zero = zero_of(x), six = scalar(6.0, x.dtype());
  Tensor inside = logical_and(greater(x, zero), less(x, six));
  Tensor frozen = stop_gradient(x);
  return where(inside, x, minimum(maximum(frozen, zero), six));
}

Tensor softsign(const Tensor& x) {
  require_float(x, "softsign");
  return x / (abs(x) + 1.0);
}

Tensor l2_loss(const Tensor& t) {
  require_float(t, "l2_loss");
  return reduce_sum(square(t) * 0.5);
}

}  // namespace gt
