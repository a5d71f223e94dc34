"""gt.initializers: tf.initializers, which TensorFlow 2.21 takes from Keras 3: callables
`init(shape, dtype=None)` giving a new variable's starting value.

The variance-scaling family (GlorotUniform/Normal, HeUniform/Normal, LecunUniform/Normal)
draws with a standard deviation of sqrt(scale / n), n the fan-in, fan-out or their mean
(Keras's fan rule: a matrix's rows and columns; a convolution kernel's channels times its
receptive field). As in Keras 3, an initializer given a seed gives the same values at every
call, and so does one made without a seed (it takes a seed from gt.random's global stream at its
first call). The draws are
gt.random's (Philox), not TensorFlow's bit patterns; their distributions are Keras's.

>>> w = gt.Variable(gt.initializers.GlorotUniform(seed=0)(shape=[784, 128]))
>>> limit = (6.0 / (784 + 128)) ** 0.5
>>> bool(gt.reduce_max(gt.abs(w)) <= limit)
True
"""
import math

import numpy as np

from . import _core
from . import random as _random

__all__ = ["Initializer", "Constant", "Zeros", "Ones", "RandomNormal", "RandomUniform", "TruncatedNormal",
           "VarianceScaling", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform",
           "Orthogonal", "OrthogonalInitializer", "Identity", "IdentityInitializer",
           "constant", "zeros", "ones", "random_normal", "random_uniform", "truncated_normal", "variance_scaling",
           "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
           "orthogonal", "identity", "get", "serialize", "deserialize"]


def _float_dtype(dtype):
    d = _core.as_dtype(dtype if dtype is not None else "float32")
    if not d.is_floating:
        raise ValueError("Expected `dtype` to be a floating point dtype. Received: dtype=%s" % d.name)
    return d


class Initializer:
    """The base class: a callable `init(shape, dtype=None)` with get_config/from_config.

    >>> class Twos(gt.initializers.Initializer):
    ...     def __call__(self, shape, dtype=None):
    ...         return gt.fill(shape, gt.constant(2.0))
    >>> Twos()(shape=[2]).numpy()
    array([2., 2.], dtype=float32)
    """

    def __call__(self, shape, dtype=None):
        raise NotImplementedError("Initializer subclasses must implement __call__")

    def get_config(self):
        """The constructor arguments, which from_config takes back.

        >>> gt.initializers.RandomNormal(stddev=2.0).get_config()
        {'mean': 0.0, 'stddev': 2.0, 'seed': None}
        """
        return {}

    @classmethod
    def from_config(cls, config):
        """An initializer from get_config's dictionary.

        >>> gt.initializers.Constant.from_config({"value": 3.0})(shape=[1]).numpy()
        array([3.], dtype=float32)
        """
        return cls(**config)


class _Seeded(Initializer):
    def _draw(self, stateless, stateful, shape, dtype, **kwargs):
        # Keras 3: an instance made without a seed takes one from the global stream when first
        # used, so that its calls repeat themselves as a seeded instance's do
        shape = [int(s) for s in shape]
        if self.seed is None and getattr(self, "_drawn_seed", None) is None:
            self._drawn_seed = int(_random.uniform([], 0, 2 ** 31 - 1, dtype="int64"))
        seed = self.seed if self.seed is not None else self._drawn_seed
        return stateless(shape, [int(seed), 0], dtype=dtype, **kwargs)


class Constant(Initializer):
    """Fills with a scalar `value` (tf.initializers.Constant).

    >>> gt.initializers.Constant(0.5)(shape=[2]).numpy()
    array([0.5, 0.5], dtype=float32)
    """

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        d = _core.as_dtype(dtype if dtype is not None else "float32")
        return _core.fill([int(s) for s in shape], _core.constant(self.value, dtype=d))

    def get_config(self):
        return {"value": self.value}


class Zeros(Initializer):
    """Fills with zeros (tf.initializers.Zeros).

    >>> gt.initializers.Zeros()(shape=[2], dtype=gt.int32).numpy()
    array([0, 0], dtype=int32)
    """

    def __call__(self, shape, dtype=None):
        return _core.zeros([int(s) for s in shape], dtype=dtype if dtype is not None else "float32")


class Ones(Initializer):
    """Fills with ones (tf.initializers.Ones).

    >>> gt.initializers.Ones()(shape=[2]).numpy()
    array([1., 1.], dtype=float32)
    """

    def __call__(self, shape, dtype=None):
        return _core.ones([int(s) for s in shape], dtype=dtype if dtype is not None else "float32")


