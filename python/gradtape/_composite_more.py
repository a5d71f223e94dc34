"""More of TensorFlow's tf.math, tf.nn and tf.linalg functions that TensorFlow writes in Python
over its primitive ops (after _composite.py's): the segment reductions that had no primitive
(unsorted_segment_max/min/prod/mean/sqrt_n, segment_prod), polyval, lbeta, the monotonicity
tests, scalar_mul, reciprocal_no_nan, logical_xor, zero_fraction, in_top_k, bincount,
confusion_matrix, histograms, the moments helpers and space_to_depth of tf.nn, and pinv, logdet,
matrix_rank, normalize, tensor_diag and the transposes of tf.linalg.

Differentiable ones are compositions of gradtape ops in TensorFlow's order where TensorFlow
writes them that way, so the tape differentiates them; counting functions (bincount, histograms,
in_top_k, confusion_matrix) are NumPy's on the values and have no gradient, as in TensorFlow.
"""
import functools

import numpy as np

from . import _core

from ._composite import _FLOATS, _ints, _scalar_int, _tensor

_INTS = ("int32", "int64")


# --------------------------------------------------------------------------- segments

class _Segments:
    """segment_ids read once: which rows are kept (ids >= 0; TensorFlow's unsorted_segment_*
    drop negative ids), the kept rows in order of their id, and each segment's count."""

    def __init__(self, data, segment_ids, num_segments, name):
        self.data = _tensor(data)
        ids = _ints(segment_ids, "segment_ids")
        self.num = _scalar_int(num_segments, "num_segments")
        if self.num < 0:
            raise _core.InvalidArgumentError("%s: num_segments must be non-negative, got %d" % (name, self.num))
        if tuple(self.data.shape[:ids.ndim]) != ids.shape:
            raise _core.InvalidArgumentError("%s: segment_ids.shape %s must be a prefix of data.shape %s"
                                             % (name, list(ids.shape), list(self.data.shape)))
        flat = ids.reshape(-1)
        too_big = np.nonzero(flat >= self.num)[0]
        if too_big.size:
            raise _core.InvalidArgumentError("segment_ids[%d] = %d is out of range [0, %d)"
                                             % (too_big[0], flat[too_big[0]], self.num))
        self.inner = list(self.data.shape[ids.ndim:])
        kept = np.nonzero(flat >= 0)[0]
        order = kept[np.argsort(flat[kept], kind="stable")]
        self.sorted_ids = flat[order]
        self.counts = np.bincount(self.sorted_ids, minlength=self.num)
        self._order, self._n_rows = order, flat.size

    @functools.cached_property
    def rows(self):
        """The kept rows of data, in order of their id (gathered only by the ops that need them:
        mean and sqrt_n take only the counts)."""
        rows = _core.reshape(self.data, [self._n_rows] + self.inner)
        return _core.gather(rows, _core.constant(self._order, dtype="int64"))

    def finish(self, per_segment, empty):
        """The result of a sorted-segment op over self.rows (one row per id up to the largest
        kept), with `empty` where a segment has no rows and up to num_segments rows."""
        n = per_segment.shape[0]
        full = _core.fill([self.num] + self.inner, _core.constant(empty, dtype=self.data.dtype))
        out = _core.concat([per_segment, full[n:]], axis=0) if self.num > n else per_segment
        present = (self.counts > 0).reshape([self.num] + [1] * len(self.inner))
        return _core.where(_core.constant(present), out, full)


def _extreme(dtype, lowest):
    d = np.dtype(dtype.as_numpy_dtype)
    info = np.finfo(d) if d.kind == "f" else np.iinfo(d)
    return info.min if lowest else info.max


def unsorted_segment_max(data, segment_ids, num_segments, name=None):
    """The maximum of data's rows of each segment id in [0, num_segments); the lowest value of
    the dtype for an empty segment; negative ids dropped (tf.math.unsorted_segment_max).
    The gradient goes to the maximal rows, split evenly between ties.

    >>> gt.math.unsorted_segment_max([1.0, 5.0, 3.0], [0, 0, 2], 3).numpy()
    array([ 5.0000000e+00, -3.4028235e+38,  3.0000000e+00], dtype=float32)
    """
    seg = _Segments(data, segment_ids, num_segments, "unsorted_segment_max")
    return seg.finish(_core.segment_max(seg.rows, seg.sorted_ids), _extreme(seg.data.dtype, True))


def unsorted_segment_min(data, segment_ids, num_segments, name=None):
    """The minimum of data's rows of each segment id; the largest value of the dtype for an empty
    segment (tf.math.unsorted_segment_min).

    >>> gt.math.unsorted_segment_min([1, 5, 3], [0, 0, 2], 3).numpy()
    array([         1, 2147483647,          3], dtype=int32)
    """
    seg = _Segments(data, segment_ids, num_segments, "unsorted_segment_min")
    return seg.finish(_core.segment_min(seg.rows, seg.sorted_ids), _extreme(seg.data.dtype, False))


