"""gt.train checkpoints: round trips through the object graph, aliases, deferred restoration
(optimizer-style slots made after restore), status assertions, the manager, the file format's
errors (truncated, foreign, missing: a clear error and nothing restored), and a subprocess
killed in the middle of saves whose latest checkpoint still restores."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import gradtape as gt


class Dense(gt.Module):
    def __init__(self, n_in, n_out, seed=0, name=None):
        super().__init__(name=name)
        rng = np.random.default_rng(seed)
        with self.name_scope:
            self.w = gt.Variable(rng.standard_normal((n_in, n_out)).astype(np.float32), name="w")
            self.b = gt.Variable(np.zeros(n_out, np.float32), name="b")


class MLP(gt.Module):
    def __init__(self, seed=0):
        super().__init__()
        self.layers = [Dense(3, 4, seed), Dense(4, 2, seed + 1)]
        self.first = self.layers[0]  # an alias


class SlotOptimizer:
    """An optimizer-shaped object using the documented protocol: `_checkpoint_dependencies()`
    and `gt.train.restore_deferred(self)` after it makes slots."""

    def __init__(self):
        self.iterations = gt.Variable(np.int64(0), trainable=False, name="iter")
        self.slots = {}

    def _checkpoint_dependencies(self):
        return {"iterations": self.iterations, "m": self.slots}

    def build(self, var_list):
        for i, v in enumerate(var_list):
            self.slots[str(i)] = gt.Variable(gt.zeros_like(v), name="m")
        gt.train.restore_deferred(self)

    def step(self, var_list):
        if not self.slots:
            self.build(var_list)
        for i, v in enumerate(var_list):
            self.slots[str(i)].assign_add(gt.ones_like(v))
        self.iterations.assign_add(np.int64(1))


def values(module):
    return [v.numpy().copy() for v in module.variables]


def test_save_restore_round_trip(tmp_path):
    m = MLP(seed=0)
    ck = gt.train.Checkpoint(model=m)
    path = ck.save(str(tmp_path / "ckpt"))
    assert path == str(tmp_path / "ckpt-1") and os.path.isfile(path + ".npz")
    assert gt.train.latest_checkpoint(str(tmp_path)) == path
    before = values(m)
    for v in m.variables:
        v.assign(gt.zeros_like(v))
    status = ck.restore(path)
    status.assert_consumed().assert_existing_objects_matched().assert_nontrivial_match()
    for a, b in zip(before, values(m)):
        np.testing.assert_array_equal(a, b)
    # a fresh model built the same way (other random values) gets the saved values
    m2 = MLP(seed=5)
    gt.train.Checkpoint(model=m2).restore(path).assert_consumed()
    for a, b in zip(before, values(m2)):
        np.testing.assert_array_equal(a, b)
    # numbering continues; the counter itself is saved
    assert ck.save(str(tmp_path / "ckpt")).endswith("ckpt-2")
    assert int(ck.save_counter.numpy()) == 2
    fresh = gt.train.Checkpoint(model=MLP())
    fresh.restore(str(tmp_path / "ckpt-2"))
    assert int(fresh.save_counter.numpy()) == 2


def test_keys_list_variables_and_load_variable(tmp_path):
    m = MLP()
    ck = gt.train.Checkpoint(model=m, step=gt.Variable(np.int64(7), name="step"))
    path = ck.write(str(tmp_path / "w"))
    assert path == str(tmp_path / "w")
    names = [n for n, _ in gt.train.list_variables(path)]
    # TensorFlow's key names; the alias "first" sorts before "layers" and so holds layer 0
    assert names == ["model/first/b/.ATTRIBUTES/VARIABLE_VALUE", "model/first/w/.ATTRIBUTES/VARIABLE_VALUE",
                     "model/layers/1/b/.ATTRIBUTES/VARIABLE_VALUE", "model/layers/1/w/.ATTRIBUTES/VARIABLE_VALUE",
                     "save_counter/.ATTRIBUTES/VARIABLE_VALUE", "step/.ATTRIBUTES/VARIABLE_VALUE"]
    assert dict(gt.train.list_variables(path))["model/layers/1/w/.ATTRIBUTES/VARIABLE_VALUE"] == [4, 2]
    np.testing.assert_array_equal(gt.train.load_variable(path, "model/layers/0/w"), m.layers[0].w.numpy())
    assert int(gt.train.load_variable(path, "step/.ATTRIBUTES/VARIABLE_VALUE")) == 7
    with pytest.raises(gt.errors.NotFoundError):
        gt.train.load_variable(path, "nope")
    # the file is NumPy's .npz: np.load opens it
    with np.load(path + ".npz") as z:
        index = json.loads(zipfile.ZipFile(path + ".npz").read("gradtape_index.json"))
        assert index["format"] == "gradtape-checkpoint" and index["version"] == 1
        assert len([f for f in z.files if f.startswith("t")]) == 6


def test_alias_restores_through_either_path(tmp_path):
    m = MLP()
    path = gt.train.Checkpoint(model=m).write(str(tmp_path / "a"))

    class OnlyLayers(gt.Module):  # no alias attribute: layer 0 is reached as layers/0 only
        def __init__(self):
            super().__init__()
            self.layers = [Dense(3, 4, 9), Dense(4, 2, 9)]
    o = OnlyLayers()
    gt.train.Checkpoint(model=o).restore(path).assert_existing_objects_matched()
    np.testing.assert_array_equal(o.layers[0].w.numpy(), m.layers[0].w.numpy())


def test_status_assertions(tmp_path):
    m = MLP()
    path = gt.train.Checkpoint(model=m).write(str(tmp_path / "s"))
    bigger = MLP()
    bigger.extra = gt.Variable(1.0)
    st = gt.train.Checkpoint(model=bigger).restore(path)
    with pytest.raises(AssertionError, match="model/extra"):
        st.assert_consumed()
    with pytest.raises(AssertionError):
        st.assert_existing_objects_matched()
    st.assert_nontrivial_match()
    assert st.expect_partial() is st
    smaller = gt.Module()
    smaller.layers = [Dense(3, 4)]
    st = gt.train.Checkpoint(model=smaller).restore(path)
    st.assert_existing_objects_matched()
    with pytest.raises(AssertionError, match="Unresolved"):
        st.assert_consumed()
    st.expect_partial()
    with pytest.raises(AssertionError):
        gt.train.Checkpoint(model=m).restore(None).assert_consumed()


def test_shape_mismatch_restores_nothing(tmp_path):
    m = MLP()
    path = gt.train.Checkpoint(model=m).write(str(tmp_path / "x"))
    other = MLP(seed=3)
    other.layers[1] = Dense(4, 5)  # a different shape for layers/1
    before = values(other)
    with pytest.raises(ValueError, match="incompatible"):
        gt.train.Checkpoint(model=other).restore(path)
    for a, b in zip(before, values(other)):
        np.testing.assert_array_equal(a, b)  # layer 0 was not assigned either


def test_deferred_restoration_of_slots_and_lazy_layers(tmp_path):
    m = MLP()
    opt = SlotOptimizer()
    for _ in range(3):
        opt.step(m.trainable_variables)
    path = gt.train.Checkpoint(model=m, optimizer=opt).save(str(tmp_path / "d"))

    m2, opt2 = MLP(seed=4), SlotOptimizer()
    status = gt.train.Checkpoint(model=m2, optimizer=opt2).restore(path)
    assert int(opt2.iterations.numpy()) == 3  # exists already: restored at once
    with pytest.raises(AssertionError, match="optimizer/m/"):
        status.assert_consumed()  # slots not made yet
    opt2.step(m2.trainable_variables)  # makes slots: they get 3, then the step adds 1
    for slot in opt2.slots.values():
        np.testing.assert_array_equal(slot.numpy(), np.full(slot.shape, 4.0, np.float32))
    status.assert_consumed()

    class Lazy(gt.Module):
        def __init__(self):
            super().__init__()
            self.layers = None
    lazy = Lazy()
    st = gt.train.Checkpoint(model=lazy).restore(path)
    st.expect_partial()
    lazy.layers = [Dense(3, 4, 8), Dense(4, 2, 8)]  # attribute assignment restores
    np.testing.assert_array_equal(lazy.layers[1].w.numpy(), m.layers[1].w.numpy())
    ck = gt.train.Checkpoint()
    st = ck.restore(path)
    ck.model = MLP(seed=11)  # an attribute of the Checkpoint itself
    np.testing.assert_array_equal(ck.model.layers[0].b.numpy(), m.layers[0].b.numpy())


def test_variables_protocol_and_plain_variables(tmp_path):
    class HasVariables:
        def __init__(self):
            self.variables = [gt.Variable([1.0, 2.0]), gt.Variable(3.0)]
    h = HasVariables()
    v = gt.Variable(5.0)
    ck = gt.train.Checkpoint(h=h, v=v)
    path = ck.write(str(tmp_path / "p"))
    assert [n for n, _ in gt.train.list_variables(path)] == [
        "h/variables/0/.ATTRIBUTES/VARIABLE_VALUE", "h/variables/1/.ATTRIBUTES/VARIABLE_VALUE",
        "save_counter/.ATTRIBUTES/VARIABLE_VALUE", "v/.ATTRIBUTES/VARIABLE_VALUE"]
    h.variables[0].assign([0.0, 0.0])
    v.assign(0.0)
    ck.read(path).assert_consumed()
    assert h.variables[0].numpy().tolist() == [1.0, 2.0] and float(v) == 5.0
    with pytest.raises(ValueError, match="trackable"):
        gt.train.Checkpoint(x=3)


def test_bad_files_give_clear_errors_and_restore_nothing(tmp_path):
    m = MLP()
    path = gt.train.Checkpoint(model=m).write(str(tmp_path / "good"))
    target = MLP(seed=2)
    before = values(target)
    ck = gt.train.Checkpoint(model=target)
    data = open(path + ".npz", "rb").read()
    cases = {
        "text": b"hello, not a checkpoint",
        "empty": b"",
        "truncated": data[:len(data) // 2],
        "truncated_tail": data[:-10],
    }
    for name, blob in cases.items():
        (tmp_path / (name + ".npz")).write_bytes(blob)
        with pytest.raises(gt.errors.DataLossError):
            ck.restore(str(tmp_path / name))
    # a flipped byte inside a tensor's data: the zip CRC catches it
    flipped = bytearray(data)
    info = zipfile.ZipFile(path + ".npz").getinfo("t0.npy")
    name_len, extra_len = np.frombuffer(data[info.header_offset + 26:info.header_offset + 30], "<u2")
    data_start = info.header_offset + 30 + int(name_len) + int(extra_len)
    flipped[data_start + info.file_size - 2] ^= 0xFF  # in the array's last value
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(gt.errors.DataLossError):
        ck.restore(str(tmp_path / "flipped"))
    np.savez(tmp_path / "foreign.npz", a=np.zeros(3))
    with pytest.raises(gt.errors.DataLossError, match="not a gradtape checkpoint"):
        ck.restore(str(tmp_path / "foreign"))
    with pytest.raises(gt.errors.NotFoundError):
        ck.restore(str(tmp_path / "missing"))
    with pytest.raises(gt.errors.NotFoundError):
        ck.restore(str(tmp_path))
    for a, b in zip(before, values(target)):
        np.testing.assert_array_equal(a, b)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "checkpoint").write_text("garbage")
    with pytest.raises(gt.errors.DataLossError):
        gt.train.latest_checkpoint(str(tmp_path / "sub"))
    assert gt.train.latest_checkpoint(str(tmp_path / "nothing_here")) is None


def test_checkpoint_manager(tmp_path):
    m = MLP()
    ck = gt.train.Checkpoint(model=m)
    mgr = gt.train.CheckpointManager(ck, str(tmp_path / "run"), max_to_keep=2)
    assert mgr.latest_checkpoint is None and mgr.checkpoints == []
    assert mgr.restore_or_initialize() is None
    paths = []
    for step in range(4):
        m.layers[0].b.assign(np.full(4, step, np.float32))
        paths.append(mgr.save())
    assert paths == [str(tmp_path / "run" / ("ckpt-%d" % i)) for i in (1, 2, 3, 4)]
    assert mgr.checkpoints == paths[2:] and mgr.latest_checkpoint == paths[3]
    assert sorted(os.listdir(tmp_path / "run")) == ["checkpoint", "ckpt-3.npz", "ckpt-4.npz"]
    assert gt.train.latest_checkpoint(str(tmp_path / "run")) == paths[3]
    # a new manager on the directory finds them; restore_or_initialize restores the latest
    m2 = MLP(seed=3)
    mgr2 = gt.train.CheckpointManager(gt.train.Checkpoint(model=m2), str(tmp_path / "run"), max_to_keep=2)
    assert mgr2.checkpoints == paths[2:]
    assert mgr2.restore_or_initialize() == paths[3]
    assert m2.layers[0].b.numpy().tolist() == [3.0] * 4
    assert mgr2.save(checkpoint_number=100).endswith("ckpt-100")
    keep_all = gt.train.CheckpointManager(ck, str(tmp_path / "all"), max_to_keep=None)
    for _ in range(3):
        keep_all.save()
    assert len(keep_all.checkpoints) == 3
    with pytest.raises(ValueError):
        gt.train.CheckpointManager(ck, str(tmp_path), max_to_keep=0)
    # TensorFlow's text state file is read too
    (tmp_path / "tfdir").mkdir()
    gt.train.Checkpoint(model=m).write(str(tmp_path / "tfdir" / "ckpt-9"))
    (tmp_path / "tfdir" / "checkpoint").write_text(
        'model_checkpoint_path: "ckpt-9"\nall_model_checkpoint_paths: "ckpt-9"\n')
    assert gt.train.latest_checkpoint(str(tmp_path / "tfdir")) == str(tmp_path / "tfdir" / "ckpt-9")


SAVER = textwrap.dedent("""
    import sys
    import numpy as np
    import gradtape as gt

    class Big(gt.Module):
        def __init__(self):
            super().__init__()
            self.parts = [gt.Variable(np.zeros(1_000_000, np.float32)) for _ in range(6)]
            self.step = gt.Variable(np.int64(0))

    big = Big()
    mgr = gt.train.CheckpointManager(gt.train.Checkpoint(model=big), sys.argv[1], max_to_keep=2)
    step = 0
    while True:
        step += 1
        for p in big.parts:
            p.assign(np.full(1_000_000, step, np.float32))
        big.step.assign(np.int64(step))
        mgr.save()
        print(step, flush=True)
