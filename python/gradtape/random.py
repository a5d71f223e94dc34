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
from __future__ import annotations

import os as _os
import threading as _threading
from typing import List

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


def set_seed(seed) -> None:
    """Sets the global seed and starts every seeded stream over (tf.random.set_seed).

    >>> gt.random.set_seed(1234)
    >>> a = gt.random.uniform([3], seed=1)
    >>> b = gt.random.uniform([3], seed=1)  # the same pair of seeds continues its stream
    >>> gt.random.set_seed(1234)            # ... and set_seed starts it over
    >>> c = gt.random.uniform([3], seed=1)
    >>> bool(gt.reduce_all(a == c)), bool(gt.reduce_all(a == b))
    (True, False)
    >>> gt.random.set_seed(None)            # back to unseeded draws
    """
    global _global_seed, _op_counter
    with _lock:
        _global_seed = None if seed is None else int(_np.asarray(seed if not hasattr(seed, "numpy") else seed.numpy()))
        _op_counter = 0
        _streams.clear()


def get_seed(op_seed):
    """The (global seed, op seed) pair an op uses, as tf.compat.v1.get_seed: (None, None) when
    neither is set.

    >>> gt.random.set_seed(3)
    >>> gt.random.get_seed(5)
    (3, 5)
    >>> gt.random.get_seed(None), gt.random.get_seed(None)  # the op counter gives op seeds
    ((3, 0), (3, 1))
    >>> gt.random.set_seed(None)
    >>> gt.random.get_seed(5)     # an op seed alone: the fixed default global seed
    (87654321, 5)
    >>> gt.random.get_seed(None)  # neither
    (None, None)
    """
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
                _entropy.stream = True  # (a persistent stream: gt.function replays draw anew from it)
            return _entropy
        st = _streams.get((g, o))
        if st is None:
            st = _streams[(g, o)] = _core._PhiloxState(_key_of(g, o), 0, 0)
            st.stream = True
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
    if not dtype.is_floating:  # (float16 and bfloat16 are drawn in float32 and rounded)
        raise TypeError("%s: dtype must be a floating dtype (float16, bfloat16, float32, float64), got %s"
                        % (what, dtype.name))


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
    if not dtype.is_floating:
        raise TypeError("random.uniform: dtype must be a floating dtype, int32 or int64, got %s" % dtype.name)
    minval = 0.0 if minval is None else minval
    maxval = 1.0 if maxval is None else maxval
    if _is_number(minval) and _is_number(maxval):
        return _core._random_uniform(state, _shape(shape), dtype, float(minval), float(maxval))
    u = _core._random_uniform(state, _shape(shape), dtype, 0.0, 1.0)
    lo = _core.cast(_core.convert_to_tensor(minval), dtype)
    hi = _core.cast(_core.convert_to_tensor(maxval), dtype)
    return lo + (hi - lo) * u


# ---- stateful ops

def normal(shape, mean=0.0, stddev=1.0, dtype=_float32, seed=None, name=None) -> _core.Tensor:
    """Samples from a normal distribution (tf.random.normal).

    >>> x = gt.random.normal([2, 3], mean=1.0, stddev=2.0, seed=7)
    >>> x.shape, x.dtype
    (TensorShape([2, 3]), gt.float32)
    """
    return _normal(_state_for(seed), shape, mean, stddev, dtype)


def uniform(shape, minval=0, maxval=None, dtype=_float32, seed=None, name=None) -> _core.Tensor:
    """Samples from a uniform distribution on [minval, maxval) (tf.random.uniform); integer
    dtypes need maxval.

    >>> u = gt.random.uniform([1000], minval=-1.0, maxval=1.0, seed=7)
    >>> bool(gt.reduce_all((u >= -1.0) & (u < 1.0)))
    True
    >>> gt.random.uniform([4], maxval=10, dtype=gt.int32, seed=7).dtype
    gt.int32
    """
    return _uniform(_state_for(seed), shape, minval, maxval, dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=_float32, seed=None, name=None) -> _core.Tensor:
    """Normal samples more than two standard deviations from the mean redrawn
    (tf.random.truncated_normal).

    >>> t = gt.random.truncated_normal([1000], seed=7)
    >>> t.shape, bool(gt.reduce_max(gt.abs(t)) <= 2.0)
    (TensorShape([1000]), True)
    """
    return _truncated_normal(_state_for(seed), shape, mean, stddev, dtype)


