"""The dtype cases shared by tests/test_dtypes.py and make_dtypes.py: each case is a function of
a library (TensorFlow or gradtape, which share these names) returning a tensor, a list of
tensors, or raising. `run_case(lib, name)` gives a JSON-able answer: {"dtype", "shape",
"values"} per tensor (floats as Python floats, NaN and inf as strings), or {"error": class name}.

The cases cover the integer dtypes (int8, int16, uint8, uint16, uint32, uint64, with int32 and
int64 beside them) and float16 / bfloat16: creation, casts both ways (rounding, truncation,
wrap-around), elementwise arithmetic with wrap-around, floor division and modulo, comparisons,
reductions, the shape ops, indices of the small types, and float16 / bfloat16 values and
gradients (computed in float32 and rounded, as TensorFlow on CPU).
"""
import math

import numpy as np

INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
HALVES = ["float16", "bfloat16"]

# values each integer dtype holds, chosen to wrap when added, multiplied or negated
INT_A = {
    "int8": [100, -128, 127, -7, 7, 0], "int16": [30000, -32768, 32767, -7, 7, 0],
    "int32": [2**31 - 1, -2**31, 5, -7, 7, 0], "int64": [2**63 - 1, -2**63, 5, -7, 7, 0],
    "uint8": [200, 255, 0, 7, 13, 1], "uint16": [60000, 65535, 0, 7, 13, 1],
    "uint32": [4000000000, 4294967295, 0, 7, 13, 1], "uint64": [2**64 - 1, 2**63, 0, 7, 13, 1],
}
INT_B = {
    "int8": [100, -1, 1, 2, -2, 3], "int16": [30000, -1, 1, 2, -2, 3],
    "int32": [1, -1, 1, 2, -2, 3], "int64": [1, -1, 1, 2, -2, 3],
    "uint8": [100, 1, 3, 2, 5, 3], "uint16": [10000, 1, 3, 2, 5, 3],
    "uint32": [500000000, 1, 3, 2, 5, 3], "uint64": [1, 1, 3, 2, 5, 3],
}
SIGNED = {"int8", "int16", "int32", "int64"}

# float32 values every float -> integer cast handles the same way in TensorFlow and gradtape
# (in range, or out of range where docs/dtypes.md's rule gives TensorFlow's answer)
CAST_SOURCE = [0.0, 0.5, 1.7, -1.7, 2.5, -2.5, 100.9, -100.9, 300.7, -300.5, 70000.5, 3e9, 1e20, -1e20,
               float("nan"), float("inf"), float("-inf")]
CAST_SOURCE_UNSIGNED_BIG = [0.0, 1.7, 3e9, 1.8e19, 300.7, -1.7, -300.5]
HALF_SOURCE = [0.0, -0.0, 1.0, 1.00048828125, 1.0009765625, 1.00146484375, 0.1, -3.14159, 65504.0, 65519.0, 65520.0,
               1e6, 6e-5, 6e-8, 2.9e-8, 3e-8, 1e-10, 3.3895e38, 1.0e39, 1.00390625, 1.01171875, 70000.5,
               float("nan"), float("inf"), float("-inf")]


def _c(lib, values, dtype):
    return lib.constant(values, dtype=getattr(lib, dtype))


