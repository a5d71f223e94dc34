"""The direct float32 convolution (kernels/conv_direct.cpp: float32, a multiple of 16 output
channels; the input's gradient when the stride is 1 and the input has a multiple of 16
channels) against a float64 NumPy reference, forward and both gradients, on the geometries it
takes: strides, dilations, SAME/VALID/explicit padding, odd and non-square sizes, batch 1, any
number of input channels, more output channels than one register block holds (48, 64), windows
wider than the image; and the cases next to them that keep the im2col + GEMM path (15 output
channels, an input gradient with a stride or padding larger than the window)."""
import numpy as np
import pytest

import gradtape as gt


def _pads(size, k, s, d, padding, explicit):
    eff = (k - 1) * d + 1
    if padding == "SAME":
        out = -(-size // s)
        total = max((out - 1) * s + eff - size, 0)
        return total // 2, total - total // 2
    if padding == "VALID":
        return 0, 0
    return explicit


def _reference(x, f, g, strides, dilations, padding, explicit=((0, 0), (0, 0))):
    """conv2d NHWC/HWIO in float64 and its two gradients for the output gradient g."""
    x, f = x.astype(np.float64), f.astype(np.float64)
    n, h, w, c = x.shape
    kh, kw, _, o = f.shape
    (sh, sw), (dh, dw) = strides, dilations
    pt, pb = _pads(h, kh, sh, dh, padding, explicit[0])
    pl, pr = _pads(w, kw, sw, dw, padding, explicit[1])
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    oh = (h + pt + pb - (kh - 1) * dh - 1) // sh + 1
    ow = (w + pl + pr - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((n, oh, ow, o))
    gf = np.zeros_like(f)
    gxp = np.zeros_like(xp)
    g = None if g is None else g.astype(np.float64)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
            patch = xp[:, rows, cols, :]
            out += patch @ f[i, j]
            if g is not None:
                gf[i, j] = patch.reshape(-1, c).T @ g.reshape(-1, o)
                gxp[:, rows, cols, :] += g @ f[i, j].T
    return out, gxp[:, pt:pt + h, pl:pl + w, :], gf


CASES = [
    # n, h, w, c, o, kh, kw, strides, dilations, padding, explicit
    (1, 7, 5, 3, 16, 3, 3, (1, 1), (1, 1), "SAME", None),
    (2, 28, 28, 1, 32, 3, 3, (1, 1), (1, 1), "SAME", None),
    (3, 13, 11, 32, 32, 3, 3, (1, 1), (1, 1), "SAME", None),
    (2, 9, 11, 32, 32, 3, 3, (2, 2), (1, 1), "SAME", None),
    (3, 10, 8, 5, 48, 3, 2, (1, 2), (2, 1), "VALID", None),
    (2, 6, 7, 16, 64, 5, 5, (1, 1), (1, 1), "SAME", None),
    (1, 9, 9, 16, 16, 3, 3, (1, 1), (2, 2), "EXPLICIT", ((2, 1), (0, 3))),
    (2, 5, 6, 16, 32, 2, 2, (1, 1), (1, 1), "EXPLICIT", ((3, 0), (1, 2))),  # pad > window: im2col for gx
    (2, 8, 8, 32, 16, 1, 1, (2, 2), (1, 1), "VALID", None),
    (1, 4, 3, 7, 32, 5, 5, (1, 1), (1, 1), "SAME", None),  # window wider than the image
    (4, 12, 12, 17, 32, 3, 3, (3, 2), (1, 1), "SAME", None),
    (2, 9, 9, 32, 15, 3, 3, (1, 1), (1, 1), "SAME", None),  # not a multiple of 16: im2col
]


@pytest.mark.parametrize("case", CASES)
def test_direct_conv_matches_float64(case):
    n, h, w, c, o, kh, kw, strides, dilations, padding, explicit = case
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    f = rng.standard_normal((kh, kw, c, o)).astype(np.float32)
    pad_arg = padding
    if padding == "EXPLICIT":
        pad_arg = [[0, 0], list(explicit[0]), list(explicit[1]), [0, 0]]
    want, _, _ = _reference(x, f, None, strides, dilations, padding, explicit or ((0, 0), (0, 0)))
    gy = rng.standard_normal(want.shape).astype(np.float32)
    want, want_gx, want_gf = _reference(x, f, gy, strides, dilations, padding, explicit or ((0, 0), (0, 0)))
    X, F = gt.Variable(x), gt.Variable(f)
    with gt.GradientTape() as tape:
        y = gt.nn.conv2d(X, F, list(strides), pad_arg, dilations=list(dilations))
    gx, gf = tape.gradient(y, [X, F], output_gradients=gt.constant(gy))
    scale = np.sqrt(kh * kw * c)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(gx.numpy(), want_gx, rtol=1e-4, atol=1e-5 * np.sqrt(kh * kw * o))
    np.testing.assert_allclose(gf.numpy(), want_gf, rtol=1e-4, atol=1e-5 * np.sqrt(n * want.shape[1] * want.shape[2]))


def test_direct_conv_agrees_with_float64_path_nchw_and_nonfinite():
    """NCHW goes through transposes to the same kernel; an inf or NaN in the input reaches
    exactly the outputs whose windows hold it, as in the im2col path."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 16, 6, 7)).astype(np.float32)
    f = rng.standard_normal((3, 3, 16, 32)).astype(np.float32)
    y32 = gt.nn.conv2d(gt.constant(x), gt.constant(f), 1, "SAME", data_format="NCHW").numpy()
    y64 = gt.nn.conv2d(gt.constant(x.astype(np.float64)), gt.constant(f.astype(np.float64)), 1, "SAME",
                       data_format="NCHW").numpy()
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-4)
    xn = np.transpose(x, (0, 2, 3, 1)).copy()
    xn[0, 2, 3, 5] = np.inf
    y = gt.nn.conv2d(gt.constant(xn), gt.constant(f), 1, "SAME").numpy()
    bad = ~np.isfinite(y)
    assert bad[0, 1:4, 2:5].all() and bad.sum() == 9 * 32
