"""Records TensorFlow's answer for each case of dtype_cases.CASES into
tests/reference/tf_dtypes.json, for tests/test_dtypes.py.

Run it with a Python that has TensorFlow (not a dependency of gradtape; CI only reads the JSON):

    /work/tfenv/bin/python tests/reference/make_dtypes.py
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
import dtype_cases as C  # noqa: E402

COMMAND = "/work/tfenv/bin/python tests/reference/make_dtypes.py"
OUT = HERE / "tf_dtypes.json"


def main():
    tf.get_logger().setLevel("ERROR")
    rows = {name: C.run_case(tf, name) for name in C.CASES}
    header = {
        "what": "TensorFlow's answer for each case of tests/reference/dtype_cases.py",
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
