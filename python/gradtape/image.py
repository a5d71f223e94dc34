"""gt.image: the part of tf.image a training program uses on float images: resizing (bilinear
and nearest neighbour, TensorFlow 2's half-pixel centres), flips and rotations, crops and pads,
standardisation, brightness and contrast, grayscale, total variation and image gradients.

Images are [height, width, channels] or batches [batch, height, width, channels], as in
TensorFlow. Everything is written with gradtape ops (gathers, slices, arithmetic), so the tape
differentiates through it; the index arithmetic of resize is NumPy's on the shapes.

>>> img = gt.reshape(gt.range(16.0), [1, 4, 4, 1])
>>> gt.image.resize(img, [2, 2]).numpy()[0, :, :, 0]
array([[ 2.5,  4.5],
       [10.5, 12.5]], dtype=float32)
"""
import numpy as np

from . import _core

__all__ = ["resize", "ResizeMethod", "flip_left_right", "flip_up_down", "transpose", "rot90", "central_crop",
           "crop_to_bounding_box", "pad_to_bounding_box", "resize_with_crop_or_pad", "per_image_standardization",
           "rgb_to_grayscale", "grayscale_to_rgb", "adjust_brightness", "adjust_contrast", "random_flip_left_right",
           "random_flip_up_down", "stateless_random_flip_left_right", "stateless_random_flip_up_down",
           "total_variation", "image_gradients"]


class ResizeMethod:
    """The names of tf.image.resize's methods (gradtape computes BILINEAR and NEAREST_NEIGHBOR).

    >>> gt.image.ResizeMethod.BILINEAR
    'bilinear'
    """
    BILINEAR = "bilinear"
    NEAREST_NEIGHBOR = "nearest"
    BICUBIC = "bicubic"
    AREA = "area"
    LANCZOS3 = "lanczos3"
    LANCZOS5 = "lanczos5"
    GAUSSIAN = "gaussian"
    MITCHELLCUBIC = "mitchellcubic"


def _image(image, name):
    x = _core.convert_to_tensor(image)
    if x.ndim not in (3, 4):
        raise ValueError("'image' (shape %s) must have either 3 or 4 dimensions." % (tuple(x.shape),))
    batched = x.ndim == 4
    return (x if batched else _core.expand_dims(x, 0)), batched


def _unbatch(x, batched):
    return x if batched else _core.squeeze(x, [0])


def _source(out_size, in_size):
    """TensorFlow 2's half-pixel source coordinate of each output row (or column)."""
    scale = in_size / out_size
    return (np.arange(out_size) + 0.5) * scale - 0.5


def resize(images, size, method="bilinear", preserve_aspect_ratio=False, antialias=False, name=None):
    """Resizes images to `size` = [new_height, new_width] (tf.image.resize): "bilinear" (the
    default, computed in float32 and returning float32, as TensorFlow) or "nearest" (keeps the
    dtype), with TensorFlow 2's half-pixel centres; `preserve_aspect_ratio` fits the image
    inside size. Other methods and antialias=True raise NotImplementedError. Differentiable.

    >>> gt.image.resize(gt.ones([3, 3, 1]), [2, 5]).shape
    TensorShape([2, 5, 1])
    """
    x, batched = _image(images, "resize")
    method = getattr(method, "value", method)
    known = {v for k, v in vars(ResizeMethod).items() if k.isupper()}
    if method not in known:
        raise ValueError("Resize method is not implemented: %s" % method)
    if method not in (ResizeMethod.BILINEAR, ResizeMethod.NEAREST_NEIGHBOR) or antialias:
        raise NotImplementedError("gt.image.resize computes the bilinear and nearest methods without antialiasing; "
                                  "got method=%r, antialias=%r" % (method, antialias))
    h_out, w_out = (int(s) for s in (size.numpy() if isinstance(size, (_core.Tensor, _core.Variable)) else size))
    _, h, w, _ = x.shape
    if preserve_aspect_ratio:
        scale = min(h_out / h, w_out / w)
        h_out, w_out = max(int(round(h * scale)), 1), max(int(round(w * scale)), 1)
    if h_out <= 0 or w_out <= 0:
        raise ValueError("The new size must be positive, got %s" % ([h_out, w_out],))
    if method == ResizeMethod.NEAREST_NEIGHBOR:
        rows = np.minimum(np.floor((np.arange(h_out) + 0.5) * (h / h_out)).astype(np.int64), h - 1)
        cols = np.minimum(np.floor((np.arange(w_out) + 0.5) * (w / w_out)).astype(np.int64), w - 1)
        y = _core.gather(_core.gather(x, _core.constant(rows, dtype="int64"), axis=1),
                         _core.constant(cols, dtype="int64"), axis=2)
        return _unbatch(y, batched)
    if x.dtype.name != "float32":
        x = _core.cast(x, "float32")

    def axis_weights(out_size, in_size):
        src = _source(out_size, in_size)
        low = np.floor(src)
        lerp = (src - low).astype(np.float32)
        lo = np.maximum(low, 0).astype(np.int64)
        hi = np.minimum(np.ceil(src), in_size - 1).astype(np.int64)
        return _core.constant(lo, dtype="int64"), _core.constant(hi, dtype="int64"), lerp

    y0, y1, ylerp = axis_weights(h_out, h)
    x0, x1, xlerp = axis_weights(w_out, w)
    top, bottom = _core.gather(x, y0, axis=1), _core.gather(x, y1, axis=1)
    top_left, top_right = _core.gather(top, x0, axis=2), _core.gather(top, x1, axis=2)
    bottom_left, bottom_right = _core.gather(bottom, x0, axis=2), _core.gather(bottom, x1, axis=2)
    xl = _core.constant(xlerp.reshape(1, 1, w_out, 1))
    yl = _core.constant(ylerp.reshape(1, h_out, 1, 1))
    top = top_left + (top_right - top_left) * xl
    bottom = bottom_left + (bottom_right - bottom_left) * xl
    return _unbatch(top + (bottom - top) * yl, batched)


