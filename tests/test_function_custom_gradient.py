"""gt.custom_gradient inside gt.function (docs/guides/function.md, "Custom gradients"): the
cases of tests/reference/function_custom_gradient_cases.py give TensorFlow 2.21's values (stored
there), and the same values as eager gradtape, bit for bit."""
import math
import pathlib
import sys

import numpy as np
import pytest

import gradtape as gt

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "reference"))
from function_custom_gradient_cases import CASES, ERRORS, TF, TF_ERRORS, X, to_lists  # noqa: E402

# (the cases whose eager run differs in kind: a saved model is made of traced functions)
NOT_EAGER = {"saved_model"}


def _array(x):
    try:
        return np.asarray(x, dtype=np.float64)
    except (ValueError, TypeError):  # (a nest of tensors of several shapes, or holding None)
        return None


def assert_close(got, want, path="", exact=False):
    """got and want (nests of lists from to_lists) hold the same values: within float32's rounding
    (TensorFlow's), or bit for bit (exact)."""
    if want is None or got is None:
        assert got is None and want is None, "%s: %r against %r" % (path, got, want)
        return
    g, w = _array(got), _array(want)
    if g is None or w is None:
        assert isinstance(got, list) and isinstance(want, list) and len(got) == len(want), \
            "%s: %r against %r" % (path, got, want)
        for i, (a, b) in enumerate(zip(got, want)):
            assert_close(a, b, "%s[%d]" % (path, i), exact)
        return
    assert g.shape == w.shape, "%s: shape %s against %s" % (path, g.shape, w.shape)
    if exact:
        np.testing.assert_array_equal(g, w, err_msg=path)
    else:
        np.testing.assert_allclose(g, w, rtol=2e-6, atol=1e-7, err_msg=path)


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_tensorflow_values(case):
    got = to_lists(case(gt))
    assert_close(got, TF[case.__name__], case.__name__)


@pytest.mark.parametrize("case", [c for c in CASES if c.__name__ not in NOT_EAGER],
                         ids=[c.__name__ for c in CASES if c.__name__ not in NOT_EAGER])
def test_eager_values_bit_for_bit(case):
    traced = to_lists(case(gt))
    gt.config.run_functions_eagerly(True)
    try:
        eager = to_lists(case(gt))
    finally:
        gt.config.run_functions_eagerly(False)
    assert_close(traced, eager, case.__name__, exact=True)


@pytest.mark.parametrize("case", ERRORS, ids=[c.__name__ for c in ERRORS])
def test_tensorflow_errors(case):
    with pytest.raises(Exception) as e:
        case(gt)
    assert type(e.value).__name__ == TF_ERRORS[case.__name__]


# ---- the program: grad_fn is traced once, into a block; no Python runs when a replay is differentiated ----

def _counted_log1pexp(calls):
    @gt.custom_gradient
    def log1pexp(x):
        calls.append("f")
        e = gt.exp(x)

        def grad(dy):
            calls.append("grad")
            return dy * (1 - 1 / (1 + e))
        return gt.math.log(1 + e), grad
    return log1pexp


def test_grad_fn_is_traced_once_and_replayed_without_python():
    calls = []
    log1pexp = _counted_log1pexp(calls)

    @gt.function
    def step(x):
        with gt.GradientTape() as t:
            t.watch(x)
            y = gt.reduce_sum(log1pexp(x))
        return t.gradient(y, x)
    x = gt.constant(X)
    for _ in range(3):
        np.testing.assert_allclose(step(x).numpy(), TF["log1pexp_inside"][0][1], rtol=1e-6)
    assert calls == ["f", "grad"]
    assert step.experimental_get_tracing_count() == 1
    names = step.get_concrete_function(x)._program.step_names()
    i = names.index("tape_pause")
    assert names[i:i + 5] == ["tape_pause", "exp", "add", "log", "tape_resume"]
    assert names[i + 5] == "custom_gradient"
    # (a tape around a replay: the rule runs the traced block, not grad_fn)
    f = gt.function(lambda x: gt.reduce_sum(log1pexp(x)))
    for _ in range(3):
        with gt.GradientTape(persistent=True) as t:
            t.watch(x)
            y = f(x)
        for _ in range(2):  # (the rule keeps the values it needs after the run has ended)
            np.testing.assert_allclose(t.gradient(y, x).numpy(), TF["log1pexp_inside"][0][1], rtol=1e-6)
    assert calls == ["f", "grad", "f", "grad"]


