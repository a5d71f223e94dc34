"""gradtape.optimizers.schedules: learning rates as functions of the step, as Keras 3's
(tf.keras.optimizers.schedules). An optimizer calls its schedule with its `iterations` before
the step increments it. Values are computed in the initial learning rate's dtype (float32 for
a Python float), rounding where Keras rounds.

Eagerly a schedule computes in NumPy. Called with a tensor or variable step while gt.function
traces (an optimizer's `iterations` in a traced training step), it computes the same formulas
with gt ops, which trace to steps of the program: the learning rate is computed from the
step counter at every call of the function, as TensorFlow's schedules are."""
from __future__ import annotations

import math
from typing import Any, Dict

import numpy as np

from .. import _core

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
           "InverseTimeDecay", "CosineDecay", "serialize", "deserialize"]


def _step(step):
    if hasattr(step, "numpy"):
        step = step.numpy()
    return np.asarray(step)


def _dtype_of(value):
    """The NumPy dtype Keras's convert_to_tensor gives a Python or NumPy number: float32 for a
    Python float, the array's own dtype otherwise."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return np.dtype(value.dtype) if value.dtype.kind == "f" else np.dtype(np.float32)
    return np.dtype(np.float32)


def _out(x, dtype):
    return _core.constant(np.asarray(x, dtype=dtype))


def _traced(step):
    """Whether to compute with gt ops: a tensor or variable step while gt.function traces."""
    return isinstance(step, (_core.Tensor, _core.Variable)) and _core._tracing()


def _c(x, dtype):
    """A constant scalar of dtype (a NumPy dtype) holding x rounded to it."""
    return _core.constant(np.asarray(x, dtype=dtype))


def _step_as(step, dtype):
    """The step cast to dtype, as the NumPy path's dtype.type(step) casts it."""
    return _core.cast(step, _core.as_dtype(np.dtype(dtype).name))


