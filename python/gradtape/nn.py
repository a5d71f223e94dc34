"""gradtape.nn: activations and losses, as tf.nn.

Its names are the op manifest's rows exported under "nn" (cpp/include/gradtape/ops.def), and
the functions written in Python (nn.pyi re-exports them from their modules).
"""
from . import _manifest
from ._composite import (  # noqa: F401
    batch_normalization, bias_add, elu, embedding_lookup, gelu, l2_normalize, leaky_relu, log_poisson_loss, moments,
    sigmoid_cross_entropy_with_logits, silu, swish, weighted_cross_entropy_with_logits,
)
from ._dropout import dropout  # noqa: F401

__all__ = _manifest.export_into("nn", globals()) + [
    "batch_normalization", "bias_add", "dropout", "elu", "embedding_lookup", "gelu", "l2_normalize", "leaky_relu",
    "log_poisson_loss", "moments", "sigmoid_cross_entropy_with_logits", "silu", "swish",
    "weighted_cross_entropy_with_logits"]
