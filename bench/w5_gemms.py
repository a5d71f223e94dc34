"""The eight GEMMs of W5's training step (784-512-512-10 MLP, batch 128), with the shapes and
transposes gradtape calls (forward X @ W; backward dX = dY @ W^T, dW = X^T @ dY), timed in one
process for gradtape, torch and NumPy, on one thread and on two.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/w5_gemms.py [--rounds 5]

One thread: the median over rounds of the CPU time per call (time.process_time over a loop:
what a call costs, whatever other processes take from the machine). Two threads: the fastest
call (wall time) over all rounds, the figure closest to a quiet machine, and the median; for
gradtape both ways a product of this size can run: on gradtape's pool in pieces (the default,
cpp/src/kernels/matmul.h) and on OpenBLAS's own threads (GRADTAPE_GEMM_PIECES=1, read per
call). The libraries take turns, --calls calls each, --rounds times, each turn after a pause of
--settle s (as run.py's: NumPy's OpenBLAS and torch's OpenMP threads spin for a while after a
call and would hold the second core during the next library's turn).
"""
import argparse
import os
import time

import numpy as np

CASES = [  # name, M, N, K, transpose_a, transpose_b: C[M, N] = op(A) op(B)
    ("fwd  X@W1", 128, 512, 784, False, False),
    ("fwd  H1@W2", 128, 512, 512, False, False),
    ("fwd  H2@W3", 128, 10, 512, False, False),
    ("bwd  g3@W3^T", 128, 512, 10, False, True),
    ("bwd  H2^T@g3", 512, 10, 128, True, False),
    ("bwd  g2@W2^T", 128, 512, 512, False, True),
    ("bwd  H1^T@g2", 512, 512, 128, True, False),
    ("bwd  X^T@g1", 784, 512, 128, True, False),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=20, help="calls per library per round")
    ap.add_argument("--settle", type=float, default=0.15)
    args = ap.parse_args()
    import gradtape as gt
    import torch
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # NumPy keeps its default threads
        threadpool_limits = None
    rng = np.random.default_rng(0)
    print("torch %s (%s), NumPy %s; gradtape %s" % (
        torch.__version__, "MKL" if torch.backends.mkl.is_available() else "no MKL", np.__version__, gt.__file__))
    for threads in (1, 2):
        torch.set_num_threads(threads)
        gt.config.set_num_threads(threads)
        limit = threadpool_limits(limits=threads, user_api="blas") if threadpool_limits else None
        if threads == 1:
            print("\n1 thread: CPU time per call, median of %d rounds (us)" % args.rounds)
            print("%-14s %4s %4s %4s %2s | %9s %9s %9s | %8s" % ("GEMM", "M", "N", "K", "tt", "gradtape", "torch",
                                                                 "numpy", "gt/torch"))
        else:
            print("\n2 threads: fastest call / median call, wall time (us); gradtape on its pool (pieces) "
                  "and on OpenBLAS's threads")
            print("%-14s %4s %4s %4s %2s | %13s %13s %13s %13s | %8s" % ("GEMM", "M", "N", "K", "tt", "gt pieces",
                                                                          "gt OpenBLAS", "torch", "numpy",
                                                                          "gt/torch"))
        total = {}
        for name, M, N, K, ta, tb in CASES:
            a = rng.standard_normal((K, M) if ta else (M, K), dtype=np.float32)
            b = rng.standard_normal((N, K) if tb else (K, N), dtype=np.float32)
            ga, gb = gt.constant(a), gt.constant(b)
            xa, xb = torch.from_numpy(a), torch.from_numpy(b)
            xa, xb = (xa.t() if ta else xa), (xb.t() if tb else xb)
            na, nb = (a.T if ta else a), (b.T if tb else b)

            def gt_call():
                return gt.matmul(ga, gb, transpose_a=ta, transpose_b=tb)

            def gt_openblas():
                os.environ["GRADTAPE_GEMM_PIECES"] = "1"
                try:
                    return gt.matmul(ga, gb, transpose_a=ta, transpose_b=tb)
                finally:
                    del os.environ["GRADTAPE_GEMM_PIECES"]
            libs = {"gradtape": gt_call, "torch": lambda: torch.mm(xa, xb), "numpy": lambda: na @ nb}
            if threads == 2:
                libs = {"gt pieces": gt_call, "gt OpenBLAS": gt_openblas, "torch": libs["torch"], "numpy": libs["numpy"]}
            want = na.astype(np.float64) @ nb
            for f in libs.values():
                got = f()
                got = got.numpy() if hasattr(got, "numpy") else got
                np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3 * np.sqrt(K))
            cpu = {k: [] for k in libs}
            wall = {k: [] for k in libs}
            for _ in range(args.rounds):
                for k, f in libs.items():
                    time.sleep(args.settle)
                    c0 = time.process_time()
                    for _ in range(args.calls):
                        t = time.perf_counter()
                        f()
                        wall[k].append(time.perf_counter() - t)
                    cpu[k].append((time.process_time() - c0) / args.calls)
            med = lambda v: sorted(v)[len(v) // 2] * 1e6
            if threads == 1:
                fig = {k: med(cpu[k]) for k in libs}
                print("%-14s %4d %4d %4d %d%d | %9.1f %9.1f %9.1f | %8.2f" % (
                    name, M, N, K, ta, tb, fig["gradtape"], fig["torch"], fig["numpy"], fig["gradtape"] / fig["torch"]))
            else:
                fig = {k: min(wall[k]) * 1e6 for k in libs}
                print("%-14s %4d %4d %4d %d%d | %s | %8.2f" % (
                    name, M, N, K, ta, tb, " ".join("%6.0f/%6.0f" % (fig[k], med(wall[k])) for k in libs),
                    fig["gt pieces"] / fig["torch"]))
            for k in libs:
                total[k] = total.get(k, 0.0) + fig[k]
        print("%-14s %18s | %s | %8.2f" % ("sum", "", " ".join("%13.0f" % total[k] if threads == 2 else "%9.1f" % total[k]
                                                               for k in total),
                                          total["gradtape" if threads == 1 else "gt pieces"] / total["torch"]))
        if limit is not None:
            limit.restore_original_limits()


if __name__ == "__main__":
    main()
