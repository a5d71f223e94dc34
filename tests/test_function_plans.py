"""Gradient plans (docs/guides/function.md, "Gradients without a tape"): a program whose one tape
is entered, exited and asked for one gradient captures the tape's records at its first run and
then runs the same reverse sweep with no tape. Every test compares a function with plans on to
the same function with plans off (each run makes its tape, as before plans existed), bit for
bit, and checks which runs had a plan."""
import threading

import numpy as np
import pytest

import gradtape as gt
from gradtape import _core
from function_compare import as_numpy, assert_same, switched_off


@pytest.fixture
def plans_off():
    """A context that turns gradient plans off while it lasts."""
    yield switched_off(_core._set_gradient_plans)
    _core._set_gradient_plans(True)


def plan_state(fn, *args):
    return fn.get_concrete_function(*args)._program.gradient_plan


def compare(make, calls, plans_off, expect="ready"):
    """make() gives a fresh gt.function; calls is a list of argument tuples. Runs every call with
    plans on and with plans off and checks the results agree bit for bit; returns the plan state
    after the calls."""
    on_fn = make()
    on = [as_numpy(on_fn(*args)) for args in calls]
    with plans_off:
        off_fn = make()
        off = [as_numpy(off_fn(*args)) for args in calls]
    assert_same(on, off)
    state = plan_state(on_fn, *calls[-1])
    assert state == expect
    return on


def test_a_scalar_step_gets_a_plan_after_its_first_run_and_keeps_its_values(plans_off):
    w1, w2 = gt.Variable(5.), gt.Variable(3.)

    @gt.function
    def grads():
        with gt.GradientTape() as tape:
            z = 3 * w1 ** 2 + 2 * w1 * w2
        return tape.gradient(z, [w1, w2])

    assert [float(g) for g in grads()] == [36., 10.]   # the trace
    assert plan_state(grads) == "not captured"
    assert [float(g) for g in grads()] == [36., 10.]   # the first run captures
    assert plan_state(grads) == "ready"
    w1.assign(2.)
    assert [float(g) for g in grads()] == [18., 4.]    # a planned run reads the new value
    w2.assign(-1.)
    assert [float(g) for g in grads()] == [10., 4.]


def test_a_deep_chain_equals_the_taped_run(plans_off):
    def make():
        @gt.function
        def chain(x):
            with gt.GradientTape() as tape:
                tape.watch(x)
                y = x
                for _ in range(100):
                    y = gt.sin(y) * 1.0001 + 0.001
            return tape.gradient(y, x)
        return chain
    xs = [gt.constant(v) for v in (0.5, -1.25, 3.0, 0.5)]
    got = compare(make, [(x,) for x in xs], plans_off)
    assert got[0] == got[3] and got[0] != got[1]


def test_broadcasting_float64_and_reductions(plans_off):
    def make():
        w = gt.Variable(np.random.default_rng(3).normal(size=(3,)))
        b = gt.Variable(np.float64(0.25))

        @gt.function
        def f(x):
            with gt.GradientTape() as tape:
                tape.watch(x)
                y = gt.reduce_sum(gt.tanh(x * w + b) ** 2, axis=0)
                loss = gt.reduce_sum(y * y)
            return tape.gradient(loss, [x, w, b])
        return f
    calls = [(gt.constant(np.random.default_rng(k).normal(size=(4, 3))),) for k in range(4)]
    compare(make, calls, plans_off)


def test_other_input_shapes_run_with_a_tape(plans_off):
    def make():
        @gt.function(reduce_retracing=True)
        def f(x):
            with gt.GradientTape() as tape:
                tape.watch(x)
                y = gt.reduce_sum(gt.exp(x) * x)
            return tape.gradient(y, x)
        return f
    calls = [(gt.constant(np.arange(n, dtype=np.float32) / 7),) for n in (3, 3, 5, 6, 3, 5)]
    got = compare(make, calls, plans_off)
    for (x,), g in zip(calls, got):
        np.testing.assert_allclose(g, np.exp(x.numpy()) * (1 + x.numpy()), rtol=1e-6)


