// Programs (gradtape/program.h): running one, and the recorder's bookkeeping of slots, tapes
// and variables.
#include "gradtape/program.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <string>

#include "fusion.h"
#include "gradient_plan.h"
#include "gradtape/gradient.h"
#include "gradtape/ops.h"
#include "record.h"
#include "scalar_code.h"
#include "tape_internal.h"
#include "tape_state.h"

namespace gt {

namespace {
thread_local ProgramRecorder* tls_recorder = nullptr;
std::atomic<bool> g_gradient_plans{true};
}  // namespace

void set_gradient_plans(bool on) { g_gradient_plans.store(on); }
bool gradient_plans_enabled() { return g_gradient_plans.load(std::memory_order_relaxed); }
void set_scalar_code(bool on) { scalar_code::set_enabled(on); }
bool scalar_code_enabled() { return scalar_code::enabled(); }

struct Program::PlanSlot {
  enum State { kUnknown, kCapturing, kNone, kReady };
  std::atomic<int> state{kUnknown};  // (kNone from the start when !plannable())
  // Set before state becomes kReady, then never changed:
  std::shared_ptr<const GradientPlan> plan;
  std::vector<Shape> shapes;  // the input shapes it was captured with
  // The scalar code (scalar_code.h), in the same states (kCapturing: a run is tracing it); set
  // before `scalar` becomes kReady, then never changed.
  std::atomic<int> scalar{kUnknown};  // (kNone from the start when !scalar_candidate_)
  std::shared_ptr<const scalar_code::Code> code;
  std::string refused;  // why the trace could not be compiled (set before `scalar` is kNone)
};

namespace {
// Liveness: each slot is dropped after the last top-level step that reads it (outputs never).
std::vector<std::vector<int>> release_lists(const std::vector<Program::Step>& steps, int num_slots,
                                            const std::vector<int>& outputs) {
  std::vector<int> last(size_t(num_slots), -1);
  for (size_t i = 0; i < steps.size(); ++i)
    for (int s : steps[i].reads)
      if (s >= 0 && s < num_slots) last[size_t(s)] = int(i);
  for (int o : outputs)
    if (o >= 0) last[size_t(o)] = -1;
  std::vector<std::vector<int>> release(steps.size());
  for (size_t s = 0; s < last.size(); ++s)
    if (last[s] >= 0) release[size_t(last[s])].push_back(int(s));
  return release;
}

// Whether a plan can replace the program's gradient step: its only tape is entered, watches,
// is exited and then asked for one gradient, all at the top level, with no other action on it
// (jacobians, reset, stop_recording), no Python callback while it records, and no gt.cond or
// gt.while_loop before the gradient (what they give, and so what the tape records or links,
// can differ from run to run).
bool plannable(const std::vector<Program::Step>& steps, int num_tapes) {
  if (num_tapes != 1) return false;
  int enter = -1, exit = -1, gradient = -1;
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string& n = steps[i].name;
    const bool recording = enter >= 0 && exit < 0;
    if (n == "tape_enter") {
      if (enter >= 0) return false;
      enter = int(i);
    } else if (n == "tape_exit") {
      if (!recording) return false;
      exit = int(i);
    } else if (n == "tape_watch") {
      if (!recording) return false;
    } else if (n == "gradient") {
      if (gradient >= 0 || exit < 0) return false;
      gradient = int(i);
    } else if (n == "jacobian" || n == "batch_jacobian" || n == "tape_reset" || n == "tape_set_recording") {
      return false;
    } else if ((n == "callback" || n == "py_function" || n == "numpy_function") && recording) {
      return false;
    } else if ((n == "cond" || n == "while_loop") && gradient < 0) {
      // (inside the tape's block, its ops differ by branch; before it, its results may be a
      // tensor it was given or a new one by branch, so which tensors the tape links may too)
      return false;
    }
  }
  return gradient >= 0;
}
}  // namespace

bool Program::use_or_capture_plan(Frame& fr, const std::vector<Tensor>& inputs) const {
  PlanSlot& ps = *plan_slot_;
  // A tape or accumulator recording around the run must see its ops; under a pause the run's
  // own tape records nothing, which a plan must not be captured from.
  if (!gradient_plans_enabled() || detail::tls_recording != 0 || detail::recording_paused()) return false;
  int state = ps.state.load(std::memory_order_acquire);
  if (state == PlanSlot::kReady) {
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].shape() != ps.shapes[i]) return false;
    fr.plan = ps.plan.get();
    fr.plan_tape = 0;
    return false;
  }
  if (state != PlanSlot::kUnknown ||
      !ps.state.compare_exchange_strong(state, PlanSlot::kCapturing, std::memory_order_acq_rel))
    return false;
  fr.capture_tape = 0;
  fr.captured_constants = &captured_;
  return true;
}

// Whether a run's steps can be stood for by scalar code (scalar_code.h): op steps, variable
// reads and tapes' steps (enter, watch, exit, gradient: what they compute is in the kernels'
// reports), with no effect (the code computes values only), no guard and no control flow.
static bool scalar_steps(const std::vector<Program::Step>& steps) {
  for (const Program::Step& st : steps) {
    if (st.effect || st.guard || st.late_guard) return false;
    if (st.op) continue;
    const std::string& n = st.name;
    if (n != "tape_enter" && n != "tape_exit" && n != "tape_watch" && n != "read_variable" && n != "gradient")
      return false;
  }
  return true;
}

std::string Program::scalar_code_state() const {
  const PlanSlot& ps = *plan_slot_;
  switch (ps.scalar.load(std::memory_order_acquire)) {
    case PlanSlot::kUnknown: return "not traced";
    case PlanSlot::kCapturing: return "tracing";
    case PlanSlot::kReady: return "ready";
    default: return ps.refused.empty() ? "none" : "refused: " + ps.refused;
  }
}

std::string Program::gradient_plan_state() const {
  switch (plan_slot_->state.load(std::memory_order_acquire)) {
    case PlanSlot::kUnknown: return "not captured";
    case PlanSlot::kCapturing: return "capturing";
    case PlanSlot::kReady: return "ready";
    default: return "none";
  }
}

void Program::finish_capture(const Frame& fr, const std::vector<Tensor>& inputs, bool ok) const {
  PlanSlot& ps = *plan_slot_;
  if (!ok) {  // (an error, or a shape guard: the next run tries again)
    ps.state.store(PlanSlot::kUnknown, std::memory_order_release);
    return;
  }
  if (!fr.captured) {
    ps.state.store(PlanSlot::kNone, std::memory_order_release);
    return;
  }
  ps.plan = fr.captured;
  ps.shapes.clear();
  for (const Tensor& t : inputs) ps.shapes.push_back(t.shape());
  ps.state.store(PlanSlot::kReady, std::memory_order_release);
}

namespace program_detail {
struct StepArg {
  int slot;
  Tensor constant;
  std::shared_ptr<Variable> variable;  // a gradient source that is a variable (slot -1)
  Tensor value(const Frame& fr) const {
    if (slot < 0) return constant;
    if (!fr.slots[size_t(slot)].defined()) program_detail::unset_slot(slot);
    return fr.slots[size_t(slot)];
  }
  Source source(const Frame& fr) const { return variable ? Source(variable) : Source(value(fr)); }
  // "s<n>", "c<k>", "u" or "v<k>" (a variable source)
  void save(StepWriter& w) const {
    if (variable) {
      w.word("v" + std::to_string(w.variable(variable)));
    } else {
      w.tensor(constant, slot);
    }
  }
  static StepArg load(StepReader& r) {
    if (!r.peek().empty() && r.peek()[0] == 'v') return StepArg{-1, Tensor(), r.variable()};
    int s = -1;
    Tensor t = r.tensor(&s);
    return StepArg{s, t, nullptr};
  }
};

// A block of a cond or while step: its steps, then its results.
struct StepBlock {
  std::vector<Program::Step> steps;
  std::vector<StepArg> results;
  std::vector<std::shared_ptr<Variable>> variables;  // that its steps (and nested blocks') read
  void run(Frame& fr) const {
    for (const Program::Step& s : steps) {
      if (s.effect) fr.effected = true;
      s.run(fr);
    }
  }
  bool has(bool Program::Step::*flag) const {
    for (const Program::Step& s : steps)
      if (s.*flag) return true;
    return false;
  }
  // Every slot its steps and results read (slots it defines itself included: harmless).
  std::vector<int> reads() const {
    std::vector<int> r;
    for (const Program::Step& s : steps) r.insert(r.end(), s.reads.begin(), s.reads.end());
    for (const StepArg& a : results) r.push_back(a.slot);
    return r;
  }
  void save(StepWriter& w) const;
  static std::shared_ptr<StepBlock> load(StepReader& r);
};

// Everything a cond or while step's blocks read (TensorFlow's cond and while ops take it all as
// inputs, whichever branch or how many iterations a run takes): the slots, then the variables.
struct BlockInputs {
  std::vector<int> slots;
  std::vector<std::shared_ptr<Variable>> variables;
  BlockInputs(const std::vector<int>& reads, std::initializer_list<const StepBlock*> blocks) {
    for (int s : reads)
      if (s >= 0 && std::find(slots.begin(), slots.end(), s) == slots.end()) slots.push_back(s);
    for (const StepBlock* b : blocks)
      for (const std::shared_ptr<Variable>& v : b->variables)
        if (std::find(variables.begin(), variables.end(), v) == variables.end()) variables.push_back(v);
  }
};

void save_args(StepWriter& w, const std::vector<StepArg>& args) {
  w.open_list(args.size());
  for (const StepArg& a : args) a.save(w);
  w.word("]");
}
std::vector<StepArg> load_args(StepReader& r) {
  const std::string open = r.word();
  if (open.empty() || open[0] != '[') r.fail("expected a list, got " + open);
  StepReader counter({open.substr(1)}, "a list length");
  const size_t n = counter.count();
  std::vector<StepArg> v;
  for (size_t i = 0; i < n; ++i) v.push_back(StepArg::load(r));
  r.expect("]");
  return v;
}
}  // namespace program_detail

using program_detail::Codec;
using program_detail::load_args;
using program_detail::save_args;
using program_detail::step_decoder;
using program_detail::StepArg;
using program_detail::BlockInputs;
using program_detail::StepBlock;
using program_detail::StepDecoder;
using Ints = std::vector<int>;

ProgramRecorder::Arg ProgramRecorder::arg(const Tensor& t, const char* what) const {
  check_argument(t, what);
  const int s = slot(t);
  if (s < 0 && t.defined()) program_->captured_.push_back(t);
  return Arg{s, s >= 0 ? Tensor() : t, nullptr};
}

std::vector<ProgramRecorder::Arg> ProgramRecorder::source_args(const std::vector<Source>& sources,
                                                               const char* what) const {
  std::vector<Arg> r;
  for (const Source& s : sources) r.push_back(s.variable ? Arg{-1, Tensor(), s.variable} : arg(s.tensor, what));
  return r;
}

std::vector<int> ProgramRecorder::result_slots(const std::vector<Tensor>& result) {
  std::vector<int> outs;
  for (const Tensor& r : result) outs.push_back(r.defined() ? new_slot(r) : -1);
  return outs;
}


std::vector<int> ProgramRecorder::slots_of(std::initializer_list<const std::vector<Arg>*> lists) {
  std::vector<int> r;
  for (const std::vector<Arg>* l : lists)
    for (const Arg& a : *l) r.push_back(a.slot);
  return r;
}


