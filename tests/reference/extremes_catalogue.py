"""The catalogue of the extreme-input differential test (tests/test_extremes.py).

One entry per float-differentiable public op of gradtape: its TensorFlow name, its gradtape
name, its arity, which inputs are differentiated, which input set it is tried on, and whether
make_extremes.py knows an exact (mpmath) value for it. The module needs NumPy only (neither
TensorFlow nor gradtape): make_extremes.py runs it with `ns = tensorflow` to record the answers
in tf_extremes.json, and test_extremes.py runs it with `ns = gradtape` to compare. Both go
through `run_case`, so the two sides make exactly the same calls (the APIs are the same).

What is recorded for each case: the forward value y; the gradient of reduce_sum(y * W) with
respect to each differentiable input (W = 1 except for softmax/log_softmax, whose plain sum
is constant, see ROW_W); and the second derivative H[i][j] = gradient of
reduce_sum(grad_i * V) with respect to input j (V = 1 except for the row ops, see ROW_V),
with nested tapes. A gradient the library returns as None is recorded as None.
"""
import numpy as np

DTYPES = ("float32", "float64")

# Each entry: kind (how the op is called, see `call`), tf / gt (dotted names under the
# module), arity (tensor inputs), diff (indices of the differentiable inputs), values (the
# input set, see `cases`), exact (make_extremes.py has mpmath formulas for the value, the
# gradient and the second derivative), and optionally cancel: per order ("grad", "grad2"),
# the size of the terms of a difference the chain rule computes and that cancels (softmax's
# s * (w - sum(w s)), the naive softplus's second derivative, d/dx sum(softmax) = 0): an
# exact answer near 0 is then checked to 4 ulp of that size, as neither library can do better.
_ARITY_DIFF = {"unary": (1, (0,)), "cast": (1, (0,)), "clip": (1, (0,)), "composite": (1, (0,)),
               "reduce": (1, (0,)), "rows": (1, (0,)), "binary": (2, (0, 1)), "xent": (2, (1,)),
               "where": (3, (1, 2)), "scan": (1, (0,))}


def _op(kind, tf, gt, values, exact=True, **more):
    arity, diff = _ARITY_DIFF[kind]
    return dict(kind=kind, tf=tf, gt=gt, arity=arity, diff=diff, values=values, exact=exact, **more)


def _unary(tf, gt):
    return _op("unary", tf, gt, "unary")


def _binary(name):
    return _op("binary", "math." + name, name, "grid")


def _reduce(name, **more):
    return _op("reduce", "math." + name, name, "reduce", **more)


