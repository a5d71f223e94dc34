"""gt.data batching against NumPy slicing, side by side in one process.

Batches a 60,000 x 784 float32 array (MNIST's training images) into batches of 128, one epoch
per round, and reports the median time of each way and their ratios:

  numpy-copy    x[i:i+128].copy() for each batch: a batch the consumer owns (the fair floor:
                every tensor library copies a batch into its own buffer)
  numpy-view    x[i:i+128]: a view, no data moved (shown for reference; nothing that hands
                out a tensor can approach it)
  gt.constant   gt.constant(x[i:i+128]) for each batch, by hand (what gt.data does per batch)
  gt.data       for b in Dataset.from_tensor_slices(x).batch(128): ...
  gt.data+lbl   the same with a label vector zipped in: from_tensor_slices((x, y)).batch(128)
  gt.shuffled   from_tensor_slices(x).shuffle(60000).batch(128) (a gather per batch)
  numpy-gather  x[perm[i:i+128]] for each batch (the shuffled floor)

Every batch's values are checked against NumPy before timing.
    python bench/data.py            # 15 rounds
    python bench/data.py --quick    # 3 rounds on 6,000 rows
"""
import argparse
import statistics
import time

import numpy as np

import gradtape as gt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args()
    n = 6000 if args.quick else 60000
    rounds = args.rounds or (3 if args.quick else 15)
    b = 128
    rng = np.random.default_rng(0)
    x = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)

    ds = gt.data.Dataset.from_tensor_slices(x).batch(b)
    ds_lbl = gt.data.Dataset.from_tensor_slices((x, y)).batch(b)
    ds_shuf = gt.data.Dataset.from_tensor_slices(x).shuffle(n, seed=1).batch(b)

    # correctness before timing
    for k, batch in enumerate(ds):
        assert np.array_equal(batch.numpy(), x[k * b:(k + 1) * b])
    for k, (bx, by) in enumerate(ds_lbl):
        assert np.array_equal(bx.numpy(), x[k * b:(k + 1) * b]) and np.array_equal(by.numpy(), y[k * b:(k + 1) * b])
    seen = np.concatenate([bb.numpy() for bb in ds_shuf])
    assert seen.shape == x.shape and np.array_equal(np.sort(seen[:, 0]), np.sort(x[:, 0]))

    perm = rng.permutation(n)

    def numpy_copy():
        for i in range(0, n, b):
            x[i:i + b].copy()

    def numpy_view():
        for i in range(0, n, b):
            x[i:i + b]

    def numpy_gather():
        for i in range(0, n, b):
            x[perm[i:i + b]]

    def gt_constant():
        for i in range(0, n, b):
            gt.constant(x[i:i + b])

    def gt_data():
        for _ in ds:
            pass

    def gt_data_labels():
        for _ in ds_lbl:
            pass

    def gt_shuffled():
        for _ in ds_shuf:
            pass

    cases = [("numpy-copy", numpy_copy), ("numpy-view", numpy_view), ("numpy-gather", numpy_gather),
             ("gt.constant", gt_constant), ("gt.data", gt_data), ("gt.data+lbl", gt_data_labels), ("gt.shuffled", gt_shuffled)]
    times = {name: [] for name, _ in cases}
    for fn in [f for _, f in cases]:
        fn()  # warm-up
    for _ in range(rounds):  # interleaved, so that machine noise hits every case alike
        for name, fn in cases:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    print("%d x 784 float32, batch %d, %d rounds (ms per epoch: best, median)" % (n, b, rounds))
    for name, _ in cases:
        print("  %-13s %8.2f %8.2f" % (name, best[name] * 1e3, med[name] * 1e3))
    for num, den in (("gt.data", "numpy-copy"), ("gt.data+lbl", "numpy-copy"),
                     ("gt.shuffled", "numpy-gather"), ("gt.data", "numpy-view")):
        print("ratio %-11s / %-12s best %6.2f   median %6.2f"
              % (num, den, best[num] / best[den], med[num] / med[den]))
    return best["gt.data"] / best["numpy-copy"]


if __name__ == "__main__":
    main()
