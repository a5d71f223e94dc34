"""Threads and processes: independent training in several threads is bit-identical to the same
runs on one thread; big kernels release the GIL; custom gradients that call back into Python
do not deadlock when several threads run them at once; a forked child can use the engine after
its parent did; tapes are per thread; the interpreter exits cleanly while a thread is busy.

Scenarios that could hang or kill the interpreter run in a subprocess with a timeout, so a
failure is reported instead of taking pytest down with it.
"""
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import gradtape as gt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_script(code, timeout=120, env=None):
    """Runs `code` in a fresh interpreter; returns (returncode, stdout, stderr). A hang fails."""
    e = dict(os.environ)
    e.update(env or {})
    try:
        p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                           timeout=timeout, cwd=ROOT, env=e)
    except subprocess.TimeoutExpired as ex:
        hung = ex
    else:
        hung = None
    if hung is not None:
        out = hung.stdout.decode() if isinstance(hung.stdout, bytes) else (hung.stdout or "")
        err = hung.stderr.decode() if isinstance(hung.stderr, bytes) else (hung.stderr or "")
        pytest.fail("the script hung (no exit within %d s)\n--- stdout\n%s\n--- stderr\n%s"
                    % (timeout, out[-3000:], err[-3000:]))
    return p.returncode, p.stdout, p.stderr


# ---------------------------------------------------------------------------------------------
# independent training in four threads == the same training on one thread, bit for bit
# ---------------------------------------------------------------------------------------------

def train(seed, steps, n_in, n_out, batch, barrier=None):
    rng = np.random.default_rng(seed)
    w = gt.Variable(rng.normal(size=(n_in, n_out)) * 0.1)
    b = gt.Variable(np.zeros(n_out))
    x = gt.constant(rng.normal(size=(batch, n_in)))
    y = gt.constant(rng.normal(size=(batch, n_out)))
    if barrier is not None:
        barrier.wait()
    losses = np.empty(steps)
    for k in range(steps):
        with gt.GradientTape() as tape:
            pred = gt.tanh(gt.matmul(x, w) + b)
            d = pred - y
            loss = gt.reduce_mean(d * d) + 1e-3 * gt.reduce_sum(w * w) + gt.reduce_logsumexp(pred) * 1e-3
        gw, gb = tape.gradient(loss, [w, b])
        w.assign_sub(gw * 0.05)
        b.assign_sub(gb * 0.05)
        losses[k] = float(loss)
    return np.array(w.numpy()), np.array(b.numpy()), losses


SIZES = {
    "tiny": dict(steps=400, n_in=4, n_out=4, batch=8),
    # pred has 512 * 160 = 81920 elements: above the engine's threshold for its kernel threads
    "medium": dict(steps=40, n_in=96, n_out=160, batch=512),
}


@pytest.mark.parametrize("size", sorted(SIZES))
def test_four_threads_training_is_bit_identical_to_one_thread(size):
    cfg = SIZES[size]
    seeds = [11, 22, 33, 44]
    serial = [train(s, **cfg) for s in seeds]
    results = [None] * 4
    errors = []
    barrier = threading.Barrier(4)

    def worker(i):
        try:
            results[i] = train(seeds[i], barrier=barrier, **cfg)
        except BaseException as e:  # noqa: BLE001 -- reported below
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "training threads did not finish (deadlock?)"
    assert not errors, errors
    for i, (par, ser) in enumerate(zip(results, serial)):
        for name, p, s in zip(["w", "b", "losses"], par, ser):
            assert p.shape == s.shape
            assert np.array_equal(p, s), (
                "thread %d (%s model): %s differs from the single-thread run (max |diff| %g)"
                % (i, size, name, np.max(np.abs(p - s))))
    # the runs really trained and really differ from each other
    assert all(r[2][-1] < r[2][0] for r in results)
    assert not np.array_equal(results[0][0], results[1][0])


# ---------------------------------------------------------------------------------------------
# hogwild: several threads, each with its own tape, train the same variables at once
# ---------------------------------------------------------------------------------------------

