"""gradtape.GradientTape: TensorFlow's tape API over the C++ tape.

`GradientTape` subclasses the bound C++ tape: entering and leaving the `with` block and the
common forms of `gradient()` (a tensor or a flat list of tensors and variables) run in C++;
this module adds what is Python-specific: nests, `watch` of structures, `stop_recording`,
Jacobians' argument handling and the warnings.
"""
import enum
import warnings

from . import _core
from . import nest
from ._core import Tensor, Variable

__all__ = ["GradientTape", "UnconnectedGradients"]


class UnconnectedGradients(enum.Enum):
    """What `gradient` returns for a source the target does not depend on: None, zeros, or
    (beyond TensorFlow) an UnconnectedGradientsError that says why, source by source.

    >>> x, y = gt.constant(1.0), gt.constant(2.0)
    >>> with gt.GradientTape() as tape:
    ...     tape.watch([x, y])
    ...     z = x * 3.0
    >>> tape.gradient(z, y, unconnected_gradients=gt.UnconnectedGradients.ZERO)
    <gt.Tensor: shape=(), dtype=float32, numpy=0.0>
    """

    NONE = "none"
    ZERO = "zero"
    ERROR = "error"


_MODES = {"none": 0, "zero": 1, "error": 2}
_DIRECTIONS = {"auto": 0, "forward": 1, "reverse": 2}


def _direction(experimental_mode):
    if experimental_mode not in _DIRECTIONS:
        raise ValueError("experimental_mode must be 'auto', 'forward' or 'reverse', got %r" % (experimental_mode,))
    return _DIRECTIONS[experimental_mode]


def _mode(unconnected_gradients):
    value = getattr(unconnected_gradients, "value", unconnected_gradients)
    if value not in _MODES:
        raise ValueError("Unknown value for unconnected_gradients: %r (expected 'none', 'zero' or 'error')"
                         % (unconnected_gradients,))
    return _MODES[value]


def _check_sources(flat_sources):
    for s in flat_sources:
        if not isinstance(s, (Tensor, Variable)):
            raise TypeError("gradient sources must be tensors or variables, got %s" % type(s).__name__)
        if not s.dtype.is_floating:
            warnings.warn(
                "The dtype of the source tensor must be floating (e.g. gt.float32) when calling "
                "GradientTape.gradient, got %r; its gradient is None" % (s.dtype,), stacklevel=3)


def _check_target(target):
    if target is None:  # (as gradient(); TensorFlow's Jacobians fail on it with an AttributeError)
        raise TypeError("Argument `target` should be a Tensor or Variable to be differentiated, but received None.")


def _nested_gradient(tape, target, sources, output_gradients, unconnected_gradients):
    """gradient() for nested structures (dicts, nested lists): flatten, differentiate, repack."""
    flat_targets = nest.flatten(target)
    flat_sources = nest.flatten(sources)
    for s in flat_sources:
        if not isinstance(s, (Tensor, Variable)):
            raise TypeError("gradient sources must be tensors or variables, got %s" % type(s).__name__)
    flat_out = [] if output_gradients is None else nest.flatten(output_gradients)
    if output_gradients is not None and len(flat_out) != len(flat_targets):
        raise ValueError("output_gradients has %d entries for %d targets" % (len(flat_out), len(flat_targets)))
    grads = tape._gradient_flat(flat_targets, flat_sources, flat_out, _mode(unconnected_gradients))
    return nest.pack_sequence_as(sources, grads)


