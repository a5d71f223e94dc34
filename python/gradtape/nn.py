"""gradtape.nn: activations and losses, as tf.nn.

Its names are the op manifest's rows exported under "nn" (cpp/include/gradtape/ops.def), and
the functions written in Python (nn.pyi re-exports them from their modules).
"""
from . import _manifest
from ._composite import elu, sigmoid_cross_entropy_with_logits  # noqa: F401
from ._dropout import dropout  # noqa: F401

__all__ = _manifest.export_into("nn", globals()) + ["dropout", "elu", "sigmoid_cross_entropy_with_logits"]
