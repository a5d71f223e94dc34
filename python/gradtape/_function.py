"""gt.function: trace a Python function once per input signature into a program of C++ steps,
then replay the program with no Python per op (docs/guides/function.md).

Tracing runs the Python function once, eagerly, on the call's own values, while the core records
each op whose inputs come from the function's tensor arguments or from variables (a step), each
variable read and write, and each tape action, into a program (gradtape/program.h). Later calls
with the same signature run the program: the same C++ ops, in the same order, on the new values,
with the GIL released. What a traced program cannot recompute is refused while tracing, never
replayed wrongly: a tensor's value read into Python (`if x > 0:`, `float(x)`, `x.numpy()`) raises
gt.errors.OperatorNotAllowedInGraphError naming what was read.

The signature of a call (what decides whether to trace again), as in TensorFlow:
- a tensor (or NumPy array) argument: its dtype and shape;
- a variable argument: the variable itself (its reads and writes are steps);
- any other Python value: its value when hashable, else its identity.
A program is specialised to the exact shapes it was traced with, unless it is shown to hold for
other sizes (docs/guides/function.md, "One program for all sizes"): when the input_signature has
None dimensions, or reduce_retracing=True, a program whose trace read no size that differs (its
shape guards) and that a second trace at another size reproduces step for step is reused for
every size of the dimensions that differed.
"""
from __future__ import annotations

import copy
import functools
import inspect
import struct
import threading
import weakref
from typing import Any, Dict, List

import numpy as np

from . import _core, nest
from .specs import TensorSpec

__all__ = ["function", "Function", "ConcreteFunction", "run_functions_eagerly", "functions_run_eagerly"]

_trace_state = threading.local()  # .variables_made: Variables made while tracing, on this thread
_run_eagerly_global = [False]


def run_functions_eagerly(run_eagerly: bool) -> None:
    """Makes every gt.function call its Python function directly (no tracing), for debugging.

    >>> gt.config.run_functions_eagerly(True)
    >>> gt.config.functions_run_eagerly()
    True
    >>> gt.config.run_functions_eagerly(False)
    """
    _run_eagerly_global[0] = bool(run_eagerly)
    _core._set_run_functions_eagerly(_run_eagerly_global[0])


def functions_run_eagerly() -> bool:
    """Whether gt.config.run_functions_eagerly(True) is in effect.

    >>> gt.config.functions_run_eagerly()
    False
    """
    return _run_eagerly_global[0]


def _check_variable_creation():
    """Called when a Variable is made while a gt.function traces (gradtape.module), before its
    constructor returns: raises ValueError when the trace may not make variables (any trace but
    a function's first one), as TensorFlow's tf.function does, so that the code after it in the
    traced function does not run."""
    name = getattr(_trace_state, "no_variables", None)
    if name is not None:
        raise ValueError("%s: a gt.function may make gt.Variables only in its first trace, and this later "
                         "trace made one; make each variable once: outside the function, or on the first call "
                         "only (`if self.v is None: self.v = gt.Variable(...)`)" % name)


class _EffectsUndone:
    """A block whose effects on variables and random streams are undone when it ends: a trace
    run only for its program, whose run is not a call. gt.function's second trace on a first call
    that made variables (the first trace's run is the call) also mutes its gt.print
    (mute_print); gt.saved_model.save's traces print. Every variable's value is held (no copy: a
    write then makes a new buffer) and every stream's state noted; the variables written in the
    block get their held value back, and the streams made in the block (an op seed's stream
    drawn from for the first time) the state they were made with. (Variables made in the block
    are not in it: the caller undoes those, as gt.saved_model.save does.)"""

    def __init__(self, mute_print=True):
        self._mute_print = mute_print

    def __enter__(self):
        # (the live variables and streams as the core lists them, held weakly; not found in
        # gc.get_objects(): walking the whole heap made each block cost as much as the heap, and
        # the list of every object kept the heap's unreachable cycles alive through the
        # collections the block triggered, moving them to the oldest generation to pile up)
        self._snapshot = _core._effects_snapshot()
        self._muted = _core._set_print_muted(True) if self._mute_print else None
        return self

    def __exit__(self, *exc):
        if self._mute_print:
            _core._set_print_muted(self._muted)
        snapshot, self._snapshot = self._snapshot, None
        snapshot.restore()
        return False


class _TraceOnly:
    """A block whose traces are not calls (get_concrete_function, gt.saved_model.save): as with
    tf.function, nothing of the function runs but its Python code. The traces' variable writes
    and random draws are undone and their gt.print writes nothing (_EffectsUndone); a variable a
    trace makes (a first call's create-once idiom, an optimizer's slot) is kept, with the value
    it was made with (or a checkpoint restored into it while tracing: _note_variable_restored).
    Nested blocks leave the work to the outermost."""

    def __enter__(self):
        self._own = getattr(_trace_state, "created", None) is None
        if self._own:
            _trace_state.created = []
        self._effects = _EffectsUndone()
        self._effects.__enter__()
        return self

    def __exit__(self, *exc):
        try:
            self._effects.__exit__(*exc)
        finally:
            if self._own:
                created, _trace_state.created = _trace_state.created, None
                for v, value in created:
                    _core._assign_untraced(v, value)
        return False


def _note_variable_created(variable=None):
    """Called when a Variable is made while a gt.function traces (gradtape.module). While
    gt.saved_model.save traces (its `created` list is set), the variable and its initial value
    are noted, so that the trace's effects on it can be undone."""
    _trace_state.variables_made = getattr(_trace_state, "variables_made", 0) + 1
    created = getattr(_trace_state, "created", None)
    if created is not None and variable is not None:
        created.append((variable, _core._variable_value_copy(variable)))


