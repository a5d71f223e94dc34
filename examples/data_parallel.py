"""Data-parallel training on Dask distributed: each worker holds one shard of the data and
computes the gradient of its part of every mini-batch; the driver adds the workers'
gradients, averages them and applies one Adam update, then sends the new weights out for the
next step. gradtape tensors and variables travel between the processes by pickle, like NumPy
arrays.

The model is a small MLP classifying the classic three-armed spiral (synthetic, seeded). Each
step's global batch is the union of the workers' batches, so the update is exactly the one a
single process would make on that batch: `--check` replays the run in this process and
prints the largest difference in the weights (rounding only).

    pip install 'gradtape[examples]'                      # dask[distributed]
    python examples/data_parallel.py                      # a local cluster of 2 worker processes
    python examples/data_parallel.py --quick --check      # 40 steps, then the single-process replay (CI)
    python examples/data_parallel.py --workers 4 --threads   # 4 workers as threads of this process

On a real cluster, start a scheduler and workers on machines with gradtape installed (the same
version as the driver), then pass the scheduler's address; nothing else changes:

    dask scheduler                                        # on one machine: prints tcp://HOST:8786
    dask worker tcp://HOST:8786 --nthreads 1              # on each worker machine
    python examples/data_parallel.py --address tcp://HOST:8786
"""
import argparse
import functools
import logging
import math
import sys
import time

import numpy as np

import gradtape as gt

try:
    import dask
    from dask.distributed import Client, LocalCluster
except ImportError as e:  # the example-only dependencies are an extra, not gradtape's own
    sys.exit("data_parallel.py needs the examples extra: pip install 'gradtape[examples]' (%s)" % e)


def spirals(n_per_class, classes=3, noise=0.2, seed=0):
    """Points on `classes` interleaved spiral arms (float32 x of shape (n, 2), int32 labels)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1.0, n_per_class)
        theta = np.linspace(0, 4.0, n_per_class) + 2 * math.pi * c / classes + rng.normal(0, noise, n_per_class)
        xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))
        ys.append(np.full(n_per_class, c))
    order = rng.permutation(n_per_class * classes)
    return np.concatenate(xs)[order].astype(np.float32), np.concatenate(ys)[order].astype(np.int32)


class MLP(gt.Module):
    """Two hidden tanh layers; the weights are one list so that workers can take them as a
    plain list of variables (`forward` is the model's function of its weights)."""

    def __init__(self, sizes, name=None):
        super().__init__(name=name)
        self.weights = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            limit = math.sqrt(6.0 / (a + b))
            self.weights.append(gt.Variable(gt.random.uniform([a, b], -limit, limit), name="w%d" % i))
            self.weights.append(gt.Variable(gt.zeros([b]), name="b%d" % i))

    def __call__(self, x):
        return forward(self.weights, x)


def forward(weights, x):
    for i in range(0, len(weights), 2):
        x = gt.matmul(x, weights[i]) + weights[i + 1]
        if i + 2 < len(weights):
            x = gt.tanh(x)
    return x


def batch_rows(n_rows, step, batch_size):
    """The rows of a shard that step `step` uses: the next `batch_size`, wrapping around."""
    return np.arange(step * batch_size, (step + 1) * batch_size) % n_rows


def shard_gradient(shard, weights, step, batch_size):
    """Runs on a worker: the summed loss of this shard's batch for `step`, its gradient with
    respect to `weights` (unpickled gt.Variables, so the tape watches them), and the row count.
    Sums, not means: the driver divides by the global batch size."""
    x, y = shard
    rows = batch_rows(int(x.shape[0]), step, batch_size)
    xb, yb = gt.gather(x, rows), gt.gather(y, rows)
    with gt.GradientTape() as tape:
        losses = gt.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=forward(weights, xb))
        loss_sum = gt.reduce_sum(losses)
    return loss_sum, tape.gradient(loss_sum, weights), len(rows)


def average(results):
    """Adds the workers' (loss_sum, gradients, count) and divides by the total count."""
    total = sum(count for _, _, count in results)
    loss = sum(float(loss_sum) for loss_sum, _, _ in results) / total
    grads = [functools.reduce(gt.add, gs) / total for gs in zip(*(grads for _, grads, _ in results))]
    return loss, grads


def accuracy(model, x, y):
    predicted = gt.argmax(model(x), axis=1, output_type=gt.int32)
    return float(gt.reduce_mean(gt.cast(gt.equal(predicted, y), gt.float32)))


def train_distributed(client, model, shards, steps, batch_size, learning_rate, log_every):
    """The data-parallel loop. `shards` are futures of (x, y) pairs held by the workers."""
    optimizer = gt.optimizers.Adam(learning_rate=learning_rate)
    losses = []
    for step in range(steps):
        # One copy of the weights per worker, sent once per step whatever the shard count.
        weights = client.scatter(list(model.weights), broadcast=True, hash=False)
        futures = [client.submit(shard_gradient, shard, weights, step, batch_size, pure=False)
                   for shard in shards]
        loss, grads = average(client.gather(futures))
        optimizer.apply_gradients(zip(grads, model.weights))
        losses.append(loss)
        if step % log_every == 0 or step == steps - 1:
            print("step %4d: loss %.4f" % (step, loss))
    return losses


