// The registry of step functions (gradtape/program.h): every function an op step of a program
// can call, under a unique key, so that a saved program names its steps' functions and a loaded
// one calls the same ones. The op manifest's rows register themselves (Unary, Binary, Reduce by
// their fixed signatures, Args rows by the signature the row gives); the Custom rows and the
// other step functions (gradtape/steps.h) are listed here by hand, once.
#include "gradtape/ops.h"
#include "gradtape/program.h"
#include "gradtape/steps.h"

namespace gt::program_detail {

namespace {
using UnaryFn = Tensor (*)(const Tensor&);
using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);
using ReduceFn = Tensor (*)(const Tensor&, const Axes&, bool);

template <auto F, class... A>
void random_steps(const char* name) {
  register_op(std::string(name) + "/stream", &steps::draw_stream<F, A...>);
  register_op(std::string(name) + "/seeded", &steps::draw_copy<F, A...>);
  register_op(std::string(name) + "/generator", &steps::draw_generator<F, A...>);
  register_op(std::string(name) + "/seed_tensor", &steps::draw_seed<F, A...>);
}
}  // namespace

void register_builtin_steps() {
#define GT_REG_Unary(fn) register_op(#fn, static_cast<UnaryFn>(&gt::fn));
#define GT_REG_Binary(fn) register_op(#fn, static_cast<BinaryFn>(&gt::fn));
#define GT_REG_Reduce(fn) register_op(#fn, static_cast<ReduceFn>(&gt::fn));
#define GT_REG_Custom(fn)
#define GT_REG_Internal(fn)
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc) GT_REG_##kind(fn)
#define GT_FN(fn, kind, ns, sig, doc) GT_REG_##kind(fn)
#define GT_OP_ARGS(E, fn, mask, jvp, ns, ret, params, sig, doc) register_op(#fn, static_cast<ret(*) params>(&gt::fn));
#define GT_FN_ARGS(fn, ns, ret, params, sig, doc) register_op(#fn, static_cast<ret(*) params>(&gt::fn));
#include "gradtape/ops.def"
#undef GT_REG_Unary
#undef GT_REG_Binary
#undef GT_REG_Reduce
#undef GT_REG_Custom
#undef GT_REG_Internal
#undef GT_OP
#undef GT_FN
#undef GT_OP_ARGS
#undef GT_FN_ARGS

  // The Custom rows (bound by hand) and the ops their bindings compose.
  register_op("cast", &gt::cast);
  register_op("where", &gt::where);
  register_op("clip_by_value", &gt::clip_by_value);
  register_op("matmul", &gt::matmul);
  register_op("transpose", &gt::transpose);
  register_op("reshape", &gt::reshape);
  register_op("expand_dims", &gt::expand_dims);
  register_op("squeeze", &gt::squeeze);
  register_op("broadcast_to", &gt::broadcast_to);
  register_op("concat", &gt::concat);
  register_op("stack", &gt::stack);
  register_op("gather", &gt::gather);
  register_op("gather_batched", &gt::gather_batched);
  register_op("strided_slice", &gt::strided_slice);
  register_op("one_hot", &gt::one_hot);
  register_op("zeros", static_cast<Tensor (*)(const Shape&, DType)>(&gt::zeros));
  register_op("ones", static_cast<Tensor (*)(const Shape&, DType)>(&gt::ones));
  register_op("range", &gt::range);
  register_op("range_int", &gt::range_int);
  register_op("softmax", &gt::softmax);
  register_op("log_softmax", &gt::log_softmax);
  register_op("softmax_cross_entropy_with_logits", &gt::softmax_cross_entropy_with_logits);
  register_op("sparse_softmax_cross_entropy_with_logits", &gt::sparse_softmax_cross_entropy_with_logits);

  // gradtape/steps.h
  register_op("assign", &steps::assign_variable);
  register_op("assign_add", &steps::assign_add_variable);
  register_op("assign_sub", &steps::assign_sub_variable);
  register_op("optimizer_step", &steps::optimizer_step);
  register_op("optimizer_step/scaled", &steps::optimizer_step_scaled);
  register_op("where_coords", &steps::where_coords);
  register_op("getitem", &steps::getitem);
  register_op("random_fold_in", &steps::fold_in);
  register_op("unique_first", &steps::unique_first);
  register_op("unique_index", &steps::unique_index);
  register_op("unique_count", &steps::unique_count);
  register_op("reduce_any", &steps::reduce_any_bool);
  register_op("reduce_all", &steps::reduce_all_bool);
  register_op("zeros_like", &steps::zeros_like_as);
  register_op("ones_like", &steps::ones_like_as);
  register_op("fill", &steps::fill_with);
  register_op("reshape/tensor", &steps::reshape_to);
  register_op("truediv", &steps::truediv);
  register_op("matmul/operator", &steps::matmul2);
  register_op("print", &steps::print);
  random_steps<&random::uniform, Shape, DType, double, double>("random_uniform");
  random_steps<&random::uniform_int, Shape, DType, int64_t, int64_t>("random_uniform_int");
  random_steps<&random::uniform_full_int, Shape, DType>("random_uniform_full_int");
  random_steps<&random::normal, Shape, DType, double, double>("random_normal");
  random_steps<&random::truncated_normal, Shape, DType, double, double>("random_truncated_normal");
  random_steps<&random::shuffle, Tensor>("random_shuffle");
  random_steps<&random::categorical, Tensor, int64_t, DType>("random_categorical");
  random_steps<&random::gamma, Shape, Tensor, Tensor>("random_gamma");
  random_steps<&random::poisson, Shape, Tensor, DType>("random_poisson");
}

}  // namespace gt::program_detail