def _note_variable_restored(variable):
    """Called when a checkpoint restore writes a variable while tracing (an optimizer's slot made
    by the trace): while gt.saved_model.save traces, the restored value becomes the value the
    save gives back to the variable when it undoes the trace's effects."""
    created = getattr(_trace_state, "created", None)
    if created:
        for i, (v, _) in enumerate(created):
            if v is variable:
                created[i] = (v, _core._variable_value_copy(v))


def _is_tensor(x):
    return isinstance(x, _core.Tensor)


class _ById:
    """A signature part that is an object's identity. It holds the object, so that its id cannot
    be reused by another object while a program keyed by it is cached."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return type(other) is _ById and other.obj is self.obj


def _hashable_key(x):
    """A Python value's part of the signature: (type, value) when hashable, else its identity.
    A float is keyed by its bits: -0.0 is not 0.0 (1/x differs), and a NaN equals itself."""
    if type(x) is float:
        return ("value", float, struct.pack("<d", x))
    try:
        hash(x)
    except TypeError:
        return ("id", _ById(x))
    return ("value", type(x), x)


def _spec_of(x):
    return TensorSpec(x.shape, x.dtype)


class ConcreteFunction:
    """One traced program of a gt.function: the function specialised to one input signature.

    Calling it runs the program (inputs: the tensor arguments, in the order of the signature).

    >>> @gt.function
    ... def f(x):
    ...     return x * x + 1.0
    >>> c = f.get_concrete_function(gt.TensorSpec([2], gt.float32))
    >>> c(gt.constant([1.0, 2.0])).numpy()
    array([2., 5.], dtype=float32)
    """

    def __init__(self, function, program, structure, leaves_spec, signature_args):
        self._function = function
        self._program = program
        self._structure = structure          # the result's structure; tensors replaced by their output index
        self._leaves_spec = leaves_spec      # the TensorSpecs of the tensor inputs
        self._signature_args = signature_args  # (args, kwargs) as traced: tensors and Python values
        self._rebuild = _rebuilder(structure)
        self._result_spec = _result_spec(structure, self._rebuild)
        self._vary = None  # (get_concrete_function's None dimensions: _for_specs)

    def _for_specs(self, specs, vary):
        """This concrete function, taking `specs` (with None dimensions, `vary`)."""
        c = copy.copy(self)
        c._leaves_spec, c._vary = list(specs), vary
        return c

    def _generalise(self, other):
        """After `other`, a trace of the same program at other sizes, agreed with this one: the
        result's and inputs' specs, with None for the dimensions that differ."""
        for x, y in zip(nest.flatten(self._structure), nest.flatten(other._structure)):
            if isinstance(x, _Output):
                x.spec = TensorSpec(x.spec.shape.most_specific_compatible_shape(y.spec.shape), x.spec.dtype)
        if self._function._input_signature is None:
            self._leaves_spec = [TensorSpec(a.shape.most_specific_compatible_shape(b.shape), a.dtype)
                                 for a, b in zip(self._leaves_spec, other._leaves_spec)]

    @property
    def structured_input_signature(self):
        """(args, kwargs) of the trace, each tensor as its TensorSpec: the Python values are the
        ones this concrete function was made with (a call gives the tensors only)."""
        specs = iter(self._leaves_spec)
        return nest.map_structure(lambda x: next(specs) if _is_tensor(x) else x, self._signature_args)

    @property
    def structured_outputs(self):
        """The structure of the function's result (tensors as TensorSpecs)."""
        return self._structure

    @property
    def name(self) -> str:
        """The function's name."""
        return self._function._name

    @property
    def inputs(self) -> List[TensorSpec]:
        """The TensorSpec of each tensor input, in order."""
        return list(self._leaves_spec)

    def _run(self, tensors):
        outs = self._program.try_run(tensors)
        if outs is None:  # (a shape guard failed before any effect: trace for these shapes)
            raise _GuardFailed
        return self._rebuild(outs)

    def __call__(self, *args, **kwargs):
        return self._function._call_concrete(self, args, kwargs)

    def pretty_printed_signature(self, verbose=True) -> str:
        """The inputs, and (verbose) the number of steps of the program."""
        ins = ", ".join(repr(s) for s in self._leaves_spec)
        text = "%s(%s)" % (self._function.__name__, ins)
        if verbose:
            text += "\n  program: %d steps, %d constants" % (self._program.num_steps, self._program.num_constants)
        return text

    def __repr__(self):
        return "<ConcreteFunction %s>" % self.pretty_printed_signature(verbose=False)


class _Output:
    """Where a tensor of the result sits in the program's outputs."""

    __slots__ = ("index", "spec")

    def __init__(self, index, spec):
        self.index, self.spec = index, spec

    def __repr__(self):
        return repr(self.spec)


def _rebuilder(structure):
    """A function from the program's output list to the result (the common shapes of results,
    a tensor or a flat list or tuple of them, without walking the structure at each call)."""
    if isinstance(structure, _Output):
        i = structure.index
        return lambda outs: outs[i]
    if type(structure) in (list, tuple) and all(isinstance(x, _Output) for x in structure) and \
            [x.index for x in structure] == list(range(len(structure))):
        return (lambda outs: outs) if type(structure) is list else tuple
    build = _nested_builder(structure)
    if build is not None:
        return build
    return lambda outs: _unflatten_result(structure, outs)


