#!/usr/bin/env python
"""gt.linalg.eigh and gt.linalg.svd against NumPy's (LAPACK through its own OpenBLAS) and
PyTorch's, side by side in one process, on random float64 matrices of order 8 to 256, forward
only (the factorization; the gradient rules are matmuls either way).

    python bench/linalg.py            # 7 interleaved blocks per size
    python bench/linalg.py --quick    # 3 blocks, fewer sizes

Reported per op and size: the median time per call over blocks (gradtape's), and the ratios
peer time / gradtape time (> 1: gradtape is faster). From order 12 (eigh) and 16 (svd) on
gradtape calls LAPACK's divide-and-conquer routines (dsyevd, dgesdd; cpp/src/kernels/lapack.h);
below, its own Jacobi loops. Every library runs on one thread (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)):
LAPACK's threads collapse under the load of this shared machine and make the ratios noise.
"""
import argparse
import os
import statistics
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gradtape as gt  # noqa: E402
from _peers import import_torch, per_call  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    sizes = [16, 64, 256] if args.quick else [8, 11, 12, 16, 23, 24, 32, 64, 128, 256]
    blocks = 3 if args.quick else 7
    torch, _ = import_torch()
    if torch is not None:
        torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    print("%-5s %5s %12s %14s %14s" % ("op", "n", "gradtape", "numpy/gt", "torch/gt"))
    for op in ("eigh", "svd"):
        for n in sizes:
            a = rng.standard_normal((n, n))
            if op == "eigh":
                a = a + a.T
            ga = gt.constant(a)
            peers = {
                "gradtape": (lambda: gt.linalg.eigh(ga)) if op == "eigh" else (lambda: gt.linalg.svd(ga)),
                "numpy": (lambda: np.linalg.eigh(a)) if op == "eigh" else (lambda: np.linalg.svd(a)),
            }
            if torch is not None:
                ta = torch.from_numpy(a)
                peers["torch"] = (lambda: torch.linalg.eigh(ta)) if op == "eigh" else (lambda: torch.linalg.svd(ta))
            times = {k: [] for k in peers}
            for _ in range(blocks):  # interleaved, so drift of the machine's load hits all alike
                for k, fn in peers.items():
                    times[k].append(per_call(fn, 0.15))
            med = {k: statistics.median(v) for k, v in times.items()}
            ratio = lambda k: "%.2f" % (med[k] / med["gradtape"]) if k in med else "-"  # noqa: E731
            print("%-5s %5d %10.1f us %14s %14s" % (op, n, med["gradtape"] * 1e6, ratio("numpy"), ratio("torch")))


if __name__ == "__main__":
    main()