def _cases():
    cases = {}

    def case(name):
        def deco(f):
            cases[name] = f
            return f
        return deco

    for d in INTS:
        a, b = INT_A[d], INT_B[d]
        case("constant/%s" % d)(lambda lib, d=d, a=a: _c(lib, a, d))
        case("zeros_ones_fill/%s" % d)(lambda lib, d=d: [lib.zeros([2], getattr(lib, d)), lib.ones([2, 1], getattr(lib, d)),
                                                         lib.fill([3], _c(lib, 7, d))])
        case("add/%s" % d)(lambda lib, d=d, a=a, b=b: lib.add(_c(lib, a, d), _c(lib, b, d)))
        case("subtract/%s" % d)(lambda lib, d=d, a=a, b=b: lib.subtract(_c(lib, a, d), _c(lib, b, d)))
        case("multiply/%s" % d)(lambda lib, d=d, a=a, b=b: lib.multiply(_c(lib, a, d), _c(lib, b, d)))
        case("floordiv/%s" % d)(lambda lib, d=d, a=a, b=b: lib.math.floordiv(_c(lib, a, d), _c(lib, b, d)))
        case("floormod/%s" % d)(lambda lib, d=d, a=a, b=b: lib.math.floormod(_c(lib, a, d), _c(lib, b, d)))
        case("floordiv_by_zero/%s" % d)(lambda lib, d=d: lib.math.floordiv(_c(lib, [1, 2], d), _c(lib, [1, 0], d)))
        case("maximum/%s" % d)(lambda lib, d=d, a=a, b=b: lib.maximum(_c(lib, a, d), _c(lib, b, d)))
        case("minimum/%s" % d)(lambda lib, d=d, a=a, b=b: lib.minimum(_c(lib, a, d), _c(lib, b, d)))
        case("divide/%s" % d)(lambda lib, d=d: lib.divide(_c(lib, [7, 6, 1], d), _c(lib, [2, 4, 3], d)))
        case("abs/%s" % d)(lambda lib, d=d, a=a: lib.abs(_c(lib, a, d)))
        case("negative/%s" % d)(lambda lib, d=d, a=a: lib.negative(_c(lib, a, d)))
        case("square/%s" % d)(lambda lib, d=d, a=a: lib.square(_c(lib, a, d)))
        case("compare/%s" % d)(lambda lib, d=d, a=a, b=b: [lib.less(_c(lib, a, d), _c(lib, b, d)),
                                                         lib.equal(_c(lib, a, d), _c(lib, b, d)),
                                                         lib.greater_equal(_c(lib, a, d), _c(lib, b, d))])
        case("reduce/%s" % d)(lambda lib, d=d, a=a: [lib.reduce_sum(_c(lib, a, d)), lib.reduce_max(_c(lib, a, d)),
                                                     lib.reduce_min(_c(lib, a, d)), lib.reduce_prod(_c(lib, a[3:], d)),
                                                     lib.reduce_sum(lib.reshape(_c(lib, a, d), [2, 3]), axis=1)])
        case("reduce_mean/%s" % d)(lambda lib, d=d: lib.reduce_mean(_c(lib, [[7, 9, 3], [1, 2, 2]], d), axis=1))
        case("cumsum_argmax/%s" % d)(lambda lib, d=d, a=a: [lib.cumsum(_c(lib, a, d)), lib.argmax(_c(lib, a, d)),
                                                            lib.argmin(_c(lib, a, d))])
        case("shape_ops/%s" % d)(lambda lib, d=d, a=a: _shape_ops(lib, _c(lib, a, d)))
        case("mixed_dtypes/%s" % d)(lambda lib, d=d: lib.add(_c(lib, [1], d), _c(lib, [1], "int32" if d != "int32" else "int64")))
        case("cast_from_float32/%s" % d)(lambda lib, d=d: lib.cast(_c(lib, CAST_SOURCE if d != "uint32" else
                                                                     [v for v in CAST_SOURCE if v == v and abs(v) < 1e10
                                                                      and not (-1e10 < v < -2**31)],
                                                                     "float32"), getattr(lib, d)))
        case("cast_from_float64/%s" % d)(lambda lib, d=d: lib.cast(_c(lib, [0.0, 1.7, -1.7, 300.7, -300.5, 1e20], "float64"),
                                                                   getattr(lib, d)))
        case("cast_to_others/%s" % d)(lambda lib, d=d, a=a: [lib.cast(_c(lib, a, d), getattr(lib, t))
                                                             for t in INTS + ["float32", "float64", "bool"] + HALVES])
        case("one_hot_indices/%s" % d)(lambda lib, d=d: lib.one_hot(_c(lib, [0, 2, 1, 5], d), 3))
        case("gather_indices/%s" % d)(lambda lib, d=d: lib.gather(lib.constant([10.0, 20.0, 30.0]), _c(lib, [2, 0], d)))
    case("cast_uint64_big")(lambda lib: lib.cast(_c(lib, CAST_SOURCE_UNSIGNED_BIG, "float32"), lib.uint64))
    case("range/int8")(lambda lib: lib.range(-3, 100, 7, dtype=lib.int8))
    case("range/uint16")(lambda lib: lib.range(0, 60000, 7000, dtype=lib.uint16))
    case("python_int_wraps/uint8")(lambda lib: lib.constant([300, -1, 255], dtype=lib.uint8))
    case("python_int/uint64_max")(lambda lib: lib.constant(2**64 - 1, dtype=lib.uint64))

    for h in HALVES:
        case("cast_from_float32/%s" % h)(lambda lib, h=h: lib.cast(_c(lib, HALF_SOURCE, "float32"), getattr(lib, h)))
        case("cast_from_float64/%s" % h)(lambda lib, h=h: lib.cast(_c(lib, [0.1, 1.0000001, 65519.99, 1e-7], "float64"),
                                                                   getattr(lib, h)))
        case("cast_to_ints/%s" % h)(lambda lib, h=h: [lib.cast(_c(lib, [1.5, -2.5, 300.0, 1e4, -0.0], h), getattr(lib, t))
                                                      for t in INTS + ["float32", "bool"]])
        case("constant/%s" % h)(lambda lib, h=h: [_c(lib, [0.1, 1.0, 3.3, 65504.0, 1e5], h), lib.zeros([2], getattr(lib, h)),
                                                  lib.ones([2], getattr(lib, h)), lib.fill([2], _c(lib, 0.3, h)),
                                                  lib.range(0.0, 1.0, 0.3, dtype=getattr(lib, h))])
        case("arith/%s" % h)(lambda lib, h=h: _half_arith(lib, h))
        case("reduce/%s" % h)(lambda lib, h=h: [lib.reduce_sum(lib.ones([3000], getattr(lib, h))),
                                                lib.reduce_max(_c(lib, [0.1, 2.7, -3.0], h)),
                                                lib.reduce_sum(_c(lib, [[0.1, 0.2], [0.3, 0.4]], h), axis=0)])
        case("shape_ops/%s" % h)(lambda lib, h=h: _shape_ops(lib, _c(lib, [0.5, -1.25, 3.0, 0.1, 7.0, 1e4], h)))
        case("grad/%s" % h)(lambda lib, h=h: _half_grad(lib, h))
        case("grad_matmul/%s" % h)(lambda lib, h=h: _half_grad_matmul(lib, h))
        case("mixed/%s" % h)(lambda lib, h=h: lib.add(_c(lib, [1.0], h), lib.constant([1.0])))
        case("scalar_operand/%s" % h)(lambda lib, h=h: [_c(lib, [1.0, 2.0], h) + 0.1, _c(lib, [1.0, 2.0], h) * 1e5,
                                                        2 * _c(lib, [1.5], h)])
    return cases


