"""The op table of the tests: every public op with its NumPy reference, the inputs to try,
and whether (and to which order) it is differentiable. test_ops.py loops over it; meta-tests
fail when a row of the op manifest (cpp/include/gradtape/ops.def) has no row here: a public
function with no test, or a gradient rule with no gradient check.
"""
import math

import mpmath
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


def _mp(fn):
    """A float64 NumPy ufunc from an mpmath function."""
    return np.vectorize(lambda v: float(fn(v)), otypes=[np.float64])


def selu_np(x):
    scale, alpha = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
    return np.where(x < 0, scale * alpha * np.expm1(np.minimum(x, 0)), scale * x)


def gelu_np(x, approximate=False):
    if approximate:
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + _mp(mpmath.erf)(x / np.sqrt(2)))


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
    Unary("math.erfc", gt.math.erfc, np.vectorize(math.erfc, otypes=[np.float64]), low=-3.0, high=3.0),
    Unary("math.erfinv", gt.math.erfinv, _mp(mpmath.erfinv), low=-0.9, high=0.9),
    Unary("math.erfcinv", gt.math.erfcinv, _mp(lambda v: mpmath.erfinv(1 - v)), low=0.1, high=1.9),
    Unary("math.ndtri", gt.math.ndtri, _mp(lambda v: mpmath.sqrt(2) * mpmath.erfinv(2 * v - 1)), low=0.05, high=0.95),
    Unary("math.bessel_i0", gt.math.bessel_i0, _mp(lambda v: mpmath.besseli(0, v)), low=-3.0, high=3.0),
    Unary("math.bessel_i0e", gt.math.bessel_i0e, _mp(lambda v: mpmath.besseli(0, v) * mpmath.exp(-abs(v))),
          low=-3.0, high=3.0),
    Unary("math.bessel_i1", gt.math.bessel_i1, _mp(lambda v: mpmath.besseli(1, v)), low=-3.0, high=3.0),
    Unary("math.bessel_i1e", gt.math.bessel_i1e, _mp(lambda v: mpmath.besseli(1, v) * mpmath.exp(-abs(v))),
          low=-3.0, high=3.0),
    Unary("atan", gt.atan, np.arctan, low=-3.0, high=3.0),
    Unary("asin", gt.asin, np.arcsin, low=-0.9, high=0.9),
    Unary("acos", gt.acos, np.arccos, low=-0.9, high=0.9),
    Unary("sinh", gt.sinh, np.sinh),
    Unary("cosh", gt.cosh, np.cosh),
    Unary("asinh", gt.asinh, np.arcsinh, low=-3.0, high=3.0),
    Unary("acosh", gt.acosh, np.arccosh, low=1.2, high=4.0),
    Unary("atanh", gt.atanh, np.arctanh, low=-0.9, high=0.9),
    Unary("math.lgamma", gt.math.lgamma, np.vectorize(math.lgamma, otypes=[np.float64]), low=0.3, high=5.0),
    Unary("math.digamma", gt.math.digamma, _mp(mpmath.digamma), low=0.3, high=5.0),
    Unary("round", gt.round, np.round, grad=False, ints=True),
    Unary("math.rint", gt.math.rint, np.rint, grad=False),
    Unary("math.ceil", gt.math.ceil, np.ceil, grad=False),
    Unary("nn.selu", gt.nn.selu, selu_np),
    Unary("nn.relu6", gt.nn.relu6, lambda x: np.clip(x, 0, 6), low=-2.0, high=8.0),
    Unary("nn.softsign", gt.nn.softsign, lambda x: x / (np.abs(x) + 1)),
    Unary("math.softsign", gt.math.softsign, lambda x: x / (np.abs(x) + 1)),
    Unary("nn.l2_loss", gt.nn.l2_loss, lambda x: np.sum(x * x) / 2),
    Unary("nn.gelu", gt.nn.gelu, gelu_np, low=-3.0, high=3.0),
    Unary("nn.silu", gt.nn.silu, lambda x: x * sigmoid_np(x)),
    Unary("nn.swish", gt.nn.swish, lambda x: x * sigmoid_np(x)),
    Unary("nn.leaky_relu", gt.nn.leaky_relu, lambda x: np.where(x > 0, x, x * np.float32(0.2))),
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
    Binary("atan2", gt.atan2, np.arctan2, ints=False),
    Binary("math.xlogy", gt.math.xlogy, lambda x, y: np.where(x == 0, 0.0, x * np.log(y)).astype(x.dtype),
           low_b=0.5, high_b=2.0, ints=False),
    Binary("math.xdivy", gt.math.xdivy, lambda x, y: np.where(x == 0, 0.0, x / y).astype(x.dtype),
           low_b=0.5, high_b=2.0, ints=False),
    Binary("math.xlog1py", gt.math.xlog1py, lambda x, y: np.where(x == 0, 0.0, x * np.log1p(y)).astype(x.dtype),
           low_b=-0.5, high_b=2.0, ints=False),
    Binary("math.multiply_no_nan", gt.math.multiply_no_nan, np.multiply, ints=False),
    Binary("math.divide_no_nan", gt.math.divide_no_nan, np.divide, low_b=0.5, high_b=2.0, ints=False),
    Binary("math.squared_difference", gt.math.squared_difference, lambda x, y: (x - y) ** 2),
    Binary("truncatediv", gt.truncatediv, lambda x, y: np.trunc(x / y), low_b=0.5, high_b=2.0, grad=False,
           ints=False),
    Binary("truncatemod", gt.truncatemod, np.fmod, low_b=0.5, high_b=2.0, grad=False, ints=False),
]

REDUCTIONS = [
    Reduction("reduce_sum", gt.reduce_sum, _np_reduce(np.sum)),
    Reduction("reduce_mean", gt.reduce_mean, _np_reduce(np.mean)),
    Reduction("reduce_max", gt.reduce_max, _np_reduce(np.max)),
    Reduction("reduce_min", gt.reduce_min, _np_reduce(np.min)),
    Reduction("reduce_prod", gt.reduce_prod, _np_reduce(np.prod)),
    Reduction("reduce_logsumexp", gt.reduce_logsumexp, logsumexp_np),
    Reduction("math.reduce_euclidean_norm", gt.math.reduce_euclidean_norm,
              _np_reduce(lambda x, axis, keepdims: np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))),
              low=0.5, high=2.0),
]


class Special:
    """An op with its own inputs: fn(*inputs) vs ref(*inputs); float inputs are differentiated.
    `exact`: the result is compared as is (values and dtype, e.g. an int result), not cast to
    the inputs' float dtype; such a row is not differentiated."""

    def __init__(self, name, fn, ref, make_inputs, grad=True, order2=True, exact=False):
        self.name, self.fn, self.ref, self.make_inputs = name, fn, ref, make_inputs
        self.grad, self.order2, self.exact = grad and not exact, order2, exact


def _u(*shape, low=-2.0, high=2.0):
    return lambda dtype: RNG.uniform(low, high, size=shape).astype(dtype)


def _labels(dtype):
    p = RNG.uniform(0.1, 1.0, size=(4, 5))
    return (p / p.sum(-1, keepdims=True)).astype(dtype)


# ---- shape ops (tile, pad, reverse, roll, gathers and scatters, split, unstack, meshgrid, ...)

def _pieces(fn, weights):
    """A list-valued op as one tensor: each piece times its weight, concatenated flat."""
    def f(*xs):
        return gt.concat([gt.reshape(p, [-1]) * w for p, w in zip(fn(*xs), weights)], 0)
    return f


def _pieces_np(fn, weights):
    def f(*xs):
        return np.concatenate([np.reshape(p, -1) * w for p, w in zip(fn(*xs), weights)])
    return f