def test_hogwild_training_on_shared_variables():
    """Four threads read and update shared variables without any lock of their own, each
    recording on its own tape through ops big enough to release the GIL (matmul, add, tanh,
    reduce_sum), so tape links are added to the variables' values while other threads look
    them up. Updates interleave (hogwild), so only convergence is checked; .ci/tsan runs this
    under ThreadSanitizer."""
    n_threads, steps, batch, n_in, n_out = 4, 12, 1024, 64, 64  # batch * n_out = 65536 elements
    base_records = gt._core.live_records()
    rng = np.random.default_rng(7)
    w_true = rng.normal(size=(n_in, n_out)) / np.sqrt(n_in)
    w = gt.Variable(np.zeros((n_in, n_out)), name="w")
    b = gt.Variable(np.zeros(n_out), name="b")
    data = []
    for k in range(n_threads):
        x = rng.normal(size=(batch, n_in))
        data.append((gt.constant(x), gt.constant(np.tanh(x @ w_true + 0.5))))
    losses = [[] for _ in range(n_threads)]
    errors = []
    barrier = threading.Barrier(n_threads)

    def worker(k):
        try:
            x, y = data[k]
            barrier.wait()
            for _ in range(steps):
                with gt.GradientTape() as tape:
                    pred = gt.tanh(gt.add(gt.matmul(x, w), b))
                    d = pred - y
                    loss = gt.reduce_sum(d * d) / (batch * n_out)
                gw, gb = tape.gradient(loss, [w, b])
                w.assign_sub(gw * 2.0)
                b.assign_sub(gb * 2.0)
                losses[k].append(float(loss))
        except BaseException as e:  # noqa: BLE001 -- reported below
            errors.append((k, repr(e)))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "hogwild threads did not finish (deadlock?)"
    assert not errors, errors
    for k in range(n_threads):
        assert len(losses[k]) == steps
        assert losses[k][-1] < 0.7 * losses[k][0], (k, losses[k])
    assert gt._core.live_records() == base_records


# ---------------------------------------------------------------------------------------------
# a big matmul in a worker thread lets the main thread run Python
# ---------------------------------------------------------------------------------------------

def test_big_matmul_in_a_worker_releases_the_gil():
    n, calls = 1500, 5
    rng = np.random.default_rng(0)
    a = gt.constant(rng.normal(size=(n, n)))
    b = gt.constant(rng.normal(size=(n, n)))
    gt.matmul(a, b)  # warm up (OpenBLAS threads, caches)
    windows = []
    done = threading.Event()
    result = {}

    def worker():
        for _ in range(calls):
            t0 = time.perf_counter()
            c = gt.matmul(a, b)
            windows.append((t0, time.perf_counter()))
        result["c"] = c
        done.set()

    stamps = []
    th = threading.Thread(target=worker)
    th.start()
    while not done.is_set():
        stamps.append(time.perf_counter())  # the main thread's progress
    th.join(timeout=120)
    assert not th.is_alive()
    stamps = np.array(stamps)
    # Iterations strictly inside a kernel call, 20 ms away from its ends: with the GIL held for
    # the whole call the main thread could only run in the (<= 5 ms) switch windows at the ends.
    margin = 0.020
    inside = sum(int(np.sum((stamps > t0 + margin) & (stamps < t1 - margin))) for t0, t1 in windows)
    longest = max(t1 - t0 for t0, t1 in windows)
    assert longest > 2 * margin + 0.01, "matmul too quick to measure (%.3f s): make n bigger" % longest
    assert inside > 1000, ("the main thread ran %d loop iterations while the worker was inside %d matmuls of "
                           "%dx%d (longest %.3f s): the kernel holds the GIL" % (inside, calls, n, n, longest))
    np.testing.assert_allclose(result["c"].numpy()[:3, :3], (a.numpy() @ b.numpy())[:3, :3], rtol=1e-10)


