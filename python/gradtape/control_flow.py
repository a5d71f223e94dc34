"""Eager control flow: cond, case, switch_case, while_loop, map_fn, vectorized_map, scan, foldl,
foldr, identity_n.

gradtape runs eagerly, so each of these is a Python loop or branch over gradtape ops: the tape
records the ops the chosen branch or each iteration runs, and gradients flow through them as
through any other code. The argument names and the structures returned are TensorFlow's.
"""
from __future__ import annotations

from typing import List

from . import _core
from . import nest as _nest

__all__ = ["cond", "case", "switch_case", "while_loop", "map_fn", "vectorized_map", "scan",
           "foldl", "foldr", "identity_n"]


def _truth(pred, what):
    """The Python bool of a scalar predicate (a bool, a Python/NumPy value or a tensor)."""
    if isinstance(pred, (_core.Tensor, _core.Variable)):
        if pred.shape.num_elements() != 1:
            raise _core.InvalidArgumentError(
                "%s must be a scalar, got a tensor of shape %s" % (what, list(pred.shape)))
        return bool(pred.numpy().reshape(()))
    return bool(pred)


def cond(pred, true_fn=None, false_fn=None, name=None):
    """Calls `true_fn()` when `pred` is true, else `false_fn()`, and returns what it returns.

    >>> x = gt.constant(2.0)
    >>> gt.cond(x > 1.0, lambda: x * 10.0, lambda: x)
    <gt.Tensor: shape=(), dtype=float32, numpy=20.0>
    """
    if true_fn is None:
        raise TypeError("cond(): 'true_fn' argument required")
    if false_fn is None:
        raise TypeError("cond(): 'false_fn' argument required")
    if not callable(true_fn):
        raise TypeError("'true_fn' must be callable.")
    if not callable(false_fn):
        raise TypeError("'false_fn' must be callable.")
    if _core._tracing() and _core._traced(pred):
        return _traced_cond(pred, true_fn, false_fn)
    return true_fn() if _truth(pred, "cond: pred") else false_fn()


# ---- under gt.function: control flow as steps of the program (docs/guides/function.md) ----
def _trace_block(fn, args):
    """Traces fn(*args) as a block of the program; returns (its result, the flat tensors, the
    block's number)."""
    _core._block_begin()
    try:
        out = fn(*args)
        flat = [_to_tensor(x) for x in _nest.flatten(out)]
    except BaseException:
        _core._block_end([])
        raise
    return out, flat, _core._block_end(flat)


def _check_alike(a, b, what):
    for x, y in zip(a, b):
        if x.dtype != y.dtype:
            raise TypeError("%s: dtypes differ, %s and %s" % (what, x.dtype.name, y.dtype.name))
        if tuple(x.shape) != tuple(y.shape):
            raise ValueError("%s: shapes differ, %s and %s (under gt.function both must have one shape)"
                             % (what, tuple(x.shape), tuple(y.shape)))


