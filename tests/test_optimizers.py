"""gt.optimizers against TensorFlow 2.21's Keras 3 optimizers: every optimizer and option
follows TF's trajectory (tests/reference/tf_optimizers.py, made by
tests/reference/make_optim.py), the schedules give TF's values, and the API behaves as Keras's
(None gradients, clipping, weight decay, minimize, variables for checkpoints), with updates
written in place or copied on write."""
import pathlib
import re
import sys
import warnings

import numpy as np
import pytest

import gradtape as gt

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "reference"))
from optim_cases import B0, CASES, SCHEDULE_STEPS, SCHEDULES, STEPS, W0, grads  # noqa: E402
from tf_optimizers import REFERENCE  # noqa: E402


def make(cls, kwargs, schedule=None):
    kwargs = dict(kwargs)
    if schedule is not None:
        kwargs["learning_rate"] = getattr(gt.optimizers.schedules, schedule[0])(**schedule[1])
    return getattr(gt.optimizers, cls)(**kwargs)


def run_case(cls, kwargs, dtype, schedule):
    opt = make(cls, kwargs, schedule)
    w = gt.Variable(np.array(W0, dtype=dtype), name="w")
    b = gt.Variable(np.array(B0, dtype=dtype), name="b")
    traj = []
    for _ in range(STEPS):
        gw, gb = grads(w.numpy(), b.numpy(), dtype)
        opt.apply_gradients([(gt.constant(gw), w), (gt.constant(gb), b)])
        traj.append([w.numpy().tolist(), float(b.numpy())])
    return opt, traj


def strip_scope(path):
    """The path without its optimizer scope ("adam_3/"), Keras's numbering of unnamed
    variables ("variable_2") ignored."""
    return re.sub(r"^variable_\d+$", "variable", path.split("/", 1)[1])


@pytest.mark.parametrize("name", sorted(CASES))
def test_trajectory_matches_tensorflow(name):
    cls, kwargs, dtype, schedule = CASES[name]
    ref = REFERENCE["cases"][name]
    opt, traj = run_case(cls, kwargs, dtype, schedule)
    tol = dict(rtol=2e-6, atol=1e-7) if dtype == "float32" else dict(rtol=1e-13, atol=1e-15)
    for step, ((w, b), (w_ref, b_ref)) in enumerate(zip(traj, ref["trajectory"])):
        np.testing.assert_allclose(w, w_ref, err_msg="%s: w after step %d" % (name, step + 1), **tol)
        np.testing.assert_allclose(b, b_ref, err_msg="%s: b after step %d" % (name, step + 1), **tol)
    # the same variables, in the same order, with the same names, dtypes and shapes
    got = [(strip_scope(v.path), v.dtype.name, list(v.shape)) for v in opt.variables]
    want = [(strip_scope(p), d, s) for p, d, s in ref["variables"]]
    assert got == want
    # and the slots end where TF's end
    finals = {strip_scope(p): v for p, v in ref["final_variables"].items()}
    for v in opt.variables:
        np.testing.assert_allclose(v.numpy(), finals[strip_scope(v.path)], err_msg=v.path, **tol)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_values_match_tensorflow(name):
    cls, kwargs = SCHEDULES[name]
    sched = getattr(gt.optimizers.schedules, cls)(**kwargs)
    got = [float(sched(s)) for s in SCHEDULE_STEPS]
    np.testing.assert_allclose(got, REFERENCE["schedules"][name], rtol=1e-6, atol=1e-9)
    # a step given as a variable (as the optimizer gives `iterations`) reads the same
    it = gt.Variable(np.int64(SCHEDULE_STEPS[3]), trainable=False)
    assert float(sched(it)) == got[3]


def test_schedule_is_read_before_the_step_increments_iterations():
    seen = []

    class Spy(gt.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            seen.append(int(step.numpy()))
            return gt.constant(0.1)

        def get_config(self):
            return {}

    opt = gt.optimizers.SGD(learning_rate=Spy())
    w = gt.Variable([1.0])
    for _ in range(3):
        opt.apply_gradients([(gt.constant([1.0]), w)])
    assert seen == [0, 1, 2]
    assert int(opt.iterations.numpy()) == 3
    np.testing.assert_allclose(w.numpy(), [0.7], rtol=1e-6)


def test_none_gradients_are_skipped_with_a_warning():
    w = gt.Variable([1.0, 2.0], name="w")
    b = gt.Variable(3.0, name="b")
    opt = gt.optimizers.SGD(learning_rate=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt.apply_gradients([(None, w), (gt.constant(1.0), b)])
    assert any("Gradients do not exist for variables" in str(c.message) and "w:0" in str(c.message) for c in caught)
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])
    assert float(b.numpy()) == 2.5
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        opt.apply_gradients([(None, w), (None, b)])


