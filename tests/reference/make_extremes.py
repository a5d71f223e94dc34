"""Records TensorFlow's answers (and mpmath's exact ones) at extreme inputs for
tests/test_extremes.py, into tests/reference/tf_extremes.json.

Run it with a Python that has TensorFlow, never with gradtape's environment (TensorFlow is
not a dependency of gradtape; CI only reads the JSON):

    python3 -m venv /work/tfenv && /work/tfenv/bin/pip install tensorflow-cpu==2.21.0 mpmath numpy
    /work/tfenv/bin/python tests/reference/make_extremes.py

It does not import gradtape, and its output is deterministic. For each op of
extremes_catalogue.CATALOGUE, each float dtype and each input case it stores TensorFlow's
value, gradient and second derivative (extremes_catalogue.run_case: None where TF returns
None) and, where the catalogue says `exact`, the exact ones computed with mpmath (mp.dps = 50)
from closed forms, correctly rounded to float64. An exact element is NaN where NaN is the
right answer (a NaN input, a real function outside its domain) and None where no exact answer
is recorded (a kink or a jump whose derivative is a convention, 0 * inf, inf - inf).
Signed infinities at +-0 (1/x, 1/sqrt(x)) follow IEEE arithmetic, which is the one-sided limit.
"""
import datetime
import json
import math
import os
import pathlib
import sys
from fractions import Fraction

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import mpmath as mp  # noqa: E402
import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import extremes_catalogue as C  # noqa: E402

mp.mp.dps = 50
MPF = mp.mpf
INF = MPF("inf")
COMMAND = "/work/tfenv/bin/python tests/reference/make_extremes.py"


class Domain(Exception):
    """The answer is NaN: a NaN input, or a real function outside its domain (log of a
    negative number, a negative base to a non-integer power, fmod by 0)."""


class Unknown(Exception):
    """No exact answer is recorded here: a kink or jump where the derivative is a convention,
    or an indeterminate form (0 * inf, inf - inf, inf / inf)."""


# An exact value is a float, NAN_ANSWER (stored "nan": NaN is the right answer) or None
# (stored null: no exact answer, the test compares with TensorFlow).
NAN_ANSWER = math.nan


# --------------------------------------------------------------------------- exact scalars

def finish(r, nan_means=None):
    """mpmath (or int, Fraction, float) result -> float correctly rounded to float64.
    A NaN result means `nan_means` (None: indeterminate form)."""
    if isinstance(r, mp.mpc):
        if r.imag != 0:
            return NAN_ANSWER
        r = r.real
    if isinstance(r, (int, Fraction)):
        try:
            return float(r)
        except OverflowError:
            return math.inf if r > 0 else -math.inf
    if isinstance(r, float) and not isinstance(r, mp.mpf):
        return nan_means if math.isnan(r) else r
    if mp.isnan(r):
        return nan_means
    return float(r)


def attempt(thunk, nan_means=None, ieee=None):
    """Runs an exact formula. ZeroDivisionError (mpmath has no signed zero, no 1/0): runs
    `ieee`, the same formula in float64 IEEE arithmetic, whose signed infinity is the
    one-sided limit; anything else there is unknown."""
    try:
        return finish(thunk(), nan_means)
    except Domain:
        return NAN_ANSWER
    except (Unknown, ValueError, OverflowError):
        return None
    except ZeroDivisionError:
        if ieee is None:
            return None
        with np.errstate(all="ignore"):
            try:
                r = float(ieee())
            except (ZeroDivisionError, Domain, Unknown, ValueError, OverflowError):
                return None
        return r if math.isinf(r) else None


def sig(x):
    return 1 / (1 + mp.exp(-x))


def softplus(x):
    if x > 0:
        return x + mp.log1p(mp.exp(-x))
    return mp.log1p(mp.exp(x))


def sech2(x):
    if mp.isinf(x):
        return MPF(0)
    return mp.sech(x) ** 2


def need_nonneg(x):
    if x < 0:
        raise Domain()
    return x


def need_ge(x, lo):
    if x < lo:
        raise Domain()
    return x


def in_closed(x, lo, hi):
    if x < lo or x > hi:
        raise Domain()
    return x


def no_pole(x):
    """x, or Unknown at the poles of lgamma and digamma (0, -1, -2, ..., +-inf): the libraries'
    conventions (inf, NaN) are compared with TF instead."""
    if mp.isinf(x) or (x <= 0 and x == mp.floor(x)):
        raise Unknown()
    return x


def erfinv_d(x):
    y = mp.erfinv(x)
    return mp.sqrt(mp.pi) / 2 * mp.exp(y * y)


def normal_cdf(x):
    return mp.ncdf(x)


def x_times_pdf(x):
    return MPF(0) if mp.isinf(x) else x * mp.npdf(x)


def x_times(x, small):
    """x * small(x), taken as its limit 0 at x = +-inf where small vanishes exponentially."""
    return MPF(0) if mp.isinf(x) else x * small


LEAKY_ALPHA = MPF(float(np.float32(0.2)))
SELU_SCALE = MPF("1.0507009873554804934193349852946")
SELU_ALPHA = MPF("1.6732632423543772848170429916717")


def sign(x):
    return MPF(0) if x == 0 else MPF(1) if x > 0 else MPF(-1)


def tan2(x):  # tan''
    t = mp.tan(x)
    return 2 * t * (1 + t * t)