ProgramRecorder* active_recorder() { return tls_recorder; }
RecorderPause::RecorderPause() : saved_(tls_recorder) { tls_recorder = nullptr; }
RecorderPause::~RecorderPause() { tls_recorder = saved_; }

void program_detail::unset_slot(int slot) {
  throw std::logic_error("gt.function: a step read slot " + std::to_string(slot) + ", which no step of this run set");
}

bool Program::input_guards_hold(const std::vector<Tensor>& inputs) const {
  for (const InputGuard& g : input_guards_) {
    if (size_t(g.input) >= inputs.size()) return false;
    const Tensor& t = inputs[size_t(g.input)];
    if (!t.defined() || g.dim >= t.ndim() || t.shape()[g.dim] != g.value) return false;
  }
  return true;
}

std::vector<Tensor> Program::run(const std::vector<Tensor>& inputs) const {
  std::vector<Tensor> out;
  if (!try_run(inputs, out))
    throw InvalidArgument("gt.function: the program's inputs have shapes that its trace did not read (a shape guard "
                          "failed); trace the function for these shapes");
  return out;
}

namespace {
// A call's input as a tensor of its own (a recorded reshape), in the trace (ProgramRecorder::input)
// and in each run (try_run). A structural-zero mask stays with it (docs/structural-zeros.md).
Tensor own_input(const Tensor& t) {
  Tensor own = reshape(t, t.shape().vec());
  if (t.defined() && t.get()->zero_mask) own.impl()->zero_mask = t.get()->zero_mask;
  return own;
}

// The end of a run's batch (fusion.h): its deferred outputs over the same elements computed
// together, then any deferred reduction left (it must not outlive the batch).
void compute_deferred_outputs(const std::vector<Tensor>& out) {
  fusion::materialize_together(out);
  for (const Tensor& t : out)
    if (t.defined() && t.numel() == 1 && fusion::is_deferred(t)) t.raw();
}
}  // namespace

bool Program::try_run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) const {
  if (inputs.size() != inputs_.size())
    throw InvalidArgument("gt.function: the program takes " + std::to_string(inputs_.size()) + " tensors, got " +
                          std::to_string(inputs.size()));
  if (!input_guards_hold(inputs)) return false;
  // Scalar code (scalar_code.h): where a planned run would do (no tape or accumulator around
  // the call), once a run traced it and gave the same values. The traced run is one after the
  // gradient plan's capture (a planned run), or any run of a program that cannot have a plan.
  PlanSlot& ps = *plan_slot_;
  // An input that carries a structural-zero mask (a gradient a where() or a slice left zero,
  // given as output_gradients: docs/structural-zeros.md) keeps it in the run, as eagerly. Such
  // a call runs with tapes: plans and scalar code were made from runs without masks.
  const bool masked = std::any_of(inputs.begin(), inputs.end(),
                                  [](const Tensor& t) { return t.defined() && t.get()->zero_mask; });
  std::unique_ptr<scalar_code::Trace> trace;
  if (scalar_candidate_ && !masked && detail::tls_recording == 0 && !detail::recording_paused() && gradient_plans_enabled() &&
      scalar_code::enabled()) {
    int st = ps.scalar.load(std::memory_order_acquire);
    if (st == PlanSlot::kReady) {
      if (ps.code->run(inputs, outputs)) return true;  // (else: inputs of other dtypes, or a guard)
    } else if (st == PlanSlot::kUnknown && ps.state.load(std::memory_order_acquire) != PlanSlot::kUnknown &&
               ps.scalar.compare_exchange_strong(st, PlanSlot::kCapturing, std::memory_order_acq_rel)) {
      trace = std::make_unique<scalar_code::Trace>();
    }
  }
  // (a run that ends with an error leaves it to a later run to trace)
  struct Untrace {
    PlanSlot* ps;
    ~Untrace() {
      int c = PlanSlot::kCapturing;
      if (ps) ps->scalar.compare_exchange_strong(c, PlanSlot::kUnknown, std::memory_order_acq_rel);
    }
  } untrace{trace ? &ps : nullptr};
  std::optional<scalar_code::TraceScope> tracing;
  if (trace) tracing.emplace(*trace);
  Frame fr;
  fr.slots.resize(size_t(num_slots_));
  fr.tapes.resize(size_t(num_tapes_));
  const bool capturing = !masked && use_or_capture_plan(fr, inputs);
  // Each input is a tensor of its own, as in the trace (ProgramRecorder::input): the same tensor
  // given twice, or a constant of the program given as an input, is two tensors to the run's
  // tapes, whose gradients are then the trace's (and TensorFlow's), and an input the function
  // returns is a new tensor. (A recorded reshape: a tape around the call sees through it.)
  for (size_t i = 0; i < inputs.size(); ++i) fr.slots[size_t(inputs_[i])] = own_input(inputs[i]);
  // A run is a batch (fusion.h): its deferred results over the same elements (a loss and the
  // gradients of a big elementwise step) are computed together, in one pass, at its end.
  fusion::Batch batch;
  try {
    for (size_t i = 0; i < steps_.size(); ++i) {
      if (steps_[i].effect) {
        if (fr.sink && fr.sink->mismatch) throw PlanMismatch(kPlanMismatch);  // (before the effect)
        fr.effected = true;
      }
      steps_[i].run(fr);
      if (trace)
        for (int w : steps_[i].writes) trace->step_results.push_back(fr.slots[size_t(w)]);
      for (int s : release_[i]) fr.slots[size_t(s)] = Tensor();
    }
  } catch (const ShapeGuardFailed&) {
    if (capturing) finish_capture(fr, inputs, false);
    return false;  // (thrown only before any effect: make_guard)
  } catch (const PlanMismatch&) {
    // The plan does not hold for this call (gradient_plan.h): it is dropped, and the call runs
    // again with a tape, unless an effect of this run is already done (then the error).
    plan_slot_->state.store(PlanSlot::kNone, std::memory_order_release);
    if (trace) {  // (what the tape links differs by run: no scalar code either)
      tracing.reset();
      ps.scalar.store(PlanSlot::kNone, std::memory_order_release);
    }
    if (fr.effected) throw;
    if (fr.sink_entered) {
      detail::leave_sink();
      fr.sink_entered = false;
    }
    const bool ok = try_run(inputs, outputs);  // (a batch inside this one's: its end is here)
    if (ok && batch.outermost()) compute_deferred_outputs(outputs);
    return ok;
  } catch (...) {
    if (capturing) finish_capture(fr, inputs, false);
    throw;
  }
  if (capturing) finish_capture(fr, inputs, true);
  std::vector<Tensor> out;
  out.reserve(outputs_.size());
  for (int o : outputs_) out.push_back(o >= 0 ? fr.slots[size_t(o)] : constants_[size_t(-1 - o)]);
  if (batch.outermost()) compute_deferred_outputs(out);
  if (trace) {
    tracing.reset();
    finish_scalar(*trace, inputs, out);
  }
  outputs = std::move(out);
  return true;
}

void Program::finish_scalar(const scalar_code::Trace& trace, const std::vector<Tensor>& inputs,
                            const std::vector<Tensor>& outputs) const {
  PlanSlot& ps = *plan_slot_;
  std::string why;
  std::shared_ptr<const scalar_code::Code> code = scalar_code::Code::compile(trace, inputs, outputs, captured_, &why);
  // (a kernel that does not report, writing in place, or a fused pass that computes otherwise
  // than its ops: the code would not give the run's values)
  if (code && !code->verify(inputs, outputs)) {
    code = nullptr;
    why = "the code's values differ from the run's";
  }
  if (!code) {
    ps.refused = why;
    ps.scalar.store(PlanSlot::kNone, std::memory_order_release);
    return;
  }
  ps.code = std::move(code);
  ps.scalar.store(PlanSlot::kReady, std::memory_order_release);
}

Frame::~Frame() {
  if (sink_entered) detail::leave_sink();
  for (auto it = tapes.rbegin(); it != tapes.rend(); ++it)
    if (*it && (*it)->active()) {
      try {
        (*it)->pop();
      } catch (...) {
      }
    }
}

bool Program::recording() { return detail::tls_recording != 0; }

bool Program::constants_watched() const {
  if (detail::tls_recording == 0) return false;
  for (const Tensor& t : captured_)
    if (detail::seen_by_a_recorder(t)) return true;
  return false;
}

std::vector<std::string> Program::step_names() const {
  std::vector<std::string> v;
  for (const Step& s : steps_) v.push_back(s.name);
  return v;
}

ProgramRecorder::ProgramRecorder()
    : program_(std::make_shared<Program>()),
      start_seq_(next_tensor_seq()),
      thread_(this_thread_number()),
      outer_(tls_recorder) {
  tls_recorder = this;
}

ProgramRecorder::~ProgramRecorder() { tls_recorder = outer_; }

int ProgramRecorder::new_slot(const Tensor& value) {
  const int s = program_->num_slots_++;
  slots_[value.get()] = s;
  values_.push_back(value);
  slot_block_.push_back(open_ids_.empty() ? -1 : open_ids_.back());
  return s;
}

int ProgramRecorder::reserve_slot() {
  values_.emplace_back();
  slot_block_.push_back(open_ids_.empty() ? -1 : open_ids_.back());
  return program_->num_slots_++;
}

Tensor ProgramRecorder::input(const Tensor& t) {
  Tensor fresh = own_input(t);
  program_->inputs_.push_back(new_slot(fresh));
  return fresh;
}

int ProgramRecorder::slot(const Tensor& t) const {
  if (!t.defined()) return -1;
  auto it = slots_.find(t.get());
  if (it == slots_.end()) return -1;
  const int b = slot_block_[size_t(it->second)];
  if (b >= 0 && std::find(open_ids_.begin(), open_ids_.end(), b) == open_ids_.end())
    throw NotTraceable("gt.function: a tensor computed inside a gt.cond branch or a gt.while_loop body is used outside "
                       "it; return it from the branch or body instead");
  return it->second;
}

Program::Step& ProgramRecorder::last_step() {
  return open_blocks_.empty() ? program_->steps_.back() : open_blocks_.back()->steps.back();
}

void ProgramRecorder::add_step(const char* name, std::function<void(Frame&)> run, std::vector<int> reads,
                               std::function<void(StepWriter&)> save, bool effect) {
  Program::Step st{name ? name : "", std::move(run), std::move(reads), std::move(save)};
  st.effect = effect;
  push_step(std::move(st));
}

void ProgramRecorder::push_step(Program::Step step) {
  step.reads.erase(std::remove(step.reads.begin(), step.reads.end(), -1), step.reads.end());
  note_dependences(step);
  auto& steps = open_blocks_.empty() ? program_->steps_ : open_blocks_.back()->steps;
  steps.push_back(std::move(step));
}

void ProgramRecorder::mark_rank_varies(int s) {
  if (s < 0) return;
  if (rank_varies_.size() <= size_t(s)) rank_varies_.resize(size_t(s) + 1, 0);
  rank_varies_[size_t(s)] = 1;
}
void ProgramRecorder::note_rank_varies(const Tensor& t) { mark_rank_varies(slot(t)); }
void ProgramRecorder::note_rank_read(const Tensor& t) {
  if (rank_varies(slot(t))) program_->late_guard_ = true;  // (the program serves its traced shapes only)
}

