"""Eager-mode utilities: executing_eagerly, get_static_value, device, init_scope, print, and
the device lists of gt.config.

Devices. gradtape computes on the CPU only. `gt.device(name)` accepts TensorFlow's device
strings; a CPU string runs as usual, and a GPU or TPU string runs on the CPU too, as TensorFlow's
soft placement does when the device is absent (TensorFlow 2.21 itself does this on a machine
without a GPU). A string that is not a device specification is a ValueError, as in TensorFlow.
"""
from __future__ import annotations

import contextlib
import re
import sys
import threading
from typing import Iterator, List

import numpy as np

from . import _core, nest

__all__ = ["executing_eagerly", "get_static_value", "device", "init_scope", "print",
           "PhysicalDevice", "LogicalDevice", "list_physical_devices", "list_logical_devices"]

_builtin_print = print


def executing_eagerly() -> bool:
    """Always True: gradtape has no graph mode.

    >>> gt.executing_eagerly()
    True
    """
    return True


def get_static_value(tensor, partial=False):
    """The NumPy value of a tensor or variable, a NumPy array or scalar unchanged, None for
    anything else (as TensorFlow returns None when a value is not known statically).

    >>> gt.get_static_value(gt.constant([1, 2]))
    array([1, 2], dtype=int32)
    >>> gt.get_static_value("not a tensor") is None
    True
    """
    if isinstance(tensor, (_core.Tensor, _core.Variable)):
        return np.array(tensor.numpy())
    if isinstance(tensor, (np.ndarray, np.generic, int, float, bool, complex)):
        return tensor
    return None


# --- devices ----------------------------------------------------------------------------

_DEVICE_FIELD = re.compile(r"^(job:[^/]+|replica:\d+|task:\d+|device:[A-Za-z_]+:(\d+|\*)|"
                           r"[A-Za-z_]+:(\d+|\*)|cpu:\d+|gpu:\d+)$", re.IGNORECASE)
_state = threading.local()


def _check_device_name(name):
    if name is None or name == "":
        return
    if not isinstance(name, str):
        if callable(name):
            raise RuntimeError("gt.device does not support functions.")
        raise TypeError("device name must be a string, got %s" % type(name).__name__)
    for part in name.strip("/").split("/"):
        if part and not _DEVICE_FIELD.match(part):
            raise ValueError("Unknown attribute '%s' is encountered while parsing the device spec: "
                             "'%s'." % (part, name))


@contextlib.contextmanager
def device(device_name) -> Iterator[None]:
    """Places the ops of the block on a device: every device runs on the CPU (see above).

    >>> with gt.device("/GPU:0"):  # no GPU here: the ops run on the CPU (soft placement)
    ...     y = gt.constant([1.0, 2.0]) * 2.0
    >>> y.device
    '/job:localhost/replica:0/task:0/device:CPU:0'
    >>> try:  # (in this module `print` is gt.print, which writes to stderr)
    ...     with gt.device("not a device"):
    ...         pass
    ... except ValueError as e:
    ...     error = e
    >>> type(error).__name__
    'ValueError'
    """
    _check_device_name(device_name)
    stack = getattr(_state, "devices", None)
    if stack is None:
        stack = _state.devices = []
    stack.append(device_name)
    try:
        yield
    finally:
        stack.pop()


@contextlib.contextmanager
def init_scope() -> Iterator[None]:
    """A no-op in eager mode (TensorFlow uses it to lift code out of function graphs).

    >>> with gt.init_scope():
    ...     v = gt.Variable(1.0)
    >>> float(v)
    1.0
    """
    yield


class PhysicalDevice:
    """A physical device of this machine (tf.config.PhysicalDevice): a name and a device type.

    >>> cpu = gt.config.list_physical_devices()[0]
    >>> cpu.name, cpu.device_type
    ('/physical_device:CPU:0', 'CPU')
    """
    __slots__ = ("name", "device_type")

    def __init__(self, name, device_type):
        self.name = name
        self.device_type = device_type

    def __eq__(self, other):
        return (type(other) is type(self) and self.name == other.name and
                self.device_type == other.device_type)

    def __hash__(self):
        return hash((self.name, self.device_type))

    def __repr__(self):
        return "%s(name=%r, device_type=%r)" % (type(self).__name__, self.name, self.device_type)


class LogicalDevice(PhysicalDevice):
    """A device ops are placed on (tf.config.LogicalDevice): a name and a device type.

    >>> gt.config.list_logical_devices()[0]
    LogicalDevice(name='/device:CPU:0', device_type='CPU')
    """
    __slots__ = ()


