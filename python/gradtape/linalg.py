"""gradtape.linalg: the linear algebra of tf.linalg that gradtape has (matmul, matvec, norm)."""
from ._core import matmul, transpose  # noqa: F401
from ._composite import matvec, norm  # noqa: F401
