"""GEMMs on gradtape's pool (cpp/src/kernels/matmul.h): a float32 product big enough
for OpenBLAS's threads runs as single-threaded OpenBLAS calls on pieces of C's larger dim,
taken by whichever pool thread is free. The pieces must change no bit: every result equals the
one-thread result (one whole single-threaded call), for any thread count and any piece count,
with transposes, odd remainders, batches and gradients; and the values are right (float64
NumPy reference). float64 products stay on OpenBLAS's threads: only their values are checked."""
import os

import numpy as np
import pytest

import gradtape as gt

# (M, N, K): W5's products, remainders past the 16-wide alignment, rows cut (M > N), columns
# cut (N >= M), a product just past the split bound, one below it, one OpenBLAS runs alone
SHAPES = [(128, 512, 784), (128, 512, 512), (512, 512, 128), (784, 512, 128), (128, 10, 512),
          (129, 531, 300), (531, 97, 301), (100, 1000, 147), (1003, 65, 170), (64, 80, 2049),
          (33, 33, 4000), (40, 40, 40)]


@pytest.fixture
def threads():
    was = gt.config.get_num_threads()
    old = os.environ.pop("GRADTAPE_GEMM_PIECES", None)
    yield
    gt.config.set_num_threads(was)
    if old is None:
        os.environ.pop("GRADTAPE_GEMM_PIECES", None)
    else:
        os.environ["GRADTAPE_GEMM_PIECES"] = old


def operands(M, N, K, ta, tb, dtype, seed=0):
    rng = np.random.default_rng(seed + M * 7 + N * 3 + K)
    a = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
    return a, b


def product(a, b, ta, tb):
    return gt.matmul(gt.constant(a), gt.constant(b), transpose_a=ta, transpose_b=tb).numpy().copy()


@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, False), (True, True)])
def test_pieces_and_threads_change_no_bit(threads, ta, tb):
    dtype = np.float32
    for M, N, K in SHAPES:
        a, b = operands(M, N, K, ta, tb, dtype)
        gt.config.set_num_threads(1)
        one = product(a, b, ta, tb)
        want = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64)
        np.testing.assert_allclose(one, want, rtol=1e-4, atol=4e-4 * np.sqrt(K))
        gt.config.set_num_threads(2)
        got = product(a, b, ta, tb)
        np.testing.assert_array_equal(got, one, err_msg="2 threads, shape %s" % ((M, N, K),))
        for pieces in ("2", "3", "5", "16"):
            os.environ["GRADTAPE_GEMM_PIECES"] = pieces
            got = product(a, b, ta, tb)
            np.testing.assert_array_equal(got, one, err_msg="%s pieces, shape %s" % (pieces, (M, N, K)))
        del os.environ["GRADTAPE_GEMM_PIECES"]


@pytest.mark.parametrize("ta,tb", [(False, False), (True, True)])
def test_float64_products_are_right_on_any_thread_count(threads, ta, tb):
    for M, N, K in SHAPES[:6]:
        a, b = operands(M, N, K, ta, tb, np.float64)
        want = (a.T if ta else a) @ (b.T if tb else b)
        for n in (1, 2):
            gt.config.set_num_threads(n)
            np.testing.assert_allclose(product(a, b, ta, tb), want, rtol=1e-12, atol=1e-11 * np.sqrt(K))


def test_batched_and_vector_products_match_one_thread(threads):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 200, 300)).astype(np.float32)
    b = rng.standard_normal((300, 250)).astype(np.float32)   # folded into one 600 x 250 product
    c = rng.standard_normal((3, 300, 250)).astype(np.float32)  # one product per batch matrix
    v = rng.standard_normal((40, 300)).astype(np.float32)
    results = []
    for n in (1, 2):
        gt.config.set_num_threads(n)
        results.append([gt.matmul(a, b).numpy().copy(), gt.matmul(a, c).numpy().copy(),
                        gt.linalg.matvec(gt.constant(a[0].T), gt.constant(v[:, :200])).numpy().copy()
                        if hasattr(gt.linalg, "matvec") else np.zeros(1)])
    for x, y in zip(*results):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(results[1][0], a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(results[1][1], a.astype(np.float64) @ c, rtol=1e-4, atol=1e-3)


def test_mlp_step_gradients_match_one_thread_eager_and_traced(threads):
    # W5's step at its sizes: the matmul gradients (g W^T, X^T g) are split products too
    rng = np.random.default_rng(5)
    X = gt.constant(rng.standard_normal((128, 784)).astype(np.float32))
    y = gt.constant(rng.integers(0, 10, 128).astype(np.int32))
    init = [rng.standard_normal(s).astype(np.float32) * 0.05 for s in [(784, 512), (512,), (512, 512), (512,),
                                                                      (512, 10), (10,)]]

    def run(n, traced):
        gt.config.set_num_threads(n)
        P = [gt.Variable(p) for p in init]

        def step(X, y):
            with gt.GradientTape() as tape:
                h = X
                for i in range(3):
                    h = gt.matmul(h, P[2 * i]) + P[2 * i + 1]
                    if i < 2:
                        h = gt.nn.relu(h)
                loss = gt.reduce_mean(gt.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=h))
            grads = tape.gradient(loss, P)
            for v, g in zip(P, grads):
                v.assign_sub(g * 0.01)
            return loss
        f = gt.function(step) if traced else step
        losses = [float(f(X, y)) for _ in range(3)]
        return losses, [v.numpy().copy() for v in P]

    ref_losses, ref_params = run(1, False)
    assert ref_losses[2] < ref_losses[0]
    for n, traced in ((2, False), (1, True), (2, True)):
        losses, params = run(n, traced)
        assert losses == ref_losses, (n, traced)
        for p, q in zip(params, ref_params):
            np.testing.assert_array_equal(p, q)


def test_pool_busy_on_another_thread_runs_the_pieces_inline(threads):
    # two Python threads multiplying at once: one gets the pool, the other runs its pieces
    # itself; both give the one-thread values
    import threading
    a, b = operands(256, 512, 300, False, False, np.float32)
    gt.config.set_num_threads(1)
    one = product(a, b, False, False)
    gt.config.set_num_threads(2)
    out, errors = [], []

    def work():
        try:
            for _ in range(20):
                out.append(product(a, b, False, False))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    ts = [threading.Thread(target=work) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors and len(out) == 60
    for r in out:
        np.testing.assert_array_equal(r, one)
