#pragma once
// Tape: the record of differentiable ops, and the reverse sweep over it.
//
// A tape is a flat, append-only list of records (op id, input slots, output slots, the input
// and output tensors it saved, attributes). A tensor the tape can differentiate with respect
// to carries a TapeLink naming its slot. While a tape is on this thread's stack of active
// tapes, an op is recorded on it when one of its floating inputs has a link to it; with no
// active tape an op costs one thread-local check. Recording order is a topological order, so
// gradient() walks the records backwards in a plain loop (no recursion, no graph search),
// calls one vjp per record, sums each gradient down to its input's shape (sum_to_shape) and
// adds it into the input's slot. A non-persistent tape frees each record once its rule ran.
// The tape knows nothing about particular ops: rules come from the op table.
#include <cstdint>
#include <memory>
#include <vector>

#include "gradtape/errors.h"
#include "gradtape/tensor.h"
#include "gradtape/variable.h"

namespace gt {

struct TapeState;

// A source of a gradient: a tensor or a variable.
struct Source {
  Tensor tensor;
  std::shared_ptr<Variable> variable;
  Source(Tensor t) : tensor(std::move(t)) {}  // NOLINT: implicit
  Source(std::shared_ptr<Variable> v) : variable(std::move(v)) {}  // NOLINT: implicit
};

// What gradient() gives for a source the targets do not depend on: None (an undefined
// Tensor), zeros, or an UnconnectedError naming the cause for each such source.
enum class Unconnected { None, Zero, Error };

// A value whose dependences a tape cannot see in full: an output of a gt.cond or gt.while_loop
// that gt.function traced. The trace ran one branch (or so many iterations); another run may take
// the other, which reads `on` (every tensor and variable its branches or body read). As
// TensorFlow's cond and while ops, such an output counts as connected to each of them: a source
// that reaches a target only through one gets zeros from gradient(), not None (nor an
// UnconnectedError), so that the traced program has a gradient there at every run.
struct HiddenDependence {
  Tensor value;
  std::vector<Source> on;
};

// Which way a Jacobian is computed (the result is the same; only the cost differs).
enum class JacobianMode { Auto, Forward, Reverse };

class Tape {
 public:
  explicit Tape(bool persistent = false, bool watch_accessed_variables = true);
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  // Enter/leave this thread's stack of active tapes (Python's `with`). A tape belongs to the
  // thread that entered it until pop(); any use from another thread meanwhile is a TapeError
  // naming the owner (pop() from another thread also stops the tape recording). Its methods
  // may be called from any thread while it is not entered, one thread at a time.
  void push();
  void pop();
  bool active() const;
  // The entering thread's id (pthread_self(), Python's threading.get_ident()), 0 when not entered.
  uint64_t entered_on() const;
  // stop_recording(): while false, the tape stays on the stack but records nothing.
  void set_recording(bool on);
  bool recording() const;
  // Whether the tape holds a recording (TensorFlow's `_tape is not None`): it was entered, and
  // no gradient of a non-persistent tape has consumed it since. stop_recording() needs one.
  bool has_recording() const;

  void watch(const Tensor& t);
  void watch(const std::shared_ptr<Variable>& v);
  std::vector<std::shared_ptr<Variable>> watched_variables() const;
  void reset();

  bool persistent() const;
  bool watch_accessed_variables() const;
  bool had_custom_gradients() const;
  uint64_t serial() const;
  size_t num_records() const;
  // Bytes of bookkeeping the recorded ops use, beyond the tensors they saved (16 per record,
  // 4 per input and output slot, 4 per output's slot birth, 8 per integer attribute).
  size_t bookkeeping_bytes() const;

