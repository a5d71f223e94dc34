#pragma once
// Program: a traced function as data (gt.function, docs/guides/function.md). A program is a
// flat list of steps over numbered slots: slot values are tensors, the first slots are the
// function's inputs, and each step reads some slots and writes new ones. A step is one call of
// a public op with its non-tensor arguments fixed at tracing time, a variable read or write,
// or a tape action (enter, watch, exit, gradient) on a tape the program makes afresh each run.
// Running a program runs its steps in order with no Python: each step is the same C++ call the
// eager op makes, so tapes and accumulators active around a run record it as they record eager
// ops, and a run gives the values an eager call of the function gives.
//
// Tracing: while a ProgramRecorder is active on a thread, the bindings route each op through
// traced(): an op with an input that is a slot (computed from the inputs or a variable) becomes
// a step; an op on constants only is computed once, now, and its result is a constant of the
// program (as TensorFlow folds them). Ops with effects (assignments, random numbers, optimizer
// updates) are steps whatever their inputs (traced_effect). The recorder keeps every slot's
// tracing value alive until finish(), so a TensorImpl address names one slot for the trace.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gradtape/call_op.h"
#include "gradtape/errors.h"
#include "gradtape/forward.h"
#include "gradtape/gradient.h"
#include "gradtape/ops.h"
#include "gradtape/optim.h"
#include "gradtape/random.h"
#include "gradtape/tape.h"
#include "gradtape/tensor.h"
#include "gradtape/variable.h"

namespace gt {

// What tracing refuses: a value of a traced tensor read into Python (bool(), float(),
// .numpy()), or an op it has no step for. Python: gradtape.errors.OperatorNotAllowedInGraphError,
// a TypeError (as TensorFlow names the error for using a graph tensor as a Python bool).
struct NotTraceable : TypeError_ {
  using TypeError_::TypeError_;
};

class GradientPlan;  // (internal: src/gradient_plan.h)
namespace scalar_code {
struct Trace;  // (internal: src/scalar_code.h)
}
struct RecordSink;   // (internal: src/record.h)

// The state of one run: slot values and the tapes the program made. A dry frame skips the
// steps with effects (it computes the values a branch or loop body would give while they are
// being traced, without writing variables twice).
struct Frame {
  std::vector<Tensor> slots;
  std::vector<std::unique_ptr<Tape>> tapes;
  bool dry = false;
  // Set before the run's first step with an effect runs: from then on a failed shape guard
  // can no longer give the call back to be traced (the effect is done), and is an error.
  bool effected = false;
  // Gradient plans (docs/guides/function.md, "Gradients without a tape"). A planned run never
  // makes tape plan_tape: its steps enter and leave `sink` instead, and its gradient step runs
  // `plan`. The run that captures a plan makes tape capture_tape with `sink` beside it, and its
  // gradient step stores the plan in `captured`.
  int plan_tape = -1;
  const GradientPlan* plan = nullptr;
  int capture_tape = -1;
  const std::vector<Tensor>* captured_constants = nullptr;
  std::unique_ptr<RecordSink> sink;
  bool sink_entered = false;
  std::shared_ptr<const GradientPlan> captured;
  // The tape pauses of the gt.custom_gradient forward functions being run (tape_pause steps:
  // their ops are not recorded, as eagerly), innermost last.
  std::vector<std::unique_ptr<TapePause>> pauses;
  Frame() = default;
  Frame(const Frame&) = delete;
  Frame& operator=(const Frame&) = delete;
  // Exits the tapes a run left entered (a step threw).
  ~Frame();
};

// Saving a program as text (docs/saved-model.md, "program.txt"): a StepWriter collects the
// tokens of each step and the tables its steps refer to (constants, variables, random
// streams); a StepReader reads them back, checking each token (DataLoss on anything malformed
// or out of range, never a crash).
// The deepest nesting of blocks a saved program may have (a bound on the reader's recursion,
// so that a hostile file cannot exhaust the stack).
constexpr int kMaxBlockDepth = 200;

class StepWriter {
 public:
  std::string text;
  std::vector<Tensor> constants;
  std::vector<std::shared_ptr<Variable>> variables;
  std::vector<std::shared_ptr<random::PhiloxState>> streams;
  // The tensor arguments of the op step being written, in order: a slot or -1 (a constant).
  const std::vector<int>* in = nullptr;
  size_t next_in = 0;
  // The first step that cannot be saved (a host callback, an op with no registered key), if any.
  std::string refused;
  // Describing rather than saving (Program::describe): a step that cannot be saved writes its
  // name, and shape guards are written too (a saved program leaves them out).
  bool describe = false;
  // Saving a program that serves other sizes than its trace's (docs/saved-model.md): its shape
  // guard steps are written too, as "shape_guard" steps.
  bool guards = false;
  // The gradient blocks of gt.custom_gradient calls are written (TensorFlow's
  // SaveOptions(experimental_custom_gradients=True), the default); without them a loaded
  // program's custom gradient calls have no gradient (LookupError_ when a tape asks).
  bool custom_gradients = true;
  // Blocks (cond and while) nested deeper than kMaxBlockDepth, which a reader refuses: the save
  // fails (a saved model that cannot be loaded would be found out too late).
  int depth = 0;
  bool too_deep = false;

  void word(const std::string& w);   // one token (no spaces)
  void line(const std::string& w);   // a new line starting with the token w
  void integer(int64_t v);
  void unsigned_integer(uint64_t v);
  void open_list(size_t n);          // "[n" (a list of n items follows, then "]")
  void real(double v);               // exact (C99 hexadecimal float)
  void string(const std::string& s); // percent-encoded
  void tensor(const Tensor& t, int slot);  // "s<slot>", or "c<constant>", or "u" (undefined)
  int constant(const Tensor& t);
  int variable(const std::shared_ptr<Variable>& v);
  int stream(const std::shared_ptr<random::PhiloxState>& s);

