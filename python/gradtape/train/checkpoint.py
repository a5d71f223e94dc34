"""gt.train.Checkpoint: saving and restoring variables by the object graph, as tf.train.Checkpoint.

The object graph
----------------
A checkpoint saves the variables reachable from the objects given to `Checkpoint(**objects)`,
each under the path of attribute names, list indices and dict keys that first reaches it in
breadth-first order, e.g. `model/layers/0/w/.ATTRIBUTES/VARIABLE_VALUE` (TensorFlow's key
names). Restoring walks the live objects the same way and matches paths, so a checkpoint
restores into any program that builds the same structure, whatever the variables are named.
An object reached by a second path is saved once; the second path is recorded as an alias.

What is trackable (the protocol; an optimizer implements one of these):
  - a gt.Variable (a leaf),
  - a gt.Module (its attributes: variables, modules, other trackables, and lists, tuples and
    dicts of them, by attribute name in sorted order),
  - a gt.train.Checkpoint (its keyword objects, sorted, and its `save_counter`),
  - any object with a method `_checkpoint_dependencies()` returning a dict (or a list of
    (name, object) pairs) of its trackable children; values may be nested lists/dicts,
  - otherwise any object with a `variables` attribute (a list or tuple, or a method returning
    one): its children are named "variables/0", "variables/1", ...

Deferred restoration: a saved value whose variable does not exist yet when `restore()` runs
waits (gradtape/_restore.py) and is assigned when the variable appears: automatically for
attributes assigned on a gt.Module or a Checkpoint; an object using `_checkpoint_dependencies`
or `variables` calls `gt.train.restore_deferred(self)` after it creates variables (an optimizer
after it makes its slots). Slots should be named by something stable across runs, such as the
index of their model variable in the optimizer's variable list, e.g.
`{"iterations": it, "m": {"0": m0, "1": m1}, "v": {...}}`.

The file format
---------------
A checkpoint `prefix` is one file `prefix.npz`: a zip archive (stored, not compressed) of
NumPy .npy members, one per variable, and a JSON index member `gradtape_index.json` (format
name, version, each key's member, dtype and shape, and the alias table). It is NumPy's own
documented .npz format (`np.load("prefix.npz")` opens it; the index is read as bytes), needs
no dependency, keeps arrays byte-exact, and the zip's CRC-32 per member detects corruption.
A directory's `checkpoint` file is a JSON state: the latest checkpoint and the ones kept.

Crash safety: a checkpoint is written to a temporary file in its directory, flushed and
fsync'ed, then renamed over its final name (atomic on POSIX), and the directory fsync'ed; only
then is the state file rewritten, the same way. A kill at any moment leaves the previous latest
checkpoint intact and named in the state file. Reading checks the whole file (index, every
member's CRC, dtype and shape) before assigning any variable, so a truncated, corrupt or
foreign file raises gt.errors.DataLossError and restores nothing.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import time
import zipfile
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .. import _core, _function, _restore
from .._errors import DataLossError, NotFoundError
from ..module import Module

__all__ = ["Checkpoint", "CheckpointLoadStatus", "latest_checkpoint", "list_variables",
           "load_variable", "restore_deferred", "get_checkpoint_state"]

FORMAT = "gradtape-checkpoint"
VERSION = 1
INDEX_MEMBER = "gradtape_index.json"
SUFFIX = ".npz"
VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
STATE_FILE = "checkpoint"


# --- the object graph ----------------------------------------------------------------------

def _is_variable(x):
    return isinstance(x, _core.Variable)


def _is_trackable(x):
    if isinstance(x, (_core.Variable, Module, Checkpoint)):
        return True
    if isinstance(x, (_core.Tensor, type)):
        return False
    if callable(getattr(x, "_checkpoint_dependencies", None)):
        return True
    try:
        v = getattr(x, "variables", None)
    except Exception:
        return False
    return isinstance(v, (list, tuple)) or callable(v)


def _escape(segment):
    return str(segment).replace("%", "%25").replace("/", "%2F")


def _nested_children(value, prefix):
    """(name, trackable) pairs of a nest of lists/tuples/dicts, names joined with "/"."""
    out = []
    stack = [(prefix, value)]
    while stack:
        name, item = stack.pop()
        if isinstance(item, dict):
            try:
                keys = sorted(item)
            except TypeError:
                keys = list(item)
            stack.extend((name + [_escape(k)], item[k]) for k in reversed(keys))
        elif isinstance(item, (list, tuple)):
            stack.extend((name + [str(i)], v) for i, v in reversed(list(enumerate(item))))
        elif _is_trackable(item):
            out.append(("/".join(name), item))
    return out


def _children(obj):
    """The named trackable children of `obj`, in the walk's order."""
    if isinstance(obj, _core.Variable):
        return []
    if isinstance(obj, Checkpoint):
        return obj._checkpoint_children()
    if isinstance(obj, Module):
        attrs = vars(obj)
        out = []
        for key in sorted(attrs):
            if key in Module._IGNORED:
                continue
            out.extend(_nested_children(attrs[key], [_escape(key)]))
        return out
    deps = getattr(obj, "_checkpoint_dependencies", None)
    if callable(deps):
        d = deps()
        items = list(d.items()) if isinstance(d, dict) else list(d)
        out = []
        for name, value in items:
            out.extend(_nested_children(value, [_escape(name)]))
        return out
    v = getattr(obj, "variables", None)
    if callable(v):
        v = v()
    return _nested_children(list(v or ()), ["variables"])