def test_gradient_plan_is_not_used_with_a_custom_gradient():
    log1pexp = _log1pexp_gt()

    @gt.function
    def step(x):
        with gt.GradientTape() as t:
            t.watch(x)
            y = gt.reduce_sum(log1pexp(x))
        return t.gradient(y, x)
    x = gt.constant(X)
    for _ in range(3):
        np.testing.assert_allclose(step(x).numpy(), TF["log1pexp_inside"][0][1], rtol=1e-6)
    assert step.get_concrete_function(x)._program.gradient_plan == "none"


def _log1pexp_gt():
    from function_custom_gradient_cases import _log1pexp
    return _log1pexp(gt)


def test_forward_accumulator_around_a_call_uses_the_rule():
    """As a tf.function call: the tangent is the custom gradient's, transposed (TF 2.21 gives
    these values; eagerly both take the forward's own ops' tangents: nan at 100)."""
    log1pexp = _log1pexp_gt()

    @gt.custom_gradient
    def ste(x):
        return gt.round(x), lambda dy: dy * 2.0
    f = gt.function(lambda x: log1pexp(x))
    g = gt.function(lambda x: ste(x))
    x = gt.constant(X)
    for _ in range(2):
        with gt.autodiff.ForwardAccumulator(x, gt.constant([1.0, 2.0, 3.0])) as acc:
            y, z = f(x), g(x)
        np.testing.assert_allclose(acc.jvp(y).numpy(), [0.6224592924118042, 2.0, 0.14227759838104248], rtol=1e-6)
        np.testing.assert_array_equal(acc.jvp(z).numpy(), [2.0, 4.0, 6.0])
    with gt.autodiff.ForwardAccumulator(x, gt.constant([1.0, 2.0, 3.0])) as acc:
        y = log1pexp(x)
    assert math.isnan(acc.jvp(y).numpy()[1])


def test_input_signature_with_none_dimension():
    log1pexp = _log1pexp_gt()

    @gt.function(input_signature=[gt.TensorSpec([None], gt.float32)])
    def step(x):
        with gt.GradientTape() as t:
            t.watch(x)
            y = gt.reduce_sum(log1pexp(x) * x)
        return y, t.gradient(y, x)
    for n in (3, 2, 5, 7):
        x = gt.constant(np.linspace(-3.0, 4.0, n, dtype=np.float32))
        y, g = step(x)
        with gt.GradientTape() as t:
            t.watch(x)
            ye = gt.reduce_sum(log1pexp(x) * x)
        np.testing.assert_array_equal(y.numpy(), ye.numpy())
        np.testing.assert_array_equal(g.numpy(), t.gradient(ye, x).numpy())
    assert step.experimental_get_tracing_count() == 2


# ---- what is refused while tracing, and the errors of a run ----

def test_grad_fn_with_an_effect_is_refused():
    v = gt.Variable(0.0, trainable=False)

    @gt.custom_gradient
    def counting(x):
        def grad(dy):
            v.assign_add(1.0)
            return dy
        return x * 2.0, grad

    @gt.function
    def step(x):
        with gt.GradientTape() as t:
            t.watch(x)
            y = gt.reduce_sum(counting(x))
        return t.gradient(y, x)
    with pytest.raises(gt.errors.OperatorNotAllowedInGraphError, match="gradient function has an effect"):
        step(gt.constant(X))
    assert float(v) == 0.0


def test_grad_fn_reading_a_value_is_refused_naming_the_function():
    @gt.custom_gradient
    def pythonic(x):
        return x * 2.0, lambda dy: dy * float(gt.reduce_sum(dy))

    @gt.function
    def step(x):
        with gt.GradientTape() as t:
            t.watch(x)
            y = gt.reduce_sum(pythonic(x))
        return t.gradient(y, x)
    with pytest.raises(gt.errors.OperatorNotAllowedInGraphError, match="pythonic"):
        step(gt.constant(X))
    # (the trace failed cleanly: the function runs a later, traceable call)
    np.testing.assert_array_equal(
        gt.function(lambda x: _log1pexp_gt()(x))(gt.constant([0.0])).numpy(), [np.log(2.0).astype(np.float32)])


