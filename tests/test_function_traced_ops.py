"""Ops that gt.function used to refuse while tracing and now traces as TensorFlow 2.21's
tf.function runs them (docs/guides/function.md): gt.numpy_function and gt.py_function (host-call
steps calling the Python function at every call), stateless random ops with a seed computed
inside the function, gt.while_loop with a maximum_iterations computed inside the function, and
gt.unique. The expected values are TensorFlow 2.21's, found by running the same code under
tf.function; they are written here as literals (TensorFlow is not a dependency)."""
import numpy as np
import pytest

import gradtape as gt
from gradtape import _core


@pytest.fixture(params=[True, False], ids=["plans", "no-plans"])
def plans(request):
    was = _core._gradient_plans_enabled()
    _core._set_gradient_plans(request.param)
    yield request.param
    _core._set_gradient_plans(was)


# ---- gt.numpy_function and gt.py_function: a host call at every call ------------------------------

def test_numpy_function_runs_at_every_call_with_the_calls_values():
    # TF 2.21: [3. 5. 7.], then [9. 11. 13.] (the same trace), then a new shape traces again
    seen = []

    def sort_twice(a):
        seen.append(a.tolist())
        return np.sort(a) * 2

    @gt.function
    def f(x):
        return gt.numpy_function(sort_twice, [x], gt.float32) + 1

    np.testing.assert_array_equal(f(gt.constant([3.0, 1.0, 2.0])).numpy(), [3.0, 5.0, 7.0])
    np.testing.assert_array_equal(f(gt.constant([5.0, 4.0, 6.0])).numpy(), [9.0, 11.0, 13.0])
    np.testing.assert_array_equal(f(gt.constant([4.0, 4.0, -6.0])).numpy(), [-11.0, 9.0, 9.0])
    assert f.experimental_get_tracing_count() == 1
    assert seen == [[3.0, 1.0, 2.0], [5.0, 4.0, 6.0], [4.0, 4.0, -6.0]]
    np.testing.assert_array_equal(f(gt.constant([1.0, 0.0])).numpy(), [1.0, 3.0])
    assert f.experimental_get_tracing_count() == 2


def test_py_function_gets_tensors_and_gives_tout_dtypes():
    # TF 2.21: [4.0, 2] then [9.0, 3]; the function saw 2.0 then 3.0
    calls = []

    @gt.function
    def g(x):
        def fn(a):
            calls.append(float(a.numpy()))
            return a * a, gt.cast(a, gt.int32)
        y, z = gt.py_function(fn, [x], [gt.float32, gt.int32])
        return y, z

    for v, want in ((2.0, (4.0, 2)), (3.0, (9.0, 3)), (-1.5, (2.25, -1))):
        y, z = g(gt.constant(v))
        assert (y.dtype, z.dtype) == (gt.float32, gt.int32)
        assert (float(y), int(z)) == want
    assert calls == [2.0, 3.0, -1.5]
    assert g.experimental_get_tracing_count() == 1


def test_numpy_function_with_python_inputs_no_inputs_and_variables():
    # TF 2.21: numpy_function(lambda a, b: a * b, [x, 3.0], float32) at x = 2.0 gives 6.0; a function
    # with no inputs runs at every call
    counter = []
    v = gt.Variable([1.0, 2.0])

    def tick():
        counter.append(1)
        return np.float32(len(counter))

    @gt.function
    def f(x):
        a = gt.numpy_function(lambda p, q: p * q, [x, 3.0], gt.float32)
        b = gt.numpy_function(tick, [], gt.float32)
        c = gt.numpy_function(lambda w: w.sum(), [v], gt.float32)
        return a, b, c

    assert [float(t) for t in f(gt.constant(2.0))] == [6.0, 1.0, 3.0]
    v.assign([5.0, 5.0])
    assert [float(t) for t in f(gt.constant(4.0))] == [12.0, 2.0, 10.0]
    assert [float(t) for t in f(gt.constant(4.0))] == [12.0, 3.0, 10.0]
    assert f.experimental_get_tracing_count() == 1


