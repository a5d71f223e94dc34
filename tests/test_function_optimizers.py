"""gt.function with optimizer steps that compute from values at each call: the learning-rate
schedules (called with `iterations`), clipnorm / global_clipnorm / clipvalue and Nadam's running
product. Each traced training step is checked, call by call, against TensorFlow 2.21's
tf.function (tests/reference/function_optim_cases.py, made by make_function_optim.py): the
variables, the learning rate the step used, `iterations` and the tracing count; and against the
same step run eagerly. Saved models keep these steps."""
import math
import pathlib
import sys

import numpy as np
import pytest

import gradtape as gt

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "reference"))
from function_optim_cases import B0, CALLS, CASES, FLOAT64, TF, W0, X, Y  # noqa: E402

PARAMS = [(name, "float32") for name in CASES] + [(name, "float64") for name in FLOAT64]


def make_optimizer(cls, kwargs, schedule):
    kwargs = dict(kwargs)
    if schedule is not None:
        kwargs["learning_rate"] = getattr(gt.optimizers.schedules, schedule[0])(**schedule[1])
    return getattr(gt.optimizers, cls)(**kwargs)


def run(name, dtype, traced):
    cls, kwargs, schedule = CASES[name]
    opt = make_optimizer(cls, kwargs, schedule)
    w = gt.Variable(np.array(W0, dtype), name="w")
    b = gt.Variable(np.array(B0, dtype), name="b")
    x, y = gt.constant(np.array(X, dtype)), gt.constant(np.array(Y, dtype))

    def step(x, y):
        with gt.GradientTape() as tape:
            loss = gt.reduce_sum((w * x + b - y) ** 2)
        grads = tape.gradient(loss, [w, b])
        lr = opt.learning_rate
        opt.apply_gradients(zip(grads, [w, b]))
        return loss, lr

    f = gt.function(step) if traced else step
    rows = []
    for _ in range(CALLS):
        _, lr = f(x, y)
        rows.append((w.numpy(), b.numpy(), float(lr), int(opt.iterations.numpy())))
    return rows, (f.experimental_get_tracing_count() if traced else None)


@pytest.mark.parametrize("name,dtype", PARAMS, ids=["%s-%s" % p for p in PARAMS])
def test_traced_step_matches_tensorflow_at_every_call(name, dtype):
    traces_ref, ref = TF[name + ("_f64" if dtype == "float64" else "")]
    rows, traces = run(name, dtype, traced=True)
    # TF's count: 1, or 2 when the first trace made the optimizer's slots (the check trace)
    assert traces == traces_ref
    tol = dict(rtol=2e-6, atol=1e-7) if dtype == "float32" else dict(rtol=1e-13, atol=1e-15)
    for call, ((w, b, lr, it), (w_ref, b_ref, lr_ref, it_ref)) in enumerate(zip(rows, ref)):
        msg = "%s, call %d" % (name, call + 1)
        assert it == it_ref == call + 1, msg
        np.testing.assert_allclose(lr, lr_ref, rtol=1e-6, err_msg=msg)
        np.testing.assert_allclose(w, w_ref, err_msg=msg, **tol)
        np.testing.assert_allclose(b, b_ref, err_msg=msg, **tol)
    if CASES[name][2] is not None:
        # the learning rate is computed at each replay, not fixed when traced
        lrs = [r[2] for r in rows]
        assert len(set(lrs)) > 1 and len(set(lrs[traces:])) > 1, lrs


