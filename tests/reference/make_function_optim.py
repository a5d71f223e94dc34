"""Runs the cases of tests/reference/function_optim_cases.py under TensorFlow 2.21 (each a
tf.function training step called CALLS times) and prints the TF = {...} literal that file
holds:

    /work/tfenv/bin/python tests/reference/make_function_optim.py
"""
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from function_optim_cases import B0, CALLS, CASES, FLOAT64, W0, X, Y  # noqa: E402


def run(cls, kwargs, schedule, dtype):
    kwargs = dict(kwargs)
    if schedule is not None:
        kwargs["learning_rate"] = getattr(tf.keras.optimizers.schedules, schedule[0])(**schedule[1])
    opt = getattr(tf.keras.optimizers, cls)(**kwargs)
    w = tf.Variable(np.array(W0, dtype), name="w")
    b = tf.Variable(np.array(B0, dtype), name="b")
    x, y = tf.constant(np.array(X, dtype)), tf.constant(np.array(Y, dtype))
    traces = [0]

    @tf.function
    def step(x, y):
        traces[0] += 1
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum((w * x + b - y) ** 2)
        grads = tape.gradient(loss, [w, b])
        lr = opt.learning_rate
        opt.apply_gradients(zip(grads, [w, b]))
        return loss, lr

    rows = []
    for _ in range(CALLS):
        _, lr = step(x, y)
        rows.append((w.numpy().tolist(), float(b.numpy()), float(lr), int(opt.iterations.numpy())))
    return traces[0], rows


def main():
    print("TF = {")
    for name, (cls, kwargs, schedule) in CASES.items():
        for dtype in ("float32", "float64"):
            if dtype == "float64" and name not in FLOAT64:
                continue
            traces, rows = run(cls, kwargs, schedule, dtype)
            print("    %r: (%d, [" % (name + ("_f64" if dtype == "float64" else ""), traces))
            for row in rows:
                print("        (%r, %r, %r, %d)," % row)
            print("    ]),")
    print("}")


if __name__ == "__main__":
    main()
