"""gt.saved_model: a Module's traced functions and variables as a directory that loads and runs
with no Python source, as tf.saved_model (docs/saved-model.md).

`save(obj, export_dir)` writes the concrete functions of the gt.functions reachable as
attributes of `obj` (each program traced so far, and the `input_signature`'s when a function has
one) to `export_dir/saved_model.txt` (a versioned text format) and `constants.bin`, and the
variables those programs use, with `obj`'s own, to `export_dir/variables/variables.npz` in the
checkpoint format. `load(export_dir)` reads them back (the core's reader, the same one that
`gt::load_saved_model` is in C++) into an object whose attributes are the loaded functions,
callable with tensors, and whose `variables` are the restored variables. A loaded function runs
the saved program: the same C++ ops eager code runs, so a GradientTape around a call records it,
and a saved training step keeps training the loaded variables.

A program is specialised to the shapes it was traced with, or shared across the sizes of None
dimensions (docs/guides/function.md, "One program for all sizes": saved with -1 dimensions and
its shape guards): a loaded function takes the input dtypes and shapes it was traced for; other
inputs raise ValueError, as a TensorFlow function loaded from a SavedModel does when no concrete
function matches (it cannot trace again without the Python source).
"""
from __future__ import annotations

import collections
import functools
import json
import warnings
import os
from typing import Any, Dict, List

import numpy as np

from . import _core, nest
from ._errors import DataLossError, NotFoundError
from ._function import ConcreteFunction, Function, _Output
from .module import Module
from .specs import TensorSpec

__all__ = ["save", "load", "contains_saved_model", "SaveOptions", "LoadOptions",
           "DEFAULT_SERVING_SIGNATURE_DEF_KEY", "VARIABLES_DIRECTORY", "VARIABLES_FILENAME"]

DEFAULT_SERVING_SIGNATURE_DEF_KEY = "serving_default"
VARIABLES_DIRECTORY = "variables"
VARIABLES_FILENAME = "variables"
PROGRAM_FILE = "saved_model.txt"
VARIABLES_PREFIX = os.path.join("variables", "variables")
_META_FORMAT = 1


class SaveOptions:
    """Options for gt.saved_model.save (tf.saved_model.SaveOptions): accepted; only
    `experimental_custom_gradients` changes what is written (False: the gradient functions of
    gt.custom_gradient calls are not saved, and differentiating such a call of the loaded
    function raises LookupError, as a TensorFlow model saved so does in another process).

    >>> gt.saved_model.SaveOptions().namespace_whitelist
    """

    def __init__(self, namespace_whitelist=None, save_debug_info=False, function_aliases=None,
                 experimental_io_device=None, experimental_variable_policy=None,
                 experimental_custom_gradients=True, experimental_image_format=False,
                 experimental_skip_saver=False, experimental_sharding_callback=None,
                 extra_tags=None):
        self.namespace_whitelist = namespace_whitelist
        self.save_debug_info = save_debug_info
        self.function_aliases = function_aliases
        self.experimental_io_device = experimental_io_device
        self.experimental_custom_gradients = experimental_custom_gradients


class LoadOptions:
    """Options for gt.saved_model.load (tf.saved_model.LoadOptions): accepted; none changes
    what is loaded.

    >>> gt.saved_model.LoadOptions().allow_partial_checkpoint
    False
    """

    def __init__(self, allow_partial_checkpoint=False, experimental_io_device=None,
                 experimental_skip_checkpoint=False, experimental_variable_policy=None,
                 experimental_load_function_aliases=False):
        self.allow_partial_checkpoint = allow_partial_checkpoint
        self.experimental_io_device = experimental_io_device


# --- describing Python structures as JSON ---------------------------------------------------

