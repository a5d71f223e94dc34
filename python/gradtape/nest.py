"""Nested structures (lists, tuples, namedtuples, dicts) of tensors, as TensorFlow's tf.nest.

Dicts are flattened in sorted key order, as TensorFlow does.
"""


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def is_nested(x):
    return isinstance(x, (list, tuple, dict))


def flatten(structure):
    """The leaves of `structure`, depth first, without recursion limits on long lists."""
    if not is_nested(structure):
        return [structure]
    out = []
    stack = [structure]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item[k] for k in reversed(sorted(item)))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        else:
            out.append(item)
    return out


def pack_sequence_as(structure, flat):
    """Rebuilds `structure` with its leaves taken in order from `flat`."""
    it = iter(flat)

    def build(s):
        if isinstance(s, dict):
            return type(s)((k, build(s[k])) for k in sorted(s)) if type(s) is not dict else {k: build(s[k]) for k in sorted(s)}
        if _is_namedtuple(s):
            return type(s)(*[build(v) for v in s])
        if isinstance(s, (list, tuple)):
            return type(s)(build(v) for v in s)
        return next(it)

    return build(structure)


def map_structure(fn, structure):
    return pack_sequence_as(structure, [fn(x) for x in flatten(structure)])