def _walk(root):
    """Breadth-first over the graph from `root`: ({path: variable}, {path: object},
    {alias path: first path}). Each object is entered once."""
    variables, objects, aliases = {}, {"": root}, {}
    seen = {id(root): ""}
    queue = [("", root)]
    while queue:
        nxt = []
        for path, obj in queue:
            for name, child in _children(obj):
                p = name if not path else path + "/" + name
                if id(child) in seen:
                    if seen[id(child)] != p:
                        aliases[p] = seen[id(child)]
                    continue
                seen[id(child)] = p
                if _is_variable(child):
                    variables[p] = child
                else:
                    objects[p] = child
                    nxt.append((p, child))
        queue = nxt
    return variables, objects, aliases


def _resolve(path, saved, aliases):
    """The saved path that a live path corresponds to (through aliases), or None."""
    if path in saved:
        return path
    parts = path.split("/")
    for k in range(len(parts), 0, -1):
        prefix = "/".join(parts[:k])
        if prefix in aliases:
            target = aliases[prefix] + ("/" + "/".join(parts[k:]) if k < len(parts) else "")
            return target if target in saved else None
    return None


# --- files ---------------------------------------------------------------------------------

def _fsync_dir(directory):
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(final, write_fn):
    """Writes through `write_fn(fileobj)` to a temporary file beside `final`, fsyncs it, renames it
    over `final` and fsyncs the directory."""
    directory = os.path.dirname(final) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(final) + ".tmp-", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # (mkstemp makes 0600; a checkpoint is an ordinary file)
        with os.fdopen(fd, "wb") as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _checkpoint_file(prefix):
    prefix = os.fspath(prefix)
    return prefix if prefix.endswith(SUFFIX) else prefix + SUFFIX


def _write_checkpoint(prefix, root):
    variables, _, aliases = _walk(root)
    return _write_variables(prefix, variables, aliases)


def _write_variables(prefix, variables, aliases):
    """Writes {path: variable} as checkpoint `prefix`; returns the index's entries (each key's
    member, dtype and shape). gt.saved_model.save writes its variables with it too."""
    arrays, entries = [], {}
    for i, (path, var) in enumerate(variables.items()):
        a = np.asarray(var.numpy())
        if not a.flags.c_contiguous:
            a = np.array(a, order="C")
        member = "t%d.npy" % i
        entries[path + VALUE_SUFFIX] = {"member": member, "dtype": a.dtype.name, "shape": list(a.shape)}
        arrays.append((member, a))
    index = {"format": FORMAT, "version": VERSION, "tensors": entries, "aliases": aliases}

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
            z.writestr(INDEX_MEMBER, json.dumps(index, sort_keys=True))
            for member, a in arrays:
                with z.open(member, "w", force_zip64=True) as m:
                    np.lib.format.write_array(m, a, allow_pickle=False)

    _atomic_write(_checkpoint_file(prefix), write)
    return entries