  // d(sum of targets)/d(source) for each source; an undefined Tensor where a source is not
  // connected (or zeros with Unconnected::Zero). output_gradients, when given, seed each
  // target instead of ones. `same` lists (target, source) index pairs that are one object (a
  // variable given as both, a tensor given as both): as in TensorFlow, such a target's seed is
  // its source's gradient even when this tape never watched it (d x / d x = 1). `hidden`: see
  // HiddenDependence (gt.function's trace passes its list); a zeros result given through one
  // depends on its source as the output did, for the tapes that link the source: it is watched
  // by them and added to the list (so a second derivative through it is zeros too, not None).
  std::vector<Tensor> gradient(const std::vector<Tensor>& targets, const std::vector<Source>& sources,
                               const std::vector<Tensor>& output_gradients = {},
                               Unconnected unconnected = Unconnected::None,
                               const std::vector<std::pair<size_t, size_t>>& same = {},
                               std::vector<HiddenDependence>* hidden = nullptr);
  // Full Jacobians target.shape + source.shape, in C++: reverse mode takes one sweep per target
  // element (batched: many per sweep), forward mode one per source element, replaying the
  // records with each op's jvp rule. Auto takes forward mode when the sources have fewer
  // elements than the target (the tall case) and the tape holds no custom gradient.
  std::vector<Tensor> jacobian(const Tensor& target, const std::vector<Source>& sources,
                               Unconnected unconnected = Unconnected::None,
                               JacobianMode mode = JacobianMode::Auto,
                               const std::vector<HiddenDependence>& hidden = {});
  // For target [B, ...] and source [B, ...] whose batch rows are independent: [B, y..., x...].
  Tensor batch_jacobian(const Tensor& target, const Source& source,
                        Unconnected unconnected = Unconnected::None,
                        JacobianMode mode = JacobianMode::Auto,
                        const std::vector<HiddenDependence>& hidden = {});

 private:
  friend class GradientPlan;  // (its capture reads the records: src/gradient_plan.h)
  std::shared_ptr<TapeState> state_;  // shared with the stack of the thread that entered it
};

// RAII for push()/pop(): the tape records on this thread while the scope lives (Python's
// `with tape:`). exit() pops early (e.g. before calling gradient()); the destructor pops
// unless exit() did, and never throws (a failing pop() there is swallowed).
//   gt::Tape tape;
//   { gt::TapeScope scope(tape); tape.watch(x); y = x * x; }
//   tape.gradient({y}, {x});
class TapeScope {
 public:
  explicit TapeScope(Tape& tape) : tape_(&tape) { tape.push(); }
  ~TapeScope() noexcept {
    if (tape_) try { tape_->pop(); } catch (...) {}  // NOLINT: a destructor must not throw
  }
  TapeScope(const TapeScope&) = delete;
  TapeScope& operator=(const TapeScope&) = delete;
  void exit() {
    Tape* t = tape_;
    tape_ = nullptr;
    if (t) t->pop();
  }
  bool active() const { return tape_ != nullptr; }

 private:
  Tape* tape_;
};

// Thrown by Unconnected::Error: one line per unconnected source, saying why.
struct UnconnectedError : InvalidArgument {
  using InvalidArgument::InvalidArgument;
};

// Tells the recording tapes that t left them through a conversion to NumPy or a Python
// number (for explaining a None gradient later).
void note_left_tape(const Tensor& t);

// While alive, no tape on this thread records (custom_gradient's forward runs under one).
class RecordingPause {
 public:
  RecordingPause();
  ~RecordingPause();
  RecordingPause(const RecordingPause&) = delete;
  RecordingPause& operator=(const RecordingPause&) = delete;
};

// Structural zeros in gradients through where/slices/gathers (on by default); off restores
// plain IEEE arithmetic (TensorFlow's NaN for the seed's where-softplus at 1000).
void set_structural_zeros(bool on);
bool structural_zeros_enabled();

// A function the reverse sweep calls every few hundred records; it may throw to abandon the
// sweep (the Python bindings raise KeyboardInterrupt there on Ctrl-C). The tape stays usable.
void set_interrupt_check(void (*check)());

// Whether any tape on this thread is recording (the ops' fast-path check).
bool any_tape_recording();
// Live tape records over all tapes, for leak tests.
int64_t live_records();

}  // namespace gt
