"""The op table of the tests: every public op with its NumPy reference, the inputs to try,
and whether (and to which order) it is differentiable. test_ops.py loops over it; meta-tests
fail when a row of the op manifest (cpp/include/gradtape/ops.def) has no row here: a public
function with no test, or a gradient rule with no gradient check.
"""
import math

import numpy as np
import gradtape as gt

RNG = np.random.default_rng(1234)

# Shape pairs for binary ops: broadcasting, scalars with matrices, equal shapes, empty.
BROADCAST_PAIRS = [((3, 1), (1, 4)), ((), (2, 3)), ((2, 3), ()), ((4,), (4,)), ((2, 1, 3), (4, 1))]
EMPTY_PAIRS = [((0, 3), (1, 3)), ((0,), ())]
UNARY_SHAPES = [(), (5,), (2, 3)]
AXES_3D = [None, 0, 1, 2, -1, [0, 1], [0, 2], [1, 2], [0, 1, 2], [-1, 0]]


def sigmoid_np(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def softplus_np(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def logsumexp_np(x, axis=None, keepdims=False):
    ax = tuple(axis) if isinstance(axis, list) else axis
    m = np.max(x, axis=ax, keepdims=True)
    r = np.log(np.sum(np.exp(x - m), axis=ax, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=ax) if ax is not None else r.reshape(())


def softmax_np(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax_np(x, axis=-1):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


class Unary:
    """An elementwise op of one tensor. `low`/`high` bound the inputs (domain)."""

    def __init__(self, name, fn, ref, low=-2.0, high=2.0, grad=True, order2=True, ints=False):
        self.name, self.fn, self.ref = name, fn, ref
        self.low, self.high, self.grad, self.order2, self.ints = low, high, grad, order2, ints

    def inputs(self, shape, dtype):
        return [RNG.uniform(self.low, self.high, size=shape).astype(dtype)]


class Binary:
    def __init__(self, name, fn, ref, low=-2.0, high=2.0, grad=True, order2=True, out_bool=False,
                 low_b=None, high_b=None, ints=True):
        self.name, self.fn, self.ref = name, fn, ref
        self.low, self.high, self.grad, self.order2, self.out_bool = low, high, grad, order2, out_bool
        self.low_b = low if low_b is None else low_b
        self.high_b = high if high_b is None else high_b
        self.ints = ints

    def inputs(self, shapes, dtype):
        a = RNG.uniform(self.low, self.high, size=shapes[0]).astype(dtype)
        b = RNG.uniform(self.low_b, self.high_b, size=shapes[1]).astype(dtype)
        return [a, b]


class Reduction:
    def __init__(self, name, fn, ref, grad=True, order2=True, low=-2.0, high=2.0):
        self.name, self.fn, self.ref, self.grad, self.order2 = name, fn, ref, grad, order2
        self.low, self.high = low, high


def _np_reduce(np_fn):
    def ref(x, axis=None, keepdims=False):
        ax = tuple(axis) if isinstance(axis, list) else axis
        return np_fn(x, axis=ax, keepdims=keepdims)
    return ref


UNARY = [
    Unary("negative", gt.negative, np.negative, ints=True),
    Unary("abs", gt.abs, np.abs, ints=True),
    Unary("sign", gt.sign, np.sign, ints=True),
    Unary("exp", gt.exp, np.exp),
    Unary("log", gt.math.log, np.log, low=0.2, high=3.0),
    Unary("log1p", gt.math.log1p, np.log1p, low=-0.5, high=3.0),
    Unary("expm1", gt.math.expm1, np.expm1),
    Unary("sqrt", gt.sqrt, np.sqrt, low=0.2, high=3.0),
    Unary("rsqrt", gt.math.rsqrt, lambda x: 1 / np.sqrt(x), low=0.2, high=3.0),
    Unary("square", gt.square, np.square, ints=True),
    Unary("reciprocal", gt.math.reciprocal, np.reciprocal, low=0.3, high=3.0),
    Unary("sin", gt.sin, np.sin),
    Unary("cos", gt.cos, np.cos),
    Unary("tan", gt.tan, np.tan, low=-1.2, high=1.2),
    Unary("tanh", gt.tanh, np.tanh),
    Unary("sigmoid", gt.sigmoid, sigmoid_np),
    Unary("nn.relu", gt.nn.relu, lambda x: np.maximum(x, 0)),
    Unary("nn.sigmoid", gt.nn.sigmoid, sigmoid_np),
    Unary("nn.tanh", gt.nn.tanh, np.tanh),
    Unary("nn.softplus", gt.nn.softplus, softplus_np),
    Unary("cast", lambda x: gt.cast(gt.cast(x, gt.float64), x.dtype) * 1.0, lambda x: x),
    Unary("logical_not", None, None, grad=False),  # tested in test_logical
    Unary("floor", gt.floor, np.floor, grad=False),
    Unary("identity", gt.identity, lambda x: x),
    Unary("math.log_sigmoid", gt.math.log_sigmoid, lambda x: -softplus_np(-x)),
    Unary("math.erf", gt.math.erf, np.vectorize(math.erf, otypes=[np.float64]), low=-3.0, high=3.0),
]

BINARY = [
    Binary("add", gt.add, np.add),
    Binary("subtract", gt.subtract, np.subtract),
    Binary("multiply", gt.multiply, np.multiply),
    Binary("divide", gt.divide, np.divide, low_b=0.5, high_b=2.0, ints=False),
    Binary("truediv", gt.truediv, np.divide, low_b=0.5, high_b=2.0, ints=False),
    Binary("pow", gt.pow, np.power, low=0.5, high=2.0, ints=False),
    Binary("maximum", gt.maximum, np.maximum),
    Binary("minimum", gt.minimum, np.minimum),
    Binary("greater", gt.greater, np.greater, grad=False, out_bool=True),
    Binary("greater_equal", gt.greater_equal, np.greater_equal, grad=False, out_bool=True),
    Binary("less", gt.less, np.less, grad=False, out_bool=True),
    Binary("less_equal", gt.less_equal, np.less_equal, grad=False, out_bool=True),
    Binary("equal", gt.equal, np.equal, grad=False, out_bool=True),
    Binary("not_equal", gt.not_equal, np.not_equal, grad=False, out_bool=True),
]

REDUCTIONS = [
    Reduction("reduce_sum", gt.reduce_sum, _np_reduce(np.sum)),
    Reduction("reduce_mean", gt.reduce_mean, _np_reduce(np.mean)),
    Reduction("reduce_max", gt.reduce_max, _np_reduce(np.max)),
    Reduction("reduce_min", gt.reduce_min, _np_reduce(np.min)),
    Reduction("reduce_prod", gt.reduce_prod, _np_reduce(np.prod)),
    Reduction("reduce_logsumexp", gt.reduce_logsumexp, logsumexp_np),
]


class Special:
    """An op with its own inputs: fn(*inputs) vs ref(*inputs); float inputs are differentiated."""

    def __init__(self, name, fn, ref, make_inputs, grad=True, order2=True):
        self.name, self.fn, self.ref, self.make_inputs = name, fn, ref, make_inputs
        self.grad, self.order2 = grad, order2


def _u(*shape, low=-2.0, high=2.0):
    return lambda dtype: RNG.uniform(low, high, size=shape).astype(dtype)


def _labels(dtype):
    p = RNG.uniform(0.1, 1.0, size=(4, 5))
    return (p / p.sum(-1, keepdims=True)).astype(dtype)


SPECIAL = [
    Special("matmul", gt.matmul, np.matmul, lambda d: [_u(3, 4)(d), _u(4, 2)(d)]),
    Special("matmul_batched_broadcast", gt.matmul, np.matmul, lambda d: [_u(2, 3, 4)(d), _u(4, 5)(d)]),
    Special("matmul_transpose_b", lambda a, b: gt.matmul(a, b, transpose_b=True),
            lambda a, b: a @ np.swapaxes(b, -1, -2), lambda d: [_u(3, 4)(d), _u(5, 4)(d)]),
    Special("matmul_transpose_a", lambda a, b: gt.matmul(a, b, transpose_a=True),
            lambda a, b: np.swapaxes(a, -1, -2) @ b, lambda d: [_u(4, 3)(d), _u(4, 2)(d)]),
    Special("matmul_matvec", gt.matmul, np.matmul, lambda d: [_u(3, 4)(d), _u(4)(d)]),
    Special("matmul_shared_matrix_times_vectors", gt.matmul, np.matmul, lambda d: [_u(3, 4)(d), _u(2, 4, 1)(d)]),
    Special("matmul_shared_transposed_times_vectors", lambda a, b: gt.matmul(a, b, transpose_a=True),
            lambda a, b: a.T @ b, lambda d: [_u(4, 3)(d), _u(2, 4, 1)(d)]),
    Special("matmul_stack_times_matrix_transposed", lambda a, b: gt.matmul(a, b, transpose_b=True),
            lambda a, b: a @ b.T, lambda d: [_u(2, 3, 4)(d), _u(5, 4)(d)]),
    Special("transpose", gt.transpose, np.transpose, lambda d: [_u(2, 3, 4)(d)]),
    Special("transpose_perm", lambda x: gt.transpose(x, perm=[1, 2, 0]),
            lambda x: np.transpose(x, (1, 2, 0)), lambda d: [_u(2, 3, 4)(d)]),
    Special("reshape", lambda x: gt.reshape(x, [3, -1]), lambda x: x.reshape(3, -1), lambda d: [_u(2, 3, 2)(d)]),
    Special("expand_dims", lambda x: gt.expand_dims(x, 1), lambda x: np.expand_dims(x, 1), lambda d: [_u(2, 3)(d)]),
    Special("squeeze", lambda x: gt.squeeze(x), np.squeeze, lambda d: [_u(2, 1, 3, 1)(d)]),
    Special("squeeze_axis", lambda x: gt.squeeze(x, axis=[1]), lambda x: np.squeeze(x, 1), lambda d: [_u(2, 1, 3, 1)(d)]),
    Special("concat", lambda a, b: gt.concat([a, b], axis=1), lambda a, b: np.concatenate([a, b], 1),
            lambda d: [_u(2, 3)(d), _u(2, 2)(d)]),
    Special("concat_axis0", lambda a, b, c: gt.concat([a, b, c], 0), lambda a, b, c: np.concatenate([a, b, c], 0),
            lambda d: [_u(1, 3)(d), _u(2, 3)(d), _u(1, 3)(d)]),
    Special("stack", lambda a, b: gt.stack([a, b], axis=1), lambda a, b: np.stack([a, b], 1),
            lambda d: [_u(2, 3)(d), _u(2, 3)(d)]),
    Special("gather", lambda p: gt.gather(p, gt.constant([2, 0, 2])), lambda p: p[[2, 0, 2]],
            lambda d: [_u(3, 4)(d)]),
    Special("gather_axis1", lambda p: gt.gather(p, gt.constant([[1, 1], [0, 3]]), axis=1),
            lambda p: np.take(p, [[1, 1], [0, 3]], axis=1), lambda d: [_u(2, 4)(d)]),
    Special("where", lambda a, b: gt.where(gt.constant([[True], [False], [True]]), a, b),
            lambda a, b: np.where(np.array([[True], [False], [True]]), a, b), lambda d: [_u(3, 4)(d), _u(1, 4)(d)]),
    Special("clip_by_value", lambda x: gt.clip_by_value(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7),
            lambda d: [_u(3, 4)(d)]),
    Special("slice", lambda x: x[1:, ::2, None, -1], lambda x: x[1:, ::2, None, -1], lambda d: [_u(3, 4, 2)(d)]),
    Special("slice_negative_step", lambda x: x[::-1, 1], lambda x: x[::-1, 1], lambda d: [_u(3, 4)(d)]),
    Special("boolean_mask", lambda x: gt.boolean_mask(x, gt.constant([True, False, True])),
            lambda x: x[[True, False, True]], lambda d: [_u(3, 2)(d)]),
    Special("nn.softmax", gt.nn.softmax, softmax_np, lambda d: [_u(3, 4)(d)]),
    Special("nn.softmax_axis0", lambda x: gt.nn.softmax(x, axis=0), lambda x: softmax_np(x, 0), lambda d: [_u(3, 4)(d)]),
    Special("nn.log_softmax", gt.nn.log_softmax, log_softmax_np, lambda d: [_u(3, 4)(d)]),
    Special("nn.softmax_cross_entropy_with_logits",
            lambda labels, logits: gt.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits),
            lambda labels, logits: -(labels * log_softmax_np(logits)).sum(-1),
            lambda d: [_labels(d), _u(4, 5)(d)]),
    Special("nn.sparse_softmax_cross_entropy_with_logits",
            lambda logits: gt.nn.sparse_softmax_cross_entropy_with_logits(labels=gt.constant([0, 4, 2, 2]), logits=logits),
            lambda logits: -log_softmax_np(logits)[np.arange(4), [0, 4, 2, 2]],
            lambda d: [_u(4, 5)(d)]),
    Special("reduce_sum_keepdims", lambda x: gt.reduce_sum(x, axis=1, keepdims=True),
            lambda x: x.sum(1, keepdims=True), lambda d: [_u(2, 3)(d)]),
    Special("reduce_prod_with_zero", lambda x: gt.reduce_prod(x * gt.constant([1., 0., 1.], dtype=x.dtype), axis=1),
            lambda x: (x * np.array([1., 0., 1.])).prod(1), lambda d: [_u(2, 3)(d)]),
    Special("reduce_prod_middle_axes", lambda x: gt.reduce_prod(x, axis=[0, 2]), lambda x: x.prod((0, 2)),
            lambda d: [_u(2, 3, 2)(d)]),
    Special("pow_operator", lambda x: x ** 3, lambda x: x ** 3, lambda d: [_u(2, 3)(d)]),
]

# Ops that create tensors or compare/combine booleans; tested for values in test_ops.py.
NON_DIFFERENTIABLE = ["zeros", "ones", "zeros_like", "ones_like", "fill", "range", "logical_and",
                      "logical_or", "logical_not", "greater", "greater_equal", "less", "less_equal",
                      "equal", "not_equal", "cast"]


# Gradient rules checked through other rows (internal primitives, rules of rules): the
# manifest's op name -> where its check runs.
CHECKED_THROUGH = {
    "gather_grad": "gather's second-order check",
    "strided_slice": "the slice rows (x[...])",
    "strided_slice_grad": "the slice rows' second-order check",
    "prod_others": "reduce_prod's rows",
    "prod_others_grad": "reduce_prod's second-order check (and test_hostile.py)",
    "floormod": "test_ops.py::test_floormod_gradient",
    "broadcast_to": "test_ops.py::test_broadcast_to_gradient",
}

# Public functions tested outside the parametrized rows: name -> the test.
TESTED_ELSEWHERE = {
    "floordiv": "test_ops.py::test_operators_match_functions",
    "floormod": "test_ops.py::test_operators_match_functions, test_floormod_gradient",
    "stop_gradient": "test_ops.py::test_stop_gradient_blocks_the_gradient",
    "constant": "test_tensor.py",
    "convert_to_tensor": "test_tensor.py",
    "reduce_any": "test_ops.py::test_reduce_any_all",
    "reduce_all": "test_ops.py::test_reduce_any_all",
    "one_hot": "test_ops.py::test_one_hot",
    "broadcast_to": "test_ops.py::test_broadcast_to_gradient",
}


def table_names():
    """Every op name the table covers (for the meta-tests), with and without its namespace."""
    names = set()
    for row in UNARY + BINARY + REDUCTIONS + SPECIAL:
        base = row.name.split("_axis")[0].split("_keepdims")[0]
        names.update({base, row.name, base.split(".")[-1], row.name.split(".")[-1]})
    names.update(NON_DIFFERENTIABLE)
    return names