void ProgramRecorder::note_sizes(const Program::Step& step) {
  if (std::any_of(step.reads.begin(), step.reads.end(), [this](int s) { return rank_varies(s); }))
    for (int o : step.writes) mark_rank_varies(o);
  if (step.effect) return;  // (a random draw on a shape, gt.random.shuffle: no size)
  std::vector<int> of;
  if (step.name == "shape" || step.name == "shape_n" || step.name == "size") {
    of = step.reads;
  } else if (step.name == "rank") {
    // a rank is fixed by the signature's ranks, but for a tensor whose rank depends on sizes
    // (note_rank_varies): -1, read as note_rank_read
    for (int s : step.reads)
      if (rank_varies(s)) of.push_back(-1);
  } else {
    if (step.reads.empty()) return;
    for (int s : step.reads) {
      auto it = sizes_.find(s);
      if (it == sizes_.end()) return;
      of.insert(of.end(), it->second.begin(), it->second.end());
    }
  }
  std::sort(of.begin(), of.end());
  of.erase(std::unique(of.begin(), of.end()), of.end());
  for (int o : step.writes)
    if (o >= 0) sizes_[o] = of;
}

bool ProgramRecorder::read_size(const Tensor& t) {
  const int s = slot(t);
  auto it = s < 0 ? sizes_.end() : sizes_.find(s);
  if (it == sizes_.end()) return false;
  for (int from : it->second) {
    if (from < 0) program_->late_guard_ = true;  // (a rank that depends on sizes: note_rank_read)
    else note_shape_read(values_.at(size_t(from)));
  }
  return true;
}

bool ProgramRecorder::floating_slot(int s) const {
  return s >= 0 && size_t(s) < values_.size() && values_[size_t(s)].defined() && is_floating(values_[size_t(s)].dtype());
}

void ProgramRecorder::add_dependences(int s, int block, std::vector<int>& to) const {
  if (s < 0) {  // (a variable: -1 - its index in dep_vars_)
    to.push_back(s);
  } else if (floating_slot(s)) {
    if (slot_block_[size_t(s)] != block) to.push_back(s);
    else if (size_t(s) < dep_.size()) to.insert(to.end(), dep_[size_t(s)].begin(), dep_[size_t(s)].end());
  }
}

void ProgramRecorder::note_dependences(const Program::Step& step) {
  const int n = program_->num_slots_;
  if (!open_ids_.empty()) {
    // The slots this step made (those made since the last step) depend on what its reads
    // depend on, outside the innermost block: the block's reads they reach through
    // floating-point values (a cond or while step, a variable read: pending_dep_). A
    // stop_gradient's result depends on nothing.
    const int block = open_ids_.back();
    std::vector<int> d;
    if (pending_dep_) {
      for (int s : *pending_dep_) add_dependences(s, block, d);
    } else if (step.name != "stop_gradient") {
      for (int s : step.reads) add_dependences(s, block, d);
    }
    std::sort(d.begin(), d.end());
    d.erase(std::unique(d.begin(), d.end()), d.end());
    // (what any step of the block reads: a while loop's condition connects every floating-point
    // value it reads, compared or cast, as TensorFlow's while op takes them as inputs)
    std::vector<int>& all = block_reads_[block];
    if (pending_dep_) all.insert(all.end(), d.begin(), d.end());
    else
      for (int s : step.reads) add_dependences(s, block, all);
    if (dep_.size() < size_t(n)) dep_.resize(size_t(n));
    for (int o = pushed_slots_; o < n; ++o)
      if (slot_block_[size_t(o)] == block && floating_slot(o)) dep_[size_t(o)] = d;
  }
  pending_dep_.reset();
  pushed_slots_ = n;
}

int ProgramRecorder::variable_dependence(const std::shared_ptr<Variable>& v) {
  auto it = std::find(dep_vars_.begin(), dep_vars_.end(), v);
  if (it == dep_vars_.end()) it = dep_vars_.insert(dep_vars_.end(), v);
  return -1 - int(it - dep_vars_.begin());
}

void ProgramRecorder::owned_tape_serials(std::vector<uint64_t>& out) const {
  for (const auto& t : tapes_) out.push_back(t.first->serial());
}

void ProgramRecorder::constant(const Tensor& t) {
  if (t.defined() && slot(t) < 0) constants_.emplace(t.get(), t);
}

bool ProgramRecorder::untraceable(const Tensor& t) const {
  const TensorImpl* p = t.get();
  return p->thread == thread_ && p->seq >= start_seq_ && !slots_.count(p) && !constants_.count(p);
}

void ProgramRecorder::check_argument(const Tensor& t, const char* what) const {
  if (t.defined() && untraceable(t))
    throw NotTraceable(std::string("gt.function cannot trace ") + (what ? what : "this op") +
                       ": one of its tensors was computed inside the function by an operation that gt.function cannot "
                       "trace yet (see docs/guides/function.md); run the function eagerly "
                       "(gt.config.run_functions_eagerly(True)) or compute that value outside the function");
}

std::shared_ptr<Program> ProgramRecorder::finish(const std::vector<Tensor>& outputs) {
  for (const Tensor& t : outputs) check_argument(t, "the function's result");
  for (auto& [v, r] : reads_)
    if (r.mixed)
      for (const std::shared_ptr<bool>& f : r.fresh) *f = true;
  for (const Tensor& t : outputs) {
    const int s = slot(t);
    if (s >= 0) {
      program_->outputs_.push_back(s);
    } else {
      program_->outputs_.push_back(-1 - int(program_->constants_.size()));
      program_->constants_.push_back(t);
    }
  }
  program_->num_tapes_ = int(tapes_.size());
  // A guard that a run may reach after an effect could fail too late to trace instead (the
  // effect done): such a program serves only the shapes it was traced with.
  bool effect_seen = false;
  for (const Program::Step& st : program_->steps_) {
    if (st.late_guard || (st.guard && effect_seen)) program_->late_guard_ = true;
    effect_seen = effect_seen || st.effect;
  }
  program_->plan();
  auto p = program_;
  program_ = std::make_shared<Program>();
  slots_.clear();
  values_.clear();
  tapes_.clear();
  tape_block_.clear();
  constants_.clear();
  guarded_.clear();
  sizes_.clear();
  rank_varies_.clear();
  blocks_.clear();
  open_blocks_.clear();
  open_ids_.clear();
  slot_block_.clear();
  dep_.clear();
  dep_vars_.clear();
  pending_dep_.reset();
  pushed_slots_ = 0;
  block_ids_.clear();
  block_reads_.clear();
  return p;
}

