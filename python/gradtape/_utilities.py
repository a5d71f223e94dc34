"""TensorFlow's top-level functions that programs call around their ops: slicing by numbers
(slice, strided_slice), repeat, sequence_mask, unique, searchsorted, dynamic_partition and
dynamic_stitch, reverse_sequence, shape checks (ensure_shape, is_tensor), initializers,
py_function and numpy_function, and the graph-mode names that are no-ops when executing
eagerly (no_op, group, control_dependencies, tuple).

The differentiable ones (slice, strided_slice, repeat, dynamic_partition, dynamic_stitch,
reverse_sequence, grad_pass_through) are gathers and slices of gradtape ops, so the tape
differentiates them; the index arithmetic is NumPy's on the integer arguments' values.
"""
import builtins as _builtins
import contextlib
import enum
import logging
import time

import numpy as np

from . import _core
from ._composite import _ints, _tensor
from .custom_gradient import custom_gradient

_INT_DTYPES = ("int32", "int64")


def _int_out(values, dtype):
    return _core.constant(np.asarray(values), dtype=_core.as_dtype(dtype))


# --------------------------------------------------------------------------- slicing

def slice(input_, begin, size, name=None):  # noqa: A001 (TensorFlow's name)
    """input_[begin : begin + size] along every axis, as tf.slice: a size of -1 takes the rest of
    that axis. Differentiable in input_.

    >>> gt.slice(gt.constant([[1, 2, 3], [4, 5, 6]]), [0, 1], [2, -1]).numpy()
    array([[2, 3],
           [5, 6]], dtype=int32)
    """
    x = _tensor(input_)
    b, s = _ints(begin, "begin").reshape(-1), _ints(size, "size").reshape(-1)
    if b.size != x.ndim or s.size != x.ndim:
        raise _core.InvalidArgumentError(
            "Expected begin and size arguments to be 1-D tensors of size %d, but got shapes %s and %s instead."
            % (x.ndim, [b.size], [s.size]))
    index = []
    for axis, (start, n, dim) in enumerate(zip(b.tolist(), s.tolist(), x.shape)):
        stop = dim if n == -1 else start + n
        if not (0 <= start <= dim and n >= -1 and stop <= dim):
            raise _core.InvalidArgumentError(
                "Expected size[%d] in [0, %d], but got %d (begin %d, dimension %d)" % (axis, dim - start, n, start, dim))
        index.append(_builtins.slice(start, stop))
    return x[_builtins.tuple(index)]


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, var=None, name=None):
    """input_[begin:end:strides] spelled as numbers and bit masks, as tf.strided_slice: bit i of
    begin_mask / end_mask ignores begin[i] / end[i], of ellipsis_mask makes entry i `...`, of
    new_axis_mask makes it a new axis, of shrink_axis_mask takes the single element begin[i].

    >>> x = gt.reshape(gt.range(12), [3, 4])
    >>> gt.strided_slice(x, [0, 1], [3, 4], [2, 2]).numpy()
    array([[ 1,  3],
           [ 9, 11]], dtype=int32)
    >>> gt.strided_slice(x, [1, 0], [2, 4], shrink_axis_mask=1).numpy()
    array([4, 5, 6, 7], dtype=int32)
    """
    x = _tensor(input_)
    b, e = _ints(begin, "begin").reshape(-1), _ints(end, "end").reshape(-1)
    st = np.ones_like(b) if strides is None else _ints(strides, "strides").reshape(-1)
    if not (b.size == e.size == st.size):
        raise _core.InvalidArgumentError("Expected begin, end, and strides to be 1D equal size tensors, "
                                         "but got shapes %s, %s, and %s instead." % ([b.size], [e.size], [st.size]))
    if np.any(st == 0):
        raise _core.InvalidArgumentError("strides[i] must be non-zero")
    index = []
    for i in range(b.size):
        bit = 1 << i
        if ellipsis_mask & bit:
            index.append(Ellipsis)
        elif new_axis_mask & bit:
            index.append(None)
        elif shrink_axis_mask & bit:
            index.append(int(b[i]))
        else:
            index.append(_builtins.slice(None if begin_mask & bit else int(b[i]),
                                        None if end_mask & bit else int(e[i]), int(st[i])))
    return x[_builtins.tuple(index)]


# --------------------------------------------------------------------------- gathers

