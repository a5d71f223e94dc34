// The tape: recording, the reverse sweep, sum-to-shape and accumulation, release.
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

namespace gt {

namespace {

constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();
std::atomic<uint64_t> g_next_serial{1};
std::atomic<int64_t> g_live_records{0};
std::atomic<void (*)()> g_interrupt_check{nullptr};

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
uint64_t register_serial() {
  uint64_t s = g_next_serial.fetch_add(1);
  std::lock_guard<std::mutex> lock(g_serials_mu);
  live_serials().insert(s);
  return s;
}
void unregister_serial(uint64_t s) {
  std::lock_guard<std::mutex> lock(g_serials_mu);
  live_serials().erase(s);
}

// One recorded op. Its input and output slots and saved tensors sit at [first, first+n_in+n_out)
// of the tape's flat arrays; its attributes run from attr_first to the next record's
// attr_first (attributes are appended in record order). 16 bytes; with 4 bytes of slot id per
// input and output and 4 of slot birth per output, a binary op costs 32 bytes of bookkeeping.
struct Record {
  OpId op;
  uint16_t n_out;
  uint32_t n_in;
  uint32_t first;
  uint32_t attr_first;
};
static_assert(sizeof(Record) == 16, "a record is 16 bytes");

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

// The id Python's threading.get_ident() gives this thread (pthread_self), for messages.
uint64_t thread_ident() { return uint64_t(pthread_self()); }

}  // namespace

namespace detail {
thread_local int tls_recording GT_TLS = 0;
thread_local uint64_t tls_horizon GT_TLS = std::numeric_limits<uint64_t>::max();
uint64_t next_entry() { return ++tls.entries; }
}

// A tape belongs to one thread at a time: the thread inside its `with` block (from push() to
// pop()), or a thread running one of its methods (gradient, watch, reset...). hold() claims it
// for the calling thread, reentrantly (a custom gradient may call back into its own tape), and
// never waits: a call from another thread while it is held is a TapeError that names the
// holder. So the recording thread appends without any lock, and a reverse sweep (which runs
// without the GIL) never meets a concurrent append, reset or second sweep on the same tape.
// Only `recording`, `abandoned`, `entered`, `live` and the holder fields are read across threads.
struct TapeState {
  uint64_t serial;
  bool persistent;
  bool watch_accessed;
  uint64_t entry = 0;  // its entry number on the entering thread (detail::next_entry)
  std::atomic<bool> recording{true};
  std::atomic<bool> entered{false};    // between push() and pop() (on the holder's thread)
  std::atomic<bool> abandoned{false};  // exited or destroyed on another thread: its thread drops it
  std::atomic<uint32_t> holder{0};     // this_thread_number() of the holding thread, 0: free
  std::atomic<uint64_t> holder_ident{0};
  int holds = 0;                       // the holder's nesting depth (touched by the holder only)
  bool used = false;
  uint32_t next_slot = 0;
  std::atomic<int64_t> live{0};  // records not yet released (written by the holder only)

  std::vector<Record> records;
  std::vector<uint32_t> slots;
  std::vector<Tensor> saved;
  std::vector<int64_t> attrs;
  std::vector<uint32_t> slot_birth;  // the record count when each slot was made
  std::vector<GradHook> hooks;
  std::unordered_map<uint64_t, uint32_t> var_slots;
  std::vector<std::shared_ptr<Variable>> watched_vars;

  // For explaining None gradients: when recording began, on which thread, and the slots
  // that went through stop_gradient or left through .numpy()/float().
  uint64_t start_seq = 0;
  uint32_t thread = 0;
  std::vector<uint32_t> stopped, exited;
  bool had_custom = false;  // a custom gradient was ever recorded (the bindings then free its hook)
  int sweeping = 0;         // reverse sweeps running on this tape (a custom gradient may call back)

  TapeState(bool p, bool w) : serial(register_serial()), persistent(p), watch_accessed(w) {}