def test_big_elementwise_and_reduction_in_a_worker_release_the_gil():
    x = gt.constant(np.random.default_rng(1).uniform(0.1, 1.0, size=(4096, 2048)))
    done = threading.Event()
    windows = []

    def worker():
        for _ in range(6):
            t0 = time.perf_counter()
            gt.reduce_sum(gt.exp(gt.sin(x)) * gt.math.log(x), axis=1)
            windows.append((t0, time.perf_counter()))
        done.set()

    stamps = []
    th = threading.Thread(target=worker)
    th.start()
    while not done.is_set():
        stamps.append(time.perf_counter())
    th.join(timeout=120)
    stamps = np.array(stamps)
    # several kernels per window: only the time inside kernels counts; ask for modest progress
    inside = sum(int(np.sum((stamps > t0) & (stamps < t1))) for t0, t1 in windows)
    assert inside > 100, "main thread made %d iterations while the worker ran big elementwise ops" % inside


# ---------------------------------------------------------------------------------------------
# custom gradients calling back into Python from several threads: no deadlock
# ---------------------------------------------------------------------------------------------

def custom_gradient_worker(k, rounds, out):
    rng = np.random.default_rng(k)
    big = gt.constant(rng.uniform(-1, 1, size=(300, 300)))

    @gt.custom_gradient
    def scaled_tanh(a):
        y = gt.tanh(a) * 2.0

        def grad_fn(dy):
            # Python work, a GIL-releasing kernel, a nested tape: all inside the backward sweep
            s = sum(i * i for i in range(200))
            _ = gt.matmul(big, big)
            with gt.GradientTape() as inner:
                inner.watch(a)
                t = gt.tanh(a)
            dt = inner.gradient(t, a, output_gradients=dy)
            return dt * 2.0 + 0.0 * s

        return y, grad_fn

    x = gt.constant(rng.uniform(-1, 1, size=(64,)))
    for _ in range(rounds):
        with gt.GradientTape() as tape:
            tape.watch(x)
            z = gt.reduce_sum(scaled_tanh(x) * x)
        g = tape.gradient(z, x)
    expected = 2.0 * np.tanh(x.numpy()) + 2.0 * (1 - np.tanh(x.numpy()) ** 2) * x.numpy()
    out[k] = float(np.max(np.abs(g.numpy() - expected)))


def test_custom_gradients_in_several_threads_do_not_deadlock():
    import gc
    gc.collect()  # (the garbage of earlier tests, tapes in reference cycles, is not this test's)
    base = (gt._core.live_tensors(), gt._core.live_records())
    n_threads, rounds = 6, 25
    out = {}
    threads = [threading.Thread(target=custom_gradient_worker, args=(k, rounds, out), daemon=True)
               for k in range(n_threads)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, 120 - (time.time() - t0)))
    alive = [i for i, t in enumerate(threads) if t.is_alive()]
    assert not alive, "threads %s still running after 120 s: deadlock" % alive
    assert sorted(out) == list(range(n_threads)), "some threads failed: %s" % (out,)
    assert max(out.values()) < 1e-12, out
    import gc
    gc.collect()
    assert gt._core.live_records() == base[1]


def test_tapes_are_per_thread():
    x = gt.constant(np.array([1.0, 2.0]))
    seen = {}
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)

        def other():
            seen["y"] = x * 3.0  # recorded on no tape: this thread has none open

        th = threading.Thread(target=other)
        th.start()
        th.join()
        mine = x * 5.0
    assert tape.gradient(seen["y"], x) is None
    np.testing.assert_array_equal(tape.gradient(mine, x).numpy(), [5.0, 5.0])


# ---------------------------------------------------------------------------------------------
# the reverse sweep runs without the GIL; a tape belongs to one thread at a time
# ---------------------------------------------------------------------------------------------

def longest_pause_while(fn):
    """Runs fn() on this thread while another thread sleeps 1 ms at a time, noting how long each
    wake-up took; returns (fn's result, seconds fn took, the longest pause the other saw)."""
    stop = threading.Event()
    gaps = []

    def watcher():
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    th = threading.Thread(target=watcher)
    th.start()
    time.sleep(0.05)
    t0 = time.perf_counter()
    try:
        result = fn()
    finally:
        elapsed = time.perf_counter() - t0
        stop.set()
        th.join()
    return result, elapsed, max(gaps)