def flip_left_right(image):
    """Reverses the width axis (tf.image.flip_left_right).

    >>> gt.image.flip_left_right(gt.constant([[[1.0], [2.0]]])).numpy()[0, :, 0]
    array([2., 1.], dtype=float32)
    """
    x = _core.convert_to_tensor(image)
    _image(x, "flip_left_right")
    return _core.reverse(x, [x.ndim - 2])


def flip_up_down(image):
    """Reverses the height axis (tf.image.flip_up_down).

    >>> gt.image.flip_up_down(gt.constant([[[1.0]], [[2.0]]])).numpy()[:, 0, 0]
    array([2., 1.], dtype=float32)
    """
    x = _core.convert_to_tensor(image)
    _image(x, "flip_up_down")
    return _core.reverse(x, [x.ndim - 3])


def transpose(image, name=None):
    """Swaps height and width (tf.image.transpose).

    >>> gt.image.transpose(gt.zeros([2, 3, 1])).shape
    TensorShape([3, 2, 1])
    """
    x = _core.convert_to_tensor(image)
    _image(x, "transpose")
    n = x.ndim
    return _core.transpose(x, list(range(n - 3)) + [n - 2, n - 3, n - 1])


def rot90(image, k=1, name=None):
    """Rotates by k * 90 degrees counter-clockwise (tf.image.rot90).

    >>> gt.image.rot90(gt.reshape(gt.range(4.0), [2, 2, 1])).numpy()[:, :, 0]
    array([[1., 3.],
           [0., 2.]], dtype=float32)
    """
    x = _core.convert_to_tensor(image)
    _image(x, "rot90")
    k = int(k) % 4
    for _ in range(k):
        x = flip_up_down(transpose(x))
    return x


def crop_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """The target_height x target_width window at (offset_height, offset_width)
    (tf.image.crop_to_bounding_box); a window outside the image raises ValueError.

    >>> gt.image.crop_to_bounding_box(gt.zeros([4, 5, 1]), 1, 2, 2, 3).shape
    TensorShape([2, 3, 1])
    """
    x, batched = _image(image, "crop_to_bounding_box")
    _, h, w, _ = x.shape
    oh, ow, th, tw = (int(v) for v in (offset_height, offset_width, target_height, target_width))
    if oh < 0 or ow < 0:
        raise ValueError("offset_height and offset_width must be >= 0.")
    if th <= 0 or tw <= 0:
        raise ValueError("target_height and target_width must be > 0.")
    if oh + th > h or ow + tw > w:
        raise ValueError("height and width must be >= target + offset.")
    return _unbatch(x[:, oh:oh + th, ow:ow + tw, :], batched)


def pad_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """Pads with zeros to target_height x target_width, the image at (offset_height,
    offset_width) (tf.image.pad_to_bounding_box).

    >>> gt.image.pad_to_bounding_box(gt.ones([1, 1, 1]), 1, 0, 2, 2).numpy()[:, :, 0]
    array([[0., 0.],
           [1., 0.]], dtype=float32)
    """
    x, batched = _image(image, "pad_to_bounding_box")
    _, h, w, _ = x.shape
    oh, ow, th, tw = (int(v) for v in (offset_height, offset_width, target_height, target_width))
    if oh < 0 or ow < 0:
        raise ValueError("offset_height and offset_width must be >= 0")
    if th < h + oh or tw < w + ow:
        raise ValueError("target_height and target_width must be at least the image's size plus the offset")
    return _unbatch(_core.pad(x, [[0, 0], [oh, th - h - oh], [ow, tw - w - ow], [0, 0]]), batched)