def test_minimize_with_a_callable_loss_and_with_a_tape():
    w = gt.Variable([1.0, -2.0])
    opt = gt.optimizers.SGD(learning_rate=0.1)
    opt.minimize(lambda: gt.reduce_sum(w * w), var_list=[w])
    np.testing.assert_allclose(w.numpy(), [0.8, -1.6], rtol=1e-6)
    with gt.GradientTape() as tape:
        loss = gt.reduce_sum(w * w)
    it = opt.minimize(loss, [w], tape=tape)
    np.testing.assert_allclose(w.numpy(), [0.64, -1.28], rtol=1e-6)
    assert int(it.numpy()) == 2
    opt.minimize(lambda: gt.reduce_sum(w * w), var_list=lambda: [w])
    np.testing.assert_allclose(w.numpy(), [0.512, -1.024], rtol=1e-6)
    with pytest.raises(ValueError, match="`tape` is required"):
        opt.minimize(gt.reduce_sum(w * w), [w])


def test_learning_rate_forms():
    w = gt.Variable([1.0])
    lr = gt.Variable(0.5)
    opt = gt.optimizers.SGD(learning_rate=lr)  # beyond Keras: a variable, read at every step
    opt.apply_gradients([(gt.constant([1.0]), w)])
    lr.assign(0.25)
    opt.apply_gradients([(gt.constant([1.0]), w)])
    np.testing.assert_allclose(w.numpy(), [0.25])
    opt = gt.optimizers.Adam(learning_rate=0.1)
    assert isinstance(opt.learning_rate, gt.Variable)
    opt.learning_rate = 0.2
    assert float(opt.learning_rate.numpy()) == pytest.approx(0.2)
    opt = gt.optimizers.SGD(learning_rate=lambda: 0.5)
    opt.apply_gradients([(gt.constant([1.0]), w)])
    np.testing.assert_allclose(w.numpy(), [-0.25])
    with pytest.raises(ValueError, match="should be float"):
        gt.optimizers.SGD(learning_rate=1)
    sched = gt.optimizers.Adam(learning_rate=gt.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9))
    with pytest.raises(TypeError, match="not settable"):
        sched.learning_rate = 0.1


