#pragma once
// The functions that program steps call besides the public ops of ops.h (gradtape/program.h):
// variable writes, the fused optimizer step, random draws from a stream or a seed's state, and
// the small ops that bindings compose. They live in the core, not in the bindings, so that a
// program loaded without Python (gradtape/saved_model.h) can run every step it has; each is
// registered under its key in step_registry.cpp.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gradtape/ops.h"
#include "gradtape/optim.h"
#include "gradtape/random.h"
#include "gradtape/variable.h"

namespace gt::steps {

// v.assign(t), v.assign_add(t), v.assign_sub(t).
void assign_variable(const std::shared_ptr<Variable>& v, const Tensor& t);
void assign_add_variable(const std::shared_ptr<Variable>& v, const Tensor& t);
void assign_sub_variable(const std::shared_ptr<Variable>& v, const Tensor& t);

// One optimizer step on `param` as gt.function traces it: the learning rate (a tensor) and the
// step counter (a variable) are read when the step runs, not when it was traced.
void optimizer_step(optim::Algorithm alg, const std::shared_ptr<Variable>& param, const Tensor& grad,
                    const std::vector<std::shared_ptr<Variable>>& slots, optim::Hyper h, const Tensor& learning_rate,
                    const std::shared_ptr<Variable>& iterations);
// The same step with the factors that Python computes from values (gt.function traces their
// computation as steps): the gradient's scaling for clipnorm / global_clipnorm (h.grad_mul,
// h.grad_div) and Nadam's running product (h.u_product), each a scalar tensor read when the
// step runs, as the learning rate is. (Key "optimizer_step/scaled".)
void optimizer_step_scaled(optim::Algorithm alg, const std::shared_ptr<Variable>& param, const Tensor& grad,
                           const std::vector<std::shared_ptr<Variable>>& slots, optim::Hyper h,
                           const Tensor& learning_rate, const std::shared_ptr<Variable>& iterations,
                           const Tensor& grad_mul, const Tensor& grad_div, const Tensor& u_product);

// where(cond) with one argument: the int64 coordinates of the true (non-zero) elements, [n, rank].
Tensor where_coords(const Tensor& cond);
// gt.unique of a 1-D x, in three parts (each a step of its own; the first and third give a
// result whose shape depends on x's values, so gt.function checks it, as where_coords'):
// unique_first, the int64 positions in x of the distinct elements' first appearances, in order;
// unique_index, for each element of x the (int64) position of its value among them;
// unique_count, how often each distinct element occurs (int64). Elements are compared by value
// as TensorFlow's hashing compares them: -0.0 equals 0.0, and every NaN is distinct.
// InvalidArgument unless x is 1-D.
Tensor unique_first(const Tensor& x);
Tensor unique_index(const Tensor& x);
Tensor unique_count(const Tensor& x);
// reduce_any / reduce_all of any dtype (non-zero is true), as bool.
Tensor reduce_any_bool(const Tensor& t, const Axes& axes, bool keepdims);
Tensor reduce_all_bool(const Tensor& t, const Axes& axes, bool keepdims);
// zeros / ones of t's shape in dtype d.
Tensor zeros_like_as(const Tensor& t, DType d);
Tensor ones_like_as(const Tensor& t, DType d);
// A tensor of shape s whose every element is v's (scalar) value, bit for bit, in v's dtype.
Tensor fill_with(const Shape& s, const Tensor& v);
// x[key], Python's basic indexing, with the key as written and resolved against x's shape when
// it runs (so a program's step serves every size, as TensorFlow's strided_slice with its masks):
// one entry per part of the key, kinds[i] being
//   kNewAxis (None, True): a new axis of length 1;    kIndex: the index begin[i] (may be < 0);
//   kSlice: begin[i]:end[i]:step[i], as PySlice_Unpack gives them (an omitted bound is its
//     sentinel, PY_SSIZE_T_MAX or MIN), clamped as Python's slice.indices(size);
//   kFalseAxis (False): a new axis of length 0.
// An Ellipsis is given as the kSlice parts it stands for (the rank is fixed), and the dimensions
// after the key's are whole. InvalidArgument for an index out of range; the result is computed
// as strided_slice, then reshape when axes are added or removed, then strided_slice for False.
enum GetitemKind : int64_t { kNewAxis = 0, kIndex = 1, kSlice = 2, kFalseAxis = 3 };
Tensor getitem(const Tensor& x, const std::vector<int64_t>& kinds, const std::vector<int64_t>& begin,
               const std::vector<int64_t>& end, const std::vector<int64_t>& step);

// reshape(x, shape) with the shape a rank-1 integer tensor (computed by the program: read when
// the step runs). InvalidArgument for another rank or dtype, or a shape reshape refuses.
Tensor reshape_to(const Tensor& x, const Tensor& shape);

// a / b, a @ b (Python's operators).
Tensor truediv(const Tensor& a, const Tensor& b);
Tensor matmul2(const Tensor& a, const Tensor& b);

// gt.print (cpp/src/print.cpp). format_for_print lays a tensor out as TensorFlow's tf.print
// does: nested brackets, elements separated by spaces, at most `summarize` elements at each end
// of each dimension ("..." between them; < 0: all), floats in the fewest digits that read back.
std::string format_for_print(const Tensor& t, int64_t summarize);
// The print step: the parts joined by `sep` and followed by `end`, written to `stream` ("stdout",
// "stderr" or "file://<path>", appended). A part is texts[i] (fixed when traced) or, where
// is_value[i], the next of `values` formatted.
void print(const std::vector<Tensor>& values, const std::vector<std::string>& texts, const std::vector<int64_t>& is_value,
           int64_t summarize, const std::string& sep, const std::string& end, const std::string& stream);
// Where print writes "stdout" and "stderr": by default the C streams; a Python process sets a
// sink that writes to sys.stdout / sys.stderr, and returns false when it cannot (the
// interpreter is finalised, or sys.stdout is None): the C streams are used then.
using PrintSink = bool (*)(const std::string& stream, const std::string& text);
void set_print_sink(PrintSink sink);
// Whether print writes nothing on this thread (gt.function's second trace on a first call that
// made variables, whose effects are undone: its prints are not the call's). Returns the old value.
bool set_print_muted(bool muted);
bool print_muted();

// A random draw F(state, a...). From a stream (a persistent state, shared with gradtape.random):
// each run draws anew and advances it, as a stateful op. From a copy (a stateless op's state, made
// from its seed): a pure function of the state's value.
template <auto F, class... A>
Tensor draw_stream(const std::shared_ptr<random::PhiloxState>& s, A... a) {
  return F(*s, a...);
}
template <auto F, class... A>
Tensor draw_copy(random::PhiloxState s, A... a) {
  return F(s, a...);
}
// From a seed tensor (a stateless op's seed computed inside a gt.function, read when the step
// runs): the state gradtape.random's stateless ops make from a shape-[2] seed (stateless_state),
// so that each call draws the numbers an eager call with its seed draws. InvalidArgument for a
// seed of another shape or dtype (int32 and int64 are taken).
random::PhiloxState stateless_state(const Tensor& seed);
template <auto F, class... A>
Tensor draw_seed(const Tensor& seed, A... a) {
  random::PhiloxState s = stateless_state(seed);
  return F(s, a...);
}
// gt.random.fold_in(seed, data) with the seed or data computed inside a gt.function: the new
// int64 seed of shape [2] that gradtape.random.fold_in makes from their values, at each run.
// InvalidArgument for a seed of another shape or dtype, or data that is not an integer scalar.
Tensor fold_in(const Tensor& seed, const Tensor& data);
// From a gt.random.Generator: its state is a shape-[3] int64 variable [counter_lo, counter_hi,
// key], read before the draw and written with the advanced state after it, at each run (a step
// with an effect, as TensorFlow's stateful generator ops). InvalidArgument for another variable.
// Draws from one generator are serialised (generator_lock), so that two threads never draw the
// same numbers or lose an advance.
random::PhiloxState generator_state(const Variable& state);
void set_generator_state(Variable& state, const random::PhiloxState& s);
std::mutex& generator_lock(const Variable& state);
template <auto F, class... A>
Tensor draw_generator(const std::shared_ptr<Variable>& state, A... a) {
  std::lock_guard<std::mutex> hold(generator_lock(*state));
  random::PhiloxState s = generator_state(*state);
  Tensor t = F(s, a...);
  set_generator_state(*state, s);
  return t;
}

}  // namespace gt::steps
