// Forward mode: tangents on tensors, ForwardAccumulator, the jvp dispatch (a Sym op's jvp from
// its vjp, a Rule op's own), and custom gradients' tangents. See gradtape/forward.h.
#include "gradtape/forward.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>

#include "gradtape/gradient.h"
#include "gradtape/tape.h"
#include "ops_common.h"
#include "record.h"
#include "tape_internal.h"

namespace gt {

// ---- tangents on tensors ----

namespace {

std::mutex g_tangent_mu;  // guards every TensorImpl::tangents list
std::atomic<uint64_t> g_next_serial{1};

Tensor tangent_of(const Tensor& t, uint64_t acc) {
  TensorImpl* p = t.get();
  std::lock_guard<std::mutex> lock(g_tangent_mu);
  if (!p->tangents) return {};
  for (const auto& [serial, tangent] : *p->tangents)
    if (serial == acc) return Tensor(tangent);
  return {};
}

void set_tangent(const Tensor& t, uint64_t acc, const Tensor& tangent) {
  TensorImpl* p = t.get();
  std::lock_guard<std::mutex> lock(g_tangent_mu);
  if (!p->tangents) p->tangents = std::make_unique<std::vector<std::pair<uint64_t, std::shared_ptr<TensorImpl>>>>();
  for (auto& [serial, old] : *p->tangents)
    if (serial == acc) {
      old = tangent.impl();
      return;
    }
  p->tangents->emplace_back(acc, tangent.impl());
}

std::string shape_dtype(const Tensor& t) { return t.shape().str() + " " + dtype_name(t.dtype()); }

}  // namespace

// ---- accumulators ----

struct AccumulatorState {
  uint64_t serial = g_next_serial.fetch_add(1);
  uint64_t entry = 0;      // its entry number while entered (detail::next_entry)
  uint32_t thread = 0;     // the entering thread's number, 0 when not entered
  std::vector<std::pair<std::shared_ptr<Variable>, Tensor>> variables;  // watched, with tangents
};

namespace {

// This thread's entered accumulators, outermost first.
thread_local std::vector<std::shared_ptr<AccumulatorState>> tls_accumulators;

// While alive, the ops run on this thread are hidden from the tapes and accumulators entered
// from `first` up to now (an accumulator computing a tangent hides itself and those entered
// after it, but not tapes entered while it computes: the custom-gradient fallback's own tape).
thread_local std::vector<std::pair<uint64_t, uint64_t>> tls_hidden;
struct Hide {
  explicit Hide(uint64_t first) {
    tls_hidden.emplace_back(first, detail::next_entry());
    detail::tls_horizon = std::min(detail::tls_horizon, first);
  }
  ~Hide() {
    tls_hidden.pop_back();
    detail::tls_horizon = std::numeric_limits<uint64_t>::max();
    for (const auto& w : tls_hidden) detail::tls_horizon = std::min(detail::tls_horizon, w.first);
  }
  Hide(const Hide&) = delete;
  Hide& operator=(const Hide&) = delete;
};

// Calls f(state) for each accumulator entered on this thread that sees what runs now.
template <class F>
void for_each_visible(F&& f) {
  const std::vector<std::shared_ptr<AccumulatorState>> stack = tls_accumulators;  // f may enter more
  for (const auto& a : stack)
    if (!detail::entry_hidden(a->entry)) f(*a);
}

}  // namespace

HideEntered::HideEntered() {
  tls_hidden.emplace_back(0, detail::next_entry());
  detail::tls_horizon = 0;
}
HideEntered::~HideEntered() {
  tls_hidden.pop_back();
  detail::tls_horizon = std::numeric_limits<uint64_t>::max();
  for (const auto& w : tls_hidden) detail::tls_horizon = std::min(detail::tls_horizon, w.first);
}

bool detail::entry_hidden(uint64_t entry) {
  if (entry < tls_horizon) return false;
  for (const auto& [first, last] : tls_hidden)
    if (entry >= first && entry <= last) return true;
  return false;
}

thread_local int detail::tls_accumulators_entered GT_TLS = 0;

ForwardAccumulator::ForwardAccumulator() : state_(std::make_shared<AccumulatorState>()) {}

ForwardAccumulator::~ForwardAccumulator() {
  if (state_->thread == this_thread_number()) {
    auto& st = tls_accumulators;
    auto it = std::find(st.begin(), st.end(), state_);
    if (it != st.end()) {
      st.erase(it);
      detail::tls_accumulators_entered = int(st.size());
      detail::refresh_recording();
    }
  }
}

void ForwardAccumulator::watch(const Tensor& primal, const Tensor& tangent) {
  require_defined(primal, "ForwardAccumulator");
  require_defined(tangent, "ForwardAccumulator");
  if (!is_floating(primal.dtype())) return;  // integers carry no tangent (jvp is None), as TensorFlow
  if (tangent.dtype() != primal.dtype() || tangent.shape() != primal.shape())
    throw ValueError_("ForwardAccumulator: a tangent must have its primal's shape and dtype: the primal is " +
                          shape_dtype(primal) + ", the tangent " + shape_dtype(tangent));
  if (tangent_of(primal, state_->serial).defined())
    throw ValueError_("ForwardAccumulator: a tensor was given as a primal twice; if that is intended, "
                          "give it once with the sum of its tangents");
  // (a primal that is its own tangent would hold itself: a copy breaks that cycle)
  set_tangent(primal, state_->serial, tangent.same(primal) ? tangent.clone() : tangent);
}

void ForwardAccumulator::watch(const std::shared_ptr<Variable>& v, const Tensor& tangent) {
  require_defined(tangent, "ForwardAccumulator");
  if (!is_floating(v->dtype())) return;
  const Tensor value = v->value();
  if (tangent.dtype() != value.dtype() || tangent.shape() != value.shape())
    throw ValueError_("ForwardAccumulator: a tangent must have its primal's shape and dtype: variable '" +
                          v->name() + "' is " + shape_dtype(value) + ", the tangent " + shape_dtype(tangent));
  for (const auto& [w, t] : state_->variables)
    if (w == v)
      throw ValueError_("ForwardAccumulator: variable '" + v->name() +
                            "' was given as a primal twice; if that is intended, give it once with the sum "
                            "of its tangents");
  state_->variables.emplace_back(v, tangent);
}

void ForwardAccumulator::push() {
  AccumulatorState& s = *state_;
  if (s.thread != 0) throw ValueError_("Accumulator is already recording.");
  s.thread = this_thread_number();
  s.entry = detail::next_entry();
  tls_accumulators.push_back(state_);
  detail::tls_accumulators_entered = int(tls_accumulators.size());
  detail::refresh_recording();
}

void ForwardAccumulator::pop() {
  AccumulatorState& s = *state_;
  if (s.thread == 0) return;
  if (s.thread != this_thread_number())
    throw TapeError("ForwardAccumulator.__exit__ was called on another thread than the one that entered it");
  auto& st = tls_accumulators;
  auto it = std::find(st.begin(), st.end(), state_);
  if (it != st.end()) st.erase(it);
  s.thread = 0;
  detail::tls_accumulators_entered = int(st.size());
  detail::refresh_recording();
}

bool ForwardAccumulator::active() const { return state_->thread != 0; }
uint64_t ForwardAccumulator::serial() const { return state_->serial; }

Tensor ForwardAccumulator::jvp(const Tensor& t) const {
  require_defined(t, "ForwardAccumulator.jvp");
  return tangent_of(t, state_->serial);
}

Tensor ForwardAccumulator::jvp(const std::shared_ptr<Variable>& v) const {
  for (const auto& [w, t] : state_->variables)
    if (w == v) return t;
  return {};
}

// ---- recording: an op's tangents ----

void detail::forward_op(OpId op, const Tensor* const* inputs, int n_in, const Tensor& out, const int64_t* attrs,
                        int n_attrs) {
  if (jvp_kind(op) == JvpKind::None) return;
  std::vector<Tensor> in;  // the inputs as a contiguous array for JvpCtx: made once per op, when needed
  for_each_visible([&](AccumulatorState& a) {
    std::vector<Tensor> t(static_cast<size_t>(n_in));
    int ref = -1;
    for (int i = 0; i < n_in; ++i) {
      if (!is_floating(inputs[i]->dtype())) continue;
      t[size_t(i)] = tangent_of(*inputs[i], a.serial);
      if (ref < 0 && t[size_t(i)].defined()) ref = i;
    }
    if (ref < 0) return;
    if (in.empty())
      for (int i = 0; i < n_in; ++i) in.push_back(*inputs[i]);
    Hide hide(a.entry);  // the rule's ops: seen by what was entered before this accumulator only
    JvpCtx c{{}, in.data(), n_in, out, t.data(), attrs, n_attrs, t[size_t(ref)], 0};
    Tensor tangent = apply_jvp(op, c);
    if (tangent.defined()) set_tangent(out, a.serial, tangent);
  });
}

bool detail::has_a_live_tangent(const Tensor& t) {
  bool seen = false;
  for_each_visible([&](AccumulatorState& a) { seen = seen || tangent_of(t, a.serial).defined(); });
  return seen;
}

void detail::forward_variable_read(Variable& v) {
  for_each_visible([&](AccumulatorState& a) {
    for (const auto& [w, t] : a.variables)
      if (w.get() == &v) {
        const Tensor value = v.value();
        if (!tangent_of(value, a.serial).defined()) set_tangent(value, a.serial, t);
      }
  });
}

// ---- custom gradients ----

void forward_custom(const std::vector<Tensor>& inputs, const std::vector<Tensor>& results,
                    const std::vector<Tensor>& outputs, const GradHook& hook) {
  if (!detail::active_accumulators()) return;
  for_each_visible([&](AccumulatorState& a) {
    std::vector<Tensor> tin;
    bool any = false;
    for (const Tensor& x : inputs) {
      tin.push_back(is_floating(x.dtype()) ? tangent_of(x, a.serial) : Tensor());
      any |= tin.back().defined();
    }
    if (!any) return;
    // An output the forward computation gave a tangent keeps it (the function's own jvp).
    std::vector<size_t> missing;
    for (size_t k = 0; k < outputs.size(); ++k) {
      if (!is_floating(outputs[k].dtype())) continue;
      Tensor tk = tangent_of(results[k], a.serial);
      if (tk.defined()) set_tangent(outputs[k], a.serial, tk);
      else missing.push_back(k);
    }
    if (missing.empty()) return;
    // The others (the forward ran through stop_gradient, NumPy...) get theirs from the custom
    // gradient, as TensorFlow does: grad_fn is linear in its upstream u, so J t = d/du <grad_fn(u), t>.
    Hide hide(a.entry);
    Tape tape(false, false);
    std::vector<Tensor> us;
    Tensor dot;
    {
      TapeScope scope(tape);
      for (const Tensor& o : outputs) {
        us.push_back(zeros_like(o));
        tape.watch(us.back());
      }
      std::vector<Tensor> g = hook(us);
      for (size_t i = 0; i < g.size() && i < tin.size(); ++i) {
        if (!g[i].defined() || !tin[i].defined()) continue;
        Tensor term = reduce_sum(g[i] * tin[i]);
        dot = dot.defined() ? dot + term : term;
      }
    }
    if (!dot.defined()) return;
    std::vector<Source> sources;
    for (size_t k : missing) sources.emplace_back(us[k]);
    std::vector<Tensor> jt = tape.gradient({dot}, sources, {}, Unconnected::Zero);
    for (size_t j = 0; j < missing.size(); ++j) set_tangent(outputs[missing[j]], a.serial, jt[j]);
  });
}

// ---- the jvp dispatch ----

Tensor JvpCtx::aligned(int i) const {
  const Tensor& ti = t[i];
  const int pad = out.ndim() - in[i].ndim();
  if (!ti.defined() || batch_ == 0 || pad <= 0) return ti;
  std::vector<int64_t> s(ti.shape().data(), ti.shape().data() + batch_);
  s.insert(s.end(), size_t(pad), 1);
  for (int d = 0; d < in[i].ndim(); ++d) s.push_back(in[i].shape()[d]);
  return reshape(ti, s);
}

Tensor JvpCtx::or_zeros(int i) const {
  return t[i].defined() ? t[i] : zeros(input_shape(i), in[i].dtype());
}

namespace {
// A Sym op's jvp: each input's Jacobian block is symmetric, so its part of the tangent is the
// vjp rule run on that input's tangent (broadcast to the output's shape), and the parts add.
Tensor sym_jvp(OpId op, JvpCtx& c) {
  const VjpFn vjp = vjp_for(op);
  const Shape full(c.shape(c.out.shape()));
  std::vector<char> needs(size_t(c.n_in));
  std::vector<Tensor> gin(size_t(c.n_in));
  Tensor sum;
  for (int i = 0; i < c.n_in; ++i) {
    if (!c.t[i].defined()) continue;
    Tensor g = c.aligned(i);
    if (g.shape() != full) g = broadcast_to(g, full);
    std::fill(needs.begin(), needs.end(), 0);
    needs[size_t(i)] = 1;
    std::fill(gin.begin(), gin.end(), Tensor());
    VjpCtx v{{}, c.in, c.n_in, c.out, g, c.attrs, c.n_attrs, reinterpret_cast<const bool*>(needs.data()),
             gin.data(), c.batch_};
    vjp(v);
    if (!gin[size_t(i)].defined()) continue;
    sum = sum.defined() ? sum + gin[size_t(i)] : gin[size_t(i)];
  }
  return sum;
}
}  // namespace

Tensor apply_jvp(OpId op, JvpCtx& c) {
  Tensor r;
  switch (jvp_kind(op)) {
    case JvpKind::None: return r;
    case JvpKind::Sym: r = sym_jvp(op, c); break;
    case JvpKind::Rule: r = jvp_rule(op)(c); break;
  }
  if (!r.defined()) return r;
  if (r.dtype() != c.out.dtype())
    throw InvalidArgument(std::string("the jvp of ") + op_name(op) + " has dtype " + dtype_name(r.dtype()) +
                          " but the op's output is " + dtype_name(c.out.dtype()));
  const Shape full(c.shape(c.out.shape()));
  if (r.shape() != full) r = broadcast_to(r, full);  // a rule may return a zero part unbroadcast
  return r;
}

}  // namespace gt
