"""Records TensorFlow's tf.math.polygamma on a grid of orders and points (ordinary values,
poles, orders that are not non-negative integers, huge orders, infinities and NaN), in float32
and float64, with its gradient in x, into tests/reference/tf_polygamma.json for
tests/test_polygamma.py.

Run it with a Python that has TensorFlow (not a dependency of gradtape; CI only reads the JSON):

    /work/tfenv/bin/python tests/reference/make_polygamma.py
"""
import datetime
import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent / "tf_polygamma.json"
ORDERS = [0.0, 1.0, 2.0, 3.0, 4.0, 7.0, 12.0, 30.0, 31.0, 40.0, 200.0, 2000.0,
          -1.0, 0.5, 1.5, float("nan"), float("inf"), float("-inf")]
POINTS = [0.5, 1.0, 2.0, 3.7, 25.0, 1e4, 1e-3, -0.5, -1.5, -2.5, -7.25, 0.0, -1.0, -3.0,
          float("inf"), float("-inf"), float("nan")]


def encode(values):
    return [v if np.isfinite(v) else str(v) for v in np.asarray(values, np.float64).ravel().tolist()]


def main():
    a, x = np.meshgrid(np.array(ORDERS), np.array(POINTS), indexing="ij")
    rows = {}
    for dtype in ("float32", "float64"):
        at = tf.constant(a, getattr(tf, dtype))
        xv = tf.Variable(x, dtype=getattr(tf, dtype))
        with tf.GradientTape() as tape:
            y = tf.math.polygamma(at, xv)
        g = tape.gradient(y, xv)
        rows[dtype] = {"value": encode(y.numpy()), "grad_x": encode(g.numpy())}
    header = {
        "what": "tf.math.polygamma(a, x) on the grid ORDERS x POINTS (a varies along axis 0), and d/dx",
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "command": "/work/tfenv/bin/python tests/reference/make_polygamma.py",
        "generated": datetime.date.today().isoformat(),
    }
    with open(OUT, "w") as f:
        json.dump({"header": header, "orders": encode(ORDERS), "points": encode(POINTS), "cases": rows}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
