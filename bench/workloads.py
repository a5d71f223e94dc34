"""The benchmark workloads W1-W9 (see BENCHMARKS.md; W9 in bench/README.md), for gradtape and each peer.

Every implementation is a factory `make(cfg) -> Case`. A Case holds

  step()        one iteration, *including* reading the results back to Python floats or
                NumPy arrays (so that no library can win by deferring work);
  check(result) validates what one step() returned (and, for W5, the state it left),
                raising CheckFailed with a message when it is wrong.

run.py calls step() once, checks that result, and only then times the case. A peer that is
not importable is skipped (Unavailable), never an error.

The libraries are imported lazily through `lib(name)`, so importing this module costs
nothing and a missing peer only shows when its case is built.
"""
import math
import os

import numpy as np

# ---------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------
FULL = dict(
    w3_rounds=333,          # 333 rounds of 3 ops = 999 recorded ops
    w4_n=4_194_304,         # 16 MiB float32 vectors
    w5_batch=128, w5_layers=(784, 512, 512, 10),
    w6_n=1024,
    w7_n=256,
    w9_batch=64,
)
QUICK = dict(
    w3_rounds=333,
    w4_n=262_144,
    w5_batch=32, w5_layers=(784, 128, 128, 10),
    w6_n=256,
    w7_n=64,
    w9_batch=8,
)

W8_POINTS = [-1000.0, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1000.0]
LR = 0.01


class Unavailable(Exception):
    """The library this case needs cannot be imported: the case is skipped."""


class CheckFailed(AssertionError):
    """A case computed a wrong result."""


class Case:
    def __init__(self, step, check, info=None):
        self.step = step
        self.check = check
        self.info = info or {}


# ---------------------------------------------------------------------------------------
# lazy library loading
# ---------------------------------------------------------------------------------------
_LIBS = {}
_LIB_ERRORS = {}
THREADS = None  # run.py --threads: set before any library is imported


def _peer(name):
    """A peer importable here, or from the peers venv when its Python matches (_peers.py)."""
    try:
        from _peers import import_peer
    except ImportError:  # workloads imported from elsewhere than bench/
        import importlib
        return importlib.import_module(name)
    mod, why = import_peer(name)
    if mod is None:
        raise ImportError(why)
    return mod


def _import(name):
    if name == "gradtape":
        import gradtape
        return gradtape
    if name == "torch":
        torch = _peer("torch")
        if THREADS:
            torch.set_num_threads(THREADS)
            torch.set_num_interop_threads(THREADS)
        return torch
    if name == "tf":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
        if THREADS:
            tf.config.threading.set_intra_op_parallelism_threads(THREADS)
            tf.config.threading.set_inter_op_parallelism_threads(THREADS)
        return tf
    if name == "jax":
        jax = _peer("jax")
        # float64 is needed for W8; every array here is created with an explicit dtype, so
        # this does not change what the float32 workloads compute.
        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
        import jax.numpy  # noqa: F401
        return jax
    if name == "numpy":
        return np
    raise KeyError(name)


def lib(name):
    """The module for a library family, or Unavailable with the import error."""
    if name in _LIBS:
        return _LIBS[name]
    if name in _LIB_ERRORS:
        raise Unavailable(_LIB_ERRORS[name])
    try:
        mod = _import(name)
    except Exception as e:  # ImportError, or a broken install raising anything
        _LIB_ERRORS[name] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        raise Unavailable(_LIB_ERRORS[name])
    _LIBS[name] = mod
    return mod


def lib_version(name):
    try:
        m = lib(name)
    except Unavailable:
        return None
    return getattr(m, "__version__", "?")


# ---------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------
# WORKLOADS[wid] = dict(title, unit, impls=[(label, libname, factory)])
WORKLOADS = {}
ORDER = ["W1", "W2", "W3", "W3-notape", "W4", "W5", "W6", "W7", "W9", "W8"]
META = {
    "W1": ("seed-scalar: z = 3*w1**2 + 2*w1*w2, gradient wrt w1, w2", "us/iter"),
    "W2": ("seed-hessian: 2x2 Hessian of the same f by nested tapes", "us/iter"),
    "W3": ("deep-scalar-chain: 999 recorded ops x = sin(x)*1.0001 + 0.001, forward + backward", "us/op"),
    "W3-notape": ("deep-scalar-chain, forward only, nothing recorded", "us/op"),
    "W4": ("big-elementwise: sum(softplus(x*w + b)), grads wrt x, w, b", "ms/iter"),
    "W5": ("mlp-step: 784-512-512-10 ReLU MLP, softmax CE, SGD step, batch 128", "ms/step"),
    "W6": ("matmul: loss = sum(A @ B), grads wrt A and B", "ms/iter"),
    "W7": ("jacobian: full dy/dx of y = tanh(W @ x)", "ms/iter"),
    "W9": ("cnn-step: 28x28x1 -> conv3x3x32 ReLU -> conv3x3x32 ReLU -> maxpool 2x2 -> dense 10, "
           "sparse softmax CE, SGD step, batch 64", "ms/step"),
    "W8": ("softplus-stability: value and gradient at 9 points, float32 and float64", "table"),
}
for _w in ORDER:
    WORKLOADS[_w] = dict(title=META[_w][0], unit=META[_w][1], impls=[])


def impl(wid, label, libname):
    def deco(factory):
        WORKLOADS[wid]["impls"].append((label, libname, factory))
        return factory
    return deco


def _fail(msg):
    raise CheckFailed(msg)


def _close(name, got, want, rtol, atol):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        _fail("%s: shape %s, expected %s" % (name, got.shape, want.shape))
    if not np.all(np.isfinite(got)):
        _fail("%s: non-finite values" % name)
    err = np.abs(got - want)
    tol = atol + rtol * np.abs(want)
    if np.any(err > tol):
        i = np.unravel_index(np.argmax(err - tol), err.shape)
        _fail("%s: max excess error at %s: got %r, expected %r (rtol %g, atol %g)"
              % (name, tuple(int(k) for k in i), got[i], want[i], rtol, atol))


# =======================================================================================
# W1 seed-scalar
# =======================================================================================
def _check_w1(r):
    g1, g2 = r
    if (g1, g2) != (36.0, 10.0):
        _fail("gradients (%r, %r), expected (36, 10)" % (g1, g2))


@impl("W1", "gradtape", "gradtape")
def w1_gradtape(cfg):
    gt = lib("gradtape")
    w1, w2 = gt.Variable(5.), gt.Variable(3.)

    def step():
        with gt.GradientTape() as tape:
            z = 3 * w1 ** 2 + 2 * w1 * w2
        g1, g2 = tape.gradient(z, [w1, w2])
        return float(g1), float(g2)
    return Case(step, _check_w1)


@impl("W1", "gradtape-function", "gradtape")
def w1_gradtape_function(cfg):
    gt = lib("gradtape")
    w1, w2 = gt.Variable(5.), gt.Variable(3.)

    @gt.function
    def grads():
        with gt.GradientTape() as tape:
            z = 3 * w1 ** 2 + 2 * w1 * w2
        return tape.gradient(z, [w1, w2])

    def step():
        g1, g2 = grads()
        return float(g1), float(g2)
    step.function = grads  # (bench/call_path.py times the call alone)
    return Case(step, _check_w1)