def repeat(input, repeats, axis=None, name=None):  # noqa: A002 (TensorFlow's name)
    """Repeats each element of `input` along `axis` (the flattened input when None) `repeats`
    times (a number, or one count per element), as tf.repeat and np.repeat. Differentiable.

    >>> gt.repeat(gt.constant([1, 2]), 2).numpy()
    array([1, 1, 2, 2], dtype=int32)
    >>> gt.repeat(gt.constant([[1, 2], [3, 4]]), [1, 2], axis=0).numpy()
    array([[1, 2],
           [3, 4],
           [3, 4]], dtype=int32)
    """
    x = _tensor(input)
    if axis is None or x.ndim == 0:
        x, axis = _core.reshape(x, [-1]), 0 if axis is None or axis in (0, -1) else axis
    if not -x.ndim <= axis < max(x.ndim, 1):
        raise _core.InvalidArgumentError("repeat: axis %d is out of range for a tensor of rank %d" % (axis, x.ndim))
    axis %= max(x.ndim, 1)
    r = _ints(repeats, "repeats")
    n = x.shape[axis] if x.ndim else 1
    if r.ndim > 1 or (r.ndim == 1 and r.size not in (1, n)):
        raise _core.InvalidArgumentError("repeat: `repeats` must be a scalar or have %d elements, got shape %s"
                                         % (n, list(r.shape)))
    if np.any(r < 0):
        raise _core.InvalidArgumentError("repeat: `repeats` must not be negative, got %s" % r.tolist())
    index = np.repeat(np.arange(n), np.broadcast_to(r.reshape(-1), (n,)))
    return _core.gather(x, _core.constant(index, dtype="int64"), axis=axis)


def sequence_mask(lengths, maxlen=None, dtype="bool", name=None):
    """mask[..., j] = j < lengths[...], of shape lengths.shape + [maxlen] (max(lengths) when
    None), as tf.sequence_mask.

    >>> gt.sequence_mask([1, 3, 2], 4).numpy()
    array([[ True, False, False, False],
           [ True,  True,  True, False],
           [ True,  True, False, False]])
    """
    lengths = _tensor(lengths)
    if lengths.dtype.name not in _INT_DTYPES:
        raise TypeError("sequence_mask: lengths must be integers, got %s" % lengths.dtype.name)
    if maxlen is None:
        maxlen = int(np.max(lengths.numpy())) if lengths.numpy().size else 0
    m = _ints(maxlen, "maxlen")
    if m.ndim != 0:
        raise ValueError("Argument `maxlen` must be scalar for sequence_mask, received `maxlen` = %s with shape '%s' "
                         "instead" % (m.tolist(), m.shape))
    maxlen = int(m)
    if maxlen < 0:
        raise _core.InvalidArgumentError("sequence_mask: maxlen must be non-negative, got %d" % maxlen)
    row = _core.range(0, maxlen, dtype=lengths.dtype.name)
    mask = _core.less(row, _core.expand_dims(lengths, -1))
    return mask if _core.as_dtype(dtype).name == "bool" else _core.cast(mask, dtype)


def unique(x, out_idx="int32", name=None):
    """(y, idx): the distinct elements of the 1-D `x` in order of first appearance, and for each
    element of x its position in y, as tf.unique.

    >>> y, idx = gt.unique([1, 1, 2, 4, 4, 4, 7, 8, 8])
    >>> y.numpy(), idx.numpy()
    (array([1, 2, 4, 7, 8], dtype=int32), array([0, 0, 1, 2, 2, 2, 3, 4, 4], dtype=int32))
    """
    y, idx, _ = unique_with_counts(x, out_idx)
    return _UniqueOutput(y, idx)


def unique_with_counts(x, out_idx="int32", name=None):
    """(y, idx, count): tf.unique's result and how often each element of y occurs in x.

    >>> y, idx, count = gt.unique_with_counts([1, 1, 2, 4, 4, 4])
    >>> count.numpy()
    array([2, 1, 3], dtype=int32)
    """
    x = _tensor(x)
    if x.ndim != 1:
        raise _core.InvalidArgumentError("unique expects a 1D vector, got shape %s" % list(x.shape))
    if _core._tracing() and _core._traced(x):
        # (inside gt.function: steps computing the parts at each call; the number of distinct
        # elements is checked against the trace's, docs/guides/function.md)
        first, index, count = _core._unique_parts(x)
        return _UniqueWithCountsOutput(_core.gather(x, first), _core.cast(index, _core.as_dtype(out_idx)),
                                       _core.cast(count, _core.as_dtype(out_idx)))
    values = x.numpy()
    # TensorFlow hashes values: every NaN is a value of its own (NumPy merges them by default)
    _, first, inverse, counts = np.unique(values, return_index=True, return_inverse=True, return_counts=True,
                                          equal_nan=False)
    order = np.argsort(first, kind="stable")  # sorted uniques -> order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    y = _core.gather(x, _core.constant(first[order], dtype="int64"))
    return _UniqueWithCountsOutput(y, _int_out(rank[inverse.reshape(-1)], out_idx), _int_out(counts[order], out_idx))


