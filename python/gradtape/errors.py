"""Exceptions, named as TensorFlow names them."""
from ._core import InvalidArgumentError, ResourceExhaustedError, UnconnectedGradientsError

__all__ = ["InvalidArgumentError", "ResourceExhaustedError", "UnconnectedGradientsError"]
