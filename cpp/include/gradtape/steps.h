#pragma once
// The functions that program steps call besides the public ops of ops.h (gradtape/program.h):
// variable writes, the fused optimizer step, random draws from a stream or a seed's state, and
// the small ops that bindings compose. They live in the core, not in the bindings, so that a
// program loaded without Python (gradtape/saved_model.h) can run every step it has; each is
// registered under its key in step_registry.cpp.
#include <memory>
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

// where(cond) with one argument: the int64 coordinates of the true (non-zero) elements, [n, rank].
Tensor where_coords(const Tensor& cond);
// reduce_any / reduce_all of any dtype (non-zero is true), as bool.
Tensor reduce_any_bool(const Tensor& t, const Axes& axes, bool keepdims);
Tensor reduce_all_bool(const Tensor& t, const Axes& axes, bool keepdims);
// zeros / ones of t's shape in dtype d.
Tensor zeros_like_as(const Tensor& t, DType d);
Tensor ones_like_as(const Tensor& t, DType d);
// A tensor of shape s whose every element is v's (scalar) value, bit for bit, in v's dtype.
Tensor fill_with(const Shape& s, const Tensor& v);
// a / b, a @ b (Python's operators).
Tensor truediv(const Tensor& a, const Tensor& b);
Tensor matmul2(const Tensor& a, const Tensor& b);

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

}  // namespace gt::steps