def _nested_builder(x):
    """For a result of plain lists, tuples and dicts (W2's list of lists of gradients): a
    function from the outputs list to the result that builds it directly, as
    _unflatten_result would (dicts in their own key order, other leaves as traced), without
    flattening the structure at each call. None when a container is of another type (a
    namedtuple, a subclass). No closure refers to itself (no reference cycle holds outputs)."""
    if isinstance(x, _Output):
        i = x.index
        return lambda outs: outs[i]
    t = type(x)
    if t is list or t is tuple:
        parts = [_nested_builder(v) for v in x]
        if any(b is None for b in parts):
            return None
        if t is list:
            return lambda outs: [b(outs) for b in parts]
        return lambda outs: tuple([b(outs) for b in parts])
    if t is dict:
        keys = list(x)  # (the result's own key order, as TensorFlow's)
        parts = [_nested_builder(x[k]) for k in keys]
        if any(b is None for b in parts):
            return None
        items = list(zip(keys, parts))
        return lambda outs: {k: b(outs) for k, b in items}
    if isinstance(x, (list, tuple, dict)):
        return None
    return lambda outs: x


def _result_spec(structure, rebuild):
    """How the C++ call cache (_core._CallCache) builds the result from the outputs list: the
    same shapes as _rebuilder, ("call", rebuild) for the others."""
    if isinstance(structure, _Output):
        return ("one", structure.index)
    if type(structure) in (list, tuple) and all(isinstance(x, _Output) for x in structure) and \
            [x.index for x in structure] == list(range(len(structure))):
        return ("list",) if type(structure) is list else ("tuple",)
    tree = _tree_spec(structure)
    return ("call", rebuild) if tree is None else ("tree", tree)


def _tree_spec(x):
    """A result of plain lists, tuples and dicts as the call cache builds it in C++ (W2's list of
    lists of gradients), as _nested_builder does: an output's index, ("list", [parts]),
    ("tuple", [parts]), ("dict", keys, [parts]) or ("const", leaf); None for another
    kind of container."""
    if isinstance(x, _Output):
        return x.index
    t = type(x)
    if t is list or t is tuple or t is dict:
        keys = list(x) if t is dict else None  # (the result's own key order, as TensorFlow's)
        parts = [_tree_spec(x[k]) for k in keys] if t is dict else [_tree_spec(v) for v in x]
        if any(p is None for p in parts):
            return None
        if t is dict:
            return ("dict", keys, parts)
        return ("list" if t is list else "tuple", parts)
    if isinstance(x, (list, tuple, dict)):
        return None
    return ("const", x)


def _unflatten_result(structure, outs):
    flat = [outs[x.index] if isinstance(x, _Output) else x for x in nest.flatten(structure)]
    return nest.pack_sequence_as(structure, flat)


class _WeakMethod:
    """A function bound to an instance held weakly: a gt.function method's Function per object
    (Function.__get__), kept by the method until the object is gone, must not hold it (the
    object, and its variables, would never be freed), as TensorFlow's does not."""

    __slots__ = ("_function", "_instance")

    def __init__(self, function, instance):
        self._function, self._instance = function, weakref.ref(instance)

    def __call__(self, *args, **kwargs):
        instance = self._instance()
        if instance is None:
            raise ReferenceError("gt.function: the object whose method this is no longer exists")
        return self._function(instance, *args, **kwargs)


def _forget_object(bound, key, ref):
    """A method's object is gone: its Function leaves the method's dict (unless another object,
    made since at the same address, has taken its place)."""
    entry = bound.get(key)
    if entry is not None and entry[0] is ref:
        del bound[key]


