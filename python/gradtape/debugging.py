"""gt.debugging: assertions on tensor values and NaN/inf checks, as tf.debugging.

Every failed check raises gt.errors.InvalidArgumentError (TensorFlow's error in eager mode);
passing checks return None (check_numerics returns its input). Checks of shapes, ranks and dtypes
raise ValueError or TypeError, as TensorFlow's.

Inside gt.function, a check on a traced tensor (computed from the function's inputs or variables)
becomes a step of the program (a host callback given the tensors' values), so it checks the
values of every call and raises InvalidArgumentError, with tf.function's message ("assertion
failed: [...]"), from the call whose values fail it, as tf.function does; checks of shapes, ranks
and dtypes, which TensorFlow resolves when it traces, raise when gt.function traces. A program
with such a step cannot be saved (gt.saved_model.save raises ValueError): the step is Python code.

`enable_check_numerics()` makes every op called through the gradtape namespaces (gt.*,
gt.math.*, gt.nn.*) and every Tensor/Variable operator check its floating-point outputs, and
`GradientTape.gradient` its results; the first NaN or infinity raises an InvalidArgumentError
naming the op. It works by wrapping those functions in Python, so it slows every op down; ops
inside the engine's own backward sweep are checked through the gradients they produce. Inside
gt.function each checked op's traced output gets a host-callback step that checks it at every call
(as tf.function's instrumented graph; such a function cannot be saved).
`disable_check_numerics()` restores the plain functions.
"""
from __future__ import annotations

import functools
from typing import Union

import numpy as np

from . import _core

__all__ = ["assert_equal", "assert_none_equal", "assert_near", "assert_less", "assert_less_equal",
           "assert_greater", "assert_greater_equal", "assert_positive", "assert_negative",
           "assert_non_negative", "assert_non_positive", "assert_rank", "assert_shapes",
           "check_numerics", "enable_check_numerics", "disable_check_numerics", "Assert",
           "assert_rank_at_least", "assert_rank_in", "assert_scalar", "assert_integer", "assert_type",
           "assert_all_finite", "is_numeric_tensor", "assert_same_float_dtype", "assert_proper_iterable"]


def _np(x):
    if isinstance(x, (_core.Tensor, _core.Variable)):
        return np.asarray(x.numpy())
    return np.asarray(x)


def _fail(message, default, summarize, *arrays):
    parts = [message] if message else []
    parts.append(default)
    for name, a in arrays:
        flat = a.reshape(-1)
        n = flat.size if summarize is None or summarize < 0 else min(flat.size, summarize or 3)
        parts.append("%s = %s%s" % (name, flat[:n].tolist(), " ..." if n < flat.size else ""))
    raise _core.InvalidArgumentError("\n".join(parts))


def _is_tensor(x):
    return isinstance(x, (_core.Tensor, _core.Variable))


def _holds_tensor(x):
    if isinstance(x, (list, tuple)):
        return any(_holds_tensor(e) for e in x)
    return _is_tensor(x)


def _traced_tensors(args):
    """While gt.function traces: the positions of the tensor arguments, when one of them is traced
    (computed from the function's inputs or variables); otherwise None (the check runs now).
    A list holding tensors must have been packed (_packed) before."""
    if not _core._tracing():
        return None
    positions = [i for i, a in enumerate(args) if _is_tensor(a)]
    if any(_core._traced(args[i]) for i in positions):
        return positions
    return None


def _at_each_call(check, args, positions):
    """Records check(*args) as a step of the program being traced: a host callback given the
    values of args[positions] at each call (and at the trace, which runs with the first call's
    values)."""
    def step(*values):
        full = list(args)
        for i, v in zip(positions, values):
            full[i] = v
        check(*full)
    _core._callback(step, [args[i] for i in positions])


def _static_shape(x):
    return tuple(x.shape) if _is_tensor(x) else np.shape(x)