def _read_checkpoint(prefix):
    """({key: array}, {alias key: key}) of a checkpoint, fully checked; DataLossError if the
    file is not an intact gradtape checkpoint, NotFoundError if it does not exist."""
    path = _checkpoint_file(prefix)
    if not os.path.isfile(path):
        raise NotFoundError("Failed to find any matching files for %s (no file %s)" % (prefix, path))
    try:
        with zipfile.ZipFile(path) as z:
            try:
                index = json.loads(z.read(INDEX_MEMBER).decode("utf-8"))
            except KeyError:
                raise DataLossError("%s is not a gradtape checkpoint: it has no %s" % (path, INDEX_MEMBER))
            if not isinstance(index, dict) or index.get("format") != FORMAT:
                raise DataLossError("%s is not a gradtape checkpoint (format %r)"
                                    % (path, index.get("format") if isinstance(index, dict) else None))
            if index.get("version") != VERSION:
                raise DataLossError("%s has checkpoint format version %r; this gradtape reads version %d"
                                    % (path, index.get("version"), VERSION))
            tensors = {}
            for key, e in index["tensors"].items():
                a = np.lib.format.read_array(io.BytesIO(z.read(e["member"])), allow_pickle=False)
                if a.dtype.name != e["dtype"] or list(a.shape) != list(e["shape"]):
                    raise DataLossError("%s: tensor %s has dtype %s shape %s, the index says %s %s"
                                        % (path, key, a.dtype.name, list(a.shape), e["dtype"], e["shape"]))
                tensors[key] = a
            aliases = dict(index.get("aliases", {}))
    except DataLossError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, KeyError, ValueError, TypeError,
            OSError, UnicodeDecodeError) as e:
        raise DataLossError("%s is truncated, corrupt or not a gradtape checkpoint: %s: %s"
                            % (path, type(e).__name__, e)) from None
    return tensors, aliases


# --- restoring -----------------------------------------------------------------------------

def _check_assignable(var, array, key):
    if tuple(var.shape) != tuple(array.shape):
        raise ValueError("Received incompatible tensor with shape %s when attempting to restore "
                         "variable with shape %s and name %s (checkpoint key %s)."
                         % (list(array.shape), list(var.shape), var.name, key))
    if var.dtype.as_numpy_dtype != array.dtype:
        raise ValueError("Checkpoint key %s holds %s values; variable %s is %s"
                         % (key, array.dtype.name, var.name, var.dtype.name))


def _restore_into(root, prefix, status):
    tensors, saved_aliases = _read_checkpoint(prefix)
    saved_paths = {k[:-len(VALUE_SUFFIX)]: k for k in tensors if k.endswith(VALUE_SUFFIX)}
    aliases = saved_aliases
    variables, objects, _ = _walk(root)
    plan, used = [], set()
    for path, var in variables.items():
        p = _resolve(path, saved_paths, aliases)
        if p is None:
            continue
        key = saved_paths[p]
        _check_assignable(var, tensors[key], key)
        plan.append((var, tensors[key]))
        used.add(p)
    for var, a in plan:  # every check passed: now assign
        var.assign(a)
    status._matched += len(plan)
    status._keys = set(tensors)
    status._paths = saved_paths
    status._aliases = aliases
    # values with no variable yet wait under the deepest live object on their path
    for p, key in saved_paths.items():
        if p in used:
            continue
        parts = p.split("/")
        for k in range(len(parts) - 1, -1, -1):
            owner_path = "/".join(parts[:k])
            if owner_path in objects:
                _restore.add(objects[owner_path], _restore.Waiting(key, tensors[key], status, owner_path))
                break


def _restore_waiting(owner, entries):
    """Assigns the waiting values (checkpoint key -> Waiting) that `owner`'s subgraph now has
    variables for; a live path is matched as at restore time, through the saved aliases."""
    variables, _, _ = _walk(owner)
    statuses = {}
    for w in entries.values():
        statuses[(id(w.status), w.owner_path)] = (w.status, w.owner_path)
    ready = []
    for rel, var in variables.items():
        for status, owner_path in statuses.values():
            p = _resolve(owner_path + "/" + rel if owner_path else rel, status._paths, status._aliases)
            w = entries.get(status._paths[p]) if p is not None else None
            if w is not None and w.status is status:
                _check_assignable(var, w.value, w.key)
                ready.append((var, w))
    for var, w in ready:
        if w.key in entries:
            # (inside a gt.function's trace, e.g. an optimizer's slots made by its first step,
            # the value is written now, once: as an `assign` it would be a step of the program,
            # resetting the slot at every call)
            _core._assign_untraced(var, w.value)
            _function._note_variable_restored(var)
            w.status._matched += 1
            del entries[w.key]


