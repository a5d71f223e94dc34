"""The dtypes beyond float32/float64/int32/int64/bool (docs/dtypes.md): int8, int16, uint8,
uint16, uint32, uint64, float16 and bfloat16.

Values against TensorFlow 2.21's answers (tests/reference/tf_dtypes.json, recorded by
tests/reference/make_dtypes.py from the cases of tests/reference/dtype_cases.py); the places
gradtape is more permissive than TensorFlow (kernels TF lacks) are listed, with numpy as the
reference there; gradients of float16/bfloat16 computations against the float32 ones rounded;
errors for mixed dtypes; round trips through NumPy and DLPack; wrap-around arithmetic."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import gradtape as gt

REF = pathlib.Path(__file__).resolve().parent / "reference"
sys.path.insert(0, str(REF))
import dtype_cases as C  # noqa: E402

TF = json.loads((REF / "tf_dtypes.json").read_text())["cases"]

ALL = ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
       "uint64", "bool"]
TF_ENUM = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int16": 5, "int8": 6, "int64": 9, "bool": 10,
           "bfloat16": 14, "uint16": 17, "float16": 19, "uint32": 22, "uint64": 23}

# Cases where TensorFlow has no kernel (an error) and gradtape computes a value: gradtape takes
# any integer dtype as indices and as a range's dtype, and tiles uint16.
GRADTAPE_MORE_PERMISSIVE = {
    "gather_indices/int8", "gather_indices/uint8", "gather_indices/uint16", "gather_indices/uint32",
    "gather_indices/uint64", "one_hot_indices/int16", "one_hot_indices/uint16", "one_hot_indices/uint32",
    "one_hot_indices/uint64", "range/int8", "range/uint16", "shape_ops/uint16",
}
# Where gradtape computes in float32 what TensorFlow rounds to half precision in between (the
# mean of a float16 tensor is its float32 sum divided, rounded once): compared loosely.
LOOSE = {"arith/float16", "arith/bfloat16", "grad/float16", "grad/bfloat16", "grad_matmul/float16",
         "grad_matmul/bfloat16"}


def test_every_case_is_recorded():
    assert set(TF) == set(C.CASES), "regenerate tf_dtypes.json (tests/reference/make_dtypes.py)"


def _half_ulp(dtype, v):
    # the spacing of float16 / bfloat16 values near v
    v = abs(v)
    if dtype == "float16":
        return max(2.0 ** (np.floor(np.log2(v)) - 10), 2.0 ** -24) if v else 2.0 ** -24
    return 2.0 ** (np.floor(np.log2(v)) - 7) if v else 1e-38


def _same(ours, theirs, name, what=""):
    if theirs is None:
        assert ours is None, (name, what)
        return
    assert ours is not None, (name, what)
    assert ours["dtype"] == theirs["dtype"], (name, what, ours["dtype"], theirs["dtype"])
    assert ours["shape"] == theirs["shape"], (name, what)
    if name in LOOSE and ours["dtype"] in ("float16", "bfloat16"):
        for a, b in zip(ours["values"], theirs["values"]):
            if isinstance(b, str) or isinstance(a, str):
                assert a == b, (name, what)
                continue
            # TF rounds some intermediate results inside its kernels (a matmul's gradient, a
            # mean's sum) where gradtape rounds once per op: a few ulps apart, more through
            # the chain of a gradient
            rel = 1e-2 if name.startswith("grad") else 1e-3
            assert abs(a - b) <= 2 * _half_ulp(ours["dtype"], b) + rel * abs(b), (name, what, a, b)
        return
    assert ours["values"] == theirs["values"], (name, what, ours["values"], theirs["values"])


@pytest.mark.parametrize("name", sorted(C.CASES))
def test_matches_tensorflow(name):
    ours, theirs = C.run_case(gt, name), TF[name]
    if name in GRADTAPE_MORE_PERMISSIVE:
        assert "error" in theirs, "TensorFlow now has this kernel: compare the values (%s)" % name
        assert not (isinstance(ours, dict) and "error" in ours), ours
        return
    if isinstance(theirs, dict) and "error" in theirs:
        assert ours == theirs, (name, ours)
        return
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), (name, ours)
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _same(a, b, name, "result %d" % i)
    else:
        _same(ours, theirs, name)


def test_permissive_cases_values():
    # where TF has no kernel, gradtape's answers are NumPy's
    np.testing.assert_array_equal(gt.gather(gt.constant([10.0, 20.0, 30.0]), gt.constant([2, 0], gt.uint8)).numpy(),
                                  [30.0, 10.0])
    np.testing.assert_array_equal(gt.one_hot(gt.constant([0, 2, 5], gt.uint16), 3).numpy(), np.eye(3, dtype=np.float32)[
        [0, 2]].tolist() + [[0, 0, 0]])
    r = gt.range(-3, 100, 7, dtype=gt.int8)
    assert r.dtype == gt.int8
    np.testing.assert_array_equal(r.numpy(), np.arange(-3, 100, 7, dtype=np.int8))
    np.testing.assert_array_equal(gt.tile(gt.constant([1, 2], gt.uint16), [2]).numpy(), [1, 2, 1, 2])


# ---- the dtype objects ----

@pytest.mark.parametrize("name", ALL)
def test_dtype_objects(name):
    d = getattr(gt, name)
    assert d.name == name and str(d) == "<dtype: '%s'>" % name and repr(d) == "gt." + name
    assert gt.as_dtype(name) == d and gt.DType(TF_ENUM[name]) == d and d.as_datatype_enum == TF_ENUM[name]
    assert gt.as_dtype(TF_ENUM[name]) == d
    if name != "bfloat16":
        nd = np.dtype(d.as_numpy_dtype)
        assert nd.itemsize == d.size and gt.as_dtype(nd) == d
    assert d.is_floating == (name in ("float16", "bfloat16", "float32", "float64"))
    assert d.is_integer == (name[:3] in ("int", "uin"))
    assert d.is_unsigned == (name.startswith("uint") or name == "bool")
    if d.is_integer:
        info = np.iinfo(np.dtype(d.as_numpy_dtype))
        assert (d.min, d.max) == (info.min, info.max) and d.limits == (info.min, info.max)
    elif name == "float16":
        assert (d.min, d.max) == (-65504.0, 65504.0)
    elif name == "bfloat16":
        assert d.max == pytest.approx(3.38953e38, rel=1e-5) and d.min == -d.max


def test_half_alias_and_complex_is_refused():
    assert gt.half is gt.float16
    with pytest.raises(TypeError, match="complex"):
        gt.constant(np.array([1 + 2j]))
    with pytest.raises(TypeError, match="complex"):
        gt.as_dtype("complex64")
    with pytest.raises(TypeError, match="complex"):
        gt.as_dtype(np.complex128)
    with pytest.raises(TypeError):
        gt.DType(8)  # TF's complex64


# ---- NumPy and DLPack ----

@pytest.mark.parametrize("name", [n for n in ALL if n != "bfloat16"])
def test_numpy_round_trip(name):
    nd = np.dtype(getattr(gt, name).as_numpy_dtype)
    a = (np.arange(12) % 7).astype(nd).reshape(3, 4)
    if name.startswith("uint"):
        a[0, 0] = np.iinfo(nd).max
    t = gt.constant(a)
    assert t.dtype == getattr(gt, name)
    v = t.numpy()
    assert v.dtype == nd
    np.testing.assert_array_equal(v, a)
    assert np.shares_memory(v, t.numpy())  # zero-copy views of one buffer
    np.testing.assert_array_equal(np.asarray(gt.transpose(t)), a.T)


def test_bfloat16_numpy_with_ml_dtypes():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    a = np.array([1.0, 0.1, -3.5, 1e38], dtype=ml_dtypes.bfloat16)
    t = gt.constant(a)
    assert t.dtype == gt.bfloat16
    v = t.numpy()
    assert v.dtype == np.dtype(ml_dtypes.bfloat16)
    np.testing.assert_array_equal(v.astype(np.float32), a.astype(np.float32))
    assert gt.bfloat16.as_numpy_dtype is ml_dtypes.bfloat16
    # float32 values to bfloat16: rounded to nearest even, as ml_dtypes
    x = np.array([1.00390625, 1.01171875, 0.1, 70000.5, 3.3895e38, np.inf, -0.0], np.float32)
    np.testing.assert_array_equal(gt.constant(x, gt.bfloat16).numpy().astype(np.float32),
                                  x.astype(ml_dtypes.bfloat16).astype(np.float32))


def test_float16_rounding_matches_numpy():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(5000).astype(np.float32) * 10.0 ** rng.integers(-9, 6, 5000),
                        np.array([65504, 65519.99, 65520, 1e9, 2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -26, 2.0 ** -14,
                                  np.nan, np.inf, -np.inf, -0.0], np.float32)]).astype(np.float32)
    ours = gt.cast(gt.constant(x), gt.float16).numpy()
    theirs = x.astype(np.float16)
    np.testing.assert_array_equal(ours.view(np.uint16)[~np.isnan(theirs)], theirs.view(np.uint16)[~np.isnan(theirs)])
    assert np.isnan(ours[np.isnan(theirs)]).all()
    np.testing.assert_array_equal(gt.cast(gt.constant(theirs), gt.float32).numpy(), theirs.astype(np.float32))


def test_dlpack_round_trip():
    for name in ["int8", "int16", "uint8", "uint16", "uint32", "uint64", "float16"]:
        nd = np.dtype(getattr(gt, name).as_numpy_dtype)
        a = np.arange(6).astype(nd)
        t = gt.experimental.dlpack.from_dlpack(a)
        assert t.dtype == getattr(gt, name)
        np.testing.assert_array_equal(np.from_dlpack(t), a)


def test_python_values_take_the_tensor_dtype():
    u = gt.constant([200, 100], gt.uint8)
    assert (u + 100).dtype == gt.uint8
    np.testing.assert_array_equal((u + 100).numpy(), [44, 200])  # wraps
    h = gt.constant([1.0, 2.0], gt.float16)
    assert (h * 3).dtype == gt.float16 and (0.5 - h).dtype == gt.float16
    with pytest.raises(TypeError):
        u + 1.5
    assert gt.constant(2**64 - 1, gt.uint64).numpy() == np.uint64(2**64 - 1)
    assert int(gt.constant(2**64 - 1, gt.uint64)) == 2**64 - 1
    assert int(gt.constant(-5, gt.int8)) == -5 and float(gt.constant(0.1, gt.float16)) == float(np.float16(0.1))
    assert [1, 2, 3][gt.constant(2, gt.uint8)] == 3
    # a Python bool too, as TensorFlow 2.21 (x * True is x * 1.0; it was an InvalidArgumentError)
    x = gt.constant([1.5, -2.0], gt.float64)
    for got in (x * True, True * x, gt.multiply(x, True), x + False):
        assert got.dtype == gt.float64
        np.testing.assert_array_equal(got.numpy(), [1.5, -2.0])
    assert (gt.constant(3) * True).dtype == gt.int32 and int(gt.constant(3) * False) == 0
    assert gt.logical_and(gt.constant([True, False]), True).dtype == gt.bool
    assert gt.constant(True).dtype == gt.bool


# ---- errors: no implicit promotion ----

@pytest.mark.parametrize("a,b", [("uint8", "int8"), ("int16", "int32"), ("float16", "float32"),
                                 ("bfloat16", "float16"), ("float16", "bfloat16"), ("uint64", "int64"),
                                 ("float16", "float64")])
def test_mixed_dtypes_are_invalid(a, b):
    x = gt.ones([2], getattr(gt, a))
    y = gt.ones([2], getattr(gt, b))
    for op in (gt.add, gt.multiply, gt.maximum, gt.less, gt.math.floordiv):
        with pytest.raises(gt.errors.InvalidArgumentError):
            op(x, y)
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.concat([x, y], 0)


def test_integer_ops_are_never_differentiable():
    x = gt.constant([1, 2, 3], gt.uint8)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = gt.reduce_sum(x * x)
    with pytest.warns(UserWarning):
        assert tape.gradient(y, x) is None


# ---- float16 / bfloat16 gradients against float32's, rounded ----

def _f(lib, x):
    return lib.reduce_sum(lib.tanh(x) * x + lib.exp(-x * x) + lib.nn.softplus(x) * 0.5)


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_half_gradients_are_rounded_float32_gradients(name):
    d = getattr(gt, name)
    x32 = gt.constant(np.linspace(-2, 2, 9).astype(np.float32))
    x = gt.cast(x32, d)
    x32 = gt.cast(x, gt.float32)  # the same (representable) points
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = _f(gt, x)
    g = tape.gradient(y, x)
    assert y.dtype == d and g.dtype == d
    with gt.GradientTape() as tape:
        tape.watch(x32)
        y32 = _f(gt, x32)
    g32 = tape.gradient(y32, x32)
    # each op rounds its result to the dtype: within a few ulps of float32's answer
    ulp = 2.0 ** -10 if name == "float16" else 2.0 ** -7
    np.testing.assert_allclose(gt.cast(g, gt.float32).numpy(), g32.numpy(), rtol=8 * ulp, atol=8 * ulp)
    np.testing.assert_allclose(float(gt.cast(y, gt.float32)), float(y32), rtol=8 * ulp)


def test_half_gradient_sums_and_variables():
    x = gt.constant([0.5, 1.5], gt.float16)
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x + x  # x used three times: the gradients are summed (in float16)
        z = gt.reduce_sum(y)
    g = tape.gradient(z, x)
    assert g.dtype == gt.float16
    np.testing.assert_array_equal(g.numpy(), np.array([2.0, 4.0], np.float16))
    og = tape.gradient(y, x, output_gradients=gt.constant([1.0, 0.5], gt.float16))
    np.testing.assert_array_equal(og.numpy(), np.array([2.0, 2.0], np.float16))
    v = gt.Variable(gt.constant([1.0, 2.0], gt.bfloat16))
    with gt.GradientTape() as tape:
        loss = gt.reduce_sum(v * v)
    gv = tape.gradient(loss, v)
    assert gv.dtype == gt.bfloat16
    np.testing.assert_array_equal(gt.cast(gv, gt.float32).numpy(), [2.0, 4.0])
    v.assign_sub(gv * 0.5)
    np.testing.assert_array_equal(gt.cast(v, gt.float32).numpy(), [0.0, 0.0])


def test_half_second_derivative_and_jacobian():
    x = gt.constant([0.5, 2.0], gt.float16)
    with gt.GradientTape() as outer:
        outer.watch(x)
        with gt.GradientTape() as inner:
            inner.watch(x)
            y = gt.reduce_sum(x * x * x)
        g = inner.gradient(y, x)
    h = outer.gradient(g, x)
    assert h.dtype == gt.float16
    np.testing.assert_array_equal(h.numpy(), np.array([3.0, 12.0], np.float16))
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = gt.sin(x)
    j = tape.jacobian(y, x)
    assert j.dtype == gt.float16 and j.shape == (2, 2)


def test_half_in_a_traced_function():
    @gt.function
    def f(x):
        return gt.exp(x) * 2.0 + x

    x = gt.constant([0.5, -1.0], gt.float16)
    r = f(x)
    assert r.dtype == gt.float16
    np.testing.assert_array_equal(r.numpy(), (gt.exp(x) * 2.0 + x).numpy())
    assert f(gt.constant([1.0], gt.float16)).dtype == gt.float16


def test_half_random_and_creation():
    g = gt.random.Generator.from_seed(1)
    for d in (gt.float16, gt.bfloat16):
        assert g.normal([3], dtype=d).dtype == d and g.uniform([3], dtype=d).dtype == d
        assert gt.zeros_like(gt.ones([2], d)).dtype == d and gt.eye(2, dtype=d).dtype == d
        assert gt.one_hot([1], 2, dtype=d).dtype == d


# ---- integer arithmetic wraps; division floors; casts are defined everywhere ----

def test_wrap_around_matches_numpy():
    rng = np.random.default_rng(1)
    for name in C.INTS:
        nd = np.dtype(name)
        info = np.iinfo(nd)
        a = rng.integers(info.min, info.max, 200, dtype=nd, endpoint=True)
        b = rng.integers(info.min, info.max, 200, dtype=nd, endpoint=True)
        ta, tb = gt.constant(a), gt.constant(b)
        with np.errstate(over="ignore"):
            np.testing.assert_array_equal((ta + tb).numpy(), a + b, err_msg=name)
            np.testing.assert_array_equal((ta - tb).numpy(), a - b, err_msg=name)
            np.testing.assert_array_equal((ta * tb).numpy(), a * b, err_msg=name)
            np.testing.assert_array_equal(gt.reduce_sum(ta).numpy(), a.sum(dtype=nd), err_msg=name)
        nz = np.where(b == 0, nd.type(1), b)
        if info.min < 0:  # (NumPy's MIN // -1 overflows; TF and gradtape wrap it)
            nz = np.where((nz == -1) & (a == info.min), nd.type(1), nz)
        np.testing.assert_array_equal(gt.math.floordiv(ta, gt.constant(nz)).numpy(), a // nz, err_msg=name)
        np.testing.assert_array_equal(gt.math.floormod(ta, gt.constant(nz)).numpy(), a % nz, err_msg=name)


def test_float_to_int_cast_is_defined_everywhere():
    # values C++ leaves undefined: gradtape follows docs/dtypes.md (TensorFlow's x86 answers)
    x = gt.constant([np.nan, np.inf, -np.inf, 1e30, -1e30, 2.0 ** 31, -(2.0 ** 31) - 1e3], gt.float32)
    assert gt.cast(x, gt.int32).numpy().tolist() == [-2**31] * 7
    assert gt.cast(x, gt.int8).numpy().tolist() == [0] * 7
    assert gt.cast(x, gt.int64).numpy().tolist() == [-2**63] * 5 + [2**31, -(2**31) - 1024]
    assert gt.cast(gt.constant([np.nan], gt.float64), gt.uint64).numpy().tolist() == [2**63]


def test_bfloat16_without_ml_dtypes():
    # only .numpy() (and np.asarray) of a bfloat16 tensor needs ml_dtypes; printing, casts and
    # arithmetic do not
    code = """
