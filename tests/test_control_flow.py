"""Eager control flow and utilities: values (TensorFlow 2.21's, stored as literals), argument
rules, and gradients through each construct checked against central differences."""
import io
import sys

import numpy as np
import pytest

import gradtape as gt
from gradtape.test import check_gradients

X = [1.0, 2.0, 3.0]


def test_cond():
    assert gt.cond(gt.constant(True), lambda: 1.0, lambda: 2.0) == 1.0
    assert gt.cond(False, true_fn=lambda: (1.0, 2), false_fn=lambda: (3.0, 4)) == (3.0, 4)
    with pytest.raises(TypeError, match="'false_fn' argument required"):
        gt.cond(True, lambda: 1.0)
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.cond(gt.constant([True, False]), lambda: 1, lambda: 2)


def test_case_and_switch_case():
    f, t = gt.constant(False), gt.constant(True)
    assert gt.case([(f, lambda: 1), (t, lambda: 2)], default=lambda: 3) == 2
    assert gt.case([(f, lambda: 1)], default=lambda: 3) == 3
    assert gt.case([(t, lambda: 1), (t, lambda: 2)]) == 1
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.case([(f, lambda: 1)])
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.case([(t, lambda: 1), (t, lambda: 2)], exclusive=True)
    assert gt.switch_case(gt.constant(1), [lambda: 10, lambda: 20]) == 20
    assert gt.switch_case(gt.constant(5), [lambda: 10, lambda: 20]) == 20  # out of range: last
    assert gt.switch_case(gt.constant(-1), {0: lambda: 10, 1: lambda: 20}, default=lambda: 7) == 7
    assert gt.switch_case(0, [lambda: 10]) == 10
    with pytest.raises(TypeError):
        gt.switch_case(gt.constant(0.0), [lambda: 10])


def test_while_loop_values():
    r = gt.while_loop(lambda i: i < 10, lambda i: [i + 1], [gt.constant(0)])
    assert isinstance(r, list) and int(r[0]) == 10
    r = gt.while_loop(lambda i: i < 10, lambda i: (i + 1,), (gt.constant(0),))
    assert isinstance(r, tuple) and int(r[0]) == 10
    i, s = gt.while_loop(lambda i, s: i < 10, lambda i, s: [i + 1, s * 2], [0, gt.constant(1.0)],
                         maximum_iterations=3)
    assert (int(i), float(s)) == (3, 8.0)
    d = gt.while_loop(lambda d: d["i"] < 10, lambda d: {"i": d["i"] + 3}, [{"i": gt.constant(0)}],
                      shape_invariants=None)
    assert int(d[0]["i"]) == 12
    assert int(gt.while_loop(lambda i: i < 5, lambda i: i + 1, gt.constant(1))) == 5
    with pytest.raises(ValueError, match="must be provided"):
        gt.while_loop(lambda: True, lambda: (), [])
    with pytest.raises(TypeError):
        gt.while_loop(1, lambda i: i, [1])


def test_map_scan_fold_values():
    x = gt.constant(X)
    np.testing.assert_array_equal(gt.map_fn(lambda t: t * 2, x).numpy(), [2, 4, 6])
    r = gt.map_fn(lambda t: gt.cast(t, gt.int32), x, fn_output_signature=gt.int32)
    assert r.dtype == gt.int32 and r.numpy().tolist() == [1, 2, 3]
    r = gt.map_fn(lambda t: t[0] + t[1], (x, x), fn_output_signature=gt.TensorSpec([], gt.float32))
    assert r.numpy().tolist() == [2.0, 4.0, 6.0]
    a, b = gt.map_fn(lambda t: (t[0], t[1] * 2), (x, x))
    assert a.numpy().tolist() == X and b.numpy().tolist() == [2, 4, 6]
    with pytest.raises(TypeError):
        gt.map_fn(lambda t: t, x, fn_output_signature=gt.int32)
    assert gt.map_fn(lambda t: t, gt.zeros([0]), fn_output_signature=gt.float32).shape == (0,)
    assert gt.scan(lambda a, t: a + t, x).numpy().tolist() == [1, 3, 6]
    assert gt.scan(lambda a, t: a + t, x, initializer=10.0).numpy().tolist() == [11, 13, 16]
    assert gt.scan(lambda a, t: a + t, x, reverse=True).numpy().tolist() == [6, 5, 3]
    assert float(gt.foldl(lambda a, t: a - t, x)) == -4.0
    assert float(gt.foldr(lambda a, t: a - t, x)) == 0.0
    assert float(gt.foldl(lambda a, t: a - t, x, initializer=10.0)) == 4.0
    np.testing.assert_array_equal(gt.vectorized_map(lambda t: t * t, x).numpy(), [1, 4, 9])
    with pytest.raises(ValueError):
        gt.map_fn(lambda t: t, (gt.zeros([2]), gt.zeros([3])))
    out = gt.identity_n([x, 1.0])
    assert len(out) == 2 and float(out[1]) == 1.0


