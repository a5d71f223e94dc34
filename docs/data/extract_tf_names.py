"""Extracts TensorFlow's public Python API names, once, into docs/data/tf-names.txt.

    /path/to/a/venv/with/tensorflow/bin/python docs/data/extract_tf_names.py > docs/data/tf-names.txt

The docs never import TensorFlow: the TensorFlow coverage page (docs/tf-coverage.md, written
by `python -m gradtape._stubgen`) compares gradtape with this stored list. Each line is
`name kind parameters`, the name dotted from `tf` (`tf.math.exp function x,name`), the
kind one of module, class, function, dtype, constant, and for a function or a class the names
of its (constructor's) parameters, comma-separated, `*args`/`**kwargs` marked with their stars
(`()` when it has none, `-` when Python cannot tell). Left out: private names, and the namespaces that are not
TensorFlow's own API but compatibility or raw layers (tf.compat, tf.raw_ops: 1,000+ generated
op wrappers), and tf.keras (Keras, a package of its own); the header says which version was read.
"""
import inspect
import sys
import types

import tensorflow as tf

SKIP = {"tf.compat", "tf.raw_ops", "tf.keras", "tf.estimator", "tf.contrib"}


def is_api_module(obj, path):
    """A module TensorFlow offers at `path` (tf.a.b): its generated API modules
    (tensorflow._api.v2.a.b), and the packages it re-exports under their own names (Keras 3's
    keras.optimizers.schedules at tf.optimizers.schedules, tensorflow.experimental,
    tensorflow.dtensor). Implementation modules reached by accident (tf.dtensor.python...,
    protobuf modules) are left out altogether."""
    name = obj.__name__
    if ".python" in name or ".src" in name or name.endswith("_pb2"):
        return False
    return name.startswith("tensorflow._api.v2") or name.endswith(path.split(".", 1)[1])


def kind(obj):
    if isinstance(obj, types.ModuleType):
        return "module"
    if isinstance(obj, tf.dtypes.DType):
        return "dtype"
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "constant"


def parameters(obj, k):
    if k not in ("function", "class"):
        return "-"
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "-"
    names = []
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        star = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        names.append(star + p.name)
    return ",".join(names) or "()"


def walk(module, prefix, out, seen):
    for name in sorted(dir(module)):
        if name.startswith("_"):
            continue
        full = prefix + "." + name
        if full in SKIP:
            continue
        try:
            obj = getattr(module, name)
        except Exception:  # a lazily loaded package that is not installed (keras)
            continue
        k = kind(obj)
        if k == "module" and not is_api_module(obj, full):
            continue
        out.append((full, k, parameters(obj, k)))
        if k == "module" and id(obj) not in seen:
            seen.add(id(obj))
            walk(obj, full, out, seen)


def main():
    out = []
    walk(tf, "tf", out, {id(tf)})
    print("# TensorFlow %s public API (docs/data/extract_tf_names.py): name kind parameters" % tf.__version__)
    for row in out:
        print(*row)


if __name__ == "__main__":
    sys.exit(main())