@impl("W1", "torch", "torch")
def w1_torch(cfg):
    torch = lib("torch")
    w1 = torch.tensor(5., requires_grad=True)
    w2 = torch.tensor(3., requires_grad=True)

    def step():
        z = 3 * w1 ** 2 + 2 * w1 * w2
        g1, g2 = torch.autograd.grad(z, [w1, w2])
        return g1.item(), g2.item()
    return Case(step, _check_w1)


@impl("W1", "tf", "tf")
def w1_tf(cfg):
    tf = lib("tf")
    w1, w2 = tf.Variable(5.), tf.Variable(3.)

    def step():
        with tf.GradientTape() as tape:
            z = 3 * w1 ** 2 + 2 * w1 * w2
        g1, g2 = tape.gradient(z, [w1, w2])
        return float(g1.numpy()), float(g2.numpy())
    return Case(step, _check_w1)


def _jax_f(a, b):
    return 3 * a ** 2 + 2 * a * b


@impl("W1", "jax", "jax")
def w1_jax(cfg):
    jax = lib("jax")
    jnp = jax.numpy
    w1, w2 = jnp.float32(5.), jnp.float32(3.)
    grad = jax.grad(_jax_f, argnums=(0, 1))

    def step():
        g1, g2 = grad(w1, w2)
        return float(g1), float(g2)
    return Case(step, _check_w1)


@impl("W1", "jax-jit", "jax")
def w1_jax_jit(cfg):
    jax = lib("jax")
    jnp = jax.numpy
    w1, w2 = jnp.float32(5.), jnp.float32(3.)
    grad = jax.jit(jax.grad(_jax_f, argnums=(0, 1)))

    def step():
        g1, g2 = grad(w1, w2)
        return float(g1), float(g2)
    return Case(step, _check_w1)


# =======================================================================================
# W2 seed-hessian
# =======================================================================================
def _check_w2(H):
    (a, b), (c, d) = H
    if (a, b, c) != (6.0, 2.0, 2.0) or d not in (None, 0.0):
        _fail("Hessian %r, expected [[6, 2], [2, None or 0]]" % (H,))


def _f_or_none(t, conv=float):
    return None if t is None else conv(t)


@impl("W2", "gradtape", "gradtape")
def w2_gradtape(cfg):
    gt = lib("gradtape")
    w1, w2 = gt.Variable(5.), gt.Variable(3.)

    def step():
        with gt.GradientTape(persistent=True) as outer:
            with gt.GradientTape() as inner:
                z = 3 * w1 ** 2 + 2 * w1 * w2
            g = inner.gradient(z, [w1, w2])
        H = [[_f_or_none(h) for h in outer.gradient(gi, [w1, w2])] for gi in g]
        del outer
        return H
    return Case(step, _check_w2)


@impl("W2", "gradtape-function", "gradtape")
def w2_gradtape_function(cfg):
    gt = lib("gradtape")
    w1, w2 = gt.Variable(5.), gt.Variable(3.)

    @gt.function
    def hessian():
        with gt.GradientTape(persistent=True) as outer:
            with gt.GradientTape() as inner:
                z = 3 * w1 ** 2 + 2 * w1 * w2
            g = inner.gradient(z, [w1, w2])
        return [outer.gradient(gi, [w1, w2]) for gi in g]

    def step():
        return [[_f_or_none(h) for h in row] for row in hessian()]
    step.function = hessian  # (bench/call_path.py times the call alone)
    return Case(step, _check_w2)


@impl("W2", "torch", "torch")
def w2_torch(cfg):
    torch = lib("torch")
    w1 = torch.tensor(5., requires_grad=True)
    w2 = torch.tensor(3., requires_grad=True)

    def step():
        z = 3 * w1 ** 2 + 2 * w1 * w2
        g = torch.autograd.grad(z, [w1, w2], create_graph=True)
        H = [[_f_or_none(h, lambda t: t.item())
              for h in torch.autograd.grad(gi, [w1, w2], retain_graph=True, allow_unused=True)]
             for gi in g]
        return H
    return Case(step, _check_w2)


@impl("W2", "tf", "tf")
def w2_tf(cfg):
    tf = lib("tf")
    w1, w2 = tf.Variable(5.), tf.Variable(3.)

    def step():
        with tf.GradientTape(persistent=True) as outer:
            with tf.GradientTape() as inner:
                z = 3 * w1 ** 2 + 2 * w1 * w2
            g = inner.gradient(z, [w1, w2])
        H = [[_f_or_none(h, lambda t: float(t.numpy())) for h in outer.gradient(gi, [w1, w2])]
             for gi in g]
        del outer
        return H
    return Case(step, _check_w2)


@impl("W2", "jax", "jax")
def w2_jax(cfg):
    jax = lib("jax")
    jnp = jax.numpy
    w1, w2 = jnp.float32(5.), jnp.float32(3.)
    hess = jax.hessian(_jax_f, argnums=(0, 1))

    def step():
        H = hess(w1, w2)
        return [[float(H[i][j]) for j in range(2)] for i in range(2)]
    return Case(step, _check_w2)


@impl("W2", "jax-jit", "jax")
def w2_jax_jit(cfg):
    jax = lib("jax")
    jnp = jax.numpy
    w1, w2 = jnp.float32(5.), jnp.float32(3.)
    hess = jax.jit(jax.hessian(_jax_f, argnums=(0, 1)))

    def step():
        H = hess(w1, w2)
        return [[float(H[i][j]) for j in range(2)] for i in range(2)]
    return Case(step, _check_w2)


# =======================================================================================
# W3 deep-scalar-chain (float32, as every workload unless it says otherwise)
# =======================================================================================
def w3_reference(rounds, x0=0.5):
    """Float64 value and derivative of the chain, by a hand-written forward/adjoint."""
    x, d = x0, 1.0
    for _ in range(rounds):
        d *= math.cos(x) * 1.0001
        x = math.sin(x) * 1.0001 + 0.001
    return x, d


def _w3_grad_check(cfg):
    _, d = w3_reference(cfg["w3_rounds"])

    def check(g):
        _close("dx_final/dx0", g, d, rtol=2e-3, atol=0.0)
    return check


def _w3_value_check(cfg):
    v, _ = w3_reference(cfg["w3_rounds"])

    def check(y):
        _close("x_final", y, v, rtol=1e-4, atol=0.0)
    return check


def _w3_info(cfg):
    return {"ops": 3 * cfg["w3_rounds"]}


@impl("W3", "gradtape", "gradtape")
def w3_gradtape(cfg):
    gt = lib("gradtape")
    n = cfg["w3_rounds"]
    x = gt.constant(0.5)
    sin = gt.sin

    def step():
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = x
            for _ in range(n):
                y = sin(y) * 1.0001 + 0.001
        return float(tape.gradient(y, x))
    return Case(step, _w3_grad_check(cfg), _w3_info(cfg))


