"""Aliasing between NumPy and gradtape.

- A NumPy array passed in (gt.constant, gt.convert_to_tensor, gt.Variable, an op operand,
  assign/assign_add/assign_sub, output_gradients) and mutated by the caller afterwards never
  changes a tensor, a recorded value, a gradient or a variable.
- Arrays handed out (`.numpy()`, `np.asarray(t)`, `np.array(t, copy=False)`, views of those)
  are read-only and cannot be made writable.
- A variable's `.numpy()` view (or `read_value()` tensor, or a value a recorded op saved)
  does not change when the variable is assigned later: copy on write. When nothing holds the
  value, assign writes in place.
"""
import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

import gradtape as gt


def layouts(base):
    """The same values in several NumPy layouts (all of which must be copied in)."""
    base = np.ascontiguousarray(base)
    out = {"contiguous": base.copy(), "fortran": np.asfortranarray(base.copy())}
    if base.ndim >= 1:
        rev = base[::-1].copy()
        out["reversed_view"] = rev[::-1]
        wide = np.repeat(base, 2, axis=-1)
        out["strided_view"] = wide[..., ::2]
    return out


def fresh(dtype=np.float64, shape=(3, 4)):
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape).astype(dtype) + 1


MUTATIONS = {
    "fill": lambda a: a.fill(99),
    "setitem": lambda a: a.__setitem__((Ellipsis,), -7),
    "inplace_op": lambda a: a.__imul__(3),
}


# ---------------------------------------------------------------------------------------------
# arrays passed in are copied
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mutate", sorted(MUTATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
@pytest.mark.parametrize("entry", ["constant", "convert_to_tensor", "constant_with_dtype", "Variable",
                                   "Variable_with_dtype"])
def test_array_passed_in_then_mutated_does_not_change_the_tensor(entry, dtype, mutate):
    for layout, arr in layouts(fresh(dtype)).items():
        expected = np.array(arr, copy=True)
        make = {
            "constant": lambda a: gt.constant(a),
            "convert_to_tensor": lambda a: gt.convert_to_tensor(a),
            "constant_with_dtype": lambda a: gt.constant(a, dtype=gt.float64),
            "Variable": lambda a: gt.Variable(a),
            "Variable_with_dtype": lambda a: gt.Variable(a, dtype=gt.float64),
        }[entry]
        t = make(arr)
        MUTATIONS[mutate](arr)
        assert not np.array_equal(arr, expected), "the mutation did nothing (test bug)"
        np.testing.assert_array_equal(t.numpy(), expected.astype(t.numpy().dtype),
                                      err_msg="%s of a %s array changed with the array" % (entry, layout))


def test_zero_d_and_bool_arrays_are_copied():
    a = np.array(2.5)
    t = gt.constant(a)
    a[...] = 0
    assert float(t) == 2.5
    m = np.array([True, False, True])
    tm = gt.constant(m)
    m[:] = False
    np.testing.assert_array_equal(tm.numpy(), [True, False, True])


def test_array_operand_of_a_recorded_op_is_a_snapshot():
    """y = x * a with `a` a NumPy array: mutating `a` afterwards changes neither y nor dy/dx."""
    for layout, a in layouts(fresh(np.float64, (2, 3))).items():
        a0 = np.array(a, copy=True)
        x = gt.constant(np.full((2, 3), 0.5))
        with gt.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = x * a          # operator with a NumPy operand
            z = gt.add(a, x)   # op with a NumPy first operand
            w = gt.where(x > 0.0, a, x)
            zz = gt.reduce_sum(z * z)
        a[...] = -1.0
        np.testing.assert_array_equal(y.numpy(), 0.5 * a0, err_msg=layout)
        np.testing.assert_array_equal(z.numpy(), a0 + 0.5, err_msg=layout)
        np.testing.assert_array_equal(w.numpy(), a0, err_msg=layout)
        np.testing.assert_array_equal(tape.gradient(y, x).numpy(), a0, err_msg=layout)
        np.testing.assert_array_equal(tape.gradient(zz, x).numpy(), 2 * (a0 + 0.5), err_msg=layout)


