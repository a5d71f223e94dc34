"""gt.experimental: TensorFlow's tf.experimental names that gradtape has (`dlpack`).

>>> gt.experimental.dlpack.from_dlpack(np.array([1.5, 2.5]))
<gt.Tensor: shape=(2,), dtype=float64, numpy=array([1.5, 2.5])>
"""
from . import dlpack

__all__ = ["dlpack"]
