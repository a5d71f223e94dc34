"""gradtape.math.special: the functions of tf.math.special that gradtape has.

TensorFlow keeps the Bessel functions under both tf.math and tf.math.special; these are the same
functions as gt.math.bessel_i0 and the others (manifest rows of cpp/include/gradtape/ops.def).
TensorFlow's other special functions (bessel_j0, bessel_k0, dawsn, expint, fresnel_cos, spence,
...) are not here yet (docs/tf-coverage.md).
"""
from ._core import bessel_i0, bessel_i0e, bessel_i1, bessel_i1e  # noqa: F401

__all__ = ["bessel_i0", "bessel_i0e", "bessel_i1", "bessel_i1e"]
