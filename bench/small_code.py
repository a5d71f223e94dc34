"""Scalar code for programs that compare and select, and for small vectors: gt.function calls
with scalar code on and off (off: the planned replay), interleaved block by block in one
process (docs/guides/function.md, "Programs of scalars"; bench/README.md, "Scalar code:
comparisons, where and small vectors").

  PYTHONPATH=bench python bench/small_code.py              # us per call, medians
  PYTHONPATH=bench python bench/small_code.py --callgrind  # instructions per call (valgrind)

The programs: a step of one variable and a bias (a loss and its gradient) through relu,
through leaky_relu (a where of the program's own, with its structural zeros); W1's
z = 3 w1**2 + 2 w1 w2 on vectors of n elements (its gradient seeded with ones: no reduction);
a tanh unit on n samples; a regression of scalar parameters on n samples with a mean loss (a
reduction, and sums for the gradients). Each row says which state the program's scalar code is in ("ready"
or "refused: ...").
"""
import statistics
import sys
import time

import callgrind_count
import gradtape as gt
from gradtape import _core


def unit_step(n, loss_of):
    """A step of one variable w (rank 0 for n = 0, else n elements) and a rank-0 bias b: the
    gradients of loss_of(w x + b)."""
    w = gt.Variable(gt.constant(0.5) if n == 0 else gt.constant([0.5 - 0.1 * i for i in range(n)]))
    b = gt.Variable(0.25)
    x = gt.constant(1.5)

    @gt.function
    def step():
        with gt.GradientTape() as tape:
            z = loss_of(w * x + b)
        return tape.gradient(z, [w, b])
    return step


def relu_step(n):
    def squared_relu(u):
        y = gt.nn.relu(u)
        return y * y
    return unit_step(n, squared_relu)


def leaky_step(n):
    return unit_step(n, lambda u: gt.nn.leaky_relu(u) * 3.0)


def w1_vector_step(n):
    # W1's z = 3 w1**2 + 2 w1 w2, on vectors of n elements (the seed of the gradient is ones)
    w1 = gt.Variable(gt.constant([5.0 + i for i in range(n)]))
    w2 = gt.Variable(gt.constant([3.0 - i for i in range(n)]))

    @gt.function
    def step():
        with gt.GradientTape() as tape:
            z = 3 * w1 ** 2 + 2 * w1 * w2
        return tape.gradient(z, [w1, w2])
    return step


def mlp_unit_step(n):
    # one unit of a tiny model on n samples: tanh(w x + b), a squared error, gradients of w, b
    # (w and b of the vectors' shape: a scalar one's gradient would be a sum)
    x = gt.constant([0.1 * i - 0.3 for i in range(n)])
    t = gt.constant([0.05 * i for i in range(n)])
    w = gt.Variable(gt.constant([0.7] * n))
    b = gt.Variable(gt.constant([0.1] * n))

    @gt.function
    def step():
        with gt.GradientTape() as tape:
            y = gt.tanh(w * x + b)
            e = (y - t) * (y - t) * 0.5
        return tape.gradient(e, [w, b])
    return step


def mean_loss_step(n):
    # a tiny regression on n samples: scalar w and b, a mean squared error (a reduction), its
    # gradients (sums over the samples)
    x = gt.constant([0.1 * i - 0.3 for i in range(n)])
    t = gt.constant([0.05 * i for i in range(n)])
    w, b = gt.Variable(0.7), gt.Variable(0.1)

    @gt.function
    def step():
        with gt.GradientTape() as tape:
            e = gt.tanh(w * x + b) - t
            loss = gt.reduce_mean(e * e)
        return [loss, tape.gradient(loss, [w, b])]
    return step


CASES = [
    ("relu, rank 0", relu_step, 0),
    ("leaky_relu, rank 0", leaky_step, 0),
    ("W1 on [8]", w1_vector_step, 8),
    ("W1 on [16]", w1_vector_step, 16),
    ("W1 on [64]", w1_vector_step, 64),
    ("tanh unit on [16]", mlp_unit_step, 16),
    ("relu on [16]", relu_step, 16),
    ("mean loss on [16]", mean_loss_step, 16),
    ("mean loss on [64]", mean_loss_step, 64),
]


def warmed(make, n):
    f = make(n)
    for _ in range(50):
        f()
    return f


def state(f):
    return f.get_concrete_function()._program.scalar_code


def timed(blocks, reps):
    print("medians of %d interleaved blocks of %d calls, us per call" % (blocks, reps))
    print("| program | scalar code | on | off | on/off |")
    print("|---|---|---:|---:|---:|")
    for name, make, n in CASES:
        f = warmed(make, n)
        times = {"on": [], "off": []}
        for _ in range(blocks):
            for mode in ("on", "off"):
                _core._set_scalar_code(mode == "on")
                t0 = time.perf_counter()
                for _ in range(reps):
                    f()
                times[mode].append((time.perf_counter() - t0) / reps * 1e6)
        _core._set_scalar_code(True)
        on, off = statistics.median(times["on"]), statistics.median(times["off"])
        print("| %s | %s | %.2f | %.2f | %.2f |" % (name, state(f), on, off, on / off))


def run_piece(index, mode, n):
    name, make, size = CASES[int(index)]
    f = warmed(make, size)
    _core._set_scalar_code(mode == "on")
    for _ in range(n):
        f()


def callgrind():
    print("instructions per call (callgrind: 3,000 calls minus 1,000)")
    print("| program | on | off | on/off |")
    print("|---|---:|---:|---:|")
    for i, (name, _, _) in enumerate(CASES):
        on, off = [callgrind_count.per_call(__file__, (i, m), 3000, 1000) for m in ("on", "off")]
        print("| %s | %.0f | %.0f | %.2f |" % (name, on, off, on / off))


if __name__ == "__main__":
    callgrind_count.main(__doc__, 5000, run_piece, callgrind, timed)
