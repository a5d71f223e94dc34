"""gradtape.nn: activations and losses, as tf.nn.

Its names are the op manifest's rows exported under "nn" (cpp/include/gradtape/ops.def).
"""
from . import _manifest
from ._dropout import dropout  # (written in Python; nn.pyi re-exports it from there)

__all__ = _manifest.export_into("nn", globals()) + ["dropout"]

