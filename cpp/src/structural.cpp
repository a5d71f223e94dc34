// Structural zeros: masks from where/slice/gather rules, carried and enforced in the sweep.
#include "structural.h"

#include <atomic>
#include <cstring>

#include "gradtape/call_op.h"
#include "gradtape/tape.h"
#include "ops_common.h"
#include "scalar_code.h"

namespace gt {

namespace {
std::atomic<bool> g_enabled{true};

std::shared_ptr<TensorImpl> mask_of(const Tensor& t) {
  return t.defined() ? t.impl()->zero_mask : nullptr;
}

// Our bools are bytes 0 or 1: memchr finds a 1 with the C library's vector loop.
// Whether a mask is set depends on the values: scalar code (scalar_code.h) computes the masks
// (the ops that make and apply them report to it) and keeps a guard on each test.
bool any_true(const Tensor& m) {
  scalar_code::note_item(m);
  return m.numel() > 0 && std::memchr(m.data<bool>(), 1, size_t(m.numel())) != nullptr;
}

// The mask of a gradient summed over its leading rows ([rows, cols] -> [cols], a bias's
// gradient): a position is structural when it is in every row. One pass over the bytes, where
// the general path casts, sums in floats and compares.
Tensor all_rows(const Tensor& m, int64_t rows, int64_t cols, const Shape& shape) {
  Tensor out = Tensor::empty(DType::Bool, shape);
  const bool* src = m.data<bool>();
  bool* dst = out.data<bool>();
  std::memcpy(dst, src, size_t(cols));
  for (int64_t r = 1; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) dst[k] = dst[k] & src[r * cols + k];
  return out;
}

// Sets t's mask, or drops it when no position is structural.
Tensor with_mask(Tensor t, const Tensor& mask) {
  if (mask.defined() && any_true(mask)) t.impl()->zero_mask = mask.impl();
  return t;
}
// The same, for a mask known to have a structural position.
Tensor with_nonempty_mask(Tensor t, const Tensor& mask) {
  t.impl()->zero_mask = mask.impl();
  return t;
}
// Whether the rule's gradient gi already holds +0 at every structural position, so that the
// where() enforcing them would change no value (it is still taken when an outer tape records
// the rule: the where is what makes the second derivative zero there). An upstream gradient
// holds +0 at its mask's positions (enforced when its mask was set; sums of them are +0), so:
// g passed on as it is (add's g, g); relu's where(out > 0, g, 0); and the max pool's scatter
// (or gather_grad), which leaves the unpicked positions at their +0 fill.
bool zeros_already_exact(OpId op, const Tensor& gi, const Tensor& g) {
  if (rule_is_recorded()) return false;
  return gi.same(g) || op == OpId::Relu || op == OpId::MaxPoolNhwc;
}
}  // namespace

void set_structural_zeros(bool on) { g_enabled.store(on); }
bool structural_zeros_enabled() { return g_enabled.load(std::memory_order_relaxed); }

void apply_structural_zeros(OpId op, const std::vector<Tensor>& ins, const Tensor& out, const Tensor& g,
                            const std::vector<int64_t>& attrs, const std::vector<char>& needs,
                            std::vector<Tensor>& gin, int batch) {
  if (!structural_zeros_enabled()) return;
  const MaskRule rule = mask_rule(op);
  std::shared_ptr<TensorImpl> upstream = mask_of(g);
  if (rule == MaskRule::None || (rule != MaskRule::Select && !upstream)) return;
  const int n = int(ins.size());
  std::vector<Tensor> masks(static_cast<size_t>(n));
  {
    RecordingPause pause;  // masks are bookkeeping, never differentiated
    if (rule == MaskRule::Pass) {
      for (int i = 0; i < n; ++i)
        if (gin[size_t(i)].defined() && gin[size_t(i)].shape() == g.shape()) masks[size_t(i)] = Tensor(upstream);
    } else if (op == OpId::MaxPoolNhwc && !upstream && batch == 0) {
      // every position of x that no window picked (the generic path below, in one pass)
      if (gin[0].defined()) masks[0] = max_pool_unpicked(ins[0], ins[1]);
    } else {
      // Run the rule (or reduce_sum's) on the indicator of non-structural positions: an input
      // position that receives nothing from them only ever received structural zeros.
      Tensor live = upstream ? cast(logical_not(Tensor(upstream)), g.dtype()) : ones_like(g);
      std::vector<Tensor> reached(static_cast<size_t>(n));
      VjpFn fn = vjp_for(rule == MaskRule::Sum ? OpId::ReduceSum : op);
      VjpCtx ctx{{}, ins.data(), n, out, live, attrs.data(), int(attrs.size()),
                 reinterpret_cast<const bool*>(needs.data()), reached.data(), batch};
      fn(ctx);
      for (int i = 0; i < n; ++i)
        if (reached[size_t(i)].defined() && gin[size_t(i)].defined())
          masks[size_t(i)] = equal(reached[size_t(i)], zero_of(reached[size_t(i)]));
    }
  }
  for (int i = 0; i < n; ++i) {
    Tensor& gi = gin[size_t(i)];
    const Tensor& m = masks[size_t(i)];
    if (!m.defined() || m.shape() != gi.shape() || !any_true(m)) continue;
    if (zeros_already_exact(op, gi, g)) gi = with_nonempty_mask(gi, m);
    else gi = with_nonempty_mask(where(m, zero_of(gi), gi), m);  // recorded by outer tapes: second order holds
  }
}

Tensor sum_to_shape_masked(const Tensor& g, const Shape& shape, int nb) {
  std::shared_ptr<TensorImpl> m = mask_of(g);
  if (!m || g.shape() == shape) return sum_to_shape(g, shape, nb);
  Tensor reduced_mask;
  {
    RecordingPause pause;
    const int lead = g.ndim() - shape.rank();
    bool trailing = nb == 0 && lead > 0;
    for (int i = 0; trailing && i < shape.rank(); ++i) trailing = shape[i] == g.shape()[i + lead];
    if (trailing && shape.numel() > 0 && g.numel() > 0) {
      reduced_mask = all_rows(Tensor(m), g.numel() / shape.numel(), shape.numel(), shape);
    } else {
      Tensor live = sum_to_shape(cast(logical_not(Tensor(m)), g.dtype()), shape, nb);
      reduced_mask = equal(live, zero_of(live));
    }
  }
  return with_mask(sum_to_shape(g, shape, nb), reduced_mask);
}

Tensor accumulate_masked(const Tensor& acc, const Tensor& g) {
  std::shared_ptr<TensorImpl> ma = mask_of(acc), mg = mask_of(g);
  Tensor sum = call_op(&add, acc, g);  // (float16 gradients: summed in float32, gradtape/call_op.h)
  if (!ma || !mg) return sum;
  Tensor both;
  {
    RecordingPause pause;
    both = logical_and(Tensor(ma), Tensor(mg));
  }
  return with_mask(sum, both);
}

}  // namespace gt
