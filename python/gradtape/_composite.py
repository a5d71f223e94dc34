"""TensorFlow functions that TensorFlow itself writes in Python over its primitive ops:
linspace, reduce_variance/reduce_std, norm, matvec, sigmoid cross-entropy, elu, and the
non-differentiable argmax/argmin/is_nan/is_inf/is_finite.

The differentiable ones are composed of gradtape ops in TensorFlow's own order of operations
(tensorflow/python/ops/math_ops.py, nn_impl.py, linalg_ops.py of 2.21), so they give
TensorFlow's float results and the tape differentiates them as TensorFlow's tape does.
"""
import numbers

import numpy as np

from . import _core

_FLOATS = ("float32", "float64")


def _tensor(x, dtype=None):
    return _core.convert_to_tensor(x) if dtype is None else _core.convert_to_tensor(x, dtype=dtype)


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
    a = x.numpy()
    if a.shape[axis] == 0:
        raise _core.InvalidArgumentError("Reduction axis %d is empty in shape %s" % (axis, list(a.shape)))
    return _core.constant(fn(a, axis=axis).astype(out.name), dtype=out)


def argmax(input, axis=None, output_type="int64", name=None):
    """The index of the largest value along `axis` (default 0), the first on ties, as
    tf.math.argmax. Not differentiable (an integer result).

    >>> gt.argmax(gt.constant([[1.0, 5.0], [7.0, 2.0]]), axis=1).numpy()
    array([1, 0])
    """
    return _arg_reduce(np.argmax, "argmax", input, axis, output_type)


def argmin(input, axis=None, output_type="int64", name=None):
    """The index of the smallest value along `axis` (default 0), the first on ties.

    >>> int(gt.argmin(gt.constant([3, 1, 2])))
    1
    """
    return _arg_reduce(np.argmin, "argmin", input, axis, output_type)


def _float_predicate(fn, what):
    def predicate(x, name=None):
        t = _tensor(x)
        if not _is_float(t):
            raise _core.InvalidArgumentError("%s: expected a float tensor, got %s" % (what, t.dtype.name))
        return _core.constant(fn(t.numpy()))
    predicate.__name__ = what
    predicate.__doc__ = ("Elementwise %s of a float tensor, a bool tensor, as tf.math.%s.\n\n"
                         "    >>> gt.math.%s(gt.constant([1.0, np.nan, np.inf])).numpy()\n"
                         "    array(%s)\n" % (what, what, what, {"is_nan": "[False,  True, False]",
                                                                  "is_inf": "[False, False,  True]",
                                                                  "is_finite": "[ True, False, False]"}[what]))
    return predicate


is_nan = _float_predicate(np.isnan, "is_nan")
is_inf = _float_predicate(np.isinf, "is_inf")
is_finite = _float_predicate(np.isfinite, "is_finite")


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