def searchsorted(sorted_sequence, values, side="left", out_type="int32", name=None):
    """For each value, the index where it would be inserted into the innermost dimension of
    `sorted_sequence` to keep it sorted (`side` "left": before equal values, "right": after),
    batched over the leading dimensions, as tf.searchsorted.

    >>> gt.searchsorted([0.0, 1.0, 2.0, 3.0], [1.0, 2.5]).numpy()
    array([1, 3], dtype=int32)
    """
    seq, vals = _tensor(sorted_sequence), _tensor(values)
    if side not in ("left", "right"):
        raise ValueError("side must be 'left' or 'right', got %r" % (side,))
    if seq.dtype != vals.dtype:
        vals = _tensor(values, dtype=seq.dtype)
    s, v = seq.numpy(), vals.numpy()
    if s.ndim < 1 or s.shape[:-1] != v.shape[:-1]:
        raise _core.InvalidArgumentError("Leading dims of sorted_sequence %s and values %s must match"
                                         % (list(s.shape), list(v.shape)))
    n = s.shape[-1]
    rows_s = s.reshape(int(np.prod(s.shape[:-1])), n)
    rows_v = v.reshape(rows_s.shape[0], v.shape[-1]) if v.ndim else v.reshape(1, 1)
    # std::lower_bound / upper_bound, as TensorFlow's kernel runs them, on every query at once: the
    # same answers as NumPy's searchsorted for ordinary values, and TensorFlow's where NaN is
    # involved (every comparison with NaN is false)
    lo = np.zeros(rows_v.shape, np.int64)
    hi = np.full(rows_v.shape, n, np.int64)
    rows = np.arange(rows_s.shape[0])[:, None]
    with np.errstate(invalid="ignore"):
        while n and np.any(lo < hi):
            mid = (lo + hi) // 2
            active = lo < hi
            at = rows_s[rows, np.minimum(mid, n - 1)]
            go_right = (at < rows_v) if side == "left" else ~(rows_v < at)
            lo = np.where(active & go_right, mid + 1, lo)
            hi = np.where(active & ~go_right, mid, hi)
    out = lo
    return _int_out(out.reshape(v.shape), out_type)


def dynamic_partition(data, partitions, num_partitions, name=None):
    """Splits `data` into num_partitions tensors: element i (along the dimensions of
    `partitions`, a prefix of data's shape) goes to output partitions[i], in order, as
    tf.dynamic_partition. Differentiable in data.

    >>> [p.numpy() for p in gt.dynamic_partition([10.0, 20.0, 30.0, 40.0], [1, 0, 1, 1], 2)]
    [array([20.], dtype=float32), array([10., 30., 40.], dtype=float32)]
    """
    data = _tensor(data)
    parts = _ints(partitions, "partitions", int32_only=True)
    if _builtins.tuple(data.shape[:parts.ndim]) != parts.shape:
        raise _core.InvalidArgumentError("data.shape must start with partitions.shape, got data.shape = %s, "
                                         "partitions.shape = %s" % (list(data.shape), list(parts.shape)))
    num_partitions = int(num_partitions)
    flat = parts.reshape(-1)
    bad = flat[(flat < 0) | (flat >= num_partitions)]
    if bad.size:
        raise _core.InvalidArgumentError("partitions values must be in [0, %d), got %d" % (num_partitions, bad[0]))
    rows = _core.reshape(data, [flat.size] + list(data.shape[parts.ndim:]))
    return [_core.gather(rows, _core.constant(np.nonzero(flat == p)[0], dtype="int64"))
            for p in range(num_partitions)]


def dynamic_stitch(indices, data, name=None):
    """Interleaves the tensors of `data` into one: `merged[indices[m][i]] = data[m][i]` (a later
    m or i wins where indices repeat), of length max(indices) + 1, as tf.dynamic_stitch.
    Positions no index names are zeros. Differentiable in data.

    >>> gt.dynamic_stitch([[0, 3], [1]], [[1.0, 2.0], [5.0]]).numpy()
    array([1., 5., 0., 2.], dtype=float32)
    """
    if len(indices) != len(data) or not indices:
        raise _core.InvalidArgumentError("dynamic_stitch needs as many index tensors as data tensors, and at least one")
    idx = [_ints(i, "indices", int32_only=True) for i in indices]
    first = _tensor(data[0])
    data = [_tensor(d, dtype=first.dtype) for d in data]
    inner = list(data[0].shape[idx[0].ndim:])
    rows, flat_idx = [], []
    for i, d in zip(idx, data):
        if _builtins.tuple(d.shape[:i.ndim]) != i.shape or list(d.shape[i.ndim:]) != inner:
            raise _core.InvalidArgumentError("data[m].shape must be indices[m].shape + %s, got %s and %s"
                                             % (inner, list(d.shape), list(i.shape)))
        rows.append(_core.reshape(d, [i.size] + inner))
        flat_idx.append(i.reshape(-1))
    all_idx = np.concatenate(flat_idx)
    if all_idx.size and all_idx.min() < 0:
        raise _core.InvalidArgumentError("dynamic_stitch: indices must be non-negative, got %d" % all_idx.min())
    if all_idx.size and all_idx.max() >= np.iinfo(np.int32).max:
        raise _core.InvalidArgumentError("dynamic_stitch: the largest index %d makes an output of more than 2**31 - 1 "
                                         "rows (TensorFlow's indices are int32)" % all_idx.max())
    n = int(all_idx.max()) + 1 if all_idx.size else 0
    # the last occurrence of each index wins: keep those rows and scatter them into zeros
    last = all_idx.size - 1 - np.unique(all_idx[::-1], return_index=True)[1]
    table = _core.concat(rows, axis=0)
    picked = _core.gather(table, _core.constant(last, dtype="int64"))
    return _core.scatter_nd(_core.constant(all_idx[last].reshape(-1, 1), dtype="int64"), picked, [n] + inner)


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=0, name=None):  # noqa: A002
    """Reverses the first seq_lengths[b] elements along seq_axis of each slice b along
    batch_axis, leaving the rest in place, as tf.reverse_sequence. Differentiable in input.

    >>> gt.reverse_sequence(gt.constant([[1, 2, 3], [4, 5, 6]]), [2, 3], seq_axis=1).numpy()
    array([[2, 1, 3],
           [6, 5, 4]], dtype=int32)
    """
    x = _tensor(input)
    if seq_axis is None:
        raise ValueError("reverse_sequence: seq_axis is required")
    if x.ndim < 2:
        raise _core.InvalidArgumentError("reverse_sequence: the input must have rank 2 or more (a batch axis and a "
                                         "sequence axis), got shape %s" % list(x.shape))
    seq_axis, batch_axis = seq_axis % x.ndim, batch_axis % x.ndim
    lengths = _ints(seq_lengths, "seq_lengths").reshape(-1)
    if seq_axis == batch_axis or lengths.size != x.shape[batch_axis]:
        raise _core.InvalidArgumentError("reverse_sequence: need seq_axis != batch_axis and one length per batch "
                                         "entry (%d), got %d" % (x.shape[batch_axis], lengths.size))
    n = x.shape[seq_axis]
    if np.any((lengths < 0) | (lengths > n)):
        raise _core.InvalidArgumentError("reverse_sequence: seq_lengths must be in [0, %d], got %s" % (n, lengths.tolist()))
    j = np.arange(n)
    source = np.where(j[None, :] < lengths[:, None], lengths[:, None] - 1 - j[None, :], j[None, :])  # [batch, n]
    # move batch and seq axes to the front, gather per batch row, move them back
    perm = [batch_axis, seq_axis] + [a for a in range(x.ndim) if a not in (batch_axis, seq_axis)]
    moved = _core.transpose(x, perm)
    out = _core.gather(moved, _core.constant(source, dtype="int64"), axis=1, batch_dims=1)
    return _core.transpose(out, list(np.argsort(perm)))