class GradientTape(_core._Tape):
    """Records the ops run inside its `with` block so that gradients can be computed.

    As in TensorFlow: trainable variables read inside the block are watched automatically
    (unless `watch_accessed_variables=False`); constants through `watch()`. A non-persistent
    tape answers one `gradient` (or `jacobian`) call and frees what it holds as it goes; a
    persistent one answers many and is freed with the object. Custom gradient functions
    recorded while it was active are kept in its `_keepalive` list (the core holds them
    weakly), so cycles through a tape are collectable. `gradient(target, sources,
    output_gradients=None, unconnected_gradients='none')` is implemented by the base class.

    >>> x = gt.constant(3.0)
    >>> with gt.GradientTape(persistent=True) as tape:
    ...     tape.watch(x)
    ...     y = x * x
    ...     z = y * y
    >>> float(tape.gradient(z, x)), float(tape.gradient(y, x))
    (108.0, 6.0)

    Nested tapes give higher derivatives:

    >>> with gt.GradientTape() as outer:
    ...     outer.watch(x)
    ...     with gt.GradientTape() as inner:
    ...         inner.watch(x)
    ...         y = x ** 3
    ...     dy_dx = inner.gradient(y, x)
    >>> float(outer.gradient(dy_dx, x))
    18.0
    """

    # -- watching --
    def watch(self, tensor):
        """Ensures `tensor` (a tensor, a variable, or a nest of them) is traced by this tape.

        >>> x = gt.constant(2.0)
        >>> with gt.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = gt.exp(x)
        >>> round(float(tape.gradient(y, x)), 4)
        7.3891
        """
        for t in nest.flatten(tensor):
            if not isinstance(t, (Tensor, Variable)):
                raise ValueError(
                    "Passed in object %r of type %r, not tf.Tensor or tf.Variable or ExtensionType."
                    % (t, type(t).__name__))
            if not t.dtype.is_floating:
                warnings.warn(
                    "The dtype of the watched tensor must be floating (e.g. gt.float32), got %r"
                    % (t.dtype,), stacklevel=2)
                continue
            self._watch(t)

    def watched_variables(self):
        """The variables this tape watched, in the order it first watched them.

        >>> v = gt.Variable(1.0, name="v")
        >>> with gt.GradientTape() as tape:
        ...     y = v * 2.0
        >>> [w.name for w in tape.watched_variables()]
        ['v:0']
        """
        return tuple(self._watched_variables())

    def stop_recording(self):
        """A context manager in which this tape records nothing.

        >>> x = gt.constant(2.0)
        >>> with gt.GradientTape() as tape:
        ...     tape.watch(x)
        ...     with tape.stop_recording():
        ...         y = x * x
        >>> print(tape.gradient(y, x))
        None
        """
        return _StopRecording(self)

    def reset(self):
        """Clears everything recorded so far and records afresh; only while the tape is
        recording (inside its block, not under stop_recording), as in TensorFlow.

        >>> x = gt.constant(2.0)
        >>> with gt.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = x * x
        ...     tape.reset()
        ...     tape.watch(x)
        ...     y = x * 5.0
        >>> float(tape.gradient(y, x))
        5.0
        """
        if not (self.active and self.recording):
            raise ValueError("Tape is not recording.")
        self._reset()
        self._release_custom_gradients()

    # -- Jacobians --
    def jacobian(self, target, sources, unconnected_gradients=UnconnectedGradients.NONE,
                 parallel_iterations=None, experimental_use_pfor=True, experimental_mode="auto"):
        """The full Jacobian of `target` with respect to each source: target.shape + source.shape.

        Beyond TensorFlow, it picks the cheaper direction: reverse mode costs one sweep per
        target element (batched, many per sweep), forward mode one per source element
        (replaying the tape with the ops' jvp rules). `experimental_mode="auto"` takes forward
        mode when the sources have fewer elements than the target (a tall Jacobian) and no
        custom gradient was recorded; "forward" or "reverse" forces one. The result is the same.

        >>> x = gt.constant([1.0, 2.0])
        >>> with gt.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = x * x
        >>> tape.jacobian(y, x).numpy()
        array([[2., 0.],
               [0., 4.]], dtype=float32)
        """
        mode = _mode(unconnected_gradients)
        _check_target(target)
        single = isinstance(sources, (Tensor, Variable))
        flat_sources = [sources] if single else nest.flatten(sources)
        _check_sources(flat_sources)
        try:
            jac = self._jacobian(target, flat_sources, mode, _direction(experimental_mode))
        finally:
            self._release_if_consumed()
        if isinstance(target, (Tensor, Variable)) and 0 in tuple(target.shape):
            # an empty target has an empty Jacobian, not an unconnected one (as TensorFlow)
            jac = [_core.zeros(list(target.shape) + list(s.shape), dtype=s.dtype) for s in flat_sources]
        return jac[0] if single else nest.pack_sequence_as(sources, jac)

    def batch_jacobian(self, target, source, unconnected_gradients=UnconnectedGradients.NONE,
                       parallel_iterations=None, experimental_use_pfor=True, experimental_mode="auto"):
        """Per-example Jacobians [B, y..., x...] of target [B, y...] wrt source [B, x...].

        `experimental_mode` chooses the direction as in `jacobian` (forward mode when a row of
        the source has fewer elements than a row of the target).

        >>> x = gt.constant([[1.0, 2.0], [3.0, 4.0]])
        >>> with gt.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = x * x
        >>> tape.batch_jacobian(y, x).shape
        TensorShape([2, 2, 2])
        """
        mode = _mode(unconnected_gradients)
        _check_target(target)
        _check_sources([source])
        for t in (target, source):
            if isinstance(t, (Tensor, Variable)) and len(t.shape) < 2:
                raise ValueError("Shape %s must have rank at least 2" % (tuple(t.shape),))
        try:
            return self._batch_jacobian(target, source, mode, _direction(experimental_mode))
        finally:
            self._release_if_consumed()

    def _release_if_consumed(self):
        # A non-persistent tape has freed its records: the custom gradients go with them.
        if not self.persistent:
            self._release_custom_gradients()


class _StopRecording:
    def __init__(self, tape):
        self._tape = tape

    def __enter__(self):
        # As TensorFlow: no recording at all (never entered, or consumed by a non-persistent
        # tape's gradient) is a RuntimeError; a recording that is not going on now (after the
        # block, or under another stop_recording) is a ValueError.
        if not self._tape._has_recording:
            raise RuntimeError("Trying to stop recording a tape which is not recording.")
        if not (self._tape.active and self._tape.recording):
            raise ValueError("Tape is not recording.")
        self._was = self._tape.recording
        self._tape.recording = False

    def __exit__(self, *exc):
        self._tape.recording = self._was
        return False