def restore_deferred(obj) -> None:
    """Assigns to `obj`'s new variables the values a checkpoint restore left waiting for them
    (call after an object that is not a gt.Module creates variables, e.g. optimizer slots).

    >>> import os, tempfile
    >>> class Slots:  # not a gt.Module: it names its variables itself
    ...     def __init__(self):
    ...         self.table = {}
    ...     def _checkpoint_dependencies(self):
    ...         return self.table
    >>> with tempfile.TemporaryDirectory() as d:
    ...     saved = Slots()
    ...     saved.table["m"] = gt.Variable(7.0)
    ...     path = gt.train.Checkpoint(slots=saved).save(os.path.join(d, "ckpt"))
    ...     fresh = Slots()
    ...     status = gt.train.Checkpoint(slots=fresh).restore(path)  # "m" does not exist yet: it waits
    ...     fresh.table["m"] = gt.Variable(0.0)
    ...     gt.train.restore_deferred(fresh)
    >>> float(fresh.table["m"])
    7.0
    """
    _restore.dependency_added(obj)


class CheckpointLoadStatus:
    """What `Checkpoint.restore` returns: assertions about how the checkpoint matched.

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = gt.train.Checkpoint(v=gt.Variable(1.0)).save(os.path.join(d, "ckpt"))
    ...     status = gt.train.Checkpoint(v=gt.Variable(0.0)).restore(path)
    ...     status.assert_consumed() is status
    True
    """

    def __init__(self, checkpoint, save_path):
        self._checkpoint = checkpoint
        self._save_path = save_path
        self._matched = 0
        self._keys = set()
        self._paths = {}
        self._aliases = {}

    def _unmatched_live(self):
        variables, _, _ = _walk(self._checkpoint)
        return [p for p in variables if _resolve(p, self._paths, self._aliases) is None]

    def assert_consumed(self) -> CheckpointLoadStatus:
        """Every value in the checkpoint went to a variable, and every variable got one.

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = gt.train.Checkpoint(a=gt.Variable(1.0), b=gt.Variable(2.0)).save(os.path.join(d, "ckpt"))
        ...     status = gt.train.Checkpoint(a=gt.Variable(0.0)).restore(path)  # nothing takes "b"
        ...     try:
        ...         status.assert_consumed()
        ...     except AssertionError:
        ...         print("b was not used")
        b was not used
        """
        waiting = _restore.waiting_for(self)
        if waiting:
            raise AssertionError("Unresolved object in checkpoint %s: %s (no variable at these "
                                 "paths)" % (self._save_path, sorted(w.key for w in waiting)))
        self.assert_existing_objects_matched()
        return self

    def assert_existing_objects_matched(self) -> CheckpointLoadStatus:
        """Every variable reachable from the checkpoint's objects got a value.

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = gt.train.Checkpoint(a=gt.Variable(1.0), b=gt.Variable(2.0)).save(os.path.join(d, "ckpt"))
        ...     status = gt.train.Checkpoint(a=gt.Variable(0.0)).restore(path)
        ...     status.assert_existing_objects_matched() is status  # every live variable got a value
        True
        """
        missing = self._unmatched_live()
        if missing:
            raise AssertionError("Some objects had attributes which were not restored from %s: %s"
                                 % (self._save_path, missing))
        return self

    def assert_nontrivial_match(self) -> CheckpointLoadStatus:
        """Something was restored, else AssertionError.

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = gt.train.Checkpoint(a=gt.Variable(1.0)).save(os.path.join(d, "ckpt"))
        ...     status = gt.train.Checkpoint(a=gt.Variable(0.0)).restore(path)
        ...     status.assert_nontrivial_match() is status
        True
        """
        if self._matched == 0:
            raise AssertionError("Nothing was restored from %s" % self._save_path)
        return self

    def expect_partial(self) -> CheckpointLoadStatus:
        """Accepts that some values may never be used (no warning is given either way).

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = gt.train.Checkpoint(a=gt.Variable(1.0), b=gt.Variable(2.0)).save(os.path.join(d, "ckpt"))
        ...     status = gt.train.Checkpoint(a=gt.Variable(0.0)).restore(path).expect_partial()
        >>> isinstance(status, gt.train.CheckpointLoadStatus)  # "b" unused, and that is expected
        True
        """
        return self

    def run_restore_ops(self, session=None):
        """Does nothing: restoring is eager (TensorFlow 1's graph-mode call).

        >>> gt.train.Checkpoint().restore(None).run_restore_ops() is None
        True
        """
        return None

    def initialize_or_restore(self, session=None):
        """Does nothing: restoring is eager (TensorFlow 1's graph-mode call).

        >>> gt.train.Checkpoint().restore(None).initialize_or_restore() is None
        True
        """
        return None