def shuffle(value, seed=None, name=None) -> _core.Tensor:
    """value with its first dimension randomly permuted (tf.random.shuffle).

    >>> s = gt.random.shuffle(gt.range(5), seed=7)
    >>> sorted(s.numpy().tolist())
    [0, 1, 2, 3, 4]
    """
    return _core._random_shuffle(_state_for(seed), value)


def categorical(logits, num_samples, dtype=None, seed=None, name=None) -> _core.Tensor:
    """Class indices drawn from softmax(logits) per row (tf.random.categorical).

    >>> logits = gt.math.log([[0.0, 1.0], [1.0, 0.0]])  # row 0 always draws 1, row 1 always 0
    >>> gt.random.categorical(logits, 3, seed=7).numpy().tolist()
    [[1, 1, 1], [0, 0, 0]]
    """
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


def gamma(shape, alpha, beta=None, dtype=_float32, seed=None, name=None) -> _core.Tensor:
    """Gamma(alpha, beta) samples of shape `shape + broadcast(alpha, beta).shape` (tf.random.gamma;
    beta is the rate). Not differentiable with respect to alpha and beta here.

    >>> g = gt.random.gamma([5], alpha=[0.5, 2.0], seed=7)  # 5 draws for each alpha
    >>> g.shape, bool(gt.reduce_all(g >= 0.0))
    (TensorShape([5, 2]), True)
    """
    return _gamma(_state_for(seed), shape, alpha, beta, dtype)


def _poisson(state, shape, lam, dtype):
    lam_t = _core.convert_to_tensor(lam)
    if lam_t.dtype not in (_float32, _float64):
        lam_t = _core.cast(lam_t, _float64)
    return _core._random_poisson(state, _shape(shape), lam_t, _dtype(dtype))


def poisson(shape, lam, dtype=_float32, seed=None, name=None) -> _core.Tensor:
    """Poisson(lam) samples of shape `shape + lam.shape` (tf.random.poisson).

    >>> p = gt.random.poisson([4], lam=[1.0, 5.0], seed=7)
    >>> p.shape, p.dtype
    (TensorShape([4, 2]), gt.float32)
    """
    return _poisson(_state_for(seed), shape, lam, dtype)


# ---- stateless ops: the stream is a function of the shape-[2] seed alone

def _holds_tensor(x):
    if isinstance(x, (list, tuple)):
        return any(_holds_tensor(e) for e in x)
    return isinstance(x, (_core.Tensor, _core.Variable))


def _stateless_state(seed):
    """The Philox state a stateless op draws from, a function of its shape-[2] seed alone. Inside
    gt.function, a seed computed from the function's inputs or variables is given to the draw as
    the tensor itself: its step makes the state from the seed's value at each call
    (gradtape/steps.h, draw_seed), the same state this function makes from that value."""
    if _core._tracing() and _holds_tensor(seed):
        t = _core.convert_to_tensor(seed)  # (a list holding traced tensors is packed)
        if _core._traced(t):
            if t.dtype not in (_int32, _int64):
                raise TypeError("Value passed to parameter 'seed' has DataType %s not in list of allowed values: "
                                "int32, int64" % t.dtype.name)
            if tuple(t.shape) != (2,):
                raise ValueError("seed must have shape [2], not %s" % list(t.shape))
            return t
    s = _np.asarray(seed.numpy() if hasattr(seed, "numpy") else seed)
    if s.shape != (2,) or s.dtype.kind not in "iu":
        raise ValueError("seed must be an integer tensor of shape [2], got %s with shape %s" % (s.dtype, s.shape))
    return _core._PhiloxState(_key_of(int(s[0]), int(s[1]), 0x5EED), 0, 0)


