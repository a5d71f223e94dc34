"""T9: do gradtape's big elementwise kernels use both cores, without the measured traps?

    python bench/threads.py            # ~20 s
    python bench/threads.py --quick    # ~3 s (what tests/test_bench.py runs)

1. Scaling: each kernel on 16 MiB float32 operands (4,194,304 elements), with gradtape's pool
   at 1 thread and at 2, interleaved block by block; the ratio of the medians (T9 wants >= 1.7).
   Fusion is off here so that each line is one kernel.
   Then exp at 64K, 256K and 1M elements (mid-size ops, where a worker's wake-up matters).
2. BLAS contention: a 512x512 matmul alternated with an exp over 16 MiB, against the sum of the
   two run apart; ~1.0 means OpenBLAS's threads and gradtape's pool do not fight.
3. Fork: a forked child runs a big kernel after the parent used the pool (must not hang).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

import gradtape as gt


def timed(fn, reps):
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    blocks, reps = (3, 3) if args.quick else (9, 20)
    n = 4194304
    rng = np.random.default_rng(0)
    x = gt.constant(rng.standard_normal(n, dtype=np.float32))
    y = gt.constant(rng.standard_normal(n, dtype=np.float32))
    fusion_was, threads_was = gt.config.fusion_enabled(), gt.config.get_num_threads()
    gt.config.set_fusion(False)
    kernels = {
        "x * y": lambda: x * y,
        "x + 1": lambda: x + 1.0,
        "exp(x)": lambda: gt.exp(x),
        "softplus(x)": lambda: gt.nn.softplus(x),
        "reduce_sum(x)": lambda: gt.reduce_sum(x),
    }
    times = {}
    try:
        for _ in range(blocks):
            for threads in (1, 2):
                gt.config.set_num_threads(threads)
                for name, fn in kernels.items():
                    times.setdefault((name, threads), []).append(timed(fn, reps))
    finally:
        gt.config.set_num_threads(threads_was)
    print("## T9 scaling: 16 MiB float32 operands, gradtape's pool at 1 and 2 threads (medians of %d blocks)"
          % blocks)
    print()
    print("| kernel | 1 thread (ms) | 2 threads (ms) | speedup |")
    print("|---|---|---|---|")
    speedups = {}
    for name in kernels:
        one, two = statistics.median(times[(name, 1)]), statistics.median(times[(name, 2)])
        speedups[name] = one / two
        print("| %s | %.3f | %.3f | %.2f |" % (name, one * 1e3, two * 1e3, one / two))
    elementwise = [v for k, v in speedups.items() if not k.startswith("reduce")]
    print()
    print("elementwise kernels: speedup %.2f-%.2f (T9 goal >= 1.7: %s)"
          % (min(elementwise), max(elementwise), "met" if min(elementwise) >= 1.7 else "NOT met"))

    # Mid-size ops, where waking a worker costs as much as the work (the pool's workers spin
    # briefly between jobs for this): exp at 64K-1M elements.
    mid = {}
    try:
        for _ in range(blocks):
            for threads in (1, 2):
                gt.config.set_num_threads(threads)
                for m in (65536, 262144, 1048576):
                    v = gt.constant(rng.standard_normal(m, dtype=np.float32))
                    mid.setdefault((m, threads), []).append(timed(lambda: gt.exp(v), reps * 10))
    finally:
        gt.config.set_num_threads(threads_was)
    print()
    print("| exp(x), elements | 1 thread (us) | 2 threads (us) | speedup |")
    print("|---|---|---|---|")
    for m in (65536, 262144, 1048576):
        one, two = statistics.median(mid[(m, 1)]), statistics.median(mid[(m, 2)])
        print("| %d | %.1f | %.1f | %.2f |" % (m, one * 1e6, two * 1e6, one / two))
    print()

    a = gt.constant(rng.standard_normal((512, 512), dtype=np.float32))
    mm = lambda: gt.matmul(a, a).numpy()
    ex = lambda: gt.exp(x).numpy()
    both = lambda: (mm(), ex())
    apart, together = [], []
    for _ in range(blocks):
        apart.append(timed(mm, reps) + timed(ex, reps))
        together.append(timed(both, reps))
    ratio = statistics.median(together) / statistics.median(apart)
    print("BLAS contention: matmul 512^2 alternated with exp over 16 MiB = %.2fx the sum of the two apart"
          % ratio)
    gt.config.set_fusion(fusion_was)

    if hasattr(os, "fork"):
        pid = os.fork()
        if pid == 0:
            ok = float(gt.reduce_sum(x * y)) == float(gt.reduce_sum(x * y))
            os._exit(0 if ok else 3)
        deadline = time.time() + 60
        while time.time() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print("fork: a child ran big kernels after the parent used the pool: exit %d"
                      % os.waitstatus_to_exitcode(status))
                return 0 if os.waitstatus_to_exitcode(status) == 0 else 1
            time.sleep(0.01)
        os.kill(pid, 9)
        print("fork: the child HUNG")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
