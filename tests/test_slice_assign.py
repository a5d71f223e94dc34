"""Sliced variable assignment (`v[1:3].assign(values)`) against TensorFlow 2.21: the expected
values and exception types below are what TensorFlow gives for the same calls."""
import numpy as np
import pytest

import gradtape as gt

V = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
W = [1, 2, 3, 4, 5]


def _fresh():
    return {"v": gt.Variable(V), "w": gt.Variable(W), "s": gt.Variable(3.0), "b": gt.Variable([True, False]),
            "d": gt.Variable([1.0, 2.0], dtype=gt.float64), "gt": gt, "np": np}


# (statement, variable name, its value afterwards in TensorFlow)
WRITES = [
    ("v[1:3].assign([[10., 11, 12], [13, 14, 15]])", "v", [[1, 2, 3], [10, 11, 12], [13, 14, 15]]),
    ("v[0].assign([9., 9, 9])", "v", [[9, 9, 9], [4, 5, 6], [7, 8, 9]]),
    ("v[0].assign(5.)", "v", [[5, 5, 5], [4, 5, 6], [7, 8, 9]]),
    ("v[0].assign([[1., 2, 3]])", "v", V),
    ("v[0].assign([1, 2, 3])", "v", V),
    ("v[0].assign(np.array([7, 8, 9]))", "v", [[7, 8, 9], [4, 5, 6], [7, 8, 9]]),
    ("v[0, 1].assign(7.)", "v", [[1, 7, 3], [4, 5, 6], [7, 8, 9]]),
    ("v[::2, ::-1].assign(gt.zeros([2, 3]))", "v", [[0, 0, 0], [4, 5, 6], [0, 0, 0]]),
    ("v[..., 0].assign([0., 0, 0])", "v", [[0, 2, 3], [0, 5, 6], [0, 8, 9]]),
    ("v[None, 0].assign([[0., 0, 0]])", "v", [[0, 0, 0], [4, 5, 6], [7, 8, 9]]),
    ("v[1].assign([1., 2, 3], 'name')", "v", [[1, 2, 3], [1, 2, 3], [7, 8, 9]]),
    ("v[1:3].assign([1., 2, 3])", "v", [[1, 2, 3], [1, 2, 3], [1, 2, 3]]),
    ("v[1:3].assign([[1.], [2]])", "v", [[1, 2, 3], [1, 1, 1], [2, 2, 2]]),
    ("v[1:3].assign([[[1., 2, 3]]])", "v", [[1, 2, 3], [1, 2, 3], [1, 2, 3]]),
    ("v[1:3].assign(gt.zeros([1, 1, 1, 3]))", "v", [[1, 2, 3], [0, 0, 0], [0, 0, 0]]),
    ("v[gt.constant(0):2].assign(gt.zeros([2, 3]))", "v", [[0, 0, 0], [0, 0, 0], [7, 8, 9]]),
    ("v[0, gt.constant(1)].assign(1.)", "v", [[1, 1, 3], [4, 5, 6], [7, 8, 9]]),
    ("w[1:3].assign([0, 0])", "w", [1, 0, 0, 4, 5]),
    ("w[-1].assign(9)", "w", [1, 2, 3, 4, 9]),
    ("w[gt.constant(1)].assign(9)", "w", [1, 9, 3, 4, 5]),
    ("w[1:4:2].assign([0, 0])", "w", [1, 0, 3, 0, 5]),
    ("w[::-1].assign([10, 20, 30, 40, 50])", "w", [50, 40, 30, 20, 10]),
    ("w[1:3].assign([[1, 2]])", "w", [1, 1, 2, 4, 5]),
    ("w[1:1].assign([1, 2])", "w", W),  # an empty slice: nothing written, no shape check
    ("w[3:1].assign([])", "w", W),
    ("w[5:].assign([])", "w", W),
    ("s[()].assign(1.0)", "s", 1.0),
    ("b[0].assign(False)", "b", [False, False]),
    ("d[0:1].assign([3])", "d", [3.0, 2.0]),
]