_IDX_ND = np.array([[1, 2], [0, 0], [1, 2]])
_SEG = np.array([0, 0, 2, 2, 2])


def _np_segment(x, ids, num, fn, empty=0.0):
    return np.stack([fn(x[ids == s], axis=0) if np.any(ids == s) else np.full(x.shape[1:], empty)
                     for s in range(num)]).astype(x.dtype)


def _scatter_np(idx, upd, shape):
    out = np.zeros(shape, upd.dtype)
    np.add.at(out, tuple(idx.T), upd)
    return out


def _tsu_np(t, idx, upd):
    out = t.copy()
    out[tuple(idx.T)] = upd
    return out


def _top_k_np(x, k):
    order = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(x, order, -1)


SHAPE_SPECIAL = [
    Special("tile", lambda x: gt.tile(x, [2, 3]), lambda x: np.tile(x, (2, 3)), lambda d: [_u(2, 3)(d)]),
    Special("tile_3d", lambda x: gt.tile(x, [1, 2, 2]), lambda x: np.tile(x, (1, 2, 2)), lambda d: [_u(2, 1, 3)(d)]),
    Special("pad", lambda x: gt.pad(x, [[1, 0], [2, 1]], constant_values=0.5),
            lambda x: np.pad(x, [[1, 0], [2, 1]], constant_values=0.5), lambda d: [_u(2, 3)(d)]),
    Special("pad_reflect", lambda x: gt.pad(x, [[1, 1], [2, 2]], "REFLECT"),
            lambda x: np.pad(x, [[1, 1], [2, 2]], "reflect"), lambda d: [_u(2, 3)(d)]),
    Special("pad_symmetric", lambda x: gt.pad(x, [[2, 1], [0, 3]], "SYMMETRIC"),
            lambda x: np.pad(x, [[2, 1], [0, 3]], "symmetric"), lambda d: [_u(2, 3)(d)]),
    Special("reverse", lambda x: gt.reverse(x, [0, -1]), lambda x: x[::-1, :, ::-1], lambda d: [_u(2, 3, 2)(d)]),
    Special("roll", lambda x: gt.roll(x, [1, -4], [0, 1]), lambda x: np.roll(x, (1, -4), (0, 1)),
            lambda d: [_u(2, 3)(d)]),
    Special("gather_nd", lambda p: gt.gather_nd(p, _IDX_ND), lambda p: p[tuple(_IDX_ND.T)], lambda d: [_u(2, 3)(d)]),
    Special("gather_nd_slices", lambda p: gt.gather_nd(p, [[[1]], [[0]]]), lambda p: p[[[1], [0]]],
            lambda d: [_u(2, 3)(d)]),
    Special("scatter_nd", lambda u: gt.scatter_nd(_IDX_ND, u, [2, 3]), lambda u: _scatter_np(_IDX_ND, u, (2, 3)),
            lambda d: [_u(3)(d)]),
    Special("tensor_scatter_nd_update", lambda t, u: gt.tensor_scatter_nd_update(t, [[1], [0]], u),
            lambda t, u: _tsu_np(t, np.array([[1], [0]]), u), lambda d: [_u(3, 2)(d), _u(2, 2)(d)]),
    Special("tensor_scatter_nd_add", lambda t, u: gt.tensor_scatter_nd_add(t, _IDX_ND, u),
            lambda t, u: t + _scatter_np(_IDX_ND, u, t.shape), lambda d: [_u(2, 3)(d), _u(3)(d)]),
    Special("split", _pieces(lambda x: gt.split(x, [1, -1, 1], axis=1), [1.0, 2.0, 3.0]),
            _pieces_np(lambda x: np.split(x, [1, 3], axis=1), [1.0, 2.0, 3.0]), lambda d: [_u(2, 4)(d)]),
    Special("split_equal", _pieces(lambda x: gt.split(x, 2), [1.0, -1.0]),
            _pieces_np(lambda x: np.split(x, 2), [1.0, -1.0]), lambda d: [_u(4, 2)(d)]),
    Special("unstack", _pieces(lambda x: gt.unstack(x, axis=1), [1.0, 2.0, 3.0]),
            _pieces_np(lambda x: [x[:, i] for i in range(3)], [1.0, 2.0, 3.0]), lambda d: [_u(2, 3)(d)]),
    Special("meshgrid", _pieces(lambda a, b: gt.meshgrid(a, b), [1.0, 2.0]), _pieces_np(np.meshgrid, [1.0, 2.0]),
            lambda d: [_u(3)(d), _u(2)(d)]),
    Special("meshgrid_ij", _pieces(lambda a, b: gt.meshgrid(a, b, indexing="ij"), [1.0, 2.0]),
            _pieces_np(lambda a, b: np.meshgrid(a, b, indexing="ij"), [1.0, 2.0]), lambda d: [_u(3)(d), _u(2)(d)]),
    Special("boolean_mask_axis1", lambda x: gt.boolean_mask(x, [True, False, True], axis=1),
            lambda x: x[:, [0, 2]], lambda d: [_u(2, 3, 2)(d)]),
    Special("index_with_scalar_tensor", lambda x: x[gt.constant(1), gt.constant(1):gt.constant(3)],
            lambda x: x[1, 1:3], lambda d: [_u(2, 4)(d)]),
    Special("shape", lambda x: gt.shape(x), lambda x: np.array(x.shape, np.int32), lambda d: [_u(2, 3)(d)], exact=True),
    Special("shape_int64", lambda x: gt.shape(x, out_type=gt.int64), lambda x: np.array(x.shape, np.int64),
            lambda d: [_u(2, 3)(d)], exact=True),
    Special("shape_n", lambda x, y: gt.concat(gt.shape_n([x, y]), 0), lambda x, y: np.array(x.shape + y.shape, np.int32),
            lambda d: [_u(2, 3)(d), _u(4)(d)], exact=True),
    Special("size", gt.size, lambda x: np.int32(x.size), lambda d: [_u(2, 3)(d)], exact=True),
    Special("rank", gt.rank, lambda x: np.int32(x.ndim), lambda d: [_u(2, 3)(d)], exact=True),
    Special("eye", lambda x: gt.eye(2, 3, batch_shape=[2], dtype=x.dtype),
            lambda x: np.broadcast_to(np.eye(2, 3, dtype=x.dtype), (2, 2, 3)), lambda d: [_u(1)(d)], exact=True),
    Special("broadcast_dynamic_shape", lambda x: gt.broadcast_dynamic_shape([2, 1, 3], [4, 1]),
            lambda x: np.array([2, 4, 3], np.int32), lambda d: [_u(1)(d)], exact=True),
    Special("where_one_argument", lambda x: gt.where(x > 0), lambda x: np.argwhere(x > 0),
            lambda d: [_u(3, 4)(d)], exact=True),
]

# ---- scans, sorting, segments