# name -> (f, f', f'') on mpf, and optionally the IEEE float64 versions for x = +-0
# (signed infinities). At kinks the derivative both libraries document is taken as exact
# (abs'(0) = relu'(0) = 0); sign' and floor' are 0 (a.e.). A NaN input answers NaN.
UNARY = {
    "negative": (lambda x: -x, lambda x: MPF(-1), lambda x: MPF(0)),
    "abs": (abs, sign, lambda x: MPF(0)),
    "sign": (sign, lambda x: MPF(0), lambda x: MPF(0)),
    "exp": (mp.exp, mp.exp, mp.exp),
    "log": (lambda x: mp.log(need_nonneg(x)), lambda x: 1 / need_nonneg(x),
            lambda x: -1 / need_nonneg(x) ** 2),
    "log1p": (lambda x: mp.log1p(need_ge(x, -1)), lambda x: 1 / (1 + need_ge(x, -1)),
              lambda x: -1 / (1 + need_ge(x, -1)) ** 2),
    "expm1": (mp.expm1, mp.exp, mp.exp),
    "sqrt": (lambda x: mp.sqrt(need_nonneg(x)), lambda x: 1 / (2 * mp.sqrt(need_nonneg(x))),
             lambda x: -1 / (4 * mp.sqrt(need_nonneg(x)) ** 3)),
    "rsqrt": (lambda x: 1 / mp.sqrt(need_nonneg(x)), lambda x: -1 / (2 * mp.sqrt(need_nonneg(x)) ** 3),
              lambda x: 3 / (4 * mp.sqrt(need_nonneg(x)) ** 5)),
    "square": (lambda x: x * x, lambda x: 2 * x, lambda x: MPF(2)),
    "reciprocal": (lambda x: 1 / x, lambda x: -1 / x ** 2, lambda x: 2 / x ** 3),
    "sin": (mp.sin, mp.cos, lambda x: -mp.sin(x)),
    "cos": (mp.cos, lambda x: -mp.sin(x), lambda x: -mp.cos(x)),
    "tan": (mp.tan, lambda x: 1 + mp.tan(x) ** 2, tan2),
    "tanh": (mp.tanh, sech2, lambda x: -2 * mp.tanh(x) * sech2(x)),
    "sigmoid": (sig, lambda x: sig(x) * sig(-x), lambda x: sig(x) * sig(-x) * (sig(-x) - sig(x))),
    "relu": (lambda x: max(x, MPF(0)), lambda x: MPF(1) if x > 0 else MPF(0), lambda x: MPF(0)),
    "softplus": (softplus, sig, lambda x: sig(x) * sig(-x)),
    "log_sigmoid": (lambda x: -softplus(-x), lambda x: sig(-x), lambda x: -sig(x) * sig(-x)),
    "floor": (mp.floor, None, None),
    "round": (mp.nint, None, None),
    "rint": (mp.nint, None, None),
    "ceil": (mp.ceil, None, None),
    "erfc": (mp.erfc, lambda x: -2 / mp.sqrt(mp.pi) * mp.exp(-x * x), lambda x: 4 * x / mp.sqrt(mp.pi) * mp.exp(-x * x)),
    "erfinv": (lambda x: mp.erfinv(in_closed(x, -1, 1)), lambda x: erfinv_d(in_closed(x, -1, 1)),
               lambda x: 2 * mp.erfinv(in_closed(x, -1, 1)) * erfinv_d(x) ** 2),
    "atan": (mp.atan, lambda x: 1 / (1 + x * x), lambda x: -2 * x / (1 + x * x) ** 2),
    "asin": (lambda x: mp.asin(in_closed(x, -1, 1)), lambda x: 1 / mp.sqrt(1 - in_closed(x, -1, 1) ** 2),
             lambda x: in_closed(x, -1, 1) / mp.sqrt(1 - x * x) ** 3),
    "acos": (lambda x: mp.acos(in_closed(x, -1, 1)), lambda x: -1 / mp.sqrt(1 - in_closed(x, -1, 1) ** 2),
             lambda x: -in_closed(x, -1, 1) / mp.sqrt(1 - x * x) ** 3),
    "sinh": (mp.sinh, mp.cosh, mp.sinh),
    "cosh": (mp.cosh, mp.sinh, mp.cosh),
    "asinh": (mp.asinh, lambda x: 1 / mp.sqrt(x * x + 1),
              lambda x: MPF(0) if mp.isinf(x) else -x / mp.sqrt(x * x + 1) ** 3),
    "acosh": (lambda x: mp.acosh(need_ge(x, 1)), lambda x: 1 / mp.sqrt(need_ge(x, 1) ** 2 - 1),
              lambda x: MPF(0) if need_ge(x, 1) == mp.inf else -x / mp.sqrt(x * x - 1) ** 3),
    "atanh": (lambda x: mp.atanh(in_closed(x, -1, 1)), lambda x: 1 / (1 - in_closed(x, -1, 1) ** 2),
              lambda x: 2 * in_closed(x, -1, 1) / (1 - x * x) ** 2),
    "lgamma": (lambda x: mp.re(mp.loggamma(no_pole(x))), lambda x: mp.psi(0, no_pole(x)),
               lambda x: mp.psi(1, no_pole(x))),
    "digamma": (lambda x: mp.psi(0, no_pole(x)), lambda x: mp.psi(1, no_pole(x)), lambda x: mp.psi(2, no_pole(x))),
    # kinks: the convention of both libraries is taken as exact (selu' = scale at 0, relu6' = 0
    # at 0 and 6)
    "selu": (lambda x: SELU_SCALE * x if x >= 0 else SELU_SCALE * SELU_ALPHA * mp.expm1(x),
             lambda x: SELU_SCALE if x >= 0 else SELU_SCALE * SELU_ALPHA * mp.exp(x),
             lambda x: MPF(0) if x >= 0 else SELU_SCALE * SELU_ALPHA * mp.exp(x)),
    "relu6": (lambda x: min(max(x, MPF(0)), MPF(6)), lambda x: MPF(1) if 0 < x < 6 else MPF(0), lambda x: MPF(0)),
    "leaky_relu": (lambda x: x if x > 0 else LEAKY_ALPHA * x, lambda x: MPF(1) if x > 0 else LEAKY_ALPHA,
                   lambda x: MPF(0)),
    # gelu: x Phi(x); gelu' = Phi(x) + x phi(x); gelu'' = phi(x) (2 - x^2)
    "gelu": (lambda x: x * normal_cdf(x), lambda x: normal_cdf(x) + x_times_pdf(x),
             lambda x: MPF(0) if mp.isinf(x) else mp.npdf(x) * (2 - x * x)),
    # silu: x s(x), s = sigmoid; silu' = s (1 + x (1 - s)); silu'' = s (1 - s) (2 + x (1 - 2 s))
    "silu": (lambda x: x * sig(x) if not mp.isinf(x) else max(x, MPF(0)),
             lambda x: sig(x) * (1 + x_times(x, sig(-x))),
             lambda x: sig(x) * sig(-x) * (2 + x_times(x, 1 - 2 * sig(x))) if not mp.isinf(x) else MPF(0)),
    "cast": (lambda x: x, lambda x: MPF(1), lambda x: MPF(0)),
}

