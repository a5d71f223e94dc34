"""Store TensorFlow's output of every program in this directory.

    /work/tfenv/bin/python tests/tf_programs/make_reference.py [name ...]

Each program is a plain TensorFlow script whose first line is `import gradtape as tf`. This
script swaps that line for `import tensorflow as tf`, runs the result with the Python that runs
this script (TensorFlow 2.21's) in a fresh temporary directory, and writes its standard output
to `<name>.expected.txt` beside it. tests/test_tf_programs.py runs the same files under
gradtape and compares the numbers. TensorFlow is never imported by the tests.
"""
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
IMPORT_GT = "import gradtape as tf"
IMPORT_TF = "import tensorflow as tf"


def programs(names=()):
    files = sorted(p for p in HERE.glob("*.py") if p.name != pathlib.Path(__file__).name
                   and not p.name.startswith("_"))
    if names:
        files = [p for p in files if p.stem in names]
    return files


def as_tensorflow(source):
    first, _, rest = source.partition("\n")
    if first.strip() != IMPORT_GT:
        raise ValueError("the first line must be %r, not %r" % (IMPORT_GT, first))
    return IMPORT_TF + "\n" + rest


def main(argv):
    import tensorflow as tf  # only to record the version and fail early without it

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0",
               CUDA_VISIBLE_DEVICES="", PYTHONHASHSEED="0")
    for path in programs(argv[1:]):
        with tempfile.TemporaryDirectory() as d:
            script = pathlib.Path(d) / path.name
            script.write_text(as_tensorflow(path.read_text()))
            r = subprocess.run([sys.executable, str(script)], cwd=d, env=env,
                               capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            sys.stderr.write(r.stderr)
            raise SystemExit("%s failed under TensorFlow %s" % (path.name, tf.__version__))
        out = path.with_name(path.stem + ".expected.txt")
        out.write_text(r.stdout)
        print("%s: %d lines (TensorFlow %s)" % (out.name, r.stdout.count("\n"), tf.__version__))


if __name__ == "__main__":
    main(sys.argv)
