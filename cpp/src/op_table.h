#pragma once
#include <cstdint>
// THE list of primitive ops. Each row X(Enum, "name") names one op; the differentiable ones
// have a rule `void vjp_<Enum>(VjpCtx&)` written beside their forward in ops_<family>.cpp.
// The enum, the vjp dispatch table (op_table.cpp) and the Python-visible list of ops
// (gradtape._core.op_table(), which the tests check against API.md) all come from here.
// Composite ops (reduce_mean, stack, squeeze, clip_by_value, the cross-entropies, ...) are
// written with these and need no row.

#define GT_DIFFERENTIABLE_OPS(X)                                                        \
  /* ops_elementwise.cpp: unary */                                                      \
  X(Negative, "negative") X(Abs, "abs") X(Sign, "sign") X(Exp, "exp") X(Log, "log")     \
  X(Log1p, "log1p") X(Expm1, "expm1") X(Sqrt, "sqrt") X(Rsqrt, "rsqrt")                 \
  X(Square, "square") X(Reciprocal, "reciprocal") X(Sin, "sin") X(Cos, "cos")           \
  X(Tan, "tan") X(Tanh, "tanh") X(Sigmoid, "sigmoid") X(Relu, "relu")                   \
  X(Softplus, "softplus") X(Cast, "cast")                                               \
  /* ops_elementwise.cpp: binary and ternary */                                         \
  X(Add, "add") X(Subtract, "subtract") X(Multiply, "multiply") X(Divide, "divide")     \
  X(Pow, "pow") X(Maximum, "maximum") X(Minimum, "minimum") X(FloorMod, "floormod")     \
  X(Where, "where")                                                                     \
  /* ops_reduce.cpp */                                                                  \
  X(ReduceSum, "reduce_sum") X(ReduceMax, "reduce_max") X(ReduceMin, "reduce_min")      \
  X(ReduceProd, "reduce_prod") X(ReduceLogSumExp, "reduce_logsumexp")                   \
  /* ops_linalg.cpp */                                                                  \
  X(MatMul, "matmul")                                                                   \
  /* ops_shape.cpp */                                                                   \
  X(Transpose, "transpose") X(Reshape, "reshape") X(BroadcastTo, "broadcast_to")        \
  X(Concat, "concat") X(Gather, "gather") X(GatherGrad, "gather_grad")                  \
  X(StridedSlice, "strided_slice") X(StridedSliceGrad, "strided_slice_grad")            \
  /* ops_nn.cpp */                                                                      \
  X(Softmax, "softmax") X(LogSoftmax, "log_softmax")

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
  GT_DIFFERENTIABLE_OPS(GT_ENUM) GT_NONDIFFERENTIABLE_OPS(GT_ENUM)
#undef GT_ENUM
  Custom,  // a custom_gradient call: its rule is a hook stored on the tape
  Count
};

const char* op_name(OpId op);

}  // namespace gt