def test_numpy_function_output_dtype_is_checked_as_tensorflow():
    # TF 2.21: a float64 result for Tout float32 raises InvalidArgumentError ("0-th value returned by
    # pyfunc is double, but expects float"); a Python int for int64 is 3, for int32 an error; a list
    # returned for one Tout is two values (InvalidArgumentError), as is one value for two Touts
    @gt.function
    def as_f64(x):
        return gt.numpy_function(lambda a: a.astype(np.float64), [x], gt.float32)

    with pytest.raises(gt.errors.InvalidArgumentError, match="float64"):
        as_f64(gt.constant(1.0))

    @gt.function
    def three(x, dtype):
        return gt.numpy_function(lambda a: 3, [x], dtype)

    r = three(gt.constant(1.0), gt.int64)
    assert (r.dtype, int(r)) == (gt.int64, 3)
    with pytest.raises(gt.errors.InvalidArgumentError):
        three(gt.constant(1.0), gt.int32)

    @gt.function
    def two_for_one(x):
        return gt.numpy_function(lambda a: (a, a), [x], gt.float32)

    with pytest.raises(gt.errors.InvalidArgumentError):
        two_for_one(gt.constant(1.0))

    @gt.function
    def one_for_two(x):
        return gt.numpy_function(lambda a: a, [x], [gt.float32, gt.float32])

    with pytest.raises(gt.errors.InvalidArgumentError):
        one_for_two(gt.constant(1.0))

    @gt.function
    def listed(x):
        return gt.numpy_function(lambda a: a, [x], [gt.float32])

    out = listed(gt.constant(1.5))
    assert isinstance(out, list) and len(out) == 1 and float(out[0]) == 1.5


def test_py_function_output_conversion_as_tensorflow():
    # TF 2.21: py_function converts Python and NumPy results to Tout ([1.5, 2.5], 2.5, 3.0 as float32);
    # a tensor of another dtype, or 2.5 for int32, raises InvalidArgumentError
    @gt.function
    def g(x):
        return (gt.py_function(lambda a: np.array([1.5, 2.5]), [x], gt.float32),
                gt.py_function(lambda a: 2.5, [x], gt.float32),
                gt.py_function(lambda a: 3, [x], gt.float32))

    a, b, c = g(gt.constant(1.0))
    assert (a.dtype, b.dtype, c.dtype) == (gt.float32,) * 3
    assert (a.numpy().tolist(), float(b), float(c)) == ([1.5, 2.5], 2.5, 3.0)

    @gt.function
    def wrong_tensor(x):
        return gt.py_function(lambda a: gt.cast(a, gt.float64), [x], gt.float32)

    with pytest.raises(gt.errors.InvalidArgumentError, match="float64"):
        wrong_tensor(gt.constant(1.0))

    @gt.function
    def wrong_number(x):
        return gt.py_function(lambda a: 2.5, [x], gt.int32)

    with pytest.raises(gt.errors.InvalidArgumentError):
        wrong_number(gt.constant(1.0))


