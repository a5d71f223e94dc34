// Programs (gradtape/program.h): running one, and the recorder's bookkeeping of slots, tapes
// and variables.
#include "gradtape/program.h"

#include <algorithm>
#include <string>

#include "gradtape/ops.h"
#include "tape_state.h"

namespace gt {

namespace {
thread_local ProgramRecorder* tls_recorder = nullptr;
}  // namespace

struct ProgramRecorder::Arg {
  int slot;
  Tensor constant;
  std::shared_ptr<Variable> variable;  // a gradient source that is a variable (slot -1)
  Tensor value(const Frame& fr) const {
    if (slot < 0) return constant;
    if (!fr.slots[size_t(slot)].defined()) program_detail::unset_slot(slot);
    return fr.slots[size_t(slot)];
  }
  Source source(const Frame& fr) const { return variable ? Source(variable) : Source(value(fr)); }
};

// A block of a cond or while step: its steps, then its results.
struct ProgramRecorder::Block {
  std::vector<Program::Step> steps;
  std::vector<Arg> results;
  void run(Frame& fr) const {
    for (const Program::Step& s : steps) s.run(fr);
  }
  // Every slot its steps and results read (slots it defines itself included: harmless).
  std::vector<int> reads() const {
    std::vector<int> r;
    for (const Program::Step& s : steps) r.insert(r.end(), s.reads.begin(), s.reads.end());
    for (const Arg& a : results) r.push_back(a.slot);
    return r;
  }
};

ProgramRecorder::Arg ProgramRecorder::arg(const Tensor& t, const char* what) const {
  check_argument(t, what);
  const int s = slot(t);
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

namespace {
// A tape step's results into their slots (an undefined result, a None gradient, has none).
void store(Frame& fr, const std::vector<int>& outs, const std::vector<Tensor>& r) {
  for (size_t i = 0; i < outs.size(); ++i)
    if (outs[i] >= 0) fr.slots[size_t(outs[i])] = r[i];
}
std::vector<Source> sources_of(const std::vector<ProgramRecorder::Arg>& args, const Frame& fr) {
  std::vector<Source> s;
  for (const ProgramRecorder::Arg& a : args) s.push_back(a.source(fr));
  return s;
}
}  // namespace

std::vector<int> ProgramRecorder::slots_of(std::initializer_list<const std::vector<Arg>*> lists) {
  std::vector<int> r;
  for (const std::vector<Arg>* l : lists)
    for (const Arg& a : *l) r.push_back(a.slot);
  return r;
}

namespace {
// A scalar predicate's truth at run time.
bool truth(const Tensor& p, const char* what) {
  if (p.numel() != 1)
    throw InvalidArgument(std::string(what) + " must be a scalar, got a tensor of shape " + p.shape().str());
  return p.item() != 0;
}
}  // namespace

ProgramRecorder* active_recorder() { return tls_recorder; }

void program_detail::unset_slot(int slot) {
  throw std::logic_error("gt.function: a step read slot " + std::to_string(slot) + ", which no step of this run set");
}

std::vector<Tensor> Program::run(const std::vector<Tensor>& inputs) const {
  if (inputs.size() != inputs_.size())
    throw InvalidArgument("gt.function: the program takes " + std::to_string(inputs_.size()) + " tensors, got " +
                          std::to_string(inputs.size()));
  Frame fr;
  fr.slots.resize(size_t(num_slots_));
  fr.tapes.resize(size_t(num_tapes_));
  for (size_t i = 0; i < inputs.size(); ++i) fr.slots[size_t(inputs_[i])] = inputs[i];
  for (size_t i = 0; i < steps_.size(); ++i) {
    steps_[i].run(fr);
    for (int s : release_[i]) fr.slots[size_t(s)] = Tensor();
  }
  std::vector<Tensor> out;
  out.reserve(outputs_.size());
  for (int o : outputs_) out.push_back(o >= 0 ? fr.slots[size_t(o)] : constants_[size_t(-1 - o)]);
  return out;
}

Frame::~Frame() {
  for (auto it = tapes.rbegin(); it != tapes.rend(); ++it)
    if (*it && (*it)->active()) {
      try {
        (*it)->pop();
      } catch (...) {
      }
    }
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
  Tensor fresh = reshape(t, t.shape().vec());
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

Program::Step& ProgramRecorder::last_block_step() { return open_blocks_.back()->steps.back(); }

void ProgramRecorder::add_step(const char* name, std::function<void(Frame&)> run, std::vector<int> reads) {
  reads.erase(std::remove(reads.begin(), reads.end(), -1), reads.end());
  auto& steps = open_blocks_.empty() ? program_->steps_ : open_blocks_.back()->steps;
  steps.push_back(Program::Step{name ? name : "", std::move(run), std::move(reads)});
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
  // Liveness: each slot is dropped after the last top-level step that reads it (outputs never).
  std::vector<int> last(size_t(program_->num_slots_), -1);
  for (size_t i = 0; i < program_->steps_.size(); ++i)
    for (int s : program_->steps_[i].reads) last[size_t(s)] = int(i);
  for (int o : program_->outputs_)
    if (o >= 0) last[size_t(o)] = -1;
  program_->release_.assign(program_->steps_.size(), {});
  for (size_t s = 0; s < last.size(); ++s)
    if (last[s] >= 0) program_->release_[size_t(last[s])].push_back(int(s));
  auto p = program_;
  program_ = std::make_shared<Program>();
  slots_.clear();
  values_.clear();
  tapes_.clear();
  tape_block_.clear();
  constants_.clear();
  blocks_.clear();
  open_blocks_.clear();
  open_ids_.clear();
  slot_block_.clear();
  return p;
}

Tensor ProgramRecorder::read_variable(const std::shared_ptr<Variable>& v, const Tensor& value) {
  Tensor fresh = reshape(value, value.shape().vec());
  const int s = new_slot(fresh);
  add_step("read_variable", [v, s](Frame& fr) { fr.slots[size_t(s)] = v->read(); }, {});
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
  tape_block_.push_back(open_ids_.empty() ? -1 : open_ids_.back());
  add_step("tape_enter", [k, persistent, watch_accessed_variables](Frame& fr) {
    fr.tapes[size_t(k)] = std::make_unique<Tape>(persistent, watch_accessed_variables);
    fr.tapes[size_t(k)]->push();
  }, {});
}

void ProgramRecorder::tape_exit(const Tape& tape) {
  const int k = tape_index(tape);
  add_step("tape_exit", [k](Frame& fr) { fr.tapes[size_t(k)]->pop(); }, {});
}

void ProgramRecorder::tape_watch(const Tape& tape, const Tensor& t) {
  const int k = tape_index(tape);
  const Arg a = arg(t, "tape.watch");  // (a constant is watched as it is at each run)
  add_step("tape_watch", [k, a](Frame& fr) { fr.tapes[size_t(k)]->watch(a.value(fr)); }, {a.slot});
}

void ProgramRecorder::tape_set_recording(const Tape& tape, bool on) {
  const int k = tape_index(tape);
  add_step("tape_set_recording", [k, on](Frame& fr) { fr.tapes[size_t(k)]->set_recording(on); }, {});
}

void ProgramRecorder::tape_reset(const Tape& tape) {
  const int k = tape_index(tape);
  add_step("tape_reset", [k](Frame& fr) { fr.tapes[size_t(k)]->reset(); }, {});
}

void ProgramRecorder::tape_watch(const Tape& tape, const std::shared_ptr<Variable>& v) {
  const int k = tape_index(tape);
  add_step("tape_watch", [k, v](Frame& fr) { fr.tapes[size_t(k)]->watch(v); }, {});
}

void ProgramRecorder::tape_gradient(const Tape& tape, const std::vector<Tensor>& targets,
                                    const std::vector<Source>& sources, const std::vector<Tensor>& output_gradients,
                                    Unconnected unconnected, const std::vector<std::pair<size_t, size_t>>& same,
                                    const std::vector<Tensor>& result) {
  const int k = tape_index(tape);
  std::vector<Arg> tg, og;
  for (const Tensor& t : targets) tg.push_back(arg(t, "tape.gradient"));
  for (const Tensor& t : output_gradients) og.push_back(arg(t, "tape.gradient"));
  const std::vector<Arg> src = source_args(sources, "tape.gradient");
  const std::vector<int> outs = result_slots(result);
  add_step("gradient", [k, tg, og, src, unconnected, same, outs](Frame& fr) {
    std::vector<Tensor> t, o;
    for (const Arg& a : tg) t.push_back(a.value(fr));
    for (const Arg& a : og) o.push_back(a.value(fr));
    store(fr, outs, fr.tapes[size_t(k)]->gradient(t, sources_of(src, fr), o, unconnected, same));
  }, slots_of({&tg, &og, &src}));
}


void ProgramRecorder::tape_jacobian(const Tape& tape, const Tensor& target, const std::vector<Source>& sources,
                                    Unconnected unconnected, JacobianMode mode, const std::vector<Tensor>& result) {
  const int k = tape_index(tape);
  const std::vector<Arg> tg{arg(target, "tape.jacobian")};
  const std::vector<Arg> src = source_args(sources, "tape.jacobian");
  const std::vector<int> outs = result_slots(result);
  add_step("jacobian", [k, tg, src, unconnected, mode, outs](Frame& fr) {
    store(fr, outs, fr.tapes[size_t(k)]->jacobian(tg[0].value(fr), sources_of(src, fr), unconnected, mode));
  }, slots_of({&tg, &src}));
}

void ProgramRecorder::tape_batch_jacobian(const Tape& tape, const Tensor& target, const Source& source,
                                          Unconnected unconnected, JacobianMode mode, const Tensor& result) {
  const int k = tape_index(tape);
  const std::vector<Arg> tg{arg(target, "tape.batch_jacobian")};
  const std::vector<Arg> src = source_args({source}, "tape.batch_jacobian");
  const std::vector<int> outs = result_slots({result});
  add_step("batch_jacobian", [k, tg, src, unconnected, mode, outs](Frame& fr) {
    store(fr, outs, {fr.tapes[size_t(k)]->batch_jacobian(tg[0].value(fr), src[0].source(fr), unconnected, mode)});
  }, slots_of({&tg, &src}));
}

void ProgramRecorder::callback(const char* name, const std::vector<Tensor>& inputs,
                               std::function<void(const std::vector<Tensor>&)> fn) {
  std::vector<Arg> args;
  for (const Tensor& t : inputs) args.push_back(arg(t, name));
  if (!in_block()) fn(inputs);
  add_step(name, [args, fn](Frame& fr) {
    if (fr.dry) return;
    std::vector<Tensor> v;
    for (const Arg& a : args) v.push_back(a.value(fr));
    fn(v);
  }, slots_of({&args}));
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
  open_blocks_.pop_back();
  open_ids_.pop_back();
  blocks_.push_back(b);
  return int(blocks_.size()) - 1;
}

std::vector<Tensor> ProgramRecorder::run_on_tracing_values(const Program::Step& step, const std::vector<int>& outs) {
  Frame fr;
  fr.slots = values_;
  fr.slots.resize(size_t(program_->num_slots_));
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
  const Arg p = arg(pred, "gt.cond's predicate");
  std::shared_ptr<const Block> bt = blocks_.at(size_t(t)), bf = blocks_.at(size_t(f));
  if (bt->results.size() != bf->results.size())
    throw ValueError_("gt.cond: the branches return different numbers of tensors");
  std::vector<int> outs;
  for (size_t i = 0; i < bt->results.size(); ++i) outs.push_back(reserve_slot());
  Program::Step step{"cond", [p, bt, bf, outs](Frame& fr) {
                       const Block& b = truth(p.value(fr), "gt.cond: pred") ? *bt : *bf;
                       b.run(fr);
                       for (size_t i = 0; i < outs.size(); ++i) fr.slots[size_t(outs[i])] = b.results[i].value(fr);
                     }, bt->reads()};
  step.reads.push_back(p.slot);
  for (int s : bf->reads()) step.reads.push_back(s);
  std::vector<Tensor> r = run_on_tracing_values(step, outs);
  add_step(step.name.c_str(), step.run, step.reads);
  return r;
}

std::vector<Tensor> ProgramRecorder::loop_variables(const std::vector<Tensor>& init) {
  std::vector<Tensor> r;
  for (const Tensor& t : init) {
    const Arg a = arg(t, "a gt.while_loop variable");
    Tensor fresh = reshape(t, t.shape().vec());
    const int s = new_slot(fresh);
    add_step("loop_variable", [a, s](Frame& fr) { fr.slots[size_t(s)] = a.value(fr); }, {a.slot});
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
  void (*interrupt)() = tape_detail::g_interrupt_check.load(std::memory_order_relaxed);
  Program::Step step{"while_loop", [bc, bb, carry, outs, max_iterations, interrupt](Frame& fr) {
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
                     }, bc->reads()};
  for (int s : bb->reads()) step.reads.push_back(s);
  for (int s : carry) step.reads.push_back(s);
  std::vector<Tensor> r = run_on_tracing_values(step, outs);
  add_step(step.name.c_str(), step.run, step.reads);
  return r;
}

}  // namespace gt