def test_output_gradients_array_is_copied():
    x = gt.constant(np.array([1.0, 2.0, 3.0]))
    seed = np.array([1.0, 10.0, 100.0])
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * 2.0
    g = tape.gradient(y, x, output_gradients=seed)
    seed[:] = 0.0
    np.testing.assert_array_equal(g.numpy(), [2.0, 20.0, 200.0])


@pytest.mark.parametrize("method", ["assign", "assign_add", "assign_sub"])
def test_array_passed_to_assign_then_mutated_does_not_change_the_variable(method):
    for layout, arr in layouts(fresh(np.float64, (2, 2))).items():
        v = gt.Variable(np.full((2, 2), 10.0))
        a0 = np.array(arr, copy=True)
        getattr(v, method)(arr)
        expected = {"assign": a0, "assign_add": 10.0 + a0, "assign_sub": 10.0 - a0}[method]
        arr[...] = 12345.0
        np.testing.assert_array_equal(v.numpy(), expected, err_msg=layout)
        np.testing.assert_array_equal(v.read_value().numpy(), expected, err_msg=layout)


def test_assign_from_the_variables_own_view():
    v = gt.Variable(np.array([1.0, 2.0, 3.0]))
    view = v.numpy()
    v.assign_add(view)          # reads the old value while writing the new one
    np.testing.assert_array_equal(v.numpy(), [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(view, [1.0, 2.0, 3.0])
    v.assign(v)
    v.assign_sub(v.read_value())
    np.testing.assert_array_equal(v.numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(view, [1.0, 2.0, 3.0])


def test_non_native_byte_order_arrays_are_read_by_value():
    """NumPy arrays keep their dtype (API.md): a big-endian float64 array is float64 with the
    same values, not its bytes reinterpreted."""
    for dt in [">f8", ">f4", ">i4", ">i8"]:
        a = np.array([1, 2, -3], dtype=dt)
        t = gt.constant(a)
        assert t.numpy().tolist() == [1, 2, -3], (dt, t.numpy())
        assert gt.Variable(a).numpy().tolist() == [1, 2, -3], dt
        x = gt.constant(np.zeros(3, dtype=a.dtype.newbyteorder("=")))
        assert (x + a).numpy().tolist() == [1, 2, -3], dt


# ---------------------------------------------------------------------------------------------
# arrays handed out are read-only for good
# ---------------------------------------------------------------------------------------------

def handed_out(t):
    """Every way to get a zero-copy NumPy array of a tensor or variable."""
    arrays = {"numpy()": t.numpy(), "np.asarray": np.asarray(t), "np.array(copy=False)": np.array(t, copy=False),
              "__array__()": t.__array__()}
    a = t.numpy()
    if a.ndim >= 1:
        arrays["slice view"] = a[::-1]
        arrays["reshape view"] = a.reshape(-1)
        arrays["transpose view"] = a.T
        arrays["dtype view"] = a.view(np.uint8)
        arrays["as_strided"] = as_strided(a, shape=a.shape, strides=a.strides, writeable=False)
        arrays["frombuffer"] = np.frombuffer(a, dtype=np.uint8)
    return arrays


def _sources():
    yield "constant", gt.constant(np.arange(6.0).reshape(2, 3))
    yield "scalar", gt.constant(3.0)
    yield "int", gt.constant(np.arange(4, dtype=np.int64))
    yield "bool", gt.constant(np.array([True, False]))
    yield "op result", gt.exp(gt.constant(np.ones((2, 2))))
    yield "variable", gt.Variable(np.arange(4.0))
    yield "reshape of variable", gt.reshape(gt.Variable(np.arange(4.0)), [2, 2])


@pytest.mark.parametrize("name", [n for n, _ in _sources()])
def test_handed_out_arrays_are_read_only_and_stay_so(name):
    t = dict(_sources())[name]
    before = np.array(t.numpy(), copy=True)
    for how, a in handed_out(t).items():
        assert not a.flags.writeable, "%s of %s is writable" % (how, name)
        with pytest.raises(ValueError):
            a[...] = 0
        with pytest.raises(ValueError):
            a.setflags(write=True)
        with pytest.raises(ValueError):
            a.flags.writeable = True
        if a.ndim >= 1 and a.size:
            with pytest.raises(ValueError):
                a[0] = 1
            with pytest.raises(ValueError):
                np.add(a, 1, out=a)
            with pytest.raises(ValueError):
                as_strided(a, writeable=True)[...] = 0
        assert memoryview(a).readonly if a.flags.c_contiguous else True
    np.testing.assert_array_equal(t.numpy(), before)


def test_copies_handed_out_are_writable_and_independent():
    t = gt.constant(np.arange(4.0))
    for how, c in {"np.array": np.array(t), "copy=True": t.__array__(copy=True), "np.copy": np.copy(t),
                   "dtype": t.__array__(np.float32)}.items():
        assert c.flags.writeable, how
        c[...] = -1
        np.testing.assert_array_equal(t.numpy(), np.arange(4.0), err_msg=how)


def test_handed_out_array_keeps_its_data_after_the_tensor_is_gone():
    t = gt.exp(gt.constant(np.zeros(1000)))
    a = t.numpy()
    del t
    import gc
    gc.collect()
    junk = [gt.constant(np.full(1000, 7.0)) for _ in range(50)]  # would reuse a freed buffer
    np.testing.assert_array_equal(a, np.ones(1000))
    del junk


# ---------------------------------------------------------------------------------------------
# variables: copy on write, in place when nothing else holds the value
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,value,expected", [
    ("assign", [7.0, 8.0, 9.0], [7.0, 8.0, 9.0]),
    ("assign_add", [1.0, 1.0, 1.0], [1.0, 2.0, 3.0]),
    ("assign_sub", [1.0, 1.0, 1.0], [-1.0, 0.0, 1.0]),
])
def test_variable_numpy_view_does_not_change_after_assign(method, value, expected):
    v = gt.Variable(np.array([0.0, 1.0, 2.0]))
    views = [v.numpy(), np.asarray(v), v.read_value().numpy()]
    held = [v.read_value(), v.value(), gt.identity(v), gt.reshape(v, [3, 1]), gt.constant(v)]
    getattr(v, method)(np.array(value))
    for a in views:
        np.testing.assert_array_equal(a, [0.0, 1.0, 2.0])
    for t in held:
        np.testing.assert_array_equal(np.reshape(t.numpy(), -1), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(v.numpy(), expected)
    # and again, now that the new value is held by a view too
    second = v.numpy()
    getattr(v, method)(np.array(value))
    np.testing.assert_array_equal(second, expected)


def test_recorded_variable_value_is_a_snapshot():
    """y = v * v; v.assign(10.) still gives dy/dv = 2 v_old (API.md)."""
    v = gt.Variable(np.float64(3.0))
    with gt.GradientTape() as tape:
        y = v * v
    v.assign(10.0)
    v.assign_add(1.0)
    assert float(y) == 9.0
    assert float(tape.gradient(y, v)) == 6.0


def test_assign_writes_in_place_when_nothing_holds_the_value():
    v = gt.Variable(np.zeros(1000))

    def address():
        a = v.numpy()
        p = a.__array_interface__["data"][0]
        del a
        return p

    p0 = address()
    for k in range(5):
        v.assign(np.full(1000, float(k)))
        v.assign_add(np.ones(1000))
        assert address() == p0, "assign reallocated although nothing held the value"
    np.testing.assert_array_equal(v.numpy(), np.full(1000, 5.0))
    held = v.numpy()
    v.assign(np.zeros(1000))
    assert held.__array_interface__["data"][0] == p0
    assert address() != p0, "assign wrote into a buffer a NumPy view still shows"
    np.testing.assert_array_equal(held, np.full(1000, 5.0))