import sys
sys.modules["ml_dtypes"] = None  # (not importable)
import numpy as np
import gradtape as gt
x = gt.constant([1.5, 0.1], gt.bfloat16)
y = gt.constant(np.array([2.0, 3.0]), dtype=gt.bfloat16) * x
print(repr(y), str(y))
try:
    y.numpy()
except ImportError as e:
    print("ImportError", "ml_dtypes" in str(e))
print(gt.cast(y, gt.float32).numpy().tolist())
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert "dtype=bfloat16" in lines[0] and "3" in lines[0]
    assert lines[1] == "ImportError True"
    assert lines[2] == "[3.0, 0.30078125]"


@pytest.mark.parametrize("name", ["uint8", "uint16", "uint32", "uint64"])
def test_unsigned_division_by_the_largest_value(name):
    # (an unsigned divisor equal to the type's max is not -1: no "MIN / -1" special case)
    d = getattr(gt, name)
    a, b = gt.constant([5, d.max, 0], d), gt.constant([d.max, d.max, 7], d)
    assert gt.math.floordiv(a, b).numpy().tolist() == [0, 1, 0]
    assert gt.math.floormod(a, b).numpy().tolist() == [5, 0, 0]
    assert gt.truncatediv(a, b).numpy().tolist() == [0, 1, 0]
    assert gt.truncatemod(a, b).numpy().tolist() == [5, 0, 0]


def test_signed_truncating_division():
    a, b = gt.constant([-7, 7, -128, -128], gt.int8), gt.constant([2, -2, -1, 1], gt.int8)
    assert gt.truncatediv(a, b).numpy().tolist() == [-3, -3, -128, -128]
    assert gt.truncatemod(a, b).numpy().tolist() == [-1, 1, 0, 0]


def test_optimizers_refuse_half_variables_clearly():
    v = gt.Variable(gt.constant([1.0, 2.0], gt.float16))
    with pytest.raises(gt.errors.InvalidArgumentError, match="float16 or bfloat16 variables"):
        gt.optimizers.SGD(0.1).apply_gradients([(gt.constant([1.0, 1.0], gt.float16), v)])