# IEEE float64 forms used at x = +-0 where mpmath divides by zero: the sign of the zero
# decides the sign of the infinity, as in the libraries.
UNARY_IEEE = {
    "log": (None, lambda x: 1.0 / np.float64(x), None),
    "reciprocal": (lambda x: 1.0 / np.float64(x), None, lambda x: 2.0 / np.float64(x) ** 3),
    "rsqrt": (lambda x: 1.0 / np.sqrt(np.float64(x)), lambda x: -0.5 / np.sqrt(np.float64(x)) ** 3,
              lambda x: 0.75 / np.sqrt(np.float64(x)) ** 5),
    "sqrt": (None, lambda x: 0.5 / np.sqrt(np.float64(x)), lambda x: -0.25 / np.sqrt(np.float64(x)) ** 3),
}

# where() composites: (condition on the float input, then-branch, else-branch); a branch is
# (f, f', f'') on mpf, and ZERO / IDENTITY branches are defined at a NaN input too (the
# untaken branch of where() does not see it).
ZERO = "zero"
IDENTITY = "identity"
COMPOSITE = {
    "where_sqrt": (lambda x: x > 0, UNARY["sqrt"], ZERO),
    "where_log": (lambda x: x > 0, UNARY["log"], IDENTITY),
    "where_softplus": (lambda x: x > 30, IDENTITY, UNARY["softplus"]),
}


def unary_exact(name, x):
    """[value, grad, grad2] of a unary op at the float x."""
    x = float(x)
    if name in COMPOSITE:
        cond, then, other = COMPOSITE[name]
        branch = then if cond(x) else other
        if branch == ZERO:
            return [0.0, 0.0, 0.0]
        if branch == IDENTITY:
            return [NAN_ANSWER if math.isnan(x) else x, 1.0, 0.0]
        fns, ieee = branch, (None, None, None)
    else:
        fns, ieee = UNARY[name], UNARY_IEEE.get(name, (None, None, None))
    out = []
    for f, fi in zip(fns, ieee):
        if f is None:
            out.append(None)
        elif math.isnan(x):
            out.append(NAN_ANSWER)
        else:
            out.append(attempt(lambda f=f: f(MPF(x)), ieee=None if fi is None else (lambda fi=fi: fi(x))))
    return out


def is_int(x):
    return math.isfinite(x) and x == math.floor(x)


def pow_exact(x, y):
    """(value, [dx, dy], [[dxx, dxy], [dyx, dyy]]) of x ** y at floats x, y."""
    with np.errstate(all="ignore"):
        ieee_value = float(np.power(np.float64(x), np.float64(y)))  # C99 pow: the special values
    N = NAN_ANSWER
    if math.isnan(x) or math.isnan(y):
        return (N if math.isnan(ieee_value) else ieee_value), [N, N], [[N, N], [N, N]]
    if x == -math.inf or (x < 0 and not is_int(y)):
        # a negative base: real only for integer y (the C99 value of pow is kept at y = inf)
        v = ieee_value if (math.isinf(x) or math.isinf(y)) and not math.isnan(ieee_value) else N
        return v, [N if not is_int(y) else None, N], [[N if not is_int(y) else None, N], [N, N]]
    if x == 0.0:
        # partial derivatives at x = 0 (one-sided from x > 0 where y is not an integer)
        if y > 1:
            dx = 0.0
        elif y == 1:
            dx = 1.0
        elif y > 0:
            dx = math.inf
        elif y == 0:
            dx = 0.0
        else:
            dx = -math.inf
        dy = 0.0 if y > 0 else None
        if y > 2 or y == 1 or y == 0:
            dxx = 0.0
        elif y == 2:
            dxx = 2.0
        else:
            dxx = math.inf if (1 < y < 2 or y < 0) else -math.inf
        dxy = 0.0 if y > 1 else None
        dyy = 0.0 if y > 0 else None
        return ieee_value, [dx, dy], [[dxx, dxy], [dxy, dyy]]
    X, Y = MPF(x), MPF(y)

    def lg():
        if x < 0:
            raise Domain()  # d/dy needs log(x)
        return mp.log(X)
    # x > 0 (x = +inf and y = +-inf too: mpmath's limits, None where indeterminate), or x < 0
    # with an integer y
    v = ieee_value if (math.isinf(x) or math.isinf(y)) else attempt(lambda: X ** Y)
    dx = attempt(lambda: Y * X ** (Y - 1))
    dy = attempt(lambda: X ** Y * lg())
    dxx = attempt(lambda: Y * (Y - 1) * X ** (Y - 2))
    dxy = attempt(lambda: X ** (Y - 1) * (1 + Y * lg()))
    dyy = attempt(lambda: X ** Y * lg() ** 2)
    return v, [dx, dy], [[dxx, dxy], [dxy, dyy]]


