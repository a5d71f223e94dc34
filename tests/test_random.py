"""gt.random and gt.nn.dropout: the Philox block function against the published known-answer
vectors, TensorFlow's seed rules, determinism across thread counts and processes, and the
distributions (moments and Kolmogorov-Smirnov statistics at fixed seeds: deterministic)."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import gradtape as gt

SQRT2 = math.sqrt(2.0)


def ks_statistic(sample, cdf):
    x = np.sort(np.asarray(sample, dtype=np.float64))
    n = len(x)
    f = cdf(x)
    return max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(0, n) / n))


def ks_limit(n):
    return 1.95 / math.sqrt(n)  # the 0.1% critical value


def normal_cdf(x):
    from math import erf
    return 0.5 * (1.0 + np.vectorize(erf)(x / SQRT2))


@pytest.fixture
def threads():
    old = gt.config.get_num_threads()
    yield gt.config.set_num_threads
    gt.config.set_num_threads(old)


def test_philox_known_answers():
    # Random123's kat_vectors for philox4x32_10
    kat = [([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
           ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
           ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
            [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1])]
    for ctr, key, want in kat:
        assert list(gt._core._philox4x32_10(ctr, key)) == want


def test_global_and_op_seed_rules():
    gt.random.set_seed(1234)
    a1 = gt.random.uniform([3], seed=1).numpy()
    a2 = gt.random.uniform([3], seed=1).numpy()
    assert not np.array_equal(a1, a2)  # the same op seed continues its stream
    gt.random.set_seed(1234)
    np.testing.assert_array_equal(gt.random.uniform([3], seed=1).numpy(), a1)  # set_seed starts over
    np.testing.assert_array_equal(gt.random.uniform([3], seed=1).numpy(), a2)
    # global seed only: successive ops differ, the sequence repeats after set_seed
    gt.random.set_seed(7)
    s = [gt.random.normal([2]).numpy() for _ in range(3)]
    assert not np.array_equal(s[0], s[1])
    gt.random.set_seed(7)
    for x in s:
        np.testing.assert_array_equal(gt.random.normal([2]).numpy(), x)
    # another global seed gives other values
    gt.random.set_seed(8)
    assert not np.array_equal(gt.random.normal([2]).numpy(), s[0])


def test_op_seed_without_global_seed_and_unseeded():
    gt.random.set_seed(None)
    a = gt.random.normal([4], seed=5).numpy()
    b = gt.random.normal([4], seed=5).numpy()
    assert not np.array_equal(a, b)
    assert not np.array_equal(gt.random.normal([4]).numpy(), gt.random.normal([4]).numpy())


PROGRAM = """
import gradtape as gt, numpy as np
gt.random.set_seed(42)
vals = [gt.random.normal([5]), gt.random.uniform([3], seed=3), gt.random.uniform([3], maxval=100, dtype=gt.int64),
        gt.random.truncated_normal([4], dtype=gt.float64), gt.random.shuffle(gt.range(6)),
        gt.random.gamma([3], 2.0), gt.random.poisson([3], 4.0), gt.random.categorical([[0.0, 1.0]], 4),
        gt.random.stateless_normal([3], seed=[4, 5]), gt.random.Generator.from_seed(9).normal([3]),
        gt.nn.dropout(gt.ones([6]), 0.5, seed=2)]
