"""The functions TensorFlow writes in Python over its ops (python/gradtape/_composite.py) and
the Tensor format rule. Expected values are TensorFlow 2.21's (printed by it, stored here as
literals)."""
import math

import numpy as np
import pytest

import gradtape as gt


def test_linspace_values_dtypes_and_axis():
    np.testing.assert_array_equal(
        gt.linspace(0.0, 1.0, 7).numpy(),
        np.array([0.0, 0.1666666716337204, 0.3333333432674408, 0.5, 0.6666666865348816,
                  0.8333333730697632, 1.0], np.float32))
    x = gt.linspace(-2, 2, 5)  # integer ends: float64, as TensorFlow's truediv
    assert x.dtype == gt.float64 and x.numpy().tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert gt.linspace([0.0, 5.0], [10.0, 40.0], 5, axis=-1).numpy().tolist() == [
        [0.0, 2.5, 5.0, 7.5, 10.0], [5.0, 13.75, 22.5, 31.25, 40.0]]
    assert gt.linspace([0.0, 5.0], [10.0, 40.0], 3).shape == (3, 2)
    assert gt.linspace(3.0, 4.0, 1).numpy().tolist() == [3.0]
    assert gt.linspace(3.0, 4.0, 0).numpy().tolist() == []
    assert gt.linspace(3.0, 4.0, 2).numpy().tolist() == [3.0, 4.0]
    assert gt.linspace(0.0, 1.0, gt.constant(3)).shape == (3,)
    assert gt.linspace(-10.0, 10.0, 201).numpy()[-1] == 10.0  # the end point is exact
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.linspace(0.0, 1.0, -1)
    with pytest.raises(TypeError):
        gt.linspace(0.0, 1.0, 2.5)


