"""gradtape.test: gradient checking against central finite differences.

`compute_gradient(f, x)` returns TensorFlow's form: (theoretical, numerical), each a tuple of
2-D arrays [y_size, x_size], one per element of x. `check_gradients(f, args, order=1|2)`
recomputes everything in float64 and raises GradientCheckError naming the largest error and
where it occurred when the engine disagrees with central differences; `check_jvp` does the
same for forward mode (gradtape.autodiff.ForwardAccumulator).
"""
import numpy as np

from . import _core
from .tape import GradientTape

__all__ = ["compute_gradient", "check_gradients", "check_jvp", "GradientCheckError"]


class GradientCheckError(AssertionError):
    """The engine's derivative disagrees with central finite differences.

    >>> try:
    ...     gt.test.check_gradients(lambda x: gt.stop_gradient(x) * x, [np.array([2.0])])
    ... except gt.test.GradientCheckError:
    ...     print("caught")
    caught
    """


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _flat_output(y):
    return np.asarray(y, dtype=np.float64).reshape(-1)


def _numerical_jacobian(f, xs, i, delta):
    """d f(xs) / d xs[i] by central differences, as a [y_size, x_size] array."""
    x = np.array(xs[i], dtype=np.asarray(xs[i]).dtype, copy=True, order="C")  # flat must be a view
    flat = x.reshape(-1)
    cols = []
    for k in range(flat.size):
        orig = flat[k]
        flat[k] = orig + delta
        args = [_core.constant(np.asarray(a)) for a in xs]
        args[i] = _core.constant(x)
        y_plus = _flat_output(f(*args))
        flat[k] = orig - delta
        args[i] = _core.constant(x)
        y_minus = _flat_output(f(*args))
        flat[k] = orig
        cols.append((y_plus - y_minus) / (2 * delta))
    if not cols:
        y = _flat_output(f(*[_core.constant(np.asarray(a)) for a in xs]))
        return np.zeros((y.size, 0))
    return np.stack(cols, axis=1)


def _theoretical_jacobian(f, xs, i, mode="reverse"):
    args = [_core.constant(np.asarray(a)) for a in xs]
    with GradientTape() as tape:
        tape.watch(args[i])
        y = f(*args)
    y_size = int(np.asarray(y).size)
    x_size = int(np.asarray(xs[i]).size)
    jac = tape.jacobian(y, args[i], unconnected_gradients="zero", experimental_mode=mode)
    return np.asarray(jac, dtype=np.float64).reshape(y_size, x_size)


def compute_gradient(f, x, delta=None):
    """The theoretical (engine) and numerical Jacobians of f at x, as TF's tf.test.compute_gradient.

    `x` is a list of tensors or arrays; each Jacobian is [y_size, x_size].

    >>> theoretical, numerical = gt.test.compute_gradient(gt.square, [np.array([3.0])])
    >>> theoretical[0], numerical[0].round(6)
    (array([[6.]]), array([[6.]]))
    """
    xs = [np.asarray(a) for a in _as_list(x)]
    if delta is None:
        delta = 1e-3 if any(a.dtype == np.float32 for a in xs) else 1e-6
    theoretical = tuple(_theoretical_jacobian(f, xs, i) for i in range(len(xs)))
    numerical = tuple(_numerical_jacobian(f, xs, i, delta) for i in range(len(xs)))
    return theoretical, numerical


def _compare(engine, numerical, rtol, atol, what):
    engine = np.asarray(engine, dtype=np.float64)
    numerical = np.asarray(numerical, dtype=np.float64)
    if engine.shape != numerical.shape:
        raise GradientCheckError("%s: engine Jacobian has shape %s, numerical %s"
                                 % (what, engine.shape, numerical.shape))
    if engine.size == 0:
        return 0.0
    err = np.abs(engine - numerical)
    both_nan = np.isnan(engine) & np.isnan(numerical)
    err = np.where(both_nan, 0.0, err)
    err = np.where(np.isnan(err), np.inf, err)
    bound = atol + rtol * np.abs(numerical)
    excess = err - bound
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    if excess[worst] > 0:
        raise GradientCheckError(
            "%s: largest error %.3g at output %d, input element %d: engine %.9g vs central "
            "differences %.9g (rtol=%g, atol=%g)"
            % (what, err[worst], worst[0], worst[1], engine[worst], numerical[worst], rtol, atol))
    return float(err.max())


def _float64_args(args):
    out = []
    for a in args:
        arr = np.asarray(a)
        out.append(arr.astype(np.float64) if arr.dtype.kind == "f" else arr)
    return out