def _summary(a, summarize):
    """Values as tf.function's Assert prints them: the first `summarize` (3) elements, flattened."""
    flat = a.reshape(-1)
    n = flat.size if summarize is not None and summarize < 0 else min(flat.size, 3 if summarize is None else summarize)
    if a.dtype.kind == "f" or a.dtype.kind == "V":
        items = []
        for v in flat[:n].astype(np.float64) if a.dtype.kind == "V" else flat[:n]:
            t = str(v)
            items.append(t[:-2] if t.endswith(".0") else t)
    elif a.dtype.kind == "b":
        items = ["1" if v else "0" for v in flat[:n]]
    else:
        items = [str(v) for v in flat[:n].tolist()]
    text = " ".join(items)
    return "[%s%s]" % (text, "..." if n < flat.size else "")


def _graph_fail(message, show_empty, condition, summarize, *arrays):
    """tf.function's message for a failed assertion: assertion failed: [message] [condition] [x = ] [values]..."""
    parts = ["[%s]" % (message or "")] if message or show_empty else []
    parts.append("[%s]" % condition)
    for name, a in arrays:
        parts.append("[%s = ]" % name)
        parts.append(_summary(a, summarize))
    raise _core.InvalidArgumentError("assertion failed: " + " ".join(parts))


def _check_broadcastable(x, y, what):
    """While tracing: incompatible static shapes are TensorFlow's ValueError at the trace."""
    sx, sy = _static_shape(x), _static_shape(y)
    try:
        np.broadcast_shapes(sx, sy)
    except ValueError:
        dims = [(a, b) for a, b in zip(reversed(sx), reversed(sy)) if a != b and a != 1 and b != 1]
        raise ValueError("Dimensions must be equal, but are %d and %d for '%s' with input shapes: %s, %s."
                         % (dims[0][0], dims[0][1], what, list(sx), list(sy)))


def _packed(x):
    """While tracing, a list holding tensors as one tensor (packed, as every op converts it)."""
    return _core.convert_to_tensor(x) if _core._tracing() and isinstance(x, (list, tuple)) and _holds_tensor(x) else x


def _compare(x, y, op, what, message, summarize, unary=None):
    """x `what` y element-wise (unary: the condition and name of a check against 0, which has one operand)."""
    x, y = _packed(x), _packed(y)
    positions = _traced_tensors((x, y))
    if positions is not None:
        _check_broadcastable(x, y, "assert")
        if unary is None:
            def check(a, b):
                a, b = _np(a), _np(b)
                if not np.all(op(a, b)):
                    _graph_fail(message, False, "Condition x %s y did not hold element-wise:" % what, summarize,
                                ("x", a), ("y", b))
        else:
            condition, operand = unary

            def check(a, b):
                a, b = _np(a), _np(b)
                if not np.all(op(a, b)):
                    _graph_fail(message, True, condition, summarize, ("x", a if operand == 0 else b))
        _at_each_call(check, (x, y), positions)
        return
    a, b = _np(x), _np(y)
    try:
        ok = op(a, b)
    except ValueError:
        raise _core.InvalidArgumentError("%s: shapes %s and %s are incompatible"
                                         % (what, list(a.shape), list(b.shape)))
    if not np.all(ok):
        _fail(message, "Condition x %s y did not hold element-wise:" % what, summarize,
              ("x", a), ("y", b))


def assert_equal(x, y, message=None, summarize=None, name=None) -> None:
    """x == y element-wise (broadcasting), else InvalidArgumentError (tf.debugging.assert_equal).

    >>> gt.debugging.assert_equal(gt.constant([1, 2]), [1, 2])  # passes: returns None
    >>> try:
    ...     gt.debugging.assert_equal(gt.constant([1, 3]), [1, 2])
    ... except gt.errors.InvalidArgumentError:
    ...     print("failed")
    failed
    """
    _compare(x, y, np.equal, "==", message, summarize)


def assert_none_equal(x, y, message=None, summarize=None, name=None) -> None:
    """x != y element-wise, else InvalidArgumentError.

    >>> gt.debugging.assert_none_equal(gt.constant([1, 2]), [3, 4])  # passes: returns None
    >>> try:
    ...     gt.debugging.assert_none_equal(gt.constant([1, 2]), [1, 5])
    ... except gt.errors.InvalidArgumentError:
    ...     print("failed")
    failed
    """
    _compare(x, y, np.not_equal, "!=", message, summarize)


