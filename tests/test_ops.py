"""Every op of the table: forward values against NumPy (float32 and float64, broadcasting,
empty shapes, every axis combination of a 3-d reduction), and gradients against float64
central differences, first order and second order (through nested tapes)."""
import pathlib
import re

import numpy as np
import pytest

import gradtape as gt
from gradtape import _manifest
from op_table import (AXES_3D, BINARY, BROADCAST_PAIRS, CHECKED_THROUGH, EMPTY_PAIRS, REDUCTIONS, RNG, SPECIAL,
                      TESTED_ELSEWHERE, UNARY, UNARY_SHAPES, table_names)

FLOATS = [np.float32, np.float64]


def tol(dtype):
    return dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)


def check_forward(out, ref, dtype, bool_out=False):
    out_np = out.numpy()
    ref = np.asarray(ref)
    assert out_np.shape == ref.shape
    if bool_out:
        assert out.dtype == gt.bool
        np.testing.assert_array_equal(out_np, ref)
    else:
        assert out_np.dtype == ref.dtype, (out_np.dtype, ref.dtype)
        np.testing.assert_allclose(out_np, ref, **tol(dtype))


# ------------------------------------------------------------------ forward values

UNARY_ROWS = [u for u in UNARY if u.fn is not None]


@pytest.mark.parametrize("op", UNARY_ROWS, ids=lambda o: o.name)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", UNARY_SHAPES + [(0, 3)], ids=str)
def test_unary_forward(op, dtype, shape):
    (x,) = op.inputs(shape, dtype)
    check_forward(op.fn(gt.constant(x)), op.ref(x).astype(dtype), dtype)


@pytest.mark.parametrize("op", [u for u in UNARY_ROWS if u.ints], ids=lambda o: o.name)
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_unary_forward_ints(op, dtype):
    x = RNG.integers(-5, 6, size=(2, 3)).astype(dtype)
    out = op.fn(gt.constant(x))
    np.testing.assert_array_equal(out.numpy(), op.ref(x))
    assert out.numpy().dtype == dtype


@pytest.mark.parametrize("op", BINARY, ids=lambda o: o.name)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS + EMPTY_PAIRS, ids=str)
def test_binary_forward(op, dtype, shapes):
    a, b = op.inputs(shapes, dtype)
    out = op.fn(gt.constant(a), gt.constant(b))
    check_forward(out, op.ref(a, b), dtype, bool_out=op.out_bool)


@pytest.mark.parametrize("op", [b for b in BINARY if b.ints], ids=lambda o: o.name)
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_binary_forward_ints(op, dtype):
    a = RNG.integers(-5, 6, size=(3, 1)).astype(dtype)
    b = RNG.integers(-5, 6, size=(1, 4)).astype(dtype)
    np.testing.assert_array_equal(op.fn(gt.constant(a), gt.constant(b)).numpy(), op.ref(a, b))


@pytest.mark.parametrize("op", REDUCTIONS, ids=lambda o: o.name)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", AXES_3D, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_forward(op, dtype, axis, keepdims):
    x = RNG.uniform(-2, 2, size=(2, 3, 4)).astype(dtype)
    out = op.fn(gt.constant(x), axis=axis, keepdims=keepdims)
    check_forward(out, np.asarray(op.ref(x, axis=axis, keepdims=keepdims)).astype(dtype), dtype)


@pytest.mark.parametrize("op", REDUCTIONS, ids=lambda o: o.name)
def test_reduction_of_empty_and_scalar(op):
    scalar = gt.constant(np.float64(1.5))
    np.testing.assert_allclose(op.fn(scalar).numpy(), op.ref(np.float64(1.5)))
    if op.name in ("reduce_sum", "reduce_prod", "reduce_mean"):
        empty = np.zeros((0, 3))
        with np.errstate(invalid="ignore"):
            expected = op.ref(empty, axis=0)
        np.testing.assert_allclose(op.fn(gt.constant(empty), axis=0).numpy(), expected)


