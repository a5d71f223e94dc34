"""TensorFlow functions that TensorFlow itself writes in Python over its primitive ops:
linspace, reduce_variance/reduce_std, norm, matvec, tensordot, cross, sigmoid cross-entropy, elu, gelu, swish/silu,
leaky_relu, the weighted and Poisson losses, bias_add, moments, batch_normalization,
embedding_lookup, l2_normalize, clip_by_norm, clip_by_global_norm, and the non-differentiable
argmax/argmin/is_nan/is_inf/is_finite.

The differentiable ones are composed of gradtape ops in TensorFlow's own order of operations
(tensorflow/python/ops/math_ops.py, nn_impl.py, linalg_ops.py of 2.21), so they give
TensorFlow's float results and the tape differentiates them as TensorFlow's tape does.
"""
import collections
import numbers
import re

import numpy as np

from . import _core

_FLOATS = ("float32", "float64")


def _tensor(x, dtype=None):
    return _core.convert_to_tensor(x) if dtype is None else _core.convert_to_tensor(x, dtype=dtype)


def _ints(x, what, int32_only=False):
    """The values of an integer argument (an int32/int64 tensor, a list or a number) as an int64
    array, for the functions whose index arithmetic is NumPy's. int32_only: TensorFlow's kernel
    takes int32 alone (dynamic_partition, dynamic_stitch), so an int64 tensor is an
    InvalidArgumentError, as there (TensorFlow converts a NumPy array or a list to int32)."""
    if isinstance(x, (_core.Tensor, _core.Variable)):
        if x.dtype.name not in ("int32", "int64"):
            raise TypeError("%s must be an int32 or int64 tensor, got %s" % (what, x.dtype.name))
        if int32_only and x.dtype.name == "int64":
            raise _core.InvalidArgumentError("%s must be an int32 tensor, got int64" % what)
        return np.asarray(x.numpy(), np.int64)
    a = np.asarray(x)
    if a.size and a.dtype.kind not in "iu":
        raise TypeError("%s must be integers, got %r" % (what, x))
    return a.astype(np.int64)


def _scalar_int(x, what):
    """A scalar integer argument (a Python int, a NumPy integer or a scalar int32/int64 tensor):
    a tensor of any other shape is an InvalidArgumentError, as TensorFlow's kernels say."""
    a = _ints(x, what)
    if a.ndim != 0:
        raise _core.InvalidArgumentError("%s should be a scalar, not shape %s" % (what, list(a.shape)))
    return int(a)


def _is_float(t):
    return t.dtype.name in _FLOATS