@pytest.mark.parametrize("kind", ["numpy", "py"])
def test_an_exception_in_the_function_is_tensorflows_error(kind):
    # TF 2.21 (PyFunc / EagerPyFunc): ValueError and TypeError -> InvalidArgumentError, StopIteration ->
    # OutOfRangeError, NotImplementedError -> UnimplementedError, MemoryError -> ResourceExhaustedError,
    # RuntimeError, KeyError, IndexError, ZeroDivisionError -> UnknownError; at the call whose values fail
    cases = [(ValueError, gt.errors.InvalidArgumentError), (TypeError, gt.errors.InvalidArgumentError),
             (StopIteration, gt.errors.OutOfRangeError), (NotImplementedError, gt.errors.UnimplementedError),
             (MemoryError, gt.errors.ResourceExhaustedError), (RuntimeError, gt.errors.UnknownError),
             (KeyError, gt.errors.UnknownError), (ZeroDivisionError, gt.errors.UnknownError)]
    for exc, expected in cases:
        def fn(a, exc=exc):
            if float(np.asarray(a)) < 0:
                raise exc("boom")
            return a

        @gt.function
        def f(x):
            if kind == "numpy":
                return gt.numpy_function(fn, [x], gt.float32)
            return gt.py_function(fn, [x], gt.float32)

        assert float(f(gt.constant(1.0))) == 1.0
        with pytest.raises(expected) as info:
            f(gt.constant(-1.0))                      # a replay: the step raises
        assert isinstance(info.value.__cause__, exc)
        assert float(f(gt.constant(2.0))) == 2.0
        assert f.experimental_get_tracing_count() == 1