// ---- the special steps: each made by one function, used by the recorder and by the loader ----
namespace {

using Step = Program::Step;

// A read is the value tensor itself, or (*fresh, or no flag: a loaded program) a tensor of its
// own, as in the trace (ProgramRecorder::read_variable): a reshape of the value, recorded, so a
// tape recording sees the variable through it, and a read before the tape is a constant to it
// (the value tensor itself is what a tape links when a read happens inside it).
Step make_read_variable(std::shared_ptr<Variable> v, int s, std::shared_ptr<const bool> fresh = nullptr) {
  Step st{"read_variable", [v, s, fresh](Frame& fr) {
            const Tensor value = v->read();
            scalar_code::note_read(v, value);
            fr.slots[size_t(s)] = fresh && !*fresh ? value : reshape(value, value.shape().vec());
          }, {}, {}};
  st.save = [v, s](StepWriter& w) {
    w.line("read_variable");
    Codec<std::shared_ptr<Variable>>::put(w, v);
    w.word("s" + std::to_string(s));
  };
  return st;
}

// A constant of the function that a tape inside it watches (ProgramRecorder::tape_watch): slot s
// is a tensor of its own of the constant's value at each run, as an input is (ProgramRecorder::
// input): an op step, reshape(c, its shape), so a saved program holds no new kind of step.
Step make_watched_constant(const Tensor& c, int s) {
  using Args = std::tuple<Tensor, std::vector<int64_t>>;
  auto captured = std::make_shared<const Args>(c, c.shape().vec());
  auto outs = std::make_shared<const std::vector<int>>(std::vector<int>{s});
  const std::vector<int> in{-1};
  Tensor (*f)(const Tensor&, const std::vector<int64_t>&) = &reshape;
  return Step{"reshape", program_detail::op_run(f, captured, in, outs, false), {},
              program_detail::op_save(f, captured, in, outs, false, "reshape")};
}

// A shape guard: dimension `dim` of slot s has the value the trace read. Fails before any
// effect of the run as ShapeGuardFailed (the caller traces for these shapes instead), after
// one as InvalidArgument (a program with such a guard is never run at other shapes).
Step make_guard(int s, int dim, int64_t value) {
  Step st{"shape_guard", [s, dim, value](Frame& fr) {
            const Tensor& t = fr.slots[size_t(s)];
            if (!t.defined()) program_detail::unset_slot(s);
            if (dim < t.ndim() && t.shape()[dim] == value) return;
            const std::string why = "gt.function: a shape the trace read differs at this call (dimension " +
                                    std::to_string(dim) + " of a tensor of shape " + t.shape().str() + " was " +
                                    std::to_string(value) + " when traced)";
            if (fr.effected) throw InvalidArgument(why);
            throw ShapeGuardFailed(why);
          }, {s}, {}};
  st.save = [s, dim, value](StepWriter& w) {
    if (!w.describe && !w.guards) return;  // (a program saved for its traced shapes only needs none)
    w.line("shape_guard");
    w.word("s" + std::to_string(s));
    w.integer(dim);
    w.integer(value);
  };
  st.guard = true;
  return st;
}

// A planned or capturing run's sink, entered where its tape is (gradient_plan.h).
void enter_frame_sink(Frame& fr) {
  fr.sink = fr.plan ? fr.plan->make_sink() : std::make_unique<RecordSink>();
  detail::enter_sink(fr.sink.get());
  fr.sink_entered = true;
}

Step make_tape_enter(int k, bool persistent, bool watch_accessed_variables) {
  Step st{"tape_enter", [k, persistent, watch_accessed_variables](Frame& fr) {
            if (fr.plan_tape != k) {
              fr.tapes[size_t(k)] = std::make_unique<Tape>(persistent, watch_accessed_variables);
              fr.tapes[size_t(k)]->push();
            }
            if (fr.plan_tape == k || fr.capture_tape == k) enter_frame_sink(fr);
          }, {}, {}};
  st.save = [k, persistent, watch_accessed_variables](StepWriter& w) {
    w.line("tape_enter");
    w.integer(k);
    w.integer(persistent);
    w.integer(watch_accessed_variables);
  };
  return st;
}

// A tape action on tape k that was entered in this run (a loaded program can be malformed).
Tape& frame_tape(Frame& fr, int k) {
  Tape* t = fr.tapes[size_t(k)].get();
  if (!t) throw TapeError("gt.function: a program step uses a GradientTape its run has not entered");
  return *t;
}

Step make_tape_exit(int k) {
  Step st{"tape_exit", [k](Frame& fr) {
            if (fr.plan_tape != k) frame_tape(fr, k).pop();
            if (fr.sink_entered) {
              detail::leave_sink();
              fr.sink_entered = false;
            }
          }, {}, {}};
  st.save = [k](StepWriter& w) {
    w.line("tape_exit");
    w.integer(k);
  };
  return st;
}

Step make_tape_watch(int k, StepArg a) {
  Step st{"tape_watch", nullptr, {a.slot}, {}};
  if (a.variable) {
    std::shared_ptr<Variable> v = a.variable;
    st.run = [k, v](Frame& fr) {
      if (fr.plan_tape != k) {
        frame_tape(fr, k).watch(v);
      } else if (fr.sink) {  // (the tape would link v's value: a read, to the plan's check)
        fr.sink->reads.emplace_back(v->id(), v->value().get());
      }
    };
  } else {
    st.run = [k, a](Frame& fr) {
      if (fr.plan_tape != k) frame_tape(fr, k).watch(a.value(fr));
    };
  }
  st.save = [k, a](StepWriter& w) {
    w.line("tape_watch");
    w.integer(k);
    a.save(w);
  };
  return st;
}

Step make_tape_set_recording(int k, bool on) {
  Step st{"tape_set_recording", [k, on](Frame& fr) { frame_tape(fr, k).set_recording(on); }, {}, {}};
  st.save = [k, on](StepWriter& w) {
    w.line("tape_set_recording");
    w.integer(k);
    w.integer(on);
  };
  return st;
}

Step make_tape_reset(int k) {
  Step st{"tape_reset", [k](Frame& fr) { frame_tape(fr, k).reset(); }, {}, {}};
  st.save = [k](StepWriter& w) {
    w.line("tape_reset");
    w.integer(k);
  };
  return st;
}

Ints slots_in(std::initializer_list<const std::vector<StepArg>*> lists) {
  Ints r;
  for (const std::vector<StepArg>* l : lists)
    for (const StepArg& a : *l) r.push_back(a.slot);
  r.erase(std::remove(r.begin(), r.end(), -1), r.end());
  return r;
}

// A tape step's results into their slots (an undefined result, a None gradient, has none).
void store(Frame& fr, const Ints& outs, const std::vector<Tensor>& r) {
  if (r.size() != outs.size())
    throw std::logic_error("gt.function: a tape step gave " + std::to_string(r.size()) + " results for " +
                           std::to_string(outs.size()) + " slots");
  for (size_t i = 0; i < outs.size(); ++i)
    if (outs[i] >= 0) fr.slots[size_t(outs[i])] = r[i];
}
std::vector<Source> sources_of(const std::vector<StepArg>& args, const Frame& fr) {
  std::vector<Source> s;
  for (const StepArg& a : args) s.push_back(a.source(fr));
  return s;
}
void save_outs(StepWriter& w, const Ints& outs) { Codec<Ints>::put(w, outs); }
Ints load_outs(StepReader& r, bool allow_undefined) {
  Ints o = Codec<Ints>::get(r);
  for (int s : o)
    if ((s < 0 && !(allow_undefined && s == -1)) || s >= r.num_slots) r.fail("an output slot out of range");
  return o;
}

using Pairs = std::vector<std::pair<size_t, size_t>>;

// A Jacobian's zeros: target.shape + source.shape[skip:] (skip 1: a batch Jacobian's).
Tensor jacobian_zeros(const Tensor& target, const Source& source, int skip) {
  const Tensor& src = source.variable ? source.variable->value() : source.tensor;
  std::vector<int64_t> shape = target.shape().vec();
  for (int d = skip; d < src.ndim(); ++d) shape.push_back(src.shape()[d]);
  return zeros(Shape(shape), src.dtype());
}

// A gradient that the trace gave (it has a slot) and this run does not: the run took a branch of
// a gt.cond, or a number of gt.while_loop iterations, that does not reach the source. As the
// trace's cond and while ops connect it (HiddenDependence), the gradient is zeros. (The same for
// the Jacobian steps, with jacobian_zeros.)
std::vector<Tensor> zeros_where_traced(std::vector<Tensor> r, const Ints& outs, const std::vector<Source>& sources) {
  for (size_t i = 0; i < r.size() && i < outs.size() && i < sources.size(); ++i)
    if (outs[i] >= 0 && !r[i].defined())
      r[i] = zeros_like(sources[i].variable ? sources[i].variable->value() : sources[i].tensor);
  return r;
}

Step make_gradient(int k, std::vector<StepArg> tg, std::vector<StepArg> og, std::vector<StepArg> src,
                   Unconnected unconnected, Pairs same, Ints outs) {
  Step st{"gradient", [k, tg, og, src, unconnected, same, outs](Frame& fr) {
            std::vector<Tensor> t, o;
            for (const StepArg& a : tg) t.push_back(a.value(fr));
            for (const StepArg& a : og) o.push_back(a.value(fr));
            const std::vector<Source> sources = sources_of(src, fr);
            if (fr.plan_tape == k) {
              store(fr, outs, zeros_where_traced(fr.plan->run(*fr.sink, t, sources, o, same), outs, sources));
              fr.sink.reset();
              return;
            }
            if (fr.capture_tape == k) {
              fr.captured = GradientPlan::capture(frame_tape(fr, k), *fr.sink, t, sources, unconnected,
                                                  *fr.captured_constants);
              fr.sink.reset();
            }
            store(fr, outs, zeros_where_traced(frame_tape(fr, k).gradient(t, sources, o, unconnected, same), outs, sources));
          }, slots_in({&tg, &og, &src}), {}};
  st.save = [k, tg, og, src, unconnected, same, outs](StepWriter& w) {
    w.line("gradient");
    w.integer(k);
    save_args(w, tg);
    save_args(w, og);
    save_args(w, src);
    Codec<Unconnected>::put(w, unconnected);
    w.open_list(same.size());
    for (const auto& p : same) {
      w.integer(int64_t(p.first));
      w.integer(int64_t(p.second));
    }
    w.word("]");
    save_outs(w, outs);
  };
  return st;
}

Step make_jacobian(int k, StepArg target, std::vector<StepArg> src, Unconnected unconnected, JacobianMode mode,
                   Ints outs) {
  const std::vector<StepArg> tg{target};
  Step st{"jacobian", [k, target, src, unconnected, mode, outs](Frame& fr) {
            const Tensor t = target.value(fr);
            const std::vector<Source> sources = sources_of(src, fr);
            std::vector<Tensor> r = frame_tape(fr, k).jacobian(t, sources, unconnected, mode);
            for (size_t i = 0; i < r.size() && i < outs.size(); ++i)
              if (outs[i] >= 0 && !r[i].defined()) r[i] = jacobian_zeros(t, sources[i], 0);
            store(fr, outs, r);
          }, slots_in({&tg, &src}), {}};
  st.save = [k, target, src, unconnected, mode, outs](StepWriter& w) {
    w.line("jacobian");
    w.integer(k);
    target.save(w);
    save_args(w, src);
    Codec<Unconnected>::put(w, unconnected);
    Codec<JacobianMode>::put(w, mode);
    save_outs(w, outs);
  };
  return st;
}

Step make_batch_jacobian(int k, StepArg target, StepArg source, Unconnected unconnected, JacobianMode mode, Ints outs) {
  const std::vector<StepArg> tg{target}, src{source};
  Step st{"batch_jacobian", [k, target, source, unconnected, mode, outs](Frame& fr) {
            const Tensor t = target.value(fr);
            const Source sc = source.source(fr);
            Tensor r = frame_tape(fr, k).batch_jacobian(t, sc, unconnected, mode);
            if (!outs.empty() && outs[0] >= 0 && !r.defined()) r = jacobian_zeros(t, sc, 1);
            store(fr, outs, {r});
          }, slots_in({&tg, &src}), {}};
  st.save = [k, target, source, unconnected, mode, outs](StepWriter& w) {
    w.line("batch_jacobian");
    w.integer(k);
    target.save(w);
    source.save(w);
    Codec<Unconnected>::put(w, unconnected);
    Codec<JacobianMode>::put(w, mode);
    save_outs(w, outs);
  };
  return st;
}

// A cond or while step's flags from its blocks' steps: a guard in a step that has an effect
// too counts as late (a loop's next iteration, or a branch's order, may put it after one).
void set_block_flags(Step& st, std::initializer_list<const StepBlock*> blocks) {
  for (const StepBlock* b : blocks) {
    st.effect = st.effect || b->has(&Step::effect);
    st.guard = st.guard || b->has(&Step::guard);
    st.late_guard = st.late_guard || b->has(&Step::late_guard);
  }
  st.late_guard = st.late_guard || (st.guard && st.effect);
}

// A scalar predicate's truth at run time.
bool truth(const Tensor& p, const char* what) {
  if (p.numel() != 1)
    throw InvalidArgument(std::string(what) + " must be a scalar, got a tensor of shape " + p.shape().str());
  return p.item() != 0;
}

// When a tape records: an output that a tape does not link (the branch taken returned a
// constant, or a value computed from unwatched ones) although the step read a tensor or variable
// that the tape links, becomes a fresh tensor that the tape watches. So the tape records the ops
// after it, as TensorFlow's tape records those after a cond op with a watched input: a gradient
// with respect to it is the same at every run, whichever branch the run takes.
// (`from`: what the step's blocks read, as the step began: a loop overwrites its variables)
std::vector<Tensor> block_inputs_now(const Frame& fr, const BlockInputs& in) {
  std::vector<Tensor> from;
  if (detail::tls_recording == 0) return from;
  for (int s : in.slots) {
    const Tensor& t = fr.slots[size_t(s)];
    if (t.defined() && is_floating(t.dtype())) from.push_back(t);
  }
  for (const std::shared_ptr<Variable>& v : in.variables) from.push_back(v->value());
  return from;
}
void link_block_outputs(Frame& fr, const Ints& outs, const std::vector<Tensor>& from) {
  if (from.empty() || detail::tls_recording == 0) return;
  for (int o : outs) {
    Tensor& t = fr.slots[size_t(o)];
    if (t.defined() && is_floating(t.dtype())) detail::watch_where_linked(t, from);
  }
}

// What a cond or while step's outputs depend on for a tape around the call, whichever branch
// (or number of iterations) a run takes: the slots and variables that some branch (or the body)
// reaches through floating-point values, as the trace saw them (ProgramRecorder::
// note_dependences; a loaded program has none: nullptr).
using program_detail::HiddenInputs;
// The tapes that take them: those recording around the call, not the program's own (nor, while
// tracing, the trace's). With none, hidden_sources_now is empty.
std::vector<uint64_t> own_tapes(const Frame& fr) {
  std::vector<uint64_t> skip;
  for (const std::unique_ptr<Tape>& t : fr.tapes)
    if (t) skip.push_back(t->serial());
  if (ProgramRecorder* r = active_recorder()) r->owned_tape_serials(skip);
  return skip;
}
// Their values as the step begins (a loop overwrites its variables). The variables count as read
// by the tapes around the call (so one that watches accessed variables links them first).
std::vector<Source> hidden_sources_now(const Frame& fr, const HiddenInputs* h, const std::vector<uint64_t>& skip) {
  std::vector<Source> on;
  if (!h || detail::tls_recording == 0) return on;
  for (int s : h->slots) {
    const Tensor& t = fr.slots[size_t(s)];
    if (t.defined() && is_floating(t.dtype())) on.emplace_back(t);
  }
  for (const std::shared_ptr<Variable>& v : h->variables) {
    detail::note_hidden_variable_read(*v, skip);
    on.emplace_back(v);
  }
  return on;
}
// Each floating output depends on them for the tapes recording around the call (TensorFlow's
// cond and while ops take every tensor their branches read as inputs): a source that only
// another branch reaches gets zeros from such a tape, not None.
void add_hidden_outputs(const Frame& fr, const Ints& outs, const std::vector<Source>& on,
                        const std::vector<uint64_t>& skip) {
  if (on.empty()) return;
  for (int o : outs) {
    const Tensor& t = fr.slots[size_t(o)];
    if (t.defined() && is_floating(t.dtype())) detail::add_hidden_dependence(HiddenDependence{t, on}, skip);
  }
}

Step make_cond(StepArg p, std::shared_ptr<const StepBlock> bt, std::shared_ptr<const StepBlock> bf, Ints outs,
               std::shared_ptr<const HiddenInputs> hidden = nullptr) {
  Ints reads = bt->reads();
  for (int s : bf->reads()) reads.push_back(s);
  auto in = std::make_shared<const BlockInputs>(reads, std::initializer_list<const StepBlock*>{bt.get(), bf.get()});
  Step st{"cond", [p, bt, bf, outs, in, hidden](Frame& fr) {
            const StepBlock& b = truth(p.value(fr), "gt.cond: pred") ? *bt : *bf;
            const std::vector<uint64_t> skip = hidden && detail::tls_recording ? own_tapes(fr) : std::vector<uint64_t>();
            const std::vector<Source> on = hidden_sources_now(fr, hidden.get(), skip);
            const std::vector<Tensor> from = block_inputs_now(fr, *in);
            b.run(fr);
            for (size_t i = 0; i < outs.size(); ++i) fr.slots[size_t(outs[i])] = b.results[i].value(fr);
            link_block_outputs(fr, outs, from);
            add_hidden_outputs(fr, outs, on, skip);
          }, reads, {}};
  st.reads.push_back(p.slot);
  set_block_flags(st, {bt.get(), bf.get()});
  st.save = [p, bt, bf, outs](StepWriter& w) {
    w.line("cond");
    p.save(w);
    bt->save(w);
    bf->save(w);
    save_outs(w, outs);
  };
  return st;
}

Step make_loop_variable(StepArg a, int s) {
  Step st{"loop_variable", [a, s](Frame& fr) { fr.slots[size_t(s)] = a.value(fr); }, {a.slot}, {}};
  st.save = [a, s](StepWriter& w) {
    w.line("loop_variable");
    a.save(w);
    w.word("s" + std::to_string(s));
  };
  return st;
}

Step make_while(std::shared_ptr<const StepBlock> bc, std::shared_ptr<const StepBlock> bb, Ints carry, Ints outs,
                int64_t max_iterations, std::shared_ptr<const HiddenInputs> hidden = nullptr) {
  void (*interrupt)() = tape_detail::g_interrupt_check.load(std::memory_order_relaxed);
  Ints reads = bc->reads();
  for (int s : bb->reads()) reads.push_back(s);
  for (int s : carry) reads.push_back(s);
  auto in = std::make_shared<const BlockInputs>(reads, std::initializer_list<const StepBlock*>{bc.get(), bb.get()});
  Step st{"while_loop", [bc, bb, carry, outs, max_iterations, interrupt, in, hidden](Frame& fr) {
            const std::vector<uint64_t> skip = hidden && detail::tls_recording ? own_tapes(fr) : std::vector<uint64_t>();
            const std::vector<Source> on = hidden_sources_now(fr, hidden.get(), skip);
            const std::vector<Tensor> from = block_inputs_now(fr, *in);
            std::vector<Tensor> next(carry.size());
            for (int64_t n = 0; max_iterations < 0 || n < max_iterations; ++n) {
              bc->run(fr);
              if (!truth(bc->results[0].value(fr), "gt.while_loop: cond")) break;
              bb->run(fr);
              for (size_t i = 0; i < carry.size(); ++i) next[i] = bb->results[i].value(fr);
              for (size_t i = 0; i < carry.size(); ++i) fr.slots[size_t(carry[i])] = next[i];
              if (interrupt && (n & 255) == 255) interrupt();
            }
            for (size_t i = 0; i < carry.size(); ++i) fr.slots[size_t(outs[i])] = fr.slots[size_t(carry[i])];
            link_block_outputs(fr, outs, from);
            add_hidden_outputs(fr, outs, on, skip);
          }, reads, {}};
  set_block_flags(st, {bc.get(), bb.get()});
  st.save = [bc, bb, carry, outs, max_iterations](StepWriter& w) {
    w.line("while_loop");
    bc->save(w);
    bb->save(w);
    save_outs(w, carry);
    save_outs(w, outs);
    w.integer(max_iterations);
  };
  return st;
}

// ---- gt.custom_gradient ----

// The steps around a custom gradient function's forward steps: a run pauses the tapes over them
// (accumulators still compute tangents), as the eager call does.
Step make_tape_pause(bool on) {
  Step st{on ? "tape_pause" : "tape_resume", [on](Frame& fr) {
            if (on) {
              fr.pauses.push_back(std::make_unique<TapePause>());
            } else {
              if (fr.pauses.empty()) throw std::logic_error("gt.function: a tape_resume step with no tape_pause before it");
              fr.pauses.pop_back();
            }
          }, {}, {}};
  st.save = [on](StepWriter& w) {
    w.line("tape_pause");
    w.integer(on);
  };
  return st;
}

// A custom gradient function's gradient, traced: its block takes one upstream gradient per
// output (slots `upstream`) and gives one gradient per input (undefined for None). It runs in a
// frame of its own, on the values that the slots it reads from outside (`outer`) had when the
// call ran: a tape around the call may take the gradient after the run has ended.
struct CustomGrad {
  std::shared_ptr<const StepBlock> block;  // (nullptr: saved without it, the call has no gradient)
  Ints upstream;
  Ints outer;
  int num_slots = 0;  // of the frame it runs in (every slot of the block is below)
  int num_tapes = 0;
};

// The rule of one call (the hook of its tape record): the block run on the upstream gradients.
GradHook custom_rule(std::shared_ptr<const CustomGrad> cg, std::vector<Tensor> outer, std::vector<Shape> in_shapes,
                     int out0_rank) {
  return [cg, outer = std::move(outer), in_shapes = std::move(in_shapes), out0_rank](const std::vector<Tensor>& upstream) {
    if (!cg->block)
      throw LookupError_("No gradient defined for a gt.custom_gradient call of this loaded function: the model was "
                         "saved with SaveOptions(experimental_custom_gradients=False)");
    if (upstream.size() != cg->upstream.size())
      throw std::logic_error("gt.function: a custom gradient got " + std::to_string(upstream.size()) +
                             " upstream gradients for " + std::to_string(cg->upstream.size()) + " outputs");
    Frame fr;
    fr.slots.resize(size_t(cg->num_slots));
    fr.tapes.resize(size_t(cg->num_tapes));
    fr.effected = true;  // (a shape guard failing here is an error: the call cannot be traced again now)
    for (size_t i = 0; i < outer.size(); ++i) fr.slots[size_t(cg->outer[i])] = outer[i];
    for (size_t k = 0; k < upstream.size(); ++k) fr.slots[size_t(cg->upstream[k])] = upstream[k];
    cg->block->run(fr);
    std::vector<Tensor> grads;
    for (const StepArg& a : cg->block->results) grads.push_back(a.value(fr));
    check_custom_gradients(grads, upstream, in_shapes, out0_rank);  // (as the eager rule)
    return grads;
  };
}

// The call's outputs: fresh tensors of the forward function's results, recorded on the tapes
// that watch an input as one op whose rule runs the gradient block, as the eager call
// (custom_gradient.py, _record_custom) records them, and their tangents for the accumulators.
std::vector<Tensor> apply_custom(const std::vector<Tensor>& ins, const std::vector<Tensor>& results,
                                 const std::shared_ptr<const CustomGrad>& cg, std::vector<Tensor> outer) {
  std::vector<Tensor> outs;
  outs.reserve(results.size());
  for (const Tensor& r : results) outs.push_back(stop_gradient(r));
  if (detail::tls_recording == 0) return outs;  // (no tape or accumulator: no rule needed)
  std::vector<Shape> shapes;
  for (const Tensor& t : ins) shapes.push_back(t.shape());
  GradHook rule = custom_rule(cg, std::move(outer), std::move(shapes), outs.empty() ? 0 : outs[0].ndim());
  record_custom(ins, outs, rule);
  // (the accumulators' tangents come from the rule, transposed, as a tf.function call's do; an
  // eager call keeps the tangents the forward's own ops gave, as eager TensorFlow does)
  forward_custom(ins, outs, outs, rule);
  return outs;
}

Step make_custom_gradient(std::vector<StepArg> ins, std::vector<StepArg> results, Ints outs,
                          std::shared_ptr<const CustomGrad> cg) {
  Ints reads = slots_in({&ins, &results});
  reads.insert(reads.end(), cg->outer.begin(), cg->outer.end());
  Step st{"custom_gradient", [ins, results, outs, cg](Frame& fr) {
            std::vector<Tensor> in, res, outer;
            for (const StepArg& a : ins) in.push_back(a.value(fr));
            for (const StepArg& a : results) res.push_back(a.value(fr));
            if (detail::tls_recording != 0)
              for (int s : cg->outer) {
                if (!fr.slots[size_t(s)].defined()) program_detail::unset_slot(s);
                outer.push_back(fr.slots[size_t(s)]);
              }
            store(fr, outs, apply_custom(in, res, cg, std::move(outer)));
          }, reads, {}};
  // (a shape guard of the gradient block runs when a tape asks, maybe after an effect: such a
  // program serves its traced shapes only)
  st.late_guard = cg->block && (cg->block->has(&Step::guard) || cg->block->has(&Step::late_guard));
  st.save = [ins, results, outs, cg](StepWriter& w) {
    w.line("custom_gradient");
    save_args(w, ins);
    save_args(w, results);
    save_outs(w, outs);
    save_outs(w, cg->upstream);
    save_outs(w, cg->outer);
    if (cg->block && (w.custom_gradients || w.describe)) cg->block->save(w);
    else w.word("none");
  };
  return st;
}

void save_step(StepWriter& w, const Step& st) {
  if (!w.refused.empty()) return;
  if (!st.save) {
    if (w.describe) {
      // (a host callback: its tensors are compared, its Python function is not; any other
      // step with no encoding makes the description unique, so that no two compare equal)
      w.line(st.name == "callback" ? "callback" : "opaque" + std::to_string(reinterpret_cast<uintptr_t>(&st)));
      Codec<Ints>::put(w, st.reads);
      return;
    }
    w.refused = st.name;
    return;
  }
  st.save(w);
}

// The number of steps a save writes (a program saved for its traced shapes only leaves out its
// shape guards).
size_t saved_count(const StepWriter& w, const std::vector<Step>& steps) {
  size_t n = 0;
  for (const Step& st : steps) n += (w.describe || w.guards || !st.guard) ? 1 : 0;
  return n;
}

Step load_step(StepReader& r, bool in_checked = false);

}  // namespace