def test_gradients_through_control_flow():
    a = np.array([0.5, -1.2, 2.0])

    def f_cond(x):
        return gt.cond(gt.reduce_sum(x) > 0, lambda: gt.sin(x) * x, lambda: x * 3.0)

    def f_while(x):
        _, y = gt.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, gt.tanh(y) * x), (0, x))
        return y

    def f_map(x):
        return gt.map_fn(lambda t: t * t * gt.exp(t), x)

    def f_scan(x):
        return gt.scan(lambda acc, t: acc * t + gt.sin(acc), x, initializer=gt.constant(0.3, gt.float64))

    def f_fold(x):
        return gt.foldr(lambda acc, t: acc * t + 1.0, x) + gt.foldl(lambda acc, t: acc * t, x)

    def f_case(x):
        return gt.switch_case(gt.constant(1), [lambda: x, lambda: gt.square(x)]) + \
            gt.case([(gt.constant(True), lambda: gt.exp(x))])

    def f_vmap(x):
        return gt.vectorized_map(lambda t: gt.sigmoid(t) * t, x)

    for f in (f_cond, f_while, f_map, f_scan, f_fold, f_case, f_vmap):
        check_gradients(f, [a])
    check_gradients(f_map, [a], order=2)


def test_eager_utilities():
    assert gt.executing_eagerly() is True
    v = gt.get_static_value(gt.constant(X))
    assert isinstance(v, np.ndarray) and v.tolist() == X
    assert gt.get_static_value(3) == 3 and gt.get_static_value(gt.Variable(1.0)) == 1.0
    assert gt.get_static_value(object()) is None
    with gt.init_scope():
        pass


def test_tensor_spec():
    s = gt.TensorSpec([None, 3], gt.float32, name="a")
    assert repr(s) == "TensorSpec(shape=(None, 3), dtype=gt.float32, name='a')"
    assert s.shape.as_list() == [None, 3] and s.dtype == gt.float32 and s.name == "a"
    assert s.is_compatible_with(gt.zeros([2, 3]))
    assert not s.is_compatible_with(gt.zeros([2, 4]))
    assert not s.is_compatible_with(gt.zeros([2, 3], gt.float64))
    assert s.is_compatible_with(gt.TensorSpec([5, 3]))
    assert gt.TensorSpec.from_tensor(gt.zeros([2, 3]), name="q") == gt.TensorSpec([2, 3], gt.float32, "q")
    assert gt.TensorSpec([2]) == gt.TensorSpec([2]) and gt.TensorSpec([2]) != gt.TensorSpec([3])
    assert str(gt.TensorSpec(None).shape) == "<unknown>" and gt.TensorSpec([]).shape == ()
    assert gt.TensorSpec(None).is_compatible_with(gt.zeros([4, 5]))
    assert len({gt.TensorSpec([2]), gt.TensorSpec([2])}) == 1


def test_devices():
    x = gt.constant(X)
    for name in ["/CPU:0", "/device:CPU:0", "/job:localhost/replica:0/task:0/device:CPU:0", "cpu:0",
                 "/GPU:0", "/device:GPU:1", "/TPU:0", None, ""]:
        with gt.device(name):
            assert (x + 1).numpy().tolist() == [2, 3, 4]
    with pytest.raises(ValueError, match="Unknown attribute 'nonsense'"):
        with gt.device("nonsense"):
            pass
    (d,) = gt.config.list_physical_devices()
    assert (d.name, d.device_type) == ("/physical_device:CPU:0", "CPU")
    assert repr(d) == "PhysicalDevice(name='/physical_device:CPU:0', device_type='CPU')"
    (d,) = gt.config.list_logical_devices("CPU")
    assert (d.name, d.device_type) == ("/device:CPU:0", "CPU")
    assert gt.config.list_physical_devices("GPU") == [] and gt.config.list_logical_devices("GPU") == []


