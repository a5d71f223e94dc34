#pragma once
#include <cstdint>

#include "op_table.h"
#include "record.h"
// Internals shared by tape.cpp, forward.cpp and variable.cpp.
namespace gt {
class Variable;
class Tensor;
struct HiddenDependence;
namespace detail {
// Tells this thread's recording tapes, accumulators and access logs that `v` was read.
void notify_variable_read(Variable& v);
// Whether the tape with this serial still exists (stale tape links are pruned with it).
bool tape_alive(uint64_t serial);
// Tells the recording tapes that t went through stop_gradient.
void note_stop_gradient(const Tensor& t);

// Tapes and accumulators get an entry number from this thread's counter when they are entered
// (tape.cpp). While an accumulator computes tangents, only those entered before it see the
// ops: tls_horizon is its entry number then (the maximum otherwise).
uint64_t next_entry();
extern thread_local uint64_t tls_horizon GT_TLS;
// Whether the tape or accumulator with this entry number must not see what runs now (callers
// test `entry >= tls_horizon` first: the fast path).
bool entry_hidden(uint64_t entry);
// Recomputes tls_recording (record.h) after a tape or accumulator is entered, left or paused.
void refresh_recording();

// forward.cpp: the accumulators entered on this thread, and their part of recording an op and
// a variable read.
extern thread_local int tls_accumulators_entered GT_TLS;
inline int active_accumulators() { return tls_accumulators_entered; }
void forward_op(OpId op, const Tensor* const* inputs, int n_in, const Tensor& out, const int64_t* attrs,
                int n_attrs);
void forward_variable_read(Variable& v);
// Whether a tape recording on this thread watches t (holds a link to it), or an accumulator
// entered on it has a tangent for t (tape.cpp; forward.cpp for the accumulators' part).
bool seen_by_a_recorder(const Tensor& t);
// On each tape recording on this thread that links one of `from` (or every one, with `all`) but
// not t: t (replaced first by a fresh view of it, so that a tensor used elsewhere stays as it
// was; not with `all`, for a tensor of the caller's own) gets a slot of its own, as
// tape.watch(t) gives it. For gt.cond and gt.while_loop's outputs and loop variables
// (program.cpp), and zeros given through a hidden dependence (tape_sweep.cpp).
void watch_where_linked(Tensor& t, const std::vector<Tensor>& from, bool all = false);
bool has_a_live_tangent(const Tensor& t);
// Gives h to each tape recording on this thread that links h.value, except those whose serial
// is in `skip` (the tapes of the program that runs the step): a tape around a gt.function call
// then treats a cond or while output as TensorFlow's cond and while ops (program.cpp).
void add_hidden_dependence(const HiddenDependence& h, const std::vector<uint64_t>& skip);
// For those tapes, v counts as read (a cond or while step reads the variables of every branch,
// as TensorFlow's ops take them as inputs): a tape watching accessed variables links it.
void note_hidden_variable_read(Variable& v, const std::vector<uint64_t>& skip);
}  // namespace detail
}  // namespace gt
