// Capturing a gradient plan (gradient_plan.h) from a tape's records; its run is beside the
// tape's own sweep, in tape_sweep.cpp.
#include "gradient_plan.h"

namespace gt {

std::shared_ptr<const GradientPlan> GradientPlan::capture(const Tape& tape, const RecordSink& sink,
                                                          const std::vector<Tensor>& targets,
                                                          const std::vector<Source>& sources, Unconnected unconnected,
                                                          const std::vector<Tensor>& constants) {
  const TapeState& s = *tape.state_;
  if (unconnected == Unconnected::Error || s.sweeping || !s.hooks.empty() || s.used) return nullptr;
  uint32_t linked;
  for (const Tensor& c : constants)
    if (c.get()->find_link(s.serial, &linked)) return nullptr;
  // The sink must have seen every record being made, with the tensors and attributes the tape
  // saved: then a planned run's sink, told which calls to keep, keeps what this tape holds.
  if (sink.ops.size() != s.records.size() || sink.saved.size() != s.saved.size() || sink.attrs != s.attrs)
    return nullptr;
  for (size_t r = 0; r < s.records.size(); ++r) {
    const Record& rec = s.records[r];
    if (rec.op == OpId::Custom || rec.n_in == kNoSlot || rec.n_out != 1 || sink.ops[r] != rec.op ||
        sink.attr_first[r] != rec.attr_first)
      return nullptr;
  }
  for (size_t i = 0; i < s.saved.size(); ++i)
    if (!s.saved[i].defined() || !s.saved[i].same(sink.saved[i])) return nullptr;
  auto plan = std::make_shared<GradientPlan>();
  plan->records_ = s.records;
  plan->slots_ = s.slots;
  plan->slot_birth_ = s.slot_birth;
  plan->next_slot_ = s.next_slot;
  plan->variable_of_.assign(s.saved.size(), 0);
  for (size_t r = 0; r < s.records.size(); ++r) {
    const Record& rec = s.records[r];
    plan->ops_.push_back(rec.op);
    for (uint32_t i = rec.first; i < rec.first + rec.n_in; ++i)
      for (const auto& [id, slot] : s.var_slots)
        if (s.slots[i] == slot) {
          if (id == 0) return nullptr;  // (0 means none)
          plan->variable_of_[i] = id;
        }
  }
  plan->wanted_ = sink.appended;
  plan->num_attrs_ = s.attrs.size();
  for (const Tensor& t : targets) {
    uint32_t slot = kNoSlot;
    if (!t.defined() || !is_floating(t.dtype()) || !t.get()->find_link(s.serial, &slot)) slot = kNoSlot;
    plan->target_slots_.push_back(slot);
  }
  for (const Source& src : sources) plan->source_slots_.push_back(s.source_slot(src));
  plan->persistent_ = s.persistent;
  plan->unconnected_ = unconnected;
  return plan;
}

}  // namespace gt
