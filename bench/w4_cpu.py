"""W4 on one thread, as CPU time per iteration: the A/B figure that a shared, busy machine
disturbs least (process_time does not count the time the process waits preempted; wall-clock
figures from bench/run.py swing by 2x there). Prints the median of 9 blocks in ms.

    GRADTAPE_NUM_THREADS=1 python bench/w4_cpu.py [--n 4194304] [--function]

The step is bench/workloads.py's gradtape W4: loss = sum(softplus(x*w + b)), gradients wrt x,
w and b, read back to NumPy; with --function, its gradtape-function row's step (the same, traced
by gt.function and replayed: one batch pass). bench/ab.py --script bench/w4_cpu.py alternates
two builds (arguments after -- reach this script).
"""
import argparse
import time

import numpy as np

import gradtape as gt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1 << 22)
    ap.add_argument("--function", action="store_true", help="the traced step (gt.function)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = gt.Variable(rng.standard_normal(args.n).astype(np.float32))
    w = gt.Variable(rng.standard_normal(args.n).astype(np.float32))
    b = gt.Variable(np.float32(0.1))

    def eager_step():
        with gt.GradientTape() as tape:
            loss = gt.reduce_sum(gt.nn.softplus(x * w + b))
        grads = tape.gradient(loss, [x, w, b])
        return float(loss), [g.numpy() for g in grads]

    @gt.function
    def loss_and_grads():
        with gt.GradientTape() as tape:
            loss = gt.reduce_sum(gt.nn.softplus(x * w + b))
        return (loss,) + tuple(tape.gradient(loss, [x, w, b]))

    def function_step():
        loss, *grads = loss_and_grads()
        return float(loss), [g.numpy() for g in grads]

    step = function_step if args.function else eager_step

    for _ in range(5):
        step()
    blocks = []
    for _ in range(9):
        t0, k = time.process_time(), 0
        while time.process_time() - t0 < 0.25:
            step()
            k += 1
        blocks.append((time.process_time() - t0) / k)
    print("%.3f" % (sorted(blocks)[4] * 1e3))


if __name__ == "__main__":
    main()
