// The tape: recording, the Tape object (enter, exit, watch, reset), pauses and each thread's
// stack of tapes. The tape's state is in tape_state.h; its sweeps, Jacobians and explanations
// in tape_sweep.cpp, tape_jacobian.cpp and tape_explain.cpp.
#include "gradtape/tape.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "gradtape/forward.h"
#include "gradtape/gradient.h"
#include "ops_common.h"
#include "record.h"
#include "fusion.h"
#include "structural.h"
#include "tape_internal.h"
#include "tape_state.h"

namespace gt {

std::atomic<int64_t> tape_detail::g_live_records{0};
std::atomic<void (*)()> tape_detail::g_interrupt_check{nullptr};

namespace {

std::atomic<uint64_t> g_next_serial{1};

// Serials of the tapes that exist, for pruning stale links (touched only when a tensor
// already has two links, and when tapes are made, reset or destroyed).
std::mutex g_serials_mu;
std::unordered_set<uint64_t>& live_serials() {
  static auto* s = [] {
    // Held across fork() so that a child never inherits it locked by another thread.
    pthread_atfork([] { g_serials_mu.lock(); }, [] { g_serials_mu.unlock(); }, [] { g_serials_mu.unlock(); });
    return new std::unordered_set<uint64_t>();
  }();
  return *s;
}
}  // namespace

uint64_t tape_detail::register_serial() {
  uint64_t s = g_next_serial.fetch_add(1);
  std::lock_guard<std::mutex> lock(g_serials_mu);
  live_serials().insert(s);
  return s;
}
void tape_detail::unregister_serial(uint64_t s) {
  std::lock_guard<std::mutex> lock(g_serials_mu);
  live_serials().erase(s);
}

namespace {

// This thread's entered tapes, innermost last. The stack shares ownership of each tape: a
// tape destroyed or exited on another thread is only marked there (abandoned) and dropped here,
// by the thread that records on it, at its next recorded op or `with` block.
struct ThreadTapes {
  std::vector<std::shared_ptr<TapeState>> stack;
  int pause = 0;       // RecordingPause: nothing records, no tangent is computed
  int tape_pause = 0;  // TapePause: tapes record nothing, accumulators still compute tangents
  uint64_t entries = 0;
  std::vector<VariableAccessLog*> logs;
  ~ThreadTapes();
};
thread_local ThreadTapes tls GT_TLS;

}  // namespace

uint64_t tape_detail::thread_ident() { return uint64_t(pthread_self()); }
using tape_detail::g_interrupt_check;
using tape_detail::g_live_records;
using tape_detail::thread_ident;
using tape_detail::unregister_serial;
using tape_detail::register_serial;

namespace detail {
thread_local int tls_recording GT_TLS = 0;
thread_local RecordSink* tls_sink GT_TLS = nullptr;
thread_local uint64_t tls_horizon GT_TLS = std::numeric_limits<uint64_t>::max();
uint64_t next_entry() { return ++tls.entries; }
}

// Drops this thread's hold on a tape it had entered (pop, or pruning an abandoned tape).
void leave(TapeState& t) {
  t.entered.store(false, std::memory_order_relaxed);
  t.unhold();
}

bool detail::seen_by_a_recorder(const Tensor& t) {
  if (!t.defined()) return false;
  uint32_t slot;
  for (const auto& s : tls.stack)
    if (!s->abandoned.load(std::memory_order_acquire) && t.get()->find_link(s->serial, &slot)) return true;
  return detail::active_accumulators() > 0 && has_a_live_tangent(t);
}

void detail::watch_where_linked(Tensor& t, const std::vector<Tensor>& from, bool all) {
  if (tls.tape_pause) return;
  std::vector<const Tensor*> ins;
  for (const Tensor& f : from) ins.push_back(&f);
  bool fresh = all;
  uint32_t slot;
  for (const auto& s : tls.stack) {
    if (!s->recording.load(std::memory_order_relaxed) || (s->entry >= tls_horizon && entry_hidden(s->entry)) ||
        (!all && !s->watches_any(ins.data(), int(ins.size()))) || t.get()->find_link(s->serial, &slot))
      continue;
    if (!fresh) {
      t = reshape(t, t.shape().vec());
      fresh = true;
      if (t.get()->find_link(s->serial, &slot)) continue;
    }
    t.get()->add_link(s->serial, s->new_slot());
  }
}

void detail::add_hidden_dependence(const HiddenDependence& h, const std::vector<uint64_t>& skip) {
  if (tls.tape_pause || !h.value.defined() || h.on.empty()) return;
  uint32_t slot;
  for (const auto& s : tls.stack) {
    if (!s->recording.load(std::memory_order_relaxed) || (s->entry >= tls_horizon && entry_hidden(s->entry)) ||
        std::find(skip.begin(), skip.end(), s->serial) != skip.end() || !h.value.get()->find_link(s->serial, &slot))
      continue;
    s->hidden.push_back(h);
  }
}

void detail::note_hidden_variable_read(Variable& v, const std::vector<uint64_t>& skip) {
  if (tls.tape_pause) return;
  for (const auto& t : tls.stack) {
    if (!t->recording.load(std::memory_order_relaxed) || (t->entry >= tls_horizon && entry_hidden(t->entry)) ||
        std::find(skip.begin(), skip.end(), t->serial) != skip.end())
      continue;
    if ((t->watch_accessed && v.trainable()) || t->var_slots.count(v.id())) t->link_variable(v);
  }
}

// tls_recording: the tapes recording on this thread plus its entered accumulators (none while
// a RecordingPause lives): the ops' one fast-path check.
void detail::refresh_recording() {
  // First drop the tapes exited or destroyed on another thread (they stopped recording there).
  auto& st = tls.stack;
  for (size_t i = st.size(); i-- > 0;)
    if (st[i]->abandoned.load(std::memory_order_acquire)) {
      std::shared_ptr<TapeState> t = std::move(st[i]);
      st.erase(st.begin() + long(i));
      leave(*t);
    }
  int n = 0;
  if (tls.pause == 0) {
    if (tls.tape_pause == 0) {
      for (const auto& t : st) n += t->recording.load(std::memory_order_relaxed) ? 1 : 0;
      n += detail::tls_sink ? 1 : 0;
    }
    n += detail::active_accumulators();
  }
  detail::tls_recording = n;
}

void detail::enter_sink(RecordSink* sink) {
  tls_sink = sink;
  refresh_recording();
}

void detail::leave_sink() {
  tls_sink = nullptr;
  refresh_recording();
}

bool detail::recording_paused() { return tls.pause != 0 || tls.tape_pause != 0; }

void RecordSink::note(OpId op, const Tensor* const* inputs, int n_in, const Tensor& out, const int64_t* a, int n_attrs,
                      bool tape_appended) {
  const size_t i = calls++;
  bool keep;
  if (wanted) {
    if (i >= wanted->size()) {
      mismatch = true;
      return;
    }
    keep = (*wanted)[i];
  } else {
    appended.push_back(tape_appended);
    keep = tape_appended;
  }
  if (!keep) return;
  if (wanted && (ops.size() >= expected_ops->size() || (*expected_ops)[ops.size()] != op)) mismatch = true;
  ops.push_back(op);
  attr_first.push_back(uint32_t(attrs.size()));
  const size_t first = saved.size();
  for (int k = 0; k < n_in; ++k) saved.push_back(*inputs[k]);
  saved.push_back(out);
  attrs.insert(attrs.end(), a, a + n_attrs);
  if (wanted && !mismatch)
    for (int k = 0; k < n_in; ++k)
      if (const uint64_t id = first + size_t(k) < variable_of->size() ? (*variable_of)[first + size_t(k)] : 0) {
        bool read = false;  // (newest first: a value is mostly used soon after its read)
        for (auto r = reads.rbegin(); r != reads.rend() && !read; ++r)
          read = r->first == id && r->second == inputs[k]->get();
        mismatch = mismatch || !read;
      }
}

using detail::refresh_recording;

ThreadTapes::~ThreadTapes() {
  // The thread ends inside some `with` blocks: the tapes are free for other threads.
  for (const auto& t : stack) {
    t->entered.store(false, std::memory_order_relaxed);
    t->holds = 0;
    t->holder.store(0, std::memory_order_release);
  }
}

// ---- recording ----

void detail::record_op(OpId op, const Tensor* const* inputs, int n_in, const Tensor& out,
                       const int64_t* attrs, int n_attrs) {
  if (!is_floating(out.dtype())) return;
  bool stale = false, appended = false;
  if (tls.tape_pause == 0) {
    for (const auto& t : tls.stack) {
      if (!t->recording.load(std::memory_order_relaxed)) {
        stale |= t->abandoned.load(std::memory_order_relaxed);
        continue;
      }
      if ((t->entry >= tls_horizon && entry_hidden(t->entry)) || !t->watches_any(inputs, n_in)) continue;
      t->append(op, inputs, uint32_t(n_in), &out, 1, attrs, uint32_t(n_attrs));
      appended = true;
    }
    if (tls_sink) tls_sink->note(op, inputs, n_in, out, attrs, n_attrs, appended);
  }
  if (stale) refresh_recording();
  if (active_accumulators()) forward_op(op, inputs, n_in, out, attrs, n_attrs);
}

void check_custom_gradients(const std::vector<Tensor>& grads, const std::vector<Tensor>& upstream,
                            const std::vector<Shape>& in_shapes, int out0_rank) {
  const int batch = upstream.empty() || !upstream[0].defined() ? 0 : std::max(0, upstream[0].ndim() - out0_rank);
  for (size_t k = 0; k < grads.size() && k < in_shapes.size(); ++k) {
    if (!grads[k].defined()) continue;
    std::vector<int64_t> want(upstream[0].shape().data(), upstream[0].shape().data() + batch);
    for (int d = 0; d < in_shapes[k].rank(); ++d) want.push_back(in_shapes[k][d]);
    if (grads[k].shape() != Shape(want) && grads[k].shape() != in_shapes[k])
      throw InvalidArgument("custom_gradient: the gradient function returned a gradient of shape " +
                            grads[k].shape().str() + " for input " + std::to_string(k) + " of shape " +
                            in_shapes[k].str() + "; it must have the input's shape");
  }
}

bool record_custom(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs, GradHook hook) {
  if (detail::tls_recording == 0) return false;
  std::vector<const Tensor*> ins;
  for (const Tensor& t : inputs) ins.push_back(&t);
  for (const Tensor& t : outputs)
    for (const Tensor& i : inputs)
      if (t.same(i))
        throw InvalidArgument("custom_gradient: an output is the same tensor as an input; return a new tensor");
  bool recorded = false;
  if (tls.tape_pause) return false;
  for (const auto& t : tls.stack) {
    if (!t->recording.load(std::memory_order_relaxed) || (t->entry >= detail::tls_horizon && detail::entry_hidden(t->entry)) ||
        !t->watches_any(ins.data(), int(ins.size())))
      continue;
    int64_t hook_index = int64_t(t->hooks.size());
    t->hooks.push_back(hook);
    t->had_custom = true;
    t->append(OpId::Custom, ins.data(), uint32_t(ins.size()), outputs.data(), uint16_t(outputs.size()),
              &hook_index, 1);
    recorded = true;
  }
  return recorded;
}

void detail::notify_variable_read(Variable& v) {
  for (VariableAccessLog* log : tls.logs) log->add(v.shared_from_this());
  if (detail::tls_recording == 0) return;
  if (tls.tape_pause == 0 && tls_sink) tls_sink->reads.emplace_back(v.id(), v.value().get());
  if (tls.tape_pause == 0)
    for (const auto& t : tls.stack) {
      if (!t->recording.load(std::memory_order_relaxed) || (t->entry >= detail::tls_horizon && detail::entry_hidden(t->entry))) continue;
      if ((t->watch_accessed && v.trainable()) || t->var_slots.count(v.id())) t->link_variable(v);
    }
  if (detail::active_accumulators()) detail::forward_variable_read(v);
}

// ---- Tape ----

Tape::Tape(bool persistent, bool watch_accessed_variables)
    : state_(std::make_shared<TapeState>(persistent, watch_accessed_variables)) {}

Tape::~Tape() {
  TapeState& s = *state_;
  const uint32_t h = s.holder.load(std::memory_order_acquire);
  if (h == this_thread_number()) {
    auto& st = tls.stack;
    auto it = std::find(st.begin(), st.end(), state_);
    if (it != st.end()) {
      st.erase(it);
      refresh_recording();
    }
  } else if (h != 0) {
    // Entered on another thread: that thread's stack shares the state, stops recording on it
    // and frees it at its next op.
    s.recording.store(false, std::memory_order_relaxed);
    s.abandoned.store(true, std::memory_order_release);
  }
}

namespace {
void forget_recording(TapeState& s);  // (below, beside reset())
}  // namespace

void Tape::push() {
  TapeState& s = *state_;
  if (s.entered.load() && s.holder.load() == this_thread_number())
    throw InvalidArgument(
        "Tape is still recording, This can happen if you try to re-enter an already-active tape.");
  s.hold("__enter__");  // the hold lasts until pop()
  if (s.sweeping) {
    s.unhold();
    throw TapeError("GradientTape.__enter__ was called while the tape is computing a gradient "
                    "(from a custom gradient function)");
  }
  if (s.used && !s.persistent) {
    // A non-persistent tape entered again after its gradient starts a new recording (as in
    // TensorFlow: `with tape: ...; tape.gradient(...)` in a loop).
    forget_recording(s);
    s.start_seq = 0;
  }
  s.entered.store(true, std::memory_order_relaxed);
  s.abandoned.store(false, std::memory_order_relaxed);
  s.recording.store(true, std::memory_order_relaxed);
  if (s.start_seq == 0) {
    s.start_seq = next_tensor_seq();
    s.thread = this_thread_number();
  }
  s.entry = detail::next_entry();
  tls.stack.push_back(state_);
  refresh_recording();
}

void Tape::pop() {
  TapeState& s = *state_;
  if (!s.entered.load(std::memory_order_acquire)) return;
  const uint32_t h = s.holder.load(std::memory_order_acquire);
  if (h != this_thread_number()) {
    // Exited on a thread that did not enter it. It cannot be taken off the other thread's stack
    // from here: it stops recording now, and that thread drops it at its next op.
    s.recording.store(false, std::memory_order_relaxed);
    s.abandoned.store(true, std::memory_order_release);
    throw TapeError("GradientTape.__exit__ was called on thread " + std::to_string(thread_ident()) +
                    ", but the tape was entered on thread " +
                    std::to_string(s.holder_ident.load(std::memory_order_relaxed)) +
                    ", whose ops it records: a tape must be exited on the thread that entered it. "
                    "The tape has stopped recording.");
  }
  auto& st = tls.stack;
  auto it = std::find(st.begin(), st.end(), state_);
  if (it != st.end()) st.erase(it);
  leave(s);
  refresh_recording();
}

bool Tape::active() const { return state_->entered.load(std::memory_order_relaxed); }
uint64_t Tape::entered_on() const {
  return state_->entered.load(std::memory_order_acquire) ? state_->holder_ident.load(std::memory_order_relaxed) : 0;
}
void Tape::set_recording(bool on) {
  TapeState::Hold hold(*state_, "stop_recording");
  state_->recording.store(on, std::memory_order_relaxed);
  refresh_recording();
}
bool Tape::recording() const { return state_->recording.load(std::memory_order_relaxed); }
bool Tape::has_recording() const {
  TapeState::Hold hold(*state_, "stop_recording");
  return state_->start_seq != 0 && !(state_->used && !state_->persistent);
}
bool Tape::persistent() const { return state_->persistent; }
bool Tape::had_custom_gradients() const { return state_->had_custom; }
uint64_t Tape::serial() const { return state_->serial; }
size_t Tape::num_records() const { return size_t(state_->live.load(std::memory_order_relaxed)); }
size_t Tape::bookkeeping_bytes() const {
  TapeState& s = *state_;
  TapeState::Hold hold(s, "bookkeeping_bytes");
  return s.records.size() * sizeof(Record) + s.slots.size() * sizeof(uint32_t) +
         s.slot_birth.size() * sizeof(uint32_t) + s.attrs.size() * sizeof(int64_t);
}
bool Tape::watch_accessed_variables() const { return state_->watch_accessed; }

void Tape::watch(const Tensor& t) {
  require_defined(t, "watch");
  if (!is_floating(t.dtype())) return;  // integer and bool tensors never carry gradients
  TapeState::Hold hold(*state_, "watch");
  uint32_t s;
  if (!t.get()->find_link(state_->serial, &s)) t.get()->add_link(state_->serial, state_->new_slot());
}

void Tape::watch(const std::shared_ptr<Variable>& v) {
  if (!is_floating(v->dtype())) return;
  TapeState::Hold hold(*state_, "watch");
  state_->link_variable(*v);
}

std::vector<std::shared_ptr<Variable>> Tape::watched_variables() const {
  TapeState::Hold hold(*state_, "watched_variables");
  return state_->watched_vars;
}

namespace {
// Forgets every record, watch and slot: the tape records afresh (reset(), and entering a
// non-persistent tape again after its gradient, as TensorFlow does).
void forget_recording(TapeState& s) {
  s.clear();
  s.var_slots.clear();
  s.watched_vars.clear();
  s.next_slot = 0;
  s.used = false;
  unregister_serial(s.serial);
  s.serial = register_serial();  // every old link now points nowhere
}
}  // namespace

void Tape::reset() {
  TapeState& s = *state_;
  TapeState::Hold hold(s, "reset");
  if (s.sweeping)
    throw TapeError("GradientTape.reset() cannot be called while the tape is computing a gradient "
                    "(from a custom gradient function); reset it after gradient() returns");
  forget_recording(s);
}


void start_backward(TapeState& s, const char* what) {
  if (s.used && !s.persistent)
    throw TapeError("A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)");
  if (!s.persistent) {
    s.used = true;
    if (s.recording.load(std::memory_order_relaxed) && s.entered.load(std::memory_order_relaxed)) {
      // as TensorFlow: a non-persistent tape stops recording here
      s.recording.store(false, std::memory_order_relaxed);
      refresh_recording();
    }
  }
}

namespace {
void note_on_tapes(const Tensor& t, std::vector<uint32_t> TapeState::*list) {
  if (!t.defined() || !is_floating(t.dtype())) return;
  for (const auto& tape : tls.stack) {
    uint32_t slot;
    if (tape->recording.load(std::memory_order_relaxed) && t.get()->find_link(tape->serial, &slot)) ((*tape).*list).push_back(slot);
  }
}
}  // namespace

void detail::note_stop_gradient(const Tensor& t) { note_on_tapes(t, &TapeState::stopped); }
void note_left_tape(const Tensor& t) {
  if (detail::tls_recording) note_on_tapes(t, &TapeState::exited);
}

// ---- pauses, logs, counters ----

RecordingPause::RecordingPause() {
  ++tls.pause;
  refresh_recording();
}
RecordingPause::~RecordingPause() {
  --tls.pause;
  refresh_recording();
}
TapePause::TapePause() {
  ++tls.tape_pause;
  refresh_recording();
}
TapePause::~TapePause() {
  --tls.tape_pause;
  refresh_recording();
}

VariableAccessLog::VariableAccessLog() { tls.logs.push_back(this); }
VariableAccessLog::~VariableAccessLog() {
  auto it = std::find(tls.logs.begin(), tls.logs.end(), this);
  if (it != tls.logs.end()) tls.logs.erase(it);
}
VariableAccessLogPause::VariableAccessLogPause() : saved_(std::move(tls.logs)) { tls.logs.clear(); }
VariableAccessLogPause::~VariableAccessLogPause() { tls.logs.insert(tls.logs.begin(), saved_.begin(), saved_.end()); }
void VariableAccessLog::add(const std::shared_ptr<Variable>& v) {
  for (const auto& w : vars_)
    if (w == v) return;
  vars_.push_back(v);
}

bool detail::tape_alive(uint64_t serial) {
  std::lock_guard<std::mutex> lock(g_serials_mu);
  return live_serials().count(serial) != 0;
}

void set_interrupt_check(void (*check)()) { g_interrupt_check.store(check); }

bool any_tape_recording() {
  if (detail::tls_recording == 0 || tls.pause || tls.tape_pause) return false;
  for (const auto& t : tls.stack)
    if (t->recording.load(std::memory_order_relaxed)) return true;
  return false;
}
int64_t live_records() { return g_live_records.load(); }

}  // namespace gt