@impl("W3", "gradtape-function", "gradtape")
def w3_gradtape_function(cfg):
    gt = lib("gradtape")
    n = cfg["w3_rounds"]
    x = gt.constant(0.5)
    sin = gt.sin

    @gt.function
    def chain(x):
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = x
            for _ in range(n):
                y = sin(y) * 1.0001 + 0.001
        return tape.gradient(y, x)

    def step():
        return float(chain(x))
    return Case(step, _w3_grad_check(cfg), _w3_info(cfg))


@impl("W3", "torch", "torch")
def w3_torch(cfg):
    torch = lib("torch")
    n = cfg["w3_rounds"]
    x = torch.tensor(0.5, requires_grad=True)
    sin = torch.sin

    def step():
        y = x
        for _ in range(n):
            y = sin(y) * 1.0001 + 0.001
        return torch.autograd.grad(y, x)[0].item()
    return Case(step, _w3_grad_check(cfg), _w3_info(cfg))


@impl("W3", "tf", "tf")
def w3_tf(cfg):
    tf = lib("tf")
    n = cfg["w3_rounds"]
    x = tf.constant(0.5)
    sin = tf.sin

    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = x
            for _ in range(n):
                y = sin(y) * 1.0001 + 0.001
        return float(tape.gradient(y, x).numpy())
    return Case(step, _w3_grad_check(cfg), _w3_info(cfg))


def _jax_chain(n):
    def chain(x):
        jnp = lib("jax").numpy
        for _ in range(n):
            x = jnp.sin(x) * 1.0001 + 0.001
        return x
    return chain


@impl("W3", "jax", "jax")
def w3_jax(cfg):
    jax = lib("jax")
    x = jax.numpy.float32(0.5)
    grad = jax.grad(_jax_chain(cfg["w3_rounds"]))

    def step():
        return float(grad(x))
    return Case(step, _w3_grad_check(cfg), _w3_info(cfg))


@impl("W3", "jax-jit", "jax")
def w3_jax_jit(cfg):
    jax = lib("jax")
    x = jax.numpy.float32(0.5)
    grad = jax.jit(jax.grad(_jax_chain(cfg["w3_rounds"])))

    def step():
        return float(grad(x))
    return Case(step, _w3_grad_check(cfg), _w3_info(cfg))


# ---- W3 forward only, no tape ----
@impl("W3-notape", "gradtape", "gradtape")
def w3n_gradtape(cfg):
    gt = lib("gradtape")
    n = cfg["w3_rounds"]
    x = gt.constant(0.5)
    sin = gt.sin

    def step():
        y = x
        for _ in range(n):
            y = sin(y) * 1.0001 + 0.001
        return float(y)
    return Case(step, _w3_value_check(cfg), _w3_info(cfg))


@impl("W3-notape", "torch", "torch")
def w3n_torch(cfg):
    torch = lib("torch")
    n = cfg["w3_rounds"]
    x = torch.tensor(0.5)
    sin = torch.sin

    def step():
        with torch.no_grad():
            y = x
            for _ in range(n):
                y = sin(y) * 1.0001 + 0.001
        return y.item()
    return Case(step, _w3_value_check(cfg), _w3_info(cfg))


@impl("W3-notape", "tf", "tf")
def w3n_tf(cfg):
    tf = lib("tf")
    n = cfg["w3_rounds"]
    x = tf.constant(0.5)
    sin = tf.sin

    def step():
        y = x
        for _ in range(n):
            y = sin(y) * 1.0001 + 0.001
        return float(y.numpy())
    return Case(step, _w3_value_check(cfg), _w3_info(cfg))


@impl("W3-notape", "jax", "jax")
def w3n_jax(cfg):
    jax = lib("jax")
    x = jax.numpy.float32(0.5)
    chain = _jax_chain(cfg["w3_rounds"])

    def step():
        return float(chain(x))
    return Case(step, _w3_value_check(cfg), _w3_info(cfg))


@impl("W3-notape", "numpy", "numpy")
def w3n_numpy(cfg):
    n = cfg["w3_rounds"]
    x = np.float32(0.5)
    a, c = np.float32(1.0001), np.float32(0.001)
    sin = np.sin

    def step():
        y = x
        for _ in range(n):
            y = sin(y) * a + c
        return float(y)
    return Case(step, _w3_value_check(cfg), _w3_info(cfg))


# =======================================================================================
# W4 big-elementwise
# =======================================================================================
_W4_CACHE = {}


def w4_data(n):
    if n not in _W4_CACHE:
        rng = np.random.default_rng(4)
        x = rng.standard_normal(n, dtype=np.float32)
        w = rng.standard_normal(n, dtype=np.float32)
        b = np.float32(0.25)
        # float64 reference
        u = x.astype(np.float64) * w.astype(np.float64) + float(b)
        loss = np.sum(np.maximum(u, 0) + np.log1p(np.exp(-np.abs(u))))
        s = 0.5 * (1 + np.tanh(0.5 * u))  # logistic sigmoid without overflow
        ref = (loss, (s * w).astype(np.float32), (s * x).astype(np.float32), s.sum())
        _W4_CACHE[n] = (x, w, b, ref)
    return _W4_CACHE[n]


def _w4_case(cfg, step_factory):
    x, w, b, (loss, gx, gw, gb) = w4_data(cfg["w4_n"])
    step = step_factory(x, w, b)

    def check(r):
        l_, gx_, gw_, gb_ = r
        _close("loss", l_, loss, rtol=1e-4, atol=0.0)
        _close("d/dx", gx_, gx, rtol=1e-4, atol=1e-6)
        _close("d/dw", gw_, gw, rtol=1e-4, atol=1e-6)
        _close("d/db", gb_, gb, rtol=1e-4, atol=0.0)
    # bytes the math needs: read x, w; write dx, dw
    return Case(step, check, {"bytes": 16 * cfg["w4_n"]})


@impl("W4", "gradtape", "gradtape")
def w4_gradtape(cfg):
    gt = lib("gradtape")

    def factory(x, w, b):
        tx, tw, tb = gt.constant(x), gt.constant(w), gt.constant(b)

        def step():
            with gt.GradientTape() as tape:
                tape.watch([tx, tw, tb])
                loss = gt.reduce_sum(gt.nn.softplus(tx * tw + tb))
            gx, gw, gb = tape.gradient(loss, [tx, tw, tb])
            return float(loss), gx.numpy(), gw.numpy(), float(gb)
        return step
    return _w4_case(cfg, factory)


@impl("W4", "gradtape-function", "gradtape")
def w4_gradtape_function(cfg):
    gt = lib("gradtape")

    @gt.function
    def loss_and_grads(tx, tw, tb):
        with gt.GradientTape() as tape:
            tape.watch([tx, tw, tb])
            loss = gt.reduce_sum(gt.nn.softplus(tx * tw + tb))
        return (loss,) + tuple(tape.gradient(loss, [tx, tw, tb]))

    def factory(x, w, b):
        tx, tw, tb = gt.constant(x), gt.constant(w), gt.constant(b)

        def step():
            loss, gx, gw, gb = loss_and_grads(tx, tw, tb)
            return float(loss), gx.numpy(), gw.numpy(), float(gb)
        return step
    return _w4_case(cfg, factory)


