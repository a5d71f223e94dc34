// Why a gradient is None: the cause named for each unconnected source (UnconnectedGradients
// 'error'); and whether a source reaches a target through a traced gt.cond or gt.while_loop's
// other branch (HiddenDependence).
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "fusion.h"
#include "ops_common.h"
#include "record.h"
#include "structural.h"
#include "tape_state.h"

namespace gt {

namespace {
using HiddenEdges = std::unordered_map<uint32_t, std::vector<uint32_t>>;
// The hidden edges (value's slot -> what it also depends on) ordered by their value's birth (the
// record count when its slot was made): a pass over the records takes each edge where its value
// is made, so that a chain of them (a cond's output fed to the next cond) needs one pass, not one
// per edge. Descending: for a backward pass.
std::vector<std::pair<uint32_t, const std::vector<uint32_t>*>> by_birth(const TapeState& s, const HiddenEdges& also,
                                                                        bool descending) {
  std::vector<std::pair<uint32_t, const std::vector<uint32_t>*>> e;
  for (const auto& [value, on] : also) e.emplace_back(value, &on);
  std::sort(e.begin(), e.end(), [&](const auto& x, const auto& y) {
    const uint32_t bx = s.slot_birth[x.first], by = s.slot_birth[y.first];
    return descending ? (bx > by || (bx == by && x.first > y.first)) : (bx < by || (bx == by && x.first < y.first));
  });
  return e;
}

// The slots that `from` reaches: a forward pass over the records from its birth (a record's
// inputs are older than its outputs), each hidden edge taken where its value is made; then again
// from the first record while an edge reaches more after its place (a loop variable depends on
// the body's result, recorded after it).
std::vector<char> reach(const TapeState& s, uint32_t from, const HiddenEdges& also = {}) {
  std::vector<char> reached(s.next_slot, 0);
  reached[from] = 1;
  const auto edges = by_birth(s, also, false);
  auto take = [&](uint32_t value, const std::vector<uint32_t>& on) {
    if (reached[value]) return false;
    for (uint32_t a : on)
      if (reached[a]) return bool(reached[value] = 1);
    return false;
  };
  for (size_t first = s.slot_birth[from], more = 1; more; first = 0) {
    more = 0;
    size_t e = 0;
    for (size_t r = first; r < s.records.size(); ++r) {
      for (; e < edges.size() && s.slot_birth[edges[e].first] <= r; ++e) take(edges[e].first, *edges[e].second);
      const Record& rec = s.records[r];
      if (rec.n_in == kNoSlot) continue;
      bool hit = false;
      for (uint32_t i = 0; i < rec.n_in && !hit; ++i) {
        const uint32_t si = s.slots[rec.first + i];
        hit = si != kNoSlot && reached[si];
      }
      if (hit)
        for (uint32_t k = 0; k < rec.n_out; ++k) reached[s.slots[rec.first + rec.n_in + k]] = 1;
    }
    for (; e < edges.size(); ++e) take(edges[e].first, *edges[e].second);
    for (const auto& [value, on] : edges) more |= take(value, *on);
  }
  return reached;
}

// The slots from which a target is reached: the same backward (a record's inputs reach what its
// outputs reach; a hidden edge's `on` what its value reaches).
std::vector<char> reach_back(const TapeState& s, const std::vector<uint32_t>& targets, const HiddenEdges& also) {
  std::vector<char> back(s.next_slot, 0);
  for (uint32_t t : targets) back[t] = 1;
  const auto edges = by_birth(s, also, true);
  auto take = [&](uint32_t value, const std::vector<uint32_t>& on) {
    bool more = false;
    if (!back[value]) return more;
    for (uint32_t a : on)
      if (!back[a]) more = back[a] = 1;
    return more;
  };
  for (size_t more = 1; more;) {
    more = 0;
    size_t e = 0;
    for (size_t r = s.records.size(); r-- > 0;) {
      for (; e < edges.size() && s.slot_birth[edges[e].first] > r; ++e) take(edges[e].first, *edges[e].second);
      const Record& rec = s.records[r];
      if (rec.n_in == kNoSlot) continue;
      bool hit = false;
      for (uint32_t k = 0; k < rec.n_out && !hit; ++k) hit = back[s.slots[rec.first + rec.n_in + k]];
      if (hit)
        for (uint32_t i = 0; i < rec.n_in; ++i) {
          const uint32_t si = s.slots[rec.first + i];
          if (si != kNoSlot) back[si] = 1;
        }
    }
    for (; e < edges.size(); ++e) take(edges[e].first, *edges[e].second);
    for (const auto& [value, on] : edges) more |= take(value, *on);
  }
  return back;
}
}  // namespace

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
  // Which slots depend on the source?
  const std::vector<char> reached = reach(*this, slot);
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


std::unordered_map<uint32_t, std::vector<uint32_t>> TapeState::hidden_edges(
    const std::vector<HiddenDependence>& hidden) const {
  std::unordered_map<uint32_t, std::vector<uint32_t>> also;
  for (const HiddenDependence& h : hidden) {
    uint32_t vs;
    if (!h.value.defined() || !h.value.get()->find_link(serial, &vs)) continue;
    for (const Source& a : h.on) {
      const uint32_t as = source_slot(a);
      if (as != kNoSlot) also[vs].push_back(as);
    }
  }
  return also;
}

bool TapeState::reached_through(const std::vector<Tensor>& targets, const Source& src,
                                const std::vector<HiddenDependence>& hidden) const {
  const uint32_t slot = source_slot(src);
  if (slot == kNoSlot) return false;
  const auto also = hidden_edges(hidden);
  return reaches_a_target(targets, reach(*this, slot, also));
}

bool TapeState::reaches_a_target(const std::vector<Tensor>& targets, const std::vector<char>& reached) const {
  for (const Tensor& t : targets) {
    uint32_t ts;
    if (t.defined() && is_floating(t.dtype()) && t.get()->find_link(serial, &ts) && reached[ts]) return true;
  }
  return false;
}

std::vector<size_t> TapeState::hidden_on_path(const std::vector<Tensor>& targets, const Source& src,
                                              const std::vector<HiddenDependence>& hidden) const {
  std::vector<size_t> r;
  const uint32_t slot = source_slot(src);
  if (slot == kNoSlot) return r;
  const auto also = hidden_edges(hidden);
  const std::vector<char> reached = reach(*this, slot, also);
  std::vector<uint32_t> target_slots;
  for (const Tensor& t : targets) {
    uint32_t ts;
    if (t.defined() && is_floating(t.dtype()) && t.get()->find_link(serial, &ts)) target_slots.push_back(ts);
  }
  const std::vector<char> back = reach_back(*this, target_slots, also);
  for (size_t i = 0; i < hidden.size(); ++i) {
    uint32_t vs;
    if (hidden[i].value.defined() && hidden[i].value.get()->find_link(serial, &vs) && reached[vs] && back[vs])
      r.push_back(i);
  }
  return r;
}

}  // namespace gt
