"""gt.data: input pipelines, as tf.data (Dataset, TextLineDataset, AUTOTUNE, cardinalities)."""
from .dataset import (  # noqa: F401
    AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, Iterator, TextLineDataset,
)
from . import experimental  # noqa: F401

__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Dataset", "Iterator",
           "TextLineDataset", "experimental"]
