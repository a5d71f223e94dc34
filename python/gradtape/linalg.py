"""gradtape.linalg: the linear algebra of tf.linalg that gradtape has (matmul, matvec, norm).

>>> gt.linalg.matmul(gt.constant([[1.0, 2.0]]), gt.constant([[3.0], [4.0]])).numpy()
array([[11.]], dtype=float32)
"""
from ._core import matmul, transpose  # noqa: F401
from ._composite import matvec, norm  # noqa: F401
