"""get_concrete_function (and any trace whose effects gt.function undoes: _function._EffectsUndone)
notes the live variables and random streams without walking the Python heap and without holding
anything alive. It used gc.get_objects(): each such trace cost as much as the heap, and the list
of every object kept the heap's unreachable cycles (a dropped gt.function and its programs) alive
through the collections the trace triggered, so that they reached the oldest generation and piled
up: a long run of small functions slowed down more than linearly (a fuzzer's 2500 seeds took
6.5 minutes instead of 4 seconds)."""
import gc
import weakref

import numpy as np

import gradtape as gt
from gradtape import _core


def test_get_concrete_function_undoes_writes_and_draws_without_walking_the_heap(monkeypatch):
    v = gt.Variable(1.0)
    g = gt.random.Generator.from_seed(3)
    gt.random.set_seed(7)
    draws = [float(gt.random.uniform([], seed=2)) for _ in range(2)]
    gt.random.set_seed(7)
    gt.random.uniform([], seed=2)  # (the stream exists before the trace: the trace's draw is undone)

    @gt.function
    def f(x):
        v.assign_add(x)
        return v * 2.0 + g.normal([]) + gt.random.uniform([], seed=2)

    def no_heap_walk(*args, **kwargs):
        raise AssertionError("gc.get_objects() called by gradtape")

    monkeypatch.setattr(gc, "get_objects", no_heap_walk)
    f.get_concrete_function(gt.TensorSpec([], gt.float32))
    monkeypatch.undo()
    assert float(v) == 1.0  # the trace's write undone
    assert float(gt.random.uniform([], seed=2)) == draws[1]  # its draws undone
    assert float(g.normal([])) == float(gt.random.Generator.from_seed(3).normal([]))



def test_a_stream_first_drawn_from_while_get_concrete_function_traces_starts_afresh_at_the_call():
    # (an op seed's stream is made at its first draw: here the trace's; TensorFlow's tracing
    # draws nothing, so the first call's draw is the first of the stream: checked with TF 2.21)
    gt.random.set_seed(5)
    want = gt.random.uniform([2], seed=11).numpy()
    gt.random.set_seed(5)

    @gt.function
    def f(x):
        return gt.random.uniform([2], seed=11) + x

    f.get_concrete_function(gt.TensorSpec([2], gt.float32))
    np.testing.assert_array_equal(f(gt.zeros([2])).numpy(), want)


def test_a_variable_dropped_while_get_concrete_function_traces_is_freed_then():
    box = [gt.Variable(1.0)]
    ref = weakref.ref(box[0])
    freed = []

    @gt.function
    def f(x):
        box.clear()  # (the last reference: the snapshot of the variables holds none)
        freed.append(ref() is None)
        return x + 1.0

    f.get_concrete_function(gt.TensorSpec([], gt.float32))
    assert freed == [True]


def test_the_live_variables_and_streams_are_those_alive():
    gc.collect()
    n_vars, n_streams = len(_core._live_variables()), len(_core._live_streams())
    vs = [gt.Variable(float(i)) for i in range(50)]
    ss = [_core._PhiloxState(i, 0, 0) for i in range(200)]
    live = _core._live_variables()
    assert len(live) == n_vars + 50 and all(any(a is b for a in live) for b in vs)
    assert len(_core._live_streams()) == n_streams + 200
    del vs, ss, live
    assert len(_core._live_variables()) == n_vars and len(_core._live_streams()) == n_streams


def test_dropped_functions_do_not_pile_up_when_get_concrete_function_runs():
    # Each dropped gt.function is a reference cycle (it holds its concrete functions, which hold
    # it), which the young collections free. With the heap walk, noting 400 variables made a
    # collection while the list of every object lived, which found the garbage reachable and
    # promoted it, until it reached the oldest generation: every one of these functions stayed.
    keep = [gt.Variable(0.0) for _ in range(400)]
    gc.collect()
    alive = weakref.WeakSet()
    for i in range(300):
        v = gt.Variable(float(i))

        def py(x):
            with gt.GradientTape() as t:
                t.watch(x)
                z = x * v + 2.5
            return t.gradient(z, [x, v])

        f = gt.function(py)
        for _ in range(3):
            f(gt.constant(1.0))
        f.get_concrete_function(gt.constant(2.0))
        alive.add(f)
        del f, py, v
    assert len(alive) < 100, len(alive)
    del keep
