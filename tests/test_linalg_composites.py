"""gt.linalg.lstsq and gt.linalg.expm (composites of the core's linear algebra): values against
TensorFlow 2.21's answers (stored below, from /work/tfenv), gradients against float64 central
differences (TensorFlow's lstsq has no gradient; gradtape's has one), errors."""
import numpy as np
import pytest

import gradtape as gt

# TensorFlow 2.21's values for the inputs made below (rng seed 7, in this order).
LSTSQ_OVER = [[[0.47314112684844717, -0.6654641645567035], [0.605422219960101, -0.04260079282814764], [0.4403828477593666, 1.444369939133562]], [[0.7377766967462082, -0.3011373541266609], [-0.30191227106394175, 0.520777050932916], [-0.06859070802541559, -0.1477620481290626]]]
LSTSQ_OVER_REG = [[[0.3394481562337882, -0.21670607530999184], [0.4970763808089218, -0.058437049558742744], [0.33055614149766743, 0.8362963479864247]], [[0.6047685145941902, -0.23848400427014677], [-0.23357692923763018, 0.4271770468442257], [-0.05089382301392126, -0.12652171574697843]]]
LSTSQ_UNDER = [[0.0037758849724936205, 0.08774057288298709], [0.5007904811622529, -1.046224893758959], [0.2813116401657484, -0.5798021657289244], [0.5975893095119438, -0.46776804678248407], [-0.1903383375502652, 0.5820546025417039]]
LSTSQ_UNDER_REG = [[0.011147837172189808, 0.07841954892316985], [0.4006412958676118, -0.8220859633543376], [0.22254703388561564, -0.4263545952499526], [0.5643452849701688, -0.4684597586995628], [-0.1267015347896905, 0.3870169285127139]]
LSTSQ_SLOW_OVER = [[[0.47314112684844756, -0.6654641645567035], [0.6054222199601008, -0.04260079282814775], [0.44038284775936626, 1.4443699391335616]], [[0.7377766967462075, -0.3011373541266606], [-0.3019122710639414, 0.5207770509329157], [-0.0685907080254155, -0.14776204812906268]]]
LSTSQ_SLOW_UNDER = [[0.003775884972493579, 0.08774057288298703], [0.5007904811622528, -1.046224893758959], [0.2813116401657484, -0.5798021657289244], [0.5975893095119437, -0.46776804678248407], [-0.19033833755026497, 0.5820546025417038]]
EXPM = [[[0.027660723084531408, -0.28767862043385506, -0.016484894894207614], [0.9063617327350167, 1.8191739983742419, -1.0713431569760095], [-0.6605105593632489, -0.6413612965230362, 4.756370255332679]], [[1.1842375285998679, -23.92911575996127, 88.68902990218228], [-2.347065071662095, 55.616521264198354, -206.72136408509468], [3.2767451182869918, -80.35471086080862, 299.73369754926966]]]
EXPM32 = [[-23358.640625, -26155.0078125, 138560.171875], [482809.125, 540535.375, -2864452.0], [-1435706.25, -1607291.625, 8518375.0]]
EXPM_GRAD = [[[-0.30119328758791586, 0.2192551469318756, 3.1518454597210255], [0.20695426645099385, 4.7115808045914225, 9.900357992737096], [4.318405293268721, 20.053966259669384, 29.506399090416878]], [[98.01312386231108, -214.64249860081702, 323.9025719377156], [-90.12053475002313, -77.98955517342347, -133.67682587248237], [895.9030086854254, -1000.8324359551625, 2386.6223001152357]]]

_rng = np.random.default_rng(7)
A = _rng.normal(size=(2, 5, 3))
B = _rng.normal(size=(2, 5, 2))
U = _rng.normal(size=(3, 5))
V = _rng.normal(size=(3, 2))
M = _rng.normal(size=(2, 3, 3))
M[1] *= 4.0


@pytest.mark.parametrize("args, kwargs, want", [
    ((A, B), {}, LSTSQ_OVER),
    ((A, B), {"l2_regularizer": 0.7}, LSTSQ_OVER_REG),
    ((U, V), {}, LSTSQ_UNDER),
    ((U, V), {"l2_regularizer": 0.3}, LSTSQ_UNDER_REG),
    ((A, B), {"fast": False}, LSTSQ_SLOW_OVER),
    ((U, V), {"fast": False}, LSTSQ_SLOW_UNDER),
])
def test_lstsq_values(args, kwargs, want):
    got = gt.linalg.lstsq(*[gt.constant(a) for a in args], **kwargs)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-13)


def test_expm_values_and_gradient():
    np.testing.assert_allclose(gt.linalg.expm(gt.constant(M)).numpy(), EXPM, rtol=1e-12, atol=1e-13)
    got32 = gt.linalg.expm(gt.constant(M[0].astype(np.float32)) * 10.0)
    assert got32.dtype == gt.float32
    np.testing.assert_allclose(got32.numpy(), EXPM32, rtol=2e-5)
    m = gt.constant(M)
    with gt.GradientTape() as tape:
        tape.watch(m)
        y = gt.reduce_sum(gt.linalg.expm(m) * gt.constant(np.arange(18.0).reshape(2, 3, 3)))
    np.testing.assert_allclose(tape.gradient(y, m).numpy(), EXPM_GRAD, rtol=1e-9)
    np.testing.assert_allclose(gt.linalg.expm(gt.zeros([0, 2, 2])).shape, (0, 2, 2))


@pytest.mark.parametrize("fn, inputs", [
    (lambda a, b: gt.linalg.lstsq(a, b), (A[0], B[0])),
    (lambda a, b: gt.linalg.lstsq(a, b, l2_regularizer=0.5), (A[1], B[1])),
    (lambda a, b: gt.linalg.lstsq(a, b), (U, V)),
    (lambda a, b: gt.linalg.lstsq(a, b, fast=False), (A[0], B[0])),
    (lambda a, b: gt.linalg.lstsq(a, b, fast=False), (U, V)),
    (lambda a: gt.linalg.expm(a), (M[0] * 0.5,)),
    (lambda a: gt.linalg.expm(a), (M[1],)),   # scaled and squared
])
def test_gradients_against_central_differences(fn, inputs):
    for theoretical, numerical in zip(*gt.test.compute_gradient(fn, [gt.constant(x) for x in inputs])):
        np.testing.assert_allclose(theoretical, numerical, rtol=1e-6, atol=1e-7)


def test_errors():
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.linalg.lstsq(gt.constant(A), gt.constant(B[:, :4]))
    with pytest.raises(ValueError):
        gt.linalg.lstsq(gt.constant([1.0, 2.0]), gt.constant([1.0, 2.0]))
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.linalg.expm(gt.constant([[1.0, 2.0]]))
    with pytest.raises(gt.errors.InvalidArgumentError):
        gt.linalg.expm(gt.constant([1.0, 2.0]))