  // Claims the tape for this thread (reentrant), or throws naming the thread that holds it.
  void hold(const char* what) {
    const uint32_t me = this_thread_number();
    uint32_t h = holder.load(std::memory_order_acquire);
    if (h == me) {
      ++holds;
      return;
    }
    if (h == 0 && holder.compare_exchange_strong(h, me, std::memory_order_acquire)) {
      holder_ident.store(thread_ident(), std::memory_order_relaxed);
      holds = 1;
      return;
    }
    const uint64_t other = holder_ident.load(std::memory_order_relaxed);
    throw TapeError(std::string("GradientTape.") + what + " was called on thread " + std::to_string(thread_ident()) +
                    " while the tape is " + (entered.load() ? "recording (inside its `with` block)" : "in use") +
                    " on thread " + std::to_string(other) +
                    ": a tape belongs to one thread at a time; use it on that thread, or after its "
                    "`with` block and its gradient calls there have ended");
  }
  void unhold() {
    if (--holds == 0) holder.store(0, std::memory_order_release);
  }
  struct Hold {
    TapeState& s;
    Hold(TapeState& st, const char* what) : s(st) { s.hold(what); }
    ~Hold() { s.unhold(); }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
  };
  ~TapeState() {
    clear();
    unregister_serial(serial);
  }

  uint32_t new_slot() {
    if (next_slot == kNoSlot) throw TapeError("tape has too many recorded tensors");
    slot_birth.push_back(uint32_t(records.size()));
    return next_slot++;
  }

  void clear() {
    g_live_records.fetch_sub(live.load(std::memory_order_relaxed), std::memory_order_relaxed);
    live.store(0, std::memory_order_relaxed);
    records.clear();
    records.shrink_to_fit();
    slots.clear();
    slots.shrink_to_fit();
    saved.clear();  // tensors hold no pointers to each other: freeing is flat, never recursive
    saved.shrink_to_fit();
    attrs.clear();
    slot_birth.clear();
    hooks.clear();
    stopped.clear();
    exited.clear();
  }

  std::string explain(const std::vector<Tensor>& targets, const Source& src) const;