def _traced_cond(pred, true_fn, false_fn):
    if pred.shape.num_elements() != 1:
        raise _core.InvalidArgumentError("cond: pred must be a scalar, got a tensor of shape %s" % (list(pred.shape),))
    t_out, t_flat, t = _trace_block(true_fn, ())
    f_out, f_flat, f = _trace_block(false_fn, ())
    try:
        _nest.assert_same_structure(t_out, f_out, check_types=False)
    except (ValueError, TypeError) as e:
        raise ValueError("true_fn and false_fn arguments to cond must have the same number, type, and overall "
                         "structure of return values (%s)" % e) from None
    _check_alike(t_flat, f_flat, "cond: the branches' results")
    return _nest.pack_sequence_as(t_out, _core._cond(pred, t, f))


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """Runs the function of the first pair whose predicate is true (all predicates are read
    first when `exclusive`, and more than one true is an InvalidArgumentError); `default()`
    when none is; with no default, none true is an InvalidArgumentError.

    >>> x = gt.constant(-3)
    >>> gt.case([(x > 0, lambda: gt.constant(1)), (x < 0, lambda: gt.constant(-1))],
    ...         default=lambda: gt.constant(0))
    <gt.Tensor: shape=(), dtype=int32, numpy=-1>
    """
    if isinstance(pred_fn_pairs, dict):
        pairs = list(pred_fn_pairs.items())
    else:
        pairs = list(pred_fn_pairs)
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError("Each entry in pred_fn_pairs must be a 2-tuple: %r" % (pair,))
        if not callable(pair[1]):
            raise TypeError("fn for pred %r must be callable." % (pair[0],))
    if default is not None and not callable(default):
        raise TypeError("default must be callable.")
    if _core._tracing() and any(_core._traced(p) for p, _ in pairs):
        # under gt.function: a chain of cond steps, the first true predicate's function
        if exclusive:
            raise _core.OperatorNotAllowedInGraphError(
                "case(exclusive=True) on traced predicates under gt.function: the check that at most one is true "
                "needs their values; use exclusive=False")
        if default is None:
            pairs, default = pairs[:-1], pairs[-1][1]  # (the last function, when none is true)
        result = default
        for p, fn in reversed(pairs):
            result = (lambda p, fn, rest: lambda: cond(p, fn, rest))(p, fn, result)
        return result()
    truths = [_truth(p, "case: pred") for p, _ in pairs]
    if exclusive and sum(truths) > 1:
        raise _core.InvalidArgumentError(
            "case: more than one condition evaluated as True but exclusive=True "
            "(conditions %s)" % [i for i, t in enumerate(truths) if t])
    for t, (_, fn) in zip(truths, pairs):
        if t:
            return fn()
    if default is None:
        raise _core.InvalidArgumentError("case: none of the conditions evaluated as True and no "
                                         "default was given")
    return default()


def switch_case(branch_index, branch_fns, default=None, name="switch_case"):
    """Runs `branch_fns[branch_index]()` (a list, a dict int -> fn, or (int, fn) pairs); an
    index with no branch runs `default`, or the last branch when there is no default.

    >>> branches = [lambda: gt.constant(10), lambda: gt.constant(20)]
    >>> gt.switch_case(gt.constant(1), branches)
    <gt.Tensor: shape=(), dtype=int32, numpy=20>
    >>> gt.switch_case(7, {0: lambda: gt.constant(10)}, default=lambda: gt.constant(-1))
    <gt.Tensor: shape=(), dtype=int32, numpy=-1>
    """
    if isinstance(branch_fns, dict):
        table = dict(branch_fns)
    else:
        items = list(branch_fns)
        if items and all(isinstance(p, tuple) and len(p) == 2 for p in items):
            table = dict(items)
        else:
            table = dict(enumerate(items))
    if not table:
        raise ValueError("Must provide at least one item in branch_fns")
    for k, fn in table.items():
        if not isinstance(k, int):
            raise TypeError("branch_fns keys must be ints, got %r" % (k,))
        if not callable(fn):
            raise TypeError("fn for branch %d must be callable." % k)
    if isinstance(branch_index, (_core.Tensor, _core.Variable)):
        if branch_index.dtype not in (_core.DType.int32, _core.DType.int64):
            raise TypeError("branch_index must be an int32 or int64 tensor, got %s"
                            % branch_index.dtype.name)
        if _core._tracing() and _core._traced(branch_index):
            # under gt.function: a chain of cond steps on branch_index == k
            keys = sorted(table)
            result = default if default is not None else table[keys[-1]]
            for k in reversed(keys if default is not None else keys[:-1]):
                result = (lambda k, fn, rest: lambda: cond(_core.equal(branch_index, k), fn, rest))(
                    k, table[k], result)
            return result()
        index = int(branch_index.numpy().reshape(()))
    else:
        index = int(branch_index)
    if index in table:
        return table[index]()
    if default is not None:
        return default()
    return table[max(table)]()


