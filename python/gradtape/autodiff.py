"""gradtape.autodiff: forward mode (TensorFlow's tf.autodiff) and Hessian-vector products.

`ForwardAccumulator` is TensorFlow's: give it primals and their tangents, run ops inside its
`with` block, and `jvp(y)` is the Jacobian-vector product of y along the tangents, computed
alongside y in one forward pass (the C++ core runs each op's jvp rule as the op runs). It
nests with `GradientTape` both ways (see docs/forward-mode.md):

- a tape around an accumulator differentiates a jvp (reverse over forward);
- a tape inside an accumulator: its `gradient`, computed inside the accumulator, has a tangent,
  the Hessian-vector product (forward over reverse, what `hvp` does).

`GradientTape` is the same class as `gt.GradientTape` (TensorFlow's alias).
"""
from . import _core
from . import nest
from ._core import Tensor, Variable
from .tape import GradientTape, UnconnectedGradients, _mode

__all__ = ["ForwardAccumulator", "GradientTape", "hvp"]


class ForwardAccumulator:
    """Computes Jacobian-vector products with forward-mode autodiff.

    `primals` is a tensor, a variable or a nest of them; `tangents` has the same structure,
    each of its primal's dtype and shape. Ops run inside the `with` block on values that
    depend on the primals carry tangents; `jvp(y)` returns y's tangent (J v), or None where y
    does not depend on the primals (or was computed outside the block). Integer primals carry
    no tangent, as in TensorFlow. Beyond TensorFlow, a tangent whose shape differs from its
    primal's is an error here (TensorFlow fails later, or broadcasts).

    >>> x = gt.constant([1.0, 2.0])
    >>> with gt.autodiff.ForwardAccumulator(x, gt.constant([1.0, 0.0])) as acc:
    ...     y = gt.reduce_sum(x ** 3)
    >>> acc.jvp(y)
    <gt.Tensor: shape=(), dtype=float32, numpy=3.0>

    Forward over reverse gives a Hessian-vector product:

    >>> with gt.autodiff.ForwardAccumulator(x, gt.constant([1.0, 0.0])) as acc:
    ...     with gt.GradientTape() as tape:
    ...         tape.watch(x)
    ...         y = gt.reduce_sum(x ** 3)
    ...     g = tape.gradient(y, x)
    >>> acc.jvp(g).numpy()
    array([6., 0.], dtype=float32)
    """

    def __init__(self, primals, tangents):
        try:
            nest.assert_same_structure(primals, tangents, check_types=False)
        except ValueError:
            raise ValueError("ForwardAccumulator: primals and tangents do not have the same nested structure: "
                             "%r and %r" % (primals, tangents)) from None
        flat_primals, flat_tangents = nest.flatten(primals), nest.flatten(tangents)
        self._acc = _core._ForwardAccumulator()
        for p, t in zip(flat_primals, flat_tangents):
            if not isinstance(p, (Tensor, Variable)):
                raise TypeError("ForwardAccumulator: primals must be tensors or variables, got %s"
                                % type(p).__name__)
            if t is None:
                raise ValueError("Attempt to convert a value (None) with an unsupported type "
                                 "(<class 'NoneType'>) to a Tensor.")
            if isinstance(t, (Tensor, Variable)) and t.dtype != p.dtype:
                raise ValueError("Tensor conversion requested dtype %s for Tensor with dtype %s: a tangent "
                                 "must have its primal's dtype" % (p.dtype.name, t.dtype.name))
            self._acc._watch(p, t)

    def __enter__(self):
        self._acc._push()
        return self

    def __exit__(self, exc_type, exc, tb):
        self._acc._pop()
        return False

    def jvp(self, primals, unconnected_gradients=UnconnectedGradients.NONE):
        """The tangent of each tensor in `primals` (a tensor, a variable or a nest).

        `unconnected_gradients` says what a tensor that does not depend on the primals gets:
        None ("none", TensorFlow's default), zeros ("zero"), or (beyond TensorFlow) an
        UnconnectedGradientsError ("error").

        >>> x = gt.constant(2.0)
        >>> with gt.autodiff.ForwardAccumulator(x, gt.constant(1.0)) as acc:
        ...     y, c = x * x, gt.constant(5.0) * 2.0
        >>> acc.jvp({"y": y, "c": c}, unconnected_gradients="zero")
        {'y': <gt.Tensor: shape=(), dtype=float32, numpy=4.0>, 'c': <gt.Tensor: shape=(), dtype=float32, numpy=0.0>}
        """
        mode = _mode(unconnected_gradients)

        def one(t):
            if not isinstance(t, (Tensor, Variable)):
                t = _core.convert_to_tensor(t)
            tangent = self._acc._jvp(t)
            if tangent is None and mode == 1:
                return _core.zeros_like(t)
            if tangent is None and mode == 2:
                raise _core.UnconnectedGradientsError(
                    "ForwardAccumulator.jvp: the tensor does not depend on the accumulator's primals (or "
                    "was computed outside its `with` block)")
            return tangent

        return nest.map_structure(one, primals)


def hvp(f, primals, tangents):
    """The Hessian-vector product H v of the scalar f(*primals) along `tangents`.

    Beyond TensorFlow (JAX calls it `jvp(grad(f))`): forward over reverse, one gradient's
    pass with tangents riding along, about the cost of two gradients. `primals` is a tensor or
    a list/tuple of tensors (f's positional arguments) or variables; `tangents` matches it; the
    result has its structure, zeros where f does not depend on a primal.

    >>> f = lambda x: gt.reduce_sum(x ** 3)
    >>> gt.autodiff.hvp(f, gt.constant([1.0, 2.0]), gt.constant([1.0, 1.0])).numpy()
    array([ 6., 12.], dtype=float32)
    """
    args = list(primals) if isinstance(primals, (list, tuple)) else [primals]
    with ForwardAccumulator(primals, tangents) as acc:
        with GradientTape() as tape:
            tape.watch(args)
            y = f(*args)
        grads = tape.gradient(y, args, unconnected_gradients="zero")
    out = [acc.jvp(g, unconnected_gradients="zero") for g in grads]
    if isinstance(primals, (list, tuple)):
        return type(primals)(out)
    return out[0]
