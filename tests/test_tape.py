"""GradientTape semantics, as TensorFlow 2's eager tape (the API contract: docs/)."""
import gc
import subprocess
import sys
import textwrap
import threading
import warnings
import weakref

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import gradtape as gt

ONCE_MSG = "A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)"  # TensorFlow 2.21's message


def c64(value):
    return gt.constant(np.asarray(value, dtype=np.float64))


def v64(value, **kwargs):
    return gt.Variable(np.asarray(value, dtype=np.float64), **kwargs)


def np_(t):
    assert t is not None, "expected a tensor, got None"
    return np.asarray(t.numpy())


def assert_tensor(t, expected, dtype=None, rtol=0.0, atol=0.0):
    assert isinstance(t, gt.Tensor), "expected a gt.Tensor, got %r" % (t,)
    expected = np.asarray(expected)
    assert tuple(t.shape) == expected.shape, (tuple(t.shape), expected.shape)
    if dtype is not None:
        assert t.dtype == dtype, (t.dtype, dtype)
    assert_allclose(np_(t), expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# persistent / non-persistent
# ---------------------------------------------------------------------------------------------

def test_persistent_tape_many_gradient_calls():
    x = c64(3.0)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * x
    for _ in range(5):
        assert_tensor(tape.gradient(y, x), 6.0, gt.float64)
        assert_tensor(tape.gradient(z, x), 27.0, gt.float64)
        assert_tensor(tape.gradient(z, y), 3.0, gt.float64)
    assert_tensor(tape.jacobian(z, x), 27.0, gt.float64)
    assert_tensor(tape.gradient(z, x), 27.0, gt.float64)


def test_non_persistent_second_gradient_raises():
    x = c64(3.0)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert_tensor(tape.gradient(y, x), 6.0, gt.float64)
    with pytest.raises(RuntimeError) as info:
        tape.gradient(y, x)
    assert str(info.value) == ONCE_MSG
    # Still raises on a third try, and for another target.
    with pytest.raises(RuntimeError, match="can only be used to compute one set of gradients"):
        tape.gradient(x * 2.0, x)


def test_non_persistent_jacobian_twice_raises():
    x = c64([1.0, 2.0])
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert_tensor(tape.jacobian(y, x), np.diag([2.0, 4.0]), gt.float64)
    with pytest.raises(RuntimeError) as info:
        tape.jacobian(y, x)
    assert "can only be used to compute one set of gradients" in str(info.value)


def test_non_persistent_gradient_then_jacobian_raises():
    x = c64([1.0, 2.0])
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert_tensor(tape.gradient(y, x), [2.0, 4.0], gt.float64)
    with pytest.raises(RuntimeError, match="can only be used to compute one set of gradients"):
        tape.jacobian(y, x)


# ---------------------------------------------------------------------------------------------
# watching
# ---------------------------------------------------------------------------------------------

def test_watch_accessed_variables_false():
    v = v64(2.0)
    u = v64(5.0)
    with gt.GradientTape(watch_accessed_variables=False) as tape:
        y = v * v * u
    assert tape.gradient(y, [v, u]) == [None, None]
    assert tape.watched_variables() == ()

    with gt.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(v)
        y = v * v * u
    gv, gu = tape.gradient(y, [v, u])
    assert_tensor(gv, 20.0, gt.float64)
    assert gu is None
    assert list(tape.watched_variables()) == [v]


def test_watch_nest_of_tensors_and_variables():
    a = c64(2.0)
    b = c64(3.0)
    c = c64(4.0)
    v = v64(5.0)
    with gt.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch([a, (b, {"c": c, "v": v})])
        y = a * b * c * v
    g = tape.gradient(y, {"a": a, "rest": [b, (c, v)]})
    assert set(g) == {"a", "rest"}
    assert_tensor(g["a"], 60.0, gt.float64)
    assert isinstance(g["rest"], list) and isinstance(g["rest"][1], tuple)
    assert_tensor(g["rest"][0], 40.0, gt.float64)
    assert_tensor(g["rest"][1][0], 30.0, gt.float64)
    assert_tensor(g["rest"][1][1], 24.0, gt.float64)


def test_watch_python_float_raises_value_error():
    with gt.GradientTape() as tape:
        with pytest.raises(ValueError):
            tape.watch(3.0)
        with pytest.raises(ValueError):
            tape.watch([c64(1.0), 3.0])


def test_watch_int_tensor_warns_and_gradient_is_none():
    i = gt.constant(3)
    assert i.dtype == gt.int32
    with gt.GradientTape() as tape:
        with pytest.warns(UserWarning):
            tape.watch(i)
        y = i * i
    assert_array_equal(y.numpy(), 9)
    with pytest.warns(UserWarning):
        g = tape.gradient(y, i)
    assert g is None


def test_non_trainable_variable_not_auto_watched():
    v = v64(3.0, trainable=False)
    w = v64(4.0)
    assert v.trainable is False and w.trainable is True
    with gt.GradientTape() as tape:
        y = v * w
    gv, gw = tape.gradient(y, [v, w])
    assert gv is None
    assert_tensor(gw, 3.0, gt.float64)
    assert list(tape.watched_variables()) == [w]

    # ... but it can still be watched explicitly.
    with gt.GradientTape() as tape:
        tape.watch(v)
        y = v * w
    gv, gw = tape.gradient(y, [v, w])
    assert_tensor(gv, 4.0, gt.float64)
    assert_tensor(gw, 3.0, gt.float64)


# ---------------------------------------------------------------------------------------------
# gradient(): nests, targets, seeds, unconnected
# ---------------------------------------------------------------------------------------------

def _xyz():
    return c64(2.0), c64(3.0), c64(5.0)


def test_sources_as_list_tuple_dict_and_nested():
    x, y, z = _xyz()
    with gt.GradientTape(persistent=True) as tape:
        tape.watch([x, y, z])
        f = x * y * z  # df = (yz, xz, xy) = (15, 10, 6)

    g = tape.gradient(f, [x, y, z])
    assert type(g) is list and len(g) == 3
    for gi, e in zip(g, [15.0, 10.0, 6.0]):
        assert_tensor(gi, e, gt.float64)

    g = tape.gradient(f, (x, y, z))
    assert type(g) is tuple and len(g) == 3
    for gi, e in zip(g, [15.0, 10.0, 6.0]):
        assert_tensor(gi, e, gt.float64)

    g = tape.gradient(f, {"zz": z, "xx": x, "yy": y})
    assert type(g) is dict and set(g) == {"xx", "yy", "zz"}
    assert_tensor(g["xx"], 15.0, gt.float64)
    assert_tensor(g["yy"], 10.0, gt.float64)
    assert_tensor(g["zz"], 6.0, gt.float64)

    g = tape.gradient(f, [x, [y, [z]]])
    assert type(g) is list and type(g[1]) is list and type(g[1][1]) is list
    assert_tensor(g[0], 15.0, gt.float64)
    assert_tensor(g[1][0], 10.0, gt.float64)
    assert_tensor(g[1][1][0], 6.0, gt.float64)

    g = tape.gradient(f, {"a": [x, (y,)], "b": {"c": z}})
    assert_tensor(g["a"][0], 15.0, gt.float64)
    assert isinstance(g["a"][1], tuple)
    assert_tensor(g["a"][1][0], 10.0, gt.float64)
    assert_tensor(g["b"]["c"], 6.0, gt.float64)


def test_targets_as_list_are_summed():
    x = c64(3.0)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a = x * x        # 2x = 6
        b = 4.0 * x      # 4
        c = x * x * x    # 3x^2 = 27
    assert_tensor(tape.gradient([a, b, c], x), 37.0, gt.float64)
    assert_tensor(tape.gradient((a, [b, {"k": c}]), x), 37.0, gt.float64)


def test_non_scalar_target_is_summed():
    xv = np.array([1.0, -2.0, 3.5])
    x = c64(xv)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert_tensor(tape.gradient(y, x), 2 * xv, gt.float64)


def test_non_scalar_target_matrix_broadcast():
    xv = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = c64([10.0, 20.0])
    x = c64(xv)
    with gt.GradientTape() as tape:
        tape.watch([x, b])
        y = x * b  # broadcast over rows
    gx, gb = tape.gradient(y, [x, b])
    assert_tensor(gx, [[10.0, 20.0], [10.0, 20.0]], gt.float64)
    assert_tensor(gb, [4.0, 6.0], gt.float64)


def test_repeated_sources():
    x = c64(3.0)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    g = tape.gradient(y, [x, x])
    assert len(g) == 2
    assert_tensor(g[0], 6.0, gt.float64)
    assert_tensor(g[1], 6.0, gt.float64)


def test_repeated_variable_sources():
    v = v64(3.0)
    with gt.GradientTape() as tape:
        y = v * v * v
    g = tape.gradient(y, (v, v, v))
    assert isinstance(g, tuple) and len(g) == 3
    for gi in g:
        assert_tensor(gi, 27.0, gt.float64)


def test_intermediate_tensors_as_sources():
    x = c64(2.0)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = 3.0 * y
        w = z * y   # 3 y^2
    assert_tensor(tape.gradient(z, y), 3.0, gt.float64)
    assert_tensor(tape.gradient(z, [x, y])[0], 12.0, gt.float64)
    # dw/dy = 6y = 24; dw/dz = y = 4
    gy, gz = tape.gradient(w, [y, z])
    assert_tensor(gy, 24.0, gt.float64)
    assert_tensor(gz, 4.0, gt.float64)


def test_target_is_source_gives_ones():
    x = c64([1.0, 2.0, 3.0])
    with gt.GradientTape() as tape:
        tape.watch(x)
    assert_tensor(tape.gradient(x, x), [1.0, 1.0, 1.0], gt.float64)

    v = v64([[1.0, 2.0]])
    with gt.GradientTape() as tape:
        y = v * 2.0
    assert_tensor(tape.gradient(y, y), [[1.0, 1.0]], gt.float64)


def test_output_gradients_seed():
    xv = np.array([1.0, 2.0, 3.0])
    x = c64(xv)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    seed = c64([1.0, 2.0, 3.0])
    assert_tensor(tape.gradient(y, x, output_gradients=[seed]), 2 * xv * [1, 2, 3], gt.float64)
    assert_tensor(tape.gradient(y, x, output_gradients=seed), 2 * xv * [1, 2, 3], gt.float64)
    # Two targets, two seeds.
    with gt.GradientTape() as tape2:
        tape2.watch(x)
        y = x * x
        y2 = 5.0 * x
    g = tape2.gradient([y, y2], x, output_gradients=[c64([1.0, 0.0, 1.0]), c64([0.0, 1.0, 2.0])])
    assert_tensor(g, [2.0, 5.0, 6.0 + 10.0], gt.float64)


def test_output_gradients_seed_float32_seed_example():
    x = gt.constant([1.0, 2.0, 3.0])
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    g = tape.gradient(y, x, output_gradients=[gt.constant([1., 2., 3.])])
    assert_tensor(g, [2.0, 8.0, 18.0], gt.float32)


@pytest.mark.parametrize("mode", ["zero", gt.UnconnectedGradients.ZERO])
def test_unconnected_gradients_zero(mode):
    x = c64([1.0, 2.0])
    u = c64([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    v = v64([7.0, 8.0, 9.0])
    with gt.GradientTape() as tape:
        tape.watch([x, u])
        y = x * 3.0
    gx, gu, gv = tape.gradient(y, [x, u, v], unconnected_gradients=mode)
    assert_tensor(gx, [3.0, 3.0], gt.float64)
    assert_tensor(gu, np.zeros((2, 3)), gt.float64)
    assert_tensor(gv, np.zeros(3), gt.float64)


@pytest.mark.parametrize("mode", ["none", gt.UnconnectedGradients.NONE])
def test_unconnected_gradients_none(mode):
    x = c64([1.0, 2.0])
    u = c64([1.0, 2.0])
    with gt.GradientTape() as tape:
        tape.watch([x, u])
        y = x * 3.0
    gx, gu = tape.gradient(y, [x, u], unconnected_gradients=mode)
    assert_tensor(gx, [3.0, 3.0], gt.float64)
    assert gu is None


def test_none_target_raises_type_error():
    x = c64(1.0)
    with gt.GradientTape() as tape:
        tape.watch(x)
        x * x
    with pytest.raises(TypeError):
        tape.gradient(None, x)


def test_integer_source_gives_none_with_warning():
    i = gt.constant([1, 2])
    x = c64([1.0, 2.0])
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * gt.cast(i, gt.float64)
    with pytest.warns(UserWarning):
        gx, gi = tape.gradient(y, [x, i])
    assert gi is None
    assert_tensor(gx, [1.0, 2.0], gt.float64)


# ---------------------------------------------------------------------------------------------
# context management
# ---------------------------------------------------------------------------------------------

def test_reentering_active_tape_raises_value_error():
    tape = gt.GradientTape()
    with tape:
        with pytest.raises(ValueError):
            with tape:
                pass
    # The failed re-entry left the tape usable: it was popped exactly once.
    x = c64(2.0)
    with gt.GradientTape() as t2:
        t2.watch(x)
        y = x * x
    assert_tensor(t2.gradient(y, x), 4.0, gt.float64)


def test_reentering_active_tape_keeps_recording():
    x = c64(2.0)
    tape = gt.GradientTape()
    with tape:
        tape.watch(x)
        with pytest.raises(ValueError):
            with tape:
                pass
        y = x * x * x
    assert_tensor(tape.gradient(y, x), 12.0, gt.float64)


def test_gradient_inside_with_block_non_persistent():
    x = c64(3.0)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        g = tape.gradient(y, x)
        assert_tensor(g, 6.0, gt.float64)


def test_gradient_inside_with_block_persistent_is_recorded():
    x = c64(3.0)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x * x
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dy_dx = tape.gradient(y, x)   # 3x^2 = 27, itself recorded
    assert_tensor(dy_dx, 27.0, gt.float64)
    assert_tensor(tape.gradient(dy_dx, x), 18.0, gt.float64)  # 6x
    assert_tensor(tape.gradient(y, x), 27.0, gt.float64)


# ---------------------------------------------------------------------------------------------
# nested tapes / higher order
# ---------------------------------------------------------------------------------------------

def test_nested_tapes_hessian_of_cube():
    x = c64(2.0)
    with gt.GradientTape() as outer:
        outer.watch(x)
        with gt.GradientTape() as inner:
            inner.watch(x)
            y = x ** 3
        dy = inner.gradient(y, x)
    assert_tensor(dy, 12.0, gt.float64)
    assert_tensor(outer.gradient(dy, x), 12.0, gt.float64)


def test_nested_tapes_third_derivative():
    x = c64(2.0)
    with gt.GradientTape() as t3:
        t3.watch(x)
        with gt.GradientTape() as t2:
            t2.watch(x)
            with gt.GradientTape() as t1:
                t1.watch(x)
                y = x ** 3
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    assert_tensor(d1, 12.0, gt.float64)
    assert_tensor(d2, 12.0, gt.float64)
    assert_tensor(d3, 6.0, gt.float64)


def test_nested_tapes_third_derivative_variable_exp():
    v = v64(0.5)
    with gt.GradientTape() as t3:
        with gt.GradientTape() as t2:
            with gt.GradientTape() as t1:
                y = gt.sin(v) * v
            d1 = t1.gradient(y, v)  # cos v * v + sin v
        d2 = t2.gradient(d1, v)     # -sin v * v + 2 cos v
    d3 = t3.gradient(d2, v)         # -cos v * v - 3 sin v
    a = 0.5
    assert_tensor(d1, np.cos(a) * a + np.sin(a), gt.float64, rtol=1e-14)
    assert_tensor(d2, -np.sin(a) * a + 2 * np.cos(a), gt.float64, rtol=1e-14)
    assert_tensor(d3, -np.cos(a) * a - 3 * np.sin(a), gt.float64, rtol=1e-14)


def test_hessian_of_seed_function():
    def f(w1, w2):
        return 3 * w1 ** 2 + 2 * w1 * w2

    w1, w2 = v64(5.0), v64(3.0)
    with gt.GradientTape(persistent=True) as hessian_tape:
        with gt.GradientTape() as tape:
            z = f(w1, w2)
        jac = tape.gradient(z, [w1, w2])
    hess = [hessian_tape.gradient(j, [w1, w2]) for j in jac]
    assert_tensor(jac[0], 36.0, gt.float64)
    assert_tensor(jac[1], 10.0, gt.float64)
    assert_tensor(hess[0][0], 6.0, gt.float64)
    assert_tensor(hess[0][1], 2.0, gt.float64)
    assert_tensor(hess[1][0], 2.0, gt.float64)
    assert hess[1][1] is None


# ---------------------------------------------------------------------------------------------
# stop_recording / reset / watched_variables
# ---------------------------------------------------------------------------------------------

def test_stop_recording():
    x = c64(3.0)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a = x * x
        with tape.stop_recording():
            b = x * x
            c = a * 2.0
        d = x * 4.0
    assert_tensor(b, 9.0, gt.float64)
    assert tape.gradient(b, x) is None
    assert tape.gradient(c, x) is None
    assert_tensor(tape.gradient(a, x), 6.0, gt.float64)
    assert_tensor(tape.gradient(d, x), 4.0, gt.float64)  # recording resumed
    assert_tensor(tape.gradient([a, b, d], x), 10.0, gt.float64)


def test_reset_clears_tape_and_keeps_recording():
    x = c64(3.0)
    v = v64(2.0)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y_before = x * x * v
        tape.reset()
        y_after = v * 5.0
        tape.watch(x)
        z_after = x * x
    assert tape.gradient(y_before, [x, v]) == [None, None]
    assert_tensor(tape.gradient(y_after, v), 5.0, gt.float64)
    assert_tensor(tape.gradient(z_after, x), 6.0, gt.float64)


def test_reset_forgets_watched_tensor():
    x = c64(3.0)
    with gt.GradientTape() as tape:
        tape.watch(x)
        tape.reset()
        y = x * x   # x is no longer watched
    assert tape.gradient(y, x) is None


def test_watched_variables_in_watch_order():
    a, b, c = v64(1.0), v64(2.0), v64(3.0)
    with gt.GradientTape() as tape:
        y = c * b
        y = y * a
        y = y * c  # c again: not listed twice
    wv = tape.watched_variables()
    assert len(wv) == 3
    assert wv[0] is c and wv[1] is b and wv[2] is a

    with gt.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch([b, a])
        _ = c * 2.0
    wv = tape.watched_variables()
    assert len(wv) == 2 and wv[0] is b and wv[1] is a


# ---------------------------------------------------------------------------------------------
# jacobian / batch_jacobian
# ---------------------------------------------------------------------------------------------

def test_jacobian_of_square_is_diagonal():
    xv = np.array([1.0, 2.0, 3.0])
    x = c64(xv)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x ** 2
    j = tape.jacobian(y, x)
    assert_tensor(j, np.diag(2 * xv), gt.float64)


def test_jacobian_of_matrix_output():
    A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    xv = np.array([0.5, -1.0, 2.0])
    a = c64(A)
    x = c64(xv)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch([a, x])
        y = a * x            # (2,3): y_ij = A_ij x_j
        m = gt.matmul(a, gt.reshape(x, (3, 1)))  # (2,1)
    j = tape.jacobian(y, x)  # (2,3,3): dy_ij/dx_k = A_ij delta_jk
    expected = np.zeros((2, 3, 3))
    for i in range(2):
        for jj in range(3):
            expected[i, jj, jj] = A[i, jj]
    assert_tensor(j, expected, gt.float64)
    ja = tape.jacobian(y, a)  # (2,3,2,3): x_j delta
    expected_a = np.zeros((2, 3, 2, 3))
    for i in range(2):
        for jj in range(3):
            expected_a[i, jj, i, jj] = xv[jj]
    assert_tensor(ja, expected_a, gt.float64)
    jm = tape.jacobian(m, x)  # (2,1,3) = A
    assert_tensor(jm, A.reshape(2, 1, 3), gt.float64)


def test_jacobian_several_sources():
    xv = np.array([1.0, 2.0])
    x = c64(xv)
    s = c64(3.0)
    with gt.GradientTape() as tape:
        tape.watch([x, s])
        y = x * x * s
    jx, js = tape.jacobian(y, [x, s])
    assert_tensor(jx, np.diag(2 * xv * 3.0), gt.float64)
    assert_tensor(js, xv ** 2, gt.float64)


def test_jacobian_dict_sources():
    xv = np.array([1.0, 2.0])
    x = c64(xv)
    s = c64(3.0)
    with gt.GradientTape() as tape:
        tape.watch([x, s])
        y = x * s
    j = tape.jacobian(y, {"x": x, "s": s})
    assert set(j) == {"x", "s"}
    assert_tensor(j["x"], np.diag([3.0, 3.0]), gt.float64)
    assert_tensor(j["s"], xv, gt.float64)


def test_jacobian_unconnected():
    x = c64([1.0, 2.0])
    u = c64([1.0, 2.0, 3.0])
    with gt.GradientTape(persistent=True) as tape:
        tape.watch([x, u])
        y = x * 2.0
    jx, ju = tape.jacobian(y, [x, u])
    assert_tensor(jx, np.diag([2.0, 2.0]), gt.float64)
    assert ju is None
    jx, ju = tape.jacobian(y, [x, u], unconnected_gradients="zero")
    assert_tensor(jx, np.diag([2.0, 2.0]), gt.float64)
    assert_tensor(ju, np.zeros((2, 3)), gt.float64)
    ju = tape.jacobian(y, u, unconnected_gradients=gt.UnconnectedGradients.ZERO)
    assert_tensor(ju, np.zeros((2, 3)), gt.float64)


def test_jacobian_partially_connected_rows():
    # y0 depends on x, y1 does not: jacobian has a zero row (not None).
    x = c64([1.0, 2.0])
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = gt.stack([gt.reduce_sum(x * x), c64(7.0)])
    j = tape.jacobian(y, x)
    assert_tensor(j, [[2.0, 4.0], [0.0, 0.0]], gt.float64)


def test_batch_jacobian_square():
    xv = np.arange(12, dtype=np.float64).reshape(4, 3) / 4.0 - 1.0
    x = c64(xv)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x ** 2
    bj = tape.batch_jacobian(y, x)
    expected = np.stack([np.diag(2 * row) for row in xv])
    assert expected.shape == (4, 3, 3)
    assert_tensor(bj, expected, gt.float64)


def test_batch_jacobian_matmul():
    xv = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    W = np.array([[1.0, 0.0, 2.0], [-1.0, 3.0, 1.0]])  # (2,3)
    x = c64(xv)
    w = c64(W)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = gt.matmul(x, w)  # (3,3); dy_b/dx_b = W^T (3,2)
    bj = tape.batch_jacobian(y, x)
    assert_tensor(bj, np.stack([W.T] * 3), gt.float64)


def test_jacobian_float64_and_float32_dtypes():
    x64 = c64([1.0, 2.0])
    x32 = gt.constant([1.0, 2.0])
    assert x32.dtype == gt.float32
    with gt.GradientTape(persistent=True) as tape:
        tape.watch([x64, x32])
        y64 = x64 * x64
        y32 = x32 * x32
        xb = gt.reshape(x64, (2, 1))
        b64 = xb * xb * 3.0
    j = tape.jacobian(y64, x64)
    assert j.dtype == gt.float64
    assert np_(j).dtype == np.float64
    assert_tensor(j, np.diag([2.0, 4.0]), gt.float64)
    bj = tape.batch_jacobian(b64, xb)  # (2,1,1): 6 * x_b
    assert bj.dtype == gt.float64
    assert np_(bj).dtype == np.float64
    assert_tensor(bj, [[[6.0]], [[12.0]]], gt.float64)
    j32 = tape.jacobian(y32, x32)
    assert j32.dtype == gt.float32
    assert_tensor(j32, np.diag([2.0, 4.0]), gt.float32)


# ---------------------------------------------------------------------------------------------
# stop_gradient
# ---------------------------------------------------------------------------------------------

def test_stop_gradient_gives_none():
    x = c64(3.0)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = gt.stop_gradient(x * x)
    assert_tensor(y, 9.0, gt.float64)
    assert tape.gradient(y, x) is None


def test_stop_gradient_mixed():
    x, y = c64(2.0), c64(5.0)
    with gt.GradientTape() as tape:
        tape.watch([x, y])
        z = 3.0 * x ** 2 + gt.stop_gradient(2.0 * x * y)
    assert_tensor(z, 12.0 + 20.0, gt.float64)
    gx, gy = tape.gradient(z, [x, y])
    assert_tensor(gx, 12.0, gt.float64)
    assert gy is None


# ---------------------------------------------------------------------------------------------
# custom_gradient
# ---------------------------------------------------------------------------------------------

@gt.custom_gradient
def clip_gradient_identity(x):
    def grad(dy):
        return gt.clip_by_value(dy, -1.0, 1.0)
    return gt.identity(x), grad


def test_custom_gradient_clipped():
    x = c64([1.0, 2.0, 3.0])
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = clip_gradient_identity(x)
        z = y * c64([0.5, -4.0, 10.0])
    assert_tensor(y, [1.0, 2.0, 3.0], gt.float64)
    assert_tensor(tape.gradient(z, x), [0.5, -1.0, 1.0], gt.float64)


def test_custom_gradient_none_for_an_input():
    @gt.custom_gradient
    def scaled(x, s):
        def grad(dy):
            return dy * s, None
        return x * s, grad

    x, s = c64(2.0), c64(7.0)
    with gt.GradientTape() as tape:
        tape.watch([x, s])
        y = scaled(x, s)
    assert_tensor(y, 14.0, gt.float64)
    gx, gs = tape.gradient(y, [x, s])
    assert_tensor(gx, 7.0, gt.float64)
    assert gs is None


def test_custom_gradient_with_variables():
    w = v64(3.0)

    @gt.custom_gradient
    def linear(x):
        y = x * w

        def grad(dy, variables=None):
            assert variables is not None and len(variables) == 1 and variables[0] is w
            return dy * w * 10.0, [dy * x * 100.0]
        return y, grad

    x = c64(2.0)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = linear(x)
    assert_tensor(y, 6.0, gt.float64)
    gx, gw = tape.gradient(y, [x, w])
    assert_tensor(gx, 30.0, gt.float64)
    assert_tensor(gw, 200.0, gt.float64)


def test_custom_gradient_reading_variables_requires_variables_kwarg():
    w = v64(3.0)

    @gt.custom_gradient
    def bad(x):
        def grad(dy):
            return dy * w
        return x * w, grad

    x = c64(2.0)
    with gt.GradientTape() as tape:
        tape.watch(x)
        with pytest.raises(TypeError, match="variables"):
            bad(x)


def test_custom_gradient_second_order():
    @gt.custom_gradient
    def cube(x):
        def grad(dy):
            return dy * 3.0 * x * x   # written with gradtape ops -> differentiable
        return x * x * x, grad

    x = c64(2.0)
    with gt.GradientTape() as outer:
        outer.watch(x)
        with gt.GradientTape() as inner:
            inner.watch(x)
            y = cube(x)
        dy = inner.gradient(y, x)
    assert_tensor(y, 8.0, gt.float64)
    assert_tensor(dy, 12.0, gt.float64)
    assert_tensor(outer.gradient(dy, x), 12.0, gt.float64)  # 6x


def test_custom_gradient_second_order_uses_grad_fn_not_forward():
    # grad_fn deliberately differs from the true derivative: d/dx of the custom first
    # derivative (5 x^2) must be 10 x, proving the outer tape differentiates grad_fn.
    @gt.custom_gradient
    def g(x):
        def grad(dy):
            return dy * 5.0 * x * x
        return x * 1.0, grad

    x = c64(3.0)
    with gt.GradientTape() as outer:
        outer.watch(x)
        with gt.GradientTape() as inner:
            inner.watch(x)
            y = g(x)
        d1 = inner.gradient(y, x)
    assert_tensor(d1, 45.0, gt.float64)
    assert_tensor(outer.gradient(d1, x), 30.0, gt.float64)


class _MyGradError(Exception):
    pass


def test_custom_gradient_exception_propagates_unchanged_and_engine_survives():
    @gt.custom_gradient
    def boom(x):
        def grad(dy):
            raise _MyGradError("grad_fn exploded: 42")
        return x * 2.0, grad

    x = c64(3.0)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = boom(x) * x
    with pytest.raises(_MyGradError) as info:
        tape.gradient(y, x)
    assert type(info.value) is _MyGradError
    assert str(info.value) == "grad_fn exploded: 42"

    # A new tape works.
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * x * x
    assert_tensor(tape.gradient(y, x), 27.0, gt.float64)


def test_custom_gradient_exception_persistent_tape_usable_again():
    calls = {"n": 0}

    @gt.custom_gradient
    def flaky(x):
        def grad(dy):
            calls["n"] += 1
            if calls["n"] == 1:
                raise KeyError("first call fails")
            return dy * 4.0
        return x * 4.0, grad

    x = c64(3.0)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = flaky(x) + x * x
        z = x * 5.0
    with pytest.raises(KeyError) as info:
        tape.gradient(y, x)
    assert info.value.args == ("first call fails",)
    assert_tensor(tape.gradient(y, x), 4.0 + 6.0, gt.float64)
    assert_tensor(tape.gradient(z, x), 5.0, gt.float64)
    assert_tensor(tape.gradient(y, x), 10.0, gt.float64)


def test_custom_gradient_builtin_exception_types():
    for exc in (ValueError("bad value"), ZeroDivisionError("zero!"), TypeError("wrong type")):
        @gt.custom_gradient
        def f(x, _exc=exc):
            def grad(dy):
                raise _exc
            return x * 1.0, grad

        x = c64(1.0)
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = f(x)
        with pytest.raises(type(exc)) as info:
            tape.gradient(y, x)
        assert type(info.value) is type(exc)
        assert str(info.value) == str(exc)


# ---------------------------------------------------------------------------------------------
# variables: snapshots, assign
# ---------------------------------------------------------------------------------------------

def test_variable_value_is_snapshot():
    v = v64(3.0)
    with gt.GradientTape() as tape:
        y = v * v
    v.assign(10.0)
    assert float(v.numpy()) == 10.0
    assert_tensor(y, 9.0, gt.float64)
    assert_tensor(tape.gradient(y, v), 6.0, gt.float64)


def test_variable_snapshot_assign_inside_block():
    v = v64([1.0, 2.0])
    with gt.GradientTape() as tape:
        y = v * v
        v.assign_add(c64([100.0, 100.0]))
        z = y * v    # uses new v: z = v_old^2 * v_new
    # d z / d v: v is read twice; by snapshot semantics the gradient is
    # 2 v_old * v_new + v_old^2
    g = tape.gradient(z, v)
    vo = np.array([1.0, 2.0])
    vn = vo + 100.0
    assert_tensor(g, 2 * vo * vn + vo ** 2, gt.float64)


def test_variable_assign_add_sub():
    v = v64([1.0, 2.0])
    v.assign_add(c64([0.5, 0.25]))
    assert_allclose(v.numpy(), [1.5, 2.25], rtol=0, atol=0)
    v.assign_sub(c64([1.0, 1.0]))
    assert_allclose(v.numpy(), [0.5, 1.25], rtol=0, atol=0)
    v.assign(c64([7.0, 8.0]))
    assert_allclose(v.numpy(), [7.0, 8.0], rtol=0, atol=0)
    assert_allclose(v.read_value().numpy(), [7.0, 8.0], rtol=0, atol=0)
    w = gt.Variable(5.0)
    w.assign_add(1.5)
    w.assign_sub(0.25)
    assert w.dtype == gt.float32
    assert float(w.numpy()) == 6.25


def test_variable_assign_wrong_shape_raises():
    v = v64([1.0, 2.0])
    with pytest.raises(ValueError) as info:
        v.assign(c64([1.0, 2.0, 3.0]))
    assert type(info.value) is ValueError  # TensorFlow checks assign's shape in Python
    msg = str(info.value)
    assert "2" in msg and "3" in msg, msg
    assert ("(2,)" in msg or "[2]" in msg) and ("(3,)" in msg or "[3]" in msg), msg
    assert_allclose(v.numpy(), [1.0, 2.0])
    with pytest.raises(gt.errors.InvalidArgumentError):  # (its kernel, for assign_add and assign_sub)
        v.assign_add(c64([[1.0, 2.0]]))
    with pytest.raises(gt.errors.InvalidArgumentError):
        v.assign_sub(c64([1.0]))
    assert_allclose(v.numpy(), [1.0, 2.0])


def test_variable_assign_wrong_dtype_raises():
    v = v64([1.0, 2.0])
    with pytest.raises(ValueError) as info:
        v.assign(gt.constant([1.0, 2.0]))  # float32
    assert type(info.value) is ValueError  # TensorFlow's conversion to the variable's dtype
    msg = str(info.value)
    assert "float64" in msg and "float32" in msg, msg
    assert_allclose(v.numpy(), [1.0, 2.0])
    with pytest.raises(ValueError) as info:
        v.assign_add(gt.constant([1, 2]))
    assert type(info.value) is ValueError
    assert "float64" in str(info.value) and "int32" in str(info.value)


# ---------------------------------------------------------------------------------------------
# threads
# ---------------------------------------------------------------------------------------------

def test_tape_does_not_record_other_threads():
    x = c64(3.0)
    result = {}

    def worker():
        try:
            result["y"] = x * x
        except BaseException as e:  # pragma: no cover
            result["err"] = e

    with gt.GradientTape() as tape:
        tape.watch(x)
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        local = x * 2.0
    assert "err" not in result, result.get("err")
    assert_tensor(result["y"], 9.0, gt.float64)
    g_other, g_local = tape.gradient([result["y"], local], [x, x])
    # Only the main-thread op contributes.
    assert_tensor(g_other, 2.0, gt.float64)


def test_tape_does_not_record_other_threads_single_target():
    x = c64(3.0)
    result = {}

    def worker():
        result["y"] = x * x

    with gt.GradientTape() as tape:
        tape.watch(x)
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert tape.gradient(result["y"], x) is None


def test_threads_each_with_own_tape():
    n = 4
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []

    def worker(k):
        try:
            v = v64(float(k + 1))
            barrier.wait()
            for _ in range(200):
                with gt.GradientTape() as tape:
                    y = v * v * v + v * float(k)
                g = tape.gradient(y, v)
                val = float(g.numpy())
                expected = 3.0 * (k + 1) ** 2 + k
                if val != expected:
                    errors.append((k, val, expected))
                    return
            results[k] = val
        except BaseException as e:  # pragma: no cover
            errors.append((k, repr(e)))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [3.0 * (k + 1) ** 2 + k for k in range(n)]


# ---------------------------------------------------------------------------------------------
# deep chains
# ---------------------------------------------------------------------------------------------

def test_million_op_chain_no_stack_overflow():
    code = textwrap.dedent("""
        import numpy as np
        import gradtape as gt
        n = 1_000_000
        x = gt.constant(np.array(1.0, dtype=np.float64))
        assert x.dtype == gt.float64
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = x
            for _ in range(n):
                y = y * 1.0000001
        g = tape.gradient(y, x)
        print(repr(float(g.numpy())))
        del y, g, tape
        import gc; gc.collect()
        print(gt._core.live_records())
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stdout.split()
    expected = 1.0000001 ** 1_000_000
    assert_allclose(float(lines[0]), expected, rtol=1e-9)
    assert int(lines[1]) == 0


def test_million_op_chain_persistent_freed_on_del():
    code = textwrap.dedent("""
        import numpy as np
        import gradtape as gt
        n = 1_000_000
        x = gt.constant(np.array(2.0, dtype=np.float64))
        assert x.dtype == gt.float64
        with gt.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = x
            for _ in range(n):
                y = y + x
        g = tape.gradient(y, x)
        print(repr(float(g.numpy())))
        del tape, y, g
        import gc; gc.collect()
        print(gt._core.live_records())
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stdout.split()
    assert float(lines[0]) == 1_000_001.0
    assert int(lines[1]) == 0


# ---------------------------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------------------------

def _counts():
    gc.collect()
    return (gt._core.live_tensors(), gt._core.live_records(), gt._core.live_storages())


def test_non_persistent_gradient_frees_records():
    x = c64([1.0, 2.0, 3.0])
    base_records = _counts()[1]
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x
        for _ in range(50):
            y = gt.sin(y) * 1.5
    assert gt._core.live_records() >= base_records + 50
    g = tape.gradient(y, x)
    assert g is not None
    assert gt._core.live_records() == base_records


def test_deleted_persistent_tape_frees_everything():
    baseline = _counts()

    def run():
        x = c64(np.linspace(0.0, 1.0, 100))
        with gt.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = x
            for _ in range(20):
                y = gt.exp(y * 0.1) + y
        g1 = tape.gradient(y, x)
        g2 = tape.gradient(y, x)
        assert_allclose(np_(g1), np_(g2))
        assert gt._core.live_records() > baseline[1]
        return tape, [g1, g2, y, x]

    tape, results = run()
    del tape
    del results
    assert _counts() == baseline


def test_persistent_tape_freed_when_out_of_scope():
    baseline = _counts()

    def run():
        v = v64(np.ones(10))
        with gt.GradientTape(persistent=True) as tape:
            y = gt.reduce_sum(v * v * v)
        return float(tape.gradient(y, v).numpy().sum())

    assert run() == 30.0
    assert _counts() == baseline


def test_custom_gradient_closure_released_with_tape():
    class Marker:
        pass

    baseline = _counts()

    def run():
        marker = Marker()
        big = c64(np.ones(1000))

        @gt.custom_gradient
        def f(x):
            def grad(dy):
                _ = marker  # the closure holds marker and big
                return dy * big
            return x * 1.0, grad

        x = c64(np.ones(1000))
        tape = gt.GradientTape(persistent=True)
        with tape:
            tape.watch(x)
            y = f(x)
        g = tape.gradient(y, x)
        assert_allclose(np_(g), np.ones(1000))
        return tape, weakref.ref(marker)

    tape, ref = run()
    gc.collect()
    assert ref() is not None  # the persistent tape still holds grad_fn
    del tape
    gc.collect()
    assert ref() is None
    assert _counts() == baseline


def test_custom_gradient_closure_released_after_non_persistent_gradient():
    class Marker:
        pass

    def run():
        marker = Marker()

        @gt.custom_gradient
        def f(x):
            def grad(dy):
                _ = marker
                return dy * 2.0
            return x * 2.0, grad

        x = c64(1.0)
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = f(x)
        return tape, y, x, weakref.ref(marker)

    tape, y, x, ref = run()
    gc.collect()
    assert ref() is not None
    assert_tensor(tape.gradient(y, x), 2.0, gt.float64)
    gc.collect()
    # The consumed record (and its hook) is freed even though the tape object lives on.
    assert ref() is None


def test_exception_inside_with_block_frees_records():
    baseline = _counts()

    def run():
        x = c64(np.ones(50))
        tape = gt.GradientTape()
        try:
            with tape:
                tape.watch(x)
                y = x
                for _ in range(10):
                    y = y * 2.0
                raise RuntimeError("user error inside the block")
        except RuntimeError as e:
            assert str(e) == "user error inside the block"
        assert gt._core.live_records() >= baseline[1] + 10
        # The tape was popped: a new op on x is not recorded on it.
        return tape

    tape = run()
    del tape
    assert _counts() == baseline
    # And no tape is left active on this thread.
    x = c64(2.0)
    with gt.GradientTape() as t2:
        t2.watch(x)
        y = x * x
    assert_tensor(t2.gradient(y, x), 4.0, gt.float64)


def test_exception_in_grad_fn_frees_non_persistent_tape():
    baseline = _counts()

    def run():
        @gt.custom_gradient
        def boom(x):
            def grad(dy):
                raise ValueError("nope")
            return x * 2.0, grad

        x = c64(np.ones(20))
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = boom(x) * 3.0
        with pytest.raises(ValueError, match="nope"):
            tape.gradient(y, x)

    run()
    assert _counts() == baseline


# ---------------------------------------------------------------------------------------------
# more edge cases
# ---------------------------------------------------------------------------------------------

def test_hessian_via_outer_jacobian_of_inner_gradient():
    xv = np.array([1.0, 2.0, 3.0])
    x = c64(xv)
    with gt.GradientTape() as outer:
        outer.watch(x)
        with gt.GradientTape() as inner:
            inner.watch(x)
            y = gt.reduce_sum(x ** 3)
        g = inner.gradient(y, x)
    assert_tensor(g, 3 * xv ** 2, gt.float64)
    assert_tensor(outer.jacobian(g, x), np.diag(6 * xv), gt.float64)


def test_jacobian_inside_outer_tape_is_differentiable():
    xv = np.array([1.0, 2.0])
    x = c64(xv)
    with gt.GradientTape() as outer:
        outer.watch(x)
        with gt.GradientTape() as inner:
            inner.watch(x)
            y = x ** 3
        j = inner.jacobian(y, x)
    assert_tensor(j, np.diag(3 * xv ** 2), gt.float64)
    assert_tensor(outer.gradient(j, x), 6 * xv, gt.float64)


def test_jacobian_of_source_is_identity():
    x = c64([1.0, 2.0, 3.0])
    with gt.GradientTape() as tape:
        tape.watch(x)
    assert_tensor(tape.jacobian(x, x), np.eye(3), gt.float64)


def test_jacobian_scalar_target_has_source_shape():
    xv = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = c64(xv)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = gt.reduce_sum(x * x)
    assert_tensor(tape.jacobian(y, x), 2 * xv, gt.float64)


def test_batch_jacobian_unconnected():
    x = c64(np.ones((2, 3)))
    u = c64(np.ones((2, 4)))
    with gt.GradientTape(persistent=True) as tape:
        tape.watch([x, u])
        y = x * 2.0
    assert tape.batch_jacobian(y, u) is None
    assert_tensor(tape.batch_jacobian(y, u, unconnected_gradients="zero"),
                  np.zeros((2, 3, 4)), gt.float64)


def test_custom_gradient_multiple_outputs():
    @gt.custom_gradient
    def two(x):
        def grad(dy1, dy2):
            return dy1 * 2.0 + dy2 * 3.0
        return (x * 2.0, x * 3.0), grad

    x = c64(1.0)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a, b = two(x)
        z = a * 10.0 + b
        only_a = a * 10.0
    assert_tensor(tape.gradient(z, x), 23.0, gt.float64)
    # The unused output's upstream gradient is zeros, not None.
    assert_tensor(tape.gradient(only_a, x), 20.0, gt.float64)


def test_non_persistent_gradient_inside_block_then_second_call_raises():
    x = c64(3.0)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        assert_tensor(tape.gradient(y, x), 6.0, gt.float64)
        z = x * 5.0
    assert_tensor(z, 15.0, gt.float64)
    with pytest.raises(RuntimeError) as info:
        tape.gradient(z, x)
    assert str(info.value) == ONCE_MSG


def test_exception_in_with_block_pops_tape():
    x = c64(2.0)
    tape = gt.GradientTape(persistent=True)
    with pytest.raises(KeyError):
        with tape:
            tape.watch(x)
            y = x * x
            raise KeyError("boom")
    after = x * x * x  # not recorded: the tape left the stack
    assert_tensor(tape.gradient(y, x), 4.0, gt.float64)
    assert tape.gradient(after, x) is None


def test_reset_outside_block_is_a_value_error_as_in_tensorflow():
    x = c64(2.0)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    assert_tensor(tape.gradient(y, x), 4.0, gt.float64)
    with pytest.raises(ValueError, match="^Tape is not recording.$"):
        tape.reset()
    assert_tensor(tape.gradient(y, x), 4.0, gt.float64)  # the recording is kept
    with tape:
        tape.reset()  # inside the block it clears
    assert tape.gradient(y, x) is None


def test_output_gradients_shape_and_dtype_errors():
    x = c64([1.0, 2.0])
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * 2.0
    with pytest.raises(gt.errors.InvalidArgumentError) as info:
        tape.gradient(y, x, output_gradients=[c64([1.0, 2.0, 3.0])])
    assert "(3,)" in str(info.value) and "(2,)" in str(info.value)
    with pytest.raises(gt.errors.InvalidArgumentError) as info:
        tape.gradient(y, x, output_gradients=[gt.constant([1.0, 2.0])])
    assert "float32" in str(info.value) and "float64" in str(info.value)
    # The failed calls did not consume the tape.
    assert_tensor(tape.gradient(y, x), [2.0, 2.0], gt.float64)


def test_variable_read_in_other_thread_not_watched():
    v = v64(2.0)
    res = {}

    def worker():
        res["y"] = v * v

    with gt.GradientTape() as tape:
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert_tensor(res["y"], 4.0, gt.float64)
    assert tape.watched_variables() == ()
    assert tape.gradient(res["y"], v) is None


def test_thread_with_own_tape_while_main_tape_active():
    x = c64(3.0)
    res = {}

    def worker():
        with gt.GradientTape() as t:
            t.watch(x)
            y = x * x * x
        res["g"] = t.gradient(y, x)

    with gt.GradientTape() as tape:
        tape.watch(x)
        th = threading.Thread(target=worker)
        th.start()
        th.join()
        z = x * 4.0
    assert_tensor(res["g"], 27.0, gt.float64)
    assert_tensor(tape.gradient(z, x), 4.0, gt.float64)


def test_million_op_tape_never_differentiated_is_freed():
    code = textwrap.dedent("""
        import numpy as np
        import gradtape as gt
        x = gt.constant(np.array(1.0, dtype=np.float64))
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = x
            for _ in range(1_000_000):
                y = y * 1.0
        assert gt._core.live_records() == 1_000_000, gt._core.live_records()
        del tape   # the last tensor still links to the freed tape's slot
        del y
        import gc; gc.collect()
        print(gt._core.live_records(), gt._core.live_tensors())
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    records, tensors = map(int, proc.stdout.split())
    assert records == 0
    assert tensors == 1  # only x


def test_persistent_tape_in_cycle_with_grad_fn_is_collected():
    """grad_fn closes over an object that holds the tape (e.g. a trainer keeping
    `self.tape`): Python's cycle collector must be able to free tape + closure."""
    class Trainer:
        pass

    baseline = _counts()

    def run():
        trainer = Trainer()
        x = c64(np.ones(10))

        @gt.custom_gradient
        def f(x):
            def grad(dy):
                _ = trainer
                return dy * 3.0
            return x * 3.0, grad

        trainer.tape = gt.GradientTape(persistent=True)
        with trainer.tape:
            trainer.tape.watch(x)
            y = f(x)
        assert_tensor(trainer.tape.gradient(y, x), np.full(10, 3.0), gt.float64)
        return weakref.ref(trainer)

    ref = run()
    gc.collect()
    assert ref() is None, "tape <-> grad_fn reference cycle was not collected"
    assert _counts() == baseline


# ---- Jacobians through tensors of the maximum rank (8) ----
# A batched sweep puts a batch dim in front of every gradient; a tape holding a rank-8 tensor
# has no room for it, so its Jacobians go row by row (the user's rank limit stays 8). Each row
# must equal the unbatched gradient seeded with that row's one-hot.

RANK8 = [2, 3, 1, 1, 1, 1, 1, 1]


def rank8_function(x):
    """(2, 3) -> (2, 3) through rank-8 intermediates: elementwise ops, a broadcast against a
    rank-8 constant, a transpose, a reduction and a reshape at rank 8."""
    h = gt.reshape(x, RANK8)
    h = gt.tanh(h) * h + gt.constant(np.linspace(0.5, 1.5, 6).reshape(RANK8))
    h = gt.transpose(h, [0, 1, 3, 2, 4, 5, 6, 7]) * gt.reshape(gt.constant([1.0, -2.0], gt.float64), [2, 1, 1, 1, 1, 1, 1, 1])
    s = gt.reduce_sum(h * h, axis=[2, 3], keepdims=True)  # still rank 8
    return gt.reshape(s, [2, 3]) + x[:, ::-1] ** 3


def rows_by_gradient(tape, y, x):
    """The Jacobian rows of y with respect to x, one unbatched gradient per element of y."""
    rows = []
    for i in range(int(np.prod(y.shape))):
        seed = np.zeros(int(np.prod(y.shape)))
        seed[i] = 1.0
        rows.append(np_(tape.gradient(y, x, output_gradients=c64(seed.reshape(tuple(y.shape))))))
    return np.stack(rows).reshape(tuple(y.shape) + tuple(x.shape))


def test_jacobian_through_rank_8_intermediates_equals_row_by_row_gradients():
    xv = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.5]])
    x = c64(xv)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = rank8_function(x)
    j = tape.jacobian(y, x)
    assert tuple(j.shape) == (2, 3, 2, 3) and j.dtype == gt.float64
    expected = rows_by_gradient(tape, y, x)
    assert_allclose(np_(j), expected, rtol=1e-13, atol=1e-13)
    # and by central differences, so that the rows themselves are right
    eps = 1e-6
    fd = np.zeros((6, 6))
    for k in range(6):
        d = np.zeros(6)
        d[k] = eps
        fd[:, k] = (np_(rank8_function(c64(xv + d.reshape(2, 3)))) -
                    np_(rank8_function(c64(xv - d.reshape(2, 3))))).reshape(6) / (2 * eps)
    assert_allclose(np_(j).reshape(6, 6), fd, rtol=1e-6, atol=1e-7)
    assert np.count_nonzero(np_(j)) > 6  # not diagonal: the rows mix the elements


def test_batch_jacobian_through_rank_8_intermediates_equals_row_by_row_gradients():
    xv = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.5]])
    x = c64(xv)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = rank8_function(x)  # batch rows independent: row b of y depends on row b of x only
    bj = tape.batch_jacobian(y, x)
    assert tuple(bj.shape) == (2, 3, 3) and bj.dtype == gt.float64
    full = rows_by_gradient(tape, y, x)  # (2, 3, 2, 3)
    assert_allclose(np_(bj), np.stack([full[b, :, b, :] for b in range(2)]), rtol=1e-13, atol=1e-13)
    assert_allclose(full[0, :, 1, :], 0.0)  # (the independence batch_jacobian assumes)


