"""Never worse than TensorFlow at extreme inputs: every float-differentiable op's value,
gradient and second derivative, in float32 and float64, against TensorFlow 2.21's answers and
mpmath's exact ones, both stored in tests/reference/tf_extremes.json (no TensorFlow needed).

The ops, their inputs and the way they are called come from
tests/reference/extremes_catalogue.py, shared with the generator
tests/reference/make_extremes.py (which has the command to regenerate the data).

The rule, element by element (y = gradtape, t = TensorFlow, e = exact when stored):
- y == t (NaN == NaN, same-signed infinities, and +0 == -0: the sign of a zero result is
  not checked, TF itself is not consistent about it), or y is e rounded to the dtype: pass.
- t finite: y must be finite and, with e, |y - e| <= max(|t - e|, 4 eps |e|, tiny) (never
  further from the exact answer than TF, up to 4 ulp); without e, |y - t| <= tiny + rtol |t|
  (rtol 1e-5 in float32, 1e-12 in float64).
- t NaN or inf (and y differs): with e, y must be right: |y - e| <= max(4 eps |e|, tiny);
  without e, only if the point is in BETTER_THAN_TF below, which says why.
- e stored as NaN means NaN is a right answer (a NaN input, log or sqrt of a negative
  number, a negative base to a non-integer power, fmod by 0): y = NaN passes, any other y is
  judged against TF as where no e is stored.
- Where the chain rule computes a difference of terms that cancels (softmax's gradient,
  d/dx sum(softmax) = 0, ...), the catalogue's `cancel` gives the size of the terms and the
  4 ulp are of that size (neither library can do better than an ulp of the terms).
- A gradient TF returns as None must be None in gradtape too (zeros only for the ops of
  ZEROS_FOR_NONE, where gradtape documents them: a warning). A gradtape None where TF has
  all zeros (relu's second derivative) is a warning, and a failure where TF has any non-zero
  value.
The failure message lists the worst mismatches (case, order, inputs, gradtape, TF, exact).
"""
import json
import math
import pathlib
import sys
import warnings

import numpy as np
import pytest

import gradtape as gt

REF = pathlib.Path(__file__).resolve().parent / "reference"
sys.path.insert(0, str(REF))
import extremes_catalogue as C  # noqa: E402

DATA = json.loads((REF / "tf_extremes.json").read_text())
RTOL = {"float32": 1e-5, "float64": 1e-12}
ULPS = 4
MAX_SHOWN = 30


def _subnormal(v, dtype):
    return v != 0 and abs(v) < np.finfo(dtype).tiny


# Points where TF's answer is NaN or inf, no exact answer is stored (or NaN is one), and
# gradtape's different answer is accepted as better; and (tf_flushes=True) points where TF's
# answer is right only because TF's CPU kernels flush a subnormal input to zero, and gradtape,
# which keeps it, overflows into a NaN (each entry says why). Each entry: op, dtypes, order ("value",
# "grad", "grad2"), a predicate on the element's inputs (a float, or a tuple for binary ops)
# and the dtype, and why. test_allow_list_entries_are_used fails when an entry no longer
# excuses anything.
BETTER_THAN_TF = [
    dict(op="floormod", dtypes=("float32", "float64"), order="grad",
         where=lambda xy, dtype: _subnormal(xy[0], dtype) and xy[1] == 0,
         why="d/dy floormod(x, y) = -floor(x / y) at y = +-0: TF flushes the subnormal x to 0 "
             "(0 / 0 = NaN), while for every normal x (0.5, 1, 2, ...) TF itself gives "
             "-floor(x / +-0) = -+inf, as gradtape does here."),
    dict(op="cumprod", dtypes=("float32", "float64"), order="grad",
         where=lambda x, dtype: True,
         why="d sum(cumprod(x)) / dx_0 = 1 + x_1 + x_1 x_2 at x = [-inf, -inf, -inf]: the expanded "
             "sum is inf - inf (no exact answer is recorded, TF's division gives NaN); gradtape's "
             "recurrence evaluates it as 1 + x_1 (1 + x_2), the limit as the inputs go to -inf "
             "together (+inf). Only such points, where TF is not finite and no exact answer exists, "
             "are excused."),
    # (tf_flushes: TF's answer is finite only because its CPU kernels flush the subnormal input
    # to zero; the exact answer is infinite)
    dict(op="xdivy", dtypes=("float32", "float64"), order="grad2", tf_flushes=True,
         where=lambda xy, dtype: _subnormal(xy[0], dtype) and xy[1] == 0,
         why="d2/dy2 xdivy(x, y) = 2 x / y^3 at a subnormal x and y = +-0: exactly +-inf; TF reads x "
             "as 0 (so 0). gradtape's chain rule multiplies the infinite d/d(y^2) by d(y^2)/dy = 2y = 0: "
             "NaN, the indeterminate form the one-sided infinity stands in for."),
    dict(op="divide_no_nan", dtypes=("float32", "float64"), order="grad2", tf_flushes=True,
         where=lambda xy, dtype: xy[0] == 0 and _subnormal(xy[1], dtype),
         why="d2/dy2 div_no_nan(x, y) = 2 x / y^3 = 0 at x = +-0 and a subnormal y; TF reads y as 0 (so "
             "0). gradtape's chain rule (TF's rule, in ops) meets 1/y = inf (overflow) times the 0 of "
             "x = 0: NaN. A known limitation at subnormal divisors only."),
]
_ALLOW_USED = set()