def stateless_normal(shape, seed, mean=0.0, stddev=1.0, dtype=_float32, name=None, alg="auto_select") -> _core.Tensor:
    """Normal samples, a deterministic function of `seed` (shape [2]) (tf.random.stateless_normal).

    >>> a = gt.random.stateless_normal([3], seed=[1, 2])
    >>> b = gt.random.stateless_normal([3], seed=[1, 2])
    >>> a.shape, bool(gt.reduce_all(a == b))  # a function of the seed alone
    (TensorShape([3]), True)
    """
    return _normal(_stateless_state(seed), shape, mean, stddev, dtype)


def stateless_uniform(shape, seed, minval=0, maxval=None, dtype=_float32, name=None, alg="auto_select") -> _core.Tensor:
    """Uniform samples, a deterministic function of `seed` (tf.random.stateless_uniform); for an
    integer dtype, minval and maxval both None give the full range of the dtype.

    >>> gt.random.stateless_uniform([3], seed=[1, 2], maxval=10, dtype=gt.int32)
    <gt.Tensor: shape=(3,), dtype=int32, numpy=array([0, 4, 8], dtype=int32)>
    >>> u = gt.random.stateless_uniform([2, 2], seed=[1, 2])
    >>> u.dtype, bool(gt.reduce_all((u >= 0.0) & (u < 1.0)))
    (gt.float32, True)
    """
    if _dtype(dtype) in (_int32, _int64) and minval == 0 and maxval is None:
        minval = None
    return _uniform(_stateless_state(seed), shape, minval, maxval, dtype, stateless=True)


def stateless_truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype=_float32, name=None, alg="auto_select") -> _core.Tensor:
    """Truncated normal samples, a deterministic function of `seed`.

    >>> t = gt.random.stateless_truncated_normal([100], seed=[3, 4], stddev=0.5)
    >>> t.shape, bool(gt.reduce_max(gt.abs(t)) <= 1.0)
    (TensorShape([100]), True)
    """
    return _truncated_normal(_stateless_state(seed), shape, mean, stddev, dtype)


def stateless_categorical(logits, num_samples, seed, dtype=_int64, name=None) -> _core.Tensor:
    """Class indices drawn from softmax(logits) per row, a deterministic function of `seed`
    (tf.random.stateless_categorical).

    >>> gt.random.stateless_categorical(gt.math.log([[0.0, 1.0]]), 4, seed=[1, 2])
    <gt.Tensor: shape=(1, 4), dtype=int64, numpy=array([[1, 1, 1, 1]])>
    """
    return _core._random_categorical(_stateless_state(seed), logits, int(num_samples), _core.as_dtype(dtype))


def stateless_poisson(shape, seed, lam, dtype=_int32, name=None) -> _core.Tensor:
    """Poisson(lam) samples of shape `shape + lam.shape`, a deterministic function of `seed`
    (tf.random.stateless_poisson).

    >>> p = gt.random.stateless_poisson([4], seed=[1, 2], lam=3.0)
    >>> p.shape, p.dtype, bool(gt.reduce_all(p == gt.random.stateless_poisson([4], seed=[1, 2], lam=3.0)))
    (TensorShape([4]), gt.int32, True)
    """
    return _poisson(_stateless_state(seed), shape, lam, dtype)


def stateless_gamma(shape, seed, alpha, beta=None, dtype=_float32, name=None) -> _core.Tensor:
    """Gamma(alpha, beta) samples, a deterministic function of `seed` (tf.random.stateless_gamma).

    >>> g = gt.random.stateless_gamma([3], seed=[1, 2], alpha=[1.0, 2.0])
    >>> g.shape, bool(gt.reduce_all(g >= 0.0))
    (TensorShape([3, 2]), True)
    """
    return _gamma(_stateless_state(seed), shape, alpha, beta, dtype)


def split(seed, num=2, alg="auto_select") -> _core.Tensor:
    """`num` new shape-[2] seeds from one (tf.random.split / experimental.stateless_split).

    >>> seeds = gt.random.split([1, 2], num=3)
    >>> seeds.shape, seeds.dtype
    (TensorShape([3, 2]), gt.int64)
    >>> gt.random.stateless_uniform([2], seed=seeds[0]).shape  # each row seeds a stateless op
    TensorShape([2])
    """
    st = _stateless_state(seed)
    return _core._random_uniform_full_int(st, [int(num), 2], _int64)