void program_detail::StepBlock::save(StepWriter& w) const {
  if (++w.depth > kMaxBlockDepth && !w.describe) w.too_deep = true;
  w.word("{");
  w.integer(int64_t(saved_count(w, steps)));
  for (const Program::Step& st : steps) save_step(w, st);
  w.line("}");
  save_args(w, results);
  --w.depth;
}

std::shared_ptr<StepBlock> program_detail::StepBlock::load(StepReader& r) {
  // (blocks nest through cond and while steps: a bound on the depth keeps a hostile file from
  // exhausting the stack)
  struct Depth {
    StepReader& r;
    explicit Depth(StepReader& rr) : r(rr) {
      if (++r.depth > kMaxBlockDepth) r.fail("blocks nested deeper than " + std::to_string(kMaxBlockDepth));
    }
    ~Depth() { --r.depth; }
  } depth(r);
  r.expect("{");
  const size_t n = r.count();
  auto b = std::make_shared<StepBlock>();
  std::vector<std::shared_ptr<Variable>>* outer = r.block_variables;
  r.block_variables = &b->variables;
  try {
    for (size_t i = 0; i < n; ++i) b->steps.push_back(load_step(r));
    r.expect("}");
    b->results = load_args(r);
  } catch (...) {
    r.block_variables = outer;
    throw;
  }
  r.block_variables = outer;
  if (outer) outer->insert(outer->end(), b->variables.begin(), b->variables.end());
  return b;
}