def test_argument_errors_as_keras():
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm`"):
        gt.optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="momentum"):
        gt.optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="beta_1"):
        gt.optimizers.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="not recognized"):
        gt.optimizers.Adam(bogus=1)
    with pytest.raises(ValueError, match="decay_steps"):
        gt.optimizers.schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="1 less than"):
        gt.optimizers.schedules.PiecewiseConstantDecay([1, 2], [0.1])
    w = gt.Variable([1.0])
    opt = gt.optimizers.Adam()
    opt.apply_gradients([(gt.constant([1.0]), w)])
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply_gradients([(gt.constant([1.0]), gt.Variable([2.0]))])
    with pytest.raises(gt.errors.InvalidArgumentError, match="shape"):
        opt.apply_gradients([(gt.constant([1.0, 2.0]), w)])


def test_apply_without_variables_after_build_and_get_slot():
    w = gt.Variable([1.0, 2.0], name="w")
    opt = gt.optimizers.Adam(learning_rate=0.1)
    opt.build([w])
    assert [strip_scope(v.path) for v in opt.variables] == ["iteration", "learning_rate", "w_0_momentum",
                                                              "w_0_velocity"]
    opt.apply([gt.constant([1.0, 1.0])])
    assert opt.get_slot(w, "momentum") is opt.variables[2]
    np.testing.assert_allclose(opt.get_slot(w, "momentum").numpy(), [0.1, 0.1], rtol=1e-6)
    assert opt.get_slot_names() == ["momentum", "velocity"]
    np.testing.assert_allclose(w.numpy(), [0.9, 1.9], rtol=1e-5)


def test_variables_get_and_set_weights_round_trip():
    w = gt.Variable([1.0, 2.0], name="w")
    opt = gt.optimizers.RMSprop(momentum=0.5)
    opt.apply_gradients([(gt.constant([0.5, -0.5]), w)])
    saved = opt.get_weights()
    opt.apply_gradients([(gt.constant([0.5, -0.5]), w)])
    opt.set_weights(saved)
    for v, s in zip(opt.variables, saved):
        np.testing.assert_array_equal(v.numpy(), s)


def test_exclude_from_weight_decay():
    w = gt.Variable([1.0], name="kernel")
    bias = gt.Variable([1.0], name="bias")
    opt = gt.optimizers.SGD(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply_gradients([(gt.constant([0.0]), w), (gt.constant([0.0]), bias)])
    np.testing.assert_allclose(w.numpy(), [0.95])
    np.testing.assert_array_equal(bias.numpy(), [1.0])
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["x"])


def test_update_is_in_place_when_nothing_else_holds_the_value():
    w = gt.Variable(np.ones(1000, np.float32))
    opt = gt.optimizers.Adam()
    opt.apply_gradients([(gt.ones([1000]), w)])  # builds the slots
    m = opt.get_slot(w, "momentum")
    addr_w = w.numpy().__array_interface__["data"][0]
    addr_m = m.numpy().__array_interface__["data"][0]
    opt.apply_gradients([(gt.ones([1000]), w)])
    assert w.numpy().__array_interface__["data"][0] == addr_w
    assert m.numpy().__array_interface__["data"][0] == addr_m


def test_a_value_held_elsewhere_does_not_change():
    w = gt.Variable([1.0, 2.0])
    opt = gt.optimizers.Adam(learning_rate=0.5)
    opt.apply_gradients([(gt.constant([1.0, 1.0]), w)])
    held = w.read_value()
    view = w.numpy()
    m_held = opt.get_slot(w, "momentum").read_value()
    before, m_before = held.numpy().copy(), m_held.numpy().copy()
    opt.apply_gradients([(gt.constant([1.0, 1.0]), w)])
    np.testing.assert_array_equal(held.numpy(), before)
    np.testing.assert_array_equal(view, before)
    np.testing.assert_array_equal(m_held.numpy(), m_before)
    assert not np.array_equal(w.numpy(), before)
    # a value a tape saved is a snapshot too: the gradient is the one at the old value
    with gt.GradientTape() as tape:
        loss = gt.reduce_sum(w * w)
    at = w.numpy().copy()
    opt.apply_gradients([(gt.constant([1.0, 1.0]), w)])
    np.testing.assert_allclose(tape.gradient(loss, w).numpy(), 2 * at)


def test_big_updates_are_the_same_on_one_and_two_threads():
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(300_000).astype(np.float32)
    g = gt.constant(rng.standard_normal(300_000).astype(np.float32))
    results = []
    old = gt.config.get_num_threads()
    try:
        for n in (1, 2):
            gt.config.set_num_threads(n)
            w = gt.Variable(p0)
            opt = gt.optimizers.Nadam(learning_rate=0.01, global_clipnorm=10.0)
            for _ in range(3):
                opt.apply_gradients([(g, w)])
            results.append(w.numpy().copy())
    finally:
        gt.config.set_num_threads(old)
    np.testing.assert_array_equal(results[0], results[1])


def test_config_round_trip_and_get():
    opt = gt.optimizers.Adam(learning_rate=gt.optimizers.schedules.CosineDecay(0.1, 100), amsgrad=True)
    again = gt.optimizers.Adam.from_config(opt.get_config())
    assert again.amsgrad and isinstance(again._learning_rate, gt.optimizers.schedules.CosineDecay)
    assert isinstance(gt.optimizers.get("rmsprop"), gt.optimizers.RMSprop)
    assert isinstance(gt.optimizers.deserialize(gt.optimizers.serialize(opt)), gt.optimizers.Adam)


def test_float64_variables_and_gradients_cast_to_the_variable_dtype():
    w = gt.Variable(np.array([1.0, 2.0]))
    assert w.dtype == gt.float64
    gt.optimizers.SGD(learning_rate=0.5).apply_gradients([(gt.constant([1.0, 1.0], dtype=gt.float32), w)])
    np.testing.assert_array_equal(w.numpy(), [0.5, 1.5])


def test_slot_names_follow_keras_pattern():
    w = gt.Variable([1.0], name="dense/kernel")
    opt = gt.optimizers.Adamax()
    opt.build([w])
    names = [v.name for v in opt.variables]
    assert names[2:] == ["dense_kernel_0_momentum:0", "dense_kernel_0_norm:0"]
    assert all(re.match(r"adamax(_\d+)?/", v.path) for v in opt.variables)