def test_a_training_step_with_each_optimizer_equals_eager(plans_off):
    def train(make_opt, traced):
        rng = np.random.default_rng(0)
        w = gt.Variable(rng.normal(size=(3, 4)).astype(np.float32))
        b = gt.Variable(np.zeros(4, np.float32))
        opt = make_opt()

        def step(x, y):
            with gt.GradientTape() as tape:
                h = gt.nn.relu(gt.matmul(x, w) + b)
                loss = gt.reduce_mean(gt.nn.sparse_softmax_cross_entropy_with_logits(y, h))
            grads = tape.gradient(loss, [w, b])
            opt.apply_gradients(zip(grads, [w, b]))
            return loss
        fn = gt.function(step) if traced else step
        data = np.random.default_rng(1)
        losses = []
        for _ in range(6):
            x = gt.constant(data.normal(size=(8, 3)).astype(np.float32))
            y = gt.constant(data.integers(0, 4, size=8).astype(np.int32))
            losses.append(float(fn(x, y)))
        state = plan_state(fn, x, y) if traced else None
        return losses, w.numpy(), b.numpy(), state

    for make_opt in (lambda: gt.optimizers.SGD(0.1, momentum=0.9), lambda: gt.optimizers.Adam(0.01)):
        eager = train(make_opt, False)
        on = train(make_opt, True)
        with plans_off:
            off = train(make_opt, True)
        for a, b in ((on, eager), (on, off)):
            assert a[0] == b[0]
            np.testing.assert_array_equal(a[1], b[1])
            np.testing.assert_array_equal(a[2], b[2])
        assert on[3] == "ready" and off[3] == "not captured"


def test_structural_zeros_where_slices_and_gathers(plans_off):
    def make():
        @gt.function
        def f(x):
            with gt.GradientTape() as tape:
                tape.watch(x)
                y = gt.where(x > 0, gt.sqrt(gt.abs(x)), x * 0.0)
                z = gt.gather(y, [0, 2, 2]) + y[1:4]
                loss = gt.reduce_sum(z * z)
            return tape.gradient(loss, x)
        return f
    calls = [(gt.constant([1., -2., 0., 4.]),), (gt.constant([-1., 2., 9., 0.]),), (gt.constant([0., 0., 0., 0.]),)]
    compare(make, calls, plans_off)


@pytest.mark.parametrize("rank", [0, 1])
def test_a_structural_zero_given_as_output_gradients_keeps_its_mask(plans_off, rank):
    """A gradient that a where() left out (a structural zero: docs/structural-zeros.md) given
    to a function as output_gradients gives what the eager call gives: 0 where the mask is,
    though the local derivative there is inf (an ordinary zero gives IEEE's NaN, as TensorFlow
    does). The masked call runs with tapes; the calls around it keep their plan and code."""
    x0 = gt.constant([1.0, 2.0][:rank + 1] if rank else 1.0)
    with gt.GradientTape() as t:
        t.watch(x0)
        y = gt.where(gt.constant([False, True][:rank + 1] if rank else False), x0, gt.zeros_like(x0))
    masked = t.gradient(y, x0)
    inf = gt.constant(float("inf"))

    def step(w, g):
        with gt.GradientTape() as tape:
            tape.watch(w)
            z = w * inf
        return tape.gradient(z, w, output_gradients=g)

    def make():
        return gt.function(step)
    w, one, zero = gt.fill(x0.shape, 2.0), gt.ones_like(x0), gt.zeros_like(x0)
    calls = [(w, one), (w, one), (w, one), (w, masked), (w, zero), (w, one)]
    got = compare(make, calls, plans_off)
    eager = [as_numpy(step(*args)) for args in calls]
    for g, e in zip(got, eager):
        assert_same(g, e)
    want_masked = np.array([0.0, np.inf][:rank + 1] if rank else 0.0, np.float32)
    np.testing.assert_array_equal(eager[3], want_masked)
    assert np.isnan(eager[4]).all() and np.isinf(eager[5]).all()
    # a masked input on the call that traces: the first call, and one of a new shape
    first = gt.function(step)
    np.testing.assert_array_equal(first(w, masked).numpy(), want_masked)
    x1 = gt.constant([1.0, 2.0, 3.0])
    with gt.GradientTape() as t1:
        t1.watch(x1)
        y1 = gt.where(gt.constant([True, False, True]), x1, gt.zeros_like(x1))
    masked3 = t1.gradient(y1, x1)  # (the mask is at position 1)
    got = first(gt.fill([3], 2.0), masked3).numpy()
    np.testing.assert_array_equal(got, step(gt.fill([3], 2.0), masked3).numpy())
    np.testing.assert_array_equal(got, np.array([np.inf, 0.0, np.inf], np.float32))
    assert first.experimental_get_tracing_count() == 2