# (statement, TensorFlow's exception type); the variables are left unchanged
ERRORS = [
    ("v[0].assign([1., 2])", gt.errors.InvalidArgumentError),
    ("w[1:3].assign([[1], [2]])", gt.errors.InvalidArgumentError),
    ("v[1:3].assign([[[1., 2, 3]], [[1., 2, 3]]])", gt.errors.InvalidArgumentError),
    ("v[1:3].assign(gt.zeros([3, 3]))", gt.errors.InvalidArgumentError),
    ("v[1:3].assign(gt.zeros([0]))", gt.errors.InvalidArgumentError),
    ("v[0].assign(gt.constant([1, 2, 3]))", ValueError),
    ("d[0:1].assign(gt.constant([3.]))", ValueError),
    ("w[1:3].assign([0.5, 0])", TypeError),
    ("w[1:3].assign(None)", ValueError),
    ("w[1:3].assign('a')", TypeError),
    ("w[7].assign(9)", gt.errors.InvalidArgumentError),
    ("v[0].assign([1., 2, 3], read_value=False)", TypeError),
    ("v[0].assign(value=[1., 2, 3])", TypeError),
    # only a variable's first indexing can be assigned, and never a mask's result
    ("v[:, 1].assign_add([1., 1, 1])", AttributeError),
    ("v[:, 1].assign_sub([1., 1, 1])", AttributeError),
    ("v[0][1].assign(3.)", AttributeError),
    ("w[w > 2].assign(0)", AttributeError),
    ("v.read_value()[0].assign([1., 2, 3])", AttributeError),
]


@pytest.mark.parametrize("stmt,name,expected", WRITES, ids=[w[0] for w in WRITES])
def test_write_as_tensorflow(stmt, name, expected):
    ns = _fresh()
    out = eval(stmt, ns)
    assert out is ns[name]  # the variable (TensorFlow returns a handle to it)
    got = ns[name].numpy()
    assert got.dtype == ns[name].dtype.as_numpy_dtype and got.tolist() == expected


@pytest.mark.parametrize("stmt,exc", ERRORS, ids=[e[0] for e in ERRORS])
def test_error_as_tensorflow(stmt, exc):
    ns = _fresh()
    with pytest.raises(exc):
        eval(stmt, ns)
    assert ns["v"].numpy().tolist() == V and ns["w"].numpy().tolist() == W


def test_shape_error_message_is_tensorflows():
    with pytest.raises(gt.errors.InvalidArgumentError, match=r"Cannot broadcast input shape \[2,1\] into final "
                                                              r"shape \[2\]"):
        gt.Variable(W)[1:3].assign([[1], [2]])


def test_the_sliced_tensor_keeps_the_values_read():
    v = gt.Variable([1.0, 2.0, 3.0])
    a = v[1:]
    a.assign([5.0, 6.0])
    assert a.numpy().tolist() == [2.0, 3.0] and v.numpy().tolist() == [1.0, 5.0, 6.0]


def test_tapes_see_old_and_new_values():
    # TensorFlow: [2, 4, 6] before the write, [20, 4, 6] after it, [0, 4, 6] through the slice
    v = gt.Variable([1.0, 2.0, 3.0])
    with gt.GradientTape(persistent=True) as tape:
        y = gt.reduce_sum(v * v)
        v[0].assign(10.0)
        z = gt.reduce_sum(v * v)
    assert tape.gradient(y, v).numpy().tolist() == [2.0, 4.0, 6.0]
    assert tape.gradient(z, v).numpy().tolist() == [20.0, 4.0, 6.0]
    v = gt.Variable([1.0, 2.0, 3.0])
    with gt.GradientTape() as tape:
        a = v[1:]
        a.assign([5.0, 6.0])
        z = gt.reduce_sum(a * a)
    assert tape.gradient(z, v).numpy().tolist() == [0.0, 4.0, 6.0]


def test_copy_on_write_keeps_snapshots():
    v = gt.Variable([1.0, 2.0, 3.0])
    before = v.read_value()
    array = v.numpy()
    v[1].assign(7.0)
    assert before.numpy().tolist() == [1.0, 2.0, 3.0] and array.tolist() == [1.0, 2.0, 3.0]
    assert v.numpy().tolist() == [1.0, 7.0, 3.0]


def test_under_gt_function_each_call_writes():
    # TensorFlow: [1, 7, 8] then [1, 9, 1]
    v = gt.Variable([1.0, 2.0, 3.0])

    @gt.function
    def f(x):
        v[1:].assign(x)
        return v.read_value()

    assert f(gt.constant([7.0, 8.0])).numpy().tolist() == [1.0, 7.0, 8.0]
    assert f(gt.constant([9.0, 1.0])).numpy().tolist() == [1.0, 9.0, 1.0]
    assert v.numpy().tolist() == [1.0, 9.0, 1.0]


def test_a_large_variable_row():
    v = gt.Variable(np.arange(12.0).reshape(3, 4))
    v[1, 1:3].assign([-1.0, -2.0])
    v[:, -1].assign(gt.constant([0.0, 0.0, 0.0], dtype=gt.float64))
    assert v.numpy().tolist() == [[0, 1, 2, 0], [4, -1, -2, 0], [8, 9, 10, 0]]