 private:
  std::unordered_map<const void*, int> constant_ids_, variable_ids_, stream_ids_;
};

class StepReader {
 public:
  StepReader(std::vector<std::string> tokens, std::string what);
  // The tables a program's steps refer to, set by the loader before reading programs.
  std::vector<Tensor> constants;
  std::vector<std::shared_ptr<Variable>> variables;
  std::vector<std::shared_ptr<random::PhiloxState>> streams;
  // While reading an op step: its tensor arguments' slots (-1: a constant).
  std::vector<int>* in = nullptr;
  int num_slots = 0;  // of the program being read (slot numbers are checked against it)
  int num_tapes = 0;
  int depth = 0;      // of nested blocks being read
  // While reading a block: the variables its steps name (variable() adds each).
  std::vector<std::shared_ptr<Variable>>* block_variables = nullptr;

  bool done() const { return pos_ >= tokens_.size(); }
  const std::string& peek() const;
  std::string word();
  void expect(const char* w);
  int64_t integer(int64_t lo = INT64_MIN, int64_t hi = INT64_MAX);
  uint64_t unsigned_integer();
  double real();
  std::string string();
  int slot();                   // "s<n>" with n < num_slots
  int tape();                   // a tape number < num_tapes
  Tensor tensor(int* slot);     // "s<n>" (slot set, tensor undefined), "c<k>" or "u" (slot -1)
  std::shared_ptr<Variable> variable();
  std::shared_ptr<random::PhiloxState> stream();
  size_t count(size_t max = 1u << 24);  // a list length
  [[noreturn]] void fail(const std::string& why) const;

 private:
  std::vector<std::string> tokens_;
  size_t pos_ = 0;
  std::string what_;
};

// A shape guard failed while a program ran, before any step with an effect (Program::try_run
// gives the call back to be traced for its exact shapes).
struct ShapeGuardFailed : InvalidArgument {
  using InvalidArgument::InvalidArgument;
};

class Program {
 public:
  struct Step {
    std::string name;
    std::function<void(Frame&)> run;
    std::vector<int> reads;  // the slots it reads (for the release of dead slots)
    // Writes the step (its key, fixed arguments and slots); empty for a step that cannot be
    // saved (a host callback), whose name the save error gives.
    std::function<void(StepWriter&)> save;
    // What the step may do, for the shape-polymorphic use of a program (docs/guides/function.md,
    // "One program for all sizes"): an effect (a variable write, a random draw, a host
    // callback), a shape guard, and a guard that a run may reach after an effect (late).
    bool effect = false;
    bool guard = false;
    bool late_guard = false;
    // An op step (ProgramRecorder::call, or an "op" line loaded): a call of a public op on its
    // arguments, nothing else (the scalar code of src/scalar_code.h may stand for it).
    bool op = false;
    // An op step's result slots (-1: none).
    std::vector<int> writes;
  };
  // A dimension of an input that the traced code read (its `.shape`, len(), ...): the value
  // the trace saw, which a run at another shape must see too.
  struct InputGuard {
    int input;
    int dim;
    int64_t value;
  };
  // Runs the program on `inputs` (as many as it was traced with, of the same dtypes and ranks:
  // the caller checks) and returns its outputs. InvalidArgument if a shape guard fails.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const;
  // The same, but false (outputs untouched) when a shape guard fails before any effect: the
  // program does not hold for these shapes, and the caller traces for them instead.
  bool try_run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) const;
  // Whether the input guards hold for these inputs' shapes (checked before any step).
  bool input_guards_hold(const std::vector<Tensor>& inputs) const;
  const std::vector<InputGuard>& input_guards() const { return input_guards_; }
  // Whether this program may serve other shapes than its trace's, as far as the program
  // itself can tell: no step whose result's shape depends on values (call_shape_checked), and
  // no guard that a run could reach after an effect. (Whether the trace read a size that
  // differs at another shape is told by the guards, at each run.)
  bool shape_polymorphic_candidate() const { return !shape_checked_ && !late_guard_; }
  // The program as text for comparing two traces: its save text (steps that cannot be saved
  // by name, guard steps included), the constants' dtypes, shapes and bytes, the variables and
  // random streams by identity. Not the input guards (input_guards()).
  std::string describe() const;
  // Whether a tape or accumulator recording on this thread watches one of the tensors the
  // program takes as constants: ops the trace computed once on them (folded) would be missing
  // from what it records of a run, so the caller runs the function eagerly instead.
  bool constants_watched() const;
  // Whether a tape or accumulator records on this thread (constants_watched's fast test).
  static bool recording();
  size_t num_steps() const { return steps_.size(); }
  size_t num_inputs() const { return inputs_.size(); }
  size_t num_constants() const { return constants_.size(); }
  // One line per step: "name" (for tests and gt.function's pretty_printed_concrete_signature).
  std::vector<std::string> step_names() const;
  // Its gradient plan (src/gradient_plan.h): "none" (it cannot have one), "not captured",
  // "capturing" or "ready" (for tests).
  std::string gradient_plan_state() const;
  // Its scalar code (src/scalar_code.h; docs/guides/function.md, "Programs of scalars"): "none"
  // (it cannot have one), "not traced", "tracing", "ready", or "refused: <why>" (for tests).
  std::string scalar_code_state() const;

  // The program as text (docs/saved-model.md): slots, tapes, inputs, steps, outputs. Sets
  // w.refused (and writes nothing more) at the first step that cannot be saved.
  void save(StepWriter& w) const;
  // A program read back (the tables of r already set). DataLoss if malformed.
  static std::shared_ptr<Program> load(StepReader& r);

