"""Scalar code (docs/guides/function.md, "Programs of scalars"): a gt.function program whose values
are all rank-0 floats runs as a flat list of instructions over registers, once one run traced it
and the code gave that run's outputs bit for bit. Every test compares the calls with scalar code
to the same calls with it off, and to the same Python function run eagerly, bit for bit, and
checks which programs got the code (`_program.scalar_code`)."""
import threading

import numpy as np
import pytest

import gradtape as gt
from gradtape import _core
from function_compare import as_numpy, assert_same, switched_off


@pytest.fixture
def scalar_code_off():
    yield switched_off(_core._set_scalar_code)
    _core._set_scalar_code(True)


def state(fn, *args):
    return fn.get_concrete_function(*args)._program.scalar_code


def run_three_ways(py, calls, off, expect="ready", setup=None):
    """py: the Python function; calls: argument tuples (at least three, so that the code is
    traced at the second call and used from the third). Runs them through gt.function with
    scalar code on, with it off, and eagerly; checks all agree bit for bit and returns the
    results and the program's scalar-code state. `setup(i)`, if given, runs before call i (it
    may assign variables)."""
    def go(fn):
        out = []
        for i, args in enumerate(calls):
            if setup:
                setup(i)
            out.append(as_numpy(fn(*args)))
        return out
    fn = gt.function(py)
    on = go(fn)
    got = state(fn, *calls[-1])
    with off:
        off_results = go(gt.function(py))
    eager = go(py)
    assert_same(on, off_results)
    assert_same(on, eager)
    if expect.endswith("*"):
        assert got.startswith(expect[:-1]), got
    else:
        assert got == expect, got
    return on