def unravel_index(indices, dims, name=None):
    """The coordinates of flat indices in an array of shape `dims`, stacked on a new first axis,
    as tf.unravel_index.

    >>> gt.unravel_index([1, 5], [2, 3]).numpy()
    array([[0, 1],
           [1, 2]], dtype=int32)
    """
    i, d = _ints(indices, "indices"), _ints(dims, "dims")
    dtype = indices.dtype.name if isinstance(indices, (_core.Tensor, _core.Variable)) else "int32"
    if np.any(i < 0) or np.any(i >= np.prod(d)):
        raise _core.InvalidArgumentError("index out of bounds for dims %s: %s" % (d.tolist(), i.tolist()))
    return _int_out(np.stack(np.unravel_index(i, _builtins.tuple(d.tolist()))), dtype)


# --------------------------------------------------------------------------- checks and casts

def is_tensor(x):
    """Whether x is a gradtape Tensor or Variable (tf.is_tensor; NumPy arrays are not).

    >>> gt.is_tensor(gt.constant(1.0)), gt.is_tensor(gt.Variable(1.0)), gt.is_tensor(np.ones(2))
    (True, True, False)
    """
    return isinstance(x, (_core.Tensor, _core.Variable))


def ensure_shape(x, shape, name=None):
    """x itself when its shape is compatible with `shape` (None matches any size), else
    InvalidArgumentError, as tf.ensure_shape.

    >>> gt.ensure_shape(gt.zeros([3, 2]), [None, 2]).shape
    TensorShape([3, 2])
    """
    x = _tensor(x)
    from ._shape import TensorShape
    if shape is not None and not TensorShape(x.shape).is_compatible_with(TensorShape(shape)):
        raise _core.InvalidArgumentError("Shape of tensor %s %s is not compatible with expected shape %s."
                                         % (name or "x", list(x.shape), list(TensorShape(shape).as_list())
                                            if TensorShape(shape).rank is not None else None))
    return x


def saturate_cast(value, dtype, name=None):
    """cast(value, dtype), with values clipped to dtype's range first (so that float -> int never
    wraps), as tf.saturate_cast.

    >>> gt.saturate_cast(gt.constant([-1e10, 0.5, 1e10], dtype=gt.float64), gt.int32).numpy()
    array([-2147483648,           0,  2147483647], dtype=int32)
    """
    x = _tensor(value)
    dtype = _core.as_dtype(dtype)
    if dtype.is_integer and x.dtype.is_floating:
        # TensorFlow's bounds: the integer range rounded into x's float type, the upper one down
        # (float32 has no 2**31 - 1: the largest int32 a float32 clip reaches is 2147483520)
        lo, hi = np.iinfo(dtype.as_numpy_dtype).min, np.iinfo(dtype.as_numpy_dtype).max
        ft = x.dtype.as_numpy_dtype
        hi_f = ft(hi) if int(ft(hi)) <= hi else np.nextafter(ft(hi), ft(0))
        return _core.cast(_core.clip_by_value(x, _core.constant(lo, dtype=x.dtype), _core.constant(hi_f, dtype=x.dtype)),
                          dtype)
    if dtype.is_floating and x.dtype.is_floating and dtype.size < x.dtype.size:
        fi = np.finfo(dtype.as_numpy_dtype)
        x = _core.clip_by_value(x, _core.constant(fi.min, dtype=x.dtype), _core.constant(fi.max, dtype=x.dtype))
    if dtype.is_integer and x.dtype.is_integer and dtype.size < x.dtype.size:
        ii = np.iinfo(dtype.as_numpy_dtype)
        x = _core.clip_by_value(x, _core.constant(ii.min, dtype=x.dtype), _core.constant(ii.max, dtype=x.dtype))
    return _core.cast(x, dtype)


