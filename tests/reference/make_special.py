"""Records TensorFlow's erfcinv, ndtri, bessel_i0/i0e/i1/i1e, cumulative_logsumexp, zeta and
betainc on ordinary and extreme inputs (their domain's ends, tiny and huge values, infinities, NaN), in
float32 and float64, with the gradient of each, into tests/reference/tf_special.json for
tests/test_special.py.

Run it with a Python that has TensorFlow (not a dependency of gradtape; CI only reads the JSON):

    /work/tfenv/bin/python tests/reference/make_special.py
"""
import datetime
import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent / "tf_special.json"
INF, NAN = float("inf"), float("nan")
POINTS = {
    "erfcinv": [1e-300, 1e-40, 1e-20, 1e-8, 0.01, 0.3, 0.5, 1.0, 1.3, 1.7, 1.99, 2.0 - 1e-12, 0.0, 2.0,
                -0.5, 2.5, INF, NAN],
    "ndtri": [1e-300, 1e-40, 1e-20, 1e-8, 0.001, 0.1, 0.5, 0.7, 0.975, 0.999999, 1.0 - 1e-12, 0.0, 1.0,
              -0.5, 1.5, INF, -INF, NAN],
    "bessel_i0": [0.0, 1e-20, 0.5, -0.5, 1.0, 3.0, 10.0, 19.9, 20.1, 50.0, -50.0, 85.0, 95.0, 700.0, 720.0,
                  INF, -INF, NAN],
}
POINTS["bessel_i0e"] = POINTS["bessel_i1"] = POINTS["bessel_i1e"] = POINTS["bessel_i0"]
ZETA_X = [1.0, 1.5, 2.0, 3.0, 4.0, 0.5, -1.0, 30.0, 200.0, INF, NAN]
ZETA_Q = [1.0, 0.5, 2.0, 10.0, 1e3, 1e-3, 0.0, -1.0, -2.0, -1.5, -2.5, INF, NAN]
BETA_A = [0.5, 1.0, 2.0, 10.0, 300.0, 0.0, -1.0, INF, NAN]
BETA_B = [0.5, 3.0, 0.0, 50.0]
BETA_X = [0.0, 1e-10, 0.3, 0.5, 0.99, 1.0, -0.1, 1.1, NAN]
SCANS = [[0.0, 1.0, 2.0, 3.0], [-1000.0, 0.0, 1000.0, -5.0], [1e-30, -1e30, 5.0, 5.0],
         [-INF, 0.0, 1.0, 2.0], [0.0, INF, 1.0, 2.0], [0.0, NAN, 1.0, 2.0], [-INF, -INF, -INF, 1.0]]


def encode(values):
    return [v if np.isfinite(v) else str(v) for v in np.asarray(values, np.float64).ravel().tolist()]


def main():
    cases = {}
    for dtype in ("float32", "float64"):
        dt = getattr(tf, dtype)
        for name, points in POINTS.items():
            fn = getattr(tf.math, name)
            x = tf.Variable(np.array(points), dtype=dt)
            with tf.GradientTape() as tape:
                y = fn(x)
            g = tape.gradient(y, x)
            cases["%s/%s" % (name, dtype)] = {"x": encode(points), "value": encode(y.numpy()),
                                              "grad": encode(g.numpy())}
        x, q = (tf.Variable(v, dtype=dt) for v in np.meshgrid(ZETA_X, ZETA_Q, indexing="ij"))
        with tf.GradientTape() as tape:
            y = tf.math.zeta(x, q)
        cases["zeta/%s" % dtype] = {"value": encode(y.numpy()), "grad_q": encode(tape.gradient(y, q).numpy())}
        a, b, x = (tf.Variable(v, dtype=dt) for v in np.meshgrid(BETA_A, BETA_B, BETA_X, indexing="ij"))
        with tf.GradientTape() as tape:
            y = tf.math.betainc(a, b, x)
        cases["betainc/%s" % dtype] = {"value": encode(y.numpy()), "grad_x": encode(tape.gradient(y, x).numpy())}
        for exclusive in (False, True):
            for reverse in (False, True):
                x = tf.Variable(np.array(SCANS), dtype=dt)
                w = tf.constant(np.linspace(0.5, 2.0, 4), dt)
                with tf.GradientTape() as tape:
                    y = tf.math.cumulative_logsumexp(x, axis=1, exclusive=exclusive, reverse=reverse)
                    s = tf.reduce_sum(tf.where(tf.math.is_finite(y), y, tf.zeros_like(y)) * w)
                g = tape.gradient(s, x)
                cases["cumulative_logsumexp/%s/%d%d" % (dtype, exclusive, reverse)] = {
                    "x": encode(np.array(SCANS)), "value": encode(y.numpy()), "grad": encode(g.numpy())}
    header = {
        "what": "tf.math special functions on POINTS (value and gradient of the sum), "
                "cumulative_logsumexp on SCANS along axis 1 (gradient of sum(where(finite(y), y, 0) * w)), "
                "zeta on the grid ZETA_X x ZETA_Q (gradient in q) and betainc on BETA_A x BETA_B x BETA_X "
                "(gradient in x)",
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "command": "/work/tfenv/bin/python tests/reference/make_special.py",
        "generated": datetime.date.today().isoformat(),
    }
    with open(OUT, "w") as f:
        grids = {"zeta": [ZETA_X, ZETA_Q], "betainc": [BETA_A, BETA_B, BETA_X]}
        json.dump({"header": header, "grids": {k: [encode(g) for g in v] for k, v in grids.items()}, "cases": cases},
                  f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
