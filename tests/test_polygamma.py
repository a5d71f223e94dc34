"""gt.math.polygamma(a, x) against TensorFlow 2.21's answers (tests/reference/tf_polygamma.json,
made by tests/reference/make_polygamma.py) on a grid of orders and points that includes the
poles, orders that are not non-negative integers, huge orders, infinities and NaN; and against
mpmath where TensorFlow's float64 is less accurate. The gradient checks (first and second order,
float64, broadcasting) are the op table's row "math.polygamma" in test_ops.py."""
import json
import math
import pathlib

import mpmath
import numpy as np
import pytest

import gradtape as gt

REF = json.loads((pathlib.Path(__file__).parent / "reference" / "tf_polygamma.json").read_text())


def decode(values):
    return np.array([float(v) for v in values], np.float64)


ORDERS = decode(REF["orders"])
POINTS = decode(REF["points"])
A, X = np.meshgrid(ORDERS, POINTS, indexing="ij")


def ours(dtype):
    a = gt.constant(A, dtype=dtype)
    x = gt.Variable(X, dtype=dtype)
    with gt.GradientTape() as tape:
        y = gt.math.polygamma(a, x)
    return y.numpy().astype(np.float64).ravel(), tape.gradient(y, x).numpy().astype(np.float64).ravel()


def same_special_values(got, want):
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))


def truth(n, x):
    """psi^(n)(x) from mpmath at 60 digits, as a float64 (inf where it overflows)."""
    mpmath.mp.dps = 60
    v = mpmath.polygamma(int(n), mpmath.mpf(x))
    return float(v) if abs(v) < 1e308 else math.copysign(math.inf, v)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_poles_nan_and_infinities_are_tensorflows(dtype):
    # every order up to 31 (TensorFlow computes n! in the dtype, which overflows past that in
    # float32): NaN and +-inf exactly where TensorFlow has them, orders that are not
    # non-negative integers included; the gradient in x too
    value, grad = ours(getattr(gt, dtype))
    keep = ~(np.abs(A.ravel()) > 31)
    same_special_values(value[keep], decode(REF["cases"][dtype]["value"])[keep])
    same_special_values(grad[keep], decode(REF["cases"][dtype]["grad_x"])[keep])


@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-10), ("float32", 2e-6)])
def test_low_orders_match_tensorflow(dtype, rtol):
    # where TensorFlow is accurate (low orders at positive x; it loses digits at negative x and
    # high orders, where test_values_match_mpmath is the reference)
    value, grad = ours(getattr(gt, dtype))
    a, x = A.ravel(), X.ravel()
    for got, want, top in ((value, REF["cases"][dtype]["value"], 4), (grad, REF["cases"][dtype]["grad_x"], 3)):
        want = decode(want)
        keep = (a >= 0) & (a <= top) & (a == np.floor(a)) & (x > 0) & np.isfinite(want)
        assert keep.sum() >= 30
        np.testing.assert_allclose(got[keep], want[keep], rtol=rtol)


@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-13), ("float32", 1e-6)])
def test_values_match_mpmath(dtype, rtol):
    # every finite result at orders up to 41 (negative x included), and order 200 at positive x,
    # where TensorFlow overflows n! and answers -inf or NaN
    value, grad = ours(getattr(gt, dtype))
    a, x = A.ravel(), X.ravel()
    tiny = float(np.finfo(dtype).tiny)
    checked = 0
    for got, shift in ((value, 0), (grad, 1)):
        for i in range(a.size):
            n = a[i] + shift
            usable = np.isfinite(got[i]) and np.isfinite(x[i]) and n == np.floor(n)
            if not (usable and (0 <= n <= 41 or (n == 200 and 0 < x[i] < 1e3))):
                continue
            assert got[i] == pytest.approx(truth(n, x[i]), rel=rtol, abs=tiny), (n, x[i])
            checked += 1
    assert checked > 150


def test_documented_divergences_from_tensorflow():
    # docs/choices.md: an order of +-inf is not an integer (NaN; TensorFlow gives inf), orders
    # past 1754 give NaN, and large orders are finite where they fit (TensorFlow: -inf)
    a = gt.constant([np.inf, -np.inf, 1755.0, 1754.0, 200.0], dtype=gt.float64)
    x = gt.constant([1.0, 1.0, 2.0, 1e4, 3.7], dtype=gt.float64)
    got = gt.math.polygamma(a, x).numpy()
    assert np.isnan(got[:3]).all()
    assert got[3] == 0.0
    assert got[4] == pytest.approx(truth(200, 3.7), rel=1e-13)


def test_no_gradient_for_the_order():
    a = gt.Variable([1.0, 2.0], dtype=gt.float64)
    x = gt.Variable([2.0, 3.0], dtype=gt.float64)
    with gt.GradientTape() as tape:
        y = gt.math.polygamma(a, x)
    ga, gx = tape.gradient(y, [a, x])
    assert ga is None
    np.testing.assert_allclose(gx.numpy(), [float(mpmath.polygamma(2, 2)), float(mpmath.polygamma(3, 3))], rtol=1e-13)


def test_bad_dtypes_raise_as_tensorflow():
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.math.polygamma(gt.constant(1.0, dtype=gt.float32), gt.constant(2.0, dtype=gt.float64))
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.math.polygamma(gt.constant(1), gt.constant(2))
