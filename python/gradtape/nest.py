"""Nested structures (lists, tuples, namedtuples, dicts) of tensors, as TensorFlow's tf.nest.

Dicts are flattened in sorted key order, as TensorFlow does.
"""


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def is_nested(x):
    """Whether x is a list, tuple or dict (a structure, not a leaf).

    >>> gt.nest.is_nested([1, 2]), gt.nest.is_nested(gt.constant(1.0))
    (True, False)
    """
    return isinstance(x, (list, tuple, dict))


def flatten(structure):
    """The leaves of `structure`, depth first, without recursion limits on long lists.

    >>> gt.nest.flatten({"b": [1, 2], "a": (3,)})
    [3, 1, 2]
    """
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
    """Rebuilds `structure` with its leaves taken in order from `flat`.

    >>> gt.nest.pack_sequence_as({"b": [0, 0], "a": 0}, [1, 2, 3])
    {'a': 1, 'b': [2, 3]}
    """
    return _build(structure, iter(flat))


def _build(s, it):
    # (a module-level function, not a closure that calls itself: such a closure is a reference
    # cycle that keeps `flat`, and the tensors in it, alive until the garbage collector runs)
    if isinstance(s, dict):
        if type(s) is dict:
            return {k: _build(s[k], it) for k in sorted(s)}
        return type(s)((k, _build(s[k], it)) for k in sorted(s))
    if _is_namedtuple(s):
        return type(s)(*[_build(v, it) for v in s])
    if isinstance(s, (list, tuple)):
        return type(s)(_build(v, it) for v in s)
    return next(it)


def map_structure(fn, structure):
    """Applies fn to every leaf of structure, keeping its shape.

    >>> gt.nest.map_structure(lambda v: v * 10, [1, (2, 3)])
    [10, (20, 30)]
    """
    return pack_sequence_as(structure, [fn(x) for x in flatten(structure)])