def train_single_process(model, shard_data, steps, batch_size, learning_rate):
    """The same steps in this process: each step's global batch (the union of the shards'
    batches) in one gradient computation."""
    optimizer = gt.optimizers.Adam(learning_rate=learning_rate)
    losses = []
    for step in range(steps):
        xb = gt.concat([gt.gather(x, batch_rows(int(x.shape[0]), step, batch_size)) for x, _ in shard_data], 0)
        yb = gt.concat([gt.gather(y, batch_rows(int(y.shape[0]), step, batch_size)) for _, y in shard_data], 0)
        with gt.GradientTape() as tape:
            loss = gt.reduce_mean(gt.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=model(xb)))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.weights), model.weights))
        losses.append(float(loss))
    return losses


def connect(args):
    """A client of the cluster at --address, or of a new local cluster."""
    if args.address:
        client = Client(args.address)
        return client, None
    dask.config.set({"distributed.worker.multiprocessing-method": args.start_method})
    # Worker processes talk TCP on the loopback interface; threads use Dask's in-process transport.
    where = {} if args.threads else {"host": "127.0.0.1"}
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=not args.threads,
                           dashboard_address=None, silence_logs=logging.ERROR, **where)
    return Client(cluster), cluster


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--address", help="a running Dask scheduler (tcp://HOST:8786); default: a local cluster")
    ap.add_argument("--workers", type=int, default=2, help="local cluster size (default 2)")
    ap.add_argument("--threads", action="store_true", help="local workers as threads, not processes")
    ap.add_argument("--start-method", default="spawn", choices=["spawn", "fork", "forkserver"],
                    help="how a local cluster starts its worker processes (default spawn, Dask's)")
    ap.add_argument("--quick", action="store_true", help="40 steps on 3,000 points (CI)")
    ap.add_argument("--steps", type=int, help="default 300, or 40 with --quick")
    ap.add_argument("--batch-size", type=int, default=128, help="rows per worker per step")
    ap.add_argument("--learning-rate", type=float, default=0.05)
    ap.add_argument("--check", action="store_true", help="replay the run in this process and compare")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    steps = args.steps or (40 if args.quick else 300)
    x, y = spirals(1000 if args.quick else 5000, seed=args.seed)
    x_all, y_all = gt.constant(x), gt.constant(y)
    gt.random.set_seed(args.seed)
    model = MLP([2, 64, 64, 3])
    initial = [gt.constant(v.numpy()) for v in model.weights]
    print("before training: loss %.4f, accuracy %.3f" % (
        float(gt.reduce_mean(gt.nn.sparse_softmax_cross_entropy_with_logits(labels=y_all, logits=model(x_all)))),
        accuracy(model, x_all, y_all)))

    t0 = time.perf_counter()
    client, cluster = connect(args)
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        sys.exit("the cluster has no workers")
    print("cluster: %d workers (%s), connected in %.1f s"
          % (len(workers), args.address or ("local " + ("threads" if args.threads else args.start_method + " processes")),
             time.perf_counter() - t0))
    try:
        # One shard per worker, stored there once; each step's task runs where its shard is.
        bounds = np.linspace(0, len(x), len(workers) + 1).astype(int)
        shard_data = [(gt.constant(x[a:b]), gt.constant(y[a:b])) for a, b in zip(bounds[:-1], bounds[1:])]
        shards = [client.scatter(shard, workers=[w]) for shard, w in zip(shard_data, workers)]
        print("data: %d points in %d shards of %s rows; global batch %d"
              % (len(x), len(shards), "/".join(str(b - a) for a, b in zip(bounds[:-1], bounds[1:])),
                 args.batch_size * len(shards)))

        t1 = time.perf_counter()
        losses = train_distributed(client, model, shards, steps, args.batch_size, args.learning_rate,
                                   log_every=max(1, steps // 10))
        elapsed = time.perf_counter() - t1
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    print("trained %d steps in %.2f s (%.1f ms a step)" % (steps, elapsed, 1e3 * elapsed / steps))
    print("first loss %.4f, last loss %.4f" % (losses[0], losses[-1]))
    print("accuracy on all %d points: %.3f" % (len(x), accuracy(model, x_all, y_all)))

    if args.check:
        reference = MLP([2, 64, 64, 3])
        for v, value in zip(reference.weights, initial):
            v.assign(value)
        ref_losses = train_single_process(reference, shard_data, steps, args.batch_size, args.learning_rate)
        diff = max(float(gt.reduce_max(gt.abs(a - b))) for a, b in zip(model.weights, reference.weights))
        loss_diff = max(abs(a - b) for a, b in zip(losses, ref_losses))
        print("single-process replay: max |weight difference| %.3e, max |loss difference| %.3e" % (diff, loss_diff))


if __name__ == "__main__":
    main()