@pytest.mark.parametrize("op", SPECIAL, ids=lambda o: o.name)
@pytest.mark.parametrize("dtype", FLOATS)
def test_special_forward(op, dtype):
    xs = op.make_inputs(dtype)
    out = op.fn(*[gt.constant(x) for x in xs])
    if op.exact:
        ref = np.asarray(op.ref(*xs))
        assert out.numpy().dtype == ref.dtype, (out.numpy().dtype, ref.dtype)
        np.testing.assert_array_equal(out.numpy(), ref)
        return
    check_forward(out, np.asarray(op.ref(*xs)).astype(dtype), dtype)


def test_creation_ops():
    np.testing.assert_array_equal(gt.zeros([2, 3]).numpy(), np.zeros((2, 3), np.float32))
    assert gt.zeros([2], dtype=gt.int64).dtype == gt.int64
    np.testing.assert_array_equal(gt.ones((2,)).numpy(), [1, 1])
    x = gt.constant([[1.5, 2.5]], dtype=gt.float64)
    assert gt.zeros_like(x).dtype == gt.float64 and gt.zeros_like(x).shape == (1, 2)
    np.testing.assert_array_equal(gt.ones_like(x).numpy(), [[1, 1]])
    np.testing.assert_array_equal(gt.fill([2, 2], 7.0).numpy(), np.full((2, 2), 7.0, np.float32))
    np.testing.assert_array_equal(gt.range(5).numpy(), np.arange(5, dtype=np.int32))
    assert gt.range(5).dtype == gt.int32
    np.testing.assert_allclose(gt.range(0., 1., 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    np.testing.assert_array_equal(gt.range(10, 1, -3).numpy(), [10, 7, 4])
    np.testing.assert_array_equal(gt.range(3, 3).numpy(), np.zeros(0, np.int32))


def test_logical_ops():
    a = np.array([[True, False, True, False]])
    b = np.array([[True], [False]])
    np.testing.assert_array_equal(gt.logical_and(a, b).numpy(), a & b)
    np.testing.assert_array_equal(gt.logical_or(a, b).numpy(), a | b)
    np.testing.assert_array_equal(gt.logical_not(a).numpy(), ~a)
    np.testing.assert_array_equal((gt.constant(a) & gt.constant(b)).numpy(), a & b)
    with pytest.raises(gt.errors.InvalidArgumentError, match="bool"):
        gt.logical_and(gt.constant([1.0]), gt.constant([True]))


@pytest.mark.parametrize("src,dst", [(np.float32, gt.float64), (np.float64, gt.int32), (np.int32, gt.float32),
                                     (np.float32, gt.bool), (np.bool_, gt.float32), (np.int64, gt.int32)])
def test_cast_values(src, dst):
    x = np.array([-2.7, 0.0, 1.0, 3.9]).astype(src)
    out = gt.cast(x, dst)
    assert out.dtype == dst
    np.testing.assert_array_equal(out.numpy(), x.astype(dst.as_numpy_dtype))


def test_cast_of_nan_and_inf_to_int_is_defined():
    # TensorFlow's answers on x86 (cvttss2si's "integer indefinite"; docs/dtypes.md)
    out = gt.cast(gt.constant([np.nan, np.inf, -np.inf, 1e30]), gt.int32).numpy()
    np.testing.assert_array_equal(out, [-2**31] * 4)


def test_operators_match_functions():
    a = np.array([[1.5, -2.0, 3.0]])
    b = np.array([[2.0], [-0.5]])
    x, y = gt.constant(a), gt.constant(b)
    np.testing.assert_allclose((x + y).numpy(), a + b)
    np.testing.assert_allclose((x - y).numpy(), a - b)
    np.testing.assert_allclose((x * y).numpy(), a * b)
    np.testing.assert_allclose((x / y).numpy(), a / b)
    np.testing.assert_allclose((x // y).numpy(), a // b)
    np.testing.assert_allclose((x % y).numpy(), np.mod(a, b))
    np.testing.assert_allclose((abs(x) ** y).numpy(), np.abs(a) ** b)
    np.testing.assert_allclose((-x).numpy(), -a)
    np.testing.assert_allclose(abs(x).numpy(), np.abs(a))
    np.testing.assert_allclose((y @ x).numpy(), b @ a)
    np.testing.assert_allclose((2.0 - x).numpy(), 2.0 - a)
    np.testing.assert_array_equal((x < y).numpy(), a < b)
    np.testing.assert_array_equal((x == y).numpy(), a == b)
    np.testing.assert_array_equal((x != y).numpy(), a != b)
    i = gt.constant([7, -7])
    np.testing.assert_array_equal((i // 2).numpy(), [3, -4])
    np.testing.assert_array_equal((i % 3).numpy(), [1, 2])
    assert (i / 2).dtype == gt.float64  # true division of integers, as TensorFlow


# ------------------------------------------------------------------ gradients (float64)

DIFF_UNARY = [u for u in UNARY_ROWS if u.grad]


@pytest.mark.parametrize("op", DIFF_UNARY, ids=lambda o: o.name)
@pytest.mark.parametrize("shape", [(), (2, 3)], ids=str)
def test_unary_gradient(op, shape):
    (x,) = op.inputs(shape, np.float64)
    x = np.where(np.abs(x) < 0.05, 0.3, x)  # keep away from kinks (abs, sign, relu at 0)
    gt.test.check_gradients(op.fn, [x], order=1)


@pytest.mark.parametrize("op", [u for u in DIFF_UNARY if u.order2], ids=lambda o: o.name)
def test_unary_second_order(op):
    (x,) = op.inputs((2, 3), np.float64)
    x = np.where(np.abs(x) < 0.05, 0.3, x)
    gt.test.check_gradients(op.fn, [x], order=2)


DIFF_BINARY = [b for b in BINARY if b.grad]


@pytest.mark.parametrize("op", DIFF_BINARY, ids=lambda o: o.name)
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_binary_gradient(op, shapes):
    a, b = op.inputs(shapes, np.float64)
    gt.test.check_gradients(op.fn, [a, b], order=1)


@pytest.mark.parametrize("op", DIFF_BINARY, ids=lambda o: o.name)
@pytest.mark.parametrize("shapes", [((3, 1), (1, 4)), ((), (2, 3))], ids=str)
def test_binary_second_order(op, shapes):
    a, b = op.inputs(shapes, np.float64)
    gt.test.check_gradients(op.fn, [a, b], order=2)


@pytest.mark.parametrize("op", REDUCTIONS, ids=lambda o: o.name)
@pytest.mark.parametrize("axis", AXES_3D, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_gradient(op, axis, keepdims):
    x = RNG.uniform(op.low, op.high, size=(2, 3, 4))
    gt.test.check_gradients(lambda t: op.fn(t, axis=axis, keepdims=keepdims), [x], order=1)


@pytest.mark.parametrize("op", REDUCTIONS, ids=lambda o: o.name)
@pytest.mark.parametrize("axis", [None, 1, [0, 2]], ids=str)
def test_reduction_second_order(op, axis):
    x = RNG.uniform(op.low, op.high, size=(2, 3, 2))
    gt.test.check_gradients(lambda t: op.fn(t, axis=axis), [x], order=2)


@pytest.mark.parametrize("op", [s for s in SPECIAL if s.grad], ids=lambda o: o.name)
def test_special_gradient(op):
    gt.test.check_gradients(op.fn, op.make_inputs(np.float64), order=1)


@pytest.mark.parametrize("op", [s for s in SPECIAL if s.grad and s.order2], ids=lambda o: o.name)
def test_special_second_order(op):
    gt.test.check_gradients(op.fn, op.make_inputs(np.float64), order=2)


def test_gradient_of_float32_matches_float64():
    x = RNG.uniform(-1, 1, size=(3, 4))
    grads = []
    for dtype in (np.float32, np.float64):
        t = gt.constant(x.astype(dtype))
        with gt.GradientTape() as tape:
            tape.watch(t)
            y = gt.reduce_sum(gt.tanh(t) * gt.exp(t))
        g = tape.gradient(y, t)
        assert g.dtype == (gt.float32 if dtype == np.float32 else gt.float64)
        grads.append(g.numpy())
    # (relative to the largest: an element near a cancellation has no relative accuracy in float32)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-5 * np.abs(grads[1]).max())


def test_non_differentiable_ops_give_none():
    x = gt.constant([1.0, -2.0])
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        outs = [gt.greater(x, 0.0), gt.cast(x, gt.int32), gt.floor(x) * 1.0, x // 1.0, gt.zeros_like(x)]
    for out in outs:
        assert tape.gradient(out, x) is None


def test_sign_gradient_is_zero_as_tensorflow():
    x = gt.constant([1.0, -2.0])
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = gt.sign(x)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0.0, 0.0])


# ------------------------------------------------------------------ meta-tests

ROOT = pathlib.Path(__file__).resolve().parents[1]
API_CANDIDATES = [ROOT / "docs" / "api-ops.md"]  # the API reference, generated from the manifest


def api_op_names():
    for path in API_CANDIDATES:
        if path.exists():
            text = path.read_text()
            ops = re.search(r"`gt\.math\.NAME`: `([^`]+)`", text, re.S)
            nn = re.search(r"`gt\.nn`: `([^`]+)`", text, re.S)
            if ops and nn:
                return ops.group(1).split(), ["nn." + n for n in nn.group(1).split()]
    raise AssertionError("no API op list found in %s" % API_CANDIDATES)


def test_every_api_op_is_in_the_table():
    top, nn = api_op_names()
    assert len(top) > 50 and len(nn) >= 8
    import op_table
    covered = table_names() | set(op_table.TESTED_ELSEWHERE)
    missing = [n for n in top + nn if n not in covered and n.split(".")[-1] not in covered]
    assert not missing, "ops in API.md with no row in tests/op_table.py: %s" % missing


def test_every_api_op_exists_at_top_level_in_math_and_nn():
    top, nn = api_op_names()
    for name in top:
        assert callable(getattr(gt, name)), name
        assert callable(getattr(gt.math, name)), name
    for name in nn:
        assert callable(getattr(gt.nn, name.split(".")[1])), name


def test_every_core_rule_is_gradient_checked():
    # Each differentiable primitive of the op manifest is reached by some checked row: a new
    # op's rule without a gradient check fails here.
    core = {r.name for r in _manifest.rows() if r.differentiable}
    covered = table_names() | set(CHECKED_THROUGH)
    assert core <= covered, "rules with no gradient check (add a row to tests/op_table.py): %s" % sorted(core - covered)
    assert core == {name for name, diff in gt._core.op_table() if diff}
    top, nn = api_op_names()
    api = top + nn
    from conftest import ci_figure
    ci_figure("differentiable core ops gradient-checked (1st and 2nd order)",
              "%d of %d" % (len(core & covered), len(core)))
    ci_figure("API.md ops in the checked op table", "%d of %d" % (sum(n in table_names() for n in api), len(api)))


def test_every_public_function_is_tested():
    public = {r.name for r in _manifest.rows() if r.public}
    missing = public - table_names() - set(TESTED_ELSEWHERE)
    assert not missing, "public functions with no test row in tests/op_table.py: %s" % sorted(missing)


def test_manifest_is_the_core_op_table():
    prims = [(r.name, r.differentiable) for r in _manifest.rows() if r.primitive]
    assert sorted(prims) == sorted(gt._core.op_table())


def test_every_manifest_name_is_exported_where_it_says():
    for row in _manifest.rows():
        if not row.public:
            # an internal primitive is not exported (gt.strided_slice is TensorFlow's function
            # of that name, written in Python over indexing, not the primitive)
            core = getattr(gt._core, row.name, None)
            assert core is None or getattr(gt, row.name, None) is not core, row.name
            continue
        assert row.namespaces, row.name
        for ns in ("gt", "math", "nn"):
            module = gt if ns == "gt" else getattr(gt, ns)
            assert (getattr(module, row.name, None) is getattr(gt._core, row.name)) == (ns in row.namespaces), \
                (ns, row.name)


def test_stop_gradient_blocks_the_gradient():
    x = gt.constant([1.0, 2.0])
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = gt.reduce_sum(x * gt.stop_gradient(x))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(gt.stop_gradient(x).numpy(), [1.0, 2.0])


def test_reduce_any_all():
    b = np.array([[True, False, True], [False, False, True]])
    for axis in (None, 0, 1, [0, 1]):
        ax = tuple(axis) if isinstance(axis, list) else axis
        np.testing.assert_array_equal(gt.reduce_any(b, axis=axis).numpy(), b.any(axis=ax))
        np.testing.assert_array_equal(gt.reduce_all(b, axis=axis, keepdims=True).numpy(), b.all(axis=ax, keepdims=True))


def test_one_hot():
    np.testing.assert_array_equal(gt.one_hot([0, 2, 5, -1], 3).numpy(), np.eye(3, dtype=np.float32)[[0, 2]].tolist()
                                  + [[0, 0, 0], [0, 0, 0]])
    assert gt.one_hot([1], 2, dtype=gt.int64).dtype == gt.int64


def test_floormod_gradient():
    gt.test.check_gradients(lambda a, b: a % b, [np.array([2.5, -1.3, 4.1]), np.array([1.1, 0.7, -1.9])], order=2)


def test_broadcast_to_gradient():
    c = gt.constant(RNG.uniform(size=(2, 3, 4)))
    gt.test.check_gradients(lambda x: gt.broadcast_to(x, [2, 3, 4]) * c * x, [RNG.uniform(size=(3, 1))], order=2)


@pytest.mark.parametrize("fn", [lambda x, y: gt.nn.softplus(x) * 1.0, lambda x, y: x * y], ids=["softplus", "multiply"])
def test_fused_rules_match_the_composed_rules(fn):
    # With no outer tape recording, softplus' and multiply's rules run fused kernels; under an
    # outer tape they run as ops (so they can be differentiated again). Both must agree.
    x0 = RNG.uniform(-3, 3, size=(300,))
    y0 = RNG.uniform(-3, 3, size=(300,))
    results = []
    for outer_active in (False, True):
        x, y = gt.constant(x0), gt.constant(y0)
        outer = gt.GradientTape()
        if outer_active:
            outer.__enter__()
        with gt.GradientTape() as tape:
            tape.watch([x, y])
            z = gt.reduce_sum(fn(x, y) * gt.constant(y0 + 4.0))
        results.append([g.numpy() for g in tape.gradient(z, [x, y], unconnected_gradients="zero")])
        if outer_active:
            outer.__exit__(None, None, None)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-14)
    sig = 1 / (1 + np.exp(-x0))
    expected_x = sig * (y0 + 4.0) if fn(gt.constant(0.0), gt.constant(0.0)).numpy() != 0 else y0 * (y0 + 4.0)
    np.testing.assert_allclose(results[0][0], expected_x, rtol=1e-12)


def test_truncated_division_of_integers():
    a, b = gt.constant([7, -7, 7, -7, 0]), gt.constant([2, 2, -2, -2, 3])
    np.testing.assert_array_equal(gt.truncatediv(a, b).numpy(), [3, -3, -3, 3, 0])
    np.testing.assert_array_equal(gt.truncatemod(a, b).numpy(), [1, -1, 1, -1, 0])
    np.testing.assert_array_equal(gt.truncatediv(gt.constant([-2**31], dtype=gt.int32), -1).numpy(), [-2**31])
    with pytest.raises(gt.errors.InvalidArgumentError, match="division by zero"):
        gt.truncatediv(a, 0)
    with pytest.raises(gt.errors.InvalidArgumentError, match="division by zero"):
        gt.truncatemod(a, 0)


def test_maximum_minimum_ties_send_the_gradient_to_x_as_tensorflow():
    # TensorFlow 2.21's _MaximumGrad/_MinimumGrad: x gets g where x >= y (x <= y), y the rest
    x, y = gt.constant([1.0, 2.0, 3.0]), gt.constant([1.0, 1.0, 3.0])
    for fn, dx, dy in ((gt.maximum, [1, 1, 1], [0, 0, 0]), (gt.minimum, [1, 0, 1], [0, 1, 0])):
        with gt.GradientTape() as tape:
            tape.watch([x, y])
            z = gt.reduce_sum(fn(x, y))
        gx, gy = tape.gradient(z, [x, y])
        np.testing.assert_array_equal(gx.numpy(), dx)
        np.testing.assert_array_equal(gy.numpy(), dy)


@pytest.mark.parametrize("fn,x,grad", [
    (lambda x: gt.math.xlogy(x, gt.constant([0.0, np.nan, 2.0], dtype=gt.float64)), [0.0, 0.0, 1.0], [0.0, 0.0, np.log(2)]),
    (lambda x: gt.atan2(x, gt.constant([0.0, 1.0, 0.0], dtype=gt.float64)), [0.0, 0.0, 1.0], [np.nan, 1.0, 0.0]),
    (lambda x: gt.clip_by_norm(x, 1.0), [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),
    (lambda x: gt.nn.relu6(x), [0.0, 6.0, 3.0], [0.0, 0.0, 1.0]),
    (lambda x: gt.nn.selu(x), [0.0, -1.0, np.nan], [1.0507009873554805, 1.7580993408473768 * np.exp(-1.0), 1.0507009873554805]),
    (lambda x: gt.nn.leaky_relu(x), [0.0, np.nan, 1.0], [0.2, 0.2, 1.0]),
], ids=["xlogy_at_0", "atan2_at_origin", "clip_by_norm_of_0", "relu6_kinks", "selu_kinks", "leaky_relu_kinks"])
def test_gradients_at_special_points_as_tensorflow(fn, x, grad):
    t = gt.constant(x, dtype=gt.float64)
    with gt.GradientTape() as tape:
        tape.watch(t)
        y = gt.reduce_sum(fn(t))
    np.testing.assert_allclose(tape.gradient(y, t).numpy(), grad, rtol=1e-6)


def test_nn_argument_errors_as_tensorflow():
    with pytest.raises(gt.errors.InvalidArgumentError, match="at least 2D"):
        gt.nn.bias_add(gt.ones([3]), gt.ones([3]))
    with pytest.raises(gt.errors.InvalidArgumentError, match="Biases must be 1D"):
        gt.nn.bias_add(gt.ones([2, 3]), gt.ones([1, 3]))
    with pytest.raises(gt.errors.InvalidArgumentError, match="as many biases"):
        gt.nn.bias_add(gt.ones([2, 3]), gt.ones([2]))
    with pytest.raises(ValueError, match="data_format"):
        gt.nn.bias_add(gt.ones([2, 3]), gt.ones([3]), data_format="XYZ")
    with pytest.raises(ValueError, match="floating point"):
        gt.nn.gelu(gt.constant([1, 2]))
    with pytest.raises(TypeError, match="sequence"):
        gt.clip_by_global_norm(gt.constant([1.0]), 1.0)
    with pytest.raises(NotImplementedError, match="sharded"):
        gt.nn.embedding_lookup([gt.ones([2, 2]), gt.ones([2, 2])], [0])
    assert gt.nn.leaky_relu(gt.constant([1, -2])).dtype == gt.float32
    assert gt.nn.relu6(gt.constant([1, -2, 8])).numpy().tolist() == [1, 0, 6]
    with pytest.raises(gt.errors.InvalidArgumentError, match="float"):
        gt.math.ceil(gt.constant([1, 2]))
    clipped, norm = gt.clip_by_global_norm([gt.constant([np.inf, 4.0])], 1.0)
    assert np.isinf(float(norm)) and np.isnan(clipped[0].numpy()).all()