class Function(_core._FunctionBase):
    """A Python function traced into programs, one per input signature (made by gt.function).

    A call first asks the call cache, from C (_core._FunctionBase: a call of tensors whose
    signature ran before runs no Python frame); anything else is `_call`."""

    def __init__(self, python_function, input_signature=None, jit_compile=None, reduce_retracing=False, name=None):
        if not callable(python_function):
            raise TypeError("gt.function: expected a callable, got %r" % (python_function,))
        functools.update_wrapper(self, python_function)
        self._python_function = python_function
        self._sig = inspect.signature(python_function)
        self.__signature__ = self._sig  # (inspect.getfullargspec reads it: it follows no __wrapped__)
        self._input_signature = None if input_signature is None else self._check_signature(input_signature)
        self._jit_compile = jit_compile
        self._reduce_retracing = bool(reduce_retracing)
        self._name = name or getattr(python_function, "__name__", "function")
        self._cache: Dict[Any, ConcreteFunction] = {}
        # Shape-polymorphic programs (docs/guides/function.md, "One program for all sizes"): by
        # the call's key with the dimensions that may vary left out, the traces that may serve
        # other sizes.
        self._families: Dict[Any, List[_Entry]] = {}
        self._fast: Dict[Any, ConcreteFunction] = {}  # calls of plain positional tensors and scalars
        # calls of positional tensors only (or none), looked up and run in one bound call
        self._call_cache = _core._CallCache(_MISS)
        self._set_fast_call(self._call_cache.call, _MISS)
        self._tracing_count = 0
        self._variables_allowed = True  # until the first trace has run (_trace)
        self._lock = threading.RLock()
        # a method's Function per object: {id(object): (weak reference to it, Function)}, by
        # identity (two objects equal by value, or unhashable ones, are two objects)
        self._bound = {}

    # ---- TF's API ----
    @property
    def python_function(self):
        """The Python function this gt.function traces."""
        return self._python_function

    @property
    def input_signature(self):
        """The input_signature given to gt.function, or None."""
        return self._input_signature

    def experimental_get_tracing_count(self) -> int:
        """How many times the Python function was traced.

        >>> @gt.function
        ... def f(x):
        ...     return x + 1
        >>> _ = f(gt.constant(1)); _ = f(gt.constant(2)); _ = f(gt.constant([1, 2]))
        >>> f.experimental_get_tracing_count()
        2
        """
        return self._tracing_count

    def pretty_printed_concrete_signatures(self, verbose=True) -> str:
        """Each program traced so far, one ConcreteFunction.pretty_printed_signature a paragraph."""
        with self._lock:
            concretes = list({id(c): c for c in self._cache.values()}.values())
        return "\n\n".join(c.pretty_printed_signature(verbose) for c in concretes)

    def get_concrete_function(self, *args, **kwargs) -> ConcreteFunction:
        """The program for these arguments (tracing it if needed). A TensorSpec stands for any
        tensor of its dtype and shape; the trace then runs on zeros of that shape. With None
        dimensions it runs twice, at sizes 2 and 3 of them: when the two traces agree, one
        program serves every size (and is the one gt.saved_model.save writes); otherwise the
        concrete function traces again for other sizes. A TensorSpec of unknown rank is traced
        as a scalar (each other rank is traced when called)."""
        if not args and not kwargs and self._input_signature is not None:
            args = tuple(self._input_signature)
        specs = [s for s in nest.flatten((args, kwargs)) if isinstance(s, TensorSpec)]
        vary = [frozenset(i for i, d in enumerate(s.shape.as_list()) if d is None) if s.shape.rank is not None
                else frozenset() for s in specs]

        def placeholders(size):
            return (nest.map_structure(functools.partial(_placeholder, size=size), args) if args else args,
                    {k: nest.map_structure(functools.partial(_placeholder, size=size), v) for k, v in kwargs.items()})

        first = placeholders(2)
        n_tensors = sum(1 for x in nest.flatten(first) if _is_tensor(x) or isinstance(x, np.ndarray))
        vary = vary if len(vary) == n_tensors and any(vary) else None
        with _TraceOnly():
            concrete, _, _ = self._concrete_for(*first, vary=vary, run=False)
            if vary is not None:
                # (the second size: _family_call compares the traces and, when they agree, widens
                # the first one's program to every size; a second trace that raises leaves it as
                # it is, and a call at another size traces, raising there)
                try:
                    self._concrete_for(*placeholders(3), vary=vary, run=False)
                except Exception:  # noqa: BLE001 (the first trace stands)
                    pass
        unknown_rank = any(s.shape.rank is None for s in specs) and len(specs) == n_tensors
        if (vary is not None or unknown_rank) and self._input_signature is None:
            # (a concrete function for None dimensions takes every size of them, as TensorFlow's)
            concrete = concrete._for_specs(specs, vary)
        return concrete

    def __get__(self, instance, owner):
        # A method: one Function per instance, so that each object has its own traces (as TF).
        if instance is None:
            return self
        entry = self._bound.get(id(instance))
        if entry is not None and entry[0]() is instance:
            return entry[1]
        try:  # (weakly: the Function is the value of a dict of this Function's)
            method = _WeakMethod(self._python_function, instance)
        except TypeError:  # (not weak-referenceable: a new Function at each access)
            method = functools.partial(self._python_function, instance)
        # (of this Function's own class, a subclass too, made with gt.function's arguments; a
        # subclass whose constructor takes other arguments gets a plain Function, as before)
        kwargs = dict(input_signature=self._input_signature, jit_compile=self._jit_compile,
                      reduce_retracing=self._reduce_retracing, name=self._name)
        try:
            bound = type(self)(method, **kwargs)
        except TypeError:
            if type(self) is Function:
                raise
            bound = Function(method, **kwargs)
        bound._sig = bound.__signature__ = inspect.signature(functools.partial(self._python_function, instance))
        try:
            ref = weakref.ref(instance, functools.partial(_forget_object, self._bound, id(instance)))
        except TypeError:
            ref = None
        if ref is not None:
            self._bound[id(instance)] = (ref, bound)
        return bound

    def _constants_watched(self):
        """Whether a tape or accumulator recording around this call watches a constant of one of
        this function's programs (a tensor it captured): the ops the trace computed once on
        constants only (folded) would be missing from what it records of a replay."""
        with self._lock:
            concretes = list(self._cache.values())
        return any(c._program.constants_watched() for c in concretes)

    def _call(self, *args, **kwargs):
        # (the call cache was asked already when there are no kwargs, no trace is in progress and
        # functions do not run eagerly: _core._FunctionBase's call)
        key = None
        tracing = _core._tracing()
        if _core._recording() and not tracing and self._cache and self._constants_watched():
            # (a tape or accumulator around the call watches a tensor the function captured:
            # run eagerly, so that it records every op on it; docs/guides/function.md)
            return self._python_function(*args, **kwargs)
        if not kwargs and not tracing:  # (a key reads the shapes: not while tracing)
            key = _fast_key(args)
            concrete = self._fast.get(key) if key is not None else None
            if concrete is not None and not _run_eagerly_global[0]:
                try:
                    return concrete._run([a for a in args if type(a) is _Tensor])
                except _GuardFailed:
                    self._fast.pop(key, None)
        if _run_eagerly_global[0] or _core._tracing():
            # (inside another gt.function's trace, a nested function is traced inline, as part of it)
            if self._input_signature is not None:
                self._bind(args, kwargs)  # still checks the arguments against the signature
            return self._python_function(*args, **kwargs)
        concrete, tensors, result = self._concrete_for(args, kwargs)
        if not kwargs and len(tensors) == sum(type(a) is _Tensor for a in args) and key is not None:
            self._fast[key] = concrete
            if len(tensors) == len(args):
                self._call_cache.add(args, concrete._program, concrete._result_spec)
        return result

    def __repr__(self):
        return "<gt.function %s>" % self._name

    def __copy__(self):
        # (a shallow copy shares the traces and the call cache, as the attributes' copy did
        # before Function had a C base, which the default copy refuses)
        c = type(self).__new__(type(self))
        c.__dict__.update(self.__dict__)
        c._set_fast_call(c._call_cache.call, _MISS)
        return c

    # ---- signatures ----
    def _check_signature(self, sig):
        if not isinstance(sig, (list, tuple)):
            raise TypeError("input_signature must be a list or tuple of TensorSpec (nested), got %r" % (sig,))
        for s in nest.flatten(list(sig)):
            if not isinstance(s, TensorSpec):
                raise TypeError("input_signature must contain only TensorSpec objects, got %r" % (s,))
        return tuple(sig)

    def _bind(self, args, kwargs):
        """The arguments as (positional values in the signature's order, kwargs), checked against
        input_signature when there is one."""
        if self._input_signature is not None:
            if kwargs:
                # keyword arguments are matched to their positions, as TensorFlow does
                bound = self._sig.bind(*args, **kwargs)
                args = tuple(bound.arguments[p] for p in list(self._sig.parameters)[:len(bound.arguments)])
                kwargs = {}
            if len(args) != len(self._input_signature):
                raise TypeError("%s: the input_signature has %d arguments, the call gives %d"
                                % (self._name, len(self._input_signature), len(args)))
            converted = []
            for value, spec in zip(args, self._input_signature):
                if isinstance(spec, TensorSpec):  # (a list given for one TensorSpec is one tensor)
                    flat_v, flat_s = [value], [spec]
                else:
                    try:
                        nest.assert_same_structure(spec, value, check_types=False)
                    except (ValueError, TypeError) as e:
                        raise TypeError("%s: argument %r does not match the input_signature %r (%s)"
                                        % (self._name, value, spec, e)) from None
                    flat_v, flat_s = nest.flatten(value), nest.flatten(spec)
                out = []
                for v, s in zip(flat_v, flat_s):
                    t = v if _is_tensor(v) else _core.convert_to_tensor(v, dtype=s.dtype)
                    if t.dtype != s.dtype or not s.is_compatible_with(t):
                        raise TypeError("%s: argument of dtype %s and shape %s does not match the input_signature's %r"
                                        % (self._name, t.dtype.name, tuple(t.shape), s))
                    out.append(t)
                converted.append(nest.pack_sequence_as(spec, out))
            return tuple(converted), {}
        try:
            bound = self._sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError("%s: %s" % (self._name, e)) from None
        bound.apply_defaults()
        return bound.args, bound.kwargs

    def _concrete_for(self, args, kwargs, vary=None, run=True):
        """(the ConcreteFunction for this call, its input tensors, the call's result): the call
        runs here, by the program, or by the trace when this call traces (`run` False: a
        program found is not run, and the result is None). `vary`: for each tensor, the
        dimensions that may differ from call to call (get_concrete_function's None
        dimensions), when the signature does not say."""
        args, kwargs = self._bind(args, kwargs)
        flat = nest.flatten((args, kwargs))
        key_parts: List[Any] = []
        tensors: List[Any] = []
        for x in flat:
            if isinstance(x, np.ndarray):
                x = _core.convert_to_tensor(x)
            if _is_tensor(x):
                key_parts.append(("tensor", x.dtype, tuple(x.shape)))
                tensors.append(x)
            elif isinstance(x, _core.Variable):
                key_parts.append(("variable", _ById(x)))
            else:
                key_parts.append(_hashable_key(x))
        structure = _structure_key((args, kwargs))
        key = (tuple(key_parts), structure)
        with self._lock:
            concrete = self._cache.get(key)
        if concrete is not None:
            if not run:
                if vary is not None:  # (get_concrete_function: a call traced it before, at these sizes)
                    with self._lock:
                        self._add_to_family(key_parts, structure, vary, concrete, tensors)
                return concrete, tensors, None
            try:
                return concrete, tensors, concrete._run(tensors)
            except _GuardFailed:  # (then traced for these shapes, below)
                with self._lock:
                    if self._cache.get(key) is concrete:
                        del self._cache[key]
        with self._lock:
            family_key = self._family_key(key_parts, structure, vary)
            if family_key is None:
                concrete, result = self._trace(args, kwargs, tensors)
                self._cache[key] = concrete
                return concrete, tensors, result
            return self._family_call(key, family_key, args, kwargs, tensors, run)

    # ---- one program for all sizes (docs/guides/function.md, "One program for all sizes") ----
    def _vary(self, n_tensors, vary):
        """For each tensor input, the set of dimensions that may differ between calls sharing a
        program, or None when no program is shared across sizes."""
        if self._input_signature is not None:
            specs = nest.flatten(list(self._input_signature))
            if len(specs) != n_tensors:
                return None
            # (a spec of unknown rank shares no program: each rank and size is traced)
            out = [frozenset(i for i, d in enumerate(s.shape.as_list() if s.shape.rank is not None else [])
                             if d is None) for s in specs]
            return out if any(out) else None
        if vary is not None:
            return vary if any(vary) else None
        if self._reduce_retracing:
            return "all"
        return None

    def _family_key(self, key_parts, structure, vary):
        """The key of the calls that may share this call's program at other sizes (the dtypes,
        ranks, fixed dimensions and Python values), or None."""
        n = sum(1 for p in key_parts if p[0] == "tensor")
        v = self._vary(n, vary)
        if v is None:
            return None
        parts, k = [], 0
        for p in key_parts:
            if p[0] == "tensor":
                dims = p[2] if v == "all" else tuple(None if i in v[k] else d for i, d in enumerate(p[2]))
                parts.append(("tensor", p[1], len(p[2]), None if v == "all" else dims))
                k += 1
            else:
                parts.append(p)
        return (tuple(parts), structure)

    def _add_to_family(self, key_parts, structure, vary, concrete, tensors):
        """Makes a trace of a call at exact shapes one its family's traces may be compared with:
        get_concrete_function's None dimensions after a call traced the same sizes."""
        family_key = self._family_key(key_parts, structure, vary)
        if family_key is None or not concrete._program.shape_polymorphic_candidate:
            return
        entries = self._families.setdefault(family_key, [])
        if len(entries) < _MAX_ENTRIES and all(e.concrete is not concrete for e in entries):
            entries.append(_Entry(concrete, [tuple(t.shape) for t in tensors], concrete._program.describe()))

    def _family_call(self, key, family_key, args, kwargs, tensors, run):
        shapes = [tuple(t.shape) for t in tensors]
        entries = self._families.setdefault(family_key, [])
        # 1. A program shown to hold for sizes like these: run it (its guards checked as it runs).
        for e in entries:
            if e.serves(shapes):
                if not run:  # (its guards are checked when it is called)
                    return e.concrete, tensors, None
                try:
                    result = e.concrete._run(tensors)
                except _GuardFailed:
                    continue
                self._cache[key] = e.concrete
                return e.concrete, tensors, result
        # 2. Trace for these shapes, and compare with a trace at other sizes that may be the same
        #    program (no guard of it differs here): if the steps, constants and guards agree, that
        #    program holds for the dimensions that differ.
        concrete, result = self._trace(args, kwargs, tensors)
        self._cache[key] = concrete
        program = concrete._program
        if not program.shape_polymorphic_candidate:
            return concrete, tensors, result
        described = program.describe()
        guards = frozenset(program.input_guards)
        for e in entries:
            if e.may_compare(shapes) and e.description == described and _holds(guards, e.shapes) \
                    and _same_results(e.concrete, concrete):
                e.widen(shapes, concrete, guards)
                self._cache[key] = e.concrete  # (the same program: one to keep, and to save)
                return e.concrete, tensors, result
        if len(entries) < _MAX_ENTRIES:
            entries.append(_Entry(concrete, shapes, described))
        return concrete, tensors, result

    def _concrete_arguments(self, concrete, args, kwargs):
        """A concrete function's call as a call of the function: the Python values it was made
        with fill the arguments not given. As TensorFlow's, it takes its tensors alone (in the
        order of its TensorSpecs), or its arguments with those same Python values (another value
        raises TypeError)."""
        made_args, made_kwargs = concrete.structured_input_signature
        n_specs = sum(isinstance(x, TensorSpec) for x in nest.flatten((made_args, made_kwargs)))
        if not kwargs and n_specs and len(args) == n_specs and all(
                _is_tensor(a) or isinstance(a, np.ndarray) for a in args):
            given = iter(args)  # (its tensors alone)
            return nest.map_structure(lambda x: next(given) if isinstance(x, TensorSpec) else x,
                                      (tuple(made_args), dict(made_kwargs)))
        try:
            full = self._sig.bind(*made_args, **made_kwargs)
            call = self._sig.bind_partial(*args, **kwargs)
        except TypeError as e:
            raise TypeError("%s: %s" % (self._name, e)) from None
        for name, value in call.arguments.items():
            kind = self._sig.parameters[name].kind
            made = full.arguments[name]
            if kind is inspect.Parameter.VAR_POSITIONAL:  # (*args: the given ones first, then the rest as made)
                value = tuple(value) + tuple(made[len(value):])
            elif kind is inspect.Parameter.VAR_KEYWORD:  # (**kwargs: the made ones, with the given ones)
                value = dict(made, **value)
            full.arguments[name] = _merge_made(self._name, name, made, value)
        missing = [n for n, v in full.arguments.items() if any(isinstance(x, TensorSpec) for x in nest.flatten(v))]
        if missing:
            raise TypeError("%s: missing a required argument: %s" % (self._name, ", ".join(repr(n) for n in missing)))
        return full.args, full.kwargs

    def _call_concrete(self, concrete, args, kwargs):
        args, kwargs = self._concrete_arguments(concrete, args, kwargs)
        if _run_eagerly_global[0] or _core._tracing():  # (inside a trace: traced inline, as a call)
            return self._python_function(*args, **kwargs)
        if _core._recording() and concrete._program.constants_watched():  # (as __call__)
            return self._python_function(*args, **kwargs)
        args, kwargs = self._bind(args, kwargs)
        specs = concrete.inputs
        tensors = [_core.convert_to_tensor(x) for x in nest.flatten((args, kwargs))
                   if _is_tensor(x) or isinstance(x, np.ndarray)]
        if len(tensors) != len(specs) or not all(
                s.dtype == t.dtype and s.is_compatible_with(t) for s, t in zip(specs, tensors)):
            raise TypeError("%s: this concrete function takes %s, got %s"
                            % (self._name, specs, [_spec_of(t) for t in tensors]))
        _, _, result = self._concrete_for(args, kwargs, vary=concrete._vary)
        return result

    def _trace(self, args, kwargs, tensors):
        """(the ConcreteFunction of a trace for these arguments, the call's result). As
        TensorFlow's tf.function, only a function's first trace may make variables (the "create
        on the first call" idiom, `if self.v is None: self.v = gt.Variable(...)`); a later one
        that makes one raises ValueError. When the first trace made variables, the function is
        traced again at once, as TensorFlow does, with its effects undone: a function that makes
        a variable at every trace raises on its first call, and the program kept is the second
        trace's, made with the variables existing."""
        if self._variables_allowed:
            made_before = getattr(_trace_state, "variables_made", 0)
            try:
                concrete, result = self._trace_once(args, kwargs, tensors)
            finally:  # (a first trace that raises is still the first: TF 2.21 refuses later ones too)
                self._variables_allowed = False
            if getattr(_trace_state, "variables_made", 0) == made_before:
                return concrete, result
            with _EffectsUndone():
                concrete, _ = self._trace_once(args, kwargs, tensors)
            return concrete, result
        return self._trace_once(args, kwargs, tensors)

    def _trace_once(self, args, kwargs, tensors):
        # Inputs become the program's first slots; the function runs eagerly on them.
        outer = getattr(_trace_state, "no_variables", None)
        _trace_state.no_variables = None if self._variables_allowed else self._name
        try:
            return self._trace_body(args, kwargs, tensors)
        finally:
            _trace_state.no_variables = outer

    def _trace_body(self, args, kwargs, tensors):
        rec = _core._Recorder()
        with rec:
            # The traced code gets a fresh tensor per input (NumPy arrays become tensors), so
            # that a tensor given twice, or also captured, names one slot per use.
            fresh = iter([rec.input(t) for t in tensors])
            args, kwargs = nest.map_structure(
                lambda x: next(fresh) if isinstance(x, (np.ndarray, _core.Tensor)) else x, (args, kwargs))
            result = self._python_function(*args, **kwargs)
            flat = nest.flatten(result)
            out_tensors = []
            structure_flat = []
            for x in flat:
                if isinstance(x, _core.Variable):
                    x = x.read_value()
                # (Python and NumPy numbers and bools are returned as tensors, as tf.function's
                # outputs: constants of the program)
                if isinstance(x, (np.ndarray, np.generic, bool, int, float)):
                    x = _core.convert_to_tensor(x)
                if _is_tensor(x):
                    structure_flat.append(_Output(len(out_tensors), None))
                    out_tensors.append(x)
                else:
                    structure_flat.append(x)
            program = rec.finish(out_tensors)
        for x in structure_flat:  # (the specs read the shapes after the trace: not reads of the code)
            if isinstance(x, _Output):
                x.spec = _spec_of(out_tensors[x.index])
        self._tracing_count += 1
        structure = nest.pack_sequence_as(result, structure_flat)
        specs = [_spec_of(t) for t in tensors]
        if self._input_signature is not None:  # the signature's specs (None dims), when it has one
            specs = [s for s in nest.flatten(list(self._input_signature))]
        concrete = ConcreteFunction(self, program, structure, specs, (args, kwargs))
        return concrete, _unflatten_result(structure, out_tensors)


