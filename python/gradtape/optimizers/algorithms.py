"""The optimizers: Keras 3's classes, defaults and update rules (each rule is one fused C++
pass, gradtape/optim.h, where the formulas are written out)."""
import numpy as np

from .. import _core, _restore
from .optimizer import Optimizer, _auto_name

_A = _core._OptimAlgorithm


class SGD(Optimizer):
    """Gradient descent with optional momentum: m = momentum * m - lr * g; p += m (nesterov:
    p += momentum * m - lr * g); without momentum p -= lr * g.

    >>> v = gt.Variable([1.0, -2.0])
    >>> opt = gt.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    >>> for _ in range(3):  # three steps on sum(v ** 2)
    ...     with gt.GradientTape() as tape:
    ...         loss = gt.reduce_sum(v * v)
    ...     _ = opt.apply_gradients([(tape.gradient(loss, v), v)])
    >>> print(np.round(v.numpy(), 3))
    [ 0.062 -0.124]
    >>> opt.get_slot_names()
    ['momentum']
    """
    _algorithm = _A.SGD

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name="SGD",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor, gradient_accumulation_steps=gradient_accumulation_steps,
                         **kwargs)
        if not isinstance(momentum, float) or momentum < 0 or momentum > 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = momentum
        self.nesterov = nesterov

    def _slot_groups(self):
        return [(["momentum"], 0.0)] if self.momentum != 0 else []

    def _fill_hyper(self, h):
        h.momentum = self.momentum
        h.nesterov = bool(self.nesterov)

    def get_config(self):
        c = super().get_config()
        c.update(momentum=self.momentum, nesterov=self.nesterov)
        return c


def _base_kwargs(locals_):
    keys = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum",
            "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps", "name")
    out = {k: locals_[k] for k in keys}
    out.update(locals_["kwargs"])
    return out


class Adam(Optimizer):
    """Adam (Kingma and Ba), Keras's form: alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t),
    p -= alpha * m / (sqrt(v) + epsilon); amsgrad uses the running maximum of v.

    >>> v = gt.Variable([1.0, -2.0])
    >>> opt = gt.optimizers.Adam(learning_rate=0.1)
    >>> for _ in range(3):  # three steps on sum(v ** 2)
    ...     with gt.GradientTape() as tape:
    ...         loss = gt.reduce_sum(v * v)
    ...     _ = opt.apply_gradients([(tape.gradient(loss, v), v)])
    >>> print(np.round(v.numpy(), 3))
    [ 0.702 -1.701]
    >>> opt.get_slot_names()
    ['momentum', 'velocity']
    """
    _algorithm = _A.Adam

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name="adam",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()))
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _slot_groups(self):
        return [(["momentum", "velocity"], 0.0)] + ([(["velocity_hat"], 0.0)] if self.amsgrad else [])

    def _fill_hyper(self, h):
        h.beta_1, h.beta_2, h.epsilon, h.amsgrad = self.beta_1, self.beta_2, self.epsilon, bool(self.amsgrad)

    def get_config(self):
        c = super().get_config()
        c.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, amsgrad=self.amsgrad)
        return c


