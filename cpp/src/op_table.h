#pragma once
#include <cstdint>
// THE list of primitive ops. Each row X(Enum, "name") names one op; the differentiable ones
// have a rule `void vjp_<Enum>(VjpCtx&)` written beside their forward in ops_<family>.cpp.
// The enum, the vjp dispatch table (op_table.cpp) and the Python-visible list of ops
// (gradtape._core.op_table(), which the tests check against API.md) all come from here.
// Composite ops (reduce_mean, stack, squeeze, clip_by_value, the cross-entropies, ...) are
// written with these and need no row.

// Each differentiable row is X(Enum, "name", MASK): MASK says how a structural-zero mask of
// the upstream gradient (docs/structural-zeros.md) reaches the inputs' gradients:
//   Pass: elementwise, the input gradient has the output's positions (after broadcasting);
//   Self: the rule copies, sums or rearranges g, so running the rule on the indicator of
//         non-structural positions tells which input positions only received structural
//         zeros (only when g carries a mask);
//   Select: as Self, and always: the op picks positions (where, slices, gathers), so the
//         positions it did not pick become structural zeros even when g has no mask;
//   Sum:  a reduction: the rule of reduce_sum (broadcast back) carries the mask;
//   None: the mask stops here (matmul, softmax): its zeros become ordinary zeros.
#define GT_DIFFERENTIABLE_OPS(X)                                                              \
  /* ops_elementwise.cpp: unary */                                                            \
  X(Negative, "negative", Pass) X(Abs, "abs", Pass) X(Sign, "sign", Pass) X(Exp, "exp", Pass) \
  X(Log, "log", Pass) X(Log1p, "log1p", Pass) X(Expm1, "expm1", Pass) X(Sqrt, "sqrt", Pass)   \
  X(Rsqrt, "rsqrt", Pass) X(Square, "square", Pass) X(Reciprocal, "reciprocal", Pass)         \
  X(Sin, "sin", Pass) X(Cos, "cos", Pass) X(Tan, "tan", Pass) X(Tanh, "tanh", Pass)           \
  X(Sigmoid, "sigmoid", Pass) X(Relu, "relu", Pass) X(Softplus, "softplus", Pass)             \
  X(Cast, "cast", Pass)                                                                       \
  /* ops_elementwise.cpp: binary and ternary */                                               \
  X(Add, "add", Pass) X(Subtract, "subtract", Pass) X(Multiply, "multiply", Pass)             \
  X(Divide, "divide", Pass) X(Pow, "pow", Pass) X(Maximum, "maximum", Pass)                   \
  X(Minimum, "minimum", Pass) X(FloorMod, "floormod", Pass) X(Where, "where", Select)           \
  /* ops_reduce.cpp */                                                                        \
  X(ReduceSum, "reduce_sum", Self) X(ReduceMax, "reduce_max", Sum)                            \
  X(ReduceMin, "reduce_min", Sum) X(ReduceProd, "reduce_prod", Sum)                           \
  X(ReduceLogSumExp, "reduce_logsumexp", Sum) X(ProdOthers, "prod_others", None)             \
  X(ProdOthersGrad, "prod_others_grad", None)             \
  /* ops_linalg.cpp */                                                                        \
  X(MatMul, "matmul", None)                                                                   \
  /* ops_shape.cpp */                                                                         \
  X(Transpose, "transpose", Self) X(Reshape, "reshape", Self)                                 \
  X(BroadcastTo, "broadcast_to", Self) X(Concat, "concat", Self) X(Gather, "gather", Select)    \
  X(GatherGrad, "gather_grad", Self) X(StridedSlice, "strided_slice", Select)                   \
  X(StridedSliceGrad, "strided_slice_grad", Self)                                             \
  /* ops_nn.cpp */                                                                            \
  X(Softmax, "softmax", None) X(LogSoftmax, "log_softmax", None)

// Never recorded: their outputs carry no gradient (None), as in TensorFlow.
#define GT_NONDIFFERENTIABLE_OPS(X)                                                     \
  X(Floor, "floor") X(FloorDiv, "floordiv") X(Greater, "greater")                       \
  X(GreaterEqual, "greater_equal") X(Less, "less") X(LessEqual, "less_equal")           \
  X(Equal, "equal") X(NotEqual, "not_equal") X(LogicalAnd, "logical_and")               \
  X(LogicalOr, "logical_or") X(LogicalNot, "logical_not") X(OneHot, "one_hot")          \
  X(Fill, "fill") X(Range, "range")

namespace gt {

enum class OpId : uint16_t {
#define GT_ENUM(E, name) E,
#define GT_ENUM3(E, name, mask) E,
  GT_DIFFERENTIABLE_OPS(GT_ENUM3) GT_NONDIFFERENTIABLE_OPS(GT_ENUM)
#undef GT_ENUM
#undef GT_ENUM3
  Custom,  // a custom_gradient call: its rule is a hook stored on the tape
  Count
};

const char* op_name(OpId op);

// How a structural-zero mask crosses each op's rule (see the table's comment).
enum class MaskRule : uint8_t { None, Pass, Self, Select, Sum };
MaskRule mask_rule(OpId op);

}  // namespace gt