def test_linspace_is_differentiable_in_its_ends():
    s, e = gt.Variable(0.0), gt.Variable(1.0)
    with gt.GradientTape() as t:
        y = gt.reduce_sum(gt.linspace(s, e, 5) * gt.constant([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert [g.numpy() for g in t.gradient(y, [s, e])] == [5.0, 10.0]


def test_reduce_variance_and_std():
    x = gt.constant([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    np.testing.assert_allclose(gt.math.reduce_variance(x).numpy(), 6.6666665, rtol=1e-6)
    assert gt.math.reduce_std(x, axis=0).numpy().tolist() == [1.0, 1.5, 2.5]
    np.testing.assert_allclose(gt.math.reduce_variance(x, axis=1, keepdims=True).numpy(),
                               [[1.5555557], [6.2222228]], rtol=1e-6)
    with pytest.raises(TypeError):
        gt.math.reduce_variance(gt.constant([1, 2, 3]))
    xv = gt.Variable([1.0, 2.0, 6.0], dtype=gt.float64)
    with gt.GradientTape() as t:
        s = gt.math.reduce_std(xv)
    # d std / d x_i = (x_i - mean) / (n std)
    a = np.array([1.0, 2.0, 6.0])
    np.testing.assert_allclose(t.gradient(s, xv).numpy(), (a - a.mean()) / (3 * a.std()), rtol=1e-12)


def test_argmax_argmin():
    m = [[1, 5, 5], [7, 0, 7]]
    assert gt.argmax(m).numpy().tolist() == [1, 0, 1]
    assert gt.argmax(m, axis=1).numpy().tolist() == [1, 0]  # the first of equal values
    assert gt.argmax(m).dtype == gt.int64
    r = gt.math.argmin([3.0, 1.0, 1.0], output_type=gt.int32)
    assert r.dtype == gt.int32 and int(r) == 1
    assert gt.math.argmax is gt.argmax
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.argmax([1.0, 2.0], axis=1)
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.argmax(gt.constant(1.0))


def test_is_nan_is_inf_is_finite():
    x = gt.constant([1.0, float("nan"), float("inf"), -float("inf")])
    assert gt.math.is_nan(x).numpy().tolist() == [False, True, False, False]
    assert gt.math.is_inf(x).numpy().tolist() == [False, False, True, True]
    assert gt.math.is_finite(x).numpy().tolist() == [True, False, False, False]
    assert gt.math.is_nan(x).dtype == gt.bool
    assert bool(gt.math.is_nan(gt.constant(float("nan"))))
    with pytest.raises(gt.errors.InvalidArgumentError):  # TensorFlow's kernel takes floats only
        gt.math.is_nan(gt.constant([1, 2]))


def test_sigmoid_cross_entropy_with_logits():
    loss = gt.nn.sigmoid_cross_entropy_with_logits(labels=[0.0, 1.0, 0.5], logits=[-100.0, 0.0, 3.0])
    # (TensorFlow flushes exp(-100)'s float32 subnormal to 0; gradtape keeps it: 3.8e-44)
    np.testing.assert_allclose(loss.numpy(), [0.0, 0.6931471824645996, 1.5485873222351074], rtol=1e-7, atol=1e-40)
    big = gt.nn.sigmoid_cross_entropy_with_logits(labels=[0.0, 1.0], logits=[100.0, -100.0])
    assert big.numpy().tolist() == [100.0, 100.0]  # no overflow
    z = gt.constant([0.0, 1.0, 1.0, 0.3])
    x = gt.Variable([-3.0, 2.0, 0.0, 50.0])
    with gt.GradientTape() as t:
        l = gt.reduce_sum(gt.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x))
    np.testing.assert_allclose(t.gradient(l, x).numpy(), gt.sigmoid(x).numpy() - z.numpy(), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError):
        gt.nn.sigmoid_cross_entropy_with_logits(labels=[1.0], logits=[1.0, 2.0])
    with pytest.raises(ValueError):
        gt.nn.sigmoid_cross_entropy_with_logits(logits=[1.0])


def test_elu():
    x = gt.Variable([-1.0, 0.0, 2.0, 100.0, 1000.0])
    with gt.GradientTape() as t:
        y = gt.nn.elu(x)
    assert y.numpy().tolist()[:4] == [np.float32(-0.6321205496788025), 0.0, 2.0, 100.0]
    g = t.gradient(y, x).numpy()
    assert np.all(np.isfinite(g))  # no 0 * inf from the branch not taken
    np.testing.assert_allclose(g, [math.exp(-1.0), 1.0, 1.0, 1.0, 1.0], rtol=1e-6)


def test_norm():
    assert gt.norm([3.0, 4.0]).numpy() == 5.0
    m = gt.constant([[1.0, -2.0], [3.0, 4.0]])
    assert gt.norm(m, ord=1, axis=[0, 1]).numpy() == 6.0
    assert gt.norm(m, ord=np.inf, axis=[0, 1]).numpy() == 7.0
    assert gt.norm(m, axis=1, keepdims=True).numpy().tolist() == [[np.float32(math.sqrt(5))], [5.0]]
    assert gt.norm(m, ord="fro", axis=(0, 1)).numpy() == np.float32(5.477226)
    assert gt.norm(m).shape == ()
    np.testing.assert_allclose(gt.norm([1.0, -2.0, 3.0], ord=3).numpy(), 3.3019273, rtol=1e-6)
    assert gt.linalg.norm is gt.norm
    with pytest.raises(NotImplementedError):
        gt.norm(m, ord=2, axis=[0, 1])
    with pytest.raises(ValueError):
        gt.norm(m, ord=-1)
    v = gt.Variable([3.0, 4.0])
    with gt.GradientTape() as t:
        n = gt.norm(v)
    np.testing.assert_allclose(t.gradient(n, v).numpy(), [0.6, 0.8], rtol=1e-6)


def test_matvec():
    a = [[1.0, 2.0], [3.0, 4.0]]
    assert gt.linalg.matvec(a, [1.0, -1.0]).numpy().tolist() == [-1.0, -1.0]
    assert gt.linalg.matvec(a, [1.0, -1.0], transpose_a=True).numpy().tolist() == [-2.0, -2.0]
    assert gt.linalg.matvec(gt.ones([5, 3, 2]), gt.ones([5, 2])).shape == (5, 3)


def test_format_of_a_tensor_is_its_values_format():
    t = gt.constant(2.5)
    assert f"{t:.3f}" == "2.500" and f"{t}" == "2.5" and format(gt.constant(3), "d") == "3"
    assert f"{gt.constant([1.0, 2.0])}" == "[1. 2.]"
    with pytest.raises(TypeError):
        f"{gt.constant([1.0, 2.0]):.2f}"
    v = gt.Variable(1.5)
    assert f"{v}" == str(v)  # a Variable keeps object's rule, as TensorFlow's
    with pytest.raises(TypeError):
        f"{v:.2f}"