def test_million_op_backward_lets_other_threads_run():
    """A liveness check, not a benchmark: with the GIL held for the whole sweep, the other
    thread froze for the whole backward (0.4-1 s); now it waits at most a switch interval or a
    custom gradient's call. The bound is generous so that a busy machine does not fail it."""
    x = gt.constant(1.0, dtype=gt.float64)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x
        for _ in range(1_000_000):
            y = y * 1.000001
    g, elapsed, pause = longest_pause_while(lambda: tape.gradient(y, x))
    assert abs(float(g) - 1.000001 ** 1_000_000) < 1e-6
    from conftest import ci_figure
    ci_figure("longest pause of another thread during a 1M-op backward", "%.1f ms (backward %.2f s)"
              % (pause * 1e3, elapsed))
    assert pause < 0.2, "another thread waited %.0f ms during a %.2f s backward" % (pause * 1e3, elapsed)


def test_jacobian_and_batch_jacobian_let_other_threads_run():
    rng = np.random.default_rng(3)
    m = gt.constant(rng.normal(size=(1000, 1000)) / 30)
    v = gt.constant(rng.normal(size=(1000,)))
    xb = gt.constant(rng.normal(size=(64, 200)))
    wb = gt.constant(rng.normal(size=(200, 200)) / 15)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch([v, xb])
        z = gt.tanh(gt.reshape(gt.matmul(m, gt.reshape(v, [1000, 1])), [1000]))
        zb = gt.tanh(gt.matmul(xb, wb))
    j, _, pause = longest_pause_while(lambda: tape.jacobian(z, v))
    assert j.shape == (1000, 1000) and pause < 0.2, pause
    expected = (1 - np.tanh(m.numpy() @ v.numpy()) ** 2)[:, None] * m.numpy()
    np.testing.assert_allclose(j.numpy(), expected, rtol=1e-10, atol=1e-12)
    bj, _, pause = longest_pause_while(lambda: tape.batch_jacobian(zb, xb))
    assert bj.shape == (64, 200, 200) and pause < 0.2, pause
    d = 1 - np.tanh(xb.numpy() @ wb.numpy()) ** 2
    np.testing.assert_allclose(bj.numpy()[5], d[5][:, None] * wb.numpy().T, rtol=1e-10, atol=1e-12)


def test_exit_on_another_thread_is_refused_and_the_tape_stops_recording():
    base = gt._core.live_records()
    x = gt.constant(2.0)
    tape = gt.GradientTape()
    tape.__enter__()
    tape.watch(x)
    y0 = x * x
    got = {}

    def exit_here():
        try:
            tape.__exit__(None, None, None)
        except RuntimeError as e:
            got["error"] = str(e)

    th = threading.Thread(target=exit_here, name="exiter")
    th.start()
    th.join()
    msg = got.get("error", "")
    assert "__exit__" in msg and "entered on thread %d (MainThread)" % threading.get_ident() in msg, msg
    assert "(exiter)" in msg and "stopped recording" in msg, msg
    y = y0
    for _ in range(100):
        y = y * x  # not recorded: the tape dropped off this thread's stack at the first op
    assert tape.num_records == 1
    assert not gt._core.any_tape_recording()
    assert float(tape.gradient(y0, x)) == 4.0  # what it recorded before is still there
    del tape, y0, y
    import gc
    gc.collect()
    assert gt._core.live_records() == base


def test_a_tape_entered_on_one_thread_refuses_use_from_another():
    x = gt.constant(3.0)
    errors = []
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x

        def other():
            for call in (lambda: tape.gradient(y, x), lambda: tape.watch(x), tape.reset,
                         lambda: tape.jacobian(y, x), tape.__enter__):
                try:
                    call()
                except RuntimeError as e:
                    errors.append(str(e))

        th = threading.Thread(target=other)
        th.start()
        th.join()
        z = y * x  # still recording here
    assert len(errors) == 5, errors
    assert all("on thread %d" % threading.get_ident() in e for e in errors), errors
    assert float(tape.gradient(z, x)) == 27.0


