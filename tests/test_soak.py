"""Soak and release tests: long training loops do not leak, and every way a tape can end frees
what it holds.

The core's live-object counters (gt._core.live_tensors(), live_storages(), live_records())
must come back exactly to their baseline, and the resident set (VmRSS of /proc/self/status)
must grow by less than 4 MB over 100,000 training steps run after a 5,000-step warm-up.
"""
import gc
import time

import numpy as np
import pytest

import gradtape as gt

core = gt._core
STEPS = 100_000
WARMUP = 5_000
RSS_BUDGET_MB = 4.0


def counters():
    gc.collect()
    return core.live_tensors(), core.live_storages(), core.live_records()


def rss_mb():
    """Current resident set size (VmRSS), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


def assert_back_to(baseline, what):
    now = counters()
    assert now == baseline, (
        "%s: live (tensors, storages, records) = %s, baseline %s" % (what, now, baseline))


# ---------------------------------------------------------------------------------------------
# the soak: 100,000 steps of a tiny model
# ---------------------------------------------------------------------------------------------

class TinyModel:
    """y = x W + b on a fixed batch, squared error against a fixed target, plain SGD."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.w = gt.Variable(rng.normal(size=(4, 4)) * 0.1, name="w")
        self.b = gt.Variable(np.zeros(4), name="b")
        self.x = gt.constant(rng.normal(size=(8, 4)))
        self.y = gt.constant(rng.normal(size=(8, 4)))
        self.lr = 0.01

    def step(self):
        w, b = self.w, self.b
        with gt.GradientTape() as tape:
            d = gt.matmul(self.x, w) + b - self.y
            loss = gt.reduce_mean(d * d)
        gw, gb = tape.gradient(loss, [w, b])
        w.assign_sub(gw * self.lr)
        b.assign_sub(gb * self.lr)
        return loss


def run_steps(model, n):
    step = model.step
    loss = None
    for _ in range(n):
        loss = step()
    return float(loss)


def test_soak_100k_steps_no_leak_and_flat_rss(capsys):
    model = TinyModel()
    first = float(model.step())
    run_steps(model, WARMUP)
    base = counters()
    rss0 = rss_mb()
    t0 = time.perf_counter()
    losses = []
    chunk = STEPS // 10
    peak = rss0
    for k in range(10):
        losses.append(run_steps(model, chunk))
        # no tensor, storage or record may survive a step
        assert counters() == base, "after %d steps: live %s, baseline %s" % ((k + 1) * chunk, counters(), base)
        peak = max(peak, rss_mb())
    elapsed = time.perf_counter() - t0
    growth = rss_mb() - rss0
    with capsys.disabled():
        print("\nsoak: %d steps, RSS growth %.2f MB" % (STEPS, growth))
        print("soak: peak RSS +%.2f MB over the post-warm-up level, %.1f us/step, %.1f s"
              % (peak - rss0, elapsed / STEPS * 1e6, elapsed))
    try:
        from conftest import ci_figure
        ci_figure("soak: RSS growth over %d training steps (MB)" % STEPS, round(growth, 2))
    except ImportError:  # pragma: no cover
        pass
    assert losses[-1] < first, "training did not reduce the loss: %s -> %s" % (first, losses[-1])
    assert growth < RSS_BUDGET_MB, "RSS grew by %.2f MB over %d steps" % (growth, STEPS)
    assert peak - rss0 < RSS_BUDGET_MB, "RSS peaked %.2f MB above its post-warm-up level" % (peak - rss0)
    del model
    gc.collect()


def test_soak_variables_update_in_place():
    """assign_sub on a variable nothing else holds writes in place: the storage count stays
    flat even though every step makes new gradient tensors."""
    model = TinyModel()
    run_steps(model, 100)
    base = counters()
    run_steps(model, 2000)
    assert counters() == base


# ---------------------------------------------------------------------------------------------
# every way a tape ends frees what it holds
# ---------------------------------------------------------------------------------------------

def _warm(fn, n=3):
    for _ in range(n):
        fn()
    gc.collect()


def assert_rounds_leave_nothing(round_fn, what, rounds):
    """Warm up, then one round and `rounds` more must each leave the live counters at the
    baseline taken before them."""
    _warm(round_fn)
    base = counters()
    round_fn()
    assert_back_to(base, what)
    for _ in range(rounds):
        round_fn()
    assert_back_to(base, "%d x %s" % (rounds, what))