print(repr([v.numpy().tolist() for v in vals]))
"""


def test_seeded_values_repeat_in_fresh_processes_and_thread_counts():
    outs = []
    for nthreads in ("1", "2", "2"):
        env = dict(os.environ, GRADTAPE_NUM_THREADS=nthreads)
        r = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1] == outs[2]


@pytest.mark.parametrize("draw", [
    lambda st: gt.random.stateless_normal([300_001], seed=st),
    lambda st: gt.random.stateless_normal([200_003], seed=st, dtype=gt.float64),
    lambda st: gt.random.stateless_uniform([300_001], seed=st),
    lambda st: gt.random.stateless_uniform([300_001], seed=st, minval=-3, maxval=1000, dtype=gt.int32),
    lambda st: gt.random.stateless_uniform([300_001], seed=st, minval=-3, maxval=1 << 40, dtype=gt.int64),
    lambda st: gt.random.stateless_truncated_normal([100_001], seed=st),
    lambda st: gt.random.stateless_gamma([50_000], seed=st, alpha=[0.5, 4.0]),
    lambda st: gt.random.stateless_poisson([50_000], seed=st, lam=[3.0, 50.0]),
    lambda st: gt.random.stateless_categorical(gt.zeros([100, 7]), 1000, seed=st),
], ids=["normal32", "normal64", "uniform", "int32", "int64", "truncated", "gamma", "poisson", "categorical"])
def test_big_draws_are_the_same_on_one_and_two_threads(draw, threads):
    threads(1)
    one = draw([3, 4]).numpy()
    threads(2)
    two = draw([3, 4]).numpy()
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(draw([3, 5]).numpy(), two)


def test_stateless_element_values_depend_only_on_their_index():
    small = gt.random.stateless_normal([1000], seed=[1, 2]).numpy()
    big = gt.random.stateless_normal([100_000], seed=[1, 2]).numpy()
    np.testing.assert_array_equal(small, big[:1000])
    np.testing.assert_array_equal(gt.random.stateless_normal([10, 100], seed=[1, 2]).numpy().ravel(), small)


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64])
def test_normal_distribution(dtype):
    x = gt.random.stateless_normal([200_000], seed=[11, 12], dtype=dtype).numpy()
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01
    assert abs(np.mean(x ** 3)) < 0.03 and abs(np.mean(x ** 4) - 3) < 0.06
    assert ks_statistic(x[:20000], normal_cdf) < ks_limit(20000)
    y = gt.random.stateless_normal([100_000], seed=[1, 1], mean=3.0, stddev=0.5, dtype=dtype).numpy()
    assert abs(y.mean() - 3) < 0.01 and abs(y.std() - 0.5) < 0.01


def test_uniform_distribution():
    x = gt.random.stateless_uniform([100_000], seed=[3, 4]).numpy()
    assert x.min() >= 0 and x.max() < 1
    assert ks_statistic(x[:20000], lambda t: t) < ks_limit(20000)
    y = gt.random.stateless_uniform([100_000], seed=[3, 5], minval=-2.0, maxval=6.0, dtype=gt.float64).numpy()
    assert y.min() >= -2 and y.max() < 6 and abs(y.mean() - 2) < 0.05
    k = gt.random.stateless_uniform([70_000], seed=[3, 6], minval=-3, maxval=4, dtype=gt.int32).numpy()
    assert k.min() == -3 and k.max() == 3
    counts = np.bincount(k + 3, minlength=7)
    chi2 = ((counts - 10_000) ** 2 / 10_000).sum()
    assert chi2 < 22.5  # 6 degrees of freedom, 0.1%
    full = gt.random.stateless_uniform([10], seed=[1, 1], minval=None, maxval=None, dtype=gt.int64)
    assert full.dtype == gt.int64


def test_truncated_normal_distribution():
    x = gt.random.stateless_truncated_normal([100_000], seed=[5, 6]).numpy()
    assert np.abs(x).max() <= 2
    z = normal_cdf(np.array([2.0]))[0] - normal_cdf(np.array([-2.0]))[0]

    def cdf(t):
        return (normal_cdf(t) - normal_cdf(np.array([-2.0]))[0]) / z

    assert ks_statistic(x[:20000], cdf) < ks_limit(20000)
    assert abs(x.std() - 0.8796) < 0.01


def test_gamma_and_poisson_moments():
    g = gt.random.stateless_gamma([100_000], seed=[7, 8], alpha=[0.3, 1.0, 5.0], beta=[1.0, 2.0, 0.5]).numpy()
    assert g.shape == (100_000, 3) and (g >= 0).all()
    np.testing.assert_allclose(g.mean(0), [0.3, 0.5, 10.0], rtol=0.03)
    np.testing.assert_allclose(g.var(0), [0.3, 0.25, 20.0], rtol=0.06)
    assert gt.random.gamma([4, 2], [1.0, 2.0]).shape == (4, 2, 2)
    p = gt.random.stateless_poisson([100_000], seed=[7, 9], lam=[0.5, 3.0, 40.0], dtype=gt.float32).numpy()
    np.testing.assert_allclose(p.mean(0), [0.5, 3.0, 40.0], rtol=0.02)
    np.testing.assert_allclose(p.var(0), [0.5, 3.0, 40.0], rtol=0.05)
    assert (p == np.round(p)).all()
    # the Poisson(3) probabilities, by chi-square
    counts = np.bincount(p[:, 1].astype(int), minlength=12)[:9]
    pmf = np.array([math.exp(-3) * 3 ** k / math.factorial(k) for k in range(9)]) * len(p)
    assert (((counts - pmf) ** 2) / pmf).sum() < 26.1  # 8 dof, 0.1%
    assert gt.random.poisson([2], [1.0, 2.0], dtype=gt.int32).dtype == gt.int32


def test_categorical_and_shuffle():
    logits = gt.math.log(gt.constant([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]))
    s = gt.random.stateless_categorical(logits, 50_000, seed=[1, 3]).numpy()
    assert s.dtype == np.int64 and s.shape == (2, 50_000)
    np.testing.assert_allclose(np.bincount(s[0], minlength=3) / 50_000, [0.2, 0.3, 0.5], atol=0.01)
    assert (s[1] == 0).all()  # classes with -inf logits are never drawn
    x = gt.reshape(gt.range(12), [6, 2])
    y = gt.random.shuffle(x, seed=4).numpy()
    assert sorted(map(tuple, y)) == sorted(map(tuple, x.numpy()))
    assert (y[:, 1] - y[:, 0] == 1).all()  # rows move whole
    gt.random.set_seed(0)
    perms = {}
    for _ in range(6000):
        key = tuple(gt.random.shuffle(gt.range(3)).numpy())
        perms[key] = perms.get(key, 0) + 1
    assert len(perms) == 6 and all(abs(c - 1000) < 130 for c in perms.values())


def test_argument_errors():
    with pytest.raises(ValueError, match="Must specify maxval for integer dtype"):
        gt.random.uniform([2], dtype=gt.int32)
    with pytest.raises(gt.errors.InvalidArgumentError, match="minval < maxval"):
        gt.random.uniform([2], minval=5, maxval=5, dtype=gt.int32)
    with pytest.raises(ValueError, match="must be both None or not None"):
        gt.random.stateless_uniform([2], seed=[1, 2], minval=1, maxval=None, dtype=gt.int32)
    with pytest.raises(TypeError):
        gt.random.normal([2], dtype=gt.int32)
    with pytest.raises(ValueError, match="shape \\[2\\]"):
        gt.random.stateless_normal([2], seed=[1, 2, 3])
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.random.normal([-1])


def test_mean_and_stddev_tensors_are_differentiable():
    mean = gt.Variable(1.0)
    std = gt.Variable(2.0)
    with gt.GradientTape() as tape:
        x = gt.random.stateless_normal([5], seed=[1, 1], mean=mean, stddev=std)
        loss = gt.reduce_sum(x)
    dm, ds = tape.gradient(loss, [mean, std])
    z = gt.random.stateless_normal([5], seed=[1, 1]).numpy()
    assert float(dm) == 5.0
    assert float(ds) == pytest.approx(z.sum(), rel=1e-5)


def test_generator():
    g1 = gt.random.Generator.from_seed(5)
    g2 = gt.random.Generator.from_seed(5)
    a = g1.normal([4]).numpy()
    np.testing.assert_array_equal(a, g2.normal([4]).numpy())
    assert not np.array_equal(a, g1.normal([4]).numpy())
    assert g1.state.shape == (3,) and g1.state.dtype == gt.int64
    state = g1.state.numpy().copy()
    u = g1.uniform([3], minval=2, maxval=9, dtype=gt.int32).numpy()
    g1.reset(state)
    np.testing.assert_array_equal(g1.uniform([3], minval=2, maxval=9, dtype=gt.int32).numpy(), u)
    c1, c2 = g1.split(2)
    assert not np.array_equal(c1.normal([4]).numpy(), c2.normal([4]).numpy())
    assert g1.make_seeds(3).shape == (2, 3)
    assert g1.truncated_normal([100]).numpy().max() <= 2
    r1 = gt.random.Generator.from_non_deterministic_state().normal([4]).numpy()
    r2 = gt.random.Generator.from_non_deterministic_state().normal([4]).numpy()
    assert not np.array_equal(r1, r2)
    assert gt.random.experimental.Generator is gt.random.Generator
    gt.random.set_global_generator(gt.random.Generator.from_seed(1))
    np.testing.assert_array_equal(gt.random.get_global_generator().normal([2]).numpy(),
                                  gt.random.Generator.from_seed(1).normal([2]).numpy())


def test_dropout():
    x = gt.ones([200, 50])
    y = gt.nn.dropout(x, 0.3, seed=1).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((y == 0).mean() - 0.3) < 0.02
    with pytest.raises(ValueError, match=r"must be a scalar tensor or a float in the range \[0, 1\)"):
        gt.nn.dropout(x, 1.0)
    with pytest.raises(ValueError, match=r"in the range \[0, 1\)"):
        gt.nn.dropout(x, -0.1)
    with pytest.raises(ValueError, match="floating point"):
        gt.nn.dropout(gt.constant([1, 2]), 0.5)
    np.testing.assert_array_equal(gt.nn.dropout(x, 0.0).numpy(), x.numpy())
    z = gt.nn.dropout(gt.ones([4, 6]), 0.5, noise_shape=[4, 1], seed=3).numpy()
    assert all(len(set(row)) == 1 for row in z)  # one decision per row
    z = gt.nn.dropout(gt.ones([4, 6]), 0.5, noise_shape=[None, 1], seed=3).numpy()
    assert all(len(set(row)) == 1 for row in z)
    w = gt.Variable(np.arange(1.0, 11.0, dtype=np.float32))
    gt.random.set_seed(3)
    with gt.GradientTape() as tape:
        out = gt.nn.dropout(w, 0.5)
        loss = gt.reduce_sum(out)
    g = tape.gradient(loss, w).numpy()
    np.testing.assert_allclose(g, (out.numpy() != 0) * 2.0)
    r = gt.nn.dropout(x, gt.constant(0.5), seed=4).numpy()
    assert set(np.unique(r)) <= {0.0, 2.0}


def test_two_threads_drawing_from_one_generator_never_draw_the_same_numbers():
    import threading
    g = gt.random.Generator.from_seed(3)

    @gt.function
    def draw():
        return g.normal([50000])

    draw()
    out = []

    def work():
        for _ in range(10):
            out.append(draw().numpy()[:4].tobytes())
            out.append(g.uniform([3]).numpy().tobytes())

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(out)) == len(out) == 40
    # every draw advanced the state: the stream is where 21 big and 20 small draws leave it
    e = gt.random.Generator.from_seed(3)
    for _ in range(21):
        e.normal([50000])
    for _ in range(20):
        e.uniform([3])
    np.testing.assert_array_equal(g.state.numpy(), e.state.numpy())
