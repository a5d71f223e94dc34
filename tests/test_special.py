"""gt.math.erfcinv, ndtri, bessel_i0/i0e/i1/i1e, cumulative_logsumexp, zeta and betainc against TensorFlow
2.21's answers (tests/reference/tf_special.json, made by tests/reference/make_special.py) at
ordinary and extreme inputs: the ends of their domains, tiny and huge values, infinities, NaN;
and against mpmath in the tails, where the accuracy is the point. The gradient checks (first and
second order, float64, broadcasting) are the op table's rows in test_ops.py."""
import json
import pathlib

import mpmath
import numpy as np
import pytest

import gradtape as gt

_DATA = json.loads((pathlib.Path(__file__).parent / "reference" / "tf_special.json").read_text())
REF, GRIDS = _DATA["cases"], _DATA["grids"]
FUNCTIONS = ["erfcinv", "ndtri", "bessel_i0", "bessel_i0e", "bessel_i1", "bessel_i1e"]
TOL = {"float64": 1e-12, "float32": 4e-6}


def decode(values):
    return np.array([float(v) for v in values], np.float64)


def close_with_special_values(got, want, rtol, atol=0):
    # NaN and +-inf exactly where TensorFlow has them; finite values within rtol
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_values_and_gradients_are_tensorflows(name, dtype):
    case = REF["%s/%s" % (name, dtype)]
    points = decode(case["x"])
    x = gt.Variable(points, dtype=getattr(gt, dtype))
    with gt.GradientTape() as tape:
        y = getattr(gt.math, name)(x)
    g = tape.gradient(y, x)
    assert y.dtype == x.dtype and g.dtype == x.dtype
    # TensorFlow flushes float32 subnormal inputs to zero (erfcinv(1e-40) is inf there); gradtape
    # computes them (docs/choices.md), so those points are compared with mpmath instead
    stored = points.astype(dtype)
    tiny = (np.abs(stored) < np.finfo(dtype).tiny) & (stored != 0)
    keep = ~tiny
    grad_keep = keep.copy()
    if name == "bessel_i1":
        # TensorFlow's rule gives 1 at x = 0, where I1'(0) = I0(0) / 2 = 1/2 (docs/choices.md)
        grad_keep &= points != 0
        np.testing.assert_array_equal(g.numpy()[points == 0], 0.5)
    # float32 gradients of the scaled Bessel functions cancel (i1e - i0e far out): an absolute
    # tolerance at float32's rounding of the terms
    atol = 1e-8 if dtype == "float32" else 0
    close_with_special_values(y.numpy().astype(np.float64)[keep], decode(case["value"])[keep], TOL[dtype])
    close_with_special_values(g.numpy().astype(np.float64)[grad_keep], decode(case["grad"])[grad_keep],
                              10 * TOL[dtype], atol)
    if name == "erfcinv" and tiny.any():
        np.testing.assert_allclose(y.numpy()[tiny], [_erfc_root(float(c)) for c in stored[tiny]], rtol=TOL[dtype])


def test_the_special_namespace_is_the_math_functions():
    for name in ["bessel_i0", "bessel_i0e", "bessel_i1", "bessel_i1e"]:
        assert getattr(gt.math.special, name) is getattr(gt.math, name)
    np.testing.assert_allclose(gt.math.special.bessel_i1e(gt.constant([2.0], dtype=gt.float64)).numpy(),
                               [0.2152692892489376], rtol=1e-15)


def _erfc_root(c):
    mpmath.mp.dps = 60
    return float(mpmath.findroot(lambda y: mpmath.log(mpmath.erfc(y)) - mpmath.log(mpmath.mpf(c)), 1.0))


@pytest.mark.parametrize("c", [5e-324, 1e-300, 1e-100, 1e-30, 1e-17, 1e-15, 1e-9, 0.3, 0.7])
def test_erfcinv_and_ndtri_keep_their_accuracy_in_the_tail(c):
    # erfinv(1 - c) would lose c to the rounding of 1 - c; erfcinv solves erfc(y) = c itself
    want = _erfc_root(c)
    got = gt.math.erfcinv(gt.constant([c], dtype=gt.float64)).numpy()[0]
    np.testing.assert_allclose(got, want, rtol=4e-16 if c > 1e-300 else 1e-12)
    if c / 2 > 0:
        np.testing.assert_allclose(gt.math.ndtri(gt.constant([c / 2], dtype=gt.float64)).numpy()[0],
                                   -np.sqrt(2) * want, rtol=4e-16 if c > 1e-300 else 1e-12)