def realdiv(x, y, name=None):
    """x / y for floats, as tf.realdiv (integer arguments: InvalidArgumentError, as TensorFlow).

    >>> gt.realdiv(gt.constant([1.0, 3.0]), 2.0).numpy()
    array([0.5, 1.5], dtype=float32)
    """
    x = _tensor(x)
    if not x.dtype.is_floating:
        raise _core.InvalidArgumentError("realdiv: Value for attr 'T' of %s is not a float type" % x.dtype.name)
    return _core.divide(x, _tensor(y, dtype=x.dtype))


def timestamp(name=None):
    """The current time in seconds since the epoch, as a float64 scalar (tf.timestamp).

    >>> float(gt.timestamp()) > 1.6e9
    True
    """
    return _core.constant(time.time(), dtype="float64")


# --------------------------------------------------------------------------- eager no-ops

def no_op(name=None):
    """Does nothing (tf.no_op: a graph node with no effect; nothing to do when executing eagerly).

    >>> gt.no_op() is None
    True
    """
    return None


def group(*inputs, **kwargs):
    """Does nothing and returns None: ops run as they are called (tf.group's eager behaviour).

    >>> gt.group(gt.constant(1.0), gt.constant(2.0)) is None
    True
    """
    return None


def tuple(tensors, control_inputs=None, name=None):  # noqa: A001 (TensorFlow's name)
    """The tensors, as a list (tf.tuple; there is nothing to wait for when executing eagerly).

    >>> [float(t) for t in gt.tuple([gt.constant(1.0), gt.constant(2.0)])]
    [1.0, 2.0]
    """
    return [t for t in tensors]


@contextlib.contextmanager
def control_dependencies(control_inputs):
    """A context in which ops run after `control_inputs` (tf.control_dependencies): they have
    all run already when executing eagerly; callables among them are called, as TensorFlow does.

    >>> with gt.control_dependencies([gt.constant(1.0)]):
    ...     y = gt.constant(2.0) + 1
    >>> float(y)
    3.0
    """
    for c in control_inputs or ():
        if callable(c):
            c()
    yield


def get_logger():
    """The package's logger, the `logging.Logger` named "gradtape" (tf.get_logger's "tensorflow").

    >>> gt.get_logger().name
    'gradtape'
    """
    return logging.getLogger("gradtape")


# --------------------------------------------------------------------------- functions

def py_function(func, inp, Tout, name=None):  # noqa: N803 (TensorFlow's name)
    """func(*inp) with its results converted to Tout's dtypes, as tf.py_function. Eager code
    calls it directly, so the tape records the ops func runs and differentiates through them.
    Tout a list gives a list; a single dtype a tensor; None gives func's result unchanged.

    Inside gt.function it is a step of the program that calls func with each call's tensors
    (docs/guides/function.md, "Python functions inside a function"): the tapes of the call record
    the ops func runs, so gradients go through it, as in TensorFlow.

    >>> x = gt.constant(3.0)
    >>> with gt.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = gt.py_function(lambda a: a * a, [x], gt.float32)
    >>> float(y), float(tape.gradient(y, x))
    (9.0, 6.0)
    """
    if _core._tracing():
        return _traced_host_call("py_function", func, inp, Tout, False)
    out = func(*inp)
    return _convert_outputs(out, Tout)


def numpy_function(func, inp, Tout, stateful=True, name=None):  # noqa: N803
    """func applied to NumPy arrays of inp's values, its results converted to Tout's dtypes, as
    tf.numpy_function: not differentiable (the gradient is None). Inside gt.function it is a
    step of the program that calls func with each call's values (docs/guides/function.md,
    "Python functions inside a function").

    >>> gt.numpy_function(lambda a: np.sort(a), [gt.constant([3.0, 1.0])], gt.float32).numpy()
    array([1., 3.], dtype=float32)
    """
    if _core._tracing():
        return _traced_host_call("numpy_function", func, inp, Tout, True)
    args = [a.numpy() if isinstance(a, (_core.Tensor, _core.Variable)) else a for a in inp]
    out = func(*args)
    return _convert_outputs(out, Tout)


def _convert_outputs(out, tout):
    if tout is None:
        return out
    if isinstance(tout, (list, _builtins.tuple)):
        outs = list(out) if isinstance(out, (list, _builtins.tuple)) else [out]
        if len(outs) != len(tout):
            raise ValueError("the function returned %d values, Tout names %d" % (len(outs), len(tout)))
        return [_tensor(o, dtype=t) for o, t in zip(outs, tout)]
    return _tensor(out, dtype=tout)