def _describe(x, tensor_index, depth=0):
    """A JSON-able description of a nest whose leaves are tensors (numbered by tensor_index, a
    one-element list counting them in nest.flatten's order) or Python values."""
    if depth > _MAX_DESC_DEPTH:
        raise ValueError("gt.saved_model.save: arguments or results nested deeper than %d, more than a saved "
                         "model holds" % _MAX_DESC_DEPTH)
    if isinstance(x, _Output):
        return {"k": "out", "i": x.index}
    if isinstance(x, (_core.Tensor, TensorSpec)):
        i = tensor_index[0]
        tensor_index[0] += 1
        return {"k": "t", "i": i}
    if isinstance(x, _core.Variable):
        raise ValueError("gt.saved_model.save: a traced function takes a gt.Variable as an argument; a saved "
                         "function takes tensors (capture the variable in the function instead)")
    if isinstance(x, dict):
        keys = sorted(x, key=repr)
        for k in keys:
            if not isinstance(k, str):
                raise ValueError("gt.saved_model.save: dict keys of arguments and results must be strings, got %r" % (k,))
        return {"k": "dict", "keys": keys, "v": [_describe(x[k], tensor_index, depth + 1) for k in keys]}
    if isinstance(x, tuple) and hasattr(x, "_fields"):  # a namedtuple: loaded as one of the same name and fields
        return {"k": "namedtuple", "name": type(x).__name__, "fields": list(x._fields),
                "v": [_describe(v, tensor_index, depth + 1) for v in x]}
    if isinstance(x, (list, tuple)):
        return {"k": "list" if isinstance(x, list) else "tuple", "v": [_describe(v, tensor_index, depth + 1) for v in x]}
    if x is None or isinstance(x, (bool, int, float, str)):
        if isinstance(x, float) and not np.isfinite(x):
            return {"k": "float", "v": repr(x)}
        return {"k": "v", "v": x}
    raise ValueError("gt.saved_model.save: cannot save the Python value %r of a traced function's arguments or "
                     "results (tensors, None, bool, int, float, str, and lists, tuples and dicts of them can be)" % (x,))


_MAX_DESC_DEPTH = 100  # (nesting of arguments and results: what a load checks, _check_desc)
_DESC_KINDS = {"out", "t", "dict", "list", "tuple", "namedtuple", "float", "v"}


def _check_desc(desc, n_tensors, depth=0):
    """Raises ValueError unless desc is what _describe writes (its tensor indices below
    n_tensors; an "out" index is checked against the program's outputs when it runs)."""
    if depth > _MAX_DESC_DEPTH:
        raise ValueError("arguments or results nested deeper than %d" % _MAX_DESC_DEPTH)
    if not isinstance(desc, dict) or desc.get("k") not in _DESC_KINDS:
        raise ValueError("not a description of a value: %.80r" % (desc,))
    k = desc["k"]
    if k in ("out", "t"):
        i = desc.get("i")
        if type(i) is not int or i < 0 or (k == "t" and i >= n_tensors):
            raise ValueError("a tensor index %r out of range" % (i,))
        return
    v = desc.get("v")
    if k in ("dict", "list", "tuple", "namedtuple"):
        if not isinstance(v, list):
            raise ValueError("a %s description without its values" % k)
        if k == "namedtuple":
            fields = desc.get("fields")
            if not isinstance(fields, list) or len(fields) != len(v) or not isinstance(desc.get("name"), str):
                raise ValueError("a namedtuple description whose fields do not match its values")
            _namedtuple_class(desc)  # (ValueError for names that are not identifiers)
        if k == "dict":
            keys = desc.get("keys")
            if not isinstance(keys, list) or len(keys) != len(v) or not all(isinstance(x, str) for x in keys):
                raise ValueError("a dict description whose keys do not match its values")
        for x in v:
            _check_desc(x, n_tensors, depth + 1)
    elif k == "float":
        float(v)  # (ValueError or TypeError when it is no float's repr)
    elif not (v is None or isinstance(v, (bool, int, float, str))):
        raise ValueError("a Python value of type %s" % type(v).__name__)


@functools.lru_cache(maxsize=256)
def _namedtuple_type(name, fields):
    return collections.namedtuple(name, fields, rename=True)  # (a field a rename=True class has: _1)


def _namedtuple_class(desc):
    """A namedtuple class of desc's name and fields (one per name and fields: equal results of
    two calls have the same type)."""
    return _namedtuple_type(desc["name"], tuple(desc["fields"]))


def _check_meta(fmeta, concretes):
    if not isinstance(fmeta, dict) or not isinstance(fmeta.get("params", []), list) or \
            not all(isinstance(p, str) for p in fmeta.get("params", [])):
        raise ValueError("a function's description is not what gradtape writes")
    for c in concretes:
        m = c.meta
        if not isinstance(m, dict) or not isinstance(m.get("args"), list) or not isinstance(m.get("kwargs"), dict):
            raise ValueError("a program's description is not what gradtape writes")
        for d in list(m["args"]) + list(m["kwargs"].values()):
            _check_desc(d, len(c.specs))
        _check_desc(m.get("out"), 0)