def floormod_exact(x, y):
    N = NAN_ANSWER
    zeros = [[0.0, 0.0], [0.0, 0.0]]
    if math.isnan(x) or math.isnan(y) or math.isinf(x) or y == 0.0:
        return N, [N, N], [[N, N], [N, N]]  # fmod(inf, y) and fmod(x, 0) are NaN
    if math.isinf(y):
        # the limit of x - floor(x / y) * y: x when x and y have the same sign (or x = 0),
        # y otherwise; d/dy = -floor(x / y) = 0 or 1
        same = x == 0.0 or (x > 0) == (y > 0)
        return (x if same else y), [1.0, 0.0 if same else 1.0], zeros
    q = math.floor(Fraction(x) / Fraction(y))
    # at a jump (x / y an integer) the derivative is the convention of both libraries:
    # d/dx = 1, d/dy = -floor(x / y)
    return finish(Fraction(x) - q * Fraction(y)), [1.0, finish(-q)], zeros


def num(*vals):
    """The floats as mpf; a NaN among them makes the answer NaN (raises Domain)."""
    if any(math.isnan(v) for v in vals):
        raise Domain()
    return [MPF(v) for v in vals]


def unless_zero(cond, th):
    """A derivative that TensorFlow's rule makes 0 where `cond` (a where() of its own) holds."""
    return (lambda: MPF(0)) if cond else th


def safe_binary_exact(name, x, y):
    """The binary ops whose rules pick 0 where an input is 0 (xlogy, xdivy, xlog1py,
    multiply_no_nan, divide_no_nan) and atan2: each element's value and derivatives from
    closed forms, with those zeros as TensorFlow's rules give them (taken as exact: they are
    the definition of the op), and a NaN only where the formula itself reads a NaN."""
    ix, iy = np.float64(x), np.float64(y)
    zero = lambda: MPF(0)  # noqa: E731
    if name in ("xlogy", "xdivy", "xlog1py"):
        x0 = x == 0.0  # x = 0 gives 0 for the value and every derivative but d/dx
        if name == "xlogy":
            f = lambda: num(x)[0] * mp.log(need_nonneg(num(y)[0]))  # noqa: E731
            fx = lambda: mp.log(need_nonneg(num(y)[0]))  # noqa: E731
            fy = lambda: num(x)[0] / num(y)[0]  # noqa: E731
            fxy = lambda: 1 / num(y)[0]  # noqa: E731
            fyy = lambda: -num(x)[0] / num(y)[0] ** 2  # noqa: E731
            ieee = (lambda: ix * np.log(iy), lambda: np.log(iy), lambda: ix / iy, lambda: 1.0 / iy,
                    lambda: -ix / iy ** 2)
        elif name == "xdivy":
            f = lambda: num(x)[0] / num(y)[0]  # noqa: E731
            fx = lambda: 1 / num(y)[0]  # noqa: E731
            fy = lambda: -num(x)[0] / num(y)[0] ** 2  # noqa: E731
            fxy = lambda: -1 / num(y)[0] ** 2  # noqa: E731
            fyy = lambda: 2 * num(x)[0] / num(y)[0] ** 3  # noqa: E731
            ieee = (lambda: ix / iy, lambda: 1.0 / iy, lambda: -ix / iy ** 2, lambda: -1.0 / iy ** 2,
                    lambda: 2.0 * ix / iy ** 3)
        else:
            f = lambda: num(x)[0] * mp.log1p(need_ge(num(y)[0], -1))  # noqa: E731
            fx = lambda: mp.log1p(need_ge(num(y)[0], -1))  # noqa: E731
            fy = lambda: num(x)[0] / (1 + num(y)[0])  # noqa: E731
            fxy = lambda: 1 / (1 + num(y)[0])  # noqa: E731
            fyy = lambda: -num(x)[0] / (1 + num(y)[0]) ** 2  # noqa: E731
            ieee = (lambda: ix * np.log1p(iy), lambda: np.log1p(iy), lambda: ix / (1 + iy), lambda: 1.0 / (1 + iy),
                    lambda: -ix / (1 + iy) ** 2)
        v = attempt(unless_zero(x0, f), ieee=ieee[0])
        dx = attempt(unless_zero(x0, fx), ieee=ieee[1])
        dy = attempt(unless_zero(x0, fy), ieee=ieee[2])
        dxy = attempt(unless_zero(x0, fxy), ieee=ieee[3])
        dyy = attempt(unless_zero(x0, fyy), ieee=ieee[4])
        return v, [dx, dy], [[0.0, dxy], [dxy, dyy]]
    if name == "multiply_no_nan":
        y0 = y == 0.0
        v = attempt(unless_zero(y0, lambda: num(x)[0] * num(y)[0]))
        # TF's rule: d/dx = mul_no_nan(1, y) = y, d/dy = mul_no_nan(x, 1) = x, cross terms 1
        return v, [attempt(lambda: num(y)[0]), attempt(lambda: num(x)[0])], [[0.0, 1.0], [1.0, 0.0]]
    if name == "divide_no_nan":
        y0 = y == 0.0
        v = attempt(unless_zero(y0, lambda: num(x)[0] / num(y)[0]), ieee=lambda: ix / iy)
        dx = attempt(unless_zero(y0, lambda: 1 / num(y)[0]), ieee=lambda: 1.0 / iy)
        dy = attempt(unless_zero(y0, lambda: -num(x)[0] / num(y)[0] ** 2), ieee=lambda: -ix / iy ** 2)
        dxy = attempt(unless_zero(y0, lambda: -1 / num(y)[0] ** 2), ieee=lambda: -1.0 / iy ** 2)
        dyy = attempt(unless_zero(y0, lambda: 2 * num(x)[0] / num(y)[0] ** 3), ieee=lambda: 2.0 * ix / iy ** 3)
        return v, [dx, dy], [[0.0, dxy], [dxy, dyy]]
    if name == "atan2":
        # atan2(y = first input, x = second input); at the origin the rules' 0/0 is NaN in both
        # libraries: no exact answer there (None)
        def r2():
            a, b = num(x, y)
            if a == 0 and b == 0:
                raise Unknown()
            if mp.isinf(a) or mp.isinf(b):
                raise Unknown()
            return a, b, a * a + b * b
        with np.errstate(all="ignore"):
            v = float(np.arctan2(ix, iy)) if not (math.isnan(x) or math.isnan(y)) else NAN_ANSWER

        def d_first():
            a, b, r = r2()
            return b / r

        def d_second():
            a, b, r = r2()
            return -a / r

        def d11():
            a, b, r = r2()
            return -2 * a * b / r ** 2

        def d12():
            a, b, r = r2()
            return (a * a - b * b) / r ** 2
        dyy_ = attempt(lambda: -d11())
        return v, [attempt(d_first), attempt(d_second)], [[attempt(d11), attempt(d12)], [attempt(d12), dyy_]]
    raise KeyError(name)