def _host_error(kind, e):
    """The error a failed func raises from a traced py_function / numpy_function call, as
    TensorFlow's PyFunc op maps them: ValueError and TypeError -> InvalidArgumentError,
    StopIteration -> OutOfRangeError, NotImplementedError -> UnimplementedError, MemoryError ->
    ResourceExhaustedError, anything else -> UnknownError (the original chained as __cause__)."""
    from . import _errors
    message = "gt.%s: the function raised %s: %s" % (kind, type(e).__name__, e)
    if isinstance(e, (ValueError, TypeError)):
        return _core.InvalidArgumentError(message)
    if isinstance(e, MemoryError):
        return _core.ResourceExhaustedError(message)
    if isinstance(e, StopIteration):
        return _errors.OutOfRangeError(None, None, message)
    if isinstance(e, NotImplementedError):
        return _errors.UnimplementedError(None, None, message)
    return _errors.UnknownError(None, None, message)


def _traced_host_call(kind, func, inp, tout, as_numpy):
    """py_function / numpy_function while gt.function traces: a host-call step that calls func
    with each call's values (tensors, or NumPy arrays for numpy_function) and checks its results
    against Tout, as TensorFlow's PyFunc / EagerPyFunc ops do at each run. The step's results
    have the dtypes Tout names and the shapes the trace's call gave (the C++ step checks every
    later call against them: InvalidArgumentError)."""
    if tout is None:
        touts, single = [], None
    elif isinstance(tout, (list, _builtins.tuple)):
        touts, single = [_core.as_dtype(t) for t in tout], False
    else:
        touts, single = [_core.as_dtype(tout)], True
    tensors = [a if isinstance(a, (_core.Tensor, _core.Variable)) else _core.convert_to_tensor(a) for a in inp]

    def call(*values):
        args = [v.numpy() for v in values] if as_numpy else list(values)
        try:
            out = func(*args)
        except Exception as e:  # (TensorFlow's op turns any exception into an OpError)
            raise _host_error(kind, e) from e
        if not touts:
            return []
        outs = list(out) if isinstance(out, (list, _builtins.tuple)) else [out]
        if len(outs) != len(touts):
            raise _core.InvalidArgumentError("gt.%s: the function returned %d values, but Tout names %d"
                                             % (kind, len(outs), len(touts)))
        results = []
        for i, (o, t) in enumerate(zip(outs, touts)):
            if as_numpy:
                # (TensorFlow takes the NumPy array as it is: its dtype must be Tout's)
                o = _core.constant(np.asarray(o.numpy() if isinstance(o, (_core.Tensor, _core.Variable)) else o))
            elif not isinstance(o, (_core.Tensor, _core.Variable)):
                try:
                    o = _tensor(o, dtype=t)
                except (TypeError, ValueError) as e:
                    raise _core.InvalidArgumentError("gt.%s: value %d the function returned cannot be converted to "
                                                     "%s: %s" % (kind, i, t.name, e)) from e
            if o.dtype != t:
                raise _core.InvalidArgumentError("gt.%s: value %d the function returned is %s, but Tout says %s"
                                                 % (kind, i, o.dtype.name, t.name))
            results.append(o)
        return results

    results = _core._host_call(call, tensors, kind)
    if single is None:
        return None
    return results[0] if single else results


def grad_pass_through(f):
    """A function computing f whose gradient is the identity: the tape treats f's result as if
    it were its input (tf.grad_pass_through), e.g. to train through a rounding step.

    >>> x = gt.Variable(2.4)
    >>> with gt.GradientTape() as tape:
    ...     y = gt.grad_pass_through(gt.round)(x) * 3.0
    >>> float(y), float(tape.gradient(y, x))
    (6.0, 3.0)
    """
    @custom_gradient
    def passed(*args, **kwargs):
        def grad(*dys, **grad_kwargs):
            variables = grad_kwargs.get("variables")
            return (dys, [None] * len(variables)) if variables is not None else dys
        return f(*args, **kwargs), grad
    return passed


def recompute_grad(f):
    """f itself (tf.recompute_grad trades memory for recomputation; gradtape's tape keeps the
    values, so the result and its gradient are the same).

    >>> g = gt.recompute_grad(lambda x: x * x)
    >>> float(g(gt.constant(3.0)))
    9.0
    """
    return f


# --------------------------------------------------------------------------- initializers

class _Initializer:
    """The callable form of TensorFlow's initializers: init(shape, dtype=float32)."""

    def get_config(self):
        """The arguments that rebuild it (from_config(get_config()) is an equal initializer).

        >>> gt.constant_initializer(2.0).get_config()
        {'value': 2.0}
        """
        return dict(self._config)

    @classmethod
    def from_config(cls, config):
        """An initializer from get_config's dictionary.

        >>> gt.ones_initializer.from_config({})(shape=[2]).numpy()
        array([1., 1.], dtype=float32)
        """
        return cls(**config)


class zeros_initializer(_Initializer):  # noqa: N801 (TensorFlow's name)
    """Makes tensors of zeros (tf.zeros_initializer).

    >>> gt.zeros_initializer()(shape=[2], dtype=gt.int32).numpy()
    array([0, 0], dtype=int32)
    """

    _config = {}

    def __call__(self, shape, dtype="float32", **kwargs):
        return _core.zeros(list(shape), dtype=dtype)


