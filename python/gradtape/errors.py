"""Exceptions, named as TensorFlow names them."""
from ._core import InvalidArgumentError, ResourceExhaustedError, UnconnectedGradientsError
from ._errors import DataLossError, NotFoundError

__all__ = ["InvalidArgumentError", "ResourceExhaustedError", "UnconnectedGradientsError", "DataLossError",
           "NotFoundError"]