def test_a_scalar_step_runs_as_scalar_code_and_reads_its_variables_at_each_call(scalar_code_off):
    w1, w2 = gt.Variable(5.), gt.Variable(3.)

    @gt.function
    def grads():
        with gt.GradientTape() as tape:
            z = 3 * w1 ** 2 + 2 * w1 * w2
        return tape.gradient(z, [w1, w2])

    assert [float(g) for g in grads()] == [36., 10.]   # the trace (Python)
    assert state(grads) == "not traced"
    assert [float(g) for g in grads()] == [36., 10.]   # captures the gradient plan
    assert [float(g) for g in grads()] == [36., 10.]   # a planned run, traced for the code
    assert state(grads) == "ready"
    w1.assign(2.)
    assert [float(g) for g in grads()] == [18., 4.]    # the code reads the new value
    w2.assign(-1.)
    assert [float(g) for g in grads()] == [10., 4.]

    values = [(5., 3.), (2., 4.), (-0.5, 1e-3), (1e20, 3e20), (float("nan"), 1.), (float("inf"), 0.)]

    def setup(i):
        w1.assign(values[i][0])
        w2.assign(values[i][1])

    def py():
        with gt.GradientTape() as tape:
            z = 3 * w1 ** 2 + 2 * w1 * w2
        return tape.gradient(z, [w1, w2])
    run_three_ways(py, [()] * len(values), scalar_code_off, setup=setup)


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64])
def test_a_deep_chain_with_a_watched_input(scalar_code_off, dtype):
    def py(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = x
            for _ in range(200):
                y = gt.sin(y) * 1.0001 + 0.001
        return [y, tape.gradient(y, x)]
    xs = [gt.constant(v, dtype) for v in (0.5, -1.25, 3.0, 0.5, 1e-30, -7.5)]
    got = run_three_ways(py, [(x,) for x in xs], scalar_code_off)
    assert got[0][1] != got[1][1] and got[0] == got[3]


def test_nested_tapes_give_a_hessian_with_its_none(scalar_code_off):
    w1, w2 = gt.Variable(5.), gt.Variable(3.)

    def py():
        with gt.GradientTape(persistent=True) as outer:
            with gt.GradientTape() as inner:
                z = 3 * w1 ** 2 + 2 * w1 * w2
            g = inner.gradient(z, [w1, w2])
        return [outer.gradient(gi, [w1, w2]) for gi in g]
    got = run_three_ways(py, [()] * 4, scalar_code_off)
    assert [[None if h is None else float(h) for h in row] for row in got[-1]] == [[6., 2.], [2., None]]


def test_many_elementwise_ops_and_their_rules(scalar_code_off):
    def py(x, y):
        with gt.GradientTape(persistent=True) as tape:
            tape.watch([x, y])
            a = gt.exp(gt.tanh(x)) / (1.0 + y * y)
            b = gt.math.log1p(gt.sigmoid(y)) - gt.sqrt(gt.square(x) + 2.0)
            c = gt.nn.softplus(a * b) + gt.cos(x) * gt.math.rsqrt(y * y + 1.0) - (-x)
            d = c ** 3.0 + gt.abs(b) / gt.math.atan(y) + gt.math.erf(x) * gt.math.expm1(y) + gt.math.lgamma(x * x + 0.5)
        return [d, tape.gradient(d, [x, y]), tape.gradient(c, x)]
    calls = [(gt.constant(a, gt.float64), gt.constant(b, gt.float64))
             for a, b in [(0.3, 0.7), (-1.2, 2.5), (2.0, -0.4), (0.3, 0.7), (40.0, -30.0)]]
    run_three_ways(py, calls, scalar_code_off)


def test_an_exponent_that_changes_between_calls_is_guarded(scalar_code_off):
    # x ** e with e an input that no tape watches: the rule folds e's value into the gradient
    # (e == 2: g * 2x; e == 1: g), so the code keeps a guard on e and a call with another e
    # runs the program as before.
    def py(x, e):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = x ** e
        return tape.gradient(y, x)
    calls = [(gt.constant(1.5), gt.constant(v)) for v in (2.0, 2.0, 2.0, 3.0, 1.0, 0.5, 2.0)]
    got = run_three_ways(py, calls, scalar_code_off)
    assert [float(g) for g in got] == [3.0, 3.0, 3.0, 6.75, 1.0, pytest.approx(0.5 / 1.5 ** 0.5), 3.0]


def test_what_the_code_cannot_compute_keeps_the_program(scalar_code_off):
    # a cast to an integer, a reduction of a vector: refused, with the values unchanged
    def cast(x):
        return gt.cast(gt.cast(x, gt.int32), gt.float32) * 2.0
    run_three_ways(cast, [(gt.constant(v),) for v in (1.0, 2.5, -1.0)], scalar_code_off, expect="refused: *")

    def partial(x):
        return gt.reduce_sum(x * 2.0, axis=0)
    run_three_ways(partial, [(gt.constant([[v, 1.0], [2.0, 3.0]]),) for v in (1.0, 2.5, -1.0)], scalar_code_off,
                   expect="refused: *")


# values where comparisons and selects are delicate: signed zeros, NaN, infinities, ties
SPECIAL = [1.5, -2.0, 0.0, -0.0, float("nan"), float("inf"), float("-inf"), 0.5, 1e-45, -1e300]


def calls_of(values, dtype):
    # the first three calls trace, plan and compile (on an ordinary value); the rest use the code
    return [(gt.constant(v, dtype),) for v in [1.25, 1.25, 1.25] + values]


def with_gradient(body):
    def py(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = body(x)
        return [y, tape.gradient(y, x)]
    return py


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64])
@pytest.mark.parametrize("name,body", [
    ("relu", lambda x: gt.nn.relu(x) * 2.0),
    ("abs", lambda x: gt.abs(x) * x),
    ("maximum", lambda x: gt.maximum(x, 0.5) * x),
    ("minimum", lambda x: gt.minimum(x * x, x) - x),
    ("maximum of equals", lambda x: gt.maximum(x, x * 1.0)),
    ("clip", lambda x: gt.clip_by_value(x * 3.0, -1.0, 1.0)),
    ("relu6", lambda x: gt.nn.relu6(x * 4.0)),
])
def test_rules_that_compare_and_select_run_as_code(scalar_code_off, dtype, name, body):
    # relu's rule (a greater and a where), abs (sign), maximum / minimum's rules (greater_equal,
    # less_equal and wheres), relu6 (logical_and of two comparisons): the code computes them, at
    # NaN, infinities and both zeros as eagerly
    got = run_three_ways(with_gradient(body), calls_of(SPECIAL, dtype), scalar_code_off)
    if name == "relu":
        assert [float(g[1]) for g in got[3:5]] == [2.0, 0.0]


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64])
@pytest.mark.parametrize("name,body", [
    ("less", lambda x: gt.where(x < 1.0, x, -x)),
    ("equal", lambda x: gt.where(gt.equal(x, 0.0), 2.0 * x, x * x)),
    ("not_equal", lambda x: gt.where(gt.not_equal(x, x), 0.0 * x, x + 1.0)),   # NaN test
    ("greater_equal", lambda x: gt.where(x >= -0.0, x, 3.0 * x)),
    ("logical", lambda x: gt.where(gt.logical_or(x > 1.0, gt.logical_not(x < -1.0)), x, x * x)),
    ("leaky_relu", lambda x: gt.nn.leaky_relu(x)),
    ("elu", lambda x: gt.nn.elu(x)),
    ("selu", lambda x: gt.nn.selu(x)),
    ("huber", lambda x: gt.where(gt.abs(x) < 1.0, 0.5 * x * x, gt.abs(x) - 0.5)),
])
def test_a_differentiated_where_and_its_structural_zeros(scalar_code_off, dtype, name, body):
    # the gradient of a where is masked where its branch was not taken (structural zeros): the
    # code computes the masks and keeps a guard on each test of whether one is set, so a call
    # that takes the other branch runs the program; the values are eager's at every call
    got = run_three_ways(with_gradient(body), calls_of(SPECIAL + [-3.0, 2.0, -0.25, 1.5], dtype), scalar_code_off)
    if name == "huber":
        assert [float(g[1]) for g in got[3:5]] == [1.0, -1.0]


