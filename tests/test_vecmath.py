"""The vector math of a portable build (docs/building.md, "Vector math and glibc"): log1p,
expm1 and tanh on big tensors (the vectorised loops, libmvec's glibc 2.35 variants when the
running glibc has them, else the core's own, cpp/src/kernels/vecmath.cpp), within a few ulp of
a float64/mpmath reference, and the edge values exact. The own variants run in a subprocess with
GRADTAPE_NO_LIBMVEC_2_35=1, so both paths are checked on any machine."""
import os
import subprocess
import sys
import textwrap

import pytest

import gradtape as gt

CHECK = textwrap.dedent(r"""
    import numpy as np, mpmath, gradtape as gt
    mpmath.mp.dps = 40
    rng = np.random.default_rng(0)
    def ulps(got, exact, dtype):
        spacing = np.spacing(np.abs(exact).astype(dtype)).astype(np.float64)
        return np.abs(got.astype(np.float64) - exact) / spacing
    n = 1 << 18
    x32 = np.concatenate([rng.uniform(-1, 1, n), rng.uniform(-30, 30, n), rng.uniform(0.5, 0.6, n),
                          10.0 ** rng.uniform(-30, 3, n) * rng.choice([-1, 1], n)]).astype(np.float32)
    worst = {}
    for name, f, ref, domain in (("log1p", gt.math.log1p, np.log1p, lambda v: v > -1),
                                 ("expm1", gt.math.expm1, np.expm1, lambda v: v < 88),
                                 ("tanh", gt.math.tanh, np.tanh, lambda v: v == v),
                                 ("softplus", gt.nn.softplus, lambda v: np.logaddexp(0, v), lambda v: v == v)):
        x = x32[domain(x32)]
        worst[name + " float32"] = float(ulps(f(gt.constant(x)).numpy(), ref(x.astype(np.float64)), np.float32).max())
        x = rng.uniform(-0.99 if name == "log1p" else -3, 3, n)
        got = f(gt.constant(x)).numpy()
        mref = {"log1p": mpmath.log1p, "expm1": mpmath.expm1, "tanh": mpmath.tanh,
                "softplus": lambda v: mpmath.log(1 + mpmath.exp(v))}[name]
        idx = rng.choice(n, 300, replace=False)
        exact = np.array([float(mref(mpmath.mpf(float(x[i])))) for i in idx])
        worst[name + " float64"] = float(ulps(got[idx], exact, np.float64).max())
    edges = np.tile(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 100.0, -100.0], np.float32), 8192)
    edge = {name: f(gt.constant(edges)).numpy()[:9].tolist() for name, f in
            (("log1p", gt.math.log1p), ("expm1", gt.math.expm1), ("tanh", gt.math.tanh))}
    signs = {name: np.signbit(f(gt.constant(edges)).numpy()[:2]).tolist() for name, f in
             (("log1p", gt.math.log1p), ("expm1", gt.math.expm1), ("tanh", gt.math.tanh))}
    print(repr((gt._core._kernel_build_info(), worst, edge, signs)))
""")


def run_check(own):
    env = dict(os.environ)
    if own:
        env["GRADTAPE_NO_LIBMVEC_2_35"] = "1"
    else:
        env.pop("GRADTAPE_NO_LIBMVEC_2_35", None)
    out = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return eval(out.stdout.strip().splitlines()[-1], {"nan": float("nan"), "inf": float("inf")})


@pytest.mark.parametrize("own", [False, True], ids=["default", "own-variants"])
def test_vector_log1p_expm1_tanh_within_a_few_ulp(own):
    info, worst, edge, signs = run_check(own)
    if own and "own vector" not in info:
        pytest.skip("this build has no own vector variants (%s)" % info)
    for case, err in worst.items():
        assert err <= 8, "%s: %.2f ulp (%s)" % (case, err, info)
    inf, nan = float("inf"), float("nan")
    want = {"log1p": [0.0, -0.0, inf, nan, nan, 1e-30, -1e-30, 4.6151205, nan],
            "expm1": [0.0, -0.0, inf, -1.0, nan, 1e-30, -1e-30, inf, -1.0],
            "tanh": [0.0, -0.0, 1.0, -1.0, nan, 1e-30, -1e-30, 1.0, -1.0]}
    for name, values in want.items():
        for got, w in zip(edge[name], values):
            assert (got != got and w != w) or got == pytest.approx(w, rel=1e-6), (name, edge[name], info)
        assert signs[name] == [False, True], (name, "the sign of zero", info)


def test_kernel_isa_is_reported():
    isa = gt._core._kernel_isa()
    assert isa in ("x86-64-v4", "x86-64-v3", "x86-64-v2", "native", "aarch64", "generic")
    assert gt._core._kernel_build_info()
