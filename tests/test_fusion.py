"""Elementwise fusion (cpp/src/fusion.h): big elementwise ops are deferred and computed in one
pass when first read. Every result must equal, bit for bit, what eager evaluation gives; these
tests run each expression both ways and compare, and check that fusion really engaged."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import gradtape as gt
from gradtape import _core

N = 3 * 65536 + 37  # above the deferral threshold (65,536 elements), with a ragged tail


@pytest.fixture(autouse=True)
def fusion_on():
    was = gt.config.fusion_enabled()
    gt.config.set_fusion(True)
    yield
    gt.config.set_fusion(was)


def data(dtype, n=N, seed=0, positive=False):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(n)
    if positive:
        v = np.abs(v) + 0.5
    return gt.constant(v.astype(dtype))


def both_ways(fn):
    """fn() evaluated with fusion on and off; the results as NumPy arrays."""
    gt.config.set_fusion(True)
    fused = fn()
    gt.config.set_fusion(False)
    eager = fn()
    gt.config.set_fusion(True)
    as_np = lambda r: [np.asarray(t.numpy() if hasattr(t, "numpy") else t) for t in (r if isinstance(r, (list, tuple)) else [r])]
    return as_np(fused), as_np(eager)


def assert_bitwise(fused, eager):
    assert len(fused) == len(eager)
    for f, e in zip(fused, eager):
        assert f.dtype == e.dtype and f.shape == e.shape
        np.testing.assert_array_equal(f, e)  # NaN == NaN here; everything else exact


EXPRESSIONS = {
    "affine": lambda a, b, c: a * b + c,
    "softplus_of_affine": lambda a, b, c: gt.nn.softplus(a * b + 0.25),
    "exp_times_minus_half": lambda a, b, c: gt.exp(a) * b - c / 2.0,
    "two_costly_ops": lambda a, b, c: gt.sigmoid(a) * gt.tanh(b),
    "square_by_product": lambda a, b, c: a * a,
    "long_cheap_chain": lambda a, b, c: ((a + b) * (a - b) * (a + 1.0) * (b + 2.0) - c) * (c + 3.0) / (b * b + 1.0),
    "abs_neg_square": lambda a, b, c: -gt.abs(a) + gt.square(b),
    "max_min": lambda a, b, c: gt.maximum(a, b) - gt.minimum(b, c),
    "pow": lambda a, b, c: gt.pow(gt.abs(a) + 1.0, b),
    "sin_chain": lambda a, b, c: gt.sin(gt.sin(gt.sin(gt.sin(gt.sin(a))))),
    "reused_intermediate": lambda a, b, c: [(gt.exp(a) * k) for k in (1.0, 2.0, 3.0, 4.0, 5.0)],
    "scalar_tensor_operand": lambda a, b, c: a * gt.constant(np.asarray(3.0, a.dtype.as_numpy_dtype)) + 1.0,
    "broadcast_scalar_fill": lambda a, b, c: gt.broadcast_to(gt.constant(np.asarray(0.5, a.dtype.as_numpy_dtype)), [N]) * a,
    "exp_of_fill": lambda a, b, c: gt.exp(gt.broadcast_to(gt.constant(np.asarray(0.5, a.dtype.as_numpy_dtype)), [N])),
    "relu_log1p": lambda a, b, c: gt.math.log1p(gt.nn.relu(a)) + b,
    "sum_of_deferred": lambda a, b, c: gt.reduce_sum(gt.nn.softplus(a * b + c)),
    "max_of_deferred": lambda a, b, c: gt.reduce_max(a * b + c),
    "axis_sum_of_deferred": lambda a, b, c: gt.reduce_sum(gt.reshape(a * b, [N // 1, 1]), axis=1),
    "reshape_of_deferred": lambda a, b, c: gt.reshape(a + b, [1, N]) * 2.0,
    "nan_and_inf": lambda a, b, c: gt.math.log(a) * gt.constant(np.full(N, np.inf, a.dtype.as_numpy_dtype)),
    "where_of_deferred_branches": lambda a, b, c: gt.where(a > b, a * b + 1.0, gt.exp(c) - 2.0) * 3.0,
    "where_with_a_scalar_branch": lambda a, b, c: gt.where(a > 0.0, a * b, gt.zeros_like(a)[0]),
    "where_with_a_scalar_condition": lambda a, b, c: gt.where(gt.constant(True), a + b, c),
    "where_same_branch": lambda a, b, c: gt.where(a > c, a + b, a + b),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_fused_values_equal_eager_bit_for_bit(name, dtype):
    a, b, c = data(dtype, seed=1), data(dtype, seed=2), data(dtype, seed=3)
    fused, eager = both_ways(lambda: EXPRESSIONS[name](a, b, c))
    assert_bitwise(fused, eager)


def test_deferral_engages_only_for_big_float_elementwise():
    a, b = data(np.float32), data(np.float32, seed=1)
    y = a * b + 1.0
    assert _core._is_deferred(y)
    y.numpy()
    assert not _core._is_deferred(y)  # computed once, then stored
    assert not _core._is_deferred(data(np.float32, n=1000) * 2.0)  # small: eager
    ints = gt.constant(np.arange(N, dtype=np.int32))
    assert not _core._is_deferred(ints + 1)  # integers: eager
    gt.config.set_fusion(False)
    assert not _core._is_deferred(a * b)


def test_a_costly_program_is_recomputed_at_most_once_more():
    a = data(np.float32)
    e = gt.exp(a)
    assert _core._is_deferred(e)
    first = e * 2.0  # inlines exp(a): the one recomputation allowed for a costly program
    assert _core._is_deferred(e)
    second = e * 3.0  # the next consumer computes e and reads it
    assert not _core._is_deferred(e)
    want = np.exp(a.numpy())
    np.testing.assert_allclose(first.numpy(), want * 2, rtol=1e-6)
    np.testing.assert_allclose(second.numpy(), want * 3, rtol=1e-6)


def test_a_gradients_results_over_the_same_elements_are_computed_together():
    x, w = data(np.float32), data(np.float32, seed=1)
    b = gt.constant(np.float32(0.25))
    with gt.GradientTape() as tape:
        tape.watch([x, w, b])
        t = x * w + b
        loss = gt.reduce_sum(gt.nn.softplus(t))
    gx, gw, gb = tape.gradient(loss, [x, w, b])
    # the sweep is a batch: (g w, g x, sum g) are computed in one pass at its end
    assert not any(_core._is_deferred(g) for g in (gx, gw, gb))


def w4_like(x, w, b):
    with gt.GradientTape() as tape:
        tape.watch([x, w, b])
        loss = gt.reduce_sum(gt.nn.softplus(x * w + b))
    return [loss] + tape.gradient(loss, [x, w, b])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_equal_eager_bit_for_bit(dtype):
    x, w = data(dtype), data(dtype, seed=1)
    b = gt.constant(np.asarray(0.25, dtype))
    assert_bitwise(*both_ways(lambda: w4_like(x, w, b)))

    def chain():
        with gt.GradientTape() as tape:
            tape.watch([x, w])
            y = gt.tanh(x * w) * gt.exp(-gt.square(x)) + gt.sigmoid(w) * x
            loss = gt.reduce_sum(y * y)
        return tape.gradient(loss, [x, w])
    assert_bitwise(*both_ways(chain))

    def deferred_g_into_multiply():  # multiply's rule computes a deferred g inside its pass
        with gt.GradientTape() as tape:
            tape.watch([x, w])
            loss = gt.reduce_sum(gt.nn.softplus(x * w))
        return tape.gradient(loss, [x, w])
    assert_bitwise(*both_ways(deferred_g_into_multiply))


def test_second_order_equal_eager_bit_for_bit():
    x, w = data(np.float64), data(np.float64, seed=1)

    def hvp():
        with gt.GradientTape() as outer:
            outer.watch(x)
            with gt.GradientTape() as inner:
                inner.watch(x)
                loss = gt.reduce_sum(gt.nn.softplus(x * w) * x)
            g = inner.gradient(loss, x)
            gv = gt.reduce_sum(g * w)
        return [g, outer.gradient(gv, x)]
    fused, eager = both_ways(hvp)
    assert_bitwise(fused, eager)
    # and it is the right answer: d/dx sum(w * (s(xw) + x w sig(xw)))
    xn, wn = x.numpy(), w.numpy()
    u = xn * wn
    sig = 1 / (1 + np.exp(-u))
    want = wn * (2 * sig * wn + xn * wn * wn * sig * (1 - sig))
    np.testing.assert_allclose(fused[1], want, rtol=1e-10, atol=1e-12)


def test_a_variable_read_into_a_deferred_value_keeps_its_old_value():
    v = gt.Variable(np.ones(N, np.float32))
    y = v * 2.0  # deferred: a program over v's current value
    assert _core._is_deferred(y)
    v.assign_add(np.ones(N, np.float32))  # must not write under y
    np.testing.assert_array_equal(y.numpy(), np.full(N, 2.0, np.float32))
    np.testing.assert_array_equal(v.numpy(), np.full(N, 2.0, np.float32))


def test_a_variable_assigned_a_deferred_value():
    a = data(np.float32)
    v = gt.Variable(np.zeros(N, np.float32))
    v.assign(a * 2.0 + 1.0)
    np.testing.assert_array_equal(v.numpy(), a.numpy() * np.float32(2.0) + np.float32(1.0))
    v.assign_sub(a * 2.0)
    np.testing.assert_array_equal(v.numpy(), (a.numpy() * np.float32(2.0) + np.float32(1.0)) - a.numpy() * np.float32(2.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_an_update_by_a_deferred_value_computes_it_inside_its_pass(dtype, threads):
    # v.assign_sub(g * lr) (an SGD step) computes g * lr chunk by chunk in the update's own
    # pass (variable.cpp): the values are those of the stored product, in place or copy on
    # write, and the product stays readable afterwards
    was = gt.config.get_num_threads()
    gt.config.set_num_threads(threads)
    try:
        g, w0 = data(dtype, seed=3), data(dtype, seed=4)
        lr = 0.01
        step = g * lr
        assert _core._is_deferred(step)
        want_step = g.numpy() * dtype(lr)
        v = gt.Variable(w0.numpy())
        v.assign_sub(step)
        np.testing.assert_array_equal(v.numpy(), w0.numpy() - want_step)
        v.assign_add(g * lr)
        np.testing.assert_array_equal(v.numpy(), (w0.numpy() - want_step) + want_step)
        np.testing.assert_array_equal(step.numpy(), want_step)
        view = v.numpy()  # shares the buffer: the next update writes a new one
        before = view.copy()
        v.assign_sub(gt.exp(g) * lr)  # a costly program, also computed in the pass
        np.testing.assert_array_equal(view, before)
        np.testing.assert_array_equal(v.numpy(), before - (gt.exp(g) * lr).numpy())  # (gt's exp, stored)
    finally:
        gt.config.set_num_threads(was)


def test_threads_reading_one_deferred_tensor_agree():
    a, b = data(np.float32), data(np.float32, seed=1)
    want = (gt.exp(a) * b).numpy().copy()
    for _ in range(20):
        y = gt.exp(a) * b
        out = [None] * 8
        go = threading.Barrier(8)

        def read(i):
            go.wait()
            out[i] = y.numpy()
        ts = [threading.Thread(target=read, args=(i,)) for i in range(8)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        for r in out:
            np.testing.assert_array_equal(r, want)
        assert len({r.ctypes.data for r in out}) == 1  # computed once, one buffer


def test_deferred_tensors_are_freed():
    a, b = data(np.float32), data(np.float32, seed=1)
    base = _core.live_tensors()
    for _ in range(50):
        y = gt.nn.softplus(a * b + 1.0) * 2.0
        z = gt.reduce_sum(y)
        del y, z
    assert _core.live_tensors() == base


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_computes_a_deferred_tensor():
    code = (
        "import os, numpy as np, gradtape as gt\n"
        f"a = gt.constant(np.arange({N}, dtype=np.float32))\n"
        "y = a * 2.0 + 1.0\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    ok = bool(np.array_equal(y.numpy(), np.arange(y.shape[0], dtype=np.float32) * 2 + 1))\n"
        "    os._exit(0 if ok else 3)\n"
        "_, st = os.waitpid(pid, 0)\n"
        "raise SystemExit(os.waitstatus_to_exitcode(st))\n")
    r = subprocess.run([sys.executable, "-c", code], timeout=120)
    assert r.returncode == 0


def test_environment_switch_turns_fusion_off():
    code = "import gradtape as gt; print(gt.config.fusion_enabled())"
    env = dict(os.environ, GRADTAPE_NO_FUSION="1")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "False"


# Every op that can be deferred (the float_unary / numeric_unary / numeric_binary helpers of
# cpp/src/ops_elementwise.cpp), fused vs eager, values and gradients, on inputs in each op's
# domain: a deferred op must be the same function as its eager kernel, bit for bit.
DEFERRABLE_UNARY = ["abs", "cos", "exp", "expm1", "floor", "log", "log1p", "negative", "reciprocal",
                    "relu", "rsqrt", "sigmoid", "sign", "sin", "softplus", "sqrt", "square", "tan", "tanh"]
DEFERRABLE_BINARY = ["add", "divide", "floordiv", "floormod", "maximum", "minimum", "multiply", "pow",
                     "subtract"]
POSITIVE_DOMAIN = {"log", "log1p", "rsqrt", "sqrt", "reciprocal", "pow"}


def op_named(name):
    for ns in (gt, gt.math, gt.nn):
        if hasattr(ns, name):
            return getattr(ns, name)
    raise AttributeError(name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", DEFERRABLE_UNARY + DEFERRABLE_BINARY)
def test_every_deferrable_op_fused_equals_eager(name, dtype):
    f = op_named(name)
    positive = name in POSITIVE_DOMAIN
    x = data(dtype, seed=5, positive=positive)
    y = data(dtype, seed=6, positive=positive)
    w = data(dtype, seed=7)
    binary = name in DEFERRABLE_BINARY

    def run():
        with gt.GradientTape() as tape:
            tape.watch([x, y])
            # an inlined producer (x * 1.5 + 0.25 for x) and a consumer, around the op
            u = x * 1.5 + 0.25 if not positive else x * 1.5
            out = f(u, y) if binary else f(u)
            loss = gt.reduce_sum(out * w)
        grads = tape.gradient(loss, [x, y] if binary else [x])
        return [out, loss] + [g for g in grads if g is not None]
    fused, eager = both_ways(run)
    assert_bitwise(fused, eager)
    if name not in ("floor", "sign", "floordiv"):  # piecewise constant: no gradient to compare
        assert len(fused) == (4 if binary else 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_where_and_structural_zeros_fused_equal_eager(dtype):
    """The seed's where-softplus on big inputs: where() becomes a select in a deferred program,
    and structural zeros enforce their masks with where(): values, gradients and the
    NaN-free positions must match eager evaluation bit for bit."""
    x = gt.constant((np.random.default_rng(8).standard_normal(N) * 40).astype(dtype))

    def run():
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.where(x > 30.0, x, gt.math.log(gt.exp(x) + 1.0))
            loss = gt.reduce_sum(y)
        return [y, loss, tape.gradient(loss, x)]
    fused, eager = both_ways(run)
    assert_bitwise(fused, eager)
    assert np.isfinite(fused[2]).all()  # structural zeros: no NaN where exp overflowed
    assert _core._is_deferred(gt.where(x > 0.0, x * 2.0, x))


def test_a_computed_tensor_lets_go_of_its_inputs():
    """Once computed, a deferred tensor drops its program and the leaves it held: rebinding a
    name in a loop must not build a chain of live tensors (nor a recursive free at the end)."""
    x = data(np.float32)
    base = _core.live_tensors()
    y = x
    for _ in range(50):
        y = gt.exp(y * 0.5) * 0.5
        y.numpy()
    assert _core.live_tensors() - base < 10
    del y
    assert _core.live_tensors() == base


# ---- batches: a gt.function run and a gradient's sweep compute their deferred results together ----
# (fusion.h, "Batch"): full reductions of deferred tensors are deferred too, costly programs are
# inlined like cheap ones, and the results over the same elements are computed in one pass,
# each common instruction once. The values must still be eager's, bit for bit.

BATCHES = {
    "loss_and_gradients": lambda a, b, c: w4_like(a, b, gt.reduce_sum(c[:1])),
    "mean_loss_and_gradients": lambda a, b, c: mean_loss_grads(a, b, c),
    "one_costly_value_five_ways": lambda a, b, c: [gt.exp(a) * k for k in (1.0, 2.0, 3.0)] + [gt.reduce_sum(gt.exp(a)), gt.reduce_max(gt.exp(a) - b)],
    "reductions_only": lambda a, b, c: [gt.reduce_sum(a * b), gt.reduce_min(a - b), gt.reduce_prod(gt.sigmoid(a) + 0.5)],
    "a_reduction_read_in_the_run": lambda a, b, c: [a * gt.reduce_sum(a * b), gt.reduce_sum(a + b) * 2.0, b - c],
    "a_reduction_of_a_fill": lambda a, b, c: [gt.reduce_sum(gt.broadcast_to(c[0], [N])), a * 2.0, a * 3.0],
    "one_result_twice": lambda a, b, c: [gt.sigmoid(a * b)] * 2 + [gt.reduce_sum(gt.sigmoid(a * b))],
    # softplus(z) and sigmoid(z) of one z run as one loop (fusion.h, register_pair), in either
    # order, over underflow (|z| ~ 100s), overflow (+-inf) and a broadcast z
    "softplus_sigmoid_pairs": lambda a, b, c: [
        gt.sigmoid(a * 60.0), gt.nn.softplus(a * 60.0),
        gt.nn.softplus(b * 1e300 * 1e10), gt.sigmoid(b * 1e300 * 1e10),
        gt.nn.softplus(gt.broadcast_to(c[0], [N]) * 3.0), gt.sigmoid(gt.broadcast_to(c[0], [N]) * 3.0) * b],
    "selects": lambda a, b, c: [gt.where(a > b, a * b, gt.exp(c)), gt.reduce_sum(gt.where(a > b, a * b, gt.exp(c))), gt.where(a > b, c, b)],
    "other_sizes_apart": lambda a, b, c: [a * b, a + b, (a * b)[: N // 2] * 2.0, (a + b)[: N // 2] - 1.0],
    "keepdims_and_axis": lambda a, b, c: [gt.reduce_sum(a * b, keepdims=True), gt.reduce_sum(a * b, axis=0), a - b],
    # slices at odd offsets as leaves (of the offsets no multiple of a vector) under costly ops,
    # which a batch pass calls on parts of each chunk (fusion.cpp, prefetch slices)
    "costly_ops_of_offset_slices": lambda a, b, c: [
        gt.exp(a[1:N - 4] * 0.5), gt.tanh(b[3:N - 2]) + 1.0, gt.reduce_sum(gt.nn.softplus(a[1:N - 4] - b[3:N - 2])),
        gt.sigmoid(a[1:N - 4] - b[3:N - 2]) * c[5:]],
    # (more reductions than one pass computes: 8 a pass)
    "twenty_reductions_and_two_results": lambda a, b, c: [gt.reduce_sum(a * float(k)) for k in range(1, 21)] + [a * b, a - b],
}


def mean_loss_grads(a, b, c):
    with gt.GradientTape() as tape:
        tape.watch([a, b])
        loss = gt.reduce_mean(gt.nn.softplus(a * b - c))
    return [loss] + tape.gradient(loss, [a, b])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(BATCHES))
def test_a_batchs_results_equal_eager_bit_for_bit(name, dtype):
    a, b, c = data(dtype, seed=1), data(dtype, seed=2), data(dtype, seed=3)
    f = gt.function(lambda a, b, c: BATCHES[name](a, b, c))
    f(a, b, c)  # the trace
    f(a, b, c)  # a replay (with a gradient plan where the body has a tape)
    traced, eager = both_ways(lambda: f(a, b, c))
    _, unfused = both_ways(lambda: BATCHES[name](a, b, c))
    assert_bitwise(traced, unfused)
    assert_bitwise(eager, unfused)


# A one-element tensor broadcast to a big shape (broadcast_to's fill) stands for stored copies:
# each op on it must compute each element with eager's loop over the copies, in a deferred
# program, a batch and a trace too. (A fill was read at stride 0, where the loop computed f(v)
# once with the scalar libm function while eager's loop over the copies calls libmvec's vector
# variant: up to all but the tail differed in the last bit, for most values v.)
FILL_VALUES = [0.03, 0.2, 0.7, 1.3, 2.9, 7.5, 19.0, 42.0, -0.5, -1.75, -22.5, -29.5]  # (each differed somewhere)
OF_A_FILL = {
    "exp": lambda f, a: gt.exp(f),
    "log": lambda f, a: gt.math.log(f),
    "tanh": lambda f, a: gt.tanh(f),
    "softplus": lambda f, a: gt.nn.softplus(f),
    "sigmoid": lambda f, a: gt.sigmoid(f),
    "sin": lambda f, a: gt.sin(f),
    "cos": lambda f, a: gt.cos(f),
    "log1p": lambda f, a: gt.math.log1p(f),
    "expm1": lambda f, a: gt.math.expm1(f),
    "sqrt": lambda f, a: gt.sqrt(f),
    "softplus_sigmoid_pair": lambda f, a: [gt.nn.softplus(f), gt.sigmoid(f), a * 2.0],
    "pow_of_two_fills": lambda f, a: gt.pow(f, gt.broadcast_to(gt.constant(np.asarray(1.7, f.dtype.as_numpy_dtype)), [N])),
    "xlogy_of_a_fill": lambda f, a: gt.math.xlogy(a, f),
    "exp_of_a_fill_times_a": lambda f, a: gt.exp(f) * a,
}


def as_list(r):
    return r if isinstance(r, list) else [r]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OF_A_FILL))
def test_ops_of_a_fill_equal_eager_bit_for_bit(name, dtype):
    a = data(dtype, seed=1)
    c = gt.constant(np.asarray(FILL_VALUES, dtype))
    body = lambda c, a: [r for k in range(len(FILL_VALUES)) for r in as_list(OF_A_FILL[name](gt.broadcast_to(c[k], [N]), a))]
    f = gt.function(body)
    f(c, a)
    traced, fused = both_ways(lambda: f(c, a))
    fused_eager, unfused = both_ways(lambda: body(c, a))
    assert_bitwise(traced, unfused)
    assert_bitwise(fused, unfused)
    assert_bitwise(fused_eager, unfused)


def test_a_runs_loss_and_gradients_come_out_of_one_pass():
    x, w = data(np.float32), data(np.float32, seed=1)
    b = gt.constant(np.float32(0.25))
    f = gt.function(w4_like)
    for _ in range(3):
        out = f(x, w, b)
        # the loss, a reduction deferred in the run, was computed with the gradients
        assert not any(_core._is_deferred(t) for t in out)
    gt.config.set_fusion(False)
    assert_bitwise([t.numpy() for t in out], [t.numpy() for t in w4_like(x, w, b)])


def test_a_runs_deferred_reduction_is_computed_before_the_run_returns():
    a, b = data(np.float64), data(np.float64, seed=1)
    inside = gt.function(lambda a, b: gt.reduce_sum(gt.exp(a) * b) * 2.0)  # (read in the run)
    alone = gt.function(lambda a, b: gt.reduce_sum(gt.exp(a) * b))
    want = gt.reduce_sum(gt.exp(a) * b).numpy()  # eager
    for f, k in ((inside, 2.0), (alone, 1.0)):
        f(a, b)
        s = f(a, b)
        # (deferred in the run, with no partner: computed as the run ends, so that it never
        # holds its operands, a variable's value say, past the call)
        assert not _core._is_deferred(s)
        assert s.shape == [] and s.dtype == gt.float64
        assert float(s) == float(want * k)
    # inside a run, a deferred reduction read by a small op, or reshaped
    g = gt.function(lambda a, b: [gt.reduce_sum(a * b) + 1.0, gt.reshape(gt.reduce_sum(a - b), [1, 1])])
    g(a, b)
    got = g(a, b)
    np.testing.assert_array_equal(got[0].numpy(), gt.reduce_sum(a * b).numpy() + 1.0)
    np.testing.assert_array_equal(got[1].numpy(), np.full((1, 1), gt.reduce_sum(a - b).numpy()))


def test_batched_results_of_two_dtypes_are_computed_apart():
    a32, b32 = data(np.float32), data(np.float32, seed=1)
    a64, b64 = data(np.float64), data(np.float64, seed=1)
    body = lambda a, b, c, d: [a * b, gt.reduce_sum(a - b), c * d, gt.reduce_sum(c - d)]
    f = gt.function(body)
    f(a32, b32, a64, b64)
    traced = [t.numpy() for t in f(a32, b32, a64, b64)]
    gt.config.set_fusion(False)
    assert_bitwise(traced, [t.numpy() for t in body(a32, b32, a64, b64)])


def test_threads_running_one_batched_function_agree():
    x, w = data(np.float32), data(np.float32, seed=1)
    b = gt.constant(np.float32(0.25))
    f = gt.function(w4_like)
    want = [t.numpy().copy() for t in f(x, w, b)]
    out = [None] * 4
    go = threading.Barrier(4)

    def run(i):
        go.wait()
        out[i] = [t.numpy() for t in f(x, w, b)]
    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in out:
        assert_bitwise(got, want)


def test_batches_switched_off_give_the_same_values():
    x, w = data(np.float32), data(np.float32, seed=1)
    b = gt.constant(np.float32(0.25))
    f = gt.function(w4_like)
    on = [t.numpy() for t in f(x, w, b)]
    was = _core._fusion_batches_enabled()
    _core._set_fusion_batches(False)
    try:
        assert not _core._fusion_batches_enabled()
        off = [t.numpy() for t in f(x, w, b)]
        s = gt.function(lambda a: gt.reduce_sum(gt.exp(a)))
        s(x)
        assert not _core._is_deferred(s(x))  # no batch: the sum is computed in the run
    finally:
        _core._set_fusion_batches(was)
    assert_bitwise(on, off)


# A batch pass reduces each chunk as it computes it, while it is in L1, each block's 16 lanes
# carried from chunk to chunk (kernels::reduce_row_feed): the association must stay reduce_row's
# over the whole block (blocks of 32,768 elements, chunks of 4 KiB). Sizes whose last block is
# shorter than 32 (reduce_row's one chain), ends mid-chunk with a tail after its lanes' body, or
# is whole. (float64 is the telling case: a float32 sum is accumulated in double and rounded to
# float, which hides a changed association almost always.)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [2 * 32768 + 17, 3 * 32768 + 1005, 4 * 32768])
def test_a_passs_reductions_chunk_by_chunk_equal_unfused_bit_for_bit(n, dtype):
    rng = np.random.default_rng(7)
    x = gt.constant((rng.standard_normal(n) * 1e3).astype(dtype))
    w = gt.constant(rng.standard_normal(n).astype(dtype))
    b = gt.constant(np.asarray(0.25, dtype))

    def body(x, w, b):
        return w4_like(x, w, b) + [gt.reduce_sum(x * w), gt.reduce_max(x - w), gt.reduce_min(gt.exp(w) * x),
                                   gt.reduce_prod(gt.sigmoid(w) * 1e-3 + 1.0), x * w - 1.0]

    f = gt.function(body)
    f(x, w, b)
    out = f(x, w, b)
    assert not any(_core._is_deferred(t) for t in out)
    traced, _ = both_ways(lambda: f(x, w, b))
    _, unfused = both_ways(lambda: body(x, w, b))
    assert_bitwise(traced, unfused)


# A batch pass drops a product by a fill of exactly 1 whose other factor is a quiet
# instruction's result (sigmoid, softplus: never a signalling NaN), as in W4's gradient, the
# sum's fill of 1 times sigmoid (fusion.cpp, drop_unit_products). x * 1 is x bit for bit but for a
# signalling NaN, which the product quiets: a product whose other factor is a leaf or a select
# (stored bits handed on) must stay, as must one by a fill of -1, of 1 + an ulp or of -0. The
# comparison is of the bits (NaN payloads, the sign of 0), not of the values.
def special_values(dtype, n=N, seed=5):
    rng = np.random.default_rng(seed)
    v = (rng.standard_normal(n) * 30.0).astype(dtype)
    ints = np.uint32 if dtype == np.float32 else np.uint64
    bits = v.view(ints)
    exp_all = ints(0x7F800000) if dtype == np.float32 else ints(0x7FF0000000000000)
    quiet = ints(0x00400000) if dtype == np.float32 else ints(0x0008000000000000)
    sign = ints(0x80000000) if dtype == np.float32 else ints(0x8000000000000000)
    k = np.arange(n)
    bits[k % 97 == 1] = exp_all | ints(1)             # signalling NaN, payload 1
    bits[k % 97 == 2] = exp_all | quiet | ints(5)     # quiet NaN, payload 5
    bits[k % 97 == 3] = sign | exp_all | ints(3)      # negative signalling NaN
    bits[k % 97 == 4] = exp_all                       # inf
    bits[k % 97 == 5] = sign                          # -0
    bits[k % 97 == 6] = ints(1)                       # the smallest subnormal
    bits[k % 97 == 7] = sign | exp_all                # -inf
    return gt.constant(v)


def assert_same_bits(fused, eager, nan_bits=True):
    """Equal bits; with nan_bits False, NaN in the same places, of any sign and payload."""
    assert len(fused) == len(eager)
    for f, e in zip(fused, eager):
        assert f.dtype == e.dtype and f.shape == e.shape
        ints = {4: np.uint32, 8: np.uint64}[f.dtype.itemsize]
        if not nan_bits:
            np.testing.assert_array_equal(np.isnan(f), np.isnan(e))
            f, e = np.where(np.isnan(f), 0, f), np.where(np.isnan(e), 0, e)
        np.testing.assert_array_equal(f.view(ints), e.view(ints))


def fill_of(v, dtype):
    return gt.broadcast_to(gt.constant(np.asarray(v, dtype)), [N])


def _nextafter_one(dtype):
    return np.nextafter(np.asarray(1.0, dtype), np.asarray(2.0, dtype))


UNIT_PRODUCTS = {
    # dropped: the fill of 1 by sigmoid or softplus, either side, beside other results
    "one_times_sigmoid": lambda a, b, d: [fill_of(1.0, d) * gt.sigmoid(a * b), gt.reduce_sum(fill_of(1.0, d) * gt.sigmoid(a * b)),
                                          gt.nn.softplus(a * b)],
    "sigmoid_times_one": lambda a, b, d: [gt.sigmoid(a) * fill_of(1.0, d) * b, gt.nn.softplus(a) * fill_of(1.0, d)],
    "one_times_sigmoid_of_specials": lambda a, b, d: [fill_of(1.0, d) * gt.sigmoid(b), fill_of(1.0, d) * gt.nn.softplus(b)],
    # kept: the other factor may be a signalling NaN
    "one_times_a_leaf": lambda a, b, d: [fill_of(1.0, d) * b, b * fill_of(1.0, d) + a],
    "one_times_a_select": lambda a, b, d: [fill_of(1.0, d) * gt.where(a > 0.0, b, gt.sigmoid(a)), gt.sigmoid(a) * a],
    # kept: not a fill of exactly 1
    "minus_one_times_sigmoid": lambda a, b, d: [fill_of(-1.0, d) * gt.sigmoid(b), gt.sigmoid(b) * fill_of(-1.0, d)],
    "one_and_an_ulp_times_sigmoid": lambda a, b, d: [fill_of(_nextafter_one(d), d) * gt.sigmoid(b)],
    "minus_zero_times_sigmoid": lambda a, b, d: [fill_of(-0.0, d) * gt.sigmoid(b), fill_of(np.nan, d) * gt.sigmoid(a)],
    # W4's gradient over the special values (its dx and dw multiply two NaNs where w is one, and
    # which NaN a product of two gives, sign and payload, is the compiler's choice of operand
    # order, not the same in the pass and in eager's loops: before this drop too; NaN is compared
    # as NaN there)
    "loss_and_gradients_of_specials": lambda a, b, d: w4_like(a, b, gt.constant(np.asarray(0.25, d))),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(UNIT_PRODUCTS))
def test_a_product_by_a_fill_of_one_keeps_every_bit(name, dtype):
    a, b = data(dtype, seed=1), special_values(dtype)
    ints = np.uint32 if dtype == np.float32 else np.uint64
    assert np.any(b.numpy().view(ints) == (ints(0x7F800001) if dtype == np.float32 else ints(0x7FF0000000000001)))
    body = lambda a, b: UNIT_PRODUCTS[name](a, b, dtype)
    f = gt.function(body)
    f(a, b)
    traced, _ = both_ways(lambda: f(a, b))
    fused, unfused = both_ways(lambda: body(a, b))
    nan_bits = name != "loss_and_gradients_of_specials"
    assert_same_bits(traced, unfused, nan_bits)
    assert_same_bits(fused, unfused, nan_bits)
    if name in ("one_times_a_leaf", "one_times_a_select"):  # the product quieted the signalling NaNs
        quiet = ints(0x00400000) if dtype == np.float32 else ints(0x0008000000000000)
        got = traced[0].view(ints)
        nan = np.isnan(traced[0])
        assert nan.any() and np.all(got[nan] & quiet)


# An operand repeated along the leading dimensions (a bias [C] added to [..., C]) is a fill of its
# period (fusion.h, operand_repeats): the op is deferred, relu(x + b) is one pass, and every bit is
# eager's: NaN payloads of one NaN operand, -0, infinities, ties. (Two NaNs: which payload comes
# out is the compiler's choice in each loop, for same-shape operands as for these.)
REPEATED = [((1771, 43), (43,)), ((97, 29, 31), (29, 31)), ((97, 29, 31), (1, 31)), ((65537, 3), (1, 3))]


def bias_of(shape, dtype, x):
    rng = np.random.default_rng(7)
    b = (rng.standard_normal(shape) * 3.0).astype(dtype)
    b.flat[0] = -0.0
    b.flat[-1] = np.inf
    return b


@pytest.mark.parametrize("shape,bshape", REPEATED)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_operand_repeated_along_leading_dims_fused_equals_eager(shape, bshape, dtype):
    n = int(np.prod(shape))
    x = special_values(dtype, n).numpy().reshape(shape).copy()
    b = bias_of(bshape, dtype, x)
    flat = x.reshape(-1, b.size)
    flat[3::11] = b.reshape(-1)  # ties: x == b (maximum), x == -b (relu of +0 after a subtraction)
    flat[5::13] = -b.reshape(-1)
    xt, bt = gt.constant(x), gt.constant(b)
    assert _core._is_deferred(xt + bt) == (b.nbytes <= 4096)  # (a period of up to a chunk)

    def ops():
        return [xt + bt, bt + xt, xt - bt, bt - xt, xt * bt, gt.maximum(xt, bt), gt.minimum(bt, xt),
                gt.nn.relu(xt + bt), gt.nn.relu(xt - bt), gt.exp(xt * bt)]
    assert_same_bits(*both_ways(ops))


def test_a_repeated_operand_with_nans_and_a_long_period():
    x = special_values(np.float32, 4096 * 32).numpy().reshape(4096, 32)
    b = bias_of((32,), np.float32, x)
    b[1::5] = np.nan
    xt, bt = gt.constant(x), gt.constant(b)
    assert_same_bits(*both_ways(lambda: [xt + bt, gt.nn.relu(xt * bt)]), nan_bits=False)
    # a period longer than a chunk (4 KiB) is computed eagerly, to the same values
    long_b = gt.constant(np.arange(2048, dtype=np.float32))
    wide = gt.constant(np.ones((64, 2048), np.float32))
    assert not _core._is_deferred(wide + long_b)
    assert_same_bits(*both_ways(lambda: wide + long_b))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_costly_op_with_a_repeated_operand_is_not_deferred(dtype):
    # pow and xlogy against a bias whose length is not a multiple of the vector width: the eager
    # broadcast loop runs each row's tail through the scalar function, a fused chunk the vector
    # one on every element (an ulp apart at some values): computed eagerly, as without fusion
    for c in (2, 3, 5, 7, 9, 15, 17, 33):
        rows = 70001 // c + 1
        x = gt.constant(np.abs(data(dtype, rows * c, seed=c).numpy()).reshape(rows, c) + 0.5)
        b = gt.constant(np.linspace(-0.75, 1.5, c).astype(dtype))
        assert _core._is_deferred(x * b) and not _core._is_deferred(gt.pow(x, b))
        assert_same_bits(*both_ways(lambda: [gt.pow(x, b), gt.pow(b + 2.0, x), gt.math.xlogy(x, b + 2.0),
                                             gt.math.xlogy(b, x)]))


def conv_like_grads(x, bv, w):
    """relu(x + b) and the gradients of sum(relu(x + b) * w) by x and b: relu's rule is deferred,
    and the bias's sum over the leading dimensions stores it in the pass that sums it."""
    with gt.GradientTape() as tape:
        tape.watch(x)
        h = gt.nn.relu(x + bv)
        loss = gt.reduce_sum(h * w)
    gx, gb = tape.gradient(loss, [x, bv])
    return [h, gx, gb]