@impl("W4", "torch", "torch")
def w4_torch(cfg):
    torch = lib("torch")
    F = torch.nn.functional

    def factory(x, w, b):
        tx = torch.from_numpy(x.copy()).requires_grad_()
        tw = torch.from_numpy(w.copy()).requires_grad_()
        tb = torch.tensor(float(b), requires_grad=True)

        def step():
            loss = F.softplus(tx * tw + tb).sum()
            gx, gw, gb = torch.autograd.grad(loss, [tx, tw, tb])
            return loss.item(), gx.numpy(), gw.numpy(), gb.item()
        return step
    return _w4_case(cfg, factory)


@impl("W4", "tf", "tf")
def w4_tf(cfg):
    tf = lib("tf")

    def factory(x, w, b):
        tx, tw, tb = tf.constant(x), tf.constant(w), tf.constant(b)

        def step():
            with tf.GradientTape() as tape:
                tape.watch([tx, tw, tb])
                loss = tf.reduce_sum(tf.nn.softplus(tx * tw + tb))
            gx, gw, gb = tape.gradient(loss, [tx, tw, tb])
            return float(loss.numpy()), gx.numpy(), gw.numpy(), float(gb.numpy())
        return step
    return _w4_case(cfg, factory)


def _jax_w4_loss(x, w, b):
    jax = lib("jax")
    return jax.numpy.sum(jax.nn.softplus(x * w + b))


def _jax_w4(jit):
    def make(cfg):
        jax = lib("jax")
        vg = jax.value_and_grad(_jax_w4_loss, argnums=(0, 1, 2))
        if jit:
            vg = jax.jit(vg)

        def factory(x, w, b):
            jx, jw, jb = jax.numpy.asarray(x), jax.numpy.asarray(w), jax.numpy.float32(b)

            def step():
                loss, (gx, gw, gb) = vg(jx, jw, jb)
                return float(loss), np.asarray(gx), np.asarray(gw), float(gb)
            return step
        return _w4_case(cfg, factory)
    return make


impl("W4", "jax", "jax")(_jax_w4(False))
impl("W4", "jax-jit", "jax")(_jax_w4(True))


@impl("W4", "numpy", "numpy")
def w4_numpy(cfg):
    def factory(x, w, b):
        def step():
            # by hand, one thread, in place where it can
            u = x * w
            u += b
            a = np.abs(u)
            np.negative(a, out=a)
            np.exp(a, out=a)             # e = exp(-|u|)
            sp = np.log1p(a)
            sp += np.maximum(u, 0)
            loss = float(sp.sum(dtype=np.float64))
            # sigmoid(u) = 1/(1+e) for u >= 0, e/(1+e) for u < 0
            s = 1.0 / (1.0 + a)
            s = np.where(u >= 0, s, a * s)
            gx = s * w
            gw = s * x
            gb = float(s.sum(dtype=np.float64))
            return loss, gx, gw, gb
        return step
    return _w4_case(cfg, factory)


# =======================================================================================
# W5 mlp-step
# =======================================================================================
def w5_data(cfg):
    batch, layers = cfg["w5_batch"], cfg["w5_layers"]
    rng = np.random.default_rng(5)
    X = rng.standard_normal((batch, layers[0]), dtype=np.float32)
    y = rng.integers(0, layers[-1], size=batch).astype(np.int32)
    params = []
    for i in range(len(layers) - 1):
        W = (rng.standard_normal((layers[i], layers[i + 1])) * math.sqrt(2.0 / layers[i])).astype(np.float32)
        b = (rng.standard_normal(layers[i + 1]) * 0.01).astype(np.float32)
        params += [W, b]
    return X, y, params


def w5_reference(X, y, params, lr=LR):
    """Float64 forward/backward by hand: (loss, params after one SGD step)."""
    P = [p.astype(np.float64) for p in params]
    h = X.astype(np.float64)
    acts = [h]
    nl = len(P) // 2
    for i in range(nl):
        h = h @ P[2 * i] + P[2 * i + 1]
        if i < nl - 1:
            h = np.maximum(h, 0)
        acts.append(h)
    logits = acts[-1]
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    B = X.shape[0]
    loss = np.mean(lse - logits[np.arange(B), y])
    g = np.exp(logits - lse[:, None])
    g[np.arange(B), y] -= 1
    g /= B
    grads = [None] * len(P)
    for i in reversed(range(nl)):
        a = acts[i]
        grads[2 * i] = a.T @ g
        grads[2 * i + 1] = g.sum(axis=0)
        if i > 0:
            g = (g @ P[2 * i].T) * (acts[i] > 0)
    return loss, [p - lr * gr for p, gr in zip(P, grads)]


def _w5_case(cfg, build):
    """build(X, y, params) -> (step, get_params)."""
    X, y, params = w5_data(cfg)
    loss_ref, new_ref = w5_reference(X, y, params)
    step, get_params = build(X, y, [p.copy() for p in params])

    def check(loss):
        _close("loss", loss, loss_ref, rtol=1e-4, atol=0.0)
        for i, (p, want) in enumerate(zip(get_params(), new_ref)):
            _close("param %d after one SGD step" % i, p, want, rtol=1e-4, atol=2e-6)
    return Case(step, check)


def w5_gradtape_step(gt, P, X, y):
    """W5's training step in gradtape, eager or traced (gt.function; bench/saved_w5.py saves it):
    the MLP's forward pass on variables P (weights and biases in turn), the tape's gradient, the
    SGD update. Returns the loss tensor."""
    nl = len(P) // 2
    with gt.GradientTape() as tape:
        h = X
        for i in range(nl):
            h = gt.matmul(h, P[2 * i]) + P[2 * i + 1]
            if i < nl - 1:
                h = gt.nn.relu(h)
        loss = gt.reduce_mean(gt.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=h))
    grads = tape.gradient(loss, P)
    for v, g in zip(P, grads):
        v.assign_sub(g * LR)
    return loss


@impl("W5", "gradtape", "gradtape")
def w5_gradtape(cfg):
    gt = lib("gradtape")

    def build(X, y, params):
        tX, ty = gt.constant(X), gt.constant(y)
        P = [gt.Variable(p) for p in params]

        def step():
            return float(w5_gradtape_step(gt, P, tX, ty))
        return step, lambda: [v.numpy() for v in P]
    return _w5_case(cfg, build)


@impl("W5", "gradtape-function", "gradtape")
def w5_gradtape_function(cfg):
    gt = lib("gradtape")

    def build(X, y, params):
        tX, ty = gt.constant(X), gt.constant(y)
        P = [gt.Variable(p) for p in params]

        @gt.function
        def train_step(X, y):
            return w5_gradtape_step(gt, P, X, y)

        def step():
            return float(train_step(tX, ty))
        return step, lambda: [v.numpy() for v in P]
    return _w5_case(cfg, build)