def _as_loop_list(loop_vars):
    return list(loop_vars) if isinstance(loop_vars, (list, tuple)) else [loop_vars]


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10,
               back_prop=True, swap_memory=False, maximum_iterations=None, name=None):
    """Repeats `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` is true, at most
    `maximum_iterations` times; returns the final loop variables in the structure given.

    `shape_invariants`, `parallel_iterations`, `swap_memory` and `back_prop` are accepted and have
    no effect (eager loops need no invariants; the tape records every iteration).

    >>> i, total = gt.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s + i), (gt.constant(0), gt.constant(0)))
    >>> int(i), int(total)
    (5, 10)
    >>> x = gt.constant(2.0)
    >>> with gt.GradientTape() as tape:  # the tape records every iteration
    ...     tape.watch(x)
    ...     y = gt.while_loop(lambda v: v < 100.0, lambda v: v * x, x)  # x ** 7
    >>> float(y), float(tape.gradient(y, x))
    (128.0, 448.0)
    """
    if not callable(cond):
        raise TypeError("'cond' must be callable.")
    if not callable(body):
        raise TypeError("'body' must be callable.")
    if loop_vars is None or (isinstance(loop_vars, (list, tuple)) and len(loop_vars) == 0):
        raise ValueError("'loop_vars' must be provided.")
    packed = not isinstance(loop_vars, (list, tuple))
    current = [loop_vars] if packed else list(loop_vars)
    if maximum_iterations is None:
        limit = None
    elif _core._tracing() and _core._traced(maximum_iterations):
        limit = _traced_limit(maximum_iterations)
    else:
        limit = int(_static_int(maximum_iterations))
    if _core._tracing():
        current = _traced_while(cond, body, current, limit)
        if packed:
            return current[0]
        if hasattr(loop_vars, "_fields"):
            return type(loop_vars)(*current)
        return tuple(current) if isinstance(loop_vars, tuple) else current
    n = 0
    while (limit is None or n < limit) and _truth(cond(*current), "while_loop: cond"):
        out = _body_result(body(*current), current)
        if len(out) != len(current):
            raise ValueError("while_loop: body returned %d loop variables, expected %d"
                             % (len(out), len(current)))
        for before, after in zip(current, out):
            if len(_nest.flatten(before)) != len(_nest.flatten(after)):
                raise ValueError("while_loop: body changed the structure of a loop variable: %r -> %r"
                                 % (before, after))
        current = out
        n += 1
    if packed:
        return current[0]
    if hasattr(loop_vars, "_fields"):
        return type(loop_vars)(*current)
    return tuple(current) if isinstance(loop_vars, tuple) else current


def _body_result(out, current):
    """The body's result as a list of loop variables (a single variable may come back bare)."""
    if len(current) == 1 and (not isinstance(out, (list, tuple)) or
                              (isinstance(current[0], (list, tuple)) and len(out) != 1)):
        out = [out]
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _traced_limit(m):
    """A maximum_iterations computed inside gt.function (a traced tensor): read at each call, as
    TensorFlow's, which takes an int32 scalar (ValueError for another dtype)."""
    m = m if isinstance(m, _core.Tensor) else _core.convert_to_tensor(m)  # (a variable: read once, before the loop)
    if m.dtype != _core.DType.int32:
        raise ValueError("maximum_iterations: Tensor conversion requested dtype int32 for Tensor with dtype %s"
                         % m.dtype.name)
    if m.shape.rank != 0:
        raise _core.InvalidArgumentError("while_loop: maximum_iterations must be a scalar, got shape %s"
                                         % list(m.shape))
    return m


def _traced_while(cond, body, current, limit):
    """The loop as one step of the program: cond and body traced once each, as blocks. A limit
    that is a traced tensor becomes a counter beside the loop variables, the loop going on while
    `counter < limit and cond(...)` (TensorFlow's while_v2 evaluates cond at each test, the last
    one included)."""
    if isinstance(limit, _core.Tensor):
        n_vars = len(current)

        def counted_cond(i, *args):
            return _core.logical_and(_core.less(i, limit), cond(*args))

        def counted_body(i, *args):
            out = _body_result(body(*args), current)
            if len(out) != n_vars:
                raise ValueError("while_loop: body returned %d loop variables, expected %d" % (len(out), n_vars))
            return [_core.add(i, 1)] + out

        final = _traced_while(counted_cond, counted_body, [_core.constant(0, dtype="int32")] + list(current), None)
        return final[1:]
    flat0 = [_to_tensor(x) for x in _nest.flatten(current)]
    carry = _core._loop_variables(flat0)
    args = _nest.pack_sequence_as(current, carry)
    pred, pred_flat, c = _trace_block(cond, args)
    if len(pred_flat) != 1 or pred_flat[0].shape.num_elements() != 1:
        raise _core.InvalidArgumentError("while_loop: cond must return a scalar, got %r" % (pred,))
    out, out_flat, b = _trace_block(lambda *a: _body_result(body(*a), current), args)
    if len(out) != len(current):
        raise ValueError("while_loop: body returned %d loop variables, expected %d" % (len(out), len(current)))
    if len(out_flat) != len(carry):
        raise ValueError("while_loop: body changed the structure of the loop variables: %r -> %r" % (current, out))
    _check_alike(carry, out_flat, "while_loop: a loop variable before and after the body")
    final = _core._while_loop(c, b, carry, -1 if limit is None else max(limit, 0))  # (-1: no limit)
    return list(_nest.pack_sequence_as(current, final))