def binary_exact(name, x, y):
    """(value, [dx, dy], [[dxx, dxy], [dyx, dyy]]) as floats, NAN_ANSWER or None."""
    x, y = float(x), float(y)
    if name in ("xlogy", "xdivy", "xlog1py", "multiply_no_nan", "divide_no_nan", "atan2"):
        return safe_binary_exact(name, x, y)
    if name == "pow":
        return pow_exact(x, y)
    if name == "floormod":
        return floormod_exact(x, y)
    if name == "squared_difference":
        if math.isnan(x) or math.isnan(y):
            N = NAN_ANSWER
            return N, [N, N], [[N, N], [N, N]]
        X, Y = MPF(x), MPF(y)
        d = attempt(lambda: 2 * (X - Y))
        md = attempt(lambda: 2 * (Y - X))
        return attempt(lambda: (X - Y) ** 2), [d, md], [[2.0, -2.0], [-2.0, 2.0]]
    N = NAN_ANSWER
    if math.isnan(x) or math.isnan(y):
        return N, [N, N], [[N, N], [N, N]]
    X, Y = MPF(x), MPF(y)
    ix, iy = np.float64(x), np.float64(y)
    one, zero = (lambda: MPF(1)), (lambda: MPF(0))
    if name == "add":
        parts = [(lambda: X + Y, None), (one, None), (one, None), (zero, None), (zero, None), (zero, None)]
    elif name == "subtract":
        parts = [(lambda: X - Y, None), (one, None), (lambda: MPF(-1), None),
                 (zero, None), (zero, None), (zero, None)]
    elif name == "multiply":
        parts = [(lambda: X * Y, None), (lambda: Y, None), (lambda: X, None),
                 (zero, None), (one, None), (zero, None)]
    elif name in ("divide", "truediv"):
        parts = [(lambda: X / Y, lambda: ix / iy), (lambda: 1 / Y, lambda: 1.0 / iy),
                 (lambda: -X / Y ** 2, lambda: -ix / iy ** 2), (zero, None),
                 (lambda: -1 / Y ** 2, lambda: -1.0 / iy ** 2),
                 (lambda: 2 * X / Y ** 3, lambda: 2.0 * ix / iy ** 3)]
    elif name in ("maximum", "minimum"):
        def pick(first):
            def f():
                if X == Y:
                    raise Unknown()  # a tie: the libraries' conventions differ from the maths
                wins = (X > Y) if name == "maximum" else (X < Y)
                return MPF(1) if wins == first else MPF(0)
            return f
        parts = [(lambda: max(X, Y) if name == "maximum" else min(X, Y), None), (pick(True), None),
                 (pick(False), None), (zero, None), (zero, None), (zero, None)]
    else:
        raise KeyError(name)
    v, dx, dy, dxx, dxy, dyy = [attempt(th, ieee=ie) for th, ie in parts]
    return v, [dx, dy], [[dxx, dxy], [dxy, dyy]]


# --------------------------------------------------------------------------- exact, vectors