def test_a_tape_dropped_on_another_thread_while_entered_does_not_crash():
    """The other thread exits it wrongly (refused) and holds the last reference: the tape is
    destroyed there while this thread still has it on its stack."""
    base = gt._core.live_records()
    x = gt.constant(2.0)
    box = [gt.GradientTape()]
    box[0].__enter__()
    box[0].watch(x)
    y = x * x

    def drop():
        t = box.pop()
        try:
            t.__exit__(None, None, None)
        except RuntimeError:
            pass
        del t

    th = threading.Thread(target=drop)
    th.start()
    th.join()
    import gc
    gc.collect()
    for _ in range(10):
        y = y * x
    assert float(y) == 2.0 ** 12
    assert not gt._core.any_tape_recording()
    gc.collect()
    assert gt._core.live_records() == base


def test_two_threads_asking_one_persistent_tape_for_gradients():
    """Each call either answers right or is refused (the tape is in use on the other thread):
    never a crash or a wrong value."""
    x = gt.constant(1.0, dtype=gt.float64)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x
        for _ in range(20_000):
            y = y * 1.0001
    want = 1.0001 ** 20_000
    outcomes = []

    def ask():
        for _ in range(15):
            try:
                outcomes.append(abs(float(tape.gradient(y, x)) - want) < 1e-9 * want)
            except RuntimeError as e:
                assert "one thread at a time" in str(e), e
                outcomes.append("refused")

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(outcomes) == 30 and False not in outcomes, outcomes
    assert outcomes.count(True) >= 15


# ---------------------------------------------------------------------------------------------
# fork
# ---------------------------------------------------------------------------------------------

FORK_CHILD = """
    import os, sys, time
    import numpy as np
    import gradtape as gt

    def use_engine(tag):
        rng = np.random.default_rng(0)
        a = gt.constant(rng.normal(size=(1500, 1500)))
        c = gt.matmul(a, a)                                    # big matmul (OpenBLAS threads)
        e = gt.exp(gt.constant(rng.uniform(-1, 1, size=(4_000_000,))))  # big elementwise (kernel threads)
        s = gt.reduce_sum(e)                                   # big reduction
        x = gt.Variable(rng.normal(size=(400, 400)))
        with gt.GradientTape() as tape:
            loss = gt.reduce_sum(gt.tanh(gt.matmul(x, x)))
        g = tape.gradient(loss, x)
        return float(gt.reduce_sum(c)), float(s), float(gt.reduce_sum(g))

    def wait(pid, timeout):
        t0 = time.time()
        while time.time() - t0 < timeout:
            r, status = os.waitpid(pid, os.WNOHANG)
            if r:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.02)
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        return "hung"
"""


def test_forked_child_uses_the_engine_after_the_parent_did():
    code = FORK_CHILD + """
    parent = use_engine("parent")
    for k in range(3):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                os.write(w, repr(use_engine("child")).encode())
                os._exit(0)
            except BaseException as ex:
                os.write(w, ("error " + repr(ex)).encode())
                os._exit(3)
        os.close(w)
        status = wait(pid, 30)
        got = os.read(r, 4096).decode()
        os.close(r)
        print("child", k, status, got == repr(parent), got[:200], flush=True)
        assert status == 0, ("child", k, status, got)
        assert got == repr(parent), (got, parent)
    print("fork ok")
    """
    rc, out, err = run_script(code, timeout=90)
    assert rc == 0 and "fork ok" in out, "rc=%d\n%s\n%s" % (rc, out, err[-3000:])


def test_multiprocessing_fork_child_uses_the_engine():
    code = FORK_CHILD + """
    import multiprocessing as mp

    def child(q):
        q.put(use_engine("child"))

    if __name__ == "__main__":
        parent = use_engine("parent")
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        procs = [ctx.Process(target=child, args=(q,), daemon=True) for _ in range(2)]
        for p in procs:
            p.start()
        results = [q.get(timeout=45) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
        assert all(r == parent for r in results), (results, parent)
        print("mp fork ok")
    """
    rc, out, err = run_script(code, timeout=75)
    assert rc == 0 and "mp fork ok" in out, "rc=%d\n%s\n%s" % (rc, out, err[-3000:])


