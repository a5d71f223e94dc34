"""gt.data.experimental: the names TensorFlow programs still reach for here."""
from __future__ import annotations

from .. import _core
from .dataset import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY  # noqa: F401


def cardinality(dataset) -> _core.Tensor:
    """dataset.cardinality() (tf.data.experimental.cardinality).

    >>> int(gt.data.experimental.cardinality(gt.data.Dataset.range(4).batch(3)))
    2
    """
    return dataset.cardinality()


__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "cardinality"]
