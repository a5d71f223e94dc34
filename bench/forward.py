#!/usr/bin/env python
"""Forward mode, side by side in one process:

- hvp: the Hessian-vector product of W5's loss (the 784-512-512-10 ReLU MLP of
  bench/workloads.py, softmax cross-entropy, batch 128, float32) with respect to its six
  parameter tensors, along fixed random tangents: gradtape's gt.autodiff.hvp (forward over
  reverse) vs torch.func.jvp(torch.func.grad(f)) and JAX's jvp(grad(f)) under jax.jit; and
  gradtape's one gradient of the same loss, the cost the HVP is measured against (goal: HVP
  within 3x of one gradient).
- tall-jacobian: the Jacobian of y = tanh(W x), W 4096x64, with respect to x (64 inputs, 4096
  outputs), function evaluation included: gradtape's tape.jacobian (auto: forward mode here)
  and forced reverse mode vs torch.func.jacfwd and jax.jit(jax.jacfwd).

    python bench/forward.py            # 7 blocks of ~0.3 s per case
    python bench/forward.py --quick    # 3 short blocks

Each block runs every case once, in turn, for about --block-time seconds; reported: the median
over blocks of the time per call, min-max over blocks, and the ratio to gradtape (> 1: gradtape
is faster). Results are checked against each other before timing. Peers come from this
environment or the peers venv (bench/_peers.py); a missing one is skipped, with the reason.
"""
import argparse
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gradtape as gt  # noqa: E402
from _peers import import_peer, per_call  # noqa: E402

LAYERS = (784, 512, 512, 10)
BATCH = 128


def w5_problem():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((BATCH, LAYERS[0]), dtype=np.float32)
    y = rng.integers(0, LAYERS[-1], size=BATCH).astype(np.int32)
    params, tangents = [], []
    for a, b in zip(LAYERS[:-1], LAYERS[1:]):
        params += [(rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32),
                   (rng.standard_normal(b) * 0.01).astype(np.float32)]
    for p in params:
        tangents.append(rng.standard_normal(p.shape).astype(np.float32))
    return X, y, params, tangents


# ---- hvp ----