 private:
  void plan();  // the release lists, from the steps' reads and the outputs
  // Gradient plans (src/gradient_plan.h): the plan of the program's gradient step, captured by
  // its first run that can, and used by the runs with the same input shapes while no tape or
  // accumulator records on the thread.
  struct PlanSlot;
  // The run's gradient plan, if it has one now (sets fr.plan*), or whether this run should
  // capture one (sets fr.capture*; true).
  bool use_or_capture_plan(Frame& fr, const std::vector<Tensor>& inputs) const;
  void finish_capture(const Frame& fr, const std::vector<Tensor>& inputs, bool ok) const;
  // The scalar code from a run's trace, if it gives that run's outputs (src/scalar_code.h).
  void finish_scalar(const scalar_code::Trace& trace, const std::vector<Tensor>& inputs,
                     const std::vector<Tensor>& outputs) const;
  friend class ProgramRecorder;
  std::vector<Step> steps_;
  std::vector<int> inputs_;   // their slots
  std::vector<int> outputs_;  // a slot, or -1 - k for constants_[k]
  std::vector<Tensor> constants_;
  std::vector<InputGuard> input_guards_;
  bool shape_checked_ = false;
  bool late_guard_ = false;
  // release_[i]: the slots whose last reader is step i (dropped after it, so that a big
  // intermediate's memory is reused within the run, as eager code frees it).
  std::vector<std::vector<int>> release_;
  std::shared_ptr<PlanSlot> plan_slot_;  // (made by plan())
  // The tensors its steps take as constants (made before the trace, or from Python values):
  // a gradient plan is refused when its tape linked one (gradient_plan.h).
  std::vector<Tensor> captured_;
  // Whether its steps are ones the scalar code can stand for (plan()): ops, variable reads and
  // one tape's steps, with no effect and no guard.
  bool scalar_candidate_ = false;
  int num_slots_ = 0;
  int num_tapes_ = 0;
};

// Gradient plans on or off (on by default; tests and benchmarks compare the two). Off, every
// run makes its tapes, as before plans existed; the results are the same either way.
void set_gradient_plans(bool on);
bool gradient_plans_enabled();
// Scalar code on or off (on by default; src/scalar_code.h): the same results either way.
void set_scalar_code(bool on);
bool scalar_code_enabled();

namespace program_detail {
// Every Tensor inside an argument or a result, in a fixed order.
template <class F> void each_tensor(Tensor& t, F&& f) { f(t); }
template <class F> void each_tensor(std::vector<Tensor>& v, F&& f) { for (Tensor& t : v) f(t); }
template <class F> void each_tensor(std::optional<Tensor>& o, F&& f) { if (o) f(*o); }
template <class T, class F> void each_tensor(T&, F&&) {}
// A step read a slot that no step of this run wrote (a bug of the recorder): std::logic_error.
[[noreturn]] void unset_slot(int slot);

// ---- the encoding of a step's fixed arguments, one Codec per parameter type ----
template <class T, class = void>
struct Codec {
  static constexpr bool ok = false;
};
template <class T>
struct Codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_signed_v<T>>> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, const T& v) { w.integer(int64_t(v)); }
  static T get(StepReader& r) { return T(r.integer(int64_t(std::numeric_limits<T>::min()), int64_t(std::numeric_limits<T>::max()))); }
};
template <class T>
struct Codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_unsigned_v<T>>> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, const T& v) { w.unsigned_integer(uint64_t(v)); }
  static T get(StepReader& r) {
    const uint64_t v = r.unsigned_integer();
    if (v > uint64_t(std::numeric_limits<T>::max())) r.fail("an unsigned value out of range");
    return T(v);
  }
};
template <>
struct Codec<bool> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, bool v) { w.integer(v ? 1 : 0); }
  static bool get(StepReader& r) { return r.integer(0, 1) != 0; }
};
template <>
struct Codec<double> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, double v) { w.real(v); }
  static double get(StepReader& r) { return r.real(); }
};
template <>
struct Codec<DType> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, DType d) { w.word(dtype_name(d)); }
  static DType get(StepReader& r);
};
template <>
struct Codec<Shape> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, const Shape& s);
  static Shape get(StepReader& r);
};
template <>
struct Codec<std::string> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, const std::string& s) { w.string(s); }
  static std::string get(StepReader& r) { return r.string(); }
};
// The enums: their value, checked against the last one.
template <class E> constexpr E enum_last();
template <> constexpr Unconnected enum_last<Unconnected>() { return Unconnected::Error; }
template <> constexpr JacobianMode enum_last<JacobianMode>() { return JacobianMode::Reverse; }
template <> constexpr optim::Algorithm enum_last<optim::Algorithm>() { return optim::Algorithm::Lion; }
template <class T>
struct Codec<T, std::enable_if_t<std::is_enum_v<T> && !std::is_same_v<T, DType>>> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, T v) { w.integer(int64_t(v)); }
  static T get(StepReader& r) { return T(r.integer(0, int64_t(enum_last<T>()))); }
};
template <>
struct Codec<Tensor> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, const Tensor& t);
  static Tensor get(StepReader& r);
};
template <>
struct Codec<std::shared_ptr<Variable>> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, const std::shared_ptr<Variable>& v) { w.word("v" + std::to_string(w.variable(v))); }
  static std::shared_ptr<Variable> get(StepReader& r) { return r.variable(); }
};
template <>
struct Codec<std::shared_ptr<random::PhiloxState>> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, const std::shared_ptr<random::PhiloxState>& s) { w.word("r" + std::to_string(w.stream(s))); }
  static std::shared_ptr<random::PhiloxState> get(StepReader& r) { return r.stream(); }
};
template <>
struct Codec<random::PhiloxState> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, const random::PhiloxState& s) {
    w.unsigned_integer(s.key);
    w.unsigned_integer(s.counter_lo);
    w.unsigned_integer(s.counter_hi);
  }
  static random::PhiloxState get(StepReader& r) {
    random::PhiloxState s;
    s.key = r.unsigned_integer();
    s.counter_lo = r.unsigned_integer();
    s.counter_hi = r.unsigned_integer();
    return s;
  }
};
template <>
struct Codec<optim::Hyper> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, const optim::Hyper& h);
  static optim::Hyper get(StepReader& r);
};
template <>
struct Codec<Padding> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, const Padding& p);
  static Padding get(StepReader& r);
};
template <class T>
struct Codec<std::optional<T>, std::enable_if_t<Codec<T>::ok>> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, const std::optional<T>& v) {
    if (!v) {
      w.word("none");
    } else {
      w.word("some");
      Codec<T>::put(w, *v);
    }
  }
  static std::optional<T> get(StepReader& r) {
    const std::string k = r.word();
    if (k == "none") return std::nullopt;
    if (k != "some") r.fail("expected none or some, got " + k);
    return Codec<T>::get(r);
  }
};
template <class T>
struct Codec<std::vector<T>, std::enable_if_t<Codec<T>::ok>> {
  static constexpr bool ok = true;
  static void put(StepWriter& w, const std::vector<T>& v) {
    w.open_list(v.size());
    for (const T& x : v) Codec<T>::put(w, x);
    w.word("]");
  }
  static std::vector<T> get(StepReader& r) {
    const std::string open = r.word();
    if (open.empty() || open[0] != '[') r.fail("expected a list, got " + open);
    StepReader counter({open.substr(1)}, "a list length");
    const size_t n = counter.count();
    std::vector<T> v;
    for (size_t i = 0; i < n; ++i) v.push_back(Codec<T>::get(r));
    r.expect("]");
    return v;
  }
};