@pytest.mark.parametrize("shape,bshape", REPEATED)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relus_gradient_summed_to_a_bias_equals_eager(shape, bshape, dtype):
    n = int(np.prod(shape))
    x = special_values(dtype, n, seed=9).numpy().reshape(shape).copy()
    b = bias_of(bshape, dtype, x)
    x.reshape(-1, b.size)[5::13] = -b.reshape(-1)  # relu(+0): the gradient's 0
    xt, wt = gt.constant(x), gt.constant(special_values(dtype, n, seed=10).numpy().reshape(shape))
    bv = gt.Variable(b)
    assert_same_bits(*both_ways(lambda: conv_like_grads(xt, bv, wt)))
    # the same inside a traced function (a batch: the sweep's deferred results computed together)
    f = gt.function(lambda x, w: conv_like_grads(x, bv, w))
    traced = [t.numpy() for t in f(xt, wt)]
    gt.config.set_fusion(False)
    eager = [t.numpy() for t in conv_like_grads(xt, bv, wt)]
    gt.config.set_fusion(True)
    assert_same_bits(traced, eager)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_sum_over_leading_dims_stores_the_deferred_tensor(dtype):
    x, w = data(dtype, 97 * 29 * 31), data(dtype, 97 * 29 * 31, seed=1)
    x, w = gt.reshape(x, [97, 29, 31]), gt.reshape(w, [97, 29, 31])

    def run():
        y = x * w
        assert _core._is_deferred(y) == gt.config.fusion_enabled()
        s = gt.reduce_sum(y, axis=[0, 1])
        assert not _core._is_deferred(y)  # stored by the sum's pass
        e = gt.exp(x)  # a costly program: computed by raw() (every thread), then summed
        return [s, y, gt.reduce_sum(y, axis=0), gt.reduce_sum(e, axis=[0, 1]), e]
    assert_same_bits(*both_ways(run))


def test_second_order_through_relu_and_a_bias():
    rng = np.random.default_rng(3)
    x = gt.constant(rng.standard_normal((300, 7, 33)))
    b = gt.Variable(rng.standard_normal(33))
    w = gt.constant(rng.standard_normal((300, 7, 33)))

    def hvp():
        with gt.GradientTape(persistent=True) as outer:
            outer.watch(x)
            with gt.GradientTape() as inner:
                inner.watch(x)
                loss = gt.reduce_sum(gt.nn.relu(x * x + b) * w)
            gx, gb = inner.gradient(loss, [x, b])
            gv = gt.reduce_sum(gx * w) + gt.reduce_sum(gb)
        return [gx, gb, outer.gradient(gv, x), outer.gradient(gv, b)]
    fused, eager = both_ways(hvp)
    assert_same_bits(fused, eager)
    xn, wn, bn = x.numpy(), w.numpy(), b.numpy()
    on = (xn * xn + bn) > 0
    np.testing.assert_allclose(fused[2], 2 * wn * wn * on, rtol=1e-12)  # d/dx sum(2 x w on w)
    np.testing.assert_array_equal(fused[3], np.zeros(33))  # relu's second derivative: zeros