def _build(desc, leaves):
    k = desc["k"]
    if k in ("out", "t"):
        if desc["i"] >= len(leaves):
            raise DataLossError("saved model: a result names output %d of a program of %d" % (desc["i"], len(leaves)))
        return leaves[desc["i"]]
    if k == "dict":
        return {key: _build(v, leaves) for key, v in zip(desc["keys"], desc["v"])}
    if k == "list":
        return [_build(v, leaves) for v in desc["v"]]
    if k == "tuple":
        return tuple(_build(v, leaves) for v in desc["v"])
    if k == "namedtuple":
        return _namedtuple_class(desc)(*[_build(v, leaves) for v in desc["v"]])
    if k == "float":
        return float(desc["v"])
    return desc["v"]


def _match(desc, value, specs, out):
    """Whether the call's `value` matches `desc` (tensors: their traced dtype and shape, converted
    from NumPy or Python values; Python values: equal); fills out[i] with the i-th tensor."""
    k = desc["k"]
    if k == "t":
        dtype, shape = specs[desc["i"]]
        if isinstance(value, _core.Variable):
            value = value.read_value()
        if not isinstance(value, _core.Tensor):
            if value is None or isinstance(value, (str, dict)):
                return False
            try:
                value = _core.convert_to_tensor(value, dtype=dtype)
            except (TypeError, ValueError):
                return False
        if value.dtype.name != dtype or len(value.shape) != len(shape) or any(
                d is not None and d != n for d, n in zip(shape, value.shape)):
            return False
        out[desc["i"]] = value
        return True
    if k == "dict":
        return isinstance(value, dict) and sorted(value, key=repr) == desc["keys"] and all(
            _match(d, value[key], specs, out) for key, d in zip(desc["keys"], desc["v"]))
    if k in ("list", "tuple", "namedtuple"):
        return isinstance(value, (list, tuple)) and len(value) == len(desc["v"]) and all(
            _match(d, v, specs, out) for d, v in zip(desc["v"], value))
    want = float(desc["v"]) if k == "float" else desc["v"]
    if isinstance(value, (_core.Tensor, np.ndarray)):
        return False
    return type(value) is type(want) and (value == want or (isinstance(want, float) and want != want and value != value))


# --- saving ---------------------------------------------------------------------------------

def _functions_of(obj, prefix=""):
    """[(dotted attribute name, gt.function bound to obj)] for obj and its submodules' attributes."""
    found = []

    def visit(o, pre, depth, ancestors=frozenset()):
        # (a module reached by two paths, `self.first` and `self.layers[0]`, is saved under
        # both, as TensorFlow; only a cycle stops)
        if id(o) in ancestors or depth > 8:
            return
        ancestors = ancestors | {id(o)}
        names = set(vars(o)) if hasattr(o, "__dict__") else set()
        for cls in type(o).__mro__:
            names.update(k for k, v in vars(cls).items() if isinstance(v, Function))
        for name in sorted(names):
            if name.startswith("__") and name != "__call__":
                continue
            try:
                value = getattr(o, name)
            except Exception:  # (a property that fails: not ours to save)
                continue
            if isinstance(value, (Function, _LoadedFunction)):
                found.append((pre + name, value))
            elif name.startswith("_"):
                continue
            else:
                visit_item(value, pre + name, depth, ancestors)

    def visit_item(value, path, depth, ancestors):
        if isinstance(value, (Module, _LoadedObject)):
            visit(value, path + ".", depth + 1, ancestors)
        elif isinstance(value, (list, tuple, dict)) and depth <= 8:
            # submodules in a list or dict (`self.layers = [Dense(), Dense()]`, nested too):
            # saved as layers.0.f, loaded as loaded.layers[0].f (a key holding a dot is skipped)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if "." not in str(key):
                    visit_item(item, "%s.%s" % (path, key), depth + 1, ancestors)

    visit(obj, prefix, 0)
    return found