REDUCE_SPECIAL = [
    Special("cumsum", lambda x: gt.cumsum(x, axis=1), lambda x: np.cumsum(x, 1), lambda d: [_u(2, 4)(d)]),
    Special("cumsum_exclusive_reverse", lambda x: gt.cumsum(x, axis=0, exclusive=True, reverse=True),
            lambda x: np.flip(np.cumsum(np.flip(x, 0), 0), 0) - x, lambda d: [_u(4, 2)(d)]),
    Special("cumprod", lambda x: gt.math.cumprod(x, axis=1), lambda x: np.cumprod(x, 1), lambda d: [_u(2, 4)(d)]),
    Special("cumulative_logsumexp", lambda x: gt.math.cumulative_logsumexp(x, axis=1),
            lambda x: np.logaddexp.accumulate(x, 1), lambda d: [_u(2, 4)(d)]),
    Special("cumulative_logsumexp_exclusive_reverse",
            # (the last row is -inf, which finite differences cannot check: it is left out)
            lambda x: gt.math.cumulative_logsumexp(x, axis=0, exclusive=True, reverse=True)[:-1],
            lambda x: np.flip(np.logaddexp.accumulate(np.flip(x[1:], 0), 0), 0),
            lambda d: [_u(4, 2)(d)]),
    Special("cumprod_with_zeros",
            lambda x: gt.math.cumprod(x * gt.constant([1., 0., 1., 0., 1.], dtype=x.dtype), axis=0),
            lambda x: np.cumprod(x * np.array([1., 0., 1., 0., 1.]), 0), lambda d: [_u(5)(d)]),
    Special("cumprod_exclusive", lambda x: gt.math.cumprod(x, axis=1, exclusive=True),
            lambda x: np.cumprod(x, 1) / x, lambda d: [_u(2, 4, low=0.5, high=2.0)(d)]),
    Special("cumprod_reverse", lambda x: gt.math.cumprod(x, axis=0, reverse=True),
            lambda x: np.flip(np.cumprod(np.flip(x, 0), 0), 0), lambda d: [_u(4, 2)(d)]),
    Special("cumprod_exclusive_reverse", lambda x: gt.math.cumprod(x, axis=-1, exclusive=True, reverse=True),
            lambda x: np.flip(np.cumprod(np.flip(x, -1), -1), -1) / x, lambda d: [_u(2, 3, low=0.5, high=2.0)(d)]),
    Special("sort", lambda x: gt.sort(x, axis=0), lambda x: np.sort(x, 0), lambda d: [_u(4, 3)(d)]),
    Special("sort_descending", lambda x: gt.sort(x, direction="DESCENDING"), lambda x: -np.sort(-x, -1),
            lambda d: [_u(3, 4)(d)]),
    Special("math.top_k", lambda x: gt.math.top_k(x, k=2).values, lambda x: _top_k_np(x, 2), lambda d: [_u(3, 4)(d)]),
    Special("math.top_k_indices", lambda x: gt.math.top_k(x, k=3).indices,
            lambda x: np.argsort(-x, -1, kind="stable")[..., :3].astype(np.int32), lambda d: [_u(3, 4)(d)], exact=True),
    Special("argsort", lambda x: gt.argsort(x, axis=0, direction="DESCENDING"),
            lambda x: np.argsort(-x, 0, kind="stable").astype(np.int32), lambda d: [_u(4, 3)(d)], exact=True),
    Special("math.segment_sum", lambda x: gt.math.segment_sum(x, _SEG),
            lambda x: _np_segment(x, _SEG, 3, np.sum), lambda d: [_u(5, 2)(d)]),
    Special("math.segment_mean", lambda x: gt.math.segment_mean(x, _SEG),
            lambda x: _np_segment(x, _SEG, 3, np.mean), lambda d: [_u(5, 2)(d)]),
    Special("math.segment_max", lambda x: gt.math.segment_max(x, _SEG),
            lambda x: _np_segment(x, _SEG, 3, np.max), lambda d: [_u(5, 2)(d)]),
    Special("math.segment_min", lambda x: gt.math.segment_min(x, _SEG),
            lambda x: _np_segment(x, _SEG, 3, np.min), lambda d: [_u(5, 2)(d)]),
    Special("math.segment_max_ties", lambda x: gt.math.segment_max(gt.concat([x, x], 0), [0, 0, 0, 1, 1, 1]),
            lambda x: _np_segment(np.concatenate([x, x]), np.array([0, 0, 0, 1, 1, 1]), 2, np.max),
            lambda d: [_u(3)(d)]),
    Special("math.unsorted_segment_sum", lambda x: gt.math.unsorted_segment_sum(x, [[2, 0, -1], [2, 0, 0]], 4),
            lambda x: np.stack([x[np.array([[2, 0, -1], [2, 0, 0]]) == s].sum(0) for s in range(4)]),
            lambda d: [_u(2, 3, 2)(d)]),
    Special("add_n", lambda a, b, c: gt.add_n([a, b, c]), lambda a, b, c: a + b + c,
            lambda d: [_u(2, 3)(d), _u(2, 3)(d), _u(2, 3)(d)]),
    Special("math.count_nonzero", lambda x: gt.math.count_nonzero(gt.nn.relu(x), axis=1),
            lambda x: np.count_nonzero(np.maximum(x, 0), axis=1).astype(np.int64), lambda d: [_u(3, 4)(d)], exact=True),
]


# ---- linear algebra (issue 11): well-conditioned inputs (a random matrix plus a multiple of
# the identity); cholesky reads one triangle and its gradient is symmetric (TensorFlow's
# convention), so its rows differentiate cholesky(sym(a)), a function of every element.

def _wellcond(*shape):
    """Random matrices [..., m, n] far from singular: a multiple of the identity plus noise."""
    def make(dtype):
        n = shape[-1]
        return (RNG.uniform(-1, 1, size=shape) + 2.0 * n ** 0.5 * np.eye(shape[-2], n)).astype(dtype)
    return make


def _spd(*shape):
    """Symmetric positive definite matrices [..., n, n] (condition number < 10)."""
    def make(dtype):
        n = shape[-1]
        a = RNG.uniform(-1, 1, size=shape)
        return (a @ np.swapaxes(a, -1, -2) / n + np.eye(n)).astype(dtype)
    return make


def _lower(*shape):
    """Lower triangular matrices with a diagonal in [1, 2], and noise above it (never read)."""
    def make(dtype):
        a = RNG.uniform(-1, 1, size=shape)
        d = RNG.uniform(1, 2, size=shape[:-1])
        return (np.tril(a, -1) + d[..., None] * np.eye(shape[-1]) + 5 * np.triu(a, 1)).astype(dtype)
    return make


def _separated(*shape):
    """Matrices [..., n, n] whose lower triangle, mirrored, has eigenvalues 1, 2, 3.5, ... (gaps
    >= 1), plus noise above the diagonal (never read)."""
    def make(dtype):
        n = shape[-1]
        q, _ = np.linalg.qr(RNG.normal(size=shape))
        w = np.cumsum(np.r_[1.0, np.linspace(1.0, 1.5, n - 1)])
        s = (q * w) @ np.swapaxes(q, -1, -2)
        return (np.tril(s) + np.triu(RNG.uniform(-1, 1, size=shape), 1)).astype(dtype)
    return make


def _eigen_product(e, v, matmul):
    """V diag(w) V^T with weights w unlike the eigenvalues: independent of the vectors' signs."""
    w = np.arange(1.0, e.shape[-1] + 1.0).astype(np.asarray(e).dtype if not hasattr(e, "numpy") else e.numpy().dtype)
    return matmul(v * w, np.swapaxes(v, -1, -2) if not hasattr(v, "numpy") else
                  gt.transpose(v, list(range(len(v.shape) - 2)) + [len(v.shape) - 1, len(v.shape) - 2]))


def _spread(*shape):
    """Matrices [..., m, n] with singular values 1, 2.2, 3.5, ... (gaps > 1)."""
    def make(dtype):
        m, n = shape[-2:]
        k = min(m, n)
        u, _ = np.linalg.qr(RNG.normal(size=shape[:-2] + (m, k)))
        v, _ = np.linalg.qr(RNG.normal(size=shape[:-2] + (n, k)))
        return ((u * (1.0 + 1.25 * np.arange(k))) @ np.swapaxes(v, -1, -2)).astype(dtype)
    return make


def _np_svd(a):
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return s, u, np.swapaxes(vt, -1, -2)


def _svd_product(s, u, v, matmul):
    """u diag(w) v^T with weights w unlike s: independent of the vectors' signs."""
    w = np.linspace(0.5, 2.0, s.shape[-1])
    vt = np.swapaxes(v, -1, -2) if not hasattr(v, "numpy") else \
        gt.transpose(v, list(range(len(v.shape) - 2)) + [len(v.shape) - 1, len(v.shape) - 2])
    return matmul(u * w.astype(np.float64 if not hasattr(s, "numpy") else s.numpy().dtype), vt)


