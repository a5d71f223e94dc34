"""Hostile and careless input, by class (the hostile-input issue): sizes that overflow, dtype
enum values, objects made without their constructor, integers that must stay exact, indexing
at the extremes, numerics at the extremes, and argument checking. Each class is tested as a
whole (hypothesis where it fits); the issue's own reproducers are among the cases.

Anything here that crashed the interpreter is run in a subprocess, so a regression fails this
test instead of ending the run."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gradtape as gt

SIZE_ERRORS = (gt.errors.ResourceExhaustedError, gt.errors.InvalidArgumentError)


def run_isolated(code):
    """Runs `code` in a fresh interpreter; returns (returncode, output)."""
    p = subprocess.run([sys.executable, "-c", "import gradtape as gt\n" + textwrap.dedent(code)],
                       capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout + p.stderr


# ---- sizes: one checked byte count for every tensor ----

HUGE_SHAPES = [[2**31, 2**31], [2**32, 2**32], [2**62], [2**63 - 1], [2**62, 4], [2**61, 2**2, 2],
               [3, 2**62], [2**31, 2**32, 2], [0, 2**63 - 1], [0, 2**40, 2**10], [2**46]]


def creators(shape):
    """Every way to make a tensor of a given shape: creation and shape-changing ops."""
    one = gt.ones([1])
    return {
        "zeros": lambda: gt.zeros(shape),
        "ones": lambda: gt.ones(shape, dtype=gt.float64),
        "fill": lambda: gt.fill(shape, 2.0),
        "fill_int64": lambda: gt.fill(shape, gt.constant(2**40)),
        "constant_shape": lambda: gt.constant(1.0, shape=shape),
        "broadcast_to": lambda: gt.broadcast_to(one, shape),
        "broadcast_to_then_index": lambda: gt.broadcast_to(gt.ones([1], dtype=gt.float64), shape)[0],
        "broadcast_to_numpy": lambda: gt.broadcast_to(one, shape).numpy(),
        "reshape": lambda: gt.reshape(one, shape),
        "zeros_like_of_broadcast": lambda: gt.zeros_like(gt.broadcast_to(one, shape)),
        "deferred_op": lambda: gt.exp(gt.broadcast_to(one, shape)) + 1.0,
        "one_hot": lambda: gt.one_hot(gt.constant([1]), shape[-1]) if len(shape) == 1 else gt.zeros(shape),
        "expand_dims": lambda: gt.expand_dims(gt.broadcast_to(one, shape), 0),
        "range": lambda: gt.range(min(int(np.prod([float(d) for d in shape])), 2**63 - 1)),
    }


@pytest.mark.parametrize("shape", HUGE_SHAPES, ids=str)
def test_huge_sizes_raise_before_allocating(shape):
    total = nonzero = 1
    for d in shape:
        total *= d
        nonzero *= d or 1
    for name, make in creators(shape).items():
        if total == 0 and name in ("range", "one_hot", "broadcast_to_then_index", "reshape"):
            continue
        if total == 0 and nonzero * 8 < 2**63:
            make()  # an empty tensor is fine, while the other dims' product fits int64 in bytes
            continue
        with pytest.raises(SIZE_ERRORS) as info:
            make()
        assert "shape" in str(info.value) or "elements" in str(info.value) or "OOM" in str(info.value), (name, info.value)


def test_issue_reproducers_for_sizes_do_not_crash():
    rc, out = run_isolated("""
        import gradtape as gt
        for f in [lambda: gt.broadcast_to(gt.ones([1]), [2**31, 2**31]).numpy(),
                  lambda: gt.constant(1.0, shape=[2**62]).numpy(),
                  lambda: gt.broadcast_to(gt.ones([1], dtype=gt.float64), [2**61])[5]]:
            try:
                f()
                print("NO ERROR")
            except gt.errors.ResourceExhaustedError as e:
                assert isinstance(e, MemoryError)
                print("ok")
    """)
    assert rc == 0 and out.split() == ["ok"] * 3, out


def test_resource_exhausted_is_a_memory_error():
    with pytest.raises(MemoryError, match="OOM"):
        gt.zeros([2**40, 2**20])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0, 1, 2, 2**20, 2**31 - 1, 2**31, 2**32, 2**40, 2**62, 2**63 - 1]),
                min_size=1, max_size=4))
def test_any_shape_either_allocates_or_raises_cleanly(dims):
    total = nonzero = 1
    for d in dims:
        total *= d
        nonzero *= d or 1
    if total * 4 <= 2**24 and nonzero * 4 < 2**63:
        assert gt.zeros(dims).shape == tuple(dims)
    elif total * 4 > 2**46:  # (between the two it would really allocate: not here)
        with pytest.raises(SIZE_ERRORS):
            gt.broadcast_to(gt.ones([1]), dims).numpy()


def test_negative_dimension_is_invalid_argument():
    with pytest.raises(gt.errors.InvalidArgumentError, match="negative dimension"):
        gt.zeros([3, -1])


# ---- dtypes: TensorFlow's enum values, and nothing else ----

TF_ENUM = {1: gt.float32, 2: gt.float64, 3: gt.int32, 4: gt.uint8, 5: gt.int16, 6: gt.int8, 9: gt.int64, 10: gt.bool,
           14: gt.bfloat16, 17: gt.uint16, 19: gt.float16, 22: gt.uint32, 23: gt.uint64}


@given(st.integers(min_value=-2**70, max_value=2**70))
@settings(max_examples=200, deadline=None)
def test_dtype_from_any_integer(v):
    if v in TF_ENUM:
        assert gt.DType(v) == TF_ENUM[v]
        assert gt.as_dtype(v) == TF_ENUM[v]
        assert gt.DType(v).as_datatype_enum == v
    else:
        with pytest.raises(TypeError):
            gt.DType(v)
        with pytest.raises(TypeError):
            gt.as_dtype(v)


def test_dtype_enum_values_are_tensorflows():
    assert gt.DType(9) == gt.int64 and gt.as_dtype(1) == gt.float32
    rc, out = run_isolated("""
        for bad in [99, 7, 8, 18, 0, -1, 255, 256]:
            for use in [lambda: gt.zeros([2], dtype=gt.DType(bad)), lambda: gt.cast(gt.ones([2]), gt.DType(bad))]:
                try:
                    use()
                    print("NO ERROR", bad)
                except TypeError:
                    pass
        print("done")
    """)
    assert rc == 0 and out.strip() == "done", out


def test_cast_to_none_is_a_type_error():
    with pytest.raises(TypeError, match="dtype"):
        gt.cast(gt.constant([1, 2]), None)


# ---- objects made without their constructor, or retyped ----

def test_uninitialised_objects_raise_type_error_from_every_method():
    # Every public and dunder attribute of every bound class, called on an instance made with
    # __new__ alone: a TypeError (or another ordinary exception), never a crash.
    rc, out = run_isolated("""
        import gradtape as gt
        from gradtape import _core
        classes = [gt.Tensor, gt.Variable, gt.GradientTape, _core._Tape, gt.DType,
                   _core._PauseRecording, _core._VariableAccessLog]
        skip = {"__new__", "__init_subclass__", "__subclasshook__", "__class__", "__getattribute__",
                "__setattr__", "__delattr__", "__dir__", "__reduce__", "__reduce_ex__", "__sizeof__",
                "__format__", "__init__", "__dict__", "__doc__", "__module__", "__weakref__",
                "__getstate__", "__class_getitem__"}
        crashes_would_end_here = 0
        for cls in classes:
            for name in sorted(dir(cls)):
                if name in skip:
                    continue
                for args in [(), (1,), (gt.constant(1.0),), (slice(None),), (gt.constant(1.0), 2)]:
                    obj = cls.__new__(cls)
                    try:
                        attr = getattr(obj, name)
                        if callable(attr):
                            attr(*args)
                    except Exception as e:
                        if "never initialised" not in str(e) and not isinstance(e, (TypeError, AttributeError, ValueError, RuntimeError)):
                            print("odd", cls.__name__, name, type(e).__name__, e)
        # and as arguments to ops and tapes
        bad = gt.Variable.__new__(gt.Variable)
        badt = gt.Tensor.__new__(gt.Tensor)
        for f in [lambda: bad * 2, lambda: badt + 1, lambda: gt.add(bad, 1), lambda: gt.reduce_sum(badt),
                  lambda: gt.Variable(bad), lambda: gt.GradientTape().watch(bad), lambda: gt.convert_to_tensor(badt),
                  lambda: gt.GradientTape.__new__(gt.GradientTape).__enter__(), lambda: bad.assign(1.0)]:
            try:
                f()
                print("NO ERROR")
            except TypeError as e:
                pass
        print("survived")
    """)
    assert rc == 0 and out.strip().endswith("survived"), out
    assert "NO ERROR" not in out and "odd" not in out, out


def test_pickle_and_copy_are_by_value():
    import copy
    import pickle
    t = gt.constant([[1.5, -2.0]], dtype=gt.float64)
    v = gt.Variable([1, 2], name="w", trainable=False)
    for f in (lambda o: pickle.loads(pickle.dumps(o)), copy.copy, copy.deepcopy):
        t2, v2 = f(t), f(v)
        assert type(t2) is gt.Tensor and t2.dtype == gt.float64 and t2.numpy().tolist() == [[1.5, -2.0]]
        assert type(v2) is gt.Variable and v2.name == "w:0" and not v2.trainable and v2.numpy().tolist() == [1, 2]
        assert f(gt.int64) == gt.int64
    for obj in (gt.GradientTape(), gt.Tensor.__new__(gt.Tensor), gt.Variable.__new__(gt.Variable)):
        with pytest.raises(TypeError):
            pickle.dumps(obj)
    with pytest.raises(TypeError):
        copy.copy(gt.Tensor.__new__(gt.Tensor))


def test_retyping_between_tensor_and_variable_is_refused():
    t = gt.constant([1.0, 2.0])
    v = gt.Variable([1.0, 2.0])
    with pytest.raises(TypeError):
        t.__class__ = gt.Variable
    with pytest.raises(TypeError):
        v.__class__ = gt.Tensor
    assert type(t) is gt.Tensor and t.__class__ is gt.Tensor
    assert (t * 2).numpy().tolist() == [2.0, 4.0] and v.__class__ is gt.Variable


def test_subclasses_of_tensor_and_variable_work():
    class MyVariable(gt.Variable):
        pass

    v = MyVariable(3.0)
    with gt.GradientTape() as tape:
        y = v * v
    assert float(tape.gradient(y, v)) == 6.0
    with pytest.raises(TypeError):
        MyVariable.__new__(MyVariable) * 2


# ---- integers stay exact ----

@settings(max_examples=200, deadline=None)
@given(st.integers(-2**63, 2**63 - 1), st.integers(-2**63, 2**63 - 1),
       st.integers(-2**63, 2**63 - 1).filter(lambda d: d != 0))
def test_range_is_exact_for_every_int64(start, limit, delta):
    # (range's length can pass 2**63 - 1, which len() refuses: count it with arithmetic)
    n = max(0, -((start - limit) // delta))
    if n > 1000:
        limit = start + 1000 * delta
        if not -2**63 <= limit < 2**63:
            return
        n = len(range(start, limit, delta))
    if (delta > 0 and start > limit) or (delta < 0 and start < limit):
        with pytest.raises(gt.errors.InvalidArgumentError, match="Requires start"):  # as TensorFlow's kernel
            gt.range(start, limit, delta)
        return
    r = gt.range(start, limit, delta)
    fits32 = all(-2**31 <= v < 2**31 for v in (start, limit, delta))
    assert r.dtype == (gt.int32 if fits32 else gt.int64)
    assert r.numpy().tolist() == list(range(start, limit, delta))


def test_range_issue_cases():
    assert gt.range(2**40, 2**40 + 3).numpy().tolist() == [2**40, 2**40 + 1, 2**40 + 2]
    assert gt.range(0, 2**31 + 2, 2**30).numpy().tolist() == [0, 2**30, 2**31]
    with pytest.raises(TypeError):
        gt.range(0, 1, 0.3, dtype=gt.int32)
    with pytest.raises(gt.errors.InvalidArgumentError, match="int32"):
        gt.range(0, 2**40, 2**39, dtype=gt.int32)
    np.testing.assert_allclose(gt.range(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])


@settings(max_examples=200, deadline=None)
@given(st.integers(-2**63, 2**63 - 1))
def test_int64_values_round_trip_exactly(v):
    t = gt.constant(v, gt.int64)
    assert int(t) == v and t.numpy().item() == v
    assert gt.constant([v, 1]).numpy().tolist() == [v, 1]


@pytest.mark.parametrize("value", [[2**63, 1], [1, -2**63 - 1], [[2**64], [1]], 2**63, -2**63 - 1])
def test_python_ints_past_int64_are_refused(value):
    with pytest.raises(ValueError, match="int64") as info:
        gt.constant(value)
    assert type(info.value) is ValueError  # as TensorFlow's


def test_python_floats_past_int64_are_floats():
    assert gt.constant([2.0**63, 1]).dtype == gt.float32


@pytest.mark.parametrize("value", [5, 0, [0, 1], 1.0, np.array([1, 0])])
def test_numbers_do_not_silently_become_bools(value):
    with pytest.raises(TypeError):
        gt.constant(value, dtype=gt.bool)


# ---- indexing ----

@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.booleans(), st.just(Ellipsis),
                          st.integers(-3, 2),
                          st.builds(slice, st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)),
                                    st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)),
                                    st.one_of(st.none(), st.integers(-2**63, 2**63 - 1).filter(lambda s: s != 0)))),
                max_size=4))
def test_indexing_matches_numpy(key):
    # A Python bool acts as NumPy's scalar boolean index does when it is the only advanced
    # index: a new axis of length 1 (True) or 0 (False). (Several, or with integers, NumPy
    # broadcasts them together as advanced indices; TensorFlow has no such form.)
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    if sum(isinstance(k, bool) for k in key) > 1 or (any(isinstance(k, bool) for k in key) and
                                                    any(type(k) is int for k in key)):
        return
    key = tuple(key)
    try:
        expected = x[key]
    except IndexError:
        with pytest.raises((gt.errors.InvalidArgumentError, IndexError, TypeError)):
            gt.constant(x)[key]
        return
    got = gt.constant(x)[key]
    assert got.shape == expected.shape, (key, got.shape, expected.shape)
    np.testing.assert_array_equal(got.numpy(), expected)


def test_bool_index_adds_an_axis():
    x = gt.constant([1, 2, 3])
    assert x[True].shape == (1, 3) and x[False].shape == (0, 3)
    assert x[..., True, 1].numpy().tolist() == [2]
    assert x[::sys.maxsize].numpy().tolist() == [1] and x[::-sys.maxsize - 1].numpy().tolist() == [3]


def test_gradient_through_bool_and_huge_step_indexing():
    v = gt.Variable([1.0, 2.0, 3.0])
    with gt.GradientTape() as tape:
        y = gt.reduce_sum(v[True] * 2) + gt.reduce_sum(v[::sys.maxsize]) + gt.reduce_sum(v[False])
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [3.0, 2.0, 2.0])


# ---- numerics: rules that went through a rounded forward result ----

def grad_of(f, x, dtype):
    v = gt.Variable(gt.constant(x, dtype=dtype))
    with gt.GradientTape() as tape:
        y = f(v)
    return y, tape.gradient(y, v)


@pytest.mark.parametrize("dtype,big", [(gt.float32, 1e5), (gt.float32, 1e7), (gt.float32, 3e38),
                                       (gt.float64, 1e15), (gt.float64, 1e300)])
def test_logsumexp_gradient_is_softmax_at_large_inputs(dtype, big):
    for sign in (1, -1):
        _, g = grad_of(gt.reduce_logsumexp, [sign * big] * 4, dtype)
        np.testing.assert_array_equal(g.numpy(), [0.25] * 4)
    _, g = grad_of(lambda v: gt.reduce_logsumexp(v, axis=1), [[big, big], [0.0, -np.inf]], dtype)
    np.testing.assert_array_equal(g.numpy(), [[0.5, 0.5], [1.0, 0.0]])


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64])
def test_reduce_prod_gradient_needs_no_division(dtype):
    big = 1e30 if dtype == gt.float32 else 1e300
    cases = [([big, big, 1 / big], [1.0, 1.0, np.inf]),  # TF: [1, 1, inf]
             ([np.nan, 1, 2], [2.0, np.nan, np.nan]),  # the product of the others
             ([0.0, 2, 3], [6.0, 0.0, 0.0]),
             ([0.0, 0.0, 3], [0.0, 0.0, 0.0]),
             ([np.inf, 2, 0.5], [1.0, np.inf, np.inf]),
             ([np.inf, 0.0, 2], [0.0, np.inf, np.nan])]
    for x, expected in cases:
        _, g = grad_of(gt.reduce_prod, x, dtype)
        np.testing.assert_array_equal(g.numpy(), np.array(expected, dtype=g.numpy().dtype), err_msg=str(x))


@pytest.mark.parametrize("x", [[[0.0, 2.0, 3.0, 1.5], [1.0, 0.0, 0.0, 2.0]], [[0.0, 0.0, 0.0, 2.0], [1.2, -0.7, 2.0, 0.9]]])
def test_reduce_prod_second_order_at_zeros(x):
    gt.test.check_gradients(lambda a: gt.reduce_prod(a, axis=1), [np.array(x)], order=2)
    gt.test.check_gradients(lambda a: gt.reduce_prod(a, axis=0), [np.array(x)], order=2)
    gt.test.check_gradients(lambda a: gt.reduce_prod(a), [np.array(x)], order=2)


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64])
def test_cross_entropy_with_masked_classes_is_finite(dtype):
    logits = [[0.0, 2.0, -np.inf], [-np.inf, 1.0, 1.0]]
    labels = gt.constant([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], dtype=dtype)
    loss, g = grad_of(lambda v: gt.nn.softmax_cross_entropy_with_logits(labels=labels, logits=v), logits, dtype)
    np.testing.assert_allclose(loss.numpy(), [np.log1p(np.exp(2.0)), np.log(2.0)], rtol=1e-6)
    s = 1 / (1 + np.exp(-2.0))
    np.testing.assert_allclose(g.numpy(), [[-s, s, 0.0], [0.0, 0.0, 0.0]], atol=1e-7)
    loss, g = grad_of(lambda v: gt.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 1], logits=v), logits, dtype)
    np.testing.assert_allclose(loss.numpy(), [np.log1p(np.exp(2.0)), np.log(2.0)], rtol=1e-6)
    assert np.isfinite(g.numpy()).all()


# ---- arguments ----

def test_persistent_takes_any_truthy_value():
    v = gt.Variable(2.0)
    with gt.GradientTape(persistent="yes") as tape:
        y = v * v
    assert float(tape.gradient(y, v)) == 4.0 and float(tape.gradient(y, v)) == 4.0
    assert not gt.GradientTape(persistent=0).persistent


def test_custom_gradient_of_the_wrong_shape_is_an_error():
    @gt.custom_gradient
    def f(x):
        def grad(g):
            return gt.ones([5])
        return x * 2, grad

    v = gt.Variable([1.0, 2.0, 3.0])
    with gt.GradientTape() as tape:
        y = gt.reduce_sum(f(v))
    with pytest.raises(gt.errors.InvalidArgumentError, match=r"shape \(5,\).*\(3,\)"):
        tape.gradient(y, v)


@pytest.mark.parametrize("call", [
    lambda: gt.reduce_sum(gt.ones([2]), axis="a"),
    lambda: gt.expand_dims(gt.ones([2]), "a"),
    lambda: gt.concat([gt.ones([2])], axis=None),
    lambda: gt.one_hot([1], depth="3"),
    lambda: gt.gather(gt.ones([2]), [0], axis="x"),
    lambda: gt.nn.softmax(gt.ones([2]), axis=1.5),
    lambda: gt.stack([gt.ones([2])], axis="0"),
], ids=["reduce_sum", "expand_dims", "concat", "one_hot", "gather", "softmax", "stack"])
def test_wrong_argument_types_name_the_argument(call):
    with pytest.raises(TypeError) as info:
        call()
    msg = str(info.value)
    assert "C++ type" not in msg and "?" not in msg, msg
