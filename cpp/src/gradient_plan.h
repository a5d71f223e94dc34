#pragma once
// A gradient plan (internal; docs/guides/function.md, "Gradients without a tape"): the reverse
// sweep of a program's one tape.gradient step, fixed at the program's first run so that later
// runs need no tape. The run that captures it makes its tape as usual and, beside it, a
// RecordSink (record.h) that numbers every op reported while the tape records and notes which
// ones the tape recorded. The plan keeps what the tape's records do not take from the run's
// tensors: each op and its inputs' and output's tape slots, the slots' births, the targets' and
// sources' slots. A later run with the same input shapes makes no tape, only a sink that keeps,
// of the same numbered ops, the ones the plan wants: the tensors a tape would have saved and
// their attributes. The gradient step then runs the tape's own reverse sweep (tape_sweep.cpp)
// over the plan's records with those tensors: the same rules on the same values in the same
// order, so the same gradients, bit for bit, without the tape's bookkeeping (links, slots,
// watch checks) at each op.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "gradtape/tape.h"
#include "record.h"
#include "tape_state.h"

namespace gt {

// The arrays the sweep reads (the TapeState members of the same names), for a plan's run.
struct PlanSweep {
  std::vector<Record> records;  // the plan's, with this run's attribute offsets
  const std::vector<uint32_t>& slots;
  std::vector<Tensor> saved;  // this run's tensors
  std::vector<int64_t> attrs;
  const std::vector<uint32_t>& slot_birth;
  uint32_t next_slot;
  std::vector<GradHook> hooks;  // (a plan has no custom gradients)
  int sweeping;
  // A record's rule has run: its saved tensors are no longer needed.
  void release(size_t r) {
    const Record& rec = records[r];
    for (uint32_t i = rec.first; i < rec.first + rec.n_in + rec.n_out; ++i) saved[i] = Tensor();
  }
};

// A planned run whose ops are not the ones its plan was captured from (a bug, or an op whose
// recording depends on values): the run cannot give a gradient without a tape.
struct PlanMismatch : std::logic_error {
  using std::logic_error::logic_error;
};
constexpr const char* kPlanMismatch =
    "gt.function: this call's ops or variable reads differ from those its gradient plan was made "
    "from (a tensor the function captured is the same object as a variable's value, and the "
    "variable was written since); the plan is dropped and later calls run with a tape";

class GradientPlan {
 public:
  // The plan of tape.gradient(targets, sources, ..., unconnected) from the records of `tape`
  // as they stand (before the gradient runs) and the sink that watched them being made, or
  // nullptr when they cannot be planned: a custom gradient, a released record, the 'error'
  // mode of unconnected gradients (whose message explains from the tape's records), or a sink
  // that does not account for every record.
  // `constants` are the program's constant tensors: one the tape linked (watched, or the same
  // object as a variable's value when the variable was read: a snapshot the function captured)
  // could be linked or not at another run, so such a program gets no plan.
  static std::shared_ptr<const GradientPlan> capture(const Tape& tape, const RecordSink& sink,
                                                     const std::vector<Tensor>& targets,
                                                     const std::vector<Source>& sources, Unconnected unconnected,
                                                     const std::vector<Tensor>& constants);
  // A planned run's sink: told which of the ops reported to it to keep, with room for them.
  std::unique_ptr<RecordSink> make_sink() const {
    auto sink = std::make_unique<RecordSink>();
    sink->wanted = &wanted_;
    sink->expected_ops = &ops_;
    sink->variable_of = &variable_of_;
    sink->ops.reserve(records_.size());
    sink->attr_first.reserve(records_.size());
    sink->saved.reserve(slots_.size());
    sink->attrs.reserve(num_attrs_);
    return sink;
  }
  // The gradient Tape::gradient would give, from what a planned run's sink kept (taken).
  std::vector<Tensor> run(RecordSink& sink, const std::vector<Tensor>& targets, const std::vector<Source>& sources,
                          const std::vector<Tensor>& output_gradients,
                          const std::vector<std::pair<size_t, size_t>>& same) const;

 private:
  std::vector<Record> records_;
  std::vector<uint32_t> slots_;
  std::vector<uint32_t> slot_birth_;
  uint32_t next_slot_ = 0;
  std::vector<char> wanted_;  // per op reported to the sink: whether the tape recorded it
  size_t num_attrs_ = 0;      // the attributes the capture's records had
  // The saved inputs the tape linked to a variable's slot. The tape links a variable's value
  // tensor when the variable is read: a tensor that is the same object (a snapshot of the
  // value captured as a constant) is linked too, and whether it still is at a later run
  // depends on the variable's writes since. A planned run's sink checks that each such tensor
  // is a value a read of that variable gave in this run; if not, the run goes back to a tape
  // (PlanMismatch, before the run's next effect).
  std::vector<uint64_t> variable_of_;  // per saved tensor: that variable's id, or 0
  std::vector<OpId> ops_;              // per record
  std::vector<uint32_t> target_slots_;  // per target: its tape slot, kNoSlot when not on the tape
  std::vector<uint32_t> source_slots_;
  bool persistent_ = false;
  Unconnected unconnected_ = Unconnected::None;
};

}  // namespace gt