// ---- the registry of the functions op steps call: key <-> function pointer ----
using StepDecoder = std::function<Program::Step(StepReader&)>;
// The key of a registered step function (nullptr: not registered, the step cannot be saved).
const std::string* step_key(const void* fn);
// The decoder of a key (nullptr: unknown key).
const StepDecoder* step_decoder(const std::string& key);
void register_step(const void* fn, const std::string& key, StepDecoder decode);

template <class F>
const void* fn_address(F* f) {
  return reinterpret_cast<const void*>(f);
}

// An op step's run: f on its fixed arguments, with the slots' values of this run in place of
// the tensors that are slots (in[k] >= 0), writing its results to the slots `outs`.
// The fixed arguments of a step with this run's slot values put in for the tensors that are
// slots (in[k] >= 0).
template <class Args>
Args with_slots(const Args& captured, const std::vector<int>& in, Frame& fr) {
  Args a = captured;
  size_t k = 0;
  std::apply([&](auto&... x) {
    (each_tensor(x, [&](Tensor& t) {
       if (in[k] >= 0) {
         t = fr.slots[size_t(in[k])];
         if (!t.defined()) unset_slot(in[k]);
       }
       ++k;
     }), ...);
  }, a);
  return a;
}

template <class R, class... P>
std::function<void(Frame&)> op_run(R (*f)(P...), std::shared_ptr<const std::tuple<std::decay_t<P>...>> captured,
                                   std::vector<int> in, std::shared_ptr<const std::vector<int>> outs, bool effect) {
  using Args = std::tuple<std::decay_t<P>...>;
  auto step = [f, captured, in, outs](Frame& fr) {
    Args a = with_slots(*captured, in, fr);
    if constexpr (std::is_void_v<R>) {
      std::apply([&](auto&... x) -> decltype(auto) { return call_op(f, x...); }, a);
    } else {
      R r = std::apply([&](auto&... x) -> decltype(auto) { return call_op(f, x...); }, a);
      size_t j = 0;
      each_tensor(r, [&](Tensor& t) { fr.slots[size_t((*outs)[j++])] = t; });
    }
  };
  if constexpr (std::is_void_v<R>) {
    if (effect) return [step](Frame& fr) { if (!fr.dry) step(fr); };
  }
  return step;
}

// An op step's encoding: "op <key> <effect> <arguments...> <outputs>".
template <class R, class... P>
std::function<void(StepWriter&)> op_save(R (*f)(P...), std::shared_ptr<const std::tuple<std::decay_t<P>...>> captured,
                                         std::vector<int> in, std::shared_ptr<const std::vector<int>> outs, bool effect,
                                         std::string name) {
  if constexpr (!(Codec<std::decay_t<P>>::ok && ...)) {
    return {};  // (a parameter type with no encoding: the step cannot be saved)
  } else {
    return [f, captured, in, outs, effect, name](StepWriter& w) {
      const std::string* key = step_key(fn_address(f));
      if (!key) {
        if (w.refused.empty()) w.refused = name + " (an op with no saved-model key)";
        return;
      }
      w.line("op");
      w.word(*key);
      w.integer(effect ? 1 : 0);
      w.in = &in;
      w.next_in = 0;
      std::apply([&](const auto&... x) { (Codec<std::decay_t<decltype(x)>>::put(w, x), ...); }, *captured);
      w.in = nullptr;
      Codec<std::vector<int>>::put(w, outs ? *outs : std::vector<int>{});
    };
  }
}

