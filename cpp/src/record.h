#pragma once
// The interface between ops and tapes (internal). An op calls record() after computing its
// output; record() returns at once when no tape on this thread is recording. A rule (vjp)
// reads its op's saved inputs, output and attributes from a VjpCtx and fills one gradient per
// input that needs one, using ordinary ops, so outer tapes record the rule itself.
#include <cstdint>
#include <initializer_list>

#include "gradtape/tensor.h"
#include "op_table.h"

// Hot thread-locals use the initial-exec TLS model: a direct access instead of a call to
// __tls_get_addr (they are few and small, so the static TLS space of a dlopened module fits).
#if defined(__GNUC__)
#define GT_TLS __attribute__((tls_model("initial-exec")))
#else
#define GT_TLS
#endif

namespace gt {

struct VjpCtx {
  const Tensor* in;      // the op's inputs, as recorded
  int n_in;
  const Tensor& out;     // the op's output
  const Tensor& g;       // upstream gradient of `out` (same shape and dtype)
  const int64_t* attrs;  // the op's integer attributes
  int n_attrs;
  const bool* needs;     // needs[i]: input i wants a gradient
  Tensor* gin;           // gin[i]: set by the rule; may have a broadcast shape (summed later)
  int batch_ = 0;        // leading batch dims of g (batched Jacobians); rules read it through
                         // the accessors below, never by hand

  // Under a batched sweep (batch_jacobian, jacobian), g has batch dims in front of the
  // output's shape. A rule that names shapes or axes of its op names them through these, so
  // that they point at the same dims of g; elementwise rules need nothing (broadcasting does it).

  // The number of batch dims in front of g (for helpers that take it: sum_to_shape).
  int batch_dims() const { return batch_; }
  // Axis `a` of the op's tensors as an axis of g.
  int64_t axis(int64_t a) const { return a + batch_; }
  // A shape of the op's tensors, with g's batch dims in front.
  std::vector<int64_t> shape(const Shape& s) const {
    std::vector<int64_t> v(g.shape().data(), g.shape().data() + batch_);
    for (int i = 0; i < s.rank(); ++i) v.push_back(s[i]);
    return v;
  }
  // Input i's shape with g's batch dims in front: the shape its gradient must have.
  Shape input_shape(int i) const { return Shape(shape(in[i].shape())); }
  // A permutation of the op's dims as a permutation of g's dims (batch dims stay in front).
  std::vector<int64_t> permutation(const int64_t* perm, int n) const {
    std::vector<int64_t> p(size_t(batch_ + n));
    for (int i = 0; i < batch_; ++i) p[size_t(i)] = i;
    for (int i = 0; i < n; ++i) p[size_t(batch_ + i)] = batch_ + perm[i];
    return p;
  }
  // A slice spec of the op's tensors (begin, end, step per dim) as one of g: whole batch dims
  // in front.
  void slice_spec(std::vector<int64_t>& begin, std::vector<int64_t>& end, std::vector<int64_t>& step) const {
    for (int b = batch_ - 1; b >= 0; --b) {
      begin.insert(begin.begin(), 0);
      end.insert(end.begin(), g.shape()[b]);
      step.insert(step.begin(), 1);
    }
  }
};
using VjpFn = void (*)(VjpCtx&);

// The rule for each differentiable op (op_table.cpp).
VjpFn vjp_for(OpId op);

namespace detail {

// Number of tapes recording on this thread (0 on the fast path).
extern thread_local int tls_recording GT_TLS;

void record_op(OpId op, const Tensor* const* inputs, int n_in, const Tensor& out,
               const int64_t* attrs, int n_attrs);

}  // namespace detail

// Whether a tape on this thread records what runs now: inside a rule, whether the rule itself
// is recorded (an outer tape will differentiate it again), so it must be written in ops; when
// not, it may take a fused kernel (kernels/fused_rules.h) instead.
inline bool rule_is_recorded() { return detail::tls_recording != 0; }

// Whether t carries a link to a tape (it is, or was, watched or computed from a watched
// tensor): a tensor on no tape is a constant to every tape, so a rule may fold it in.
inline bool on_any_tape(const Tensor& t) { return !t.get()->links.empty(); }

// Records `out = op(inputs...)` on every recording tape that watches a floating input.
inline void record(OpId op, std::initializer_list<const Tensor*> inputs, const Tensor& out,
                   std::initializer_list<int64_t> attrs = {}) {
  if (detail::tls_recording == 0) return;
  detail::record_op(op, inputs.begin(), int(inputs.size()), out, attrs.begin(), int(attrs.size()));
}
inline void record_n(OpId op, const Tensor* const* inputs, int n_in, const Tensor& out,
                     const int64_t* attrs, int n_attrs) {
  if (detail::tls_recording == 0) return;
  detail::record_op(op, inputs, n_in, out, attrs, n_attrs);
}

}  // namespace gt