def resize_with_crop_or_pad(image, target_height, target_width):
    """Crops the centre or pads evenly with zeros to target_height x target_width
    (tf.image.resize_with_crop_or_pad).

    >>> gt.image.resize_with_crop_or_pad(gt.ones([2, 2, 1]), 4, 1).numpy()[:, :, 0]
    array([[0.],
           [1.],
           [1.],
           [0.]], dtype=float32)
    """
    x, batched = _image(image, "resize_with_crop_or_pad")
    _, h, w, _ = x.shape
    th, tw = int(target_height), int(target_width)
    if th <= 0 or tw <= 0:
        raise ValueError("target_height and target_width must be > 0")
    crop_h, crop_w = max(h - th, 0), max(w - tw, 0)
    x = crop_to_bounding_box(x, crop_h // 2, crop_w // 2, min(h, th), min(w, tw))
    pad_h, pad_w = max(th - h, 0), max(tw - w, 0)
    x = pad_to_bounding_box(x, pad_h // 2, pad_w // 2, th, tw)
    return _unbatch(x, batched)


def central_crop(image, central_fraction):
    """The central central_fraction of the image along height and width, the margins rounded
    down as TensorFlow does (tf.image.central_crop).

    >>> gt.image.central_crop(gt.zeros([4, 6, 1]), 0.5).shape
    TensorShape([2, 4, 1])
    """
    if not 0.0 < central_fraction <= 1.0:
        raise ValueError("central_fraction must be within (0, 1]")
    x, batched = _image(image, "central_crop")
    if central_fraction == 1.0:
        return _unbatch(x, batched)
    _, h, w, _ = x.shape
    start_h = int((h - h * central_fraction) / 2)
    start_w = int((w - w * central_fraction) / 2)
    return _unbatch(x[:, start_h:h - start_h, start_w:w - start_w, :], batched)


def per_image_standardization(image):
    """(x - mean) / max(stddev, 1/sqrt(number of elements)) per image, in float32
    (tf.image.per_image_standardization).

    >>> y = gt.image.per_image_standardization(gt.reshape(gt.range(8.0), [2, 2, 2]))
    >>> round(float(gt.reduce_mean(y)), 6), round(float(gt.math.reduce_std(y)), 5)
    (0.0, 1.0)
    """
    x, batched = _image(image, "per_image_standardization")
    if x.dtype.name != "float32":
        x = _core.cast(x, "float32")
    n = float(np.prod(x.shape[1:]))
    mean = _core.reduce_mean(x, [1, 2, 3], keepdims=True)
    stddev = _core.sqrt(_core.reduce_mean(_core.square(x - mean), [1, 2, 3], keepdims=True))
    adjusted = _core.maximum(stddev, _core.constant(1.0 / np.sqrt(n), dtype="float32"))
    return _unbatch((x - mean) / adjusted, batched)


def rgb_to_grayscale(images, name=None):
    """The luma 0.2989 R + 0.5870 G + 0.1140 B, keeping a channel axis of 1
    (tf.image.rgb_to_grayscale).

    >>> gt.image.rgb_to_grayscale(gt.constant([[[1.0, 0.0, 0.0]]])).numpy()
    array([[[0.2989]]], dtype=float32)
    """
    x = _core.convert_to_tensor(images)
    if x.shape[-1] != 3:
        raise ValueError("rgb_to_grayscale: the last dimension must be 3 (RGB), got %d" % x.shape[-1])
    weights = _core.constant([0.2989, 0.5870, 0.1140], dtype=x.dtype)
    return _core.expand_dims(_core.reduce_sum(x * weights, -1), -1)


def grayscale_to_rgb(images, name=None):
    """Repeats the single channel three times (tf.image.grayscale_to_rgb).

    >>> gt.image.grayscale_to_rgb(gt.ones([1, 1, 1])).shape
    TensorShape([1, 1, 3])
    """
    x = _core.convert_to_tensor(images)
    if x.shape[-1] != 1:
        raise ValueError("grayscale_to_rgb: the last dimension must be 1, got %d" % x.shape[-1])
    return _core.concat([x, x, x], axis=-1)


def adjust_brightness(image, delta):
    """image + delta (tf.image.adjust_brightness).

    >>> gt.image.adjust_brightness(gt.zeros([1, 1, 1]), 0.25).numpy()
    array([[[0.25]]], dtype=float32)
    """
    x = _core.convert_to_tensor(image)
    return x + _core.convert_to_tensor(delta, dtype=x.dtype)


def adjust_contrast(images, contrast_factor):
    """(x - mean) * contrast_factor + mean, the mean per image and channel
    (tf.image.adjust_contrast).

    >>> gt.image.adjust_contrast(gt.constant([[[0.0], [2.0]]]), 2.0).numpy()[0, :, 0]
    array([-1.,  3.], dtype=float32)
    """
    x = _core.convert_to_tensor(images)
    mean = _core.reduce_mean(x, [x.ndim - 3, x.ndim - 2], keepdims=True)
    return (x - mean) * _core.convert_to_tensor(contrast_factor, dtype=x.dtype) + mean


def _random_flip(image, seed, axis_from_end, stateless):
    from . import random
    x, batched = _image(image, "random_flip")
    n = x.shape[0]
    if stateless:
        u = random.stateless_uniform([n], seed)
    else:
        u = random.uniform([n], seed=seed)
    flip = _core.reshape(_core.less(u, _core.constant(0.5)), [n, 1, 1, 1])
    flipped = _core.reverse(x, [4 - axis_from_end])
    return _unbatch(_core.where(flip, flipped, x), batched)


def random_flip_left_right(image, seed=None):
    """Flips each image left to right with probability 1/2 (tf.image.random_flip_left_right;
    gt.random's draws).

    >>> gt.image.random_flip_left_right(gt.zeros([2, 3, 3, 1]), seed=1).shape
    TensorShape([2, 3, 3, 1])
    """
    return _random_flip(image, seed, 2, False)


def random_flip_up_down(image, seed=None):
    """Flips each image upside down with probability 1/2 (tf.image.random_flip_up_down).

    >>> gt.image.random_flip_up_down(gt.zeros([3, 3, 1]), seed=1).shape
    TensorShape([3, 3, 1])
    """
    return _random_flip(image, seed, 3, False)


def stateless_random_flip_left_right(image, seed):
    """random_flip_left_right decided by a [2] seed alone (tf.image.stateless_random_flip_left_right).

    >>> x = gt.reshape(gt.range(4.0), [1, 2, 2, 1])
    >>> a = gt.image.stateless_random_flip_left_right(x, [1, 2])
    >>> bool(gt.reduce_all(a == gt.image.stateless_random_flip_left_right(x, [1, 2])))
    True
    """
    return _random_flip(image, seed, 2, True)


def stateless_random_flip_up_down(image, seed):
    """random_flip_up_down decided by a [2] seed alone (tf.image.stateless_random_flip_up_down).

    >>> gt.image.stateless_random_flip_up_down(gt.zeros([2, 2, 1]), [3, 4]).shape
    TensorShape([2, 2, 1])
    """
    return _random_flip(image, seed, 3, True)


def total_variation(images, name=None):
    """The sum of absolute differences between neighbouring pixels, per image
    (tf.image.total_variation): a scalar for one image, a [batch] vector for a batch.

    >>> float(gt.image.total_variation(gt.constant([[[0.0], [1.0]], [[3.0], [1.0]]])))
    6.0
    """
    x, batched = _image(images, "total_variation")
    dh = x[:, 1:, :, :] - x[:, :-1, :, :]
    dw = x[:, :, 1:, :] - x[:, :, :-1, :]
    tv = _core.reduce_sum(_core.abs(dh), [1, 2, 3]) + _core.reduce_sum(_core.abs(dw), [1, 2, 3])
    return tv if batched else tv[0]


def image_gradients(image):
    """(dy, dx): the differences to the next row and to the next column, 0 in the last row and
    column, for a batch [batch, height, width, channels] (tf.image.image_gradients).

    >>> dy, dx = gt.image.image_gradients(gt.reshape(gt.range(4.0), [1, 2, 2, 1]))
    >>> dy.numpy()[0, :, :, 0], dx.numpy()[0, :, :, 0]
    (array([[2., 2.],
           [0., 0.]], dtype=float32), array([[1., 0.],
           [1., 0.]], dtype=float32))
    """
    x = _core.convert_to_tensor(image)
    if x.ndim != 4:
        raise ValueError("image_gradients expects a 4D tensor [batch_size, h, w, d], not %s." % (tuple(x.shape),))
    dy = x[:, 1:, :, :] - x[:, :-1, :, :]
    dx = x[:, :, 1:, :] - x[:, :, :-1, :]
    dy = _core.concat([dy, _core.zeros([x.shape[0], 1, x.shape[2], x.shape[3]], dtype=x.dtype)], axis=1)
    dx = _core.concat([dx, _core.zeros([x.shape[0], x.shape[1], 1, x.shape[3]], dtype=x.dtype)], axis=2)
    return dy, dx
