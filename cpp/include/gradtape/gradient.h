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

}  // namespace gt