def unsorted_segment_prod(data, segment_ids, num_segments, name=None):
    """The product of data's rows of each segment id; 1 for an empty segment
    (tf.math.unsorted_segment_prod). Exact products (no logarithms): zeros and signs are
    differentiated as reduce_prod's.

    >>> gt.math.unsorted_segment_prod([2.0, 3.0, 4.0], [0, 0, 2], 3).numpy()
    array([6., 1., 4.], dtype=float32)
    """
    seg = _Segments(data, segment_ids, num_segments, "unsorted_segment_prod")
    width = int(seg.counts.max()) if seg.counts.size else 0
    one = _core.constant(1, dtype=seg.data.dtype)
    if width == 0:
        return _core.fill([seg.num] + seg.inner, one)
    # each segment's rows side by side in a [num_segments, width, ...] block padded with ones,
    # multiplied along axis 1 -- while that block stays within a few times the data; past that
    # (very uneven segments) one reduce_prod per non-empty segment
    if seg.num * width <= 4 * seg.sorted_ids.size + 64:
        starts = np.concatenate([[0], np.cumsum(seg.counts)[:-1]])
        position = np.arange(seg.sorted_ids.size) - starts[seg.sorted_ids]
        where = _core.constant(np.stack([seg.sorted_ids, position], axis=1), dtype="int64")
        block = _core.tensor_scatter_nd_update(_core.fill([seg.num, width] + seg.inner, one), where, seg.rows)
        return _core.reduce_prod(block, 1)
    bounds = np.concatenate([[0], np.cumsum(seg.counts)])
    present = np.nonzero(seg.counts)[0]
    prods = _core.stack([_core.reduce_prod(seg.rows[int(bounds[s]):int(bounds[s + 1])], 0) for s in present])
    return _core.tensor_scatter_nd_update(_core.fill([seg.num] + seg.inner, one),
                                          _core.constant(present.reshape(-1, 1), dtype="int64"), prods)


def _segment_counts(data, segment_ids, num_segments, name):
    seg = _Segments(data, segment_ids, num_segments, name)
    return seg.data, seg.counts.reshape([seg.num] + [1] * len(seg.inner))


def unsorted_segment_mean(data, segment_ids, num_segments, name=None):
    """The mean of data's rows of each segment id; 0 for an empty segment
    (tf.math.unsorted_segment_mean). Integer data gives float64, as TensorFlow's true division.

    >>> gt.math.unsorted_segment_mean([1.0, 3.0, 4.0], [0, 0, 2], 3).numpy()
    array([2., 0., 4.], dtype=float32)
    """
    data, counts = _segment_counts(data, segment_ids, num_segments, "unsorted_segment_mean")
    summed = _core.unsorted_segment_sum(data, segment_ids, num_segments)
    n = _core.constant(np.maximum(counts, 1), dtype=data.dtype)
    return summed / n


def unsorted_segment_sqrt_n(data, segment_ids, num_segments, name=None):
    """The sum of data's rows of each segment id divided by the square root of their number; 0
    for an empty segment (tf.math.unsorted_segment_sqrt_n).

    >>> gt.math.unsorted_segment_sqrt_n([1.0, 3.0, 4.0], [0, 0, 2], 3).numpy()
    array([2.828427, 0.      , 4.      ], dtype=float32)
    """
    data, counts = _segment_counts(data, segment_ids, num_segments, "unsorted_segment_sqrt_n")
    if data.dtype.name not in _FLOATS:
        raise _core.InvalidArgumentError("unsorted_segment_sqrt_n: data must be a float tensor, got %s" % data.dtype.name)
    summed = _core.unsorted_segment_sum(data, segment_ids, num_segments)
    return summed / _core.sqrt(_core.constant(np.maximum(counts, 1), dtype=data.dtype))


def segment_prod(data, segment_ids, name=None):
    """The product of data's rows of each id of the sorted segment_ids; 1 for an id that does not
    occur below the largest (tf.math.segment_prod).

    >>> gt.math.segment_prod([2.0, 3.0, 4.0], [0, 0, 2]).numpy()
    array([6., 1., 4.], dtype=float32)
    """
    ids = _ints(segment_ids, "segment_ids")
    if ids.ndim != 1:
        raise _core.InvalidArgumentError("segment_ids should be a vector, got shape %s" % list(ids.shape))
    if ids.size and (ids[0] < 0 or np.any(np.diff(ids) < 0)):
        raise _core.InvalidArgumentError("segment ids are not increasing or are negative: %s" % ids.tolist())
    return unsorted_segment_prod(data, segment_ids, int(ids[-1]) + 1 if ids.size else 0)


# --------------------------------------------------------------------------- elementwise

