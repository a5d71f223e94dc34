"""The examples run, in their quick forms, and reach their outcomes: the README's main example
prints the seed notebook's first gradient and Hessian; train_linear.py prints TensorFlow's
losses; digits.py classifies scikit-learn's digits above an accuracy bar and writes its plot;
newton.py finds the known minima with exact Hessian-vector products; data_parallel.py trains
on a two-worker Dask cluster (worker processes, spawned and forked) and matches a
single-process replay. (examples/cpp_project is built by tests/test_cpp_package.py.)

The example-only dependencies are the `examples` extra (pip install '.[examples]'); a test
whose example needs one that is missing is skipped, saying which. CI installs the extra.
"""
import importlib.util
import pathlib
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

try:
    from conftest import ci_figure
except ImportError:  # pragma: no cover
    def ci_figure(name, value):
        pass


def _need(*modules):
    """Skip unless every module is importable (found without importing it here)."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip("%s not installed: the examples extra (pip install '.[examples]') provides it"
                    % ", ".join(missing))


def _run(name, *args, cwd=None, timeout=300):
    r = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True,
                       timeout=timeout, cwd=cwd)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def _number(pattern, text):
    m = re.search(pattern, text, re.M)
    assert m, "no line matching %r in:\n%s" % (pattern, text)
    return float(m.group(1))


def _load(name):
    """An example as a module (its main() does not run)."""
    spec = importlib.util.spec_from_file_location("example_" + name, EXAMPLES / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_prints_the_seed_gradients():
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py")], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "numpy=36.0" in r.stdout and "numpy=10.0" in r.stdout
    assert "numpy=6.0" in r.stdout and "None" in r.stdout


def test_train_linear_prints_tensorflows_losses():
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "train_linear.py"), "--quick"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # the same program with `import tensorflow as tf` (TF 2.21) printed these lines
    for line in ["Starting: W=5.00 b=0.00, loss=8.54058",
                 "Epoch  0: W=4.62 b=0.38, loss=5.97536",
                 "Epoch  1: W=4.32 b=0.68, loss=4.28934",
                 "Epoch  2: W=4.06 b=0.92, loss=3.18079"]:
        assert line in r.stdout, r.stdout
    assert "Restored from ckpt-1" in r.stdout


def test_digits_reaches_its_accuracy_bar_and_plots(tmp_path):
    _need("sklearn", "tqdm", "matplotlib")
    png = tmp_path / "curves.png"
    r = _run("digits.py", "--quick", "--plot", str(png), cwd=tmp_path)
    acc = _number(r"^test accuracy: ([0-9.]+)$", r.stdout)
    ci_figure("examples/digits.py --quick: test accuracy", acc)
    assert acc > 0.9, r.stdout
    losses = [float(v) for v in re.findall(r"^epoch +\d+: loss ([0-9.]+)", r.stdout, re.M)]
    assert len(losses) == 4 and all(b < a for a, b in zip(losses, losses[1:])), r.stdout
    assert "172/172" in r.stderr, r.stderr  # the tqdm bar reached its end (4 epochs of 43 batches)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (900, 350) and len(data) > 20_000, (width, height, len(data))
    assert not (tmp_path / "digits.png").exists()  # --plot was honoured


def test_newton_finds_the_known_minima():
    r = _run("newton.py", "--quick")
    assert _number(r"^rosenbrock: .* max \|x - 1\| = (\S+)$", r.stdout) < 1e-8, r.stdout
    assert _number(r"^rosenbrock: .* f = (\S+),", r.stdout) < 1e-14, r.stdout
    assert _number(r"^logistic: .*\|NumPy gradient at the solution\| = (\S+),", r.stdout) < 1e-9, r.stdout
    assert _number(r"^logistic: .*max \|w - w_numpy\| = (\S+)$", r.stdout) < 1e-9, r.stdout
    iterations = _number(r"^logistic: (\d+) iterations", r.stdout)
    assert iterations <= 10, r.stdout  # Newton's local rate, not gradient descent's


def test_newton_hvp_is_the_exact_hessian_product():
    newton = _load("newton")
    gt = newton.gt
    rng = np.random.default_rng(1)
    # Extended Rosenbrock: the Hessian is block diagonal, 2x2 blocks per pair (a, b).
    x = rng.standard_normal(6)
    a, b = x[0::2], x[1::2]
    hessian = np.zeros((6, 6))
    for i in range(3):
        hessian[2 * i, 2 * i] = 1200 * a[i] ** 2 - 400 * b[i] + 2
        hessian[2 * i, 2 * i + 1] = hessian[2 * i + 1, 2 * i] = -400 * a[i]
        hessian[2 * i + 1, 2 * i + 1] = 200
    for v in rng.standard_normal((3, 6)):
        got = newton.hvp(newton.rosenbrock, gt.constant(x), gt.constant(v)).numpy()
        np.testing.assert_allclose(got, hessian @ v, rtol=1e-12, atol=1e-9)
        # forward over reverse and reverse over reverse: the same product
        rev = newton.hvp_reverse(newton.rosenbrock, gt.constant(x), gt.constant(v)).numpy()
        np.testing.assert_allclose(got, rev, rtol=1e-13, atol=1e-10)
    # Logistic regression: X^T diag(p (1 - p)) X / n + lam I.
    lam = 0.1
    objective, xs, ys = newton.make_logistic_problem(50, 4, lam, seed=2)
    w = rng.standard_normal(4)
    p = 1 / (1 + np.exp(-xs @ w))
    hessian = xs.T @ (xs * (p * (1 - p))[:, None]) / len(ys) + lam * np.eye(4)
    v = rng.standard_normal(4)
    np.testing.assert_allclose(newton.hvp(objective, gt.constant(w), gt.constant(v)).numpy(), hessian @ v,
                               rtol=1e-12, atol=1e-14)
    # A function linear in x: a zero Hessian, not None.
    zero = newton.hvp(lambda t: gt.reduce_sum(3.0 * t), gt.constant(x), gt.constant(x)).numpy()
    np.testing.assert_array_equal(zero, np.zeros(6))


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_data_parallel_on_two_local_worker_processes(start_method):
    """A LocalCluster of two worker processes (spawned, Dask's default, and forked from a
    process that has gradtape loaded): the loss falls and the weights match the same steps
    replayed in one process (only the order of the floating-point sums differs)."""
    _need("dask", "distributed")
    r = _run("data_parallel.py", "--quick", "--check", "--workers", "2", "--start-method", start_method)
    assert "cluster: 2 workers (local %s processes)" % start_method in r.stdout, r.stdout
    first = _number(r"^first loss ([0-9.]+)", r.stdout)
    last = _number(r"^first loss .*, last loss ([0-9.]+)$", r.stdout)
    assert last < 0.5 * first, r.stdout
    acc = _number(r"^accuracy on all \d+ points: ([0-9.]+)$", r.stdout)
    assert acc > 0.8, r.stdout
    assert _number(r"max \|weight difference\| (\S+),", r.stdout) < 1e-4, r.stdout
    assert _number(r"max \|loss difference\| (\S+)$", r.stdout) < 1e-5, r.stdout
    ci_figure("examples/data_parallel.py --quick (%s workers): ms a step" % start_method,
              _number(r"\(([0-9.]+) ms a step\)", r.stdout))