# Ops whose rules return zeros where TF returns None (a documented gradtape choice); empty:
# gradtape returns None wherever TF does. A zero tensor where TF has None fails otherwise.
ZEROS_FOR_NONE = {}


def decode(tokens, dtype=np.float64):
    """A stored list -> (float array, mask of the entries that are not None)."""
    vals, known = [], []
    for v in tokens:
        if v is None:
            vals.append(np.nan)
            known.append(False)
        else:
            known.append(True)
            if isinstance(v, str):
                vals.append({"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "-0": -0.0}[v])
            else:
                vals.append(float(v))
    return np.array(vals, dtype=np.float64).astype(dtype), np.array(known, dtype=bool)


def decode_arg(a):
    dt = a["dtype"]
    if dt in ("bool", "int32", "int64"):
        arr = np.array(a["data"], dtype=dt)
    else:
        arr, _ = decode(a["data"], np.dtype(dt).type)
    return arr.reshape(a["shape"])


def round_to(e, dt):
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return e.astype(dt).astype(np.float64)


def bad_elements(y, t, e, known, dt, scale=0.0):
    """Indices where gradtape's y breaks the rule against TF's t and the exact e (float64
    arrays; `known` marks the entries of e that exist). A known NaN means that NaN is a right
    answer (a NaN input, or a point outside the real domain): a NaN passes, anything else is
    compared with TF as where no exact answer is stored. `scale`: the size of the terms of a
    sum that cancels (an exact answer near 0 is checked to 4 ulp of that size).
    Also returns the mask of the elements an allow-list entry may excuse (TF not finite, no
    exact answer)."""
    fi = np.finfo(dt)
    eps, tiny = float(fi.eps), float(fi.tiny)
    with np.errstate(all="ignore"):
        nan_ok = known & np.isnan(e)
        known = known & ~np.isnan(e)
        same = ((np.isnan(y) & np.isnan(t)) | (y == t)
                | (known & (y == round_to(e, dt))) | (nan_ok & np.isnan(y)))
        err_t = np.abs(t - e)
        err_y = np.abs(y - e)
        tol_e = np.maximum(ULPS * eps * np.maximum(np.abs(e), scale), tiny)
        t_fin = np.isfinite(t)
        # TF finite: y finite and not further from e than TF (up to 4 ulp); without e, close to TF
        ok_fin = np.isfinite(y) & np.where(known, (err_y <= np.maximum(err_t, tol_e)) | np.isinf(e),
                                           np.abs(y - t) <= tiny + RTOL[np.dtype(dt).name] * np.abs(t))
        # TF NaN or inf: y must be right (exact known)
        ok_nonfin = known & np.isfinite(y) & (err_y <= tol_e)
        ok = same | np.where(t_fin, ok_fin, ok_nonfin)
    return np.nonzero(~ok)[0], (~same & ~t_fin & ~known)


def _vec(a):
    """A short text of an array: each number in the shortest digits of its dtype."""
    a = np.asarray(a)
    if a.ndim == 0:
        return str(a[()])
    return "[" + ", ".join(_vec(v) for v in a) + "]"


def element_values(name, args, idx):
    """The inputs of element idx of an elementwise op (a float, or a tuple), else None."""
    kind = C.CATALOGUE[name]["kind"]
    if kind in ("unary", "composite", "cast", "clip", "where") or (kind == "binary" and name != "matmul"):
        vals = tuple(a.ravel()[idx].item() for a in args)
        return vals if len(vals) > 1 else vals[0]
    return None


def element_inputs(name, case, args, out_shape, idx, is_value):
    """What to print about the inputs of element idx of an output of out_shape."""
    kind = C.CATALOGUE[name]["kind"]
    floats = [a for a in args if a.dtype.kind == "f"]
    if element_values(name, args, idx) is not None:
        vals = [_vec(a.ravel()[idx]) for a in args]
        return vals[0] if len(vals) == 1 else "(%s)" % ", ".join(vals)
    if kind in ("rows", "xent"):
        logits = floats[-1]
        row = idx // logits.shape[-1] if len(out_shape) == 2 else idx
        extra = "" if kind == "rows" else " label %s" % _vec(args[0][row])
        col = " col %d" % (idx % logits.shape[-1]) if len(out_shape) == 2 else ""
        return "row %s%s%s" % (_vec(logits[row]), extra, col)
    if kind == "reduce":
        x, axis = floats[0], case["kw"]["axis"] % floats[0].ndim
        if is_value:
            group = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])[idx]
            return "%s" % _vec(group)
        where = np.unravel_index(idx, x.shape)
        group = x[tuple(slice(None) if d == axis else where[d] for d in range(x.ndim))]
        return "%s elem %d" % (_vec(group), where[axis])
    return "%s elem %d" % (" @ ".join(_vec(a) for a in floats), idx)