CATALOGUE = {
    # ---- elementwise unary: the whole value vector at once
    **{n: _unary("math." + n, n) for n in (
        "negative", "abs", "sign", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "square",
        "reciprocal", "sin", "cos", "tan", "tanh", "sigmoid")},
    "relu": _unary("nn.relu", "nn.relu"),
    "softplus": _unary("math.softplus", "nn.softplus"),
    "log_sigmoid": _unary("math.log_sigmoid", "math.log_sigmoid"),
    # floor has no gradient in either library (None): its value is still checked
    "floor": _unary("math.floor", "floor"),
    # ---- more elementwise math (issue 11): TF's tf.math names on both sides
    **{n: _unary("math." + n, "math." + n) for n in (
        "erfc", "erfinv", "atan", "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh", "lgamma", "digamma",
        "round", "rint", "ceil")},
    "selu": _unary("nn.selu", "nn.selu"),
    "relu6": _unary("nn.relu6", "nn.relu6"),
    "gelu": _unary("nn.gelu", "nn.gelu"),
    "silu": _unary("nn.silu", "nn.silu"),
    "leaky_relu": _unary("nn.leaky_relu", "nn.leaky_relu"),
    # float32 -> float64 and float64 -> float32 (the other dtype)
    "cast": _op("cast", "cast", "cast", "unary"),
    # clip_by_value(x, lo, hi) with Python-float bounds (case kw)
    "clip_by_value": _op("clip", "clip_by_value", "clip_by_value", "clip"),
    # ---- elementwise binary: a 12 x 12 grid of pairs, as two vectors
    **{n: _binary(n) for n in (
        "add", "subtract", "multiply", "divide", "truediv", "pow", "maximum", "minimum", "floormod")},
    # (TF's rules; the exact answers take their zeros where an input is 0 as the definition)
    **{n: _op("binary", "math." + n, "math." + n, "grid") for n in (
        "atan2", "xlogy", "xdivy", "xlog1py", "multiply_no_nan", "divide_no_nan")},
    "squared_difference": _op("binary", "math.squared_difference", "math.squared_difference", "grid"),
    # ---- reductions over the last axis (one case per vector) and one 2-d case over axis 0
    **{n: _reduce(n) for n in ("reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod")},
    "reduce_logsumexp": _reduce("reduce_logsumexp", cancel={"grad2": 1.0}),
    # ---- row ops over the last axis of a [rows, 4] batch
    "softmax": _op("rows", "nn.softmax", "nn.softmax", "rows", cancel={"grad": 4.0, "grad2": 12.0}),
    "log_softmax": _op("rows", "nn.log_softmax", "nn.log_softmax", "rows", cancel={"grad": 10.0, "grad2": 12.0}),
    # (labels, logits): labels fixed, logits differentiated; masked classes (-inf, label 0)
    "softmax_cross_entropy_with_logits": _op(
        "xent", "nn.softmax_cross_entropy_with_logits", "nn.softmax_cross_entropy_with_logits", "xent",
        cancel={"grad": 1.0, "grad2": 3.0}),
    "sparse_softmax_cross_entropy_with_logits": _op(
        "xent", "nn.sparse_softmax_cross_entropy_with_logits", "nn.sparse_softmax_cross_entropy_with_logits",
        "sparse_xent", cancel={"grad": 1.0, "grad2": 3.0}),
    # ---- where(cond, x, y): both branches differentiated; the untaken one holds inf/nan
    "where": _op("where", "where", "where", "where", exact=False),
    # where() guarding a branch that is inf or nan where it is not taken (structural zeros);
    # the callable is COMPOSITES[name] in both libraries
    "where_sqrt": _op("composite", "where", "where", "unary"),
    "where_log": _op("composite", "where", "where", "unary"),
    "where_softplus": _op("composite", "where", "where", "unary", cancel={"grad2": 1.0}),
    # ---- matmul of 2 x 2 matrices holding extremes (one case per pair)
    "matmul": _op("binary", "linalg.matmul", "matmul", "matmul"),
    # ---- scans along the last axis (and one 2-d case along axis 0), on the reductions' vectors
    "cumsum": _op("scan", "math.cumsum", "cumsum", "reduce"),
    "cumprod": _op("scan", "math.cumprod", "math.cumprod", "reduce"),
}

