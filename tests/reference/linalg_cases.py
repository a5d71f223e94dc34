"""The linear algebra ops against TensorFlow: fixed float64 inputs, and for each case the value,
the gradient of reduce_sum(y * W) with respect to each input (W a fixed weight of y's shape),
and the second derivative: the gradient of reduce_sum(grad_i * V_i) with respect to input i,
with nested tapes. make_linalg.py runs the cases with `ns = tensorflow` and stores the answers
in tf_linalg.json; tests/test_linalg.py runs them with `ns = gradtape` and compares (no
TensorFlow needed). The module needs NumPy only; both sides make the same calls.
"""
import numpy as np

_RNG = np.random.default_rng(20261201)


def _wellcond(*shape):
    n = shape[-1]
    return _RNG.uniform(-1, 1, size=shape) + 2.0 * n ** 0.5 * np.eye(shape[-2], n)


def _spd(*shape):
    n = shape[-1]
    a = _RNG.uniform(-1, 1, size=shape)
    return a @ np.swapaxes(a, -1, -2) / n + np.eye(n)


def _lower(*shape):
    a = _RNG.uniform(-1, 1, size=shape)
    d = _RNG.uniform(1, 2, size=shape[:-1])
    return np.tril(a, -1) + d[..., None] * np.eye(shape[-1]) + 3 * np.triu(a, 1)


def _separated(*shape):
    n = shape[-1]
    q, _ = np.linalg.qr(_RNG.normal(size=shape))
    s = (q * np.arange(1.0, n + 1.0)) @ np.swapaxes(q, -1, -2)
    return np.tril(s) + np.triu(_RNG.uniform(-1, 1, size=shape), 1)


def _spread(*shape):
    m, n = shape[-2:]
    k = min(m, n)
    u, _ = np.linalg.qr(_RNG.normal(size=shape[:-2] + (m, k)))
    v, _ = np.linalg.qr(_RNG.normal(size=shape[:-2] + (n, k)))
    return (u * (1.0 + 1.25 * np.arange(k))) @ np.swapaxes(v, -1, -2)


def _svd_product(ns, a, **kw):
    s, u, v = ns.linalg.svd(a, **kw)
    k = s.shape[-1]
    w = np.linspace(0.5, 2.0, k)
    return ns.matmul(u[..., :k] * w, v[..., :k], transpose_b=True)


def _u(*shape):
    return _RNG.uniform(-1, 1, size=shape)


