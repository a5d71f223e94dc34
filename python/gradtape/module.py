"""gt.Module and gt.name_scope, as tf.Module and tf.name_scope in eager mode.

Name scopes are a per-thread string such as "outer/inner/" (the empty string at the root).
`name_scope("x")` appends "x/" to it; a name ending in "/" replaces it (an absolute scope, as
a Module's `name_scope` is); the empty name returns to the root. As in TensorFlow's eager mode,
names are never made unique: two modules of one class are both named "dense", and their
variables both "dense/w:0".

A variable's name is prefixed by the scope active when it is made. gt.Variable is a C++ class;
the prefix is added by a Python `__init__` installed on it here (it reads the scope and passes
the full name to the C++ constructor), so the core knows nothing about scopes.

A Module finds its variables and submodules by walking its attributes (in sorted attribute
order), through lists, tuples and dicts (dicts in sorted key order, as gt.nest); each object is
reported once, the first time it is met; a module's own attributes are all reported before
those of its submodules, which are then walked in the order they were found. This is the order
tf.Module gives.
"""
from __future__ import annotations

import functools
import re
import threading
from typing import Tuple

from . import _core, _function, _restore

__all__ = ["Module", "name_scope", "current_name_scope"]

_state = threading.local()


def current_name_scope() -> str:
    """The active name scope, "" at the root or a string ending in "/".

    >>> from gradtape.module import current_name_scope
    >>> with gt.name_scope("outer"):
    ...     with gt.name_scope("inner"):
    ...         current_name_scope()
    'outer/inner/'
    """
    return getattr(_state, "scope", "")


def _set_scope(scope):
    _state.scope = scope


class name_scope:
    """A context manager that prefixes the names of variables made inside it.

    >>> with gt.name_scope("layer1") as scope:
    ...     w = gt.Variable(1.0, name="w")
    >>> scope, w.name
    ('layer1/', 'layer1/w:0')
    """

    def __init__(self, name):
        if not isinstance(name, str):
            raise ValueError("name for name_scope must be a string.")
        self._name = name
        self._saved = []  # the scopes to restore, one per active entry (entries may nest)

    @property
    def name(self):
        return self._name

    def __enter__(self) -> str:
        old = current_name_scope()
        if not self._name:
            new = ""
        elif self._name.endswith("/"):
            new = self._name
        else:
            new = old + self._name + "/"
        self._saved.append(old)
        _set_scope(new)
        return new

    def __exit__(self, *exc):
        _set_scope(self._saved.pop())
        return False


# --- variables take the active scope's prefix -------------------------------------------------

_core_variable_init = _core.Variable.__init__


def _variable_init(self, initial_value=None, trainable=None, validate_shape=True, caching_device=None,
                   name=None, variable_def=None, dtype=None, import_scope=None, constraint=None,
                   synchronization=None, aggregation=None, shape=None, **kwargs):
    """gt.Variable(initial_value, trainable=True, name=None, dtype=None); TensorFlow's other
    arguments are accepted and have no effect here (there is one device and no graph)."""
    if kwargs:
        raise TypeError("Variable() got an unexpected keyword argument %r" % next(iter(kwargs)))
    if trainable is None:
        trainable = True
    base = "Variable" if name is None else name
    if not isinstance(base, str):
        raise TypeError("Variable: name must be a string, got %s" % type(base).__name__)
    _core_variable_init(self, initial_value, trainable=trainable, name=current_name_scope() + base,
                        dtype=dtype)
    if shape is not None:
        # (as TensorFlow: the value must fit the shape; None dimensions are accepted, but the
        # variable keeps its value's shape, docs/choices.md)
        from ._shape import TensorShape
        if not TensorShape(shape).is_compatible_with(self.shape):
            raise ValueError("In this `gt.Variable` creation, the initial value's shape (%s) is not compatible with "
                             "the explicitly supplied `shape` argument (%s)." % (tuple(self.shape), TensorShape(shape)))
    if _core._tracing():
        # (after the core's init: an uninitialised Variable would trip whoever finds it later)
        _function._check_variable_creation()
        _function._note_variable_created(self)


_variable_init.__name__ = "__init__"
_core.Variable.__init__ = _variable_init


# --- Module ---------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _camel_to_snake(name):
    # "HTTPServer2" -> "http_server2", "MyModel" -> "my_model"
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def _leaves_with_paths(value, path):
    """(path, leaf) pairs of a nest of lists, tuples and dicts, depth first, dicts by sorted key."""
    out = []
    stack = [(path, value)]
    while stack:
        p, item = stack.pop()
        if isinstance(item, dict):
            try:
                keys = sorted(item)
            except TypeError:
                keys = list(item)
            stack.extend((p + (k,), item[k]) for k in reversed(keys))
        elif isinstance(item, (list, tuple)):
            stack.extend((p + (i,), v) for i, v in reversed(list(enumerate(item))))
        else:
            out.append((p, item))
    return out