def linspace(start, stop, num, name=None, axis=0):
    """`num` evenly spaced values from `start` to `stop` inclusive, as tf.linspace
    (math_ops.linspace_nd): start + delta * [1 .. num-2] between the exact end points, with
    delta = (stop - start) / (num - 1). Integer ends give float64 (TensorFlow's truediv), N-d
    ends broadcast and the values run along `axis`. Differentiable in start and stop.

    >>> gt.linspace(0.0, 1.0, 5).numpy()
    array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    start = _tensor(start)
    stop = _tensor(stop, dtype=start.dtype)
    if isinstance(num, _core.Tensor):
        if num.dtype.name not in ("int32", "int64") or num.shape.rank != 0:
            raise TypeError("linspace: `num` must be a scalar int32 or int64, got %r" % (num,))
        num = int(num)
    elif not isinstance(num, numbers.Integral) or isinstance(num, bool):
        raise TypeError("linspace: `num` must be an integer, got %r" % (num,))
    num = int(num)
    if num < 0:
        raise _core.InvalidArgumentError(
            "Requires start <= limit when delta > 0: 1/-1 [Op:Range] (linspace: num = %d)" % num)
    shape = np.broadcast_shapes(tuple(start.shape), tuple(stop.shape))
    start = _core.broadcast_to(start, list(shape))
    stop = _core.broadcast_to(stop, list(shape))
    ndims = len(shape) + 1
    if not -ndims <= axis < ndims:
        raise _core.InvalidArgumentError("linspace: axis %d is out of range for %d-d values" % (axis, ndims))
    axis = axis % ndims
    expanded_start = _core.expand_dims(start, axis)
    expanded_stop = _core.expand_dims(stop, axis)
    n_steps = max(num - 1, 1)
    delta = (expanded_stop - expanded_start) / _core.cast(_core.constant(n_steps), expanded_stop.dtype)
    expanded_start = _core.cast(expanded_start, delta.dtype)
    expanded_stop = _core.cast(expanded_stop, delta.dtype)
    range_shape = [1] * ndims
    range_shape[axis] = max(num - 2, 0)
    desired_range = _core.reshape(_core.cast(_core.range(1, n_steps, dtype="int64"), delta.dtype), range_shape)
    res = expanded_start + delta * desired_range
    concatenated = _core.concat([expanded_start, res, expanded_stop], axis=axis)
    return concatenated[(slice(None),) * axis + (slice(0, num),)]


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """The mean squared deviation from the mean, as tf.math.reduce_variance (float only).

    >>> float(gt.math.reduce_variance(gt.constant([1.0, 2.0, 3.0, 4.0])))
    1.25
    """
    x = _tensor(input_tensor)
    means = _core.reduce_mean(x, axis=axis, keepdims=True)
    if not _is_float(means):
        raise TypeError("Input must be either real or complex. Received integer type %s." % (means.dtype,))
    return _core.reduce_mean(_core.square(x - means), axis=axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    """sqrt(reduce_variance), as tf.math.reduce_std.

    >>> float(gt.math.reduce_std(gt.constant([1.0, 3.0])))
    1.0
    """
    return _core.sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def _arg_reduce(fn, what, input, axis, output_type):
    x = _tensor(input)
    out = _core.as_dtype(output_type)
    if out.name not in ("int32", "int64"):
        raise _core.InvalidArgumentError("%s: output_type must be int32 or int64, got %s" % (what, out.name))
    if x.shape.rank == 0:
        raise _core.InvalidArgumentError("%s: the input must have rank >= 1, got a scalar" % what)
    axis = 0 if axis is None else int(axis)
    if not -x.shape.rank <= axis < x.shape.rank:
        raise _core.InvalidArgumentError(
            "Expected dimension in the range [%d, %d), but got %d" % (-x.shape.rank, x.shape.rank, axis))
    rank = x.shape.rank
    axis %= rank
    n = x.shape[axis]
    if n == 0:
        raise _core.InvalidArgumentError("Reduction axis %d is empty in shape %s" % (axis, list(x.shape)))
    # In ops (so that gt.function traces it): the first index holding the extreme value. NaNs
    # are passed over, as TensorFlow's kernel does (an all-NaN row gives 0).
    if _is_float(x):
        fill = float("-inf") if fn == "max" else float("inf")
        x = _core.where(_core.not_equal(x, x), _core.fill(x.shape, _core.constant(fill, dtype=x.dtype)), x)
    extreme = (_core.reduce_max if fn == "max" else _core.reduce_min)(x, axis, keepdims=True)
    shape = [1] * rank
    shape[axis] = n
    index = _core.broadcast_to(_core.reshape(_core.range(n, dtype=out), shape), x.shape)
    first = _core.where(_core.equal(x, extreme), index, _core.fill(x.shape, _core.constant(n, dtype=out)))
    return _core.reduce_min(first, axis)


def argmax(input, axis=None, output_type="int64", name=None):
    """The index of the largest value along `axis` (default 0), the first on ties, as
    tf.math.argmax. Not differentiable (an integer result).

    >>> gt.argmax(gt.constant([[1.0, 5.0], [7.0, 2.0]]), axis=1).numpy()
    array([1, 0])
    """
    return _arg_reduce("max", "argmax", input, axis, output_type)


def argmin(input, axis=None, output_type="int64", name=None):
    """The index of the smallest value along `axis` (default 0), the first on ties.

    >>> int(gt.argmin(gt.constant([3, 1, 2])))
    1
    """
    return _arg_reduce("min", "argmin", input, axis, output_type)


def _float_predicate(fn, what):
    def predicate(x, name=None):
        t = _tensor(x)
        if not _is_float(t):
            raise _core.InvalidArgumentError("%s: expected a float tensor, got %s" % (what, t.dtype.name))
        return fn(t)
    predicate.__name__ = what
    predicate.__doc__ = ("Elementwise %s of a float tensor, a bool tensor, as tf.math.%s.\n\n"
                         "    >>> gt.math.%s(gt.constant([1.0, np.nan, np.inf])).numpy()\n"
                         "    array(%s)\n" % (what, what, what, {"is_nan": "[False,  True, False]",
                                                                  "is_inf": "[False, False,  True]",
                                                                  "is_finite": "[ True, False, False]"}[what]))
    return predicate


# (in ops, so that gt.function traces them: NaN is the value unequal to itself)
is_nan = _float_predicate(lambda t: _core.not_equal(t, t), "is_nan")
is_inf = _float_predicate(lambda t: _core.equal(_core.abs(t), _core.constant(float("inf"), dtype=t.dtype)), "is_inf")
is_finite = _float_predicate(lambda t: _core.less(_core.abs(t), _core.constant(float("inf"), dtype=t.dtype)),
                             "is_finite")


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """max(x, 0) - x z + log1p(exp(-|x|)) for logits x and labels z, as
    tf.nn.sigmoid_cross_entropy_with_logits (the same where-based max and abs, so the gradient
    at 0 is TensorFlow's).

    >>> loss = gt.nn.sigmoid_cross_entropy_with_logits(labels=gt.constant([1.0, 0.0]), logits=gt.constant([0.0, 0.0]))
    >>> np.round(loss.numpy(), 4)
    array([0.6931, 0.6931], dtype=float32)
    """
    if labels is None or logits is None:
        raise ValueError("Both `labels` and `logits` must be provided for "
                         "sigmoid_cross_entropy_with_logits. Received: labels=%r and logits=%r" % (labels, logits))
    logits = _tensor(logits)
    labels = _tensor(labels, dtype=logits.dtype)
    if tuple(labels.shape) != tuple(logits.shape):
        raise ValueError("`logits` and `labels` must have the same shape, received (%s vs %s)."
                         % (logits.shape, labels.shape))
    zeros = _core.zeros_like(logits)
    cond = logits >= zeros
    relu_logits = _core.where(cond, logits, zeros)
    neg_abs_logits = _core.where(cond, -logits, logits)
    return _core.add(relu_logits - logits * labels, _core.log1p(_core.exp(neg_abs_logits)))


def elu(features, name=None):
    """x for x > 0, exp(x) - 1 otherwise, as tf.nn.elu (the gradient below 0 is exp(x)).

    >>> np.round(gt.nn.elu(gt.constant([-1.0, 0.0, 2.0])).numpy(), 4)
    array([-0.6321,  0.    ,  2.    ], dtype=float32)
    """
    x = _tensor(features)
    # expm1 of min(x, 0): exp never overflows where the branch is not taken, so the unused
    # branch's gradient is 0, not 0 * inf
    return _core.where(x > 0, x, _core.expm1(_core.minimum(x, _core.zeros_like(x))))


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None):
    """Vector and matrix norms, as tf.norm: 'euclidean'/'fro'/2 (the square root of the sum of
    squares), 1, inf, and any p > 0 for vectors; 1, inf and 'fro' for matrices (axis a pair).
    The matrix 2-norm needs an SVD, which gradtape does not have: NotImplementedError.

    >>> float(gt.norm(gt.constant([3.0, 4.0])))
    5.0
    """
    keepdims = bool(keepdims)
    is_matrix_norm = isinstance(axis, (tuple, list)) and len(axis) == 2
    if is_matrix_norm:
        axis = tuple(int(a) for a in axis)
        if axis[0] == axis[1]:
            raise ValueError("'axis' must be None, an integer, or a tuple of 2 unique integers, got %r" % (axis,))
        if ord not in ("fro", "euclidean", 1, 2, np.inf):
            raise ValueError("'ord' must be a supported matrix norm in ['euclidean', 'fro', 1, 2, inf], got %r" % (ord,))
        if ord == 2:
            raise NotImplementedError("tf.norm(ord=2) of a matrix needs a singular value decomposition, "
                                      "which gradtape does not have")
    else:
        if not (isinstance(axis, int) or axis is None):
            raise ValueError("'axis' must be None, an integer, or a tuple of 2 unique integers, got %r" % (axis,))
        if ord not in ("euclidean", 1, 2, np.inf) and not (
                isinstance(ord, numbers.Real) and not isinstance(ord, bool) and ord > 0):
            raise ValueError("'ord' must be a supported vector norm, got %r" % (ord,))
        if axis is not None:
            axis = (axis,)
    x = _tensor(tensor)
    if ord in ("fro", "euclidean", 2, 2.0):
        result = _core.sqrt(_core.reduce_sum(x * x, list(axis) if axis else None, keepdims=True))
    else:
        result = _core.abs(x)
        if ord == 1:
            result = _core.reduce_sum(result, None if axis is None else axis[0], keepdims=True)
            if is_matrix_norm:
                result = _core.reduce_max(result, axis[-1], keepdims=True)
        elif ord == np.inf:
            if is_matrix_norm:
                result = _core.reduce_sum(result, axis[1], keepdims=True)
            result = _core.reduce_max(result, None if axis is None else axis[0], keepdims=True)
        else:
            result = _core.pow(_core.reduce_sum(_core.pow(result, ord), list(axis) if axis else None,
                                                keepdims=True), 1.0 / ord)
    if not keepdims:
        result = _core.squeeze(result, list(axis) if axis is not None else None)
    return result


def matvec(a, b, transpose_a=False, adjoint_a=False, a_is_sparse=False, b_is_sparse=False, name=None):
    """a @ b for a matrix (or batch of matrices) a and a vector (or batch) b, as
    tf.linalg.matvec: matmul with b as a column, then the column squeezed away.

    >>> gt.linalg.matvec(gt.constant([[1.0, 2.0], [3.0, 4.0]]), gt.constant([1.0, 1.0])).numpy()
    array([3., 7.], dtype=float32)
    """
    b = _tensor(b)
    out = _core.matmul(a, _core.expand_dims(b, -1), transpose_a=transpose_a, adjoint_a=adjoint_a)
    return _core.squeeze(out, -1)


def _tensordot_axes(axes, rank_a, a_desc):
    """TensorFlow's reading of tensordot's `axes`: the contracted dims of a and of b."""
    if isinstance(axes, _core.Tensor):
        axes = axes.numpy().tolist()
    elif isinstance(axes, np.ndarray):
        axes = axes.tolist()
    if isinstance(axes, numbers.Integral) and not isinstance(axes, bool):
        axes = int(axes)
        if axes < 0:
            raise ValueError("`axes` must be at least 0. Received: %d." % axes)
        if axes > rank_a:
            raise ValueError("`axes` must not be larger than the number of dimensions of tensor %s.  "
                             "Received %d, vs tensor dimensions %d." % (a_desc, axes, rank_a))
        return list(range(rank_a - axes, rank_a)), list(range(axes))
    if not isinstance(axes, (list, tuple)) or len(axes) != 2:
        raise ValueError("`axes` must be an integer or have length 2. Received %r." % (axes,))
    a_axes, b_axes = axes
    a_axes = [a_axes] if isinstance(a_axes, numbers.Integral) else list(a_axes)
    b_axes = [b_axes] if isinstance(b_axes, numbers.Integral) else list(b_axes)
    if len(a_axes) != len(b_axes):
        raise ValueError("Different number of contraction axes `a` and `b`, %d != %d." % (len(a_axes), len(b_axes)))
    return [int(i) for i in a_axes], [int(i) for i in b_axes]


def _tensordot_reshape(x, axes, flipped):
    """x transposed and reshaped to a matrix: [free, contracted] (or [contracted, free] when
    flipped), and the free dims."""
    shape = list(x.shape)
    rank = len(shape)
    for i in axes:
        if not -rank <= i < rank:
            raise _core.InvalidArgumentError("tensordot: axis %d is out of range for a tensor of rank %d" % (i, rank))
    axes = [i % rank for i in axes]
    free = [i for i in range(rank) if i not in axes]
    free_dims = [shape[i] for i in free]
    prod_free = int(np.prod(free_dims, dtype=np.int64))
    prod_axes = int(np.prod([shape[i] for i in axes], dtype=np.int64))
    perm = axes + free if flipped else free + axes
    new_shape = [prod_axes, prod_free] if flipped else [prod_free, prod_axes]
    if perm != list(range(rank)):
        x = _core.transpose(x, perm)
    return _core.reshape(x, new_shape), free_dims


def tensordot(a, b, axes, name=None):
    """Contracts a and b over the given axes (a sum of products), as tf.tensordot.

    The contracted dims of `a` are moved last, those of `b` first, both are reshaped to
    matrices and multiplied with `matmul`, and the result is reshaped to the free dims of `a`
    followed by those of `b`; so the gradient is matmul's.

    Args:
      a: A float or integer `Tensor`.
      b: A `Tensor` of the same dtype.
      axes: An int N (the last N dims of `a` with the first N of `b`), or a pair
        [a_axes, b_axes] of ints or lists of ints of equal length (negative counts from the end).
      name: Ignored.

    Returns:
      A `Tensor` of shape free dims of `a` + free dims of `b`.

    Raises:
      ValueError: `axes` is negative, larger than the rank of `a`, or not of length 2.
      InvalidArgumentError: the contracted dims differ in size.

    >>> gt.tensordot(gt.ones([2, 3]), gt.ones([3, 4]), 1).shape
    TensorShape([2, 4])
    >>> float(gt.tensordot(gt.constant([1.0, 2.0]), gt.constant([3.0, 4.0]), [[0], [0]]))
    11.0
    """
    a = _tensor(a)
    b = _tensor(b)
    a_axes, b_axes = _tensordot_axes(axes, len(a.shape), a)
    a_matrix, a_free = _tensordot_reshape(a, a_axes, False)
    b_matrix, b_free = _tensordot_reshape(b, b_axes, True)
    return _core.reshape(_core.matmul(a_matrix, b_matrix), a_free + b_free)


def cross(a, b, name=None):
    """Computes the cross product of 3-element vectors, pairwise over the leading dims.

    out[..., 0] = a[..., 1] b[..., 2] - a[..., 2] b[..., 1], and so on cyclically; composed of
    gather, multiply and subtract, so it is differentiable to any order.

    Args:
      a: A `Tensor` of shape [..., 3].
      b: A `Tensor` of the shape and dtype of `a` (no broadcasting, as TensorFlow's).
      name: Ignored.

    Returns:
      A `Tensor` of the shape and dtype of `a`.

    Raises:
      InvalidArgumentError: the shapes differ.
      FailedPreconditionError: the last dim is not 3.

    >>> gt.linalg.cross(gt.constant([1.0, 0.0, 0.0]), gt.constant([0.0, 1.0, 0.0])).numpy()
    array([0., 0., 1.], dtype=float32)
    """
    from ._errors import FailedPreconditionError

    a = _tensor(a)
    b = _tensor(b)
    if tuple(a.shape) != tuple(b.shape):
        raise _core.InvalidArgumentError("cross: Both inputs must be of same shape: %s vs. %s"
                                         % (list(a.shape), list(b.shape)))
    if len(a.shape) < 1:
        raise _core.InvalidArgumentError("cross: Argument a must be at least a vector, got shape %s" % (list(a.shape),))
    if a.shape[-1] != 3:
        raise FailedPreconditionError("cross: Cross-products are only defined for 3-element vectors, got shape %s"
                                      % (list(a.shape),))
    axis = len(a.shape) - 1
    yzx, zxy = _core.constant([1, 2, 0]), _core.constant([2, 0, 1])
    return (_core.gather(a, yzx, axis=axis) * _core.gather(b, zxy, axis=axis)
            - _core.gather(a, zxy, axis=axis) * _core.gather(b, yzx, axis=axis))


def broadcast_static_shape(shape_x, shape_y):
    """The broadcast of two TensorShapes, as tf.broadcast_static_shape (NumPy's rule);
    ValueError when they do not broadcast.

    >>> gt.broadcast_static_shape(gt.zeros([2, 1]).shape, gt.zeros([3]).shape)
    TensorShape([2, 3])
    """
    from ._shape import TensorShape
    for s in (shape_x, shape_y):
        if not isinstance(s, TensorShape):
            raise AttributeError("'%s' object has no attribute 'ndims' (broadcast_static_shape takes TensorShapes)"
                                 % type(s).__name__)
    try:
        return TensorShape(np.broadcast_shapes(tuple(shape_x), tuple(shape_y)))
    except ValueError:
        raise ValueError("Incompatible shapes for broadcasting. Two shapes are compatible if for each dimension pair "
                         "they are either equal or one of them is 1. Received: %s and %s."
                         % (tuple(shape_x), tuple(shape_y))) from None


# --------------------------------------------------------------------------- activations
# (TensorFlow writes these in Python over its primitives, or has a kernel whose values and
# gradients these compositions give: docs/choices.md)

def _float_features(features, what):
    x = _tensor(features)
    if not _is_float(x):
        raise ValueError("`features.dtype` must be a floating point tensor.Received:features.dtype=%s (%s)"
                         % (x.dtype.name, what))
    return x


def gelu(features, approximate=False, name=None):
    """The Gaussian error linear unit x * P(X <= x), X ~ N(0, 1), as tf.nn.gelu: with
    `approximate=False` 0.5 x erfc(-x / sqrt(2)), with `approximate=True` the tanh form
    0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), in TensorFlow's order of operations.

    >>> gt.nn.gelu(gt.constant([-1.0, 0.0, 1.0], dtype=gt.float64)).numpy()
    array([-0.15865525,  0.        ,  0.84134475])
    >>> gt.nn.gelu(gt.constant([1.0], dtype=gt.float64), approximate=True).numpy()
    array([0.84119199])
    """
    x = _float_features(features, "gelu")
    if approximate:
        coeff = _core.constant(0.044715, dtype=x.dtype)
        return 0.5 * x * (1.0 + _core.tanh(0.7978845608028654 * (x + coeff * _core.pow(x, 3.0))))
    return 0.5 * x * _core.erfc(-x * _core.constant(0.7071067811865476, dtype=x.dtype))


def swish(features, beta=1.0):
    """x * sigmoid(beta * x), as tf.nn.swish and tf.nn.silu (the same function); `beta` may be
    a tensor, and then it gets a gradient too.

    >>> gt.nn.silu(gt.constant([-1.0, 0.0, 2.0], dtype=gt.float64)).numpy()
    array([-0.26894142,  0.        ,  1.76159416])
    >>> gt.nn.swish(gt.constant([1.0], dtype=gt.float64), beta=2.0).numpy()
    array([0.88079708])
    """
    x = _tensor(features)
    b = _core.cast(_tensor(beta), x.dtype)
    return x * _core.sigmoid(b * x)


silu = swish


def leaky_relu(features, alpha=0.2, name=None):
    """x where x > 0, alpha * x elsewhere, as tf.nn.leaky_relu: integer features become
    float32, and alpha is a float32 (TensorFlow's kernel attribute), so that float64 results
    equal TensorFlow's. The gradient is 1 above 0 and alpha at 0 and below.

    >>> gt.nn.leaky_relu(gt.constant([-1.0, 0.0, 2.0])).numpy()
    array([-0.2,  0. ,  2. ], dtype=float32)
    """
    x = _tensor(features)
    if x.dtype.name in ("int32", "int64"):
        x = _core.cast(x, "float32")
    if isinstance(alpha, np.ndarray):
        alpha = alpha.item()
    a = _core.constant(float(np.float32(alpha)), dtype=x.dtype)
    return _core.where(x > _core.zeros_like(x), x, x * a)


# --------------------------------------------------------------------------- losses

def _same_shape(a, b, what_a, what_b, a_t, b_t):
    if tuple(a_t.shape) != tuple(b_t.shape):
        raise ValueError("`%s` and `%s` must have the same shape, received (%s vs %s)."
                         % (what_a, what_b, a_t.shape, b_t.shape))


def weighted_cross_entropy_with_logits(labels, logits, pos_weight, name=None):
    """Sigmoid cross-entropy with the positive term weighted by `pos_weight`, as
    tf.nn.weighted_cross_entropy_with_logits: (1 - z) x + (1 + (q - 1) z) (log1p(exp(-|x|)) +
    max(-x, 0)) for labels z, logits x, pos_weight q; stable for any x.

    >>> loss = gt.nn.weighted_cross_entropy_with_logits(labels=[0.0, 1.0], logits=[-1.0, 2.0], pos_weight=2.0)
    >>> np.round(loss.numpy(), 4)
    array([0.3133, 0.2539], dtype=float32)
    """
    logits = _tensor(logits)
    labels = _tensor(labels, dtype=logits.dtype)
    _same_shape(logits, labels, "logits", "labels", logits, labels)
    pos_weight = _core.convert_to_tensor(pos_weight, dtype=logits.dtype)
    log_weight = 1.0 + (pos_weight - 1.0) * labels
    return _core.add((1.0 - labels) * logits,
                     log_weight * (_core.log1p(_core.exp(-_core.abs(logits))) + _core.relu(-logits)))


def log_poisson_loss(targets, log_input, compute_full_loss=False, name=None):
    """The negative log-likelihood of `targets` under a Poisson distribution of log-rate
    `log_input`, up to a constant: exp(log_input) - log_input * targets, as
    tf.nn.log_poisson_loss. With `compute_full_loss`, Stirling's approximation of
    log(targets!) is added where targets > 1 (TensorFlow's rule: 0 for targets in [0, 1]).

    >>> loss = gt.nn.log_poisson_loss(gt.constant([0.0, 2.0]), gt.constant([0.5, 1.0]), compute_full_loss=True)
    >>> np.round(loss.numpy(), 4)
    array([1.6487, 1.3701], dtype=float32)
    """
    log_input = _tensor(log_input)
    targets = _tensor(targets, dtype=log_input.dtype)
    _same_shape(log_input, targets, "log_input", "targets", log_input, targets)
    result = _core.exp(log_input) - log_input * targets
    if compute_full_loss:
        stirling_approx = (targets * _core.log(targets)) - targets + (0.5 * _core.log((2.0 * np.pi) * targets))
        zeros = _core.zeros_like(targets)
        ones = _core.ones_like(targets)
        cond = _core.logical_and(targets >= zeros, targets <= ones)
        result = result + _core.where(cond, zeros, stirling_approx)
    return result


# --------------------------------------------------------------------------- layers' helpers

def bias_add(value, bias, data_format=None, name=None):
    """value + bias along the channel dimension, as tf.nn.bias_add: the last one for
    `data_format` None or 'N...C' (NHWC, NWC, ...), the second one for 'NC...' (NCHW, ...).
    `value` needs rank >= 2 and `bias` must be 1-D, of the channel count.

    >>> gt.nn.bias_add(gt.zeros([2, 3]), gt.constant([1.0, 2.0, 3.0])).numpy()
    array([[1., 2., 3.],
           [1., 2., 3.]], dtype=float32)
    >>> gt.nn.bias_add(gt.zeros([1, 2, 2]), gt.constant([1.0, 2.0]), data_format="NCHW").numpy()
    array([[[1., 1.],
            [2., 2.]]], dtype=float32)
    """
    channels_first = False
    if data_format is not None:
        if data_format.startswith("NC"):
            channels_first = True
        elif not (data_format.startswith("N") and data_format.endswith("C")):
            raise ValueError("`data_format` must be of the form `N...C` or `NC...`. Received: data_format=%s"
                             % data_format)
    value = _tensor(value)
    bias = _tensor(bias, dtype=value.dtype)
    rank = value.shape.rank
    if rank < 2:
        raise _core.InvalidArgumentError("Input tensor must be at least 2D: %s [Op:BiasAdd]" % list(value.shape))
    if bias.shape.rank != 1:
        raise _core.InvalidArgumentError("Biases must be 1D: %s [Op:BiasAdd]" % list(bias.shape))
    channel_axis = 1 if channels_first else rank - 1
    if bias.shape[0] != value.shape[channel_axis]:
        raise _core.InvalidArgumentError(
            "Must provide as many biases as the %s dimension of the input tensor: %s vs. %s [Op:BiasAdd]"
            % ("channel" if channels_first else "last", list(bias.shape), list(value.shape)))
    if channels_first:
        bias = _core.reshape(bias, [-1] + [1] * (rank - 2))
    return value + bias


def moments(x, axes, shift=None, keepdims=False, name=None):
    """The mean and variance of x over `axes`, as tf.nn.moments: (mean, variance), each
    without the reduced axes unless `keepdims`. `shift` is ignored, as in TensorFlow 2.
    (TensorFlow stops the gradient through the mean inside the variance; the first derivatives
    are the same either way, gradtape's second ones are the true ones: docs/choices.md.)

    >>> mean, variance = gt.nn.moments(gt.constant([[1.0, 2.0], [3.0, 5.0]]), axes=[0])
    >>> mean.numpy(), variance.numpy()
    (array([2. , 3.5], dtype=float32), array([1.  , 2.25], dtype=float32))
    """
    y = _tensor(x)
    axes = [int(a) for a in (axes if isinstance(axes, (list, tuple)) else [axes])]
    mean = _core.reduce_mean(y, axes, keepdims=True)
    variance = _core.reduce_mean(_core.squared_difference(y, mean), axes, keepdims=True)
    if not keepdims:
        mean = _core.squeeze(mean, axes)
        variance = _core.squeeze(variance, axes)
    return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """(x - mean) * scale / sqrt(variance + variance_epsilon) + offset, as
    tf.nn.batch_normalization (offset and scale may be None), in TensorFlow's order:
    x * inv + (offset - mean * inv) with inv = scale * rsqrt(variance + variance_epsilon).

    >>> gt.nn.batch_normalization(gt.constant([1.0, 3.0]), 2.0, 1.0, None, None, 0.0).numpy()
    array([-1.,  1.], dtype=float32)
    """
    x = _tensor(x)
    mean = _tensor(mean, dtype=x.dtype)
    variance = _tensor(variance, dtype=x.dtype)
    inv = _core.rsqrt(variance + _core.constant(variance_epsilon, dtype=x.dtype))
    if scale is not None:
        inv = inv * _tensor(scale, dtype=x.dtype)
    shift = (_tensor(offset, dtype=x.dtype) - mean * inv) if offset is not None else -mean * inv
    return x * inv + shift


def embedding_lookup(params, ids, max_norm=None, name=None):
    """The rows of `params` at `ids` (gather along axis 0), as tf.nn.embedding_lookup.
    `params` is a tensor, a variable, or a list of one of them (TensorFlow's sharded lists of
    several tensors are not supported: NotImplementedError). With `max_norm`, each looked-up
    embedding whose L2 norm exceeds it is scaled down to it.

    >>> table = gt.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> gt.nn.embedding_lookup(table, [2, 0]).numpy()
    array([[5., 6.],
           [1., 2.]], dtype=float32)
    """
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            raise NotImplementedError("embedding_lookup: gradtape takes one params tensor (or a list of one), "
                                      "got a list of %d (sharded tables are not supported)" % len(params))
        params = params[0]
    ids = _tensor(ids)
    out = _core.gather(params, ids)
    if max_norm is not None:
        out = clip_by_norm(out, max_norm, axes=list(range(ids.shape.rank, out.shape.rank)))
    return out


# --------------------------------------------------------------------------- clipping

def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """x / sqrt(max(sum(x ** 2), epsilon)) along `axis` (every axis by default), as
    tf.math.l2_normalize (`dim` is its deprecated name for `axis`).

    >>> gt.math.l2_normalize(gt.constant([3.0, 4.0])).numpy()
    array([0.6, 0.8], dtype=float32)
    """
    if dim is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'axis' and 'dim'")
        axis = dim
    x = _tensor(x)
    square_sum = _core.reduce_sum(_core.square(x), axis, keepdims=True)
    x_inv_norm = _core.rsqrt(_core.maximum(square_sum, _core.constant(epsilon, dtype=x.dtype)))
    return x * x_inv_norm


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """t * clip_norm / max(l2norm(t), clip_norm) over `axes` (all by default), as
    tf.clip_by_norm: t unchanged when its norm is at most clip_norm; a zero t stays zero with
    gradient 1 (TensorFlow's guarded square root).

    >>> gt.clip_by_norm(gt.constant([3.0, 4.0]), 1.0).numpy()
    array([0.6, 0.8], dtype=float32)
    """
    t = _tensor(t)
    clip_norm = _tensor(clip_norm, dtype=t.dtype)
    l2sum = _core.reduce_sum(t * t, axes, keepdims=True)
    pred = l2sum > _core.zeros_like(l2sum)
    l2sum_safe = _core.where(pred, l2sum, _core.ones_like(l2sum))
    l2norm = _core.where(pred, _core.sqrt(l2sum_safe), l2sum)
    intermediate = t * clip_norm
    return _core.identity(intermediate / _core.maximum(l2norm, clip_norm))


def _global_norm(t_list, name=None):
    """sqrt(sum of the squared L2 norms of the tensors of t_list), None entries skipped, as
    tf.linalg.global_norm (TensorFlow's sum of l2_loss terms, doubled).

    >>> float(gt.linalg.global_norm([gt.constant([3.0]), None, gt.constant([4.0])]))
    5.0
    """
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("`t_list` should be a sequence of tensors. Received %s." % type(t_list))
    values = [_tensor(t) for t in t_list if t is not None]
    half_squared_norms = [_core.l2_loss(v) for v in values]
    half_squared_norm = _core.reduce_sum(_core.stack(half_squared_norms))
    return _core.sqrt(half_squared_norm * _core.constant(2.0, dtype=half_squared_norm.dtype))


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """Scales every tensor of t_list by clip_norm / max(global_norm, clip_norm), as
    tf.clip_by_global_norm: returns (the clipped list, None entries kept, and the global norm).
    An infinite or NaN global norm makes every clipped tensor NaN, as in TensorFlow.

    >>> clipped, norm = gt.clip_by_global_norm([gt.constant([3.0, 4.0]), gt.constant([0.0, 12.0])], 1.0)
    >>> float(norm), np.round(clipped[1].numpy(), 4)
    (13.0, array([0.    , 0.9231], dtype=float32))
    """
    if not isinstance(t_list, (list, tuple)) or isinstance(t_list, str):
        raise TypeError("`t_list` should be a sequence of tensors. Received %s." % type(t_list))
    t_list = list(t_list)
    if use_norm is None:
        use_norm = _global_norm(t_list, name)
    use_norm = _tensor(use_norm)
    clip_norm = _core.cast(_tensor(clip_norm), use_norm.dtype)
    scale_for_finite = clip_norm * _core.minimum(1.0 / use_norm, _core.constant(1.0, dtype=use_norm.dtype) / clip_norm)
    scale = scale_for_finite + (use_norm - use_norm)
    values = [None if t is None else _tensor(t) for t in t_list]
    clipped = [None if v is None else _core.identity(v * _core.cast(scale, v.dtype)) for v in values]
    return clipped, use_norm


# ---------------------------------------------------------------------------------------------
# einsum: parsed here, contracted pairwise with transpose/reshape/matmul/multiply/reduce_sum
# (and diag_part for a label repeated within one operand), so the tape and the forward
# accumulator differentiate it through those ops.

_EINSUM_KWARGS = ("name", "optimize")
_ELLIPSIS = "0"  # the ellipsis, as one character while parsing (TensorFlow's choice of stand-in)


def _einsum_parse(equation, num_inputs):
    """The input label strings and the output label string of `equation`; '...' is '0'."""
    if not isinstance(equation, str):
        raise TypeError("einsum: the equation must be a str, got %s" % type(equation).__name__)
    eq = equation.replace(" ", "")
    allowed = "a-zA-Z"
    if "..." in eq:
        if _ELLIPSIS in eq:
            raise ValueError('Invalid character "%s" in equation: %s.' % (_ELLIPSIS, equation))
        eq = eq.replace("...", _ELLIPSIS)
        allowed += _ELLIPSIS
    match = re.match("^([%s,]*)(->[%s]*)?$" % (allowed, allowed), eq)
    if not match:
        raise ValueError("Subscripts have incorrect format: %s" % eq)
    inputs = match.group(1).split(",")
    if num_inputs != len(inputs):
        raise ValueError('Got %d inputs for equation "%s", expecting %d' % (num_inputs, equation, len(inputs)))
    if match.group(2) is None:
        # implicit mode: the labels (the ellipsis among them) that appear exactly once, sorted
        counts = collections.Counter(match.group(1).replace(",", ""))
        output = "".join(sorted(label for label, n in counts.items() if n == 1))
    else:
        output = match.group(2)[2:]
    if len(set(output)) != len(output):
        raise ValueError("Output subscripts contain a label appearing more than once: %s" % equation)
    in_labels = set(match.group(1))
    for label in output:
        if label != _ELLIPSIS and label not in in_labels:
            raise ValueError("Output subscripts contain the label %s not present in the input subscripts." % label)
    for labels in inputs:
        if labels.count(_ELLIPSIS) > 1:
            raise ValueError("Input subscripts contain more than one ellipsis: %s" % equation)
    return inputs, output


def _einsum_resolve(equation, inputs, out_labels, tensors):
    """Each operand's labels as a list (the ellipsis spelled out as one label per broadcast dim,
    right-aligned: '0:k' counts from the end), the size of every label, and the output's labels.
    Size-1 ellipsis dims that broadcast against a larger size are reshaped away, so the operand
    simply lacks that label."""
    sizes = {}
    owner = {}  # label -> (input index, axis, shape) where its size was first seen
    ranks = [len(t.shape) for t in tensors]
    ell_rank = 0
    for i, (labels, t) in enumerate(zip(inputs, tensors)):
        named = len(labels) - labels.count(_ELLIPSIS)
        if _ELLIPSIS in labels:
            if ranks[i] < named:
                raise _core.InvalidArgumentError("Expected input %d to have rank at least %d but got: %d"
                                                 % (i, named, ranks[i]))
            ell_rank = max(ell_rank, ranks[i] - named)
        elif ranks[i] != named:
            if len(tensors) > 2:
                raise ValueError("Number of named labels in input #%d of equation %s must be equal to the "
                                 "number of dimensions in shape %s" % (i, equation, list(t.shape)))
            raise _core.InvalidArgumentError("Expected input %d to have rank %d but got: %d" % (i, named, ranks[i]))
    ell_labels = ["0:%d" % k for k in range(ell_rank, 0, -1)]
    ell_sizes = {}
    resolved = []
    for i, (labels, t) in enumerate(zip(inputs, tensors)):
        shape = list(t.shape)
        full = []
        for label in labels:
            if label == _ELLIPSIS:
                n = ranks[i] - (len(labels) - 1)
                full.extend(ell_labels[ell_rank - n:])
            else:
                full.append(label)
        for axis, (label, dim) in enumerate(zip(full, shape)):
            if label.startswith(_ELLIPSIS):
                if dim != 1:
                    seen = ell_sizes.get(label)
                    if seen is not None and seen[0] != dim:
                        raise _core.InvalidArgumentError("Invalid broadcasting dimensions: %s vs. %s"
                                                         % (list(seen[1]), shape))
                    ell_sizes[label] = (dim, shape)
            elif label in sizes:
                if sizes[label] != dim:
                    raise _core.InvalidArgumentError(
                        "Expected dimension %d at axis %d of the input shaped %s but got dimension %d"
                        % (sizes[label], axis, shape, dim))
            else:
                sizes[label] = dim
        resolved.append(full)
    for label in ell_labels:
        sizes[label] = ell_sizes[label][0] if label in ell_sizes else 1
    if ell_rank and _ELLIPSIS not in out_labels:
        raise _core.InvalidArgumentError("Output contains %d broadcasting dimension(s) but no ellipsis (...) "
                                         "was found in the output subscripts." % ell_rank)
    output = []
    for label in out_labels:
        output.extend(ell_labels if label == _ELLIPSIS else [label])
    # drop the size-1 ellipsis dims that broadcast against a larger size
    for i, (full, t) in enumerate(zip(resolved, tensors)):
        keep = [a for a, label in enumerate(full) if not (label.startswith(_ELLIPSIS) and sizes[label] != 1
                                                         and t.shape[a] == 1)]
        if len(keep) != len(full):
            resolved[i] = [full[a] for a in keep]
            tensors[i] = _core.reshape(t, [t.shape[a] for a in keep])
    return resolved, sizes, output


def _einsum_take_diagonals(t, labels):
    """t with every repeated label reduced to its diagonal (diag_part over the two axes)."""
    while len(set(labels)) != len(labels):
        label = next(lb for lb in labels if labels.count(lb) > 1)
        p = labels.index(label)
        q = labels.index(label, p + 1)
        rest = [a for a in range(len(labels)) if a not in (p, q)]
        perm = rest + [p, q]
        if perm != list(range(len(labels))):
            t = _core.transpose(t, perm)
        t = _diag_part(t)
        labels = [labels[a] for a in rest] + [label]
    return t, labels


def _diag_part(t):
    """The main diagonal of the last two axes (gt.linalg.diag_part; imported here, as
    gradtape.linalg imports this module)."""
    from . import linalg
    return linalg.diag_part(t)


def _einsum_permute(t, labels, order):
    """t transposed from `labels` to `order` (the same labels)."""
    perm = [labels.index(label) for label in order]
    return _core.transpose(t, perm) if perm != list(range(len(perm))) else t


def _einsum_prod(sizes, labels):
    return int(np.prod([sizes[label] for label in labels], dtype=np.int64))


def _einsum_pair(a, a_labels, b, b_labels, keep, sizes):
    """The contraction of two operands: the labels in both and kept are batch dims, those in both
    and not kept are summed by one batched matmul (or, when there are none, a broadcasting
    multiply); the labels of one operand only are all kept."""
    b_set = set(b_labels)
    a_set = set(a_labels)
    batch = [lb for lb in a_labels if lb in b_set and lb in keep]
    summed = [lb for lb in a_labels if lb in b_set and lb not in keep]
    a_free = [lb for lb in a_labels if lb not in b_set]
    b_free = [lb for lb in b_labels if lb not in a_set]
    batch_dims = [sizes[lb] for lb in batch]
    a_dims = [sizes[lb] for lb in a_free]
    b_dims = [sizes[lb] for lb in b_free]
    if not summed:
        a = _core.reshape(_einsum_permute(a, a_labels, batch + a_free), batch_dims + a_dims + [1] * len(b_free))
        b = _core.reshape(_einsum_permute(b, b_labels, batch + b_free), batch_dims + [1] * len(a_free) + b_dims)
        return _core.multiply(a, b), batch + a_free + b_free
    nb, m, n, k = (_einsum_prod(sizes, batch), _einsum_prod(sizes, a_free), _einsum_prod(sizes, b_free),
                   _einsum_prod(sizes, summed))
    a = _core.reshape(_einsum_permute(a, a_labels, batch + a_free + summed), [nb, m, k])
    b = _core.reshape(_einsum_permute(b, b_labels, batch + summed + b_free), [nb, k, n])
    out = _core.matmul(a, b)
    return _core.reshape(out, batch_dims + a_dims + b_dims), batch + a_free + b_free


def einsum(equation, *inputs, **kwargs):
    """Tensor contraction over specified indices and outer product, as tf.einsum.

    `equation` names the axes of each input with letters: "ij,jk->ik" is a matrix product.
    A label repeated within one input takes its diagonal ("ii->i"); a label absent from the
    output is summed; "..." stands for any number of leading (or inner) axes, which broadcast
    as NumPy's do. Without "->" (implicit mode) the output is the labels that appear exactly
    once, in alphabetical order (uppercase first), with "..." first when it appears once.
    Several inputs are contracted two at a time, each time the pair whose result is smallest;
    each pair is one batched `matmul` (or a broadcasting `multiply` when nothing is summed)
    after transposes and reshapes, so the gradient, of any order, and forward mode are those
    of the ops it is made of.

    Args:
      equation: A `str`: comma-separated input labels (letters and "..."), optionally
        "->" and the output labels. Spaces are ignored.
      *inputs: The input `Tensor`s, one per comma-separated term, all of one dtype.
      **kwargs: `name` and `optimize` are accepted and ignored (the greedy order is used).

    Returns:
      A `Tensor` with the output's axes, in the order of the output labels.

    Raises:
      ValueError: The equation is malformed, names an output label twice or one no input
        has, or the number of inputs differs from the number of terms.
      InvalidArgumentError: An input's rank differs from its number of labels, a label has
        two sizes, or "..." axes do not broadcast (or are dropped by an output without "...").
      TypeError: An unknown keyword argument.

    >>> m0 = gt.constant([[1.0, 2.0], [3.0, 4.0]])
    >>> gt.einsum('ij,jk->ik', m0, gt.constant([[1.0], [1.0]])).numpy()
    array([[3.],
           [7.]], dtype=float32)
    >>> float(gt.einsum('ii', m0))  # the trace
    5.0
    >>> gt.einsum('...ij->...ji', gt.ones([5, 2, 3])).shape
    TensorShape([5, 3, 2])
    """
    unknown = [k for k in kwargs if k not in _EINSUM_KWARGS]
    if unknown:
        raise TypeError("Invalid keyword arguments for einsum: %s. Valid arguments: name, optimize, greedy."
                        % ", ".join(unknown))
    in_terms, out_term = _einsum_parse(equation, len(inputs))
    tensors = [_tensor(x) for x in inputs]
    operands, sizes, output = _einsum_resolve(equation, in_terms, out_term, tensors)
    out_set = set(output)
    # within each operand: diagonals of repeated labels, then the sums of its own labels
    for i, labels in enumerate(operands):
        t, labels = _einsum_take_diagonals(tensors[i], list(labels))
        elsewhere = set(out_set)
        for j, other in enumerate(operands):
            if j != i:
                elsewhere.update(other)
        own = [a for a, lb in enumerate(labels) if lb not in elsewhere]
        if own:
            t = _core.reduce_sum(t, own)
            labels = [lb for lb in labels if lb in elsewhere]
        tensors[i], operands[i] = t, labels
    # pairwise, greedily: each time the pair whose result has the fewest elements
    while len(tensors) > 1:
        best = None
        for i in range(len(tensors)):
            for j in range(i + 1, len(tensors)):
                keep = set(out_set)
                for k, other in enumerate(operands):
                    if k != i and k != j:
                        keep.update(other)
                result = [lb for lb in operands[i] + operands[j] if lb in keep]
                cost = _einsum_prod(sizes, set(result))
                if best is None or cost < best[0]:
                    best = (cost, i, j, keep)
        _, i, j, keep = best
        t, labels = _einsum_pair(tensors[i], operands[i], tensors[j], operands[j], keep, sizes)
        tensors = [x for k, x in enumerate(tensors) if k not in (i, j)] + [t]
        operands = [x for k, x in enumerate(operands) if k not in (i, j)] + [labels]
    return _einsum_permute(tensors[0], operands[0], output)


def lstsq(matrix, rhs, l2_regularizer=0.0, fast=True, name=None):
    """The least-squares solution X of matrix @ X = rhs for each matrix of a batch (as
    tf.linalg.lstsq), with an optional L2 penalty l2_regularizer * ||X||^2.

    With more rows than columns (M >= N) it solves the normal equations
    (A^T A + l2 I) X = A^T rhs; with fewer, X = A^T (A A^T + l2 I)^-1 rhs (the minimum-norm
    solution). Both go through a Cholesky factorisation, so the matrix must have full rank
    when l2_regularizer is 0. `fast=False` (TensorFlow's complete orthogonal decomposition,
    without a penalty) solves through a QR factorisation instead, which keeps the accuracy of
    ill-conditioned matrices. Unlike TensorFlow (whose gradient is None), X is differentiable
    with respect to both arguments.

    Args:
      matrix: [..., M, N] float tensor.
      rhs: [..., M, K] tensor of the same dtype.
      l2_regularizer: a non-negative scalar.
      fast: normal equations (True) or QR (False).

    Returns:
      [..., N, K]: the solution.

    >>> a = gt.constant([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], gt.float64)
    >>> gt.linalg.lstsq(a, gt.constant([[1.0], [2.0], [4.0]], gt.float64)).numpy().round(6)
    array([[1.333333],
           [2.333333]])
    """
    a = _tensor(matrix)
    b = _tensor(rhs, a.dtype)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError("lstsq: matrix and rhs must have rank at least 2, got shapes %s and %s"
                         % (list(a.shape), list(b.shape)))
    if a.shape[-2] != b.shape[-2]:
        raise _core.InvalidArgumentError("lstsq: matrix has %d rows and rhs %d: they must be equal"
                                         % (a.shape[-2], b.shape[-2]))
    m, n = a.shape[-2], a.shape[-1]
    reg = _tensor(l2_regularizer, a.dtype)
    if not fast:
        if m >= n:  # A = QR: X = R^-1 Q^T b
            q, r = _core.qr(a)
            return _core.triangular_solve(r, _core.matmul(q, b, transpose_a=True), lower=False)
        q, r = _core.qr(_core.transpose(a, _swap_last(a.ndim)))  # A^T = QR: X = Q R^-T b
        y = _core.triangular_solve(r, b, lower=False, adjoint=True)
        return _core.matmul(q, y)
    eye = _core.eye(min(m, n), dtype=a.dtype)
    if m >= n:
        gram = _core.matmul(a, a, transpose_a=True) + reg * eye
        return _core.cholesky_solve(_core.cholesky(gram), _core.matmul(a, b, transpose_a=True))
    gram = _core.matmul(a, a, transpose_b=True) + reg * eye
    return _core.matmul(a, _core.cholesky_solve(_core.cholesky(gram), b), transpose_a=True)


def _swap_last(rank):
    return list(range(rank - 2)) + [rank - 1, rank - 2]


# Higham's degree-13 Pade coefficients for exp, and the largest 1-norm it serves unscaled.
_EXPM_B = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
           40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_EXPM_THETA13 = 5.371920351148152


def expm(input, name=None):  # noqa: A002 (TensorFlow's name)
    """The matrix exponential of each square matrix of a batch (as tf.linalg.expm), by scaling
    and squaring with a degree-13 Pade approximant: exp(A) = (exp(A / 2^s))^(2^s), s chosen from
    the largest 1-norm of the batch. Differentiable (through its matmuls and solve). The
    scaling reads that norm into Python, so under gt.function it raises
    OperatorNotAllowedInGraphError.

    Args:
      input: [..., N, N] float tensor.

    Returns:
      [..., N, N]: exp(input).

    >>> gt.linalg.expm(gt.constant([[0.0, 1.0], [-1.0, 0.0]], gt.float64)).numpy().round(6)
    array([[ 0.540302,  0.841471],
           [-0.841471,  0.540302]])
    """
    a = _tensor(input)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise _core.InvalidArgumentError("expm: input must be a square matrix (or a batch of them), got shape %s"
                                         % (list(a.shape),))
    if not _is_float(a):
        raise _core.InvalidArgumentError("expm: input must be float32 or float64, got %s" % a.dtype.name)
    n = a.shape[-1]
    if a.shape.num_elements() == 0:
        return a
    norm1 = float(np.max(np.sum(np.abs(a.numpy()), axis=-2))) if n else 0.0
    if not np.isfinite(norm1):
        s = 0
    else:
        s = max(0, int(np.ceil(np.log2(norm1 / _EXPM_THETA13)))) if norm1 > _EXPM_THETA13 else 0
    if s:
        a = a * (0.5 ** s)
    b = _EXPM_B
    eye = _core.eye(n, batch_shape=list(a.shape[:-2]), dtype=a.dtype)
    a2 = _core.matmul(a, a)
    a4 = _core.matmul(a2, a2)
    a6 = _core.matmul(a4, a2)
    u = _core.matmul(a, _core.matmul(a6, b[13] * a6 + b[11] * a4 + b[9] * a2)
                     + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = _core.matmul(a6, b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    r = _core.solve(v - u, v + u)
    for _ in range(s):
        r = _core.matmul(r, r)
    return r
