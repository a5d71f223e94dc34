"""Property tests (hypothesis): random expression graphs built from the op table.

Each example draws a graph of depth 1-4 whose nodes are the differentiable unary and binary
ops of tests/op_table.py (plus `where` over a comparison and keepdims reductions), one to
three float64 inputs of broadcast-compatible shapes (rank 0-3, dims 1-3), and checks

  (a) the forward value against the same graph evaluated in NumPy, and
  (b) the gradient against float64 central differences (gt.test.check_gradients).

Domains come from the op table: when an operand's values fall outside the [low, high] range
the table gives for that op (log, sqrt, rsqrt, reciprocal, tan, pow, a divisor, ...), the
operand is squashed smoothly into it with `low + (high - low) * sigmoid(x)`. The squash is
decided once per graph, so the function is the same smooth function for every evaluation.
Points within 1e-4 of a kink (abs/sign/relu at 0, maximum/minimum/where ties, a tie for a
reduce_max/min) are rejected with `assume`: the derivative there is a convention, not
something central differences can check.

Budget: GRADTAPE_HYPOTHESIS_EXAMPLES (default 1500) examples per graph test; the dtype
tests run a fixed fraction of it. derandomize=True makes every run draw the same examples.
"""
import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis import strategies as st

import gradtape as gt
from op_table import BINARY, REDUCTIONS, UNARY, sigmoid_np

# Hypothesis' pytest plugin saves a patch file for failing examples under its home directory
# (./.hypothesis by default): keep that out of the repository.
try:
    from hypothesis.configuration import set_hypothesis_home_dir
    set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "gradtape-hypothesis"))
except ImportError:  # pragma: no cover (older hypothesis)
    pass

N_EXAMPLES = int(os.environ.get("GRADTAPE_HYPOTHESIS_EXAMPLES", "1500"))
KINK = 1e-4  # minimum distance from a point where the derivative jumps

# No example database and no explain phase: nothing is written under the repository.
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])

UNARY_OPS = [u for u in UNARY if u.grad and u.fn is not None]
BINARY_DIFF = [b for b in BINARY if b.grad and not b.out_bool]
COMPARISONS = [b for b in BINARY if b.out_bool]
REDUCE_OPS = list(REDUCTIONS)
KINKED_AT_ZERO = {"abs", "sign", "nn.relu"}
DEFAULT_DOMAIN = (-2.0, 2.0)


# ---------------------------------------------------------------------------------------------
# graph specs (what hypothesis draws) and compiled graphs (what is evaluated)
# ---------------------------------------------------------------------------------------------

def _spec(draw, depth, n_inputs):
    """A nested tuple describing a graph whose deepest path has exactly `depth` op levels
    (depth 0: a leaf). The first operand of each node carries the full depth, the others
    a random depth below it."""
    if depth == 0:
        return ("leaf", draw(st.integers(0, n_inputs - 1)))
    first = lambda: _spec(draw, depth - 1, n_inputs)  # noqa: E731
    sub = lambda: _spec(draw, draw(st.integers(0, depth - 1)), n_inputs)  # noqa: E731
    kind = draw(st.sampled_from(["unary", "unary", "binary", "binary", "where", "reduce"]))
    if kind == "unary":
        return ("unary", draw(st.integers(0, len(UNARY_OPS) - 1)), first())
    if kind == "binary":
        ops = (first(), sub())
        if draw(st.booleans()):
            ops = ops[::-1]
        return ("binary", draw(st.integers(0, len(BINARY_DIFF) - 1)), *ops)
    if kind == "where":
        parts = [first(), sub(), sub(), sub()]
        k = draw(st.integers(0, 3))
        parts[0], parts[k] = parts[k], parts[0]
        return ("where", draw(st.integers(0, len(COMPARISONS) - 1)), *parts)
    return ("reduce", draw(st.integers(0, len(REDUCE_OPS) - 1)), draw(st.integers(0, 7)), first())


@st.composite
def graphs(draw):
    rank = draw(st.integers(0, 3))
    base = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    n_inputs = draw(st.integers(1, 3))
    shapes = []
    for _ in range(n_inputs):
        k = draw(st.integers(0, rank))  # a suffix of the base shape ...
        suffix = base[rank - k:]
        shapes.append(tuple(d if draw(st.booleans()) else 1 for d in suffix))  # ... with some 1s
    depth = draw(st.integers(1, 4))
    spec = _spec(draw, depth, n_inputs)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-2.0, 2.0, size=s).astype(np.float64) for s in shapes]
    return spec, xs