def allowed(name, dtype, order, inputs, flushed=False):
    for k, entry in enumerate(BETTER_THAN_TF):
        if (entry["op"] == name and dtype in entry["dtypes"] and entry["order"] == order
                and entry.get("tf_flushes", False) == flushed and entry["where"](inputs, dtype)):
            _ALLOW_USED.add(k)
            return True
    return False


def check_array(name, dtype, case, args, label, order, y, t_tokens, e_tokens, out_dt, problems):
    t, _ = decode(t_tokens)
    t = round_to(t, out_dt)  # TF's answers are numbers of the dtype
    if e_tokens is None:
        e, known = np.full(t.shape, np.nan), np.zeros(t.shape, bool)
    else:
        e, known = decode(e_tokens)
    out_shape = np.shape(y)
    y = np.asarray(y, dtype=np.float64).ravel()
    if y.shape != t.shape:
        problems.append((name, dtype, case["case"], label, "shape", y.shape, t.shape, None))
        return
    scale = C.CATALOGUE[name].get("cancel", {}).get(order, 0.0)
    bad, need_allow = bad_elements(y, t, e, known, out_dt, scale)
    for i in bad:
        flushed = bool(np.isfinite(t[i]) and known[i])  # (only entries marked tf_flushes apply)
        if (need_allow[i] or flushed) and allowed(name, dtype, order, element_values(name, args, i), flushed):
            continue
        inputs = element_inputs(name, case, args, out_shape, i, order == "value")
        problems.append((name, dtype, case["case"], label, inputs, y[i], t[i], e[i] if known[i] else None))


def check_gradient(name, dtype, case, args, label, order, g, t_tokens, e_tokens, problems, notes):
    if t_tokens is None:
        if g is not None:
            if np.all(np.asarray(g) == 0) and name in ZEROS_FOR_NONE:
                notes.append("%s %s %s %s: TF None, gradtape zeros" % (name, dtype, case["case"], label))
            else:
                problems.append((name, dtype, case["case"], label, "TF None, gradtape not None",
                                 _vec(g.ravel()[:6]), None, None))
        return
    if g is None:
        t, _ = decode(t_tokens)
        if np.all(t == 0):
            notes.append("%s %s %s %s: TF zeros, gradtape None" % (name, dtype, case["case"], label))
        else:
            problems.append((name, dtype, case["case"], label, "gradtape None", None, t[:6], None))
        return
    if str(g.dtype) != dtype:
        problems.append((name, dtype, case["case"], label, "dtype", str(g.dtype), dtype, None))
    check_array(name, dtype, case, args, label, order, g, t_tokens, e_tokens, np.dtype(dtype).type, problems)


def fmt(v, dtype, exact=False):
    """A number in the shortest digits of its dtype (an exact one to 12 digits in float32)."""
    if v is None:
        return "None"
    if isinstance(v, (float, np.floating)):
        if exact:
            return "%.12g" % v if dtype == "float32" else repr(float(v))
        with np.errstate(over="ignore"):
            return str(np.dtype(dtype).type(v))
    return str(v)


