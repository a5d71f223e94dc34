#pragma once
// The interface between ops and tapes (internal). An op calls record() after computing its
// output; record() returns at once when no tape on this thread is recording. A rule (vjp)
// reads its op's saved inputs, output and attributes from a VjpCtx and fills one gradient per
// input that needs one, using ordinary ops, so outer tapes record the rule itself.
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

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

// The leading batch dims that a batched sweep (a Jacobian: many seeds or tangents at once)
// puts in front of a rule's upstream gradients or tangents. A rule that names shapes or axes of
// its op names them through these accessors, so that they point at the same dims of the batched
// tensors; elementwise rules need nothing (broadcasting does it). Ctx gives batch_ and ref(), a
// batched tensor whose leading dims are the batch.
template <class Ctx>
struct BatchedRule {
  // The number of batch dims (for helpers that take it: sum_to_shape).
  int batch_dims() const { return self().batch_; }
  // Axis `a` of the op's tensors as an axis of the batched tensors.
  int64_t axis(int64_t a) const { return a + self().batch_; }
  // A shape of the op's tensors, with the batch dims in front.
  std::vector<int64_t> shape(const Shape& s) const {
    const Tensor& r = self().ref();
    std::vector<int64_t> v(r.shape().data(), r.shape().data() + self().batch_);
    for (int i = 0; i < s.rank(); ++i) v.push_back(s[i]);
    return v;
  }
  // Input i's shape with the batch dims in front.
  Shape input_shape(int i) const { return Shape(shape(self().in[i].shape())); }
  // A permutation of the op's dims as a permutation of the batched dims (batch dims in front).
  std::vector<int64_t> permutation(const int64_t* perm, int n) const {
    const int nb = self().batch_;
    std::vector<int64_t> p(size_t(nb + n));
    for (int i = 0; i < nb; ++i) p[size_t(i)] = i;
    for (int i = 0; i < n; ++i) p[size_t(nb + i)] = nb + perm[i];
    return p;
  }
  // A slice spec of the op's tensors (begin, end, step per dim) as one of the batched tensors:
  // whole batch dims in front.
  void slice_spec(std::vector<int64_t>& begin, std::vector<int64_t>& end, std::vector<int64_t>& step) const {
    const Tensor& r = self().ref();
    for (int b = self().batch_ - 1; b >= 0; --b) {
      begin.insert(begin.begin(), 0);
      end.insert(end.begin(), r.shape()[b]);
      step.insert(step.begin(), 1);
    }
  }

 private:
  const Ctx& self() const { return static_cast<const Ctx&>(*this); }
};

struct VjpCtx : BatchedRule<VjpCtx> {
  const Tensor* in;      // the op's inputs, as recorded
  int n_in;
  const Tensor& out;     // the op's output
  const Tensor& g;       // upstream gradient of `out` (its shape, after the batch dims)
  const int64_t* attrs;  // the op's integer attributes
  int n_attrs;
  const bool* needs;     // needs[i]: input i wants a gradient
  Tensor* gin;           // gin[i]: set by the rule; may have a broadcast shape (summed later)
  int batch_ = 0;        // leading batch dims of g (batched Jacobians): read through the accessors
  const Tensor& ref() const { return g; }
};
using VjpFn = void (*)(VjpCtx&);

// The rule for each differentiable op (op_table.cpp).
VjpFn vjp_for(OpId op);

// A forward-mode rule's view of one op (forward.cpp, docs/forward-mode.md): the inputs, the
// output and attributes as recorded, and a tangent per input. It returns the output's tangent,
// written in ops (outer tapes and accumulators record it: it nests), with the batch dims of the
// tangents in front.
struct JvpCtx : BatchedRule<JvpCtx> {
  const Tensor* in;      // the op's inputs
  int n_in;
  const Tensor& out;     // the op's output
  const Tensor* t;       // t[i]: input i's tangent, or undefined: a zero tangent (not a float, or
                         // not depending on the primals)
  const int64_t* attrs;  // the op's integer attributes
  int n_attrs;
  const Tensor& ref_;    // a defined tangent
  int batch_ = 0;        // leading batch dims of every tangent (forward-mode Jacobians)
  const Tensor& ref() const { return ref_; }
  // Input i's tangent with its op dims padded by leading 1s to the output's rank, so that it
  // broadcasts against the op's unbatched tensors as the input did (undefined stays undefined).
  Tensor aligned(int i) const;
  // Input i's tangent, or zeros of its batched shape.
  Tensor or_zeros(int i) const;
};
using JvpFn = Tensor (*)(JvpCtx&);
// The jvp_<Enum> of a Rule op (op_table.cpp); nullptr for the others.
JvpFn jvp_rule(OpId op);

// The output's tangent for a recorded op (forward.cpp): its Jvp column's rule, checked and
// broadcast to the output's batched shape. Undefined when no input has a tangent.
Tensor apply_jvp(OpId op, JvpCtx& c);

// What a gradient plan's run keeps of the ops that run while its (absent) tape would record
// (gradient_plan.h): record_op tells the sink each call it gets, in order; the sink keeps, of
// the calls its plan wants, what a tape saves (the inputs, then the output) and the attributes.
// In the run that captures a plan, the sink notes which calls the tape appended instead.
struct RecordSink {
  // A planned run: per call, whether to keep it; per kept call, the op the plan expects; per
  // kept tensor, the id of the variable whose slot the plan's tape linked it to (0: none), which
  // it must be a value of, as read in this run. What differs sets `mismatch`.
  const std::vector<char>* wanted = nullptr;
  const std::vector<OpId>* expected_ops = nullptr;
  const std::vector<uint64_t>* variable_of = nullptr;
  bool mismatch = false;
  size_t calls = 0;
  std::vector<char> appended;  // capturing: per call, whether the tape recorded it
  std::vector<OpId> ops;       // per kept call
  std::vector<Tensor> saved;   // per kept call: its inputs, then its output
  std::vector<int64_t> attrs;
  std::vector<uint32_t> attr_first;  // per kept call: where its attributes start in attrs
  // The variables read while it is entered, and the value each read gave (for the plan's check
  // that a tensor its tape linked to a variable is one of those values: gradient_plan.h).
  std::vector<std::pair<uint64_t, const TensorImpl*>> reads;
  // One op reported by record_op (tape.cpp); tape_appended: whether the capturing run's tape
  // recorded it.
  void note(OpId op, const Tensor* const* inputs, int n_in, const Tensor& out, const int64_t* a, int n_attrs,
            bool tape_appended);
};

namespace detail {

// Number of tapes recording on this thread (0 on the fast path), plus one while a RecordSink
// is entered (the ops must report to it as to a tape).
extern thread_local int tls_recording GT_TLS;

// The sink of this thread (nullptr: none); enter_sink/leave_sink set it and count it in
// tls_recording (tape.cpp).
extern thread_local RecordSink* tls_sink GT_TLS;
void enter_sink(RecordSink* sink);
void leave_sink();
// Whether a RecordingPause or TapePause is in effect on this thread (tapes entered now record
// nothing).
bool recording_paused();

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