class Node:
    """A compiled graph node: `val` is its NumPy value at the drawn inputs; gt(args) and
    np_(xs) evaluate it in gradtape and in NumPy."""


class Leaf(Node):
    def __init__(self, i, xs):
        self.i = i
        self.val = xs[i]

    def gt(self, args):
        return args[self.i]

    def np_(self, xs):
        return xs[self.i]

    def __repr__(self):
        return "x%d" % self.i


class Squash(Node):
    """lo + (hi - lo) * sigmoid(child): maps any value into (lo, hi), smoothly."""

    def __init__(self, child, lo, hi, xs):
        self.child, self.lo, self.hi = child, lo, hi
        self.val = self.np_(xs)

    def gt(self, args):
        return self.lo + (self.hi - self.lo) * gt.sigmoid(self.child.gt(args))

    def np_(self, xs):
        return self.lo + (self.hi - self.lo) * sigmoid_np(self.child.np_(xs))

    def __repr__(self):
        return "squash[%g,%g](%r)" % (self.lo, self.hi, self.child)


def _into_domain(child, lo, hi, xs):
    if (lo, hi) == DEFAULT_DOMAIN and np.all(np.abs(child.val) <= 2.0):
        return child
    if np.all((child.val >= lo) & (child.val <= hi)):
        return child
    return Squash(child, lo, hi, xs)


def require(condition):
    """assume() inside a hypothesis test; outside one (the meta-tests) a plain check."""
    from hypothesis.control import currently_in_test_context
    if currently_in_test_context():
        assume(condition)
    elif not condition:
        raise ValueError("graph point rejected (kink or tie)")


def away_from_zero(v):
    return bool(np.all(np.abs(v) > KINK))


def unique_extremum(v, axis, kind):
    ax = tuple(axis) if isinstance(axis, list) else axis
    ext = (np.max if kind == "reduce_max" else np.min)(v, axis=ax, keepdims=True)
    near = np.abs(v - ext) <= KINK
    return bool(np.all(np.sum(near, axis=ax, keepdims=True) == 1))


class Unary(Node):
    def __init__(self, op, child, xs):
        self.op = op
        self.child = _into_domain(child, op.low, op.high, xs)
        if op.name in KINKED_AT_ZERO:
            require(away_from_zero(self.child.val))
        self.val = self.np_(xs)

    def gt(self, args):
        return self.op.fn(self.child.gt(args))

    def np_(self, xs):
        return np.asarray(self.op.ref(self.child.np_(xs)), dtype=np.float64)

    def __repr__(self):
        return "%s(%r)" % (self.op.name, self.child)


class Binary(Node):
    def __init__(self, op, a, b, xs):
        self.op = op
        self.a = _into_domain(a, op.low, op.high, xs)
        self.b = _into_domain(b, op.low_b, op.high_b, xs)
        if op.name in ("maximum", "minimum"):
            require(away_from_zero(self.a.val - self.b.val))
        self.val = self.np_(xs)

    def gt(self, args):
        return self.op.fn(self.a.gt(args), self.b.gt(args))

    def np_(self, xs):
        return np.asarray(self.op.ref(self.a.np_(xs), self.b.np_(xs)), dtype=np.float64)

    def __repr__(self):
        return "%s(%r, %r)" % (self.op.name, self.a, self.b)


class Where(Node):
    def __init__(self, cmp, c1, c2, x, y, xs):
        self.cmp, self.c1, self.c2 = cmp, c1, c2
        self.x = _into_domain(x, *DEFAULT_DOMAIN, xs)
        self.y = _into_domain(y, *DEFAULT_DOMAIN, xs)
        require(away_from_zero(c1.val - c2.val))  # the selection must not flip
        self.val = self.np_(xs)

    def gt(self, args):
        cond = self.cmp.fn(self.c1.gt(args), self.c2.gt(args))
        return gt.where(cond, self.x.gt(args), self.y.gt(args))

    def np_(self, xs):
        cond = self.cmp.ref(self.c1.np_(xs), self.c2.np_(xs))
        return np.where(cond, self.x.np_(xs), self.y.np_(xs)).astype(np.float64)

    def __repr__(self):
        return "where(%s(%r, %r), %r, %r)" % (self.cmp.name, self.c1, self.c2, self.x, self.y)


