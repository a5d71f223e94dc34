"""gradtape.nn: activations and losses, as tf.nn.

Its names are the op manifest's rows exported under "nn" (cpp/include/gradtape/ops.def), and
the functions written in Python (nn.pyi re-exports them from their modules).
"""
from . import _manifest
from ._composite import (  # noqa: F401
    batch_normalization, bias_add, elu, embedding_lookup, gelu, l2_normalize, leaky_relu, log_poisson_loss, moments,
    sigmoid_cross_entropy_with_logits, silu, swish, weighted_cross_entropy_with_logits,
)
from ._composite_more import (  # noqa: F401
    compute_average_loss, crelu, depth_to_space, in_top_k, normalize_moments, scale_regularization_loss,
    space_to_depth, sufficient_statistics, weighted_moments, zero_fraction,
)
from ._dropout import dropout  # noqa: F401

__all__ = _manifest.export_into("nn", globals()) + [
    "batch_normalization", "bias_add", "dropout", "elu", "embedding_lookup", "gelu", "l2_normalize", "leaky_relu",
    "log_poisson_loss", "moments", "sigmoid_cross_entropy_with_logits", "silu", "swish",
    "weighted_cross_entropy_with_logits", "compute_average_loss", "crelu", "depth_to_space", "in_top_k",
    "normalize_moments", "scale_regularization_loss", "space_to_depth", "sufficient_statistics",
    "weighted_moments", "zero_fraction"]
