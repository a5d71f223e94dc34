"""gradtape.random: random numbers with TensorFlow's API and seed rules.

Every draw comes from a Philox4x32-10 stream (C++, gradtape/random.h): a 64-bit key and a
128-bit counter. The values depend only on the seeds and on the order of the calls, never on
the number of threads; they are not TensorFlow's bit patterns (docs/choices.md).

Seed rules (TensorFlow's, `tf.random.set_seed`):
  - global seed and op seed given: the pair selects a stream; calling the same op again with
    the same pair continues that stream (so two calls differ), and `set_seed` starts all
    streams over: re-running the same code after `set_seed` repeats its values, in this
    process or a fresh one.
  - only the global seed: each op takes the next number of a counter that `set_seed` resets
    as its op seed, so successive calls differ and a program repeats itself run after run.
  - only an op seed: the global seed is a fixed default (as TensorFlow's 87654321).
  - neither: values from a stream keyed by the operating system's entropy.
"""
import os as _os
import threading as _threading

import numpy as _np

from . import _core
from ._core import DType as _DType

__all__ = [
    "set_seed", "normal", "uniform", "truncated_normal", "shuffle", "categorical", "gamma", "poisson",
    "stateless_normal", "stateless_uniform", "stateless_truncated_normal", "stateless_categorical",
    "stateless_poisson", "stateless_gamma", "Generator", "get_global_generator", "set_global_generator",
    "create_rng_state", "Algorithm", "experimental", "fold_in", "split",
]

_DEFAULT_GRAPH_SEED = 87654321
_MASK64 = (1 << 64) - 1
_float32 = _core.as_dtype("float32")
_float64 = _core.as_dtype("float64")
_int32 = _core.as_dtype("int32")
_int64 = _core.as_dtype("int64")


_lock = _threading.Lock()
_global_seed = None
_op_counter = 0
_streams = {}        # (global seed, op seed) -> _PhiloxState
_entropy = None      # the stream for unseeded draws


def _key_of(*seeds):
    """A Philox key from integer seeds (mixed so that nearby seeds give unrelated keys)."""
    k = 0x2545F4914F6CDD1D
    for s in seeds:
        k = _core._mix64((k ^ (int(s) & _MASK64)) & _MASK64)
    return k


def set_seed(seed):
    """Sets the global seed and starts every seeded stream over (tf.random.set_seed)."""
    global _global_seed, _op_counter
    with _lock:
        _global_seed = None if seed is None else int(_np.asarray(seed if not hasattr(seed, "numpy") else seed.numpy()))
        _op_counter = 0
        _streams.clear()


def get_seed(op_seed):
    """The (global seed, op seed) pair an op uses, as tf.compat.v1.get_seed: (None, None) when
    neither is set."""
    global _op_counter
    with _lock:
        if _global_seed is not None:
            if op_seed is None:
                op_seed = _op_counter
                _op_counter += 1
            return _global_seed, int(op_seed)
        if op_seed is not None:
            return _DEFAULT_GRAPH_SEED, int(op_seed)
        return None, None


def _state_for(seed):
    """The stream a stateful op with op seed `seed` draws from (advanced by the draw)."""
    global _entropy
    g, o = get_seed(seed)
    with _lock:
        if g is None:
            if _entropy is None:
                _entropy = _core._PhiloxState(int.from_bytes(_os.urandom(8), "little"), 0, 0)
            return _entropy
        st = _streams.get((g, o))
        if st is None:
            st = _streams[(g, o)] = _core._PhiloxState(_key_of(g, o), 0, 0)
        return st


def _dtype(dtype):
    return _core.as_dtype(dtype if dtype is not None else "float32")


def _shape(shape):
    if hasattr(shape, "numpy") and not isinstance(shape, tuple):
        shape = shape.numpy().tolist()
    if isinstance(shape, (int, _np.integer)):
        shape = [int(shape)]
    return [int(d) for d in shape]


def _is_number(x):
    return isinstance(x, (int, float, _np.integer, _np.floating)) and not isinstance(x, bool)


def _scaled(standard, shift, scale, dtype):
    """standard * scale + shift with tensors (so a tape sees mean and stddev, as in TF)."""
    out = standard
    if not (_is_number(scale) and float(scale) == 1.0):
        out = out * (scale if _is_number(scale) else _core.cast(_core.convert_to_tensor(scale), dtype))
    if not (_is_number(shift) and float(shift) == 0.0):
        out = out + (shift if _is_number(shift) else _core.cast(_core.convert_to_tensor(shift), dtype))
    return out


