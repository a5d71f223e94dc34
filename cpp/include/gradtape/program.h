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

// The state of one run: slot values and the tapes the program made. A dry frame skips the
// steps with effects (it computes the values a branch or loop body would give while they are
// being traced, without writing variables twice).
struct Frame {
  std::vector<Tensor> slots;
  std::vector<std::unique_ptr<Tape>> tapes;
  bool dry = false;
  Frame() = default;
  Frame(const Frame&) = delete;
  Frame& operator=(const Frame&) = delete;
  // Exits the tapes a run left entered (a step threw).
  ~Frame();
};

class Program {
 public:
  struct Step {
    std::string name;
    std::function<void(Frame&)> run;
    std::vector<int> reads;  // the slots it reads (for the release of dead slots)
  };
  // Runs the program on `inputs` (as many as it was traced with, of the same dtypes and shapes:
  // the caller checks) and returns its outputs.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const;
  size_t num_steps() const { return steps_.size(); }
  size_t num_inputs() const { return inputs_.size(); }
  size_t num_constants() const { return constants_.size(); }
  // One line per step: "name" (for tests and gt.function's pretty_printed_concrete_signature).
  std::vector<std::string> step_names() const;

 private:
  friend class ProgramRecorder;
  std::vector<Step> steps_;
  std::vector<int> inputs_;   // their slots
  std::vector<int> outputs_;  // a slot, or -1 - k for constants_[k]
  std::vector<Tensor> constants_;
  // release_[i]: the slots whose last reader is step i (dropped after it, so that a big
  // intermediate's memory is reused within the run, as eager code frees it).
  std::vector<std::vector<int>> release_;
  int num_slots_ = 0;
  int num_tapes_ = 0;
};

namespace program_detail {
// Every Tensor inside an argument or a result, in a fixed order.
template <class F> void each_tensor(Tensor& t, F&& f) { f(t); }
template <class F> void each_tensor(std::vector<Tensor>& v, F&& f) { for (Tensor& t : v) f(t); }
template <class F> void each_tensor(std::optional<Tensor>& o, F&& f) { if (o) f(*o); }
template <class T, class F> void each_tensor(T&, F&&) {}
// A step read a slot that no step of this run wrote (a bug of the recorder): std::logic_error.
[[noreturn]] void unset_slot(int slot);
}  // namespace program_detail

class ProgramRecorder {
 public:
  struct Arg;  // a tensor argument of a tape step: a slot, or a constant (program.cpp)
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

  // Whether a tape of the trace is one the program makes (entered during the trace).
  bool owns_tape(const Tape& tape) const { return tapes_.count(&tape) != 0; }

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
  Program::Step& last_block_step();
  int tape_index(const Tape& tape) const;
  Arg arg(const Tensor& t, const char* what) const;
  std::vector<Arg> source_args(const std::vector<Source>& sources, const char* what) const;
  std::vector<int> result_slots(const std::vector<Tensor>& result);  // new slots (-1: undefined)
  static std::vector<int> slots_of(std::initializer_list<const std::vector<Arg>*> lists);
  void add_step(const char* name, std::function<void(Frame&)> run, std::vector<int> reads);

  std::shared_ptr<Program> program_;
  std::unordered_map<const TensorImpl*, int> slots_;
  std::vector<Tensor> values_;  // keeps each slot's tracing value (and so its address) alive
  std::unordered_map<const Tape*, int> tapes_;
  std::vector<int> tape_block_;  // the block each tape was entered in (-1: the top level)
  std::unordered_map<const TensorImpl*, Tensor> constants_;
  struct Block;
  std::vector<std::shared_ptr<Block>> blocks_;       // closed blocks, by number
  std::vector<std::shared_ptr<Block>> open_blocks_;  // being traced (innermost last)
  std::vector<int> open_ids_;                         // their numbers
  int next_block_id_ = 0;
  std::vector<int> slot_block_;  // the block each slot was made in (-1: the program's top level)
  std::vector<Tensor> run_on_tracing_values(const Program::Step& step, const std::vector<int>& outs);
  uint64_t start_seq_;
  uint32_t thread_;
  ProgramRecorder* outer_;
};