def polyval(coeffs, x, name=None):
    """The polynomial coeffs[0] * x**(n-1) + ... + coeffs[n-1] by Horner's rule (tf.math.polyval);
    zeros like x for no coefficients. Differentiable in coeffs and x.

    >>> float(gt.math.polyval([1.0, 2.0, 3.0], gt.constant(2.0)))
    11.0
    """
    if not isinstance(coeffs, (list, tuple)):
        raise ValueError("Argument coeffs must be list type found %s." % type(coeffs))
    x = _tensor(x)
    if not coeffs:
        return _core.zeros_like(x)
    p = _tensor(coeffs[0], dtype=x.dtype)
    for c in coeffs[1:]:
        p = _tensor(c, dtype=x.dtype) + p * x
    return p


def lbeta(x, name=None):
    """log|Beta(x)| along the last axis: sum(lgamma(x)) - lgamma(sum(x)) (tf.math.lbeta); -inf
    for an empty last axis, as TensorFlow.

    >>> gt.math.lbeta(gt.constant([[1.0, 2.0], [3.0, 4.0]])).numpy()
    array([-0.6931472, -4.0943446], dtype=float32)
    """
    x = _tensor(x)
    log_prod_gamma_x = _core.reduce_sum(_core.lgamma(x), axis=-1)
    log_gamma_sum_x = _core.lgamma(_core.reduce_sum(x, axis=-1))
    return log_prod_gamma_x - log_gamma_sum_x


def reciprocal_no_nan(x, name=None):
    """1 / x, and 0 where x is 0 (tf.math.reciprocal_no_nan); float tensors only.

    >>> gt.math.reciprocal_no_nan(gt.constant([0.0, 2.0])).numpy()
    array([0. , 0.5], dtype=float32)
    """
    x = _tensor(x)
    if x.dtype.name not in _FLOATS:
        raise _core.InvalidArgumentError("reciprocal_no_nan: Value for attr 'T' of %s is not in the list of "
                                         "allowed values: float, double" % x.dtype.name)
    return _core.divide_no_nan(_core.constant(1, dtype=x.dtype), x)


def scalar_mul(scalar, x, name=None):
    """scalar * x for a 0-d scalar (tf.math.scalar_mul); ValueError for any other shape.

    >>> gt.math.scalar_mul(2.0, gt.constant([1.0, 3.0])).numpy()
    array([2., 6.], dtype=float32)
    """
    x = _tensor(x)
    s = _tensor(scalar, dtype=x.dtype) if not isinstance(scalar, (_core.Tensor, _core.Variable)) else scalar
    if s.ndim != 0:
        raise ValueError("The input scalar must be a 0-D value. Received shape %s." % (tuple(s.shape),))
    return s * x


def logical_xor(x, y, name=None):
    """x XOR y element-wise for bool tensors, with broadcasting (tf.math.logical_xor).

    >>> gt.math.logical_xor(True, [True, False]).numpy()
    array([False,  True])
    """
    x, y = _tensor(x, dtype="bool"), _tensor(y, dtype="bool")
    return _core.logical_and(_core.logical_or(x, y), _core.logical_not(_core.logical_and(x, y)))


def accumulate_n(inputs, shape=None, tensor_dtype=None, name=None):
    """The element-wise sum of the tensors of `inputs` (tf.math.accumulate_n, which TensorFlow
    deprecates for add_n).

    >>> gt.math.accumulate_n([gt.ones([2]), gt.ones([2])]).numpy()
    array([2., 2.], dtype=float32)
    """
    return _core.add_n(inputs)


def zero_fraction(value, name=None):
    """The fraction of zeros in `value`, as a float32 scalar (tf.math.zero_fraction; NaN when
    empty).

    >>> float(gt.math.zero_fraction(gt.constant([0, 1, 0, 3])))
    0.5
    """
    value = _tensor(value)
    zeros = _core.cast(_core.equal(value, _core.zeros_like(value)), "float32")
    return _core.reduce_mean(zeros) if value.shape.num_elements() else _core.constant(float("nan"))


def _numeric(x, what):
    x = _tensor(x)
    if x.dtype.name == "bool":
        raise TypeError("Expected %s to be numeric, got a bool tensor" % what)
    return x


def is_non_decreasing(x, name=None):
    """Whether x (flattened) has x[i] <= x[i + 1] throughout; True with fewer than 2 elements
    (tf.math.is_non_decreasing).

    >>> bool(gt.math.is_non_decreasing([1, 2, 2])), bool(gt.math.is_strictly_increasing([1, 2, 2]))
    (True, False)
    """
    flat = _core.reshape(_numeric(x, "x"), [-1])
    return _core.reduce_all(_core.less_equal(flat[:-1], flat[1:]))


def is_strictly_increasing(x, name=None):
    """Whether x (flattened) has x[i] < x[i + 1] throughout; True with fewer than 2 elements
    (tf.math.is_strictly_increasing).

    >>> bool(gt.math.is_strictly_increasing([1, 2, 3]))
    True
    """
    flat = _core.reshape(_numeric(x, "x"), [-1])
    return _core.reduce_all(_core.less(flat[:-1], flat[1:]))