def assert_less(x, y, message=None, summarize=None, name=None) -> None:
    """x < y element-wise, else InvalidArgumentError.

    >>> gt.debugging.assert_less(gt.constant([1, 2]), 3)  # passes: returns None
    >>> try:
    ...     gt.debugging.assert_less(gt.constant([1, 2]), 2)
    ... except gt.errors.InvalidArgumentError:
    ...     print("failed")
    failed
    """
    _compare(x, y, np.less, "<", message, summarize)


def assert_less_equal(x, y, message=None, summarize=None, name=None) -> None:
    """x <= y element-wise, else InvalidArgumentError.

    >>> gt.debugging.assert_less_equal(gt.constant([1, 2]), 2)  # passes: returns None
    >>> try:
    ...     gt.debugging.assert_less_equal(gt.constant([1, 3]), 2)
    ... except gt.errors.InvalidArgumentError:
    ...     print("failed")
    failed
    """
    _compare(x, y, np.less_equal, "<=", message, summarize)


def assert_greater(x, y, message=None, summarize=None, name=None) -> None:
    """x > y element-wise, else InvalidArgumentError.

    >>> gt.debugging.assert_greater(gt.constant([3, 4]), 2)  # passes: returns None
    >>> try:
    ...     gt.debugging.assert_greater(gt.constant([2, 4]), 2)
    ... except gt.errors.InvalidArgumentError:
    ...     print("failed")
    failed
    """
    _compare(x, y, np.greater, ">", message, summarize)


def assert_greater_equal(x, y, message=None, summarize=None, name=None) -> None:
    """x >= y element-wise, else InvalidArgumentError.

    >>> gt.debugging.assert_greater_equal(gt.constant([2, 4]), 2)  # passes: returns None
    >>> try:
    ...     gt.debugging.assert_greater_equal(gt.constant([1, 4]), 2)
    ... except gt.errors.InvalidArgumentError:
    ...     print("failed")
    failed
    """
    _compare(x, y, np.greater_equal, ">=", message, summarize)


def assert_positive(x, message=None, summarize=None, name=None) -> None:
    """x > 0 element-wise, else InvalidArgumentError.

    >>> gt.debugging.assert_positive(gt.constant([1.0, 2.0]))  # passes: returns None
    >>> try:
    ...     gt.debugging.assert_positive(gt.constant([1.0, 0.0]))
    ... except gt.errors.InvalidArgumentError:
    ...     print("failed")
    failed
    """
    _compare(0, x, np.less, "0 <", message, summarize, ("Condition x > 0 did not hold element-wise:", 1))


def assert_negative(x, message=None, summarize=None, name=None) -> None:
    """x < 0 element-wise, else InvalidArgumentError.

    >>> gt.debugging.assert_negative(gt.constant([-1.0, -2.0]))  # passes: returns None
    >>> try:
    ...     gt.debugging.assert_negative(gt.constant([-1.0, 0.0]))
    ... except gt.errors.InvalidArgumentError:
    ...     print("failed")
    failed
    """
    _compare(x, 0, np.less, "< 0", message, summarize, ("Condition x < 0 did not hold element-wise:", 0))


def assert_non_negative(x, message=None, summarize=None, name=None) -> None:
    """x >= 0 element-wise, else InvalidArgumentError.

    >>> gt.debugging.assert_non_negative(gt.constant([0.0, 2.0]))  # passes: returns None
    >>> try:
    ...     gt.debugging.assert_non_negative(gt.constant([0.0, -2.0]))
    ... except gt.errors.InvalidArgumentError:
    ...     print("failed")
    failed
    """
    _compare(0, x, np.less_equal, "0 <=", message, summarize, ("Condition x >= 0 did not hold element-wise:", 1))


def assert_non_positive(x, message=None, summarize=None, name=None) -> None:
    """x <= 0 element-wise, else InvalidArgumentError.

    >>> gt.debugging.assert_non_positive(gt.constant([0.0, -2.0]))  # passes: returns None
    >>> try:
    ...     gt.debugging.assert_non_positive(gt.constant([0.0, 2.0]))
    ... except gt.errors.InvalidArgumentError:
    ...     print("failed")
    failed
    """
    _compare(x, 0, np.less_equal, "<= 0", message, summarize, ("Condition x <= 0 did not hold element-wise:", 0))


