"""gt.linalg against TensorFlow 2.21 (tests/reference/tf_linalg.json, recorded by
tests/reference/make_linalg.py): values, gradients and second derivatives of each case of
tests/reference/linalg_cases.py; and the ops' edge cases (singular, empty, not positive
definite, mismatched shapes) as TensorFlow has them. The gradient checks against central
differences are the linalg rows of tests/op_table.py."""
import json
import pathlib
import sys

import numpy as np
import pytest

import gradtape as gt

REF = pathlib.Path(__file__).resolve().parent / "reference"
sys.path.insert(0, str(REF))
import linalg_cases as C  # noqa: E402

TF = json.loads((REF / "tf_linalg.json").read_text())["cases"]


def test_every_case_is_recorded():
    assert set(TF) == set(C.CASES), "regenerate tf_linalg.json (tests/reference/make_linalg.py)"


def _close(ours, theirs, what):
    if theirs is None:
        assert ours is None, what
        return
    assert ours is not None, what
    np.testing.assert_allclose(np.asarray(ours, np.float64), np.asarray(theirs, np.float64), rtol=1e-9, atol=1e-11,
                               err_msg=what)


@pytest.mark.parametrize("name", sorted(C.CASES))
def test_matches_tensorflow(name):
    ours, theirs = C.run_case(gt, name), TF[name]
    _close(ours["value"], theirs["value"], "value")
    for i, (g, tg) in enumerate(zip(ours["grad"], theirs["grad"])):
        if name == "slogdet_sign":  # TF: zeros (the op is connected through its other output); gradtape: None
            assert g is None and not np.any(tg)
            continue
        _close(g, tg, "gradient %d" % i)
    for i, (g, tg) in enumerate(zip(ours["grad2"], theirs["grad2"])):
        if name == "slogdet_sign":
            continue
        _close(g, tg, "second derivative %d" % i)


F64 = gt.float64


def test_singular_matrices_as_tensorflow():
    s = gt.constant([[1.0, 2.0], [2.0, 4.0]], dtype=F64)
    with pytest.raises(gt.errors.InvalidArgumentError, match="not invertible"):
        gt.linalg.inv(s)
    with pytest.raises(gt.errors.InvalidArgumentError, match="not invertible"):
        gt.linalg.solve(s, gt.ones([2, 1], F64))
    with pytest.raises(gt.errors.InvalidArgumentError, match="not invertible"):
        gt.linalg.inv(gt.constant([[np.nan, 1.0], [1.0, 0.0]]))
    assert float(gt.linalg.det(s)) == 0.0
    sign, logdet = gt.linalg.slogdet(s)
    assert float(sign) == 0.0 and float(logdet) == -np.inf
    # a zero on a triangular matrix's diagonal: inf, no error
    x = gt.linalg.triangular_solve(gt.constant([[0.0, 0.0], [1.0, 1.0]]), gt.ones([2, 1]))
    assert not np.all(np.isfinite(x.numpy()))
    # the gradient of det at a singular matrix needs the inverse: it raises, as TensorFlow's
    with gt.GradientTape() as tape:
        tape.watch(s)
        d = gt.linalg.det(s)
    with pytest.raises(gt.errors.InvalidArgumentError, match="not invertible"):
        tape.gradient(d, s)


def test_cholesky_of_a_matrix_that_is_not_positive_definite_is_nan():
    out = gt.linalg.cholesky(gt.constant([[[1.0, 2.0], [2.0, 1.0]], [[4.0, 0.0], [0.0, 9.0]]])).numpy()
    assert np.all(np.isnan(out[0][np.tril_indices(2)])) and np.all(np.triu(out[0], 1) == 0)
    np.testing.assert_array_equal(out[1], [[2.0, 0.0], [0.0, 3.0]])  # the others are computed


def test_empty_matrices_and_batches():
    assert gt.linalg.inv(gt.ones([0, 0])).shape == (0, 0)
    np.testing.assert_array_equal(gt.linalg.det(gt.ones([3, 0, 0])).numpy(), [1.0, 1.0, 1.0])
    sign, logdet = gt.linalg.slogdet(gt.ones([0, 0]))
    assert float(sign) == 1.0 and float(logdet) == 0.0
    assert gt.linalg.cholesky(gt.ones([2, 0, 0])).shape == (2, 0, 0)
    assert gt.linalg.solve(gt.ones([0, 2, 2]), gt.ones([0, 2, 3])).shape == (0, 2, 3)
    assert gt.linalg.triangular_solve(gt.eye(2), gt.ones([2, 0])).shape == (2, 0)


