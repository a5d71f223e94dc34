"""gt.TensorSpec (a shape, a dtype and a name describing tensors) and gt.string.

A shape in a spec may have unknown dimensions (None) or be wholly unknown (shape=None); a
tensor is compatible with a spec when its dtype is the spec's and its shape fits the spec's.
gradtape has no string tensors: `gt.string` is a dtype only specs use (for the text a
gt.data.TextLineDataset or a generator yields as Python bytes / NumPy arrays of bytes).
"""
from __future__ import annotations

import numpy as np

from . import _core
from ._shape import _make as _make_shape, _shape_str

__all__ = ["TensorSpec", "string"]


class _StringDType:
    """The dtype of text in specs; values are bytes (scalars) or NumPy arrays of bytes."""
    name = "string"
    as_numpy_dtype = np.object_
    is_floating = False
    is_integer = False

    def __repr__(self):
        return "gt.string"

    def __reduce__(self):
        return "string"


string = _StringDType()


def _as_dtype(d):
    if d is string or d == "string" or d is str or d is bytes:
        return string
    return _core.as_dtype(d)


def _as_shape(shape):
    if shape is None:
        return None
    if isinstance(shape, (_core.Tensor, _core.Variable)):
        shape = shape.numpy().tolist()
    if isinstance(shape, int):
        shape = [shape]
    dims = []
    for d in shape:
        if d is None or (isinstance(d, int) and d >= 0):
            dims.append(d)
        elif hasattr(d, "__index__") and int(d) >= 0:
            dims.append(int(d))
        elif isinstance(d, int) and d == -1:
            dims.append(None)
        else:
            raise ValueError("TensorSpec: invalid dimension %r in shape %r" % (d, shape))
    return tuple(dims)


def _shapes_compatible(a, b):
    """Two shapes (tuples with None dims, or None) can describe the same tensor."""
    if a is None or b is None:
        return True
    if len(a) != len(b):
        return False
    # (b indexed only where a is known: a traced tensor's shape then notes only the dimensions
    # the spec fixes, not its None ones; docs/guides/function.md, "One program for all sizes")
    return all(x is None or b[i] is None or x == b[i] for i, x in enumerate(a))


class TensorSpec:
    """Describes a tensor: TensorSpec(shape, dtype=gt.float32, name=None).

    >>> spec = gt.TensorSpec([None, 3], gt.float32)
    >>> spec
    TensorSpec(shape=(None, 3), dtype=gt.float32, name=None)
    >>> spec.is_compatible_with(gt.zeros([5, 3])), spec.is_compatible_with(gt.zeros([5, 4]))
    (True, False)
    >>> gt.TensorSpec.from_tensor(gt.constant([1, 2]), name="x")
    TensorSpec(shape=(2,), dtype=gt.int32, name='x')
    """

    __slots__ = ("_shape", "_dtype", "_name")

    def __init__(self, shape, dtype=_core.DType.float32, name=None):
        self._shape = _as_shape(shape)
        self._dtype = _as_dtype(dtype)
        if name is not None and not isinstance(name, str):
            raise TypeError("TensorSpec: name must be a string, got %r" % (name,))
        self._name = name

    @property
    def shape(self):
        """The shape, whose dims may be None (TensorShape(None) when wholly unknown).

        >>> gt.TensorSpec([None, 3]).shape.as_list()
        [None, 3]
        """
        return _make_shape(self._shape)

    @property
    def dtype(self):
        """The dtype (gt.string for text).

        >>> gt.TensorSpec([2], gt.int64).dtype
        gt.int64
        """
        return self._dtype

    @property
    def name(self):
        """The name, or None.

        >>> gt.TensorSpec([], name="label").name
        'label'
        """
        return self._name

    @classmethod
    def from_tensor(cls, tensor, name=None) -> TensorSpec:
        """The spec of a tensor (or of what convert_to_tensor makes of a value).

        >>> gt.TensorSpec.from_tensor(gt.zeros([2, 3]))
        TensorSpec(shape=(2, 3), dtype=gt.float32, name=None)
        """
        t = tensor if isinstance(tensor, (_core.Tensor, _core.Variable)) else _core.convert_to_tensor(tensor)
        return cls(tuple(t.shape), t.dtype, name)

    @classmethod
    def from_spec(cls, spec, name=None) -> TensorSpec:
        """A copy of a spec, renamed when `name` is given.

        >>> gt.TensorSpec.from_spec(gt.TensorSpec([2]), name="x")
        TensorSpec(shape=(2,), dtype=gt.float32, name='x')
        """
        return cls(spec._shape, spec.dtype, spec.name if name is None else name)

    def is_compatible_with(self, spec_or_tensor) -> bool:
        """True when a TensorSpec or tensor has this spec's dtype and a compatible shape."""
        other = spec_or_tensor
        if isinstance(other, TensorSpec):
            return other.dtype == self.dtype and _shapes_compatible(self._shape, other._shape)
        if isinstance(other, (_core.Tensor, _core.Variable)):
            return other.dtype == self.dtype and _shapes_compatible(self._shape, other.shape)
        if isinstance(other, np.ndarray):
            if self.dtype is string:
                return other.dtype.kind in "OSU" and _shapes_compatible(self._shape, other.shape)
            try:
                return _core.as_dtype(other.dtype) == self.dtype and _shapes_compatible(self._shape, other.shape)
            except TypeError:
                return False
        return False

    def most_specific_compatible_type(self, other):
        """The most specific spec both specs are compatible with (dims that differ become None).

        >>> gt.TensorSpec([2, 3]).most_specific_compatible_type(gt.TensorSpec([4, 3]))
        TensorSpec(shape=(None, 3), dtype=gt.float32, name=None)
        """
        if self.dtype != other.dtype:
            raise ValueError("No common type for %r and %r" % (self, other))
        if self._shape is None or other._shape is None or len(self._shape) != len(other._shape):
            return TensorSpec(None, self.dtype)
        return TensorSpec([a if a == b else None for a, b in zip(self._shape, other._shape)], self.dtype)

    def __eq__(self, other):
        return (type(other) is type(self) and self._shape == other._shape and
                self.dtype == other.dtype and self._name == other._name)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self._shape, self._dtype.name, self._name))

    def __repr__(self):
        dtype = "gt.string" if self.dtype is string else "gt." + self.dtype.name
        return "TensorSpec(shape=%s, dtype=%s, name=%r)" % (_shape_str(self._shape), dtype, self._name)

    def __reduce__(self):
        return TensorSpec, (self._shape, self._dtype, self._name)
