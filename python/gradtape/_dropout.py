"""gt.nn.dropout, the one gt.nn function written in Python (gradtape.nn re-exports it)."""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Optional, Sequence, Union

from . import _core, random

if TYPE_CHECKING:
    from ._core import TensorLike

__all__ = ["dropout"]


def dropout(x: TensorLike, rate: Union[float, TensorLike],
            noise_shape: Union[Sequence[Optional[int]], _core.Tensor, None] = None, seed: Optional[int] = None,
            name: Optional[str] = None) -> _core.Tensor:
    """Sets each element of x to 0 with probability `rate` and scales the others by
    1 / (1 - rate), as tf.nn.dropout; `noise_shape` (broadcastable to x's shape, None entries
    taking x's) shares one keep/drop decision along the axes where it is 1. Differentiable
    with respect to x (the gradient is the same mask times the same scale).

    >>> x = gt.ones([4, 5])
    >>> y = gt.nn.dropout(x, rate=0.5, seed=1)
    >>> y.shape, y.dtype
    (TensorShape([4, 5]), gt.float32)
    >>> set(np.unique(y.numpy())) <= {0.0, 2.0}  # dropped, or kept and scaled by 1 / (1 - 0.5)
    True
    >>> rows = gt.nn.dropout(x, rate=0.5, noise_shape=[4, 1], seed=2).numpy()
    >>> all(len(set(row)) == 1 for row in rows.tolist())  # one decision per row
    True
    """
    x = _core.convert_to_tensor(x)
    if x.dtype not in (_core.as_dtype("float32"), _core.as_dtype("float64")):
        raise ValueError("`x.dtype` must be a floating point tensor as `x` will be scaled. "
                         "Received: x_dtype=%r" % (x.dtype,))
    if isinstance(rate, numbers.Real) and not isinstance(rate, bool):
        if not 0 <= rate < 1:
            raise ValueError("`rate` must be a scalar tensor or a float in the range [0, 1). Received: rate=%s" % rate)
        if rate == 0:
            return _core.identity(x)
        keep_scale = 1.0 / (1.0 - float(rate))
    else:
        rate = _core.cast(_core.convert_to_tensor(rate), x.dtype)
        if rate.shape.rank != 0:
            raise ValueError("`rate` must be a scalar tensor. Received: rate=%r" % (rate,))
        keep_scale = 1.0 / (1.0 - rate)
    shape = list(x.shape)
    if noise_shape is None:
        noise = shape
    else:
        ns = noise_shape.numpy().tolist() if hasattr(noise_shape, "numpy") else list(noise_shape)
        if len(ns) != len(shape):
            raise ValueError("`noise_shape` must have the rank of x (%d), got %r" % (len(shape), ns))
        noise = [shape[i] if d is None else int(d) for i, d in enumerate(ns)]
    u = random.uniform(noise, dtype=x.dtype, seed=seed)
    keep = _core.broadcast_to(_core.greater_equal(u, rate), shape)
    return _core.where(keep, x * keep_scale, _core.zeros_like(x))
