"""Tensors and variables: dtype rules, NumPy in and out, reprs, indexing, variables (in-place
assign and copy on write), and the error messages."""
import numpy as np
import pytest

import gradtape as gt

Err = gt.errors.InvalidArgumentError


# ------------------------------------------------------------------ dtype rules

@pytest.mark.parametrize("value,dtype", [
    (1.0, gt.float32), ([1.0, 2.0], gt.float32), ([[1, 2]], gt.int32), (3, gt.int32), (True, gt.bool),
    ([True, False], gt.bool), (2**40, gt.int64), (np.float64(1.0), gt.float64),
    (np.array([1.0]), gt.float64), (np.array([1.0], np.float32), gt.float32), (np.array([1], np.int64), gt.int64),
    (np.array(True), gt.bool),
])
def test_constant_dtype_rules(value, dtype):
    assert gt.constant(value).dtype == dtype


def test_invalid_argument_error_is_a_value_error():
    assert issubclass(Err, ValueError)


def test_no_silent_float32_float64_promotion():
    a = gt.constant([1.0], dtype=gt.float32)
    b = gt.constant([1.0], dtype=gt.float64)
    with pytest.raises(Err, match="float32.*float64"):
        a + b
    with pytest.raises(Err, match="float32.*float64"):
        gt.matmul(gt.ones([2, 2]), gt.ones([2, 2], dtype=gt.float64))


def test_python_scalars_take_the_tensor_dtype():
    x = gt.constant([1.0, 2.0], dtype=gt.float64)
    assert (x * 2).dtype == gt.float64
    assert (2.5 + x).dtype == gt.float64
    assert (gt.constant([1, 2]) * 3).dtype == gt.int32
    with pytest.raises(TypeError):
        gt.constant([1, 2]) * 2.5


def test_constant_with_dtype_converts():
    assert gt.constant(1, dtype=gt.float64).dtype == gt.float64
    np.testing.assert_array_equal(gt.constant([1.0, 2.0], dtype=gt.int32).numpy(), [1, 2])
    with pytest.raises(TypeError):
        gt.constant(1.5, dtype=gt.int32)
    assert gt.constant(3.0, shape=[2, 2]).shape == (2, 2)


def test_unsupported_numpy_dtype_is_a_clear_type_error():
    with pytest.raises(TypeError, match="complex"):
        gt.constant(np.ones(2, np.complex64))
    with pytest.raises(TypeError, match="unsupported dtype"):
        gt.constant(np.ones(2, "datetime64[s]"))
    with pytest.raises(TypeError, match="no string tensors"):
        gt.constant("hello")
    with pytest.raises(ValueError) as info:  # a value of no tensor type: TensorFlow's ValueError
        gt.constant(None)
    assert type(info.value) is ValueError


def test_dtypes():
    assert gt.float32.is_floating and not gt.int32.is_floating
    assert gt.as_dtype("float64") == gt.float64 and gt.as_dtype(np.int64) == gt.int64
    assert repr(gt.float32) == "gt.float32"
    assert gt.float32.as_numpy_dtype == np.float32


# ------------------------------------------------------------------ NumPy round trips

@pytest.mark.parametrize("make", [
    lambda a: a, lambda a: np.asfortranarray(a), lambda a: a[:, ::2], lambda a: a.T, lambda a: a[::-1],
], ids=["c-order", "fortran", "strided", "transposed", "reversed"])
def test_numpy_in(make):
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    arr = make(base)
    t = gt.constant(arr)
    np.testing.assert_array_equal(t.numpy(), arr)
    assert t.shape == arr.shape and t.dtype == gt.float64


def test_numpy_out_is_read_only():
    t = gt.constant([1.0, 2.0, 3.0])
    view = t.numpy()
    with pytest.raises(ValueError):
        view[0] = 100.0
    with pytest.raises(ValueError):
        view.flags.writeable = True
    np.testing.assert_array_equal(t.numpy(), [1, 2, 3])
    arr = np.asarray(t)
    with pytest.raises(ValueError):
        arr[1] = 5.0
    np.testing.assert_array_equal(np.array(t, copy=True), [1, 2, 3])  # an explicit copy is writable


def test_input_array_mutation_never_changes_a_tensor():
    a = np.array([1.0, 2.0])
    t = gt.constant(a)
    x = gt.constant(np.array([3.0, 4.0]))
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * t
    a[:] = 100.0
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [1.0, 2.0])


def test_numpy_view_outlives_the_tensor():
    t = gt.constant(np.arange(5.0))
    view = t.numpy()
    del t
    np.testing.assert_array_equal(view, np.arange(5.0))


def test_scalar_conversions_and_protocols():
    t = gt.constant(36.0)
    assert float(t) == 36.0 and int(t) == 36 and bool(t)
    v = gt.constant([[1.0, 2.0], [3.0, 4.0]])
    assert len(v) == 2 and v.ndim == 2
    rows = list(v)
    np.testing.assert_array_equal(rows[1].numpy(), [3.0, 4.0])
    with pytest.raises(TypeError):
        len(t)
    with pytest.raises(TypeError):
        iter(t)
    with pytest.raises(ValueError):
        bool(v)
    assert v.shape.as_list() == [2, 2] and v.shape.num_elements() == 4
    assert (v == None) is False  # noqa: E711 (TF 2 semantics)
    with pytest.raises(TypeError):
        hash(v)


