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
    {'b': [2, 3], 'a': 1}
    """
    return _build(structure, iter(flat))


def _build(s, it):
    # (a module-level function, not a closure that calls itself: such a closure is a reference
    # cycle that keeps `flat`, and the tensors in it, alive until the garbage collector runs)
    if isinstance(s, dict):
        # (leaves taken in sorted key order, as flatten gives them; the dict built in the
        # structure's own key order, as TensorFlow's)
        built = {k: _build(s[k], it) for k in sorted(s)}
        if type(s) is dict:
            return {k: built[k] for k in s}
        return type(s)((k, built[k]) for k in s)
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


def _same_structure(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and sorted(a) == sorted(b) and all(_same_structure(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return (isinstance(b, (list, tuple)) and len(a) == len(b)
                and all(_same_structure(x, y) for x, y in zip(a, b)))
    return not is_nested(b)


def assert_same_structure(nest1, nest2, check_types=True):
    """Raises ValueError unless nest1 and nest2 have the same nesting (and, with check_types,
    the same sequence types: a list is not a tuple), as TensorFlow's tf.nest.assert_same_structure.

    >>> gt.nest.assert_same_structure([1, (2, 3)], ["a", ("b", "c")])
    >>> gt.nest.assert_same_structure([1, 2], [1])
    Traceback (most recent call last):
    ...
    ValueError: The two structures don't have the same nested structure: [1, 2] and [1]
    """
    same = _same_structure(nest1, nest2)
    if same and check_types:
        kinds = lambda s: [type(x) for x in _containers(s)]  # noqa: E731
        same = kinds(nest1) == kinds(nest2)
    if not same:
        raise ValueError("The two structures don't have the same nested structure: %r and %r" % (nest1, nest2))


def _containers(s):
    out, stack = [], [s]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.append(item)
            stack.extend(item[k] for k in sorted(item))
        elif isinstance(item, (list, tuple)):
            out.append(item)
            stack.extend(item)
    return out
