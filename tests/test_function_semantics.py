"""gt.function against tf.function on points of semantics (docs/guides/function.md). The
expected values are TensorFlow 2.21's, found by running the same code with tf.function; they
are written here as literals (TensorFlow is not a dependency)."""
import sys

import numpy as np
import pytest

import gradtape as gt

SINGLETON = "may make gt.Variables only in its first trace"


# ---- 1. variables made inside a function: only by its first trace ------------------------------

def test_a_variable_made_at_every_trace_raises_on_the_first_call():
    # TF 2.21: the first call raises ValueError (its second trace makes a variable again), the
    # tracing count stays 1, and every later call, of any shape, raises again
    traces = []

    @gt.function
    def f(x):
        traces.append(tuple(x.shape))
        v = gt.Variable(1.0)
        return v * x

    with pytest.raises(ValueError, match=SINGLETON):
        f(gt.constant(2.0))
    assert traces == [(), ()]
    assert f.experimental_get_tracing_count() == 1
    with pytest.raises(ValueError, match=SINGLETON):
        f(gt.constant(3.0))          # TF traces again (no program was kept) and raises
    assert traces == [(), (), ()]
    with pytest.raises(ValueError, match=SINGLETON):
        f(gt.constant([3.0]))
    assert f.experimental_get_tracing_count() == 1


def test_a_variable_made_at_every_trace_with_an_input_signature_raises_on_the_first_call():
    @gt.function(input_signature=[gt.TensorSpec([None], gt.float32)])
    def f(x):
        return gt.Variable(1.0) * x

    with pytest.raises(ValueError, match=SINGLETON):
        f(gt.ones([2]))
    assert f.experimental_get_tracing_count() == 1


def test_the_create_on_first_call_idiom_traces_twice_and_runs_its_effects_once():
    # TF 2.21: B1 gives [4.], v is [2.] after it (one assign_add), the tracing count is 2, the
    # Python print runs twice and tf.print once; the next call gives [9.] without tracing
    traces = []

    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.v = None

        @gt.function
        def __call__(self, x):
            traces.append("trace")
            if self.v is None:
                self.v = gt.Variable(gt.ones_like(x))
            self.v.assign_add(gt.ones_like(x))
            gt.print("v =", self.v, output_stream=sys.stdout)
            return self.v * x

    m = M()
    out = m(gt.constant([2.0]))
    assert out.numpy().tolist() == [4.0]
    assert m.v.numpy().tolist() == [2.0]
    assert traces == ["trace", "trace"]
    assert m.__call__.experimental_get_tracing_count() == 2
    assert m(gt.constant([3.0])).numpy().tolist() == [9.0]
    assert m.v.numpy().tolist() == [3.0]
    assert traces == ["trace", "trace"]
    assert m.__call__.experimental_get_tracing_count() == 2


def test_the_second_trace_prints_nothing(capsys):
    # tf.print prints once per call, also on the first call that traces twice
    made = []
    _Stream.written.clear()

    @gt.function
    def f(x):
        if not made:
            made.append(gt.Variable(1.0))
        gt.print("value", x * made[0], output_stream=sys.stdout)
        gt.print("other", x, output_stream=_Stream())  # (a Python stream object: a callback)
        return x * made[0]

    f(gt.constant(1.0))
    f(gt.constant(2.0))
    assert capsys.readouterr().out == "value 1\nvalue 2\n"
    assert _Stream.written == ["other 1\n", "other 2\n"]
    assert f.experimental_get_tracing_count() == 2


class _Stream:
    written = []

    def write(self, text):
        _Stream.written.append(text)


def test_the_second_trace_undoes_its_variable_writes_and_random_draws():
    gt.random.set_seed(5)
    eager = [gt.random.uniform([3], seed=1).numpy() for _ in range(3)]
    gt.random.set_seed(5)
    made = []
    counter = gt.Variable(0)

    @gt.function
    def f():
        if not made:
            made.append(gt.Variable(10.0))
        counter.assign_add(1)
        made[0].assign_add(1.0)
        return gt.random.uniform([3], seed=1) + 0.0 * made[0]

    got = [f().numpy() for _ in range(3)]
    for a, b in zip(eager, got):
        np.testing.assert_array_equal(a, b)
    assert int(counter) == 3
    assert float(made[0]) == 13.0
    assert f.experimental_get_tracing_count() == 2


def test_a_variable_made_by_a_later_trace_raises_and_is_not_counted():
    # TF 2.21: D1 gives 2.0 (count 2), D2 and D3 (a new rank) raise ValueError, count stays 2
    made = {}

    @gt.function
    def h(x):
        k = len(x.shape)
        if k not in made:
            made[k] = gt.Variable(gt.zeros_like(x))
        return made[k] + x

    assert float(h(gt.constant(2.0))) == 2.0
    assert h.experimental_get_tracing_count() == 2
    for _ in range(2):
        with pytest.raises(ValueError, match=SINGLETON):
            h(gt.constant([2.0, 3.0]))
    assert h.experimental_get_tracing_count() == 2
    assert list(made) == [0]
    assert float(h(gt.constant(5.0))) == 5.0      # the first program still serves its shape


def test_a_later_trace_raises_when_the_variable_is_made_not_after_the_trace():
    # the error comes from gt.Variable(...) itself: what follows it in the function never runs
    after = []

    @gt.function
    def f(x):
        if x.shape[0] == 2:
            gt.Variable(1.0)
            after.append("ran")
        return x + 1.0

    f(gt.ones([1]))
    with pytest.raises(ValueError, match=SINGLETON):
        f(gt.ones([2]))
    assert after == []


def test_variables_with_reduce_retracing_count_as_tensorflow():
    # TF 2.21 with reduce_retracing=True: counts 2, 3, 3, 3 for sizes 1..4
    holder = {}

    @gt.function(reduce_retracing=True)
    def e(x):
        if not holder:
            holder["v"] = gt.Variable(2.0)
        return holder["v"] * x

    counts = []
    for n in (1, 2, 3, 4):
        assert e(gt.ones([n])).numpy().tolist() == [2.0] * n
        counts.append(e.experimental_get_tracing_count())
    assert counts == [2, 3, 3, 3]


def test_variables_with_an_input_signature():
    # TF 2.21: counts 2, 2 (it traces once with the None dimension, then again without making
    # variables); gradtape traces the first call twice, and the second size once more to check
    # that the program holds at another size: 2, 3, then 3 for every size
    hold = []

    @gt.function(input_signature=[gt.TensorSpec([None], gt.float32)])
    def g(x):
        if not hold:
            hold.append(gt.Variable(3.0))
        return hold[0] * x

    counts = []
    for n in (2, 3, 5, 100):
        assert g(gt.ones([n])).numpy().tolist() == [3.0] * n
        counts.append(g.experimental_get_tracing_count())
    assert counts == [2, 3, 3, 3]


