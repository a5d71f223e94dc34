"""Shared test helpers. `ci_figure(name, value)` records a figure for the CI report that
.ci/run prints at the end (written to the file named by GRADTAPE_CI_FIGURES, if set)."""
import json
import os
import sys
import pathlib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


def ci_figure(name, value):
    path = os.environ.get("GRADTAPE_CI_FIGURES")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"name": name, "value": value}) + "\n")
