"""Finds PyTorch for the side-by-side benchmarks: importable as is, or from the separate
peers virtual environment (default /work/peers, or $GRADTAPE_PEERS_VENV) when its Python
version matches this one. Returns the module, or None with a reason."""
import glob
import os
import sys


def import_torch():
    try:
        import torch  # noqa: F401
        return torch, None
    except ImportError:
        pass
    venv = os.environ.get("GRADTAPE_PEERS_VENV", "/work/peers")
    ver = "python%d.%d" % sys.version_info[:2]
    for site in glob.glob(os.path.join(venv, "lib", ver, "site-packages")):
        sys.path.append(site)
        try:
            import torch
            return torch, None
        except ImportError as e:
            return None, "torch in %s does not import: %s" % (site, e)
    return None, "torch is not installed (pip install torch into %s, Python %s)" % (venv, ver)