def test_a_later_call_giving_another_shape_raises():
    # TF 2.21 gives the result an unknown shape, so a call may return another one; gradtape's step
    # has the trace's shape, and a call whose function returns another raises InvalidArgumentError
    @gt.function
    def positives(x):
        return gt.numpy_function(lambda a: a[a > 0], [x], gt.float32) * 2.0

    np.testing.assert_array_equal(positives(gt.constant([1.0, -1.0, 3.0])).numpy(), [2.0, 6.0])
    np.testing.assert_array_equal(positives(gt.constant([-1.0, 2.0, 3.0])).numpy(), [4.0, 6.0])
    with pytest.raises(gt.errors.InvalidArgumentError, match="numpy_function"):
        positives(gt.constant([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(positives(gt.constant([0.5, 0.0, 3.0])).numpy(), [1.0, 6.0])


def test_py_function_is_differentiated_inside_and_outside_the_function(plans):
    # TF 2.21: d(x^3)/dx through py_function under a tape inside tf.function: (8, 12) at 2, (27, 27) at 3;
    # numpy_function's gradient is None; a tape around the call: sin(2) * 2 = 1.8185948,
    # gradient 0.07700372
    @gt.function
    def h(x):
        with gt.GradientTape() as t:
            t.watch(x)
            y = gt.py_function(lambda a: a * a * a, [x], gt.float32)
        return y, t.gradient(y, x)

    for v, want in ((2.0, (8.0, 12.0)), (3.0, (27.0, 27.0)), (2.0, (8.0, 12.0)), (1.0, (1.0, 3.0))):
        assert tuple(float(t) for t in h(gt.constant(v))) == want
    assert h.experimental_get_tracing_count() == 1

    @gt.function
    def h2(x):
        with gt.GradientTape() as t:
            t.watch(x)
            y = gt.numpy_function(lambda a: a * a * a, [x], gt.float32)
        return y, t.gradient(y, x)

    for v in (2.0, 3.0):
        y, dy = h2(gt.constant(v))
        assert float(y) == v ** 3 and dy is None

    @gt.function
    def k(x):
        return gt.py_function(lambda a: gt.sin(a) * a, [x], gt.float32)

    x = gt.constant(2.0)
    for _ in range(3):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = k(x)
        assert float(y) == pytest.approx(1.8185948, abs=1e-6)
        assert float(tape.gradient(y, x)) == pytest.approx(0.07700372, abs=1e-6)


def test_py_function_in_a_training_step():
    # w * x fitted through a py_function at every call, as eager code does
    w = gt.Variable(1.0)
    opt = gt.optimizers.SGD(learning_rate=0.1)

    def step_eager(x, y):
        with gt.GradientTape() as tape:
            p = gt.py_function(lambda a, b: a * b, [w, x], gt.float32)
            loss = (p - y) ** 2
        opt.apply_gradients([(tape.gradient(loss, w), w)])
        return loss

    step = gt.function(step_eager)
    losses = [float(step(gt.constant(2.0), gt.constant(6.0))) for _ in range(4)]
    w_traced = float(w.numpy())
    w.assign(1.0)
    eager = [float(step_eager(gt.constant(2.0), gt.constant(6.0))) for _ in range(4)]
    assert losses == eager and w_traced == float(w.numpy())
    assert losses[0] == 16.0 and losses[1] < losses[0]


def test_host_calls_inside_cond_are_refused_and_cannot_be_saved(tmp_path):
    @gt.function
    def in_branch(x):
        return gt.cond(x > 0, lambda: gt.numpy_function(np.sqrt, [x], gt.float32), lambda: x)

    with pytest.raises(gt.errors.OperatorNotAllowedInGraphError, match="numpy_function"):
        in_branch(gt.constant(4.0))

    class M(gt.Module):
        @gt.function(input_signature=[gt.TensorSpec([], gt.float32)])
        def __call__(self, x):
            return gt.py_function(lambda a: a + 1.0, [x], gt.float32)

    m = M()
    assert float(m(gt.constant(1.0))) == 2.0
    with pytest.raises(ValueError, match="py_function"):
        gt.saved_model.save(m, str(tmp_path / "m"))


# ---- stateless random ops with a seed computed inside the function --------------------------------

# gradtape's stateless ops are a function of the seed as TensorFlow's are, but their numbers are
# gradtape's own (its Philox key is mixed from the seed; TF 2.21's stateless_uniform([3], seed=[1, 2])
# is [0.8440604, 0.19204533, 0.9962232]). What TensorFlow fixes, and these tests check, is that a
# seed computed inside the function gives, at each call, the numbers an eager call with that seed
# gives: the same seed the same numbers, whatever the call.

# gradtape's eager numbers, pinned (so that a traced step that made the state differently fails)
UNIFORM_1_2 = [0.05976814031600952, 0.4294993281364441, 0.8135766386985779]
NORMAL_2_3 = [0.028843361884355545, 1.7926031351089478]


def test_stateless_ops_with_a_traced_seed_draw_the_seeds_numbers_at_every_call():
    @gt.function
    def f(s):
        return gt.random.stateless_uniform([3], seed=s), gt.random.stateless_normal([2], seed=s + 1)

    a, b = f(gt.constant([1, 2], gt.int64))                   # the trace
    assert a.numpy().tolist() == UNIFORM_1_2
    for s in ([3, 4], [1, 2], [-5, 7], [1, 2]):                # replays
        a, b = f(gt.constant(s, gt.int64))
        np.testing.assert_array_equal(a.numpy(), gt.random.stateless_uniform([3], seed=s).numpy())
        np.testing.assert_array_equal(b.numpy(), gt.random.stateless_normal([2], seed=[s[0] + 1, s[1] + 1]).numpy())
    assert a.numpy().tolist() == UNIFORM_1_2
    # (a normal draw goes through log, sqrt and cos/sin, whose last bit depends on the build's
    # math library: the sanitizer build has no libmvec; the bits against eager are checked above)
    np.testing.assert_allclose(b.numpy(), NORMAL_2_3, rtol=1e-6)
    assert f.experimental_get_tracing_count() == 1


def test_every_stateless_op_takes_a_traced_seed():
    def draws(s):
        return (gt.random.stateless_truncated_normal([2], seed=s),
                gt.random.stateless_categorical(gt.math.log([[0.5, 0.5]]), 4, seed=s),
                gt.random.stateless_poisson([3], seed=s, lam=3.0),
                gt.random.stateless_gamma([2], seed=s, alpha=2.0),
                gt.random.stateless_uniform([2], seed=s, dtype=gt.float64),
                gt.random.stateless_uniform([2], seed=s, minval=None, maxval=None, dtype=gt.int64),
                gt.random.stateless_uniform([4], seed=s, minval=-3, maxval=10, dtype=gt.int32),
                gt.random.split(s, 3),
                gt.random.experimental.stateless_shuffle(gt.range(6), seed=s))

    f = gt.function(draws)
    for s in ([5, 6], [9, 1], [5, 6], [-1, 2 ** 31 - 1]):
        got = f(gt.constant(s, gt.int32))
        want = draws(s)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g.numpy(), w.numpy())
    assert f.experimental_get_tracing_count() == 1


def test_stateless_seed_from_a_variable_and_from_a_packed_list():
    # TF 2.21: the seed read from a variable at each call, then advanced: three calls, three draws
    v = gt.Variable([7, 0], dtype=gt.int64)

    @gt.function
    def g():
        r = gt.random.stateless_uniform([2], seed=v, minval=0, maxval=10, dtype=gt.int32)
        v.assign_add([0, 1])
        return r

    got = [g().numpy().tolist() for _ in range(3)]
    want = [gt.random.stateless_uniform([2], seed=[7, k], minval=0, maxval=10, dtype=gt.int32).numpy().tolist()
            for k in range(3)]
    assert got == want and len({tuple(w) for w in want}) > 1
    assert v.numpy().tolist() == [7, 3]

    @gt.function
    def h(i):
        return gt.random.stateless_normal([3], seed=[i, 3])

    for i in (2, 4, 2):
        np.testing.assert_array_equal(h(gt.constant(i)).numpy(), gt.random.stateless_normal([3], seed=[i, 3]).numpy())
    np.testing.assert_allclose(h(gt.constant(2)).numpy()[:2], NORMAL_2_3, rtol=1e-6)
    assert h.experimental_get_tracing_count() == 1


def test_fold_in_with_a_traced_seed_or_data():
    # each call folds in its own step number, as an eager loop does
    @gt.function
    def f(s, step):
        k = gt.random.fold_in(s, step)
        return k, gt.random.stateless_uniform([2], seed=k)

    for s, step in (([1, 2], 0), ([1, 2], 1), ([7, -3], 5), ([1, 2], 0)):
        k, u = f(gt.constant(s, gt.int64), gt.constant(step))
        want = gt.random.fold_in(s, step)
        assert (k.dtype, k.numpy().tolist()) == (gt.int64, want.numpy().tolist())
        np.testing.assert_array_equal(u.numpy(), gt.random.stateless_uniform([2], seed=want).numpy())
    assert f.experimental_get_tracing_count() == 1
    assert f(gt.constant([1, 2], gt.int64), gt.constant(0))[0].numpy().tolist() != \
        f(gt.constant([1, 2], gt.int64), gt.constant(1))[0].numpy().tolist()

    @gt.function
    def g(step):
        return gt.random.fold_in([3, 4], step)     # a constant seed, a traced data

    for step in (2, 9):
        assert g(gt.constant(step)).numpy().tolist() == gt.random.fold_in([3, 4], step).numpy().tolist()
    with pytest.raises(ValueError):
        g(gt.constant([1, 2]))


def test_stateless_traced_seed_bad_input():
    # TF 2.21 under tf.function: a seed of shape [3] or [] raises ValueError, a float seed TypeError
    @gt.function
    def bad(s):
        return gt.random.stateless_uniform([2], seed=s)

    with pytest.raises(ValueError):
        bad(gt.constant([1, 2, 3]))
    with pytest.raises(TypeError):
        bad(gt.constant([1.0, 2.0]))
    with pytest.raises(ValueError):
        bad(gt.constant(1))


def test_stateless_traced_seed_is_saved(tmp_path):
    class M(gt.Module):
        @gt.function(input_signature=[gt.TensorSpec([2], gt.int64)])
        def __call__(self, s):
            return gt.random.stateless_normal([3], seed=s) + gt.cast(gt.random.stateless_uniform(
                [3], seed=s, minval=0, maxval=5, dtype=gt.int32), gt.float32)

    m = M()
    want = {k: m(gt.constant([k, 3], gt.int64)).numpy() for k in (1, 2)}
    gt.saved_model.save(m, str(tmp_path / "m"))
    loaded = gt.saved_model.load(str(tmp_path / "m"))
    for k in (2, 1, 2):
        np.testing.assert_array_equal(loaded(gt.constant([k, 3], gt.int64)).numpy(), want[k])
    assert not np.array_equal(want[1], want[2])


# ---- gt.while_loop with a maximum_iterations computed inside the function -------------------------

def test_while_loop_with_a_traced_maximum_iterations():
    # TF 2.21: (i, s) = (3, 8.0), (7, 128.0), (0, 1.0), (0, 1.0) for a negative limit, (5, 7.59375); one trace
    @gt.function
    def f(x, m):
        return gt.while_loop(lambda i, s: s < 100.0, lambda i, s: (i + 1, s * x),
                             (gt.constant(0), gt.constant(1.0)), maximum_iterations=m)

    for x, m, want in ((2.0, 3, (3, 8.0)), (2.0, 10, (7, 128.0)), (3.0, 0, (0, 1.0)), (2.0, -2, (0, 1.0)),
                       (1.5, 5, (5, 7.59375))):
        i, s = f(gt.constant(x), gt.constant(m))
        assert (int(i), float(s)) == want
    assert f.experimental_get_tracing_count() == 1


def test_while_loop_traced_maximum_iterations_gradient_and_variable():
    # TF 2.21: y = x^(k+1) while below 100, at most m iterations: (8, 12), (32, 80), (128, 448) at m = 2, 4, 10;
    # a limit read from a variable at each call: 3.0, then 6.0 after v.assign(5)
    @gt.function
    def g(x, m):
        with gt.GradientTape() as t:
            t.watch(x)
            y = gt.while_loop(lambda v: v < 100.0, lambda v: v * x, [x], maximum_iterations=m)[0]
        return y, t.gradient(y, x)

    for m, want in ((2, (8.0, 12.0)), (4, (32.0, 80.0)), (10, (128.0, 448.0)), (2, (8.0, 12.0))):
        assert tuple(float(t) for t in g(gt.constant(2.0), gt.constant(m))) == want
    assert g.experimental_get_tracing_count() == 1

    v = gt.Variable(2)

    @gt.function
    def h(x):
        return gt.while_loop(lambda a: True, lambda a: a + x, [x], maximum_iterations=v)[0]

    assert float(h(gt.constant(1.0))) == 3.0
    v.assign(5)
    assert float(h(gt.constant(1.0))) == 6.0


def test_while_loop_traced_maximum_iterations_evaluates_cond_as_tensorflow():
    # TF 2.21 (while_v2): cond is evaluated at each test, the one that reaches the limit included:
    # with maximum_iterations 2, "cond 0", "cond 1", "cond 2" are printed, and the result is 2
    @gt.function
    def k(m):
        def c(a):
            gt.print("cond", a, output_stream="file://" + str(path))
            return a < 100
        return gt.while_loop(c, lambda a: a + 1, [gt.constant(0)], maximum_iterations=m)

    import tempfile, os
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "out.txt")
        assert int(k(gt.constant(2))[0]) == 2
        with open(path) as fh:
            assert fh.read().split("\n")[:3] == ["cond 0", "cond 1", "cond 2"]


def test_while_loop_traced_maximum_iterations_bad_input():
    # TF 2.21: an int64 or float32 maximum_iterations raises ValueError (it must be int32)
    @gt.function
    def f(x, m):
        return gt.while_loop(lambda v: v < 100.0, lambda v: v * x, [x], maximum_iterations=m)

    for m in (gt.constant(3, gt.int64), gt.constant(3.0)):
        with pytest.raises(ValueError, match="int32"):
            f(gt.constant(2.0), m)
    with pytest.raises(gt.errors.InvalidArgumentError):
        f(gt.constant(2.0), gt.constant([3]))


def test_while_loop_negative_python_maximum_iterations_runs_no_iteration():
    # TF 2.21: maximum_iterations=-2 gives zero iterations, eagerly and under tf.function
    @gt.function
    def f(x):
        return gt.while_loop(lambda v: v < 100.0, lambda v: v * 2.0, [x], maximum_iterations=-2)[0]

    assert float(f(gt.constant(3.0))) == 3.0
    assert float(gt.while_loop(lambda v: v < 100.0, lambda v: v * 2.0, [gt.constant(3.0)],
                               maximum_iterations=-2)[0]) == 3.0


# ---- gt.unique ------------------------------------------------------------------------------------

def test_unique_inside_a_function():
    # TF 2.21 (unique_with_counts of x * 2): [2, 4, 8, 14] [0 0 1 2 2 2 3] [2 1 3 1]; then
    # [6, -0, nan, 2] [0 1 1 2 0 3 3] [2 2 1 2] (-0.0 and 0.0 are one value, its first sign kept);
    # then [18 16 14 12] [0 1 2 3 3 3 3] [1 1 1 4]; one trace. TF gives a call with another number of
    # distinct values its own shape; gradtape's step raises InvalidArgumentError
    @gt.function
    def f(x):
        return gt.unique_with_counts(x * 2)

    cases = [([1.0, 1.0, 2.0, 4.0, 4.0, 4.0, 7.0], [2.0, 4.0, 8.0, 14.0], [0, 0, 1, 2, 2, 2, 3], [2, 1, 3, 1]),
             ([3.0, -0.0, 0.0, np.nan, 3.0, 1.0, 1.0], [6.0, -0.0, np.nan, 2.0], [0, 1, 1, 2, 0, 3, 3], [2, 2, 1, 2]),
             ([9.0, 8.0, 7.0, 6.0, 6.0, 6.0, 6.0], [18.0, 16.0, 14.0, 12.0], [0, 1, 2, 3, 3, 3, 3], [1, 1, 1, 4])]
    for x, y, idx, count in cases:
        ry, ridx, rcount = f(gt.constant(x))
        np.testing.assert_array_equal(ry.numpy(), y)
        assert np.signbit(ry.numpy()).tolist() == np.signbit(y).tolist()
        assert ridx.numpy().tolist() == idx and rcount.numpy().tolist() == count
        assert (ridx.dtype, rcount.dtype) == (gt.int32, gt.int32)
    assert f.experimental_get_tracing_count() == 1
    with pytest.raises(gt.errors.InvalidArgumentError, match="unique"):
        f(gt.constant([5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 1.0]))

    @gt.function
    def g(x):
        return gt.unique(x, out_idx=gt.int64)

    for x, y, idx in (([4, 2, 4, 9], [4, 2, 9], [0, 1, 0, 2]), ([-1, -1, 0, 7], [-1, 0, 7], [0, 0, 1, 2])):
        ry, ridx = g(gt.constant(x))
        assert (ry.dtype, ry.numpy().tolist()) == (gt.int32, y)
        assert (ridx.dtype, ridx.numpy().tolist()) == (gt.int64, idx)


def test_unique_inside_a_saved_function(tmp_path):
    class M(gt.Module):
        @gt.function(input_signature=[gt.TensorSpec([5], gt.int32)])
        def __call__(self, x):
            y, idx, count = gt.unique_with_counts(x + 1)
            return y, idx, count

    m = M()
    assert [t.numpy().tolist() for t in m(gt.constant([3, 1, 3, 3, 0]))] == [[4, 2, 1], [0, 1, 0, 0, 2], [3, 1, 1]]
    gt.saved_model.save(m, str(tmp_path / "m"))
    loaded = gt.saved_model.load(str(tmp_path / "m"))
    assert [t.numpy().tolist() for t in loaded(gt.constant([5, 5, 6, 7, 6]))] == [[6, 7, 8], [0, 0, 1, 2, 1], [2, 2, 1]]
    with pytest.raises(gt.errors.InvalidArgumentError):
        loaded(gt.constant([1, 2, 3, 4, 5]))