class Module:
    """A named container of variables and other modules, as tf.Module: `variables`,
    `trainable_variables` and `submodules` find them through its attributes.

    >>> class Dense(gt.Module):
    ...     def __init__(self, n_in, n_out, name=None):
    ...         super().__init__(name=name)
    ...         with self.name_scope:
    ...             self.w = gt.Variable(gt.ones([n_in, n_out]), name="w")
    ...             self.b = gt.Variable(gt.zeros([n_out]), name="b")
    ...     @gt.Module.with_name_scope
    ...     def __call__(self, x):
    ...         return gt.matmul(x, self.w) + self.b
    >>> layer = Dense(2, 3)
    >>> layer.name, [v.name for v in layer.trainable_variables]
    ('dense', ['dense/b:0', 'dense/w:0'])
    >>> layer(gt.ones([1, 2]))
    <gt.Tensor: shape=(1, 3), dtype=float32, numpy=array([[2., 2., 2.]], dtype=float32)>
    >>> class Model(gt.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.layers = [Dense(2, 3), Dense(3, 1, name="out")]
    >>> [m.name for m in Model().submodules]
    ['dense', 'out']
    """

    # attributes the walk never enters (bookkeeping of this class and of checkpoints)
    _IGNORED = frozenset(("_name", "_scope_name", "_name_scope"))

    def __init__(self, name=None):
        if name is None:
            name = _camel_to_snake(type(self).__name__)
        elif not isinstance(name, str) or not _IDENTIFIER.match(name):
            raise ValueError("%r is not a valid module name. Module names must be valid Python "
                             "identifiers (e.g. a valid class name)." % (name,))
        self._name = name
        with name_scope(name) as scope:
            self._scope_name = scope
        self._name_scope = name_scope(self._scope_name)

    @property
    def name(self) -> str:
        """The module's name (its class name in snake_case unless given).

        >>> gt.Module().name, gt.Module(name="encoder").name
        ('module', 'encoder')
        """
        return self._name

    @property
    def name_scope(self) -> name_scope:
        """A context manager entering this module's scope (the scope it was made in, + name)."""
        return self._name_scope

    @property
    def variables(self) -> Tuple[_core.Variable, ...]:
        """Every gt.Variable reachable from this module's attributes, each once (a tuple)."""
        return tuple(self._flatten(predicate=_is_variable))

    @property
    def trainable_variables(self) -> Tuple[_core.Variable, ...]:
        """The trainable ones of `variables`.

        >>> m = gt.Module()
        >>> m.w, m.count = gt.Variable(1.0), gt.Variable(0, trainable=False)
        >>> [v.numpy().item() for v in m.trainable_variables]
        [1.0]
        """
        return tuple(self._flatten(predicate=lambda v: _is_variable(v) and v.trainable))

    @property
    def non_trainable_variables(self) -> Tuple[_core.Variable, ...]:
        """The non-trainable ones of `variables`.

        >>> m = gt.Module()
        >>> m.w, m.count = gt.Variable(1.0), gt.Variable(0, trainable=False)
        >>> [v.numpy().item() for v in m.non_trainable_variables]
        [0]
        """
        return tuple(self._flatten(predicate=lambda v: _is_variable(v) and not v.trainable))

    @property
    def submodules(self) -> Tuple[Module, ...]:
        """Every Module reachable from this one's attributes (not itself), each once."""
        return tuple(self._flatten(predicate=lambda m: isinstance(m, Module)))

    def _flatten(self, recursive=True, predicate=None, with_path=False):
        """The values reachable from this module's attributes for which `predicate` is true,
        in tf.Module's order; with `with_path`, (path, value) pairs where path is a tuple of
        attribute names, list indices and dict keys (then objects reached by two paths are
        reported under each)."""
        predicate = predicate or (lambda _: True)
        return self._flatten_into(predicate, with_path, recursive, (), {id(self)}, set())

    def _flatten_into(self, predicate, with_path, recursive, mpath, seen, visiting):
        out = []
        found = []
        visiting.add(id(self))
        attrs = vars(self)
        for key in sorted(attrs):
            if key in Module._IGNORED or key.startswith("_self_"):
                continue
            for lpath, leaf in _leaves_with_paths(attrs[key], (key,)):
                if not with_path:
                    if id(leaf) in seen:
                        continue
                    seen.add(id(leaf))
                if predicate(leaf):
                    out.append((mpath + lpath, leaf) if with_path else leaf)
                if recursive and isinstance(leaf, Module) and id(leaf) not in visiting:
                    found.append((mpath + lpath, leaf))
        for sub_path, sub in found:
            out.extend(sub._flatten_into(predicate, with_path, recursive, sub_path, seen, visiting))
        visiting.discard(id(self))
        return out

    def __setattr__(self, key, value):
        object.__setattr__(self, key, value)
        if key not in Module._IGNORED:
            # a checkpoint restored before this attribute existed may hold values for it
            _restore.dependency_added(self)

    @classmethod
    def with_name_scope(cls, method):
        """Decorates a method so that it runs inside its module's name scope."""
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            with self.name_scope:
                return method(self, *args, **kwargs)
        return wrapper


def _is_variable(v):
    return isinstance(v, _core.Variable)