class _GuardFailed(Exception):
    """A program's shape guard failed before any effect: the call is traced for its shapes."""


# At most this many traces per family are kept to compare new traces with (a function whose
# programs differ at every size then traces per size, as without a None signature).
_MAX_ENTRIES = 8


class _Entry:
    """A trace that may serve other sizes: its program, the shapes it was traced at, its
    description (Program.describe) and, once a trace at other sizes agreed with it, the
    dimensions of each input shown to vary (`vary`)."""

    __slots__ = ("concrete", "shapes", "description", "vary", "guards")

    def __init__(self, concrete, shapes, description):
        self.concrete, self.shapes, self.description = concrete, shapes, description
        self.vary = None
        # the input dimensions its trace read, and those of the traces that agreed with it
        # (a trace may read what another did not, as when the first one builds a layer's
        # weights from x.shape[-1]: the program serves only where all of them hold)
        self.guards = frozenset(concrete._program.input_guards)

    def _guards_hold(self, shapes):
        return _holds(self.guards, shapes)

    def serves(self, shapes):
        """Whether the program holds for these shapes: they differ from its trace's only in the
        dimensions shown to vary, and no dimension the trace read differs (the guards of other
        tensors than the inputs are checked as the program runs)."""
        if self.vary is None:
            return False
        for s, t, v in zip(shapes, self.shapes, self.vary):
            if any(a != b and i not in v for i, (a, b) in enumerate(zip(s, t))):
                return False
        return self._guards_hold(shapes)

    def may_compare(self, shapes):
        return shapes != self.shapes and self._guards_hold(shapes)

    def widen(self, shapes, other, guards):
        self.guards = self.guards | guards
        vary = [frozenset(i for i, (a, b) in enumerate(zip(s, t)) if a != b) for s, t in zip(shapes, self.shapes)]
        self.vary = vary if self.vary is None else [a | b for a, b in zip(self.vary, vary)]
        self.concrete._generalise(other)