def _default_tolerance(a, b):
    dt = np.result_type(a, b)
    eps = np.finfo(dt).eps if dt.kind == "f" else np.finfo(np.float32).eps
    return 10 * eps


def assert_near(x, y, rtol=None, atol=None, message=None, summarize=None, name=None) -> None:
    """|x - y| <= atol + rtol * |y| element-wise (both default to 10 eps of the dtype).

    >>> gt.debugging.assert_near(gt.constant([1.0, 2.0]), gt.constant([1.0, 2.0 + 1e-7]))
    >>> try:
    ...     gt.debugging.assert_near(gt.constant([1.0]), gt.constant([1.1]), atol=0.01, rtol=0.0)
    ... except gt.errors.InvalidArgumentError:
    ...     print("not near")
    not near
    """
    x, y = _packed(x), _packed(y)
    if _is_tensor(x) and _is_tensor(y) and x.dtype != y.dtype:
        raise TypeError("assert_near: x and y must have the same dtype, got %s and %s" % (x.dtype.name, y.dtype.name))
    positions = _traced_tensors((x, y))
    if positions is not None:
        _check_broadcastable(x, y, "assert_near")
        _at_each_call(lambda a, b: _near(a, b, rtol, atol, message, summarize, True), (x, y), positions)
        return
    _near(x, y, rtol, atol, message, summarize, False)


def _near(x, y, rtol, atol, message, summarize, traced):
    a, b = _np(x), _np(y)
    tol = _default_tolerance(a, b)
    rtol = tol if rtol is None else float(_np(rtol))
    atol = tol if atol is None else float(_np(atol))
    try:
        ok = np.abs(a - b) <= atol + rtol * np.abs(b)
    except ValueError:
        raise _core.InvalidArgumentError("assert_near: shapes %s and %s are incompatible"
                                         % (list(a.shape), list(b.shape)))
    if not np.all(ok):
        condition = "x and y not equal to tolerance rtol = %g, atol = %g" % (rtol, atol)
        if traced:
            _graph_fail(message, True, condition, summarize, ("x", a), ("y", b))
        _fail(message, condition, summarize, ("x", a), ("y", b))


def assert_rank(x, rank, message=None, name=None) -> None:
    """x has rank `rank`, else ValueError (tf.debugging.assert_rank; the rank is static, so inside
    gt.function the check is done when it traces, as TensorFlow's).

    >>> gt.debugging.assert_rank(gt.zeros([2, 3]), 2)
    >>> try:
    ...     gt.debugging.assert_rank(gt.zeros([2, 3]), 1)
    ... except ValueError as e:
    ...     print(e)
    Tensor must have rank 1.  Received rank 2, shape (2, 3)
    """
    shape = _static_shape(x)
    if len(shape) != int(_np(rank)):
        raise ValueError("%sTensor must have rank %d.  Received rank %d, shape %s"
                         % (_prefix(message), int(_np(rank)), len(shape), shape))


def assert_shapes(shapes, data=None, summarize=None, message=None, name=None) -> None:
    """Each (tensor, [dims]) pair's shape matches; a str dim must be the same wherever it appears.

    >>> x, y = gt.zeros([4, 3]), gt.zeros([4])
    >>> gt.debugging.assert_shapes([(x, ("N", 3)), (y, ("N",))])
    >>> try:
    ...     gt.debugging.assert_shapes([(x, ("N", 3)), (gt.zeros([5]), ("N",))])
    ... except ValueError:
    ...     print("N differs")
    N differs
    """
    sizes = {}
    for x, dims in (shapes.items() if isinstance(shapes, dict) else shapes):
        shape = _static_shape(x)
        dims = list(dims)
        if len(shape) != len(dims):
            raise ValueError("%sexpected rank %d, got shape %s" % ((message + " ") if message else "",
                                                                   len(dims), list(shape)))
        for d, s in zip(dims, shape):
            if isinstance(d, str):
                if sizes.setdefault(d, s) != s:
                    raise ValueError("%sdimension %r is %d here and %d elsewhere"
                                     % ((message + " ") if message else "", d, s, sizes[d]))
            elif d is not None and int(d) != s:
                raise ValueError("%sexpected shape %s, got %s" % ((message + " ") if message else "",
                                                                  dims, list(shape)))