""")


def test_kill_during_saves_leaves_a_restorable_latest_checkpoint(tmp_path):
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    directory = tmp_path / "ckpts"
    rng = np.random.default_rng(0)
    for trial in range(3):
        p = subprocess.Popen([sys.executable, str(script), str(directory)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            first = p.stdout.readline()  # one save completed
            assert first.strip(), p.stderr.read()
            time.sleep(float(rng.uniform(0.05, 0.6)))  # then kill it at some point of a later save
        finally:
            p.send_signal(signal.SIGKILL)
            p.wait()
        latest = gt.train.latest_checkpoint(str(directory))
        assert latest is not None

        class Big(gt.Module):
            def __init__(self):
                super().__init__()
                self.parts = [gt.Variable(np.zeros(1_000_000, np.float32)) for _ in range(6)]
                self.step = gt.Variable(np.int64(-1))
        big = Big()
        gt.train.Checkpoint(model=big).restore(latest).assert_consumed()
        step = int(big.step.numpy())
        assert step >= 1
        for part in big.parts:  # every variable from the same save: no mixing, no partial data
            assert np.all(part.numpy() == step)
        # leftovers are only temporary files, never a half-written checkpoint under its name
        for name in os.listdir(directory):
            assert name == "checkpoint" or name.endswith(".npz") or ".tmp-" in name, name
        for name in os.listdir(directory):
            if name.endswith(".npz") and not name.startswith("."):
                gt.train.list_variables(str(directory / name[:-4]))


def test_optimizer_slots_made_after_a_restore_get_their_saved_values(tmp_path):
    """The optimizer's slots do not exist when a checkpoint is restored into a fresh model; the
    first step builds them and the restore, waiting for them, writes their saved values: the
    training continues as if never interrupted (TF's deferred restoration)."""
    def model():
        return gt.Variable(np.array([1.0, -2.0, 0.5], np.float32)), gt.optimizers.Adam(0.1)

    def step(w, opt):
        with gt.GradientTape() as tape:
            loss = gt.reduce_sum(w ** 4)
        opt.apply_gradients([(tape.gradient(loss, w), w)])
        return w.numpy()

    w, opt = model()
    for _ in range(3):
        step(w, opt)
    path = gt.train.Checkpoint(w=w, opt=opt).save(str(tmp_path / "ck"))
    w2, opt2 = model()
    status = gt.train.Checkpoint(w=w2, opt=opt2).restore(path)
    for _ in range(3):
        np.testing.assert_array_equal(step(w2, opt2), step(w, opt))
    status.assert_consumed()


def _adam_model(with_opt=True, cls=None):
    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.w = gt.Variable(np.array([1.0, -2.0, 0.5], np.float32))
            if with_opt:
                self.opt = (cls or gt.optimizers.Adam)(0.1)

    return M()


def _train(m):
    with gt.GradientTape() as tape:
        loss = gt.reduce_sum(m.w ** 4)
    m.opt.apply_gradients([(tape.gradient(loss, m.w), m.w)])
    return m.w.numpy()


@pytest.mark.parametrize("attach", ["module", "checkpoint"])
def test_an_optimizer_attached_after_the_restore_gets_its_slots(tmp_path, attach):
    """The optimizer did not exist at restore time: its saved slots wait under the model, move
    to the optimizer when it is attached, and are written when its build makes the slots."""
    ref = _adam_model()
    for _ in range(3):
        _train(ref)
    path = gt.train.Checkpoint(model=ref).save(str(tmp_path / "ck"))
    m = _adam_model(with_opt=False)
    if attach == "module":
        status = gt.train.Checkpoint(model=m).restore(path)
        m.opt = gt.optimizers.Adam(0.1)
    else:
        ck = gt.train.Checkpoint()
        status = ck.restore(path)
        ck.model = m
        m.opt = gt.optimizers.Adam(0.1)
    for _ in range(3):
        np.testing.assert_array_equal(_train(m), _train(ref))
    status.assert_consumed()


def test_nadam_restores_its_running_product(tmp_path):
    ref = _adam_model(cls=gt.optimizers.Nadam)
    for _ in range(3):
        _train(ref)
    path = gt.train.Checkpoint(model=ref).save(str(tmp_path / "ck"))
    m = _adam_model(cls=gt.optimizers.Nadam)
    status = gt.train.Checkpoint(model=m).restore(path)
    for _ in range(3):
        np.testing.assert_array_equal(_train(m), _train(ref))
    status.assert_consumed()


def test_restore_then_saved_model_save_keeps_the_restored_slots(tmp_path):
    """gt.saved_model.save traces the training step (making the slots, which the waiting restore
    writes) and then undoes the trace's effects: the restored values are not effects."""
    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.w = gt.Variable(np.arange(6, dtype=np.float32) / 6)
            self.opt = gt.optimizers.SGD(0.1, momentum=0.9)

        @gt.function(input_signature=[gt.TensorSpec([6], gt.float32)])
        def train_step(self, x):
            with gt.GradientTape() as tape:
                loss = gt.reduce_sum((self.w * x - 1.0) ** 2)
            self.opt.apply_gradients([(tape.gradient(loss, self.w), self.w)])
            return loss

    x = gt.constant(np.linspace(1, 2, 6, dtype=np.float32))
    ref = M()
    for _ in range(3):
        ref.train_step(x)
    path = gt.train.Checkpoint(model=ref).save(str(tmp_path / "ck"))
    m = M()
    status = gt.train.Checkpoint(model=m).restore(path)
    gt.saved_model.save(m, str(tmp_path / "saved"))
    np.testing.assert_array_equal(m.opt.variables[-1].numpy(), ref.opt.variables[-1].numpy())
    loaded = gt.saved_model.load(str(tmp_path / "saved"))  # (a copy of m as restored)
    for _ in range(2):
        want = ref.train_step(x).numpy()
        np.testing.assert_array_equal(m.train_step(x).numpy(), want)
        np.testing.assert_array_equal(loaded.train_step(x).numpy(), want)
    status.assert_consumed()


def test_restore_inside_a_function_is_refused(tmp_path):
    v = gt.Variable(1.0)
    path = gt.train.Checkpoint(v=v).save(str(tmp_path / "ck"))

    @gt.function
    def f():
        gt.train.Checkpoint(v=v).restore(path)
        return v + 1.0

    with pytest.raises(TypeError, match="cannot run while a gt.function traces"):
        f()


def test_a_generator_is_checkpointed_under_its_state_var(tmp_path):
    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.g = gt.random.Generator.from_seed(5)

    m = M()
    m.g.normal([3])
    path = gt.train.Checkpoint(m=m).save(str(tmp_path / "ck"))
    assert "m/g/_state_var/.ATTRIBUTES/VARIABLE_VALUE" in [k for k, _ in gt.train.list_variables(path)]
    want = m.g.normal([3]).numpy()
    fresh = M()
    gt.train.Checkpoint(m=fresh).restore(path).assert_consumed()
    np.testing.assert_array_equal(fresh.g.normal([3]).numpy(), want)
    g = gt.random.Generator.from_seed(1)
    gt.train.Checkpoint(g=g).save(str(tmp_path / "g"))  # a generator alone is trackable too