def invert_permutation(x, name=None):
    """The inverse permutation y[x[i]] = i of the 1-D permutation x (tf.math.invert_permutation);
    InvalidArgumentError when x is not a permutation of 0..n-1.

    >>> gt.math.invert_permutation([2, 0, 1]).numpy()
    array([1, 2, 0], dtype=int32)
    """
    x = _tensor(x)
    p = _ints(x, "x")
    if p.ndim != 1:
        raise _core.InvalidArgumentError("invert_permutation expects a 1D vector, got shape %s" % list(p.shape))
    bad = p[(p < 0) | (p >= p.size)]
    if bad.size:
        raise _core.InvalidArgumentError("%d is not between 0 and %d" % (bad[0], p.size))
    seen = np.bincount(p, minlength=p.size)
    if np.any(seen > 1):
        raise _core.InvalidArgumentError("%d is duplicated in the input." % int(np.argmax(seen > 1)))
    out = np.empty_like(p)
    out[p] = np.arange(p.size)
    return _core.constant(out, dtype=x.dtype)


# --------------------------------------------------------------------------- counting

def in_top_k(targets, predictions, k, name=None):
    """For each row b: whether predictions[b, targets[b]] is among the k largest of the row,
    counting ties as in (fewer than k entries strictly greater), False for a target out of range
    or a row holding a NaN or an infinity (tf.math.in_top_k, tf.nn.in_top_k).

    >>> gt.math.in_top_k([0, 1, 2], [[1.0, 1.0, 0.0], [0.0, float("nan"), 1.0], [1.0, 2.0, 3.0]], 1).numpy()
    array([ True, False,  True])
    """
    t = _ints(targets, "targets")
    # TensorFlow's InTopKV2 kernel is float32 only: a tensor of another dtype is refused, other
    # values are converted to float32
    if isinstance(predictions, (_core.Tensor, _core.Variable)) and predictions.dtype.name != "float32":
        raise _core.InvalidArgumentError("in_top_k: predictions must be float32, got %s" % predictions.dtype.name)
    predictions = _tensor(predictions, dtype="float32")
    p = np.asarray(predictions.numpy(), np.float64)
    if p.ndim != 2 or t.shape != (p.shape[0],):
        raise _core.InvalidArgumentError("in_top_k: predictions must be [batch, classes] and targets [batch], got "
                                         "%s and %s" % (list(p.shape), list(t.shape)))
    ok = (t >= 0) & (t < p.shape[1])
    target = p[np.arange(p.shape[0]), np.where(ok, t, 0)]
    greater = (p > target[:, None]).sum(axis=1)
    finite_rows = np.isfinite(p).all(axis=1)  # TensorFlow: any NaN or inf in the row makes it False
    return _core.constant(ok & finite_rows & (greater < int(k)))


def bincount(arr, weights=None, minlength=None, maxlength=None, dtype="int32", name=None, axis=None,
             binary_output=False):
    """How often each value 0, 1, ... occurs in the non-negative integers `arr` (or the sum of
    their `weights`), as tf.math.bincount: length max(arr) + 1, at least minlength and at most
    maxlength; axis=-1 counts each row of a 2-D arr; binary_output gives 1 for any occurrence.

    >>> gt.math.bincount([1, 1, 3]).numpy()
    array([0, 2, 0, 1], dtype=int32)
    """
    a = _ints(arr, "arr")
    if a.size and a.min() < 0:
        raise _core.InvalidArgumentError("Input arr must be non-negative!")
    if axis not in (None, 0, -1):
        raise ValueError("Unsupported axis value %s. Only 0 and -1 are currently supported." % (axis,))
    w = None if weights is None else np.asarray(_tensor(weights).numpy())
    if w is not None and w.shape != a.shape:
        raise _core.InvalidArgumentError("`weights` must be the same shape as `arr` or a length-0 `Tensor`, in which "
                                         "case it acts as all weights equal to 1. Received %s and %s"
                                         % (list(w.shape), list(a.shape)))
    if w is not None and binary_output:
        raise ValueError("Arguments `binary_output` and `weights` are mutually exclusive. Please specify only one.")
    out_dtype = _tensor(weights).dtype if weights is not None else _core.as_dtype(dtype)
    rows = a.reshape(1, -1) if axis in (None, 0) else a.reshape(int(np.prod(a.shape[:-1])), a.shape[-1] if a.ndim else 1)
    wrows = None if w is None else (w.reshape(1, -1) if axis in (None, 0) else w.reshape(rows.shape))
    length = int(a.max()) + 1 if a.size else 0
    if minlength is not None:
        length = max(length, int(minlength))
    if maxlength is not None:
        length = min(length, int(maxlength))
    out = np.zeros((rows.shape[0], length), np.float64 if w is not None else np.int64)
    for r in range(rows.shape[0]):
        keep = rows[r] < length
        np.add.at(out[r], rows[r][keep], 1 if wrows is None else wrows[r][keep])
    if binary_output:
        out = (out != 0).astype(out.dtype)
    out = out[0] if axis in (None, 0) else out.reshape(a.shape[:-1] + (length,))
    return _core.constant(out, dtype=out_dtype)