def test_wrong_number_of_gradients():
    """Eagerly a ValueError when the gradient is taken; traced, when the function traces (TF 2.21:
    InternalError from the gradient)."""
    @gt.custom_gradient
    def wrong(a, b):
        return a * b, lambda dy: dy

    @gt.function
    def step(a, b):
        with gt.GradientTape() as t:
            t.watch([a, b])
            y = gt.reduce_sum(wrong(a, b))
        return t.gradient(y, [a, b])
    with pytest.raises(ValueError, match="returned 1 gradients for 2 inputs"):
        step(gt.constant(X), gt.constant(X))


def test_gradient_of_the_wrong_shape():
    """gradtape refuses it eagerly and traced (TF 2.21 passes the wrong shape on: 3.0 here)."""
    @gt.custom_gradient
    def wshape(a):
        return a * 2.0, lambda dy: gt.reduce_sum(dy)

    @gt.function
    def step(a):
        with gt.GradientTape() as t:
            t.watch(a)
            y = gt.reduce_sum(wshape(a))
        return t.gradient(y, a)
    with pytest.raises(gt.errors.InvalidArgumentError, match="must have the input's shape"):
        step(gt.constant(X))


# ---- saved models ----

def test_saved_model_holds_the_gradient_block(tmp_path):
    import subprocess

    from function_custom_gradient_cases import _sq

    sq = _sq(gt)

    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.v = gt.Variable([1.0, 2.0, 3.0])

        @gt.function(input_signature=[gt.TensorSpec([3], gt.float32)])
        def f(self, x):
            return gt.reduce_sum(sq(x * self.v))
    d = str(tmp_path / "m")
    gt.saved_model.save(M(), d)
    text = (tmp_path / "m" / "saved_model.txt").read_text()
    assert "custom_gradient" in text and "tape_pause" in text
    # (a fresh interpreter: no Python function of the custom gradient exists there)
    code = ("import gradtape as gt\n"
            "m = gt.saved_model.load(%r)\n"
            "x = gt.constant([0.5, 1.5, -2.0])\n"
            "with gt.GradientTape() as t:\n"
            "    t.watch(x)\n"
            "    y = m.f(x)\n"
            "gx, gv = t.gradient(y, [x, m.v])\n"
            "print(float(y), gx.numpy().tolist(), gv.numpy().tolist())\n" % d)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[0] == "45.25 [1.5, 18.0, -54.0] [0.75, 13.5, 36.0]"  # (TF 2.21's)


def _with_checksum(text):
    """saved_model.txt with its checksum line recomputed (the loader's FNV-1a, its offset basis)."""
    body = text[:text.rindex("checksum ")].encode()
    h = 1469598103934665603
    for c in body:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return body.decode() + "checksum %016x\n" % h


@pytest.mark.parametrize("edit", [
    ("[1 2 ] [1 0 ] {", "[1 9 ] [1 0 ] {"),      # an upstream slot out of range
    ("[1 2 ] [1 0 ] {", "[2 2 2 ] [1 0 ] {"),    # two upstream gradients for one output
    ("[1 2 ] [1 0 ] {", "[1 2 ] [1 -1 ] {"),     # an outer slot out of range
    ("} [1 s4 ]", "} [2 s4 s4 ]"),                  # two gradients for one input
    ("} [1 s4 ]", "} [1 s99 ]"),                    # a result slot out of range
    ("tape_pause 1", "tape_pause 2"),
])
def test_a_malformed_custom_gradient_step_is_refused(tmp_path, edit):
    from function_custom_gradient_cases import _sq
    sq = _sq(gt)

    class M(gt.Module):
        @gt.function(input_signature=[gt.TensorSpec([3], gt.float32)])
        def f(self, x):
            return gt.reduce_sum(sq(x))
    gt.saved_model.save(M(), str(tmp_path))
    path = tmp_path / "saved_model.txt"
    text = path.read_text()
    assert "custom_gradient [1 s0 ] [1 s1 ] [1 5 ] [1 2 ] [1 0 ] { 2" in text  # (the layout edited)
    assert edit[0] in text
    path.write_text(_with_checksum(text.replace(edit[0], edit[1], 1)))
    with pytest.raises(gt.errors.DataLossError):
        gt.saved_model.load(str(tmp_path))
    path.write_text(_with_checksum(text))  # (the checksum helper is right: the file loads)
    assert float(gt.saved_model.load(str(tmp_path)).f(gt.constant([1.0, 2.0, 3.0]))) == 14.0


