"""Exceptions, named as TensorFlow names them."""
from ._core import InvalidArgumentError, UnconnectedGradientsError

__all__ = ["InvalidArgumentError", "UnconnectedGradientsError"]