def _concretes_of(function):
    """[(traced input specs [(dtype name, shape)], ConcreteFunction, shape_polymorphic)] of a
    gt.function: every program it traced, and its input_signature's (traced now) when it has one
    and none yet. A program shared across sizes (docs/guides/function.md, "One program for all
    sizes") is saved once, with None for the dimensions it serves every size of, after the
    programs for exact shapes (a loaded function tries them in order)."""
    if function.input_signature is not None:
        # (runs nothing but its Python code, _function._TraceOnly: traces what no call traced yet,
        # and a second size of None dimensions, so that one program for every size is saved; a
        # function whose code fails at the placeholder sizes, 2 and 3, a 5x5 VALID convolution
        # say, is saved with the programs its calls traced)
        try:
            function.get_concrete_function()
        except Exception as e:  # noqa: BLE001
            if not function._cache:
                raise
            warnings.warn("gt.saved_model.save: %s: tracing its input_signature at sizes 2 and 3 of its None "
                          "dimensions raised %s: %s; it is saved with the programs its calls traced"
                          % (function._name, type(e).__name__, e), stacklevel=3)
    shared = {}
    for entries in function._families.values():
        for e in entries:
            if e.vary is not None:
                shared[id(e.concrete)] = e
    out, last = [], []
    for key, concrete in list(function._cache.items()):
        e = shared.get(id(concrete))
        if e is None:
            specs = [(part[1].name, list(part[2])) for part in key[0] if part[0] == "tensor"]
            out.append((specs, concrete, False))
        elif e not in [x for _, _, x in last]:
            specs = [(t.dtype.name, [None if d in v else n for d, n in enumerate(shape)])
                     for t, shape, v in zip(concrete.inputs, e.shapes, e.vary)]
            last.append((specs, concrete, e))
    return out + [(specs, concrete, True) for specs, concrete, _ in last]


def _concrete_meta(concrete, specs):
    args, kwargs = concrete.structured_input_signature
    count = [0]
    desc_args = [_describe(a, count) for a in args]
    desc_kwargs = {k: _describe(v, count) for k, v in sorted(kwargs.items())}
    if count[0] != len(specs):
        raise ValueError("gt.saved_model.save: %s: the traced arguments hold %d tensors for %d program inputs"
                         % (concrete._function._name, count[0], len(specs)))
    return {"args": desc_args, "kwargs": desc_kwargs, "out": _describe(concrete._structure, [0])}


def _variables_to_save(obj, program_variables):
    """({checkpoint path: variable}, aliases): obj's own variables by their object-graph paths (as
    gt.train.Checkpoint(obj) names them), then the others the programs use (an optimizer's slots
    not reachable from obj, a global variable) under "_captured/<n>"."""
    from .train import checkpoint as ckpt
    paths, _, aliases = ckpt._walk(obj)
    by_id = {id(v): p for p, v in paths.items()}
    out = dict(paths)
    n = 0
    for v in program_variables:
        if id(v) not in by_id:
            p = "_captured/%d" % n
            n += 1
            out[p] = v
            by_id[id(v)] = p
    return out, aliases, by_id


def _signature_function(value, name):
    if isinstance(value, ConcreteFunction):
        return value._function, value
    if isinstance(value, Function):
        if value.input_signature is None:
            raise ValueError("gt.saved_model.save: signature %r is a gt.function with no input_signature; pass "
                             "f.get_concrete_function(...) or give it an input_signature" % name)
        return value, value.get_concrete_function()
    raise ValueError("gt.saved_model.save: signature %r must be a gt.function with an input_signature or a "
                     "ConcreteFunction, got %r" % (name, value))