def test_slogdet_is_a_namedtuple_and_avoids_overflow():
    a = np.eye(200) * 1e3
    sign, logdet = gt.linalg.slogdet(a)
    r = gt.linalg.slogdet(a)
    assert type(r).__name__ == "LogMatrixDeterminant" and r.sign is not None
    assert float(sign) == 1.0 and np.isclose(float(logdet), 200 * np.log(1e3))
    assert float(gt.linalg.det(a)) == np.inf


def test_argument_errors_as_tensorflow():
    a = gt.ones([2, 3])
    for fn in (gt.linalg.inv, gt.linalg.det, gt.linalg.slogdet, gt.linalg.cholesky):
        with pytest.raises(gt.errors.InvalidArgumentError, match="square"):
            fn(a)
        with pytest.raises(gt.errors.InvalidArgumentError, match="rank >= 2"):
            fn(gt.ones([3]))
        with pytest.raises(gt.errors.InvalidArgumentError):
            fn(gt.constant([[1, 2], [3, 4]]))  # integers: not in TensorFlow's allowed dtypes
    eye = gt.eye(2)
    with pytest.raises(gt.errors.InvalidArgumentError, match="incompatible"):
        gt.linalg.solve(eye, gt.ones([3, 1]))
    with pytest.raises(gt.errors.InvalidArgumentError, match="same rank"):
        gt.linalg.solve(gt.eye(2, batch_shape=[3]), gt.ones([2, 1]))
    with pytest.raises(gt.errors.InvalidArgumentError, match="rank"):
        gt.linalg.solve(eye, gt.ones([2]))
    with pytest.raises(gt.errors.InvalidArgumentError, match="dtype"):
        gt.linalg.solve(eye, gt.ones([2, 1], F64))
    with pytest.raises(gt.errors.InvalidArgumentError, match="incompatible"):
        gt.linalg.triangular_solve(eye, gt.ones([3, 1]))
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.linalg.triangular_solve(gt.eye(2, batch_shape=[3]), gt.ones([2, 2, 1]))  # batch 3 vs 2
    # triangular_solve and cholesky_solve broadcast their batch dims, as TensorFlow's
    assert gt.linalg.triangular_solve(gt.eye(2, batch_shape=[3]), gt.ones([2, 1])).shape == (3, 2, 1)
    assert gt.linalg.cholesky_solve(gt.eye(2, batch_shape=[3]), gt.ones([2, 1])).shape == (3, 2, 1)


def test_batched_jacobians_through_the_rules():
    """jacobian and batch_jacobian run the rules with a batch of seeds (and forward mode with a
    batch of tangents): the matrix dims are named from the end."""
    rng = np.random.default_rng(5)
    a = gt.constant(rng.uniform(-1, 1, (2, 3, 3)) + 3 * np.eye(3))
    b = gt.constant(rng.uniform(-1, 1, (2, 3, 2)))
    for fn in (lambda a, b: gt.linalg.solve(a, b), lambda a, b: gt.linalg.triangular_solve(a, b, adjoint=True),
               lambda a, b: gt.linalg.cholesky_solve(gt.linalg.cholesky(a @ gt.transpose(a, [0, 2, 1])), b),
               lambda a, b: gt.linalg.inv(a) * gt.linalg.slogdet(a)[1][:, None, None] + gt.linalg.det(a)[:, None, None],
               lambda a, b: gt.linalg.eigh(a + gt.transpose(a, [0, 2, 1]))[1] ** 2 * gt.linalg.eigvalsh(a)[:, None, :],
               lambda a, b: gt.linalg.qr(a)[0] * 2.0 + gt.linalg.qr(gt.transpose(b, [0, 2, 1]))[1][:, :1, :],
               lambda a, b: gt.linalg.svd(a, compute_uv=False)[:, None, :] + gt.square(gt.linalg.svd(b)[1])[:, :, :1],
               lambda a, b: gt.linalg.set_diag(gt.linalg.band_part(a, 1, 0), gt.linalg.diag_part(a * a, k=(0, 1))[:, 0])
               + gt.linalg.trace(a)[:, None, None] + gt.tensordot(a, b, [[2], [1]])[:, :, 0, :1]):
        for mode in ("reverse", "forward"):
            with gt.GradientTape(persistent=True) as tape:
                tape.watch([a, b])
                y = fn(a, b)
            ja = tape.jacobian(y, a, experimental_mode=mode)
            theoretical, numerical = gt.test.compute_gradient(lambda x: fn(x, b), [a.numpy()])
            np.testing.assert_allclose(np.reshape(ja.numpy(), numerical[0].shape), numerical[0], rtol=1e-6, atol=1e-7)


