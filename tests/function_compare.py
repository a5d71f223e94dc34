"""What the gt.function tests that compare runs bit for bit share (test_function_plans.py,
test_function_scalar_code.py): a switch of the engine turned off for a block, results as NumPy,
and the bit-for-bit comparison."""
import numpy as np


def switched_off(set_enabled):
    """A context that calls set_enabled(False) on entry and set_enabled(True) on exit
    (_core._set_gradient_plans, _core._set_scalar_code)."""
    class Off:
        def __enter__(self):
            set_enabled(False)

        def __exit__(self, *exc):
            set_enabled(True)
    return Off()


def as_numpy(result):
    if isinstance(result, (list, tuple)):
        return [as_numpy(r) for r in result]
    return None if result is None else result.numpy()


def assert_same(a, b):
    """Bit for bit, structure and None included."""
    if isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif a is None:
        assert b is None
    else:
        assert a.dtype == b.dtype and a.shape == b.shape, (a, b)
        if a.tobytes() != b.tobytes():
            np.testing.assert_array_equal(a, b)
            raise AssertionError("equal values, other bits (a signed zero or a NaN payload): %r %r" % (a, b))
