"""What the engine's three switches cost or save, measured as ratios in one process.

  python bench/structural_cost.py [--quick] [--only zeros,fusion,plans,batches,scalar]

1. Structural zeros (docs/structural-zeros.md): workloads with no `where`, slice or gather
   (W4's big elementwise chain, W3's scalar chain) run with structural zeros on (the default)
   and off (plain IEEE), interleaved block by block; the ratio on/off should be 1.00 within
   noise. A `where`-heavy workload shows what masks cost when they are in play.
2. Elementwise fusion (docs/design.md, deferred elementwise ops): W4 and the `where` workload
   with fusion on (the default) and off (every op computed at once); on/off < 1 is the saving.
3. Gradient plans (docs/guides/function.md, "Gradients without a tape"): the gradtape-function
   rows of W1, W3, W4 and W5 (bench/workloads.py, at run.py's sizes) with plans on (the
   default: no tape at each replay) and off (each replay makes its tape); on/off < 1 is the
   saving.
4. Fusion batches (docs/design.md, "Batches"): W4 eager and gradtape-function (run.py's rows
   and sizes) with batches on (the default: a sweep's and a run's deferred results computed
   together, in one pass) and off (each computed when read); on/off < 1 is the saving.
5. Scalar code (docs/guides/function.md, "Programs of scalars"): the gradtape-function rows of
   W1, W2 and W3 (run.py's sizes) with scalar code on (the default) and off (a planned replay
   for W1 and W3, a taped one for W2's nested tapes); on/off < 1 is the saving.
"""
import argparse
import statistics
import time

import numpy as np

import gradtape as gt


def w4(n):
    rng = np.random.default_rng(0)
    x = gt.Variable(rng.standard_normal(n).astype(np.float32))
    w = gt.Variable(rng.standard_normal(n).astype(np.float32))
    b = gt.Variable(0.1)

    def step():
        with gt.GradientTape() as tape:
            loss = gt.reduce_sum(gt.nn.softplus(x * w + b))
        gx, gw, gb = tape.gradient(loss, [x, w, b])
        return gx.numpy(), gw.numpy(), float(gb)
    return step


def w3():
    x = gt.Variable(0.5)

    def step():
        with gt.GradientTape() as tape:
            y = x
            for _ in range(333):
                y = gt.sin(y) * 1.0001 + 0.001
        return float(tape.gradient(y, x))
    return step


def where_chain(n):
    x = gt.Variable(np.linspace(-50, 50, n).astype(np.float32))

    def step():
        with gt.GradientTape() as tape:
            y = gt.reduce_sum(gt.where(x > 30.0, x, gt.math.log(gt.exp(x) + 1.0)))
        return tape.gradient(y, x).numpy()
    return step


def time_block(step, reps):
    start = time.perf_counter()
    for _ in range(reps):
        step()
    return (time.perf_counter() - start) / reps


def compare(name, step, reps, blocks, switch=gt.config.set_structural_zeros):
    on, off = [], []
    for _ in range(2):
        step()
    for _ in range(blocks):
        switch(True)
        on.append(time_block(step, reps))
        switch(False)
        off.append(time_block(step, reps))
    switch(True)
    m_on, m_off = statistics.median(on), statistics.median(off)
    scale, unit = (1e6, "us") if m_on < 1e-3 else (1e3, "ms")
    print("%-34s on %9.3f %s   off %9.3f %s   on/off %.3f  (min-max on/off %.3f-%.3f)"
          % (name, m_on * scale, unit, m_off * scale, unit, m_on / m_off, min(on) / max(off), max(on) / min(off)))
    return m_on / m_off


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="zeros,fusion,plans,batches,scalar")
    args = p.parse_args()
    only = set(args.only.split(","))
    blocks = 3 if args.quick else 9
    n = 1 << 18 if args.quick else 1 << 22
    if "zeros" in only:
        print("structural zeros on vs off, medians of %d interleaved blocks" % blocks)
        compare("W4 big elementwise (n=%d)" % n, w4(n), 2 if args.quick else 5, blocks)
        compare("W3 deep scalar chain (999 ops)", w3(), 3 if args.quick else 20, blocks)
        compare("where-softplus (masks in play)", where_chain(n), 2 if args.quick else 5, blocks)
    if "fusion" in only:
        print("elementwise fusion on vs off, medians of %d interleaved blocks" % blocks)
        compare("W4 big elementwise (n=%d)" % n, w4(n), 2 if args.quick else 5, blocks, gt.config.set_fusion)
        compare("where-softplus (masks in play)", where_chain(n), 2 if args.quick else 5, blocks,
                gt.config.set_fusion)
    if "plans" in only:
        print("gradient plans on vs off (gt.function replays), medians of %d interleaved blocks" % blocks)
        import workloads as wl
        plans = gt._core._set_gradient_plans
        for name, make, reps in (("W1 seed scalar", wl.w1_gradtape_function, (200, 2000)),
                                 ("W3 deep scalar chain", wl.w3_gradtape_function, (3, 20)),
                                 ("W4 big elementwise", wl.w4_gradtape_function, (2, 5)),
                                 ("W5 MLP step", wl.w5_gradtape_function, (3, 20))):
            step = make(wl.QUICK if args.quick else wl.FULL).step  # (run.py's sizes)
            compare(name + " (function)", step, reps[0 if args.quick else 1], blocks, plans)
    if "batches" in only:
        print("fusion batches on vs off, medians of %d interleaved blocks" % blocks)
        import workloads as wl
        for name, make in (("W4 big elementwise (eager)", wl.w4_gradtape),
                           ("W4 big elementwise (function)", wl.w4_gradtape_function)):
            step = make(wl.QUICK if args.quick else wl.FULL).step
            compare(name, step, 2 if args.quick else 5, blocks, gt._core._set_fusion_batches)
    if "scalar" in only:
        print("scalar code on vs off (gt.function replays), medians of %d interleaved blocks" % blocks)
        import workloads as wl
        for name, make, reps in (("W1 seed scalar", wl.w1_gradtape_function, (200, 2000)),
                                 ("W2 seed hessian", wl.w2_gradtape_function, (100, 1000)),
                                 ("W3 deep scalar chain", wl.w3_gradtape_function, (3, 20))):
            step = make(wl.QUICK if args.quick else wl.FULL).step
            compare(name + " (function)", step, reps[0 if args.quick else 1], blocks, gt._core._set_scalar_code)


if __name__ == "__main__":
    main()