@pytest.mark.parametrize("name,dtype", PARAMS, ids=["%s-%s" % p for p in PARAMS])
def test_traced_step_gives_the_eager_values(name, dtype):
    traced, _ = run(name, dtype, traced=True)
    eager, _ = run(name, dtype, traced=False)
    schedule = CASES[name][2]
    for call, (t, e) in enumerate(zip(traced, eager)):
        if schedule is None:
            # clipping and Nadam's product: the same ops on the same values, bit for bit
            np.testing.assert_array_equal(t[0], e[0], err_msg="call %d" % (call + 1))
            np.testing.assert_array_equal(t[1], e[1])
            assert t[2:] == e[2:]
        else:
            # a traced schedule computes with gt.pow / gt.cos, the eager one with NumPy's: the
            # learning rate may differ in its last bit (docs/guides/function.md)
            np.testing.assert_allclose(t[0], e[0], rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(t[2], e[2], rtol=1e-6)
            assert t[3] == e[3]


def test_a_schedule_reads_iterations_at_each_call_with_one_trace():
    sched = gt.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    opt = gt.optimizers.SGD(learning_rate=sched)
    w = gt.Variable([1.0, 2.0])

    @gt.function
    def step():
        lr = opt.learning_rate
        opt.apply_gradients([(gt.constant([1.0, 1.0]), w)])
        return lr

    lrs = [float(step()) for _ in range(5)]
    assert step.experimental_get_tracing_count() == 1
    # TF 2.21: 0.1 * 0.5 ** (step / 2) at steps 0..4
    np.testing.assert_allclose(lrs, [0.1, 0.0707106813788414, 0.05, 0.0353553406894207, 0.025], rtol=1e-6)
    # iterations set between calls: the next call's rate is the schedule's there
    opt.iterations.assign(10)
    np.testing.assert_allclose(float(step()), 0.1 * 0.5 ** 5, rtol=1e-6)
    assert int(opt.iterations.numpy()) == 11
    assert step.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("schedule", [
    ("ExponentialDecay", dict(initial_learning_rate=0.3, decay_steps=3, decay_rate=0.25, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[2, 4, 5], values=[1.0, 0.5, 0.25, 0.125])),
    ("PiecewiseConstantDecay", dict(boundaries=[1.5, 3.5], values=[1.0, 0.5, 0.25])),
    ("PolynomialDecay", dict(initial_learning_rate=1.0, decay_steps=3, end_learning_rate=0.0, power=3.0)),
    ("PolynomialDecay", dict(initial_learning_rate=1.0, decay_steps=3, cycle=True)),
    ("InverseTimeDecay", dict(initial_learning_rate=1.0, decay_steps=2, decay_rate=1.0)),
    ("CosineDecay", dict(initial_learning_rate=1.0, decay_steps=5, alpha=0.25)),
    ("CosineDecay", dict(initial_learning_rate=0.5, decay_steps=4, warmup_target=1.0, warmup_steps=3)),
    ("CosineDecay", dict(initial_learning_rate=0.5, decay_steps=4, warmup_target=1.0, warmup_steps=0)),
], ids=lambda s: s[0])
def test_traced_schedules_follow_the_eager_ones(schedule):
    sched = getattr(gt.optimizers.schedules, schedule[0])(**schedule[1])
    step = gt.Variable(np.int64(0), trainable=False)

    @gt.function
    def lr():
        return sched(step)

    for s in range(12):
        step.assign(s)
        np.testing.assert_allclose(float(lr()), float(sched(s)), rtol=1e-6, err_msg="step %d" % s)
    assert lr.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("kwargs", [dict(clipnorm=1.0), dict(global_clipnorm=1.0)])
def test_clipping_of_zero_and_infinite_gradients_matches_eager(kwargs):
    def steps(traced):
        opt = gt.optimizers.SGD(learning_rate=0.1, **kwargs)
        w = gt.Variable([1.0, 2.0])
        b = gt.Variable(3.0)

        def step(gw, gb):
            opt.apply_gradients([(gw, w), (gb, b)])
            return w.read_value(), b.read_value()

        f = gt.function(step) if traced else step
        out = []
        for gw, gb in (([0.0, 0.0], 0.0), ([3.0, 4.0], 0.0), ([0.5, 0.0], 0.0), ([math.inf, 1.0], 0.0)):
            out.append([v.numpy() for v in f(gt.constant(gw), gt.constant(gb))])
        return out

    for t, e in zip(steps(True), steps(False)):
        np.testing.assert_array_equal(t[0], e[0])
        np.testing.assert_array_equal(t[1], e[1])


def test_a_saved_training_step_with_a_schedule_clipping_and_nadam_keeps_training(tmp_path):
    class Model(gt.Module):
        def __init__(self):
            super().__init__()
            self.w = gt.Variable([1.0, -2.0, 0.5])
            self.b = gt.Variable(0.3)
            self.opt = gt.optimizers.Nadam(gt.optimizers.schedules.CosineDecay(0.1, 4), global_clipnorm=1.0)

        @gt.function(input_signature=[gt.TensorSpec([3], gt.float32), gt.TensorSpec([3], gt.float32)])
        def step(self, x, y):
            with gt.GradientTape() as tape:
                loss = gt.reduce_sum((self.w * x + self.b - y) ** 2)
            grads = tape.gradient(loss, [self.w, self.b])
            lr = self.opt.learning_rate
            self.opt.apply_gradients(zip(grads, [self.w, self.b]))
            return loss, lr

    x, y = gt.constant(X), gt.constant(Y)
    m = Model()
    m.step(x, y)
    gt.saved_model.save(m, str(tmp_path))
    loaded = gt.saved_model.load(str(tmp_path))
    for _ in range(4):
        loss_a, lr_a = m.step(x, y)
        loss_b, lr_b = loaded.step(x, y)
        assert float(lr_a) == float(lr_b)
        assert float(loss_a) == float(loss_b)
    np.testing.assert_array_equal(m.w.numpy(), loaded.w.numpy())
    # the rate went down the cosine at each call, in the loaded program too (0 from step 4 on)
    assert float(lr_b) == 0.0


def test_a_custom_schedule_reading_the_step_into_python_is_refused_and_one_of_gt_ops_works():
    class Halving(gt.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return 1.0 / 2.0 ** (int(step) // 2)

        def get_config(self):
            return {}

    class HalvingOps(gt.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return gt.pow(0.5, gt.cast(step // 2, gt.float32))

        def get_config(self):
            return {}

    w = gt.Variable([1.0])
    opt = gt.optimizers.SGD(learning_rate=Halving())

    @gt.function
    def step():
        opt.apply_gradients([(gt.constant([1.0]), w)])

    with pytest.raises(gt.errors.OperatorNotAllowedInGraphError):
        step()
    assert int(opt.iterations.numpy()) == 0

    opt = gt.optimizers.SGD(learning_rate=HalvingOps())

    @gt.function
    def step2():
        lr = opt.learning_rate
        opt.apply_gradients([(gt.constant([1.0]), w)])
        return lr

    assert [float(step2()) for _ in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert step2.experimental_get_tracing_count() == 1
