"""Exceptions, named as TensorFlow names them.

>>> try:
...     gt.reshape(gt.zeros([2, 3]), [4])
... except gt.errors.InvalidArgumentError as e:
...     print(type(e).__name__)
InvalidArgumentError
"""
from ._core import InvalidArgumentError, OperatorNotAllowedInGraphError, ResourceExhaustedError, UnconnectedGradientsError
from ._errors import (AbortedError, AlreadyExistsError, CancelledError, DataLossError, DeadlineExceededError,
                      FailedPreconditionError, InternalError, NotFoundError, OpError, OutOfRangeError,
                      PermissionDeniedError, UnauthenticatedError, UnavailableError, UnimplementedError, UnknownError)

# TensorFlow's error codes (tf.errors.OK ... tf.errors.UNAUTHENTICATED), and each class's.
OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS = 0, 1, 2, 3, 4, 5, 6
PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE = 7, 8, 9, 10, 11
UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED = 12, 13, 14, 15, 16
OpError.error_code = UNKNOWN
InvalidArgumentError.error_code = INVALID_ARGUMENT
ResourceExhaustedError.error_code = RESOURCE_EXHAUSTED
NotFoundError.error_code = NOT_FOUND
DataLossError.error_code = DATA_LOSS
FailedPreconditionError.error_code = FAILED_PRECONDITION
OutOfRangeError.error_code = OUT_OF_RANGE

__all__ = ["OpError", "InvalidArgumentError", "OperatorNotAllowedInGraphError", "ResourceExhaustedError",
           "UnconnectedGradientsError", "DataLossError", "FailedPreconditionError", "NotFoundError", "OutOfRangeError",
           "AbortedError", "AlreadyExistsError", "CancelledError", "DeadlineExceededError", "InternalError",
           "PermissionDeniedError", "UnauthenticatedError", "UnavailableError", "UnimplementedError", "UnknownError",
           "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
           "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
           "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"]

InvalidArgumentError.__doc__ = """An op got an argument it cannot take (a shape, dtype, axis or value); a ValueError.

>>> try:
...     gt.add(gt.constant([1.0]), gt.constant([1, 2, 3]))
... except gt.errors.InvalidArgumentError as e:
...     print("InvalidArgumentError")
InvalidArgumentError
"""

UnconnectedGradientsError.__doc__ = """gradient(..., unconnected_gradients="error") found a source the target does not depend on.

>>> x, y = gt.constant(1.0), gt.constant(2.0)
>>> with gt.GradientTape() as tape:
...     tape.watch([x, y])
...     z = x * 2.0
>>> try:
...     tape.gradient(z, y, unconnected_gradients="error")
... except gt.errors.UnconnectedGradientsError:
...     print("unconnected")
unconnected
"""

ResourceExhaustedError.__doc__ = """A tensor would need more memory than can be allocated; a MemoryError.

>>> try:
...     gt.zeros([2 ** 40, 2 ** 20])
... except gt.errors.ResourceExhaustedError:
...     print("too big")
too big
"""

OperatorNotAllowedInGraphError.__doc__ = """gt.function refused, while tracing, to read a traced tensor's value into
Python (an `if` on it, float(), .numpy()) or to trace an op it has no step for; a TypeError.

>>> @gt.function
... def f(x):
...     if x > 0:
...         return x
...     return -x
>>> try:
...     f(gt.constant(1.0))
... except gt.errors.OperatorNotAllowedInGraphError:
...     print("use gt.cond")
use gt.cond
"""