@pytest.mark.xfail(strict=False, reason="OpenBLAS limitation (NumPy's OpenBLAS does the same): it hangs in its own fork/exit handling while another thread is inside a BLAS call; gradtape's own kernels pass this test. It hangs in most runs, not all: not strict.")
def test_fork_while_another_thread_runs_big_kernels():
    """A process that forks (a data loader, a subprocess helper) while a training thread is
    inside big kernels: neither fork() in the parent nor the child may hang."""
    code = FORK_CHILD + """
    import threading
    rng = np.random.default_rng(0)
    a = gt.constant(rng.normal(size=(1500, 1500)))
    big = gt.constant(rng.uniform(-1, 1, size=(4_000_000,)))
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            gt.matmul(a, a)
            gt.exp(big)

    th = threading.Thread(target=busy, daemon=True)
    th.start()
    time.sleep(0.3)
    for k in range(5):
        t0 = time.time()
        pid = os.fork()
        if pid == 0:
            try:
                use_engine("child")
                os._exit(0)
            except BaseException:
                os._exit(3)
        status = wait(pid, 30)
        print("fork", k, "status", status, "%.2f s" % (time.time() - t0), flush=True)
        assert status == 0, status
    stop.set()
    th.join(timeout=60)
    print("fork under load ok")
    """
    rc, out, err = run_script(code, timeout=20)
    assert rc == 0 and "fork under load ok" in out, (
        "rc=%d (a hang is reported as a timeout above)\n%s\n%s" % (rc, out, err[-3000:]))


# ---------------------------------------------------------------------------------------------
# interpreter exit and thread exit
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kernel", [pytest.param("matmul", marks=pytest.mark.xfail(strict=False, reason="OpenBLAS limitation (NumPy's OpenBLAS does the same): it hangs in its own fork/exit handling while another thread is inside a BLAS call; gradtape's own kernels pass this test. It hangs in most runs, not all: not strict.")),
                                    "elementwise"])
def test_interpreter_exits_cleanly_while_a_daemon_thread_is_inside_a_kernel(kernel):
    """Daemon threads are stopped at interpreter exit wherever they are; a thread inside a
    GIL-releasing gradtape kernel must not turn that into an abort or a segfault."""
    op = ("gt.matmul(a, a)" if kernel == "matmul" else "gt.exp(a)")
    shape = "[1500, 1500]" if kernel == "matmul" else "[4_000_000]"
    code = """
    import threading, time
    import gradtape as gt
    a = gt.ones(%s, dtype=gt.float64)
    def spin():
        while True:
            %s
    threading.Thread(target=spin, daemon=True).start()
    time.sleep(0.5)
    print("main done", flush=True)
    """ % (shape, op)
    for attempt in range(3 if kernel == "elementwise" else 1):
        rc, out, err = run_script(code, timeout=30 if kernel == "elementwise" else 15)
        assert rc == 0, ("attempt %d: exit status %d (negative: killed by that signal; 134/-6: abort)\n%s\n%s"
                         % (attempt, rc, out, err[-2000:]))


def test_thread_exiting_with_a_tape_still_entered_does_not_crash():
    """A thread that ends inside a tape's `with` block (here: __enter__ without __exit__) must
    not crash the process when its thread-local state is torn down."""
    code = """
    import threading
    import gradtape as gt
    def worker():
        t = gt.GradientTape()
        t.__enter__()
        x = gt.constant(1.0)
        t.watch(x)
        y = x * x
    for _ in range(20):
        th = threading.Thread(target=worker)
        th.start()
        th.join()
    x = gt.constant(2.0)
    with gt.GradientTape() as t:
        t.watch(x)
        y = x * x
    assert float(t.gradient(y, x)) == 4.0
    print("threads ok", flush=True)
    """
    rc, out, err = run_script(code, timeout=60)
    assert rc == 0 and "threads ok" in out, "rc=%d\n%s\n%s" % (rc, out, err[-2000:])