class Reduce(Node):
    def __init__(self, op, axis_code, child, xs):
        self.op = op
        self.child = _into_domain(child, op.low, op.high, xs)
        rank = np.ndim(self.child.val)
        axes = [a for a in range(rank) if axis_code & (1 << a)]
        self.axis = None if not axes or axis_code == 7 else (axes[0] if len(axes) == 1 else axes)
        if op.name in ("reduce_max", "reduce_min"):
            require(unique_extremum(self.child.val, self.axis, op.name))
        self.val = self.np_(xs)

    def gt(self, args):
        return self.op.fn(self.child.gt(args), axis=self.axis, keepdims=True)

    def np_(self, xs):
        return np.asarray(self.op.ref(self.child.np_(xs), axis=self.axis, keepdims=True), dtype=np.float64)

    def __repr__(self):
        return "%s(%r, axis=%r, keepdims=True)" % (self.op.name, self.child, self.axis)


def compile_graph(spec, xs):
    kind = spec[0]
    if kind == "leaf":
        return Leaf(spec[1], xs)
    if kind == "unary":
        return Unary(UNARY_OPS[spec[1]], compile_graph(spec[2], xs), xs)
    if kind == "binary":
        return Binary(BINARY_DIFF[spec[1]], compile_graph(spec[2], xs), compile_graph(spec[3], xs), xs)
    if kind == "where":
        parts = [compile_graph(s, xs) for s in spec[2:]]
        return Where(COMPARISONS[spec[1]], *parts, xs)
    return Reduce(REDUCE_OPS[spec[1]], spec[2], compile_graph(spec[3], xs), xs)


def _draw_compiled(data):
    spec, xs = data
    root = compile_graph(spec, xs)
    note("graph: %r" % (root,))
    note("input shapes: %s" % ([x.shape for x in xs],))
    assume(np.all(np.isfinite(root.val)))
    return root, xs


# ---------------------------------------------------------------------------------------------
# (a) forward values and (b) gradients of random graphs
# ---------------------------------------------------------------------------------------------

@settings(max_examples=N_EXAMPLES, **SETTINGS)
@given(graphs())
def test_random_graph_forward_matches_numpy(data):
    root, xs = _draw_compiled(data)
    out = root.gt([gt.constant(x) for x in xs])
    assert isinstance(out, gt.Tensor)
    assert out.dtype == gt.float64
    ref = np.asarray(root.np_(xs), dtype=np.float64)
    got = out.numpy()
    assert got.shape == ref.shape, (got.shape, ref.shape)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)


@settings(max_examples=N_EXAMPLES, **SETTINGS)
@given(graphs())
def test_random_graph_gradient_matches_central_differences(data):
    root, xs = _draw_compiled(data)
    # raises gt.test.GradientCheckError (an AssertionError) naming the worst element
    gt.test.check_gradients(lambda *args: root.gt(list(args)), xs)


