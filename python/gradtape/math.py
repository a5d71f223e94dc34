"""gradtape.math: the elementwise and reduction ops, as tf.math.

Its names are the op manifest's rows exported under "math" (cpp/include/gradtape/ops.def),
and the composite functions of _composite.py.
"""
from . import _manifest
from ._composite import (  # noqa: F401
    argmax, argmin, is_finite, is_inf, is_nan, l2_normalize, reduce_std, reduce_variance,
)

__all__ = _manifest.export_into("math", globals()) + [
    "argmax", "argmin", "is_finite", "is_inf", "is_nan", "l2_normalize", "reduce_std", "reduce_variance"]
