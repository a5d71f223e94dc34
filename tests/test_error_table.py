"""The error table: every misuse case of tests/reference/error_catalogue.py (the tape,
custom_gradient, the ops, tensors and variables) raises in gradtape exactly the exception type
TensorFlow 2.21 raises, as stored in tests/reference/tf_errors.json (no TensorFlow needed):
a builtin by that very class (`type(e) is ValueError`, not a subclass), TensorFlow's
tf.errors.X as gt.errors.X. Where TensorFlow returns, gradtape returns too. The rows of
error_catalogue.DELIBERATE are gradtape's documented differences: they must still differ
(an entry that no longer does is stale) and give the outcome recorded there.

docs/errors.md is generated from the same data; regenerate it with

    python tests/test_error_table.py --write-doc
"""
import builtins
import json
import pathlib
import sys
import warnings

import pytest

import gradtape as gt

HERE = pathlib.Path(__file__).resolve().parent
REF = HERE / "reference"
DOC = HERE.parent / "docs" / "errors.md"
sys.path.insert(0, str(REF))
import error_catalogue as C  # noqa: E402

DATA = json.loads((REF / "tf_errors.json").read_text())
TF = DATA["cases"]


def expected_class(kind):
    """The gradtape class for a kind: a builtin's own class, or gt.errors.NAME."""
    if kind.startswith("errors."):
        return getattr(gt.errors, kind[len("errors."):])
    assert "." not in kind, "no gradtape class stands for %s" % kind
    return getattr(builtins, kind)


def run_gradtape(fn):
    """(exception or None, outcome) of one case under gradtape."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(gt)
        except Exception as e:  # noqa: BLE001
            return e, C.outcome(fn, gt)
    return None, C.outcome(fn, gt)


def test_the_stored_data_covers_the_catalogue():
    ids = [c["id"] for c in C.CASES]
    assert sorted(TF) == sorted(ids), "tf_errors.json is out of date: run " + DATA["header"]["command"]
    assert DATA["header"]["tensorflow"].startswith("2.21")
    assert set(C.DELIBERATE) <= set(ids)
    assert len(ids) > 150


@pytest.mark.parametrize("case", C.CASES, ids=[c["id"] for c in C.CASES])
def test_gradtape_raises_tensorflows_type(case):
    tf_row = TF[case["id"]]
    exc, outcome = run_gradtape(case["fn"])
    if case["id"] in C.DELIBERATE:
        want, why = C.DELIBERATE[case["id"]]
        tf_kind = tf_row.get("raises", "returns")
        assert tf_kind != want, "stale DELIBERATE entry: gradtape now matches TensorFlow (%s)" % why
        got = outcome.get("raises", "returns")
        assert got == want, (got, outcome)
        if exc is not None:
            assert type(exc) is expected_class(want)
        return
    if "returns" in tf_row:
        assert exc is None, "TensorFlow returns %s, gradtape raises %r" % (tf_row["returns"], exc)
        return
    want = expected_class(tf_row["raises"])
    assert exc is not None, "TensorFlow raises %s (%s), gradtape returns %s" % (
        tf_row["raises"], tf_row["message"], outcome["returns"])
    assert type(exc) is want, "TensorFlow raises %s (%s), gradtape %s: %s" % (
        tf_row["raises"], tf_row["message"], type(exc).__module__ + "." + type(exc).__name__, exc)


def test_the_kind_names_read_back_as_the_classes():
    assert C.kind(gt.errors.InvalidArgumentError) == "errors.InvalidArgumentError"
    assert C.kind(gt.errors.UnconnectedGradientsError) == "errors.UnconnectedGradientsError"
    assert C.kind(ValueError) == "ValueError"
    assert expected_class("ValueError") is ValueError
    assert expected_class("errors.ResourceExhaustedError") is gt.errors.ResourceExhaustedError
    with pytest.raises(AssertionError):
        expected_class("keras.SomeError")


def gradtape_rows():
    return {c["id"]: run_gradtape(c["fn"])[1] for c in C.CASES}


def render():
    return C.render_markdown(TF, gradtape_rows(), DATA["header"]["tensorflow"])


def test_docs_errors_md_is_up_to_date():
    text = render()
    assert "| entering a tape that is already active | `ValueError` | `ValueError` |" in text
    assert DOC.read_text() == text, "docs/errors.md is out of date: run python tests/test_error_table.py --write-doc"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write-doc"]:
        sys.exit("usage: python tests/test_error_table.py --write-doc")
    DOC.write_text(render())
    print("wrote", DOC)
