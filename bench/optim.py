#!/usr/bin/env python
"""One Adam step over W5's parameters (the 784-512-512-10 MLP of bench/workloads.py: 669,706
float32 values in six tensors): gradtape's gt.optimizers.Adam (one fused C++ pass per
parameter) vs PyTorch's torch.optim.Adam(foreach=True) and (fused=True), side by side in one
process, plus a NumPy reference loop that does the same arithmetic with whole-array ops.

    python bench/optim.py            # 9 blocks of ~0.3 s per library
    python bench/optim.py --quick    # 3 short blocks

Reported: the median over blocks of the time per step, min-max over blocks, and the ratio
peer / gradtape (> 1: gradtape is faster). Both libraries run with their default threads (2
here). Gradients are fixed tensors, so only the update is timed.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gradtape as gt  # noqa: E402
from _peers import import_torch  # noqa: E402

LAYERS = (784, 512, 512, 10)


def shapes():
    out = []
    for a, b in zip(LAYERS[:-1], LAYERS[1:]):
        out += [(a, b), (b,)]
    return out


def make_gradtape(params, grads):
    vs = [gt.Variable(p) for p in params]
    gs = [gt.constant(g) for g in grads]
    opt = gt.optimizers.Adam(learning_rate=1e-3)
    pairs = list(zip(gs, vs))

    def step():
        opt.apply_gradients(pairs)
    return step, lambda: [v.numpy() for v in vs]


def make_torch(torch, params, grads, **flags):
    ps = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
    for p, g in zip(ps, grads):
        p.grad = torch.from_numpy(g.copy())
    # PyTorch adds eps to sqrt(v / (1 - beta_2^t)), Keras to sqrt(v): this eps makes step 1
    # the same update (the cost of a step does not depend on it)
    opt = torch.optim.Adam(ps, lr=1e-3, eps=1e-7 / np.sqrt(1 - 0.999), **flags)

    def step():
        opt.step()
    return step, lambda: [p.detach().numpy() for p in ps]


def make_numpy(params, grads):
    ps = [p.copy() for p in params]
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    t = [0]

    def step():
        t[0] += 1
        alpha = np.float32(1e-3 * np.sqrt(1 - 0.999 ** t[0]) / (1 - 0.9 ** t[0]))
        for p, g, m, v in zip(ps, grads, ms, vs):
            m += (g - m) * np.float32(0.1)
            v += (g * g - v) * np.float32(0.001)
            p -= m * alpha / (np.sqrt(v) + np.float32(1e-7))
    return step, lambda: ps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--blocks", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None, help="limit gradtape's pool and torch to N threads")
    args = ap.parse_args()
    blocks = args.blocks or (3 if args.quick else 9)
    block_time = 0.05 if args.quick else 0.3
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(s).astype(np.float32) * 0.05 for s in shapes()]
    grads = [rng.standard_normal(s).astype(np.float32) * 0.01 for s in shapes()]
    torch, why = import_torch()
    if args.threads:
        gt.config.set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    cases = {"gradtape Adam": make_gradtape(params, grads), "numpy (whole-array ops)": make_numpy(params, grads)}
    if torch is not None:
        cases["torch foreach=True"] = make_torch(torch, params, grads, foreach=True)
        cases["torch fused=True"] = make_torch(torch, params, grads, fused=True)
    n = sum(p.size for p in params)
    print("Adam step over W5's %d parameters (%d tensors); gradtape %d threads, torch %s" % (
        n, len(params), gt.config.get_num_threads(),
        "%s, %d threads" % (torch.__version__, torch.get_num_threads()) if torch else "absent: " + why))
    # correctness first: one step each from the same start, compared with gradtape's
    ref = None
    for name, (step, read) in cases.items():
        step()
        vals = read()
        if ref is None:
            ref = [np.array(v) for v in vals]
        else:
            for a, b in zip(vals, ref):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7, err_msg=name)
    reps = {}
    for name, (step, _) in cases.items():
        t = time.perf_counter()
        k = 0
        while time.perf_counter() - t < block_time / 3:
            step()
            k += 1
        reps[name] = max(3, int(k * 3))
    times = {k: [] for k in cases}
    for _ in range(blocks):
        for name, (step, _) in cases.items():
            t = time.perf_counter()
            for _ in range(reps[name]):
                step()
            times[name].append((time.perf_counter() - t) / reps[name] * 1e3)
    med = {k: statistics.median(v) for k, v in times.items()}
    g = med["gradtape Adam"]
    print("\nms/step, median of %d blocks (min-max); ratio = peer / gradtape (> 1: gradtape faster)" % blocks)
    for name, v in times.items():
        ratio = "" if name == "gradtape Adam" else "   ratio %.2fx" % (med[name] / g)
        print("  %-26s %7.3f  (%.3f-%.3f)%s" % (name, med[name], min(v), max(v), ratio))
    return 0


if __name__ == "__main__":
    sys.exit(main())
