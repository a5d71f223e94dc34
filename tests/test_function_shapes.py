"""gt.function's shape-polymorphic programs (docs/guides/function.md, "One program for all
sizes"): with None dimensions in the input_signature (or reduce_retracing=True), one program
serves every size of them, but only when nothing in the trace depended on the size. Each test
of a leak would give a wrong answer (or an error eager code does not give) if a program were
reused naively at another size: it asserts the eager answer instead."""
import numpy as np
import pytest

import gradtape as gt

SIZES = (1, 2, 5, 1000)


def rows(n, d=3, seed=0):
    return gt.constant(np.random.default_rng(seed + n).normal(size=(n, d)).astype(np.float32))


def sig(*shapes, dtype=gt.float32):
    return [gt.TensorSpec(s, dtype) for s in shapes]


# ---- one trace serves every size, with eager's values bit for bit ----------------------------

def test_mlp_training_step_one_program_for_all_sizes_equals_eager():
    def make():
        rng = np.random.default_rng(7)
        return [gt.Variable(rng.normal(size=(3, 16)).astype(np.float32)), gt.Variable(np.zeros(16, np.float32)),
                gt.Variable(rng.normal(size=(16, 4)).astype(np.float32)), gt.Variable(np.zeros(4, np.float32))]

    def step(x, y, params, opt):
        w1, b1, w2, b2 = params
        with gt.GradientTape() as tape:
            h = gt.nn.relu(gt.matmul(x, w1) + b1)
            logits = gt.matmul(h, w2) + b2
            loss = gt.reduce_mean(gt.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        grads = tape.gradient(loss, params)
        opt.apply_gradients(zip(grads, params))
        return loss

    for make_opt in (lambda: gt.optimizers.SGD(0.1, momentum=0.9), lambda: gt.optimizers.Adam(0.01)):
        eager_params, traced_params = make(), make()
        eager_opt, traced_opt = make_opt(), make_opt()
        traced = gt.function(lambda x, y: step(x, y, traced_params, traced_opt),
                             input_signature=sig([None, 3]) + sig([None], dtype=gt.int32))
        for n in SIZES + (5, 3, 1):
            x = rows(n)
            y = gt.constant(np.random.default_rng(n).integers(0, 4, size=n).astype(np.int32))
            assert float(traced(x, y)) == float(step(x, y, eager_params, eager_opt))
            for a, b in zip(eager_params, traced_params):
                np.testing.assert_array_equal(a.numpy(), b.numpy())
        # the first size traces twice (its first trace makes the optimizer's slots, so it is
        # traced again, as TensorFlow does), the second size traces again to check that the
        # program is the same at another size; every later size reuses it (TensorFlow: 2)
        assert traced.experimental_get_tracing_count() == 3
        assert int(traced_opt.iterations) == len(SIZES) + 3


def test_tape_gradient_of_an_input_one_program_for_all_sizes():
    def grad(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.reduce_sum(gt.tanh(x) * x, axis=1)
            z = gt.reduce_mean(y * y)
        return z, tape.gradient(z, x)

    f = gt.function(grad, input_signature=sig([None, 3]))
    for n in SIZES:
        x = rows(n)
        (z1, g1), (z2, g2) = f(x), grad(x)
        assert float(z1) == float(z2)
        np.testing.assert_array_equal(g1.numpy(), g2.numpy())
    assert f.experimental_get_tracing_count() == 2
    # a tape around the call differentiates the replay, at any size
    x = rows(7)
    with gt.GradientTape() as tape:
        tape.watch(x)
        z, _ = f(x)
    with gt.GradientTape() as tape2:
        tape2.watch(x)
        z2, _ = grad(x)
    np.testing.assert_array_equal(tape.gradient(z, x).numpy(), tape2.gradient(z2, x).numpy())
    assert f.experimental_get_tracing_count() == 2


def test_static_dimensions_read_by_the_code_keep_the_program_generic():
    # x.shape[-1], .rank and len(x.shape) are the same at every size: reading them is fine
    w = gt.Variable(np.arange(6, dtype=np.float32).reshape(3, 2))

    @gt.function(input_signature=sig([None, 3]))
    def f(x):
        assert x.shape[-1] == 3 and x.shape.rank == 2 and len(x.shape) == 2 and x.ndim == 2
        h = gt.matmul(x, w)
        return gt.reshape(h, [-1, h.shape[1] * 1]) / float(h.shape[-1])

    for n in SIZES:
        x = rows(n)
        np.testing.assert_array_equal(f(x).numpy(), (gt.matmul(x, w) / 2.0).numpy())
    assert f.experimental_get_tracing_count() == 2


# ---- every way the size can leak into a trace: retraces, never a stale size ------------------

LEAKS = {
    "reshape to x.shape[0]": lambda x: gt.reshape(x, [x.shape[0], -1]) * 2.0,
    "half by x.shape[0]": lambda x: x[: x.shape[0] // 2 + 1] * 2.0,
    "zeros of x.shape[0]": lambda x: gt.concat([x, gt.zeros([x.shape[0], 1])], axis=1),
    "len(x) loop": lambda x: gt.add_n([x[i] * float(i) for i in range(len(x))]),
    "get_shape": lambda x: gt.reduce_sum(x) / float(x.get_shape()[0]),
    "num_elements": lambda x: gt.reduce_sum(x) / float(x.shape.num_elements()),
    "as_list": lambda x: gt.reduce_sum(x) / float(x.shape.as_list()[0]),
    "unpacking the shape": lambda x: (lambda n, d: gt.reduce_sum(x) / float(n * d))(*x.shape),
    "tuple(shape)": lambda x: gt.reduce_sum(x) / float(np.prod(tuple(x.shape))),
    "np.prod(shape)": lambda x: gt.reduce_sum(x) / float(np.prod(x.shape)),
    "shape == (1, 3)": lambda x: x * (2.0 if x.shape == (1, 3) else 3.0),
    "iterating x": lambda x: gt.stack([r * 2.0 for r in x]),
    "a constant of the size": lambda x: x * gt.constant(np.arange(x.shape[0], dtype=np.float32)[:, None]),
    "an intermediate's size": lambda x: (lambda h: gt.reduce_sum(h) / float(h.shape[0]))(gt.concat([x, x], 0)),
    "x[-1]": lambda x: x[-1] * 2.0,
    "x[:, 0]": lambda x: x[:, 0] * 2.0,
    "x[::-1]": lambda x: x[::-1] + 0.0,
    "identity": lambda x: gt.identity(x) * 2.0,
    "a tensor as a list of tensors": lambda x: gt.add_n(x) * 2.0,
    "the size in repr": lambda x: x * float(repr(x).split("shape=(")[1].split(",")[0]),
    "the size in str": lambda x: x * float(str(x).split("shape=(")[1].split(",")[0]),
    "format of the shape": lambda x: x * float(len(str(x.shape))),
}


@pytest.mark.parametrize("name", sorted(LEAKS))
@pytest.mark.parametrize("how", ["signature", "reduce_retracing"])
def test_a_size_read_by_the_trace_is_never_replayed_at_another_size(name, how):
    fn = LEAKS[name]
    if how == "signature":
        f = gt.function(fn, input_signature=sig([None, 3]))
    else:
        f = gt.function(fn, reduce_retracing=True)
    for n in (1, 2, 5, 4, 2, 12, 5):
        x = rows(n)
        np.testing.assert_array_equal(f(x).numpy(), fn(x).numpy(), err_msg="%s at size %d" % (name, n))


def test_a_read_size_retraces_each_size_once():
    f = gt.function(lambda x: gt.reshape(x, [x.shape[0], -1]) * 2.0, input_signature=sig([None, 3]))
    for n in (1, 2, 5, 2, 5):
        f(rows(n))
    assert f.experimental_get_tracing_count() == 3


def test_a_size_read_unseen_by_the_guards_is_caught_by_the_second_trace():
    # '%' formatting reads a tuple's items in C, past the traced shape's methods: the trace
    # cannot note it. The second trace, at another size, gives another program (a constant of
    # another shape), so the program is not reused: each size traces, and every value is right.
    def fn(x):
        n = int(("%d %d" % x.shape).split()[0])
        return x + gt.constant(np.arange(n, dtype=np.float32)[:, None])

    f = gt.function(fn, input_signature=sig([None, 3]))
    for n in (1, 2, 5, 1000, 5):
        x = rows(n)
        np.testing.assert_array_equal(f(x).numpy(), fn(x).numpy())
    assert f.experimental_get_tracing_count() == 4


def test_an_intermediate_guard_fails_before_any_effect_and_the_call_traces():
    # h = x + y broadcasts: its length is 5 for sizes (1, 5) and (5, 1), 3 for (3, 3). The trace
    # divides by h.shape[0]; reusing the (1, 5) program at (3, 3) would divide by 5.
    v, v_eager = gt.Variable(0.0), gt.Variable(0.0)

    def fn(x, y, v):
        h = x + y
        mean = gt.reduce_sum(h) / float(h.shape[0])
        v.assign_add(mean)
        return mean

    f = gt.function(lambda x, y: fn(x, y, v), input_signature=sig([None], [None]))
    for a, b in ((1, 5), (5, 1), (1, 5), (3, 3), (5, 1), (1, 1), (3, 3), (4, 1)):
        x, y = gt.range(float(a)), gt.range(float(b)) * 10.0
        assert float(f(x, y)) == float(fn(x, y, v_eager)), (a, b)
    assert float(v) == float(v_eager)   # each call's effect done once
    # (1, 5) traces; (5, 1) traces and agrees with it (h has length 5 in both): one program for
    # every size of x and y whose h has length 5. (3, 3), (1, 1) and (4, 1) fail its guard
    # (h's length), before the write, and trace.
    assert f.experimental_get_tracing_count() == 5


def test_a_guard_after_an_effect_keeps_the_program_exact():
    # The guard (h.shape[0]) comes after the variable write: it could fail too late, once the
    # write is done. Such a program is never reused at another size.
    v = gt.Variable(0.0)

    def fn(x):
        v.assign_add(1.0)
        h = gt.concat([x, x], 0)
        return gt.reduce_sum(h) / float(h.shape[0])

    f = gt.function(fn, input_signature=sig([None, 3]))
    for n in (1, 2, 5, 2):
        x = rows(n)
        assert float(f(x)) == float(gt.reduce_sum(gt.concat([x, x], 0)) / float(2 * n))
    assert float(v) == 4.0
    assert f.experimental_get_tracing_count() == 3


def test_value_dependent_shapes_keep_the_program_exact():
    fn = lambda x: gt.reduce_sum(gt.boolean_mask(x, x > 0.0))  # noqa: E731
    f = gt.function(fn, input_signature=sig([None]))
    for n in (2, 3, 4, 3):
        x = gt.constant(np.linspace(-1, 1, n, dtype=np.float32))
        assert float(f(x)) == float(fn(x))
    assert f.experimental_get_tracing_count() == 3


def test_size_one_broadcasting_and_squeeze_follow_the_sizes():
    # ops whose result depends on the sizes at run time (squeeze without axes, broadcasting
    # against a size 1) compute it at each run: replaying them at size 1 is eager's answer
    fn = lambda x, y: gt.squeeze(x * y)  # noqa: E731
    f = gt.function(fn, input_signature=sig([None, 3], [None, 1]))
    for n, m in ((2, 2), (5, 5), (1, 1), (4, 1), (1, 4)):
        x, y = rows(n), rows(m, 1)
        got, want = f(x, y), fn(x, y)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.numpy(), want.numpy())


# ---- TensorFlow's behaviour: tracing counts, relaxing shapes, concrete functions --------------

def test_reduce_retracing_generalises_shapes_as_tensorflow():
    # TensorFlow 2.21: [2, 3] traces, [4, 3] traces for [None, 3], [5, 3] reuses it, [5, 7]
    # traces for [None, None], [6, 8] reuses it, a rank-1 shape traces (counts 1 2 2 3 3 4)
    f = gt.function(lambda x: x * 2.0, reduce_retracing=True)
    counts = []
    for s in ([2, 3], [4, 3], [5, 3], [5, 7], [6, 8], [2]):
        x = gt.ones(s)
        np.testing.assert_array_equal(f(x).numpy(), np.full(s, 2.0, np.float32))
        counts.append(f.experimental_get_tracing_count())
    assert counts == [1, 2, 2, 3, 3, 4]
    g = gt.function(lambda x: x * 2.0)  # without it: one trace per shape
    for s in ([2, 3], [4, 3], [5, 3]):
        g(gt.ones(s))
    assert g.experimental_get_tracing_count() == 3


def test_signature_with_fixed_dimensions_still_checks_them():
    f = gt.function(lambda x: x + 1.0, input_signature=sig([None, 3]))
    f(rows(2))
    f(rows(3))
    with pytest.raises(TypeError):
        f(gt.zeros([2, 4]))
    assert f.experimental_get_tracing_count() == 2


def test_variables_read_and_written_at_every_size():
    v = gt.Variable(np.zeros(3, np.float32))
    seen = []

    @gt.function(input_signature=sig([None, 3]))
    def f(x):
        seen.append(1)  # (a Python side effect: once per trace)
        v.assign_add(gt.reduce_sum(x, axis=0))
        return v.read_value() * 1.0

    total = np.zeros(3, np.float32)
    for n in SIZES:
        x = rows(n)
        total = total + gt.reduce_sum(x, axis=0).numpy()
        np.testing.assert_array_equal(f(x).numpy(), total)
    np.testing.assert_array_equal(v.numpy(), total)
    assert len(seen) == 2


def test_outputs_spec_of_a_generic_program_has_none_dimensions():
    f = gt.function(lambda x: (gt.reduce_sum(x, axis=1), x.shape[-1]), input_signature=sig([None, 3]))
    f(rows(2))
    f(rows(4))
    c = f.get_concrete_function()
    out = c.structured_outputs
    assert out[0].spec.shape.as_list() == [None]
    assert out[1].spec.shape.as_list() == [] and out[1].spec.dtype == gt.int32  # (a Python int: a tensor, as TF)
    assert c.inputs == sig([None, 3])


def test_get_concrete_function_of_none_dimensions_takes_every_size():
    @gt.function
    def f(x):
        return gt.reduce_sum(x * x, axis=1)

    c = f.get_concrete_function(gt.TensorSpec([None, 3], gt.float32))
    assert c.inputs == sig([None, 3])
    for n in (2, 5, 1000):
        x = rows(n)
        np.testing.assert_array_equal(c(x).numpy(), gt.reduce_sum(x * x, axis=1).numpy())
    # traced on zeros of sizes 2 and 3 (the check), then reused: no call traces
    assert f.experimental_get_tracing_count() == 2
    with pytest.raises(TypeError):
        c(gt.zeros([2, 4]))


def test_get_concrete_function_after_a_call_at_the_same_size_takes_every_size():
    # a call traced [2, 3] before (no signature: an exact program); the concrete function for
    # [None, 3] finds it, traces [3, 3] and shows the two agree: no call traces afterwards
    f = gt.function(lambda x: gt.reduce_sum(x * x, axis=1))
    f(rows(2))
    c = f.get_concrete_function(gt.TensorSpec([None, 3], gt.float32))
    assert f.experimental_get_tracing_count() == 2
    for n in (1, 5, 1000):
        x = rows(n)
        np.testing.assert_array_equal(c(x).numpy(), gt.reduce_sum(x * x, axis=1).numpy())
    assert f.experimental_get_tracing_count() == 2


@pytest.mark.parametrize("calls", [0, 1])
def test_saved_model_of_a_none_signature_called_once_or_never_takes_every_size(tmp_path, calls):
    # saving traces what the calls did not: a second size of the None dimension, so the one
    # program for every size is what is saved (it was the traced sizes only)
    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.w = gt.Variable(np.arange(6, dtype=np.float32).reshape(3, 2))

        @gt.function(input_signature=sig([None, 3]))
        def dense(self, x):
            return gt.matmul(x, self.w)

    m = M()
    for _ in range(calls):
        m.dense(rows(2))
    gt.saved_model.save(m, str(tmp_path / "m"))
    loaded = gt.saved_model.load(str(tmp_path / "m"))
    assert [s.shape.as_list() for [s] in loaded.__dict__["dense"].concrete_signatures] == [[None, 3]]
    for n in (1, 2, 4, 300):
        x = rows(n)
        np.testing.assert_array_equal(loaded.dense(x).numpy(), gt.matmul(x, m.w).numpy())


def test_saved_signature_of_a_concrete_function_with_none_dimensions(tmp_path):
    # TF's SavedModel guide, "Specifying signatures during export": calls at () and [2] before,
    # then a signature for [None]; the loaded signature takes every length
    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.v = gt.Variable(2.0)

        @gt.function
        def __call__(self, x):
            return x * self.v

    m = M()
    m(gt.constant(0.0))
    m(gt.constant([0.0, 0.0]))
    gt.saved_model.save(m, str(tmp_path / "m"),
                        signatures={"array_input": m.__call__.get_concrete_function(gt.TensorSpec([None], gt.float32))})
    sig_fn = gt.saved_model.load(str(tmp_path / "m")).signatures["array_input"]
    for n in (1, 2, 3, 50):
        x = gt.range(float(n))
        np.testing.assert_array_equal(sig_fn(x=x)["output_0"].numpy(), (x * 2.0).numpy())


def test_saved_model_of_a_shared_program_takes_every_size(tmp_path):
    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.w = gt.Variable(np.arange(6, dtype=np.float32).reshape(3, 2))

        @gt.function(input_signature=sig([None, 3]))
        def __call__(self, x):
            h = gt.matmul(x, self.w)
            return h / float(h.shape[-1])   # a guard step: h's dimension 1 is 2 at every size

    m = M()
    for n in (1, 2):
        m(rows(n))
    gt.saved_model.save(m, str(tmp_path / "m"))
    text = (tmp_path / "m" / "saved_model.txt").read_text()
    assert text.startswith("gradtape-saved-model 2\n") and "shape_guard" in text
    loaded = gt.saved_model.load(str(tmp_path / "m"))
    for n in (1, 2, 5, 1000):
        x = rows(n)
        np.testing.assert_array_equal(loaded(x).numpy(), m(x).numpy())
    assert [s.shape.as_list() for [s] in loaded.__dict__["__call__"].concrete_signatures] == [[None, 3]]
    with pytest.raises(ValueError):
        loaded(gt.zeros([2, 4]))
    # saved again as loaded: still every size, its guards kept
    gt.saved_model.save(loaded, str(tmp_path / "again"))
    again = gt.saved_model.load(str(tmp_path / "again"))
    x = rows(7)
    np.testing.assert_array_equal(again(x).numpy(), m(x).numpy())
    assert "shape_guard" in (tmp_path / "again" / "saved_model.txt").read_text()


def test_saved_model_guard_failing_on_load_tries_the_next_program_or_refuses(tmp_path):
    class M(gt.Module):
        @gt.function(input_signature=sig([None], [None]))
        def __call__(self, x, y):
            h = x + y
            return gt.reduce_sum(h) / float(h.shape[0])

    m = M()
    for a, b in ((1, 5), (5, 1), (3, 3)):   # one program for h of length 5, one for (3, 3)
        m(gt.range(float(a)), gt.range(float(b)))
    gt.saved_model.save(m, str(tmp_path / "m"))
    loaded = gt.saved_model.load(str(tmp_path / "m"))
    for a, b in ((1, 5), (5, 1), (5, 5), (3, 3)):   # (5, 5) was never called before saving
        x, y = gt.range(float(a)), gt.range(float(b))
        assert float(loaded(x, y)) == float(m(x, y)), (a, b)
    # (4, 4): h has length 4; the shared program's guard fails before any effect, and no other
    # program takes these shapes: refused, not divided by 5
    with pytest.raises(ValueError, match="shape guard"):
        loaded(gt.range(4.0), gt.range(4.0))


def test_saved_model_without_shared_programs_stays_version_1(tmp_path):
    class M(gt.Module):
        @gt.function(input_signature=sig([None, 3]))
        def __call__(self, x):
            return gt.reshape(x, [x.shape[0] * 3])   # reads the size: one program per size

    m = M()
    for n in (1, 2, 5):
        m(rows(n))
    gt.saved_model.save(m, str(tmp_path / "m"))
    assert (tmp_path / "m" / "saved_model.txt").read_text().startswith("gradtape-saved-model 1\n")
    loaded = gt.saved_model.load(str(tmp_path / "m"))
    for n in (1, 2, 5):
        np.testing.assert_array_equal(loaded(rows(n)).numpy(), m(rows(n)).numpy())
    with pytest.raises(ValueError):
        loaded(rows(4))


def test_a_lazily_built_layer_and_a_nested_function_with_a_signature():
    # Keras-style code reads x.shape[-1] to build its weights (in the first trace only), and a
    # nested gt.function checks its own signature: neither reads the batch size, so the outer
    # program serves every size
    class Dense(gt.Module):
        def __init__(self, units):
            super().__init__()
            self.units, self.w = units, None

        def __call__(self, x):
            if self.w is None:
                self.w = gt.Variable(np.full((x.shape[-1], self.units), 0.25, np.float32))
            return gt.matmul(x, self.w)

    layer = Dense(4)
    inner = gt.function(lambda h: gt.nn.relu(h) * 2.0, input_signature=sig([None, 4]))
    fn = lambda x: inner(layer(x))  # noqa: E731
    f = gt.function(fn, input_signature=sig([None, 3]))
    for n in SIZES:
        x = rows(n)
        np.testing.assert_array_equal(f(x).numpy(), fn(x).numpy())
    # the first call traces twice (its first trace built the layer's weights), the second size
    # once to check (TensorFlow: 2, its double trace of the first call)
    assert f.experimental_get_tracing_count() == 3
    with pytest.raises(TypeError):
        f(gt.zeros([2, 5]))


def test_a_traced_shape_notes_only_what_is_read():
    reads = []

    @gt.function(input_signature=sig([None, 3]))
    def f(x):
        s = x.shape
        reads.append((len(s), s.rank, s[-1], s[1:], s.is_fully_defined()))
        return x * 1.0

    f(rows(2))
    f(rows(4))
    f(rows(6))
    assert reads == [(2, 2, 3, gt.TensorShape([3]), True)] * 2
    assert f.get_concrete_function()._program.input_guards == [(0, 1, 3)]


def test_reads_inside_a_branch_are_guards_of_the_branch():
    def fn(x, p, dim):
        h = gt.concat([x, x], 0)
        return gt.cond(p, lambda: gt.reduce_sum(h) / float(h.shape[dim]), lambda: gt.reduce_sum(x) * 1.0)

    for dim, traces in ((1, 2), (0, 4)):   # h.shape[1] is 3 at every size, h.shape[0] is 2n
        f = gt.function(lambda x, p: fn(x, p, dim), input_signature=sig([None, 3]) + sig([], dtype=gt.bool))
        for n in (1, 2, 5, 7):
            for p in (True, False):
                x, pt = rows(n), gt.constant(p)
                assert float(f(x, pt)) == float(fn(x, pt, dim)), (dim, n, p)
        assert f.experimental_get_tracing_count() == traces


# ops and composites that compute their sizes at run time: one program for all sizes
GENERIC = {
    "gt.shape": lambda x: gt.cast(gt.shape(x), gt.float32) * 1.0,
    "gt.size": lambda x: gt.cast(gt.size(x), gt.float32) * 1.0,
    "zeros_like": lambda x: gt.zeros_like(x) + 1.0,
    "reshape -1": lambda x: gt.reshape(x, [-1]),
    "tile": lambda x: gt.tile(x, [2, 1]),
    "transpose": lambda x: gt.transpose(x),
    "split": lambda x: gt.split(x, 3, axis=1)[0],
    "reverse": lambda x: gt.reverse(x, [0]),
    "top_k": lambda x: gt.math.top_k(x, 2).values,
    "cumsum": lambda x: gt.math.cumsum(x, axis=0),
    "softmax": lambda x: gt.nn.softmax(x),
    "moments": lambda x: gt.nn.moments(x, axes=[0])[1],
    "pad": lambda x: gt.pad(x, [[1, 1], [0, 0]]),
    "sort": lambda x: gt.sort(x, axis=0),
    "reduce_logsumexp": lambda x: gt.reduce_logsumexp(x, axis=0),
    "matmul transpose_b": lambda x: gt.matmul(x, x, transpose_b=True),
}


@pytest.mark.parametrize("name", sorted(GENERIC))
def test_size_independent_ops_share_one_program(name):
    fn = GENERIC[name]
    f = gt.function(fn, input_signature=sig([None, 3]))
    for n in (1, 2, 5, 4, 9, 2):
        x = rows(n)
        got, want = f(x), fn(x)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert f.experimental_get_tracing_count() == 2


# ---- sizes computed with gt.shape: read as reads of the shapes --------------------------------

def test_sizes_computed_from_shapes_are_read_as_shape_reads():
    # TF's idioms gt.zeros(gt.shape(x)), gt.range(gt.shape(x)[0]), gt.random.normal(gt.shape(x)):
    # a value computed from shapes only is read with those shapes as guards (it was refused)
    idioms = {
        "zeros": lambda x: gt.zeros(gt.shape(x)) + x,
        "fill": lambda x: gt.fill(gt.shape(x), 2.0) * x,
        "range": lambda x: gt.cast(gt.range(gt.shape(x)[0]), gt.float32),
        "arithmetic": lambda x: gt.ones(gt.stack([gt.shape(x)[0] - 1, 2 * gt.shape(x)[1]])),
        "size": lambda x: gt.ones([gt.size(x)]),
        "rank": lambda x: gt.ones([gt.rank(x)]),
        "rank of an intermediate": lambda x: gt.cast(gt.range(gt.rank(gt.transpose(x) * 2.0)), gt.float32),
        # the rank of a squeeze without axes depends on which sizes are 1, and no guard checks a
        # rank: reading it keeps the program to its traced shapes (each size traces)
        "rank of a squeeze": lambda x: gt.ones([gt.rank(gt.squeeze(x) * 2.0), 2]),
        "len of a squeeze's shape": lambda x: gt.ones([len(gt.squeeze(x).shape)]),
        "noise": lambda x: x + 0.0 * gt.random.normal(gt.shape(x)),
        "eye": lambda x: gt.eye(gt.shape(x)[1]),
    }
    for name, fn in idioms.items():
        f = gt.function(fn)
        for n in (2, 5):
            x = rows(n)
            np.testing.assert_array_equal(f(x).numpy(), fn(x).numpy(), err_msg=name)
        assert f.experimental_get_tracing_count() == 2, name
        # with a None dimension the read pins the program to its size: each size traces once
        g = gt.function(fn, input_signature=sig([None, 3]))
        for n in (2, 5, 1, 2, 5):
            x = rows(n)
            np.testing.assert_array_equal(g(x).numpy(), fn(x).numpy(), err_msg=name)
        assert g.experimental_get_tracing_count() <= 3, name


def test_a_shape_computed_from_values_is_still_refused():
    refused = {
        "a value": lambda x: gt.zeros([gt.cast(gt.reduce_sum(x), gt.int32)]),
        "a size plus a value": lambda x: gt.zeros(gt.shape(x) + gt.cast(x[0, 0], gt.int32)),
        # a random draw on a size is drawn at each call (a read would freeze the trace's draw)
        "a shuffled shape": lambda x: gt.zeros(gt.random.shuffle(gt.shape(x))),
    }
    for name, fn in refused.items():
        with pytest.raises(gt.errors.OperatorNotAllowedInGraphError):
            gt.function(fn, input_signature=sig([None, 3]))(rows(2))
