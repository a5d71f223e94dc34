"""gradtape.math: the elementwise and reduction ops, as tf.math.

Its names are the op manifest's rows exported under "math" (cpp/include/gradtape/ops.def).
"""
from . import _manifest

__all__ = _manifest.export_into("math", globals())
