"""Numerics we can be trusted on (docs/structural-zeros.md, BENCHMARKS.md W8):
stable primitives exact to a few ulp at extreme points (exact values from mpmath, not from our
own ops), structural zeros through where/slices/gathers, honest NaNs, the IEEE switch,
explained None gradients, and gradient checking catching wrong gradients."""
import mpmath
import numpy as np
import pytest

import gradtape as gt

mpmath.mp.prec = 200
W8_POINTS = [-1000.0, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1000.0]
DTYPES = [np.float32, np.float64]


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


EXACT = {
    "softplus": lambda x: mpmath.log(1 + mpmath.exp(x)),
    "softplus'": mp_sigmoid,
    "softplus''": lambda x: mp_sigmoid(x) * mp_sigmoid(-x),
    "sigmoid": mp_sigmoid,
    "sigmoid'": lambda x: mp_sigmoid(x) * mp_sigmoid(-x),
    "log_sigmoid": lambda x: -mpmath.log(1 + mpmath.exp(-x)),
    "log_sigmoid'": lambda x: mp_sigmoid(-x),
}


def ulp_error(value, exact, dtype):
    """Distance in ulps of `dtype` between value and the exact (mpmath) number; a result
    below the smallest normal may be flushed to zero."""
    info = np.finfo(dtype)
    exact_rounded = dtype(float(exact))
    if not np.isfinite(value):
        return np.inf
    if abs(float(exact)) < info.tiny and abs(value) < info.tiny:
        return 0.0
    spacing = np.spacing(np.abs(exact_rounded)) if exact_rounded != 0 else info.tiny
    return abs(float(value) - float(exact)) / float(spacing)