// The step an "op" line describes, rebuilt with the same function (the registry's decoder).
template <class R, class... P>
Program::Step op_decode(const std::string& key, R (*f)(P...), StepReader& r) {
  using Args = std::tuple<std::decay_t<P>...>;
  const bool effect = r.integer(0, 1) != 0;
  std::vector<int> in;
  r.in = &in;
  auto captured = std::make_shared<const Args>(Args{Codec<std::decay_t<P>>::get(r)...});
  r.in = nullptr;
  std::vector<int> o = Codec<std::vector<int>>::get(r);
  for (int s : o)
    if (s < 0 || s >= r.num_slots) r.fail("an output slot out of range");
  size_t n_results = 0;
  if constexpr (!std::is_void_v<R>) {
    // (the number of tensors f returns is known only when it runs: a TensorList's size is
    // checked then; a single Tensor is one)
    if constexpr (std::is_same_v<R, Tensor>) n_results = 1;
    else n_results = o.size();
  }
  if (o.size() != n_results) r.fail("step " + key + " has " + std::to_string(o.size()) + " outputs");
  auto outs = std::make_shared<const std::vector<int>>(std::move(o));
  std::vector<int> reads;
  for (int s : in)
    if (s >= 0) reads.push_back(s);
  Program::Step step;
  step.name = key;
  if constexpr (std::is_same_v<R, TensorList>) {
    step.run = [f, captured, in, outs, key](Frame& fr) {
      Args a = with_slots(*captured, in, fr);
      TensorList res = std::apply([&](auto&... x) -> decltype(auto) { return call_op(f, x...); }, a);
      if (res.size() != outs->size())
        throw InvalidArgument("saved model: step " + key + " gave " + std::to_string(res.size()) +
                              " tensors where the trace had " + std::to_string(outs->size()));
      for (size_t j = 0; j < res.size(); ++j) fr.slots[size_t((*outs)[j])] = res[j];
    };
  } else {
    step.run = op_run(f, std::shared_ptr<const Args>(captured), in, outs, effect);
  }
  step.reads = std::move(reads);
  step.save = op_save(f, captured, in, outs, effect, key);
  step.effect = effect;
  step.op = true;
  step.writes = *outs;
  return step;
}

// A shape-checked step (call_shape_checked): "checked <shape> <slot>" before the op's own line.
std::function<void(StepWriter&)> checked_save(std::function<void(StepWriter&)> inner, const Shape& shape, int out);
inline std::function<void(Frame&)> checked_run(std::function<void(Frame&)> run, Shape traced_shape, int out,
                                               std::string name) {
  return [run = std::move(run), traced_shape, out, name](Frame& fr) {
    run(fr);
    const Tensor& t = fr.slots[size_t(out)];
    if (t.defined() && t.shape() != traced_shape)
      throw InvalidArgument(std::string("gt.function: ") + name + " gave a result of shape " + t.shape().str() +
                            " where the trace had " + traced_shape.str() +
                            "; a program is specialised to the shapes it was traced with (the code after it may "
                            "have used that shape), so this call cannot replay it. Run the function eagerly "
                            "(gt.config.run_functions_eagerly(True)), or keep this op outside the function");
  };
}

template <class R, class... P>
void register_op(const std::string& key, R (*f)(P...)) {
  register_step(fn_address(f), key, [key, f](StepReader& r) { return op_decode(key, f, r); });
}
}  // namespace program_detail

namespace program_detail {
struct StepArg;    // a tensor argument of a tape step: a slot, a constant or a variable (program.cpp)
struct StepBlock;  // a block of a cond or while step
// What a cond or while step's outputs depend on for a tape around the call, whichever branch
// a run takes (program.cpp): slots, and variables.
struct HiddenInputs {
  std::vector<int> slots;
  std::vector<std::shared_ptr<Variable>> variables;
};
}  // namespace program_detail

class ProgramRecorder {
 public:
  using Arg = program_detail::StepArg;
  // Becomes the active recorder of this thread (until destroyed).
  ProgramRecorder();
  ~ProgramRecorder();
  ProgramRecorder(const ProgramRecorder&) = delete;
  ProgramRecorder& operator=(const ProgramRecorder&) = delete;

  // Declares the next input of the program, whose value now is t. Returns a fresh tensor (a
  // recorded identity of t) for the traced code to use: a tensor given twice, or one also
  // captured as a constant, must still name one slot per use.
  Tensor input(const Tensor& t);
  // The slot of a tracing value, -1 for a constant (not computed from inputs or variables).
  int slot(const Tensor& t) const;  // (NotTraceable for a slot of a block closed since)
  bool symbolic(const Tensor& t) const { return t.defined() && slot(t) >= 0; }
  // Whether t is a slot of this trace (of any block; never throws).
  bool has_slot(const Tensor& t) const { return t.defined() && slots_.count(t.get()) != 0; }
  // Ends the trace: the program returning `outputs` (slots or constants).
  std::shared_ptr<Program> finish(const std::vector<Tensor>& outputs);

  // A read of v (value: what the read gave now): a step reading it at each run. Returns a
  // fresh tensor (a recorded identity of value) for the traced code to use: two reads of an
  // unchanged variable give one TensorImpl, but must be two slots (a write may come between).
  Tensor read_variable(const std::shared_ptr<Variable>& v, const Tensor& value);

