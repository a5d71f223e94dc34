"""The README's main example runs and prints the seed notebook's first gradient and Hessian."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


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
