"""softplus and sigmoid in float32 (cpp/src/kernels/logistic.h: exp(-|x|) and log1p on [0, 1]
computed inline) against a float64 reference, in ulps of float32, over a sample of every
stretch of the float32 line (every 997th bit pattern, plus the special values). The exhaustive
check over all 2^32 floats is bench/ulp_logistic.cpp (bench/README.md gives its figures: exp
within 1.01 ulp and log1p within 1.00; softplus within 1.71 and sigmoid within 2.83 ulp, the
formulas' composition of those errors. With libmvec's expf and log1pf before: 2.64, 1.96, 3.42
and 4.13 ulp)."""
import numpy as np

import gradtape as gt


def ulps(got, ref):
    """|got - ref| in units of the float32 ulp at |ref| (2^-149 for subnormals)."""
    a = np.abs(ref)
    ex = np.floor(np.log2(np.maximum(a, 2.0 ** -126)))
    ulp = np.exp2(ex - 23)
    return np.abs(got.astype(np.float64) - ref) / ulp


def sample():
    bits = np.arange(0, 2 ** 32, 997, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    return x[np.isfinite(x)]


def reference(x):
    xd = x.astype(np.float64)
    e = np.exp(-np.abs(xd))
    return np.log1p(e) + np.maximum(xd, 0.0), np.where(xd >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def test_softplus_and_sigmoid_float32_within_a_few_ulp():
    x = sample()
    sp_ref, sg_ref = reference(x)
    for fusion in (True, False):
        gt.config.set_fusion(fusion)
        try:
            sp = gt.nn.softplus(gt.constant(x)).numpy()
            sg = gt.sigmoid(gt.constant(x)).numpy()
        finally:
            gt.config.set_fusion(True)
        assert ulps(sp, sp_ref).max() <= 2.0
        assert ulps(sg, sg_ref).max() <= 3.0


def test_softplus_and_sigmoid_special_values():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-45, -1e-45, 88.0, -88.0, 104.0, -104.0, 200.0, -200.0],
                 np.float32)
    sp = gt.nn.softplus(gt.constant(x)).numpy()
    sg = gt.sigmoid(gt.constant(x)).numpy()
    ln2 = np.float32(np.log(2.0))
    np.testing.assert_array_equal(sp[:5], np.array([np.inf, 0.0, np.nan, ln2, ln2], np.float32))
    np.testing.assert_array_equal(sg[:5], np.array([1.0, 0.0, np.nan, 0.5, 0.5], np.float32))
    sp_ref, sg_ref = reference(x[5:])
    assert ulps(sp[5:], sp_ref).max() <= 2.0
    assert ulps(sg[5:], sg_ref).max() <= 3.0
    assert sp[-1] == 0.0 and sg[-1] == 0.0  # exp(-200) underflows to 0