  // Tapes: a tape entered during the trace is made afresh by each run.
  void tape_enter(const Tape& tape, bool persistent, bool watch_accessed_variables);
  void tape_exit(const Tape& tape);
  void tape_watch(const Tape& tape, const Tensor& t);
  void tape_watch(const Tape& tape, const std::shared_ptr<Variable>& v);
  // tape.stop_recording() / the recording flag, and tape.reset().
  void tape_set_recording(const Tape& tape, bool on);
  void tape_reset(const Tape& tape);
  // tape.gradient: `result` is what it gave now.
  void tape_gradient(const Tape& tape, const std::vector<Tensor>& targets, const std::vector<Source>& sources,
                     const std::vector<Tensor>& output_gradients, Unconnected unconnected,
                     const std::vector<std::pair<size_t, size_t>>& same, const std::vector<Tensor>& result);
  // tape.jacobian and tape.batch_jacobian (`result`: what they gave now).
  void tape_jacobian(const Tape& tape, const Tensor& target, const std::vector<Source>& sources,
                     Unconnected unconnected, JacobianMode mode, const std::vector<Tensor>& result);
  void tape_batch_jacobian(const Tape& tape, const Tensor& target, const Source& source, Unconnected unconnected,
                           JacobianMode mode, const Tensor& result);
  // A step with an effect that calls `fn` with the values of `inputs` (slots or constants) at
  // each run: a host callback, such as gt.print's. Called now too, unless in a block.
  void callback(const char* name, const std::vector<Tensor>& inputs,
                std::function<void(const std::vector<Tensor>&)> fn);
  // A step with an effect that calls `fn` with the values of `inputs` at each run and takes the
  // tensors it returns as its outputs: a host callback with results (gt.py_function,
  // gt.numpy_function). Called now, with this recorder paused (the ops fn runs are eager, and
  // the trace's tapes record them, not steps); its outputs are new slots, of the dtypes and
  // shapes fn gave now. A run whose fn gives another number of tensors, dtype or shape raises
  // InvalidArgument (the code after the step was traced with these: a program is specialised to
  // them, so such a program serves its traced shapes only). Refused (NotTraceable) inside a
  // gt.cond branch or a gt.while_loop body. Its step cannot be saved (it is Python code).
  std::vector<Tensor> host_call(const std::string& name, const std::vector<Tensor>& inputs,
                                std::function<std::vector<Tensor>(const std::vector<Tensor>&)> fn);

  // Control flow (gt.cond, gt.while_loop while tracing). begin_block() sends the steps that
  // follow into a new block (a branch, a loop condition or body), traced "dry": its effects
  // are recorded, not done. end_block(results) closes it, its results being slots or
  // constants, and returns its number for cond() / while_loop().
  void begin_block();
  int end_block(const std::vector<Tensor>& results);
  // The step `pred ? block t : block f`; returns its outputs (new slots), computed now.
  std::vector<Tensor> cond(const Tensor& pred, int t, int f);
  // Fresh slots holding `init`: the loop variables a while loop's blocks are traced on.
  std::vector<Tensor> loop_variables(const std::vector<Tensor>& init);
  // The step `while (block c) { vars = block b }` over loop variables `vars` (from
  // loop_variables), at most max_iterations times (< 0: no limit); returns the final values.
  std::vector<Tensor> while_loop(int c, int b, const std::vector<Tensor>& vars, int64_t max_iterations);
  bool in_block() const { return !open_blocks_.empty(); }

  // gt.custom_gradient (docs/guides/function.md, "Custom gradients"). tape_pause(true/false)
  // brackets the steps of its forward function: a run pauses the tapes over them, as the eager
  // call does. custom_gradient_begin(outputs) opens the block its gradient function is traced
  // into, and returns the block's inputs: one upstream gradient per output (new slots, zeros
  // now). custom_gradient_end(inputs, results, grads) closes it with the gradients (one per
  // input, undefined for None: slots of the block, or constants) and adds the step that gives
  // the results fresh tensors and records them on the tapes as one op whose rule runs the block
  // (and gives the accumulators their tangents); returns those tensors, computed now. A
  // gradient function with an effect (a variable write, gt.print, a random draw) is refused
  // (NotTraceable). custom_gradient_abort() closes the block when tracing the function failed.
  void tape_pause(bool on);
  std::vector<Tensor> custom_gradient_begin(const std::vector<Tensor>& outputs);
  std::vector<Tensor> custom_gradient_end(const std::vector<Tensor>& inputs, const std::vector<Tensor>& results,
                                          const std::vector<Tensor>& grads);
  void custom_gradient_abort();

  // A dimension of t read by the traced code (Python's `.shape`, len(), a binding that
  // computes a step's fixed argument from t's shape). For a slot, the program keeps the value
  // as a guard: on an input, checked before a run; on another slot, a guard step here, which
  // fails a run whose value differs (docs/guides/function.md, "One program for all sizes").
  // dim < 0: every dimension.
  void note_shape_read(const Tensor& t, int dim = -1);
  // A size computed from shapes (gt.shape(x), gt.size(x), gt.rank(x), and op steps on such
  // sizes and constants only: gt.shape(x)[0] - 1, a stack of them): its value depends on the
  // shapes of the slots it was taken from, nothing else. Reading it into Python (a shape for
  // gt.zeros, a limit for gt.range, an int) is a read of those shapes: note_shape_read of each,
  // then true. False for any other tensor.
  bool read_size(const Tensor& t);
  // t's rank depends on sizes (a squeeze without axes): so does that of every op step's result
  // computed from it. No guard checks a rank, so reading such a rank (gt.rank of it, or len()
  // of its .shape: note_rank_read) keeps the program to the shapes it was traced with.
  void note_rank_varies(const Tensor& t);
  void note_rank_read(const Tensor& t);

  // Whether a tape of the trace is one the program makes (entered during the trace).
  bool owns_tape(const Tape& tape) const { return tapes_.count(&tape) != 0; }
  // Appends the serials of those tapes (a cond or while step run during the trace gives the
  // tapes around the call its hidden dependences, not these: program.cpp).
  void owned_tape_serials(std::vector<uint64_t>& out) const;
  // The outputs of the trace's cond and while steps, each with the results of the blocks that
  // may give it (the branches, the loop body, as the trace computed them): what a gradient taken
  // during the trace passes to Tape::gradient, so that a source that reaches the target only
  // through another branch (or another number of iterations) gets zeros, not None
  // (HiddenDependence). A gradient step whose trace gave a tensor gives zeros at a run whose
  // branch does not reach it.
  std::vector<HiddenDependence>& hidden_dependences() { return hidden_; }

