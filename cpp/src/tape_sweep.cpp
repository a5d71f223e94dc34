// The reverse sweep over a tape's records (and the forward sweep that forward-mode Jacobians
// replay), and Tape::gradient.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "fusion.h"
#include "gradient_plan.h"
#include "gradtape/call_op.h"
#include "ops_common.h"
#include "record.h"
#include "structural.h"
#include "tape_internal.h"
#include "tape_state.h"

namespace gt {

using tape_detail::g_interrupt_check;

namespace {
// A sweep's working arrays, kept per thread and per nesting depth (a rule or a custom gradient
// may run another sweep), so that a sweep of a small tape allocates nothing once warm. Emptied
// of tensors when the sweep ends (the arrays keep their capacity, never a tensor).
struct SweepScratch {
  std::vector<Tensor> grads, ins, outs, gout, gin;
  std::vector<char> keep, needs;
  std::vector<int64_t> rec_attrs;
  std::vector<uint32_t> in_slots, out_slots;
  void drop_tensors() {
    grads.clear();
    ins.clear();
    outs.clear();
    gout.clear();
    gin.clear();
  }
};
struct ScratchPool {
  std::vector<std::unique_ptr<SweepScratch>> levels;
  size_t depth = 0;
};
thread_local ScratchPool tls_scratch;
// This sweep's scratch (the next level of this thread's pool), returned to it when destroyed.
struct ScratchLease {
  SweepScratch* s;
  ScratchLease() {
    ScratchPool& p = tls_scratch;
    if (p.depth == p.levels.size()) p.levels.push_back(std::make_unique<SweepScratch>());
    s = p.levels[p.depth++].get();
  }
  ~ScratchLease() {
    s->drop_tensors();
    --tls_scratch.depth;
  }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
};
}  // namespace

// The reverse sweep over the records of S: a TapeState, or a gradient plan's run (PlanSweep,
// gradient_plan.h), which has the same arrays with the saved tensors taken from a program's
// frame. Both run this one loop, so a plan's gradient is the tape's, bit for bit.
template <class S>
std::vector<Tensor> sweep_over(S& s, const std::vector<std::pair<uint32_t, Tensor>>& seeds,
                               const std::vector<uint32_t>& src_slots, bool release_records, const Shape* batch) {
  auto& records = s.records;
  auto& slots = s.slots;
  auto& saved = s.saved;
  auto& attrs = s.attrs;
  auto& slot_birth = s.slot_birth;
  const int nb = batch ? batch->rank() : 0;
  struct Guard {
    int& n;
    explicit Guard(int& c) : n(c) { ++n; }
    ~Guard() { --n; }
  } guard(s.sweeping);
  const size_t n_rec = records.size();
  ScratchLease lease;
  SweepScratch& sc = *lease.s;
  std::vector<Tensor>& grads = sc.grads;
  grads.assign(s.next_slot, Tensor());
  for (const auto& [slot, seed] : seeds)
    grads[slot] = grads[slot].defined() ? call_op(&add, grads[slot], seed) : seed;

  std::vector<char>& keep = sc.keep;
  keep.assign(s.next_slot, 0);
  uint32_t stop = uint32_t(n_rec);
  for (uint32_t src : src_slots)
    if (src != kNoSlot) {
      keep[src] = 1;
      stop = std::min(stop, slot_birth[src]);
    }

  // Scratch reused by every record (no allocation per record once warm).
  std::vector<Tensor>&ins = sc.ins, &outs = sc.outs, &gout = sc.gout, &gin = sc.gin;
  std::vector<char>& needs = sc.needs;
  std::vector<int64_t>& rec_attrs = sc.rec_attrs;
  std::vector<uint32_t>&in_slots = sc.in_slots, &out_slots = sc.out_slots;
  void (*interrupt_check)() = g_interrupt_check.load(std::memory_order_relaxed);
  for (size_t r = n_rec; r-- > stop;) {
    if (interrupt_check && (r & 511) == 0) interrupt_check();
    const Record rec = records[r];
    if (rec.n_in == kNoSlot) continue;  // released
    const uint32_t out0 = rec.first + rec.n_in;
    bool any = false;
    for (uint32_t k = 0; k < rec.n_out; ++k) any |= grads[slots[out0 + k]].defined();
    bool any_need = false;
    for (uint32_t i = 0; i < rec.n_in; ++i) any_need |= slots[rec.first + i] != kNoSlot;
    if (!any || !any_need) {
      if (release_records) s.release(r);
      continue;
    }
    // Copy what the rule needs: it may record on this very tape (a persistent tape asked for
    // a gradient inside its own block), which can move these arrays. A record released after
    // its rule gives its saved tensors up instead (moved: no reference counting), unless it is
    // a custom gradient (its Python function may still read the tape's records).
    if (release_records && rec.op != OpId::Custom) {
      ins.resize(rec.n_in);
      outs.resize(rec.n_out);
      for (uint32_t i = 0; i < rec.n_in; ++i) ins[i] = std::move(saved[rec.first + i]);
      for (uint32_t k = 0; k < rec.n_out; ++k) outs[k] = std::move(saved[out0 + k]);
    } else {
      ins.assign(saved.begin() + rec.first, saved.begin() + out0);
      outs.assign(saved.begin() + out0, saved.begin() + out0 + rec.n_out);
    }
    const size_t attr_end = r + 1 < records.size() ? records[r + 1].attr_first : attrs.size();
    rec_attrs.assign(attrs.begin() + rec.attr_first, attrs.begin() + long(attr_end));
    in_slots.assign(slots.begin() + rec.first, slots.begin() + out0);
    out_slots.assign(slots.begin() + out0, slots.begin() + out0 + rec.n_out);
    gout.assign(rec.n_out, Tensor());
    // (an output's gradient that is dropped after this record is moved, not copied: reference
    // counts are atomic, and most of a scalar sweep's own time)
    for (uint32_t k = 0; k < rec.n_out; ++k) {
      Tensor& g = grads[out_slots[k]];
      gout[k] = release_records && !keep[out_slots[k]] ? std::move(g) : g;
    }
    needs.assign(rec.n_in, 0);
    for (uint32_t i = 0; i < rec.n_in; ++i) needs[i] = in_slots[i] != kNoSlot;
    gin.assign(rec.n_in, Tensor());

    if (rec.op == OpId::Custom) {
      GradHook hook = s.hooks[size_t(rec_attrs[0])];
      for (uint32_t k = 0; k < rec.n_out; ++k)
        if (!gout[k].defined()) gout[k] = zeros_like(outs[k]);
      std::vector<Tensor> res = hook(gout);
      if (res.size() != rec.n_in)
        throw InvalidArgument("custom_gradient: the gradient function returned " + std::to_string(res.size()) +
                              " gradients for " + std::to_string(rec.n_in) + " inputs");
      gin = std::move(res);
    } else {
      VjpFn fn = vjp_for(rec.op);
      if (!fn) throw TapeError(std::string("no gradient rule for op ") + op_name(rec.op));
      VjpCtx ctx{{}, ins.data(), int(rec.n_in), outs[0], gout[0], rec_attrs.data(), int(rec_attrs.size()),
                 reinterpret_cast<const bool*>(needs.data()), gin.data(), nb};
      fn(ctx);
      apply_structural_zeros(rec.op, ins, outs[0], gout[0], rec_attrs, needs, gin, nb);
    }
    // A deferred gradient (fusion.h) sent to two inputs (add's g, g) is computed once here,
    // not once by each consumer.
    for (uint32_t i = 0; i + 1 < rec.n_in; ++i)
      for (uint32_t j = i + 1; j < rec.n_in; ++j)
        if (needs[i] && needs[j] && gin[i].defined() && gin[i].same(gin[j]) && fusion::is_deferred(gin[i]) &&
            !fusion::in_batch())  // (in a batch, the consumers are computed together instead)
          gin[i].raw();

    for (uint32_t i = 0; i < rec.n_in; ++i) {
      if (!needs[i] || !gin[i].defined()) continue;
      Tensor gi = std::move(gin[i]);
      if (gi.dtype() != ins[i].dtype())
        throw InvalidArgument(std::string("gradient of ") + op_name(rec.op) + " input " + std::to_string(i) +
                              " has dtype " + dt(gi) + " but the input is " + dt(ins[i]));
      if (batch) {
        Shape full = *batch;
        for (int d = 0; d < ins[i].ndim(); ++d) full.push_back(ins[i].shape()[d]);
        gi = sum_to_shape_masked(gi, full, nb);
      } else if (gi.shape() != ins[i].shape()) {  // (of the input's shape: nothing to sum)
        gi = sum_to_shape_masked(gi, ins[i].shape());
      }
      Tensor& acc = grads[in_slots[i]];
      acc = acc.defined() ? accumulate_masked(acc, gi) : std::move(gi);  // used twice: summed, never assigned
    }
    if (release_records) {
      s.release(r);
      for (uint32_t o : out_slots)
        if (!keep[o]) grads[o] = Tensor();
    }
  }
  std::vector<Tensor> result;
  result.reserve(src_slots.size());
  for (uint32_t s : src_slots) result.push_back(s == kNoSlot ? Tensor() : grads[s]);
  return result;
}

std::vector<Tensor> TapeState::sweep(const std::vector<std::pair<uint32_t, Tensor>>& seeds,
                                     const std::vector<uint32_t>& src_slots, bool release_records,
                                     const Shape* batch) {
  return sweep_over(*this, seeds, src_slots, release_records, batch);
}

// Each record from the source's birth on, in recording order, maps its inputs' tangents to its
// output's by the op's jvp rule (forward.cpp's dispatch), with the batch dims in front.
Tensor TapeState::forward_sweep(uint32_t source, const Tensor& seed, uint32_t target, int nb) {
  const size_t n_rec = records.size();  // (a rule may record on this very tape: those are not swept)
  std::vector<Tensor> tangents(next_slot);
  tangents[source] = seed;
  std::vector<Tensor> ins, tin;
  std::vector<int64_t> rec_attrs;
  void (*interrupt_check)() = g_interrupt_check.load(std::memory_order_relaxed);
  for (size_t r = slot_birth[source]; r < n_rec; ++r) {
    if (interrupt_check && (r & 511) == 0) interrupt_check();
    const Record rec = records[r];
    if (rec.n_in == kNoSlot) continue;  // released
    const uint32_t out0 = rec.first + rec.n_in;
    tin.assign(rec.n_in, Tensor());
    int ref = -1;
    for (uint32_t i = 0; i < rec.n_in; ++i) {
      const uint32_t si = slots[rec.first + i];
      if (si == kNoSlot || !tangents[si].defined()) continue;
      tin[i] = tangents[si];
      if (ref < 0) ref = int(i);
    }
    if (ref < 0) continue;  // (not on the source's path)
    if (rec.op == OpId::Custom)
      throw InvalidArgument("a forward-mode Jacobian cannot pass through a custom_gradient call; use "
                            "experimental_mode='reverse'");
    ins.assign(saved.begin() + rec.first, saved.begin() + out0);
    const Tensor out = saved[out0];
    const size_t attr_end = r + 1 < records.size() ? records[r + 1].attr_first : attrs.size();
    rec_attrs.assign(attrs.begin() + rec.attr_first, attrs.begin() + long(attr_end));
    const uint32_t out_slot = slots[out0];
    JvpCtx c{{}, ins.data(), int(rec.n_in), out, tin.data(), rec_attrs.data(), int(rec_attrs.size()),
             tin[size_t(ref)], nb};
    tangents[out_slot] = apply_jvp(rec.op, c);
  }
  return tangents[target];
}

namespace {
// The part of a gradient shared by Tape::gradient and a gradient plan's run: the seeds (ones,
// or output_gradients, checked), the sweep, and the seeds of targets that are also sources but
// not on the tape (d x / d x = 1, as TensorFlow). on_tape(i, &slot) tells whether target i is
// a float tensor on the tape, and its slot.
template <class S, class OnTape>
std::vector<Tensor> seeded_sweep(S& s, const std::vector<Tensor>& targets, OnTape on_tape,
                                 const std::vector<uint32_t>& src_slots, const std::vector<Tensor>& output_gradients,
                                 const std::vector<std::pair<size_t, size_t>>& same, bool release_records) {
  std::vector<std::pair<uint32_t, Tensor>> seeds;
  for (size_t i = 0; i < targets.size(); ++i) {
    const Tensor& t = targets[i];
    require_defined(t, "gradient");
    uint32_t slot;
    if (!on_tape(i, &slot)) continue;
    Tensor seed;
    if (!output_gradients.empty() && output_gradients[i].defined()) {
      seed = output_gradients[i];
      if (seed.dtype() != t.dtype())
        throw InvalidArgument("gradient: output_gradients[" + std::to_string(i) + "] has dtype " + dt(seed) +
                              " but the target has dtype " + dt(t));
      if (seed.shape() != t.shape())
        throw InvalidArgument("gradient: output_gradients[" + std::to_string(i) + "] has shape " +
                              seed.shape().str() + " but the target has shape " + t.shape().str());
    } else {
      seed = ones_like(t);
    }
    seeds.emplace_back(slot, seed);
  }
  // A target that is also a source and that this tape does not see (never watched): its seed
  // goes straight to that source, as TensorFlow's gradient of x with respect to x. (A watched
  // one is seeded above and reaches the source through the sweep.)
  std::vector<std::pair<size_t, Tensor>> direct;
  for (const auto& [i, j] : same) {
    if (i >= targets.size() || j >= src_slots.size())
      throw InvalidArgument("gradient: a (target, source) pair is out of range");
    const Tensor& t = targets[i];
    uint32_t slot;
    if (!is_floating(t.dtype()) || on_tape(i, &slot)) continue;
    const bool given = !output_gradients.empty() && output_gradients[i].defined();
    direct.emplace_back(j, given ? output_gradients[i] : ones_like(t));
  }
  // The sweep is a batch (fusion.h): deferred gradients over the same elements, such as
  // (g w, g x, sum g) of a big x * w + b, are computed in one pass at its end, with a target
  // that is a deferred sum over them (in a gt.function run, the loss sum(softplus(x w + b))).
  // (Also inside a run's batch: the gradients are computed before the run's next steps, an
  // optimizer's update, read them one by one.)
  fusion::Batch batch;
  std::vector<Tensor> result = sweep_over(s, seeds, src_slots, release_records, nullptr);
  for (auto& [j, g] : direct) result[j] = result[j].defined() ? call_op(&add, result[j], g) : g;
  if (batch.active()) {
    std::vector<Tensor> together = result;
    for (const Tensor& t : targets)
      if (t.defined() && t.numel() == 1 && fusion::is_deferred(t)) together.push_back(t);  // (a deferred reduction)
    fusion::materialize_together(together);
  }
  return result;
}

// Unconnected::Zero: zeros for the sources the targets do not reach.
void zeros_for_unconnected(std::vector<Tensor>& result, const std::vector<Source>& sources) {
  for (size_t j = 0; j < result.size(); ++j)
    if (!result[j].defined())
      result[j] = zeros_like(sources[j].variable ? sources[j].variable->value() : sources[j].tensor);
}
}  // namespace

std::vector<Tensor> Tape::gradient(const std::vector<Tensor>& targets, const std::vector<Source>& sources,
                                   const std::vector<Tensor>& output_gradients, Unconnected unconnected,
                                   const std::vector<std::pair<size_t, size_t>>& same,
                                   std::vector<HiddenDependence>* hidden_list) {
  static const std::vector<HiddenDependence> no_hidden;
  TapeState& s = *state_;
  TapeState::Hold hold(s, "gradient");
  std::vector<HiddenDependence> merged;
  const std::vector<HiddenDependence>& hidden = s.with_own_hidden(hidden_list ? *hidden_list : no_hidden, merged);
  if (!output_gradients.empty() && output_gradients.size() != targets.size())
    throw ValueError_("gradient: got " + std::to_string(output_gradients.size()) + " output_gradients for " +
                      std::to_string(targets.size()) + " targets");
  start_backward(s, "gradient");
  std::vector<uint32_t> src_slots;
  for (const Source& src : sources) src_slots.push_back(s.source_slot(src));
  auto on_tape = [&](size_t i, uint32_t* slot) {
    return is_floating(targets[i].dtype()) && targets[i].get()->find_link(s.serial, slot);
  };
  // (Error mode, and hidden dependences, keep the records until the sweep is done: explain()
  // and reached_through() read them.)
  std::vector<Tensor> result = seeded_sweep(s, targets, on_tape, src_slots, output_gradients, same,
                                            !s.persistent && unconnected != Unconnected::Error && hidden.empty());
  if (!hidden.empty() && unconnected != Unconnected::Zero) {
    // A gradient given through a cond or while output depends, for the outer tapes (a second
    // derivative), on what that output depends on, whichever branch a run takes: a zeros, or a
    // gradient that those tapes do not link (a branch linear in the source), is watched by the
    // tapes that link the source or what the outputs on its path depend on, and depends on them.
    std::vector<HiddenDependence> more;
    for (size_t j = 0; j < result.size(); ++j) {
      const std::vector<size_t> path = s.hidden_on_path(targets, sources[j], hidden);
      if (path.empty()) continue;
      const Tensor& src = sources[j].variable ? sources[j].variable->value() : sources[j].tensor;
      if (!result[j].defined()) result[j] = zeros_like(src);
      HiddenDependence d{result[j], {sources[j]}};
      std::vector<Tensor> from{src};
      for (size_t i : path)
        for (const Source& a : hidden[i].on) {
          d.on.push_back(a);
          from.push_back(a.variable ? a.variable->value() : a.tensor);
        }
      detail::watch_where_linked(result[j], from);
      if (!result[j].same(d.value)) {  // (a link added)
        d.value = result[j];
        more.push_back(std::move(d));
      }
    }
    if (hidden_list) hidden_list->insert(hidden_list->end(), more.begin(), more.end());
    else  // (an eager gradient through a function's cond: the tapes around it take them)
      for (const HiddenDependence& d : more) detail::add_hidden_dependence(d, {});
  }
  if (unconnected == Unconnected::Error) {
    std::string why;
    size_t n_bad = 0;
    for (size_t j = 0; j < result.size(); ++j)
      if (!result[j].defined()) {
        ++n_bad;
        why += "\n  source " + std::to_string(j) + ": " + s.explain(targets, sources[j]);
      }
    if (n_bad) {
      if (!s.persistent) s.clear();
      throw UnconnectedError("gradient: " + std::to_string(n_bad) + " of " + std::to_string(result.size()) +
                             " sources are not connected to the target" + why);
    }
  }
  if (!s.persistent) s.clear();
  if (unconnected == Unconnected::Zero) zeros_for_unconnected(result, sources);
  return result;
}

std::vector<Tensor> GradientPlan::run(RecordSink& sink, const std::vector<Tensor>& targets,
                                      const std::vector<Source>& sources, const std::vector<Tensor>& output_gradients,
                                      const std::vector<std::pair<size_t, size_t>>& same) const {
  if (!output_gradients.empty() && output_gradients.size() != targets.size())
    throw ValueError_("gradient: got " + std::to_string(output_gradients.size()) + " output_gradients for " +
                      std::to_string(targets.size()) + " targets");
  if (sink.mismatch || sink.calls != wanted_.size() || sink.ops.size() != records_.size() ||
      sink.saved.size() != slots_.size() || targets.size() != target_slots_.size() ||
      sources.size() != source_slots_.size())
    throw PlanMismatch(kPlanMismatch);
  PlanSweep ps{records_, slots_, std::move(sink.saved), std::move(sink.attrs), slot_birth_, next_slot_, {}, 0};
  for (size_t r = 0; r < ps.records.size(); ++r) ps.records[r].attr_first = sink.attr_first[r];
  auto on_tape = [&](size_t i, uint32_t* slot) {
    *slot = target_slots_[i];
    return *slot != kNoSlot;
  };
  std::vector<Tensor> result = seeded_sweep(ps, targets, on_tape, source_slots_, output_gradients, same, !persistent_);
  if (unconnected_ == Unconnected::Zero) zeros_for_unconnected(result, sources);
  return result;
}

}  // namespace gt