def reduce_exact(name, vec):
    """(value, grad list, grad2 list) of one reduction group (list of floats)."""
    n = len(vec)
    has_nan = any(math.isnan(v) for v in vec)
    N = NAN_ANSWER
    nan_means = N if has_nan else None
    xs = [MPF(v) for v in vec]

    def ev(th):
        return attempt(th, nan_means)
    if name == "reduce_sum":
        return ev(lambda: mp.fsum(xs)), [1.0] * n, [0.0] * n
    if name == "reduce_mean":
        return ev(lambda: mp.fsum(xs) / n), [1.0 / n] * n, [0.0] * n
    if has_nan and name != "reduce_prod":
        return N, [N] * n, [N] * n
    if name in ("reduce_max", "reduce_min"):
        m = max(xs) if name == "reduce_max" else min(xs)
        ties = sum(1 for x in xs if x == m)
        # a tie is a kink: TF splits the gradient equally, no exact answer is recorded
        grad = [1.0 if x == m else 0.0 for x in xs] if ties == 1 else [None if x == m else 0.0 for x in xs]
        return finish(m), grad, [0.0] * n
    if name == "reduce_prod":
        def prod(ks):
            r = MPF(1)
            for k in ks:
                r *= xs[k]
            return r
        # d/dx_i = the product of the others, defined even where x_i is nan or inf
        val = ev(lambda: prod(range(n)))
        grad = [attempt(lambda i=i: prod([k for k in range(n) if k != i]),
                        N if any(math.isnan(vec[k]) for k in range(n) if k != i) else None) for i in range(n)]

        def h(j):
            terms = [prod([k for k in range(n) if k not in (i, j)]) for i in range(n) if i != j]
            return mp.fsum(terms)
        grad2 = [attempt(lambda j=j: h(j), N if any(math.isnan(vec[k]) for k in range(n) if k != j) else None)
                 for j in range(n)]
        return val, grad, grad2
    if name == "reduce_logsumexp":
        lse, s, _ = lse_softmax(xs)
        if s is None:
            return finish(lse), [None] * n, [None] * n
        return finish(lse), [finish(a) for a in s], [0.0] * n  # d/dx sum(softmax) = 0
    raise KeyError(name)


def scan_exact(name, vec):
    """(values, grads, grad2s) of an inclusive cumsum or cumprod of one group (list of floats),
    for the loss sum(y): grad_j = d sum(y) / dx_j, grad2_m = d sum(grad) / dx_m."""
    n = len(vec)
    N = NAN_ANSWER
    xs = [MPF(v) for v in vec]
    isnan = [math.isnan(v) for v in vec]

    def ev(th, ks):
        """An exact term over the inputs ks: NaN when one of them is NaN."""
        return N if any(isnan[k] for k in ks) else attempt(th)
    if name == "cumsum":
        vals = [ev(lambda i=i: mp.fsum(xs[:i + 1]), range(i + 1)) for i in range(n)]
        return vals, [float(n - j) for j in range(n)], [0.0] * n

    def prod(ks):
        r = MPF(1)
        for k in ks:
            r *= xs[k]
        return r

    def sum_of_products(sets):
        """sum over index sets of the product of those inputs: NaN when a term holds a NaN input."""
        if any(isnan[k] for ks in sets for k in ks):
            return N
        return attempt(lambda: mp.fsum(prod(ks) for ks in sets))
    vals = [sum_of_products([range(i + 1)]) for i in range(n)]
    grads = [sum_of_products([[k for k in range(i + 1) if k != j] for i in range(j, n)]) for j in range(n)]
    grad2 = [sum_of_products([[k for k in range(i + 1) if k not in (j, m)]
                              for j in range(n) if j != m for i in range(max(j, m), n)]) for m in range(n)]
    return vals, grads, grad2


def lse_softmax(xs):
    """(logsumexp, softmax, shifted) of mpf values, computed around the largest finite
    value m (50 digits are not enough for exp(1e200) - exp(1e200) otherwise): shifted[k] =
    x_k - lse, to be used instead of the difference. softmax is None where indeterminate; a
    single +inf logit is taken as the limit: softmax one-hot there, logsumexp +inf."""
    n_inf = sum(1 for x in xs if x == INF)
    if n_inf == 1:
        return INF, [MPF(1) if x == INF else MPF(0) for x in xs], [MPF(0) if x == INF else -INF for x in xs]
    finite = [x for x in xs if mp.isfinite(x)]
    if n_inf > 1 or not finite:
        return (INF if n_inf else -INF), None, None
    m = max(finite)
    d = [x - m for x in xs]  # exact, or so negative that exp(d) vanishes next to exp(0)
    log_sum = mp.log(mp.fsum(mp.exp(a) for a in d))
    shifted = [a - log_sum for a in d]
    return m + log_sum, [mp.exp(a) for a in shifted], shifted