class RandomNormal(_Seeded):
    """Normal draws with `mean` and `stddev` (tf.initializers.RandomNormal).

    >>> init = gt.initializers.RandomNormal(stddev=0.1, seed=3)
    >>> bool(gt.reduce_all(init(shape=[4]) == init(shape=[4])))
    True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return self._draw(_random.stateless_normal, _random.normal, shape, _float_dtype(dtype),
                          mean=self.mean, stddev=self.stddev)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Seeded):
    """Uniform draws in [minval, maxval) (tf.initializers.RandomUniform).

    >>> x = gt.initializers.RandomUniform(-1.0, 1.0, seed=1)(shape=[100])
    >>> bool(gt.reduce_all((x >= -1.0) & (x < 1.0)))
    True
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        return self._draw(_random.stateless_uniform, _random.uniform, shape, _float_dtype(dtype),
                          minval=self.minval, maxval=self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(_Seeded):
    """Normal draws with `mean` and `stddev`, redrawn beyond two standard deviations
    (tf.initializers.TruncatedNormal).

    >>> x = gt.initializers.TruncatedNormal(stddev=1.0, seed=2)(shape=[1000])
    >>> bool(gt.reduce_max(gt.abs(x)) <= 2.0)
    True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return self._draw(_random.stateless_truncated_normal, _random.truncated_normal, shape, _float_dtype(dtype),
                          mean=self.mean, stddev=self.stddev)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _fans(shape, input_axes=None, output_axes=None):
    """Keras's fan-in and fan-out of a shape, or the products of the sizes of the given axes."""
    shape = [int(s) for s in shape]
    if input_axes is not None or output_axes is not None:
        fan_in, fan_out = _fans(shape)
        if input_axes is not None:
            fan_in = math.prod(shape[a] for a in input_axes)
        if output_axes is not None:
            fan_out = math.prod(shape[a] for a in output_axes)
        return fan_in, fan_out
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(_Seeded):
    """Draws with variance scale / n, n the fan-in ("fan_in"), fan-out ("fan_out") or their mean
    ("fan_avg"), from a truncated normal, a normal ("untruncated_normal") or a uniform
    distribution (tf.initializers.VarianceScaling, Keras 3's).

    >>> x = gt.initializers.VarianceScaling(2.0, "fan_in", "untruncated_normal", seed=0)(shape=[2000, 50])
    >>> round(float(gt.math.reduce_std(x)) ** 2 * 2000, 1)
    2.0
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        if scale <= 0.0:
            raise ValueError("Argument `scale` must be positive float. Received: scale=%s" % scale)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError("Invalid `mode` argument: expected one of {'fan_in', 'fan_out', 'fan_avg'}. "
                             "Received: mode=%s" % mode)
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError("Invalid `distribution` argument: expected one of {'uniform', 'truncated_normal', "
                             "'untruncated_normal'}. Received: distribution=%s" % distribution)
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed
        self.input_axes = None if input_axes is None else list(input_axes)
        self.output_axes = None if output_axes is None else list(output_axes)

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype)
        fan_in, fan_out = _fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            # the standard deviation of a unit normal truncated to [-2, 2]
            stddev = math.sqrt(variance) / 0.87962566103423978
            return self._draw(_random.stateless_truncated_normal, _random.truncated_normal, shape, dtype,
                              stddev=stddev)
        if self.distribution == "untruncated_normal":
            return self._draw(_random.stateless_normal, _random.normal, shape, dtype, stddev=math.sqrt(variance))
        limit = math.sqrt(3.0 * variance)
        return self._draw(_random.stateless_uniform, _random.uniform, shape, dtype, minval=-limit, maxval=limit)

    def get_config(self):
        return {"seed": self.seed, "scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


def _family(name, scale, mode, distribution, doc):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc,
                                           "__module__": __name__})


GlorotUniform = _family("GlorotUniform", 1.0, "fan_avg", "uniform", """Uniform in +-sqrt(6 / (fan_in + fan_out))
    (tf.initializers.GlorotUniform, Xavier's).

    >>> x = gt.initializers.GlorotUniform(seed=1)(shape=[30, 20])
    >>> bool(gt.reduce_max(gt.abs(x)) <= (6.0 / 50) ** 0.5)
    True
    """)
GlorotNormal = _family("GlorotNormal", 1.0, "fan_avg", "truncated_normal", """Truncated normal with standard
    deviation sqrt(2 / (fan_in + fan_out)) (tf.initializers.GlorotNormal).

    >>> gt.initializers.GlorotNormal(seed=1)(shape=[3, 2]).shape
    TensorShape([3, 2])
    """)
HeUniform = _family("HeUniform", 2.0, "fan_in", "uniform", """Uniform in +-sqrt(6 / fan_in)
    (tf.initializers.HeUniform).

    >>> x = gt.initializers.HeUniform(seed=1)(shape=[24, 5])
    >>> bool(gt.reduce_max(gt.abs(x)) <= 0.5)
    True
    """)
HeNormal = _family("HeNormal", 2.0, "fan_in", "truncated_normal", """Truncated normal with standard deviation
    sqrt(2 / fan_in) (tf.initializers.HeNormal).

    >>> gt.initializers.HeNormal(seed=1)(shape=[3, 3, 8, 16]).shape
    TensorShape([3, 3, 8, 16])
    """)
LecunUniform = _family("LecunUniform", 1.0, "fan_in", "uniform", """Uniform in +-sqrt(3 / fan_in)
    (tf.initializers.LecunUniform).

    >>> x = gt.initializers.LecunUniform(seed=1)(shape=[12, 5])
    >>> bool(gt.reduce_max(gt.abs(x)) <= 0.5)
    True
    """)
LecunNormal = _family("LecunNormal", 1.0, "fan_in", "truncated_normal", """Truncated normal with standard
    deviation sqrt(1 / fan_in) (tf.initializers.LecunNormal).

    >>> gt.initializers.LecunNormal(seed=1)(shape=[4]).shape
    TensorShape([4])
    """)


class Orthogonal(_Seeded):
    """A (semi-)orthogonal matrix times `gain`: the Q of a normal matrix's QR with the signs of
    R's diagonal, over the last dimension and the product of the others
    (tf.initializers.Orthogonal).

    >>> q = gt.initializers.Orthogonal(seed=0)(shape=[4, 4], dtype=gt.float64)
    >>> np.allclose(gt.matmul(q, q, transpose_a=True).numpy(), np.eye(4))
    True
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype)
        shape = [int(s) for s in shape]
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. Received: shape=%s" % shape)
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = [max(rows, cols), min(rows, cols)]
        a = self._draw(_random.stateless_normal, _random.normal, flat, dtype)
        q, r = _core.qr(a)
        q = q * _core.sign(_core.diag_part(r))
        if rows < cols:
            q = _core.transpose(q, [1, 0])
        return _core.reshape(q * _core.constant(self.gain, dtype=dtype), shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """`gain` times the identity matrix (ones on the main diagonal of a 2-D shape;
    tf.initializers.Identity).

    >>> gt.initializers.Identity(2.0)(shape=[2, 3]).numpy()
    array([[2., 0., 0.],
           [0., 2., 0.]], dtype=float32)
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype)
        shape = [int(s) for s in shape]
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices. Received: shape=%s" % shape)
        return _core.constant(np.eye(shape[0], shape[1]) * self.gain, dtype=dtype)

    def get_config(self):
        return {"gain": self.gain}


OrthogonalInitializer = Orthogonal
IdentityInitializer = Identity
# Keras's lower-case aliases
constant, zeros, ones = Constant, Zeros, Ones
random_normal, random_uniform, truncated_normal, variance_scaling = RandomNormal, RandomUniform, TruncatedNormal, \
    VarianceScaling
glorot_normal, glorot_uniform, he_normal, he_uniform = GlorotNormal, GlorotUniform, HeNormal, HeUniform
lecun_normal, lecun_uniform, orthogonal, identity = LecunNormal, LecunUniform, Orthogonal, Identity

def _classes():
    return {cls.__name__: cls for cls in (Constant, Zeros, Ones, RandomNormal, RandomUniform, TruncatedNormal,
                                          VarianceScaling, GlorotNormal, GlorotUniform, HeNormal, HeUniform,
                                          LecunNormal, LecunUniform, Orthogonal, Identity)}


def serialize(initializer):
    """Keras 3's serialized form, which deserialize takes back.

    >>> gt.initializers.serialize(gt.initializers.HeNormal(seed=4))["config"]
    {'seed': 4, 'input_axes': None, 'output_axes': None}
    """
    return {"module": "keras.initializers", "class_name": type(initializer).__name__,
            "config": initializer.get_config(), "registered_name": None}


def deserialize(config):
    """The initializer serialize described.

    >>> type(gt.initializers.deserialize({"class_name": "Ones", "config": {}})).__name__
    'Ones'
    """
    classes = _classes()
    if config.get("class_name") not in classes:
        raise ValueError("Unknown initializer: %r" % (config.get("class_name"),))
    return classes[config["class_name"]].from_config(config.get("config", {}))


def get(identifier):
    """An initializer from a name ("glorot_uniform", "HeNormal", ...), a serialized dict, an
    initializer (itself) or a callable (itself); None gives None.

    >>> type(gt.initializers.get("glorot_uniform")).__name__
    'GlorotUniform'
    """
    if identifier is None or isinstance(identifier, Initializer) or callable(identifier) and \
            not isinstance(identifier, (str, dict)):
        return identifier() if isinstance(identifier, type) else identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        by_lower = {k.lower(): v for k, v in _classes().items()}
        key = identifier.replace("_", "").lower()
        if key in by_lower:
            return by_lower[key]()
    raise ValueError("Could not interpret initializer identifier: %r" % (identifier,))