def _sym(x):
    r = len(x.shape)
    return (x + gt.transpose(x, perm=list(range(r - 2)) + [r - 1, r - 2])) * 0.5


def _sym_np(x):
    return (x + np.swapaxes(x, -1, -2)) / 2


def _tri_np(a, lower):
    return np.tril(a) if lower else np.triu(a)


LINALG_SPECIAL = [
    Special("linalg.inv", gt.linalg.inv, np.linalg.inv, lambda d: [_wellcond(3, 3)(d)]),
    Special("linalg.inv_batched_adjoint", lambda a: gt.linalg.inv(a, adjoint=True),
            lambda a: np.linalg.inv(np.swapaxes(a, -1, -2)), lambda d: [_wellcond(2, 3, 3)(d)]),
    Special("linalg.det", gt.linalg.det, np.linalg.det, lambda d: [_wellcond(2, 3, 3)(d)]),
    Special("linalg.det_negative", gt.linalg.det, np.linalg.det,
            lambda d: [_wellcond(3, 3)(d)[[1, 0, 2]]]),
    Special("linalg.slogdet", lambda a: gt.linalg.slogdet(a).log_abs_determinant,
            lambda a: np.linalg.slogdet(a)[1], lambda d: [_wellcond(2, 3, 3)(d)[:, [1, 0, 2]]]),
    Special("linalg.slogdet_sign", lambda a: gt.linalg.slogdet(a).sign, lambda a: np.linalg.slogdet(a)[0],
            lambda d: [np.stack([_wellcond(3, 3)(d), _wellcond(3, 3)(d)[[1, 0, 2]]])], exact=True),
    Special("linalg.solve", gt.linalg.solve, np.linalg.solve, lambda d: [_wellcond(3, 3)(d), _u(3, 2)(d)]),
    Special("linalg.solve_batched_adjoint", lambda a, b: gt.linalg.solve(a, b, adjoint=True),
            lambda a, b: np.linalg.solve(np.swapaxes(a, -1, -2), b), lambda d: [_wellcond(2, 3, 3)(d), _u(2, 3, 1)(d)]),
    Special("linalg.triangular_solve", gt.linalg.triangular_solve,
            lambda a, b: np.linalg.solve(np.tril(a), b), lambda d: [_lower(3, 3)(d), _u(3, 2)(d)]),
    Special("linalg.triangular_solve_upper_adjoint_broadcast",
            lambda a, b: gt.linalg.triangular_solve(a, b, lower=False, adjoint=True),
            lambda a, b: np.linalg.solve(np.swapaxes(np.triu(a), -1, -2), b),
            lambda d: [np.swapaxes(_lower(3, 3)(d), -1, -2), _u(2, 3, 2)(d)]),
    Special("linalg.triangular_solve_batched_matrix", lambda a, b: gt.linalg.triangular_solve(a, b, adjoint=True),
            lambda a, b: np.linalg.solve(np.swapaxes(np.tril(a), -1, -2), b),
            lambda d: [_lower(2, 3, 3)(d), _u(3, 1)(d)]),
    Special("linalg.cholesky", lambda a: gt.linalg.cholesky(_sym(a)), lambda a: np.linalg.cholesky(_sym_np(a)),
            lambda d: [_spd(3, 3)(d)]),
    Special("linalg.cholesky_batched", lambda a: gt.linalg.cholesky(_sym(a)), lambda a: np.linalg.cholesky(_sym_np(a)),
            lambda d: [_spd(2, 4, 4)(d)]),
    Special("linalg.cholesky_solve", gt.linalg.cholesky_solve,
            lambda l, b: np.linalg.solve(np.tril(l) @ np.swapaxes(np.tril(l), -1, -2), b),
            lambda d: [_lower(2, 3, 3)(d), _u(2, 3, 2)(d)]),
    # eigh reads the lower triangle (so each element is an input of its own); the eigenvectors'
    # signs are arbitrary: the rows differentiate functions that do not see them
    Special("linalg.eigh", lambda a: gt.linalg.eigh(a)[0], lambda a: np.linalg.eigh(a)[0],
            lambda d: [_separated(2, 4, 4)(d)]),
    Special("linalg.eigh_vectors", lambda a: _eigen_product(*gt.linalg.eigh(a), gt.matmul),
            lambda a: _eigen_product(*np.linalg.eigh(a), np.matmul), lambda d: [_separated(4, 4)(d)]),
    Special("linalg.eigh_vectors_squared", lambda a: gt.square(gt.linalg.eigh(a)[1]),
            lambda a: np.square(np.linalg.eigh(a)[1]), lambda d: [_separated(2, 3, 3)(d)]),
    Special("linalg.eigvalsh", gt.linalg.eigvalsh, np.linalg.eigvalsh, lambda d: [_separated(3, 3)(d)]),
    # qr: q and r as one vector (weighted, so that an error in either shows)
    Special("linalg.qr", _pieces(gt.linalg.qr, [1.0, 2.0]), _pieces_np(np.linalg.qr, [1.0, 2.0]),
            lambda d: [_wellcond(2, 4, 3)(d)]),
    Special("linalg.qr_wide", _pieces(gt.linalg.qr, [1.0, -1.5]), _pieces_np(np.linalg.qr, [1.0, -1.5]),
            lambda d: [np.swapaxes(_wellcond(5, 3)(d), -1, -2)]),
    Special("linalg.qr_square_full", _pieces(lambda a: gt.linalg.qr(a, full_matrices=True), [2.0, 1.0]),
            _pieces_np(lambda a: np.linalg.qr(a, mode="complete"), [2.0, 1.0]), lambda d: [_wellcond(3, 3)(d)]),
    # svd: singular vectors come in pairs of arbitrary sign: u diag(w) v^T and squares do not see it
    Special("linalg.svd", lambda a: gt.linalg.svd(a, compute_uv=False), lambda a: np.linalg.svd(a, compute_uv=False),
            lambda d: [_spread(2, 4, 3)(d)]),
    Special("linalg.svd_vectors", lambda a: _svd_product(*gt.linalg.svd(a), gt.matmul),
            lambda a: _svd_product(*_np_svd(a), np.matmul), lambda d: [_spread(4, 3)(d)]),
    Special("linalg.svd_vectors_wide", lambda a: _svd_product(*gt.linalg.svd(a), gt.matmul),
            lambda a: _svd_product(*_np_svd(a), np.matmul), lambda d: [_spread(2, 3, 5)(d)]),
    Special("linalg.svd_square_squares", lambda a: gt.square(gt.linalg.svd(a)[1]) + gt.square(gt.linalg.svd(a)[2]),
            lambda a: np.square(_np_svd(a)[1]) + np.square(_np_svd(a)[2]), lambda d: [_spread(3, 3)(d)]),
    # (full_matrices for non-square matrices, which has no forward mode: tests/test_linalg.py)
    # diagonals and bands (gather and where), tensordot (matmul), cross (gather)
    Special("linalg.diag_part", gt.linalg.diag_part, lambda x: np.diagonal(x, axis1=-2, axis2=-1),
            lambda d: [_u(2, 3, 4)(d)]),
    Special("linalg.diag_part_band", lambda x: gt.linalg.diag_part(x, k=(-1, 1), padding_value=7.0),
            lambda x: np.stack([np.diagonal(x, 1), np.diagonal(x, 0), np.append(np.diagonal(x, -1), 7.0)]),
            lambda d: [_u(3, 4)(d)]),
    Special("linalg.diag", lambda v: gt.linalg.diag(v, k=-1, num_rows=4, padding_value=0.5),
            lambda v: np.stack([np.diag(r, -1)[:, :3] + np.where(np.eye(4, 3, -1) == 0, 0.5, 0.0) for r in v]),
            lambda d: [_u(2, 3)(d)]),
    Special("linalg.diag_band_left_right", lambda v: gt.linalg.diag(v, k=(-1, 0), align="LEFT_RIGHT"),
            lambda v: np.diag(v[0]) + np.diag(v[1, 1:], -1), lambda d: [_u(2, 3)(d)]),
    Special("linalg.set_diag", lambda x, v: gt.linalg.set_diag(x, v, k=1),
            lambda x, v: np.where(np.eye(3, 4, 1) == 1, np.stack([np.diag(r, 1)[:3, :] for r in v]), x),
            lambda d: [_u(2, 3, 4)(d), _u(2, 3)(d)]),
    Special("linalg.band_part", lambda x: gt.linalg.band_part(x, 1, -1),
            lambda x: np.triu(x, -1), lambda d: [_u(2, 3, 4)(d)]),
    Special("linalg.trace", gt.linalg.trace, lambda x: np.trace(x, axis1=-2, axis2=-1), lambda d: [_u(2, 3, 4)(d)]),
    Special("tensordot", lambda a, b: gt.tensordot(a, b, 2), lambda a, b: np.tensordot(a, b, 2),
            lambda d: [_u(2, 3, 4)(d), _u(3, 4, 2)(d)]),
    Special("linalg.tensordot_axes", lambda a, b: gt.linalg.tensordot(a, b, [[0, 2], [2, 0]]),
            lambda a, b: np.tensordot(a, b, [[0, 2], [2, 0]]), lambda d: [_u(2, 3, 4)(d), _u(4, 5, 2)(d)]),
    Special("linalg.cross", gt.linalg.cross, np.cross, lambda d: [_u(2, 3)(d), _u(2, 3)(d)]),
]


