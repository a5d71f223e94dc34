"""Forward mode, op by op: every op of the table (tests/op_table.py) has its jvp checked in
float64 against central differences and against its vjp (the forward and reverse Jacobians
are one matrix), at first order and at second order (forward over forward, and forward over
reverse: Hessian-vector products), on shapes that broadcast. Meta-tests fail when a
differentiable primitive of the manifest has no jvp rule or no checked row."""
import numpy as np
import pytest

import gradtape as gt
from gradtape import _manifest
from op_table import BINARY, CHECKED_THROUGH, REDUCTIONS, RNG, SPECIAL, UNARY, table_names

DIFF_UNARY = [u for u in UNARY if u.fn is not None and u.grad]
DIFF_BINARY = [b for b in BINARY if b.grad]


def away_from_kinks(x):
    return np.where(np.abs(x) < 0.05, 0.3, x)  # abs, sign, relu at 0


@pytest.mark.parametrize("op", DIFF_UNARY, ids=lambda o: o.name)
@pytest.mark.parametrize("order", [1, 2])
def test_unary_jvp(op, order):
    (x,) = op.inputs((2, 3), np.float64)
    if order == 2 and not op.order2:
        pytest.skip("no second derivative")
    gt.test.check_jvp(op.fn, [away_from_kinks(x)], order=order)


@pytest.mark.parametrize("op", DIFF_BINARY, ids=lambda o: o.name)
@pytest.mark.parametrize("shapes", [((3, 1), (1, 4)), ((), (2, 3)), ((2, 1, 3), (4, 1))], ids=str)
@pytest.mark.parametrize("order", [1, 2])
def test_binary_jvp(op, shapes, order):
    a, b = op.inputs(shapes, np.float64)
    gt.test.check_jvp(op.fn, [a, b], order=order)


@pytest.mark.parametrize("op", REDUCTIONS, ids=lambda o: o.name)
@pytest.mark.parametrize("axis", [None, 1, [0, 2], -1], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_jvp(op, axis, keepdims):
    x = RNG.uniform(op.low, op.high, size=(2, 3, 2))
    gt.test.check_jvp(lambda t: op.fn(t, axis=axis, keepdims=keepdims), [x], order=1)


@pytest.mark.parametrize("op", REDUCTIONS, ids=lambda o: o.name)
@pytest.mark.parametrize("axis", [None, [0, 2]], ids=str)
def test_reduction_jvp_second_order(op, axis):
    x = RNG.uniform(op.low, op.high, size=(2, 3, 2))
    gt.test.check_jvp(lambda t: op.fn(t, axis=axis), [x], order=2)


@pytest.mark.parametrize("op", [s for s in SPECIAL if s.grad], ids=lambda o: o.name)
@pytest.mark.parametrize("order", [1, 2])
def test_special_jvp(op, order):
    if order == 2 and not op.order2:
        pytest.skip("no second derivative")
    gt.test.check_jvp(op.fn, op.make_inputs(np.float64), order=order)


def test_every_differentiable_primitive_has_a_jvp_rule_and_a_check():
    rows = [r for r in _manifest.rows() if r.primitive]
    for r in rows:
        assert (r.jvp == "NoGrad") == (r.mask == "NoGrad"), (r.name, r.jvp, r.mask)
        assert r.jvp in ("Sym", "Rule", "NoGrad"), r.name
    core = {r.name for r in rows if r.jvp != "NoGrad"}
    covered = table_names() | set(CHECKED_THROUGH)
    assert core <= covered, "jvp rules with no check (add a row to tests/op_table.py): %s" % sorted(core - covered)


def test_float32_jvp_matches_float64():
    x = RNG.uniform(-1, 1, size=(3, 4))
    v = RNG.uniform(-1, 1, size=(3, 4))
    out = []
    for dtype in (np.float32, np.float64):
        xt = gt.constant(x.astype(dtype))
        with gt.autodiff.ForwardAccumulator(xt, gt.constant(v.astype(dtype))) as acc:
            y = gt.reduce_sum(gt.tanh(xt) * gt.exp(xt), axis=1)
        j = acc.jvp(y)
        assert j.dtype == y.dtype
        out.append(j.numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-5, atol=1e-5)