# Differentiable primitives of gradtape._core.op_table() that the catalogue leaves out, and why.
NOT_IN_CATALOGUE = {
    # they move or copy values and do no arithmetic: extremes pass through bit for bit
    "transpose": "moves values", "reshape": "moves values", "broadcast_to": "copies values",
    "concat": "moves values", "gather": "copies values", "gather_grad": "gather's rule",
    "strided_slice": "copies values", "strided_slice_grad": "strided_slice's rule",
    # not public: the rule of reduce_prod (the product of the other elements), checked
    # through reduce_prod's gradient and second derivative
    "prod_others": "reduce_prod's rule",
    "prod_others_grad": "reduce_prod's second-order rule",
    "tile": "copies values", "pad": "copies values", "pad_grad": "pad's rule (sums copies)",
    "reverse": "moves values", "roll": "moves values", "gather_nd": "copies values",
    "scatter_nd": "adds values (scatter_nd's sum is reduce_sum's arithmetic)",
    "tensor_scatter_nd": "copies or adds values",
    # the rule of cumprod (a linear recurrence), checked through cumprod's gradient and second
    # derivative here
    "linear_scan": "cumprod's rule",
    # max/min of groups: reduce_max/reduce_min's arithmetic, whose extremes are in CATALOGUE
    "segment_extremum": "segment_max/min: reduce_max/reduce_min's arithmetic per segment",
    # new ops whose TensorFlow answers are not recorded yet: move each to CATALOGUE and rerun
    # make_extremes.py in the TensorFlow environment
    "erf": "pending TF reference (math.erf: _unary('math.erf', 'math.erf'))",
    # not public: digamma's rule (polygamma(n + 1) is its own), checked through lgamma's and
    # digamma's second derivatives here
    "polygamma_n": "digamma's rule",
    # public polygamma: its values (extremes, poles, orders that are not non-negative
    # integers, huge orders) are compared with TensorFlow's in tests/test_polygamma.py
    "polygamma": "tests/test_polygamma.py compares it with TensorFlow",
    # special functions whose values and gradients at their extremes (domain ends, tiny and
    # huge inputs, infinities, NaN) are compared with TensorFlow's in tests/test_special.py
    "erfcinv": "tests/test_special.py", "ndtri": "tests/test_special.py",
    "bessel_i0": "tests/test_special.py", "bessel_i0e": "tests/test_special.py",
    "bessel_i1": "tests/test_special.py", "bessel_i1e": "tests/test_special.py",
    "cumulative_logsumexp": "tests/test_special.py", "zeta": "tests/test_special.py",
    "betainc": "tests/test_special.py",
    # convolutions' and pools' patches: they copy values into columns and sum them back
    # (conv2d's arithmetic is matmul's, whose extremes are in CATALOGUE)
    "im2col": "copies values into patches", "col2im": "sums patches back (im2col's rule)",
    "conv2d_nhwc": "im2col and matmul block by block (the same sgemm on the same patches)",
    "max_pool_nhwc": "picks each window's first largest element, as the gather it replaced (NaN wins)",
    # matrix factorizations: extremes of single elements say little about them; their values,
    # gradients and second derivatives are compared with TensorFlow's in tests/test_linalg.py
    # (tests/reference/tf_linalg.json), singular and non-finite inputs there too
    **{n: "a matrix op: tests/test_linalg.py compares it with TensorFlow" for n in (
        "inv", "det", "slogdet", "solve", "triangular_solve", "cholesky", "eigh_packed", "qr_packed", "svd_packed")},
}

# Upstream weights: for softmax, reduce_sum(y) is the constant 1, and the gradient of
# reduce_sum(grad) is 0 for softmax, log_softmax and the cross-entropies alike (shift
# invariance), so the row ops use reduce_sum(y * ROW_W), and the row ops and the
# cross-entropies reduce_sum(grad * ROW_V). Small integers: exact in both dtypes.
ROW_W = (1.0, 2.0, 3.0, 4.0)
ROW_V = (2.0, -1.0, 1.0, 3.0)


# --------------------------------------------------------------------------- composites

def where_sqrt(ns, x):
    """sqrt guarded at x <= 0 (sqrt's derivative is inf at 0, nan below)."""
    return ns.where(ns.math.greater(x, 0.0), ns.math.sqrt(x), ns.zeros_like(x))


def where_log(ns, x):
    """log guarded at x <= 0."""
    return ns.where(ns.math.greater(x, 0.0), ns.math.log(x), x)


def where_softplus(ns, x):
    """The seed notebook's 'safe' softplus: log(exp(x) + 1) overflows where it is not taken."""
    return ns.where(ns.math.greater(x, 30.0), x, ns.math.log(ns.math.exp(x) + 1.0))


COMPOSITES = {"where_sqrt": where_sqrt, "where_log": where_log, "where_softplus": where_softplus}


# --------------------------------------------------------------------------- inputs

def _consts(dtype):
    """The extreme constants of a dtype."""
    dt = np.dtype(dtype).type
    fi = np.finfo(dt)
    f32 = dt is np.float32
    return dict(
        dt=dt, denorm=float(fi.smallest_subnormal), tiny=float(fi.tiny), huge=float(fi.max),
        small=1e-30 if f32 else 1e-300,
        edges=(88.0, 89.0) if f32 else (709.0, 710.0),  # exp overflows between the two
        big=1e30 if f32 else 1e200,                     # big * big overflows, big * small does not
        bsmall=1e-30 if f32 else 1e-200,
    )


def unary_values(dtype):
    c = _consts(dtype)
    e1, e2 = c["edges"]
    inf, nan = np.inf, np.nan
    vals = [0.0, -0.0, c["denorm"], -c["denorm"], c["tiny"], -c["tiny"], c["small"], -c["small"],
            0.5, 1.0, -1.0, 2.0, -2.0, 10.0, -10.0, e1, e2, -e1, -e2, 1e10, -1e10,
            c["huge"], -c["huge"], inf, -inf, nan]
    return np.array(vals, dtype=c["dt"])