def confusion_matrix(labels, predictions, num_classes=None, weights=None, dtype="int32", name=None):
    """m[i, j]: how many examples have label i and prediction j (or their summed weights), as
    tf.math.confusion_matrix; num_classes defaults to the largest label or prediction + 1.

    >>> gt.math.confusion_matrix([0, 1, 1], [0, 0, 1]).numpy()
    array([[1, 0],
           [1, 1]], dtype=int32)
    """
    lab, pred = _ints(labels, "labels").reshape(-1), _ints(predictions, "predictions").reshape(-1)
    if lab.shape != pred.shape:
        raise ValueError("labels and predictions must have the same number of elements: %d and %d"
                         % (lab.size, pred.size))
    if (lab.size and lab.min() < 0) or (pred.size and pred.min() < 0):
        raise _core.InvalidArgumentError("`labels` and `predictions` must be non-negative")
    n = int(num_classes) if num_classes is not None else int(max(lab.max(initial=-1), pred.max(initial=-1)) + 1)
    if lab.size and max(lab.max(), pred.max()) >= n:
        raise _core.InvalidArgumentError("`labels` and `predictions` must be less than num_classes = %d" % n)
    m = np.zeros((n, n), np.float64)
    np.add.at(m, (lab, pred), 1 if weights is None else np.asarray(_tensor(weights).numpy(), np.float64).reshape(-1))
    return _core.constant(m, dtype=_core.as_dtype(dtype))


def _histogram_args(values, value_range, nbins):
    v = _tensor(values)
    if v.dtype.name not in _FLOATS and v.dtype.name not in _INTS:
        raise TypeError("histogram: values must be numeric, got %s" % v.dtype.name)
    r = np.asarray(_tensor(value_range, dtype=v.dtype).numpy()).reshape(-1)
    if r.size != 2:
        raise _core.InvalidArgumentError("value_range should be a vector of 2 elements, got %d" % r.size)
    nbins = int(nbins)
    if nbins <= 0:
        raise _core.InvalidArgumentError("nbins should be a positive number, but got '%d'" % nbins)
    if not r[0] < r[1]:
        raise _core.InvalidArgumentError("value_range should satisfy value_range[0] < value_range[1], but got "
                                         "[%s, %s]" % (r[0], r[1]))
    return np.asarray(v.numpy()), r[0], r[1], nbins


def histogram_fixed_width(values, value_range, nbins=100, dtype="int32", name=None):
    """How many values fall in each of nbins equal bins over value_range, values below or above
    it counted in the first or last bin (tf.histogram_fixed_width; TensorFlow's kernel's
    arithmetic: the bin is floor((v - lo) / step) with step = (hi - lo) / nbins in float64).
    NaN values raise InvalidArgumentError, as TensorFlow.

    >>> gt.histogram_fixed_width([0.0, 0.5, 1.0, 5.0], [0.0, 1.0], nbins=2).numpy()
    array([1, 3], dtype=int32)
    """
    v, lo, hi, nbins = _histogram_args(values, value_range, nbins)
    if np.isnan(v).any():
        raise _core.InvalidArgumentError("Histogram values must not contain NaN")
    step = (float(hi) - float(lo)) / nbins
    with np.errstate(invalid="ignore", over="ignore"):
        bins = np.clip(np.floor((v.astype(np.float64) - float(lo)) / step), 0, nbins - 1).astype(np.int64)
    return _core.constant(np.bincount(bins.reshape(-1), minlength=nbins), dtype=_core.as_dtype(dtype))


def histogram_fixed_width_bins(values, value_range, nbins=100, dtype="int32", name=None):
    """The bin of each value, floor(nbins * (v - lo) / (hi - lo)) computed in the values' dtype and
    clipped to [0, nbins - 1], NaN giving -2**31 (tf.histogram_fixed_width_bins, whose Python
    arithmetic this is).

    >>> gt.histogram_fixed_width_bins([0.0, 0.5, 1.0, 5.0], [0.0, 1.0], nbins=2).numpy()
    array([0, 1, 1, 1], dtype=int32)
    """
    v, lo, hi, nbins = _histogram_args(values, value_range, nbins)
    t = v.dtype.type if v.dtype.kind == "f" else np.float64
    with np.errstate(invalid="ignore"):
        scaled = (v.astype(t) - t(lo)) / (t(hi) - t(lo))
        idx = np.floor(t(nbins) * scaled)
        out = np.where(np.isnan(idx), np.iinfo(np.int32).min, np.clip(np.nan_to_num(idx, nan=0.0), 0, nbins - 1))
    return _core.constant(out.astype(np.int64), dtype=_core.as_dtype(dtype))