@pytest.mark.parametrize("x", [0.0, 1e-5, 0.3, 2.0, 19.99, 20.01, 35.0, 300.0, 705.0])
def test_bessel_functions_are_accurate_on_both_sides_of_the_series_switch(x):
    mpmath.mp.dps = 40
    for name, nu, scaled in [("bessel_i0", 0, False), ("bessel_i1", 1, False),
                             ("bessel_i0e", 0, True), ("bessel_i1e", 1, True)]:
        want = mpmath.besseli(nu, x) * (mpmath.exp(-x) if scaled else 1)
        got = getattr(gt.math, name)(gt.constant([x, -x], dtype=gt.float64)).numpy()
        sign = -1.0 if nu == 1 else 1.0
        np.testing.assert_allclose(got, [float(want), sign * float(want)], rtol=1e-15, atol=0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumulative_logsumexp_is_tensorflows(dtype, exclusive, reverse):
    case = REF["cumulative_logsumexp/%s/%d%d" % (dtype, exclusive, reverse)]
    x = gt.Variable(decode(case["x"]).reshape(-1, 4), dtype=getattr(gt, dtype))
    w = gt.constant(np.linspace(0.5, 2.0, 4), dtype=getattr(gt, dtype))
    with gt.GradientTape() as tape:
        y = gt.math.cumulative_logsumexp(x, axis=1, exclusive=exclusive, reverse=reverse)
        s = gt.reduce_sum(gt.where(gt.math.is_finite(y), y, gt.zeros_like(y)) * w)
    g = tape.gradient(s, x).numpy().astype(np.float64).ravel()
    rows = decode(case["x"]).reshape(-1, 4)
    value = y.numpy().astype(np.float64).ravel()
    # a NaN input makes NaN of every sum it enters; TensorFlow's kernel passes over it (row
    # [0, nan, 1, 2] gives [0, log 2, ...] there): gradtape does not give that wrong answer
    # (docs/choices.md)
    no_nan = np.repeat(~np.isnan(rows).any(axis=1), 4)
    close_with_special_values(value[no_nan], decode(case["value"])[no_nan], TOL[dtype])
    nan_row = value[~no_nan].reshape(-1, 4)[0]
    # (the NaN is at position 1: the sums that include it)
    want_nan = {(False, False): [1, 2, 3], (False, True): [0, 1], (True, False): [2, 3], (True, True): [0]}
    assert np.nonzero(np.isnan(nan_row))[0].tolist() == want_nan[(exclusive, reverse)]
    # the gradient on rows of finite inputs (TensorFlow's and ours differ in where a NaN appears
    # when an input is infinite)
    finite_rows = np.repeat(np.isfinite(rows).all(axis=1), 4)
    close_with_special_values(g[finite_rows], decode(case["grad"])[finite_rows], 10 * TOL[dtype])


def test_cumulative_logsumexp_keeps_small_terms_and_errors():
    # a long run of terms far below the largest: log(cumsum(exp(x - max))) would give -inf there
    x = gt.constant([-2000.0, -2000.0, 0.0], dtype=gt.float64)
    np.testing.assert_allclose(gt.math.cumulative_logsumexp(x).numpy(), [-2000.0, -2000.0 + np.log(2), 0.0])
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.math.cumulative_logsumexp(gt.constant([1.0, 2.0]), axis=1)
    with pytest.raises((TypeError, gt.errors.InvalidArgumentError)):
        gt.math.cumulative_logsumexp(gt.constant([1, 2]))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_zeta_is_tensorflows(dtype):
    x, q = (gt.Variable(v, dtype=getattr(gt, dtype))
            for v in np.meshgrid(*[decode(g) for g in GRIDS["zeta"]], indexing="ij"))
    with gt.GradientTape() as tape:
        y = gt.math.zeta(x, q)
    gx, gq = tape.gradient(y, [x, q])
    assert gx is None  # no gradient in x, as TensorFlow
    case = REF["zeta/%s" % dtype]
    close_with_special_values(y.numpy().astype(np.float64).ravel(), decode(case["value"]), TOL[dtype])
    # the gradient at negative half-integer q is -x zeta(x + 1, q), whose terms (q + k)^-(x+1)
    # cancel in pairs around 0 for odd x + 1: TensorFlow sums them across 0 and loses the rest
    # (float64 at x = 30, q = -1.5: -4.2e-6 where mpmath gives -1.4e-11; NaN in float32 at
    # x = 200); gradtape pairs them exactly. Those points are checked against mpmath below
    xg, qg = (decode(g) for g in GRIDS["zeta"])
    xx, qq = np.meshgrid(xg, qg, indexing="ij")
    keep = ~((xx.ravel() >= 4.0) & (qq.ravel() < 0) & (qq.ravel() != np.floor(qq.ravel())))
    close_with_special_values(gq.numpy().astype(np.float64).ravel()[keep], decode(case["grad_q"])[keep], 10 * TOL[dtype])


@pytest.mark.parametrize("x,q", [(1.5, 1.0), (2.0, 0.5), (3.0, 1e-3), (7.5, 3.25), (1.0001, 2.0), (60.0, 1.7),
                                 (250.0, 1.01), (2.0, -1.5), (5.0, -7.25), (20.0, 1e6), (31.0, -1.5), (5.0, -2.5),
                                 (4.0, -2.5), (201.0, -1.5)])
def test_zeta_matches_mpmath(x, q):
    mpmath.mp.dps = 160  # (at q = -1.5, x = 201, the terms +-2^201 cancel: mpmath needs the digits)
    got = gt.math.zeta(gt.constant(x, dtype=gt.float64), gt.constant(q, dtype=gt.float64)).numpy()
    np.testing.assert_allclose(got, float(mpmath.zeta(x, q)), rtol=2e-15)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_betainc_is_tensorflows(dtype):
    a, b, x = (gt.Variable(v, dtype=getattr(gt, dtype))
               for v in np.meshgrid(*[decode(g) for g in GRIDS["betainc"]], indexing="ij"))
    with gt.GradientTape() as tape:
        y = gt.math.betainc(a, b, x)
    ga, gb, gx = tape.gradient(y, [a, b, x])
    assert ga is None and gb is None  # none in a and b, as TensorFlow
    case = REF["betainc/%s" % dtype]
    # (float32: TensorFlow computes in float32, to about 1e-4 where the fraction converges slowly,
    # and flushes a subnormal result to 0; gradtape computes in long double and rounds once)
    tol, atol = (1e-11, 0) if dtype == "float64" else (2e-4, np.finfo(np.float32).tiny)
    close_with_special_values(y.numpy().astype(np.float64).ravel(), decode(case["value"]), tol, atol)
    close_with_special_values(gx.numpy().astype(np.float64).ravel(), decode(case["grad_x"]), 10 * tol, atol)


@pytest.mark.parametrize("a,b,x", [(0.5, 0.5, 0.3), (2.0, 3.0, 0.7), (300.0, 50.0, 0.85), (1e-3, 2.0, 0.5),
                                   (5.0, 5.0, 1e-8), (50.0, 0.5, 0.999), (1.0, 1.0, 0.25)])
def test_betainc_matches_mpmath_and_broadcasts(a, b, x):
    mpmath.mp.dps = 40
    want = float(mpmath.betainc(a, b, 0, x, regularized=True))
    got = gt.math.betainc(gt.constant([a, a], dtype=gt.float64), gt.constant(b, dtype=gt.float64),
                          gt.constant([[x], [x]], dtype=gt.float64))
    assert got.shape == (2, 2)
    np.testing.assert_allclose(got.numpy(), np.full((2, 2), want), rtol=1e-13)


def test_cumulative_logsumexp_derivatives_after_a_run_of_minus_infinity():
    # a prefix of -inf terms has no derivative (NaN there, as TensorFlow), and must not spread
    # NaN to the finite sums after it: the forward-mode tangent, the gradient and the second
    # derivative all stay finite there
    x = gt.constant([-np.inf, 0.0, 1.0], dtype=gt.float64)
    with gt.autodiff.ForwardAccumulator(x, gt.constant([0.0, 1.0, 1.0], dtype=gt.float64)) as acc:
        y = gt.math.cumulative_logsumexp(x)
    jvp = acc.jvp(y).numpy()
    assert np.isnan(jvp[0])
    np.testing.assert_allclose(jvp[1:], [1.0, 1.0])
    xv = gt.Variable([-np.inf, 0.0, 1.0], dtype=gt.float64)
    with gt.GradientTape() as outer:
        with gt.GradientTape() as inner:
            s = gt.reduce_sum(gt.math.cumulative_logsumexp(xv)[1:])
        g = inner.gradient(s, xv)
        gg = gt.reduce_sum(g[1:])
    want = [np.exp(0 - np.log(1.0)) + np.exp(0 - np.logaddexp(0, 1)), np.exp(1 - np.logaddexp(0, 1))]
    np.testing.assert_allclose(g.numpy()[1:], want)
    h = outer.gradient(gg, xv).numpy()
    assert np.isfinite(h[1:]).all()
    np.testing.assert_allclose(h[1:].sum(), 0.0, atol=1e-12)  # d/dx of a softmax's sum
    x = gt.constant([0.0, 1.0, -np.inf], dtype=gt.float64)  # reversed, exclusive
    with gt.autodiff.ForwardAccumulator(x, gt.constant([1.0, 1.0, 0.0], dtype=gt.float64)) as acc:
        y = gt.math.cumulative_logsumexp(x, reverse=True)
    np.testing.assert_allclose(acc.jvp(y).numpy()[:2], [1.0, 1.0])
