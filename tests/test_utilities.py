"""The paths of _utilities.py and _composite_more.py that tests/tf_programs/api_surface.py (values
against TensorFlow) and the op table's rows (gradients) do not reach: the uneven-segment path of
unsorted_segment_prod, bad arguments, and the functions that must refuse to be traced."""
import numpy as np
import pytest

import gradtape as gt


def test_segment_prod_of_very_uneven_segments_takes_one_product_per_segment():
    # 200 rows in segment 0 and one in each of 150 others: the padded block would be 150 x 200
    rng = np.random.default_rng(0)
    data = rng.uniform(0.9, 1.1, size=(350, 2))
    ids = np.concatenate([np.zeros(200, np.int64), np.arange(1, 151), -np.ones(0, np.int64)])[:350]
    ids = np.concatenate([ids, np.full(350 - ids.size, 7)])
    x = gt.Variable(data)
    with gt.GradientTape() as tape:
        y = gt.math.unsorted_segment_prod(x, ids, 160)
        loss = gt.reduce_sum(y * np.arange(320.0).reshape(160, 2))
    want = np.ones((160, 2))
    for i, s in enumerate(ids):
        want[s] *= data[i]
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12)
    g = tape.gradient(loss, x).numpy()
    weights = np.arange(320.0).reshape(160, 2)
    np.testing.assert_allclose(g, weights[ids] * want[ids] / data, rtol=1e-10)


def test_segment_max_gradient_splits_ties_evenly():
    x = gt.Variable([2.0, 2.0, 1.0, 3.0])
    with gt.GradientTape() as tape:
        y = gt.reduce_sum(gt.math.unsorted_segment_max(x, [1, 1, 1, 0], 2))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0.5, 0.5, 0.0, 1.0])


@pytest.mark.parametrize("call", [
    lambda: gt.math.unsorted_segment_max([1.0, 2.0], [0, 2], 2),
    lambda: gt.math.unsorted_segment_max([1.0, 2.0], [0], 2),
    lambda: gt.math.unsorted_segment_prod([1.0, 2.0], [0, 0], -1),
    lambda: gt.math.segment_prod([1.0, 2.0], [1, 0]),
    lambda: gt.repeat([1, 2], [1, -1]),
    lambda: gt.repeat([1, 2], [1, 2, 3]),
    lambda: gt.slice([1, 2, 3], [2], [5]),
    lambda: gt.strided_slice([1, 2, 3], [0], [2], [0]),
    lambda: gt.dynamic_partition([1.0, 2.0], [0, 3], 2),
    lambda: gt.dynamic_stitch([[0, -1]], [[1.0, 2.0]]),
    lambda: gt.reverse_sequence(gt.zeros([2, 3]), [4, 1], seq_axis=1),
    lambda: gt.math.invert_permutation([0, 3, 1]),
    lambda: gt.math.bincount([1, -1]),
    lambda: gt.math.confusion_matrix([0, 3], [1, 1], num_classes=2),
    lambda: gt.histogram_fixed_width([1.0], [1.0, 0.0]),
    lambda: gt.nn.depth_to_space(gt.zeros([1, 2, 2, 3]), 2),
    lambda: gt.nn.space_to_depth(gt.zeros([1, 2, 2, 3]), 1),
    lambda: gt.unravel_index([6], [2, 3]),
    lambda: gt.ensure_shape(gt.zeros([2]), [3]),
])
def test_bad_arguments_raise_invalid_argument(call):
    with pytest.raises(gt.errors.InvalidArgumentError):
        call()


def test_type_errors():
    with pytest.raises(TypeError):
        gt.math.unsorted_segment_max([1.0], [0.5], 1)
    with pytest.raises(TypeError):
        gt.math.is_non_decreasing([True, False])
    with pytest.raises(ValueError):
        gt.math.polyval(gt.constant([1.0]), 2.0)
    with pytest.raises(ValueError):
        gt.linalg.matrix_transpose(gt.zeros([3]))