def _require_float(dtype, what):
    if dtype not in (_float32, _float64):
        raise TypeError("%s: dtype must be float32 or float64, got %s" % (what, dtype.name))


# ---- the draws on a given stream (shared by the stateful ops, the stateless ones and Generator)

def _normal(state, shape, mean, stddev, dtype):
    dtype = _dtype(dtype)
    _require_float(dtype, "random.normal")
    if _is_number(mean) and _is_number(stddev):
        return _core._random_normal(state, _shape(shape), dtype, float(mean), float(stddev))
    return _scaled(_core._random_normal(state, _shape(shape), dtype, 0.0, 1.0), mean, stddev, dtype)


def _truncated_normal(state, shape, mean, stddev, dtype):
    dtype = _dtype(dtype)
    _require_float(dtype, "random.truncated_normal")
    if _is_number(mean) and _is_number(stddev):
        return _core._random_truncated_normal(state, _shape(shape), dtype, float(mean), float(stddev))
    return _scaled(_core._random_truncated_normal(state, _shape(shape), dtype, 0.0, 1.0), mean, stddev, dtype)


def _uniform(state, shape, minval, maxval, dtype, stateless=False):
    dtype = _dtype(dtype)
    if dtype in (_int32, _int64):
        if stateless and minval is None and maxval is None:
            return _core._random_uniform_full_int(state, _shape(shape), dtype)
        if maxval is None:
            if stateless:
                raise ValueError("For integer `dtype` argument %r, argument `minval` and `maxval` must be both None "
                                 "or not None. Got `minval`=%s and `maxval`=None." % (dtype, minval))
            raise ValueError("Must specify maxval for integer dtype %r" % (dtype,))
        lo = 0 if minval is None else int(_np.asarray(minval.numpy() if hasattr(minval, "numpy") else minval))
        hi = int(_np.asarray(maxval.numpy() if hasattr(maxval, "numpy") else maxval))
        return _core._random_uniform_int(state, _shape(shape), dtype, lo, hi)
    if dtype not in (_float32, _float64):
        raise TypeError("random.uniform: dtype must be a float or an integer dtype, got %s" % dtype.name)
    minval = 0.0 if minval is None else minval
    maxval = 1.0 if maxval is None else maxval
    if _is_number(minval) and _is_number(maxval):
        return _core._random_uniform(state, _shape(shape), dtype, float(minval), float(maxval))
    u = _core._random_uniform(state, _shape(shape), dtype, 0.0, 1.0)
    lo = _core.cast(_core.convert_to_tensor(minval), dtype)
    hi = _core.cast(_core.convert_to_tensor(maxval), dtype)
    return lo + (hi - lo) * u


# ---- stateful ops

def normal(shape, mean=0.0, stddev=1.0, dtype=_float32, seed=None, name=None):
    """Samples from a normal distribution (tf.random.normal)."""
    return _normal(_state_for(seed), shape, mean, stddev, dtype)


def uniform(shape, minval=0, maxval=None, dtype=_float32, seed=None, name=None):
    """Samples from a uniform distribution on [minval, maxval) (tf.random.uniform); integer
    dtypes need maxval."""
    return _uniform(_state_for(seed), shape, minval, maxval, dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=_float32, seed=None, name=None):
    """Normal samples more than two standard deviations from the mean redrawn
    (tf.random.truncated_normal)."""
    return _truncated_normal(_state_for(seed), shape, mean, stddev, dtype)


def shuffle(value, seed=None, name=None):
    """value with its first dimension randomly permuted (tf.random.shuffle)."""
    return _core._random_shuffle(_state_for(seed), value)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """Class indices drawn from softmax(logits) per row (tf.random.categorical)."""
    return _core._random_categorical(_state_for(seed), logits, int(num_samples),
                                     _int64 if dtype is None else _core.as_dtype(dtype))


def _gamma(state, shape, alpha, beta, dtype):
    dtype = _dtype(dtype)
    _require_float(dtype, "random.gamma")
    a = _core.cast(_core.convert_to_tensor(alpha), dtype)
    b = _core.cast(_core.convert_to_tensor(1.0 if beta is None else beta), dtype)
    a, b = _core.broadcast_to(a, _np.broadcast_shapes(tuple(a.shape), tuple(b.shape))), b
    b = _core.broadcast_to(b, tuple(a.shape))
    return _core._random_gamma(state, _shape(shape), a, b)


def gamma(shape, alpha, beta=None, dtype=_float32, seed=None, name=None):
    """Gamma(alpha, beta) samples of shape `shape + broadcast(alpha, beta).shape` (tf.random.gamma;
    beta is the rate). Not differentiable with respect to alpha and beta here."""
    return _gamma(_state_for(seed), shape, alpha, beta, dtype)