def row_exact(name, row, labels=None):
    """Exact value, gradient (w.r.t. the logits) and second derivative of one row, with the
    weights of extremes_catalogue.run_case (ROW_W on the output of softmax/log_softmax,
    ROW_V on the gradient)."""
    n = len(row)
    per_elem = name in ("softmax", "log_softmax")
    if any(math.isnan(v) for v in row):
        N = NAN_ANSWER
        return ([N] * n if per_elem else N), [N] * n, [N] * n
    xs = [MPF(v) for v in row]
    w = [MPF(a) for a in C.ROW_W]
    v = [MPF(a) for a in C.ROW_V]
    lse, s, shifted = lse_softmax(xs)
    if s is None:  # two +inf logits, or every logit -inf: indeterminate
        return ([None] * n if per_elem else None), [None] * n, [None] * n
    vbar = mp.fsum(vk * sk for vk, sk in zip(v, s))
    F = lambda vals: [finish(a) for a in vals]  # noqa: E731
    if name == "softmax":
        wbar = mp.fsum(wk * sk for wk, sk in zip(w, s))
        g = [s[k] * (w[k] - wbar) for k in range(n)]
        A = mp.fsum(v[k] * g[k] for k in range(n))
        h = [v[m] * g[m] - s[m] * A - g[m] * vbar for m in range(n)]
        return F(s), F(g), F(h)
    if name == "log_softmax":
        W = mp.fsum(w)
        val = shifted  # x_k - lse (one +inf logit: 0 there and -inf elsewhere, the limit)
        g = [w[k] - W * s[k] for k in range(n)]
        h = [-W * s[m] * (v[m] - vbar) for m in range(n)]
        return F(val), F(g), F(h)
    # cross-entropies: labels a probability row (a class index for the sparse one)
    if isinstance(labels, int):
        lab = [MPF(1) if k == labels else MPF(0) for k in range(n)]
    else:
        lab = [MPF(a) for a in labels]
    P = mp.fsum(lab)
    # sum_j l_j (lse - x_j), a zero label contributing nothing (0 * log 0 = 0: a masked class)
    loss = mp.fsum(-lab[j] * shifted[j] for j in range(n) if lab[j] != 0)
    g = [P * s[k] - lab[k] for k in range(n)]
    h = [P * s[m] * (v[m] - vbar) for m in range(n)]
    return finish(loss), F(g), F(h)


def matmul_exact(a, b):
    """Value, gradients (upstream ones) and second derivatives of a @ b."""
    n, k, m = len(a), len(b), len(b[0])

    def dot(pairs):
        """sum of products of float pairs: NaN if a NaN input reaches it, None for 0 * inf."""
        if any(math.isnan(p) or math.isnan(q) for p, q in pairs):
            return NAN_ANSWER
        return attempt(lambda: mp.fsum(MPF(p) * MPF(q) for p, q in pairs))
    val = [dot([(a[i][p], b[p][j]) for p in range(k)]) for i in range(n) for j in range(m)]
    # dA = 1 B^T, dB = A^T 1
    da = [dot([(1.0, b[p][j]) for j in range(m)]) for i in range(n) for p in range(k)]
    db = [dot([(a[i][p], 1.0) for i in range(n)]) for p in range(k) for j in range(m)]
    # d sum(dA) / dB = n (each B[p][j] appears once per row i), d sum(dB) / dA = m
    h = [[[0.0] * (n * k), [float(n)] * (k * m)], [[float(m)] * (n * k), [0.0] * (k * m)]]
    return val, [da, db], h


def exact_for(name, args, kw):
    """dict(value, grad, grad2) of flat lists (None where unknown), or None."""
    e = C.CATALOGUE[name]
    if not e["exact"]:
        return None
    kind = e["kind"]
    if kind in ("unary", "composite", "cast"):
        res = [unary_exact(name, a) for a in args[0].ravel()]
        if name in ("floor", "round", "rint", "ceil"):
            return dict(value=[r[0] for r in res], grad=[None], grad2=[[None]])
        return dict(value=[r[0] for r in res], grad=[[r[1] for r in res]], grad2=[[[r[2] for r in res]]])
    if kind == "clip":
        lo, hi = kw["lo"], kw["hi"]
        x = [float(a) for a in args[0].ravel()]
        N = NAN_ANSWER
        # at a bound (a kink) the derivative is a convention (TF: 1): not recorded
        return dict(value=[N if math.isnan(a) else min(max(a, lo), hi) for a in x],
                    grad=[[N if math.isnan(a) else None if a in (lo, hi) else 1.0 if lo < a < hi else 0.0
                           for a in x]],
                    grad2=[[[N if math.isnan(a) else 0.0 for a in x]]])
    if name == "matmul":
        v, g, h = matmul_exact(args[0].tolist(), args[1].tolist())
        return dict(value=v, grad=g, grad2=h)
    if kind == "binary":
        x, y = args[0].ravel(), args[1].ravel()
        res = [binary_exact(name, a, b) for a, b in zip(x, y)]
        return dict(value=[r[0] for r in res],
                    grad=[[r[1][i] for r in res] for i in range(2)],
                    grad2=[[[r[2][i][j] for r in res] for j in range(2)] for i in range(2)])
    if kind == "reduce":
        x = args[0]
        axis = kw["axis"]
        xm = np.moveaxis(x, axis, -1)  # groups along the last axis
        groups = xm.reshape(-1, xm.shape[-1])
        res = [reduce_exact(name, [float(a) for a in grp]) for grp in groups]
        val = [r[0] for r in res]

        def back(k):  # grad-shaped list in x's layout
            arr = np.empty(groups.shape, dtype=object)
            for gi, r in enumerate(res):
                arr[gi] = r[k]
            arr = np.moveaxis(arr.reshape(xm.shape), -1, axis)
            return list(arr.ravel())
        return dict(value=val, grad=[back(1)], grad2=[[back(2)]])
    if kind == "scan":
        x = args[0]
        xm = np.moveaxis(x, kw["axis"], -1)
        groups = xm.reshape(-1, xm.shape[-1])
        res = [scan_exact(name, [float(a) for a in grp]) for grp in groups]

        def back_scan(k):  # in x's layout
            arr = np.empty(groups.shape, dtype=object)
            for gi, r in enumerate(res):
                arr[gi] = r[k]
            return list(np.moveaxis(arr.reshape(xm.shape), -1, kw["axis"]).ravel())
        return dict(value=back_scan(0), grad=[back_scan(1)], grad2=[[back_scan(2)]])
    if kind == "rows":
        res = [row_exact(name, [float(a) for a in r]) for r in args[0]]
        return dict(value=[a for r in res for a in r[0]], grad=[[a for r in res for a in r[1]]],
                    grad2=[[[a for r in res for a in r[2]]]])
    if kind == "xent":
        labels, logits = args
        res = [row_exact(name, [float(a) for a in r], int(l) if np.ndim(l) == 0 else [float(b) for b in l])
               for l, r in zip(labels, logits)]
        return dict(value=[r[0] for r in res], grad=[[a for r in res for a in r[1]]],
                    grad2=[[[a for r in res for a in r[2]]]])
    raise KeyError(kind)


