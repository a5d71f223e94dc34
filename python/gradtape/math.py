"""gradtape.math: the elementwise and reduction ops, as tf.math.

Its names are the op manifest's rows exported under "math" (cpp/include/gradtape/ops.def),
and the composite functions of _composite.py.
"""
from . import _manifest
from ._composite import (  # noqa: F401
    argmax, argmin, is_finite, is_inf, is_nan, l2_normalize, reduce_std, reduce_variance,
)

from ._composite_more import (  # noqa: F401
    accumulate_n, bincount, confusion_matrix, in_top_k, invert_permutation, is_non_decreasing, is_strictly_increasing,
    lbeta, logical_xor, polyval, reciprocal_no_nan, scalar_mul, segment_prod, unsorted_segment_max,
    unsorted_segment_mean, unsorted_segment_min, unsorted_segment_prod, unsorted_segment_sqrt_n, zero_fraction,
)
from ._core import floormod as mod  # noqa: F401  (tf.math.mod is floormod)
from . import _math_special as special  # noqa: F401  (tf.math.special)

_MORE = ["accumulate_n", "bincount", "confusion_matrix", "in_top_k", "invert_permutation", "is_non_decreasing",
         "is_strictly_increasing", "lbeta", "logical_xor", "mod", "polyval", "reciprocal_no_nan", "scalar_mul",
         "segment_prod", "unsorted_segment_max", "unsorted_segment_mean", "unsorted_segment_min",
         "unsorted_segment_prod", "unsorted_segment_sqrt_n", "zero_fraction", "special"]
__all__ = _manifest.export_into("math", globals()) + [
    "argmax", "argmin", "is_finite", "is_inf", "is_nan", "l2_normalize", "reduce_std", "reduce_variance"] + _MORE