def _holds(guards, shapes):
    """Whether input guards [(input, dimension, value)] hold for these input shapes."""
    return all(shapes[i][d] == v for i, d, v in guards)


def _same_results(a, b):
    """Whether two traces' results have the same structure, the same tensors (by output index,
    dtype and rank) and equal Python values."""
    try:
        nest.assert_same_structure(a._structure, b._structure, check_types=True)
    except (ValueError, TypeError):
        return False
    for x, y in zip(nest.flatten(a._structure), nest.flatten(b._structure)):
        if isinstance(x, _Output) or isinstance(y, _Output):
            if not (isinstance(x, _Output) and isinstance(y, _Output) and x.index == y.index
                    and x.spec.dtype == y.spec.dtype and len(x.spec.shape) == len(y.spec.shape)):
                return False
        elif _hashable_key(x) != _hashable_key(y):
            return False
    return True


_MISS = object()
_Tensor = _core.Tensor
_Variable = _core.Variable
_SCALARS = (int, float, bool, str, type(None))


def _fast_key(args):
    """The signature of a call whose arguments are all tensors, variables or Python scalars
    (no containers), or None. Such a call's tensor inputs are its tensor arguments in order."""
    parts = []
    for a in args:
        t = type(a)
        if t is _Tensor:
            parts.append((a.dtype, a.shape))
        elif t is _Variable:
            parts.append(_ById(a))
        elif t is float:
            parts.append((float, struct.pack("<d", a)))
        elif t in _SCALARS:
            parts.append((t, a))
        else:
            return None
    return tuple(parts)