def test_interpreter_exit_with_a_tape_still_entered_does_not_crash():
    code = """
    import gradtape as gt
    t = gt.GradientTape()
    t.__enter__()
    x = gt.constant(1.0)
    t.watch(x)
    y = x * x
    print("main done", flush=True)
    """
    rc, out, err = run_script(code, timeout=60)
    assert rc == 0 and "main done" in out, "rc=%d\n%s\n%s" % (rc, out, err[-2000:])


def test_set_num_threads_changes_the_pool_and_not_the_results():
    import gradtape as gt
    x = gt.constant(np.random.default_rng(0).standard_normal(300_000).astype(np.float32))
    was = gt.config.get_num_threads()
    try:
        gt.config.set_num_threads(1)
        assert gt.config.get_num_threads() == 1
        one = (gt.exp(x) * x).numpy().copy(), float(gt.reduce_sum(x))
        gt.config.set_num_threads(2)
        assert gt.config.get_num_threads() == 2
        two = (gt.exp(x) * x).numpy().copy(), float(gt.reduce_sum(x))
        np.testing.assert_array_equal(one[0], two[0])
        assert one[1] == two[1]  # fixed blocks: the sum does not depend on the thread count
        with pytest.raises(ValueError, match="at least 1"):
            gt.config.set_num_threads(0)
    finally:
        gt.config.set_num_threads(was)


