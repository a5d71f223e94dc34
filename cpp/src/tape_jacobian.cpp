// Jacobians from a tape: reverse sweeps batched over rows of the target, or forward sweeps
// batched over columns of the source (the tall direction), row or column by row where a batch has no room.
#include <algorithm>
#include <string>
#include <vector>

#include "fusion.h"
#include "ops_common.h"
#include "record.h"
#include "structural.h"
#include "tape_state.h"

namespace gt {

namespace {
// Rows of seeds per batched sweep: bounded so that a batch of gradients stays small.
int64_t jacobian_chunk(int64_t rows, int64_t row_elems) {
  const int64_t budget = int64_t(1) << 22;
  return std::max<int64_t>(1, std::min<int64_t>(rows, budget / std::max<int64_t>(row_elems, 1)));
}

// m seeds for a batched sweep, [m, *target.shape] (one seed of target.shape when unbatched,
// m = 1), zero but for the ones mark(data, i) sets for each row i.
template <class Mark>
Tensor seed_rows(const Tensor& target, int64_t m, bool batched, Mark mark) {
  Shape shape = batched ? Shape{m} : Shape();
  for (int d = 0; d < target.ndim(); ++d) shape.push_back(target.shape()[d]);
  const DType d = is_half(target.dtype()) ? DType::Float32 : target.dtype();  // (marked in float32)
  Tensor seed = zeroed(shape, d);
  dispatch_float(d, [&](auto tag) {
    auto* data = seed.data<decltype(tag)>();
    for (int64_t i = 0; i < m; ++i) mark(data, i);
  });
  return d == target.dtype() ? seed : cast(seed, target.dtype());
}

// Whether a Jacobian's reverse sweeps can be batched: a batched sweep puts a batch dim in front
// of every gradient, which a custom gradient cannot take, and for which a tensor of the maximum
// rank has no room (the batch dim must not count against the user's rank limit, so it is not
// raised for it). Otherwise the sweeps go row by row, with the same result.
bool batchable(const TapeState& s, const Tensor& target) {
  if (target.ndim() >= kMaxRank || s.has_custom_records()) return false;
  for (const Record& r : s.records) {
    if (r.n_in == kNoSlot) continue;  // released
    for (uint32_t i = r.first; i < r.first + r.n_in + r.n_out; ++i)
      if (s.saved[i].defined() && s.saved[i].ndim() >= kMaxRank) return false;
  }
  return true;
}

// The Jacobian rows g (m rows, batched or one unbatched gradient) as a [m, *lead, rest] block,
// flat after the leading dims so that no block's rank exceeds the limit however the source's
// rank is.
Tensor rows_block(const Tensor& g, int64_t m, std::vector<int64_t> lead, const Tensor& src) {
  int64_t known = 1;
  for (int64_t d : lead) known *= d;
  lead.insert(lead.begin(), m);
  lead.push_back(known ? src.numel() / known : 0);
  return g.defined() ? reshape(g, lead) : zeros(Shape(lead), src.dtype());
}

// Whether a Jacobian takes forward mode: asked for, or (Auto) cheaper, with fewer source elements
// than target elements, one sweep per source element instead of one per target element.
// Custom gradients have no forward rule the tape can replay: they take reverse mode. Auto also
// leaves tapes that cannot take a batch of tangents (batchable()) to reverse mode, whose row by
// row sweeps are the cheaper fallback; forced forward mode goes column by column there.
bool use_forward(JacobianMode mode, int64_t source_elems, int64_t target_elems, bool custom, bool batched) {
  if (mode == JacobianMode::Reverse) return false;
  if (mode == JacobianMode::Forward) {
    if (custom)
      throw InvalidArgument("a forward-mode Jacobian cannot pass through a custom_gradient call; use "
                            "experimental_mode='reverse' (or 'auto')");
    return true;
  }
  return batched && source_elems < target_elems;
}
}  // namespace

std::vector<Tensor> Tape::jacobian(const Tensor& target, const std::vector<Source>& sources, Unconnected unconnected,
                                   JacobianMode mode, const std::vector<HiddenDependence>& given) {
  TapeState& s = *state_;
  TapeState::Hold hold(s, "jacobian");
  std::vector<HiddenDependence> merged;
  const std::vector<HiddenDependence>& hidden = s.with_own_hidden(given, merged);
  require_defined(target, "jacobian");
  start_backward(s, "jacobian");
  std::vector<uint32_t> src_slots;
  for (const Source& src : sources) src_slots.push_back(s.source_slot(src));
  const int64_t n = target.numel();
  uint32_t tslot;
  const bool linked = is_floating(target.dtype()) && target.get()->find_link(s.serial, &tslot);
  std::vector<std::vector<Tensor>> parts(sources.size());  // per source: [rows, source.numel()] blocks
  std::vector<bool> connected(sources.size(), false);
  int64_t source_elems = 0;
  bool fwd_batched = batchable(s, target);  // (a batch of tangents of a rank-8 source has no room either)
  for (const Source& src : sources) {
    const Tensor& v = src.variable ? src.variable->value() : src.tensor;
    source_elems += v.numel();
    fwd_batched = fwd_batched && v.ndim() < kMaxRank;
  }
  if (linked && n > 0 && use_forward(mode, source_elems, n, s.has_custom_records(), fwd_batched)) {
    // Forward mode: one sweep per chunk of source elements, all columns at once (the tangents'
    // batch dim; column by column when the tape cannot take one); [n, cols] blocks, as the
    // reverse rows' transposes.
    for (size_t j = 0; j < sources.size(); ++j) {
      const Tensor& src = sources[j].variable ? sources[j].variable->value() : sources[j].tensor;
      const int64_t ns = src.numel();
      if (src_slots[j] == kNoSlot || ns == 0) continue;
      const int64_t chunk = fwd_batched ? jacobian_chunk(ns, std::max(n, ns)) : 1;
      for (int64_t start = 0; start < ns; start += chunk) {
        const int64_t m = std::min(chunk, ns - start);
        Tensor seed = seed_rows(src, m, fwd_batched, [&](auto* data, int64_t i) { data[i * ns + start + i] = 1; });
        Tensor t = s.forward_sweep(src_slots[j], seed, tslot, fwd_batched ? 1 : 0);
        connected[j] = connected[j] || t.defined();
        parts[j].push_back(t.defined() ? transpose(reshape(t, {m, n}), {1, 0}) : zeros(Shape{n, m}, src.dtype()));
      }
      if (!parts[j].empty()) parts[j] = {parts[j].size() == 1 ? parts[j][0] : concat(parts[j], 1)};
    }
  } else if (linked && n > 0) {
    // One reverse sweep per chunk of target elements, all rows at once (a batch dim in front
    // of every gradient); custom gradients cannot take a batch, so their tapes go row by row.
    const bool batched = batchable(s, target);
    const int64_t chunk = batched ? jacobian_chunk(n, n) : 1;
    for (int64_t start = 0; start < n; start += chunk) {
      const int64_t m = std::min(chunk, n - start);
      Tensor seed = seed_rows(target, m, batched, [&](auto* data, int64_t i) { data[i * n + start + i] = 1; });
      Shape prefix{m};
      std::vector<Tensor> g = s.sweep({{tslot, seed}}, src_slots, false, batched ? &prefix : nullptr);
      for (size_t j = 0; j < sources.size(); ++j) {
        const Tensor& src = sources[j].variable ? sources[j].variable->value() : sources[j].tensor;
        connected[j] = connected[j] || g[j].defined();
        parts[j].push_back(rows_block(g[j], m, {}, src));
      }
    }
  }
  std::vector<Tensor> result;
  for (size_t j = 0; j < sources.size(); ++j) {
    const Tensor& src = sources[j].variable ? sources[j].variable->value() : sources[j].tensor;
    if (!connected[j] && unconnected == Unconnected::None &&
        (hidden.empty() || !s.reached_through({target}, sources[j], hidden))) {
      result.emplace_back();
      continue;
    }
    std::vector<int64_t> shape = target.shape().vec();
    for (int d = 0; d < src.ndim(); ++d) shape.push_back(src.shape()[d]);
    if (!connected[j]) {
      result.push_back(zeros(Shape(shape), src.dtype()));
      continue;
    }
    Tensor all = parts[j].size() == 1 ? parts[j][0] : concat(parts[j], 0);
    result.push_back(reshape(all, shape));
  }
  if (!s.persistent) s.clear();
  return result;
}

Tensor Tape::batch_jacobian(const Tensor& target, const Source& source, Unconnected unconnected, JacobianMode mode,
                            const std::vector<HiddenDependence>& given) {
  TapeState& s = *state_;
  TapeState::Hold hold(s, "batch_jacobian");
  std::vector<HiddenDependence> merged;
  const std::vector<HiddenDependence>& hidden = s.with_own_hidden(given, merged);
  const Tensor& src = source.variable ? source.variable->value() : source.tensor;
  require_defined(target, "batch_jacobian");
  require_defined(src, "batch_jacobian");
  if (target.ndim() < 1 || src.ndim() < 1 || target.shape()[0] != src.shape()[0])
    throw ValueError_("Need first dimension of target shape (" + target.shape().str() + ") and source shape (" +
                      src.shape().str() + ") to match.");
  start_backward(s, "batch_jacobian");
  const int64_t B = target.shape()[0];
  const int64_t Y = B ? target.numel() / B : 0;
  std::vector<uint32_t> src_slots{s.source_slot(source)};
  uint32_t tslot;
  const bool linked = is_floating(target.dtype()) && target.get()->find_link(s.serial, &tslot);
  std::vector<int64_t> shape = target.shape().vec();
  for (int d = 1; d < src.ndim(); ++d) shape.push_back(src.shape()[d]);
  std::vector<Tensor> parts;  // [rows, B, X] blocks (X: a source row's elements), rows over the Y target elements
  bool connected = false;
  const int64_t X = B ? src.numel() / B : 0;
  const bool fwd_batched = batchable(s, target) && src.ndim() < kMaxRank;
  if (linked && src_slots[0] != kNoSlot && Y > 0 && X > 0 &&
      use_forward(mode, X, Y, s.has_custom_records(), fwd_batched)) {
    // Forward mode: seed j moves element j of every batch row at once; the tangent is column j.
    std::vector<Tensor> cols;  // [m, B, Y] blocks over the X source elements
    const int64_t chunk = fwd_batched ? jacobian_chunk(X, std::max(target.numel(), src.numel())) : 1;
    for (int64_t start = 0; start < X; start += chunk) {
      const int64_t m = std::min(chunk, X - start);
      Tensor seed = seed_rows(src, m, fwd_batched, [&](auto* data, int64_t i) {
        for (int64_t b = 0; b < B; ++b) data[i * B * X + b * X + start + i] = 1;
      });
      Tensor t = s.forward_sweep(src_slots[0], seed, tslot, fwd_batched ? 1 : 0);
      connected = connected || t.defined();
      cols.push_back(t.defined() ? reshape(t, {m, B, Y}) : zeros(Shape{m, B, Y}, src.dtype()));
    }
    if (connected) {
      Tensor all = cols.size() == 1 ? cols[0] : concat(cols, 0);  // [X, B, Y]
      Tensor result = reshape(transpose(all, {1, 2, 0}), shape);
      if (!s.persistent) s.clear();
      return result;
    }
  } else if (linked && src_slots[0] != kNoSlot && Y > 0) {
    // Seed j selects element j of every batch row at once (rows are independent, as TF assumes).
    const bool batched = batchable(s, target);
    const int64_t chunk = batched ? jacobian_chunk(Y, target.numel()) : 1;
    for (int64_t start = 0; start < Y; start += chunk) {
      const int64_t m = std::min(chunk, Y - start);
      Tensor seed = seed_rows(target, m, batched, [&](auto* data, int64_t i) {
        for (int64_t b = 0; b < B; ++b) data[i * B * Y + b * Y + start + i] = 1;
      });
      Shape prefix{m};
      Tensor g = s.sweep({{tslot, seed}}, src_slots, false, batched ? &prefix : nullptr)[0];
      connected = connected || g.defined();
      parts.push_back(rows_block(g, m, {B}, src));
    }
  }
  Tensor result;
  if (connected) {
    Tensor all = parts.size() == 1 ? parts[0] : concat(parts, 0);  // [Y, B, X]
    result = reshape(transpose(all, {1, 0, 2}), shape);
  } else if (unconnected != Unconnected::None || (!hidden.empty() && s.reached_through({target}, source, hidden))) {
    result = zeros(Shape(shape), src.dtype());
  }
  if (!s.persistent) s.clear();
  return result;
}

}  // namespace gt
