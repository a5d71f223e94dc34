"""The blocked convolution (conv2d_nhwc) and the max-pool primitive (max_pool_nhwc) on the
shapes their fast paths take: a batch of several blocks, the first layer's single channel, and
max-pool ties in overlapping windows (expected values from TensorFlow 2.21's MaxPoolGrad: the
window's first largest element gets the gradient)."""
import numpy as np

import gradtape as gt


def _cols(x, k, pad):
    p = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    n, h, w, _ = x.shape
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    return np.concatenate([p[:, i:i + oh, j:j + ow] for i in range(k) for j in range(k)], axis=3)


def _col2im(gc, shape, k, pad):
    n, h, w, c = shape
    p = np.zeros((n, h + 2 * pad, w + 2 * pad, c))
    oh, ow = gc.shape[1:3]
    for t in range(k * k):
        i, j = divmod(t, k)
        p[:, i:i + oh, j:j + ow] += gc[..., t * c:(t + 1) * c]
    return p[:, pad:pad + h, pad:pad + w]


def test_blocked_conv_and_both_gradients_match_float64_im2col():
    rng = np.random.default_rng(3)
    for (n, h, c, o) in [(9, 20, 32, 8), (5, 12, 1, 32)]:  # several blocks; one input channel
        x = rng.standard_normal((n, h, h, c)).astype(np.float32)
        f = rng.standard_normal((3, 3, c, o)).astype(np.float32)
        gy = rng.standard_normal((n, h, h, o)).astype(np.float32)
        X, F = gt.Variable(x), gt.Variable(f)
        with gt.GradientTape() as tape:
            y = gt.nn.conv2d(X, F, 1, "SAME")
        gx, gf = tape.gradient(y, [X, F], output_gradients=gt.constant(gy))
        cols = _cols(x.astype(np.float64), 3, 1)
        w2 = f.astype(np.float64).reshape(-1, o)
        g64 = gy.astype(np.float64)
        np.testing.assert_allclose(y.numpy(), cols @ w2, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(gf.numpy(), (cols.reshape(-1, cols.shape[-1]).T @ g64.reshape(-1, o)).reshape(f.shape),
                                   rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(gx.numpy(), _col2im(g64 @ w2.T, x.shape, 3, 1), rtol=1e-4, atol=1e-4)


def test_blocked_conv_second_order_goes_through_the_recorded_rule():
    rng = np.random.default_rng(4)
    x = gt.Variable(rng.standard_normal((2, 5, 5, 2)))
    f = gt.Variable(rng.standard_normal((3, 3, 2, 3)))
    with gt.GradientTape() as outer:
        with gt.GradientTape() as inner:
            y = gt.reduce_sum(gt.nn.conv2d(x, f, 1, "SAME") ** 2)
        gx = inner.gradient(y, x)
        s = gt.reduce_sum(gx * gx)
    gf = outer.gradient(s, f)
    eps, fv = 1e-6, f.numpy()
    def s_of(fw):
        cols = _cols(x.numpy(), 3, 1)
        out = cols @ fw.reshape(-1, 3)
        g = _col2im(2 * out @ fw.reshape(-1, 3).T, x.shape, 3, 1)
        return float((g * g).sum())
    d = np.zeros_like(fv)
    for idx in np.ndindex(fv.shape):
        e = np.zeros_like(fv); e[idx] = eps
        d[idx] = (s_of(fv + e) - s_of(fv - e)) / (2 * eps)
    np.testing.assert_allclose(gf.numpy(), d, rtol=1e-5, atol=1e-6)


def test_max_pool_ties_go_to_the_first_largest_as_tensorflow():
    x = np.array([[1, 3, 3, 0], [3, 2, 1, 1], [5, 5, 7, 7], [5, 5, 7, 7]], np.float32).reshape(1, 4, 4, 1)
    v = gt.Variable(x)
    with gt.GradientTape() as tape:
        y = gt.nn.max_pool2d(v, 2, 2, "VALID")
    assert y.numpy().ravel().tolist() == [3, 3, 5, 7]
    assert tape.gradient(y, v).numpy().reshape(4, 4).tolist() == [[0, 1, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    x = np.array([[1, 3, 3, 0, 3], [3, 2, 3, 1, 1], [5, 5, 7, 7, 0]], np.float32).reshape(1, 3, 5, 1)
    v = gt.Variable(x)
    with gt.GradientTape() as tape:
        y = gt.nn.max_pool2d(v, 3, 1, "SAME")  # overlapping windows share their argmax: summed
    assert tape.gradient(y, v).numpy().reshape(3, 5).tolist() == [[0, 3, 1, 0, 1], [0, 0, 0, 0, 0], [2, 0, 6, 2, 0]]


def test_max_pool_unpicked_positions_are_structural_zeros():
    # an inf local derivative (sqrt at 0) at a position no window picked stays out of the
    # gradient (the mask from the saved indices); at a picked one it comes through
    z = np.array([[0, 4, 1, 0], [0, 0, 0, 9], [0, 0, 16, 0], [0, 0, 0, 0]], np.float64).reshape(1, 4, 4, 1)
    v = gt.Variable(z)
    with gt.GradientTape() as tape:
        y = gt.reduce_sum(gt.nn.max_pool2d(gt.sqrt(v), 2, 2, "VALID"))
    g = tape.gradient(y, v).numpy().reshape(4, 4)
    want = np.zeros((4, 4))
    want[0, 1], want[1, 3], want[2, 2] = 0.25, 1 / 6, 0.125
    want[2, 0] = np.inf  # the all-zero window picks its first element, where sqrt' is inf
    np.testing.assert_array_equal(g, want)


def _max_pool_2x2_reference(x):
    """Each 2x2 window's first largest element (a NaN wins over numbers and keeps its place) and
    its flat index, windows wholly inside x (VALID, stride 2)."""
    n, h, w, c = x.shape
    oh, ow = h // 2, w // 2
    val = np.zeros((n, oh, ow, c), x.dtype)
    at = np.zeros((n, oh, ow, c), np.int64)
    for b, i, j, ch in np.ndindex(n, oh, ow, c):
        best, pos = None, None
        for di, dj in ((0, 0), (0, 1), (1, 0), (1, 1)):
            v = x[b, 2 * i + di, 2 * j + dj, ch]
            if best is None or v > best or (np.isnan(v) and not np.isnan(best)):
                best, pos = v, np.ravel_multi_index((b, 2 * i + di, 2 * j + dj, ch), x.shape)
        val[b, i, j, ch], at[b, i, j, ch] = best, pos
    return val, at


def test_max_pool_2x2_path_on_odd_sizes_ties_nan_and_signed_zeros():
    # the 2x2 / stride 2 kernels (kernels/im2col.h: pool_is_2x2_tiling) against a reference:
    # odd sizes (a last row and column no window covers), ties (few distinct values), NaNs, and
    # an upstream -0 (the scatter's 0 + g makes it +0, as the general path's sum does)
    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float64):
        for (n, h, w, c) in [(2, 5, 7, 3), (3, 8, 6, 32), (1, 3, 3, 17)]:
            x = rng.integers(-2, 3, size=(n, h, w, c)).astype(dtype)
            x[rng.random(x.shape) < 0.05] = np.nan
            g = rng.standard_normal((n, h // 2, w // 2, c)).astype(dtype)
            g[rng.random(g.shape) < 0.2] = -0.0
            v = gt.Variable(x)
            with gt.GradientTape() as tape:
                y = gt.nn.max_pool2d(v, 2, 2, "VALID")
            gx = tape.gradient(y, v, output_gradients=gt.constant(g)).numpy()
            val, at = _max_pool_2x2_reference(x)
            np.testing.assert_array_equal(y.numpy(), val)
            want = np.zeros(x.size, dtype)
            np.add.at(want, at.ravel(), g.ravel())
            want = want.reshape(x.shape)
            np.testing.assert_array_equal(gx, want)
            assert not np.signbit(gx[gx == 0]).any()
            # the same gradient, bit for bit, from the general rule (gather_grad: a recorded rule)
            with gt.GradientTape() as outer:
                outer.watch(v)
                with gt.GradientTape() as tape:
                    y = gt.nn.max_pool2d(v, 2, 2, "VALID")
                gx2 = tape.gradient(y, v, output_gradients=gt.constant(g))
            np.testing.assert_array_equal(gx2.numpy().view(np.uint8), gx.view(np.uint8))


def test_max_pool_2x2_path_equals_the_general_path_on_even_sizes():
    # 'SAME' on an odd size pads after, so its windows leave the input and take the general
    # loop; on the even part they are the same windows as the 2x2 path's
    rng = np.random.default_rng(8)
    x = rng.integers(-3, 4, size=(2, 7, 9, 5)).astype(np.float32)
    x[0, 2, 2, 1] = np.nan
    same = gt.nn.max_pool2d(gt.constant(x), 2, 2, "SAME").numpy()
    valid = gt.nn.max_pool2d(gt.constant(x), 2, 2, "VALID").numpy()
    np.testing.assert_array_equal(same[:, :3, :4], valid)


def test_rules_that_keep_exact_zeros_still_carry_the_mask():
    # relu, add and the max pool leave +0 at the structural positions without a where (when no
    # tape records the rule); the mask must still reach sqrt's rule, whose inf at 0 stays out
    z = np.array([[0, 4, 1, 0], [0, 0, 0, 9], [0, 0, 16, 0], [1, 0, 0, 0]], np.float64).reshape(1, 4, 4, 1)
    v = gt.Variable(z)
    b = gt.Variable(np.zeros(1))
    with gt.GradientTape() as tape:
        h = gt.nn.relu(gt.sqrt(v) + b)
        y = gt.reduce_sum(gt.nn.max_pool2d(h, 2, 2, "VALID"))
    g, gb = tape.gradient(y, [v, b])
    g = g.numpy().reshape(4, 4)
    want = np.zeros((4, 4))
    want[0, 1], want[1, 3], want[2, 2], want[3, 0] = 0.25, 1 / 6, 0.125, 0.5
    np.testing.assert_array_equal(g, want)
    assert not np.signbit(g).any()
    assert gb.numpy().tolist() == [4.0]
    # at second order the where is recorded: the same first derivative
    with gt.GradientTape() as outer:
        with gt.GradientTape() as tape:
            h = gt.nn.relu(gt.sqrt(v) + b)
            y = gt.reduce_sum(gt.nn.max_pool2d(h, 2, 2, "VALID"))
        g2 = tape.gradient(y, v)
    np.testing.assert_array_equal(g2.numpy().reshape(4, 4), want)


def test_relu_rule_one_pass_equals_the_ops():
    # relu's unrecorded rule (one pass) gives where(x > 0, g, 0)'s bits: NaN, +-0, +-inf in the
    # input and in g (a -0 of g passes as -0)
    rng = np.random.default_rng(9)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal(4099).astype(dtype)
        x[:6] = [np.nan, 0.0, -0.0, np.inf, -np.inf, 1.0]
        g = rng.standard_normal(4099).astype(dtype)
        g[6:12] = [np.nan, 0.0, -0.0, np.inf, -np.inf, np.nan]
        x[6:12] = 1.0
        v = gt.Variable(x)
        with gt.GradientTape() as tape:
            y = gt.nn.relu(v)
        fast = tape.gradient(y, v, output_gradients=gt.constant(g)).numpy()
        want = np.where(x > 0, g, 0).astype(dtype)
        np.testing.assert_array_equal(fast.view(np.uint8), want.view(np.uint8))