def check_op(name, dtype):
    problems, notes = [], []
    entry = C.CATALOGUE[name]
    for case in DATA["ops"][name][dtype]:
        args = [decode_arg(a) for a in case["args"]]
        assert "tf_error" not in case, "TF raised: %s" % case["tf_error"]
        try:
            r = C.run_case(gt, name, "gt", args, case["kw"], dtype)
        except Exception as ex:  # noqa: BLE001 (reported as a failure of this case)
            problems.append((name, dtype, case["case"], "run", "raised", "%s: %s" % (type(ex).__name__, ex),
                             None, None))
            continue
        exact = case.get("exact") or {}
        out_dt = np.dtype(("float64" if dtype == "float32" else "float32") if name == "cast" else dtype).type
        if str(r["value"].dtype) != np.dtype(out_dt).name:
            problems.append((name, dtype, case["case"], "value", "dtype", str(r["value"].dtype),
                             np.dtype(out_dt).name, None))
        if list(r["value"].shape) != case["vshape"]:
            problems.append((name, dtype, case["case"], "value", "shape", r["value"].shape, case["vshape"], None))
            continue
        check_array(name, dtype, case, args, "value", "value", r["value"], case["value"], exact.get("value"),
                    out_dt, problems)
        ex_g = exact.get("grad") or [None] * len(entry["diff"])
        ex_h = exact.get("grad2") or [[None] * len(entry["diff"])] * len(entry["diff"])
        for i, d in enumerate(entry["diff"]):
            check_gradient(name, dtype, case, args, "grad[%d]" % d, "grad", r["grad"][i], case["grad"][i], ex_g[i],
                           problems, notes)
            for j, d2 in enumerate(entry["diff"]):
                check_gradient(name, dtype, case, args, "grad2[%d][%d]" % (d, d2), "grad2", r["grad2"][i][j],
                               case["grad2"][i][j], ex_h[i][j], problems, notes)
    return problems, notes


def severity(p):
    _, _, _, _, _, y, t, e = p
    try:
        y, t = float(y), float(t)
    except (TypeError, ValueError):
        return math.inf
    ref = e if e is not None else t
    if not (math.isfinite(y) and math.isfinite(ref)):
        return math.inf
    return abs(y - ref) / max(abs(ref), 1e-300)


OP_DTYPES = [(n, d) for n in C.CATALOGUE for d in C.DTYPES]


@pytest.mark.parametrize("name,dtype", OP_DTYPES, ids=["%s-%s" % p for p in OP_DTYPES])
def test_never_worse_than_tf(name, dtype):
    problems, notes = check_op(name, dtype)
    for n in notes:
        warnings.warn(n)
    if problems:
        problems.sort(key=severity, reverse=True)
        counts = {}
        for p in problems:
            counts[(p[2], p[3])] = counts.get((p[2], p[3]), 0) + 1
        lines = ["%d mismatches in %s %s (by case and order: %s)" % (
                     len(problems), name, dtype, ", ".join("%s %s: %d" % (c, o, n) for (c, o), n in counts.items())),
                 "worst first (case, order, input, gradtape, TF, exact):"]
        for p in problems[:MAX_SHOWN]:
            _, _, case, label, inputs, y, t, e = p
            odt = ("float64" if dtype == "float32" else "float32") if (name == "cast" and label == "value") else dtype
            lines.append("  %-18s %-13s input=%s  gt=%s  tf=%s  exact=%s" % (
                case, label, inputs, fmt(y, odt), fmt(t, odt), fmt(e, odt, exact=True)))
        pytest.fail("\n".join(lines), pytrace=False)


def test_catalogue_covers_every_differentiable_op():
    diff_ops = {n for n, d in gt._core.op_table() if d}
    covered = {n for n in C.CATALOGUE} | set(C.NOT_IN_CATALOGUE)
    assert diff_ops <= covered, "ops missing from extremes_catalogue.py: %s" % sorted(diff_ops - covered)
    assert set(DATA["ops"]) == set(C.CATALOGUE), "regenerate tf_extremes.json (make_extremes.py)"
    for name, e in C.CATALOGUE.items():
        C.resolve(gt, e["gt"])


def test_allow_list_entries_are_used():
    """Every BETTER_THAN_TF entry names an op and order of the catalogue, says why, and still
    excuses at least one point (a stale entry would hide a future regression)."""
    for k, entry in enumerate(BETTER_THAN_TF):
        assert entry["op"] in C.CATALOGUE and entry["order"] in ("value", "grad", "grad2") and entry["why"]
        _ALLOW_USED.discard(k)
        for dtype in entry["dtypes"]:
            check_op(entry["op"], dtype)
        assert k in _ALLOW_USED, "BETTER_THAN_TF entry %d (%s) excuses nothing any more: remove it" % (
            k, entry["op"])
