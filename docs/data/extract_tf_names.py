"""Extracts TensorFlow's public Python API names, once, into docs/data/tf-names.txt.

    /path/to/a/venv/with/tensorflow/bin/python docs/data/extract_tf_names.py > docs/data/tf-names.txt

The docs never import TensorFlow: the TensorFlow coverage page (docs/tf-coverage.md, written
by `python -m gradtape._stubgen`) compares gradtape with this stored list. Each line is
`name kind`, the name dotted from `tf` (`tf.math.exp function`), the kind one of module,
class, function, dtype, constant. Left out: private names, and the namespaces that are not
TensorFlow's own API but compatibility or raw layers (tf.compat, tf.raw_ops: 1,000+ generated
op wrappers), and tf.keras (Keras, a package of its own); the header says which version was read.
"""
import inspect
import sys
import types

import tensorflow as tf

SKIP = {"tf.compat", "tf.raw_ops", "tf.keras", "tf.estimator", "tf.contrib"}
# Modules walked into: TensorFlow's generated API modules, and the Keras 3 modules that
# TensorFlow's own namespaces re-export (tf.optimizers, tf.losses, tf.metrics, tf.initializers).
# Any other module reached (tf.dtensor's implementation modules, ...) is listed but not walked.
API_MODULES = ("tensorflow._api.v2", "keras._tf_keras.keras")


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
        out.append((full, k))
        if k == "module" and id(obj) not in seen and obj.__name__.startswith(API_MODULES):
            seen.add(id(obj))
            walk(obj, full, out, seen)


def main():
    out = []
    walk(tf, "tf", out, {id(tf)})
    print("# TensorFlow %s public API (docs/data/extract_tf_names.py): name kind" % tf.__version__)
    for full, k in out:
        print(full, k)


if __name__ == "__main__":
    sys.exit(main())
