"""Interop with other array libraries: TensorFlow's Reference objects (`Tensor.ref()`,
`Variable.ref()`) and DLPack (`gt.from_dlpack`, `gt.experimental.dlpack`).

DLPack exports (`t.__dlpack__`, which `np.from_dlpack`, `torch.from_dlpack` and
`torch.as_tensor` call) share the tensor's memory flagged read-only when the consumer speaks
DLPack 1.0 or later, and hand over a private copy otherwise (docs/choices.md, "DLPack").
Imports always copy: gradtape owns its buffers.
"""
from __future__ import annotations

from typing import Any, Optional

from . import _core

__all__ = ["Reference", "from_dlpack", "to_dlpack"]


class Reference:
    """A hashable reference to a tensor or variable (TensorFlow's `x.ref()`): usable as a dict
    key or a set member, equal only to a reference to the same object; `deref()` returns it.

    >>> v = gt.Variable(1.0)
    >>> r = v.ref()
    >>> r == v.ref(), r.deref() is v
    (True, True)
    >>> {v.ref(): "w"}[v.ref()]
    'w'
    >>> gt.Variable(1.0).ref() == r   # another object: not equal, whatever its value
    False
    """

    __slots__ = ("_wrapped", "__weakref__")

    def __init__(self, wrapped: Any) -> None:
        self._wrapped = wrapped

    def deref(self) -> Any:
        """The object this reference refers to.

        >>> t = gt.constant(2.0)
        >>> t.ref().deref() is t
        True
        """
        return self._wrapped

    def _check(self, other: Any) -> "Reference":
        if not isinstance(other, Reference):
            raise TypeError("Cannot compare wrapped object with unwrapped object")
        return other

    def __eq__(self, other: object) -> bool:
        if other is None:
            return False
        return self._wrapped is self._check(other)._wrapped

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __lt__(self, other: "Reference") -> bool:
        return id(self._wrapped) < id(self._check(other)._wrapped)

    def __gt__(self, other: "Reference") -> bool:
        return id(self._wrapped) > id(self._check(other)._wrapped)

    def __hash__(self) -> int:
        return id(self._wrapped)

    def __repr__(self) -> str:
        return "<Reference wrapping %r>" % (self._wrapped,)


def _ref(self) -> Reference:
    """A hashable reference to this object (tf.Tensor.ref / tf.Variable.ref): a tensor or a
    variable is not hashable itself (== is elementwise); its reference is, by identity.

    >>> x = gt.constant([1.0, 2.0])
    >>> seen = {x.ref()}
    >>> x.ref() in seen, gt.constant([1.0, 2.0]).ref() in seen
    (True, False)
    >>> x.ref().deref() is x
    True
    """
    return Reference(self)


def from_dlpack(x: Any, /, *, device: Any = None, copy: Optional[bool] = None) -> _core.Tensor:
    """A new tensor with the values of any DLPack producer (the array API's `from_dlpack`).

    Args:
      x: An object with `__dlpack__` (a NumPy array, a torch tensor, a gradtape tensor, ...) or
        a DLPack capsule (from `gt.experimental.dlpack.to_dlpack`, `torch.utils.dlpack.to_dlpack`,
        ...; a capsule can be consumed once).
      device: None, "cpu", or the DLPack device (1, 0): gradtape tensors live on the CPU.
      copy: None or True. The values are always copied (gradtape owns its buffers), so
        copy=False raises ValueError.

    Returns:
      A `gt.Tensor` of dtype float32, float64, int32, int64 or bool (TypeError for any other
      dtype; BufferError for memory on another device than the CPU).

    >>> a = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> gt.from_dlpack(a.T).numpy()     # any strides: the values are copied in order
    array([[0., 3.],
           [1., 4.],
           [2., 5.]], dtype=float32)
    """
    if copy is False:
        raise ValueError("from_dlpack: gradtape always copies the values it imports (it owns its buffers); "
                         "pass copy=None or copy=True")
    if device is not None and device not in ("cpu", "CPU", (1, 0)) and str(device).lower() not in ("cpu", "cpu:0"):
        raise ValueError("from_dlpack: gradtape tensors live on the CPU; got device=%r" % (device,))
    return _core._from_dlpack(x)


def to_dlpack(tf_tensor: Any) -> Any:
    """A DLPack capsule ("dltensor", the legacy form) of a tensor's values
    (tf.experimental.dlpack.to_dlpack), for consumers that take capsules (torch.from_dlpack,
    gt.experimental.dlpack.from_dlpack, ...). A legacy capsule cannot say read-only, so it holds
    a private copy of the values; `from_dlpack(tensor)` itself (np.from_dlpack, torch.from_dlpack)
    shares the memory read-only.

    >>> capsule = gt.experimental.dlpack.to_dlpack(gt.constant([1, 2, 3]))
    >>> gt.experimental.dlpack.from_dlpack(capsule)
    <gt.Tensor: shape=(3,), dtype=int32, numpy=array([1, 2, 3], dtype=int32)>
    """
    return _core._to_dlpack(tf_tensor)