  // The safety net. A tensor made on this thread since the trace began is a slot (made by a
  // step), a known constant (from a Python value, or an op on constants only), or made by an
  // operation with no step: a value the program could not recompute. Such a tensor may not
  // reach a step or the outputs, nor be read into Python (NotTraceable). The Python bindings
  // declare every tensor they make from a Python value; a C++ caller that traces declares the
  // tensors it makes (scalar(), from_data()) with constant().
  void constant(const Tensor& t);
  bool untraceable(const Tensor& t) const;
  void check_argument(const Tensor& t, const char* what) const;
  // Whether reading t's value into Python would read a tracing value (a slot, or untraceable).
  bool traced_value(const Tensor& t) const { return t.defined() && (slot(t) >= 0 || untraceable(t)); }

  // Records f(args...) as a step when an argument is a slot or `effect` is set; otherwise
  // calls it now (a constant). Returns what f returns now.
  template <class R, class... P, class... A>
  R call(const char* name, bool effect, R (*f)(P...), A&&... args);
  // The same for an op whose result's shape depends on its inputs' values (boolean_mask): the
  // step checks at each run that the shape is the traced one, since the code traced after it
  // may have used that shape (a program is specialised to shapes). InvalidArgument if not.
  template <class R, class... P, class... A>
  R call_shape_checked(const char* name, R (*f)(P...), A&&... args);

 private:
  int new_slot(const Tensor& value);
  int reserve_slot();  // a slot whose value a cond or while step sets
  Program::Step& last_step();  // the step just added (to the open block, if any)
  int tape_index(const Tape& tape) const;
  Arg arg(const Tensor& t, const char* what) const;
  std::vector<Arg> source_args(const std::vector<Source>& sources, const char* what) const;
  std::vector<int> result_slots(const std::vector<Tensor>& result);  // new slots (-1: undefined)
  static std::vector<int> slots_of(std::initializer_list<const std::vector<Arg>*> lists);
  void add_step(const char* name, std::function<void(Frame&)> run, std::vector<int> reads,
                std::function<void(StepWriter&)> save = {}, bool effect = false);
  void push_step(Program::Step step);

  std::shared_ptr<Program> program_;
  std::unordered_map<const TensorImpl*, int> slots_;
  std::vector<Tensor> values_;  // keeps each slot's tracing value (and so its address) alive
  std::unordered_map<const Tape*, int> tapes_;
  std::vector<int> tape_block_;  // the block each tape was entered in (-1: the top level)
  std::unordered_map<const TensorImpl*, Tensor> constants_;
  using Block = program_detail::StepBlock;
  std::vector<std::shared_ptr<Block>> blocks_;       // closed blocks, by number
  std::vector<std::shared_ptr<Block>> open_blocks_;  // being traced (innermost last)
  std::vector<int> open_ids_;                         // their numbers
  struct OpenCustom {
    int first_slot;  // the slots made from here on are the gradient block's own
    std::vector<int> upstream;
    size_t depth;  // open_blocks_.size() with its block open
    std::unique_ptr<HideEntered> hide;  // (the trace's tapes do not record the block's trace)
    std::unique_ptr<VariableAccessLogPause> logs;  // (nor an enclosing custom call's log its reads)
  };
  std::vector<OpenCustom> open_custom_;  // gradient blocks being traced (innermost last)
  int next_block_id_ = 0;
  std::vector<int> slot_block_;  // the block each slot was made in (-1: the program's top level)
  std::vector<std::pair<int, int>> guarded_;  // (slot, dim) already guarded at the top level
  // read_size's slots: each with the slots whose shapes its value is computed from.
  std::unordered_map<int, std::vector<int>> sizes_;
  std::vector<char> rank_varies_;  // by slot (note_rank_varies)
  bool rank_varies(int s) const { return s >= 0 && size_t(s) < rank_varies_.size() && rank_varies_[size_t(s)]; }
  void mark_rank_varies(int s);
  void note_sizes(const Program::Step& step);  // (of an op step, once its writes are set: call())
  // Variable reads (read_variable): each replayed read returns the variable's value tensor
  // itself unless the variable's reads happen under different recording tapes (or one is
  // watched, or a tape reset between them): then each read is a tensor of its own, as in the
  // trace, so that a read before a tape is a constant to it. Set for good by finish().
  struct VariableReads {
    std::vector<int> context;  // the recording tapes at the first read, then the reset count
    bool mixed = false;
    std::vector<std::shared_ptr<bool>> fresh;
  };
  std::unordered_map<const Variable*, VariableReads> reads_;
  std::vector<int> recording_tapes_;
  int tape_resets_ = 0;
  std::vector<int> read_context() const;
  std::vector<Tensor> run_on_tracing_values(const Program::Step& step, const std::vector<int>& outs);
  // value (a cond or while step's output, or a loop variable) depends on `on` (tracing values:
  // the blocks' results as the trace computed them).
  void note_hidden(const Tensor& value, const std::vector<Tensor>& on);
  Tensor tracing_value(const Arg& a) const;  // (undefined for a constant)
  std::unordered_map<const Block*, std::vector<std::shared_ptr<Variable>>> block_variables_;  // read in each open block
  std::vector<HiddenDependence> hidden_;
  std::vector<Tensor> watched_loop_variables_;  // (loop_variables(): watched for the body's trace only)
  // For a tape around a call (HiddenInputs, program.cpp): what each slot made in a block
  // depends on outside that block through floating-point values: slots, and variables as
  // -1 - (their index in dep_vars_). Set by note_dependences (from push_step) for the slots each step made.
  std::vector<std::vector<int>> dep_;
  std::vector<std::shared_ptr<Variable>> dep_vars_;
  std::optional<std::vector<int>> pending_dep_;  // (the next step's, when not its reads')
  int pushed_slots_ = 0;                         // the slot count at the last push_step
  std::vector<int> block_ids_;                   // each closed block's id (as in slot_block_)
  std::unordered_map<int, std::vector<int>> block_reads_;  // by block id: what its steps read (a while's condition)
  bool floating_slot(int s) const;
  void add_dependences(int s, int block, std::vector<int>& to) const;
  void note_dependences(const Program::Step& step);
  int variable_dependence(const std::shared_ptr<Variable>& v);
  std::shared_ptr<const program_detail::HiddenInputs> hidden_inputs(std::vector<int>& on) const;
  uint64_t start_seq_;
  uint32_t thread_;
  ProgramRecorder* outer_;
};