def test_a_concrete_function_keeps_the_python_values_it_was_made_with():
    # TF 2.21: get_concrete_function(spec, 2.0) then cf(x) runs with y=2.0 (and training=True
    # with training=True); gradtape ran the function's defaults instead
    @gt.function
    def f(x, y=1.0, training=False):
        return x * y + (10.0 if training else 0.0)

    x = gt.constant([1.0, 2.0])
    c = f.get_concrete_function(gt.TensorSpec([None], gt.float32), 2.0)
    for call in (lambda: c(x), lambda: c(x=x), lambda: c(x, 2.0), lambda: c(x, 2.0, False), lambda: c(x, y=2.0)):
        np.testing.assert_array_equal(call().numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(c(gt.constant([1.0, 2.0, 3.0])).numpy(), [2.0, 4.0, 6.0])
    t = f.get_concrete_function(gt.TensorSpec([2], gt.float32), training=True)
    np.testing.assert_array_equal(t(x).numpy(), [11.0, 12.0])
    with pytest.raises(TypeError, match="made with y=2.0"):
        c(x, 3.0)
    with pytest.raises(TypeError, match="made with training=True"):
        t(x, training=False)
    with pytest.raises(TypeError, match="missing a required argument"):
        c()
    # no default: the value given to get_concrete_function is the one used
    g = gt.function(lambda x, scale: x * scale)
    np.testing.assert_array_equal(g.get_concrete_function(gt.TensorSpec([2], gt.float32), 5.0)(x).numpy(), [5.0, 10.0])
    # the tensors as their TensorSpecs, the Python values as made (TF's structured_input_signature)
    assert c.structured_input_signature == ((gt.TensorSpec([None], gt.float32), 2.0, False), {})
    assert c.name == "f" and f.pretty_printed_concrete_signatures().count("f(TensorSpec(") == 2


def test_a_concrete_function_with_star_args_keywords_and_nested_python_values():
    # TF 2.21's values; *args and **kwargs were replaced whole (a Python value in them lost)
    S, x = gt.TensorSpec([2], gt.float32), gt.ones([2])
    f4 = gt.function(lambda x, *rest: x + sum(rest))
    np.testing.assert_array_equal(f4.get_concrete_function(S, S, 3.0)(x, x).numpy(), [5.0, 5.0])
    f3 = gt.function(lambda x, **kw: x * kw["a"] + kw["b"])
    np.testing.assert_array_equal(f3.get_concrete_function(S, a=S, b=5.0)(x, a=x).numpy(), [6.0, 6.0])
    f5 = gt.function(lambda x, cfg: x * cfg["t"] + cfg["k"])
    c5 = f5.get_concrete_function(S, {"t": S, "k": 1.0})
    np.testing.assert_array_equal(c5(x, {"t": x, "k": 1.0}).numpy(), [2.0, 2.0])
    with pytest.raises(TypeError, match="made with"):
        c5(x, {"t": x, "k": 7.0})
    # its tensors alone, whatever their positions among the Python values
    f1 = gt.function(lambda n, x: x * n)
    np.testing.assert_array_equal(f1.get_concrete_function(3.0, gt.TensorSpec([None]))(x).numpy(), [3.0, 3.0])
    # made with a variable: another variable runs too (a trace of its own), as TF
    v1, v2 = gt.Variable([1.0, 2.0]), gt.Variable([5.0, 6.0])
    cv = gt.function(lambda v, x: v + x).get_concrete_function(v1, S)
    np.testing.assert_array_equal(cv(v2, x).numpy(), [6.0, 7.0])
    np.testing.assert_array_equal(cv(v1, x).numpy(), [2.0, 3.0])
    # 2.0 for a value made as 2 (equal, as TF); another container than the one made: TypeError
    cn = gt.function(lambda x, n: x * n).get_concrete_function(S, 2)
    np.testing.assert_array_equal(cn(x, 2.0).numpy(), [2.0, 2.0])
    cl = gt.function(lambda x, p: x * p[0] + p[1]).get_concrete_function(S, [S, 3.0])
    np.testing.assert_array_equal(cl(x, [x, 3.0]).numpy(), [4.0, 4.0])
    with pytest.raises(TypeError):
        cl(x, (x, 3.0))
    # a Python list where a tensor goes is converted to the spec's dtype, as TF's
    c = gt.function(lambda x: x * 2.0).get_concrete_function(S)
    np.testing.assert_array_equal(c([1, 2]).numpy(), [2.0, 4.0])
    with pytest.raises(TypeError):
        c("not a number")


def test_get_concrete_function_of_a_spec_of_unknown_rank():
    # TF takes TensorSpec(shape=None) for any rank; gradtape traces a scalar, then each rank called
    f = gt.function(lambda x: x + 1.0)
    c = f.get_concrete_function(gt.TensorSpec(None, gt.float32))
    assert c(gt.constant(1.0)).numpy() == 2.0
    np.testing.assert_array_equal(c(gt.ones([2])).numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(c(gt.ones([2, 2])).numpy(), np.full((2, 2), 2.0))
    with pytest.raises(TypeError):
        c(gt.ones([2], gt.int32))


def test_get_concrete_function_traces_twice_when_the_first_trace_makes_variables():
    # TF 2.21: get_concrete_function counts 2 for the create-once idiom, and raises ValueError
    # (count 1) for a variable made at every trace
    hold = []

    @gt.function
    def f(x):
        if not hold:
            hold.append(gt.Variable(3.0))
        return hold[0] * x

    c = f.get_concrete_function(gt.TensorSpec([2], gt.float32))
    assert f.experimental_get_tracing_count() == 2
    assert c(gt.ones([2])).numpy().tolist() == [3.0, 3.0]
    assert f(gt.ones([2])).numpy().tolist() == [3.0, 3.0]
    assert f.experimental_get_tracing_count() == 2

    @gt.function
    def g(x):
        return gt.Variable(1.0) * x

    with pytest.raises(ValueError, match=SINGLETON):
        g.get_concrete_function(gt.TensorSpec([2], gt.float32))
    assert g.experimental_get_tracing_count() == 1


def test_a_tape_around_the_first_call_that_makes_variables():
    hold = []

    @gt.function
    def f(x):
        if not hold:
            hold.append(gt.Variable(3.0))
        return hold[0] * x * x

    x = gt.constant(2.0)
    for _ in range(2):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = f(x)
        dx, dv = tape.gradient(y, [x, hold[0]])
        assert (float(y), float(dx), float(dv)) == (12.0, 12.0, 4.0)


# ---- 2. gt.print of subnormal floats ---------------------------------------------------------

# (values, dtype, what tf.print printed for them in TensorFlow 2.21, eagerly and in a tf.function)
_SUBNORMALS = [
    ([1e-40, -1e-40, 1.4e-45, 1.17e-38, 1.1754942e-38, 1e-39, 3e-39, 0.0, 1e-30, 1.5e-38], np.float32,
     "[0 -0 0 0 0 0 0 0 1e-30 1.5e-38]"),
    ([1.17549435e-38, -1.17549435e-38, -0.0, 3.4e38], np.float32, "[1.17549435e-38 -1.17549435e-38 -0 3.4e+38]"),
    ([5e-324, -5e-324, 1e-310, 2.2250738585072014e-308, 2.225073858507201e-308, 1e-300, 1e-320], np.float64,
     "[0 -0 0 2.2250738585072014e-308 0 1e-300 0]"),
    ([6e-8, -6e-8, 1e-7], np.float16, "[5.96046448e-08 -5.96046448e-08 1.1920929e-07]"),  # (normal as float32)
]


def _eager_print(*values, **kw):
    import io
    buf = io.StringIO()
    gt.print(*values, output_stream=buf, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("values,dtype,expected", _SUBNORMALS)
def test_print_subnormals_as_tensorflow(values, dtype, expected, capsys):
    x = gt.constant(np.array(values, dtype))
    assert _eager_print(x, summarize=-1) == expected + "\n"

    @gt.function
    def f(x):
        gt.print(x, output_stream=sys.stdout, summarize=-1)
        gt.print(x, output_stream=_Stream(), summarize=-1)
        return x

    _Stream.written.clear()
    f(x)
    f(x)
    assert capsys.readouterr().out == (expected + "\n") * 2
    assert _Stream.written == [expected + "\n"] * 2


def test_print_subnormal_scalars_bfloat16_and_summaries():
    assert _eager_print(gt.constant(1e-40)) == "0\n"
    assert _eager_print(gt.constant(-1e-40)) == "-0\n"
    assert _eager_print(gt.constant(5e-324, gt.float64)) == "0\n"
    assert _eager_print(gt.constant(-5e-324, gt.float64)) == "-0\n"
    assert _eager_print(gt.constant(-1e-40, gt.float64)) == "-1e-40\n"   # normal in float64
    assert _eager_print(gt.cast(gt.constant([1e-40, 1e-38, 1e-37]), gt.bfloat16)) == "[0 0 9.99170198e-38]\n"
    assert _eager_print(gt.constant(np.arange(10, dtype=np.float32) * np.float32(1e-45))) == "[0 0 0 ... 0 0 0]\n"
    assert _eager_print(gt.constant([[1e-40, 1.0], [2.0, 1e-45]])) == "[[0 1]\n [2 0]]\n"
    # a Python float is printed by its repr, a tensor in a list by its value (as tf.print)
    assert _eager_print(1e-40, [gt.constant(1e-40)], {"a": gt.constant(-1e-40, gt.float64)}) == \
        "1e-40 [0] {'a': -1e-40}\n"


# ---- 3. indexing a None dimension: one program for every size --------------------------------

_SLICES = {
    "x[1:]": lambda x: x[1:],
    "x[:-1]": lambda x: x[:-1],
    "x[-1]": lambda x: x[-1],
    "x[::2]": lambda x: x[::2],
    "x[:, 0]": lambda x: x[:, 0],
    "x[..., 1:]": lambda x: x[..., 1:],
    "x[::-1]": lambda x: x[::-1],
    "x[-2::-2]": lambda x: x[-2::-2],
    "x[None, 1:, None]": lambda x: x[None, 1:, None],
    "x[0, ::-1]": lambda x: x[0, ::-1],
    "x[1:-1, 2]": lambda x: x[1:-1, 2],
    "x[-100:100]": lambda x: x[-100:100],
    "x[False]": lambda x: x[False],
    "x[True, ..., 0]": lambda x: x[True, ..., 0],
}


def _rows(n, seed=0):
    return gt.constant(np.random.default_rng(seed + n).normal(size=(n, 3)).astype(np.float32))


@pytest.mark.parametrize("name", sorted(_SLICES))
@pytest.mark.parametrize("how", ["signature", "reduce_retracing"])
def test_a_slice_of_a_none_dimension_shares_one_program(name, how):
    fn = _SLICES[name]
    if how == "signature":
        f = gt.function(fn, input_signature=[gt.TensorSpec([None, 3], gt.float32)])
    else:
        f = gt.function(fn, reduce_retracing=True)
    sizes = (2, 5, 1, 100, 2) if name in ("x[-1]", "x[0, ::-1]") else (2, 5, 1, 100, 0, 2)
    for n in sizes:
        x = _rows(n)
        got, want = f(x).numpy(), fn(x).numpy()
        assert got.shape == want.shape and got.dtype == want.dtype, (name, n)
        np.testing.assert_array_equal(got, want, err_msg="%s at size %d" % (name, n))
    # TensorFlow traces once; gradtape twice (the second trace checks the first), then never
    assert f.experimental_get_tracing_count() == 2
    # the slice reads no size: the shared program has no guard on the None dimension
    assert all(d != 0 for _, d, _ in f.get_concrete_function(gt.TensorSpec([None, 3], gt.float32))
               ._program.input_guards)


def test_x_colon_0_does_not_depend_on_the_none_dimension():
    f = gt.function(lambda x: x[:, 0] * 2.0, input_signature=[gt.TensorSpec([None, 3], gt.float32)])
    for n in (1, 2, 5, 100):
        assert f(_rows(n)).numpy().tolist() == (_rows(n)[:, 0] * 2.0).numpy().tolist()
    assert f.get_concrete_function()._program.input_guards == []
    assert f.experimental_get_tracing_count() == 2


def test_gradients_through_slices_inside_the_function_equal_eager():
    w = gt.Variable(np.linspace(-1.0, 1.0, 3, dtype=np.float32))

    def step(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            h = x * w
            loss = (gt.reduce_sum(h[1:] * h[:-1]) + gt.reduce_sum(h[-1] ** 2) + gt.reduce_sum(h[::2, 0])
                    + gt.reduce_sum(h[..., 1:] * 3.0) + gt.reduce_sum(h[::-1][0]))
        dx, dw = tape.gradient(loss, [x, w])
        return loss, dx, dw

    f = gt.function(step, input_signature=[gt.TensorSpec([None, 3], gt.float32)])
    for n in (1, 2, 5, 100):
        x = _rows(n, seed=3)
        for a, b in zip(f(x), step(x)):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg="size %d" % n)
    assert f.experimental_get_tracing_count() == 2


def test_a_tape_around_a_shared_program_with_slices():
    f = gt.function(lambda x: gt.reduce_sum(x[1:] * x[:-1]), input_signature=[gt.TensorSpec([None, 3], gt.float32)])
    for n in (2, 5, 100):
        x = _rows(n, seed=4)
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = f(x)
        with gt.GradientTape() as tape2:
            tape2.watch(x)
            y2 = gt.reduce_sum(x[1:] * x[:-1])
        np.testing.assert_array_equal(tape.gradient(y, x).numpy(), tape2.gradient(y2, x).numpy())
        assert float(y) == float(y2)
    assert f.experimental_get_tracing_count() == 2


def test_an_index_out_of_range_at_run_time_raises_invalid_argument():
    # TF 2.21: x[2] (and x[-1] at size 0) under input_signature [None, 3] raise
    # InvalidArgumentError when run at a size that has no such row ("slice index 2 of dimension 0
    # out of bounds"); eagerly too
    f = gt.function(lambda x: x[2] * 2.0, input_signature=[gt.TensorSpec([None, 3], gt.float32)])
    assert f(_rows(3)).numpy().tolist() == (_rows(3)[2] * 2.0).numpy().tolist()
    assert f(_rows(4)).numpy().tolist() == (_rows(4)[2] * 2.0).numpy().tolist()
    assert f.experimental_get_tracing_count() == 2
    with pytest.raises(gt.errors.InvalidArgumentError, match="out of bounds"):
        f(_rows(2))                      # the shared program's step raises
    assert f.experimental_get_tracing_count() == 2
    with pytest.raises(gt.errors.InvalidArgumentError, match="out of bounds"):
        _rows(2)[2]
    # a fixed dimension out of range: TF raises ValueError while tracing (its static shapes);
    # gradtape's InvalidArgumentError is a ValueError
    g = gt.function(lambda x: x[:, -4], input_signature=[gt.TensorSpec([None, 3], gt.float32)])
    with pytest.raises(ValueError, match="out of bounds"):
        g(_rows(2))
    h = gt.function(lambda x: x[-1], input_signature=[gt.TensorSpec([None, 3], gt.float32)])
    h(_rows(1))
    h(_rows(2))
    with pytest.raises(gt.errors.InvalidArgumentError, match="out of bounds"):
        h(gt.zeros([0, 3]))


def test_a_slice_bound_read_from_the_shape_still_traces_per_size():
    f = gt.function(lambda x: x[: x.shape[0] // 2], input_signature=[gt.TensorSpec([None, 3], gt.float32)])
    for n in (2, 4, 6, 4):
        np.testing.assert_array_equal(f(_rows(n)).numpy(), _rows(n)[: n // 2].numpy())
    assert f.experimental_get_tracing_count() == 3


def test_strided_slice_with_masks_shares_one_program():
    # gt.strided_slice is indexing spelled with masks: it reads no size either
    def fn(x):
        return (gt.strided_slice(x, [1, 0], [-1, 2], [2, 1], end_mask=0b10),
                gt.strided_slice(x, [-1, 0], [0, 0], [1, 1], shrink_axis_mask=0b01, end_mask=0b10))

    f = gt.function(fn, input_signature=[gt.TensorSpec([None, 3], gt.float32)])
    for n in (2, 3, 5, 100):
        x = _rows(n)
        got, want = f(x), fn(x)
        np.testing.assert_array_equal(got[0].numpy(), x.numpy()[1:-1:2])
        np.testing.assert_array_equal(got[1].numpy(), x.numpy()[-1])
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert f.experimental_get_tracing_count() == 2
    assert f.get_concrete_function()._program.input_guards == []


def test_slices_with_reduce_retracing_count_as_tensorflow():
    # TF 2.21 with reduce_retracing: [2, 3] traces, [4, 3] traces and relaxes to [None, 3], [5, 3]
    # reuses it, [5, 7] traces and relaxes to [None, None]; x[1:, -1] reads no size
    f = gt.function(lambda x: x[1:, -1] * 2.0, reduce_retracing=True)
    counts = []
    for shape in ([2, 3], [4, 3], [5, 3], [5, 7], [6, 2]):
        x = gt.reshape(gt.range(float(np.prod(shape))), shape)
        np.testing.assert_array_equal(f(x).numpy(), (x[1:, -1] * 2.0).numpy())
        counts.append(f.experimental_get_tracing_count())
    assert counts == [1, 2, 2, 3, 3]


def test_a_saved_shared_program_with_slices(tmp_path):
    class M(gt.Module):
        @gt.function(input_signature=[gt.TensorSpec([None, 3], gt.float32)])
        def __call__(self, x):
            return x[1:, ::-1] - x[:-1, 0:1]

    m = M()
    m(_rows(2))
    m(_rows(5))
    gt.saved_model.save(m, str(tmp_path / "m"))
    loaded = gt.saved_model.load(str(tmp_path / "m"))
    for n in (1, 3, 50):
        np.testing.assert_array_equal(loaded(_rows(n)).numpy(), m(_rows(n)).numpy())


# ---- 4. gt.print to sys.stdout: the stream as it is when the step prints ---------------------

def test_print_to_sys_stdout_follows_a_replaced_stdout_after_tracing():
    # gradtape writes to Python's sys.stdout as it is at each print, traced or not (so
    # contextlib.redirect_stdout and pytest's capsys see it). TensorFlow 2.21 (outside IPython)
    # writes to the process's stdout whatever sys.stdout is: its output is never captured there.
    import contextlib
    import io

    @gt.function
    def f(x):
        gt.print("f", x, output_stream=sys.stdout)
        return x

    first = io.StringIO()
    with contextlib.redirect_stdout(first):
        f(gt.constant(1))                     # traced while redirected
    second = io.StringIO()
    with contextlib.redirect_stdout(second):
        f(gt.constant(2))                     # replayed while redirected elsewhere
    eager = io.StringIO()
    with contextlib.redirect_stdout(eager):
        gt.print("eager", 3, output_stream=sys.stdout)
    assert (first.getvalue(), second.getvalue(), eager.getvalue()) == ("f 1\n", "f 2\n", "eager 3\n")
    assert f.experimental_get_tracing_count() == 1


def test_print_to_a_stream_object_is_that_object():
    # a stream object other than sys.stdout / sys.stderr at trace time (TensorFlow raises
    # ValueError "Unsupported output stream" for it) gets the run's text at each call
    import contextlib
    import io
    kept = io.StringIO()

    @gt.function
    def f(x):
        gt.print("f", x, output_stream=kept)
        return x

    other = io.StringIO()
    with contextlib.redirect_stdout(other):
        f(gt.constant(1))
        f(gt.constant(2))
    assert (kept.getvalue(), other.getvalue()) == ("f 1\nf 2\n", "")


def test_a_first_trace_that_raises_is_still_the_first():
    # TF 2.21: after a first trace that raised, every later trace is refused variables: the
    # second call raises ValueError. (TF then counts 1 trace and raises TypeError at the third
    # call, from its own state; gradtape counts none and raises ValueError again.)
    hold, calls = [], [0]

    @gt.function
    def g(x):
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("first")
        if not hold:
            hold.append(gt.Variable(2.0))
        return hold[0] * x

    with pytest.raises(RuntimeError, match="first"):
        g(gt.constant(1.0))
    assert g.experimental_get_tracing_count() == 0
    for _ in range(2):
        with pytest.raises(ValueError, match=SINGLETON):
            g(gt.constant(1.0))
    assert hold == [] and g.experimental_get_tracing_count() == 0


# ---- get_concrete_function runs nothing but the Python code ------------------------------------

def test_get_concrete_function_writes_no_variable_draws_nothing_and_prints_nothing(capfd):
    # TF 2.21, the same code with tf.function: get_concrete_function prints the Python print
    # once, and leaves v at 1.0 and the generator unadvanced (no tf.print output); the call that
    # follows gives 5 + the generator's first draw and writes v = 2.0.
    v = gt.Variable(1.0)
    g = gt.random.Generator.from_seed(1)
    first_draw = float(gt.random.Generator.from_seed(1).normal([]))

    @gt.function
    def f(x):
        print("python side effect")
        gt.print("gt.print ran")
        v.assign_add(1.0)
        return v * 2.0 + g.normal([]) + x

    concrete = f.get_concrete_function(gt.TensorSpec([], gt.float32))
    out = capfd.readouterr()
    assert out.out == "python side effect\n" and out.err == ""
    assert float(v.numpy()) == 1.0
    assert f.experimental_get_tracing_count() == 1
    assert float(f(gt.constant(1.0))) == np.float32(5.0) + np.float32(first_draw)
    assert capfd.readouterr().err == "gt.print ran\n"
    assert float(v.numpy()) == 2.0
    f.get_concrete_function(gt.constant(2.0))  # (found, not traced: nothing runs)
    out = capfd.readouterr()
    assert float(v.numpy()) == 2.0 and out.out == "" and out.err == ""
    fresh = gt.random.Generator.from_seed(1)
    fresh.normal([])
    second_draw = float(fresh.normal([]))
    assert float(concrete(gt.constant(0.0))) == np.float32(6.0) + np.float32(second_draw)  # v: 3.0
    assert float(v.numpy()) == 3.0


def test_get_concrete_function_keeps_a_variable_made_by_the_create_once_idiom():
    # TF 2.21: the variable is made, with its initial value (5.0); the first call then gives 6.0
    class M(gt.Module):
        def __init__(self):
            self.w = None

        @gt.function
        def __call__(self, x):
            if self.w is None:
                self.w = gt.Variable(5.0)
            self.w.assign_add(x)
            return self.w * 1.0

    m = M()
    m.__call__.get_concrete_function(gt.TensorSpec([], gt.float32))
    assert m.w is not None and float(m.w.numpy()) == 5.0
    assert float(m(gt.constant(1.0))) == 6.0
    assert float(m.w.numpy()) == 6.0


# ---- a tape inside the function watching one of its constants ---------------------------------

X_CAPTURED = np.arange(4, dtype=np.float64)


@pytest.mark.parametrize("plans", [True, False])
def test_a_watched_captured_constant_has_a_gradient_at_every_call(plans):
    # TF 2.21: [14, [0, 2, 4, 6]] at every call. (gradtape folded the ops on the constant, so
    # replays gave a gradient of None.)
    from gradtape import _core
    was = _core._gradient_plans_enabled()
    _core._set_gradient_plans(plans)
    try:
        x = gt.constant(X_CAPTURED)

        @gt.function
        def f():
            with gt.GradientTape() as t:
                t.watch(x)
                loss = gt.reduce_sum(x * x)
            return loss, t.gradient(loss, x)

        for _ in range(3):
            loss, g = f()
            assert float(loss) == 14.0
            np.testing.assert_array_equal(g.numpy(), [0.0, 2.0, 4.0, 6.0])
    finally:
        _core._set_gradient_plans(was)


def test_nested_tapes_watching_a_captured_constant():
    # TF 2.21: g = 3 x^2 = [0, 3, 12, 27], d/dx sum(g) = 6 x = [0, 6, 12, 18], at every call
    x = gt.constant(X_CAPTURED)
    y = gt.constant(2.0)

    @gt.function
    def h():
        with gt.GradientTape() as t2:
            t2.watch(x)
            with gt.GradientTape() as t1:
                t1.watch(x)
                loss = gt.reduce_sum(x * x * x)
            g = t1.gradient(loss, x)
            s = gt.reduce_sum(g)
        return g, t2.gradient(s, x)

    @gt.function
    def k():
        a = y * 3.0  # (before the watch: a constant of the program)
        with gt.GradientTape() as t:
            t.watch(y)
            t.watch(y)
            z = y * y + a
        return z, t.gradient(z, y)

    for _ in range(3):
        g, gg = h()
        np.testing.assert_array_equal(g.numpy(), [0.0, 3.0, 12.0, 27.0])
        np.testing.assert_array_equal(gg.numpy(), [0.0, 6.0, 12.0, 18.0])
        assert [float(v) for v in k()] == [10.0, 4.0]


def test_a_saved_function_watching_a_constant(tmp_path):
    class M(gt.Module):
        def __init__(self):
            self.c = gt.constant(X_CAPTURED)

        @gt.function(input_signature=[gt.TensorSpec([4], gt.float64)])
        def f(self, w):
            with gt.GradientTape() as t:
                t.watch(self.c)
                loss = gt.reduce_sum(self.c * self.c * w)
            return t.gradient(loss, self.c)

    m = M()
    w = gt.constant(np.array([1.0, 2.0, 3.0, 4.0]))
    want = 2.0 * X_CAPTURED * w.numpy()
    np.testing.assert_array_equal(m.f(w).numpy(), want)
    gt.saved_model.save(m, tmp_path / "m")
    loaded = gt.saved_model.load(tmp_path / "m")
    for _ in range(2):
        np.testing.assert_array_equal(loaded.f(w).numpy(), want)


def test_a_tape_or_accumulator_around_a_call_watching_a_captured_constant():
    # TF 2.21 (the same code with tf.function), at every call i = 0, 1, 2 with
    # x = [1 + i, 2 - i, 0.5 i]: d f/dc = 2 c x, d h/dc = x + cos(c), and the jvp of f along
    # [1, 0, 1] is 2 (c0 x0 + c2 x2). gradtape folded c*c and sin(c) at tracing (constants only),
    # so a tape around a replay missed them: None, or x alone for h. Such a call now runs
    # eagerly (docs/guides/function.md).
    c = gt.constant([1.0, 2.0, 3.0])
    traces = []

    @gt.function
    def f(x):
        traces.append(1)
        return gt.reduce_sum(c * c * x)

    @gt.function
    def h(x):
        return gt.reduce_sum(c * x + gt.sin(c))

    cn = np.array([1.0, 2.0, 3.0], np.float32)
    for i in range(3):
        xn = np.array([1.0 + i, 2.0 - i, 0.5 * i], np.float32)
        x = gt.constant(xn)
        with gt.GradientTape(persistent=True) as t:
            t.watch(c)
            y1, y2 = f(x), h(x)
        np.testing.assert_allclose(t.gradient(y1, c).numpy(), 2 * cn * xn, rtol=1e-6)
        np.testing.assert_allclose(t.gradient(y2, c).numpy(), xn + np.cos(cn), rtol=1e-6)
        with gt.autodiff.ForwardAccumulator(c, gt.constant([1.0, 0.0, 1.0])) as acc:
            y3 = f(x)
        assert float(acc.jvp(y3)) == pytest.approx(2 * (cn[0] * xn[0] + cn[2] * xn[2]))
        assert float(f(x)) == pytest.approx(float(np.sum(cn * cn * xn)))  # (no recorder: a replay)
    # the trace (the first call, under the tape), then every later call under a recorder ran
    # eagerly (5: the accumulator's of the first round, both of each later round)
    assert len(traces) == 6


# ---- a variable read into a tensor is a tensor of its own ---------------------------------------

@pytest.mark.parametrize("read", ["read_value", "value", "convert_to_tensor"])
@pytest.mark.parametrize("traced", [False, True])
def test_a_variable_read_before_a_tape_is_a_constant_to_it(read, traced):
    # TF 2.21: c read before the tape is a constant, d/dv sum(c v) = c = [1, 2]; read inside
    # the tape it is v: d/dv sum(3 c) = [3, 3]. (gradtape's reads returned the variable's value
    # tensor itself, which a later read inside the tape linked: 2c.)
    v = gt.Variable([1.0, 2.0])
    get = {"read_value": lambda: v.read_value(), "value": lambda: v.value(),
           "convert_to_tensor": lambda: gt.convert_to_tensor(v)}[read]

    def before():
        c = get()
        with gt.GradientTape() as t:
            y = gt.reduce_sum(c * v)
        return t.gradient(y, v)

    def inside():
        with gt.GradientTape() as t:
            c = get()
            y = gt.reduce_sum(c * 3.0)
        return t.gradient(y, v)

    if traced:
        before, inside = gt.function(before), gt.function(inside)
    for _ in range(2):
        np.testing.assert_array_equal(before().numpy(), [1.0, 2.0])
        np.testing.assert_array_equal(inside().numpy(), [3.0, 3.0])
    with gt.autodiff.ForwardAccumulator(v, gt.constant([1.0, 0.5])) as acc:
        c = get()
    np.testing.assert_array_equal(acc.jvp(c).numpy(), [1.0, 0.5])


def test_a_concrete_function_called_under_a_tape_watching_its_captured_constant():
    c = gt.constant([1.0, 2.0, 3.0])

    @gt.function
    def f(x):
        return gt.reduce_sum(c * c * x)

    x = gt.constant([1.0, 1.0, 2.0])
    concrete = f.get_concrete_function(x)
    for _ in range(2):
        with gt.GradientTape() as t:
            t.watch(c)
            y = concrete(x)
        np.testing.assert_array_equal(t.gradient(y, c).numpy(), [2.0, 4.0, 12.0])  # 2 c x


def test_executing_eagerly_and_get_static_value_while_tracing():
    # TF 2.21 inside tf.function: executing_eagerly() is False, get_static_value of an input is
    # None and of a constant its value; outside, True and the value.
    seen = []

    @gt.function
    def f(x):
        seen.append((gt.executing_eagerly(), gt.get_static_value(x), gt.get_static_value(gt.constant(2.0))))
        return x + 1.0

    f(gt.constant(1.0))
    assert seen == [(False, None, 2.0)]
    assert gt.executing_eagerly() is True
    assert float(gt.get_static_value(gt.constant(3.0))) == 3.0


# ---- gradients through a traced gt.cond / gt.while_loop (TF 2.21's values, from tf.function) ----
# A source that only the branch (or iteration count) not taken at the trace reaches: TF's cond
# and while ops connect it, so its gradient is zeros then and the true gradient at calls that
# take the other branch. (Before: None at the trace and so at every call.)

def _vals(r):
    if r is None:
        return None
    if isinstance(r, (list, tuple)):
        return [_vals(x) for x in r]
    return np.asarray(r).tolist()


def test_gradient_through_a_cond_whose_traced_branch_does_not_reach_the_source():
    x = gt.Variable(2.0)
    c = gt.constant(3.0)

    @gt.function
    def f(p, t):
        with gt.GradientTape() as tape:
            tape.watch(t)
            y = gt.cond(p, lambda: x * 2.0 + t * t, lambda: gt.constant(5.0))
        return tape.gradient(y, [x, t])

    assert _vals(f(gt.constant(False), c)) == [0.0, 0.0]   # the trace
    assert _vals(f(gt.constant(True), c)) == [2.0, 6.0]    # the other branch, replayed
    assert _vals(f(gt.constant(False), c)) == [0.0, 0.0]
    assert f.experimental_get_tracing_count() == 1


def test_gradient_through_a_cond_traced_on_the_branch_that_reaches_the_source():
    x = gt.Variable(2.0)

    @gt.function
    def f(p, t):
        with gt.GradientTape() as tape:
            tape.watch(t)
            y = gt.cond(p, lambda: x * 2.0 + t * t, lambda: gt.constant(5.0))
        return tape.gradient(y, [x, t])

    assert _vals(f(gt.constant(True), gt.constant(3.0))) == [2.0, 6.0]
    assert _vals(f(gt.constant(False), gt.constant(3.0))) == [0.0, 0.0]  # (was None: a tensor's slot left empty)


def test_gradient_with_respect_to_a_cond_output_and_through_nested_conds():
    c = gt.constant(3.0)
    T, F = gt.constant(True), gt.constant(False)

    @gt.function
    def f1(p, t):
        with gt.GradientTape() as tape:
            tape.watch(t)
            y = gt.cond(p, lambda: t * 2.0, lambda: gt.constant(5.0))
            z = y * 3.0
        return tape.gradient(z, [y, t])

    assert [_vals(f1(F, c)), _vals(f1(T, c)), _vals(f1(F, c))] == [[3.0, 0.0], [3.0, 6.0], [3.0, 0.0]]

    @gt.function
    def f2(p, q, t):
        with gt.GradientTape() as tape:
            tape.watch(t)
            y = gt.cond(p, lambda: gt.cond(q, lambda: t * t, lambda: gt.constant(1.0)), lambda: gt.constant(2.0))
        return tape.gradient(y, t)

    assert [_vals(f2(F, F, c)), _vals(f2(T, T, c)), _vals(f2(T, F, c))] == [0.0, 6.0, 0.0]

    @gt.function
    def f5(i, t):
        with gt.GradientTape() as tape:
            tape.watch(t)
            y = gt.switch_case(i, [lambda: t * 1.0, lambda: gt.constant(7.0), lambda: t * t])
        return tape.gradient(y, t)

    assert [_vals(f5(gt.constant(k), c)) for k in (1, 0, 2)] == [0.0, 1.0, 6.0]


def test_gradient_through_a_while_loop_that_the_trace_ran_zero_times():
    c = gt.constant(3.0)

    @gt.function
    def h(n, t):
        with gt.GradientTape() as tape:
            tape.watch(t)
            y = gt.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, s * t), (0, gt.constant(1.0)))[1]
        return tape.gradient(y, t)

    assert [_vals(h(gt.constant(0), c)), _vals(h(gt.constant(2), c))] == [0.0, 6.0]

    @gt.function
    def f3(n, t):  # a cond in the body, whose first iteration does not use t
        with gt.GradientTape() as tape:
            tape.watch(t)
            y = gt.while_loop(lambda i, s: i < n,
                              lambda i, s: (i + 1, gt.cond(i > 0, lambda: s * t, lambda: s + 1.0)),
                              (0, gt.constant(1.0)))[1]
        return tape.gradient(y, t)

    assert [_vals(f3(gt.constant(k), c)) for k in (0, 1, 3)] == [0.0, 0.0, 12.0]


def test_gradient_through_cond_persistent_tape_training_and_jacobian():
    x = gt.Variable(2.0)
    c = gt.constant(3.0)
    T, F = gt.constant(True), gt.constant(False)

    @gt.function
    def f4(p, t):
        with gt.GradientTape(persistent=True) as tape:
            tape.watch(t)
            y = gt.cond(p, lambda: t * x, lambda: gt.constant(0.5))
            w = y * y
        return tape.gradient(y, [t, x]), tape.gradient(w, t)

    assert _vals(f4(F, c)) == [[0.0, 0.0], 0.0]
    assert _vals(f4(T, c)) == [[2.0, 3.0], 24.0]

    v = gt.Variable([1.0, 2.0])

    @gt.function
    def step(p):  # the loss reads v only in the branch not taken at the trace
        with gt.GradientTape() as tape:
            loss = gt.cond(p, lambda: gt.reduce_sum(v * v), lambda: gt.constant(0.0))
        g = tape.gradient(loss, v)
        v.assign_sub(0.1 * g)
        return g

    assert _vals(step(F)) == [0.0, 0.0]
    assert _vals(step(T)) == [2.0, 4.0]
    np.testing.assert_array_equal(v.numpy(), np.float32([0.8, 1.6]))

    @gt.function
    def f9(p, t):
        with gt.GradientTape() as tape:
            tape.watch(t)
            y = gt.cond(p, lambda: t * 2.0, lambda: gt.ones([2]))
        return tape.jacobian(y, t)

    a = gt.constant([1.0, 2.0])
    assert _vals(f9(F, a)) == [[0.0, 0.0], [0.0, 0.0]]
    assert _vals(f9(T, a)) == [[2.0, 0.0], [0.0, 2.0]]


def test_gradient_through_cond_stays_none_where_no_branch_reaches_the_source():
    c = gt.constant(3.0)
    T, F = gt.constant(True), gt.constant(False)

    @gt.function
    def f8(p, t):  # the only path goes through an integer cast: None, as in TF
        with gt.GradientTape() as tape:
            tape.watch(t)
            y = gt.cond(p, lambda: gt.cast(gt.cast(t, gt.int32), gt.float32), lambda: gt.constant(5.0))
        return tape.gradient(y, t)

    assert [f8(T, c), f8(F, c)] == [None, None]

    x = gt.Variable(2.0)

    @gt.function
    def g(p):  # both branches constants
        with gt.GradientTape() as tape:
            y = gt.cond(p, lambda: gt.constant(1.0), lambda: gt.constant(5.0))
            z = y + 0.0
        return tape.gradient(z, x)

    assert g(F) is None and g(T) is None

    @gt.function
    def f10(p, t):  # stop_gradient in the branch taken: zeros; the other branch: its gradient
        with gt.GradientTape() as tape:
            tape.watch(t)
            y = gt.cond(p, lambda: gt.stop_gradient(t) * 2.0, lambda: t * 3.0)
        return tape.gradient(y, t)

    assert [_vals(f10(T, c)), _vals(f10(F, c))] == [0.0, 3.0]

    @gt.function
    def f12(p, t):  # the taken branch's -0.0 is kept bit for bit
        with gt.GradientTape() as tape:
            tape.watch(t)
            y = gt.cond(p, lambda: t * -0.0, lambda: t * 0.0)
        return tape.gradient(y, t)

    assert np.signbit(float(f12(T, c)))


def test_gradient_through_cond_of_a_saved_function(tmp_path):
    class M(gt.Module):
        def __init__(self):
            self.v = gt.Variable(3.0)

        @gt.function(input_signature=[gt.TensorSpec([], gt.bool)])
        def g(self, p):
            with gt.GradientTape() as tape:
                y = gt.cond(p, lambda: self.v * self.v, lambda: gt.constant(1.0))
            return tape.gradient(y, self.v)

    m = M()
    assert [_vals(m.g(gt.constant(False))), _vals(m.g(gt.constant(True)))] == [0.0, 6.0]
    gt.saved_model.save(m, str(tmp_path / "m"))
    loaded = gt.saved_model.load(str(tmp_path / "m"))
    assert [_vals(loaded.g(gt.constant(False))), _vals(loaded.g(gt.constant(True)))] == [0.0, 6.0]

    # a tape around a loaded call sees the inner gradient 2 v: d(2 v * v)/dv = 4 v, as eagerly
    with gt.GradientTape() as tape:
        y = loaded.g(gt.constant(True)) * loaded.v
    assert _vals(tape.gradient(y, loaded.v)) == 12.0
    v = gt.Variable(3.0)
    with gt.GradientTape() as outer:
        with gt.GradientTape() as inner:
            y = gt.cond(gt.constant(True), lambda: v * v, lambda: gt.constant(1.0))
        y = inner.gradient(y, v) * v
    assert _vals(outer.gradient(y, v)) == 12.0
def _grads(gs):
    return [None if g is None else np.round(np.asarray(g), 6).tolist() for g in gs]


def test_a_tape_around_a_call_through_cond_and_while_loop_follows_tensorflow():
    # TF 2.21 (the same code with tf.function): a tape *around* the call connects a source that
    # any branch (or the loop body) reaches through floating-point values: zeros at a call whose
    # branch does not use it, whatever the trace took; None where no branch reaches it
    v, w = gt.Variable(2.0), gt.Variable(5.0)
    x = gt.constant(1.5)

    def around(fn, *args, sources):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = fn(x, *args)
        return _grads(tape.gradient(y, sources))

    @gt.function
    def f(x, p):
        return gt.cond(p, lambda: x * v * 3.0, lambda: x + 1.0)

    got = [around(f, gt.constant(p), sources=[x, v, w]) for p in (False, True, False)]
    assert got == [[1.0, 0.0, None], [6.0, 4.5, None], [1.0, 0.0, None]]
    f(x, gt.constant(False))  # (a call with no tape around: a plain replay, then the tape again)
    assert around(f, gt.constant(False), sources=[x, v]) == [1.0, 0.0]

    @gt.function
    def g(x, p):  # x only through an int cast: None in both (w always connected)
        return gt.cond(p, lambda: gt.cast(gt.cast(x, gt.int32), gt.float32) * w, lambda: w * 2.0)

    assert [around(g, gt.constant(p), sources=[x, w, v]) for p in (False, True)] == [
        [None, 2.0, None], [None, 1.0, None]]

    @gt.function
    def h(x, n):
        return gt.while_loop(lambda i, a: i < n, lambda i, a: (i + 1, a * x * v),
                             [gt.constant(0), gt.constant(1.0)])[1]

    assert [around(h, gt.constant(n), sources=[x, v, w]) for n in (0, 2)] == [
        [0.0, 0.0, None], [12.0, 9.0, None]]

    @gt.function
    def k(x, p, q):  # nested conds; stop_gradient cuts x in the inner false branch
        return gt.cond(p, lambda: gt.cond(q, lambda: x * w, lambda: gt.stop_gradient(x) * 2.0),
                       lambda: gt.constant(3.0))

    assert [around(k, gt.constant(p), gt.constant(q), sources=[x, w, v])
            for p, q in ((False, False), (True, False), (True, True))] == [
        [0.0, 0.0, None], [0.0, 0.0, None], [5.0, 1.5, None]]

    @gt.function
    def m(x, p):
        return gt.cond(p, lambda: x * v, lambda: x * 2.0)

    xs = gt.constant([1.0, 2.0])
    got = []
    for p in (False, True):
        with gt.GradientTape(persistent=True) as tape:
            tape.watch(xs)
            y = m(xs, gt.constant(p))
        got.append(_grads([tape.jacobian(y, v), tape.gradient(y, v)]))
        assert v in list(tape.watched_variables())  # (the cond reads v whichever branch runs)
    assert got == [[[0.0, 0.0], 0.0], [[1.0, 2.0], 3.0]]

    # what a while loop's condition reads is connected too, compared or cast to an integer
    @gt.function
    def c1(x):
        return gt.while_loop(lambda a: a < 10.0 * v, lambda a: (a * 2.0,), [x])[0]

    @gt.function
    def c2(x, n):
        return gt.while_loop(lambda i, a: gt.logical_and(i < n, x * v > 0.0), lambda i, a: (i + 1, a * w),
                             [gt.constant(0), gt.constant(1.0)])[1]

    @gt.function
    def c3(x, n):
        return gt.while_loop(lambda i, a: i < gt.cast(x, gt.int32) + n, lambda i, a: (i + 1, a * w),
                             [gt.constant(0), gt.constant(1.0)])[1]

    assert around(c1, sources=[x, v]) == [16.0, 0.0]
    assert [around(c2, gt.constant(n), sources=[x, v, w]) for n in (0, 2)] == [[0.0, 0.0, 0.0], [0.0, 0.0, 10.0]]
    assert around(c3, gt.constant(1), sources=[x, w]) == [0.0, 10.0]

    # eagerly, gt.cond runs one branch, as tf.cond does eagerly: None
    with gt.GradientTape() as tape:
        y = gt.cond(gt.constant(False), lambda: x * v, lambda: x + 1.0)
    assert tape.gradient(y, v) is None


# --- gt.debugging inside gt.function (values and messages from TF 2.21's tf.function) ----------

def _fails(fn, *args, error=gt.errors.InvalidArgumentError):
    with pytest.raises(error) as e:
        fn(*args)
    return str(e.value)


def test_traced_debugging_asserts_check_every_call():
    # TF 2.21: tf.function traces the asserts; a call whose values fail one raises
    # InvalidArgumentError "assertion failed: [eq] [Condition x == y did not hold element-wise:]
    # [x (x:0) = ] [1 2] [y (y:0) = ] [1 3]" (gradtape names no graph tensors)
    @gt.function
    def f(x, y):
        gt.debugging.assert_equal(x, y, message="eq")
        gt.debugging.assert_less(x, y + 10.0)
        return x * 2

    ok, bad = gt.constant([1.0, 2.0]), gt.constant([1.0, 3.0])
    np.testing.assert_array_equal(f(ok, ok).numpy(), [2.0, 4.0])
    for _ in range(2):  # (the first failure at the trace, the second at a replay)
        assert _fails(f, ok, bad) == ("assertion failed: [eq] [Condition x == y did not hold element-wise:] "
                                      "[x = ] [1 2] [y = ] [1 3]")
    np.testing.assert_array_equal(f(ok, ok).numpy(), [2.0, 4.0])
    assert f.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("check, good, bad, expected", [
    # (check, passing input, failing input, TF 2.21's message without its "(x:0)" tensor names)
    (lambda x: gt.debugging.assert_less(x, 0, summarize=2), [-1, -2], list(range(10)),
     "assertion failed: [Condition x < y did not hold element-wise:] [x = ] [0 1...] [y = ] [0]"),
    (lambda x: gt.debugging.assert_less(x, 0), [-1, -2], list(range(10)),
     "assertion failed: [Condition x < y did not hold element-wise:] [x = ] [0 1 2...] [y = ] [0]"),
    (lambda x: gt.debugging.assert_greater(x, 5), [6, 7], list(range(10)),
     "assertion failed: [Condition x > y did not hold element-wise:] [x = ] [0 1 2...] [y = ] [5]"),
    (lambda x: gt.debugging.assert_less_equal(x, 5, message="m"), [5, 4], list(range(10)),
     "assertion failed: [m] [Condition x <= y did not hold element-wise:] [x = ] [0 1 2...] [y = ] [5]"),
    (lambda x: gt.debugging.assert_greater_equal(x, 5), [5, 6], list(range(10)),
     "assertion failed: [Condition x >= y did not hold element-wise:] [x = ] [0 1 2...] [y = ] [5]"),
    (lambda x: gt.debugging.assert_none_equal(x, 5), [4, 6], list(range(10)),
     "assertion failed: [Condition x != y did not hold element-wise:] [x = ] [0 1 2...] [y = ] [5]"),
    (lambda x: gt.debugging.assert_positive(x), [1, 2], list(range(10)),
     "assertion failed: [] [Condition x > 0 did not hold element-wise:] [x = ] [0 1 2...]"),
    (lambda x: gt.debugging.assert_negative(x), [-1, -2], list(range(10)),
     "assertion failed: [] [Condition x < 0 did not hold element-wise:] [x = ] [0 1 2...]"),
    (lambda x: gt.debugging.assert_non_positive(x), [0, -2], list(range(10)),
     "assertion failed: [] [Condition x <= 0 did not hold element-wise:] [x = ] [0 1 2...]"),
    (lambda x: gt.debugging.assert_non_negative(x), [0.0, 2.0], [1.0, -2.0],
     "assertion failed: [] [Condition x >= 0 did not hold element-wise:] [x = ] [1 -2]"),
    (lambda x: gt.debugging.Assert(gt.reduce_all(x > 0), ["x must be positive", x]), [1.0, 2.0], [1.0, -2.0],
     "assertion failed: [x must be positive] [1 -2]"),
    (lambda x: gt.debugging.check_numerics(gt.math.log(x), "msg"), [1.0, 2.0], [1.0, 0.0],
     "msg : Tensor had Inf values"),
    (lambda x: gt.debugging.check_numerics(gt.sqrt(x), "msg"), [1.0, 2.0], [1.0, -1.0],
     "msg : Tensor had NaN values"),
    (lambda x: gt.debugging.assert_all_finite(gt.math.log(x), "af"), [1.0, 2.0], [1.0, 0.0],
     "af : Tensor had Inf values"),
])
def test_traced_debugging_check_messages(check, good, bad, expected):
    @gt.function
    def f(x):
        check(x)
        return x + 1

    good, bad = gt.constant(good), gt.constant(bad)
    np.testing.assert_array_equal(f(good).numpy(), good.numpy() + 1)  # (traced with passing values)
    assert _fails(f, bad) == expected  # (a replay's failure; bad's other shape traces again when it differs)
    np.testing.assert_array_equal(f(good).numpy(), good.numpy() + 1)


def test_traced_near_and_check_numerics_return():
    @gt.function
    def f(x):
        gt.debugging.assert_near(x, x + 1.0)
        return x

    # TF 2.21: "assertion failed: [] [x and y not equal to tolerance rtol = Tensor(...), atol = Tensor(...)]
    # [x (x:0) = ] [0 1 2] [y (add:0) = ] [1 2 3]": gradtape prints the tolerances' values (10 eps)
    assert _fails(f, gt.range(3.0)) == ("assertion failed: [] [x and y not equal to tolerance rtol = 1.19209e-06, "
                                        "atol = 1.19209e-06] [x = ] [0 1 2] [y = ] [1 2 3]")

    @gt.function
    def g(x):
        return gt.debugging.check_numerics(x, "msg") + 1

    np.testing.assert_array_equal(g(gt.constant([1.0])).numpy(), [2.0])
    assert _fails(g, gt.constant([np.nan])) == "msg : Tensor had NaN values"
    np.testing.assert_array_equal(g(gt.constant([3.0])).numpy(), [4.0])


def test_traced_debugging_static_checks_raise_at_the_trace():
    # TF 2.21 resolves these when it traces: ValueError / TypeError from the trace
    def traced(check):
        return gt.function(lambda x: (check(x), x)[1])

    x = gt.range(3.0)
    assert _fails(traced(lambda x: gt.debugging.assert_rank(x, 2)), x, error=ValueError) == \
        "Tensor must have rank 2.  Received rank 1, shape (3,)"
    assert _fails(traced(lambda x: gt.debugging.assert_rank_at_least(x, 2)), x, error=ValueError) == \
        "Tensor must have rank at least 2.  Received rank 1, shape (3,)"
    assert _fails(traced(lambda x: gt.debugging.assert_rank_in(x, [0, 2])), x, error=ValueError) == \
        "Tensor must have rank in (0, 2).  Received rank 1, shape (3,)"
    _fails(traced(lambda x: gt.debugging.assert_scalar(x)), x, error=ValueError)
    _fails(traced(lambda x: gt.debugging.assert_shapes([(x, (4,))])), x, error=ValueError)
    _fails(traced(lambda x: gt.debugging.assert_integer(x)), x, error=TypeError)
    _fails(traced(lambda x: gt.debugging.assert_type(x, gt.int32)), x, error=TypeError)
    # incompatible static shapes: TF's ValueError "Dimensions must be equal, but are 2 and 3 ..."
    assert "Dimensions must be equal, but are 2 and 3" in _fails(
        traced(lambda x: gt.debugging.assert_equal(x, [1.0, 2.0, 3.0])), gt.constant([1.0, 2.0]), error=ValueError)
    # check_numerics of an integer tensor: TF's TypeError when traced (InvalidArgumentError eagerly)
    _fails(traced(lambda x: gt.debugging.check_numerics(x, "m")), gt.constant([1]), error=TypeError)
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.debugging.check_numerics(gt.constant([1]), "m")
    with pytest.raises(ValueError):  # (eagerly too, as TF 2.21)
        gt.debugging.assert_rank(gt.constant([1.0]), 2)
    # passing static checks trace and return None
    f = traced(lambda x: (gt.debugging.assert_rank(x, 1), gt.debugging.assert_type(x, gt.float32)))
    np.testing.assert_array_equal(f(x).numpy(), [0.0, 1.0, 2.0])
    # a check of constants only is done at the trace (TF: InvalidArgumentError from the trace)
    _fails(traced(lambda x: gt.debugging.assert_equal(gt.constant(1), 2)), x)


def test_traced_debugging_checks_read_variables_and_run_in_cond_branches():
    v = gt.Variable([1.0, 2.0])

    @gt.function
    def f():
        gt.debugging.assert_positive(v)
        return v + 0.0

    np.testing.assert_array_equal(f().numpy(), [1.0, 2.0])
    v.assign([1.0, -1.0])
    assert _fails(f) == "assertion failed: [] [Condition x > 0 did not hold element-wise:] [x = ] [1 -1]"

    @gt.function
    def g(x):
        return gt.cond(x[0] > 0, lambda: gt.debugging.check_numerics(gt.math.log(x), "log"), lambda: x)

    np.testing.assert_allclose(g(gt.constant([1.0, 2.0])).numpy(), [0.0, np.log(2.0)], rtol=1e-6)
    assert _fails(g, gt.constant([1.0, 0.0])) == "log : Tensor had Inf values"
    np.testing.assert_array_equal(g(gt.constant([-1.0, 0.0])).numpy(), [-1.0, 0.0])  # (the other branch)


def test_traced_debugging_check_cannot_be_saved(tmp_path):
    class M(gt.Module):
        @gt.function(input_signature=[gt.TensorSpec([2], gt.float32)])
        def f(self, x):
            gt.debugging.assert_positive(x)
            return x * 2

    m = M()
    np.testing.assert_array_equal(m.f(gt.constant([1.0, 2.0])).numpy(), [2.0, 4.0])
    with pytest.raises(ValueError, match="gt.debugging check"):
        gt.saved_model.save(m, str(tmp_path))


# --- lists holding tensors: packed as tf.convert_to_tensor packs them (TF 2.21) -------------------

def test_traced_lists_holding_tensors_are_packed():
    @gt.function
    def g(x, i):
        return (gt.gather_nd(x, [[i, 0]]), gt.convert_to_tensor([[i, 0]]),
                gt.convert_to_tensor([gt.cast(i, gt.float32), 2.5]), gt.convert_to_tensor([[i, 1], [2, i]]),
                gt.convert_to_tensor((i, 4)), [[i, 0]] + gt.constant([[1, 1]]))

    x = gt.reshape(gt.range(6.0), [3, 2])
    # TF 2.21's values for i = 1 and i = 2
    for i, want in ((1, ([2.0], [[1, 0]], [1.0, 2.5], [[1, 1], [2, 1]], [1, 4], [[2, 1]])),
                    (2, ([4.0], [[2, 0]], [2.0, 2.5], [[2, 1], [2, 2]], [2, 4], [[3, 1]]))):
        got = g(x, gt.constant(i))
        for t, w in zip(got, want):
            np.testing.assert_array_equal(t.numpy(), w)
        assert [t.dtype for t in got] == [gt.float32, gt.int32, gt.float32, gt.int32, gt.int32, gt.int32]
    assert g.experimental_get_tracing_count() == 1
    # an index out of range at a replay: TF's InvalidArgumentError
    with pytest.raises(gt.errors.InvalidArgumentError):
        g(x, gt.constant(7))


def test_traced_list_packing_dtypes_and_errors():
    def traced(fn, *args):
        return gt.function(fn)(*args)

    one, half = gt.constant(1), gt.constant(1.5)
    # TF 2.21: a dtype asked for casts the tensors; the first tensor's dtype otherwise
    r = traced(lambda i: gt.convert_to_tensor([i, 2], dtype=gt.int64), one)
    assert r.dtype == gt.int64 and r.numpy().tolist() == [1, 2]
    r = traced(lambda i: gt.convert_to_tensor([i, 2], dtype=gt.int32), half)
    assert r.dtype == gt.int32 and r.numpy().tolist() == [1, 2]
    r = traced(lambda i: gt.convert_to_tensor([1, i]), half)
    assert r.dtype == gt.float32 and r.numpy().tolist() == [1.0, 1.5]
    r = traced(lambda i: gt.convert_to_tensor([i, [1, 2]]), gt.constant([1, 5]))
    assert r.numpy().tolist() == [[1, 5], [1, 2]]
    r = traced(lambda i: gt.convert_to_tensor([i, np.array([2.5, 1.0])]), gt.constant([1.0, 1.0]))
    assert r.numpy().tolist() == [[1.0, 1.0], [2.5, 1.0]]
    r = traced(lambda i: gt.convert_to_tensor([i, True]), gt.constant(False))
    assert r.numpy().tolist() == [False, True]
    v = gt.Variable(3.0)
    assert traced(lambda i: gt.convert_to_tensor([v, i]), gt.constant(1.0)).numpy().tolist() == [3.0, 1.0]
    # TF 2.21's exception types
    with pytest.raises(TypeError):  # "Expected int32, but got 2.5 of type 'float'."
        traced(lambda i: gt.convert_to_tensor([i, 2.5]), one)
    with pytest.raises(TypeError):
        traced(lambda i: gt.convert_to_tensor([1.5, i]), one)
    with pytest.raises(TypeError):  # "Cannot convert a list containing a tensor of dtype float64 to float32"
        traced(lambda i: gt.convert_to_tensor([i, gt.constant(2.0, gt.float64)]), gt.constant(1.0))
    with pytest.raises(ValueError):  # "Shapes must be equal rank, but are 0 and 1"
        traced(lambda i: gt.convert_to_tensor([i, [1, 2]]), one)
    with pytest.raises(ValueError):  # "Dimension 0 in both shapes must be equal, but are 2 and 3"
        traced(lambda i: gt.convert_to_tensor([[i, 1], [1, 2, 3]]), one)
    with pytest.raises(ValueError):  # "None values not supported."
        traced(lambda i: gt.convert_to_tensor([i, None]), one)
    with pytest.raises(ValueError):  # (TF 2.21 wraps 2**40 to 0 in int32; gradtape refuses it)
        traced(lambda i: gt.convert_to_tensor([i, 2 ** 40]), one)
    # tf.constant never packs: TF's TypeError "Expected any non-tensor type, but got a tensor instead."
    with pytest.raises(TypeError):
        traced(lambda i: gt.constant([i, 3]), one)


def test_traced_list_packing_is_differentiated():
    w = gt.Variable(2.0)

    @gt.function
    def f():
        with gt.GradientTape() as tape:
            y = gt.reduce_sum(gt.convert_to_tensor([[w * w, 3.0]]))
        return tape.gradient(y, w)

    assert float(f()) == 4.0  # (TF 2.21: 4.0, d(w^2)/dw)


def test_eager_lists_holding_tensors_match_tensorflow():
    # TF 2.21's eager values: the list is packed with the first tensor's dtype
    r = gt.convert_to_tensor([gt.constant(1.5, gt.float64), 2])
    assert r.dtype == gt.float64 and r.numpy().tolist() == [1.5, 2.0]
    r = gt.convert_to_tensor([[gt.constant(1, gt.int64), 0]])
    assert r.dtype == gt.int64 and r.numpy().tolist() == [[1, 0]]
    r = gt.convert_to_tensor([gt.constant(1.0), np.float64(2.0)])
    assert r.dtype == gt.float32 and r.numpy().tolist() == [1.0, 2.0]
    r = gt.convert_to_tensor([gt.constant([1, 2]), [3, 4]])
    assert r.numpy().tolist() == [[1, 2], [3, 4]]
    r = gt.convert_to_tensor([gt.constant(1.5), 2], dtype=gt.int32)
    assert r.dtype == gt.int32 and r.numpy().tolist() == [1, 2]
    r = gt.convert_to_tensor([gt.Variable(1.0), 2.0])
    assert r.numpy().tolist() == [1.0, 2.0]
    r = gt.constant([[1.0, 2.0]]) + [[gt.constant(1), 2]]  # (the other operand's dtype, as TF's ops)
    assert r.dtype == gt.float32 and r.numpy().tolist() == [[2.0, 4.0]]
    r = gt.reshape(gt.range(6), [gt.constant(2), -1])
    assert r.numpy().tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(TypeError):  # "Cannot convert 2.5 to EagerTensor of dtype int32"
        gt.convert_to_tensor([gt.constant(1), 2.5])
    with pytest.raises(gt.errors.InvalidArgumentError):  # Pack's error
        gt.convert_to_tensor([gt.constant(1.0), gt.constant(2.0, gt.float64)])
    with pytest.raises(gt.errors.InvalidArgumentError):  # "Shapes of all inputs must match"
        gt.convert_to_tensor([gt.constant([1, 2]), [3]])
    w = gt.Variable(2.0)
    with gt.GradientTape() as tape:
        y = gt.reduce_sum(gt.convert_to_tensor([w * w, 3.0]))
    assert float(tape.gradient(y, w)) == 4.0  # (TF 2.21: 4.0)


def test_traced_debugging_check_of_a_list_holding_a_traced_tensor():
    # TF 2.21 packs the list: assert_equal([i, 0], [1, 0]) passes for i = 1 and fails for i = 2
    @gt.function
    def g(i):
        gt.debugging.assert_equal([i, 0], [1, 0])
        return i

    assert int(g(gt.constant(1))) == 1
    assert _fails(g, gt.constant(2)) == ("assertion failed: [Condition x == y did not hold element-wise:] "
                                         "[x = ] [2 0] [y = ] [1 0]")


def test_enable_check_numerics_inside_function():
    # TF 2.21: tf.function traces the instrumented ops; a call whose log gives -inf raises
    # InvalidArgumentError ("!!! Detected Infinity or NaN in output 0 of graph op "Log" ...")
    gt.debugging.enable_check_numerics()
    try:
        @gt.function
        def f(x):
            return gt.math.log(x) * 2

        np.testing.assert_allclose(f(gt.constant([1.0, 2.0])).numpy(), [0.0, 1.3862944], rtol=1e-6)
        with pytest.raises(gt.errors.InvalidArgumentError, match="'log'"):
            f(gt.constant([1.0, 0.0]))
        np.testing.assert_allclose(f(gt.constant([3.0, 2.0])).numpy(), [2.1972246, 1.3862944], rtol=1e-6)
        assert f.experimental_get_tracing_count() == 1
    finally:
        gt.debugging.disable_check_numerics()


def test_reshape_to_a_shape_computed_inside_the_function(tmp_path):
    # TF's idiom tf.reshape(x, [tf.shape(x)[0], -1]): the shape is a step's value, read at each run
    @gt.function(input_signature=[gt.TensorSpec([None, 4], gt.float32)])
    def f(x):
        return gt.reshape(x * 2.0, [gt.shape(x)[0], 2, -1])

    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(f(gt.constant(a)).numpy(), (2 * a).reshape(3, 2, 2))
    b = np.arange(20, dtype=np.float32).reshape(5, 4)
    np.testing.assert_array_equal(f(gt.constant(b)).numpy(), (2 * b).reshape(5, 2, 2))

    @gt.function
    def g(x, n):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.reshape(x, gt.stack([n, -1])) * gt.constant([[1.0], [2.0]])
        return y, tape.gradient(y, x)

    y, dx = g(gt.ones([4, 3]), gt.constant(2))
    assert y.shape == (2, 6)
    np.testing.assert_array_equal(dx.numpy(), np.float32([[1, 1, 1], [1, 1, 1], [2, 2, 2], [2, 2, 2]]))
    # another value giving another shape: a clear error, not a result of the traced shape
    with pytest.raises(gt.errors.InvalidArgumentError, match="reshape gave a result of shape"):
        g(gt.ones([4, 3]), gt.constant(3))
    with pytest.raises(gt.errors.InvalidArgumentError):  # a shape reshape refuses, at the run
        g(gt.ones([4, 3]), gt.constant(5))

    class M(gt.Module):
        @gt.function(input_signature=[gt.TensorSpec([2, 6], gt.float32)])
        def flat(self, x):
            return gt.reshape(x, [gt.shape(x)[0] * 2, -1])

    gt.saved_model.save(M(), str(tmp_path / "m"))
    loaded = gt.saved_model.load(str(tmp_path / "m"))
    assert loaded.flat(gt.ones([2, 6])).shape == (4, 3)


def test_gradient_through_a_while_loop_across_loop_variables():
    # (a review's cases; TF 2.21's values) the source reaches the output only through another
    # loop variable, one or more iterations later
    c = gt.constant(3.0)

    @gt.function
    def f(n, t):
        with gt.GradientTape() as tape:
            tape.watch(t)
            _, s, r = gt.while_loop(lambda i, s, r: i < n, lambda i, s, r: (i + 1, s + r, t * 1.0),
                                    (0, gt.constant(0.0), gt.constant(0.0)))
        return tape.gradient(s, t)

    assert [_vals(f(gt.constant(k), c)) for k in (1, 3, 0)] == [0.0, 2.0, 0.0]

    @gt.function
    def g(n, t):  # a <- b <- d <- t
        with gt.GradientTape() as tape:
            tape.watch(t)
            _, a, b, d = gt.while_loop(lambda i, a, b, d: i < n, lambda i, a, b, d: (i + 1, b * 1.0, d * 2.0, t * 1.0),
                                       (0, gt.constant(1.0), gt.constant(1.0), gt.constant(1.0)))
        return tape.gradient(a, t)

    assert [_vals(g(gt.constant(k), c)) for k in (0, 1, 2, 3, 4)] == [0.0, 0.0, 0.0, 2.0, 2.0]

    x = gt.Variable(3.0)

    @gt.function
    def h(n):
        with gt.GradientTape() as tape:
            _, a, b = gt.while_loop(lambda i, a, b: i < n, lambda i, a, b: (i + 1, b * 2.0, x * 1.0),
                                    (0, gt.constant(1.0), gt.constant(1.0)))
        return tape.gradient(a, x)

    assert [_vals(h(gt.constant(k))) for k in (1, 2, 0)] == [0.0, 2.0, 0.0]

    @gt.function
    def k(n, t):  # the initial value reaches the output only when the loop runs no iteration
        with gt.GradientTape() as tape:
            tape.watch(t)
            _, s = gt.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, gt.constant(2.0)), (0, t * 3.0))
        return tape.gradient(s, t)

    assert [_vals(k(gt.constant(m), c)) for m in (1, 0, 2)] == [0.0, 3.0, 0.0]

    @gt.function
    def u(n, t):  # a loop output computed from constants only: no gradient with respect to it
        with gt.GradientTape() as tape:
            tape.watch(t)
            _, s = gt.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, s * 2.0), (0, gt.constant(1.0)))
            z = s * t
        return tape.gradient(z, [t, s])

    assert [_vals(u(gt.constant(0), c)), _vals(u(gt.constant(2), c))] == [[1.0, None], [4.0, None]]


def test_second_derivatives_through_a_traced_cond_and_multi_output_conds():
    c = gt.constant(3.0)
    T, F = gt.constant(True), gt.constant(False)

    @gt.function
    def f(p, t):
        with gt.GradientTape() as t2:
            t2.watch(t)
            with gt.GradientTape() as t1:
                t1.watch(t)
                y = gt.cond(p, lambda: t * t * t, lambda: gt.constant(1.0))
            g = t1.gradient(y, t)
        return g, t2.gradient(g, t)

    assert [_vals(f(F, c)), _vals(f(T, c)), _vals(f(F, c))] == [[0.0, 0.0], [27.0, 18.0], [0.0, 0.0]]

    @gt.function
    def lin(p, t):  # the branch traced is linear in t: its gradient is a constant
        with gt.GradientTape() as t2:
            t2.watch(t)
            with gt.GradientTape() as t1:
                t1.watch(t)
                y = gt.cond(p, lambda: t * t, lambda: t * 2.0)
            g = t1.gradient(y, t)
        return g, t2.gradient(g, t)

    assert [_vals(lin(F, c)), _vals(lin(T, c)), _vals(lin(F, c))] == [[2.0, 0.0], [6.0, 2.0], [2.0, 0.0]]

    x = gt.Variable(2.0)

    @gt.function
    def var(p, t):  # the outer tape differentiates with respect to a variable
        with gt.GradientTape() as t2:
            with gt.GradientTape() as t1:
                t1.watch(t)
                y = gt.cond(p, lambda: t * x * x, lambda: t * 2.0)
            g = t1.gradient(y, t)
        return g, t2.gradient(g, x)

    assert [_vals(var(F, c)), _vals(var(T, c)), _vals(var(F, c))] == [[2.0, 0.0], [4.0, 4.0], [2.0, 0.0]]

    @gt.function
    def multi(p, t, u):  # TF connects an input to every output of the cond
        with gt.GradientTape() as tape:
            tape.watch([t, u])
            a, b = gt.cond(p, lambda: (t * 2.0, u * 3.0), lambda: (t * 5.0, u * 1.0))
        return tape.gradient(b, [t, u])

    assert [_vals(multi(F, c, c)), _vals(multi(T, c, c))] == [[0.0, 1.0], [0.0, 3.0]]


def test_a_forward_accumulator_entered_inside_a_function_is_refused():
    # (its tangents come from forward rules no step replays; before, a trace whose branch gave
    # no tangent returned None, or zeros, at every call)
    @gt.function
    def f(p, t):
        with gt.autodiff.ForwardAccumulator(t, gt.constant(1.0)) as acc:
            y = gt.cond(p, lambda: t * t, lambda: gt.constant(1.0))
        return acc.jvp(y)

    with pytest.raises(gt.errors.OperatorNotAllowedInGraphError, match="ForwardAccumulator"):
        f(gt.constant(False), gt.constant(3.0))
    with gt.autodiff.ForwardAccumulator(gt.constant(3.0), gt.constant(1.0)):  # eagerly: fine
        pass