class _NothingRestored(CheckpointLoadStatus):
    def assert_consumed(self):
        raise AssertionError("No checkpoint specified (save_path=None); nothing is being restored.")

    def assert_existing_objects_matched(self):
        raise AssertionError("No checkpoint specified (save_path=None); nothing is being restored.")

    assert_nontrivial_match = assert_existing_objects_matched


# --- Checkpoint ----------------------------------------------------------------------------

class Checkpoint:
    """Groups trackable objects for saving and restoring: Checkpoint(model=m, optimizer=opt).

    >>> import os, tempfile
    >>> class Model(gt.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = gt.Variable([1.0, 2.0])
    >>> model = Model()
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ckpt = gt.train.Checkpoint(model=model)
    ...     path = ckpt.save(os.path.join(d, "ckpt"))
    ...     _ = model.w.assign([0.0, 0.0])
    ...     _ = ckpt.restore(path).assert_consumed()
    >>> os.path.basename(path), model.w.numpy()
    ('ckpt-1', array([1., 2.], dtype=float32))
    """

    def __init__(self, root=None, **kwargs):
        object.__setattr__(self, "_deps", {})
        object.__setattr__(self, "_root", None)
        object.__setattr__(self, "_save_counter", None)
        if root is not None:
            if not _is_trackable(root):
                raise ValueError("`Checkpoint` was expecting root to be a trackable object (a "
                                 "gt.Module, gt.Variable, Checkpoint or an object with variables), "
                                 "got %r." % (root,))
            object.__setattr__(self, "_root", root)
        for k, v in sorted(kwargs.items()):
            setattr(self, k, v)

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        if name == "save_counter":
            raise AttributeError("save_counter is managed by the Checkpoint")
        if not _is_trackable(value):
            raise ValueError("`Checkpoint` was expecting %s to be a trackable object (a gt.Module, "
                             "gt.Variable, Checkpoint or an object with variables), got %r."
                             % (name, value))
        self._deps[name] = value
        object.__setattr__(self, name, value)
        _restore.dependency_added(self)

    def _checkpoint_children(self):
        out = []
        if self._root is not None:
            out.extend(_children(self._root))
        out.extend(sorted(self._deps.items()))
        if self._save_counter is not None:
            out.append(("save_counter", self._save_counter))
        return out

    @property
    def save_counter(self) -> _core.Variable:
        """An int64 variable counting the saves (made on first use).

        >>> import os, tempfile
        >>> ckpt = gt.train.Checkpoint(v=gt.Variable(1.0))
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = ckpt.save(os.path.join(d, "ckpt"))
        ...     _ = ckpt.save(os.path.join(d, "ckpt"))
        >>> int(ckpt.save_counter)
        2
        """
        if self._save_counter is None:
            from ..module import name_scope
            with name_scope(""):
                object.__setattr__(self, "_save_counter", _core.Variable(
                    np.int64(0), trainable=False, name="save_counter", dtype=_core.DType.int64))
        return self._save_counter

    def write(self, file_prefix, options=None) -> str:
        """Writes `file_prefix`.npz (no numbering, no state file); returns file_prefix.

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     prefix = gt.train.Checkpoint(v=gt.Variable(3.0)).write(os.path.join(d, "weights"))
        ...     os.path.basename(prefix), sorted(os.listdir(d))  # no state file
        ('weights', ['weights.npz'])
        """
        prefix = os.fspath(file_prefix)
        if prefix.endswith(SUFFIX):
            prefix = prefix[:-len(SUFFIX)]
        self.save_counter  # (always in the file, so that restore() finds what it makes)
        _write_checkpoint(prefix, self)
        return prefix

    def save(self, file_prefix, options=None) -> str:
        """Writes `file_prefix-N` (N = save_counter after counting this save), records it as the
        directory's latest checkpoint, and returns that path.

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     ckpt = gt.train.Checkpoint(v=gt.Variable(3.0))
        ...     first, second = ckpt.save(os.path.join(d, "ckpt")), ckpt.save(os.path.join(d, "ckpt"))
        ...     [os.path.basename(p) for p in (first, second, gt.train.latest_checkpoint(d))]
        ['ckpt-1', 'ckpt-2', 'ckpt-2']
        """
        self.save_counter.assign_add(np.int64(1))
        path = "%s-%d" % (os.fspath(file_prefix), int(self.save_counter.numpy()))
        self.write(path)
        directory = os.path.dirname(path) or "."
        _update_state(directory, path, [path])
        return path

    def restore(self, save_path, options=None) -> CheckpointLoadStatus:
        """Restores the variables of the checkpoint at `save_path` (a prefix as save/write
        return it); returns a CheckpointLoadStatus. Values for variables that do not exist yet
        are assigned when they are made (see the module's docstring).

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = gt.train.Checkpoint(v=gt.Variable(3.0)).save(os.path.join(d, "ckpt"))
        ...     v = gt.Variable(0.0)
        ...     _ = gt.train.Checkpoint(v=v).restore(gt.train.latest_checkpoint(d))
        >>> float(v)
        3.0
        """
        if save_path is None:
            return _NothingRestored(self, None)
        if _core._tracing():
            # (its assignments would become steps of the program, writing the saved values again
            # at every call; TensorFlow refuses it too)
            raise TypeError("gt.train.Checkpoint.restore cannot run while a gt.function traces: restore before "
                            "the first call (values for variables the function makes are written when they appear)")
        save_path = os.fspath(save_path)
        if os.path.isdir(save_path):
            raise NotFoundError("%s is a directory; pass a checkpoint prefix (e.g. "
                                "gt.train.latest_checkpoint(%r))" % (save_path, save_path))
        self.save_counter  # (made now, so that its saved value is restored)
        status = CheckpointLoadStatus(self, save_path)
        _restore.forget_stale()
        _restore_into(self, save_path, status)
        return status

    def read(self, save_path, options=None) -> CheckpointLoadStatus:
        """Restores a checkpoint made by `write` (the same as restore).

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     prefix = gt.train.Checkpoint(v=gt.Variable(3.0)).write(os.path.join(d, "weights"))
        ...     v = gt.Variable(0.0)
        ...     _ = gt.train.Checkpoint(v=v).read(prefix)
        >>> float(v)
        3.0
        """
        return self.restore(save_path, options)