def _structure_key(x):
    """The nesting of the arguments (which containers, which dict keys), as a hashable value."""
    if isinstance(x, dict):
        return ("dict", tuple((k, _structure_key(x[k])) for k in sorted(x, key=repr)))
    if isinstance(x, (list, tuple)) and not (isinstance(x, tuple) and hasattr(x, "_fields")):
        return (type(x).__name__, tuple(_structure_key(v) for v in x))
    if isinstance(x, tuple):
        return (type(x), tuple(_structure_key(v) for v in x))
    return None


def _merge_made(fname, name, made, value):
    """value in place of made, a concrete function's argument as it was made: a TensorSpec takes
    a tensor, array or variable (its spec is checked when the program runs; a Python list or
    number is converted to its dtype), a variable another variable, containers of the same kind
    merge item by item, and a Python value must be given equal to the one it was made with
    (TypeError otherwise)."""
    def same(a, b):  # (Python values: 2 and 2.0 are equal, as TF takes them; others by their key)
        if type(a) in (int, float, bool) and type(b) in (int, float, bool):
            return a == b or (a != a and b != b)
        return _hashable_key(a) == _hashable_key(b)

    def merge(m, v):
        if isinstance(m, _core.Variable) and isinstance(v, _core.Variable):
            return v  # (another variable: a trace of its own, as a call with it)
        if isinstance(m, TensorSpec):  # (a Python list or number there: a tensor of the spec's dtype, as TF)
            if _is_tensor(v) or isinstance(v, (np.ndarray, _core.Variable)):
                return v
            try:
                return _core.convert_to_tensor(v, dtype=m.dtype)
            except (TypeError, ValueError) as e:
                raise TypeError("%s: argument %s: %s" % (fname, name, e)) from None
        holds_spec = any(isinstance(x, (TensorSpec, _core.Variable)) for x in nest.flatten(m))
        if holds_spec and _structure_key(m) == _structure_key(v):  # (the same containers, dict keys)
            if isinstance(m, dict):
                return {k: merge(m[k], v[k]) for k in v}
            if isinstance(m, (list, tuple)):
                items = [merge(a, b) for a, b in zip(m, v)]
                return type(v)(*items) if hasattr(v, "_fields") else type(v)(items)
        flat_m, flat_v = nest.flatten(m), nest.flatten(v)
        if holds_spec or _structure_key(v) != _structure_key(m) or len(flat_m) != len(flat_v) or \
                not all(same(a, b) for a, b in zip(flat_m, flat_v)):
            raise TypeError("%s: this concrete function was made with %s=%r; got %r (make another with "
                            "get_concrete_function)" % (fname, name, made, value))
        return v
    return merge(made, value)


