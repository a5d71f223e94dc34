"""gt.dtypes: tf.dtypes, the element types and the functions on them.

>>> gt.dtypes.as_dtype("float16") == gt.dtypes.half
True
>>> gt.dtypes.cast(gt.constant([1.7, -1.7]), gt.dtypes.int32).numpy()
array([ 1, -1], dtype=int32)
"""
from ._core import DType, as_dtype, cast  # noqa: F401
from ._utilities import saturate_cast  # noqa: F401

float16 = DType.float16
half = float16
bfloat16 = DType.bfloat16
float32 = DType.float32
float64 = DType.float64
double = float64
int8 = DType.int8
int16 = DType.int16
int32 = DType.int32
int64 = DType.int64
uint8 = DType.uint8
uint16 = DType.uint16
uint32 = DType.uint32
uint64 = DType.uint64
bool = DType.bool  # noqa: A001 (TensorFlow's name)

__all__ = ["DType", "as_dtype", "cast", "saturate_cast", "float16", "half", "bfloat16", "float32", "float64",
           "double", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"]