def Assert(condition, data, summarize=None, name=None) -> None:  # noqa: N802 (TensorFlow's name)
    """Raises InvalidArgumentError, showing `data`, when `condition` is not all true (tf.debugging.Assert).

    >>> x = gt.constant([1.0, -1.0])
    >>> gt.debugging.Assert(gt.reduce_all(x > -2.0), [x])
    >>> try:
    ...     gt.debugging.Assert(gt.reduce_all(x > 0.0), ["x must be positive", x])
    ... except gt.errors.InvalidArgumentError as e:
    ...     print(e)
    assertion failed: ['x must be positive', '[1.0, -1.0]']
    """
    data = list(data)
    args = [_packed(condition)] + data
    positions = _traced_tensors(args)
    if positions is not None:
        def check(cond, *values):
            if not bool(np.all(_np(cond))):
                raise _core.InvalidArgumentError("assertion failed: " + " ".join(
                    _summary(_np(d), summarize) if _is_tensor(d) else "[%s]" % d for d in values))
        _at_each_call(check, args, positions)
        return
    if not bool(np.all(_np(condition))):
        raise _core.InvalidArgumentError("assertion failed: %s" % [str(_np(d).tolist()) if _is_tensor(d)
                                                                    else str(d) for d in data])


def _dtype_of(x):
    return x.dtype if isinstance(x, (_core.Tensor, _core.Variable)) else _core.convert_to_tensor(x).dtype


def _prefix(message):
    return (message + "  ") if message else ""


def assert_rank_at_least(x, rank, message=None, name=None) -> None:
    """x has rank `rank` or more, else ValueError (tf.debugging.assert_rank_at_least).

    >>> gt.debugging.assert_rank_at_least(gt.zeros([2, 3]), 1)
    >>> try:
    ...     gt.debugging.assert_rank_at_least(gt.zeros([2]), 2)
    ... except ValueError as e:
    ...     print(e)
    Tensor must have rank at least 2.  Received rank 1, shape (2,)
    """
    shape = _static_shape(x)
    if len(shape) < int(_np(rank)):
        raise ValueError("%sTensor must have rank at least %d.  Received rank %d, shape %s"
                         % (_prefix(message), int(_np(rank)), len(shape), shape))


def assert_rank_in(x, ranks, message=None, name=None) -> None:
    """x's rank is one of `ranks`, else ValueError (tf.debugging.assert_rank_in).

    >>> gt.debugging.assert_rank_in(gt.zeros([2]), [0, 1])
    >>> try:
    ...     gt.debugging.assert_rank_in(gt.zeros([2]), [0, 2])
    ... except ValueError as e:
    ...     print(e)
    Tensor must have rank in (0, 2).  Received rank 1, shape (2,)
    """
    shape = _static_shape(x)
    allowed = tuple(int(_np(r)) for r in ranks)
    if len(shape) not in allowed:
        raise ValueError("%sTensor must have rank in %s.  Received rank %d, shape %s"
                         % (_prefix(message), allowed, len(shape), shape))


def assert_scalar(tensor, message=None, name=None) -> None:
    """tensor is a scalar (rank 0), else ValueError (tf.debugging.assert_scalar).

    >>> gt.debugging.assert_scalar(gt.constant(1.0))
    >>> try:
    ...     gt.debugging.assert_scalar(gt.ones([2]))
    ... except ValueError as e:
    ...     print(e)
    Expected scalar shape, saw shape: (2,).
    """
    shape = _static_shape(tensor)
    if shape != ():
        raise ValueError("%sExpected scalar shape, saw shape: %s." % (_prefix(message), shape))


def assert_integer(x, message=None, name=None) -> None:
    """x has an integer dtype, else TypeError (tf.debugging.assert_integer).

    >>> gt.debugging.assert_integer(gt.constant([1, 2]))
    >>> try:
    ...     gt.debugging.assert_integer(gt.constant(1.0))
    ... except TypeError:
    ...     print("not integer")
    not integer
    """
    dtype = _dtype_of(x)
    if not dtype.is_integer:
        raise TypeError('%sExpected "x" to be integer type.  Found: tensor of dtype %s' % (_prefix(message), dtype))


