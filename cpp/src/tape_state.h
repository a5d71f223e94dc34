#pragma once
// The tape's state (internal): a tape's flat arrays of records, slots, saved tensors and
// attributes, and its ownership rules. Shared by the files of the tape, one per concern:
//   tape.cpp          recording (record_op, variables, custom gradients), the Tape object (enter,
//                     exit, watch, reset), pauses and the per-thread stack of tapes;
//   tape_sweep.cpp    the reverse sweep, the forward sweep over records, Tape::gradient;
//   tape_jacobian.cpp Jacobians, batched, in either direction;
//   tape_explain.cpp  why a gradient is None (UnconnectedGradients 'error').
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gradtape/gradient.h"
#include "gradtape/tape.h"
#include "op_table.h"

namespace gt {

namespace tape_detail {

constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();
extern std::atomic<int64_t> g_live_records;
extern std::atomic<void (*)()> g_interrupt_check;
// Serials of the tapes that exist (tape.cpp), for pruning stale links.
uint64_t register_serial();
void unregister_serial(uint64_t s);
// The id Python's threading.get_ident() gives this thread (pthread_self), for messages.
uint64_t thread_ident();

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

}  // namespace tape_detail

using tape_detail::kNoSlot;
using tape_detail::Record;

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
  // Hidden dependences of values this tape recorded (HiddenDependence): the outputs of a
  // gt.function's cond and while steps that ran while it recorded around the call
  // (detail::add_hidden_dependence). gradient() and the Jacobians use them with those given.
  std::vector<HiddenDependence> hidden;
  int sweeping = 0;         // reverse sweeps running on this tape (a custom gradient may call back)

  TapeState(bool p, bool w) : serial(tape_detail::register_serial()), persistent(p), watch_accessed(w) {}

  // Claims the tape for this thread (reentrant), or throws naming the thread that holds it.
  void hold(const char* what) {
    const uint32_t me = this_thread_number();
    uint32_t h = holder.load(std::memory_order_acquire);
    if (h == me) {
      ++holds;
      return;
    }
    if (h == 0 && holder.compare_exchange_strong(h, me, std::memory_order_acquire)) {
      holder_ident.store(tape_detail::thread_ident(), std::memory_order_relaxed);
      holds = 1;
      return;
    }
    const uint64_t other = holder_ident.load(std::memory_order_relaxed);
    throw TapeError(std::string("GradientTape.") + what + " was called on thread " + std::to_string(tape_detail::thread_ident()) +
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
    tape_detail::unregister_serial(serial);
  }

  uint32_t new_slot() {
    if (next_slot == kNoSlot) throw TapeError("tape has too many recorded tensors");
    slot_birth.push_back(uint32_t(records.size()));
    return next_slot++;
  }

  void clear() {
    tape_detail::g_live_records.fetch_sub(live.load(std::memory_order_relaxed), std::memory_order_relaxed);
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
    hidden.clear();
  }
  // The hidden dependences a gradient or Jacobian uses: this tape's own, then `given`.
  const std::vector<HiddenDependence>& with_own_hidden(const std::vector<HiddenDependence>& given,
                                                       std::vector<HiddenDependence>& merged) const {
    if (hidden.empty()) return given;
    merged = hidden;
    merged.insert(merged.end(), given.begin(), given.end());
    return merged;
  }

  std::string explain(const std::vector<Tensor>& targets, const Source& src) const;

  void release(size_t r) {
    Record& rec = records[r];
    if (rec.n_in == kNoSlot) return;
    for (uint32_t i = rec.first; i < rec.first + rec.n_in + rec.n_out; ++i) saved[i] = Tensor();
    if (rec.op == OpId::Custom) hooks[size_t(attrs[rec.attr_first])] = nullptr;
    rec.n_in = kNoSlot;
    live.store(live.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    tape_detail::g_live_records.fetch_sub(1, std::memory_order_relaxed);
  }

  // Appends a record; outputs get new slots and links to this tape.
  void append(OpId op, const Tensor* const* inputs, uint32_t n_in, const Tensor* outputs, uint16_t n_out,
              const int64_t* a, uint32_t n_attrs) {
    if (records.capacity() == 0) {
      // A tape starts with room for a small function's records (a program makes a fresh tape
      // at each run: this spares the first doublings of each array).
      records.reserve(16);
      slots.reserve(48);
      saved.reserve(48);
      attrs.reserve(16);
      slot_birth.reserve(32);
    }
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
    tape_detail::g_live_records.fetch_add(1, std::memory_order_relaxed);
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

  // Whether src reaches a target when each hidden dependence's value also depends on what it
  // lists (tape_explain.cpp; the records must not have been released).
  bool reached_through(const std::vector<Tensor>& targets, const Source& src,
                       const std::vector<HiddenDependence>& hidden) const;
  // The hidden dependences whose value lies on such a path (src reaches it, it reaches a target).
  std::vector<size_t> hidden_on_path(const std::vector<Tensor>& targets, const Source& src,
                                     const std::vector<HiddenDependence>& hidden) const;
  bool reaches_a_target(const std::vector<Tensor>& targets, const std::vector<char>& reached) const;
  std::unordered_map<uint32_t, std::vector<uint32_t>> hidden_edges(const std::vector<HiddenDependence>& hidden) const;

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

// Marks a tape used by a gradient or Jacobian: a non-persistent one answers only one (tape.cpp).
void start_backward(TapeState& s, const char* what);

}  // namespace gt