# --- directories ---------------------------------------------------------------------------

def _state_path(directory, latest_filename=None):
    return os.path.join(os.fspath(directory), latest_filename or STATE_FILE)


def get_checkpoint_state(checkpoint_dir, latest_filename=None) -> Optional[Dict[str, Any]]:
    """The directory's state as a dict (model_checkpoint_path, all_model_checkpoint_paths,
    all_model_checkpoint_timestamps; paths joined to the directory), or None.

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     none = gt.train.get_checkpoint_state(d)
    ...     _ = gt.train.Checkpoint(v=gt.Variable(1.0)).save(os.path.join(d, "ckpt"))
    ...     state = gt.train.get_checkpoint_state(d)
    ...     os.path.basename(state["model_checkpoint_path"]), none
    ('ckpt-1', None)
    """
    path = _state_path(checkpoint_dir, latest_filename)
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        state = json.loads(text)
    except ValueError:
        state = _parse_tf_state(text)
        if state is None:
            raise DataLossError("%s is not a checkpoint state file" % path) from None
    if not isinstance(state, dict) or "model_checkpoint_path" not in state:
        raise DataLossError("%s is not a checkpoint state file" % path)

    def full(p):
        return p if os.path.isabs(p) else os.path.join(os.fspath(checkpoint_dir), p)
    return {"model_checkpoint_path": full(state["model_checkpoint_path"]),
            "all_model_checkpoint_paths": [full(p) for p in state.get("all_model_checkpoint_paths", [])],
            "all_model_checkpoint_timestamps": list(state.get("all_model_checkpoint_timestamps", []))}