class ones_initializer(_Initializer):  # noqa: N801
    """Makes tensors of ones (tf.ones_initializer).

    >>> gt.ones_initializer()(shape=[2, 1]).numpy()
    array([[1.],
           [1.]], dtype=float32)
    """

    _config = {}

    def __call__(self, shape, dtype="float32", **kwargs):
        return _core.ones(list(shape), dtype=dtype)


class constant_initializer(_Initializer):  # noqa: N801
    """Makes tensors filled with `value`: a number, or a list or array of exactly the shape's
    number of elements, reshaped to it (tf.constant_initializer).

    >>> gt.constant_initializer([1.0, 2.0, 3.0, 4.0])(shape=[2, 2]).numpy()
    array([[1., 2.],
           [3., 4.]], dtype=float32)
    """

    def __init__(self, value=0, support_partition=False):
        if not (np.isscalar(value) or isinstance(value, (list, np.ndarray, _core.Tensor, _core.Variable)) or
                isinstance(value, _builtins.tuple)):
            raise TypeError("Invalid type for initial value=%s (expected Python scalar, list or tuple of values, "
                            "or numpy.ndarray)." % (value,))
        self.value = value
        self._config = {"value": value}

    def __call__(self, shape, dtype="float32", **kwargs):
        shape = list(shape)
        v = np.asarray(self.value.numpy() if isinstance(self.value, (_core.Tensor, _core.Variable)) else self.value)
        if v.ndim == 0:
            return _core.fill(shape, _core.constant(v, dtype=dtype))
        if v.size != int(np.prod(shape)):
            raise TypeError("Eager execution of tf.constant with unsupported shape. Tensor %s (converted from %s) "
                            "has %d elements, but got `shape` %s with %d elements)."
                            % (v.tolist(), self.value, v.size, shape, int(np.prod(shape))))
        return _core.constant(v.reshape(shape), dtype=dtype)


class random_normal_initializer(_Initializer):  # noqa: N801
    """Makes tensors of normal draws with `mean` and `stddev` (tf.random_normal_initializer):
    with a seed, each call gives the same values (gt.random's draws, not TensorFlow's bits).

    >>> init = gt.random_normal_initializer(stddev=0.01, seed=1)
    >>> bool(gt.reduce_all(init(shape=[3]) == init(shape=[3])))
    True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed
        self._config = {"mean": mean, "stddev": stddev, "seed": seed}

    def __call__(self, shape, dtype="float32", **kwargs):
        from . import random
        if self.seed is None:
            return random.normal(list(shape), self.mean, self.stddev, dtype=dtype)
        return random.stateless_normal(list(shape), [self.seed, 0], self.mean, self.stddev, dtype=dtype)


class random_uniform_initializer(_Initializer):  # noqa: N801
    """Makes tensors of uniform draws in [minval, maxval) (tf.random_uniform_initializer): with a
    seed, each call gives the same values.

    >>> x = gt.random_uniform_initializer(-1.0, 1.0, seed=2)(shape=[100])
    >>> bool(gt.reduce_all((x >= -1.0) & (x < 1.0)))
    True
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed
        self._config = {"minval": minval, "maxval": maxval, "seed": seed}

    def __call__(self, shape, dtype="float32", **kwargs):
        from . import random
        if self.seed is None:
            return random.uniform(list(shape), self.minval, self.maxval, dtype=dtype)
        return random.stateless_uniform(list(shape), [self.seed, 0], self.minval, self.maxval, dtype=dtype)


class _UniqueOutput(_builtins.tuple):
    """tf.unique's result: (y, idx), also as attributes."""

    _fields = ("y", "idx")  # (a namedtuple to gt.nest, so that gt.function can return it)

    def __new__(cls, y, idx):
        return super().__new__(cls, (y, idx))

    y = property(lambda self: self[0])
    idx = property(lambda self: self[1])


class _UniqueWithCountsOutput(_builtins.tuple):
    """tf.unique_with_counts' result: (y, idx, count), also as attributes."""

    _fields = ("y", "idx", "count")

    def __new__(cls, y, idx, count):
        return super().__new__(cls, (y, idx, count))

    y = property(lambda self: self[0])
    idx = property(lambda self: self[1])
    count = property(lambda self: self[2])


# --------------------------------------------------------------------------- scatter, stack, names