def fold_in(seed, data, alg="auto_select") -> _core.Tensor:
    """A new shape-[2] seed from a seed and an integer (tf.random.fold_in).

    >>> s = gt.random.fold_in([1, 2], 7)
    >>> s.shape, s.dtype, bool(gt.reduce_all(s == gt.random.fold_in([1, 2], 7)))
    (TensorShape([2]), gt.int64, True)
    """
    if _core._tracing() and (_holds_tensor(seed) or _holds_tensor(data)):
        t, dt = _core.convert_to_tensor(seed), _core.convert_to_tensor(data)
        if _core._traced(t) or _core._traced(dt):
            # (a step making the new seed from their values at each call: steps::fold_in)
            if t.dtype not in (_int32, _int64):
                raise TypeError("fold_in: seed must be int32 or int64, got %s" % t.dtype.name)
            if tuple(t.shape) != (2,):
                raise ValueError("seed must have shape [2], not %s" % list(t.shape))
            if dt.dtype not in (_int32, _int64) or dt.shape.rank != 0:
                raise ValueError("fold_in: data must be an int32 or int64 scalar, got %s of shape %s"
                                 % (dt.dtype.name, list(dt.shape)))
            return _core._random_fold_in(t, dt)
    s = _np.asarray(seed.numpy() if hasattr(seed, "numpy") else seed)
    d = int(_np.asarray(data.numpy() if hasattr(data, "numpy") else data))
    st = _core._PhiloxState(_key_of(int(s[0]), int(s[1]), d, 0xF01D), 0, 0)
    return _core._random_uniform_full_int(st, [2], _int64)


# ---- Generator: an explicit stream whose state is a variable

class Algorithm:
    """The random number algorithms (tf.random.Algorithm); gradtape draws with Philox always.

    >>> gt.random.Generator.from_seed(1, alg=gt.random.Algorithm.PHILOX).algorithm == gt.random.Algorithm.PHILOX
    True
    """
    PHILOX = 1
    THREEFRY = 2
    AUTO_SELECT = 3


def create_rng_state(seed, alg) -> _np.ndarray:
    """The shape-[3] int64 state a Generator made from `seed` starts in: [counter_lo,
    counter_hi, key].

    >>> s = gt.random.create_rng_state(1, "philox")
    >>> s.shape, s.dtype.name, s[:2].tolist()
    ((3,), 'int64', [0, 0])
    """
    return _np.array([0, 0, _key_of(int(seed), 0x6E7)], dtype=_np.uint64).astype(_np.int64)


def _u64(x):
    return int(x) & _MASK64


def _i64(x):
    x = int(x) & _MASK64
    return x - (1 << 64) if x >= (1 << 63) else x


