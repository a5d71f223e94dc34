"""gt.IndexedSlices and the tf.Variable methods that take one (scatter_update, scatter_add, ...).

gradtape's gradients are dense tensors, so an IndexedSlices is only what TensorFlow code builds
by hand to hand rows to a variable's scatter methods: `values`, `indices` and an optional
`dense_shape`, no conversion to a dense tensor (gt.convert_to_tensor refuses it). It is no
composite tensor to gt.function: passed as an argument, it is a Python object (a trace per object,
where tf.function traces once); build it inside the function from tensor arguments.

Each method computes the variable's new value with ops that gt.function traces
(tensor_scatter_nd_update/add for update, add and sub; for max, min, mul and div a comparison of
every index with every row, masked and reduced, when the indices are traced tensors, and the
segment reductions, which read the indices with NumPy, when they are not) and assigns it, so inside
gt.function the write happens at every call. An index out of range raises InvalidArgumentError and
writes nothing, as tf.Variable's raise (TensorFlow's error type; the message differs).
"""
from __future__ import annotations

import numpy as np

from . import _core


class IndexedSlices:
    """Rows `values` of a tensor of shape `dense_shape` at `indices` along its first dimension
    (tf.IndexedSlices), for the Variable methods scatter_update, scatter_add, ... .

    >>> s = gt.IndexedSlices(gt.constant([[10.0, 20.0]]), gt.constant([1]))
    >>> v = gt.Variable([[1.0, 2.0], [3.0, 4.0]])
    >>> v.scatter_add(s).numpy()
    array([[ 1.,  2.],
           [13., 24.]], dtype=float32)
    """

    def __init__(self, values, indices, dense_shape=None):
        self._values = values
        self._indices = indices
        self._dense_shape = dense_shape

    @property
    def values(self):
        return self._values

    @property
    def indices(self):
        return self._indices

    @property
    def dense_shape(self):
        return self._dense_shape

    @property
    def dtype(self):
        return _core.convert_to_tensor(self._values).dtype if not isinstance(
            self._values, (_core.Tensor, _core.Variable)) else self._values.dtype

    @property
    def name(self):
        return getattr(self._values, "name", None)

    def __neg__(self):
        return IndexedSlices(_core.negative(self._values), self._indices, self._dense_shape)

    def __repr__(self):
        return "IndexedSlices(indices=%r, values=%r%s)" % (
            self._indices, self._values,
            "" if self._dense_shape is None else ", dense_shape=%r" % (self._dense_shape,))


def _parts(var, sparse_delta, what):
    if not isinstance(sparse_delta, IndexedSlices):
        raise TypeError("Argument `sparse_delta` must be a `gt.IndexedSlices`. Received arg: %s" % (sparse_delta,))
    indices = _core.convert_to_tensor(sparse_delta.indices)
    if not indices.dtype.is_integer:
        raise TypeError("%s: the indices must be integers, got dtype %s" % (what, indices.dtype.name))
    values = _core.convert_to_tensor(sparse_delta.values, dtype=var.dtype)  # (another dtype: ValueError)
    return indices, values


def _fit_updates(values, want, what, var_shape, indices_shape):
    """The updates in the shape indices.shape + var.shape[1:] (a scalar is broadcast to it, as
    TensorFlow's kernels do)."""
    if tuple(values.shape) == tuple(want):
        return values
    if values.ndim == 0:
        return _core.broadcast_to(values, list(want))
    raise _core.InvalidArgumentError(
        "%s: updates of shape %s do not fit indices of shape %s into a variable of shape %s (they must have shape "
        "indices.shape + variable.shape[1:] = %s)" % (what, list(values.shape), list(indices_shape),
                                                      list(var_shape), list(want)))


def _masked_rows(var, indices, values, fill):
    """For each of var's rows n and each update k: the update where indices[k] == n, else fill;
    shape [K, N] + var.shape[1:] (K updates, flattened)."""
    n = var.shape[0]
    inner = list(var.shape[1:])
    flat_idx = _core.reshape(indices, [-1])
    k = flat_idx.shape[0]
    u = _core.reshape(values, [k] + inner)
    hit = _core.equal(_core.reshape(flat_idx, [k, 1] + [1] * len(inner)),
                      _core.reshape(_core.range(n, dtype=flat_idx.dtype), [1, n] + [1] * len(inner)))
    u = _core.reshape(u, [k, 1] + inner)
    return _core.where(hit, _core.broadcast_to(u, [k, n] + inner),
                       _core.fill([k, n] + inner, _core.cast(fill, var.dtype)))


def _no_zero(values):
    if np.any(np.asarray(values.numpy()) == 0):
        raise _core.InvalidArgumentError("updates must not contain 0")


def _extreme(dtype, lowest):
    if dtype.is_floating:
        return -np.inf if lowest else np.inf
    info = np.iinfo(dtype.as_numpy_dtype)
    return info.min if lowest else info.max