def test_reprs_in_tensorflow_form():
    assert repr(gt.constant(36.0)) == "<gt.Tensor: shape=(), dtype=float32, numpy=36.0>"
    assert repr(gt.constant([136.0, 30.0])) == \
        "<gt.Tensor: shape=(2,), dtype=float32, numpy=array([136.,  30.], dtype=float32)>"
    assert repr(gt.constant(True)) == "<gt.Tensor: shape=(), dtype=bool, numpy=True>"
    assert repr(gt.Variable(5.0)) == "<gt.Variable 'Variable:0' shape=() dtype=float32, numpy=5.0>"


# ------------------------------------------------------------------ indexing

def test_basic_indexing_matches_numpy():
    a = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    t = gt.constant(a)
    for key in [0, -1, (1, 2), slice(1, 3), (slice(None), 2), (Ellipsis, 1), (Ellipsis, None),
                (None, 1, Ellipsis), (slice(None, None, -1), slice(1, None, 2)), (0, -1, -2),
                (slice(5, 10),), (slice(None), slice(None), slice(None, None, 3))]:
        np.testing.assert_array_equal(t[key].numpy(), a[key], err_msg=str(key))


def test_bad_indices():
    t = gt.constant(np.zeros((2, 3)))
    with pytest.raises(Err, match="out of bounds"):
        t[5]
    with pytest.raises(Err, match="too many indices"):
        t[0, 0, 0]
    with pytest.raises(TypeError):
        t["a"]
    with pytest.raises(ValueError):
        t[::0]


# ------------------------------------------------------------------ variables

def test_variable_basics():
    v = gt.Variable([1.0, 2.0], name="w")
    assert v.name == "w:0" and v.trainable and v.shape == (2,) and v.dtype == gt.float32
    assert not gt.Variable(1.0, trainable=False).trainable
    np.testing.assert_array_equal((v * 2).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(v.read_value().numpy(), [1.0, 2.0])
    assert gt.Variable(1, dtype=gt.float64).dtype == gt.float64


def test_variable_assign_in_place_when_unshared():
    v = gt.Variable(np.arange(4.0))
    before = gt._core.live_storages()
    v.assign([5.0, 6.0, 7.0, 8.0])
    v.assign_add(np.ones(4))
    v.assign_sub(np.full(4, 2.0))
    assert gt._core.live_storages() == before  # no new buffer: written in place
    np.testing.assert_array_equal(v.numpy(), [4.0, 5.0, 6.0, 7.0])


def test_variable_copy_on_write():
    v = gt.Variable([1.0, 2.0])
    snapshot = v.read_value()
    view = v.numpy()
    v.assign([10.0, 20.0])
    np.testing.assert_array_equal(snapshot.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(view, [1.0, 2.0])
    np.testing.assert_array_equal(v.numpy(), [10.0, 20.0])


def test_variable_assign_errors_name_both_sides():
    v = gt.Variable([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        v.assign([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="float64.*float32"):
        v.assign(gt.constant([1.0, 2.0], dtype=gt.float64))


# ------------------------------------------------------------------ error messages

def test_shape_mismatch_names_op_and_both_shapes():
    with pytest.raises(Err, match=r"add.*\(2, 3\).*\(4,\)"):
        gt.add(gt.ones([2, 3]), gt.ones([4]))
    with pytest.raises(Err, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        gt.matmul(gt.ones([2, 3]), gt.ones([4, 5]))
    with pytest.raises(Err, match=r"reshape.*\(2, 3\).*\[4\]"):
        gt.reshape(gt.ones([2, 3]), [4])
    with pytest.raises(Err, match=r"concat"):
        gt.concat([gt.ones([2, 3]), gt.ones([3, 2])], axis=0)


def test_axis_out_of_range_names_axis_and_rank():
    with pytest.raises(Err, match="axis 3 .*rank 2"):
        gt.reduce_sum(gt.ones([2, 3]), axis=3)
    with pytest.raises(Err, match="axis -4 .*rank 3"):
        gt.expand_dims(gt.ones([2, 3]), -4)


def test_other_bad_inputs_raise_not_crash():
    with pytest.raises(Err):
        gt.zeros([-1, 2])
    with pytest.raises(Err):
        gt.zeros([2**40, 2**40])
    with pytest.raises(Err, match="division by zero"):
        gt.constant([1, 2]) // gt.constant([1, 0])
    with pytest.raises(Err, match="out of range"):
        gt.gather(gt.ones([3]), gt.constant([3]))
    with pytest.raises(Err, match="negative integer powers"):
        gt.pow(gt.constant([2]), gt.constant([-1]))
    with pytest.raises(Err):
        gt.reshape(gt.ones([2]), [-1, -1])
    with pytest.raises(Err):
        gt.transpose(gt.ones([2, 3]), [0, 0])
    with pytest.raises(Err, match="rank"):
        gt.zeros([1] * 9)
    with pytest.raises(Err):
        gt.range(0, 1, 0)
    with pytest.raises(Err):
        gt.nn.sparse_softmax_cross_entropy_with_logits(labels=gt.constant([5]), logits=gt.ones([1, 3]))
    assert gt.constant([1, -2**31]) // -1 is not None  # INT_MIN // -1 wraps instead of trapping


def test_nan_inf_and_empty_are_valid_data():
    x = gt.constant([np.nan, np.inf, -np.inf, 0.0])
    np.testing.assert_array_equal(np.isnan(gt.exp(x).numpy()), [True, False, False, False])
    assert gt.reduce_sum(gt.zeros([0, 3])).numpy() == 0.0
    assert gt.matmul(gt.zeros([2, 0]), gt.zeros([0, 3])).shape == (2, 3)
    np.testing.assert_array_equal(gt.reduce_max(gt.constant([1.0, np.nan])).numpy(), np.nan)