class Generator:
    """A random stream whose state (a shape-[3] int64 variable: counter_lo, counter_hi, key) is
    explicit, as tf.random.Generator. Make one with `from_seed`, `from_non_deterministic_state`
    or `from_state`.

    >>> g = gt.random.Generator.from_seed(1)
    >>> g.uniform([4], maxval=10, dtype=gt.int32)  # integers: the same on every machine
    <gt.Tensor: shape=(4,), dtype=int32, numpy=array([9, 6, ..., ...], dtype=int32)>
    >>> g.normal([2, 3]).shape
    TensorShape([2, 3])
    >>> a = gt.random.Generator.from_seed(7).uniform([3])
    >>> b = gt.random.Generator.from_seed(7).uniform([3])
    >>> bool(gt.reduce_all(a == b))
    True
    """

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
    def from_seed(cls, seed, alg=None) -> Generator:
        """A generator whose state is made from an integer seed.

        >>> gt.random.Generator.from_seed(5).state.shape
        TensorShape([3])
        """
        return cls(state=create_rng_state(seed, alg))

    @classmethod
    def from_non_deterministic_state(cls, alg=None) -> Generator:
        """A generator seeded from the operating system's entropy.

        >>> gt.random.Generator.from_non_deterministic_state().normal([2]).shape
        TensorShape([2])
        """
        return cls(state=_np.array([0, 0, _i64(int.from_bytes(_os.urandom(8), "little"))], dtype=_np.int64))

    @classmethod
    def from_state(cls, state, alg=None) -> Generator:
        """A generator starting in `state` (a shape-[3] int64 value, as `state` gives).

        >>> g = gt.random.Generator.from_seed(3)
        >>> h = gt.random.Generator.from_state(g.state)
        >>> bool(gt.reduce_all(g.uniform([3]) == h.uniform([3])))
        True
        """
        return cls(state=state)

    @classmethod
    def from_key_counter(cls, key, counter, alg=None) -> Generator:
        """A generator from a Philox key and counter.

        >>> gt.random.Generator.from_key_counter(key=[5], counter=[0, 0]).state.numpy().tolist()
        [0, 0, 5]
        """
        key = _np.asarray(key).reshape(-1)
        counter = _np.asarray(counter).reshape(-1)
        return cls(state=_np.array([counter[0], counter[1] if counter.size > 1 else 0, key[0]], dtype=_np.int64))

    @property
    def state(self) -> _core.Variable:
        """The state variable: [counter_lo, counter_hi, key] (int64).

        >>> g = gt.random.Generator.from_key_counter(key=[5], counter=[0, 0])
        >>> _ = g.uniform([4])
        >>> counter_lo, counter_hi, key = g.state.numpy().tolist()
        >>> counter_lo > 0, key  # the draw advanced the counter
        (True, 5)
        """
        return self._state_var

    def _checkpoint_dependencies(self):
        # (gt.train.Checkpoint saves the state as TensorFlow names it: <path>/_state_var)
        return {"_state_var": self._state_var}

    @property
    def algorithm(self):
        """The algorithm (Algorithm.PHILOX).

        >>> gt.random.Generator.from_seed(1).algorithm
        1
        """
        return self._alg

    @property
    def key(self):
        """The Philox key, a shape-[1] int64 tensor.

        >>> gt.random.Generator.from_key_counter(key=[5], counter=[0, 0]).key
        <gt.Tensor: shape=(1,), dtype=int64, numpy=array([5])>
        """
        return _core.constant(self._state_var.numpy()[2:3])

    def reset(self, state) -> None:
        """Sets the state (a shape-[3] int64 value).

        >>> g = gt.random.Generator.from_seed(1)
        >>> start = g.state.numpy()
        >>> a = g.uniform([2])
        >>> g.reset(start)
        >>> bool(gt.reduce_all(g.uniform([2]) == a))
        True
        """
        self._state_var.assign(_np.asarray(state.numpy() if hasattr(state, "numpy") else state).astype(_np.int64))

    def reset_from_seed(self, seed) -> None:
        """Sets the state to the one `from_seed(seed)` starts in.

        >>> g = gt.random.Generator.from_seed(1)
        >>> a = g.uniform([2])
        >>> g.reset_from_seed(1)
        >>> bool(gt.reduce_all(g.uniform([2]) == a))
        True
        """
        self.reset(create_rng_state(seed, None))

    def skip(self, delta) -> None:
        """Advances the state as `delta` draws of 256 values would.

        >>> g = gt.random.Generator.from_key_counter(key=[5], counter=[0, 0])
        >>> g.skip(2)
        >>> g.state.numpy().tolist()
        [512, 0, 5]
        """
        lo, hi, key = (int(v) for v in self._state_var.numpy())
        self._state_var.assign(_np.array([_i64(_u64(lo) + int(delta) * 256), hi, key], dtype=_np.int64))

    def _draw(self, fn):
        # The core reads the state variable, draws and writes the advanced state back: inside a
        # gt.function that is one step with an effect, so each call draws anew (as TF's).
        return fn(self._state_var)

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=_float32, name=None) -> _core.Tensor:
        """Normal samples from this generator's stream.

        >>> x = gt.random.Generator.from_seed(1).normal([2, 2], stddev=3.0)
        >>> x.shape, x.dtype
        (TensorShape([2, 2]), gt.float32)
        """
        return self._draw(lambda st: _normal(st, shape, mean, stddev, dtype))

    def truncated_normal(self, shape, mean=0.0, stddev=1.0, dtype=_float32, name=None) -> _core.Tensor:
        """Truncated normal samples (within two standard deviations of the mean).

        >>> t = gt.random.Generator.from_seed(1).truncated_normal([100])
        >>> bool(gt.reduce_max(gt.abs(t)) <= 2.0)
        True
        """
        return self._draw(lambda st: _truncated_normal(st, shape, mean, stddev, dtype))

    def uniform(self, shape, minval=0, maxval=None, dtype=_float32, name=None) -> _core.Tensor:
        """Uniform samples on [minval, maxval); integer dtypes need maxval.

        >>> gt.random.Generator.from_seed(1).uniform([4], minval=2, maxval=9, dtype=gt.int32).shape
        TensorShape([4])
        """
        return self._draw(lambda st: _uniform(st, shape, minval, maxval, dtype))

    def uniform_full_int(self, shape, dtype=_int64, name=None) -> _core.Tensor:
        """Integers over the dtype's whole range.

        >>> gt.random.Generator.from_seed(1).uniform_full_int([2]).dtype
        gt.int64
        """
        return self._draw(lambda st: _core._random_uniform_full_int(st, _shape(shape), _core.as_dtype(dtype)))

    def binomial(self, shape, counts, probs, dtype=_int32, name=None):
        """Not implemented in gradtape (NotImplementedError).

        >>> try:
        ...     gt.random.Generator.from_seed(1).binomial([2], counts=5.0, probs=0.5)
        ... except NotImplementedError:
        ...     print("not implemented")
        not implemented
        """
        raise NotImplementedError("Generator.binomial is not implemented in gradtape")

    def make_seeds(self, count=1) -> _core.Tensor:
        """A [2, count] int64 tensor of seeds for the stateless ops.

        >>> seeds = gt.random.Generator.from_seed(1).make_seeds(3)
        >>> seeds.shape
        TensorShape([2, 3])
        >>> gt.random.stateless_uniform([2], seed=seeds[:, 0]).shape
        TensorShape([2])
        """
        return self._draw(lambda st: _core.transpose(_core._random_uniform_full_int(st, [int(count), 2], _int64)))

    def split(self, count=1) -> List[Generator]:
        """`count` new generators, independent of this one and of each other; advances this one.

        >>> a, b = gt.random.Generator.from_seed(1).split(2)
        >>> bool(gt.reduce_all(a.uniform([4]) == b.uniform([4])))
        False
        """
        keys = self._draw(lambda st: _core._random_uniform_full_int(st, [int(count)], _int64)).numpy()
        return [Generator(state=_np.array([0, 0, _i64(_key_of(int(k), 0x5B17))], dtype=_np.int64)) for k in keys]


