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
  int batch = 0;         // leading batch dims of g (batched Jacobians): a rule that names
                         // shapes or axes prepends them (see batched()); elementwise rules
                         // need nothing, broadcasting does it
};

// A shape with the batch dims of c.g in front (for rules under a batched sweep).
inline std::vector<int64_t> batched(const VjpCtx& c, const Shape& s) {
  std::vector<int64_t> v(c.g.shape().data(), c.g.shape().data() + c.batch);
  for (int i = 0; i < s.rank(); ++i) v.push_back(s[i]);
  return v;
}
using VjpFn = void (*)(VjpCtx&);

// The rule for each differentiable op (op_table.cpp).
VjpFn vjp_for(OpId op);

namespace detail {

// Number of tapes recording on this thread (0 on the fast path).
extern thread_local int tls_recording GT_TLS;

void record_op(OpId op, const Tensor* const* inputs, int n_in, const Tensor& out,
               const int64_t* attrs, int n_attrs);

}  // namespace detail

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