def list_physical_devices(device_type=None) -> List[PhysicalDevice]:
    """[PhysicalDevice('/physical_device:CPU:0', 'CPU')], or [] for another device type.

    >>> gt.config.list_physical_devices()
    [PhysicalDevice(name='/physical_device:CPU:0', device_type='CPU')]
    >>> gt.config.list_physical_devices("GPU")
    []
    """
    if device_type is not None and str(device_type).upper() != "CPU":
        return []
    return [PhysicalDevice("/physical_device:CPU:0", "CPU")]


def list_logical_devices(device_type=None) -> List[LogicalDevice]:
    """[LogicalDevice('/device:CPU:0', 'CPU')], or [] for another device type.

    >>> gt.config.list_logical_devices("CPU")
    [LogicalDevice(name='/device:CPU:0', device_type='CPU')]
    """
    if device_type is not None and str(device_type).upper() != "CPU":
        return []
    return [LogicalDevice("/device:CPU:0", "CPU")]


# --- print ------------------------------------------------------------------------------

def _format_value(x, summarize):
    if isinstance(x, (_core.Tensor, _core.Variable)):
        return _core._format_for_print(x, -1 if summarize is None else int(summarize))
    if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
        return _core._format_for_print(_core.convert_to_tensor(x), -1 if summarize is None else int(summarize))
    if isinstance(x, dict):
        return "{" + ", ".join("%r: %s" % (k, _format_value(x[k], summarize)) for k in sorted(x)) + "}"
    if isinstance(x, list):
        return "[" + ", ".join(_format_value(v, summarize) for v in x) + "]"
    if isinstance(x, tuple):
        return "(" + ", ".join(_format_value(v, summarize) for v in x) + ")"
    return str(x)


def _stream_name(output_stream):
    """The print step's name for a stream it can write at each call, or None (another object:
    a Python callback writes to it)."""
    if output_stream is None or output_stream is sys.stderr:
        return "stderr"
    if output_stream is sys.stdout:
        return "stdout"
    if isinstance(output_stream, str):
        if output_stream.startswith("file://"):
            return output_stream
        raise ValueError("Unsupported output stream: %r" % (output_stream,))
    return None


def _holds_tensor(x):
    return any(isinstance(v, (_core.Tensor, _core.Variable)) for v in nest.flatten(x)) if \
        isinstance(x, (list, tuple, dict)) else False


def print(*inputs, output_stream=None, summarize=3, sep=" ", end="\n", name=None) -> None:  # noqa: A001
    """Prints tensors (as TensorFlow prints them: values only, `summarize` elements at each end
    of each dimension) and other objects, separated by `sep` and followed by `end`.

    `output_stream` is sys.stderr (the default, as TensorFlow), sys.stdout, an open file, or a
    string "file://<path>" to append to that file.

    >>> import sys
    >>> gt.print("x =", gt.constant([[1, 2], [3, 4]]), output_stream=sys.stdout)
    x = [[1 2]
     [3 4]]
    >>> gt.print(gt.range(10), output_stream=sys.stdout)
    [0 1 2 ... 7 8 9]
    """
    if _core._tracing():
        # under gt.function: a step that prints the values of each run (TensorFlow's tf.print)
        tensors = [x for x in inputs if isinstance(x, (_core.Tensor, _core.Variable))]
        stream = _stream_name(output_stream)
        if stream is not None and not any(_holds_tensor(x) for x in inputs):
            # a core step (saved with the program); the other parts are fixed text
            is_value = [isinstance(x, (_core.Tensor, _core.Variable)) for x in inputs]
            texts = ["" if v else _format_value(x, summarize) for x, v in zip(inputs, is_value)]
            _core._print(tensors, texts, [int(v) for v in is_value], -1 if summarize is None else int(summarize),
                         str(sep), str(end), stream)
            return None
        # (another stream object, or tensors inside a list or dict: a Python callback)

        def emit(*values):
            it = iter(values)
            parts = [next(it) if isinstance(x, (_core.Tensor, _core.Variable)) else x for x in inputs]
            _write(sep.join(_format_value(x, summarize) for x in parts) + end, output_stream)
        _core._callback(emit, tensors)
        return None
    _write(sep.join(_format_value(x, summarize) for x in inputs) + end, output_stream)
    return None


def _write(text, output_stream):
    stream = sys.stderr if output_stream is None else output_stream
    if isinstance(stream, str):
        if stream.startswith("file://"):
            with open(stream[len("file://"):], "a") as f:
                f.write(text)
            return None
        raise ValueError("Unsupported output stream: %r" % (stream,))
    stream.write(text)
    if hasattr(stream, "flush"):
        stream.flush()
    return None


