"""The acceptance notebook (the project's seed notebook), cell by cell, with
`import gradtape as tf` in place of `import tensorflow as tf`.

Each test re-creates the state the notebook has at that point (the helpers below), so the
cells can be run and fail independently.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose

import gradtape as tf  # cell 1


# cell 2
def f(w1, w2):
    return 3 * w1 ** 2 + 2 * w1 * w2


# cell 27
def f_stop(w1, w2):
    return 3 * w1 ** 2 + tf.stop_gradient(2 * w1 * w2)


def assert_scalar_f32(t, value):
    assert isinstance(t, tf.Tensor), type(t)
    assert t.dtype == tf.float32
    assert tuple(t.shape) == ()
    assert_allclose(t.numpy(), value, rtol=0, atol=0)
    assert t.numpy().dtype == np.float32


def variables():
    # cell 6
    return tf.Variable(5.), tf.Variable(3.)


def test_cells_03_05_finite_differences():
    w1, w2 = 5, 3
    eps = 1e-6
    assert_allclose((f(w1 + eps, w2) - f(w1, w2)) / eps, 36.000003007075065, rtol=1e-12)
    assert_allclose((f(w1, w2 + eps) - f(w1, w2)) / eps, 10.000000003174137, rtol=1e-12)


def test_cell_06_variables():
    w1, w2 = variables()
    assert w1.dtype == tf.float32 and w2.dtype == tf.float32
    assert tuple(w1.shape) == () and tuple(w2.shape) == ()
    assert float(w1.numpy()) == 5.0 and float(w2.numpy()) == 3.0


def test_cells_07_09_gradient_list():
    w1, w2 = variables()
    with tf.GradientTape() as tape:
        z = f(w1, w2)
    assert_scalar_f32(z, 3 * 25 + 2 * 15)
    gradients = tape.gradient(z, [w1, w2])
    assert isinstance(gradients, list) and len(gradients) == 2
    assert_scalar_f32(gradients[0], 36.0)
    assert_scalar_f32(gradients[1], 10.0)


def test_cell_09_repr():
    w1, w2 = variables()
    with tf.GradientTape() as tape:
        z = f(w1, w2)
    gradients = tape.gradient(z, [w1, w2])
    assert repr(gradients[0]) == "<gt.Tensor: shape=(), dtype=float32, numpy=36.0>"
    assert repr(gradients[1]) == "<gt.Tensor: shape=(), dtype=float32, numpy=10.0>"


def test_cells_10_12_non_persistent_second_call_raises():
    w1, w2 = variables()
    with tf.GradientTape() as tape:  # cell 10
        z = f(w1, w2)
    dz_dw1 = tape.gradient(z, w1)  # cell 11
    assert_scalar_f32(dz_dw1, 36.0)
    with pytest.raises(RuntimeError) as info:  # cell 12
        tape.gradient(z, w1)
    # (the notebook ran an older TensorFlow, whose message was "GradientTape.gradient can only be
    # called once on non-persistent tapes."; gradtape gives TensorFlow 2.21's)
    assert str(info.value) == (
        "A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)")


def test_cells_13_16_persistent_tape():
    w1, w2 = variables()
    with tf.GradientTape(persistent=True) as tape:  # cell 13
        z = f(w1, w2)
    assert_scalar_f32(tape.gradient(z, w1), 36.0)  # cell 14
    assert_scalar_f32(tape.gradient(z, w2), 10.0)  # cell 15
    del tape  # cell 16


def test_cells_17_19_constants_not_watched():
    c1, c2 = tf.constant(5.), tf.constant(3.)  # cell 17
    assert c1.dtype == tf.float32 and c2.dtype == tf.float32
    with tf.GradientTape() as tape:  # cell 18
        z = f(c1, c2)
    assert_scalar_f32(z, 105.0)
    assert tape.gradient(z, [c1, c2]) == [None, None]  # cell 19


def test_cells_20_21_watched_constants():
    c1, c2 = tf.constant(5.), tf.constant(3.)
    with tf.GradientTape() as tape:  # cell 20
        tape.watch(c1)
        tape.watch(c2)
        z = f(c1, c2)
    g = tape.gradient(z, [c1, c2])  # cell 21
    assert isinstance(g, list) and len(g) == 2
    assert_scalar_f32(g[0], 36.0)
    assert_scalar_f32(g[1], 10.0)


def test_cell_22_multiple_targets_summed():
    w1, w2 = variables()
    with tf.GradientTape() as tape:
        z1 = f(w1, w2 + 2.)
        z2 = f(w1, w2 + 5.)
        z3 = f(w1, w2 + 7.)
    g = tape.gradient([z1, z2, z3], [w1, w2])
    assert isinstance(g, list) and len(g) == 2
    assert_scalar_f32(g[0], 136.0)
    assert_scalar_f32(g[1], 30.0)


def test_cell_23_persistent_sum_of_gradients():
    w1, w2 = variables()
    with tf.GradientTape(persistent=True) as tape:
        z1 = f(w1, w2 + 2.)
        z2 = f(w1, w2 + 5.)
        z3 = f(w1, w2 + 7.)
    out = tf.reduce_sum(tf.stack([tape.gradient(z, [w1, w2]) for z in (z1, z2, z3)]), axis=0)
    assert isinstance(out, tf.Tensor)
    assert out.dtype == tf.float32
    assert tuple(out.shape) == (2,)
    assert out.numpy().dtype == np.float32
    assert_allclose(out.numpy(), [136., 30.], rtol=0, atol=0)
    del tape


def test_cells_24_26_hessians():
    w1, w2 = variables()
    with tf.GradientTape(persistent=True) as hessian_tape:  # cell 24
        with tf.GradientTape() as tape:
            z = f(w1, w2)
        jacobians = tape.gradient(z, [w1, w2])
    hessians = [hessian_tape.gradient(jacobian, [w1, w2]) for jacobian in jacobians]
    # cell 25
    assert isinstance(jacobians, list) and len(jacobians) == 2
    assert_scalar_f32(jacobians[0], 36.0)
    assert_scalar_f32(jacobians[1], 10.0)
    # cell 26
    assert len(hessians) == 2 and all(isinstance(h, list) and len(h) == 2 for h in hessians)
    assert_scalar_f32(hessians[0][0], 6.0)
    assert_scalar_f32(hessians[0][1], 2.0)
    assert_scalar_f32(hessians[1][0], 2.0)
    assert hessians[1][1] is None
    del hessian_tape


def test_cells_27_29_stop_gradient():
    w1, w2 = variables()
    with tf.GradientTape() as tape:  # cell 28
        z = f_stop(w1, w2)
    assert_scalar_f32(z, 105.0)
    g = tape.gradient(z, [w1, w2])  # cell 29
    assert isinstance(g, list) and len(g) == 2
    assert_scalar_f32(g[0], 30.0)
    assert g[1] is None


# cell 38
def softplus(z):
    return tf.math.log(tf.exp(z) + 1)


def test_cells_37_40_naive_softplus_nan_at_100():
    x = tf.Variable([100.])  # cell 37
    assert x.dtype == tf.float32 and tuple(x.shape) == (1,)
    with tf.GradientTape() as tape:  # cell 39
        z = softplus(x)
    g = tape.gradient(z, [x])  # cell 40
    assert isinstance(g, list) and len(g) == 1
    g = g[0]
    assert isinstance(g, tf.Tensor)
    assert g.dtype == tf.float32
    assert tuple(g.shape) == (1,)
    assert g.numpy().dtype == np.float32
    # exp(100) overflows float32: the honest IEEE answer is NaN (inf / inf).
    assert np.isnan(g.numpy()).all(), g.numpy()


# cell 41
@tf.custom_gradient
def softplus_v2_custom(z):
    exp = tf.exp(z)

    def softplus_v2_gradient(grad):
        return grad / (1 + 1 / exp)

    return tf.math.log(exp + 1), softplus_v2_gradient


def test_cell_41_custom_gradient_softplus_at_100():
    x = tf.Variable([100.])
    with tf.GradientTape() as tape:
        z = softplus_v2_custom(x)
    assert z.dtype == tf.float32 and tuple(z.shape) == (1,)
    g = tape.gradient(z, [x])
    assert isinstance(g, list) and len(g) == 1
    g = g[0]
    assert isinstance(g, tf.Tensor)
    assert g.dtype == tf.float32
    assert tuple(g.shape) == (1,)
    assert_allclose(g.numpy(), [1.0], rtol=0, atol=0)


def test_cell_41_custom_gradient_softplus_moderate_value():
    x = tf.Variable([0.5])
    with tf.GradientTape() as tape:
        z = softplus_v2_custom(x)
    assert_allclose(z.numpy(), np.log1p(np.exp(np.float32(0.5))), rtol=1e-6)
    g = tape.gradient(z, x)
    assert_allclose(g.numpy(), [1 / (1 + np.exp(-0.5))], rtol=1e-6)


# cell 42
def softplus_v2(z):
    return tf.where(z > 30., z, tf.math.log(tf.exp(z) + 1.))


def test_cells_42_48_where_softplus_at_1000():
    x = tf.Variable([1000.])  # cell 43
    with tf.GradientTape() as tape:  # cell 47
        z = softplus_v2(x)
    out = z, tape.gradient(z, [x])  # cell 48
    z, grads = out
    assert isinstance(z, tf.Tensor)
    assert z.dtype == tf.float32 and tuple(z.shape) == (1,)
    assert_allclose(z.numpy(), [1000.], rtol=0, atol=0)
    assert isinstance(grads, list) and len(grads) == 1
    g = grads[0]
    assert isinstance(g, tf.Tensor)
    assert g.dtype == tf.float32
    assert tuple(g.shape) == (1,)
    # TensorFlow prints [nan] here. gradtape's structural zero for the unselected branch of
    # `where` (docs/structural-zeros.md) makes it exactly [1.]; the IEEE switch gives TF's nan.
    assert_allclose(g.numpy(), [1.], rtol=0, atol=0)


def test_cell_48_with_the_ieee_switch_gives_tensorflows_nan():
    x = tf.Variable([1000.])
    with tf.config.plain_ieee_gradients():
        with tf.GradientTape() as tape:
            z = softplus_v2(x)
        g = tape.gradient(z, [x])[0]
    assert np.isnan(g.numpy()).all()
    assert tf.config.structural_zeros_enabled()  # restored on exit


def test_whole_notebook_sequentially():
    """The notebook as one run, with the state carried from cell to cell as in Jupyter."""
    g = {}
    exec("import gradtape as tf", g)  # cell 1
    exec(
        "def f(w1, w2):\n"
        "    return 3 * w1 ** 2 + 2 * w1 * w2\n", g)  # cell 2
    exec("w1, w2 = 5, 3\neps = 1e-6", g)  # cell 3
    assert_allclose(eval("(f(w1 + eps, w2) - f(w1, w2)) / eps", g), 36.000003007075065, rtol=1e-12)
    assert_allclose(eval("(f(w1, w2 + eps) - f(w1, w2)) / eps", g), 10.000000003174137, rtol=1e-12)
    exec("w1, w2 = tf.Variable(5.), tf.Variable(3.)", g)  # cell 6
    exec("with tf.GradientTape() as tape:\n    z = f(w1, w2)", g)  # cell 7
    exec("gradients = tape.gradient(z, [w1, w2])", g)  # cell 8
    grads = g["gradients"]  # cell 9
    assert_scalar_f32(grads[0], 36.0)
    assert_scalar_f32(grads[1], 10.0)
    exec("with tf.GradientTape() as tape:\n    z = f(w1, w2)", g)  # cell 10
    assert_scalar_f32(eval("tape.gradient(z, w1)", g), 36.0)  # cell 11
    with pytest.raises(RuntimeError,
                       match=r"^A non-persistent GradientTape can only be used to compute one set of "
                             r"gradients \(or jacobians\)$"):
        exec("dz_dw2 = tape.gradient(z, w1)", g)  # cell 12
    exec("with tf.GradientTape(persistent = True) as tape:\n    z = f(w1, w2)", g)  # cell 13
    assert_scalar_f32(eval("tape.gradient(z, w1)", g), 36.0)  # cell 14
    assert_scalar_f32(eval("tape.gradient(z, w2)", g), 10.0)  # cell 15
    exec("del tape", g)  # cell 16
    exec("c1, c2 = tf.constant(5.), tf.constant(3.)", g)  # cell 17
    exec("with tf.GradientTape() as tape:\n    z = f(c1, c2)", g)  # cell 18
    assert eval("tape.gradient(z, [c1, c2])", g) == [None, None]  # cell 19
    exec("with tf.GradientTape() as tape:\n    tape.watch(c1)\n    tape.watch(c2)\n"
         "    z = f(c1, c2)", g)  # cell 20
    out = eval("tape.gradient(z, [c1, c2])", g)  # cell 21
    assert_scalar_f32(out[0], 36.0)
    assert_scalar_f32(out[1], 10.0)
    exec("with tf.GradientTape() as tape:\n    z1 = f(w1, w2 + 2.)\n    z2 = f(w1, w2 + 5.)\n"
         "    z3 = f(w1, w2 + 7.)", g)  # cell 22
    out = eval("tape.gradient([z1, z2, z3], [w1, w2])", g)
    assert_scalar_f32(out[0], 136.0)
    assert_scalar_f32(out[1], 30.0)
    exec("with tf.GradientTape(persistent = True) as tape:\n    z1 = f(w1, w2 + 2.)\n"
         "    z2 = f(w1, w2 + 5.)\n    z3 = f(w1, w2 + 7.)", g)  # cell 23
    out = eval("tf.reduce_sum(tf.stack([tape.gradient(z, [w1, w2]) for z in (z1, z2, z3)]), "
               "axis = 0)", g)
    assert out.dtype == tf.float32 and tuple(out.shape) == (2,)
    assert_allclose(out.numpy(), [136., 30.], rtol=0, atol=0)
    exec("with tf.GradientTape(persistent = True) as hessian_tape:\n"
         "    with tf.GradientTape() as tape:\n"
         "        z = f(w1, w2)\n"
         "    jacobians = tape.gradient(z, [w1, w2])\n"
         "hessians = [hessian_tape.gradient(jacobian, [w1, w2]) for jacobian in jacobians]",
         g)  # cell 24
    jac = g["jacobians"]  # cell 25
    assert_scalar_f32(jac[0], 36.0)
    assert_scalar_f32(jac[1], 10.0)
    hes = g["hessians"]  # cell 26
    assert_scalar_f32(hes[0][0], 6.0)
    assert_scalar_f32(hes[0][1], 2.0)
    assert_scalar_f32(hes[1][0], 2.0)
    assert hes[1][1] is None
    exec("def f(w1, w2):\n    return 3 * w1 ** 2 + tf.stop_gradient(2 * w1 * w2)", g)  # cell 27
    exec("with tf.GradientTape() as tape:\n    z = f(w1, w2)", g)  # cell 28
    out = eval("tape.gradient(z, [w1, w2])", g)  # cell 29
    assert_scalar_f32(out[0], 30.0)
    assert out[1] is None
    exec("x = tf.Variable([100.])", g)  # cell 37
    exec("def softplus(z):\n    return tf.math.log(tf.exp(z) + 1)", g)  # cell 38
    exec("with tf.GradientTape() as tape:\n    z = softplus(x)", g)  # cell 39
    out = eval("tape.gradient(z, [x])", g)  # cell 40
    assert len(out) == 1 and out[0].dtype == tf.float32 and tuple(out[0].shape) == (1,)
    assert np.isnan(out[0].numpy()).all()
    exec("@tf.custom_gradient\n"
         "def softplus_v2(z):\n"
         "    exp = tf.exp(z)\n"
         "    def softplus_v2_gradient(grad):\n"
         "        return grad / (1 + 1 / exp)\n"
         "    return tf.math.log(exp + 1), softplus_v2_gradient", g)  # cell 41
    exec("with tf.GradientTape() as tape:\n    z = softplus_v2(x)", g)
    out = eval("tape.gradient(z, [x])", g)
    assert len(out) == 1 and out[0].dtype == tf.float32 and tuple(out[0].shape) == (1,)
    assert_allclose(out[0].numpy(), [1.0], rtol=0, atol=0)
    exec("def softplus_v2(z):\n"
         "    return tf.where(z > 30., z, tf.math.log(tf.exp(z) + 1.))", g)  # cell 42
    exec("x = tf.Variable([1000.])", g)  # cell 43
    exec("with tf.GradientTape() as tape:\n    z = softplus_v2(x)", g)  # cell 47
    z, grads = eval("z, tape.gradient(z, [x])", g)  # cell 48
    assert z.dtype == tf.float32 and tuple(z.shape) == (1,)
    assert_allclose(z.numpy(), [1000.], rtol=0, atol=0)
    assert len(grads) == 1 and isinstance(grads[0], tf.Tensor)
    assert grads[0].dtype == tf.float32 and tuple(grads[0].shape) == (1,)
    assert_allclose(grads[0].numpy(), [1.], rtol=0, atol=0)  # structural zeros (beyond TF)
