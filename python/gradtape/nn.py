"""gradtape.nn: activations and losses, as tf.nn."""
from ._core import (  # noqa: F401
    log_softmax, relu, sigmoid, softmax, softmax_cross_entropy_with_logits, softplus,
    sparse_softmax_cross_entropy_with_logits, tanh,
)
from ._core import log_sigmoid  # noqa: F401