def _scatter_rows(tensor, indices, updates, name):
    """tensor as rows along its first k dims (k = indices.shape[-1]), and for each update the row
    it goes to: the form the segment reductions take."""
    t = _tensor(tensor)
    idx = _ints(indices, "indices")
    u = _tensor(updates, dtype=t.dtype)
    k = idx.shape[-1] if idx.ndim else 0
    if idx.ndim < 1 or k > t.ndim or list(u.shape) != list(idx.shape[:-1]) + list(t.shape[k:]):
        raise _core.InvalidArgumentError("%s: indices %s and updates %s do not fit a tensor of shape %s"
                                         % (name, list(idx.shape), list(u.shape), list(t.shape)))
    lead = list(t.shape[:k])
    flat_idx = idx.reshape(-1, k)
    bad = np.nonzero(np.any((flat_idx < 0) | (flat_idx >= np.array(lead, np.int64)), axis=1))[0] if k else []
    if len(bad):
        raise _core.InvalidArgumentError("indices[%d] = %s does not index into shape %s"
                                         % (bad[0], flat_idx[bad[0]].tolist(), list(t.shape)))
    n = int(np.prod(lead))
    rows = np.ravel_multi_index(flat_idx.T, lead) if k else np.zeros(flat_idx.shape[0], np.int64)
    inner = list(t.shape[k:])
    table = _core.concat([_core.reshape(t, [n] + inner), _core.reshape(u, [flat_idx.shape[0]] + inner)], axis=0)
    ids = np.concatenate([np.arange(n), rows])
    return t, table, ids, n


def tensor_scatter_nd_max(tensor, indices, updates, name=None):
    """tensor with each indexed element (or slice) replaced by the maximum of it and every update
    sent to it, as tf.tensor_scatter_nd_max; ties share the gradient evenly, as TensorFlow.

    >>> gt.tensor_scatter_nd_max([1.0, 5.0, 2.0], [[0], [1], [0]], [3.0, 4.0, 0.5]).numpy()
    array([3., 5., 2.], dtype=float32)
    """
    from ._composite_more import unsorted_segment_max
    t, table, ids, n = _scatter_rows(tensor, indices, updates, "tensor_scatter_nd_max")
    return _core.reshape(unsorted_segment_max(table, ids, n), list(t.shape))


def tensor_scatter_nd_min(tensor, indices, updates, name=None):
    """tensor with each indexed element (or slice) replaced by the minimum of it and every update
    sent to it, as tf.tensor_scatter_nd_min.

    >>> gt.tensor_scatter_nd_min([1.0, 5.0, 2.0], [[0], [1], [0]], [3.0, 4.0, 0.5]).numpy()
    array([0.5, 4. , 2. ], dtype=float32)
    """
    from ._composite_more import unsorted_segment_min
    t, table, ids, n = _scatter_rows(tensor, indices, updates, "tensor_scatter_nd_min")
    return _core.reshape(unsorted_segment_min(table, ids, n), list(t.shape))


def tensor_scatter_nd_sub(tensor, indices, updates, name=None):
    """tensor with each update subtracted from the element (or slice) it indexes, as
    tf.tensor_scatter_nd_sub (tensor_scatter_nd_add of the negated updates).

    >>> gt.tensor_scatter_nd_sub([1.0, 5.0, 2.0], [[0], [0]], [1.0, 2.0]).numpy()
    array([-2.,  5.,  2.], dtype=float32)
    """
    t = _tensor(tensor)
    return _core.tensor_scatter_nd_add(t, indices, _core.negative(_tensor(updates, dtype=t.dtype)))


def parallel_stack(values, name=None):
    """stack(values) along a new first axis (tf.parallel_stack; its parallel copy is a graph detail,
    and TensorFlow allows it only inside tf.function, gradtape eagerly too).

    >>> gt.parallel_stack([gt.constant([1.0]), gt.constant([2.0])]).numpy()
    array([[1.],
           [2.]], dtype=float32)
    """
    return _core.stack(list(values), axis=0)


def inside_function():
    """Whether a gt.function is being traced (tf.inside_function).

    >>> gt.inside_function()
    False
    """
    return bool(_core._tracing())


def is_symbolic_tensor(tensor):
    """False: gradtape's tensors always hold values (tf.is_symbolic_tensor is True only for graph
    tensors).

    >>> gt.is_symbolic_tensor(gt.constant(1.0))
    False
    """
    return False


def no_gradient(op_type):
    """Accepts a TensorFlow op type name and does nothing: gradtape has no graph ops to register
    (tf.no_gradient); use gt.stop_gradient on values instead.

    >>> gt.no_gradient("MyCustomOp")
    """
    if not isinstance(op_type, str):
        raise TypeError("op_type must be a string")


class VariableAggregation(enum.Enum):
    """TensorFlow's names for how replicas' variable updates combine; gt.Variable accepts them and
    has one replica (tf.VariableAggregation).

    >>> gt.VariableAggregation.MEAN.value
    2
    """
    NONE = 0
    SUM = 1
    MEAN = 2
    ONLY_FIRST_REPLICA = 3


class VariableSynchronization(enum.Enum):
    """TensorFlow's names for when replicas' variables synchronise (tf.VariableSynchronization).

    >>> gt.VariableSynchronization.ON_READ.value
    3
    """
    AUTO = 0
    NONE = 1
    ON_WRITE = 2
    ON_READ = 3


class AggregationMethod:
    """TensorFlow's names for how gradients of one tensor are summed (tf.AggregationMethod); the
    tape always adds them in order.

    >>> gt.AggregationMethod.ADD_N
    0
    """
    ADD_N = 0
    DEFAULT = ADD_N
    EXPERIMENTAL_TREE = 1
    EXPERIMENTAL_ACCUMULATE_N = 2