def check_gradients(f, args, order=1, rtol=1e-5, atol=1e-6, delta=1e-6, seed=0):
    """Raises GradientCheckError when f's derivatives disagree with central differences.

    The check runs in float64 (float32 arguments are promoted). order=1 compares the full
    Jacobian of f with respect to each floating argument; order=2 compares the Jacobian of
    the gradient of <w, f(args)> (w a fixed random cotangent), computed through nested tapes.
    Returns the largest absolute error seen.

    >>> error = gt.test.check_gradients(lambda x: gt.sin(x) * x, [np.array([0.5, 1.5])], order=2)
    >>> error < 1e-6
    True
    """
    xs = _float64_args(_as_list(args))
    float_idx = [i for i, a in enumerate(xs) if a.dtype.kind == "f"]
    worst = 0.0
    if order == 1:
        for i in float_idx:
            eng = _theoretical_jacobian(f, xs, i)
            num = _numerical_jacobian(f, xs, i, delta)
            worst = max(worst, _compare(eng, num, rtol, atol, "d f / d args[%d]" % i))
        return worst
    if order != 2:
        raise ValueError("order must be 1 or 2, got %r" % (order,))
    rng = np.random.default_rng(seed)
    y0 = np.asarray(f(*[_core.constant(a) for a in xs]))
    w = _core.constant(rng.uniform(0.5, 1.5, size=y0.shape))
    for i in float_idx:
        def grad_i(*a, i=i):
            with GradientTape() as tape:
                tape.watch(a[i])
                y = f(*a)
                target = _core.reduce_sum(y * w)
            g = tape.gradient(target, a[i], unconnected_gradients="zero")
            return g
        for j in float_idx:
            eng = _theoretical_jacobian(grad_i, xs, j)
            num = _numerical_jacobian(grad_i, xs, j, delta * 10)
            worst = max(worst, _compare(eng, num, rtol * 10, atol * 10,
                                        "d^2 <w, f> / d args[%d] d args[%d]" % (i, j)))
    return worst


def _forward_jacobian(f, xs, i):
    """d f(xs) / d xs[i] in forward mode, one jvp per element of xs[i]: [y_size, x_size]."""
    from .autodiff import ForwardAccumulator
    x = np.asarray(xs[i])
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size, dtype=x.dtype)
        e[k] = 1
        args = [_core.constant(np.asarray(a)) for a in xs]
        with ForwardAccumulator(args[i], _core.constant(e.reshape(x.shape))) as acc:
            y = f(*args)
        cols.append(_flat_output(acc.jvp(y, unconnected_gradients="zero")))
    if not cols:
        return np.zeros((_flat_output(f(*[_core.constant(np.asarray(a)) for a in xs])).size, 0))
    return np.stack(cols, axis=1)


def check_jvp(f, args, order=1, rtol=1e-5, atol=1e-6, delta=1e-6, seed=0):
    """Raises GradientCheckError when f's forward-mode derivatives disagree with central
    differences or with reverse mode.

    In float64. order=1 compares the Jacobian built from jvps (one per input element) with
    central differences and with the reverse-mode Jacobian (the two are the same matrix: <u, J v>
    = <J^T u, v> for every u, v), and tape.jacobian's forward mode (the jvp rules on a batch of
    tangents) with its reverse mode. order=2 also checks the derivatives of derivatives that mix
    the modes: the Jacobian, in forward mode, of the jvp along a random tangent (nested
    accumulators) and of the gradient of <w, f> (forward over reverse: Hessian-vector products).
    Returns the largest absolute error seen.

    >>> error = gt.test.check_jvp(lambda x: gt.sin(x) * x, [np.array([0.5, 1.5])], order=2)
    >>> error < 1e-6
    True
    """
    from .autodiff import ForwardAccumulator
    xs = _float64_args(_as_list(args))
    float_idx = [i for i, a in enumerate(xs) if a.dtype.kind == "f"]
    worst = 0.0
    for i in float_idx:
        eng = _forward_jacobian(f, xs, i)
        worst = max(worst, _compare(eng, _numerical_jacobian(f, xs, i, delta), rtol, atol,
                                    "forward mode: d f / d args[%d]" % i))
        rev = _theoretical_jacobian(f, xs, i)
        worst = max(worst, _compare(eng, rev, 1e-9, 1e-12, "forward vs reverse mode: d f / d args[%d]" % i))
        worst = max(worst, _compare(_theoretical_jacobian(f, xs, i, mode="forward"), rev, 1e-9, 1e-12,
                                    "tape.jacobian, forward vs reverse mode: d f / d args[%d]" % i))
    if order == 1:
        return worst
    if order != 2:
        raise ValueError("order must be 1 or 2, got %r" % (order,))
    rng = np.random.default_rng(seed)
    tangents = [rng.uniform(-1.0, 1.0, size=np.shape(xs[i])) for i in float_idx]
    y0 = np.asarray(f(*[_core.constant(a) for a in xs]))
    w = _core.constant(rng.uniform(0.5, 1.5, size=y0.shape))

    def jvp_all(*a):
        with ForwardAccumulator([a[i] for i in float_idx], [_core.constant(t) for t in tangents]) as acc:
            y = f(*a)
        return acc.jvp(y, unconnected_gradients="zero")

    for j in float_idx:
        worst = max(worst, _compare(_forward_jacobian(jvp_all, xs, j), _numerical_jacobian(jvp_all, xs, j, delta * 10),
                                    rtol * 10, atol * 10, "forward over forward: d (J v) / d args[%d]" % j))
    for i in float_idx:
        def grad_i(*a, i=i):
            with GradientTape() as tape:
                tape.watch(a[i])
                target = _core.reduce_sum(f(*a) * w)
            return tape.gradient(target, a[i], unconnected_gradients="zero")
        for j in float_idx:
            worst = max(worst, _compare(_forward_jacobian(grad_i, xs, j), _numerical_jacobian(grad_i, xs, j, delta * 10),
                                        rtol * 10, atol * 10,
                                        "forward over reverse: d^2 <w, f> / d args[%d] d args[%d]" % (i, j)))
    return worst