@pytest.mark.parametrize("channels", [(3, 32), (5, 7)])  # the direct kernel; im2col + GEMM
def test_a_convolutions_gradients_do_not_depend_on_the_thread_count(channels):
    # the filters' gradient sums the batch's two halves apart on any thread count (one thread
    # runs both), so one and two threads give the same bits
    cin, cout = channels
    rng = np.random.default_rng(3)
    x = gt.constant(rng.standard_normal((9, 30, 30, cin)).astype(np.float32))
    f = gt.constant(rng.standard_normal((3, 3, cin, cout)).astype(np.float32))
    g = gt.constant(rng.standard_normal((9, 30, 30, cout)).astype(np.float32))
    was = gt.config.get_num_threads()
    got = []
    try:
        for n in (1, 2, 1):
            gt.config.set_num_threads(n)
            with gt.GradientTape() as t:
                t.watch([x, f])
                y = gt.nn.conv2d(x, f, 1, "SAME")
            got.append([v.numpy().copy() for v in t.gradient(y, [x, f], output_gradients=g)])
    finally:
        gt.config.set_num_threads(was)
    for other in got[1:]:
        for a, b in zip(got[0], other):
            np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))
    # and right: the filters' gradient against a float64 sum over the batch
    xp = np.pad(x.numpy().astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    want = np.einsum("nhwc,nhwo->co", xp[:, 0:30, 2:32, :], g.numpy().astype(np.float64))
    np.testing.assert_allclose(got[0][1][0, 2], want, rtol=1e-4, atol=1e-3)


def test_fused_passes_run_in_a_thread_with_a_small_stack():
    # a fused pass's chunk buffers (80 KiB) live on the heap: a thread made with a small stack
    # (threading.stack_size) runs fused eager ops, their sums, gradients, gt.function, a
    # convolution, random draws, a sort and an inverse
    code = """
        import threading
        import numpy as np
        import gradtape as gt
        got = []
        def work():
            rng = np.random.default_rng(0)
            x = gt.constant(rng.random(1 << 16).astype(np.float32))
            w = gt.Variable(rng.random(1 << 16).astype(np.float32))
            b = gt.Variable(rng.random(64).astype(np.float32))
            with gt.GradientTape() as t:
                z = gt.reshape(x * w, [-1, 64]) + b
                y = gt.reduce_sum(gt.nn.relu(z) * 2.0 + gt.math.softplus(z))
            gw, gb = t.gradient(y, [w, b])
            f = gt.function(lambda x: gt.reduce_sum(gt.math.softplus(x * 3.0 + 1.0) * x))
            img = gt.constant(rng.random((4, 12, 12, 3)).astype(np.float32))
            k = gt.Variable(rng.random((3, 3, 3, 16)).astype(np.float32))
            with gt.GradientTape() as t:
                c = gt.reduce_sum(gt.nn.max_pool2d(gt.nn.relu(gt.nn.conv2d(img, k, 1, "SAME")), 2, 2, "VALID"))
            gk = t.gradient(c, k)
            r = gt.random.stateless_normal([1 << 14], seed=[1, 2])
            m = gt.linalg.inv(gt.eye(32, dtype=gt.float64) * 2.0 + gt.ones([32, 32], gt.float64) * 0.01)
            got.append((float(y), float(gt.reduce_sum(gw)), float(gt.reduce_sum(gb)), float(f(x)),
                        float(c), float(gt.reduce_sum(gk)), float(gt.reduce_sum(gt.sort(r)[:100])),
                        float(gt.reduce_sum(m))))
        work()
        threading.stack_size(48 * 1024)
        th = threading.Thread(target=work)
        th.start()
        th.join()
        assert len(got) == 2 and got[0] == got[1], got
        print("small stack done")
    """
    for n in ("1", "2"):
        rc, out, err = run_script(code, timeout=120, env={"GRADTAPE_NUM_THREADS": n})
        assert rc == 0 and "small stack done" in out, "rc=%d\n%s\n%s" % (rc, out, err[-2000:])


def test_threads_racing_to_capture_a_gradient_plan_and_replaying_it():
    # gt.function's gradient plans (docs/guides/function.md): the first replays of a program race
    # to capture its plan (one wins, the others run with a tape), then every thread replays the
    # plan; an outer tape on some threads makes those replays taped. Every result is the trace's.
    w = gt.Variable(np.linspace(-1, 1, 64).astype(np.float32))

    @gt.function
    def f(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = gt.reduce_sum(gt.nn.softplus(x * w) * x)
        return tape.gradient(y, [x, w])

    xs = [gt.constant(np.full(64, k / 8, np.float32)) for k in range(4)]
    f(xs[0])  # the trace: the threads' first replays race to capture the plan
    assert f.get_concrete_function(xs[0])._program.gradient_plan == "not captured"
    want = [[g.numpy() for g in f.python_function(x)] for x in xs]  # eager: the same bits
    start = threading.Barrier(4)
    errors = []

    def worker(k):
        try:
            start.wait()
            for i in range(40):
                x = xs[(k + i) % 4]
                if k == 3 and i % 2:
                    with gt.GradientTape() as outer:
                        outer.watch(x)
                        got = f(x)
                else:
                    got = f(x)
                for g, e in zip(got, want[(k + i) % 4]):
                    np.testing.assert_array_equal(g.numpy(), e)
        except Exception as e:  # reported below
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert f.get_concrete_function(xs[0])._program.gradient_plan == "ready"


def test_threads_computing_batched_results_at_once():
    # Batches (fusion.h): a gradient's sweep and a gt.function run compute their deferred
    # results together, on the pool, with deferred reductions. Several threads doing that at
    # once, on the same leaves, give each the values one thread alone gives. (The TSan stage
    # runs this: the pass's pieces, block buffers and the tensors it fills.)
    n = 2 * 65536 + 17
    rng = np.random.default_rng(0)
    x = gt.constant(rng.standard_normal(n).astype(np.float32))
    w = gt.constant(rng.standard_normal(n).astype(np.float32))
    b = gt.constant(np.float32(0.25))

    def step(x, w, b):
        with gt.GradientTape() as tape:
            tape.watch([x, w, b])
            loss = gt.reduce_sum(gt.nn.softplus(x * w + b))
        return [loss] + tape.gradient(loss, [x, w, b]) + [gt.reduce_max(x - w)]

    f = gt.function(step)
    want = [t.numpy().copy() for t in step(x, w, b)]
    errors = []
    go = threading.Barrier(4)

    def run(i):
        try:
            go.wait()
            for _ in range(3):
                got = f(x, w, b) if i % 2 else step(x, w, b)
                for g, e in zip(got, want):
                    np.testing.assert_array_equal(g.numpy(), e)
        except Exception as exc:  # (reported below, with the thread)
            errors.append((i, exc))
    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