def test_print_formats_as_tensorflow(tmp_path):
    def out(*args, **kw):
        buf = io.StringIO()
        gt.print(*args, output_stream=buf, **kw)
        return buf.getvalue()
    # TensorFlow 2.21's output for the same calls
    assert out(gt.constant([[1.5, 2.0], [3.0, 4.0]])) == "[[1.5 2]\n [3 4]]\n"
    assert out(gt.range(10)) == "[0 1 2 ... 7 8 9]\n"
    assert out(gt.range(10), summarize=-1) == "[0 1 2 3 4 5 6 7 8 9]\n"
    assert out(gt.range(10), summarize=2 ** 62) == "[0 1 2 3 4 5 6 7 8 9]\n"
    assert out(gt.range(10), summarize=None) == "[0 1 2 ... 7 8 9]\n"  # (None: TensorFlow's default, 3)
    assert out(gt.range(11), summarize=5) == "[0 1 2 3 4 ... 6 7 8 9 10]\n"
    assert out(gt.range(10), summarize=0) == "[ ...]\n" and out(gt.constant(5), summarize=0) == "...\n"
    assert out(gt.zeros([2, 2]), summarize=0) == "[\n ...]\n" and out(gt.zeros([2, 2, 2]), summarize=0) == "[\n\n ...]\n"
    # the half types print as float32 (TensorFlow's digits)
    assert out(gt.constant(0.1, gt.float16), gt.constant(0.1, gt.bfloat16)) == "0.0999755859 0.100097656\n"

    class O:
        def __str__(self):
            return "STR"

        def __repr__(self):
            return "REPR"
    # other objects: a top-level string as it is, everything else by repr(), as TensorFlow
    assert out(np.array([0, 1, 2]), "s", 3, 1.5, None, O()) == "array([0, 1, 2]) s 3 1.5 None REPR\n"
    assert out([1, "s", gt.constant(2)], ("a",), {"k": "s"}) == "[1, 's', 2] ('a',) {'k': 's'}\n"
    assert out(np.float32(0.1), [np.array([1, 2])]) == "np.float32(0.1) [array([1, 2])]\n"
    # (an empty tensor prints as NumPy nests it; TensorFlow prints "[\n ...]" for shape [2, 0])
    assert out(gt.zeros([2, 0]), gt.zeros([0, 3]), gt.constant(-0.0), gt.constant(2.5, gt.float16)) == \
        "[[]\n []] [] -0 2.5\n"
    assert out("loss:", gt.constant(0.25), 3, [1, gt.constant(2)], {"a": gt.constant(1.0)}, sep="|",
               end="$\n") == "loss:|0.25|3|[1, 2]|{'a': 1}$\n"
    assert out(gt.reshape(gt.range(24), [2, 3, 4]), summarize=1) == (
        "[[[0 ... 3]\n  ...\n  [8 ... 11]]\n\n [[12 ... 15]\n  ...\n  [20 ... 23]]]\n")
    assert out(gt.constant([True, False]), gt.constant(1e-10), gt.constant(123456789.0),
               gt.constant(float("nan"))) == "[1 0] 1e-10 123456792 nan\n"
    assert out(gt.constant(1.0, gt.float64) / 3) == "0.33333333333333331\n"
    f = tmp_path / "log.txt"
    gt.print("a", gt.constant(1), output_stream="file://" + str(f))
    assert f.read_text() == "a 1\n"
    old = sys.stderr
    sys.stderr = io.StringIO()
    try:
        gt.print("to stderr")
        assert sys.stderr.getvalue() == "to stderr\n"
    finally:
        sys.stderr = old


def test_debugging_asserts():
    x = gt.constant([1.0, 2.0])
    assert gt.debugging.assert_equal(x, [1.0, 2.0]) is None
    with pytest.raises(gt.errors.InvalidArgumentError, match="my message"):
        gt.debugging.assert_equal(x, [1.0, 3.0], message="my message")
    gt.debugging.assert_less(x, 3.0)
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.debugging.assert_less(x, 2.0)
    gt.debugging.assert_greater(x, 0.0)
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.debugging.assert_greater(x, 1.0)
    gt.debugging.assert_near(x, x + 1e-7)
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.debugging.assert_near(x, x + 1e-3)
    gt.debugging.assert_near(x, x + 1e-3, atol=1e-2)
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.debugging.assert_equal(gt.zeros([2]), gt.zeros([3]))
    assert gt.debugging.check_numerics(x, "fine") is x
    with pytest.raises(gt.errors.InvalidArgumentError, match="bad : Tensor had NaN values"):
        gt.debugging.check_numerics(gt.constant([1.0, float("nan")]), "bad")
    with pytest.raises(gt.errors.InvalidArgumentError, match="Inf"):
        gt.debugging.check_numerics(gt.constant([float("inf")]), "bad")


def test_enable_check_numerics():
    gt.debugging.enable_check_numerics()
    try:
        assert float(gt.log(gt.constant(1.0))) == 0.0
        with pytest.raises(gt.errors.InvalidArgumentError, match="'log'"):
            gt.log(gt.constant(-1.0))
        with pytest.raises(gt.errors.InvalidArgumentError, match="__truediv__"):
            gt.constant(1.0) / 0.0
        with pytest.raises(gt.errors.InvalidArgumentError, match="'sqrt'"):
            gt.math.sqrt(gt.constant(-1.0))
        w = gt.Variable(0.0)
        with pytest.raises(gt.errors.InvalidArgumentError, match="gradient"):
            with gt.GradientTape() as tape:
                y = gt.sqrt(w)
            tape.gradient(y, w)
    finally:
        gt.debugging.disable_check_numerics()
    assert np.isnan(float(gt.log(gt.constant(-1.0))))
