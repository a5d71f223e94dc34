"""Runs an installed gradtape's hot kernels on big tensors and checks them against NumPy.

    python .ci/wheel_smoke.py [--quick] [EXPECTED_ISA]

Prints the instruction set the dispatched loops run with (gt kernels: x86-64-v4, -v3 or -v2)
and fails when it is not EXPECTED_ISA. .ci/check-wheel runs it natively and under emulated
CPUs (qemu-x86_64 -cpu Haswell / Nehalem): a kernel compiled for a newer CPU than the one
emulated dies with SIGILL, a wrong dispatch or vector math variant gives wrong values here.
--quick uses 262,144 elements instead of 1,048,576 (still above the fusion, threading and
blocked-reduction thresholds), for CI's emulated runs. Exits 0 when every check passes.
"""
import sys

import numpy as np

import gradtape as gt
from gradtape import _core

QUICK = "--quick" in sys.argv[1:]
ARGS = [a for a in sys.argv[1:] if a != "--quick"]
N = 1 << (18 if QUICK else 20)  # big enough for the deferred (fused), parallel and blocked-reduction paths
failures = []
checks = 0


def check(name, got, want, rtol, atol=0.0):
    global checks
    checks += 1
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
        err = np.nanmax(np.abs(got - want) / (np.abs(want) + atol + 1e-300)) if got.shape == want.shape else "shape"
        failures.append("%s: max relative error %s (rtol %g)" % (name, err, rtol))


def main():
    isa = getattr(_core, "_kernel_isa", lambda: "unknown (a build before kernels/isa.h)")()
    info = getattr(_core, "_kernel_build_info", lambda: "")()
    print("gradtape %s: kernels %s; %s" % (gt.__version__, isa, info))
    if ARGS and isa != ARGS[0]:
        print("FAIL: expected the %s kernels" % ARGS[0])
        return 1
    rng = np.random.default_rng(0)
    for dtype, rtol in ((np.float32, 2e-5), (np.float64, 1e-12)):
        name = np.dtype(dtype).name
        x = rng.uniform(-20, 20, N).astype(dtype)
        w = rng.uniform(-2, 2, N).astype(dtype)
        pos = np.abs(x) + dtype(0.25)
        xs, ws, ps = gt.constant(x), gt.constant(w), gt.constant(pos)
        x64 = x.astype(np.float64)
        unary = {
            "exp": (gt.math.exp, np.exp, xs, x64),
            "log": (gt.math.log, np.log, ps, pos.astype(np.float64)),
            "log1p": (gt.math.log1p, np.log1p, ps, pos.astype(np.float64)),
            "expm1": (gt.math.expm1, np.expm1, xs, x64),
            "tanh": (gt.math.tanh, np.tanh, xs, x64),
            "sigmoid": (gt.math.sigmoid, lambda v: 1 / (1 + np.exp(-v)), xs, x64),
            "softplus": (gt.nn.softplus, lambda v: np.logaddexp(0, v), xs, x64),
            "sin": (gt.math.sin, np.sin, xs, x64),
            "cos": (gt.math.cos, np.cos, xs, x64),
            "sqrt": (gt.math.sqrt, np.sqrt, ps, pos.astype(np.float64)),
        }
        for op, (f, ref, arg, arg64) in unary.items():
            check("%s %s" % (op, name), f(arg).numpy(), ref(arg64), rtol, atol=1e-30)
        check("pow %s" % name, gt.math.pow(ps, ws).numpy(), np.power(pos.astype(np.float64), w.astype(np.float64)), rtol)
        # A fused chain, its full reduction (never stored) and W4's gradients.
        b = gt.Variable(np.array(0.5, dtype))
        xv, wv = gt.Variable(x), gt.Variable(w)
        with gt.GradientTape() as tape:
            loss = gt.reduce_sum(gt.nn.softplus(xv * wv + b))
        dx, dw, db = tape.gradient(loss, [xv, wv, b])
        z = x64 * w.astype(np.float64) + 0.5
        s = 1 / (1 + np.exp(-z))
        check("W4 loss %s" % name, float(loss), np.logaddexp(0, z).sum(), 1e-4 if dtype == np.float32 else 1e-10)
        check("W4 dx %s" % name, dx.numpy(), s * w, rtol * 4, atol=1e-30)
        check("W4 dw %s" % name, dw.numpy(), s * x64, rtol * 4, atol=1e-30)
        check("W4 db %s" % name, float(db), s.sum(), 1e-4 if dtype == np.float32 else 1e-10)
        # Reductions: blocked full sums, a kept axis (vertical loop) and a reduced one.
        m = x.reshape(512, -1)
        check("reduce_sum %s" % name, float(gt.reduce_sum(xs)), x64.sum(), 1e-4 if dtype == np.float32 else 1e-10, atol=1.0)
        check("reduce_max %s" % name, float(gt.reduce_max(xs)), x64.max(), 0)
        check("reduce_sum axis 0 %s" % name, gt.reduce_sum(gt.constant(m), axis=0).numpy(),
              m.astype(np.float64).sum(axis=0), rtol * 100, atol=1e-3)
        check("reduce_mean axis 1 %s" % name, gt.reduce_mean(gt.constant(m), axis=1).numpy(),
              m.astype(np.float64).mean(axis=1), rtol * 100, atol=1e-4)
        check("where %s" % name, gt.where(xs > 0, xs, ws).numpy(), np.where(x > 0, x, w), 0)
        a = rng.standard_normal((256, 256)).astype(dtype)
        check("matmul %s" % name, gt.matmul(gt.constant(a), gt.constant(a)).numpy(),
              a.astype(np.float64) @ a.astype(np.float64), 1e-3 if dtype == np.float32 else 1e-10, atol=1e-3)
        r = gt.random.normal([N], seed=1, dtype=gt.float32 if dtype == np.float32 else gt.float64).numpy()
        check("random.normal mean/std %s" % name, [r.mean(), r.std()], [0.0, 1.0], 0, atol=0.01)
    if failures:
        print("FAIL (%d of %d checks):" % (len(failures), checks))
        for f in failures:
            print("  " + f)
        return 1
    print("wheel smoke: %d checks passed on %s" % (checks, isa))
    return 0


if __name__ == "__main__":
    sys.exit(main())