@settings(max_examples=max(5, N_EXAMPLES // 4), **SETTINGS)
@given(graphs())
def test_random_graph_second_order_matches_central_differences(data):
    root, xs = _draw_compiled(data)
    gt.test.check_gradients(lambda *args: root.gt(list(args)), xs, order=2)


@settings(max_examples=N_EXAMPLES, **SETTINGS)
@given(graphs())
def test_random_graph_gradient_via_tape_equals_jacobian_sum(data):
    """tape.gradient of a non-scalar target is the column sum of tape.jacobian (TF's rule)."""
    root, xs = _draw_compiled(data)
    args = [gt.constant(x) for x in xs]
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(args)
        y = root.gt(args)
    grads = tape.gradient(y, args, unconnected_gradients="zero")
    jacs = tape.jacobian(y, args, unconnected_gradients="zero")
    del tape
    for x, g, j in zip(xs, grads, jacs):
        assert tuple(g.shape) == x.shape
        jn = np.asarray(j.numpy()).reshape(int(np.prod(y.shape, dtype=np.int64)), x.size)
        np.testing.assert_allclose(g.numpy().reshape(-1), jn.sum(axis=0), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# dtypes: float32 with float64 is an error; integer sources get None with a warning
# ---------------------------------------------------------------------------------------------

@st.composite
def broadcast_pair(draw):
    rank = draw(st.integers(0, 3))
    base = tuple(draw(st.integers(1, 3)) for _ in range(rank))

    def one():
        k = draw(st.integers(0, rank))
        return tuple(d if draw(st.booleans()) else 1 for d in base[rank - k:])

    return one(), one()


MIXED_OPS = [(b.name, b.fn) for b in BINARY] + [
    ("operator +", lambda a, b: a + b), ("operator -", lambda a, b: a - b),
    ("operator *", lambda a, b: a * b), ("operator /", lambda a, b: a / b),
    ("operator **", lambda a, b: a ** b), ("operator <", lambda a, b: a < b),
    ("operator ==", lambda a, b: a == b),
    ("where", lambda a, b: gt.where(gt.ones_like(a, dtype=gt.bool) if a.ndim >= b.ndim else gt.ones_like(b, dtype=gt.bool), a, b)),
    ("add via Variable", lambda a, b: gt.Variable(a) + b),
    ("clip_by_value", lambda a, b: gt.clip_by_value(a, b, b)),
]


@settings(max_examples=N_EXAMPLES, **SETTINGS)
@given(broadcast_pair(), st.sampled_from(range(len(MIXED_OPS))), st.booleans(), st.integers(0, 2**32 - 1))
def test_mixing_float32_and_float64_raises(shapes, op_index, f32_first, seed):
    name, fn = MIXED_OPS[op_index]
    note("op: %s, shapes %s, float32 first: %s" % (name, shapes, f32_first))
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, size=shapes[0])
    b = rng.uniform(0.5, 2.0, size=shapes[1])
    ta = gt.constant(a.astype(np.float32 if f32_first else np.float64))
    tb = gt.constant(b.astype(np.float64 if f32_first else np.float32))
    with pytest.raises(gt.errors.InvalidArgumentError) as info:
        fn(ta, tb)
    msg = str(info.value)
    assert "float32" in msg and "float64" in msg, msg


@settings(max_examples=max(10, N_EXAMPLES // 2), **SETTINGS)
@given(broadcast_pair(), st.sampled_from(["matmul", "concat", "stack"]), st.booleans())
def test_mixing_float32_and_float64_raises_in_structural_ops(shapes, op, f32_first):
    d1, d2 = (np.float32, np.float64) if f32_first else (np.float64, np.float32)
    a = gt.constant(np.ones((2, 2), d1))
    b = gt.constant(np.ones((2, 2), d2))
    fn = {"matmul": gt.matmul, "concat": lambda x, y: gt.concat([x, y], 0),
          "stack": lambda x, y: gt.stack([x, y])}[op]
    with pytest.raises(gt.errors.InvalidArgumentError) as info:
        fn(a, b)
    assert "float32" in str(info.value) and "float64" in str(info.value)


INT_OPS = [
    ("square", gt.square), ("negative", gt.negative), ("abs", gt.abs),
    ("x * x", lambda x: x * x), ("x + 1", lambda x: x + 1), ("reduce_sum", gt.reduce_sum),
    ("cast to float64", lambda x: gt.cast(x, gt.float64) * 2.0),
]


@settings(max_examples=N_EXAMPLES, **SETTINGS)
@given(st.sampled_from(["int32", "int64"]), st.lists(st.integers(1, 3), min_size=0, max_size=3),
       st.sampled_from(range(len(INT_OPS))), st.booleans(), st.integers(0, 2**32 - 1))
def test_integer_sources_get_none_gradient_with_a_warning(dtype, shape, op_index, with_float, seed):
    name, fn = INT_OPS[op_index]
    rng = np.random.default_rng(seed)
    xi = gt.constant(rng.integers(-5, 6, size=tuple(shape)).astype(dtype))
    xf = gt.constant(rng.uniform(-1, 1, size=tuple(shape)))
    assert xi.dtype == getattr(gt, dtype)
    with gt.GradientTape() as tape:
        with pytest.warns(UserWarning):
            tape.watch(xi)
        tape.watch(xf)
        y = fn(xi)
        target = gt.reduce_sum(gt.cast(y, gt.float64)) + gt.reduce_sum(xf * xf) if with_float else y
    sources = [xf, xi] if with_float else [xi]
    with pytest.warns(UserWarning):
        grads = tape.gradient(target, sources)
    assert grads[-1] is None, grads
    if with_float:
        assert grads[0] is not None
        np.testing.assert_allclose(grads[0].numpy(), 2 * xf.numpy(), rtol=1e-12)


@settings(max_examples=max(10, N_EXAMPLES // 2), **SETTINGS)
@given(st.sampled_from(["int32", "int64", "bool"]), st.lists(st.integers(1, 3), min_size=0, max_size=3))
def test_non_float_variable_gradient_is_none_with_a_warning(dtype, shape):
    init = np.ones(tuple(shape), dtype=dtype)
    v = gt.Variable(init)
    w = gt.Variable(np.ones(tuple(shape)))
    with gt.GradientTape() as tape:
        y = gt.reduce_sum(w * 3.0)
        _ = v.read_value()
    with pytest.warns(UserWarning):
        gv, gw = tape.gradient(y, [v, w])
    assert gv is None
    np.testing.assert_array_equal(gw.numpy(), np.full(tuple(shape), 3.0))


def test_graph_strategy_covers_every_differentiable_table_op():
    """Meta-test: every differentiable unary/binary row of the op table can be drawn."""
    names = {u.name for u in UNARY_OPS} | {b.name for b in BINARY_DIFF}
    table = {u.name for u in UNARY if u.grad} | {b.name for b in BINARY if b.grad}
    assert names == table, table - names
    assert {c.name for c in COMPARISONS} == {b.name for b in BINARY if b.out_bool}


def test_kink_guards_and_checks_are_not_vacuous():
    """Meta-test: the kink guards reject points at a kink, the forward check fails on a wrong
    value, and check_gradients fails on a wrong gradient."""
    assert not away_from_zero(np.array([1.0, 0.0]))
    assert away_from_zero(np.array([1.0, -0.5]))
    assert not unique_extremum(np.array([[1.0, 1.0], [0.0, 2.0]]), 1, "reduce_max")
    assert unique_extremum(np.array([[1.0, 1.0], [0.0, 2.0]]), 0, "reduce_max")
    relu = [u for u in UNARY_OPS if u.name == "nn.relu"][0]
    with pytest.raises(ValueError, match="rejected"):
        Unary(relu, Leaf(0, [np.zeros(3)]), [np.zeros(3)])  # relu at its kink
    node = Unary(relu, Leaf(0, [np.ones(3)]), [np.ones(3)])
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(node.gt([gt.constant(np.ones(3))]).numpy(), node.val + 1e-6, rtol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(gt.test.GradientCheckError):
            gt.test.check_gradients(lambda x: gt.stop_gradient(x) * x, [np.ones(2)])


# ---------------------------------------------------------------------------------------------
# regressions found by the properties above (kept as plain tests so the failure is obvious)
# ---------------------------------------------------------------------------------------------

def test_found_broadcast_to_same_shape_is_recorded():
    """gt.broadcast_to(x, x.shape) must stay on the tape (it is the identity there)."""
    x = gt.constant(np.array([1.0, 2.0]))
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = gt.broadcast_to(x, [2]) * 3.0
    g = tape.gradient(y, x)
    assert g is not None, "gradient through broadcast_to(x, x.shape) is None"
    np.testing.assert_array_equal(g.numpy(), [3.0, 3.0])


@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (2,)], ids=str)
def test_found_second_order_through_reduce_sum_of_one_element(shape):
    """d2/dx2 exp(reduce_sum(x)) = exp(sum(x)) for every element pair; for a one-element x
    the reduce_sum rule's broadcast is an identity, which must still be recorded."""
    x = gt.constant(np.full(shape, 0.5))
    with gt.GradientTape() as outer:
        outer.watch(x)
        with gt.GradientTape() as inner:
            inner.watch(x)
            y = gt.exp(gt.reduce_sum(x))
        g = inner.gradient(y, x)
    h = outer.gradient(g, x)
    n = int(np.prod(shape, dtype=np.int64))
    assert h is not None, "second derivative through reduce_sum of shape %s is None" % (shape,)
    np.testing.assert_allclose(h.numpy(), np.full(shape, n * np.exp(0.5 * n)), rtol=1e-12)


def test_found_pow_mixed_second_derivative_with_exponent_watched_by_outer_tape():
    """d/db (d/da a**b) = a**(b-1) (1 + b log a). The inner tape watches only `a`, the outer
    one `b`: the inner rule must not treat the exponent as a constant."""
    a = gt.constant(np.float64(0.5))
    b = gt.constant(np.float64(1.5))
    with gt.GradientTape() as outer:
        outer.watch(b)
        with gt.GradientTape() as inner:
            inner.watch(a)
            y = gt.pow(a, b)
        ga = inner.gradient(y, a)
    np.testing.assert_allclose(ga.numpy(), 1.5 * 0.5 ** 0.5, rtol=1e-14)
    gab = outer.gradient(ga, b)
    assert gab is not None, "d(d pow/da)/db is None: the exponent was folded as a constant"
    np.testing.assert_allclose(gab.numpy(), 0.5 ** 0.5 * (1 + 1.5 * np.log(0.5)), rtol=1e-12)