@impl("W5", "torch", "torch")
def w5_torch(cfg):
    torch = lib("torch")
    F = torch.nn.functional

    def build(X, y, params):
        tX, ty = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
        P = [torch.from_numpy(p).requires_grad_() for p in params]
        nl = len(P) // 2

        def step():
            h = tX
            for i in range(nl):
                h = torch.addmm(P[2 * i + 1], h, P[2 * i])
                if i < nl - 1:
                    h = F.relu(h)
            loss = F.cross_entropy(h, ty)
            grads = torch.autograd.grad(loss, P)
            with torch.no_grad():
                for p, g in zip(P, grads):
                    p.add_(g, alpha=-LR)
            return loss.item()
        return step, lambda: [p.detach().numpy() for p in P]
    return _w5_case(cfg, build)


@impl("W5", "tf", "tf")
def w5_tf(cfg):
    tf = lib("tf")

    def build(X, y, params):
        tX, ty = tf.constant(X), tf.constant(y)
        P = [tf.Variable(p) for p in params]
        nl = len(P) // 2

        def step():
            with tf.GradientTape() as tape:
                h = tX
                for i in range(nl):
                    h = tf.matmul(h, P[2 * i]) + P[2 * i + 1]
                    if i < nl - 1:
                        h = tf.nn.relu(h)
                loss = tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ty, logits=h))
            grads = tape.gradient(loss, P)
            for v, g in zip(P, grads):
                v.assign_sub(LR * g)
            return float(loss.numpy())
        return step, lambda: [v.numpy() for v in P]
    return _w5_case(cfg, build)


def _jax_w5(jit):
    def make(cfg):
        jax = lib("jax")
        jnp = jax.numpy

        def loss_fn(P, X, y):
            h = X
            nl = len(P) // 2
            for i in range(nl):
                h = h @ P[2 * i] + P[2 * i + 1]
                if i < nl - 1:
                    h = jax.nn.relu(h)
            logp = jax.nn.log_softmax(h)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

        def sgd(P, X, y):
            loss, grads = jax.value_and_grad(loss_fn)(P, X, y)
            return [p - LR * g for p, g in zip(P, grads)], loss

        if jit:
            sgd = jax.jit(sgd, donate_argnums=(0,))

        def build(X, y, params):
            jX, jy = jnp.asarray(X), jnp.asarray(y)
            state = {"P": [jnp.asarray(p) for p in params]}

            def step():
                state["P"], loss = sgd(state["P"], jX, jy)
                return float(loss)
            return step, lambda: [np.asarray(p) for p in state["P"]]
        return _w5_case(cfg, build)
    return make


impl("W5", "jax", "jax")(_jax_w5(False))
impl("W5", "jax-jit", "jax")(_jax_w5(True))


@impl("W5", "numpy", "numpy")
def w5_numpy(cfg):
    def build(X, y, P):
        nl = len(P) // 2
        B = X.shape[0]
        rows = np.arange(B)

        def step():
            acts = [X]
            h = X
            for i in range(nl):
                h = h @ P[2 * i]
                h += P[2 * i + 1]
                if i < nl - 1:
                    np.maximum(h, 0, out=h)
                acts.append(h)
            m = h.max(axis=1, keepdims=True)
            e = np.exp(h - m)
            se = e.sum(axis=1, keepdims=True)
            loss = float(np.mean(np.log(se[:, 0]) + m[:, 0] - h[rows, y]))
            g = e / se
            g[rows, y] -= 1
            g /= B
            for i in reversed(range(nl)):
                a = acts[i]
                gW = a.T @ g
                gb = g.sum(axis=0)
                if i > 0:
                    g = g @ P[2 * i].T
                    g *= acts[i] > 0
                P[2 * i] -= LR * gW
                P[2 * i + 1] -= LR * gb
            return loss
        return step, lambda: P
    return _w5_case(cfg, build)


# =======================================================================================
# W9 cnn-step: two 3x3 'SAME' convolutions of 32 channels (ReLU), a 2x2 max pool, a dense
# layer to 10 classes, sparse softmax cross-entropy, the gradient of every weight and an SGD
# step. Images NHWC, filters HWIO (gradtape's and TensorFlow's layouts); torch gets the same
# numbers as NCHW/OIHW, and its dense matrix's rows in NCHW-flatten order.
# =======================================================================================
W9_SIZE, W9_CH, W9_CLASSES = 28, 32, 10