def persistent_tape_round():
    x = gt.constant(np.linspace(-1.0, 1.0, 6).reshape(2, 3))
    v = gt.Variable(np.ones((3, 2)))
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = gt.matmul(x, v)
        z = gt.reduce_sum(gt.exp(y) * gt.sin(x[:, :2]))
    assert tape.num_records > 0
    for _ in range(3):
        gx, gv = tape.gradient(z, [x, v])
    jac = tape.jacobian(y, x)
    bj = tape.batch_jacobian(y, x)
    assert tuple(jac.shape) == (2, 2, 2, 3) and tuple(bj.shape) == (2, 2, 3)
    del tape, gx, gv, jac, bj, y, z, x, v


def test_persistent_tape_is_freed_by_del():
    assert_rounds_leave_nothing(persistent_tape_round, "persistent tape after del", 500)


def test_persistent_tape_records_released_when_it_goes_out_of_scope():
    base = counters()

    def scope():
        x = gt.constant(np.ones(4))
        with gt.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = gt.reduce_sum(x * x * x)
        assert core.live_records() > base[2]
        return float(tape.gradient(y, x)[0])

    assert scope() == 3.0
    assert_back_to(base, "persistent tape gone out of scope")


def custom_gradient_round(cycle):
    captured = [gt.constant(np.full(3, 2.0)), gt.constant(np.arange(3.0))]  # tensors the grad_fn closes over
    x = gt.constant(np.array([0.5, 1.0, 1.5]))
    holder = {}

    @gt.custom_gradient
    def f(a):
        y = a * captured[0] + captured[1]

        def grad_fn(dy):
            if cycle:
                assert holder["tape"] is not None  # grad_fn -> holder -> tape -> _keepalive -> grad_fn
            return dy * captured[0]

        return y, grad_fn

    with gt.GradientTape(persistent=cycle) as tape:
        holder["tape"] = tape
        tape.watch(x)
        z = gt.reduce_sum(f(x) * x)
    g = tape.gradient(z, x)
    np.testing.assert_allclose(g.numpy(), 2.0 * x.numpy() + (2.0 * x.numpy() + np.arange(3.0)))
    del g, z, tape, x, captured  # the cycle (if any) is left for the garbage collector


@pytest.mark.parametrize("cycle", [False, True], ids=["plain", "cycle_through_tape"])
def test_custom_gradient_closing_over_tensors_is_freed(cycle):
    assert_rounds_leave_nothing(lambda: custom_gradient_round(cycle), "custom gradient (cycle=%s)" % cycle, 300)


class Boom(Exception):
    pass


def dropped_by_exception_round(where):
    x = gt.constant(np.linspace(0.1, 1.0, 5))
    v = gt.Variable(np.ones(5))
    try:
        with gt.GradientTape(persistent=(where == "persistent_in_block")) as tape:
            tape.watch(x)
            y = gt.exp(x) * v
            z = gt.reduce_sum(gt.sqrt(y) + y * y)
            if where in ("in_block", "persistent_in_block"):
                raise Boom()
        if where == "in_grad_fn":
            @gt.custom_gradient
            def bad(a):
                def grad_fn(dy):
                    raise Boom()
                return a * 2.0, grad_fn

            with gt.GradientTape() as tape:
                tape.watch(x)
                z = gt.reduce_sum(bad(gt.exp(x)) * x)
            tape.gradient(z, x)
        if where == "bad_sources":
            tape.gradient(z, [x, "not a tensor"])
        if where == "bad_output_gradients":
            tape.gradient(z, x, output_gradients=gt.ones([7]))
    except (Boom, TypeError, ValueError):
        pass
    else:
        raise AssertionError("the exception did not happen (%s)" % where)


@pytest.mark.parametrize("where", ["in_block", "persistent_in_block", "in_grad_fn", "bad_sources",
                                   "bad_output_gradients"])
def test_tape_dropped_midway_by_an_exception_frees_everything(where):
    assert_rounds_leave_nothing(lambda: dropped_by_exception_round(where),
                                "tape dropped by an exception (%s)" % where, 300)


def test_nested_tapes_and_higher_order_are_freed():
    def round_():
        x = gt.constant(np.array([0.3, -0.7]))
        with gt.GradientTape() as t2:
            t2.watch(x)
            with gt.GradientTape() as t1:
                t1.watch(x)
                y = gt.reduce_sum(gt.tanh(x) ** 3.0)
            g = t1.gradient(y, x)
        h = t2.jacobian(g, x)
        assert tuple(h.shape) == (2, 2)

    assert_rounds_leave_nothing(round_, "nested tapes", 300)


def test_counters_detect_a_leak():
    """Meta-test: holding on to results is seen by the counters (they are not vacuous)."""
    base = counters()
    keep = [persistent_tape_round, gt.constant(np.ones(3))]
    x = gt.constant(2.0)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    keep.append(tape)
    now = counters()
    assert now[0] > base[0] and now[1] > base[1] and now[2] > base[2]
    del keep, tape, x, y
    assert_back_to(base, "after releasing the held objects")
