"""gt.saved_model.save / load (docs/saved-model.md): round trips of values, fresh-process loads,
gradients through loaded functions, training after a reload, refusals and corrupt files."""
import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gradtape as gt


def _mlp_weights(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((4, 8)).astype(np.float32) * 0.5, np.zeros(8, np.float32),
            rng.standard_normal((8, 3)).astype(np.float32) * 0.5, np.zeros(3, np.float32))


class MLP(gt.Module):
    def __init__(self, optimizer=None):
        super().__init__()
        w1, b1, w2, b2 = _mlp_weights()
        self.w1, self.b1 = gt.Variable(w1, name="w1"), gt.Variable(b1, name="b1")
        self.w2, self.b2 = gt.Variable(w2, name="w2"), gt.Variable(b2, name="b2")
        self.opt = optimizer or gt.optimizers.SGD(0.1)  # (save traces train_step's input_signature)

    @gt.function(input_signature=[gt.TensorSpec([5, 4], gt.float32)])
    def __call__(self, x):
        h = gt.nn.relu(gt.matmul(x, self.w1) + self.b1)
        return gt.matmul(h, self.w2) + self.b2

    @gt.function(input_signature=[gt.TensorSpec([5, 4], gt.float32), gt.TensorSpec([5], gt.int32)])
    def train_step(self, x, y):
        with gt.GradientTape() as tape:
            logits = self(x)
            loss = gt.reduce_mean(gt.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        grads = tape.gradient(loss, self.trainable_variables)
        self.opt.apply_gradients(zip(grads, self.trainable_variables))
        return {"loss": loss, "logits": logits}


def _data(seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((5, 4)).astype(np.float32), rng.integers(0, 3, 5).astype(np.int32)


def test_mlp_forward_round_trip(tmp_path):
    m = MLP()
    x, _ = _data()
    want = m(gt.constant(x)).numpy()
    gt.saved_model.save(m, tmp_path)
    assert (tmp_path / "saved_model.txt").is_file()
    assert (tmp_path / "variables" / "variables.npz").is_file()
    loaded = gt.saved_model.load(tmp_path)
    np.testing.assert_array_equal(loaded(gt.constant(x)).numpy(), want)
    np.testing.assert_array_equal(loaded(x).numpy(), want)  # (a NumPy array converts)
    assert len(loaded.trainable_variables) == 4
    assert sorted(v.name for v in loaded.trainable_variables) == ["b1:0", "b2:0", "w1:0", "w2:0"]
    np.testing.assert_array_equal(loaded.w1.numpy(), m.w1.numpy())
    # the file is versioned text
    text = (tmp_path / "saved_model.txt").read_text()
    assert text.startswith("gradtape-saved-model 1\n")


def test_loaded_variables_are_independent_and_live(tmp_path):
    m = MLP()
    gt.saved_model.save(m, tmp_path)
    loaded = gt.saved_model.load(tmp_path)
    x, _ = _data()
    before = loaded(x).numpy()
    loaded.b2.assign([1.0, 2.0, 3.0])  # a function reads the variable's current value
    np.testing.assert_allclose(loaded(x).numpy(), before + [1.0, 2.0, 3.0], rtol=1e-6)
    np.testing.assert_array_equal(m.b2.numpy(), np.zeros(3, np.float32))


@pytest.mark.parametrize("make_opt", [lambda: gt.optimizers.SGD(0.1), lambda: gt.optimizers.Adam(0.01),
                                      lambda: gt.optimizers.SGD(0.05, momentum=0.9)],
                         ids=["sgd", "adam", "momentum"])
def test_training_step_matches_after_reload_bit_for_bit(tmp_path, make_opt):
    m = MLP(make_opt())
    x, y = _data()
    for _ in range(3):  # some state (Adam's moments, its step counter) before saving
        m.train_step(x, y)
    gt.saved_model.save(m, tmp_path)
    loaded = gt.saved_model.load(tmp_path)
    for step in range(4):
        a = m.train_step(x, y)
        b = loaded.train_step(x, y)
        np.testing.assert_array_equal(b["loss"].numpy(), a["loss"].numpy(), err_msg="step %d" % step)
        np.testing.assert_array_equal(b["logits"].numpy(), a["logits"].numpy())
    for v in m.trainable_variables:
        lv = [w for w in loaded.trainable_variables if w.name == v.name][0]
        np.testing.assert_array_equal(lv.numpy(), v.numpy())
    # and the loss went down
    losses = [float(loaded.train_step(x, y)["loss"]) for _ in range(20)]
    assert losses[-1] < losses[0]


def test_gradients_through_a_loaded_function(tmp_path):
    m = MLP()
    gt.saved_model.save(m, tmp_path)
    loaded = gt.saved_model.load(tmp_path)
    x, _ = _data()
    xt = gt.constant(x)
    with gt.GradientTape() as tape:
        tape.watch(xt)
        loss = gt.reduce_sum(loaded(xt) ** 2)
    gx, gw1 = tape.gradient(loss, [xt, loaded.w1])
    with gt.GradientTape() as tape:
        tape.watch(xt)
        loss_e = gt.reduce_sum(m(xt) ** 2)
    ex, ew1 = tape.gradient(loss_e, [xt, m.w1])
    assert float(loss) == float(loss_e)
    np.testing.assert_allclose(gx.numpy(), ex.numpy(), rtol=1e-6)
    np.testing.assert_allclose(gw1.numpy(), ew1.numpy(), rtol=1e-6)
    # against plain NumPy too: d/dx sum((relu(x w1 + b1) w2 + b2)^2)
    w1, b1, w2, b2 = _mlp_weights()
    pre = x @ w1 + b1
    out = np.maximum(pre, 0) @ w2 + b2
    gh = (2 * out) @ w2.T * (pre > 0)
    np.testing.assert_allclose(gx.numpy(), gh @ w1.T, rtol=1e-4, atol=1e-5)


class Control(gt.Module):
    def __init__(self):
        super().__init__()
        self.count = gt.Variable(0.0)

    @gt.function(input_signature=[gt.TensorSpec([], gt.float32)])
    def branch(self, x):
        return gt.cond(x > 0.0, lambda: x * 2.0, lambda: -x + 1.0)

    @gt.function(input_signature=[gt.TensorSpec([], gt.int32)])
    def loop(self, n):
        i, acc = gt.while_loop(lambda i, acc: i < n, lambda i, acc: (i + 1, acc * 2.0), (gt.constant(0), gt.constant(1.0)))
        self.count.assign_add(1.0)
        return acc

    @gt.function(input_signature=[gt.TensorSpec([3], gt.float32)])
    def noisy(self, x):
        return x + gt.random.stateless_normal([3], seed=[1, 2])


def test_cond_while_random_and_assign(tmp_path):
    c = Control()
    want_noise = c.noisy(gt.zeros([3])).numpy()
    gt.saved_model.save(c, tmp_path)
    loaded = gt.saved_model.load(tmp_path)
    assert float(loaded.branch(3.0)) == 6.0
    assert float(loaded.branch(-3.0)) == 4.0
    assert float(loaded.loop(gt.constant(5))) == 32.0
    assert float(loaded.loop(gt.constant(0))) == 1.0
    assert float(loaded.count) == 2.0  # the assign inside the function wrote the loaded variable
    assert float(c.count) == 0.0
    np.testing.assert_array_equal(loaded.noisy(gt.zeros([3])).numpy(), want_noise)
    np.testing.assert_array_equal(loaded.noisy(gt.ones([3])).numpy(), want_noise + 1.0)


def test_stateful_random_stream_continues(tmp_path):
    gt.random.set_seed(7)
    m = gt.Module()

    @gt.function(input_signature=[])
    def draw():
        return gt.random.normal([4], seed=3)

    m.draw = draw
    first = draw().numpy()
    gt.saved_model.save(m, tmp_path)
    want = [draw().numpy() for _ in range(2)]  # the stream goes on from where it was saved
    assert not np.array_equal(want[0], first) and not np.array_equal(want[0], want[1])
    loaded = gt.saved_model.load(tmp_path)
    got = [loaded.draw().numpy() for _ in range(2)]
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_traced_shapes_and_signature_errors(tmp_path):
    class F(gt.Module):
        @gt.function
        def f(self, x, scale=2.0):
            return x * scale

    m = F()
    m.f(gt.constant([1.0, 2.0]))
    m.f(gt.constant([[1.0]]), scale=3.0)
    gt.saved_model.save(m, tmp_path)
    loaded = gt.saved_model.load(tmp_path)
    np.testing.assert_array_equal(loaded.f(gt.constant([5.0, 6.0])).numpy(), [10.0, 12.0])
    np.testing.assert_array_equal(loaded.f(gt.constant([[5.0]]), scale=3.0).numpy(), [[15.0]])
    with pytest.raises(ValueError, match="Could not find matching concrete function"):
        loaded.f(gt.constant([1.0, 2.0, 3.0]))  # a shape never traced
    with pytest.raises(ValueError, match="Could not find matching concrete function"):
        loaded.f(gt.constant([1, 2]))  # another dtype
    with pytest.raises(ValueError, match="Could not find matching concrete function"):
        loaded.f(gt.constant([1.0, 2.0]), scale=4.0)  # a Python value not traced
    with pytest.raises(TypeError):
        loaded.f(gt.constant([1.0, 2.0]), 2.0, 3.0)


def test_signatures(tmp_path):
    m = MLP()
    gt.saved_model.save(m, tmp_path, signatures=m.__call__)
    loaded = gt.saved_model.load(tmp_path)
    x, _ = _data()
    out = loaded.signatures["serving_default"](x=gt.constant(x))
    assert list(out) == ["output_0"]
    np.testing.assert_array_equal(out["output_0"].numpy(), m(x).numpy())


def test_untraced_function_without_signature_is_not_callable(tmp_path):
    class G(gt.Module):
        @gt.function
        def f(self, x):
            return x + 1

    gt.saved_model.save(G(), tmp_path)
    loaded = gt.saved_model.load(tmp_path)
    with pytest.raises(ValueError, match="never traced"):
        loaded.f(gt.constant(1.0))


def test_host_callback_is_refused(tmp_path):
    buf = io.StringIO()

    class P(gt.Module):
        @gt.function(input_signature=[gt.TensorSpec([], gt.float32)])
        def f(self, x):
            gt.print(x, output_stream=buf)  # (a Python object: a host callback writes to it)
            return x + 1.0

    with pytest.raises(ValueError, match="cannot be saved"):
        gt.saved_model.save(P(), tmp_path)


PRINTS = textwrap.dedent("""
    import sys
    import gradtape as gt
    loaded = gt.saved_model.load(sys.argv[1])
    for k in (1.0, 2.0):
        loaded.f(gt.constant([k, -k, 0.5]))
""")


def test_print_is_saved_and_prints_at_each_call_when_loaded(tmp_path, capsys):
    log = tmp_path / "log.txt"
    v = gt.Variable(2.0)

    class P(gt.Module):
        def __init__(self):
            super().__init__()
            self.v = v

        @gt.function(input_signature=[gt.TensorSpec([3], gt.float32)])
        def f(self, x):
            gt.print("x =", x, "sum:", gt.reduce_sum(x) * self.v, output_stream=sys.stdout)
            gt.print("to the log", x[0], output_stream="file://" + str(log))
            gt.print("to stderr", x[1:], summarize=1, sep="|")
            return x + 1.0

    m = P()
    m.f(gt.constant([1.0, 2.0, 3.0]))
    gt.saved_model.save(m, tmp_path / "m")
    capsys.readouterr()
    log.write_text("")
    loaded = gt.saved_model.load(tmp_path / "m")
    for k in (1.0, 2.0):
        loaded.f(gt.constant([k, -k, 0.5]))
    cap = capsys.readouterr()
    assert cap.out == "x = [1 -1 0.5] sum: 1\nx = [2 -2 0.5] sum: 1\n"
    assert cap.err == "to stderr|[-1 0.5]\nto stderr|[-2 0.5]\n"
    assert log.read_text() == "to the log 1\nto the log 2\n"
    # a fresh process with no model source prints the same
    log.write_text("")
    r = subprocess.run([sys.executable, "-c", PRINTS, str(tmp_path / "m")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == cap.out and r.stderr == cap.err
    assert log.read_text() == "to the log 1\nto the log 2\n"


def test_missing_directory(tmp_path):
    with pytest.raises(OSError):
        gt.saved_model.load(tmp_path / "nothing")
    with pytest.raises(gt.errors.NotFoundError):
        gt.saved_model.load(tmp_path / "nothing")


def test_newer_version_is_refused(tmp_path):
    gt.saved_model.save(MLP(), tmp_path)
    p = tmp_path / "saved_model.txt"
    p.write_text(p.read_text().replace("gradtape-saved-model 1\n", "gradtape-saved-model 3\n", 1))
    with pytest.raises(gt.errors.DataLossError, match=r"version 3, newer than this gradtape reads \(2\)"):
        gt.saved_model.load(tmp_path)


def test_corrupt_and_truncated_files_raise(tmp_path):
    m = MLP(gt.optimizers.Adam(0.01))
    x, y = _data()
    m.train_step(x, y)
    gt.saved_model.save(m, tmp_path)
    rng = np.random.default_rng(0)
    for name in ["saved_model.txt", "constants.bin", os.path.join("variables", "variables.npz")]:
        path = tmp_path / name
        good = path.read_bytes()
        cases = [good[:n] for n in sorted(set(rng.integers(0, len(good), 12).tolist() + [0, len(good) - 1]))]
        for _ in range(20):
            b = bytearray(good)
            i = int(rng.integers(0, len(b)))
            b[i] ^= 1 << int(rng.integers(0, 8))
            cases.append(bytes(b))
        for bad in cases:
            path.write_bytes(bad)
            try:
                loaded = gt.saved_model.load(tmp_path)
            except (gt.errors.DataLossError, gt.errors.NotFoundError):
                continue
            # a flip that changes nothing the loader checks (e.g. zip metadata it does not read)
            # must still give a working model
            loaded.train_step(x, y)
        path.write_bytes(good)
    loaded = gt.saved_model.load(tmp_path)
    assert np.isfinite(float(loaded.train_step(x, y)["loss"]))


FRESH = textwrap.dedent("""
    import sys
    import numpy as np
    import gradtape as gt
    assert "mymodel" not in sys.modules
    loaded = gt.saved_model.load(sys.argv[1])
    x = np.load(sys.argv[2])
    y = np.load(sys.argv[3])
    losses = [float(loaded.train_step(x, y)["loss"]) for _ in range(30)]
    assert losses[-1] < losses[0] * 0.9, losses
    with gt.GradientTape() as tape:
        out = gt.reduce_sum(loaded(x))
    g = tape.gradient(out, loaded.trainable_variables)
    assert all(t is not None for t in g)
    assert "mymodel" not in sys.modules
    print(repr(losses[0]), repr(losses[-1]))
""")

MODEL_SOURCE = textwrap.dedent("""
    import sys
    import numpy as np
    import gradtape as gt

    @gt.custom_gradient
    def clip_gradient(x):  # (a custom gradient step: the C++ loader runs its block too)
        return gt.identity(x), lambda dy: gt.clip_by_norm(dy, 0.2)

    class Model(gt.Module):
        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(0)
            self.w = gt.Variable(rng.standard_normal((4, 3)).astype(np.float32))
            self.b = gt.Variable(np.zeros(3, np.float32))
            self.opt = gt.optimizers.Adam(0.05)

        @gt.function(input_signature=[gt.TensorSpec([5, 4], gt.float32)])
        def __call__(self, x):
            return gt.matmul(x, self.w) + self.b

        @gt.function(input_signature=[gt.TensorSpec([5, 4], gt.float32), gt.TensorSpec([5], gt.int32)])
        def train_step(self, x, y):
            with gt.GradientTape() as tape:
                loss = gt.reduce_mean(gt.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                                     logits=clip_gradient(self(x))))
            grads = tape.gradient(loss, [self.w, self.b])
            self.opt.apply_gradients(zip(grads, [self.w, self.b]))
            return {"loss": loss}

        @gt.function(input_signature=[gt.TensorSpec([5, 4], gt.float32)])
        def report(self, x):
            gt.print("report:", gt.argmax(self(x), axis=1), "of", gt.shape(x), output_stream=sys.stdout)
            return gt.shape(x)
""")


def test_fresh_process_loads_and_trains(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "mymodel.py").write_text(MODEL_SOURCE)
    export = tmp_path / "export"
    x, y = _data()
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    save_code = "import sys; sys.path.insert(0, %r); import mymodel, gradtape as gt; " \
                "gt.saved_model.save(mymodel.Model(), %r)" % (str(src), str(export))
    subprocess.run([sys.executable, "-c", save_code], check=True, timeout=120)
    (src / "mymodel.py").unlink()  # no Python source of the model is left
    r = subprocess.run([sys.executable, "-c", FRESH, str(export), str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                       capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    first, last = map(float, r.stdout.split())
    assert last < first


def test_cpp_loads_python_model(tmp_path):
    """gt::load_saved_model (C++, no Python) runs a model saved here: the forward pass bit for bit,
    30 training steps that lower the loss, and a tape's gradients wrt the loaded variables."""
    test_cpp = pytest.importorskip("test_cpp")
    binary = test_cpp.find_or_build_binary()
    namespace = {}
    exec(MODEL_SOURCE, namespace)
    m = namespace["Model"]()
    x, y = _data()
    gt.saved_model.save(m, tmp_path)
    (tmp_path / "x.bin").write_bytes(x.tobytes())
    (tmp_path / "y.bin").write_bytes(y.tobytes())
    (tmp_path / "want.bin").write_bytes(m(x).numpy().tobytes())
    import scipy_openblas32
    env = dict(os.environ, LD_LIBRARY_PATH=scipy_openblas32.get_lib_dir())
    r = subprocess.run([binary, "--saved-model", str(tmp_path)], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "saved model ok" in r.stdout
    # its print step, run from C++, writes what gt.print writes
    labels = " ".join(str(i) for i in np.argmax(m(x).numpy(), axis=1))
    assert "report: [%s] of [5 4]\n" % labels in r.stdout
    # and Python's own reload trains the same way
    loaded = gt.saved_model.load(tmp_path)
    first = float(loaded.train_step(x, y)["loss"])
    assert abs(first - float(m.train_step(x, y)["loss"])) == 0.0


class ManyOps(gt.Module):
    """Functions over a wide range of ops and step kinds, to check that each is saved and
    loaded (compared with the traced function's own results)."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(3)
        self.k = gt.Variable(rng.standard_normal((3, 3, 2, 4)).astype(np.float32) * 0.3)
        self.w = gt.Variable(rng.standard_normal((4, 3)).astype(np.float32))

    @gt.function(input_signature=[gt.TensorSpec([2, 6, 6, 2], gt.float32)])
    def cnn(self, x):
        h = gt.nn.relu(gt.nn.conv2d(x, self.k, strides=1, padding="SAME"))
        h = gt.nn.max_pool2d(h, ksize=2, strides=2, padding="VALID")
        h = gt.reshape(h, [2, -1])
        return gt.nn.log_softmax(h), gt.nn.softmax(h, axis=0)

    @gt.function(input_signature=[gt.TensorSpec([4, 3], gt.float32), gt.TensorSpec([3], gt.int32)])
    def shapes(self, x, idx):
        a = gt.concat([x, x * 2.0], axis=0)
        b = gt.stack([x, -x], axis=1)
        c = gt.transpose(x)[1:, ::2]
        d = gt.gather(x, idx, axis=1)
        e = gt.where(x > 0.0, x, gt.zeros_like(x))
        f = gt.clip_by_value(x, -0.5, 0.5)
        g = gt.one_hot(idx, 4, dtype=gt.float32)
        h = gt.cast(gt.range(0, 6, 2), gt.float32) + gt.fill([3], 1.5)
        i = gt.reduce_any(x > 1.0, axis=0)
        j = gt.math.cumsum(x, axis=0)
        k = gt.unstack(x, axis=0)[2]
        m = gt.expand_dims(gt.squeeze(gt.reshape(x, [1, 4, 3])), 0)
        n = gt.boolean_mask(x, [True, False, True, True])
        return [a, b, c, d, e, f, g, h, i, j, k, m, n, x @ gt.transpose(self.w), x / 3.0, x // 1.0, x % 2.0]

    @gt.function(input_signature=[gt.TensorSpec([3], gt.float32)])
    def tapes(self, x):
        with gt.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = gt.sin(x) * x
            with tape.stop_recording():
                z = y * 2.0
            s = gt.reduce_sum(y * y)
        j = tape.jacobian(y, x)
        g = tape.gradient(s, [x, self.w], unconnected_gradients="zero")
        return j, g[0], g[1], z


def test_many_ops_round_trip(tmp_path):
    m = ManyOps()
    rng = np.random.default_rng(4)
    x4 = rng.standard_normal((2, 6, 6, 2)).astype(np.float32)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    idx = np.array([2, 0, 1], np.int32)
    v = rng.standard_normal(3).astype(np.float32)
    want = [nest_numpy(m.cnn(x4)), nest_numpy(m.shapes(x, idx)), nest_numpy(m.tapes(v))]
    gt.saved_model.save(m, tmp_path)
    loaded = gt.saved_model.load(tmp_path)
    got = [nest_numpy(loaded.cnn(x4)), nest_numpy(loaded.shapes(x, idx)), nest_numpy(loaded.tapes(v))]
    for w, g in zip(want, got):
        assert len(w) == len(g)
        for a, b in zip(w, g):
            np.testing.assert_array_equal(b, a)
    # the shape-checked step (boolean_mask) still checks its result's shape after loading
    with pytest.raises(gt.errors.InvalidArgumentError, match="specialised"):
        _bad_mask_call(tmp_path)


def _bad_mask_call(tmp_path):
    class Mask(gt.Module):
        @gt.function(input_signature=[gt.TensorSpec([4], gt.float32)])
        def f(self, x):
            return gt.boolean_mask(x, x > 0.0) * 2.0

    m = Mask()
    m.f(gt.constant([1.0, -1.0, 2.0, -2.0]))
    gt.saved_model.save(m, tmp_path / "mask")
    loaded = gt.saved_model.load(tmp_path / "mask")
    np.testing.assert_array_equal(loaded.f(gt.constant([3.0, -1.0, 4.0, -2.0])).numpy(), [6.0, 8.0])
    loaded.f(gt.constant([3.0, 1.0, 4.0, -2.0]))  # three true: not the traced shape


def nest_numpy(x):
    return [t.numpy() for t in gt.nest.flatten(x)]


def test_variables_are_a_checkpoint_a_live_model_can_read(tmp_path):
    m = MLP(gt.optimizers.Adam(0.01))
    x, y = _data()
    m.train_step(x, y)
    m.train_step(x, y)
    gt.saved_model.save(m, tmp_path)
    fresh = MLP(gt.optimizers.Adam(0.01))
    fresh.opt.build(fresh.trainable_variables)  # (its slots exist before the restore)
    gt.train.Checkpoint(fresh).read(str(tmp_path / "variables" / "variables")).expect_partial()
    for a, b in zip(m.trainable_variables, fresh.trainable_variables):
        np.testing.assert_array_equal(b.numpy(), a.numpy())
    # optimizer state included: the next steps agree bit for bit
    for _ in range(2):
        np.testing.assert_array_equal(fresh.train_step(x, y)["loss"].numpy(), m.train_step(x, y)["loss"].numpy())


def test_a_loaded_model_trains_and_saves_again(tmp_path):
    m = MLP(gt.optimizers.Adam(0.01))
    x, y = _data()
    m.train_step(x, y)
    gt.saved_model.save(m, tmp_path / "a", signatures=m.__call__)
    loaded = gt.saved_model.load(tmp_path / "a")
    for _ in range(3):  # fine-tune the loaded model, then export it again
        loaded.train_step(x, y)
        m.train_step(x, y)
    gt.saved_model.save(loaded, tmp_path / "b")
    again = gt.saved_model.load(tmp_path / "b")
    assert sorted(k for k in again._variable_keys) == sorted(k for k in loaded._variable_keys)
    np.testing.assert_array_equal(again(x).numpy(), m(x).numpy())
    np.testing.assert_array_equal(again.signatures["serving_default"](x=x)["output_0"].numpy(), m(x).numpy())
    np.testing.assert_array_equal(again.train_step(x, y)["loss"].numpy(), m.train_step(x, y)["loss"].numpy())


def test_a_generator_draw_is_saved_with_its_state(tmp_path):
    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.g = gt.random.Generator.from_seed(3)

        @gt.function(input_signature=[gt.TensorSpec([2], gt.float32)])
        def noisy(self, x):
            return x + self.g.normal([2])

    m = M()
    m.noisy(gt.zeros([2]))
    gt.saved_model.save(m, tmp_path)
    loaded = gt.saved_model.load(tmp_path)
    # the loaded model continues the stream from the saved state, as the original does
    for _ in range(3):
        np.testing.assert_array_equal(loaded.noisy(gt.zeros([2])).numpy(), m.noisy(gt.zeros([2])).numpy())
    assert [v.name for v in loaded.variables] == ["StateVar:0"]


# ---- files edited with a valid checksum: DataLossError at load, never a crash -----------------

def _fnv1a(data):
    h = 1469598103934665603
    for c in data:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def _edit(src, dst, old, new, count=1):
    """A copy of the saved model src at dst, its saved_model.txt edited and its checksum redone."""
    import shutil
    shutil.copytree(src, dst)
    text = (src / "saved_model.txt").read_bytes()
    body = text[:text.rfind(b"checksum ")]
    edited = body.replace(old, new, count)
    assert edited != body, old
    (dst / "saved_model.txt").write_bytes(edited + b"checksum %016x\n" % _fnv1a(edited))
    return dst


_EDIT_SCRIPT = textwrap.dedent("""
    import sys
    import gradtape as gt
    try:
        loaded = gt.saved_model.load(sys.argv[1])
    except gt.errors.DataLossError as e:
        print("DataLossError", str(e)[:200])
    else:
        try:
            print("loaded", loaded.f(gt.zeros([2, 3])))  # (the traced shapes: save traced zeros)
        except Exception as e:
            print("called", type(e).__name__, str(e)[:200])
""")


def test_edited_steps_with_a_valid_checksum_raise_data_loss(tmp_path):
    # found by fuzzing (session 17): a "u" (no tensor) or a variable where a cond, while,
    # custom_gradient or jacobian step needs a tensor loaded, then crashed the call; nested
    # "checked" steps recursed without bound; a non-UTF-8 token raised UnicodeDecodeError
    @gt.custom_gradient
    def clip(x):
        return x * 1.0, lambda dy: gt.clip_by_value(dy, -0.5, 0.5)

    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.w = gt.Variable(np.arange(12, dtype=np.float32).reshape(3, 4) / 10)

        @gt.function(input_signature=[gt.TensorSpec([2, 3], gt.float32)])
        def f(self, x):
            with gt.GradientTape(persistent=True) as t:
                t.watch(x)
                y = clip(gt.matmul(x, self.w))
                y = gt.cond(gt.reduce_sum(y) > 0, lambda: y * 2.0, lambda: y - 1.0)
                _, acc = gt.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a + gt.reduce_mean(y)),
                                       [gt.constant(0), gt.constant(0.0)])
                z = gt.boolean_mask(y, y > 0)
                loss = acc + gt.reduce_sum(y) + gt.reduce_sum(z)
            return loss, t.gradient(loss, self.w), gt.reduce_sum(t.jacobian(y, x))

    gt.saved_model.save(M(), str(tmp_path / "m"))
    good = tmp_path / "m"
    text = (good / "saved_model.txt").read_bytes()
    import re
    cond = re.search(rb"cond s\d+ ", text).group(0)
    custom = re.search(rb"custom_gradient \[1 s\d+ \]", text).group(0)
    jac = re.search(rb"jacobian (\d+) (s\d+) \[1 s\d+ \]", text)
    checked = re.search(rb"checked \[[^\]]*\] s\d+\n", text).group(0)
    edits = [(cond, b"cond u "), (cond, b"cond v0 "),
             (custom, b"custom_gradient [1 u ]"), (custom, b"custom_gradient [1 v0 ]"),
             (jac.group(0), b"jacobian " + jac.group(1) + b" " + jac.group(2) + b" [1 u ]"),
             (jac.group(0), b"jacobian " + jac.group(1) + b" u " + jac.group(0).split(b" ", 3)[3]),
             (checked, checked * 20000), (cond, b"cond \xff\xfe ")]
    for i, (old, new) in enumerate(edits):
        bad = _edit(good, tmp_path / ("bad%d" % i), old, new)
        p = subprocess.run([sys.executable, "-c", _EDIT_SCRIPT, str(bad)], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0 and p.stdout.startswith("DataLossError"), (new[:60], p.returncode, p.stdout, p.stderr[-1500:])
    # the unedited model loads and runs
    p = subprocess.run([sys.executable, "-c", _EDIT_SCRIPT, str(good)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.startswith("loaded"), (p.stdout, p.stderr[-1500:])


def test_edited_python_metadata_raises_data_loss(tmp_path):
    class M(gt.Module):
        @gt.function(input_signature=[gt.TensorSpec([2], gt.float32)])
        def f(self, x):
            return {"a": x * 2.0, "b": (x + 1.0, 3)}

    gt.saved_model.save(M(), str(tmp_path / "m"))
    good = tmp_path / "m"
    text = (good / "saved_model.txt").read_bytes()

    def q(s):  # (the metadata is percent-encoded in the file)
        for c in b'" []{}-':
            s = s.replace(bytes([c]), b"%%%02X" % c)
        return s

    edits = [(q(b'"k": "out", "i": 0'), q(b'"k": "out", "i": -1')),
             (q(b'"k": "out", "i": 0'), q(b'"k": "out", "i": "0"')),
             (q(b'"k": "t", "i": 0'), q(b'"k": "t", "i": 7')),
             (q(b'"k": "dict"'), q(b'"k": "set"')),
             (q(b'"keys": ['), q(b'"keys": [1, '))]
    for i, (old, new) in enumerate(edits):
        bad = _edit(good, tmp_path / ("bad%d" % i), old, new)
        with pytest.raises(gt.errors.DataLossError):
            gt.saved_model.load(str(bad))
    loaded = gt.saved_model.load(str(good))
    np.testing.assert_array_equal(loaded.f(gt.constant([1.0, 2.0]))["a"].numpy(), [2.0, 4.0])


def test_saving_blocks_nested_deeper_than_a_load_takes_is_refused(tmp_path):
    def nest(x, depth):
        if depth == 0:
            return x + 1.0
        return gt.cond(x > 0, lambda: nest(x, depth - 1), lambda: x - 1.0)

    class M(gt.Module):
        def __init__(self, depth):
            super().__init__()
            self.depth = depth

        @gt.function(input_signature=[gt.TensorSpec([], gt.float32)])
        def f(self, x):
            return nest(x, self.depth)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20000)  # (each level of the traced code is a few Python frames)
    try:
        gt.saved_model.save(M(150), str(tmp_path / "ok"))
        assert float(gt.saved_model.load(str(tmp_path / "ok")).f(gt.constant(1.0))) == 2.0
        with pytest.raises(ValueError, match="deeper than 200"):
            gt.saved_model.save(M(230), str(tmp_path / "deep"))
    finally:
        sys.setrecursionlimit(limit)


def test_submodules_in_lists_and_dicts_and_namedtuple_results(tmp_path):
    # TF's SavedModel exposes a list's submodules (loaded.layers[1].f) and rebuilds a namedtuple
    # result; gradtape saved neither (loaded.layers was missing, the result a plain tuple)
    import collections
    Out = collections.namedtuple("Out", ["y", "n"])

    class Dense(gt.Module):
        def __init__(self, k):
            super().__init__()
            self.w = gt.Variable(np.full((3, 3), float(k), np.float32))

        @gt.function(input_signature=[gt.TensorSpec([None, 3], gt.float32)])
        def f(self, x):
            return gt.matmul(x, self.w)

    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.layers = [Dense(1), Dense(2)]
            self.blocks = {"a": Dense(3)}

        @gt.function(input_signature=[gt.TensorSpec([None, 3], gt.float32)])
        def __call__(self, x):
            for layer in self.layers:
                x = layer.f(x)
            return Out(self.blocks["a"].f(x), 3)

    m = M()
    gt.saved_model.save(m, str(tmp_path / "m"))
    loaded = gt.saved_model.load(str(tmp_path / "m"))
    x = rows = gt.constant(np.arange(12, dtype=np.float32).reshape(4, 3))
    np.testing.assert_array_equal(loaded.layers[1].f(x).numpy(), m.layers[1].f(x).numpy())
    np.testing.assert_array_equal(loaded.blocks["a"].f(x).numpy(), m.blocks["a"].f(x).numpy())
    got = loaded(rows)
    assert type(got).__name__ == "Out" and got._fields == ("y", "n") and int(got.n) == 3
    np.testing.assert_array_equal(got.y.numpy(), m(rows).y.numpy())
    np.testing.assert_array_equal(loaded.layers[-1].f(x).numpy(), m.layers[1].f(x).numpy())
    with pytest.raises(IndexError):
        loaded.layers[2]
    with pytest.raises(KeyError):
        loaded.blocks["b"]
    gt.saved_model.save(loaded, str(tmp_path / "again"))  # (kept when saved again as loaded)
    again = gt.saved_model.load(str(tmp_path / "again"))
    np.testing.assert_array_equal(again.layers[0].f(x).numpy(), m.layers[0].f(x).numpy())
    assert type(again(rows)).__name__ == "Out"


def test_a_signature_whose_code_fails_at_the_placeholder_sizes_saves_its_traced_programs(tmp_path):
    # save traces None dimensions at sizes 2 and 3; a 5x5 VALID convolution cannot run there:
    # the programs the calls traced are saved (the save raised InvalidArgumentError)
    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.k = gt.Variable(np.ones((5, 5, 1, 2), np.float32))

        @gt.function(input_signature=[gt.TensorSpec([None, None, None, 1], gt.float32)])
        def __call__(self, x):
            return gt.nn.conv2d(x, self.k, 1, "VALID")

    m = M()
    x = gt.ones([1, 8, 8, 1])
    want = m(x).numpy()
    with pytest.warns(UserWarning, match="saved with the programs its calls traced"):
        gt.saved_model.save(m, str(tmp_path / "m"))
    np.testing.assert_array_equal(gt.saved_model.load(str(tmp_path / "m"))(x).numpy(), want)
    with pytest.raises(gt.errors.InvalidArgumentError):  # (never called: nothing to save instead)
        gt.saved_model.save(M(), str(tmp_path / "never"))


def test_results_nested_deeper_than_a_load_takes_are_refused_at_save(tmp_path):
    def nested(x, depth):
        for _ in range(depth):
            x = [x]
        return x

    for depth, ok in ((100, True), (101, False)):
        class M(gt.Module):
            @gt.function(input_signature=[gt.TensorSpec([], gt.float32)])
            def f(self, x):
                return nested(x * 2.0, depth)

        if ok:
            gt.saved_model.save(M(), str(tmp_path / "ok"))
            got = gt.saved_model.load(str(tmp_path / "ok")).f(gt.constant(1.0))
            for _ in range(depth):
                got = got[0]
            assert float(got) == 2.0
        else:
            with pytest.raises(ValueError, match="nested deeper than 100"):
                gt.saved_model.save(M(), str(tmp_path / "deep"))


def test_a_submodule_reached_twice_and_nested_lists_and_renamed_namedtuple_fields(tmp_path):
    import collections
    P = collections.namedtuple("P", ["a", "def"], rename=True)  # (fields a, _1)

    class Dense(gt.Module):
        def __init__(self, k):
            super().__init__()
            self.w = gt.Variable(float(k))

        @gt.function(input_signature=[gt.TensorSpec([2], gt.float32)])
        def f(self, x):
            return P(x * self.w, x + self.w)

    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.first = Dense(2)
            self.layers = [self.first, Dense(3)]   # (the same module by two paths, as Keras does)
            self.nested = [[Dense(4)]]

    gt.saved_model.save(M(), str(tmp_path / "m"))
    loaded = gt.saved_model.load(str(tmp_path / "m"))
    x = gt.constant([1.0, 2.0])
    got = loaded.layers[0].f(x)
    assert type(got).__name__ == "P" and got._fields == ("a", "_1")
    np.testing.assert_array_equal(got.a.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(loaded.first.f(x).a.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(loaded.nested[0][0].f(x).a.numpy(), [4.0, 8.0])