# name -> (function of (ns, *inputs), inputs). Inputs are float64 arrays; every one is
# differentiated.
CASES = {
    "inv": (lambda ns, a: ns.linalg.inv(a), [_wellcond(2, 3, 3)]),
    "inv_adjoint": (lambda ns, a: ns.linalg.inv(a, adjoint=True), [_wellcond(3, 3)]),
    "det": (lambda ns, a: ns.linalg.det(a), [_wellcond(2, 3, 3)[:, [1, 0, 2]]]),
    "slogdet_log": (lambda ns, a: ns.linalg.slogdet(a)[1], [_wellcond(2, 3, 3)[:, [2, 0, 1]]]),
    "slogdet_sign": (lambda ns, a: ns.linalg.slogdet(a)[0], [_wellcond(2, 3, 3)[:, [1, 0, 2]]]),
    "solve": (lambda ns, a, b: ns.linalg.solve(a, b), [_wellcond(2, 3, 3), _u(2, 3, 2)]),
    "solve_adjoint": (lambda ns, a, b: ns.linalg.solve(a, b, adjoint=True), [_wellcond(3, 3), _u(3, 2)]),
    "triangular_solve": (lambda ns, a, b: ns.linalg.triangular_solve(a, b), [_lower(3, 3), _u(3, 2)]),
    "triangular_solve_upper_adjoint": (
        lambda ns, a, b: ns.linalg.triangular_solve(a, b, lower=False, adjoint=True),
        [np.swapaxes(_lower(2, 3, 3), -1, -2), _u(2, 3, 1)]),
    "triangular_solve_broadcast": (lambda ns, a, b: ns.linalg.triangular_solve(a, b, adjoint=True),
                                   [_lower(3, 3), _u(2, 3, 2)]),
    "cholesky": (lambda ns, a: ns.linalg.cholesky(a), [_spd(2, 4, 4)]),
    "cholesky_lower_only": (lambda ns, a: ns.linalg.cholesky(a), [np.tril(_spd(3, 3)) + 5 * np.triu(_u(3, 3), 1)]),
    "cholesky_solve": (lambda ns, a, b: ns.linalg.cholesky_solve(a, b), [_lower(2, 3, 3), _u(2, 3, 2)]),
    "diag_part": (lambda ns, a: ns.linalg.diag_part(a, k=1), [_u(2, 3, 4)]),
    "diag_part_band": (lambda ns, a: ns.linalg.diag_part(a, k=(-2, 1), padding_value=3.0, align="LEFT_RIGHT"),
                       [_u(4, 3)]),
    "diag": (lambda ns, v: ns.linalg.diag(v, k=2), [_u(2, 3)]),
    "diag_band": (lambda ns, v: ns.linalg.diag(v, k=(-1, 1), num_rows=3, num_cols=4, padding_value=-1.0),
                  [_u(3, 3)]),
    "set_diag": (lambda ns, a, v: ns.linalg.set_diag(a, v), [_u(2, 3, 4), _u(2, 3)]),
    "set_diag_band": (lambda ns, a, v: ns.linalg.set_diag(a, v, k=(-1, 0), align="RIGHT_RIGHT"),
                      [_u(4, 3), _u(2, 3)]),
    "band_part": (lambda ns, a: ns.linalg.band_part(a, 0, 2), [_u(2, 4, 4)]),
    "trace": (lambda ns, a: ns.linalg.trace(a), [_u(2, 4, 3)]),
    "tensordot": (lambda ns, a, b: ns.tensordot(a, b, [[1, 0], [0, 2]]), [_u(3, 2, 4), _u(2, 5, 3)]),
    "tensordot_outer": (lambda ns, a, b: ns.linalg.tensordot(a, b, 0), [_u(2), _u(3)]),
    "cross": (lambda ns, a, b: ns.linalg.cross(a, b), [_u(4, 3), _u(4, 3)]),
    "qr_deep": (lambda ns, a: ns.concat([ns.reshape(t, [-1]) * w for t, w in zip(ns.linalg.qr(a), (1.0, 2.0))], 0),
                [_wellcond(2, 4, 3)]),
    "qr_wide": (lambda ns, a: ns.concat([ns.reshape(t, [-1]) * w for t, w in zip(ns.linalg.qr(a), (1.0, -1.5))], 0),
                [np.swapaxes(_wellcond(5, 3), -1, -2)]),
    "qr_square_full": (lambda ns, a: ns.linalg.qr(a, full_matrices=True)[0], [_wellcond(3, 3)]),
    "qr_wide_full": (lambda ns, a: ns.linalg.qr(a, full_matrices=True)[1], [np.swapaxes(_wellcond(2, 4, 3), -1, -2)]),
    "svd_values": (lambda ns, a: ns.linalg.svd(a, compute_uv=False), [_spread(2, 4, 3)]),
    "svd_values_of_the_tuple": (lambda ns, a: ns.linalg.svd(a)[0], [_spread(3, 5)]),
    "svd_product": (lambda ns, a: _svd_product(ns, a), [_spread(2, 4, 3)]),
    "svd_product_wide": (lambda ns, a: _svd_product(ns, a), [_spread(3, 5)]),
    "svd_product_square": (lambda ns, a: _svd_product(ns, a), [_spread(3, 3)]),
    "svd_full_squares": (lambda ns, a: ns.linalg.svd(a, full_matrices=True)[1] ** 2, [_spread(4, 3)]),
    "eigh_values": (lambda ns, a: ns.linalg.eigh(a)[0], [_separated(2, 4, 4)]),
    "eigvalsh": (lambda ns, a: ns.linalg.eigvalsh(a), [_separated(3, 3)]),
    "eigh_vectors_squared": (lambda ns, a: ns.linalg.eigh(a)[1] ** 2, [_separated(2, 3, 3)]),
    "eigh_vectors_product": (lambda ns, a: ns.matmul(ns.linalg.eigh(a)[1] * [0.5, 1.0, 3.0, 2.0],
                                                     ns.linalg.eigh(a)[1], transpose_b=True), [_separated(4, 4)]),
}


def weights(shape, salt):
    """A fixed weight of `shape` for the upstream gradient (no symmetry that could hide an error)."""
    n = int(np.prod(shape)) if shape else 1
    return np.reshape(np.cos(np.arange(n) * 1.7 + salt) + 0.5, shape)


def run_case(ns, name):
    """{"value", "grad": [per input], "grad2": [per input]} as nested lists (None for no gradient)."""
    fn, inputs = CASES[name]
    xs = [ns.constant(x) for x in inputs]

    def plain(t):
        return None if t is None else np.asarray(t.numpy()).tolist()

    with ns.GradientTape(persistent=True) as outer:
        for x in xs:
            outer.watch(x)
        with ns.GradientTape() as inner:
            for x in xs:
                inner.watch(x)
            y = fn(ns, *xs)
            loss = ns.reduce_sum(y * weights(tuple(y.shape), 0.3))
        grads = inner.gradient(loss, xs)
        seconds = [None if g is None else ns.reduce_sum(g * weights(tuple(g.shape), 1.1 + i))
                   for i, g in enumerate(grads)]
    grad2 = [None if s is None else plain(outer.gradient(s, xs[i])) for i, s in enumerate(seconds)]
    return {"value": plain(y), "grad": [plain(g) for g in grads], "grad2": grad2}