# --------------------------------------------------------------------------- nn

def crelu(features, axis=-1, name=None):
    """concat([relu(x), relu(-x)], axis) (tf.nn.crelu).

    >>> gt.nn.crelu(gt.constant([-1.0, 2.0])).numpy()
    array([0., 2., 1., 0.], dtype=float32)
    """
    x = _tensor(features)
    return _core.concat([_core.relu(x), _core.relu(-x)], axis=axis)


def sufficient_statistics(x, axes, shift=None, keepdims=False, name=None):
    """(count, sum of x - shift, sum of (x - shift)**2, shift) over `axes`, the parts of a mean and
    variance (tf.nn.sufficient_statistics); count is in x's dtype.

    >>> count, m_ss, v_ss, _ = gt.nn.sufficient_statistics(gt.constant([[1.0, 2.0], [3.0, 4.0]]), [0])
    >>> float(count), m_ss.numpy(), v_ss.numpy()
    (2.0, array([4., 6.], dtype=float32), array([10., 20.], dtype=float32))
    """
    x = _tensor(x)
    axes = [axes] if isinstance(axes, int) else list(axes)
    count = _core.constant(float(np.prod([x.shape[a] for a in axes])), dtype=x.dtype)
    m = x if shift is None else x - _tensor(shift, dtype=x.dtype)
    m_ss = _core.reduce_sum(m, axes, keepdims=keepdims)
    v_ss = _core.reduce_sum(_core.square(m), axes, keepdims=keepdims)
    return count, m_ss, v_ss, (None if shift is None else _tensor(shift, dtype=x.dtype))


def normalize_moments(counts, mean_ss, variance_ss, shift, name=None):
    """(mean, variance) from sufficient_statistics' sums (tf.nn.normalize_moments).

    >>> mean, var = gt.nn.normalize_moments(gt.constant(4.0), gt.constant([4.0, 8.0]), gt.constant([20.0, 80.0]), None)
    >>> mean.numpy(), var.numpy()
    (array([1., 2.], dtype=float32), array([ 4., 16.], dtype=float32))
    """
    mean_ss = _tensor(mean_ss)
    divisor = _core.reciprocal(_tensor(counts, dtype=mean_ss.dtype))
    shifted_mean = mean_ss * divisor
    mean = shifted_mean if shift is None else shifted_mean + _tensor(shift, dtype=mean_ss.dtype)
    variance = _tensor(variance_ss, dtype=mean_ss.dtype) * divisor - _core.square(shifted_mean)
    return mean, variance


def weighted_moments(x, axes, frequency_weights, keepdims=False, name=None):
    """The mean and variance of x over `axes` with each element counted frequency_weights times
    (broadcast against x), as tf.nn.weighted_moments (0 where the weights sum to 0).

    >>> mean, var = gt.nn.weighted_moments(gt.constant([[1.0, 2.0], [3.0, 4.0]]), [0], gt.constant([[1.0], [3.0]]))
    >>> mean.numpy(), var.numpy()
    (array([2.5, 3.5], dtype=float32), array([0.75, 0.75], dtype=float32))
    """
    x = _tensor(x)
    w = _tensor(frequency_weights, dtype=x.dtype)
    axes = [axes] if isinstance(axes, int) else list(axes)
    weighted_input_sum = _core.reduce_sum(w * x, axes, keepdims=True)
    sum_of_weights = _core.reduce_sum(w + _core.zeros_like(x), axes, keepdims=True)
    weighted_mean = _core.divide_no_nan(weighted_input_sum, sum_of_weights)
    weighted_distsq = _core.reduce_sum(w * _core.squared_difference(x, _core.stop_gradient(weighted_mean)), axes,
                                       keepdims=True)
    weighted_variance = _core.divide_no_nan(weighted_distsq, sum_of_weights)
    if not keepdims:
        weighted_mean = _core.squeeze(weighted_mean, axes)
        weighted_variance = _core.squeeze(weighted_variance, axes)
    return weighted_mean, weighted_variance


def compute_average_loss(per_example_loss, sample_weight=None, global_batch_size=None):
    """sum(per_example_loss * sample_weight) / global_batch_size, the batch's first dimension
    by default (tf.nn.compute_average_loss, with one replica).

    >>> float(gt.nn.compute_average_loss(gt.constant([1.0, 2.0, 3.0]), global_batch_size=6))
    1.0
    """
    loss = _tensor(per_example_loss)
    if loss.dtype.name not in _FLOATS:
        raise TypeError("per_example_loss must be a float tensor, got %s" % loss.dtype.name)
    if sample_weight is not None:
        loss = loss * _tensor(sample_weight, dtype=loss.dtype)
    if global_batch_size is None:
        global_batch_size = loss.shape[0] if loss.ndim else 1
    return _core.divide_no_nan(_core.reduce_sum(loss), _core.constant(global_batch_size, dtype=loss.dtype))