namespace {
// A loaded argument where a step needs a tensor (a slot or a constant): not "u" (none) nor a
// variable source. A source (of a gradient or jacobian) may be a variable, not "u".
bool no_tensor(const StepArg& a) { return !a.variable && a.slot < 0 && !a.constant.defined(); }  // ("u")
StepArg load_tensor(StepReader& r, const char* what) {
  StepArg a = StepArg::load(r);
  if (a.variable || no_tensor(a)) r.fail(std::string(what) + " must be a tensor");
  return a;
}
void require_tensors(StepReader& r, const std::vector<StepArg>& args, const char* what, bool variables_too = false) {
  for (const StepArg& a : args)
    if ((a.variable && !variables_too) || no_tensor(a)) r.fail(std::string(what) + " must be tensors");
}

Step load_step(StepReader& r, bool in_checked) {
  const std::string kind = r.word();
  if (kind == "op") {
    const std::string key = r.word();
    const StepDecoder* d = step_decoder(key);
    if (!d) r.fail("unknown op key " + key + " (saved by a newer gradtape?)");
    return (*d)(r);
  }
  if (kind == "checked") {
    if (in_checked) r.fail("a checked step inside a checked step");
    const Shape shape = Codec<Shape>::get(r);
    const int out = r.slot();
    Step inner = load_step(r, true);
    inner.save = program_detail::checked_save(std::move(inner.save), shape, out);
    inner.run = program_detail::checked_run(std::move(inner.run), shape, out, inner.name);
    return inner;
  }
  if (kind == "shape_guard") {
    const int s = r.slot();
    const int dim = int(r.integer(0, kMaxRank - 1));
    return make_guard(s, dim, r.integer(0, INT64_MAX));
  }
  if (kind == "read_variable") {
    std::shared_ptr<Variable> v = r.variable();
    return make_read_variable(v, r.slot());
  }
  if (kind == "tape_enter") {
    const int k = r.tape();
    const bool persistent = r.integer(0, 1) != 0;
    return make_tape_enter(k, persistent, r.integer(0, 1) != 0);
  }
  if (kind == "tape_exit") return make_tape_exit(r.tape());
  if (kind == "tape_watch") {
    const int k = r.tape();
    StepArg a = StepArg::load(r);
    if (no_tensor(a)) r.fail("a watched tensor must be a tensor or a variable");
    return make_tape_watch(k, a);
  }
  if (kind == "tape_set_recording") {
    const int k = r.tape();
    return make_tape_set_recording(k, r.integer(0, 1) != 0);
  }
  if (kind == "tape_reset") return make_tape_reset(r.tape());
  if (kind == "gradient") {
    const int k = r.tape();
    std::vector<StepArg> tg = load_args(r), og = load_args(r), src = load_args(r);
    require_tensors(r, src, "a gradient step's sources", true);
    const Unconnected u = Codec<Unconnected>::get(r);
    const std::string open = r.word();
    if (open.empty() || open[0] != '[') r.fail("expected a list of pairs");
    StepReader counter({open.substr(1)}, "a list length");
    const size_t n = counter.count();
    Pairs same;
    for (size_t i = 0; i < n; ++i) {
      const auto a = size_t(r.integer(0, int64_t(src.size()) - 1));
      const auto b = size_t(r.integer(0, int64_t(src.size()) - 1));
      same.emplace_back(a, b);
    }
    r.expect("]");
    Ints outs = load_outs(r, true);
    if (outs.size() != src.size()) r.fail("a gradient step has " + std::to_string(outs.size()) + " outputs for " +
                                          std::to_string(src.size()) + " sources");
    return make_gradient(k, tg, og, src, u, same, outs);
  }
  if (kind == "jacobian") {
    const int k = r.tape();
    StepArg t = load_tensor(r, "a jacobian step's target");
    std::vector<StepArg> src = load_args(r);
    require_tensors(r, src, "a jacobian step's sources", true);
    const Unconnected u = Codec<Unconnected>::get(r);
    const JacobianMode m = Codec<JacobianMode>::get(r);
    Ints outs = load_outs(r, true);
    if (outs.size() != src.size()) r.fail("a jacobian step has the wrong number of outputs");
    return make_jacobian(k, t, src, u, m, outs);
  }
  if (kind == "batch_jacobian") {
    const int k = r.tape();
    StepArg t = load_tensor(r, "a batch_jacobian step's target");
    StepArg s = StepArg::load(r);
    require_tensors(r, {s}, "a batch_jacobian step's source", true);
    const Unconnected u = Codec<Unconnected>::get(r);
    const JacobianMode m = Codec<JacobianMode>::get(r);
    Ints outs = load_outs(r, true);
    if (outs.size() != 1) r.fail("a batch_jacobian step has one output");
    return make_batch_jacobian(k, t, s, u, m, outs);
  }
  if (kind == "cond") {
    StepArg p = load_tensor(r, "a cond step's predicate");
    std::shared_ptr<const StepBlock> bt = StepBlock::load(r), bf = StepBlock::load(r);
    require_tensors(r, bt->results, "a cond step's branch results");
    require_tensors(r, bf->results, "a cond step's branch results");
    Ints outs = load_outs(r, false);
    if (bt->results.size() != outs.size() || bf->results.size() != outs.size())
      r.fail("a cond step's branches and outputs differ in number");
    return make_cond(p, bt, bf, outs);
  }
  if (kind == "loop_variable") {
    StepArg a = load_tensor(r, "a loop variable's initial value");
    return make_loop_variable(a, r.slot());
  }
  if (kind == "while_loop") {
    std::shared_ptr<const StepBlock> bc = StepBlock::load(r), bb = StepBlock::load(r);
    require_tensors(r, bc->results, "a while_loop step's condition");
    require_tensors(r, bb->results, "a while_loop step's loop variables");
    Ints carry = load_outs(r, false), outs = load_outs(r, false);
    const int64_t max_iterations = r.integer();
    if (bc->results.size() != 1 || bb->results.size() != carry.size() || outs.size() != carry.size())
      r.fail("a while_loop step's blocks and loop variables differ in number");
    return make_while(bc, bb, carry, outs, max_iterations);
  }
  if (kind == "tape_pause") return make_tape_pause(r.integer(0, 1) != 0);
  if (kind == "custom_gradient") {
    std::vector<StepArg> ins = load_args(r), results = load_args(r);
    require_tensors(r, ins, "a custom_gradient step's inputs");
    require_tensors(r, results, "a custom_gradient step's results");
    Ints outs = load_outs(r, false);
    auto cg = std::make_shared<CustomGrad>();
    cg->upstream = load_outs(r, false);
    cg->outer = load_outs(r, false);
    if (outs.size() != results.size() || cg->upstream.size() != results.size())
      r.fail("a custom_gradient step's results, outputs and upstream gradients differ in number");
    cg->num_slots = r.num_slots;
    cg->num_tapes = r.num_tapes;
    if (r.peek() == "none") {
      r.word();
      return make_custom_gradient(std::move(ins), std::move(results), std::move(outs), cg);
    }
    cg->block = StepBlock::load(r);
    for (const StepArg& a : cg->block->results)  // (a gradient may be None: "u"; not a variable)
      if (a.variable) r.fail("a custom_gradient step's gradients must be tensors");
    if (cg->block->results.size() != ins.size())
      r.fail("a custom_gradient step's gradient block gives " + std::to_string(cg->block->results.size()) +
             " gradients for " + std::to_string(ins.size()) + " inputs");
    return make_custom_gradient(std::move(ins), std::move(results), std::move(outs), cg);
  }
  r.fail("unknown step kind " + kind);
}
}  // namespace

std::function<void(StepWriter&)> program_detail::checked_save(std::function<void(StepWriter&)> inner,
                                                              const Shape& shape, int out) {
  if (!inner) return {};
  return [inner, shape, out](StepWriter& w) {
    w.line("checked");
    Codec<Shape>::put(w, shape);
    w.word("s" + std::to_string(out));
    inner(w);
  };
}

void Program::save(StepWriter& w) const {
  w.line("program");
  w.integer(num_slots_);
  w.integer(num_tapes_);
  Codec<Ints>::put(w, inputs_);
  w.word("{");
  w.integer(int64_t(saved_count(w, steps_)));
  for (const Step& st : steps_) save_step(w, st);
  if (!w.refused.empty()) return;
  w.line("}");
  w.line("outputs");
  w.open_list(outputs_.size());
  for (int o : outputs_) {
    if (o >= 0) {
      w.word("s" + std::to_string(o));
    } else {
      w.tensor(constants_[size_t(-1 - o)], -1);
    }
  }
  w.word("]");
}

std::shared_ptr<Program> Program::load(StepReader& r) {
  r.expect("program");
  auto p = std::make_shared<Program>();
  p->num_slots_ = int(r.integer(0, 1 << 28));
  p->num_tapes_ = int(r.integer(0, 1 << 20));
  r.num_slots = p->num_slots_;
  r.num_tapes = p->num_tapes_;
  p->inputs_ = Codec<Ints>::get(r);
  for (int s : p->inputs_)
    if (s < 0 || s >= p->num_slots_) r.fail("an input slot out of range");
  r.expect("{");
  const size_t n = r.count();
  for (size_t i = 0; i < n; ++i) p->steps_.push_back(load_step(r));
  r.expect("}");
  r.expect("outputs");
  const std::string open = r.word();
  if (open.empty() || open[0] != '[') r.fail("expected the outputs' list");
  StepReader counter({open.substr(1)}, "a list length");
  const size_t m = counter.count();
  for (size_t i = 0; i < m; ++i) {
    int s = -1;
    Tensor t = r.tensor(&s);
    if (s >= 0) {
      p->outputs_.push_back(s);
    } else {
      if (!t.defined()) r.fail("an undefined output");
      p->outputs_.push_back(-1 - int(p->constants_.size()));
      p->constants_.push_back(t);
    }
  }
  r.expect("]");
  p->captured_ = r.constants;  // (a superset: every constant of the saved model)
  p->plan();
  return p;
}

void Program::plan() {
  release_ = release_lists(steps_, num_slots_, outputs_);
  plan_slot_ = std::make_shared<PlanSlot>();
  if (!plannable(steps_, num_tapes_)) plan_slot_->state.store(PlanSlot::kNone);
  scalar_candidate_ = !shape_checked_ && !late_guard_ && scalar_steps(steps_);
  if (!scalar_candidate_) plan_slot_->scalar.store(PlanSlot::kNone);
}

std::vector<int> ProgramRecorder::read_context() const {
  std::vector<int> c = recording_tapes_;
  std::sort(c.begin(), c.end());
  c.push_back(-1 - tape_resets_);
  return c;
}

