"""Sliced variable assignment: `v[1:3].assign(values)`, as TensorFlow's.

Indexing a Variable with ints, slices, `...`, None (or scalar int tensors) gives a tensor, as
indexing a tensor does, that also has an `assign(val, name=None)` method writing `val` into that
part of the variable. TensorFlow's rules:

- `val` is converted to the variable's dtype (as `Variable.assign` converts) and broadcast to
  the slice's shape; leading length-1 axes beyond the slice's rank are allowed. Any other shape
  is an `InvalidArgumentError` ("Cannot broadcast input shape [2] into final shape [3]").
- An empty slice writes nothing (and checks no shape).
- It returns the variable. The sliced tensor itself keeps the values read when it was made.
- Only that first indexing has `assign`: `v[0][1]`, `v.read_value()[0]` and a boolean mask
  `v[v > 0]` give plain tensors; TensorFlow's sliced tensors have no `assign_add`/`assign_sub`
  either.

The new value of the whole variable is built from ops (the current value, flattened, with the
slice's positions replaced by `tensor_scatter_nd_update`) and written by the variable's own
`assign`: a write is then one variable write, with its copy-on-write snapshot for tapes that
recorded the old value, and `gt.function` records it as it records any `assign`.
"""
import operator

import numpy as np

from . import _core

__all__ = []

_tensor_getitem = _core.Variable.__getitem__


def _is_basic(item):
    """An index item a slice assignment understands: an int (or scalar int tensor), a slice,
    None, `...` or a Python bool (a new axis)."""
    if item is None or item is Ellipsis or isinstance(item, (bool, slice)):
        return True
    if isinstance(item, (_core.Tensor, _core.Variable)):
        return item.dtype.is_integer and item.shape.rank == 0
    if isinstance(item, (list, np.ndarray)):
        return False
    return hasattr(item, "__index__")


def _bound(b):
    return None if b is None else operator.index(b)


def _positions(shape, key):
    """The flat (C-order) positions of the elements `x[key]` selects from a tensor `x` of
    `shape`, as an int64 array of the slice's shape (new axes included)."""
    items = list(key) if isinstance(key, tuple) else [key]
    consumed = sum(1 for k in items if k is not None and k is not Ellipsis and not isinstance(k, bool))
    expanded = []
    for k in items:
        if k is Ellipsis:
            expanded += [slice(None)] * (len(shape) - consumed)
        else:
            expanded.append(k)
    strides = [int(np.prod(shape[d + 1:], dtype=np.int64)) for d in range(len(shape))]
    axes, base, d = [], 0, 0
    for k in expanded:
        if k is None or k is True:
            axes.append(np.zeros(1, np.int64))
        elif k is False:
            axes.append(np.zeros(0, np.int64))
        elif isinstance(k, slice):
            k = slice(_bound(k.start), _bound(k.stop), _bound(k.step))
            axes.append(np.arange(shape[d], dtype=np.int64)[k] * strides[d])
            d += 1
        else:
            i = operator.index(k)
            base += (i + shape[d] if i < 0 else i) * strides[d]
            d += 1
    for d in range(d, len(shape)):
        axes.append(np.arange(shape[d], dtype=np.int64) * strides[d])
    pos = np.full([len(a) for a in axes], base, dtype=np.int64)
    for j, a in enumerate(axes):
        pos += a.reshape([-1 if m == j else 1 for m in range(len(axes))])
    return pos


def _broadcast_shape(value_shape, final):
    """The shape `value_shape` takes to broadcast into `final` (leading 1s dropped), or None."""
    value_shape = list(value_shape)
    while len(value_shape) > len(final) and value_shape[0] == 1:
        value_shape.pop(0)
    if len(value_shape) > len(final):
        return None
    for a, b in zip(reversed(value_shape), reversed(final)):
        if a != b and a != 1:
            return None
    return value_shape


def _assign_slice(variable, key, val):
    """Writes `val` into `variable[key]` and returns the variable."""
    import gradtape as gt
    value = gt.convert_to_tensor(val, dtype=variable.dtype)
    pos = _positions(tuple(variable.shape), key)
    if pos.size == 0:
        return variable
    final = list(pos.shape)
    shape = _broadcast_shape(value.shape, final)
    if shape is None:
        raise gt.errors.InvalidArgumentError("Cannot broadcast input shape [%s] into final shape [%s]" % (
            ",".join(str(d) for d in value.shape), ",".join(str(d) for d in final)))
    updates = gt.reshape(gt.broadcast_to(gt.reshape(value, shape), final), [-1])
    flat = gt.reshape(variable.read_value(), [-1])
    new = gt.tensor_scatter_nd_update(flat, pos.reshape(-1, 1), updates)
    return variable.assign(gt.reshape(new, tuple(variable.shape)))


def _variable_getitem(self, key):
    out = _tensor_getitem(self, key)
    items = key if isinstance(key, tuple) else (key,)
    if all(_is_basic(k) for k in items):
        def assign(val, name=None):
            """Writes `val` (broadcast to this slice's shape) into the variable's slice;
            returns the variable."""
            return _assign_slice(self, key, val)
        out.assign = assign
    return out


_variable_getitem.__doc__ = """Indexes the variable's value as a tensor is indexed; the result of
basic indexing (ints, slices, `...`, None) also has `assign(val)`, which writes into that slice.

>>> v = gt.Variable([[1.0, 2.0], [3.0, 4.0]])
>>> v[0].numpy()
array([1., 2.], dtype=float32)
>>> v[:, 1].assign([7.0, 8.0]).numpy()
array([[1., 7.],
       [3., 8.]], dtype=float32)
>>> v[1].assign(0.0).numpy()
array([[1., 7.],
       [0., 0.]], dtype=float32)
"""


def install():
    _core.Variable.__getitem__ = _variable_getitem