@pytest.mark.parametrize("unconnected", ["none", "zero"])
def test_unconnected_sources_and_output_gradients(plans_off, unconnected):
    def make():
        v = gt.Variable([1., 2.])

        @gt.function
        def f(x, u, seed):
            with gt.GradientTape() as tape:
                tape.watch([x, u])
                y = x * v
            return tape.gradient(y, [x, u, v], output_gradients=seed, unconnected_gradients=unconnected)
        return f
    calls = [(gt.constant([3., 4.]), gt.constant(1.), gt.constant([1., -1.])),
             (gt.constant([5., 6.]), gt.constant(2.), gt.constant([0.5, 2.]))] * 2
    got = compare(make, calls, plans_off)
    assert (got[0][1] is None) == (unconnected == "none")


def test_a_target_that_is_a_source_the_tape_never_saw(plans_off):
    def make():
        @gt.function
        def f(x):
            with gt.GradientTape(persistent=True) as tape:
                y = x * 2.0
            return tape.gradient([x, y], x)
        return f
    got = compare(make, [(gt.constant(3.),)] * 3, plans_off)
    assert got[-1] == 1.0


def test_reads_of_a_variable_around_a_write_inside_the_tape(plans_off):
    def make():
        v = gt.Variable(2.0)

        @gt.function
        def f(x):
            with gt.GradientTape() as tape:
                tape.watch(x)
                a = x * v
                v.assign_add(1.0)
                b = a * v
            return tape.gradient(b, [x, v]), v.read_value()
        return f
    got = compare(make, [(gt.constant(1.5),)] * 4, plans_off)
    assert got[-1][1] == 6.0


def test_the_same_tensor_given_twice_and_a_captured_constant_given_as_an_argument(plans_off):
    c = gt.constant([2.0, 3.0])

    def make():
        @gt.function
        def f(x, y):
            with gt.GradientTape() as tape:
                tape.watch([x, y])
                z = gt.reduce_sum(x * c * y + x * x)
            return tape.gradient(z, [x, y])
        return f
    d = gt.constant([5.0, -1.0])
    # The first run (the capture) gets aliased arguments: the plan must still tell them apart
    # from each other and from the constant c.
    got = compare(make, [(c, c), (c, c), (d, c), (c, d), (d, d)], plans_off)
    # The trace and every replay give the partial derivatives, as TensorFlow's graph does for
    # two arguments that are one tensor (and the trace of f(c, c) does).
    cc = c.numpy()
    for dx, dy in got[:2]:
        np.testing.assert_array_equal(dx, cc * cc + 2 * cc)
        np.testing.assert_array_equal(dy, cc * cc)
    np.testing.assert_array_equal(got[2][0], c.numpy() * c.numpy() + 2 * d.numpy())
    np.testing.assert_array_equal(got[3][1], c.numpy() * c.numpy())


