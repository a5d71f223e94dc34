"""gt.gather with batch_dims, and gt.size with a non-integer out_type, against TensorFlow 2.21:
the expected values below are TensorFlow's answers for the same calls."""
import numpy as np
import pytest

import gradtape as gt

P = np.arange(24.0).reshape(2, 3, 4)
I = [[0, 2], [1, 1]]

# (kwargs, indices, TensorFlow's result)
CASES = [
    (dict(batch_dims=1), I, [[[0, 1, 2, 3], [8, 9, 10, 11]], [[16, 17, 18, 19], [16, 17, 18, 19]]]),
    (dict(axis=1, batch_dims=1), I, [[[0, 1, 2, 3], [8, 9, 10, 11]], [[16, 17, 18, 19], [16, 17, 18, 19]]]),
    (dict(axis=2, batch_dims=1), I, [[[0, 2], [4, 6], [8, 10]], [[13, 13], [17, 17], [21, 21]]]),
    (dict(axis=-1, batch_dims=-1), I, [[[0, 2], [4, 6], [8, 10]], [[13, 13], [17, 17], [21, 21]]]),
    (dict(batch_dims=-1), I, [[[0, 2], [4, 6], [8, 10]], [[13, 13], [17, 17], [21, 21]]]),
    (dict(axis=2, batch_dims=2), [[[0], [1], [2]], [[2], [1], [0]]], [[[0], [5], [10]], [[14], [17], [20]]]),
    (dict(axis=1, batch_dims=1), [1, 0], [[4, 5, 6, 7], [12, 13, 14, 15]]),
    (dict(axis=2, batch_dims=1), [[0, 3], [1, 1]], [[[0, 3], [4, 7], [8, 11]], [[13, 13], [17, 17], [21, 21]]]),
]


@pytest.mark.parametrize("kwargs,indices,expected", CASES, ids=[str(c[0]) + str(c[1]) for c in CASES])
def test_values_as_tensorflow(kwargs, indices, expected):
    out = gt.gather(gt.constant(P, dtype=gt.float32), gt.constant(indices), **kwargs)
    assert out.dtype == gt.float32 and out.numpy().tolist() == expected


def test_empty():
    assert gt.gather(gt.constant(P), gt.zeros([2, 0], gt.int32), axis=1, batch_dims=1).shape == (2, 0, 4)
    assert gt.gather(gt.zeros([0, 3]), gt.zeros([0, 2], gt.int32), axis=1, batch_dims=1).shape == (0, 2)


@pytest.mark.parametrize("kwargs,indices", [
    (dict(axis=0, batch_dims=1), I),                            # batch_dims > axis
    (dict(batch_dims=3), I),                                    # past indices' rank
    (dict(axis=1, batch_dims=-3), I),
    (dict(axis=1, batch_dims=2), I),
    (dict(axis=1, batch_dims=1), [[0, 2], [1, 1], [0, 0]]),     # batch sizes differ
    (dict(axis=1, batch_dims=1), [[0, 5], [1, 1]]),             # out of range
    (dict(axis=1, batch_dims=1), [[0, -1], [1, 1]]),
])
def test_errors_as_tensorflow(kwargs, indices):
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.gather(gt.constant(P), gt.constant(indices), **kwargs)


def test_out_of_range_message_names_the_index():
    with pytest.raises(gt.errors.InvalidArgumentError, match=r"indices\[0,1\] = 5 is not in \[0, 3\)"):
        gt.gather(gt.constant(P), [[0, 5], [1, 1]], axis=1, batch_dims=1)


def test_gradient_as_tensorflow():
    x = gt.Variable(P)
    with gt.GradientTape() as tape:
        y = gt.gather(x, [[0, 2, 2], [1, 1, 0]], axis=1, batch_dims=1)
        loss = gt.reduce_sum(y * gt.constant(P))
    assert tape.gradient(loss, x).numpy().tolist() == [
        [[0, 1, 2, 3], [0, 0, 0, 0], [12, 14, 16, 18]], [[20, 21, 22, 23], [28, 30, 32, 34], [0, 0, 0, 0]]]


@pytest.mark.parametrize("axis,batch_dims,indices", [(1, 1, [[0, 2, 2], [1, 1, 0]]), (2, 1, [[3, 0], [1, 1]]),
                                                     (2, 2, [[[0], [1], [2]], [[2], [1], [0]]])])
def test_gradient_checks_in_float64(axis, batch_dims, indices):
    rng = np.random.default_rng(0)
    p = rng.standard_normal((2, 3, 4))

    def f(x):
        return gt.gather(x, indices, axis=axis, batch_dims=batch_dims) ** 2

    theoretical, numerical = gt.test.compute_gradient(f, [p])
    np.testing.assert_allclose(theoretical[0], numerical[0], rtol=1e-6, atol=1e-6)

    def grad(x):  # second order: the gradient of the first one
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.reduce_sum(f(x))
        return tape.gradient(y, x)

    theoretical, numerical = gt.test.compute_gradient(grad, [p])
    np.testing.assert_allclose(theoretical[0], numerical[0], rtol=1e-6, atol=1e-6)


def test_size_out_type_as_tensorflow():
    x = gt.zeros([2, 3])
    assert repr(gt.size(x, out_type=gt.float64)) == "<gt.Tensor: shape=(), dtype=float64, numpy=6.0>"
    assert repr(gt.size(x, out_type=gt.float32)) == "<gt.Tensor: shape=(), dtype=float32, numpy=6.0>"
    assert bool(gt.size(x, out_type=gt.bool)) is True
    assert bool(gt.size(gt.zeros([0, 3]), out_type=gt.bool)) is False
    assert repr(gt.rank(x)) == "<gt.Tensor: shape=(), dtype=int32, numpy=2>"
