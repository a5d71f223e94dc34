"""gradtape.nn: activations and losses, as tf.nn.

Its names are the op manifest's rows exported under "nn" (cpp/include/gradtape/ops.def).
"""
from . import _manifest

__all__ = _manifest.export_into("nn", globals())