def value_grad_hess(fn, x, dtype):
    t = gt.constant(np.array([x], dtype=dtype))
    with gt.GradientTape() as outer:
        outer.watch(t)
        with gt.GradientTape() as inner:
            inner.watch(t)
            y = fn(t)
        g = inner.gradient(y, t)
    h = outer.gradient(g, t)
    return y.numpy()[0], g.numpy()[0], h.numpy()[0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x", W8_POINTS)
@pytest.mark.parametrize("name,fn", [("softplus", gt.nn.softplus), ("softplus", gt.math.softplus),
                                     ("sigmoid", gt.sigmoid), ("log_sigmoid", gt.math.log_sigmoid)])
def test_w8_table_within_3_ulp(name, fn, x, dtype):
    y, g, h = value_grad_hess(fn, x, dtype)
    checks = [(name, y), (name + "'", g)]
    if name + "''" in EXACT:
        checks.append((name + "''", h))
    for key, got in checks:
        exact = EXACT[key](mpmath.mpf(x))
        assert np.isfinite(got), "%s(%r) in %s is %r" % (key, x, dtype.__name__, got)
        assert ulp_error(got, exact, dtype) <= 3, \
            "%s(%r) in %s: got %r, exact %s" % (key, x, dtype.__name__, got, mpmath.nstr(exact, 20))


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_softmax_and_cross_entropies_are_stable(dtype):
    logits_np = np.array([[1000.0, 0.0, -1000.0], [-30.0, 30.0, 1.0]], dtype=dtype)
    logits = gt.constant(logits_np)
    mp_rows = [[mpmath.mpf(float(v)) for v in row] for row in logits_np]
    lse = [mpmath.log(sum(mpmath.exp(v) for v in row)) for row in mp_rows]
    labels = gt.constant(np.array([[0.2, 0.3, 0.5], [0.0, 1.0, 0.0]], dtype=dtype))
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        out_lse = gt.reduce_logsumexp(logits, axis=1)
        out_ls = gt.nn.log_softmax(logits)
        out_sm = gt.nn.softmax(logits)
        xent = gt.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        sparse = gt.nn.sparse_softmax_cross_entropy_with_logits(labels=gt.constant([2, 1]), logits=logits)
    for r in range(2):
        assert ulp_error(out_lse.numpy()[r], lse[r], dtype) <= 3
        for c in range(3):
            assert ulp_error(out_ls.numpy()[r, c], mp_rows[r][c] - lse[r], dtype) <= 3
            assert ulp_error(out_sm.numpy()[r, c], mpmath.exp(mp_rows[r][c] - lse[r]), dtype) <= 3
    assert np.isclose(sparse.numpy()[0], 2000.0, rtol=1e-6) and np.isclose(sparse.numpy()[1], float(lse[1] - 30), rtol=1e-5)
    for t in (out_lse, out_ls, out_sm, xent, sparse):
        g = tape.gradient(t, logits)
        assert np.all(np.isfinite(g.numpy())), t
    gx = tape.gradient(xent, logits).numpy()
    softmax_exact = np.array([[float(mpmath.exp(v - lse[r])) for v in row] for r, row in enumerate(mp_rows)])
    np.testing.assert_allclose(gx, softmax_exact - labels.numpy(), atol=1e-6)


# ------------------------------------------------------------------ structural zeros

def softplus_where(z):
    return gt.where(z > 30., z, gt.math.log(gt.exp(z) + 1.))


def grad_of(fn, x):
    x = gt.Variable(x)
    with gt.GradientTape() as tape:
        y = fn(x)
    return tape.gradient(y, x).numpy()


def test_seed_cell_48_gives_one():
    np.testing.assert_array_equal(grad_of(softplus_where, [1000.0]), [1.0])


def test_mixed_mask():
    g = grad_of(softplus_where, [1000.0, 1.0])
    np.testing.assert_allclose(g, [1.0, 1 / (1 + np.exp(-1.0))], rtol=1e-6)


def test_where_sqrt_at_negative_gives_zero():
    g = grad_of(lambda x: gt.where(x > 0, gt.sqrt(x), 0.0), [-1.0, 4.0])
    np.testing.assert_array_equal(g, [0.0, 0.25])


def test_nan_on_the_selected_branch_stays_nan():
    g = grad_of(lambda x: gt.where(x < 0, gt.sqrt(x), x), [-1.0, 2.0])
    assert np.isnan(g[0]) and g[1] == 1.0


def test_arithmetic_zero_stays_ieee():
    # the naive softplus at 100 in float32: exp overflows, the gradient is an honest NaN
    assert np.isnan(grad_of(lambda x: gt.math.log(gt.exp(x) + 1), [100.0])[0])
    # 0 * log(x) at x = 0: a zero computed by arithmetic, 0 * inf = nan
    assert np.isnan(grad_of(lambda x: 0.0 * gt.math.log(x), [0.0])[0])


def test_structural_zeros_hold_at_second_order():
    x = gt.Variable([1000.0, 1.0])
    with gt.GradientTape() as outer:
        with gt.GradientTape() as inner:
            y = softplus_where(x)
        g = inner.gradient(y, x)
    h = outer.gradient(g, x).numpy()
    s = 1 / (1 + np.exp(-1.0))
    np.testing.assert_allclose(h, [0.0, s * (1 - s)], rtol=1e-5)


def test_slice_gather_and_mask_give_structural_zeros():
    x0 = [-1.0, 4.0, 9.0]
    np.testing.assert_allclose(grad_of(lambda x: gt.sqrt(x)[1:], x0), [0.0, 0.25, 1 / 6], rtol=1e-6)
    np.testing.assert_allclose(grad_of(lambda x: gt.gather(gt.sqrt(x), gt.constant([2, 2])), x0),
                               [0.0, 0.0, 1 / 3], rtol=1e-6)
    np.testing.assert_allclose(grad_of(lambda x: gt.boolean_mask(gt.sqrt(x), gt.constant([False, True, True])), x0),
                               [0.0, 0.25, 1 / 6], rtol=1e-6)


def test_structural_zeros_through_broadcasting_and_reductions():
    # the masked branch is broadcast and reduced before it reaches x: still exact zeros
    def f(x):
        wide = gt.broadcast_to(gt.reshape(x, [2, 1]), [2, 3])
        return gt.reduce_sum(gt.where(wide > 0, gt.math.log(wide), 0.0), axis=1)
    np.testing.assert_allclose(grad_of(f, [-1.0, 2.0]), [0.0, 1.5])


def test_structural_zeros_summed_over_leading_rows_as_a_bias():
    # a bias [3] added to rows [4, 2, 3]: its gradient's position is structural only when it is
    # in every row (the one-pass path of sum_to_shape_masked), and log's inf then stays out
    c0 = np.array([0.0, 2.0, 0.0])
    cond = np.zeros((4, 2, 3), bool)
    cond[:, :, 1] = True
    cond[3, 1, 2] = True  # column 2 live in one row: not structural, and log'(0) reaches it
    def f(c):
        z = gt.zeros([4, 2, 3], gt.float64) + gt.math.log(c)
        return gt.reduce_sum(gt.where(gt.constant(cond), z, 0.0))
    g = grad_of(f, c0)
    assert g[0] == 0.0 and g[1] == 4.0 and np.isinf(g[2])


def test_ieee_switch_restores_tensorflow_nan():
    with gt.config.plain_ieee_gradients():
        assert not gt.config.structural_zeros_enabled()
        assert np.isnan(grad_of(softplus_where, [1000.0])[0])
    assert gt.config.structural_zeros_enabled()
    gt.config.set_structural_zeros(False)
    try:
        assert np.isnan(grad_of(lambda x: gt.where(x > 0, gt.sqrt(x), 0.0), [-1.0])[0])
    finally:
        gt.config.set_structural_zeros(True)


# ------------------------------------------------------------------ explained None

def error_of(tape, target, sources):
    with pytest.raises(gt.errors.UnconnectedGradientsError) as info:
        tape.gradient(target, sources, unconnected_gradients="error")
    return str(info.value)


def test_unconnected_error_causes():
    x = gt.constant(2.0)
    before = gt.constant(1.0) * 3.0
    v_off = gt.Variable(1.0, trainable=False)
    unread = gt.Variable(1.0)
    ints = gt.constant(3)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        constant_inside = gt.constant(5.0)
        y = x * x + v_off + before + constant_inside
        cut = gt.stop_gradient(x * 2.0) * 3.0
        left = gt.constant(float(x * 4.0)) * x
        sibling = x * 5.0
    msg = error_of(tape, y, [x, before, v_off, unread, ints, constant_inside])
    assert "5 of 6 sources" in msg
    assert "computed before the tape started recording" in msg
    assert "not trainable" in msg
    assert "never read inside" in msg
    assert "int32" in msg and "integer" in msg
    assert "constant or was computed from unwatched values" in msg
    with gt.GradientTape() as fresh:
        fresh.watch(x)
    assert "target was not recorded" in error_of(fresh, gt.constant(3.0) * 2.0, [x])
    y2 = gt.constant(3.0) * 2.0
    assert "went through gt.stop_gradient" in error_of(tape, cut + 0 * y2, [x])
    assert "does not depend" in error_of(tape, sibling, [y])
    assert float(tape.gradient(left, x)) == 8.0  # only through the multiply: float() left the tape


def test_unconnected_error_left_the_tape_through_numpy():
    x = gt.constant(2.0)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * 3.0
        z = gt.constant(y.numpy()) * 2.0
    assert ".numpy()" in error_of(tape, z, [x])


def test_unconnected_error_other_thread():
    import threading
    x = gt.constant(2.0)
    out = {}
    with gt.GradientTape() as tape:
        tape.watch(x)
        t = threading.Thread(target=lambda: out.setdefault("y", x * x))
        t.start()
        t.join()
    assert "another thread" in error_of(tape, out["y"], [x])


def test_connected_sources_do_not_raise_in_error_mode():
    x = gt.Variable(3.0)
    with gt.GradientTape() as tape:
        y = x * x
    assert float(tape.gradient(y, x, unconnected_gradients="error")) == 6.0


# ------------------------------------------------------------------ gradient checking for users

def test_check_gradients_catches_a_wrong_custom_gradient():
    @gt.custom_gradient
    def wrong(x):
        return x * x, lambda dy: dy * 3.0 * x  # should be 2x
    with pytest.raises(gt.test.GradientCheckError, match="largest error"):
        gt.test.check_gradients(wrong, [np.array([1.0, 2.0])])


def test_check_gradients_catches_a_wrong_second_derivative():
    @gt.custom_gradient
    def cube(x):
        # right first derivative, but written so that it has no second derivative
        return x ** 3, lambda dy: dy * 3.0 * gt.stop_gradient(x) ** 2
    gt.test.check_gradients(cube, [np.array([1.0, 2.0])], order=1)
    with pytest.raises(gt.test.GradientCheckError):
        gt.test.check_gradients(cube, [np.array([1.0, 2.0])], order=2)


def test_compute_gradient_in_tensorflows_form():
    theoretical, numerical = gt.test.compute_gradient(lambda x: x * x, [gt.constant([1.0, 2.0], dtype=gt.float64)])
    assert isinstance(theoretical, tuple) and len(theoretical) == 1
    np.testing.assert_allclose(theoretical[0], [[2.0, 0.0], [0.0, 4.0]])
    np.testing.assert_allclose(numerical[0], theoretical[0], atol=1e-6)


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64])
def test_a_sum_of_one_negative_zero_is_negative_zero(dtype):
    # TF 2.21's signs (the table, checked with its oracle): a sum of one element is
    # the element itself (1 / reduce_sum([-0.]) is -inf; it was +inf), a sum of more starts from
    # +0 (a sum of -0s is +0), and a sum of none is +0
    table = {(): (True, True), (1,): (True, True), (1, 1): (True, True, [True], [True]),
             (2,): (False, False), (5,): (False, False), (3, 1): (False, False, [True] * 3, [False]),
             (3, 2): (False, False, [False] * 3, [False] * 2), (2, 70000): (False, False, [False] * 2, [False] * 70000)}
    for shape, want in table.items():
        x = gt.cast(gt.fill(list(shape), -0.0), dtype)
        got = [bool(np.signbit(gt.reduce_sum(x).numpy())), bool(np.signbit(gt.reduce_mean(x).numpy()))]
        if len(shape) == 2:
            got += [np.signbit(gt.reduce_sum(x, axis=1).numpy()).tolist(), np.signbit(gt.reduce_sum(x, axis=0).numpy()).tolist()]
        assert tuple(got) == want, shape
        f = gt.function(lambda v: gt.reduce_sum(v * 1.0))  # (scalar code, or a fused pass)
        assert bool(np.signbit(f(x).numpy())) == want[0], shape
    assert not np.signbit(gt.reduce_sum(gt.zeros([0], dtype)).numpy())
    assert not np.signbit(gt.reduce_sum(gt.zeros([2, 0], dtype), axis=1).numpy()).any()
