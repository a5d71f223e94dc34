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
