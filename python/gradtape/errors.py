"""Exceptions, named as TensorFlow names them."""
from ._core import InvalidArgumentError

__all__ = ["InvalidArgumentError"]