def _poisson(state, shape, lam, dtype):
    lam_t = _core.convert_to_tensor(lam)
    if lam_t.dtype not in (_float32, _float64):
        lam_t = _core.cast(lam_t, _float64)
    return _core._random_poisson(state, _shape(shape), lam_t, _dtype(dtype))


def poisson(shape, lam, dtype=_float32, seed=None, name=None):
    """Poisson(lam) samples of shape `shape + lam.shape` (tf.random.poisson)."""
    return _poisson(_state_for(seed), shape, lam, dtype)


# ---- stateless ops: the stream is a function of the shape-[2] seed alone

def _stateless_state(seed):
    s = _np.asarray(seed.numpy() if hasattr(seed, "numpy") else seed)
    if s.shape != (2,) or s.dtype.kind not in "iu":
        raise ValueError("seed must be an integer tensor of shape [2], got %s with shape %s" % (s.dtype, s.shape))
    return _core._PhiloxState(_key_of(int(s[0]), int(s[1]), 0x5EED), 0, 0)


def stateless_normal(shape, seed, mean=0.0, stddev=1.0, dtype=_float32, name=None, alg="auto_select"):
    """Normal samples, a deterministic function of `seed` (shape [2]) (tf.random.stateless_normal)."""
    return _normal(_stateless_state(seed), shape, mean, stddev, dtype)


def stateless_uniform(shape, seed, minval=0, maxval=None, dtype=_float32, name=None, alg="auto_select"):
    """Uniform samples, a deterministic function of `seed` (tf.random.stateless_uniform); for an
    integer dtype, minval and maxval both None give the full range of the dtype."""
    if _dtype(dtype) in (_int32, _int64) and minval == 0 and maxval is None:
        minval = None
    return _uniform(_stateless_state(seed), shape, minval, maxval, dtype, stateless=True)


def stateless_truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype=_float32, name=None, alg="auto_select"):
    """Truncated normal samples, a deterministic function of `seed`."""
    return _truncated_normal(_stateless_state(seed), shape, mean, stddev, dtype)


def stateless_categorical(logits, num_samples, seed, dtype=_int64, name=None):
    return _core._random_categorical(_stateless_state(seed), logits, int(num_samples), _core.as_dtype(dtype))


def stateless_poisson(shape, seed, lam, dtype=_int32, name=None):
    return _poisson(_stateless_state(seed), shape, lam, dtype)


def stateless_gamma(shape, seed, alpha, beta=None, dtype=_float32, name=None):
    return _gamma(_stateless_state(seed), shape, alpha, beta, dtype)


def split(seed, num=2, alg="auto_select"):
    """`num` new shape-[2] seeds from one (tf.random.split / experimental.stateless_split)."""
    st = _stateless_state(seed)
    return _core._random_uniform_full_int(st, [int(num), 2], _int64)


def fold_in(seed, data, alg="auto_select"):
    """A new shape-[2] seed from a seed and an integer (tf.random.fold_in)."""
    s = _np.asarray(seed.numpy() if hasattr(seed, "numpy") else seed)
    d = int(_np.asarray(data.numpy() if hasattr(data, "numpy") else data))
    st = _core._PhiloxState(_key_of(int(s[0]), int(s[1]), d, 0xF01D), 0, 0)
    return _core._random_uniform_full_int(st, [2], _int64)


# ---- Generator: an explicit stream whose state is a variable

class Algorithm:
    PHILOX = 1
    THREEFRY = 2
    AUTO_SELECT = 3


def create_rng_state(seed, alg):
    """The shape-[3] int64 state a Generator made from `seed` starts in: [counter_lo,
    counter_hi, key]."""
    return _np.array([0, 0, _key_of(int(seed), 0x6E7)], dtype=_np.uint64).astype(_np.int64)


def _u64(x):
    return int(x) & _MASK64


def _i64(x):
    x = int(x) & _MASK64
    return x - (1 << 64) if x >= (1 << 63) else x