def _scatter(var, sparse_delta, kind):
    what = "scatter_" + kind
    indices, values = _parts(var, sparse_delta, what)
    if var.ndim == 0:
        raise _core.InvalidArgumentError("%s: the variable must have rank 1 or more, got a scalar" % what)
    want = tuple(indices.shape) + tuple(var.shape[1:])
    values = _fit_updates(values, want, what, var.shape, indices.shape)
    nd = _core.expand_dims(indices, -1)
    if kind == "update":
        return var.assign(_core.tensor_scatter_nd_update(var, nd, values))
    if kind == "add":
        return var.assign(_core.tensor_scatter_nd_add(var, nd, values))
    if kind == "sub":
        return var.assign(_core.tensor_scatter_nd_add(var, nd, _core.negative(values)))
    if kind == "div":
        # TensorFlow's kernel refuses a 0 (integer or float): checked now, or at each call when
        # the updates are traced (a host-callback step, as gt.debugging's checks)
        from . import debugging
        positions = debugging._traced_tensors((values,))
        if positions is not None:
            debugging._at_each_call(_no_zero, (values,), positions)
        else:
            _no_zero(values)
    traced = _core._tracing() and _core._traced(indices)
    if not traced:
        # the indices are values: the exact segment reductions (which read them with NumPy)
        from ._composite_more import unsorted_segment_prod
        from ._utilities import tensor_scatter_nd_max, tensor_scatter_nd_min, _scatter_rows
        if kind == "max":
            return var.assign(tensor_scatter_nd_max(var, nd, values))
        if kind == "min":
            return var.assign(tensor_scatter_nd_min(var, nd, values))
        _, _, ids, n = _scatter_rows(var, nd, values, what)  # (checks the indices)
        k = int(np.prod(indices.shape))
        factor = unsorted_segment_prod(_core.reshape(values, [k] + list(var.shape[1:])), ids[n:], n)
    else:
        # traced indices: every update against every row, masked, reduced over the updates. A
        # gather of the indexed rows raises InvalidArgumentError for an index out of range first.
        _core.gather(var, indices)
        if kind in ("max", "min"):
            rows = _masked_rows(var, indices, values, _extreme(var.dtype, kind == "max"))
            best = (_core.reduce_max if kind == "max" else _core.reduce_min)(rows, axis=0)
            return var.assign((_core.maximum if kind == "max" else _core.minimum)(var, best))
        factor = _core.reduce_prod(_masked_rows(var, indices, values, 1), axis=0)
    if kind == "mul":
        return var.assign(_core.multiply(var, factor))
    # div: integers as C's division (toward zero), as TensorFlow's kernel
    if var.dtype.is_integer:
        return var.assign(_core.truncatediv(var, factor))
    return var.assign(_core.divide(var, factor))


def _batch_scatter_update(var, sparse_delta):
    what = "batch_scatter_update"
    indices, values = _parts(var, sparse_delta, what)
    nb = indices.ndim - 1  # batch dimensions: indices [B..., K] write var [B..., N, ...] at [b..., indices[b..., k]]
    if indices.ndim == 0 or nb >= var.ndim or tuple(indices.shape[:nb]) != tuple(var.shape[:nb]):
        raise _core.InvalidArgumentError(
            "%s: indices of shape %s do not fit a variable of shape %s (indices must have shape [B..., K] for a "
            "variable of shape [B..., N, ...])" % (what, list(indices.shape), list(var.shape)))
    want = tuple(indices.shape) + tuple(var.shape[nb + 1:])
    values = _fit_updates(values, want, what, var.shape, indices.shape)
    shape = list(indices.shape)
    coords = []
    for d in range(nb):
        axis = _core.reshape(_core.range(shape[d], dtype=indices.dtype), [shape[d] if i == d else 1 for i in range(len(shape))])
        coords.append(_core.broadcast_to(axis, shape))
    coords.append(indices)
    nd = _core.stack(coords, axis=-1)
    return var.assign(_core.tensor_scatter_nd_update(var, nd, values))


def _method(kind):
    def method(self, sparse_delta, use_locking=False, name=None):
        return _scatter(self, sparse_delta, kind)
    method.__name__ = "scatter_" + kind
    method.__doc__ = ("v.scatter_%s(sparse_delta): writes the rows of the gt.IndexedSlices sparse_delta %s the "
                      "variable's rows at its indices and returns the variable, as tf.Variable's (an index out "
                      "of range raises InvalidArgumentError and writes nothing; gradtape._indexed_slices)."
                      % (kind, {"update": "over", "add": "added to", "sub": "subtracted from",
                                "mul": "multiplied into", "div": "divided into", "max": "maxed with",
                                "min": "minned with"}[kind]))
    return method


def _batch_method(self, sparse_delta, use_locking=False, name=None):
    """v.batch_scatter_update(sparse_delta): indices of shape [B..., K] write the rows
    values[b..., k] at v[b..., indices[b..., k]], as tf.Variable's (gradtape._indexed_slices)."""
    return _batch_scatter_update(self, sparse_delta)


def install():
    for kind in ("update", "add", "sub", "mul", "div", "max", "min"):
        setattr(_core.Variable, "scatter_" + kind, _method(kind))
    _core.Variable.batch_scatter_update = _batch_method