def _shape_ops(lib, x):
    m = lib.reshape(x, [2, 3])
    return [lib.gather(x, [4, 0, 0]), lib.concat([x, x[:2]], 0), lib.transpose(m), lib.tile(m, [2, 1]),
            lib.pad(m, [[1, 0], [0, 1]]), lib.where(lib.constant([True, False, True, False, True, False]), x, x[::-1]),
            lib.boolean_mask(x, lib.constant([True, False, True, False, False, True])), lib.reverse(x, [0]),
            x[1:5:2], lib.stack([x, x], axis=1), lib.expand_dims(x, 0), lib.sort(x), lib.gather_nd(m, [[1, 2], [0, 0]]),
            lib.broadcast_to(x[:1], [3]), lib.reduce_max(m, axis=0), lib.unstack(m)[1], lib.split(x, 2)[1]]


def _half_arith(lib, h):
    a = _c(lib, [0.1, 1.5, -2.25, 1000.0, 3.0e4], h)
    b = _c(lib, [0.3, 0.7, 4.0, 0.001, 3.0e4], h)
    return [a + b, a - b, a * b, a / b, lib.exp(a[:3]), lib.sin(a), lib.sqrt(lib.abs(a)), lib.math.floordiv(a, b),
            lib.maximum(a, b), lib.nn.softmax(a[:3]), lib.matmul(lib.reshape(a[:4], [2, 2]), lib.reshape(b[:4], [2, 2])),
            lib.less(a, b), lib.nn.relu(a), lib.math.log1p(lib.abs(a)), lib.tanh(a), lib.reduce_mean(a[:3]),
            lib.argmax(a), lib.cast(a, lib.float32), lib.square(a)]


def _half_grad(lib, h):
    x = _c(lib, [0.5, -1.25, 2.0, 0.1], h)
    with lib.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = lib.reduce_sum(lib.exp(x) * x + lib.sin(x) * x * x)
        z = lib.nn.softmax(x * 3.0)[1]
        w = lib.reduce_sum(lib.cast(x, lib.float32) ** 2)  # through a cast to float32: gradient float16
    return [y, tape.gradient(y, x), tape.gradient(z, x), tape.gradient(w, x), tape.gradient(x + x, x)]


def _half_grad_matmul(lib, h):
    a = _c(lib, [[0.5, -1.0], [2.0, 0.25]], h)
    b = _c(lib, [[1.5, 0.5], [-0.75, 1.0]], h)
    with lib.GradientTape() as tape:
        tape.watch([a, b])
        y = lib.reduce_sum(lib.tanh(lib.matmul(a, b)))
    return [y] + tape.gradient(y, [a, b])


CASES = _cases()


def _encode_value(v):
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
    return v


def encode(lib, t):
    if t is None:
        return None
    name = t.dtype.name
    if name in ("bfloat16", "float16"):
        arr = lib.cast(t, lib.float32).numpy()
    else:
        arr = t.numpy()
    arr = np.asarray(arr)
    if arr.dtype.kind == "f":
        values = [_encode_value(float(v)) for v in arr.reshape(-1)]
    elif arr.dtype.kind == "b":
        values = [bool(v) for v in arr.reshape(-1)]
    else:
        values = [int(v) for v in arr.reshape(-1)]
    return {"dtype": name, "shape": list(arr.shape), "values": values}


def run_case(lib, name):
    try:
        r = CASES[name](lib)
    except Exception as e:  # noqa: BLE001 (the error's class is the answer)
        return {"error": type(e).__name__}
    if isinstance(r, (list, tuple)):
        return [encode(lib, t) for t in r]
    return encode(lib, r)
