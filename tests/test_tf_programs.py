"""TensorFlow's Keras-free training programs run under gradtape and print TensorFlow's numbers.

Every tests/tf_programs/<name>.py is a plain TensorFlow script whose first line is
`import gradtape as tf`; <name>.expected.txt is what the same file printed with
`import tensorflow as tf` under TensorFlow 2.21 (written by tests/tf_programs/make_reference.py,
run with TensorFlow's Python; TensorFlow is never imported here).

The outputs are compared as streams of numbers and text: whitespace is ignored (TensorFlow
breaks a matrix's line after `tf.Tensor(`, gradtape does not), `gt.` in reprs reads as `tf.`
(`gt.Tensor`, `gt.float32`), integers must be equal, and floats agree to float32
precision (relative 1e-5), or for fixed-format numbers ("%.4f") to one unit of the last
digit printed, whichever is looser.
A line starting with `[seeded]` prints values drawn by gt.random / a seeded shuffle, which
are not TensorFlow's bit patterns (docs/choices.md): only its text is compared. A line starting
with `[rtol=R]` prints values where gradtape knowingly differs from TensorFlow by more than
float32 rounding (the program says why, docs/choices.md has the choice): its numbers are
compared with relative tolerance R. Each program must also print exactly the same bytes when
run twice.
"""
import functools
import math
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import pytest

HERE = pathlib.Path(__file__).resolve().parent / "tf_programs"
PROGRAMS = sorted(p.stem for p in HERE.glob("*.py")
                  if p.name != "make_reference.py" and not p.name.startswith("_"))
SEEDED = "[seeded]"
RTOL, ATOL = 1e-5, 1e-8

_NUMBER = re.compile(r"[-+]?(?:(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf)")


def tokens(text):
    """The output as a list of ('text', str) and ('num', str, rtol) items; whitespace dropped."""
    out = []
    for line in text.splitlines():
        seeded = line.startswith(SEEDED)
        m = re.match(r"\[rtol=([0-9.eE+-]+)\]", line)
        rtol = float(m.group(1)) if m else RTOL
        if m:
            line = line[m.end():]
        line = re.sub(r"\bgt\.(?=[A-Za-z])", "tf.", line)  # gt.Tensor, gt.float32, ...
        pos = 0
        for m in _NUMBER.finditer(line):
            # a digit inside a word (dense_1, w:0, ckpt-1, float32) is text, not a number
            before, after = line[m.start() - 1:m.start()], line[m.end():m.end() + 1]
            if before.isalnum() or before == "_" or after.isalpha() or after == "_":
                continue
            out.append(("text", line[pos:m.start()]))
            out.append(("text", "#") if seeded else ("num", m.group(), rtol))
            pos = m.end()
        out.append(("text", line[pos:]))
    merged = []
    for item in out:
        kind, s = item[0], item[1]
        if kind == "text":
            s = re.sub(r"\s+", "", s)
            if not s:
                continue
            if merged and merged[-1][0] == "text":
                merged[-1] = ("text", merged[-1][1] + s)
                continue
            item = ("text", s)
        merged.append(item)
    return merged


def _format(s):
    """(decimals, exponent) of the float token s."""
    m = re.fullmatch(r"[-+]?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?", s)
    return len(m.group(2) or ""), int(m.group(3) or 0)


def _rounding_unit(got, want):
    """One unit of the last digit when both tokens look fixed-format (the same number of
    decimals, at least 2, and the same exponent: "%.2f", "%.4f"), where two values a hair
    apart may round to neighbouring last digits; 0 otherwise (NumPy's shortest digits)."""
    (dg, eg), (dw, ew) = _format(got), _format(want)
    return 10.0 ** (eg - dg) if (dg, eg) == (dw, ew) and dg >= 2 else 0.0


def numbers_agree(got, want, rtol=RTOL, atol=ATOL):
    is_int = lambda s: re.fullmatch(r"[-+]?\d+", s) is not None
    if is_int(got) and is_int(want):
        return int(got) == int(want)
    a, b = float(got), float(want)
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return (math.isnan(a) and math.isnan(b)) or a == b
    tol = max(rtol * max(abs(a), abs(b)), atol, 1.01 * _rounding_unit(got, want))
    return abs(a - b) <= tol


def compare(got, want, atol=ATOL):
    """None when the outputs agree, else a message showing the first difference."""
    g, w = tokens(got), tokens(want)
    for i, (x, y) in enumerate(zip(g, w)):
        ok = x[0] == y[0] and (numbers_agree(x[1], y[1], max(x[2], y[2]), atol) if x[0] == "num"
                               else x[1] == y[1])
        if not ok:
            ctx = lambda t: "".join(item[1] for item in t[max(0, i - 6):i + 3])
            return "item %d differs: gradtape %r, TensorFlow %r\n  gradtape:   ...%s\n  TensorFlow: ...%s" % (
                i, x[1], y[1], ctx(g), ctx(w))
    if len(g) != len(w):
        return "gradtape printed %d items, TensorFlow %d; next: %r" % (
            len(g), len(w), (g[len(w):] or w[len(g):])[:3])
    return None


@functools.lru_cache(maxsize=None)
def run(name, attempt=0):
    """stdout of tests/tf_programs/<name>.py under gradtape, in a fresh temporary directory."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([sys.executable, str(HERE / (name + ".py"))], cwd=d, env=env,
                           capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, "%s failed under gradtape:\n%s" % (name, r.stderr[-4000:])
    return r.stdout


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_prints_tensorflows_numbers(name):
    first = (HERE / (name + ".py")).read_text().split("\n", 1)[0]
    assert first == "import gradtape as tf"
    want = (HERE / (name + ".expected.txt")).read_text()
    problem = compare(run(name), want)
    assert problem is None, problem


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_repeats_itself_exactly(name):
    assert run(name, attempt=1) == run(name)


def test_compare_ignores_layout_and_prefix_but_not_numbers():
    tf_out = "tf.Tensor(\n[[1. 2.]\n [3. 4.]], shape=(2, 2), dtype=float32)\nW=4.62 b=0.38\n"
    gt_out = "gt.Tensor([[1. 2.]\n [3. 4.]], shape=(2, 2), dtype=float32)\nW=4.62 b=0.37\n"
    assert compare(gt_out, tf_out) is None  # one unit of the last digit of "%.2f"
    assert compare("0.5\n", "0.6\n") is not None  # NumPy's shortest digits: no such unit
    assert compare(gt_out.replace("0.37", "0.36"), tf_out) is not None
    assert compare(gt_out.replace("4.]]", "4.00001]]"), tf_out) is None
    assert compare(gt_out.replace("4.]]", "4.001]]"), tf_out) is not None
    assert compare(gt_out.replace("shape=(2, 2)", "shape=(2, 3)"), tf_out) is not None
    assert compare(gt_out + "extra\n", tf_out) is not None
    assert compare("[seeded] x=0.123 ckpt-1\n", "[seeded] x=0.987 ckpt-1\n") is None
    assert compare("[seeded] x=0.123 ckpt-1\n", "[seeded] y=0.987 ckpt-1\n") is not None
    assert compare("w:0 dense_1 float32 5\n", "w:0 dense_1 float32 6\n") is not None
    assert tokens("information nan") == [("text", "information"), ("num", "nan", RTOL)]
    assert compare("[rtol=1e-3] g: 4.5396e-05\n", "[rtol=1e-3] g: 4.5417e-05\n") is None
    assert compare("g: 4.5396e-05\n", "g: 4.5417e-05\n") is not None