def _parse_tf_state(text):
    import re
    latest = re.search(r'^model_checkpoint_path:\s*"(.*)"', text, re.M)
    if not latest:
        return None
    return {"model_checkpoint_path": latest.group(1),
            "all_model_checkpoint_paths": re.findall(r'^all_model_checkpoint_paths:\s*"(.*)"', text, re.M)}


def _update_state(directory, latest, all_paths, timestamps=None):
    directory = os.fspath(directory)

    def rel(p):
        return os.path.relpath(p, directory) if not os.path.isabs(p) or \
            os.path.dirname(os.path.abspath(p)) == os.path.abspath(directory) else p
    state = {"format": "gradtape-checkpoint-state", "model_checkpoint_path": rel(latest),
             "all_model_checkpoint_paths": [rel(p) for p in all_paths],
             "all_model_checkpoint_timestamps": list(timestamps or [time.time()] * len(all_paths))}
    data = json.dumps(state, indent=1).encode("utf-8")
    _atomic_write(_state_path(directory), lambda f: f.write(data))


def latest_checkpoint(checkpoint_dir, latest_filename=None) -> Optional[str]:
    """The prefix of the directory's latest checkpoint, or None when there is none.

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     print(gt.train.latest_checkpoint(d))
    ...     path = gt.train.Checkpoint(v=gt.Variable(1.0)).save(os.path.join(d, "ckpt"))
    ...     gt.train.latest_checkpoint(d) == path
    None
    True
    """
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None:
        return None
    path = state["model_checkpoint_path"]
    return path if os.path.isfile(_checkpoint_file(path)) else None


def _checkpoint_for(ckpt_dir_or_file):
    p = os.fspath(ckpt_dir_or_file)
    if os.path.isdir(p):
        latest = latest_checkpoint(p)
        if latest is None:
            raise ValueError("Couldn't find 'checkpoint' file or checkpoints in given directory %s" % p)
        return latest
    return p


def list_variables(ckpt_dir_or_file) -> List[Tuple[str, List[int]]]:
    """[(key, shape)] of a checkpoint (or a directory's latest one), sorted by key.

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = gt.train.Checkpoint(w=gt.Variable([[1.0, 2.0]])).save(os.path.join(d, "ckpt"))
    ...     gt.train.list_variables(d)
    [('save_counter/.ATTRIBUTES/VARIABLE_VALUE', []), ('w/.ATTRIBUTES/VARIABLE_VALUE', [1, 2])]
    """
    tensors, _ = _read_checkpoint(_checkpoint_for(ckpt_dir_or_file))
    return sorted((k, list(a.shape)) for k, a in tensors.items())


def load_variable(ckpt_dir_or_file, name) -> np.ndarray:
    """The NumPy value saved under `name` (a key as list_variables gives; the path without
    "/.ATTRIBUTES/VARIABLE_VALUE" is accepted too).

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = gt.train.Checkpoint(w=gt.Variable([1.0, 2.0])).save(os.path.join(d, "ckpt"))
    ...     gt.train.load_variable(d, "w")
    array([1., 2.], dtype=float32)
    """
    tensors, aliases = _read_checkpoint(_checkpoint_for(ckpt_dir_or_file))
    if name in tensors:
        return tensors[name]
    path = name[:-len(VALUE_SUFFIX)] if name.endswith(VALUE_SUFFIX) else name
    saved = {k[:-len(VALUE_SUFFIX)]: k for k in tensors if k.endswith(VALUE_SUFFIX)}
    p = _resolve(path, saved, aliases)
    if p is not None:
        return tensors[saved[p]]
    raise NotFoundError("Key %s not found in checkpoint" % name)