class LearningRateSchedule:
    """The base class: a subclass defines __call__(step) returning the learning rate, and
    get_config() for serialisation.

    >>> class Halving(gt.optimizers.schedules.LearningRateSchedule):
    ...     def __call__(self, step):
    ...         return 1.0 / 2.0 ** (int(step) // 10)
    ...     def get_config(self):
    ...         return {}
    >>> opt = gt.optimizers.SGD(learning_rate=Halving())
    >>> opt.iterations.assign(25)
    <gt.Variable 'iteration:0' shape=() dtype=int64, numpy=25>
    >>> opt.learning_rate
    0.25
    """

    def __call__(self, step) -> _core.Tensor:
        raise NotImplementedError("Learning rate schedule '%s' must override `__call__(self, step)`."
                                  % self.__class__.__name__)

    def get_config(self):
        """The constructor arguments, as a dict (a subclass must define it to be serialised).

        >>> gt.optimizers.schedules.InverseTimeDecay(1.0, 10, 0.5).get_config()["decay_rate"]
        0.5
        """
        raise NotImplementedError("Learning rate schedule '%s' must override `get_config()` in order to be "
                                  "serializable." % self.__class__.__name__)

    @classmethod
    def from_config(cls, config):
        """A schedule made from get_config's dict.

        >>> s = gt.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
        >>> gt.optimizers.schedules.ExponentialDecay.from_config(s.get_config()).decay_rate
        0.5
        """
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """initial_learning_rate * decay_rate ** (step / decay_steps) (the exponent floored when
    staircase).

    >>> s = gt.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> [round(float(s(step)), 6) for step in (0, 10, 20)]
    [0.1, 0.05, 0.025]
    >>> float(gt.optimizers.schedules.ExponentialDecay(1.0, 10, 0.5, staircase=True)(15))
    0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name
        if self.decay_steps <= 0:
            raise ValueError("Argument `decay_steps` must be > 0. Received: decay_steps=%s" % self.decay_steps)

    def __call__(self, step) -> _core.Tensor:
        dt = _dtype_of(self.initial_learning_rate)
        lr = dt.type(self.initial_learning_rate)
        if _traced(step):
            p = _step_as(step, dt) / _c(self.decay_steps, dt)
            if self.staircase:
                p = _core.floor(p)
            return _c(lr, dt) * _core.pow(_c(self.decay_rate, dt), p)
        p = dt.type(_step(step)) / dt.type(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return _out(lr * np.power(dt.type(self.decay_rate), p), dt)

    def get_config(self):
        return dict(initial_learning_rate=self.initial_learning_rate, decay_steps=self.decay_steps,
                    decay_rate=self.decay_rate, staircase=self.staircase, name=self.name)


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
    boundaries[i], values[-1] after the last boundary.

    >>> s = gt.optimizers.schedules.PiecewiseConstantDecay(boundaries=[10, 20], values=[1.0, 0.5, 0.1])
    >>> [round(float(s(step)), 6) for step in (5, 10, 15, 25)]
    [1.0, 1.0, 0.5, 0.1]
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        super().__init__()
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of values. Received: "
                             "boundaries=%s of length %d, and values=%s of length %d."
                             % (boundaries, len(boundaries), values, len(values)))
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step) -> _core.Tensor:
        dt = _dtype_of(self.values[0])
        if _traced(step):
            # the first i with step <= boundaries[i] (the last value past them all), as the
            # loop below finds it; the comparison is exact for integer boundaries, else in float64
            exact = all(isinstance(b, (int, np.integer)) for b in self.boundaries)
            s = _core.cast(step, _core.as_dtype("int64" if exact else "float64"))
            out = _c(self.values[-1], dt)
            for i in reversed(range(len(self.boundaries))):
                b = _c(self.boundaries[i], np.int64 if exact else np.float64)
                out = _core.where(_core.less_equal(s, b), _c(self.values[i], dt), out)
            return out
        s = _step(step)
        i = 0
        while i < len(self.boundaries) and s > self.boundaries[i]:
            i += 1
        return _out(dt.type(self.values[i]), dt)

    def get_config(self):
        return dict(boundaries=self.boundaries, values=self.values, name=self.name)


class PolynomialDecay(LearningRateSchedule):
    """(initial - end) * (1 - step / decay_steps) ** power + end, with step capped at decay_steps,
    or (cycle) decay_steps stretched to the next multiple above step.

    >>> s = gt.optimizers.schedules.PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.0)
    >>> [float(s(step)) for step in (0, 5, 10, 20)]
    [1.0, 0.5, 0.0, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name
        if self.decay_steps <= 0:
            raise ValueError("Argument `decay_steps` must be > 0. Received: decay_steps=%s" % self.decay_steps)

    def __call__(self, step) -> _core.Tensor:
        dt = _dtype_of(self.initial_learning_rate)
        T = dt.type
        lr, end, power = T(self.initial_learning_rate), T(self.end_learning_rate), T(self.power)
        if _traced(step):
            s = _step_as(step, dt)
            ds = _c(self.decay_steps, dt)
            if self.cycle:
                mult = _core.where(_core.equal(s, _c(0, dt)), _c(1, dt), _core.ceil(s / ds))
                ds = ds * mult
            else:
                s = _core.minimum(s, ds)
            p = s / ds
            return _c(lr - end, dt) * _core.pow(_c(1, dt) - p, _c(power, dt)) + _c(end, dt)
        s = T(_step(step))
        ds = T(self.decay_steps)
        if self.cycle:
            mult = T(1.0) if s == 0 else np.ceil(s / ds)
            ds = ds * mult
        else:
            s = min(s, ds)
        p = s / ds
        return _out((lr - end) * np.power(T(1) - p, power) + end, dt)

    def get_config(self):
        return dict(initial_learning_rate=self.initial_learning_rate, decay_steps=self.decay_steps,
                    end_learning_rate=self.end_learning_rate, power=self.power, cycle=self.cycle, name=self.name)


class InverseTimeDecay(LearningRateSchedule):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps) (the ratio floored when
    staircase).

    >>> s = gt.optimizers.schedules.InverseTimeDecay(1.0, decay_steps=10, decay_rate=1.0)
    >>> [float(s(step)) for step in (0, 10, 30)]
    [1.0, 0.5, 0.25]
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name
        if self.decay_steps <= 0:
            raise ValueError("Argument `decay_steps` must be > 0. Received: decay_steps=%s" % self.decay_steps)

    def __call__(self, step) -> _core.Tensor:
        dt = _dtype_of(self.initial_learning_rate)
        T = dt.type
        if _traced(step):
            p = _step_as(step, dt) / _c(self.decay_steps, dt)
            if self.staircase:
                p = _core.floor(p)
            return _c(self.initial_learning_rate, dt) / (_c(1, dt) + _c(self.decay_rate, dt) * p)
        p = T(_step(step)) / T(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return _out(T(self.initial_learning_rate) / (T(1) + T(self.decay_rate) * p), dt)

    def get_config(self):
        return dict(initial_learning_rate=self.initial_learning_rate, decay_steps=self.decay_steps,
                    decay_rate=self.decay_rate, staircase=self.staircase, name=self.name)


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial rate (or, after a linear warmup of warmup_steps to
    warmup_target, from warmup_target) to alpha times it over decay_steps.

    >>> s = gt.optimizers.schedules.CosineDecay(1.0, decay_steps=10)
    >>> float(s(0)), float(s(10)), float(s(20))
    (1.0, 0.0, 0.0)
    >>> w = gt.optimizers.schedules.CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=4)
    >>> float(w(2))  # halfway through the linear warmup
    0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target
        if self.decay_steps <= 0:
            raise ValueError("Argument `decay_steps` must be > 0. Received: decay_steps=%s" % self.decay_steps)

    def _decay(self, s, ds, start, T):
        fraction = s / ds
        cosine = T(0.5) * (T(1.0) + np.cos(T(math.pi) * fraction))
        return start * ((T(1) - T(self.alpha)) * cosine + T(self.alpha))

    def _decay_traced(self, s, ds, start, dt):
        T = dt.type
        cosine = _c(0.5, dt) * (_c(1, dt) + _core.cos(_c(math.pi, dt) * (s / ds)))
        return start * (_c(T(1) - T(self.alpha), dt) * cosine + _c(self.alpha, dt))

    def _call_traced(self, step, dt):
        T = dt.type
        lr, ds = _c(self.initial_learning_rate, dt), _c(self.decay_steps, dt)
        s = _step_as(step, dt)
        if self.warmup_target is None:
            return self._decay_traced(_core.minimum(s, ds), ds, lr, dt)
        target, ws = _c(self.warmup_target, dt), _c(self.warmup_steps, dt)
        s = _core.minimum(s, _c(T(self.decay_steps) + T(self.warmup_steps), dt))
        warm = _c(T(self.warmup_target) - T(self.initial_learning_rate), dt) * (s / ws) + lr
        return _core.where(_core.less(s, ws), warm, self._decay_traced(s - ws, ds, target, dt))

    def __call__(self, step) -> _core.Tensor:
        dt = _dtype_of(self.initial_learning_rate)
        if _traced(step):
            return self._call_traced(step, dt)
        T = dt.type
        lr = T(self.initial_learning_rate)
        ds = T(self.decay_steps)
        s = T(_step(step))
        if self.warmup_target is None:
            return _out(self._decay(min(s, ds), ds, lr, T), dt)
        target, ws = T(self.warmup_target), T(self.warmup_steps)
        s = min(s, ds + ws)
        if s < ws:
            return _out((target - lr) * (s / ws) + lr, dt)
        return _out(self._decay(s - ws, ds, target, T), dt)

    def get_config(self):
        return dict(initial_learning_rate=self.initial_learning_rate, decay_steps=self.decay_steps, alpha=self.alpha,
                    name=self.name, warmup_target=self.warmup_target, warmup_steps=self.warmup_steps)


def serialize(schedule) -> Dict[str, Any]:
    """The schedule as a dict: its class name and its config.

    >>> gt.optimizers.schedules.serialize(gt.optimizers.schedules.InverseTimeDecay(1.0, 10, 0.5))["class_name"]
    'InverseTimeDecay'
    """
    return {"class_name": schedule.__class__.__name__, "config": schedule.get_config()}


def deserialize(config, custom_objects=None) -> LearningRateSchedule:
    """The schedule serialize made the dict of (custom_objects: more classes, by name).

    >>> config = gt.optimizers.schedules.serialize(gt.optimizers.schedules.PolynomialDecay(1.0, 10))
    >>> s = gt.optimizers.schedules.deserialize(config)
    >>> type(s).__name__, s.decay_steps
    ('PolynomialDecay', 10)
    """
    classes = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay,
                                        CosineDecay)}
    classes.update(custom_objects or {})
    return classes[config["class_name"]].from_config(config["config"])