def scale_regularization_loss(regularization_loss):
    """The sum of the regularization loss (a tensor or a list of them), divided by the number of
    replicas, 1 here (tf.nn.scale_regularization_loss).

    >>> float(gt.nn.scale_regularization_loss([gt.constant(1.0), gt.constant(2.0)]))
    3.0
    """
    if isinstance(regularization_loss, (list, tuple)):
        regularization_loss = _core.add_n(list(regularization_loss))
    return _core.reduce_sum(_tensor(regularization_loss))


def _check_block(x, block_size, name):
    if x.ndim != 4:
        raise _core.InvalidArgumentError("%s: input must be 4-D, got shape %s" % (name, list(x.shape)))
    if int(block_size) < 2:
        raise _core.InvalidArgumentError("Value for attr 'block_size' of %d must be at least minimum 2" % block_size)
    return int(block_size)


def _nhwc(fn, x, block_size, data_format):
    if data_format == "NHWC":
        return fn(x, block_size)
    if data_format == "NCHW":
        return _core.transpose(fn(_core.transpose(x, [0, 2, 3, 1]), block_size), [0, 3, 1, 2])
    raise ValueError("data_format must be 'NHWC' or 'NCHW', got %r" % (data_format,))


def space_to_depth(input, block_size, data_format="NHWC", name=None):  # noqa: A002
    """Moves each block_size x block_size block of spatial positions into the channels
    (tf.nn.space_to_depth): [b, h, w, c] -> [b, h/bs, w/bs, bs*bs*c].

    >>> gt.nn.space_to_depth(gt.reshape(gt.range(16.0), [1, 4, 4, 1]), 2).shape
    TensorShape([1, 2, 2, 4])
    """
    x = _tensor(input)

    def nhwc(x, bs):
        bs = _check_block(x, bs, "space_to_depth")
        b, h, w, c = x.shape
        if h % bs or w % bs:
            raise _core.InvalidArgumentError("Image width %d and height %d should be divisible by block_size: %d"
                                             % (w, h, bs))
        y = _core.reshape(x, [b, h // bs, bs, w // bs, bs, c])
        return _core.reshape(_core.transpose(y, [0, 1, 3, 2, 4, 5]), [b, h // bs, w // bs, bs * bs * c])
    return _nhwc(nhwc, x, block_size, data_format)


def depth_to_space(input, block_size, data_format="NHWC", name=None):  # noqa: A002
    """The inverse of space_to_depth (tf.nn.depth_to_space): [b, h, w, c] -> [b, h*bs, w*bs, c/bs**2].

    >>> x = gt.reshape(gt.range(16.0), [1, 2, 2, 4])
    >>> bool(gt.reduce_all(gt.nn.space_to_depth(gt.nn.depth_to_space(x, 2), 2) == x))
    True
    """
    x = _tensor(input)

    def nhwc(x, bs):
        bs = _check_block(x, bs, "depth_to_space")
        b, h, w, c = x.shape
        if c % (bs * bs):
            raise _core.InvalidArgumentError("Input depth dimension %d should be divisible by: %d" % (c, bs * bs))
        y = _core.reshape(x, [b, h, w, bs, bs, c // (bs * bs)])
        return _core.reshape(_core.transpose(y, [0, 1, 3, 2, 4, 5]), [b, h * bs, w * bs, c // (bs * bs)])
    return _nhwc(nhwc, x, block_size, data_format)


# --------------------------------------------------------------------------- linalg

def matrix_transpose(a, name="matrix_transpose", conjugate=False):
    """a with its last two axes swapped (tf.linalg.matrix_transpose; real tensors, so conjugate
    changes nothing); ValueError below rank 2.

    >>> gt.linalg.matrix_transpose(gt.ones([2, 3, 4])).shape
    TensorShape([2, 4, 3])
    """
    a = _tensor(a)
    if a.ndim < 2:
        raise ValueError("Argument `a` should be a (batch) matrix with rank >= 2.  Received `a` = %s with shape: %s"
                         % (a, list(a.shape)))
    perm = list(range(a.ndim - 2)) + [a.ndim - 1, a.ndim - 2]
    return _core.transpose(a, perm)


def adjoint(matrix, name=None):
    """The conjugate transpose of the last two axes; the transpose for real tensors
    (tf.linalg.adjoint).

    >>> gt.linalg.adjoint(gt.constant([[1.0, 2.0], [3.0, 4.0]])).numpy()
    array([[1., 3.],
           [2., 4.]], dtype=float32)
    """
    return matrix_transpose(matrix)


def logdet(matrix, name=None):
    """log(det(matrix)) of Hermitian positive definite matrices, as 2 * sum(log(diag(cholesky)))
    (tf.linalg.logdet): stable where det over- or underflows.

    >>> float(gt.linalg.logdet(gt.constant([[2.0, 0.0], [0.0, 3.0]], dtype=gt.float64)))
    1.791759469228055
    """
    chol = _core.cholesky(_tensor(matrix))
    return _core.constant(2.0, dtype=chol.dtype) * _core.reduce_sum(_core.log(_core.diag_part(chol)), axis=-1)


def pinv(a, rcond=None, validate_args=False, name=None):
    """The Moore-Penrose pseudo-inverse through the SVD, singular values at or below
    rcond * max(singular values) treated as zero; rcond defaults to 10 * max(m, n) * eps
    (tf.linalg.pinv). Differentiable where the singular values are distinct.

    >>> gt.linalg.pinv(gt.constant([[1.0, 2.0], [2.0, 4.0]], dtype=gt.float64)).numpy()
    array([[0.04, 0.08],
           [0.08, 0.16]])
    """
    a = _tensor(a)
    if a.dtype.name not in _FLOATS:
        raise TypeError("pinv: `a` must be a float tensor, got %s" % a.dtype.name)
    if a.ndim < 2:
        raise ValueError("Input `a` must have at least 2 dimensions (saw: %d)." % a.ndim)
    if rcond is None:
        rcond = 10.0 * max(a.shape[-2], a.shape[-1]) * np.finfo(a.dtype.as_numpy_dtype).eps
    from . import linalg
    s, u, v = linalg.svd(a, full_matrices=False, compute_uv=True)
    cutoff = _core.constant(rcond, dtype=a.dtype) * _core.reduce_max(s, axis=-1)
    big = _core.greater(s, _core.expand_dims(cutoff, -1))
    s = _core.where(big, s, _core.fill(list(s.shape), _core.constant(np.inf, dtype=a.dtype)))
    return _core.matmul(v / _core.expand_dims(s, -2), u, transpose_b=True)


def matrix_rank(a, tol=None, validate_args=False, name=None):
    """The number of singular values above tol, max(singular value) * max(m, n) * eps by default
    (tf.linalg.matrix_rank), as int32.

    >>> int(gt.linalg.matrix_rank(gt.constant([[1.0, 2.0], [2.0, 4.0]])))
    1
    """
    a = _tensor(a)
    from . import linalg
    s = linalg.svd(a, compute_uv=False)
    if tol is None:
        tol = _core.reduce_max(s, axis=-1, keepdims=True) * _core.constant(
            max(a.shape[-2], a.shape[-1]) * np.finfo(a.dtype.as_numpy_dtype).eps, dtype=a.dtype)
    else:
        tol = _tensor(tol, dtype=a.dtype)
    return _core.reduce_sum(_core.cast(_core.greater(s, tol), "int32"), axis=-1)


def normalize(tensor, ord="euclidean", axis=None, name=None):  # noqa: A002
    """(tensor / norm, norm), the norm taken as gt.linalg.norm(tensor, ord, axis, keepdims=True)
    (tf.linalg.normalize).

    >>> t, n = gt.linalg.normalize(gt.constant([3.0, 4.0]))
    >>> t.numpy(), n.numpy()
    (array([0.6, 0.8], dtype=float32), array([5.], dtype=float32))
    """
    from ._composite import norm
    n = norm(tensor, ord=ord, axis=axis, keepdims=True)
    return _tensor(tensor) / n, n


def tensor_diag(diagonal, name=None):
    """The tensor of shape d + d (d the diagonal's shape) with `diagonal` on its diagonal and 0
    elsewhere (tf.linalg.tensor_diag).

    >>> gt.linalg.tensor_diag([1.0, 2.0]).numpy()
    array([[1., 0.],
           [0., 2.]], dtype=float32)
    """
    d = _tensor(diagonal)
    n = d.shape.num_elements()
    eye = _core.constant(np.eye(n), dtype=d.dtype)
    return _core.reshape(eye * _core.reshape(d, [n, 1]), list(d.shape) * 2)


def tensor_diag_part(input, name=None):  # noqa: A002
    """The diagonal part of a tensor of shape d + d: out[i] = input[i, i], of shape d
    (tf.linalg.tensor_diag_part).

    >>> gt.linalg.tensor_diag_part(gt.reshape(gt.range(16.0), [2, 2, 2, 2])).numpy()
    array([[ 0.,  5.],
           [10., 15.]], dtype=float32)
    """
    x = _tensor(input)
    k = x.ndim // 2
    if x.ndim % 2 or list(x.shape[:k]) != list(x.shape[k:]):
        raise _core.InvalidArgumentError("The input shape must be d + d, got %s" % list(x.shape))
    n = int(np.prod(x.shape[:k]))
    flat = _core.reshape(x, [n * n])
    return _core.reshape(_core.gather(flat, _core.constant(np.arange(n) * (n + 1), dtype="int64")), list(x.shape[:k]))
