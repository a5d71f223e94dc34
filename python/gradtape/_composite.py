"""TensorFlow functions that TensorFlow itself writes in Python over its primitive ops:
linspace, reduce_variance/reduce_std, norm, matvec, tensordot, cross, sigmoid cross-entropy, elu, gelu, swish/silu,
leaky_relu, the weighted and Poisson losses, bias_add, moments, batch_normalization,
embedding_lookup, l2_normalize, clip_by_norm, clip_by_global_norm, and the non-differentiable
argmax/argmin/is_nan/is_inf/is_finite.

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
    tf.linalg.global_norm (TensorFlow's sum of l2_loss terms, doubled)."""
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