Tensor ProgramRecorder::read_variable(const std::shared_ptr<Variable>& v, const Tensor& value) {
  Tensor fresh = reshape(value, value.shape().vec());
  const int s = new_slot(fresh);
  VariableReads& r = reads_[v.get()];
  std::vector<int> context = read_context();
  if (r.fresh.empty() && !r.mixed) r.context = std::move(context);
  else if (context != r.context) r.mixed = true;
  r.fresh.push_back(std::make_shared<bool>(false));
  pending_dep_ = std::vector<int>{variable_dependence(v)};
  push_step(make_read_variable(v, s, r.fresh.back()));
  for (const std::shared_ptr<Block>& b : open_blocks_) block_variables_[b.get()].push_back(v);
  return fresh;
}

int ProgramRecorder::tape_index(const Tape& tape) const {
  auto it = tapes_.find(&tape);
  if (it == tapes_.end())
    throw NotTraceable("gt.function: a GradientTape entered outside the function is used inside it; enter the tape "
                       "inside the function, or differentiate the function's result outside it");
  // A tape's actions are steps of the block that entered it (a run of that block makes the tape).
  if (tape_block_[size_t(it->second)] != (open_ids_.empty() ? -1 : open_ids_.back()))
    throw NotTraceable("gt.function cannot trace a GradientTape's actions outside the gt.cond branch or "
                       "gt.while_loop body that entered it yet; enter the tape inside the branch or body that uses "
                       "it, or put the control flow inside the tape's block, or run the function eagerly "
                       "(gt.config.run_functions_eagerly(True))");
  return it->second;
}

void ProgramRecorder::tape_enter(const Tape& tape, bool persistent, bool watch_accessed_variables) {
  const int k = int(tapes_.size());
  tapes_[&tape] = k;
  recording_tapes_.push_back(k);
  tape_block_.push_back(open_ids_.empty() ? -1 : open_ids_.back());
  push_step(make_tape_enter(k, persistent, watch_accessed_variables));
}

void ProgramRecorder::tape_exit(const Tape& tape) {
  const int k = tape_index(tape);
  recording_tapes_.erase(std::remove(recording_tapes_.begin(), recording_tapes_.end(), k), recording_tapes_.end());
  push_step(make_tape_exit(k));
}

void ProgramRecorder::tape_watch(const Tape& tape, const Tensor& t) {
  const int k = tape_index(tape);
  Arg a = arg(t, "tape.watch");
  if (a.slot < 0 && t.defined()) {
    // A constant of the function (captured, or folded from constants): from the watch on, the
    // trace takes it as a slot, so that the ops on it are steps which each run's tape records
    // (folded, they would be constants to every tape after the trace's: a gradient of None).
    const int s = new_slot(t);
    push_step(make_watched_constant(t, s));
    a = Arg{s, Tensor(), nullptr};
  }
  push_step(make_tape_watch(k, a));
}

void ProgramRecorder::tape_set_recording(const Tape& tape, bool on) {
  const int k = tape_index(tape);
  recording_tapes_.erase(std::remove(recording_tapes_.begin(), recording_tapes_.end(), k), recording_tapes_.end());
  if (on) recording_tapes_.push_back(k);
  push_step(make_tape_set_recording(k, on));
}

void ProgramRecorder::tape_reset(const Tape& tape) {
  ++tape_resets_;
  push_step(make_tape_reset(tape_index(tape)));
}

void ProgramRecorder::tape_watch(const Tape& tape, const std::shared_ptr<Variable>& v) {
  reads_[v.get()].mixed = true;  // (the watch links v's value tensor: every read of v is its own)
  push_step(make_tape_watch(tape_index(tape), StepArg{-1, Tensor(), v}));
}

void ProgramRecorder::tape_gradient(const Tape& tape, const std::vector<Tensor>& targets,
                                    const std::vector<Source>& sources, const std::vector<Tensor>& output_gradients,
                                    Unconnected unconnected, const std::vector<std::pair<size_t, size_t>>& same,
                                    const std::vector<Tensor>& result) {
  const int k = tape_index(tape);
  std::vector<StepArg> tg, og;
  for (const Tensor& t : targets) tg.push_back(arg(t, "tape.gradient"));
  for (const Tensor& t : output_gradients) og.push_back(arg(t, "tape.gradient"));
  const std::vector<StepArg> src = source_args(sources, "tape.gradient");
  const Ints outs = result_slots(result);
  push_step(make_gradient(k, tg, og, src, unconnected, same, outs));
}

void ProgramRecorder::tape_jacobian(const Tape& tape, const Tensor& target, const std::vector<Source>& sources,
                                    Unconnected unconnected, JacobianMode mode, const std::vector<Tensor>& result) {
  const int k = tape_index(tape);
  const StepArg tg = arg(target, "tape.jacobian");
  const std::vector<StepArg> src = source_args(sources, "tape.jacobian");
  push_step(make_jacobian(k, tg, src, unconnected, mode, result_slots(result)));
}

void ProgramRecorder::tape_batch_jacobian(const Tape& tape, const Tensor& target, const Source& source,
                                          Unconnected unconnected, JacobianMode mode, const Tensor& result) {
  const int k = tape_index(tape);
  const StepArg tg = arg(target, "tape.batch_jacobian");
  const std::vector<StepArg> src = source_args({source}, "tape.batch_jacobian");
  push_step(make_batch_jacobian(k, tg, src[0], unconnected, mode, result_slots({result})));
}

void ProgramRecorder::callback(const char* name, const std::vector<Tensor>& inputs,
                               std::function<void(const std::vector<Tensor>&)> fn) {
  std::vector<StepArg> args;
  for (const Tensor& t : inputs) args.push_back(arg(t, name));
  if (!in_block()) fn(inputs);
  // (no save: a host callback is Python code, which a saved model cannot hold)
  add_step(name, [args, fn](Frame& fr) {
    if (fr.dry) return;
    std::vector<Tensor> v;
    for (const StepArg& a : args) v.push_back(a.value(fr));
    fn(v);
  }, slots_of({&args}), {}, true);
}

std::vector<Tensor> ProgramRecorder::host_call(const std::string& name, const std::vector<Tensor>& inputs,
                                               std::function<std::vector<Tensor>(const std::vector<Tensor>&)> fn) {
  if (in_block())
    throw NotTraceable("gt.function cannot trace gt." + name + " inside a gt.cond branch or a gt.while_loop body yet "
                       "(a step with an effect and a result); call it outside the branch or body");
  std::vector<StepArg> args;
  for (const Tensor& t : inputs) args.push_back(arg(t, name.c_str()));
  std::vector<Tensor> now;
  {
    RecorderPause pause;
    now = fn(inputs);
  }
  // Fresh tensors for the outputs (fn may return one of its inputs, which names a slot already).
  std::vector<Tensor> result;
  auto outs = std::make_shared<std::vector<int>>();
  auto shapes = std::make_shared<std::vector<std::pair<DType, Shape>>>();
  for (const Tensor& v : now) {
    if (!v.defined()) throw InvalidArgument("gt." + name + ": the function returned an undefined tensor");
    Tensor fresh = reshape(v, v.shape().vec());
    outs->push_back(new_slot(fresh));
    shapes->emplace_back(v.dtype(), v.shape());
    result.push_back(fresh);
  }
  add_step(name.c_str(), [args, fn, outs, shapes, name](Frame& fr) {
    if (fr.dry) return;
    std::vector<Tensor> v;
    for (const StepArg& a : args) v.push_back(a.value(fr));
    std::vector<Tensor> r = fn(v);
    if (r.size() != outs->size())
      throw InvalidArgument("gt." + name + ": the function returned " + std::to_string(r.size()) +
                            " tensors where the trace's call returned " + std::to_string(outs->size()));
    for (size_t i = 0; i < r.size(); ++i) {
      const auto& [d, s] = (*shapes)[i];
      if (!r[i].defined() || r[i].dtype() != d || r[i].shape() != s)
        throw InvalidArgument(
            "gt.function: gt." + name + " returned a tensor " + (r[i].defined() ? std::string(dtype_name(r[i].dtype())) +
            " of shape " + r[i].shape().str() : std::string("(undefined)")) + " as its result " + std::to_string(i) +
            ", where the trace's call returned " + dtype_name(d) + " of shape " + s.str() +
            "; a program is specialised to the shapes it was traced with (the code after the call was traced "
            "with that shape), so this call cannot replay it. Run the function eagerly "
            "(gt.config.run_functions_eagerly(True)), or call gt." + name + " outside the function");
      fr.slots[size_t((*outs)[i])] = r[i];
    }
  }, slots_of({&args}), {}, true);
  program_->shape_checked_ = true;  // (its results' shapes are the trace's: it serves its own shapes only)
  return result;
}

void ProgramRecorder::begin_block() {
  open_blocks_.push_back(std::make_shared<Block>());
  open_ids_.push_back(next_block_id_++);
}

int ProgramRecorder::end_block(const std::vector<Tensor>& results) {
  if (open_blocks_.empty()) throw std::logic_error("ProgramRecorder::end_block without begin_block");
  std::shared_ptr<Block> b = open_blocks_.back();
  for (const Tensor& r : results) {
    try {
      b->results.push_back(arg(r, "a gt.cond branch's or a gt.while_loop body's result"));
    } catch (...) {
      open_blocks_.pop_back();
      open_ids_.pop_back();
      throw;
    }
  }
  auto vars = block_variables_.find(b.get());
  if (vars != block_variables_.end()) {
    b->variables = std::move(vars->second);
    block_variables_.erase(vars);
  }
  block_ids_.push_back(open_ids_.back());
  open_blocks_.pop_back();
  open_ids_.pop_back();
  blocks_.push_back(b);
  return int(blocks_.size()) - 1;
}

std::vector<Tensor> ProgramRecorder::run_on_tracing_values(const Program::Step& step, const std::vector<int>& outs) {
  Frame fr;
  fr.slots = values_;
  fr.slots.resize(size_t(program_->num_slots_));
  // (the blocks' own slots hold what the blocks' trace computed: the step computes them afresh)
  for (size_t s = 0; s < slot_block_.size() && s < fr.slots.size(); ++s)
    if (slot_block_[s] >= 0 && std::find(open_ids_.begin(), open_ids_.end(), slot_block_[s]) == open_ids_.end())
      fr.slots[s] = Tensor();
  // (a loop variable watched for its body's trace runs as the unwatched value it stands for)
  for (const Tensor& v : watched_loop_variables_) {
    const int s = slots_.at(v.get());
    RecordingPause pause;
    fr.slots[size_t(s)] = reshape(v, v.shape().vec());
  }
  fr.tapes.resize(tapes_.size());
  fr.dry = in_block();
  step.run(fr);
  // Fresh tensors (recorded, so that tapes of the trace see them): an output may be a tensor
  // that already names another slot (a branch returning an outer tensor).
  std::vector<Tensor> r;
  for (int o : outs) {
    const Tensor& v = fr.slots[size_t(o)];
    Tensor fresh = reshape(v, v.shape().vec());
    values_[size_t(o)] = fresh;
    slots_[fresh.get()] = o;
    r.push_back(fresh);
  }
  return r;
}