# ---- convolutions and pooling (issue 11): direct loops over NHWC, padding from TensorFlow's rule

def _window_np(size, k, s, d, padding):
    """(output size, padding before) of one spatial dim: 'SAME', 'VALID' or a (before, after) pair."""
    eff = (k - 1) * d + 1
    if padding == "SAME":
        out = -(-size // s)
        return out, max((out - 1) * s + eff - size, 0) // 2
    before, after = (0, 0) if padding == "VALID" else padding
    return (size + before + after - eff) // s + 1, before


def _windows_np(x, kh, kw, strides, dilations, paddings):
    """Yields (oh, ow, [(ih, iw), ...] inside the image) for NHWC x."""
    (sh, sw), (dh, dw) = strides, dilations
    oh_n, pt = _window_np(x.shape[1], kh, sh, dh, paddings[0])
    ow_n, pl = _window_np(x.shape[2], kw, sw, dw, paddings[1])
    for oh in range(oh_n):
        for ow in range(ow_n):
            taps = [(oh * sh - pt + i * dh, ow * sw - pl + j * dw, i, j) for i in range(kh) for j in range(kw)]
            yield oh, ow, [t for t in taps if 0 <= t[0] < x.shape[1] and 0 <= t[1] < x.shape[2]]
    return oh_n, ow_n


def _grid_np(x, kh, kw, strides, dilations, paddings, channels, fn):
    (sh, sw), (dh, dw) = strides, dilations
    oh_n = _window_np(x.shape[1], kh, sh, dh, paddings[0])[0]
    ow_n = _window_np(x.shape[2], kw, sw, dw, paddings[1])[0]
    out = np.zeros((x.shape[0], oh_n, ow_n, channels), x.dtype)
    for oh, ow, taps in _windows_np(x, kh, kw, strides, dilations, paddings):
        out[:, oh, ow] = fn(taps)
    return out


def conv2d_np(x, w, strides=(1, 1), padding="SAME", dilations=(1, 1)):
    paddings = padding if isinstance(padding, list) else [padding, padding]
    return _grid_np(x, w.shape[0], w.shape[1], strides, dilations, paddings, w.shape[3],
                    lambda taps: sum(x[:, ih, iw] @ w[i, j] for ih, iw, i, j in taps))


def depthwise_conv2d_np(x, w, strides=(1, 1), padding="SAME"):
    kh, kw, c, m = w.shape
    return _grid_np(x, kh, kw, strides, (1, 1), [padding, padding], c * m,
                    lambda taps: sum((x[:, ih, iw, :, None] * w[i, j]).reshape(x.shape[0], -1)
                                     for ih, iw, i, j in taps))


def max_pool2d_np(x, k, s, padding):
    return _grid_np(x, k[0], k[1], s, (1, 1), [padding, padding], x.shape[3],
                    lambda taps: np.max([x[:, ih, iw] for ih, iw, _, _ in taps], axis=0))


def avg_pool2d_np(x, k, s, padding):
    return _grid_np(x, k[0], k[1], s, (1, 1), [padding, padding], x.shape[3],
                    lambda taps: np.mean([x[:, ih, iw] for ih, iw, _, _ in taps], axis=0))


def conv2d_transpose_np(y, w, out_shape, s, padding):
    """The adjoint of conv2d: the image whose conv2d's vjp against y it is."""
    x = np.zeros(out_shape, y.dtype)
    for oh, ow, taps in _windows_np(x, w.shape[0], w.shape[1], s, (1, 1), [padding, padding]):
        for ih, iw, i, j in taps:
            x[:, ih, iw] += y[:, oh, ow] @ w[i, j].T
    return x


def _distinct(*shape):
    """Inputs with no ties (a max pool's kink) spread apart more than the difference step."""
    def make(dtype):
        n = int(np.prod(shape))
        return (RNG.permutation(n).reshape(shape) * 0.1 + RNG.uniform(-0.01, 0.01, size=shape)).astype(dtype)
    return make


CONV_SPECIAL = [
    Special("nn.conv2d", lambda x, w: gt.nn.conv2d(x, w, 1, "SAME"), conv2d_np,
            lambda d: [_u(2, 4, 3, 2)(d), _u(3, 2, 2, 3)(d)]),
    Special("nn.conv2d_valid_strided", lambda x, w: gt.nn.conv2d(x, w, 2, "VALID"),
            lambda x, w: conv2d_np(x, w, (2, 2), "VALID"), lambda d: [_u(1, 5, 5, 2)(d), _u(2, 2, 2, 2)(d)]),
    Special("nn.conv2d_dilated_explicit",
            lambda x, w: gt.nn.conv2d(x, w, [1, 2], [[0, 0], [1, 0], [2, 1], [0, 0]], dilations=2),
            lambda x, w: conv2d_np(x, w, (1, 2), [(1, 0), (2, 1)], (2, 2)),
            lambda d: [_u(1, 5, 4, 1)(d), _u(2, 2, 1, 2)(d)]),
    Special("nn.conv2d_nchw", lambda x, w: gt.nn.conv2d(x, w, 1, "SAME", data_format="NCHW"),
            lambda x, w: conv2d_np(x.transpose(0, 2, 3, 1), w).transpose(0, 3, 1, 2),
            lambda d: [_u(1, 2, 3, 3)(d), _u(2, 2, 2, 1)(d)]),
    Special("nn.conv1d", lambda x, w: gt.nn.conv1d(x, w, 2, "SAME"),
            lambda x, w: conv2d_np(x[:, None], w[None], (1, 2))[:, 0], lambda d: [_u(2, 5, 2)(d), _u(3, 2, 2)(d)]),
    Special("nn.depthwise_conv2d", lambda x, w: gt.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME"),
            depthwise_conv2d_np, lambda d: [_u(1, 3, 4, 2)(d), _u(2, 2, 2, 2)(d)]),
    Special("nn.conv2d_transpose", lambda y, w: gt.nn.conv2d_transpose(y, w, [1, 5, 4, 2], 2, "SAME"),
            lambda y, w: conv2d_transpose_np(y, w, (1, 5, 4, 2), (2, 2), "SAME"),
            lambda d: [_u(1, 3, 2, 3)(d), _u(3, 2, 2, 3)(d)]),
    Special("nn.max_pool2d", lambda x: gt.nn.max_pool2d(x, 2, 2, "VALID"),
            lambda x: max_pool2d_np(x, (2, 2), (2, 2), "VALID"), lambda d: [_distinct(2, 4, 4, 2)(d)]),
    Special("nn.max_pool2d_same", lambda x: gt.nn.max_pool2d(x, 3, [2, 1], "SAME"),
            lambda x: max_pool2d_np(x, (3, 3), (2, 1), "SAME"), lambda d: [_distinct(1, 5, 3, 2)(d)]),
    Special("nn.max_pool", lambda x: gt.nn.max_pool(x, 2, 1, "VALID", data_format="NCHW"),
            lambda x: max_pool2d_np(x.transpose(0, 2, 3, 1), (2, 2), (1, 1), "VALID").transpose(0, 3, 1, 2),
            lambda d: [_distinct(1, 2, 3, 3)(d)]),
    Special("nn.max_pool1d", lambda x: gt.nn.max_pool1d(x, 2, 2, "SAME"),
            lambda x: max_pool2d_np(x[:, None], (1, 2), (1, 2), "SAME")[:, 0], lambda d: [_distinct(2, 5, 2)(d)]),
    Special("nn.avg_pool2d", lambda x: gt.nn.avg_pool2d(x, [3, 2], 2, "SAME"),
            lambda x: avg_pool2d_np(x, (3, 2), (2, 2), "SAME"), lambda d: [_u(2, 5, 4, 2)(d)]),
    Special("nn.avg_pool", lambda x: gt.nn.avg_pool(x, 2, 2, "VALID"),
            lambda x: avg_pool2d_np(x[:, None], (1, 2), (1, 2), "VALID")[:, 0], lambda d: [_u(2, 5, 3)(d)]),
    Special("nn.avg_pool1d", lambda x: gt.nn.avg_pool1d(x, 3, 1, "SAME", data_format="NCW"),
            lambda x: avg_pool2d_np(x.transpose(0, 2, 1)[:, None], (1, 3), (1, 1), "SAME")[:, 0].transpose(0, 2, 1),
            lambda d: [_u(2, 2, 4)(d)]),
]


# The functions of _composite_more.py and _utilities.py that the tape differentiates (their
# values are compared with TensorFlow's in tests/tf_programs/api_surface.py too).
_USEG = np.array([0, 2, 0, -1, 2])  # segment 1 and 3 empty, one row dropped


def _useg_np(x, fn, empty):
    keep = _USEG >= 0
    return _np_segment(x[keep], _USEG[keep], 4, fn, empty)


def _spd_of(a):
    return a @ np.swapaxes(a, -1, -2) + 3 * np.eye(a.shape[-1])


def _reverse_seq_np(x, lengths):
    out = x.copy()
    for b, n in enumerate(lengths):
        out[b, :n] = x[b, :n][::-1]
    return out


def _space_to_depth_np(x, bs):
    b, h, w, c = x.shape
    return x.reshape(b, h // bs, bs, w // bs, bs, c).transpose(0, 1, 3, 2, 4, 5).reshape(b, h // bs, w // bs, bs * bs * c)


COMPOSITE_MORE_SPECIAL = [
    Special("math.polyval", lambda a, b, c, x: gt.math.polyval([a, b, c], x),
            lambda a, b, c, x: c + (b + a * x) * x, lambda d: [_u(2, 1)(d), _u(1, 3)(d), _u()(d), _u(2, 3)(d)]),
    Special("math.lbeta", gt.math.lbeta,
            lambda x: (np.sum(_mp(mpmath.loggamma)(x), -1) - _mp(mpmath.loggamma)(np.sum(x, -1))).astype(x.dtype),
            lambda d: [_u(3, 4, low=0.5, high=3.0)(d)]),
    Special("math.reciprocal_no_nan", gt.math.reciprocal_no_nan, lambda x: 1 / x, lambda d: [_u(2, 3, low=0.5, high=2.0)(d)]),
    Special("math.scalar_mul", gt.math.scalar_mul, lambda s, x: s * x, lambda d: [_u()(d), _u(2, 3)(d)]),
    Special("math.unsorted_segment_max", lambda x: gt.math.unsorted_segment_max(x, _USEG, 4),
            lambda x: _useg_np(x, np.max, np.finfo(x.dtype).min), lambda d: [_u(5, 3)(d)]),
    Special("math.unsorted_segment_min", lambda x: gt.math.unsorted_segment_min(x, _USEG, 4),
            lambda x: _useg_np(x, np.min, np.finfo(x.dtype).max), lambda d: [_u(5, 3)(d)]),
    Special("math.unsorted_segment_prod", lambda x: gt.math.unsorted_segment_prod(x, _USEG, 4),
            lambda x: _useg_np(x, np.prod, 1.0), lambda d: [_u(5, 3)(d)]),
    Special("math.unsorted_segment_mean", lambda x: gt.math.unsorted_segment_mean(x, _USEG, 4),
            lambda x: _useg_np(x, np.mean, 0.0), lambda d: [_u(5, 3)(d)]),
    Special("math.unsorted_segment_sqrt_n", lambda x: gt.math.unsorted_segment_sqrt_n(x, _USEG, 4),
            lambda x: _useg_np(x, lambda v, axis: v.sum(axis) / np.sqrt(v.shape[axis]), 0.0), lambda d: [_u(5, 3)(d)]),
    Special("math.segment_prod", lambda x: gt.math.segment_prod(x, _SEG),
            lambda x: _np_segment(x, _SEG, 3, np.prod, 1.0), lambda d: [_u(5, 2)(d)]),
    Special("slice", lambda x: gt.slice(x, [1, 0], [2, -1]), lambda x: x[1:3, 0:], lambda d: [_u(4, 3)(d)]),
    Special("strided_slice", lambda x: gt.strided_slice(x, [3, 0], [0, 3], [-1, 2], end_mask=2),
            lambda x: x[3:0:-1, 0::2], lambda d: [_u(4, 3)(d)]),
    Special("repeat", lambda x: gt.repeat(x, [2, 0, 1], axis=1), lambda x: np.repeat(x, [2, 0, 1], axis=1),
            lambda d: [_u(2, 3)(d)]),
    Special("reverse_sequence", lambda x: gt.reverse_sequence(x, [3, 0, 2], seq_axis=1),
            lambda x: _reverse_seq_np(x, [3, 0, 2]), lambda d: [_u(3, 4, 2)(d)]),
    Special("dynamic_partition", lambda x: gt.concat(gt.dynamic_partition(x, [1, 0, 1, 2], 3), 0),
            lambda x: x[[1, 0, 2, 3]], lambda d: [_u(4, 2)(d)]),
    Special("dynamic_stitch", lambda a, b: gt.dynamic_stitch([[0, 3], [1, 3]], [a, b]),
            lambda a, b: np.stack([a[0], b[0], np.zeros_like(a[0]), b[1]]), lambda d: [_u(2, 3)(d), _u(2, 3)(d)]),
    Special("nn.crelu", gt.nn.crelu, lambda x: np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], -1),
            lambda d: [np.array([[-1.5, 0.7, 2.0], [0.3, -0.4, 1.1]], d)]),
    Special("nn.space_to_depth", lambda x: gt.nn.space_to_depth(x, 2), lambda x: _space_to_depth_np(x, 2),
            lambda d: [_u(2, 4, 6, 3)(d)]),
    Special("nn.depth_to_space", lambda x: gt.nn.space_to_depth(gt.nn.depth_to_space(x, 2), 2), lambda x: x,
            lambda d: [_u(1, 2, 3, 8)(d)]),
    Special("nn.weighted_moments", lambda x, w: gt.concat(gt.nn.weighted_moments(x, [0], w), 0),
            lambda x, w: np.concatenate([(w * x).sum(0) / w.sum(0), (w * (x - (w * x).sum(0) / w.sum(0)) ** 2).sum(0) / w.sum(0)]),
            lambda d: [_u(4, 3)(d), _u(4, 1, low=0.5, high=2.0)(d)],
            # TensorFlow's stop_gradient on the mean: exact first derivatives (the mean's term is
            # zero), but not second ones, in TensorFlow as here
            order2=False),
    Special("nn.normalize_moments", lambda c, m, v: gt.concat(gt.nn.normalize_moments(c, m, v, None), 0),
            lambda c, m, v: np.concatenate([m / c, v / c - (m / c) ** 2]),
            lambda d: [_u(low=2.0, high=4.0)(d), _u(3)(d), _u(3, low=2.0, high=4.0)(d)]),
    Special("nn.sufficient_statistics", lambda x: gt.concat(gt.nn.sufficient_statistics(x, [0], shift=0.5)[1:3], 0),
            lambda x: np.concatenate([(x - 0.5).sum(0), ((x - 0.5) ** 2).sum(0)]), lambda d: [_u(4, 3)(d)]),
    Special("nn.compute_average_loss", lambda x, w: gt.nn.compute_average_loss(x, w, global_batch_size=8),
            lambda x, w: np.sum(x * w) / 8, lambda d: [_u(4)(d), _u(4)(d)]),
    Special("linalg.logdet", lambda a: gt.linalg.logdet(gt.matmul(a, a, transpose_b=True) + 3 * gt.eye(3, dtype=a.dtype)),
            lambda a: np.linalg.slogdet(_spd_of(a))[1].astype(a.dtype), lambda d: [_u(2, 3, 3)(d)]),
    Special("linalg.pinv", gt.linalg.pinv, lambda a: np.linalg.pinv(a).astype(a.dtype),
            lambda d: [np.array([[2.0, 0.5], [0.3, 1.5], [1.0, -1.0]], d)]),
    Special("linalg.normalize", lambda x: gt.linalg.normalize(x, axis=1)[0],
            lambda x: x / np.linalg.norm(x, axis=1, keepdims=True), lambda d: [_u(3, 4)(d)]),
    Special("linalg.matrix_transpose", gt.linalg.matrix_transpose, lambda x: np.swapaxes(x, -1, -2),
            lambda d: [_u(2, 3, 4)(d)]),
    Special("linalg.tensor_diag", gt.linalg.tensor_diag,
            lambda x: np.diag(x.reshape(-1)).reshape(x.shape * 2), lambda d: [_u(2, 3)(d)]),
    Special("tensor_scatter_nd_max", lambda t, u: gt.tensor_scatter_nd_max(t, [[0], [2], [0]], u),
            lambda t, u: np.stack([np.maximum(np.maximum(t[0], u[0]), u[2]), t[1], np.maximum(t[2], u[1])]),
            lambda d: [_u(3, 2)(d), _u(3, 2)(d)]),
    Special("tensor_scatter_nd_min", lambda t, u: gt.tensor_scatter_nd_min(t, [[0, 1], [2, 0]], u),
            lambda t, u: np.array([[t[0, 0], min(t[0, 1], u[0])], [t[1, 0], t[1, 1]], [min(t[2, 0], u[1]), t[2, 1]]], t.dtype),
            lambda d: [_u(3, 2)(d), _u(2)(d)]),
    Special("tensor_scatter_nd_sub", lambda t, u: gt.tensor_scatter_nd_sub(t, [[1], [1]], u),
            lambda t, u: t - np.stack([np.zeros_like(u[0]), u[0] + u[1], np.zeros_like(u[0])]),
            lambda d: [_u(3, 2)(d), _u(2, 2)(d)]),
    # gt.image (bilinear resize computes in float32, as TensorFlow, so its gradient is compared
    # with TensorFlow's in api_surface.py instead)
    Special("image.resize_nearest", lambda x: gt.image.resize(x, [5, 3], method="nearest"),
            lambda x: x[:, np.minimum(((np.arange(5) + 0.5) * 3 / 5).astype(int), 2)][:, :, np.minimum(((np.arange(3) + 0.5) * 4 / 3).astype(int), 3)],
            lambda d: [_u(2, 3, 4, 2)(d)]),
    Special("image.total_variation", gt.image.total_variation,
            lambda x: (np.abs(np.diff(x, axis=1)).sum((1, 2, 3)) + np.abs(np.diff(x, axis=2)).sum((1, 2, 3))).astype(x.dtype),
            lambda d: [_u(2, 3, 4, 2)(d)]),
    Special("image.image_gradients", lambda x: gt.concat(gt.image.image_gradients(x), 0),
            lambda x: np.concatenate([np.concatenate([np.diff(x, axis=1), np.zeros_like(x[:, :1])], 1),
                                      np.concatenate([np.diff(x, axis=2), np.zeros_like(x[:, :, :1])], 2)], 0),
            lambda d: [_u(2, 3, 4, 2)(d)]),
    Special("image.adjust_contrast", lambda x: gt.image.adjust_contrast(x, 1.7),
            lambda x: (x - x.mean((1, 2), keepdims=True)) * 1.7 + x.mean((1, 2), keepdims=True), lambda d: [_u(2, 3, 4, 2)(d)]),
    Special("image.rot90", lambda x: gt.image.rot90(x, 3), lambda x: np.rot90(x, 3, axes=(1, 2)), lambda d: [_u(2, 3, 4, 2)(d)]),
    Special("image.resize_with_crop_or_pad", lambda x: gt.image.resize_with_crop_or_pad(x, 5, 2),
            lambda x: np.pad(x[:, :, 1:3], [(0, 0), (1, 1), (0, 0), (0, 0)]), lambda d: [_u(2, 3, 4, 2)(d)]),
    Special("linalg.tensor_diag_part", gt.linalg.tensor_diag_part,
            lambda x: np.diag(x.reshape(6, 6)).reshape(2, 3), lambda d: [_u(2, 3, 2, 3)(d)]),
]