def w9_data(cfg):
    B, S, C, K = cfg["w9_batch"], W9_SIZE, W9_CH, W9_CLASSES
    rng = np.random.default_rng(9)
    X = rng.standard_normal((B, S, S, 1), dtype=np.float32)
    y = rng.integers(0, K, size=B).astype(np.int32)
    params = [
        (rng.standard_normal((3, 3, 1, C)) * math.sqrt(2.0 / 9)).astype(np.float32),
        (rng.standard_normal(C) * 0.01).astype(np.float32),
        (rng.standard_normal((3, 3, C, C)) * math.sqrt(2.0 / (9 * C))).astype(np.float32),
        (rng.standard_normal(C) * 0.01).astype(np.float32),
        (rng.standard_normal(((S // 2) ** 2 * C, K)) * math.sqrt(1.0 / ((S // 2) ** 2 * C))).astype(np.float32),
        (rng.standard_normal(K) * 0.01).astype(np.float32),
    ]
    return X, y, params


def _w9_cols(x):
    """3x3 'SAME' patches of NHWC x: [B, H, W, 9 * C], taps in (kh, kw) order."""
    p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    H, W = x.shape[1:3]
    return np.concatenate([p[:, i:i + H, j:j + W] for i in range(3) for j in range(3)], axis=3)


def _w9_col2im(g):
    """The adjoint of _w9_cols: [B, H, W, 9 * C] -> [B, H, W, C]."""
    B, H, W, K = g.shape
    C = K // 9
    p = np.zeros((B, H + 2, W + 2, C), g.dtype)
    for t in range(9):
        i, j = divmod(t, 3)
        p[:, i:i + H, j:j + W] += g[..., t * C:(t + 1) * C]
    return p[:, 1:-1, 1:-1]


def w9_reference(X, y, params, lr=LR):
    """Float64 forward/backward by hand: (loss, params after one SGD step)."""
    W1, b1, W2, b2, Wd, bd = [p.astype(np.float64) for p in params]
    x = X.astype(np.float64)
    B, S = x.shape[0], x.shape[1]
    c0 = _w9_cols(x)
    z1 = c0 @ W1.reshape(-1, W9_CH) + b1
    h1 = np.maximum(z1, 0)
    c1 = _w9_cols(h1)
    z2 = c1 @ W2.reshape(-1, W9_CH) + b2
    h2 = np.maximum(z2, 0)
    win = h2.reshape(B, S // 2, 2, S // 2, 2, W9_CH).transpose(0, 1, 3, 5, 2, 4).reshape(B, S // 2, S // 2, W9_CH, 4)
    arg = win.argmax(-1)  # the first largest, as TensorFlow's MaxPoolGrad
    pooled = np.take_along_axis(win, arg[..., None], -1)[..., 0]
    f = pooled.reshape(B, -1)
    logits = f @ Wd + bd
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    loss = np.mean(lse - logits[np.arange(B), y])
    g = np.exp(logits - lse[:, None])
    g[np.arange(B), y] -= 1
    g /= B
    gWd, gbd = f.T @ g, g.sum(0)
    gp = (g @ Wd.T).reshape(pooled.shape)
    gwin = np.zeros_like(win)
    np.put_along_axis(gwin, arg[..., None], gp[..., None], -1)
    gh2 = gwin.reshape(B, S // 2, S // 2, W9_CH, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(h2.shape)
    gz2 = gh2 * (z2 > 0)
    gW2 = (c1.reshape(-1, c1.shape[-1]).T @ gz2.reshape(-1, W9_CH)).reshape(W2.shape)
    gb2 = gz2.sum((0, 1, 2))
    gz1 = _w9_col2im(gz2 @ W2.reshape(-1, W9_CH).T) * (z1 > 0)
    gW1 = (c0.reshape(-1, c0.shape[-1]).T @ gz1.reshape(-1, W9_CH)).reshape(W1.shape)
    gb1 = gz1.sum((0, 1, 2))
    P = [W1, b1, W2, b2, Wd, bd]
    return loss, [p - lr * gr for p, gr in zip(P, [gW1, gb1, gW2, gb2, gWd, gbd])]


def _w9_case(cfg, build):
    """build(X, y, params) -> (step, get_params), params in the NHWC/HWIO layout."""
    X, y, params = w9_data(cfg)
    loss_ref, new_ref = w9_reference(X, y, params)
    step, get_params = build(X, y, [p.copy() for p in params])

    def check(loss):
        _close("loss", loss, loss_ref, rtol=1e-4, atol=0.0)
        for i, (p, want) in enumerate(zip(get_params(), new_ref)):
            _close("param %d after one SGD step" % i, p, want, rtol=1e-4, atol=2e-6)
    B = cfg["w9_batch"]
    flop = 3 * 2 * B * W9_SIZE ** 2 * 9 * W9_CH * (1 + W9_CH)  # the two convolutions, forward + 2 backward
    return Case(step, check, {"flop": float(flop)})


def _w9_keras_like(m, conv, pool, sce, function=False):
    """The step for gradtape and TensorFlow (the same API); function=True: under gt.function."""
    def build(X, y, params):
        tX, ty = m.constant(X), m.constant(y)
        P = [m.Variable(p) for p in params]
        B = X.shape[0]

        def train_step(tX, ty):
            with m.GradientTape() as tape:
                h = m.nn.relu(conv(tX, P[0], 1, "SAME") + P[1])
                h = m.nn.relu(conv(h, P[2], 1, "SAME") + P[3])
                h = m.reshape(pool(h, 2, 2, "VALID"), [B, -1])
                logits = m.matmul(h, P[4]) + P[5]
                loss = m.reduce_mean(sce(labels=ty, logits=logits))
            grads = tape.gradient(loss, P)
            for v, g in zip(P, grads):
                v.assign_sub(g * LR)
            return loss

        if function:
            train_step = m.function(train_step)

        def step():
            return float(train_step(tX, ty))
        return step, lambda: [v.numpy() for v in P]
    return build


@impl("W9", "gradtape", "gradtape")
def w9_gradtape(cfg):
    gt = lib("gradtape")
    return _w9_case(cfg, _w9_keras_like(gt, gt.nn.conv2d, gt.nn.max_pool2d,
                                        gt.nn.sparse_softmax_cross_entropy_with_logits))


@impl("W9", "gradtape-function", "gradtape")
def w9_gradtape_function(cfg):
    gt = lib("gradtape")
    return _w9_case(cfg, _w9_keras_like(gt, gt.nn.conv2d, gt.nn.max_pool2d,
                                        gt.nn.sparse_softmax_cross_entropy_with_logits, function=True))


@impl("W9", "torch", "torch")
def w9_torch(cfg):
    torch = lib("torch")
    F = torch.nn.functional
    S2, C = W9_SIZE // 2, W9_CH

    def build(X, y, params):
        tX = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))
        ty = torch.from_numpy(y.astype(np.int64))
        W1, b1, W2, b2, Wd, bd = params
        Wd_nchw = Wd.reshape(S2, S2, C, -1).transpose(2, 0, 1, 3).reshape(S2 * S2 * C, -1)
        P = [torch.from_numpy(np.ascontiguousarray(a)).requires_grad_() for a in
             (W1.transpose(3, 2, 0, 1), b1, W2.transpose(3, 2, 0, 1), b2, Wd_nchw, bd)]

        def step():
            h = F.relu(F.conv2d(tX, P[0], P[1], padding=1))
            h = F.relu(F.conv2d(h, P[2], P[3], padding=1))
            h = F.max_pool2d(h, 2, 2).reshape(h.shape[0], -1)
            loss = F.cross_entropy(torch.addmm(P[5], h, P[4]), ty)
            grads = torch.autograd.grad(loss, P)
            with torch.no_grad():
                for p, g in zip(P, grads):
                    p.add_(g, alpha=-LR)
            return loss.item()

        def get_params():
            w1, c1, w2, c2, wd, cd = [p.detach().numpy() for p in P]
            wd = wd.reshape(C, S2, S2, -1).transpose(1, 2, 0, 3).reshape(S2 * S2 * C, -1)
            return [w1.transpose(2, 3, 1, 0), c1, w2.transpose(2, 3, 1, 0), c2, wd, cd]
        return step, get_params
    return _w9_case(cfg, build)


@impl("W9", "tf", "tf")
def w9_tf(cfg):
    tf = lib("tf")
    return _w9_case(cfg, _w9_keras_like(tf, tf.nn.conv2d, tf.nn.max_pool2d,
                                        tf.nn.sparse_softmax_cross_entropy_with_logits))


def _jax_w9(jit):
    def make(cfg):
        jax = lib("jax")
        jnp, lax = jax.numpy, jax.lax

        def loss_fn(P, X, y):
            dn = ("NHWC", "HWIO", "NHWC")
            h = jax.nn.relu(lax.conv_general_dilated(X, P[0], (1, 1), "SAME", dimension_numbers=dn) + P[1])
            h = jax.nn.relu(lax.conv_general_dilated(h, P[2], (1, 1), "SAME", dimension_numbers=dn) + P[3])
            h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
            logits = h.reshape(h.shape[0], -1) @ P[4] + P[5]
            logp = jax.nn.log_softmax(logits)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

        def sgd(P, X, y):
            loss, grads = jax.value_and_grad(loss_fn)(P, X, y)
            return [p - LR * g for p, g in zip(P, grads)], loss

        if jit:
            sgd = jax.jit(sgd, donate_argnums=(0,))

        def build(X, y, params):
            jX, jy = jnp.asarray(X), jnp.asarray(y)
            state = {"P": [jnp.asarray(p) for p in params]}

            def step():
                state["P"], loss = sgd(state["P"], jX, jy)
                return float(loss)
            return step, lambda: [np.asarray(p) for p in state["P"]]
        return _w9_case(cfg, build)
    return make


impl("W9", "jax", "jax")(_jax_w9(False))
impl("W9", "jax-jit", "jax")(_jax_w9(True))


# =======================================================================================
# W6 matmul
# =======================================================================================
def w6_data(n):
    rng = np.random.default_rng(6)
    A = rng.standard_normal((n, n), dtype=np.float32)
    B = rng.standard_normal((n, n), dtype=np.float32)
    return A, B


def _w6_case(cfg, factory):
    n = cfg["w6_n"]
    A, B = w6_data(n)
    A64, B64 = A.astype(np.float64), B.astype(np.float64)
    loss_ref = float(A64.sum(axis=0) @ B64.sum(axis=1))
    loss_scale = float(np.abs(A64).sum(axis=0) @ np.abs(B64).sum(axis=1))
    dA = np.broadcast_to(B64.sum(axis=1)[None, :], (n, n))  # dA[i,k] = sum_j B[k,j]
    dB = np.broadcast_to(A64.sum(axis=0)[:, None], (n, n))  # dB[k,j] = sum_i A[i,k]
    step = factory(A, B)

    def check(r):
        loss, gA, gB = r
        _close("loss", loss, loss_ref, rtol=0.0, atol=1e-5 * loss_scale)
        _close("dA", gA, dA, rtol=1e-4, atol=1e-3)
        _close("dB", gB, dB, rtol=1e-4, atol=1e-3)
    return Case(step, check, {"flop": 6.0 * n ** 3})


@impl("W6", "gradtape", "gradtape")
def w6_gradtape(cfg):
    gt = lib("gradtape")

    def factory(A, B):
        tA, tB = gt.constant(A), gt.constant(B)

        def step():
            with gt.GradientTape() as tape:
                tape.watch([tA, tB])
                loss = gt.reduce_sum(gt.matmul(tA, tB))
            gA, gB = tape.gradient(loss, [tA, tB])
            return float(loss), gA.numpy(), gB.numpy()
        return step
    return _w6_case(cfg, factory)


@impl("W6", "gradtape-function", "gradtape")
def w6_gradtape_function(cfg):
    gt = lib("gradtape")

    @gt.function
    def loss_and_grads(tA, tB):
        with gt.GradientTape() as tape:
            tape.watch([tA, tB])
            loss = gt.reduce_sum(gt.matmul(tA, tB))
        gA, gB = tape.gradient(loss, [tA, tB])
        return loss, gA, gB

    def factory(A, B):
        tA, tB = gt.constant(A), gt.constant(B)

        def step():
            loss, gA, gB = loss_and_grads(tA, tB)
            return float(loss), gA.numpy(), gB.numpy()
        return step
    return _w6_case(cfg, factory)


@impl("W6", "torch", "torch")
def w6_torch(cfg):
    torch = lib("torch")

    def factory(A, B):
        tA = torch.from_numpy(A.copy()).requires_grad_()
        tB = torch.from_numpy(B.copy()).requires_grad_()

        def step():
            loss = (tA @ tB).sum()
            gA, gB = torch.autograd.grad(loss, [tA, tB])
            return loss.item(), gA.numpy(), gB.numpy()
        return step
    return _w6_case(cfg, factory)


@impl("W6", "tf", "tf")
def w6_tf(cfg):
    tf = lib("tf")

    def factory(A, B):
        tA, tB = tf.constant(A), tf.constant(B)

        def step():
            with tf.GradientTape() as tape:
                tape.watch([tA, tB])
                loss = tf.reduce_sum(tf.matmul(tA, tB))
            gA, gB = tape.gradient(loss, [tA, tB])
            return float(loss.numpy()), gA.numpy(), gB.numpy()
        return step
    return _w6_case(cfg, factory)


def _jax_w6(jit):
    def make(cfg):
        jax = lib("jax")
        jnp = jax.numpy
        vg = jax.value_and_grad(lambda a, b: jnp.sum(a @ b), argnums=(0, 1))
        if jit:
            vg = jax.jit(vg)

        def factory(A, B):
            jA, jB = jnp.asarray(A), jnp.asarray(B)

            def step():
                loss, (gA, gB) = vg(jA, jB)
                return float(loss), np.asarray(gA), np.asarray(gB)
            return step
        return _w6_case(cfg, factory)
    return make


impl("W6", "jax", "jax")(_jax_w6(False))
impl("W6", "jax-jit", "jax")(_jax_w6(True))


@impl("W6", "numpy", "numpy")
def w6_numpy(cfg):
    def factory(A, B):
        G = np.ones_like(A)

        def step():
            C = A @ B
            loss = float(C.sum(dtype=np.float64))
            return loss, G @ B.T, A.T @ G
        return step
    return _w6_case(cfg, factory)


# =======================================================================================
# W7 jacobian
# =======================================================================================
def w7_data(n):
    rng = np.random.default_rng(7)
    W = (rng.standard_normal((n, n)) / math.sqrt(n)).astype(np.float32)
    x = rng.standard_normal(n, dtype=np.float32)
    y = np.tanh(W.astype(np.float64) @ x.astype(np.float64))
    J = (1 - y ** 2)[:, None] * W.astype(np.float64)
    return W, x, J


def _w7_case(cfg, factory):
    W, x, J = w7_data(cfg["w7_n"])
    step = factory(W, x)

    def check(r):
        _close("Jacobian", r, J, rtol=1e-4, atol=1e-6)
    return Case(step, check)


@impl("W7", "gradtape", "gradtape")
def w7_gradtape(cfg):
    gt = lib("gradtape")

    def factory(W, x):
        tW, tx = gt.constant(W), gt.constant(x)

        def step():
            with gt.GradientTape() as tape:
                tape.watch(tx)
                y = gt.tanh(gt.matmul(tW, tx))
            return tape.jacobian(y, tx).numpy()
        return step
    return _w7_case(cfg, factory)


@impl("W7", "gradtape-function", "gradtape")
def w7_gradtape_function(cfg):
    gt = lib("gradtape")

    @gt.function
    def jacobian(tW, tx):
        with gt.GradientTape() as tape:
            tape.watch(tx)
            y = gt.tanh(gt.matmul(tW, tx))
        return tape.jacobian(y, tx)

    def factory(W, x):
        tW, tx = gt.constant(W), gt.constant(x)

        def step():
            return jacobian(tW, tx).numpy()
        return step
    return _w7_case(cfg, factory)


@impl("W7", "torch (loop)", "torch")
def w7_torch_loop(cfg):
    torch = lib("torch")

    def factory(W, x):
        tW, tx = torch.from_numpy(W), torch.from_numpy(x)
        f = lambda v: torch.tanh(tW @ v)  # noqa: E731

        def step():
            return torch.autograd.functional.jacobian(f, tx).numpy()
        return step
    return _w7_case(cfg, factory)


@impl("W7", "torch (vectorize)", "torch")
def w7_torch_vec(cfg):
    torch = lib("torch")

    def factory(W, x):
        tW, tx = torch.from_numpy(W), torch.from_numpy(x)
        f = lambda v: torch.tanh(tW @ v)  # noqa: E731

        def step():
            return torch.autograd.functional.jacobian(f, tx, vectorize=True).numpy()
        return step
    return _w7_case(cfg, factory)


@impl("W7", "torch.func.jacrev", "torch")
def w7_torch_func(cfg):
    torch = lib("torch")

    def factory(W, x):
        tW, tx = torch.from_numpy(W), torch.from_numpy(x)
        jac = torch.func.jacrev(lambda v: torch.tanh(tW @ v))

        def step():
            return jac(tx).numpy()
        return step
    return _w7_case(cfg, factory)


@impl("W7", "tf", "tf")
def w7_tf(cfg):
    tf = lib("tf")

    def factory(W, x):
        tW, tx = tf.constant(W), tf.constant(x)

        def step():
            with tf.GradientTape() as tape:
                tape.watch(tx)
                y = tf.tanh(tf.linalg.matvec(tW, tx))
            return tape.jacobian(y, tx).numpy()
        return step
    return _w7_case(cfg, factory)


def _jax_w7(jit):
    def make(cfg):
        jax = lib("jax")
        jnp = jax.numpy

        def factory(W, x):
            jW, jx = jnp.asarray(W), jnp.asarray(x)
            jac = jax.jacrev(lambda v: jnp.tanh(jW @ v))
            if jit:
                jac = jax.jit(jac)

            def step():
                return np.asarray(jac(jx))
            return step
        return _w7_case(cfg, factory)
    return make


impl("W7", "jax", "jax")(_jax_w7(False))
impl("W7", "jax-jit", "jax")(_jax_w7(True))


@impl("W7", "numpy", "numpy")
def w7_numpy(cfg):
    def factory(W, x):
        def step():
            y = np.tanh(W @ x)
            return (1 - y * y)[:, None] * W
        return step
    return _w7_case(cfg, factory)


# =======================================================================================
# W8 softplus-stability (a correctness table, not a timing)
# =======================================================================================
def w8_reference():
    """Exact value and gradient at W8_POINTS, as float64 (mpmath when available)."""
    try:
        import mpmath
        mpmath.mp.dps = 50
        val = [float(mpmath.log1p(mpmath.exp(-abs(mpmath.mpf(x)))) + max(x, 0.0)) for x in W8_POINTS]
        grad = [float(1 / (1 + mpmath.exp(-mpmath.mpf(x)))) for x in W8_POINTS]
    except ImportError:
        x = np.array(W8_POINTS)
        val = list(np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0))
        grad = list(np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))),
                             np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x)))))
    return np.array(val), np.array(grad)