  void release(size_t r) {
    Record& rec = records[r];
    if (rec.n_in == kNoSlot) return;
    for (uint32_t i = rec.first; i < rec.first + rec.n_in + rec.n_out; ++i) saved[i] = Tensor();
    if (rec.op == OpId::Custom) hooks[size_t(attrs[rec.attr_first])] = nullptr;
    rec.n_in = kNoSlot;
    live.store(live.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    g_live_records.fetch_sub(1, std::memory_order_relaxed);
  }

  // Appends a record; outputs get new slots and links to this tape.
  void append(OpId op, const Tensor* const* inputs, uint32_t n_in, const Tensor* outputs, uint16_t n_out,
              const int64_t* a, uint32_t n_attrs) {
    Record rec{op, n_out, n_in, uint32_t(slots.size()), uint32_t(attrs.size())};
    for (uint32_t i = 0; i < n_in; ++i) {
      uint32_t s = kNoSlot;
      if (!is_floating(inputs[i]->dtype()) || !inputs[i]->get()->find_link(serial, &s)) s = kNoSlot;
      slots.push_back(s);
      saved.push_back(*inputs[i]);
    }
    for (uint16_t k = 0; k < n_out; ++k) {
      uint32_t s = new_slot();
      outputs[k].get()->add_link(serial, s);
      slots.push_back(s);
      saved.push_back(outputs[k]);
    }
    attrs.insert(attrs.end(), a, a + n_attrs);
    records.push_back(rec);
    live.store(live.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    g_live_records.fetch_add(1, std::memory_order_relaxed);
  }

  bool watches_any(const Tensor* const* inputs, int n_in) const {
    uint32_t s;
    for (int i = 0; i < n_in; ++i)
      if (is_floating(inputs[i]->dtype()) && inputs[i]->get()->find_link(serial, &s)) return true;
    return false;
  }

  void link_variable(Variable& v) {
    auto it = var_slots.find(v.id());
    uint32_t slot;
    if (it == var_slots.end()) {
      slot = new_slot();
      var_slots.emplace(v.id(), slot);
      watched_vars.push_back(v.shared_from_this());
    } else {
      slot = it->second;
    }
    uint32_t existing;
    TensorImpl* impl = v.value().get();
    if (!impl->find_link(serial, &existing)) impl->add_link(serial, slot);
  }

  uint32_t source_slot(const Source& src) const {
    uint32_t s = kNoSlot;
    if (src.variable) {
      auto it = var_slots.find(src.variable->id());
      return it == var_slots.end() ? kNoSlot : it->second;
    }
    if (src.tensor.defined() && src.tensor.get()->find_link(serial, &s)) return s;
    return kNoSlot;
  }

  // The reverse sweep. With `batch` (a batched Jacobian), every seed and gradient has these
  // leading dims in front of its tensor's shape, and rules are told so.
  std::vector<Tensor> sweep(const std::vector<std::pair<uint32_t, Tensor>>& seeds,
                            const std::vector<uint32_t>& src_slots, bool release_records,
                            const Shape* batch = nullptr);
  // Forward mode over the records (a Jacobian's tall direction): the tangent of `target` when
  // `seed`, with `nb` batch dims in front of the source's shape, is the source's.
  Tensor forward_sweep(uint32_t source, const Tensor& seed, uint32_t target, int nb);
  bool has_custom_records() const {
    for (const Record& r : records)
      if (r.op == OpId::Custom && r.n_in != kNoSlot) return true;
    return false;
  }
};

// Drops this thread's hold on a tape it had entered (pop, or pruning an abandoned tape).
void leave(TapeState& t) {
  t.entered.store(false, std::memory_order_relaxed);
  t.unhold();
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
    if (tls.tape_pause == 0)
      for (const auto& t : st) n += t->recording.load(std::memory_order_relaxed) ? 1 : 0;
    n += detail::active_accumulators();
  }
  detail::tls_recording = n;
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
  bool stale = false;
  if (tls.tape_pause == 0)
    for (const auto& t : tls.stack) {
      if (!t->recording.load(std::memory_order_relaxed)) {
        stale |= t->abandoned.load(std::memory_order_relaxed);
        continue;
      }
      if ((t->entry >= tls_horizon && entry_hidden(t->entry)) || !t->watches_any(inputs, n_in)) continue;
      t->append(op, inputs, uint32_t(n_in), &out, 1, attrs, uint32_t(n_attrs));
    }
  if (stale) refresh_recording();
  if (active_accumulators()) forward_op(op, inputs, n_in, out, attrs, n_attrs);
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
  if (tls.tape_pause == 0)
    for (const auto& t : tls.stack) {
      if (!t->recording.load(std::memory_order_relaxed) || (t->entry >= detail::tls_horizon && detail::entry_hidden(t->entry))) continue;
      if ((t->watch_accessed && v.trainable()) || t->var_slots.count(v.id())) t->link_variable(v);
    }
  if (detail::active_accumulators()) detail::forward_variable_read(v);
}

// ---- the reverse sweep ----

std::vector<Tensor> TapeState::sweep(const std::vector<std::pair<uint32_t, Tensor>>& seeds,
                                     const std::vector<uint32_t>& src_slots, bool release_records,
                                     const Shape* batch) {
  const int nb = batch ? batch->rank() : 0;
  struct Guard {
    int& n;
    explicit Guard(int& c) : n(c) { ++n; }
    ~Guard() { --n; }
  } guard(sweeping);
  const size_t n_rec = records.size();
  std::vector<Tensor> grads(next_slot);
  for (const auto& [slot, seed] : seeds)
    grads[slot] = grads[slot].defined() ? add(grads[slot], seed) : seed;

  std::vector<char> keep(next_slot, 0);
  uint32_t stop = uint32_t(n_rec);
  for (uint32_t s : src_slots)
    if (s != kNoSlot) {
      keep[s] = 1;
      stop = std::min(stop, slot_birth[s]);
    }

  // Scratch reused by every record (no allocation per record once warm).
  std::vector<Tensor> ins, outs, gout, gin;
  std::vector<char> needs;
  std::vector<int64_t> rec_attrs;
  std::vector<uint32_t> in_slots, out_slots;
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
      if (release_records) release(r);
      continue;
    }
    // Copy what the rule needs: it may record on this very tape (a persistent tape asked for
    // a gradient inside its own block), which can move these arrays.
    ins.assign(saved.begin() + rec.first, saved.begin() + out0);
    outs.assign(saved.begin() + out0, saved.begin() + out0 + rec.n_out);
    const size_t attr_end = r + 1 < records.size() ? records[r + 1].attr_first : attrs.size();
    rec_attrs.assign(attrs.begin() + rec.attr_first, attrs.begin() + long(attr_end));
    in_slots.assign(slots.begin() + rec.first, slots.begin() + out0);
    out_slots.assign(slots.begin() + out0, slots.begin() + out0 + rec.n_out);
    gout.assign(rec.n_out, Tensor());
    for (uint32_t k = 0; k < rec.n_out; ++k) gout[k] = grads[out_slots[k]];
    needs.assign(rec.n_in, 0);
    for (uint32_t i = 0; i < rec.n_in; ++i) needs[i] = in_slots[i] != kNoSlot;
    gin.assign(rec.n_in, Tensor());