class Generator:
    """A random stream whose state (a shape-[3] int64 variable: counter_lo, counter_hi, key) is
    explicit, as tf.random.Generator. Make one with `from_seed`, `from_non_deterministic_state`
    or `from_state`."""

    def __init__(self, copy_from=None, state=None, alg=None):
        from ._core import Variable
        if copy_from is not None:
            state = copy_from.state.numpy()
        if state is None:
            raise ValueError("Generator: give copy_from or state, or use Generator.from_seed(...)")
        arr = _np.asarray(state.numpy() if hasattr(state, "numpy") else state).astype(_np.int64).reshape(-1)
        if arr.shape != (3,):
            raise ValueError("Generator: the Philox state has shape [3], got %s" % (arr.shape,))
        self._state_var = Variable(arr, trainable=False, name="StateVar", dtype=_int64)
        self._alg = Algorithm.PHILOX

    @classmethod
    def from_seed(cls, seed, alg=None):
        return cls(state=create_rng_state(seed, alg))

    @classmethod
    def from_non_deterministic_state(cls, alg=None):
        return cls(state=_np.array([0, 0, _i64(int.from_bytes(_os.urandom(8), "little"))], dtype=_np.int64))

    @classmethod
    def from_state(cls, state, alg=None):
        return cls(state=state)

    @classmethod
    def from_key_counter(cls, key, counter, alg=None):
        key = _np.asarray(key).reshape(-1)
        counter = _np.asarray(counter).reshape(-1)
        return cls(state=_np.array([counter[0], counter[1] if counter.size > 1 else 0, key[0]], dtype=_np.int64))

    @property
    def state(self):
        return self._state_var

    @property
    def algorithm(self):
        return self._alg

    @property
    def key(self):
        return _core.constant(self._state_var.numpy()[2:3])

    def reset(self, state):
        self._state_var.assign(_np.asarray(state.numpy() if hasattr(state, "numpy") else state).astype(_np.int64))

    def reset_from_seed(self, seed):
        self.reset(create_rng_state(seed, None))

    def skip(self, delta):
        lo, hi, key = (int(v) for v in self._state_var.numpy())
        self._state_var.assign(_np.array([_i64(_u64(lo) + int(delta) * 256), hi, key], dtype=_np.int64))

    def _draw(self, fn):
        lo, hi, key = (int(v) for v in self._state_var.numpy())
        st = _core._PhiloxState(_u64(key), _u64(lo), _u64(hi))
        out = fn(st)
        self._state_var.assign(_np.array([_i64(st.counter_lo), _i64(st.counter_hi), _i64(st.key)], dtype=_np.int64))
        return out

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=_float32, name=None):
        return self._draw(lambda st: _normal(st, shape, mean, stddev, dtype))

    def truncated_normal(self, shape, mean=0.0, stddev=1.0, dtype=_float32, name=None):
        return self._draw(lambda st: _truncated_normal(st, shape, mean, stddev, dtype))

    def uniform(self, shape, minval=0, maxval=None, dtype=_float32, name=None):
        return self._draw(lambda st: _uniform(st, shape, minval, maxval, dtype))

    def uniform_full_int(self, shape, dtype=_int64, name=None):
        return self._draw(lambda st: _core._random_uniform_full_int(st, _shape(shape), _core.as_dtype(dtype)))

    def binomial(self, shape, counts, probs, dtype=_int32, name=None):
        raise NotImplementedError("Generator.binomial is not implemented in gradtape")

    def make_seeds(self, count=1):
        """A [2, count] int64 tensor of seeds for the stateless ops."""
        return self._draw(lambda st: _core.transpose(_core._random_uniform_full_int(st, [int(count), 2], _int64)))

    def split(self, count=1):
        """`count` new generators, independent of this one and of each other; advances this one."""
        keys = self._draw(lambda st: _core._random_uniform_full_int(st, [int(count)], _int64)).numpy()
        return [Generator(state=_np.array([0, 0, _i64(_key_of(int(k), 0x5B17))], dtype=_np.int64)) for k in keys]


_global_generator = None


def get_global_generator():
    """The process's generator: made from the global seed if one is set, else from entropy."""
    global _global_generator
    if _global_generator is None:
        _global_generator = (Generator.from_seed(_global_seed) if _global_seed is not None
                             else Generator.from_non_deterministic_state())
    return _global_generator


def set_global_generator(generator):
    global _global_generator
    _global_generator = generator


class experimental:  # noqa: N801 (a namespace, as tf.random.experimental)
    Generator = Generator
    Algorithm = Algorithm
    create_rng_state = staticmethod(create_rng_state)
    get_global_generator = staticmethod(get_global_generator)
    set_global_generator = staticmethod(set_global_generator)
    stateless_split = staticmethod(split)
    stateless_fold_in = staticmethod(fold_in)
    stateless_shuffle = None  # defined below


def _stateless_shuffle(value, seed, alg="auto_select", name=None):
    return _core._random_shuffle(_stateless_state(seed), value)


experimental.stateless_shuffle = staticmethod(_stateless_shuffle)
