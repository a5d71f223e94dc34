"""A basic training loop with gradtape, in the style of TensorFlow's "basic training loops"
guide: fit y = W x + b to noisy data from a known line, with a Module, a loss, a
GradientTape and variable.assign_sub, then save and restore the model with a checkpoint.

    python examples/train_linear.py            # 10 epochs on 1,000 points
    python examples/train_linear.py --quick    # 3 epochs on 200 points (CI)
"""
import argparse
import os
import tempfile

import numpy as np

import gradtape as tf  # the only line that differs from a TensorFlow program

TRUE_W, TRUE_B = 3.0, 2.0


class MyModel(tf.Module):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # fixed starting values (the guide's are 5.0 and 0.0)
        self.w = tf.Variable(5.0)
        self.b = tf.Variable(0.0)

    def __call__(self, x):
        return self.w * x + self.b


def loss(target_y, predicted_y):
    return tf.reduce_mean(tf.square(target_y - predicted_y))


def train(model, x, y, learning_rate):
    with tf.GradientTape() as t:
        current_loss = loss(y, model(x))
    dw, db = t.gradient(current_loss, [model.w, model.b])
    model.w.assign_sub(learning_rate * dw)
    model.b.assign_sub(learning_rate * db)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n, epochs = (200, 3) if args.quick else (1000, 10)

    rng = np.random.default_rng(0)  # seeded: every run prints the same numbers
    x = tf.constant(rng.standard_normal(n).astype(np.float32))
    noise = tf.constant(rng.standard_normal(n).astype(np.float32))
    y = x * TRUE_W + TRUE_B + noise

    model = MyModel()
    print("Variables:", [v.name for v in model.variables])
    print("Starting: W=%1.2f b=%1.2f, loss=%2.5f" % (float(model.w), float(model.b), float(loss(y, model(x)))))
    for epoch in range(epochs):
        train(model, x, y, learning_rate=0.1)
        current_loss = loss(y, model(x))
        print("Epoch %2d: W=%1.2f b=%1.2f, loss=%2.5f" % (epoch, float(model.w), float(model.b), float(current_loss)))

    # the same steps through gt.data mini-batches, then a checkpoint round trip
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(n, seed=1).batch(100)
    for bx, by in ds:
        train(model, bx, by, learning_rate=0.1)
    print("After one mini-batch epoch: W=%1.2f b=%1.2f" % (float(model.w), float(model.b)))
    with tempfile.TemporaryDirectory() as d:
        path = tf.train.Checkpoint(model=model).save(os.path.join(d, "ckpt"))
        restored = MyModel()
        tf.train.Checkpoint(model=restored).restore(path).assert_consumed()
        print("Restored from %s: W=%1.2f b=%1.2f" % (os.path.basename(path), float(restored.w), float(restored.b)))


if __name__ == "__main__":
    main()