def test_an_unselected_branch_s_inf_stays_a_structural_zero(scalar_code_off):
    # where(x > 0, log(x), 0): at x <= 0 log's gradient is inf or NaN, which the mask keeps out
    # of x's gradient (0, not NaN); traced at x > 0, where no mask is set
    def py(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.where(x > 0.0, gt.math.log(x), gt.zeros_like(x))
        return tape.gradient(y, x)
    calls = [(gt.constant(v),) for v in (2.0, 2.0, 2.0, 0.0, -1.0, 4.0, -0.0, 0.5)]
    got = run_three_ways(py, calls, scalar_code_off)
    assert [float(g) for g in got] == [0.5, 0.5, 0.5, 0.0, 0.0, 0.25, 0.0, 2.0]
    # traced where the mask is set: x's gradient, an output, carries it (no code)
    calls = [(gt.constant(v),) for v in (-1.0, -1.0, -1.0, 0.0, 2.0, -2.0)]
    got = run_three_ways(py, calls, scalar_code_off, expect="refused: an output that carries a structural-zero mask")
    assert [float(g) for g in got] == [0.0, 0.0, 0.0, 0.0, 0.5, 0.0]


def test_a_masked_gradient_as_an_output_keeps_the_program(scalar_code_off):
    # y's gradient through where(c, x, y) at c true is a structural zero: an output with a mask
    def py(x, y):
        with gt.GradientTape() as tape:
            tape.watch([x, y])
            z = gt.where(x > y, x * 2.0, y * 3.0)
        return tape.gradient(z, [x, y])
    calls = [(gt.constant(a), gt.constant(b)) for a, b in [(2.0, 1.0)] * 3 + [(0.0, 1.0), (3.0, -1.0)]]
    got = run_three_ways(py, calls, scalar_code_off, expect="refused: an output that carries a structural-zero mask")
    assert [[float(g) for g in r] for r in got] == [[2.0, 0.0]] * 3 + [[0.0, 3.0], [2.0, 0.0]]


def casts_program(x, y):
    # cast's rule casts the gradient back; xlogy's rule casts x != 0 to a float
    with gt.GradientTape() as tape:
        tape.watch([x, y])
        z = gt.cast(x, gt.float64) * y
        w = gt.cast(z > 0.0, gt.float32) * x + gt.cast(gt.math.xlogy(z, y), gt.float32)
    return [w, tape.gradient(w, [x, y])]


def test_casts_between_float32_float64_and_bool(scalar_code_off):
    py = casts_program
    values = [(0.5, 2.0)] * 3 + [(0.0, 2.0), (-0.0, 3.0), (1.5, -1.0), (float("nan"), 1.0), (1e30, 1e300),
                                 (3.0, float("inf"))]
    calls = [(gt.constant(a, gt.float32), gt.constant(b, gt.float64)) for a, b in values]
    run_three_ways(py, calls, scalar_code_off)


def test_a_bool_input_selects(scalar_code_off):
    def py(flag, x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.where(gt.logical_and(flag, x > 0.0), gt.sin(x), x * x)
        return [y, flag, tape.gradient(y, x)]
    calls = [(gt.constant(f), gt.constant(v)) for f, v in
             [(True, 0.5)] * 3 + [(False, 0.5), (True, -1.0), (True, 2.0), (False, -2.0)]]
    run_three_ways(py, calls, scalar_code_off)


def test_programs_with_effects_or_control_flow_have_no_code(scalar_code_off):
    v = gt.Variable(1.0)

    def step(x):
        with gt.GradientTape() as tape:
            y = v * x
        v.assign_sub(0.1 * tape.gradient(y, v))
        return y

    fn = gt.function(step)
    results = [float(fn(gt.constant(2.0))) for _ in range(4)]
    assert results == pytest.approx([2.0, 1.6, 1.2, 0.8])
    assert state(fn, gt.constant(2.0)) == "none"

    @gt.function
    def branch(x):
        return gt.cond(x > 0, lambda: x * 2.0, lambda: x * 3.0)
    assert [float(branch(gt.constant(s))) for s in (1.0, -1.0, 1.0, -1.0)] == [2.0, -3.0, 2.0, -3.0]
    assert state(branch, gt.constant(1.0)) == "none"


def test_a_tape_around_the_call_sees_the_program_run(scalar_code_off):
    @gt.function
    def f(x):
        return gt.sin(x) * x

    x = gt.constant(0.7)
    for _ in range(4):
        f(x)
    assert state(f, x) == "ready"
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    g = tape.gradient(y, x)
    assert float(g) == pytest.approx(np.sin(0.7) + 0.7 * np.cos(0.7), rel=1e-6)
    with gt.autodiff.ForwardAccumulator(x, gt.constant(1.0)) as acc:
        y = f(x)
    assert float(acc.jvp(y)) == pytest.approx(float(g), rel=1e-6)
    with gt.GradientTape() as tape:  # (a tape that watches nothing records nothing either)
        assert float(f(x)) == pytest.approx(np.sin(0.7) * 0.7, rel=1e-6)


def test_other_shapes_and_dtypes_of_a_relaxed_signature_run_the_program(scalar_code_off):
    @gt.function(input_signature=[gt.TensorSpec(None, gt.float32)])
    def f(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.exp(x) * 3.0
        return tape.gradient(y, x)

    scalars = [gt.constant(v) for v in (0.5, 1.0, 2.0)]
    for s in scalars:
        np.testing.assert_array_equal(f(s).numpy(), (gt.exp(s) * 3.0).numpy())
    vec = gt.constant([0.5, 1.0])
    np.testing.assert_array_equal(f(vec).numpy(), (gt.exp(vec) * 3.0).numpy())
    np.testing.assert_array_equal(f(scalars[1]).numpy(), (gt.exp(scalars[1]) * 3.0).numpy())


def test_an_input_that_is_a_captured_constant_or_given_twice(scalar_code_off):
    c = gt.constant(2.0)

    def py(x, y):
        with gt.GradientTape() as tape:
            tape.watch([x, y])
            z = x * y * c
        return [z, tape.gradient(z, [x, y])]
    a, b = gt.constant(3.0), gt.constant(5.0)

    def calls(fn, arg_list):
        return [as_numpy(fn(*args)) for args in arg_list]
    # the captured constant given as an argument at the traced run: refused (one buffer, two
    # meanings), and every call still right. (An argument is a tensor of its own to the
    # function's tape, the same tensor given twice two tensors, as in TensorFlow: eager code
    # differs there, so the reference is the program run without scalar code.)
    arg_list = [(a, b), (c, b), (c, b), (a, b), (c, c)]
    fn = gt.function(py)
    on = calls(fn, arg_list)
    assert state(fn, a, b).startswith("refused: ")
    with scalar_code_off:
        assert_same(on, calls(gt.function(py), arg_list))
    assert [float(g) for g in on[4][1]] == [4.0, 4.0]
    # the same tensor twice, after the code is ready: two inputs, as in the trace
    arg_list = [(a, b), (a, b), (a, b), (a, a), (c, c), (b, a)]
    fn = gt.function(py)
    on = calls(fn, arg_list)
    assert state(fn, a, b) == "ready"
    with scalar_code_off:
        assert_same(on, calls(gt.function(py), arg_list))
    assert [float(g) for g in on[3][1]] == [6.0, 6.0]


def test_concurrent_calls_of_scalar_code(scalar_code_off):
    @gt.function
    def f(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.tanh(x) * gt.exp(-x * x)
        return [y, tape.gradient(y, x)]

    xs = [gt.constant(0.01 * i - 1.0) for i in range(200)]
    want = [as_numpy(f(x)) for x in xs]
    assert state(f, xs[0]) == "ready"
    errors = []

    def worker(k):
        try:
            for j in range(300):
                i = (j * 7 + k) % len(xs)
                assert_same(as_numpy(f(xs[i])), want[i])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_a_loaded_saved_model_gets_scalar_code(tmp_path):
    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.w = gt.Variable(1.5)

        @gt.function(input_signature=[gt.TensorSpec([], gt.float32)])
        def grad(self, x):
            with gt.GradientTape() as tape:
                y = gt.sin(self.w * x) + self.w
            return [y, tape.gradient(y, self.w)]

    m = M()
    gt.saved_model.save(m, str(tmp_path / "m"))
    loaded = gt.saved_model.load(str(tmp_path / "m"))
    xs = [gt.constant(v) for v in (0.5, 2.0, -1.0, 0.25)]
    for x in xs:
        assert_same(as_numpy(loaded.grad(x)), as_numpy(m.grad(x)))
    loaded.w.assign(-0.5)
    m.w.assign(-0.5)
    for x in xs:
        assert_same(as_numpy(loaded.grad(x)), as_numpy(m.grad(x)))
    assert m.grad.get_concrete_function(xs[0])._program.scalar_code == "ready"


def test_a_buffer_a_kernel_fills_in_place_is_not_a_constant(scalar_code_off):
    # pad's gradient in REFLECT / SYMMETRIC mode adds g into a zero-filled buffer: traced with a
    # zero upstream gradient (0 += 0), the buffer must not be taken for a constant zero
    pads = gt.constant(np.zeros((0, 2), np.int32))

    def given(x, w):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.pad(x, pads, mode="REFLECT")
        return tape.gradient(y, x, output_gradients=w)
    calls = [(gt.constant(1.0), gt.constant(0.0))] * 3 + [(gt.constant(1.0), gt.constant(v)) for v in (2.0, -3.0)]
    got = run_three_ways(given, calls, scalar_code_off, expect="*")
    assert [float(g) for g in got] == [0.0, 0.0, 0.0, 2.0, -3.0]

    def product(x, w):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.pad(x * w, pads, mode="SYMMETRIC")
        return tape.gradient(y, x)
    got = run_three_ways(product, calls, scalar_code_off, expect="*")
    assert [float(g) for g in got] == [0.0, 0.0, 0.0, 2.0, -3.0]


def test_a_folded_exponent_gives_the_unfolded_rule_s_zero_sign(scalar_code_off):
    # pow's rule folds an exponent no tape watches; one a tape once watched takes the general
    # rule. Both give +0 for a = -0 (the general rule's a + 0), so neither the code nor eager code
    # depends on the exponent's history.
    e = gt.constant(2.0)
    e4 = gt.constant(4.0)

    def py(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = x ** e + x ** e4
        return tape.gradient(y, x)
    fn = gt.function(py)
    calls = [gt.constant(-0.0)] * 3
    before = [fn(x).numpy().tobytes() for x in calls]
    with gt.GradientTape() as t:   # a tape that watches the exponents, then closes
        t.watch([e, e4])
    after = [fn(x).numpy().tobytes() for x in calls] + [py(x).numpy().tobytes() for x in calls]
    assert set(before) == set(after) == {np.float32(0.0).tobytes()}
    assert state(fn, calls[0]) == "ready"


def test_an_unused_op_that_raises_keeps_raising(scalar_code_off):
    # an op whose result nothing reads still runs: the integer division by zero raises at the
    # call whose value makes it, as eager code and the program without scalar code do
    @gt.function
    def f(x):
        gt.math.floordiv(gt.constant(7), gt.cast(x, gt.int32))
        return x * 2.0

    for v in (1.0, 2.0, 3.0):
        assert float(f(gt.constant(v))) == 2 * v
    assert state(f, gt.constant(1.0)).startswith("refused: ")
    with pytest.raises(gt.errors.InvalidArgumentError):
        f(gt.constant(0.0))


# ---------------------------------------------------------------------------- small tensors
# A program whose values are float tensors of at most 64 elements (elementwise ops of one
# shape, and rank-0 operands read broadcast) runs as code too, each instruction a loop over
# the elements with the eager loop's own function.

LIMIT = 64


def vector(n, seed, dtype=gt.float32, special=False):
    rng = np.random.default_rng(seed)
    v = rng.uniform(-3.0, 3.0, n)
    if special:
        extra = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-300, -2.0, 2.0])
        v[:min(n, len(extra))] = extra[:n]
    return gt.constant(v.astype(gt.as_dtype(dtype).as_numpy_dtype))


@pytest.mark.parametrize("n", [1, 2, 7, 16, LIMIT, LIMIT + 1])
def test_a_w1_step_on_vectors(scalar_code_off, n):
    w1, w2 = gt.Variable(vector(n, 1)), gt.Variable(vector(n, 2))

    def py():
        with gt.GradientTape() as tape:
            z = 3 * w1 ** 2 + 2 * w1 * w2
        return [z, tape.gradient(z, [w1, w2])]

    def setup(i):
        w1.assign(vector(n, 10 + i))
    # (one element: 3 * w1 broadcasts a rank-0 operand onto shape (1,), which eager runs as a
    # plan of rank 0, refused: test_two_nans_give_eagers_nan_through_a_broadcast_onto_one_element)
    got = run_three_ways(py, [()] * 6, scalar_code_off, setup=setup,
                         expect="ready" if 1 < n <= LIMIT else "refused: *")
    assert got[-1][0].shape == (n,)


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64])
@pytest.mark.parametrize("n", [3, 5, 8, 13, LIMIT])
def test_transcendental_ops_on_vectors_give_eager_s_bits(scalar_code_off, dtype, n):
    # exp, sin, tanh, log1p, pow, atan2: eager's loops run them in vector lanes (libmvec) and a
    # scalar tail; the code calls the same loops, so every element has eager's bits, at values
    # other than the traced ones too
    def py(x, y):
        with gt.GradientTape() as tape:
            tape.watch([x, y])
            a = gt.exp(gt.sin(x)) * gt.tanh(y) + gt.math.log1p(gt.abs(x))
            b = gt.math.atan2(a, y) + gt.pow(gt.abs(y) + 0.5, x) - gt.sigmoid(x * y)
        return [b, tape.gradient(b, [x, y])]
    calls = [(vector(n, 1, dtype), vector(n, 2, dtype))] * 3 + \
        [(vector(n, s, dtype, special=s == 5), vector(n, s + 100, dtype)) for s in range(3, 9)]
    run_three_ways(py, calls, scalar_code_off)


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64])
def test_compares_and_selects_on_vectors_with_special_values(scalar_code_off, dtype):
    def py(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.nn.relu(x) * gt.abs(x) + gt.maximum(x, 0.5) - gt.minimum(x * x, x)
            z = gt.clip_by_value(y, -4.0, 4.0) + gt.where(x > 1.0, x, 2.0 * x)
        return [z, tape.gradient(z, x)]
    calls = [(vector(9, 1, dtype),)] * 3 + [(vector(9, s, dtype, special=s % 2 == 0),) for s in range(2, 8)]
    run_three_ways(py, calls, scalar_code_off)


def test_structural_zeros_on_vectors_guard_the_whole_mask(scalar_code_off):
    # leaky_relu's where: its gradient's masks are tested (a guard on every element of the mask):
    # a call whose signs differ from the traced ones runs the program
    # (log's rule at x = 0, where its branch is not taken: 0 / 0, which the mask makes 0)
    def py(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.nn.leaky_relu(x) * 3.0 + gt.nn.elu(x) + gt.where(x > 0.0, gt.math.log(x), x)
        return [y, tape.gradient(y, x)]
    # traced where log's branch is taken everywhere (no mask: a guard that none is set)
    positive = gt.constant([1.0, 2.0, 3.0, 0.5])
    calls = [(positive,)] * 3 + [(gt.constant(v),) for v in
                                 ([2.0, 1.0, 0.5, 4.0], [0.0, 1.0, 2.0, 3.0], [-1.0, 2.0, 0.0, -0.0],
                                  [np.nan, 1.0, -1.0, np.inf], [1.5, 2.5, 3.5, 4.5])]
    run_three_ways(py, calls, scalar_code_off)
    # traced with both signs (masks set)
    calls = [(gt.constant([1.0, -2.0, 3.0, -0.5]),)] * 3 + [(gt.constant(v),) for v in
                                                            ([2.0, -1.0, 0.5, -3.0], [0.0, -1.0, 2.0, -3.0],
                                                             [-1.0, 2.0, 0.0, -0.0], [1.5, -2.5, 3.5, -4.5])]
    run_three_ways(py, calls, scalar_code_off)


def test_a_rank_0_operand_read_broadcast(scalar_code_off):
    s = gt.Variable(1.5)

    def forward(x, t):
        return gt.exp(x * s) - t / (x * x + 1.0) + 2.0

    def grad_of_the_vector(x, t):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.tanh(x * t) * s - gt.maximum(x, t)
        return [y, tape.gradient(y, x)]
    calls = [(vector(6, i), gt.constant(0.5 + i)) for i in (1, 1, 1, 2, 3)]
    run_three_ways(forward, calls, scalar_code_off)
    run_three_ways(grad_of_the_vector, calls, scalar_code_off)

    def grad_of_the_scalar(x, t):   # (a sum over the broadcast elements)
        with gt.GradientTape() as tape:
            tape.watch(t)
            y = x * t
        return tape.gradient(y, t)
    run_three_ways(grad_of_the_scalar, calls, scalar_code_off)


def test_mixed_dtypes_and_casts_on_vectors(scalar_code_off):
    py = casts_program
    calls = [(vector(5, i, gt.float32), gt.abs(vector(5, i + 50, gt.float64))) for i in (1, 1, 1, 2, 3)]
    calls.append((gt.constant([0.0, -0.0, np.nan, 1.0, 2.0], gt.float32),
                  gt.constant([1.0, 2.0, 3.0, np.inf, 0.0], gt.float64)))
    run_three_ways(py, calls, scalar_code_off)


def test_a_matrix_of_a_few_elements(scalar_code_off):
    def py(x, y):
        with gt.GradientTape() as tape:
            tape.watch(x)
            z = gt.sin(x) * y + gt.nn.relu(x - y) * 2.0
        return [z, tape.gradient(z, x)]
    calls = [(gt.constant(np.arange(6.0).reshape(2, 3) * s - 2.0), gt.constant(np.ones((2, 3)) * s))
             for s in (0.5, 0.5, 0.5, 1.5, -0.25)]
    run_three_ways(py, calls, scalar_code_off)


def test_what_small_tensor_code_does_not_compute(scalar_code_off):
    # a reduction along some axes, a broadcast of a [1] in an op, a broadcast_to of more than
    # one element: refused, values right
    def partial(x):
        return gt.reduce_sum(gt.reshape(x, [2, 4]), axis=1)

    def broadcast(x, y):
        return x * y

    def tile_rows(x):
        return gt.broadcast_to(gt.reshape(x, [1, 8]), [2, 8]) * 2.0
    calls = [(vector(8, i),) for i in (1, 1, 1, 2)]
    run_three_ways(partial, calls, scalar_code_off, expect="refused: *")
    run_three_ways(tile_rows, calls, scalar_code_off, expect="refused: *")
    run_three_ways(broadcast, [(vector(8, i), gt.constant([2.0])) for i in (1, 1, 1, 2)], scalar_code_off,
                   expect="refused: *")


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64])
@pytest.mark.parametrize("n", [1, 2, 7, 31, 32, 33, LIMIT, LIMIT + 1])
def test_a_loss_summed_over_a_vector_and_its_gradient(scalar_code_off, dtype, n):
    # reduce_sum / reduce_mean of all elements (kernels::reduce itself: its lanes from 32
    # elements on), their gradients (a reshape and a broadcast_to of one element), and a scalar
    # parameter broadcast against the vector (its gradient a sum)
    b = gt.Variable(gt.constant(0.25, dtype))

    def py(x, y):
        with gt.GradientTape() as tape:
            tape.watch(x)
            r = gt.tanh(x * y + b) - y
            loss = gt.reduce_mean(r * r) + 0.5 * gt.reduce_sum(gt.abs(x))
        return [loss, tape.gradient(loss, [x, b])]
    calls = [(vector(n, 1, dtype), vector(n, 2, dtype))] * 3 + \
        [(vector(n, s, dtype, special=s == 5), vector(n, s + 100, dtype)) for s in range(3, 8)]
    # (one element: y * ... broadcasts b, of rank 0, onto shape (1,): refused, as in
    # test_a_w1_step_on_vectors)
    run_three_ways(py, calls, scalar_code_off, expect="ready" if 1 < n <= LIMIT else "refused: *")