def w8_status(got, want, dtype):
    """'ok', 'NaN', 'inf', or 'off' (finite but wrong), per point."""
    fi = np.finfo(dtype)
    rtol = 8 * fi.eps            # a few ulp
    want = np.asarray(want, dtype=np.float64).astype(dtype).astype(np.float64)
    out = []
    for g, w in zip(np.asarray(got, dtype=np.float64), want):
        if np.isnan(g):
            out.append("NaN")
        elif np.isinf(g):
            out.append("inf")
        elif abs(g - w) <= rtol * abs(w) + float(fi.tiny):
            out.append("ok")
        else:
            out.append("off")
    return out


# W8_IMPLS[label] = (libname, fn(points ndarray) -> (values, grads) as numpy)
W8_IMPLS = []


def w8impl(label, libname, form="builtin"):
    def deco(fn):
        W8_IMPLS.append((label, libname, form, fn))
        return fn
    return deco


@w8impl("gradtape gt.nn.softplus", "gradtape")
def w8_gradtape(x):
    gt = lib("gradtape")
    t = gt.constant(x)
    with gt.GradientTape() as tape:
        tape.watch(t)
        y = gt.nn.softplus(t)
    return y.numpy(), tape.gradient(y, t).numpy()


@w8impl("torch F.softplus", "torch")
def w8_torch(x):
    torch = lib("torch")
    t = torch.from_numpy(x.copy()).requires_grad_()
    y = torch.nn.functional.softplus(t)
    g, = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), g.numpy()