def grid_values(dtype):
    """The 12 values whose 144 pairs the binary ops see."""
    c = _consts(dtype)
    vals = [0.0, -0.0, c["denorm"], 0.5, 1.0, -1.0, 2.0, 1e10, c["huge"], np.inf, -np.inf, np.nan]
    return np.array(vals, dtype=c["dt"])


def reduce_vectors(dtype):
    c = _consts(dtype)
    B, b, H, inf, nan = c["big"], c["bsmall"], c["huge"], np.inf, np.nan
    return [
        ("big_big_small", [B, B, b]),
        ("nan_1_2", [nan, 1.0, 2.0]),
        ("1e7_x4", [1e7] * 4),
        ("0_0_1", [0.0, 0.0, 1.0]),
        ("0_2_3", [0.0, 2.0, 3.0]),
        ("-inf_0_1", [-inf, 0.0, 1.0]),
        ("inf_1_2", [inf, 1.0, 2.0]),
        ("all_-inf", [-inf, -inf, -inf]),
        ("all_huge", [H, H, H]),
        ("huge_-huge_1", [H, -H, 1.0]),
        ("denorm_x3", [c["denorm"], c["denorm"], c["denorm"]]),
        ("-0_-0_-1", [-0.0, -0.0, -1.0]),
    ]


def logit_rows(dtype):
    """Rows of 4 logits: the batch the row ops and the cross-entropies see at once."""
    c = _consts(dtype)
    e1, e2 = c["edges"]
    B, b, H, inf, nan = c["big"], c["bsmall"], c["huge"], np.inf, np.nan
    return [
        [0.0, 0.0, 0.0, 0.0],
        [1.0, 2.0, 3.0, 4.0],
        [H, 0.0, -H, 1.0],
        [-inf, 0.0, 1.0, 2.0],       # masked class (label 0 there)
        [-inf, -inf, 0.0, 1.0],      # two masked classes
        [0.0, 1.0, 2.0, -inf],       # -inf on a labelled class: infinite loss
        [inf, 0.0, 1.0, 2.0],
        [nan, 0.0, 1.0, 2.0],
        [1e7, 1e7, 1e7, 1e7],
        [e2, e1, -e2, 0.0],
        [B, -B, b, 0.0],
        [-inf, -inf, -inf, -inf],    # every class masked
        [c["denorm"], -c["denorm"], 0.0, c["tiny"]],
        [-1e10, 1e10, 0.0, 1.0],
    ]


