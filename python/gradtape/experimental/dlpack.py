"""gt.experimental.dlpack: tf.experimental.dlpack's to_dlpack and from_dlpack.

`to_dlpack(t)` makes a legacy "dltensor" capsule holding a copy of the values;
`from_dlpack(x)` takes such a capsule (or a versioned one, or any object with `__dlpack__`)
and copies its values into a new tensor. See gradtape._interop and docs/choices.md, "DLPack".

>>> t = gt.constant([[1.0, 2.0]])
>>> gt.experimental.dlpack.from_dlpack(gt.experimental.dlpack.to_dlpack(t)).numpy()
array([[1., 2.]], dtype=float32)
"""
from .._interop import from_dlpack, to_dlpack

__all__ = ["from_dlpack", "to_dlpack"]
