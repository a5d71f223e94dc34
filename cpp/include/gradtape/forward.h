#pragma once
// Forward mode: ForwardAccumulator, TensorFlow's tf.autodiff.ForwardAccumulator.
//
// An accumulator gives some primals (tensors or variables) tangents. While it is entered on a
// thread, every differentiable op that has an input with one of its tangents computes its
// output's tangent at once, by the op's jvp rule (the Jvp column of ops.def), so that jvp(y)
// = J v is ready as soon as y is. A tangent lives on its primal tensor, keyed by the
// accumulator's serial, and dies with it; an op run outside the `with` block gets none.
//
// Rules are written in ops, so forward mode nests with itself and with tapes. While an
// accumulator computes a tangent, only the tapes and accumulators entered *before* it see the
// ops it runs:
//   - a tape around an accumulator records the jvp computation: tape.gradient(acc.jvp(y), x)
//     is reverse over forward;
//   - an accumulator around another one takes the tangents of the inner one's tangents:
//     higher forward derivatives;
//   - a tape inside an accumulator records only the primal ops; its gradient(), run inside the
//     accumulator, gets tangents: forward over reverse, a Hessian-vector product.
#include <cstdint>
#include <memory>
#include <vector>

#include "gradtape/tensor.h"
#include "gradtape/variable.h"

namespace gt {

struct AccumulatorState;

class ForwardAccumulator {
 public:
  ForwardAccumulator();
  ~ForwardAccumulator();
  ForwardAccumulator(const ForwardAccumulator&) = delete;
  ForwardAccumulator& operator=(const ForwardAccumulator&) = delete;

  // Gives `primal` the tangent `tangent` (of its dtype and shape). A primal of an integer
  // dtype is ignored: its jvp is undefined (None), as in TensorFlow. Watching one primal twice
  // is an InvalidArgument.
  void watch(const Tensor& primal, const Tensor& tangent);
  void watch(const std::shared_ptr<Variable>& v, const Tensor& tangent);

  // Enter/leave this thread's stack of accumulators (Python's `with`). Entering an accumulator
  // that is already entered is an InvalidArgument; entering it again after it left is allowed.
  void push();
  void pop();
  bool active() const;

  // The tangent of t (of a variable: its tangent), undefined where t does not depend on the
  // primals or was computed outside the `with` block.
  Tensor jvp(const Tensor& t) const;
  Tensor jvp(const std::shared_ptr<Variable>& v) const;

  uint64_t serial() const;

 private:
  std::shared_ptr<AccumulatorState> state_;
};

// RAII for push()/pop() (TapeScope's counterpart).
class AccumulatorScope {
 public:
  explicit AccumulatorScope(ForwardAccumulator& acc) : acc_(&acc) { acc.push(); }
  ~AccumulatorScope() noexcept {
    if (acc_) try { acc_->pop(); } catch (...) {}  // NOLINT: a destructor must not throw
  }
  AccumulatorScope(const AccumulatorScope&) = delete;
  AccumulatorScope& operator=(const AccumulatorScope&) = delete;

 private:
  ForwardAccumulator* acc_;
};

// While alive, the tapes on this thread record nothing but the accumulators still compute
// tangents (a custom_gradient's forward function runs under one, as in TensorFlow).
class TapePause {
 public:
  TapePause();
  ~TapePause();
  TapePause(const TapePause&) = delete;
  TapePause& operator=(const TapePause&) = delete;
};

// While alive, the tapes and accumulators entered on this thread so far see nothing of what
// runs; those entered while it lives do (gt.function traces a custom gradient function under
// one: its ops are steps of a block, not ops of the trace's tapes, but a tape it enters itself
// records). Destroyed in the reverse order of making, on the thread that made it.
class HideEntered {
 public:
  HideEntered();
  ~HideEntered();
  HideEntered(const HideEntered&) = delete;
  HideEntered& operator=(const HideEntered&) = delete;
};

}  // namespace gt