def test_eigh_at_repeated_eigenvalues_is_finite_as_tensorflow():
    a = gt.constant(np.diag([1.0, 1.0, 2.0]))
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(a)
        e, v = gt.linalg.eigh(a)
        s1 = gt.reduce_sum(e * [1.0, 2.0, 3.0])
        s2 = gt.reduce_sum(gt.linalg.eigvalsh(a) * [1.0, 2.0, 3.0])
        s3 = gt.reduce_sum(v ** 2 * np.arange(9.0).reshape(3, 3))
    np.testing.assert_allclose(tape.gradient(s1, a).numpy(), np.diag([1.0, 2.0, 3.0]))  # TensorFlow's values
    np.testing.assert_allclose(tape.gradient(s2, a).numpy(), np.diag([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(tape.gradient(s3, a).numpy(), np.zeros((3, 3)))


def test_eigh_argument_errors():
    with pytest.raises(gt.errors.InvalidArgumentError, match="square"):
        gt.linalg.eigh(gt.ones([2, 3]))
    with pytest.raises(gt.errors.InvalidArgumentError, match="rank >= 2"):
        gt.linalg.eigvalsh(gt.ones([3]))
    e, v = gt.linalg.eigh(gt.ones([0, 0]))
    assert e.shape == (0,) and v.shape == (0, 0)


def test_qr_gradient_for_full_deep_matrices_is_not_implemented_as_tensorflow():
    a = gt.constant(np.arange(12.0).reshape(4, 3) + np.eye(4, 3))
    with gt.GradientTape() as tape:
        tape.watch(a)
        q, r = gt.linalg.qr(a, full_matrices=True)
    assert q.shape == (4, 4) and r.shape == (4, 3)
    with pytest.raises(NotImplementedError, match="full_matrices"):
        tape.gradient(q, a)
    np.testing.assert_allclose((q @ r).numpy(), a.numpy(), atol=1e-12)


def test_qr_signs_and_namedtuple_as_tensorflow():
    a = np.arange(12.0).reshape(4, 3) ** 1.5 + np.eye(4, 3)
    out = gt.linalg.qr(a)
    assert type(out).__name__ == "Qr"
    # TensorFlow 2.21's R for this matrix (Eigen's Householder signs)
    np.testing.assert_allclose(np.diag(out.r.numpy()), [-31.19294792, -3.00489231, -2.35237573], rtol=1e-8)
    q, r = gt.linalg.qr(np.zeros((3, 3)))
    np.testing.assert_array_equal(q.numpy(), np.eye(3))
    np.testing.assert_array_equal(r.numpy(), np.zeros((3, 3)))


def test_svd_with_full_matrices():
    """Reverse mode for |M - N| <= 1 (TensorFlow's limit, NotImplementedError beyond); forward
    mode only for the reduced decomposition and square matrices."""
    from op_table import _spread
    a = _spread(4, 3)(np.float64)
    for f in (lambda x: gt.square(gt.linalg.svd(x, full_matrices=True)[1]),
              lambda x: gt.square(gt.linalg.svd(gt.transpose(x), full_matrices=True)[2])):
        gt.test.check_gradients(f, [a], order=2)
    x = gt.constant(a)
    with pytest.raises(NotImplementedError, match="forward mode"):
        with gt.autodiff.ForwardAccumulator(x, gt.constant(np.ones_like(a))):
            gt.linalg.svd(x, full_matrices=True)
    wide = gt.constant(_spread(2, 5)(np.float64))
    with gt.GradientTape() as tape:
        tape.watch(wide)
        _, _, v = gt.linalg.svd(wide, full_matrices=True)
    with pytest.raises(NotImplementedError, match="abs"):
        tape.gradient(v, wide)


def test_svd_of_rank_deficient_and_empty_matrices():
    s, u, v = gt.linalg.svd(np.ones((3, 3)), full_matrices=True)
    np.testing.assert_allclose(s.numpy(), [3.0, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(u.numpy().T @ u.numpy(), np.eye(3), atol=1e-15)
    np.testing.assert_allclose(v.numpy().T @ v.numpy(), np.eye(3), atol=1e-15)
    assert gt.linalg.svd(np.ones((2, 0, 3)), compute_uv=False).shape == (2, 0)
    s, u, v = gt.linalg.svd(np.ones((0, 3)))
    assert s.shape == (0,) and u.shape == (0, 0) and v.shape == (3, 0)
    s, u, v = gt.linalg.svd(np.array([[[np.nan, 1.0], [0.0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]]))
    assert np.all(np.isnan(s.numpy()[0])) and np.all(np.isnan(u.numpy()[0])) and np.all(np.isnan(v.numpy()[0]))
    np.testing.assert_allclose(s.numpy()[1], [2.0, 1.0])


@pytest.mark.parametrize("shape,full", [((40, 40), False), ((50, 20), True), ((20, 50), False), ((3, 30, 17), True),
                                        ((12, 12), False)])
def test_svd_of_big_matrices_through_lapack(shape, full):
    # from order 16 on the SVD is LAPACK's dgesdd (kernels/lapack.h): the same factors up to
    # the signs of the singular vectors, and the gradient rule sees the same layout
    a = np.random.default_rng(7).standard_normal(shape)
    s, u, v = gt.linalg.svd(gt.constant(a), full_matrices=full)
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(a, compute_uv=False), rtol=1e-12, atol=1e-12)
    k = min(shape[-2:])
    back = (u.numpy()[..., :k] * s.numpy()[..., None, :]) @ np.swapaxes(v.numpy()[..., :k], -1, -2)
    np.testing.assert_allclose(back, a, atol=1e-12)
    for q in (u.numpy(), v.numpy()):  # orthonormal columns, completed when full_matrices
        np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(q.shape[-1]), q.shape[:-2] + (q.shape[-1],) * 2), atol=1e-12)


@pytest.mark.parametrize("n", [11, 12, 40])
def test_eigh_of_big_matrices_through_lapack(n):
    # from order 12 on eigh is LAPACK's dsyevd: ascending eigenvalues as NumPy's, orthonormal
    # eigenvectors, and the gradient of the smallest eigenvalue is v v^T (lower triangle, as TF)
    a = np.random.default_rng(n).standard_normal((n, n))
    x = gt.Variable(a)
    with gt.GradientTape() as tape:
        e, v = gt.linalg.eigh(x)
        smallest = e[0]
    np.testing.assert_allclose(e.numpy(), np.linalg.eigvalsh(np.tril(a) + np.tril(a, -1).T), rtol=1e-12, atol=1e-12)
    vv = v.numpy()
    np.testing.assert_allclose(vv.T @ vv, np.eye(n), atol=1e-12)
    g = tape.gradient(smallest, x).numpy()
    outer = np.outer(vv[:, 0], vv[:, 0])
    np.testing.assert_allclose(g, np.tril(2 * outer - np.diag(np.diag(outer))), atol=1e-12)


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-160, 1.0, 1e77, 1e154, 1e200, 1e300])
def test_jacobi_paths_hold_at_every_scale(scale):
    # orders below LAPACK's threshold (Jacobi): the sums of squares ran out of range from 1e154
    # (svd from 1e77) and under 1e-160; the loops now work on the matrix scaled by a power of two
    a = np.array([[1.0, 2.0], [3.0, 4.0]]) * scale
    np.testing.assert_allclose(gt.linalg.svd(gt.constant(a), compute_uv=False).numpy() / scale,
                               np.linalg.svd(a / scale, compute_uv=False), rtol=1e-14)
    b = np.array([[2.0, 5.0], [5.0, 8.0]]) * scale
    np.testing.assert_allclose(gt.linalg.eigvalsh(gt.constant(b)).numpy() / scale, np.linalg.eigvalsh(b / scale),
                               rtol=1e-14)


@pytest.mark.parametrize("shape", [(20, 15), (15, 14), (17, 14), (12, 10), (10, 12), (14, 15), (30, 5), (6, 1)])
def test_full_matrices_completes_an_orthogonal_basis(shape):
    # the completion picked the first unit vector keeping half its length, and sometimes found
    # none: a zero column; it now picks the best one
    for seed in range(4):
        a = np.random.default_rng(seed).standard_normal(shape)
        _, u, v = gt.linalg.svd(gt.constant(a), full_matrices=True)
        for q in (u.numpy(), v.numpy()):
            np.testing.assert_allclose(q.T @ q, np.eye(q.shape[1]), atol=1e-12)