def _static_int(x):
    if isinstance(x, (_core.Tensor, _core.Variable)):
        return int(x.numpy().reshape(()))
    return int(x)


def _leading_size(flat_elems, fn_name):
    sizes = set()
    for e in flat_elems:
        if e.ndim == 0:
            raise ValueError("%s: elements must have rank at least 1 (they are unstacked along "
                             "axis 0), got a scalar" % fn_name)
        sizes.add(e.shape[0])
    if len(sizes) > 1:
        raise ValueError("%s: all elems must have the same size along axis 0, got %s"
                         % (fn_name, sorted(sizes)))
    return sizes.pop() if sizes else 0


def _to_tensor(x):
    return x if isinstance(x, (_core.Tensor, _core.Variable)) else _core.convert_to_tensor(x)


def _stack_outputs(results, structure, dtypes, fn_name):
    """Stacks a list of per-element outputs (each with `structure`) along a new axis 0."""
    if not results:
        flat = _nest.flatten(structure)
        return _nest.pack_sequence_as(structure, [_core.zeros([0], dtype=d or _core.DType.float32)
                                                  for d in (dtypes or [None] * len(flat))])
    flats = [_nest.flatten(r) for r in results]
    n_leaves = len(flats[0])
    out = []
    for j in range(n_leaves):
        column = [_to_tensor(f[j]) for f in flats]
        if dtypes is not None and dtypes[j] is not None and column[0].dtype != dtypes[j]:
            raise TypeError("%s: fn returned %s where fn_output_signature says %s"
                            % (fn_name, column[0].dtype.name, dtypes[j].name))
        out.append(_core.stack(column, axis=0))
    return _nest.pack_sequence_as(results[0], out)


def _signature_dtypes(sig):
    if sig is None:
        return None
    from .specs import TensorSpec
    out = []
    for s in _nest.flatten(sig):
        if isinstance(s, TensorSpec):
            out.append(s.dtype)
        elif s is None:
            out.append(None)
        else:
            out.append(_core.as_dtype(s))
    return out


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, swap_memory=False,
           infer_shape=True, name=None, fn_output_signature=None):
    """Applies `fn` to each slice of `elems` along axis 0 and stacks the results.

    `elems` may be a nest of tensors of one leading size; `fn` then receives one slice with that
    structure. The output has `fn_output_signature`'s structure (dtypes or gt.TensorSpec),
    else `elems`' structure.

    >>> gt.map_fn(lambda row: gt.reduce_sum(row), gt.constant([[1, 2], [3, 4]]))
    <gt.Tensor: shape=(2,), dtype=int32, numpy=array([3, 7], dtype=int32)>
    >>> gt.map_fn(lambda t: t[0] * t[1], (gt.constant([1.0, 2.0]), gt.constant([3.0, 4.0])),
    ...           fn_output_signature=gt.float32)
    <gt.Tensor: shape=(2,), dtype=float32, numpy=array([3., 8.], dtype=float32)>
    """
    sig = fn_output_signature if fn_output_signature is not None else dtype
    flat = [_to_tensor(e) for e in _nest.flatten(elems)]
    n = _leading_size(flat, "map_fn")
    results = []
    for i in range(n):
        results.append(fn(_nest.pack_sequence_as(elems, [e[i] for e in flat])))
    structure = sig if sig is not None else elems
    dtypes = _signature_dtypes(sig)
    if not results:
        return _stack_outputs([], structure, dtypes, "map_fn")
    if sig is not None and len(_nest.flatten(results[0])) != len(dtypes):
        raise ValueError("map_fn: fn returned %d values where fn_output_signature has %d"
                         % (len(_nest.flatten(results[0])), len(dtypes)))
    return _stack_outputs(results, structure, dtypes, "map_fn")