def assert_type(tensor, tf_type, message=None, name=None) -> None:
    """tensor has dtype tf_type, else TypeError (tf.debugging.assert_type).

    >>> gt.debugging.assert_type(gt.constant(1.0), gt.float32)
    >>> try:
    ...     gt.debugging.assert_type(gt.constant(1.0), gt.int32)
    ... except TypeError as e:
    ...     print(e)
    tensor must be of type gt.int32; got gt.float32
    """
    dtype, want = _dtype_of(tensor), _core.as_dtype(tf_type)
    if dtype != want:
        raise TypeError("%stensor must be of type gt.%s; got gt.%s" % (_prefix(message), want.name, dtype.name))


def assert_all_finite(t, msg, name=None, x=None, message=None):
    """Returns t; InvalidArgumentError when it holds a NaN or an infinity
    (tf.debugging.assert_all_finite, check_numerics under another name).

    >>> try:
    ...     gt.debugging.assert_all_finite(gt.constant([float("nan")]), "bad")
    ... except gt.errors.InvalidArgumentError as e:
    ...     print(e)
    bad : Tensor had NaN values
    """
    return check_numerics(t if x is None else x, msg if message is None else message)


def is_numeric_tensor(tensor) -> bool:
    """Whether tensor is a Tensor or Variable of a numeric dtype (tf.debugging.is_numeric_tensor).

    >>> gt.debugging.is_numeric_tensor(gt.constant(1.0)), gt.debugging.is_numeric_tensor(gt.constant(True))
    (True, False)
    """
    return isinstance(tensor, (_core.Tensor, _core.Variable)) and tensor.dtype.name != "bool"


def assert_same_float_dtype(tensors=None, dtype=None):
    """The one float dtype of `tensors` (and `dtype`), float32 when there is none; ValueError when
    they differ or one is not a float (tf.debugging.assert_same_float_dtype).

    >>> gt.debugging.assert_same_float_dtype([gt.constant(1.0), gt.constant(2.0)])
    gt.float32
    """
    found = None if dtype is None else _core.as_dtype(dtype)
    for t in tensors or ():
        d = _dtype_of(t)
        if found is None:
            found = d
        elif d != found:
            raise ValueError("%s, type=%s, must be of the same type (%s) as the others" % (t, d, found))
    if found is None:
        return _core.float32
    if not found.is_floating:
        raise ValueError("Expected floating point type, got %s." % found)
    return found


def assert_proper_iterable(values) -> None:
    """values is an iterable that is not a str, bytes, NumPy array or tensor, else TypeError
    (tf.debugging.assert_proper_iterable: those iterate over characters or elements).

    >>> gt.debugging.assert_proper_iterable([1, 2])
    >>> try:
    ...     gt.debugging.assert_proper_iterable("ab")
    ... except TypeError:
    ...     print("not proper")
    not proper
    """
    if isinstance(values, (str, bytes, np.ndarray, _core.Tensor, _core.Variable)) or not hasattr(values, "__iter__"):
        raise TypeError('Expected argument "values" to be a "proper" iterable.  Found: %s' % type(values))


def _bad_kind(a):
    if a.dtype.kind == "V":  # (bfloat16: ml_dtypes' NumPy dtype)
        a = a.astype(np.float32)
    if a.dtype.kind != "f":
        return None
    if np.isnan(a).any():
        return "NaN"
    if np.isinf(a).any():
        return "Inf"
    return None


def _check_values(tensor, message):
    bad = _bad_kind(_np(tensor))
    if bad is not None:
        raise _core.InvalidArgumentError("%s : Tensor had %s values" % (message, bad))


