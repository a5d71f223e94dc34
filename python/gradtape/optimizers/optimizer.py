"""The optimizer base class: Keras 3's API (tf.keras.optimizers.Optimizer) over gradtape's
fused C++ updates (gradtape/optim.h).

A step (`apply_gradients` / `apply`), in Keras 3's order:
  1. build the slot variables on first use;
  2. drop the variables whose gradient is None (with a warning; all None is a ValueError);
  3. read the learning rate (a schedule at `iterations`, before the step increments it);
  4. clip the gradients (clipnorm, global_clipnorm or clipvalue);
  5. decay the weights (p -= p * weight_decay * learning_rate) and update, fused into one
     pass per variable;
  6. iterations += 1.
"""
from __future__ import annotations

import re
import warnings
from typing import Any, Dict, List

import numpy as np

from .. import _core, _restore
from . import schedules as _schedules

_float32 = _core.as_dtype("float32")
_float64 = _core.as_dtype("float64")
_int64 = _core.as_dtype("int64")

_name_uids = {}


def _snake(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _auto_name(cls_name):
    """snake_case of the class name, numbered from the second instance on (Keras's naming:
    RMSprop -> rm_sprop, rm_sprop_1, ...)."""
    base = _snake(cls_name)
    n = _name_uids.get(base, 0)
    _name_uids[base] = n + 1
    return base if n == 0 else "%s_%d" % (base, n)


def _np_dtype(dtype):
    return np.float64 if dtype == _float64 else np.float32


class Optimizer:
    """Base class of gradtape's optimizers (Keras 3's `Optimizer` API).

    Subclasses set `_algorithm` (a `_core._OptimAlgorithm`), define `_slot_groups()` (the
    slot names Keras creates, group by group) and `_fill_hyper(h)`.

    >>> issubclass(gt.optimizers.Adam, gt.optimizers.Optimizer)
    True
    >>> w = gt.Variable([[1.0, 2.0]])
    >>> opt = gt.optimizers.SGD(learning_rate=0.5)
    >>> with gt.GradientTape() as tape:
    ...     loss = gt.reduce_sum(w * w)
    >>> grads = tape.gradient(loss, [w])
    >>> _ = opt.apply_gradients(zip(grads, [w]))
    >>> w.numpy(), int(opt.iterations)
    (array([[0., 0.]], dtype=float32), 1)
    """

    _algorithm = None

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs.pop("decay", None) is not None:
            raise ValueError("Argument `decay` is no longer supported. Use a learning rate schedule instead.")
        if kwargs:
            raise ValueError("Argument(s) not recognized: %s" % (kwargs,))
        if use_ema:
            raise NotImplementedError("use_ema=True is not implemented in gradtape's optimizers")
        if gradient_accumulation_steps:
            raise NotImplementedError("gradient_accumulation_steps is not implemented in gradtape's optimizers")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                             "clipnorm=%s, clipvalue=%s, global_clipnorm=%s" % (clipnorm, clipvalue, global_clipnorm))
        self.name = name if name is not None else _snake(type(self).__name__)
        # the scope of the variables' paths ("adam/iteration"), unique per optimizer as Keras's
        self._scope = _auto_name(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._variables = []
        self._trainable_variables = []
        self._index = {}          # id(variable) -> position in _trainable_variables
        self._slots = []          # per trainable variable: its slot variables, in the C++ order
        self._slot_by_name = []   # per trainable variable: {slot name: variable}
        self._exclude_ids = set()
        self._exclude_pattern = None
        self._iterations = self._new_variable(0, _int64, "iteration")
        if isinstance(learning_rate, _schedules.LearningRateSchedule) or (
                callable(learning_rate) and not isinstance(learning_rate, _core.Variable)):
            self._learning_rate = learning_rate
        elif isinstance(learning_rate, _core.Variable):
            # Beyond Keras (which refuses a tf.Variable): the variable is read at every step.
            self._learning_rate = learning_rate
        else:
            if not isinstance(learning_rate, (float, np.floating)):
                raise ValueError("Argument `learning_rate` should be float, or an instance of LearningRateSchedule, "
                                 "or a callable (that takes in the current iteration value and returns the "
                                 "corresponding learning rate value). Received instead: learning_rate=%s"
                                 % (learning_rate,))
            self._learning_rate = self._new_variable(float(learning_rate), _float32, "learning_rate")

    # ---- variables

    def _new_variable(self, value, dtype, name, shape=None):
        if shape is None:
            v = _core.Variable(value, trainable=False, name=name, dtype=dtype)
        else:
            v = _core.Variable(_core.fill(list(shape), _core.cast(_core.constant(value), dtype)),
                               trainable=False, name=name, dtype=dtype)
        v.path = "%s/%s" % (self._scope, name)
        self._variables.append(v)
        return v

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none", layout=None, name=None):
        """A new optimizer variable (tracked in `variables`); initializer "zeros", "ones" or a number.

        >>> opt = gt.optimizers.SGD()
        >>> opt.add_variable([2], initializer="ones", name="extra").numpy()
        array([1., 1.], dtype=float32)
        """
        value = {"zeros": 0.0, "ones": 1.0}.get(initializer, initializer) if isinstance(initializer, str) else initializer
        return self._new_variable(value, _core.as_dtype(dtype or "float32"), name or "variable", shape=tuple(shape))

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A variable of the reference's shape and dtype, named `<reference>_<name>` as Keras names it.

        >>> opt = gt.optimizers.SGD()
        >>> s = opt.add_variable_from_reference(gt.Variable([1.0, 2.0], name="w"), "slot")
        >>> s.name, s.numpy()
        ('w_0_slot:0', array([0., 0.], dtype=float32))
        """
        name = name or "var"
        path = getattr(reference_variable, "path", None)
        if isinstance(path, str):
            ref = path.replace("/", "_")
        else:
            ref = str(reference_variable.name).replace("/", "_").replace(":", "_")
        value = {"zeros": 0.0, "ones": 1.0}.get(initializer, initializer) if isinstance(initializer, str) else initializer
        return self._new_variable(value, reference_variable.dtype, "%s_%s" % (ref, name),
                                  shape=tuple(reference_variable.shape))

    def _slot_groups(self):
        """[(names, initial value), ...]: each group is one Keras add_optimizer_variables call."""
        return []

    def build(self, var_list) -> None:
        """Creates the slot variables for var_list (once; later calls do nothing).

        >>> w = gt.Variable([1.0, 2.0])
        >>> opt = gt.optimizers.Adam()
        >>> opt.build([w])
        >>> len(opt.variables)  # iterations, learning_rate, momentum and velocity of w
        4
        """
        if self.built:
            return
        var_list = list(var_list)
        for i, v in enumerate(var_list):
            self._index[id(v)] = i
        self._trainable_variables = var_list[:]
        per_var = [dict() for _ in var_list]
        for names, init in self._slot_groups():
            for k, v in enumerate(var_list):
                for n in names:
                    per_var[k][n] = self.add_variable_from_reference(v, n, initializer=init)
        order = [n for names, _ in self._slot_groups() for n in names]
        self._slot_by_name = per_var
        self._slots = [[d[n] for n in order] for d in per_var]
        self.built = True
        # a checkpoint restored before the slots existed holds their values: write them now
        # (also when build runs in a gt.function's first trace: once, not as a step). They may
        # wait under the model, when the optimizer was attached to it after the restore.
        _restore.retry_all()

    @property
    def variables(self) -> List[_core.Variable]:
        """iterations, the learning rate variable (for a float learning rate), then every slot
        variable in creation order (Keras's order): what a checkpoint saves.

        >>> opt = gt.optimizers.SGD(learning_rate=0.1)
        >>> [v.name for v in opt.variables]
        ['iteration:0', 'learning_rate:0']
        """
        return self._variables[:]

    @property
    def iterations(self) -> _core.Variable:
        """The number of steps taken: an int64 variable.

        >>> w = gt.Variable(1.0)
        >>> opt = gt.optimizers.SGD()
        >>> _ = opt.apply_gradients([(gt.constant(1.0), w)])
        >>> int(opt.iterations)
        1
        """
        return self._iterations

    def get_slot_names(self) -> List[str]:
        """The names of the slot variables each trainable variable gets.

        >>> gt.optimizers.Adam().get_slot_names()
        ['momentum', 'velocity']
        """
        return [n for names, _ in self._slot_groups() for n in names]

    def get_slot(self, var, slot_name) -> _core.Variable:
        """The slot variable `slot_name` (e.g. "momentum") of the trainable variable var.

        >>> w = gt.Variable([1.0, 2.0])
        >>> opt = gt.optimizers.SGD(learning_rate=0.1, momentum=0.9)
        >>> _ = opt.apply_gradients([(gt.constant([1.0, 1.0]), w)])
        >>> opt.get_slot(w, "momentum").numpy()
        array([-0.1, -0.1], dtype=float32)
        """
        i = self._index.get(id(var))
        if i is None:
            raise ValueError("Unknown variable %r: the optimizer was not built with it" % (var,))
        return self._slot_by_name[i][slot_name]

    # ---- learning rate

    @property
    def learning_rate(self):
        """The current learning rate (a schedule's value at `iterations`); settable.

        >>> opt = gt.optimizers.SGD(learning_rate=0.1)
        >>> print(opt.learning_rate.numpy())
        0.1
        >>> opt.learning_rate = 0.5
        >>> float(opt.learning_rate)
        0.5
        """
        return self._get_current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, _schedules.LearningRateSchedule) or (callable(value) and not isinstance(value, _core.Variable)):
            self._learning_rate = value
        elif isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                            "constructor argument, hence its learning rate is not settable. If you need the learning "
                            "rate to be settable, you should instantiate the optimizer with a float `learning_rate` "
                            "argument.")
        elif isinstance(self._learning_rate, _core.Variable):
            self._learning_rate.assign(_core.cast(_core.convert_to_tensor(value), self._learning_rate.dtype))
        else:
            self._learning_rate = self._new_variable(float(value), _float32, "learning_rate")

    def _get_current_learning_rate(self):
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            return lr(self._iterations)
        if isinstance(lr, _core.Variable):
            return lr
        if callable(lr):
            return lr()
        return lr

    # ---- weight decay

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Leaves these variables (or those whose name contains one of var_names) undecayed;
        call before the optimizer is built.

        >>> w, b = gt.Variable([1.0], name="w"), gt.Variable([1.0], name="bias")
        >>> opt = gt.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
        >>> opt.exclude_from_weight_decay(var_names=["bias"])
        >>> _ = opt.apply_gradients([(gt.constant([0.0]), w), (gt.constant([0.0]), b)])
        >>> print(w.numpy(), b.numpy())  # a zero gradient: only the decay (w -= w * 0.5 * 0.1) moves w
        [0.95] [1.]
        """
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer is built.")
        self._exclude_ids = set(id(v) for v in (var_list or []))
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        if self._exclude_pattern is not None and self._exclude_pattern.search(variable.name) is not None:
            return False
        return True

    # ---- steps

    def apply_gradients(self, grads_and_vars, name=None, skip_gradients_aggregation=False, **kwargs) -> _core.Variable:
        """Applies one step to each (gradient, variable) pair; returns `iterations`.

        >>> w = gt.Variable(3.0)
        >>> opt = gt.optimizers.SGD(learning_rate=0.1)
        >>> with gt.GradientTape() as tape:
        ...     loss = w * w
        >>> opt.apply_gradients([(tape.gradient(loss, w), w)])  # w -= 0.1 * 6
        <gt.Variable 'iteration:0' shape=() dtype=int64, numpy=1>
        >>> print(w.numpy())
        2.4
        """
        pairs = list(grads_and_vars)
        if not pairs:
            return self._iterations
        grads, variables = zip(*pairs)
        self.apply(list(grads), list(variables))
        return self._iterations

    def apply(self, grads, trainable_variables=None) -> None:
        """Applies one step: `grads[i]` to `trainable_variables[i]` (the built variables when None).

        >>> w = gt.Variable([1.0, 2.0])
        >>> opt = gt.optimizers.SGD(learning_rate=0.5)
        >>> opt.apply([gt.constant([1.0, 1.0])], [w])
        >>> w.numpy()
        array([0.5, 1.5], dtype=float32)
        """
        grads = list(grads)
        if len(grads) == 0:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must already be built on a "
                                 "list of variables. Call `optimizer.build(trainable_variables)` first. ")
            if len(grads) != len(self._trainable_variables):
                raise ValueError("When passing `grads` as a list of gradient tensors, the gradients must match "
                                 "`optimizer.variables` one-to-one. Received a list of %d gradients, but the optimizer "
                                 "is tracking %d trainable variables." % (len(grads), len(self._trainable_variables)))
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            for v in trainable_variables:
                if not isinstance(v, _core.Variable):
                    raise TypeError("apply_gradients: expected gradtape Variables, got %r" % (type(v).__name__,))
            if not self.built:
                self.build(trainable_variables)
            for v in trainable_variables:
                if id(v) not in self._index:
                    raise ValueError("Unknown variable: %r. This optimizer can only be called for the variables it "
                                     "was originally built with. When working with a new set of variables, you should "
                                     "recreate a new optimizer instance." % (v,))
        grads, trainable_variables = self._filter_empty_gradients(grads, trainable_variables)
        if grads:
            grads = [_core.convert_to_tensor(g) for g in grads]
            if self.loss_scale_factor is not None:
                grads = [g / self.loss_scale_factor for g in grads]
            self._step(grads, trainable_variables)
        self._iterations.assign_add(1)

    def _filter_empty_gradients(self, grads, variables):
        kept_g, kept_v, missing = [], [], []
        for g, v in zip(grads, variables):
            if g is None:
                missing.append(v.path if isinstance(getattr(v, "path", None), str) else v.name)
            else:
                kept_g.append(g)
                kept_v.append(v)
        if not kept_g:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn("Gradients do not exist for variables %s when minimizing the loss. If using "
                          "`model.compile()`, did you forget to provide a `loss` argument?" % (missing,), stacklevel=3)
        return kept_g, kept_v

    def _learning_rate_value(self):
        lr = self._get_current_learning_rate()
        return float(np.asarray(lr.numpy() if hasattr(lr, "numpy") else lr))

    def _clip_factors(self, grads):
        """Per gradient: (clip_value, grad_mul, grad_div), Keras's clipping in the gradient's dtype."""
        inf = float("inf")
        n = len(grads)
        if self.clipnorm and self.clipnorm > 0:
            out = []
            for g in grads:
                T = _np_dtype(g.dtype)
                l2sum = T(_core.reduce_sum(_core.square(g)).numpy())
                l2norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
                out.append((inf, float(T(self.clipnorm)), float(max(l2norm, T(self.clipnorm)))))
            return out
        if self.global_clipnorm and self.global_clipnorm > 0:
            T = np.float64 if all(g.dtype == _float64 for g in grads) else np.float32
            total = T(0)
            for g in grads:
                total = total + T(_core.reduce_sum(_core.square(g)).numpy())
            use_norm = np.sqrt(total)
            c = T(self.global_clipnorm)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = c * np.minimum(T(1) / use_norm, T(1) / c) + (use_norm - use_norm)
            return [(inf, float(scale), 1.0)] * n
        if self.clipvalue and self.clipvalue > 0:
            return [(float(self.clipvalue), 1.0, 1.0)] * n
        return [(inf, 1.0, 1.0)] * n

    def _fill_hyper(self, h):
        pass

    def _before_step(self, iterations):
        """Per-step work before the variables' updates (Nadam's running product). Traced
        (iterations the variable), it returns the tensor the optimizer step reads for
        h.u_product, or None."""

    def _step(self, grads, variables):
        if _core._tracing():
            return self._traced_step(grads, variables)
        lr = self._learning_rate_value()
        it = int(self._iterations.numpy())
        self._before_step(it)
        h = _core._OptimHyper()
        h.learning_rate = lr
        h.iterations = it
        self._fill_hyper(h)
        wd = 0.0 if self.weight_decay is None else float(self.weight_decay)
        for (clip, mul, div), g, v in zip(self._clip_factors(grads), grads, variables):
            h.clip_value, h.grad_mul, h.grad_div = clip, mul, div
            h.weight_decay = wd if (wd and self._use_weight_decay(v)) else 0.0
            _core._optim_apply(self._algorithm, v, g, self._slots[self._index[id(v)]], h)

    def _traced_clip_factors(self, grads):
        """_clip_factors as gt.function traces it: clipnorm's divisor and global_clipnorm's
        scale are computed from the gradients' values with gt ops (steps of the program, run at
        every call), in the same dtypes and order as the NumPy of _clip_factors."""
        inf = float("inf")
        if self.clipnorm and self.clipnorm > 0:
            out = []
            for g in grads:
                T = _np_dtype(g.dtype)
                c = _core.constant(T(self.clipnorm))
                l2sum = _core.cast(_core.reduce_sum(_core.square(g)), c.dtype)
                l2norm = _core.where(_core.greater(l2sum, _core.constant(T(0))), _core.sqrt(l2sum), l2sum)
                # Python's max(l2norm, c): c only when c > l2norm
                div = _core.where(_core.greater(c, l2norm), c, l2norm)
                out.append((inf, float(T(self.clipnorm)), div))
            return out
        if self.global_clipnorm and self.global_clipnorm > 0:
            T = np.float64 if all(g.dtype == _float64 for g in grads) else np.float32
            dt = _float64 if T is np.float64 else _float32
            total = _core.constant(T(0))
            for g in grads:
                total = total + _core.cast(_core.reduce_sum(_core.square(g)), dt)
            use_norm = _core.sqrt(total)
            c = T(self.global_clipnorm)
            scale = (_core.constant(c) * _core.minimum(_core.constant(T(1)) / use_norm, _core.constant(T(1) / c))
                     + (use_norm - use_norm))
            return [(inf, scale, 1.0)] * len(grads)
        return self._clip_factors(grads)

    def _traced_step(self, grads, variables):
        """The step as gt.function traces it: the learning rate (a schedule's value at
        `iterations`, computed with gt ops), the step counter, the clipping factors and Nadam's
        running product are computed by the program's steps and read by the optimizer step when
        it runs (in C++, at each replay), never fixed at tracing."""
        lr = self._get_current_learning_rate()
        if not isinstance(lr, (_core.Tensor, _core.Variable)):
            lr = _core.constant(float(lr), dtype=_float32)
        u_product = self._before_step(self._iterations)
        h = _core._OptimHyper()
        self._fill_hyper(h)
        wd = 0.0 if self.weight_decay is None else float(self.weight_decay)
        for (clip, mul, div), g, v in zip(self._traced_clip_factors(grads), grads, variables):
            h.clip_value = clip
            h.weight_decay = wd if (wd and self._use_weight_decay(v)) else 0.0
            slots = self._slots[self._index[id(v)]]
            if u_product is None and not isinstance(mul, _core.Tensor) and not isinstance(div, _core.Tensor):
                h.grad_mul, h.grad_div = mul, div
                _core._optim_apply_traced(self._algorithm, v, g, slots, h, lr, self._iterations)
                continue
            # the factors as float64 constants hold the doubles the eager step gives the kernel
            factors = [x if isinstance(x, _core.Tensor) else _core.constant(float(x), dtype=_float64)
                       for x in (mul, div, 1.0 if u_product is None else u_product)]
            _core._optim_apply_traced_scaled(self._algorithm, v, g, slots, h, lr, self._iterations, *factors)

    def minimize(self, loss, var_list, tape=None) -> _core.Variable:
        """Computes the gradients of loss (a callable, or a tensor computed under `tape`) with
        respect to var_list (a list, or a callable returning one) and applies them. Gone from
        Keras 3; kept for the TF 2 code that calls it. Returns `iterations`.

        >>> w = gt.Variable(3.0)
        >>> opt = gt.optimizers.SGD(learning_rate=0.1)
        >>> _ = opt.minimize(lambda: w * w, [w])
        >>> print(w.numpy())
        2.4
        """
        from ..tape import GradientTape
        if not callable(loss) and tape is None:
            raise ValueError("`tape` is required when a `Tensor` loss is passed. Received: loss=%s, tape=None."
                             % (loss,))
        if tape is None:
            with GradientTape() as tape:
                if callable(var_list):
                    var_list = var_list()
                var_list = list(var_list)
                for v in var_list:
                    tape.watch(v)
                loss_value = loss()
        else:
            if callable(var_list):
                var_list = var_list()
            var_list = list(var_list)
            loss_value = loss() if callable(loss) else loss
        grads = tape.gradient(loss_value, var_list)
        return self.apply_gradients(zip(grads, var_list))

    # ---- configuration and state

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments, as a dict (Keras's get_config).

        >>> config = gt.optimizers.Adam(learning_rate=0.01).get_config()
        >>> config["name"], round(config["learning_rate"], 6), config["beta_1"]
        ('adam', 0.01, 0.9)
        """
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            lr = _schedules.serialize(lr)
        elif isinstance(lr, _core.Variable):
            lr = float(lr.numpy())
        return dict(name=self.name, learning_rate=lr, weight_decay=self.weight_decay, clipnorm=self.clipnorm,
                    global_clipnorm=self.global_clipnorm, clipvalue=self.clipvalue, use_ema=self.use_ema,
                    ema_momentum=self.ema_momentum, ema_overwrite_frequency=self.ema_overwrite_frequency,
                    loss_scale_factor=self.loss_scale_factor,
                    gradient_accumulation_steps=self.gradient_accumulation_steps)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """An optimizer made from get_config's dict.

        >>> opt = gt.optimizers.SGD.from_config(gt.optimizers.SGD(momentum=0.5).get_config())
        >>> opt.momentum
        0.5
        """
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)

    def get_weights(self):
        """The values of `variables`, as NumPy arrays.

        >>> gt.optimizers.SGD(learning_rate=0.5).get_weights()
        [array(0), array(0.5, dtype=float32)]
        """
        return [v.numpy() for v in self._variables]

    def set_weights(self, weights):
        """Assigns NumPy values to `variables`, in order.

        >>> opt = gt.optimizers.SGD(learning_rate=0.5)
        >>> opt.set_weights([np.int64(7), np.float32(0.25)])
        >>> int(opt.iterations), float(opt.learning_rate)
        (7, 0.25)
        """
        if len(weights) != len(self._variables):
            raise ValueError("set_weights: expected %d arrays (one per optimizer variable), got %d"
                             % (len(self._variables), len(weights)))
        for v, w in zip(self._variables, weights):
            v.assign(_core.cast(_core.convert_to_tensor(w), v.dtype))

    def finalize_variable_values(self, var_list):
        """Nothing to do (no EMA).

        >>> gt.optimizers.SGD().finalize_variable_values([gt.Variable(1.0)])
        """

    def __repr__(self):
        return "<gt.optimizers.%s name=%r>" % (type(self).__name__, self.name)