def save(obj, export_dir, signatures=None, options=None) -> None:
    """Saves obj's traced functions and variables to the directory export_dir.

    Every gt.function reachable as an attribute of obj (and of its submodules) is saved with
    each program it has traced, plus its input_signature's program if it has one; its
    variables, with those the programs use (optimizer slots included, so that a saved training
    step keeps training), are saved in the checkpoint format. A function that calls Python at
    run time (gt.print, gt.py_function, gt.numpy_function) cannot be saved: ValueError naming
    the step (TensorFlow saves such a function and fails when the model is loaded elsewhere).

    Args:
      obj: A gt.Module (or any object with gt.function attributes and variables).
      export_dir: The directory to write (made if needed; its files are replaced).
      signatures: None, a gt.function with an input_signature, a ConcreteFunction, or a dict of
        them by signature name (a single one is named "serving_default"); the loaded object's
        `.signatures`.
      options: A gt.saved_model.SaveOptions (its experimental_custom_gradients is read).

    >>> import tempfile
    >>> class Scale(gt.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = gt.Variable(3.0)
    ...     @gt.function(input_signature=[gt.TensorSpec([2], gt.float32)])
    ...     def __call__(self, x):
    ...         return self.w * x
    >>> path = tempfile.mkdtemp()
    >>> gt.saved_model.save(Scale(), path)
    >>> gt.saved_model.load(path)(gt.constant([1.0, 2.0])).numpy()
    array([3., 6.], dtype=float32)
    """
    custom_gradients = True if options is None else bool(getattr(options, "experimental_custom_gradients", True))
    export_dir = os.fspath(export_dir)
    functions = _functions_of(obj)
    sig_map = {}
    if signatures is not None:
        if not isinstance(signatures, dict):
            signatures = {DEFAULT_SERVING_SIGNATURE_DEF_KEY: signatures}
        for name, value in signatures.items():
            if not isinstance(name, str):
                raise ValueError("gt.saved_model.save: signature names must be strings, got %r" % (name,))
            sig_map[name] = _signature_function(value, name)
    writer = _core._SavedModelWriter()
    writer.set_custom_gradients(custom_gradients)
    from .train import checkpoint as ckpt
    own, _, _ = ckpt._walk(obj)
    for v in own.values():
        writer.add_variable(v)
    entries = [(name, f, None) for name, f in functions]
    entries += [("__signature__/" + name, f, c) for name, (f, c) in sorted(sig_map.items())]
    if signatures is None and isinstance(obj, _LoadedObject):  # (a loaded model keeps its signatures)
        entries += [("__signature__/" + name, sf._function, None) for name, sf in sorted(obj.signatures.items())]
        sig_map = {name: None for name in obj.signatures}
    for name, f, only in entries:
        if isinstance(f, _LoadedFunction):  # (a loaded model saved again: its programs as they are)
            writer.add_function(name, json.dumps({"params": f._params, "python_name": f.__name__}))
            for c in f._concretes:
                polymorphic = any(d is None for _, shape in c.specs for d in shape)
                writer.add_concrete(c.specs, c.program, json.dumps(c.meta), polymorphic)
            continue
        params = list(f._sig.parameters)
        writer.add_function(name, json.dumps({"params": params, "python_name": f._name}))
        concretes = _concretes_of(f)
        if only is not None:
            concretes = [(s, c, p) for s, c, p in concretes if c._program is only._program]
        for specs, concrete, polymorphic in concretes:
            meta = _concrete_meta(concrete, specs)
            try:
                writer.add_concrete(specs, concrete._program, json.dumps(meta), polymorphic)
            except ValueError as e:
                raise ValueError("gt.saved_model.save: function %s: %s" % (name, e)) from None
    variables = writer.variables()
    paths, aliases, by_id = _variables_to_save(obj, variables)
    os.makedirs(os.path.join(export_dir, "variables"), exist_ok=True)
    index = ckpt._write_variables(os.path.join(export_dir, VARIABLES_PREFIX), paths, aliases)
    keys = [by_id[id(v)] + ckpt.VALUE_SUFFIX for v in variables]
    members = [index[k]["member"] for k in keys]
    meta = {"format": _META_FORMAT, "signatures": sorted(sig_map)}
    writer.write(export_dir, keys, members, json.dumps(meta))


# --- loading --------------------------------------------------------------------------------

def contains_saved_model(export_dir) -> bool:
    """Whether export_dir holds a saved model (its program file).

    >>> gt.saved_model.contains_saved_model("/no/such/dir")
    False
    """
    return os.path.isfile(os.path.join(os.fspath(export_dir), PROGRAM_FILE))


class _LoadedConcrete:
    __slots__ = ("specs", "program", "meta")

    def __init__(self, specs, program, meta):
        self.specs, self.program, self.meta = specs, program, meta


