"""gradtape.config: engine-wide switches.

Structural zeros (docs/structural-zeros.md) are on by default: the positions a `where`, a
slice or a gather did not select send back exact zeros, even when the unselected branch's
local derivative is inf or NaN. `set_structural_zeros(False)`, or the context manager
`plain_ieee_gradients()`, restores plain IEEE arithmetic, which is what TensorFlow, PyTorch and
JAX compute (the seed notebook's cell 48 then gives [nan] as in TensorFlow).

Elementwise fusion (docs/design.md, "Deferred elementwise ops") is on by default: big
floating-point elementwise ops are computed together, in one pass, when their result is first
read; the values are the same as without it. `set_fusion(False)` (or GRADTAPE_NO_FUSION=1 in
the environment) computes every op at once, for comparison.
"""
import contextlib

from . import _core
from ._function import functions_run_eagerly, run_functions_eagerly  # noqa: F401
from .eager import LogicalDevice, PhysicalDevice, list_logical_devices, list_physical_devices  # noqa: F401

from . import _config_experimental as experimental  # noqa: E402
from . import _config_threading as threading  # noqa: E402
from ._config_experimental import get_visible_devices, set_visible_devices  # noqa: E402,F401

# TensorFlow's deprecated spellings
experimental_functions_run_eagerly = functions_run_eagerly
experimental_run_functions_eagerly = run_functions_eagerly

__all__ = ["run_functions_eagerly", "functions_run_eagerly",
           "set_structural_zeros", "structural_zeros_enabled", "plain_ieee_gradients", "set_fusion",
           "fusion_enabled", "set_num_threads", "get_num_threads", "list_physical_devices", "list_logical_devices",
           "PhysicalDevice", "LogicalDevice", "get_visible_devices", "set_visible_devices",
           "get_soft_device_placement", "set_soft_device_placement", "experimental_functions_run_eagerly",
           "experimental_run_functions_eagerly", "experimental", "threading"]

_soft_placement = [True]


def get_soft_device_placement():
    """Whether an op may fall back to another device (True by default, as TensorFlow; gradtape
    has only the CPU, so it changes nothing).

    >>> gt.config.get_soft_device_placement()
    True
    """
    return _soft_placement[0]


def set_soft_device_placement(enabled):
    """Stores the soft-placement switch (tf.config.set_soft_device_placement).

    >>> gt.config.set_soft_device_placement(True)
    """
    _soft_placement[0] = bool(enabled)


def set_structural_zeros(enabled):
    """Turns structural zeros on (the default) or off (plain IEEE, TensorFlow parity).

    >>> gt.config.set_structural_zeros(False)
    >>> gt.config.structural_zeros_enabled()
    False
    >>> gt.config.set_structural_zeros(True)
    """
    _core._set_structural_zeros(bool(enabled))


def structural_zeros_enabled():
    """Whether structural zeros are on.

    >>> gt.config.structural_zeros_enabled()
    True
    """
    return _core._structural_zeros_enabled()


@contextlib.contextmanager
def plain_ieee_gradients():
    """Within the block, gradients follow plain IEEE arithmetic (TensorFlow parity).

    >>> x = gt.constant([0.0, 4.0])
    >>> with gt.GradientTape(persistent=True) as tape:
    ...     tape.watch(x)
    ...     y = gt.where(x > 0.0, gt.sqrt(x), 0.0)
    >>> with gt.config.plain_ieee_gradients():  # the sweep's arithmetic: sqrt'(0) = inf, 0 * inf = nan
    ...     print(tape.gradient(y, x).numpy())
    [ nan 0.25]
    >>> print(tape.gradient(y, x).numpy())  # structural zeros (the default)
    [0.   0.25]
    """
    was = structural_zeros_enabled()
    set_structural_zeros(False)
    try:
        yield
    finally:
        set_structural_zeros(was)


def set_fusion(enabled):
    """Turns elementwise fusion on (the default) or off (every op computed at once).

    >>> gt.config.set_fusion(False)
    >>> gt.config.fusion_enabled()
    False
    >>> gt.config.set_fusion(True)
    """
    _core._set_fusion(bool(enabled))


def fusion_enabled():
    """Whether elementwise fusion is on.

    >>> gt.config.fusion_enabled()
    True
    """
    return _core._fusion_enabled()


def set_num_threads(n):
    """Threads of gradtape's own kernel pool (big elementwise ops and reductions); matmuls use
    OpenBLAS's pool (OPENBLAS_NUM_THREADS). The default is GRADTAPE_NUM_THREADS, else the number
    of cores (at most 8).

    >>> n = gt.config.get_num_threads()
    >>> gt.config.set_num_threads(1)
    >>> gt.config.get_num_threads()
    1
    >>> gt.config.set_num_threads(n)
    """
    n = int(n)
    if n < 1:
        raise ValueError("set_num_threads: n must be at least 1, got %d" % n)
    _core._set_num_threads(n)


def get_num_threads():
    """The number of threads of gradtape's kernel pool.

    >>> gt.config.get_num_threads() >= 1
    True
    """
    return _core._num_threads()