def vectorized_map(fn, elems, fallback_to_while_loop=True, warn=True):
    """map_fn's result (fn applied to each slice along axis 0); gradtape runs it as a loop.

    >>> gt.vectorized_map(lambda x: x * x, gt.constant([1.0, 2.0, 3.0]))
    <gt.Tensor: shape=(3,), dtype=float32, numpy=array([1., 4., 9.], dtype=float32)>
    """
    return map_fn(fn, elems)


def scan(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False,
         infer_shape=True, reverse=False, name=None):
    """Repeatedly applies `acc = fn(acc, x)` over the slices of `elems` along axis 0 (from the
    end when `reverse`), and stacks every intermediate `acc`. Without `initializer` the first
    slice is the first accumulator (and the first output).

    >>> gt.scan(lambda acc, x: acc + x, gt.constant([1, 2, 3, 4]))
    <gt.Tensor: shape=(4,), dtype=int32, numpy=array([ 1,  3,  6, 10], dtype=int32)>
    >>> gt.scan(lambda acc, x: acc * x, gt.constant([1.0, 2.0, 3.0]), initializer=gt.constant(10.0), reverse=True)
    <gt.Tensor: shape=(3,), dtype=float32, numpy=array([60., 60., 30.], dtype=float32)>
    """
    flat = [_to_tensor(e) for e in _nest.flatten(elems)]
    n = _leading_size(flat, "scan")
    order = list(range(n - 1, -1, -1)) if reverse else list(range(n))

    def slice_at(i):
        return _nest.pack_sequence_as(elems, [e[i] for e in flat])

    results = []
    if initializer is None:
        if n == 0:
            raise ValueError("scan: elems must not be empty when no initializer is given")
        acc = slice_at(order[0])
        results.append(acc)
        order = order[1:]
    else:
        acc = initializer
    for i in order:
        acc = fn(acc, slice_at(i))
        results.append(acc)
    if reverse:
        results.reverse()
    if not results:
        return _nest.map_structure(lambda a: _core.zeros([0] + list(_to_tensor(a).shape),
                                                         dtype=_to_tensor(a).dtype), initializer)
    return _stack_outputs(results, results[0], None, "scan")


def _fold(fn, elems, initializer, reverse, what):
    flat = [_to_tensor(e) for e in _nest.flatten(elems)]
    n = _leading_size(flat, what)
    order = list(range(n - 1, -1, -1)) if reverse else list(range(n))

    def slice_at(i):
        return _nest.pack_sequence_as(elems, [e[i] for e in flat])

    if initializer is None:
        if n == 0:
            raise ValueError("%s: elems must not be empty when no initializer is given" % what)
        acc = slice_at(order[0])
        order = order[1:]
    else:
        acc = initializer
    for i in order:
        acc = fn(acc, slice_at(i))
    return acc


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False,
          name=None):
    """fn(...fn(fn(initializer, elems[0]), elems[1])..., elems[n-1]).

    >>> gt.foldl(lambda acc, x: acc * 10 + x, gt.constant([1, 2, 3]))
    <gt.Tensor: shape=(), dtype=int32, numpy=123>
    """
    return _fold(fn, elems, initializer, False, "foldl")


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False,
          name=None):
    """fn(...fn(fn(initializer, elems[n-1]), elems[n-2])..., elems[0]).

    >>> gt.foldr(lambda acc, x: acc * 10 + x, gt.constant([1, 2, 3]))
    <gt.Tensor: shape=(), dtype=int32, numpy=321>
    """
    return _fold(fn, elems, initializer, True, "foldr")


def identity_n(input, name=None) -> List[_core.Tensor]:  # noqa: A002 (TensorFlow's name)
    """A list of identities of each input (each converted to a tensor).

    >>> a, b = gt.identity_n([1.0, [2, 3]])
    >>> a
    <gt.Tensor: shape=(), dtype=float32, numpy=1.0>
    >>> b
    <gt.Tensor: shape=(2,), dtype=int32, numpy=array([2, 3], dtype=int32)>
    """
    return [_core.identity(_to_tensor(x)) for x in input]
