#pragma once
// Custom gradients: a user rule enters the core as one hook per recorded call. The hook gets
// the upstream gradient of each output (zeros where an output got none) and returns one
// gradient per input (an undefined Tensor for None). Ops the hook runs are recorded by any
// outer tape, so a hook written with gradtape ops gives second derivatives too.
#include <functional>
#include <memory>
#include <vector>

#include "gradtape/tape.h"

namespace gt {

using GradHook = std::function<std::vector<Tensor>(const std::vector<Tensor>& upstream)>;

// Records `outputs = f(inputs)` on every active tape that watches one of `inputs`, with `hook`
// as its vjp. Returns whether some tape recorded it.
bool record_custom(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
                   GradHook hook);

// Checks a custom gradient's results: each defined gradient must have its input's shape (after
// the batch dims of a batched Jacobian's upstream, the dims of upstream[0] beyond the first
// output's rank `out0_rank`). InvalidArgument otherwise: TensorFlow passes a wrong shape on, and
// it surfaces later as a shape error far away or, summed to the input's shape, as a silently
// wrong gradient.
void check_custom_gradients(const std::vector<Tensor>& grads, const std::vector<Tensor>& upstream,
                            const std::vector<Shape>& in_shapes, int out0_rank);

// Gives a custom_gradient call's `outputs` their tangents for each entered accumulator
// (forward.cpp): the tangent of the matching one of `results` (the function's own outputs, as
// it computed them with accumulators watching) where it has one, else the one `hook` gives,
// transposed: hook is linear in its upstream u, so J t = d/du <hook(u), t>. As TensorFlow does.
void forward_custom(const std::vector<Tensor>& inputs, const std::vector<Tensor>& results,
                    const std::vector<Tensor>& outputs, const GradHook& hook);

// Collects the variables read on this thread while alive (custom_gradient's variables=).
class VariableAccessLog {
 public:
  VariableAccessLog();
  ~VariableAccessLog();
  VariableAccessLog(const VariableAccessLog&) = delete;
  VariableAccessLog& operator=(const VariableAccessLog&) = delete;
  const std::vector<std::shared_ptr<Variable>>& variables() const { return vars_; }
  void add(const std::shared_ptr<Variable>& v);

 private:
  std::vector<std::shared_ptr<Variable>> vars_;
};

// While alive, the access logs made on this thread before it log nothing (gt.function traces a
// custom gradient function's grad_fn under one: what it reads is not read by the forward
// function of an enclosing custom gradient call). Destroyed in the reverse order of making.
class VariableAccessLogPause {
 public:
  VariableAccessLogPause();
  ~VariableAccessLogPause();
  VariableAccessLogPause(const VariableAccessLogPause&) = delete;
  VariableAccessLogPause& operator=(const VariableAccessLogPause&) = delete;

 private:
  std::vector<VariableAccessLog*> saved_;
};

}  // namespace gt