std::vector<Tensor> ProgramRecorder::cond(const Tensor& pred, int t, int f) {
  const StepArg p = arg(pred, "gt.cond's predicate");
  std::shared_ptr<const Block> bt = blocks_.at(size_t(t)), bf = blocks_.at(size_t(f));
  if (bt->results.size() != bf->results.size())
    throw ValueError_("gt.cond: the branches return different numbers of tensors");
  std::vector<int> outs;
  for (size_t i = 0; i < bt->results.size(); ++i) outs.push_back(reserve_slot());
  std::vector<int> on;
  for (size_t i = 0; i < bt->results.size(); ++i) {
    if (bt->results[i].slot >= 0) add_dependences(bt->results[i].slot, block_ids_.at(size_t(t)), on);
    if (bf->results[i].slot >= 0) add_dependences(bf->results[i].slot, block_ids_.at(size_t(f)), on);
  }
  Step step = make_cond(p, bt, bf, outs, hidden_inputs(on));
  std::vector<Tensor> r = run_on_tracing_values(step, outs);
  // (each output depends on every branch result, as the trace computed them: TensorFlow's cond
  // gradient connects an input to all the outputs when one of them depends on it)
  std::vector<Tensor> results;
  for (size_t i = 0; i < r.size(); ++i) {
    results.push_back(tracing_value(bt->results[i]));
    results.push_back(tracing_value(bf->results[i]));
  }
  for (const Tensor& o : r) note_hidden(o, results);
  pending_dep_ = std::move(on);
  push_step(std::move(step));
  return r;
}

std::shared_ptr<const program_detail::HiddenInputs> ProgramRecorder::hidden_inputs(std::vector<int>& on) const {
  std::sort(on.begin(), on.end());
  on.erase(std::unique(on.begin(), on.end()), on.end());
  auto h = std::make_shared<program_detail::HiddenInputs>();
  for (int s : on) {
    if (s >= 0) h->slots.push_back(s);
    else h->variables.push_back(dep_vars_.at(size_t(-1 - s)));
  }
  return h;
}

void ProgramRecorder::note_hidden(const Tensor& value, const std::vector<Tensor>& on) {
  if (!value.defined() || !is_floating(value.dtype())) return;
  HiddenDependence h{value, {}};
  for (const Tensor& t : on)
    if (t.defined() && is_floating(t.dtype())) h.on.emplace_back(t);
  if (!h.on.empty()) hidden_.push_back(std::move(h));
}

Tensor ProgramRecorder::tracing_value(const Arg& a) const {
  return a.slot >= 0 && size_t(a.slot) < values_.size() ? values_[size_t(a.slot)] : Tensor();
}

std::vector<Tensor> ProgramRecorder::loop_variables(const std::vector<Tensor>& init) {
  std::vector<Tensor> r;
  for (const Tensor& t : init) {
    const StepArg a = arg(t, "a gt.while_loop variable");
    Tensor fresh = reshape(t, t.shape().vec());
    // Watched by the recording tapes, so that they record the body's trace on it: the hidden
    // dependences go through it (a loop variable's initial value is a constant, say, and
    // another loop variable takes what the body computes from it at the next iteration).
    if (is_floating(fresh.dtype())) {
      if (!detail::seen_by_a_recorder(fresh)) {
        detail::watch_where_linked(fresh, {}, true);
        if (detail::seen_by_a_recorder(fresh)) watched_loop_variables_.push_back(fresh);
      }
      note_hidden(fresh, {t});
    }
    const int s = new_slot(fresh);
    push_step(make_loop_variable(a, s));
    r.push_back(fresh);
  }
  return r;
}

std::vector<Tensor> ProgramRecorder::while_loop(int c, int b, const std::vector<Tensor>& vars,
                                                int64_t max_iterations) {
  std::shared_ptr<const Block> bc = blocks_.at(size_t(c)), bb = blocks_.at(size_t(b));
  if (bc->results.size() != 1) throw std::logic_error("gt.while_loop: the condition block has one result");
  if (bb->results.size() != vars.size())
    throw ValueError_("gt.while_loop: the body returns " + std::to_string(bb->results.size()) +
                      " tensors for " + std::to_string(vars.size()) + " loop variables");
  std::vector<int> carry, outs;
  for (const Tensor& v : vars) {
    const int s = slot(v);
    if (s < 0) throw std::logic_error("gt.while_loop: loop variables come from loop_variables()");
    carry.push_back(s);
    outs.push_back(reserve_slot());
  }
  // (a tape around the call: each output depends on every floating loop variable's initial
  // value and on what the body's results reach outside it)
  std::vector<int> on;
  for (int s : carry)
    if (floating_slot(s)) on.push_back(s);
  for (const StepArg& a : bb->results)
    if (a.slot >= 0) add_dependences(a.slot, block_ids_.at(size_t(b)), on);
  auto cond_reads = block_reads_.find(block_ids_.at(size_t(c)));
  if (cond_reads != block_reads_.end()) on.insert(on.end(), cond_reads->second.begin(), cond_reads->second.end());
  Step step = make_while(bc, bb, carry, outs, max_iterations, hidden_inputs(on));
  std::vector<Tensor> r = run_on_tracing_values(step, outs);
  // (each output depends on every loop variable and body result, as TensorFlow's while
  // gradient connects them all; each loop variable on every body result, at the next iteration,
  // and on its initial value: loop_variables())
  std::vector<Tensor> results, all = vars;
  for (const StepArg& a : bb->results) results.push_back(tracing_value(a));
  all.insert(all.end(), results.begin(), results.end());
  for (const Tensor& o : r) note_hidden(o, all);
  for (const Tensor& v : vars) note_hidden(v, results);
  pending_dep_ = std::move(on);
  push_step(std::move(step));
  return r;
}

void ProgramRecorder::tape_pause(bool on) { push_step(make_tape_pause(on)); }

std::vector<Tensor> ProgramRecorder::custom_gradient_begin(const std::vector<Tensor>& outputs) {
  for (const Tensor& o : outputs) {
    if (!o.defined()) throw InvalidArgument("custom_gradient: the function returned an undefined tensor");
    check_argument(o, "a gt.custom_gradient function's result");
  }
  OpenCustom c{program_->num_slots_, {}, 0, nullptr, nullptr};
  begin_block();
  c.depth = open_blocks_.size();
  c.hide = std::make_unique<HideEntered>();
  c.logs = std::make_unique<VariableAccessLogPause>();
  std::vector<Tensor> ups;
  for (const Tensor& o : outputs) {
    Tensor u = zeros_like(o);
    c.upstream.push_back(new_slot(u));
    ups.push_back(u);
  }
  open_custom_.push_back(std::move(c));
  return ups;
}

void ProgramRecorder::custom_gradient_abort() {
  if (open_custom_.empty()) return;
  OpenCustom c = std::move(open_custom_.back());
  open_custom_.pop_back();
  c.logs.reset();
  c.hide.reset();
  // (blocks the failed trace left open inside it are closed with it)
  while (open_blocks_.size() >= c.depth && !open_blocks_.empty()) {
    open_blocks_.pop_back();
    open_ids_.pop_back();
  }
}

std::vector<Tensor> ProgramRecorder::custom_gradient_end(const std::vector<Tensor>& inputs,
                                                         const std::vector<Tensor>& results,
                                                         const std::vector<Tensor>& grads) {
  if (open_custom_.empty() || open_blocks_.size() != open_custom_.back().depth)
    throw std::logic_error("ProgramRecorder::custom_gradient_end without custom_gradient_begin");
  if (grads.size() != inputs.size())
    throw std::logic_error("ProgramRecorder::custom_gradient_end: one gradient per input");
  OpenCustom c = std::move(open_custom_.back());
  open_custom_.pop_back();
  c.logs.reset();
  c.hide.reset();
  const int id = end_block(grads);  // (closes the block, also when it throws)
  std::shared_ptr<const Block> block = blocks_.at(size_t(id));
  if (block->has(&Program::Step::effect))
    throw NotTraceable("gt.function cannot trace a gt.custom_gradient whose gradient function has an effect (a "
                       "variable write, gt.print, a Python callback); compute the gradient with ops only, or run the "
                       "function eagerly (gt.config.run_functions_eagerly(True))");
  auto cg = std::make_shared<CustomGrad>();
  cg->block = block;
  cg->upstream = c.upstream;
  for (int s : block->reads())
    if (s >= 0 && s < c.first_slot && std::find(cg->outer.begin(), cg->outer.end(), s) == cg->outer.end())
      cg->outer.push_back(s);
  cg->num_slots = program_->num_slots_;
  cg->num_tapes = int(tapes_.size());
  std::vector<Arg> in_args, res_args;
  for (const Tensor& t : inputs) in_args.push_back(arg(t, "gt.custom_gradient"));
  for (const Tensor& t : results) res_args.push_back(arg(t, "gt.custom_gradient"));
  // Now, on the tracing values: the trace's tapes (and those around the call) record the call
  // with the same rule a run gives them.
  std::vector<Tensor> outer;
  for (int s : cg->outer) outer.push_back(values_.at(size_t(s)));
  std::vector<Tensor> outs = apply_custom(inputs, results, cg, std::move(outer));
  Ints out_slots;
  for (const Tensor& o : outs) out_slots.push_back(new_slot(o));
  push_step(make_custom_gradient(std::move(in_args), std::move(res_args), std::move(out_slots), cg));
  return outs;
}

void ProgramRecorder::note_shape_read(const Tensor& t, int dim) {
  if (!t.defined()) return;
  auto it = slots_.find(t.get());
  if (it == slots_.end()) return;  // (a constant's shape is the same at every run)
  const int s = it->second;
  const int rank = t.ndim();
  const int lo = dim < 0 ? 0 : dim, hi = dim < 0 ? rank : std::min(dim + 1, rank);
  const auto in = std::find(program_->inputs_.begin(), program_->inputs_.end(), s);
  const int b = slot_block_[size_t(s)];
  const bool visible = b < 0 || std::find(open_ids_.begin(), open_ids_.end(), b) != open_ids_.end();
  for (int d = lo; d < hi; ++d) {
    const int64_t v = t.shape()[d];
    if (in != program_->inputs_.end()) {
      const int k = int(in - program_->inputs_.begin());
      bool known = false;
      for (const Program::InputGuard& g : program_->input_guards_) known = known || (g.input == k && g.dim == d);
      if (!known) program_->input_guards_.push_back(Program::InputGuard{k, d, v});
      continue;
    }
    if (!visible) {  // (a slot of a closed block: no step can check it; keep the program exact)
      program_->late_guard_ = true;
      continue;
    }
    if (open_blocks_.empty()) {
      const std::pair<int, int> key{s, d};
      if (std::find(guarded_.begin(), guarded_.end(), key) != guarded_.end()) continue;
      guarded_.push_back(key);
    }
    push_step(make_guard(s, d, v));
  }
}

std::string Program::describe() const {
  StepWriter w;
  w.describe = true;
  save(w);
  std::string text = std::move(w.text);
  if (!w.refused.empty()) text += "\nrefused@" + std::to_string(reinterpret_cast<uintptr_t>(this));
  // (not the input guards: the caller compares them, knowing the shapes of both traces)
  // The tables by identity (variables, random streams) and by value (constants).
  text += "\nvariables";
  for (const auto& v : w.variables) text += " " + std::to_string(reinterpret_cast<uintptr_t>(v.get()));
  text += "\nstreams";
  for (const auto& r : w.streams) text += " " + std::to_string(reinterpret_cast<uintptr_t>(r.get()));
  for (const Tensor& c : w.constants) {
    text += "\nconstant " + std::string(dtype_name(c.dtype())) + " " + c.shape().str() + " ";
    text.append(static_cast<const char*>(c.raw()), size_t(c.numel()) * dtype_size(c.dtype()));
  }
  return text;
}

}  // namespace gt
