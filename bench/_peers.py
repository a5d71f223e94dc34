"""Finds the peers (PyTorch, JAX) for the side-by-side benchmarks: importable as is, or from
the separate peers virtual environment (default /work/peers, or $GRADTAPE_PEERS_VENV) when its
Python version matches this one. Returns the module, or None with a reason."""
import glob
import os
import sys
import time


def import_peer(name):
    import importlib
    try:
        return importlib.import_module(name), None
    except ImportError:
        pass
    venv = os.environ.get("GRADTAPE_PEERS_VENV", "/work/peers")
    ver = "python%d.%d" % sys.version_info[:2]
    for site in glob.glob(os.path.join(venv, "lib", ver, "site-packages")):
        if site not in sys.path:
            sys.path.append(site)
        try:
            return importlib.import_module(name), None
        except ImportError as e:
            return None, "%s in %s does not import: %s" % (name, site, e)
    return None, "%s is not installed (pip install %s into %s, Python %s)" % (name, name, venv, ver)


def import_torch():
    return import_peer("torch")


def per_call(fn, budget):
    """Seconds per call of fn: one warm-up call, then calls until `budget` seconds have passed."""
    fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            return elapsed / n