def _placeholder(x, size=2):
    """A TensorSpec's stand-in for a trace: zeros of its shape, None dimensions of `size`
    (an unknown rank: a scalar)."""
    if isinstance(x, TensorSpec):
        shape = [size if d is None else d for d in (x.shape.as_list() if x.shape.rank is not None else [])]
        return _core.zeros(shape, dtype=x.dtype)
    return x


def function(func=None, input_signature=None, autograph=True, jit_compile=None, reduce_retracing=False,
             experimental_implements=None, experimental_autograph_options=None, experimental_attributes=None,
             experimental_relax_shapes=None, experimental_compile=None, experimental_follow_type_hints=None,
             name=None):
    """Compiles a function into a program of C++ steps, traced once per input signature.

    The first call with a new signature runs the Python function eagerly and records it; later
    calls replay the recorded steps with no Python per op. Variables are read and written at
    each call; Python side effects (print, list appends) happen once per trace. Control flow on
    tensor values must use gt.cond / gt.while_loop: an `if` on a traced tensor raises
    gt.errors.OperatorNotAllowedInGraphError (docs/guides/function.md).

    Args:
      func: The function (or method) to compile; gt.function(...) without it is a decorator.
      input_signature: A list of (nested) TensorSpec fixing the dtypes and shapes of the tensor
        arguments; None dimensions admit any size, and one program serves every size when the
        trace did not depend on it (docs/guides/function.md, "One program for all sizes").
      autograph: Accepted; gradtape has no AutoGraph (see above).
      jit_compile: Accepted and recorded; programs are compiled the same way either way.
      reduce_retracing: Relax shapes as TensorFlow does: a call whose shape differs from a
        trace's only in some dimensions shares its program when the trace did not depend on
        them (same rank; checked as for None dimensions).
      name: The function's name.

    Returns:
      A gt.function (callable like func, with get_concrete_function and
      experimental_get_tracing_count).

    >>> w = gt.Variable(2.0)
    >>> @gt.function
    ... def step(x):
    ...     with gt.GradientTape() as tape:
    ...         loss = (w * x - 1.0) ** 2
    ...     w.assign_sub(0.1 * tape.gradient(loss, w))
    ...     return loss
    >>> [round(float(step(gt.constant(1.0))), 4) for _ in range(3)]
    [1.0, 0.64, 0.4096]
    >>> round(float(w), 4), step.experimental_get_tracing_count()
    (1.512, 1)
    """
    del autograph, experimental_implements, experimental_autograph_options, experimental_attributes
    del experimental_follow_type_hints
    if experimental_relax_shapes is not None:
        reduce_retracing = reduce_retracing or bool(experimental_relax_shapes)
    if experimental_compile is not None and jit_compile is None:
        jit_compile = experimental_compile

    def decorate(f):
        return Function(f, input_signature=input_signature, jit_compile=jit_compile,
                        reduce_retracing=reduce_retracing, name=name)

    if func is None:
        return decorate
    return decorate(func)
