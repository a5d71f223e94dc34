"""W5's training step saved with gt.saved_model and run from Python and from C++.

Builds W5 (bench/workloads.py: a 784-512-512-10 ReLU MLP, sparse softmax cross-entropy, SGD
step lr 0.01, batch 128; --quick: 784-128-128-10, batch 32) as a gt.Module whose train_step is
a gt.function with an input_signature, saves it with gt.saved_model.save to a directory (with
its input batch as X.bin and y.bin), then times, in one run on the same machine:

  - the traced step before saving (the gt.function: the `gradtape-function` row of run.py),
  - the step loaded with gt.saved_model.load, called from Python,
  - the same saved step loaded and called from C++ (bench_core --w5-saved DIR: gt::load_saved_model),

each a median over repetitions, in interleaved rounds, and prints the ratios. Usage:

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/saved_w5.py [--quick] [--reps N] [--rounds N] [--bench-core PATH]
"""
import argparse
import glob
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import workloads  # noqa: E402

import gradtape as gt  # noqa: E402


class W5(gt.Module):
    def __init__(self, params, batch, n_in):
        super().__init__()
        self.P = [gt.Variable(p) for p in params]
        self.train_step = gt.function(self._step, input_signature=[
            gt.TensorSpec([batch, n_in], gt.float32), gt.TensorSpec([batch], gt.int32)])

    def _step(self, X, y):
        return workloads.w5_gradtape_step(gt, self.P, X, y)


def median_ms(f, reps, warm=3):
    for _ in range(warm):
        f()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(t))


def find_bench_core():
    found = sorted(glob.glob(str(HERE.parent / "build" / "*" / "bench" / "bench_core")), key=os.path.getmtime)
    return found[-1] if found else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=None, help="timed calls per round (default 30; --quick 10)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dir", default=None, help="where to save the model (default: a temporary directory)")
    ap.add_argument("--bench-core", default=None, help="the bench_core binary (default: the newest under build/)")
    args = ap.parse_args()
    cfg = workloads.QUICK if args.quick else workloads.FULL
    reps = args.reps or (10 if args.quick else 30)
    X, y, params = workloads.w5_data(cfg)
    export = args.dir or tempfile.mkdtemp(prefix="gt_w5_saved_")

    model = W5([p.copy() for p in params], X.shape[0], X.shape[1])
    tX, ty = gt.constant(X), gt.constant(y)
    first = float(model.train_step(tX, ty))
    loss_ref, _ = workloads.w5_reference(X, y, params)
    if abs(first - loss_ref) > 1e-4 * abs(loss_ref):
        sys.exit("W5 first-step loss %r differs from the float64 reference %r" % (first, loss_ref))
    gt.saved_model.save(model, export)
    (pathlib.Path(export) / "X.bin").write_bytes(X.tobytes())
    (pathlib.Path(export) / "y.bin").write_bytes(y.tobytes())
    loaded = gt.saved_model.load(export)
    # the loaded step continues exactly where the saved one was
    a, b = float(model.train_step(tX, ty)), float(loaded.train_step(tX, ty))
    if a != b:
        sys.exit("the loaded step gives %r, the traced one %r" % (b, a))

    binary = args.bench_core or find_bench_core()
    import scipy_openblas32
    env = dict(os.environ, LD_LIBRARY_PATH=scipy_openblas32.get_lib_dir())

    def cpp_ms():
        r = subprocess.run([binary, "--w5-saved", export, "--reps", str(reps)], capture_output=True, text=True,
                           env=env, timeout=600)
        if r.returncode != 0:
            sys.exit("bench_core failed:\n" + r.stdout + r.stderr)
        return float(re.search(r"saved W5 step from C\+\+ +([0-9.]+) ms", r.stdout).group(1))

    print("W5 saved step: %s, batch %d, layers %s; %d rounds of %d reps, interleaved (medians)" % (
        "quick" if args.quick else "full", cfg["w5_batch"], cfg["w5_layers"], args.rounds, reps))
    rows = []
    for _ in range(args.rounds):  # (interleaved, so that a change of the machine's load hits all three)
        t_traced = median_ms(lambda: model.train_step(tX, ty), reps)
        t_loaded = median_ms(lambda: loaded.train_step(tX, ty), reps)
        t_cpp = cpp_ms() if binary else float("nan")
        rows.append((t_traced, t_loaded, t_cpp))
    t_traced, t_loaded, t_cpp = (float(np.median([r[i] for r in rows])) for i in range(3))
    print("  traced gt.function (Python)        %8.3f ms/step" % t_traced)
    print("  gt.saved_model.load, from Python   %8.3f ms/step" % t_loaded)
    if binary is None:
        print("  (no bench_core binary: build with -DGRADTAPE_BUILD_BENCH=ON for the C++ figure)")
        return
    print("  gt::load_saved_model, from C++     %8.3f ms/step" % t_cpp)
    print("RATIO W5 saved step C++/Python-loaded = %.2f; Python-loaded/traced = %.2f (medians of per-round ratios: "
          "%.2f, %.2f)" % (t_cpp / t_loaded, t_loaded / t_traced, float(np.median([r[2] / r[1] for r in rows])),
                           float(np.median([r[1] / r[0] for r in rows]))))

if __name__ == "__main__":
    main()