def check_numerics(tensor, message, name=None) -> Union[_core.Tensor, _core.Variable]:
    """Returns `tensor`; raises InvalidArgumentError when it holds a NaN or an infinity, or is not
    of a floating-point dtype (inside gt.function that is TensorFlow's TypeError, at the trace;
    the values are checked at every call).

    >>> x = gt.constant([1.0, 2.0])
    >>> gt.debugging.check_numerics(x, "x") is x
    True
    >>> try:
    ...     gt.debugging.check_numerics(gt.math.log(gt.constant([0.0])), "log")
    ... except gt.errors.InvalidArgumentError as e:
    ...     print(e)
    log : Tensor had Inf values
    """
    t = tensor if _is_tensor(tensor) else _core.convert_to_tensor(tensor)
    if not t.dtype.is_floating:
        if _core._tracing():
            raise TypeError("Value passed to parameter 'tensor' has DataType %s not in list of allowed values: "
                            "bfloat16, float16, float32, float64" % t.dtype.name)
        raise _core.InvalidArgumentError("check_numerics: the tensor's dtype is %s, not one of bfloat16, float16, "
                                         "float32, float64" % t.dtype.name)
    positions = _traced_tensors((t,))
    if positions is not None:
        _at_each_call(lambda v: _check_values(v, message), (t,), positions)
        return tensor if _is_tensor(tensor) else t
    _check_values(t, message)
    return tensor if _is_tensor(tensor) else t


# --- enable_check_numerics -----------------------------------------------------------------

_patched = []  # (owner, attribute, original)
_OPERATORS = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
              "__rtruediv__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__neg__",
              "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__")


def _check_output(op_name, leaf):
    bad = _bad_kind(np.asarray(leaf.numpy()))
    if bad is not None:
        raise _core.InvalidArgumentError(
            "\n!!! Detected Infinity or NaN in output of op %r: the output has %s values "
            "(gt.debugging.enable_check_numerics)" % (op_name, bad))


def _check_outputs(op_name, out):
    from . import nest
    for leaf in nest.flatten(out):
        if isinstance(leaf, (_core.Tensor, _core.Variable)) and leaf.dtype.is_floating:
            # (inside gt.function a traced output is checked at every call, a host-callback step)
            positions = _traced_tensors((leaf,))
            if positions is not None:
                _at_each_call(lambda v, op_name=op_name: _check_output(op_name, v), (leaf,), positions)
            else:
                _check_output(op_name, leaf)
    return out


def _wrap(fn, op_name):
    @functools.wraps(fn)
    def checked(*args, **kwargs):
        return _check_outputs(op_name, fn(*args, **kwargs))
    checked._gt_unchecked = fn
    return checked


def enable_check_numerics(stack_height_limit=30, path_length_limit=50) -> None:
    """From now on, an op whose floating-point output holds a NaN or inf raises (see above).

    >>> gt.debugging.enable_check_numerics()
    >>> try:
    ...     gt.sqrt(gt.constant([-1.0]))
    ... except gt.errors.InvalidArgumentError:
    ...     print("NaN caught")
    NaN caught
    >>> gt.debugging.disable_check_numerics()
    >>> gt.sqrt(gt.constant([-1.0]))
    <gt.Tensor: shape=(1,), dtype=float32, numpy=array([nan], dtype=float32)>
    """
    if _patched:
        return
    import gradtape
    from . import math as gmath, nn as gnn, tape as gtape
    for ns in (gradtape, gmath, gnn):
        for attr in dir(ns):
            fn = getattr(ns, attr)
            if attr.startswith("_") or not callable(fn) or isinstance(fn, type):
                continue
            if getattr(fn, "__module__", None) not in ("gradtape._core", None) and \
                    type(fn).__name__ != "builtin_function_or_method":
                continue
            _patched.append((ns, attr, fn))
            setattr(ns, attr, _wrap(fn, attr))
    for cls in (_core.Tensor, _core.Variable):
        for attr in _OPERATORS:
            fn = cls.__dict__.get(attr)
            if fn is not None:
                _patched.append((cls, attr, fn))
                setattr(cls, attr, _wrap(fn, attr))
    fn = gtape.GradientTape.gradient
    _patched.append((gtape.GradientTape, "gradient", fn))
    gtape.GradientTape.gradient = _wrap(fn, "GradientTape.gradient")


def disable_check_numerics() -> None:
    """Undoes enable_check_numerics (the plain, unchecked functions are restored).

    >>> gt.debugging.enable_check_numerics()
    >>> gt.debugging.disable_check_numerics()
    >>> gt.math.log(0.0)
    <gt.Tensor: shape=(), dtype=float32, numpy=-inf>
    """
    while _patched:
        owner, attr, fn = _patched.pop()
        setattr(owner, attr, fn)