def matmul_pairs(dtype):
    c = _consts(dtype)
    H, B, b, d, t, inf, nan = c["huge"], c["big"], c["bsmall"], c["denorm"], c["tiny"], np.inf, np.nan
    return [
        ("overflow", [[H, H], [1.0, -1.0]], [[1.0, 1.0], [1.0, 1.0]]),
        ("inf_times_0", [[inf, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]),
        ("cancel", [[B, -B], [b, 1.0]], [[1.0, 1.0], [1.0, 1.0]]),
        ("nan", [[nan, 1.0], [1.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]),
        ("subnormal", [[d, t], [0.5, 2.0]], [[0.5, 2.0], [d, t]]),
        ("big_small", [[B, b], [-B, 1.0]], [[B, 1.0], [b, -1.0]]),
    ]


def _arr(values, dtype):
    return np.array(values, dtype=np.dtype(dtype).type)


def cases(name, dtype):
    """The input cases of an op in a dtype: a list of (case name, [input arrays], kw)."""
    e = CATALOGUE[name]
    v = e["values"]
    if v == "unary":
        return [("all", [unary_values(dtype)], {})]
    if v == "clip":
        c = _consts(dtype)
        return [("lo-1_hi2", [unary_values(dtype)], {"lo": -1.0, "hi": 2.0}),
                ("lo0_hi0", [unary_values(dtype)], {"lo": 0.0, "hi": 0.0}),
                ("lo-huge_hihuge", [unary_values(dtype)], {"lo": -c["huge"], "hi": c["huge"]})]
    if v == "grid":
        g = grid_values(dtype)
        x, y = np.meshgrid(g, g, indexing="ij")
        return [("grid", [x.ravel().copy(), y.ravel().copy()], {})]
    if v == "reduce":
        out = [(n, [_arr(vec, dtype)], {"axis": -1}) for n, vec in reduce_vectors(dtype)]
        c = _consts(dtype)
        two_d = [[c["big"], np.nan, -np.inf, 1e7, 0.0, c["huge"]],
                 [c["big"], 1.0, 0.0, 1e7, -0.0, c["huge"]]]
        out.append(("2d_axis0", [_arr(two_d, dtype)], {"axis": 0}))
        return out
    if v == "rows":
        return [("rows", [_arr(logit_rows(dtype), dtype)], {})]
    if v == "xent":
        rows = _arr(logit_rows(dtype), dtype)
        onehot = np.zeros_like(rows)
        onehot[:, 2] = 1.0
        probs = np.tile(_arr([0.0, 0.0, 0.25, 0.75], dtype), (len(rows), 1))
        return [("onehot2", [onehot, rows], {}), ("probs_0_0_.25_.75", [probs, rows], {})]
    if v == "sparse_xent":
        rows = _arr(logit_rows(dtype), dtype)
        return [("label2", [np.full(len(rows), 2, np.int32), rows], {}),
                ("label3", [np.full(len(rows), 3, np.int32), rows], {})]
    if v == "where":
        x = unary_values(dtype)
        y = x[::-1].copy()
        cond = np.arange(len(x)) % 2 == 0
        return [("alternate", [cond, x, y], {}), ("all_x", [np.ones(len(x), bool), x, y], {})]
    if v == "matmul":
        return [(n, [_arr(a, dtype), _arr(b, dtype)], {}) for n, a, b in matmul_pairs(dtype)]
    raise KeyError(v)


# --------------------------------------------------------------------------- running

def resolve(ns, dotted):
    obj = ns
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def call(ns, name, side, xs, kw, dtype):
    """Calls op `name` of library `ns` (side 'tf' or 'gt') on the tensors xs."""
    e = CATALOGUE[name]
    kind = e["kind"]
    if kind == "composite":
        return COMPOSITES[name](ns, xs[0])
    f = resolve(ns, e[side])
    if kind in ("unary", "rows"):
        return f(xs[0])
    if kind == "binary":
        return f(xs[0], xs[1])
    if kind == "cast":
        return f(xs[0], ns.float64 if dtype == "float32" else ns.float32)
    if kind == "clip":
        return f(xs[0], kw["lo"], kw["hi"])
    if kind in ("reduce", "scan"):
        return f(xs[0], axis=kw["axis"])
    if kind == "xent":
        return f(labels=xs[0], logits=xs[1])
    if kind == "where":
        return f(xs[0], xs[1], xs[2])
    raise KeyError(kind)


def _np(t):
    return None if t is None else np.array(t.numpy())


def run_case(ns, name, side, args, kw, dtype):
    """Value, gradients and second derivatives of one case, with nested tapes.

    Returns dict(value, grad=[per diff input], grad2=[[d sum(grad_i * V) / d input_j]]),
    NumPy arrays or None."""
    e = CATALOGUE[name]
    diff = e["diff"]
    xs = [ns.constant(a) for a in args]
    src = [xs[i] for i in diff]
    rows = e["kind"] == "rows"
    v_weights = e["kind"] in ("rows", "xent")
    with ns.GradientTape(persistent=True) as outer:
        for s in src:
            outer.watch(s)
        with ns.GradientTape() as inner:
            for s in src:
                inner.watch(s)
            y = call(ns, name, side, xs, kw, dtype)
            if rows:
                loss = ns.math.reduce_sum(y * ns.constant(np.array(ROW_W, dtype=args[0].dtype)))
            else:
                loss = ns.math.reduce_sum(y)
        grads = inner.gradient(loss, src)
        sums = []
        for g in grads:
            if g is None:
                sums.append(None)
            elif v_weights:
                sums.append(ns.math.reduce_sum(g * ns.constant(np.array(ROW_V, dtype=args[diff[0]].dtype))))
            else:
                sums.append(ns.math.reduce_sum(g))
    grad2 = []
    for s in sums:
        if s is None:
            grad2.append([None] * len(src))
        else:
            grad2.append([_np(h) for h in outer.gradient(s, src)])
    return dict(value=_np(y), grad=[_np(g) for g in grads], grad2=grad2)