def test_reshapes_and_sums_with_kept_dimensions(scalar_code_off):
    def py(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            m = gt.reshape(x * 2.0, [2, 3])
            s = gt.reduce_sum(m, keepdims=True) + gt.expand_dims(gt.expand_dims(gt.reduce_sum(x), 0), 1)
            y = gt.squeeze(s) * gt.reshape(m, [6]) + gt.reduce_sum(gt.reshape(x, [3, 2]), axis=[0, 1])
        return [y, s, tape.gradient(y, x)]
    calls = [(vector(6, i),) for i in (1, 1, 1, 2, 3)] + [(vector(6, 4, special=True),)]
    got = run_three_ways(py, calls, scalar_code_off)
    assert got[-1][0].shape == (6,) and got[-1][1].shape == (1, 1)


def test_two_nans_meet_in_a_rank_0_op_of_a_program_of_vectors(scalar_code_off):
    # a program with vectors runs its rank-0 ops by the element function eager's rank-0 ops
    # call, not by the vector loop: the same NaN of two comes out
    def f(x, y, v):
        return [gt.math.xlogy(x, y), x * y + x, gt.math.xlog1py(y, x), v + 1.0]
    fn = gt.function(f)
    for _ in range(3):
        fn(gt.constant(1.0), gt.constant(2.0), gt.ones([2]))
    assert state(fn, gt.constant(1.0), gt.constant(2.0), gt.ones([2])) == "ready"
    for xb, yb in [(0x7fc00001, 0xffc00002), (0xffc00003, 0x7fc00004), (0x7f800001, 0xffc00005)]:
        x, y, v = _nan32(xb, ()), _nan32(yb, ()), gt.ones([2])
        for got, want in zip(fn(x, y, v), f(x, y, v)):
            assert _bits(got) == _bits(want)


def test_another_shape_between_calls(scalar_code_off):
    # one program for all sizes (a None dimension): the code serves the traced shape; a call of
    # another shape runs the program; a function without a signature traces each shape apart
    def py(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.exp(x) * x - gt.nn.relu(x)
        return [y, tape.gradient(y, x)]
    sizes = [8, 8, 8, 8, 4, 8, 16, 1, 8, LIMIT + 3, 8]
    calls = [(vector(n, i),) for i, n in enumerate(sizes)]
    relaxed = gt.function(py, input_signature=[gt.TensorSpec([None], gt.float32)])
    on = [as_numpy(relaxed(*c)) for c in calls]
    with scalar_code_off:
        off = [as_numpy(gt.function(py, input_signature=[gt.TensorSpec([None], gt.float32)])(*c)) for c in calls]
    assert_same(on, off)
    assert_same(on, [as_numpy(py(*c)) for c in calls])
    assert state(relaxed, calls[0][0]) == "ready"
    run_three_ways(py, calls, scalar_code_off)


def _bits(t):
    v = t.numpy()
    return v.view(np.uint32 if v.dtype == np.float32 else np.uint64).tolist()


def _nan32(bits, shape):
    return gt.constant(np.full(shape, bits, np.uint32).view(np.float32))


@pytest.mark.parametrize("shape", [(1,), (1, 1), (3,), ()])
def test_two_nans_give_eagers_nan_through_a_broadcast_onto_one_element(shape):
    # (a rank-0 operand of a one-element result of rank >= 1: eager's loop is a plan of rank 0,
    # whose operand order picks the other NaN; the code is refused there, not run)
    def f(x, c):
        return [c * x, x + c, gt.math.xlogy(x, c)]
    fn = gt.function(f)
    for _ in range(3):
        fn(gt.ones(shape), gt.constant(2.0))
    x, c = _nan32(0xffc00000, shape), _nan32(0x7fc12345, ())
    for got, want in zip(fn(x, c), f(x, c)):
        assert _bits(got) == _bits(want)


def test_two_nans_give_eagers_nan_through_multiplys_rule_on_small_vectors():
    def f(x, y, g):
        with gt.GradientTape() as t:
            t.watch(x)
            t.watch(y)
            z = x * y
        return t.gradient(z, [x, y], output_gradients=g)
    fn = gt.function(f)
    for _ in range(3):
        fn(_nan32(0x3f800000, 4), _nan32(0x40000000, 4), _nan32(0x3f800000, 4))
    # quiet NaNs of both signs, and a signalling one
    for y_bits, g_bits in ((0x7fc12345, 0xffc00000), (0x7f800001, 0x7fc00000)):
        args = (_nan32(0x3f800000, 4), _nan32(y_bits, 4), _nan32(g_bits, 4))
        for got, want in zip(fn(*args), f(*args)):
            assert _bits(got) == _bits(want)