class _LoadedFunction:
    """A function loaded from a saved model: its saved programs, one per traced input signature.

    Calling it picks the program whose inputs match the arguments (dtypes and shapes; Python
    arguments by value) and runs it; ValueError if none does (it cannot trace again).
    """

    def __init__(self, name, meta, concretes):
        self.__name__ = name.rsplit(".", 1)[-1]
        self._name = name
        self._params = meta.get("params", [])
        self._concretes = concretes

    @property
    def concrete_signatures(self) -> List[List[TensorSpec]]:
        """The TensorSpecs of each saved program's tensor inputs."""
        return [[TensorSpec(shape, dtype) for dtype, shape in c.specs] for c in self._concretes]

    def _bind(self, args, kwargs):
        if len(args) > len(self._params):
            raise TypeError("%s() takes %d arguments, got %d" % (self._name, len(self._params), len(args)))
        values = dict(zip(self._params, args))
        for k, v in kwargs.items():
            if k in values:
                raise TypeError("%s() got multiple values for argument %r" % (self._name, k))
            values[k] = v
        return values

    def _find(self, args, kwargs):
        """[(concrete function, its input tensors)] for the call, in order (the first whose
        shape guards hold runs); ValueError if none matches."""
        values = self._bind(args, kwargs)
        found = []
        for c in self._concretes:
            tensors = [None] * len(c.specs)
            ok = True
            positional = c.meta["args"]
            names = self._params[:len(positional)]
            for name, desc in zip(names, positional):
                if name in values:
                    ok = _match(desc, values[name], c.specs, tensors)
                else:  # (a default the trace used: a Python value, or no tensor)
                    ok = desc["k"] in ("v", "float")
                if not ok:
                    break
            if ok:
                extra = set(values) - set(names)
                for name in extra:
                    desc = c.meta["kwargs"].get(name)
                    if desc is None or not _match(desc, values[name], c.specs, tensors):
                        ok = False
                        break
            if ok and all(t is not None for t in tensors):
                found.append((c, tensors))
        if found:
            return found
        got = ", ".join([_describe_value(a) for a in args] + ["%s=%s" % (k, _describe_value(v)) for k, v in kwargs.items()])
        options = "\n".join("  Option %d: (%s)" % (i + 1, ", ".join(repr(s) for s in specs))
                            for i, specs in enumerate(self.concrete_signatures))
        raise ValueError("Could not find matching concrete function to call loaded from the SavedModel. "
                         "Got: %s(%s)\nExpected the tensor inputs of one of the following %d option(s):\n%s"
                         % (self._name, got, len(self._concretes), options or "  (none: the function was never "
                            "traced before it was saved, and it has no input_signature)"))

    def __call__(self, *args, **kwargs):
        for c, tensors in self._find(args, kwargs):
            outs = c.program.try_run(tensors)
            if outs is not None:  # (None: a program saved for other sizes failed a shape guard)
                return _build(c.meta["out"], outs)
        raise ValueError("%s: the saved programs that take these inputs' shapes read a size of a tensor that "
                         "differs here (a shape guard failed before any effect), so none can run this call; "
                         "call the function at this size before saving it" % self._name)

    def __repr__(self):
        return "<gt.saved_model function %s>" % self._name


def _describe_value(v):
    if isinstance(v, _core.Tensor):
        return "Tensor(dtype=%s, shape=%s)" % (v.dtype.name, tuple(v.shape))
    if isinstance(v, np.ndarray):
        return "ndarray(dtype=%s, shape=%s)" % (v.dtype.name, v.shape)
    return repr(v)


class _SignatureFunction:
    """A signature of a loaded model: called with keyword arguments (the Python function's
    parameter names); returns a dict of its outputs (a result that is not a dict has its
    tensors named output_0, output_1, ...), as TensorFlow's signatures."""

    def __init__(self, function):
        self._function = function

    def __call__(self, *args, **kwargs):
        result = self._function(*args, **kwargs)
        if isinstance(result, dict):
            return result
        flat = [x for x in nest.flatten(result) if isinstance(x, _core.Tensor)]
        return {"output_%d" % i: t for i, t in enumerate(flat)}

    @property
    def structured_input_signature(self):
        return self._function.concrete_signatures[0] if self._function._concretes else []