POLYGAMMA_ORDERS = np.array([[0.0], [1.0], [2.0], [3.0]])

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
    # ---- elementwise math and nn composites (issue 11)
    Special("lgamma_negative", gt.math.lgamma, np.vectorize(math.lgamma, otypes=[np.float64]),
            lambda d: [np.array([-2.7, -1.3, -0.4, 0.001], d)]),
    # orders 0..3 (a column) against x (a row): broadcasting, and the gradient in x only
    Special("math.polygamma", lambda x: gt.math.polygamma(gt.constant(POLYGAMMA_ORDERS, dtype=x.dtype), x),
            lambda x: np.vectorize(lambda n, v: float(mpmath.polygamma(int(n), v)))(POLYGAMMA_ORDERS, x).astype(x.dtype), lambda d: [_u(5, low=0.3, high=4.0)(d)]),
    # exponents 1.5..4 (a column) against shifts q (a row): the gradient in q only
    Special("math.zeta", lambda q: gt.math.zeta(gt.constant([[1.5], [2.0], [4.0]], dtype=q.dtype), q),
            lambda q: np.vectorize(lambda x, v: float(mpmath.zeta(x, v)))(np.array([[1.5], [2.0], [4.0]]), q),
            lambda d: [_u(4, low=0.5, high=3.0)(d)]),
    # a (a column) and b (a scalar) against x (a row): the gradient in x only
    Special("math.betainc", lambda x: gt.math.betainc(gt.constant([[0.7], [2.0], [5.5]], dtype=x.dtype),
                                                      gt.constant(1.5, dtype=x.dtype), x),
            lambda x: np.vectorize(lambda a, v: float(mpmath.betainc(a, 1.5, 0, v, regularized=True)))(
                np.array([[0.7], [2.0], [5.5]]), x),
            lambda d: [_u(4, low=0.1, high=0.9)(d)]),
    Special("digamma_negative", gt.math.digamma, _mp(mpmath.digamma), lambda d: [np.array([-2.7, -1.3, -0.4, 12.5], d)]),
    Special("asinh_big", gt.asinh, np.arcsinh, lambda d: [np.array([-3e8, 2e9, 0.5], d)]),
    Special("acosh_big", gt.acosh, np.arccosh, lambda d: [np.array([3e8, 1.5, 2e9], d)]),
    Special("nn.gelu_approximate", lambda x: gt.nn.gelu(x, approximate=True), lambda x: gelu_np(x, True),
            lambda d: [_u(3, 4)(d)]),
    Special("nn.swish_beta", lambda x, b: gt.nn.swish(x, beta=b), lambda x, b: x / (1 + np.exp(-b * x)),
            lambda d: [_u(3, 4)(d), np.array(1.5, d)]),
    Special("nn.leaky_relu_alpha", lambda x: gt.nn.leaky_relu(x, alpha=0.3),
            lambda x: np.where(x > 0, x, x * np.float32(0.3)), lambda d: [_u(3, 4)(d)]),
    Special("nn.weighted_cross_entropy_with_logits",
            lambda z, x: gt.nn.weighted_cross_entropy_with_logits(labels=z, logits=x, pos_weight=1.7),
            lambda z, x: (1 - z) * x + (1 + 0.7 * z) * np.logaddexp(0, -x),
            lambda d: [_u(3, 4, low=0.0, high=1.0)(d), _u(3, 4, low=-3.0, high=3.0)(d)]),
    Special("nn.log_poisson_loss",
            lambda t, x: gt.nn.log_poisson_loss(t, x, compute_full_loss=True),
            lambda t, x: np.exp(x) - x * t + np.where(t <= 1, 0.0, t * np.log(t) - t + 0.5 * np.log(2 * np.pi * t)),
            lambda d: [np.array([[0.3, 1.5, 2.5], [4.0, 0.8, 3.2]], d), _u(2, 3)(d)]),
    Special("nn.bias_add", gt.nn.bias_add, lambda v, b: v + b, lambda d: [_u(2, 3, 4)(d), _u(4)(d)]),
    Special("nn.bias_add_nchw", lambda v, b: gt.nn.bias_add(v, b, data_format="NCHW"),
            lambda v, b: v + b[:, None, None], lambda d: [_u(2, 3, 2, 2)(d), _u(3)(d)]),
    Special("nn.moments_mean", lambda x: gt.nn.moments(x, axes=[0, 2])[0], lambda x: x.mean((0, 2)),
            lambda d: [_u(2, 3, 4)(d)]),
    Special("nn.moments_variance", lambda x: gt.nn.moments(x, axes=[0, 2], keepdims=True)[1],
            lambda x: x.var((0, 2), keepdims=True), lambda d: [_u(2, 3, 4)(d)]),
    Special("nn.batch_normalization",
            lambda x, m, v, o, s: gt.nn.batch_normalization(x, m, v, o, s, 1e-3),
            lambda x, m, v, o, s: (x - m) * s / np.sqrt(v + 1e-3) + o,
            lambda d: [_u(4, 3)(d), _u(3)(d), _u(3, low=0.5, high=2.0)(d), _u(3)(d), _u(3)(d)]),
    Special("nn.embedding_lookup", lambda p: gt.nn.embedding_lookup([p], gt.constant([[2, 0], [2, 1]])),
            lambda p: p[[[2, 0], [2, 1]]], lambda d: [_u(3, 4)(d)]),
    Special("nn.embedding_lookup_max_norm", lambda p: gt.nn.embedding_lookup(p, gt.constant([2, 0]), max_norm=1.0),
            lambda p: p[[2, 0]] * np.minimum(1.0, 1.0 / np.linalg.norm(p[[2, 0]], axis=1, keepdims=True)),
            lambda d: [np.array([[0.3, 0.4], [0.1, 0.2], [3.0, -4.0]], d)]),
    Special("math.l2_normalize", lambda x: gt.math.l2_normalize(x, axis=1),
            lambda x: x / np.linalg.norm(x, axis=1, keepdims=True), lambda d: [_u(3, 4)(d)]),
    Special("nn.l2_normalize", gt.nn.l2_normalize, lambda x: x / np.linalg.norm(x), lambda d: [_u(3, 4)(d)]),
    Special("clip_by_norm", lambda x: gt.clip_by_norm(x, 1.0), lambda x: x / max(1.0, np.linalg.norm(x)),
            lambda d: [_u(3, 4)(d)]),
    Special("clip_by_norm_axes", lambda x: gt.clip_by_norm(x, 1.0, axes=[1]),
            lambda x: x / np.maximum(1.0, np.linalg.norm(x, axis=1, keepdims=True)),
            lambda d: [np.array([[0.1, 0.2, -0.3], [2.0, 1.0, -2.0]], d)]),
    Special("clip_by_global_norm",
            lambda a, b: gt.concat([gt.reshape(t, [-1]) for t in gt.clip_by_global_norm([a, None, b], 1.5)[0]
                                    if t is not None], 0),
            lambda a, b: np.concatenate([a.ravel(), b.ravel()]) * 1.5 / max(1.5, np.sqrt((a * a).sum() + (b * b).sum())),
            lambda d: [_u(2, 3)(d), _u(4)(d)]),
] + SHAPE_SPECIAL + REDUCE_SPECIAL + CONV_SPECIAL + LINALG_SPECIAL + COMPOSITE_MORE_SPECIAL

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
    "pad_grad": "the pad_reflect and pad_symmetric rows' second-order checks",
    "tensor_scatter_nd": "the tensor_scatter_nd_update and tensor_scatter_nd_add rows",
    "linear_scan": "the cumprod rows (its rule and jvp are cumprod's, and their second order)",
    "segment_extremum": "the math.segment_max and math.segment_min rows",
    "polygamma_n": "digamma's and lgamma's second-order checks (its rule is polygamma_n(n + 1))",
    "im2col": "the conv and avg_pool rows (conv2d's input gradient is col2im, its jvp im2col)",
    "col2im": "the conv rows' second-order checks and the conv2d_transpose row",
    "max_pool_nhwc": "the max_pool rows (max_pool1d, max_pool2d, max_pool)",
    "conv2d_nhwc": "the conv2d, conv1d and keras conv rows (every float convolution but 1x1 runs through it)",
    "eigh_packed": "the linalg.eigh and linalg.eigvalsh rows (eigh's primitive: values and vectors packed)",
    "qr_packed": "the linalg.qr rows (qr's primitive: q and r packed)",
    "svd_packed": "the linalg.svd rows (svd's primitive: s, u and v packed)",
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
    "truncatediv": "test_ops.py::test_truncated_division_of_integers",
    "truncatemod": "test_ops.py::test_truncated_division_of_integers",
}


def table_names():
    """Every op name the table covers (for the meta-tests), with and without its namespace."""
    names = set()
    for row in UNARY + BINARY + REDUCTIONS + SPECIAL:
        base = row.name.split("_axis")[0].split("_keepdims")[0]
        names.update({base, row.name, base.split(".")[-1], row.name.split(".")[-1]})
    names.update(NON_DIFFERENTIABLE)
    return names
