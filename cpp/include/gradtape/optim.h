#pragma once
// Fused optimizer updates. One call updates one parameter and its slot variables in a single
// pass over memory: each element of the parameter, the gradient and every slot is read once
// and written once (Adam: read p, g, m, v; write p, m, v). The formulas, and the order in
// which each one rounds, are Keras 3's (keras/optimizers/*.py update_step), with every
// hyperparameter rounded to the parameter's dtype first, as Keras casts them. Writes go
// through Variable::begin_write, so they are in place unless something else holds a value
// (a tape's saved tensor, a NumPy view): that holder keeps seeing the old value.
//
// Before the update proper, the same pass applies, in Keras's order:
//   the gradient's preprocessing   g = clip(g, -clip_value, clip_value) * grad_mul / grad_div
//     (clipvalue; clipnorm: grad_mul = clipnorm, grad_div = max(norm, clipnorm);
//      global_clipnorm: grad_mul = the global scale),
//   decoupled weight decay        p = p - p * weight_decay * learning_rate   (when != 0).
#include <cstdint>
#include <limits>
#include <vector>

#include "gradtape/tensor.h"
#include "gradtape/variable.h"

namespace gt::optim {

enum class Algorithm { SGD, Adam, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion };

struct Hyper {
  double learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  double rho = 0.9;
  double momentum = 0.0;
  bool nesterov = false;
  bool amsgrad = false;
  bool centered = false;
  int64_t iterations = 0;   // the step counter before this step (Keras's `iterations`)
  double u_product = 1.0;   // Nadam: the product of the u_t up to this step (already updated)
  double weight_decay = 0.0;
  double clip_value = std::numeric_limits<double>::infinity();
  double grad_mul = 1.0;
  double grad_div = 1.0;
};

// The slot variables each algorithm takes, in this order:
//   SGD      [momentum] when momentum != 0, else none
//   Adam     [momentum, velocity] (+ [velocity_hat] with amsgrad)   (also AdamW)
//   RMSprop  [velocity] (+ [momentum] when momentum > 0) (+ [average_gradient] when centered)
//   Adagrad  [accumulator]
//   Adadelta [accumulated_grad, accumulated_delta_var]
//   Adamax   [momentum, norm]
//   Nadam    [momentum, velocity]
//   Lion     [momentum]
// Every slot has the parameter's dtype and shape; the gradient is cast to the dtype.
void apply(Algorithm alg, Variable& param, const Tensor& grad, const std::vector<Variable*>& slots, const Hyper& h);

// The number of slots `apply` expects for these settings.
int slot_count(Algorithm alg, const Hyper& h);

}  // namespace gt::optim