def test_numpy_function_and_py_function_trace():
    # (tests/test_function_traced_ops.py has the rest: host-call steps at every call)
    @gt.function
    def with_numpy(x):
        return gt.numpy_function(np.sort, [x], gt.float32)

    @gt.function
    def with_py(x):
        return gt.py_function(lambda a: a * 2.0, [x], gt.float32)

    np.testing.assert_array_equal(with_numpy(gt.constant([2.0, 1.0])).numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(with_numpy(gt.constant([0.0, -1.0])).numpy(), [-1.0, 0.0])
    np.testing.assert_array_equal(with_py(gt.constant([2.0, 1.0])).numpy(), [4.0, 2.0])
    np.testing.assert_array_equal(with_py(gt.constant([3.0, 1.0])).numpy(), [6.0, 2.0])


def test_slicing_utilities_trace_under_function():
    @gt.function
    def f(x):
        return gt.slice(x, [1], [2]) + gt.strided_slice(x, [0], [4], [2]) + gt.repeat(x[:1], 2)

    np.testing.assert_array_equal(f(gt.constant([1.0, 2.0, 3.0, 4.0])).numpy(), [4.0, 7.0])
    np.testing.assert_array_equal(f(gt.constant([0.0, 1.0, 1.0, 0.0])).numpy(), [1.0, 2.0])


def test_op_error_catches_every_class_and_keeps_python_bases():
    assert issubclass(gt.errors.InvalidArgumentError, ValueError)
    assert issubclass(gt.errors.ResourceExhaustedError, MemoryError)
    assert issubclass(gt.errors.NotFoundError, FileNotFoundError)
    for name in gt.errors.__all__:
        obj = getattr(gt.errors, name)
        if isinstance(obj, type) and name != "OperatorNotAllowedInGraphError":
            assert issubclass(obj, gt.errors.OpError), name
    e = gt.errors.NotFoundError("no such file")
    assert str(e) == "no such file" and e.message == "no such file" and e.error_code == gt.errors.NOT_FOUND


def test_initializers_round_trip_their_config():
    for init in (gt.constant_initializer(2.5), gt.random_normal_initializer(0.0, 2.0, seed=3),
                 gt.random_uniform_initializer(-1.0, 1.0, seed=4), gt.zeros_initializer(), gt.ones_initializer()):
        again = type(init).from_config(init.get_config())
        np.testing.assert_array_equal(init(shape=[3, 2]).numpy(), again(shape=[3, 2]).numpy())
    with pytest.raises(TypeError):
        gt.constant_initializer([1.0, 2.0])(shape=[3])


# ---- found by an adversarial comparison with TensorFlow 2.21 (its answers written here)

def test_histograms_use_tensorflows_arithmetic():
    bins = gt.histogram_fixed_width_bins(gt.constant([.1, .2, .3, .4, .5, .6, .7, .8, .9]), [0.0, 1.0], nbins=10)
    np.testing.assert_array_equal(bins.numpy(), np.arange(1, 10))
    counts = gt.histogram_fixed_width(gt.constant(np.linspace(0, 1, 101)), [0.0, 1.0], nbins=10)
    np.testing.assert_array_equal(counts.numpy(), [10, 10, 11, 9, 10, 11, 9, 10, 10, 11])
    nan_bins = gt.histogram_fixed_width_bins(gt.constant([np.nan, 0.5, np.inf, -np.inf]), [0.0, 1.0], nbins=4)
    np.testing.assert_array_equal(nan_bins.numpy(), [-2 ** 31, 2, 3, 0])


def test_in_top_k_is_false_for_a_row_with_a_non_finite_prediction():
    np.testing.assert_array_equal(gt.math.in_top_k([2, 1, 0], [[np.nan, 2.0, 3.0], [-np.inf, 2.0, 3.0],
                                                                [3.0, 2.0, 1.0]], 2).numpy(), [False, False, True])


def test_tensor_array_unstack_takes_the_new_length():
    ta = gt.TensorArray(gt.float32, size=4).unstack(gt.ones([3, 2]))
    assert ta.stack().shape == (3, 2)


def test_op_error_takes_tensorflows_arguments():
    e = gt.errors.OpError(None, None, "m", gt.errors.ABORTED)
    assert e.error_code == 10 and e.message == "m"
    e = gt.errors.NotFoundError(node_def=None, op=None, message="m")
    assert e.message == "m" and str(e) == "m" and e.error_code == gt.errors.NOT_FOUND
    assert gt.errors.InvalidArgumentError(None, None, "bad").message == "bad"


def test_unseeded_initializer_repeats_itself():
    init = gt.initializers.GlorotUniform()
    np.testing.assert_array_equal(init(shape=[3, 2]).numpy(), init(shape=[3, 2]).numpy())


def test_unique_keeps_every_nan_and_searchsorted_compares_as_tensorflow():
    y, idx = gt.unique(gt.constant([1.0, -0.0, 0.0, np.nan, np.nan, 1.0, -1.0]))
    assert y.shape == (5,)
    np.testing.assert_array_equal(idx.numpy(), [0, 1, 1, 2, 3, 0, 4])
    assert int(gt.searchsorted([1.0, 2.0, np.nan], [np.nan])[0]) == 0
    assert gt.searchsorted(gt.zeros([2, 0]), gt.ones([2, 3])).numpy().tolist() == [[0, 0, 0], [0, 0, 0]]
    assert gt.searchsorted(gt.ones([2, 3]), gt.zeros([2, 0])).shape == (2, 0)
    rng = np.random.default_rng(1)
    seq = np.sort(rng.integers(0, 5, size=(3, 7)).astype(np.float64), axis=1)
    q = rng.integers(-1, 6, size=(3, 4)).astype(np.float64)
    for side in ("left", "right"):
        want = np.stack([np.searchsorted(a, b, side=side) for a, b in zip(seq, q)])
        np.testing.assert_array_equal(gt.searchsorted(seq, q, side=side).numpy(), want)


def test_edge_shapes_tensorflow_accepts():
    assert gt.math.bincount(gt.zeros([2, 0], dtype=gt.int32), axis=-1).shape == (2, 0)
    np.testing.assert_array_equal(gt.repeat(gt.constant(5), 3, axis=0).numpy(), [5, 5, 5])


@pytest.mark.parametrize("call,error", [
    (lambda: gt.reverse_sequence(gt.constant(5), [1], seq_axis=0), gt.errors.InvalidArgumentError),
    (lambda: gt.linalg.pinv(gt.ones([3])), ValueError),
    (lambda: gt.math.bincount([1, 2], weights=[1.0]), gt.errors.InvalidArgumentError),
    (lambda: gt.histogram_fixed_width(gt.constant([np.nan, 0.5]), [0.0, 1.0]), gt.errors.InvalidArgumentError),
    (lambda: gt.histogram_fixed_width(gt.constant([0.5]), [0.0]), gt.errors.InvalidArgumentError),
    (lambda: gt.sequence_mask([1, 2], maxlen=gt.constant([3])), ValueError),
    (lambda: gt.dynamic_stitch([[2 ** 31 - 1]], [[1.0]]), gt.errors.InvalidArgumentError),
    # a count must be a scalar (TensorFlow: "num_segments should be a scalar, not shape [1]"); the
    # C++ ops' integer arguments still take a one-element tensor, as several of TensorFlow's do
    # (expand_dims, range, concat's axis)
    (lambda: gt.math.unsorted_segment_max([[1.0], [2.0]], [0, 1], gt.constant([2])), gt.errors.InvalidArgumentError),
    # TensorFlow's kernels: in_top_k's predictions are float32 only; dynamic_partition's
    # partitions and dynamic_stitch's indices int32 only
    (lambda: gt.math.in_top_k([1], gt.constant([[0.1, 0.9]], dtype=gt.float64), 1), gt.errors.InvalidArgumentError),
    (lambda: gt.dynamic_partition([1.0, 2.0], gt.constant([0, 1], dtype=gt.int64), 2), gt.errors.InvalidArgumentError),
    (lambda: gt.dynamic_stitch([gt.constant([0, 1], dtype=gt.int64)], [[1.0, 2.0]]), gt.errors.InvalidArgumentError),
    # __index__ takes a scalar only, as NumPy's
    (lambda: [1, 2, 3][gt.constant([1])], TypeError),
])
def test_bad_inputs_get_tensorflows_error_class(call, error):
    with pytest.raises(error):
        call()


def test_counts_and_indices_given_as_scalar_tensors_still_work():
    # the other side of the scalar rule: scalar int32/int64 tensors and NumPy integers are counts
    x = gt.constant([[1.0], [2.0], [3.0]])
    for num in (gt.constant(2), gt.constant(2, dtype=gt.int64), np.int64(2), 2):
        np.testing.assert_array_equal(gt.math.unsorted_segment_sum(x, [0, 1, 0], num).numpy(), [[4.0], [2.0]])
    assert [10, 20, 30][gt.constant(2)] == 30
    assert gt.math.in_top_k(gt.constant([1], dtype=gt.int64), [[0.1, 0.9]], 1).numpy().tolist() == [True]
    for ids in (np.array([1, 0, 1], np.int32), np.array([1, 0, 1], np.int64), [1, 0, 1]):
        parts = gt.dynamic_partition([1.0, 2.0, 3.0], ids, 2)  # (arrays are converted to int32, as in TF)
        assert [p.numpy().tolist() for p in parts] == [[2.0], [1.0, 3.0]]
    np.testing.assert_array_equal(gt.dynamic_stitch([np.array([1, 0])], [[1.0, 2.0]]).numpy(), [2.0, 1.0])
    assert gt.math.in_top_k([0], np.array([[1.0, 2.0]]), 1).numpy().tolist() == [False]
    # one-element tensors where TensorFlow takes them
    assert gt.expand_dims(gt.constant([1.0, 2.0, 3.0]), gt.constant([0])).shape == (1, 3)
    np.testing.assert_array_equal(gt.range(gt.constant([3])).numpy(), [0, 1, 2])
    assert gt.concat([gt.ones([2, 1]), gt.ones([2, 1])], axis=gt.constant([1])).shape == (2, 2)


def test_range_reads_numpy_integers_as_their_dtype():
    # np.array(3) and np.int64(3) are int64 tensors to TensorFlow, so its range is int64 (it was
    # float32 here: a NumPy value was read as a Python number)
    for limit in (np.array(3), np.int64(3)):
        r = gt.range(limit)
        assert r.dtype == gt.int64 and r.numpy().tolist() == [0, 1, 2]
    assert gt.range(np.int32(3)).dtype == gt.int32
    assert gt.range(np.float64(2.0)).dtype == gt.float64
    assert gt.range(3).dtype == gt.int32