class _LoadedObject:
    """What gt.saved_model.load returns: the loaded functions as attributes (a submodule's under
    its attribute name), `variables`, `trainable_variables`, and `signatures`."""

    def __init__(self):
        self.signatures: Dict[str, Any] = {}

    def _checkpoint_dependencies(self):
        # (the checkpoint protocol, train/checkpoint.py: the variables under the paths they were
        # saved with, so that saving a loaded model again, or a Checkpoint of it, keeps the keys)
        tree: Dict[str, Any] = {}
        for key, v in self.__dict__.get("_variable_keys", {}).items():
            parts = key.split("/.ATTRIBUTES/")[0].split("/")
            node = tree
            for p in parts[:-1]:
                node = node.setdefault(p, {})
                if not isinstance(node, dict):
                    break
            else:
                node[parts[-1]] = v
        return tree

    def __getitem__(self, key):
        # (a saved module's submodules held in a list or a dict: loaded.layers[0], loaded.layers[-1],
        # loaded.blocks["a"])
        if isinstance(key, int) and not isinstance(key, bool) and key < 0:
            n = 0
            while str(n) in self.__dict__:
                n += 1
            key += n
        value = self.__dict__.get(str(key)) if isinstance(key, (int, str)) and not isinstance(key, bool) else None
        if not isinstance(value, (_LoadedObject, _LoadedFunction)):
            raise (IndexError if isinstance(key, int) else KeyError)(key)
        return value

    def __call__(self, *args, **kwargs):
        f = self.__dict__.get("__call__")
        if f is None:
            raise TypeError("this loaded object has no __call__ function (its saved object was not callable)")
        return f(*args, **kwargs)

    def __repr__(self):
        fns = sorted(k for k, v in vars(self).items() if isinstance(v, (_LoadedFunction, _LoadedObject)))
        return "<gt.saved_model loaded object: %s>" % ", ".join(fns)


def _set_path(root, dotted, value):
    parts = dotted.split(".")
    o = root
    for p in parts[:-1]:
        nxt = o.__dict__.get(p)
        if not isinstance(nxt, _LoadedObject):
            nxt = _LoadedObject()
            o.__dict__[p] = nxt
        o = nxt
    o.__dict__[parts[-1]] = value


def load(export_dir, tags=None, options=None):
    """Loads a directory written by gt.saved_model.save.

    Returns an object whose attributes are the saved functions (callable with tensors, NumPy
    arrays or Python values of the traced dtypes and shapes), with `variables` and
    `trainable_variables` (the restored variables, shared by its functions) and `signatures`.
    The functions run the saved programs: no Python source of the saved module is needed, a
    GradientTape around a call differentiates it, and a saved training step trains the loaded
    variables.

    Raises:
      OSError: (gt.errors.NotFoundError) export_dir holds no saved model.
      gt.errors.DataLossError: a file is truncated, corrupt, or of a newer format version.

    >>> import tempfile
    >>> m = gt.Module()
    >>> m.v = gt.Variable([1.0, 2.0])
    >>> m.total = gt.function(lambda: gt.reduce_sum(m.v), input_signature=[])
    >>> path = tempfile.mkdtemp()
    >>> gt.saved_model.save(m, path)
    >>> loaded = gt.saved_model.load(path)
    >>> float(loaded.total()), loaded.variables[0].numpy()
    (3.0, array([1., 2.], dtype=float32))
    """
    del tags, options
    export_dir = os.fspath(export_dir)
    if not os.path.isfile(os.path.join(export_dir, PROGRAM_FILE)):
        raise NotFoundError("SavedModel file does not exist at: %s (no %s)" % (export_dir, PROGRAM_FILE))
    try:
        sm = _core._load_saved_model(export_dir)
    except _core._DataLoss as e:
        raise DataLossError(str(e)) from None
    except _core._NotFound as e:
        raise NotFoundError(str(e)) from None
    try:
        meta = json.loads(sm.meta)
        root = _LoadedObject()
        signatures = {}
        for name, fmeta, concretes in sm.functions():
            fmeta = json.loads(fmeta)
            concretes = [_LoadedConcrete(specs, program, json.loads(cmeta)) for specs, program, cmeta in concretes]
            _check_meta(fmeta, concretes)
            loaded = _LoadedFunction(name, fmeta, concretes)
            if name.startswith("__signature__/"):
                signatures[name[len("__signature__/"):]] = _SignatureFunction(loaded)
            else:
                _set_path(root, name, loaded)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        raise DataLossError("saved model %s: its Python metadata is corrupt: %s" % (export_dir, e)) from None
    del meta
    variables = tuple(sm.variables())
    keys = sm.variable_keys()
    root.signatures = signatures
    root.variables = variables
    root.trainable_variables = tuple(v for v in variables if v.trainable)
    root.non_trainable_variables = tuple(v for v in variables if not v.trainable)
    root._variable_keys = dict(zip(keys, variables))
    # A variable that is a direct attribute of the saved object is one here too (`loaded.v`).
    for key, v in zip(keys, variables):
        path = key.split("/.ATTRIBUTES/")[0]
        if "/" not in path and not path.startswith("_") and path not in root.__dict__:
            root.__dict__[path] = v
    return root
