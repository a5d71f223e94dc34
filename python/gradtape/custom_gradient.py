"""@gradtape.custom_gradient: a function with its own gradient rule.

The decorated function runs with the tapes paused (forward accumulators still watch it, as
in TensorFlow); its result is then recorded as one op
whose rule calls the user's `grad_fn` (through a single C++ hook). Variables read inside the
function are recorded as extra inputs, and `grad_fn` gets them as `variables=`, as in TF.

Inside a gt.function being traced, the forward function's ops are steps between two tape-pause
steps, `grad_fn` is traced once, at the call, into a block of the program whose inputs are the
upstream gradients, and the call is a step whose rule runs that block (no Python when a run is
differentiated: docs/guides/function.md, "Custom gradients").
"""
import functools
import inspect

from . import _core
from . import nest
from ._core import Tensor, Variable

__all__ = ["custom_gradient"]


def _accepts_variables(fn):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return "variables" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _call_grad_fn(grad_fn, upstream, variables, n_in):
    """grad_fn's gradients for the inputs, then for the variables, as one flat list."""
    if variables:
        in_grads, var_grads = grad_fn(*upstream, variables=variables)
        var_grads = list(var_grads)
        if len(var_grads) != len(variables):
            raise ValueError("custom_gradient: grad_fn returned %d variable gradients for %d variables"
                             % (len(var_grads), len(variables)))
    else:
        in_grads, var_grads = grad_fn(*upstream), []
    in_grads = list(in_grads) if isinstance(in_grads, (list, tuple)) else [in_grads]
    if len(in_grads) != n_in:
        raise ValueError("custom_gradient: grad_fn returned %d gradients for %d inputs"
                         % (len(in_grads), n_in))
    return in_grads + var_grads


def _function_variables(accessed, args, grad_fn):
    arg_vars = [a for a in args if isinstance(a, Variable)]
    variables = [v for v in accessed if not any(v is a for a in arg_vars)]
    variables = [v for v in variables if v.trainable]
    if variables and not _accepts_variables(grad_fn):
        raise TypeError(
            "If using @custom_gradient with a function that uses variables, then grad_fn "
            "must accept a keyword argument 'variables'.")
    return variables


def _traced_call(f, args, kwargs):
    """The call inside a gt.function being traced: the forward's steps between tape-pause steps,
    grad_fn traced into a block (its inputs the upstream gradients), then the custom-gradient
    step. Runs of the program, and the trace's own tapes, differentiate it through that block."""
    if kwargs:
        raise ValueError("The custom_gradient decorator currently supports keywords arguments only when eager "
                         "execution is enabled.")
    log = _core._VariableAccessLog()
    with log, _core._PauseTapes():
        _core._tape_pause_step(True)
        try:
            result, grad_fn = f(*args)
        finally:  # (the steps a run pauses the tapes over end here, whatever f did)
            _core._tape_pause_step(False)
    accessed = log.stop()
    variables = _function_variables(accessed, args, grad_fn)
    inputs = [a if isinstance(a, Tensor) else _core.convert_to_tensor(a) for a in args]
    var_values = [v.read_value() for v in variables]
    flat = [x if isinstance(x, Tensor) else _core.convert_to_tensor(x) for x in nest.flatten(result)]
    sources = inputs + var_values
    upstream = _core._custom_gradient_begin(flat)
    try:
        grads = _call_grad_fn(grad_fn, upstream, variables, len(inputs))
        grads = [None if g is None else g if isinstance(g, Tensor)
                 else _core.convert_to_tensor(g, dtype=s.dtype) for g, s in zip(grads, sources)]
    except BaseException as e:
        _core._custom_gradient_abort()
        if isinstance(e, _core.OperatorNotAllowedInGraphError):
            raise type(e)("gt.function: tracing the gradient function of the gt.custom_gradient function %s: %s"
                          % (getattr(f, "__qualname__", f), e)) from e
        raise
    outs = _core._custom_gradient_end(sources, flat, grads)
    return nest.pack_sequence_as(result, outs)


def custom_gradient(f=None):
    """Decorates `f(*args) -> (y, grad_fn)`; `grad_fn(*dy)` returns one gradient per arg.

    Variables read inside `f` are passed to `grad_fn` as `variables=`, and it returns their
    gradients as a second list, as in TensorFlow.

    >>> @gt.custom_gradient
    ... def log1pexp(x):
    ...     e = gt.exp(x)
    ...     return gt.math.log(1.0 + e), lambda dy: dy * (1.0 - 1.0 / (1.0 + e))
    >>> x = gt.constant(100.0)
    >>> with gt.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = log1pexp(x)
    >>> float(tape.gradient(y, x))
    1.0
    """
    if f is None:
        return custom_gradient

    @functools.wraps(f)
    def decorated(*args, **kwargs):
        if _core._tracing():
            return _traced_call(f, args, kwargs)
        log = _core._VariableAccessLog()
        with log, _core._PauseTapes():
            result, grad_fn = f(*args, **kwargs)
        accessed = log.stop()
        variables = _function_variables(accessed, args, grad_fn)
        # Reading args and variables now (not paused) lets the active tapes watch them.
        inputs = [a if isinstance(a, Tensor) else _core.convert_to_tensor(a) for a in args]
        var_values = [v.read_value() for v in variables]
        n_in = len(inputs)

        def hook(upstream):
            return _call_grad_fn(grad_fn, upstream, variables, n_in)

        flat = nest.flatten(result)
        # The core keeps a weak reference to `hook`; the active tapes keep it alive.
        _core._keep_alive_on_active_tapes(hook)
        outs = _core._record_custom(inputs + var_values, flat, hook)
        return nest.pack_sequence_as(result, outs)

    return decorated