    if (rec.op == OpId::Custom) {
      GradHook hook = hooks[size_t(rec_attrs[0])];
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
        if (needs[i] && needs[j] && gin[i].defined() && gin[i].same(gin[j]) && fusion::is_deferred(gin[i]))
          gin[i].raw();

    for (uint32_t i = 0; i < rec.n_in; ++i) {
      if (!needs[i] || !gin[i].defined()) continue;
      Tensor gi = gin[i];
      if (gi.dtype() != ins[i].dtype())
        throw InvalidArgument(std::string("gradient of ") + op_name(rec.op) + " input " + std::to_string(i) +
                              " has dtype " + dt(gi) + " but the input is " + dt(ins[i]));
      if (batch) {
        Shape full = *batch;
        for (int d = 0; d < ins[i].ndim(); ++d) full.push_back(ins[i].shape()[d]);
        gi = sum_to_shape_masked(gi, full, nb);
      } else {
        gi = sum_to_shape_masked(gi, ins[i].shape());
      }
      Tensor& acc = grads[in_slots[i]];
      acc = acc.defined() ? accumulate_masked(acc, gi) : gi;  // used twice: summed, never assigned
    }
    if (release_records) {
      release(r);
      for (uint32_t s : out_slots)
        if (!keep[s]) grads[s] = Tensor();
    }
  }
  std::vector<Tensor> result;
  result.reserve(src_slots.size());
  for (uint32_t s : src_slots) result.push_back(s == kNoSlot ? Tensor() : grads[s]);
  return result;
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
    if (rec.op == OpId::Custom)
      throw InvalidArgument("a forward-mode Jacobian cannot pass through a custom_gradient call; use "
                            "experimental_mode='reverse'");
    const uint32_t out0 = rec.first + rec.n_in;
    tin.assign(rec.n_in, Tensor());
    int ref = -1;
    for (uint32_t i = 0; i < rec.n_in; ++i) {
      const uint32_t si = slots[rec.first + i];
      if (si == kNoSlot || !tangents[si].defined()) continue;
      tin[i] = tangents[si];
      if (ref < 0) ref = int(i);
    }
    if (ref < 0) continue;
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

namespace {
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
}  // namespace

std::vector<Tensor> Tape::gradient(const std::vector<Tensor>& targets, const std::vector<Source>& sources,
                                   const std::vector<Tensor>& output_gradients, Unconnected unconnected,
                                   const std::vector<std::pair<size_t, size_t>>& same) {
  TapeState& s = *state_;
  TapeState::Hold hold(s, "gradient");
  if (!output_gradients.empty() && output_gradients.size() != targets.size())
    throw ValueError_("gradient: got " + std::to_string(output_gradients.size()) + " output_gradients for " +
                      std::to_string(targets.size()) + " targets");
  start_backward(s, "gradient");
  std::vector<std::pair<uint32_t, Tensor>> seeds;
  for (size_t i = 0; i < targets.size(); ++i) {
    const Tensor& t = targets[i];
    require_defined(t, "gradient");
    uint32_t slot;
    if (!is_floating(t.dtype()) || !t.get()->find_link(s.serial, &slot)) continue;
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
    if (i >= targets.size() || j >= sources.size())
      throw InvalidArgument("gradient: a (target, source) pair is out of range");
    const Tensor& t = targets[i];
    uint32_t slot;
    if (!is_floating(t.dtype()) || t.get()->find_link(s.serial, &slot)) continue;
    const bool given = !output_gradients.empty() && output_gradients[i].defined();
    direct.emplace_back(j, given ? output_gradients[i] : ones_like(t));
  }
  std::vector<uint32_t> src_slots;
  for (const Source& src : sources) src_slots.push_back(s.source_slot(src));
  // (Error mode keeps the records until the causes are known; explain() reads them.)
  std::vector<Tensor> result = s.sweep(seeds, src_slots, !s.persistent && unconnected != Unconnected::Error);
  for (auto& [j, g] : direct) result[j] = result[j].defined() ? add(result[j], g) : g;
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
  if (unconnected == Unconnected::Zero)
    for (size_t j = 0; j < result.size(); ++j)
      if (!result[j].defined())
        result[j] = zeros_like(sources[j].variable ? sources[j].variable->value() : sources[j].tensor);
  return result;
}

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
  Tensor seed = zeros(shape, target.dtype());
  dispatch_float(target.dtype(), [&](auto tag) {
    auto* data = seed.data<decltype(tag)>();
    for (int64_t i = 0; i < m; ++i) mark(data, i);
  });
  return seed;
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
                                   JacobianMode mode) {
  TapeState& s = *state_;
  TapeState::Hold hold(s, "jacobian");
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
    if (!connected[j] && unconnected == Unconnected::None) {
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

Tensor Tape::batch_jacobian(const Tensor& target, const Source& source, Unconnected unconnected, JacobianMode mode) {
  TapeState& s = *state_;
  TapeState::Hold hold(s, "batch_jacobian");
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
  } else if (unconnected != Unconnected::None) {
    result = zeros(Shape(shape), src.dtype());
  }
  if (!s.persistent) s.clear();
  return result;
}

// ---- explaining a None gradient ----

std::string TapeState::explain(const std::vector<Tensor>& targets, const Source& src) const {
  const Tensor& t = src.variable ? src.variable->value() : src.tensor;
  const std::string what = src.variable ? "variable '" + src.variable->name() + "'" : "tensor of shape " + t.shape().str();
  if (!is_floating(t.dtype()))
    return "the " + what + " has dtype " + dtype_name(t.dtype()) +
           ": integer and bool tensors carry no gradient (cast it to a float dtype first)";
  uint32_t slot = source_slot(src);
  if (slot == kNoSlot) {
    if (src.variable) {
      if (!src.variable->trainable())
        return "the " + what + " is not trainable, so reading it does not watch it: call tape.watch() on it";
      if (!watch_accessed)
        return "the " + what + " was never watched: the tape has watch_accessed_variables=False; call tape.watch() on it";
      return "the " + what + " was never read inside the tape's `with` block (variables are watched when read there)";
    }
    if (start_seq && t.get()->seq < start_seq)
      return "the " + what + " was computed before the tape started recording and was never passed to tape.watch()";
    return "the " + what + " was never watched: it is a constant or was computed from unwatched values; "
           "call tape.watch() on it";
  }
  // Which slots depend on the source (a forward pass over the records from its birth)?
  std::vector<char> reached(next_slot, 0);
  reached[slot] = 1;
  for (size_t r = slot_birth[slot]; r < records.size(); ++r) {
    const Record& rec = records[r];
    if (rec.n_in == kNoSlot) continue;
    bool hit = false;
    for (uint32_t i = 0; i < rec.n_in; ++i) {
      uint32_t si = slots[rec.first + i];
      hit |= si != kNoSlot && reached[si];
    }
    if (hit)
      for (uint32_t k = 0; k < rec.n_out; ++k) reached[slots[rec.first + rec.n_in + k]] = 1;
  }
  for (uint32_t st : stopped)
    if (reached[st])
      return "the path from the " + what + " to the target is cut: a value computed from it went through "
             "gt.stop_gradient on this tape";
  for (uint32_t ex : exited)
    if (reached[ex])
      return "the " + what + " (or a value computed from it) left the tape through .numpy() or a Python number, "
             "which carries no gradient: keep the computation in gradtape ops";
  bool any_target_recorded = false;
  uint32_t s;
  for (const Tensor& tg : targets) any_target_recorded |= tg.defined() && tg.get()->find_link(serial, &s);
  if (!any_target_recorded) {
    for (const Tensor& tg : targets)
      if (tg.defined() && thread && tg.get()->thread != thread)
        return "the target was computed on another thread: a tape records only the ops of the thread that opened it";
    return "the target was not recorded by this tape (computed outside its `with` block, under stop_recording(), "
           "or from unwatched values)";
  }
  return "the target does not depend on the " + what;
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