_global_generator = None


def get_global_generator() -> Generator:
    """The process's generator: made from the global seed if one is set, else from entropy.

    >>> gt.random.get_global_generator().normal([2]).shape
    TensorShape([2])
    """
    global _global_generator
    if _global_generator is None:
        _global_generator = (Generator.from_seed(_global_seed) if _global_seed is not None
                             else Generator.from_non_deterministic_state())
    return _global_generator


def set_global_generator(generator) -> None:
    """Replaces the process's generator (what get_global_generator returns).

    >>> old = gt.random.get_global_generator()
    >>> gt.random.set_global_generator(gt.random.Generator.from_seed(1))
    >>> a = gt.random.get_global_generator().uniform([3])
    >>> bool(gt.reduce_all(a == gt.random.Generator.from_seed(1).uniform([3])))
    True
    >>> gt.random.set_global_generator(old)
    """
    global _global_generator
    _global_generator = generator


class experimental:  # noqa: N801 (a namespace, as tf.random.experimental)
    """tf.random.experimental's names: Generator, stateless_split, stateless_fold_in, stateless_shuffle, ...

    >>> gt.random.experimental.Generator is gt.random.Generator
    True
    >>> s = gt.random.experimental.stateless_shuffle(gt.range(4), seed=[1, 2])
    >>> sorted(s.numpy().tolist())
    [0, 1, 2, 3]
    """
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