def test_an_outer_tape_or_accumulator_gets_the_taped_run(plans_off):
    w = gt.Variable(1.5)

    @gt.function
    def f(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.sin(x * w)
        return tape.gradient(y, x)

    x = gt.constant(0.3)
    f(x)
    f(x)
    assert plan_state(f, x) == "ready"
    # d/dx of cos(x w) w, through the function: second order needs the taped run.
    with gt.GradientTape() as outer:
        outer.watch(x)
        g = f(x)
    np.testing.assert_allclose(float(outer.gradient(g, x)), -np.sin(0.3 * 1.5) * 1.5 ** 2, rtol=1e-6)
    with gt.autodiff.ForwardAccumulator(x, gt.constant(1.0)) as acc:
        g = f(x)
    np.testing.assert_allclose(float(acc.jvp(g)), -np.sin(0.3 * 1.5) * 1.5 ** 2, rtol=1e-6)
    assert float(f(x)) == float(gt.cos(x * w) * w)


def test_programs_that_cannot_have_a_plan(plans_off):
    def error_mode():
        @gt.function
        def f(x):
            with gt.GradientTape() as tape:
                tape.watch(x)
                y = x * x
            return tape.gradient(y, x, unconnected_gradients="error")
        return f

    def with_cond():
        @gt.function
        def f(x):
            with gt.GradientTape() as tape:
                tape.watch(x)
                y = gt.cond(x > 0, lambda: x * x, lambda: -x)
            return tape.gradient(y, x)
        return f

    def two_gradients():
        @gt.function
        def f(x):
            with gt.GradientTape(persistent=True) as tape:
                tape.watch(x)
                y = x * x
            return tape.gradient(y, x), tape.gradient(y * x, x)
        return f

    def two_tapes():
        @gt.function
        def f(x):
            with gt.GradientTape() as t2:
                t2.watch(x)
                with gt.GradientTape() as t1:
                    t1.watch(x)
                    y = x * x * x
                g = t1.gradient(y, x)
            return t2.gradient(g, x)
        return f

    calls = [(gt.constant(2.0),), (gt.constant(-3.0),), (gt.constant(2.0),)]
    for make in (error_mode, with_cond, two_gradients, two_tapes):
        compare(make, calls, plans_off, expect="none")


def test_concurrent_planned_runs(plans_off):
    w = gt.Variable(np.linspace(-1, 1, 16).astype(np.float32))

    @gt.function
    def f(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.reduce_sum(gt.nn.softplus(x * w))
        return tape.gradient(y, [x, w])

    xs = [gt.constant(np.full(16, k / 4, np.float32)) for k in range(8)]
    expected = [as_numpy(f(x)) for x in xs]
    assert plan_state(f, xs[0]) == "ready"
    errors = []

    def worker(k):
        try:
            for _ in range(50):
                assert_same(as_numpy(f(xs[k])), expected[k])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_a_loaded_saved_model_gets_a_plan(tmp_path, plans_off):
    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.w = gt.Variable([[0.5, -1.0], [2.0, 0.25]])

        @gt.function(input_signature=[gt.TensorSpec([3, 2])])
        def grad(self, x):
            with gt.GradientTape() as tape:
                y = gt.reduce_sum(gt.tanh(gt.matmul(x, self.w)))
            return tape.gradient(y, self.w)

    m = M()
    x = gt.constant(np.arange(6, dtype=np.float32).reshape(3, 2) / 5)
    want = m.grad(x).numpy()
    gt.saved_model.save(m, str(tmp_path / "m"))
    loaded = gt.saved_model.load(str(tmp_path / "m"))
    got = [loaded.grad(x).numpy() for _ in range(3)]
    for g in got:
        np.testing.assert_array_equal(g, want)
    assert [c.program.gradient_plan for c in loaded.grad._concretes] == ["ready"]


def test_no_plan_is_captured_under_a_recording_pause(plans_off):
    # Under a pause (here the core's own, which nothing in Python enters but which a C++ caller
    # may), the run's tape records nothing: a plan captured then would hold no records.
    def make():
        @gt.function
        def f(x):
            with gt.GradientTape() as tape:
                tape.watch(x)
                y = gt.exp(x) * x
            return tape.gradient(y, x)
        return f

    for plans in (True, False):
        _core._set_gradient_plans(plans)
        f = make()
        x = gt.constant(0.5)
        want = float(f(x))              # the trace
        with _core._PauseRecording():
            f(x)                        # a run under the pause
        assert plan_state(f, x) == "not captured"
        assert [float(f(x)) for _ in range(3)] == [want] * 3
        assert plan_state(f, x) == ("ready" if plans else "not captured")
    _core._set_gradient_plans(True)


def test_a_captured_snapshot_of_a_variable_then_a_write_drops_the_plan(plans_off):
    # The tape links a variable's value tensor when the variable is read, so a snapshot of that
    # value captured by the function is linked too, until a write gives the variable a new
    # tensor. The plan checks at each run that what its tape linked to the variable still is
    # one of its values, and gives the call back to a tape when not.
    def run():
        w = gt.Variable([1.0, 2.0])
        w0 = gt._core._variable_value_held(w)  # (w's value tensor itself: see the test below)

        @gt.function
        def grad(x):
            with gt.GradientTape() as t:
                y = gt.reduce_sum(w * x) + gt.reduce_sum(w0 * x)
            return t.gradient(y, w)
        x = gt.constant([3.0, 5.0])
        out = [grad(x).numpy() for _ in range(3)]
        w.assign_add([1.0, 1.0])
        out += [grad(x).numpy() for _ in range(2)]
        return out, plan_state(grad, x)
    on, state = run()
    with plans_off:
        off, _ = run()
    assert_same(on, off)
    np.testing.assert_array_equal(on[-1], [3.0, 5.0])
    assert state == "none"


def test_control_flow_before_the_tape_or_an_input_returned(plans_off):
    w = gt.Variable([1.0, 2.0])

    def cond_before():
        @gt.function
        def f(x, p):
            a = gt.cond(p, lambda: gt.convert_to_tensor(w), lambda: x)  # w's tensor, or x, by p
            with gt.GradientTape() as t:
                y = gt.reduce_sum(w * x) + gt.reduce_sum(a * x)
            return t.gradient(y, w)
        return f
    x, T, F = gt.constant([3.0, 5.0]), gt.constant(True), gt.constant(False)
    compare(cond_before, [(x, T), (x, T), (x, F), (x, T), (x, F)], plans_off, expect="none")

    @gt.function
    def returns_its_input(x):
        with gt.GradientTape() as t:
            t.watch(x)
            y = x * x
        return x, t.gradient(y, x)
    x = gt.constant(3.0)
    for _ in range(3):
        out, g = returns_its_input(x)
        assert out is not x and float(g) == 6.0
        with gt.GradientTape() as t:   # the result is a tensor of its own, not the argument
            t.watch(out)
            z = x * 5.0
        assert t.gradient(z, out) is None
    assert plan_state(returns_its_input, x) == "ready"


@pytest.mark.parametrize("use", ["target", "source", "watched"])
def test_a_captured_snapshot_of_a_variable_as_target_source_or_watched_gets_no_plan(plans_off, use):
    # A constant of the program that the capturing run's tape linked (watched, or the same
    # object as a variable's value) could be linked or not at a later call: no plan.
    def run():
        v = gt.Variable([1.0, 2.0])
        # v's value tensor itself, until v is written (no public read returns it: read_value,
        # value and convert_to_tensor give a tensor of their own; this reaches the plan's guard)
        c = gt._core._variable_value_held(v)

        @gt.function
        def f(x):
            with gt.GradientTape() as t:
                if use == "watched":
                    t.watch(c)
                y = v * x + (c if use == "watched" else 0.0)
            if use == "target":
                return t.gradient([y, c], v)
            return t.gradient(y, [c, v] if use == "watched" else c)
        x = gt.constant([3.0, 5.0])
        out = [as_numpy(f(x)) for _ in range(3)]
        v.assign_add([1.0, 1.0])
        out += [as_numpy(f(x)) for _ in range(2)]
        return out, plan_state(f, x)
    on, state = run()
    with plans_off:
        off, _ = run()
    assert_same(on, off)
    assert state == "none"


def test_a_read_before_the_tape_linked_by_watching_its_variable_keeps_the_plan(plans_off):
    # tape.watch(v) links v's value, so a read of v before the tape is linked too; a planned
    # run (which makes no tape) counts the watch as a read of v, so the plan still holds, and
    # the effect before the tape happens once per call.
    def run():
        v = gt.Variable([1.0, 2.0])
        step = gt.Variable(0.0)

        @gt.function
        def f(x):
            step.assign_add(1.0)
            r = v.read_value()
            with gt.GradientTape() as t:
                t.watch(v)
                y = gt.reduce_sum(r * x) + gt.reduce_sum(v * x * x)
            return t.gradient(y, v)
        x = gt.constant([3.0, 5.0])
        out = [as_numpy(f(x)) for _ in range(4)]
        return out, float(step), plan_state(f, x)
    on, steps_on, state = run()
    with plans_off:
        off, steps_off, _ = run()
    assert_same(on, off)
    assert steps_on == steps_off == 4.0
    assert state == "ready"