// The active recorder of this thread, or nullptr (the fast path: no trace).
ProgramRecorder* active_recorder();
// While it lives, no recorder is active on this thread (ops run eagerly, not as steps): a host
// call's Python function, called while tracing, runs as eager code.
class RecorderPause {
 public:
  RecorderPause();
  ~RecorderPause();
  RecorderPause(const RecorderPause&) = delete;
  RecorderPause& operator=(const RecorderPause&) = delete;

 private:
  ProgramRecorder* saved_;
};

// f(args...), recorded as a step of the program being traced, if any.
template <class R, class... P, class... A>
R traced(const char* name, R (*f)(P...), A&&... args) {
  if (ProgramRecorder* r = active_recorder()) return r->call(name, false, f, std::forward<A>(args)...);
  return call_op(f, std::forward<A>(args)...);
}
// The same for an op whose result's shape depends on its inputs' values (see call_shape_checked).
template <class R, class... P, class... A>
R traced_shape_checked(const char* name, R (*f)(P...), A&&... args) {
  if (ProgramRecorder* r = active_recorder()) return r->call_shape_checked(name, f, std::forward<A>(args)...);
  return call_op(f, std::forward<A>(args)...);
}
// The same for an op with an effect (a write, a random draw): always a step while tracing.
template <class R, class... P, class... A>
R traced_effect(const char* name, R (*f)(P...), A&&... args) {
  if (ProgramRecorder* r = active_recorder()) return r->call(name, true, f, std::forward<A>(args)...);
  return call_op(f, std::forward<A>(args)...);
}

template <class R, class... P, class... A>
R ProgramRecorder::call(const char* name, bool effect, R (*f)(P...), A&&... args) {
  using Args = std::tuple<std::decay_t<P>...>;
  auto captured = std::make_shared<Args>(std::forward<A>(args)...);
  std::vector<int> in;
  bool any = false;
  std::apply([&](auto&... a) {
    (program_detail::each_tensor(a, [&](Tensor& t) {
       const int s = slot(t);
       if (s < 0) {
         check_argument(t, name);
         if (t.defined()) program_->captured_.push_back(t);
       }
       in.push_back(s);
       any = any || s >= 0;
     }), ...);
  }, *captured);
  if (!any && !effect) {
    if constexpr (std::is_void_v<R>) {
      std::apply([&](auto&... x) -> decltype(auto) { return call_op(f, x...); }, *captured);
      return;
    } else {
      R r = std::apply([&](auto&... x) -> decltype(auto) { return call_op(f, x...); }, *captured);
      program_detail::each_tensor(r, [&](Tensor& t) { constant(t); });
      return r;
    }
  }
  // The step's name: its function's registry key (unique per function) when it has one.
  const std::string* key = program_detail::step_key(program_detail::fn_address(f));
  if (key) name = key->c_str();
  // Run it now (the tracing values), then forget the tracing values of the slots.
  auto now = [&]() -> decltype(auto) { return std::apply([&](auto&... x) -> decltype(auto) { return call_op(f, x...); }, *captured); };
  auto forget = [&] {
    size_t k = 0;
    std::apply([&](auto&... a) {
      (program_detail::each_tensor(a, [&](Tensor& t) { if (in[k++] >= 0) t = Tensor(); }), ...);
    }, *captured);
  };
  if constexpr (std::is_void_v<R>) {
    if (!in_block()) now();  // (in a block being traced, an effect is recorded, not done)
    forget();
    add_step(name, program_detail::op_run(f, std::shared_ptr<const Args>(captured), in, nullptr, effect), in,
             program_detail::op_save(f, std::shared_ptr<const Args>(captured), in, nullptr, effect, name), effect);
    last_step().op = true;
  } else {
    if (effect && in_block())
      throw NotTraceable(std::string("gt.function cannot trace ") + name + " inside gt.cond or gt.while_loop yet");
    R result = now();
    forget();
    auto outs = std::make_shared<std::vector<int>>();
    program_detail::each_tensor(result, [&](Tensor& t) { outs->push_back(t.defined() ? new_slot(t) : -1); });
    for (int o : *outs)
      if (o < 0) throw NotTraceable(std::string("gt.function: ") + name + " gave an undefined tensor while tracing");
    std::shared_ptr<const std::vector<int>> couts = outs;
    add_step(name, program_detail::op_run(f, std::shared_ptr<const Args>(captured), in, couts, effect), in,
             program_detail::op_save(f, std::shared_ptr<const Args>(captured), in, couts, effect, name), effect);
    last_step().op = true;
    last_step().writes = *couts;
    note_sizes(last_step());
    return result;
  }
}

template <class R, class... P, class... A>
R ProgramRecorder::call_shape_checked(const char* name, R (*f)(P...), A&&... args) {
  R r = call(name, false, f, std::forward<A>(args)...);
  if (!symbolic(r)) return r;  // (a constant: computed once)
  Program::Step& step = last_step();
  const Shape traced_shape = r.shape();
  const int out = slot(r);
  step.save = program_detail::checked_save(std::move(step.save), traced_shape, out);
  step.run = program_detail::checked_run(std::move(step.run), traced_shape, out, name);
  program_->shape_checked_ = true;
  return r;
}



}  // namespace gt