# --------------------------------------------------------------------------- encoding

def enc_num(v, dtype, exact=False):
    """One number as a JSON token value: float, "nan"/"inf"/"-inf"/"-0", or None."""
    if v is None:
        return None
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0.0:
        return "-0" if math.copysign(1.0, v) < 0 else 0.0
    return _Raw(v, dtype, exact)


class _Raw(float):
    """A float written with the shortest digits that give it back in its dtype."""

    def __new__(cls, v, dtype, exact):
        self = float.__new__(cls, v)
        if exact:
            self.text = format(v, ".12g") if dtype == "float32" else repr(v)
        elif dtype == "float32":
            self.text = str(np.float32(v))
        else:
            self.text = repr(v)
        return self


def enc_list(values, dtype, exact=False):
    if values is None:
        return None
    return [enc_num(v, dtype, exact) for v in np.asarray(values, dtype=object).ravel()]


def dump(obj):
    """JSON text with the _Raw floats written as their short text, one case per line."""
    if obj is None:
        return "null"
    if isinstance(obj, _Raw):
        t = obj.text
        return t if any(c in t for c in ".eE") or t.lstrip("-").isdigit() else repr(float(obj))
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, (int, float)):
        return json.dumps(obj)
    if isinstance(obj, str):
        return json.dumps(obj)
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(dump(v) for v in obj) + "]"
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dump(v) for k, v in obj.items()) + "}"
    raise TypeError(type(obj))


def enc_arg(a):
    dtype = str(a.dtype)
    if dtype == "bool":
        data = [int(v) for v in a.ravel()]
    elif dtype.startswith("int"):
        data = [int(v) for v in a.ravel()]
    else:
        data = enc_list(a, dtype)
    return {"dtype": dtype, "shape": list(a.shape), "data": data}


# --------------------------------------------------------------------------- main

def record_case(tf, name, dtype, cname, args, kw):
    out = {"case": cname, "kw": kw, "args": [enc_arg(a) for a in args]}
    try:
        r = C.run_case(tf, name, "tf", args, kw, dtype)
    except Exception as ex:  # TF refuses: that is data too
        out["tf_error"] = "%s: %s" % (type(ex).__name__, str(ex).splitlines()[0] if str(ex) else "")
        r = None
    if r is not None:
        vdt = str(r["value"].dtype)
        out["vshape"] = list(r["value"].shape)
        out["value"] = enc_list(r["value"], vdt)
        out["grad"] = [None if g is None else enc_list(g, dtype) for g in r["grad"]]
        out["grad2"] = [[None if h is None else enc_list(h, dtype) for h in row] for row in r["grad2"]]
    ex = exact_for(name, args, kw)
    if ex is not None:
        vdt = "float64" if (name == "cast" and dtype == "float32") else dtype
        out["exact"] = {
            "value": enc_list(ex["value"], vdt, exact=True),
            "grad": [None if g is None else enc_list(g, dtype, exact=True) for g in ex["grad"]],
            "grad2": [[None if h is None else enc_list(h, dtype, exact=True) for h in row]
                      for row in ex["grad2"]],
        }
    return out


def main():
    import tensorflow as tf
    out_path = HERE / "tf_extremes.json"
    ops = {}
    for name in C.CATALOGUE:
        ops[name] = {}
        for dtype in C.DTYPES:
            ops[name][dtype] = [record_case(tf, name, dtype, cname, args, kw)
                                for cname, args, kw in C.cases(name, dtype)]
    header = {
        "what": "TensorFlow's value, gradient and second derivative (extremes_catalogue.run_case) "
                "at extreme inputs, and mpmath's exact ones, for tests/test_extremes.py",
        "tensorflow": tf.__version__, "numpy": np.__version__, "mpmath": mp.__version__,
        "mp_dps": mp.mp.dps, "command": COMMAND,
        "generated": datetime.date.today().isoformat(),
        "encoding": "numbers as JSON numbers (float32 ones in their shortest digits); \"nan\", "
                    "\"inf\", \"-inf\", \"-0\" as strings; in grad/grad2 null = TF returned None; "
                    "in exact, \"nan\" = NaN is the right answer and null = no exact answer recorded",
    }
    lines = ["{", '"header":' + dump(header) + ",", '"ops":{']
    op_items = list(ops.items())
    for oi, (name, per_dtype) in enumerate(op_items):
        lines.append(json.dumps(name) + ":{")
        dts = list(per_dtype.items())
        for di, (dtype, case_list) in enumerate(dts):
            lines.append(json.dumps(dtype) + ":[")
            for ci, case in enumerate(case_list):
                lines.append(dump(case) + ("," if ci < len(case_list) - 1 else ""))
            lines.append("]" + ("," if di < len(dts) - 1 else ""))
        lines.append("}" + ("," if oi < len(op_items) - 1 else ""))
    lines.append("}}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # it must parse
    out_path.write_text(text)
    print("wrote %s (%d bytes)" % (out_path, len(text)))


if __name__ == "__main__":
    main()