class AdamW(Adam):
    """Adam with decoupled weight decay (p -= p * weight_decay * lr before the Adam step).

    >>> v = gt.Variable([1.0, -2.0])
    >>> opt = gt.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    >>> for _ in range(3):  # three steps on sum(v ** 2)
    ...     with gt.GradientTape() as tape:
    ...         loss = gt.reduce_sum(v * v)
    ...     _ = opt.apply_gradients([(tape.gradient(loss, v), v)])
    >>> print(np.round(v.numpy(), 3))
    [ 0.575 -1.431]
    >>> opt.get_slot_names()
    ['momentum', 'velocity']
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="adamw", **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         **_base_kwargs(locals()))
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")


class RMSprop(Optimizer):
    """v = rho v + (1 - rho) g^2; p -= lr g / sqrt(v + eps) (centered: v - mean(g)^2 + eps),
    through a momentum accumulator when momentum > 0.

    >>> v = gt.Variable([1.0, -2.0])
    >>> opt = gt.optimizers.RMSprop(learning_rate=0.1)
    >>> for _ in range(3):  # three steps on sum(v ** 2)
    ...     with gt.GradientTape() as tape:
    ...         loss = gt.reduce_sum(v * v)
    ...     _ = opt.apply_gradients([(tape.gradient(loss, v), v)])
    >>> print(np.round(v.numpy(), 3))
    [ 0.369 -1.309]
    >>> opt.get_slot_names()
    ['velocity']
    """
    _algorithm = _A.RMSprop

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name="rmsprop", **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()))
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _slot_groups(self):
        groups = [(["velocity"], 0.0)]
        if self.momentum > 0:
            groups.append((["momentum"], 0.0))
        if self.centered:
            groups.append((["average_gradient"], 0.0))
        return groups

    def _fill_hyper(self, h):
        h.rho, h.momentum, h.epsilon, h.centered = self.rho, self.momentum, self.epsilon, bool(self.centered)

    def get_config(self):
        c = super().get_config()
        c.update(rho=self.rho, momentum=self.momentum, epsilon=self.epsilon, centered=self.centered)
        return c


class Adagrad(Optimizer):
    """acc += g^2; p -= lr g / sqrt(acc + eps), acc starting at initial_accumulator_value.

    >>> v = gt.Variable([1.0, -2.0])
    >>> opt = gt.optimizers.Adagrad(learning_rate=0.1)
    >>> for _ in range(3):  # three steps on sum(v ** 2)
    ...     with gt.GradientTape() as tape:
    ...         loss = gt.reduce_sum(v * v)
    ...     _ = opt.apply_gradients([(tape.gradient(loss, v), v)])
    >>> print(np.round(v.numpy(), 3))
    [ 0.782 -1.776]
    >>> opt.get_slot_names()
    ['accumulator']
    """
    _algorithm = _A.Adagrad

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()))
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _slot_groups(self):
        return [(["accumulator"], float(self.initial_accumulator_value))]

    def _fill_hyper(self, h):
        h.epsilon = self.epsilon

    def get_config(self):
        c = super().get_config()
        c.update(initial_accumulator_value=self.initial_accumulator_value, epsilon=self.epsilon)
        return c


class Adadelta(Optimizer):
    """Zeiler's Adadelta with Keras's learning rate factor: p += lr * delta.

    >>> v = gt.Variable([1.0, -2.0])
    >>> opt = gt.optimizers.Adadelta(learning_rate=1.0)
    >>> for _ in range(3):  # three steps on sum(v ** 2)
    ...     with gt.GradientTape() as tape:
    ...         loss = gt.reduce_sum(v * v)
    ...     _ = opt.apply_gradients([(tape.gradient(loss, v), v)])
    >>> print(np.round(v.numpy(), 3))
    [ 0.996 -1.996]
    >>> opt.get_slot_names()
    ['accumulated_grad', 'accumulated_delta_var']
    """
    _algorithm = _A.Adadelta

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name="adadelta", **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()))
        self.rho, self.epsilon = rho, epsilon

    def _slot_groups(self):
        return [(["accumulated_grad", "accumulated_delta_var"], 0.0)]

    def _fill_hyper(self, h):
        h.rho, h.epsilon = self.rho, self.epsilon

    def get_config(self):
        c = super().get_config()
        c.update(rho=self.rho, epsilon=self.epsilon)
        return c


class Adamax(Optimizer):
    """Adam with the infinity norm: u = max(beta_2 u, |g|); p -= lr m / ((1 - beta_1^t)(u + eps)).

    >>> v = gt.Variable([1.0, -2.0])
    >>> opt = gt.optimizers.Adamax(learning_rate=0.1)
    >>> for _ in range(3):  # three steps on sum(v ** 2)
    ...     with gt.GradientTape() as tape:
    ...         loss = gt.reduce_sum(v * v)
    ...     _ = opt.apply_gradients([(tape.gradient(loss, v), v)])
    >>> print(np.round(v.numpy(), 3))
    [ 0.715 -1.708]
    >>> opt.get_slot_names()
    ['momentum', 'norm']
    """
    _algorithm = _A.Adamax

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name="adamax", **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()))
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _slot_groups(self):
        return [(["momentum", "norm"], 0.0)]

    def _fill_hyper(self, h):
        h.beta_1, h.beta_2, h.epsilon = self.beta_1, self.beta_2, self.epsilon

    def get_config(self):
        c = super().get_config()
        c.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return c


class Nadam(Optimizer):
    """Adam with Nesterov momentum (Dozat), with Keras's momentum schedule
    u_t = beta_1 (1 - 0.5 * 0.96^t) and its running product.

    >>> v = gt.Variable([1.0, -2.0])
    >>> opt = gt.optimizers.Nadam(learning_rate=0.1)
    >>> for _ in range(3):  # three steps on sum(v ** 2)
    ...     with gt.GradientTape() as tape:
    ...         loss = gt.reduce_sum(v * v)
    ...     _ = opt.apply_gradients([(tape.gradient(loss, v), v)])
    >>> print(np.round(v.numpy(), 3))
    [ 0.755 -1.75 ]
    >>> opt.get_slot_names()
    ['momentum', 'velocity']
    """
    _algorithm = _A.Nadam

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name="nadam", **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()))
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self._u_product = None

    def _slot_groups(self):
        return [(["momentum", "velocity"], 0.0)]

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        dtype = var_list[0].dtype if var_list else _core.as_dtype("float32")
        super().build(var_list)
        # Keras's unnamed scalar (path "nadam/variable", "nadam/variable_1", ...), last in `variables`
        self._u_product = self._new_variable(1.0, dtype, _auto_name("Variable"))
        _restore.retry_all()  # (its saved value may be waiting: build's call came before it)

    def _before_step(self, iterations):
        # u_product *= beta_1 * (1 - 0.5 * 0.96^t), t = iterations + 1, in u_product's dtype
        f = np.float64 if self._u_product.dtype == _core.as_dtype("float64") else np.float32
        if isinstance(iterations, _core.Variable):
            # gt.function traces it: the same computation with gt ops, steps of the program, so
            # the product advances at every call; the step reads the value written
            fd = _core.as_dtype(np.dtype(f).name)
            u = _core.cast(_core.convert_to_tensor(self._u_product), fd)
            t = _core.cast(iterations + 1, fd)
            u = u * _core.constant(f(self.beta_1)) * (
                _core.constant(f(1.0)) - _core.constant(f(0.5)) * _core.pow(_core.constant(f(0.96)), t))
            u = _core.cast(u, self._u_product.dtype)
            self._u_product.assign(u)
            return u
        u = f(self._u_product.numpy())
        u = u * f(self.beta_1) * (f(1.0) - f(0.5) * np.power(f(0.96), f(iterations + 1)))
        self._u_product.assign(f(u))

    def _fill_hyper(self, h):
        h.beta_1, h.beta_2, h.epsilon = self.beta_1, self.beta_2, self.epsilon
        if not _core._tracing():  # (traced, the step reads the product as a tensor at each call)
            h.u_product = float(self._u_product.numpy())

    def get_config(self):
        c = super().get_config()
        c.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return c


class Lion(Optimizer):
    """Lion (Chen et al.): p -= lr sign(beta_1 m + (1 - beta_1) g); m = beta_2 m + (1 - beta_2) g.

    >>> v = gt.Variable([1.0, -2.0])
    >>> opt = gt.optimizers.Lion(learning_rate=0.1)
    >>> for _ in range(3):  # three steps on sum(v ** 2)
    ...     with gt.GradientTape() as tape:
    ...         loss = gt.reduce_sum(v * v)
    ...     _ = opt.apply_gradients([(tape.gradient(loss, v), v)])
    >>> print(np.round(v.numpy(), 3))
    [ 0.7 -1.7]
    >>> opt.get_slot_names()
    ['momentum']
    """
    _algorithm = _A.Lion

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name="lion",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **_base_kwargs(locals()))
        self.beta_1, self.beta_2 = beta_1, beta_2
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument for `beta_1` must be in range [0, 1]. Received: beta_1=%s" % beta_1)

    def _slot_groups(self):
        return [(["momentum"], 0.0)]

    def _fill_hyper(self, h):
        h.beta_1, h.beta_2 = self.beta_1, self.beta_2

    def get_config(self):
        c = super().get_config()
        c.update(beta_1=self.beta_1, beta_2=self.beta_2)
        return c
