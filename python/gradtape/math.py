"""gradtape.math: the elementwise and reduction ops, as tf.math."""
from ._core import (  # noqa: F401
    abs, add, cast, clip_by_value, concat, cos, divide, equal, exp, expm1, fill, floor,
    floordiv, floormod, gather, greater, greater_equal, less, less_equal, log, log1p,
    log_sigmoid, logical_and, logical_not, logical_or, matmul, maximum, minimum, multiply,
    negative, not_equal, ones, ones_like, pow, range, reciprocal, reduce_all, reduce_any,
    reduce_logsumexp, reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_sum, reshape,
    rsqrt, sigmoid, sign, sin, softplus, sqrt, square, squeeze, stack, subtract, tan, tanh,
    transpose, truediv, where, zeros, zeros_like, expand_dims,
)
from ._core import softmax, log_softmax  # noqa: F401
from ._composite import (  # noqa: F401
    argmax, argmin, is_finite, is_inf, is_nan, reduce_std, reduce_variance,
)
