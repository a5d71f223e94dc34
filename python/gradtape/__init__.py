"""gradtape: reverse-mode automatic differentiation with a C++ core and TensorFlow's API.

    import gradtape as gt
    w = gt.Variable(5.)
    with gt.GradientTape() as tape:
        z = 3 * w ** 2
    tape.gradient(z, w)   # <gt.Tensor: shape=(), dtype=float32, numpy=30.0>
"""
import builtins as _builtins
import functools as _functools
import os as _os

# OpenBLAS's idle workers spin for about 2**28 cycles after each call; on a small machine they
# take the cores our own kernel threads need (an elementwise op right after a matmul ran 6x
# slower than the two apart). Let them sleep almost at once; a user's own setting wins. This
# must happen before _core loads OpenBLAS.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from . import _core  # noqa: E402
from ._core import DType, Tensor, Variable, as_dtype  # noqa: E402,F401
from . import _manifest  # noqa: E402

# The ops: every manifest row (cpp/include/gradtape/ops.def) exported under "gt".
_manifest.export_into("gt", globals())
from . import config, errors, math, nest, nn, test  # noqa: F401
from . import optimizers, random  # noqa: F401  (random: after _core; it shadows no op)
from ._shape import TensorShape
from .custom_gradient import custom_gradient  # noqa: F401
from .tape import GradientTape, UnconnectedGradients  # noqa: F401
from .module import Module, name_scope  # noqa: F401  (also makes gt.Variable follow name scopes)
from .specs import TensorSpec, string  # noqa: F401
from .control_flow import (  # noqa: F401
    case, cond, foldl, foldr, identity_n, map_fn, scan, switch_case, vectorized_map, while_loop,
)
from ._function import function  # noqa: F401,E402
from .eager import device, executing_eagerly, get_static_value, init_scope, print  # noqa: F401,A001
from . import data, debugging, train  # noqa: F401,E402
from . import saved_model  # noqa: F401,E402
from . import linalg  # noqa: F401,E402
from . import autodiff  # noqa: F401,E402
from ._composite import (argmax, argmin, broadcast_static_shape, clip_by_global_norm, clip_by_norm, linspace,  # noqa: F401,E402
                         einsum, norm, tensordot)
from ._composite_more import histogram_fixed_width, histogram_fixed_width_bins, scalar_mul  # noqa: F401,E402
from ._utilities import (  # noqa: F401,E402
    constant_initializer, control_dependencies, dynamic_partition, dynamic_stitch, ensure_shape, get_logger,
    grad_pass_through, group, is_tensor, no_op, numpy_function, ones_initializer, py_function, random_normal_initializer,
    random_uniform_initializer, realdiv, recompute_grad, repeat, reverse_sequence, saturate_cast, searchsorted,
    sequence_mask, slice, strided_slice, timestamp, tuple, unique, unique_with_counts, unravel_index,
    zeros_initializer, tensor_scatter_nd_max, tensor_scatter_nd_min, tensor_scatter_nd_sub, parallel_stack,
    inside_function, is_symbolic_tensor, no_gradient, VariableAggregation, VariableSynchronization,
    AggregationMethod,
)
from ._tensor_array import TensorArray  # noqa: F401,E402
from .debugging import Assert, assert_equal, assert_greater, assert_less, assert_rank  # noqa: F401,E402
from .module import current_name_scope as get_current_name_scope  # noqa: F401,E402
from . import dtypes, image, initializers  # noqa: F401,E402
from . import _interop  # noqa: E402
from ._interop import from_dlpack  # noqa: F401,E402
from . import experimental  # noqa: F401,E402

# (a tensor's shape is a tuple of ints already: made without TensorShape's argument checks)
_core._set_tensor_shape_class(_functools.partial(_builtins.tuple.__new__, TensorShape))
from ._shape import _TracedShape  # noqa: E402
_core._set_traced_shape_class(_TracedShape)
del _TracedShape


def _iter_first_axis(self):
    """Iterates over the first axis lazily (one slice per step, as TensorFlow)."""
    if self.ndim == 0:
        raise TypeError("Cannot iterate over a scalar tensor.")
    # (`range` in this module is gt.range, the op: use the builtin)
    return (self[i] for i in _builtins.range(len(self)))