def test_jacobian_with_respect_to_a_rank_8_source():
    xv = np.linspace(-1.0, 1.0, 6).reshape(RANK8)
    x = c64(xv)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = gt.reduce_sum(gt.sin(x) * x, axis=[1, 2, 3, 4, 5, 6, 7])  # (2,)
        s = gt.reduce_sum(y * y)  # a scalar: its Jacobian has the source's rank 8
    j = tape.jacobian(s, x)
    assert tuple(j.shape) == tuple(RANK8)
    assert_allclose(np_(j), np_(tape.gradient(s, x)), rtol=1e-14)
    with pytest.raises(gt.errors.InvalidArgumentError, match="rank 9 exceeds the maximum rank 8"):
        tape.jacobian(y, x)  # the result itself would have rank 9: the user's limit stands


def test_forward_mode_jacobians_through_rank_8_intermediates():
    # a batch of tangents has no room either: auto takes reverse mode, forced forward mode goes
    # column by column; all equal the row-by-row gradients
    xv = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.5]])
    x = c64(xv)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = rank8_function(x)
    expected = rows_by_gradient(tape, y, x)
    for mode in ("auto", "forward"):
        assert_allclose(np_(tape.jacobian(y, x, experimental_mode=mode)), expected, rtol=1e-13, atol=1e-13)
        bj = tape.batch_jacobian(y, x, experimental_mode=mode)
        assert_allclose(np_(bj), np.stack([expected[b, :, b, :] for b in range(2)]), rtol=1e-13, atol=1e-13)
