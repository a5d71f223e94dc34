"""Records what TensorFlow raises for each misuse case of error_catalogue.CASES (the tape,
custom_gradient, the ops, tensors and variables) into tests/reference/tf_errors.json, for
tests/test_error_table.py and docs/errors.md.

Run it with a Python that has TensorFlow, never with gradtape's environment (TensorFlow is
not a dependency of gradtape; CI only reads the JSON):

    /work/tfenv/bin/python tests/reference/make_errors.py

It does not import gradtape, and its output is deterministic. Each row is the case's id and
either {"raises": kind, "message": head} (kind as error_catalogue.kind names it:
"ValueError", "errors.InvalidArgumentError", ...) or {"returns": what came back}.
"""
import datetime
import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import error_catalogue as C  # noqa: E402

COMMAND = "/work/tfenv/bin/python tests/reference/make_errors.py"
OUT = HERE / "tf_errors.json"


def main():
    tf.get_logger().setLevel("ERROR")
    rows = {}
    for c in C.CASES:
        rows[c["id"]] = C.outcome(c["fn"], tf)
    header = {
        "what": "TensorFlow's exception type and message head (or what it returns) for each misuse case of "
                "tests/reference/error_catalogue.py, for tests/test_error_table.py and docs/errors.md",
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "command": COMMAND,
        "generated": datetime.date.today().isoformat(),
    }
    with open(OUT, "w") as f:
        f.write("{\n\"header\":" + json.dumps(header) + ",\n\"cases\":{\n")
        f.write(",\n".join(json.dumps(k) + ":" + json.dumps(v) for k, v in rows.items()))
        f.write("\n}}\n")
    print("wrote %d cases to %s" % (len(rows), OUT))


if __name__ == "__main__":
    main()