Tensor.__iter__ = _iter_first_axis
Variable.__iter__ = _iter_first_axis


def _format_tensor(self, format_spec):
    """format(t, spec) formats t's NumPy value, as TensorFlow's EagerTensor does: a scalar takes
    any spec its value takes (f"{loss:.4f}"), an array only the empty one (f"{t}" prints the
    values, not the tensor's repr). A Variable keeps object's rule (TensorFlow's does too)."""
    return self.numpy().__format__(format_spec)


Tensor.__format__ = _format_tensor

def _scatter_nd_method(op, what):
    def method(self, indices, updates, name=None):
        return self.assign(op(self, indices, updates))
    method.__name__ = "scatter_nd_" + what
    method.__doc__ = ("v.scatter_nd_%s(indices, updates): writes gt.tensor_scatter_nd_%s(v, indices, updates) "
                      "to the variable and returns it, as tf.Variable's (an index out of range raises "
                      "InvalidArgumentError and writes nothing)." % (what, what))
    return method


for _what, _op in (("update", tensor_scatter_nd_update), ("add", tensor_scatter_nd_add),
                   ("sub", tensor_scatter_nd_sub), ("max", tensor_scatter_nd_max),
                   ("min", tensor_scatter_nd_min)):
    setattr(Variable, "scatter_nd_" + _what, _scatter_nd_method(_op, _what))
del _what, _op

# tf.IndexedSlices and tf.Variable's scatter_update / _add / _sub / _mul / _div / _max / _min and
# batch_scatter_update, which take one (gradtape._indexed_slices).
from ._indexed_slices import IndexedSlices  # noqa: E402
from . import _indexed_slices  # noqa: E402
_indexed_slices.install()

# tf.Tensor.ref() / tf.Variable.ref(): hashable references, by identity (gradtape._interop).
Tensor.ref = _interop._ref
Variable.ref = _interop._ref

# v[1:3].assign(values): a variable's slices can be written (gradtape._slice_assign).
from . import _slice_assign  # noqa: E402
_slice_assign.install()


# pickle, copy and deepcopy: by value (the C++ objects cannot be rebuilt field by field; the
# default protocol would make an uninitialised instance, and pybind11 aborts on that path).
def _rebuild_tensor(array, dtype_enum):
    return constant(array, dtype=DType(dtype_enum))


def _rebuild_variable(array, dtype_enum, trainable, name):
    return Variable(array, trainable=trainable, name=name, dtype=DType(dtype_enum))


def _reduce_tensor(self, protocol=None):
    return _rebuild_tensor, (self.numpy(), self.dtype.as_datatype_enum)


def _reduce_variable(self, protocol=None):
    name = self.name[:-2] if self.name.endswith(":0") else self.name
    return _rebuild_variable, (self.numpy(), self.dtype.as_datatype_enum, self.trainable, name)


def _reduce_dtype(self, protocol=None):
    return DType, (self.as_datatype_enum,)


def _not_picklable(self, protocol=None):
    raise TypeError("cannot pickle or copy a %s: it holds a recording" % type(self).__name__)


for _cls, _reduce in ((Tensor, _reduce_tensor), (Variable, _reduce_variable), (DType, _reduce_dtype),
                      (_core._Tape, _not_picklable), (_core._PauseRecording, _not_picklable),
                      (_core._Recorder, _not_picklable), (_core._Program, _not_picklable),
                      (_core._VariableAccessLog, _not_picklable)):
    _cls.__reduce__ = _reduce
    _cls.__reduce_ex__ = _reduce

# the dtypes (gt.float32, ...): gradtape.dtypes holds them, as tf.dtypes does TensorFlow's
from .dtypes import (bfloat16, bool, double, float16, float32, float64, half, int8, int16, int32,  # noqa: E402,A004
                     int64, uint8, uint16, uint32, uint64)

newaxis = None

__version__ = "0.1.0"

# threadpoolctl's threadpool_info() and threadpool_limits() see the kernel pool: registered
# when threadpoolctl is imported, before or after gradtape (gradtape/_threadpoolctl.py; not
# imported here, which would cost more than half of gradtape's own import).
from . import _threadpoolctl  # noqa: E402
_threadpoolctl.install()