// The active recorder of this thread, or nullptr (the fast path: no trace).
ProgramRecorder* active_recorder();

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
       if (s < 0) check_argument(t, name);
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
  // Run it now (the tracing values), then forget the tracing values of the slots.
  auto now = [&]() -> decltype(auto) { return std::apply([&](auto&... x) -> decltype(auto) { return call_op(f, x...); }, *captured); };
  auto forget = [&] {
    size_t k = 0;
    std::apply([&](auto&... a) {
      (program_detail::each_tensor(a, [&](Tensor& t) { if (in[k++] >= 0) t = Tensor(); }), ...);
    }, *captured);
  };
  auto step = [f, captured, in](Frame& fr, std::vector<int>* outs) {
    Args a = *captured;
    size_t k = 0;
    std::apply([&](auto&... x) {
      (program_detail::each_tensor(x, [&](Tensor& t) {
         if (in[k] >= 0) {
           t = fr.slots[size_t(in[k])];
           if (!t.defined()) program_detail::unset_slot(in[k]);
         }
         ++k;
       }), ...);
    }, a);
    if constexpr (std::is_void_v<R>) {
      std::apply([&](auto&... x) -> decltype(auto) { return call_op(f, x...); }, a);
    } else {
      R r = std::apply([&](auto&... x) -> decltype(auto) { return call_op(f, x...); }, a);
      size_t j = 0;
      program_detail::each_tensor(r, [&](Tensor& t) { fr.slots[size_t((*outs)[j++])] = t; });
    }
  };
  if constexpr (std::is_void_v<R>) {
    if (!in_block()) now();  // (in a block being traced, an effect is recorded, not done)
    forget();
    if (effect) {
      add_step(name, [step](Frame& fr) {
        if (!fr.dry) step(fr, nullptr);
      }, in);
    } else {
      add_step(name, [step](Frame& fr) { step(fr, nullptr); }, in);
    }
  } else {
    if (effect && in_block())
      throw NotTraceable(std::string("gt.function cannot trace ") + name + " inside gt.cond or gt.while_loop yet");
    R result = now();
    forget();
    auto outs = std::make_shared<std::vector<int>>();
    program_detail::each_tensor(result, [&](Tensor& t) { outs->push_back(t.defined() ? new_slot(t) : -1); });
    for (int o : *outs)
      if (o < 0) throw NotTraceable(std::string("gt.function: ") + name + " gave an undefined tensor while tracing");
    add_step(name, [step, outs](Frame& fr) { step(fr, outs.get()); }, in);
    return result;
  }
}

template <class R, class... P, class... A>
R ProgramRecorder::call_shape_checked(const char* name, R (*f)(P...), A&&... args) {
  R r = call(name, false, f, std::forward<A>(args)...);
  if (!symbolic(r)) return r;  // (a constant: computed once)
  Program::Step& step = open_blocks_.empty() ? program_->steps_.back() : last_block_step();
  const Shape traced_shape = r.shape();
  const int out = slot(r);
  step.run = [run = std::move(step.run), traced_shape, out, name](Frame& fr) {
    run(fr);
    const Tensor& t = fr.slots[size_t(out)];
    if (t.defined() && t.shape() != traced_shape)
      throw InvalidArgument(std::string("gt.function: ") + name + " gave a result of shape " + t.shape().str() +
                            " where the trace had " + traced_shape.str() +
                            "; a program is specialised to the shapes it was traced with (the code after it may "
                            "have used that shape), so this call cannot replay it. Run the function eagerly "
                            "(gt.config.run_functions_eagerly(True)), or keep this op outside the function");
  };
  return r;
}

}  // namespace gt
