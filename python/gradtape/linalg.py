"""gradtape.linalg: the linear algebra of tf.linalg that gradtape has (matmul, matvec, norm, eye,
inv, det, slogdet, solve, triangular_solve, cholesky, cholesky_solve, diag, diag_part, set_diag,
band_part, trace, tensordot, einsum, cross, lstsq, expm, pinv, logdet, matrix_rank, normalize,
global_norm, l2_normalize, adjoint, matrix_transpose, tensor_diag, tensor_diag_part).

Its names are the op manifest's rows exported under "linalg" (cpp/include/gradtape/ops.def),
and the composite functions of _composite.py.

>>> gt.linalg.matmul(gt.constant([[1.0, 2.0]]), gt.constant([[3.0], [4.0]])).numpy()
array([[11.]], dtype=float32)
"""
from . import _manifest
from ._core import matmul, transpose  # noqa: F401
from ._composite import cross, einsum, expm, l2_normalize, lstsq, matvec, norm, tensordot  # noqa: F401
from ._composite import _global_norm as global_norm  # noqa: F401
from ._composite_more import (  # noqa: F401
    adjoint, logdet, matrix_rank, matrix_transpose, normalize, pinv, tensor_diag, tensor_diag_part,
)

_manifest.export_into("linalg", globals())