def test_threads_run_a_traced_custom_gradient_at_once():
    import threading
    clip_grad = __import__("function_custom_gradient_cases")._clip(gt)
    log1pexp = _log1pexp_gt()

    @gt.function
    def step(x):
        with gt.GradientTape() as t:
            t.watch(x)
            y = gt.reduce_sum(log1pexp(clip_grad(x)) * x)
        return t.gradient(y, x)
    xs = [gt.constant(np.linspace(-2.0, 2.0 + k, 64, dtype=np.float32)) for k in range(4)]
    want = [step(x).numpy() for x in xs]
    errors = []

    def work(k):
        try:
            for _ in range(50):
                np.testing.assert_array_equal(step(xs[k]).numpy(), want[k])
        except BaseException as e:  # (reported below)
            errors.append(e)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_saved_without_custom_gradients(tmp_path):
    """SaveOptions(experimental_custom_gradients=False): TensorFlow 2.21 saves no gradient for the
    call, and a model loaded in another process raises LookupError when differentiated through it
    (gradtape's loaded model never has the Python function: LookupError too)."""
    from function_custom_gradient_cases import _sq
    sq = _sq(gt)

    class M(gt.Module):
        @gt.function(input_signature=[gt.TensorSpec([3], gt.float32)])
        def f(self, x):
            return gt.reduce_sum(sq(x))
    d = str(tmp_path / "m")
    gt.saved_model.save(M(), d, options=gt.saved_model.SaveOptions(experimental_custom_gradients=False))
    loaded = gt.saved_model.load(d)
    x = gt.constant([0.5, 1.5, -2.0])
    assert float(loaded.f(x)) == 6.5
    with gt.GradientTape() as t:
        t.watch(x)
        y = loaded.f(x)
    with pytest.raises(LookupError, match="experimental_custom_gradients=False"):
        t.gradient(y, x)
    # (saved again, it still has none; the default saves the gradient block)
    gt.saved_model.save(loaded, str(tmp_path / "again"))
    assert "custom_gradient" in (tmp_path / "again" / "saved_model.txt").read_text()
    with gt.GradientTape() as t:
        t.watch(x)
        y = gt.saved_model.load(str(tmp_path / "again")).f(x)
    with pytest.raises(LookupError):
        t.gradient(y, x)
    gt.saved_model.save(M(), str(tmp_path / "default"))
    with gt.GradientTape() as t:
        t.watch(x)
        y = gt.saved_model.load(str(tmp_path / "default")).f(x)
    np.testing.assert_array_equal(t.gradient(y, x).numpy(), [1.5, 4.5, -6.0])


def test_a_variable_read_only_by_an_inner_grad_fn_is_not_the_outer_call_s():
    """Eagerly the inner grad_fn runs when the gradient is taken, not inside the outer forward: its
    reads are not the outer call's variables (a grad_fn without `variables` is fine), traced too."""
    w = gt.Variable([2.0, -1.0, 0.5])

    @gt.custom_gradient
    def inner(x):
        return x * 1.0, lambda dy: dy * w

    @gt.custom_gradient
    def outer(x):
        y = inner(x)
        return y * y, lambda dy: dy * 4.0

    def body(x):
        with gt.GradientTape() as t:
            t.watch(x)
            y = gt.reduce_sum(outer(x))
        return t.gradient(y, x)
    x = gt.constant([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(gt.function(body)(x).numpy(), [4.0, 4.0, 4.0])
    np.testing.assert_array_equal(body(x).numpy(), [4.0, 4.0, 4.0])
