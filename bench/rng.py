#!/usr/bin/env python
"""(Named rng.py, not random.py: a random.py in bench/ would shadow the standard library's
`random` for every script run from this folder.)

Normals per second: gradtape's gt.random vs NumPy's Generator (PCG64 and Philox bit
generators, ziggurat) and PyTorch's torch.randn, side by side in one process.

    python bench/rng.py                 # 1M and 16M float32 normals, 1M float64, 7 blocks
    python bench/rng.py --quick         # smaller, 3 blocks

Each block times every library in turn (so slow drifts of a shared machine hit all alike); we
report the median over blocks of millions of normals per second and the ratio
gradtape / peer (> 1: gradtape is faster). Threads: each library's default (gradtape's pool and
torch's intra-op pool: 2 here; NumPy's Generator is single-threaded).
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


def timed(fn, reps):
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--blocks", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None, help="limit gradtape's pool and torch to N threads")
    args = ap.parse_args()
    blocks = args.blocks or (3 if args.quick else 7)
    sizes = [(1 << 18, "float32")] if args.quick else [(1 << 20, "float32"), (1 << 24, "float32"),
                                                        (1 << 20, "float64")]
    torch, why = import_torch()
    if args.threads:
        gt.config.set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    pcg = np.random.Generator(np.random.PCG64(0))
    philox = np.random.Generator(np.random.Philox(0))
    print("gradtape %s (%d threads), numpy %s, torch %s" % (
        "dev", gt.config.get_num_threads(), np.__version__,
        "%s (%d threads)" % (torch.__version__, torch.get_num_threads()) if torch else "absent: " + why))
    for n, dtype in sizes:
        gdt = gt.as_dtype(dtype)
        cases = {
            "gradtape": lambda: gt.random.normal([n], dtype=gdt),
            "numpy PCG64": lambda: pcg.standard_normal(n, dtype=dtype),
            "numpy Philox": lambda: philox.standard_normal(n, dtype=dtype),
        }
        if torch is not None:
            tdt = getattr(torch, dtype)
            cases["torch.randn"] = lambda: torch.randn(n, dtype=tdt)
        reps = max(1, int(2e7 // n))
        rates = {k: [] for k in cases}
        for _ in range(blocks):
            for k, fn in cases.items():
                rates[k].append(n / timed(fn, reps) / 1e6)
        med = {k: statistics.median(v) for k, v in rates.items()}
        print("\n%d %s normals: Mnormals/s (median of %d blocks; min-max)" % (n, dtype, blocks))
        for k, v in rates.items():
            ratio = "" if k == "gradtape" else "   gradtape/peer = %.2fx" % (med["gradtape"] / med[k])
            print("  %-14s %8.1f  (%.1f-%.1f)%s" % (k, med[k], min(v), max(v), ratio))
    return 0


if __name__ == "__main__":
    sys.exit(main())
