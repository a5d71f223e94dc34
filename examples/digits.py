"""Classify handwritten digits: a small MLP written with gt.Module and gt.Variable, trained with
gt.optimizers.Adam on gt.data mini-batches, on scikit-learn's digits dataset (1,797 8x8
images that scikit-learn ships, so nothing is downloaded). A tqdm bar shows each epoch's
progress; at the end a matplotlib plot of the loss and the accuracies per epoch is written to
a PNG, and the test accuracy is printed.

    pip install 'gradtape[examples]'           # scikit-learn, tqdm, matplotlib
    python examples/digits.py                  # 30 epochs, plot in ./digits.png
    python examples/digits.py --quick          # 4 epochs (CI): test accuracy still > 0.9
    python examples/digits.py --plot /tmp/curves.png
"""
import argparse
import math
import sys

import numpy as np

import gradtape as gt

try:
    import matplotlib
    from sklearn.datasets import load_digits
    from tqdm import tqdm
except ImportError as e:  # the example-only dependencies are an extra, not gradtape's own
    sys.exit("digits.py needs the examples extra: pip install 'gradtape[examples]' (%s)" % e)

matplotlib.use("Agg")  # no screen needed: the plot goes to a file
import matplotlib.pyplot as plt  # noqa: E402


class Dense(gt.Module):
    """y = activation(x @ w + b), Glorot-uniform weights, zero bias."""

    def __init__(self, n_in, n_out, activation=None, name=None):
        super().__init__(name=name)
        limit = math.sqrt(6.0 / (n_in + n_out))
        self.w = gt.Variable(gt.random.uniform([n_in, n_out], -limit, limit), name="w")
        self.b = gt.Variable(gt.zeros([n_out]), name="b")
        self.activation = activation

    def __call__(self, x):
        y = gt.matmul(x, self.w) + self.b
        return self.activation(y) if self.activation else y


class MLP(gt.Module):
    def __init__(self, sizes, name=None):
        super().__init__(name=name)
        self.layers = [Dense(a, b, gt.nn.relu if i < len(sizes) - 2 else None, name="dense_%d" % i)
                       for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x  # logits


def loss_fn(logits, labels):
    return gt.reduce_mean(gt.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def accuracy(model, x, y):
    predicted = gt.argmax(model(x), axis=1, output_type=gt.int32)
    return float(gt.reduce_mean(gt.cast(gt.equal(predicted, y), gt.float32)))


def load(test_fraction, seed):
    """The digits as float32 in [0, 1] and int32 labels, split into train and test sets by
    a seeded permutation."""
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)  # pixel values are 0..16
    y = digits.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def plot(history, path):
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, history["loss"], marker="o")
    ax1.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="Loss")
    ax2.plot(epochs, history["train_acc"], marker="o", label="train")
    ax2.plot(epochs, history["test_acc"], marker="o", label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="Accuracy", ylim=(0, 1.02))
    ax2.legend(loc="lower right")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.suptitle("gradtape MLP on scikit-learn's digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few epochs (CI)")
    ap.add_argument("--epochs", type=int, help="default 30, or 4 with --quick")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--learning-rate", type=float, default=3e-3)
    ap.add_argument("--plot", default="digits.png", help="where to write the PNG (default ./digits.png)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    epochs = args.epochs or (4 if args.quick else 30)

    gt.random.set_seed(args.seed)  # the weights' initial values and the shuffles repeat run to run
    (x_train, y_train), (x_test, y_test) = load(test_fraction=0.25, seed=args.seed)
    print("train: %d images, test: %d images, %d pixels each" % (len(x_train), len(x_test), x_train.shape[1]))
    train_ds = (gt.data.Dataset.from_tensor_slices((x_train, y_train))
                .shuffle(len(x_train), seed=args.seed).batch(args.batch_size))
    x_train_t, y_train_t = gt.constant(x_train), gt.constant(y_train)
    x_test_t, y_test_t = gt.constant(x_test), gt.constant(y_test)

    model = MLP([x_train.shape[1], args.hidden, 10])
    optimizer = gt.optimizers.Adam(learning_rate=args.learning_rate)
    print("parameters: %d" % sum(int(np.prod(v.shape)) for v in model.trainable_variables))

    history = {"loss": [], "train_acc": [], "test_acc": []}
    bar = tqdm(total=epochs * len(train_ds), desc="training", unit="batch", file=sys.stderr)
    for epoch in range(1, epochs + 1):
        total, seen = 0.0, 0
        for xb, yb in train_ds:
            with gt.GradientTape() as tape:
                loss = loss_fn(model(xb), yb)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            n = int(xb.shape[0])
            total, seen = total + float(loss) * n, seen + n
            bar.update(1)
        history["loss"].append(total / seen)
        history["train_acc"].append(accuracy(model, x_train_t, y_train_t))
        history["test_acc"].append(accuracy(model, x_test_t, y_test_t))
        bar.set_postfix(epoch=epoch, loss="%.4f" % history["loss"][-1], test_acc="%.3f" % history["test_acc"][-1])
        bar.write("epoch %2d: loss %.4f, train accuracy %.4f, test accuracy %.4f"
                  % (epoch, history["loss"][-1], history["train_acc"][-1], history["test_acc"][-1]),
                  file=sys.stdout)
    bar.close()

    plot(history, args.plot)
    print("plot written to %s" % args.plot)
    print("test accuracy: %.4f" % history["test_acc"][-1])
    return history


if __name__ == "__main__":
    main()
