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

from . import _core

__all__ = ["executing_eagerly", "get_static_value", "device", "init_scope", "print",
           "PhysicalDevice", "LogicalDevice", "list_physical_devices", "list_logical_devices"]

_builtin_print = print


def executing_eagerly() -> bool:
    """True, except while a gt.function traces (as tf.function's trace, where TensorFlow says
    False): code that reads values with `.numpy()` only when eager then traces.

    >>> gt.executing_eagerly()
    True
    """
    return not _core._tracing()


def get_static_value(tensor, partial=False):
    """The NumPy value of a tensor or variable, a NumPy array or scalar unchanged, None for
    anything else (as TensorFlow returns None when a value is not known statically).

    >>> gt.get_static_value(gt.constant([1, 2]))
    array([1, 2], dtype=int32)
    >>> gt.get_static_value("not a tensor") is None
    True
    """
    if isinstance(tensor, (_core.Tensor, _core.Variable)):
        try:
            return np.array(tensor.numpy())
        except _core.OperatorNotAllowedInGraphError:  # a traced value: not known statically
            return None
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

_TENSOR_TYPES = (_core.Tensor, _core.Variable)


def _fragments(inputs, sep):
    """gt.print's output as a list of fragments: strings, and the tensors in their places (to be
    formatted by the core). As tf.print: a top-level string prints as it is, any other object
    by its repr(); lists, tuples and dicts (keys sorted) are walked, their non-tensor items
    shown by repr(); parts are separated by `sep`."""
    out = []

    def walk(x, top):
        if isinstance(x, _TENSOR_TYPES):
            out.append(x)
        elif top and isinstance(x, str):
            out.append(x)
        elif isinstance(x, dict):
            out.append("{")
            for i, k in enumerate(sorted(x)):
                out.append((", " if i else "") + repr(k) + ": ")
                walk(x[k], False)
            out.append("}")
        elif isinstance(x, (list, tuple)) and type(x) in (list, tuple):
            out.append("[" if type(x) is list else "(")
            for i, v in enumerate(x):
                if i:
                    out.append(", ")
                walk(v, False)
            out.append("]" if type(x) is list else ("," if len(x) == 1 else "") + ")")
        else:
            out.append(repr(x))

    for i, x in enumerate(inputs):
        if i:
            out.append(str(sep))
        walk(x, True)
    return out


def _summarize(summarize):
    return 3 if summarize is None else int(summarize)  # (TensorFlow: None means its default, 3)


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
    parts = _fragments(inputs, sep)
    summarize = _summarize(summarize)
    if _core._tracing():
        # under gt.function: a step that prints the values of each run (TensorFlow's tf.print).
        # float16/bfloat16 print as float32, as TensorFlow's do (and the step then never sees a
        # half tensor beside a float32 one, which ops refuse).
        tensors = [_core.cast(x, "float32") if x.dtype.name in ("float16", "bfloat16") else x
                   for x in parts if isinstance(x, _TENSOR_TYPES)]
        is_value = [int(isinstance(x, _TENSOR_TYPES)) for x in parts]
        texts = ["" if v else x for x, v in zip(parts, is_value)]
        stream = _stream_name(output_stream)
        if stream is not None:
            # a core step, saved with the program
            _core._print(tensors, texts, is_value, summarize, "", str(end), stream)
            return None

        # (another stream object: a Python callback with the run's values)
        def emit(*values):
            if _core._print_muted():  # (a trace whose effects gt.function undoes)
                return
            it = iter(values)
            _write("".join(_core._format_for_print(next(it), summarize) if v else t
                           for t, v in zip(texts, is_value)) + end, output_stream)
        _core._callback(emit, tensors)
        return None
    _write("".join(_core._format_for_print(x, summarize) if isinstance(x, _TENSOR_TYPES) else x
                   for x in parts) + end, output_stream)
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