@w8impl("tf tf.nn.softplus", "tf")
def w8_tf(x):
    tf = lib("tf")
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        y = tf.nn.softplus(t)
    return y.numpy(), tape.gradient(y, t).numpy()


@w8impl("jax jax.nn.softplus", "jax")
def w8_jax(x):
    jax = lib("jax")
    t = jax.numpy.asarray(x)
    y, vjp = jax.vjp(jax.nn.softplus, t)
    g, = vjp(jax.numpy.ones_like(y))
    return np.asarray(y), np.asarray(g)


# The seed's `where` form: where(z > 30, z, log(exp(z) + 1)). Not a check, a report: gradtape
# claims a NaN-free gradient here (structural zeros); its peers give NaN at 1000.
@w8impl("gradtape seed where-form", "gradtape", form="where")
def w8_gradtape_where(x):
    gt = lib("gradtape")
    t = gt.constant(x)
    with gt.GradientTape() as tape:
        tape.watch(t)
        y = gt.where(t > 30., t, gt.math.log(gt.exp(t) + 1.))
    return y.numpy(), tape.gradient(y, t).numpy()


@w8impl("torch seed where-form", "torch", form="where")
def w8_torch_where(x):
    torch = lib("torch")
    t = torch.from_numpy(x.copy()).requires_grad_()
    y = torch.where(t > 30., t, torch.log(torch.exp(t) + 1.))
    g, = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), g.numpy()


@w8impl("tf seed where-form", "tf", form="where")
def w8_tf_where(x):
    tf = lib("tf")
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        y = tf.where(t > 30., t, tf.math.log(tf.exp(t) + 1.))
    return y.numpy(), tape.gradient(y, t).numpy()


@w8impl("jax seed where-form", "jax", form="where")
def w8_jax_where(x):
    jax = lib("jax")
    jnp = jax.numpy
    f = lambda z: jnp.where(z > 30., z, jnp.log(jnp.exp(z) + 1.))  # noqa: E731
    y, vjp = jax.vjp(f, jnp.asarray(x))
    g, = vjp(jnp.ones_like(y))
    return np.asarray(y), np.asarray(g)


def run_w8(libs):
    """Rows of the W8 table: dict(label, lib, form, dtype, value=[...], grad=[...], error)."""
    val_ref, grad_ref = w8_reference()
    rows = []
    for label, libname, form, fn in W8_IMPLS:
        if libname not in libs:
            continue
        for dtype in (np.float32, np.float64):
            row = dict(label=label, lib=libname, form=form, dtype=np.dtype(dtype).name)
            try:
                lib(libname)
                v, g = fn(np.array(W8_POINTS, dtype=dtype))
                row["value"] = w8_status(v, val_ref, dtype)
                row["grad"] = w8_status(g, grad_ref, dtype)
                row["out_dtype"] = str(np.asarray(v).dtype)
            except Unavailable as e:
                row["skipped"] = str(e)
            except Exception as e:  # a crash in one library's softplus is a finding, not an abort
                row["error"] = "%s: %s" % (type(e).__name__, e)
            rows.append(row)
    return rows
