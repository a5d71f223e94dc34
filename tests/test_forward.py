"""gt.autodiff.ForwardAccumulator's semantics, modelled on TensorFlow's forwardprop tests and
checked against what TensorFlow 2.21 does (the expected values below are TF's answers): nests,
unconnected tangents, integer primals, variables, errors, re-entry, the two orders of nesting
with GradientTape, nested accumulators, stop_gradient, custom gradients, where, threads."""
import threading

import numpy as np
import pytest

import gradtape as gt
from gradtape.autodiff import ForwardAccumulator


def f32(*v):
    return gt.constant(np.array(v, dtype=np.float32))


def test_jvp_of_a_function_is_J_v():
    x = f32(1.0, 2.0)
    with ForwardAccumulator(x, f32(1.0, 0.5)) as acc:
        y = x * x * 3.0
    np.testing.assert_allclose(acc.jvp(y).numpy(), [6.0, 6.0])  # 6 x v


def test_jvp_of_nests_and_unconnected_modes():
    x = f32(1.0, 2.0)
    with ForwardAccumulator(x, f32(1.0, 1.0)) as acc:
        c = gt.constant(5.0) * 2.0
        y = x * 2.0
    out = acc.jvp({"a": c, "b": [y, x]})
    assert out["a"] is None
    np.testing.assert_array_equal(out["b"][0].numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(out["b"][1].numpy(), [1.0, 1.0])  # a primal's jvp is its tangent
    zero = acc.jvp(c, unconnected_gradients="zero")
    assert zero.shape == () and float(zero) == 0.0
    assert float(acc.jvp(c, unconnected_gradients=gt.UnconnectedGradients.ZERO)) == 0.0
    with pytest.raises(gt.errors.UnconnectedGradientsError):
        acc.jvp(c, unconnected_gradients="error")
    with pytest.raises(ValueError):
        acc.jvp(c, unconnected_gradients="bogus")


def test_jvp_inside_the_block_and_ops_after_it():
    x = f32(1.0, 2.0)
    with ForwardAccumulator(x, f32(1.0, 1.0)) as acc:
        y = x * x
        np.testing.assert_array_equal(acc.jvp(y).numpy(), [2.0, 4.0])
    z = x * 3.0  # after the block: not tracked (TensorFlow: None)
    assert acc.jvp(z) is None
    np.testing.assert_array_equal(acc.jvp(y).numpy(), [2.0, 4.0])


def test_integer_primals_carry_no_tangent():
    i = gt.constant(3)
    with ForwardAccumulator(i, gt.constant(1)) as acc:
        y = i * 2
    assert acc.jvp(y) is None
    x = f32(0.0, 4.0)
    with ForwardAccumulator(x, f32(1.0, 1.0)) as acc:
        y = gt.cast(gt.cast(x, gt.int32), gt.float32) * x  # the int path has no tangent
    np.testing.assert_array_equal(acc.jvp(y).numpy(), [0.0, 4.0])


def test_tangent_errors():
    x = f32(1.0, 2.0)
    with pytest.raises(ValueError, match="dtype"):
        ForwardAccumulator(x, gt.constant([1, 1]))
    with pytest.raises(ValueError, match="dtype"):
        ForwardAccumulator(x, gt.constant([1.0, 1.0], dtype=gt.float64))
    with pytest.raises(ValueError, match="shape"):  # (TensorFlow accepts it and fails later)
        ForwardAccumulator(x, f32(1.0))
    with pytest.raises(ValueError, match="structure"):
        ForwardAccumulator([x, gt.constant(1.0)], [f32(1.0, 1.0)])
    with pytest.raises(ValueError, match="twice"):
        ForwardAccumulator([x, x], [f32(1.0, 1.0), f32(1.0, 1.0)])
    with pytest.raises(ValueError):
        ForwardAccumulator(x, None)
    with pytest.raises(TypeError, match="tensors or variables"):
        ForwardAccumulator(1.0, 2.0)
    # A NumPy tangent takes the primal's dtype
    with ForwardAccumulator(x, np.array([1.0, 3.0])) as acc:
        y = x * 1.0
    assert acc.jvp(y).dtype == gt.float32
    np.testing.assert_array_equal(acc.jvp(y).numpy(), [1.0, 3.0])


def test_reentering_an_active_accumulator_raises_as_tensorflow():
    x = f32(1.0)
    acc = ForwardAccumulator(x, f32(1.0))
    with acc:
        with pytest.raises(ValueError, match="Accumulator is already recording."):
            with acc:
                pass
        y = x * 2.0
    np.testing.assert_array_equal(acc.jvp(y).numpy(), [2.0])
    with acc:  # entering again after it left is allowed (TensorFlow too)
        z = x * 5.0
    np.testing.assert_array_equal(acc.jvp(z).numpy(), [5.0])


def test_exception_inside_the_block_leaves_the_accumulator():
    x = f32(1.0)
    acc = ForwardAccumulator(x, f32(1.0))
    with pytest.raises(KeyError):
        with acc:
            raise KeyError("boom")
    y = x * 2.0
    assert acc.jvp(y) is None
    assert not gt._core.any_tape_recording()


def test_variables():
    v = gt.Variable([1.0, 2.0])
    with ForwardAccumulator(v, f32(1.0, 0.0)) as acc:
        y = v * v
    np.testing.assert_array_equal(acc.jvp(y).numpy(), [2.0, 0.0])
    np.testing.assert_array_equal(acc.jvp(v).numpy(), [1.0, 0.0])
    with ForwardAccumulator(v, f32(1.0, 0.0)) as acc:
        v.assign([3.0, 4.0])  # the tangent belongs to the variable, not to a value (TF: [6, 0])
        y = v * v
    np.testing.assert_array_equal(acc.jvp(y).numpy(), [6.0, 0.0])
    w = gt.Variable(1.0)
    with ForwardAccumulator(w, gt.constant(1.0)) as acc:
        pass
    with pytest.raises(ValueError, match="twice"):
        ForwardAccumulator([v, v], [f32(1.0, 0.0), f32(1.0, 0.0)])


def test_forward_over_reverse_is_a_hessian_vector_product():
    x = f32(1.0, 2.0)
    with ForwardAccumulator(x, f32(1.0, 0.0)) as acc:
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.reduce_sum(x ** 3)
        g = tape.gradient(y, x)
    np.testing.assert_array_equal(g.numpy(), [3.0, 12.0])
    np.testing.assert_array_equal(acc.jvp(g).numpy(), [6.0, 0.0])  # H v = diag(6 x) v


def test_a_tape_inside_does_not_see_the_tangent_computation():
    x = f32(0.0, 4.0)
    with ForwardAccumulator(x, f32(1.0, 1.0)) as acc:
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.reduce_sum(x ** 3)
            j = acc.jvp(y)
    assert tape.gradient(j, x) is None  # TensorFlow: None


def test_reverse_over_forward():
    x = f32(1.0, 2.0)
    with gt.GradientTape() as tape:
        tape.watch(x)
        with ForwardAccumulator(x, f32(1.0, 0.0)) as acc:
            y = gt.reduce_sum(x ** 3)
        j = acc.jvp(y)
    assert float(j) == 3.0
    np.testing.assert_array_equal(tape.gradient(j, x).numpy(), [6.0, 0.0])


def test_nested_accumulators_give_higher_derivatives():
    x = gt.constant(2.0, dtype=gt.float64)
    with ForwardAccumulator(x, gt.constant(1.0, dtype=gt.float64)) as a3:
        with ForwardAccumulator(x, gt.constant(1.0, dtype=gt.float64)) as a2:
            with ForwardAccumulator(x, gt.constant(1.0, dtype=gt.float64)) as a1:
                y = gt.sin(x) * x ** 4
            d1 = a1.jvp(y)
        d2 = a2.jvp(d1)
    d3 = a3.jvp(d2)
    s, c = np.sin(2.0), np.cos(2.0)
    np.testing.assert_allclose(float(d1), c * 16 + s * 32, rtol=1e-12)
    np.testing.assert_allclose(float(d2), -s * 16 + 2 * c * 32 + s * 48, rtol=1e-12)
    np.testing.assert_allclose(float(d3), -c * 16 - 3 * s * 32 + 3 * c * 48 + s * 48, rtol=1e-12)


def test_stop_gradient_stops_tangents():
    x = f32(1.0, 2.0)
    with ForwardAccumulator(x, f32(1.0, 0.0)) as acc:
        y = gt.stop_gradient(x) * x
        z = gt.stop_gradient(x * 2.0)
    np.testing.assert_array_equal(acc.jvp(y).numpy(), [1.0, 0.0])
    assert acc.jvp(z) is None


def test_custom_gradient_keeps_its_forward_jvp_and_falls_back_to_grad_fn():
    # TensorFlow 2.21: [2, 4], [100, 100], [2, 4] (the forward's jvp where it has one)
    x = f32(1.0, 2.0)

    @gt.custom_gradient
    def differentiable(x):
        return x * x, lambda g: g * 100.0

    @gt.custom_gradient
    def stopped(x):
        return gt.stop_gradient(x * x), lambda g: g * 100.0

    @gt.custom_gradient
    def mixed(x):
        return x * x + gt.stop_gradient(x) * 3.0, lambda g: g * 100.0

    @gt.custom_gradient
    def through_numpy(x):
        return gt.constant(x.numpy() ** 2), lambda g: g * 100.0

    with ForwardAccumulator(x, f32(1.0, 1.0)) as acc:
        ys = [differentiable(x), stopped(x), mixed(x), through_numpy(x)]
    got = [acc.jvp(y).numpy().tolist() for y in ys]
    assert got == [[2.0, 4.0], [100.0, 100.0], [2.0, 4.0], [100.0, 100.0]]


def test_custom_gradient_fallback_transposes_a_non_diagonal_grad_fn():
    # grad_fn(g) = A^T g (f(x) = A x computed off the record): J t = A t
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    x = gt.constant([1.0, -1.0], dtype=gt.float64)

    @gt.custom_gradient
    def f(x):
        return gt.constant(a @ x.numpy()), lambda g: gt.linalg.matvec(gt.constant(a.T), g)

    with ForwardAccumulator(x, gt.constant([1.0, 2.0], dtype=gt.float64)) as acc:
        y = f(x)
    np.testing.assert_allclose(acc.jvp(y).numpy(), a @ [1.0, 2.0])


def test_where_with_a_poisoned_branch_gives_a_finite_tangent():
    x = f32(0.0, 4.0)
    for fn, expected in [(lambda x: gt.where(x > 0, gt.sqrt(x), 0.0), [0.0, 0.25]),
                         (lambda x: gt.where(x > 0, x * gt.math.log(x), 0.0), [0.0, np.log(4.0) + 1]),
                         (lambda x: gt.where(x > 0, 1.0 / x, 0.0), [0.0, -0.0625])]:
        with ForwardAccumulator(x, f32(1.0, 1.0)) as acc:
            y = fn(x)
        np.testing.assert_allclose(acc.jvp(y).numpy(), expected, rtol=1e-6)


def test_accumulators_belong_to_their_thread():
    x = f32(1.0)
    seen = {}

    def other():
        seen["y"] = x * 2.0

    with ForwardAccumulator(x, f32(1.0)) as acc:
        t = threading.Thread(target=other)
        t.start()
        t.join()
        mine = x * 2.0
    assert acc.jvp(seen["y"]) is None
    np.testing.assert_array_equal(acc.jvp(mine).numpy(), [2.0])


def test_tangents_die_with_their_tensors():
    import gc
    x = gt.constant(np.ones(1000, dtype=np.float32))
    gc.collect()
    before = gt._core.live_tensors()
    for _ in range(3):
        with ForwardAccumulator(x, gt.ones_like(x)) as acc:
            y = gt.tanh(x) * x
        assert acc.jvp(y) is not None
        del y, acc
    gc.collect()
    # x keeps the last accumulators' tangents (as it keeps its own value); nothing else lives
    assert gt._core.live_tensors() - before <= 3


def test_a_primal_that_is_its_own_tangent_is_freed():
    import gc
    gc.collect()
    before = gt._core.live_tensors()
    x = gt.constant([1.0, 2.0])
    with ForwardAccumulator(x, x) as acc:
        y = x * 3.0
    np.testing.assert_array_equal(acc.jvp(y).numpy(), [3.0, 6.0])
    del x, y, acc
    gc.collect()
    assert gt._core.live_tensors() == before


def test_autodiff_gradient_tape_is_the_tape():
    assert gt.autodiff.GradientTape is gt.GradientTape


def test_hvp_helper():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    h = a @ a.T
    x = gt.constant(rng.normal(size=4))
    v = rng.normal(size=4)
    f = lambda x: 0.5 * gt.reduce_sum(x * gt.linalg.matvec(gt.constant(h), x)) + gt.reduce_sum(x)  # noqa: E731
    np.testing.assert_allclose(gt.autodiff.hvp(f, x, gt.constant(v)).numpy(), h @ v, rtol=1e-12)
    # several primals, one unused: zeros
    y = gt.constant([1.0, 2.0], dtype=gt.float64)
    out = gt.autodiff.hvp(lambda x, y: gt.reduce_sum(x ** 3), [x, y], [gt.constant(v), gt.constant([1.0, 1.0], dtype=gt.float64)])
    np.testing.assert_allclose(out[0].numpy(), 6 * x.numpy() * v, rtol=1e-12)
    np.testing.assert_array_equal(out[1].numpy(), [0.0, 0.0])


def test_hvp_of_variables():
    w = gt.Variable([1.0, 2.0], dtype=gt.float64)
    out = gt.autodiff.hvp(lambda w: gt.reduce_sum(w ** 4), [w], [gt.constant([1.0, 1.0], dtype=gt.float64)])
    np.testing.assert_allclose(out[0].numpy(), [12.0, 48.0])


def test_check_jvp_catches_a_wrong_forward_derivative():
    with pytest.raises(gt.test.GradientCheckError):
        gt.test.check_jvp(lambda x: gt.stop_gradient(x) * x, [np.array([1.0, 2.0])])

    @gt.custom_gradient
    def wrong(x):
        return gt.stop_gradient(x * x), lambda g: g * 3.0

    with pytest.raises(gt.test.GradientCheckError):
        gt.test.check_jvp(wrong, [np.array([1.0, 2.0])])


# ---- Jacobians choose their direction ----

def tall_problem(seed=0):
    rng = np.random.default_rng(seed)
    w = gt.constant(rng.normal(size=(200, 8)))
    x = gt.constant(rng.normal(size=(8, 1)))
    return w, x


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_tall_jacobian_is_the_same_in_every_mode(mode):
    w, x = tall_problem()
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = gt.tanh(gt.matmul(w, x))
    jac = tape.jacobian(y, x, experimental_mode=mode)
    expected = (1 - np.tanh(w.numpy() @ x.numpy()) ** 2) * w.numpy()  # [200, 8]
    # (1 - tanh^2 near tanh = 1 loses relative digits to one ulp of tanh: an absolute floor)
    np.testing.assert_allclose(jac.numpy().reshape(200, 8), expected, rtol=1e-12, atol=1e-14)


def test_batch_jacobian_forward_and_reverse_agree():
    rng = np.random.default_rng(1)
    x = gt.constant(rng.normal(size=(5, 2)))
    w = gt.constant(rng.normal(size=(2, 30)))
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = gt.sin(gt.matmul(x, w)) * gt.reduce_sum(x, axis=1, keepdims=True)
    results = [tape.batch_jacobian(y, x, experimental_mode=m).numpy() for m in ("auto", "forward", "reverse")]
    assert results[0].shape == (5, 30, 2)
    np.testing.assert_allclose(results[0], results[2], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(results[1], results[2], rtol=1e-12, atol=1e-14)


def test_forward_jacobian_and_custom_gradients():
    @gt.custom_gradient
    def double(x):
        return x * 2.0, lambda g: g * 2.0

    x = gt.constant([1.0, 2.0])
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = gt.concat([double(x), x, x], axis=0)
    # auto takes reverse mode (a custom gradient has no rule the tape can replay forward)
    np.testing.assert_array_equal(tape.jacobian(y, x).numpy()[:2], [[2.0, 0.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="custom_gradient"):
        tape.jacobian(y, x, experimental_mode="forward")
    with pytest.raises(ValueError, match="experimental_mode"):
        tape.jacobian(y, x, experimental_mode="sideways")


def test_forward_jacobian_of_an_unconnected_source():
    x, z = gt.constant([1.0]), gt.constant([2.0, 3.0])
    with gt.GradientTape(persistent=True) as tape:
        tape.watch([x, z])
        y = gt.concat([x, x, x], axis=0) * 2.0
    jx, jz = tape.jacobian(y, [x, z], experimental_mode="forward")
    np.testing.assert_array_equal(jx.numpy(), [[2.0], [2.0], [2.0]])
    assert jz is None
    jz0 = tape.jacobian(y, z, unconnected_gradients="zero", experimental_mode="forward")
    assert jz0.shape == (3, 2) and not jz0.numpy().any()