def hvp_gradtape(X, y, params, tangents):
    tX, ty = gt.constant(X), gt.constant(y)
    P = [gt.constant(p) for p in params]
    V = [gt.constant(v) for v in tangents]

    def loss(*P):
        h = tX
        for i in range(len(P) // 2):
            h = gt.matmul(h, P[2 * i]) + P[2 * i + 1]
            if i < len(P) // 2 - 1:
                h = gt.nn.relu(h)
        return gt.reduce_mean(gt.nn.sparse_softmax_cross_entropy_with_logits(labels=ty, logits=h))

    def hvp():
        return [t.numpy() for t in gt.autodiff.hvp(loss, P, V)]

    def grad():
        with gt.GradientTape() as tape:
            tape.watch(P)
            value = loss(*P)
        return [g.numpy() for g in tape.gradient(value, P)]
    return hvp, grad


def hvp_torch(torch, X, y, params, tangents):
    F = torch.nn.functional
    tX, ty = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    P = tuple(torch.from_numpy(p) for p in params)
    V = tuple(torch.from_numpy(v) for v in tangents)

    def loss(P):
        h = tX
        for i in range(len(P) // 2):
            h = torch.addmm(P[2 * i + 1], h, P[2 * i])
            if i < len(P) // 2 - 1:
                h = F.relu(h)
        return F.cross_entropy(h, ty)

    def hvp():
        _, out = torch.func.jvp(torch.func.grad(loss), (P,), (V,))
        return [t.numpy() for t in out]
    return hvp


def hvp_jax(jax, X, y, params, tangents):
    jnp = jax.numpy
    jX, jy = jnp.asarray(X), jnp.asarray(y)
    P = [jnp.asarray(p) for p in params]
    V = [jnp.asarray(v) for v in tangents]

    def loss(P):
        h = jX
        for i in range(len(P) // 2):
            h = h @ P[2 * i] + P[2 * i + 1]
            if i < len(P) // 2 - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(logp, jy[:, None], axis=1))

    f = jax.jit(lambda P, V: jax.jvp(jax.grad(loss), (P,), (V,))[1])

    def hvp():
        return [np.asarray(t) for t in f(P, V)]
    return hvp


# ---- tall Jacobian ----

def tall_problem():
    rng = np.random.default_rng(7)
    W = (rng.standard_normal((4096, 64)) / 8).astype(np.float32)
    x = rng.standard_normal(64).astype(np.float32)
    return W, x


def jac_gradtape(W, x, mode):
    tW, tx = gt.constant(W), gt.constant(x)

    def jac():
        with gt.GradientTape() as tape:
            tape.watch(tx)
            y = gt.tanh(gt.linalg.matvec(tW, tx))
        return tape.jacobian(y, tx, experimental_mode=mode).numpy()
    return jac


def jac_torch(torch, W, x):
    tW, tx = torch.from_numpy(W), torch.from_numpy(x)
    f = torch.func.jacfwd(lambda x: torch.tanh(tW @ x))

    def jac():
        return f(tx).numpy()
    return jac


def jac_jax(jax, W, x):
    jW, jx = jax.numpy.asarray(W), jax.numpy.asarray(x)
    f = jax.jit(jax.jacfwd(lambda x: jax.numpy.tanh(jW @ x)))

    def jac():
        return np.asarray(f(jx))
    return jac


# ---- timing ----

def run_blocks(cases, blocks, budget):
    times = {name: [] for name in cases}
    for _ in range(blocks):
        for name, fn in cases.items():
            times[name].append(per_call(fn, budget))
    return times


def close(a, b, what, rtol=2e-3):
    for u, v in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
        scale = max(np.abs(v).max(), 1e-6)
        err = np.abs(np.asarray(u, np.float64) - np.asarray(v, np.float64)).max() / scale
        if err > rtol:
            raise SystemExit("%s: results differ (relative error %.3g)" % (what, err))


def report(title, times, base):
    print("\n%s (median ms per call over %d blocks; ratio = peer / %s)" % (title, len(times[base]), base))
    ref = statistics.median(times[base])
    for name, ts in times.items():
        med = statistics.median(ts)
        print("  %-24s %9.3f ms  [%.3f-%.3f]  ratio %.2f" % (name, med * 1e3, min(ts) * 1e3, max(ts) * 1e3, med / ref))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blocks", type=int, default=7)
    ap.add_argument("--block-time", type=float, default=0.3)
    ap.add_argument("--quick", action="store_true", help="3 blocks of 0.1 s")
    ap.add_argument("--only", choices=["hvp", "tall-jacobian"], default=None)
    args = ap.parse_args()
    if args.quick:
        args.blocks, args.block_time = 3, 0.1
    torch, why_torch = import_peer("torch")
    jax, why_jax = import_peer("jax")
    if jax is not None:
        jax.config.update("jax_platforms", "cpu")
    print("gradtape %s; torch %s; jax %s" % (gt.__version__ if hasattr(gt, "__version__") else "?",
                                             torch.__version__ if torch else "skipped: " + why_torch,
                                             jax.__version__ if jax else "skipped: " + why_jax))
    if args.only in (None, "hvp"):
        X, y, params, tangents = w5_problem()
        hvp, grad = hvp_gradtape(X, y, params, tangents)
        cases = {"gradtape hvp": hvp, "gradtape one gradient": grad}
        if torch:
            cases["torch.func jvp(grad)"] = hvp_torch(torch, X, y, params, tangents)
        if jax:
            cases["jax.jit(jvp(grad))"] = hvp_jax(jax, X, y, params, tangents)
        want = hvp()
        for name, fn in cases.items():
            if "hvp" in name.split()[-1] or "jvp" in name:
                close(fn(), want, name)
        report("HVP of W5's loss w.r.t. its 669,706 parameters", run_blocks(cases, args.blocks, args.block_time),
               "gradtape hvp")
    if args.only in (None, "tall-jacobian"):
        W, x = tall_problem()
        cases = {"gradtape jacobian (auto)": jac_gradtape(W, x, "auto"),
                 "gradtape reverse mode": jac_gradtape(W, x, "reverse")}
        if torch:
            cases["torch.func.jacfwd"] = jac_torch(torch, W, x)
        if jax:
            cases["jax.jit(jax.jacfwd)"] = jac_jax(jax, W, x)
        want = cases["gradtape reverse mode"]()
        for name, fn in cases.items():
            close(fn(), want, name)
        report("Jacobian of tanh(W x), W 4096x64", run_blocks(cases, args.blocks, args.block_time),
               "gradtape jacobian (auto)")


if __name__ == "__main__":
    main()
