import gradtape as tf
# The names a TensorFlow program uses around its ops (written here for gradtape's tests): slicing
# by numbers, repeat, sequence masks, unique, searchsorted, partitions and stitches, segment
# reductions, polynomial and special functions, counting, the moments helpers of tf.nn,
# pseudo-inverses and log-determinants, shape checks, initializers, py_function, error classes
# and their codes. Every printed value, gradient and error name must be TensorFlow's.
import numpy as np


def show(label, t):
    if isinstance(t, (list, tuple)):
        print(label, [np.asarray(x).tolist() for x in t])
    else:
        print(label, np.asarray(t).tolist())


def error(label, fn):
    try:
        fn()
        print(label, "no error")
    except Exception as e:  # noqa: BLE001 (the class is what is compared)
        print(label, type(e).__name__, isinstance(e, tf.errors.OpError))


x = tf.reshape(tf.range(12.0), [3, 4])
show("slice:", tf.slice(x, [1, 1], [2, -1]))
show("strided_slice:", tf.strided_slice(x, [0, 3], [3, 0], [2, -1]))
show("strided_slice shrink:", tf.strided_slice(x, [1, 0], [2, 4], shrink_axis_mask=1))
show("strided_slice masks:", tf.strided_slice(x, [0, 1], [0, 3], begin_mask=1, end_mask=1))
show("repeat:", tf.repeat(tf.constant([[1, 2], [3, 4]]), [2, 1], axis=0))
show("repeat flat:", tf.repeat([1, 2, 3], 2))
show("sequence_mask:", tf.sequence_mask([1, 3, 0], 4))
show("sequence_mask float:", tf.sequence_mask([2, 1], dtype=tf.float32))
y, idx = tf.unique([4, 1, 4, 2, 1, 7])
show("unique:", [y, idx])
show("unique_with_counts:", list(tf.unique_with_counts([4, 1, 4, 2, 1, 7])))
show("searchsorted:", tf.searchsorted([[0.0, 1.0, 2.0], [1.0, 1.0, 5.0]], [[1.0, 3.0], [1.0, 0.0]]))
show("searchsorted right:", tf.searchsorted([0.0, 1.0, 1.0, 2.0], [1.0], side="right"))
show("dynamic_partition:", tf.dynamic_partition(x, [1, 0, 1], 2))
show("dynamic_stitch:", tf.dynamic_stitch([[0, 2], [1, 2]], [[[1.0], [2.0]], [[3.0], [4.0]]]))
show("reverse_sequence:", tf.reverse_sequence(x, [2, 4, 0], seq_axis=1, batch_axis=0))
show("unravel_index:", tf.unravel_index([1, 7], [2, 4]))
show("saturate_cast:", tf.saturate_cast(tf.constant([-3e9, 1.5, 3e9]), tf.int32))
show("realdiv:", tf.realdiv(tf.constant([1.0, 3.0]), tf.constant([4.0, 2.0])))
show("ensure_shape:", tf.ensure_shape(x, [None, 4]).shape.as_list())
error("ensure_shape wrong:", lambda: tf.ensure_shape(x, [3, 5]))
print("is_tensor:", tf.is_tensor(x), tf.is_tensor(tf.Variable(1.0)), tf.is_tensor([1.0]))
show("histogram_fixed_width:", tf.histogram_fixed_width([-1.0, 0.0, 0.3, 0.6, 2.0], [0.0, 1.0], nbins=3))
show("histogram_fixed_width_bins:", tf.histogram_fixed_width_bins([-1.0, 0.0, 0.3, 0.6, 2.0], [0.0, 1.0], nbins=3))
show("scalar_mul:", tf.math.scalar_mul(3.0, tf.constant([1.0, 2.0])))
error("scalar_mul of a vector:", lambda: tf.math.scalar_mul(tf.constant([1.0, 2.0]), tf.constant([1.0, 2.0])))

# segments
data = tf.constant([[1.0, 2.0], [5.0, -1.0], [3.0, 3.0], [0.5, 8.0]])
ids = tf.constant([0, 2, 0, -1])
for fn in (tf.math.unsorted_segment_max, tf.math.unsorted_segment_min, tf.math.unsorted_segment_prod,
           tf.math.unsorted_segment_mean, tf.math.unsorted_segment_sqrt_n):
    show(fn.__name__ + ":", fn(data, ids, 3))
show("unsorted_segment_max int:", tf.math.unsorted_segment_max(tf.constant([3, 9, 4]), tf.constant([1, 1, 0]), 3))
show("segment_prod:", tf.math.segment_prod(data, [0, 0, 1, 3]))
error("segment id too big:", lambda: tf.math.unsorted_segment_max(data, [0, 5, 0, 0], 3))
v = tf.Variable(data)
with tf.GradientTape(persistent=True) as tape:
    smax = tf.reduce_sum(tf.math.unsorted_segment_max(v, ids, 3) * [[1.0, 2.0], [0.0, 0.0], [3.0, 4.0]])
    sprod = tf.reduce_sum(tf.math.unsorted_segment_prod(v, ids, 3))
    smean = tf.reduce_sum(tf.math.unsorted_segment_mean(v, ids, 3) ** 2)
show("d segment_max:", tape.gradient(smax, v))
show("d segment_prod:", tape.gradient(sprod, v))
show("d segment_mean:", tape.gradient(smean, v))

# elementwise and special
c = tf.Variable([1.0, -2.0, 0.5])
z = tf.Variable(1.5)
with tf.GradientTape() as tape:
    p = tf.math.polyval([c[0], c[1], c[2]], z)
show("polyval:", p)
show("d polyval:", tape.gradient(p, [c, z]))
b = tf.Variable([[1.0, 2.0, 3.5], [0.25, 4.0, 1.0]], dtype=tf.float64)
with tf.GradientTape() as tape:
    lb = tf.math.lbeta(b)
show("lbeta:", lb)
show("d lbeta:", tape.gradient(lb, b))
show("lbeta empty:", tf.math.lbeta(tf.zeros([2, 0])))
show("reciprocal_no_nan:", tf.math.reciprocal_no_nan(tf.constant([0.0, 4.0, -0.5])))
error("reciprocal_no_nan int:", lambda: tf.math.reciprocal_no_nan(tf.constant([1, 2])))
show("logical_xor:", tf.math.logical_xor([True, True, False], [True, False, False]))
show("mod:", tf.math.mod(tf.constant([7, -7]), 3))
show("accumulate_n:", tf.math.accumulate_n([tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0])]))
show("zero_fraction:", tf.math.zero_fraction(tf.constant([[0.0, 1.0], [0.0, 0.0]])))
show("nn.zero_fraction:", tf.nn.zero_fraction(tf.constant([1, 0, 3])))
show("monotone:", [tf.math.is_non_decreasing([1, 1, 2]), tf.math.is_strictly_increasing([1, 1, 2]),
                   tf.math.is_strictly_increasing([[1, 2], [3, 4]]), tf.math.is_non_decreasing(5.0)])
show("invert_permutation:", tf.math.invert_permutation([3, 0, 2, 1]))
error("invert_permutation duplicate:", lambda: tf.math.invert_permutation([0, 0, 1]))
show("polygamma:", tf.math.polygamma(tf.constant([0.0, 1.0, 2.0, 3.0]), tf.constant([0.5, 2.0, 3.0, 1.5])))

# counting
preds = tf.constant([[0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.2, 0.3], [0.2, 0.2, 0.2]])
show("in_top_k 1:", tf.math.in_top_k([1, 0, 0, 2], preds, 1))
show("in_top_k 2:", tf.math.in_top_k([1, 0, 1, 2], preds, 2))
show("nn.in_top_k:", tf.nn.in_top_k([1, 0, 0, 2], preds, 1))
show("bincount:", tf.math.bincount([0, 3, 3, 1, 5]))
show("bincount weights:", tf.math.bincount([0, 3, 3, 1], weights=[0.5, 1.0, 2.0, 1.5], minlength=6))
show("bincount maxlength:", tf.math.bincount([0, 3, 3, 1, 5], maxlength=3))
show("bincount axis:", tf.math.bincount([[1, 1, 0], [2, 0, 0]], axis=-1))
show("bincount binary:", tf.math.bincount([0, 3, 3], binary_output=True))
show("confusion_matrix:", tf.math.confusion_matrix([0, 2, 1, 2], [0, 1, 1, 2]))
show("confusion_matrix weights:", tf.math.confusion_matrix([0, 1], [1, 1], num_classes=3, weights=[2, 5]))

# tf.nn
show("crelu:", tf.nn.crelu(tf.constant([[-1.0, 2.0]])))
img = tf.reshape(tf.range(32.0), [1, 4, 4, 2])
s2d = tf.nn.space_to_depth(img, 2)
show("space_to_depth:", s2d)
show("depth_to_space:", tf.nn.depth_to_space(s2d, 2))
error("space_to_depth indivisible:", lambda: tf.nn.space_to_depth(tf.zeros([1, 3, 4, 1]), 2))
counts, m_ss, v_ss, shift = tf.nn.sufficient_statistics(x, [1], shift=1.0)
show("sufficient_statistics:", [counts, m_ss, v_ss, shift])
show("normalize_moments:", list(tf.nn.normalize_moments(counts, m_ss, v_ss, shift)))
show("weighted_moments:", list(tf.nn.weighted_moments(x, [1], tf.constant([[1.0], [0.0], [2.0]]))))
show("weighted_moments keepdims:", list(tf.nn.weighted_moments(x, [0], tf.constant([1.0, 2.0, 0.0, 1.0]), keepdims=True)))
show("compute_average_loss:", tf.nn.compute_average_loss(tf.constant([1.0, 2.0, 4.0]), sample_weight=[1.0, 0.5, 0.25]))
show("scale_regularization_loss:", tf.nn.scale_regularization_loss(tf.constant([1.0, 2.0])))
show("nn.top_k:", list(tf.nn.top_k(tf.constant([1.0, 4.0, 2.0]), 2)))

# tf.linalg
a = tf.constant([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], dtype=tf.float64)
show("logdet:", tf.linalg.logdet(a))
m = tf.Variable([[1.0, 2.0], [3.0, 4.0], [5.0, 6.5]], dtype=tf.float64)
with tf.GradientTape() as tape:
    pi = tf.linalg.pinv(m)
    loss = tf.reduce_sum(pi * [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
show("pinv:", pi)
show("d pinv:", tape.gradient(loss, m))
show("pinv singular:", tf.linalg.pinv(tf.constant([[1.0, 2.0], [2.0, 4.0]], dtype=tf.float64)))
show("matrix_rank:", [tf.linalg.matrix_rank(tf.constant([[1.0, 2.0], [2.0, 4.0]])), tf.linalg.matrix_rank(a)])
show("normalize:", list(tf.linalg.normalize(tf.constant([[3.0, 4.0], [6.0, 8.0]]), axis=1)))
show("normalize ord 1:", list(tf.linalg.normalize(tf.constant([3.0, -1.0]), ord=1)))
show("global_norm:", tf.linalg.global_norm([tf.constant([3.0]), tf.constant([[4.0]])]))
show("l2_normalize:", tf.linalg.l2_normalize(tf.constant([3.0, 4.0])))
show("adjoint:", tf.linalg.adjoint(tf.constant([[1.0, 2.0, 3.0]])))
show("matrix_transpose:", tf.linalg.matrix_transpose(tf.reshape(tf.range(6), [1, 2, 3])))
show("tensor_diag:", tf.linalg.tensor_diag([[1.0, 2.0]]))
show("tensor_diag_part:", tf.linalg.tensor_diag_part(tf.reshape(tf.range(16.0), [2, 2, 2, 2])))

# utilities
show("py_function:", tf.py_function(lambda u, w: u * w + 1.0, [tf.constant(2.0), tf.constant(3.0)], tf.float32))
w = tf.Variable(2.0)
with tf.GradientTape() as tape:
    out = tf.py_function(lambda u: u ** 3, [w], Tout=tf.float32)
show("d py_function:", tape.gradient(out, w))
show("numpy_function:", tf.numpy_function(lambda u: np.cumsum(u), [tf.constant([1.0, 2.0, 3.0])], tf.float32))
r = tf.Variable(2.6)
with tf.GradientTape() as tape:
    rounded = tf.grad_pass_through(tf.round)(r) * 2.0
show("grad_pass_through:", [rounded, tape.gradient(rounded, r)])
show("constant_initializer:", tf.constant_initializer([1.0, 2.0, 3.0, 4.0])(shape=[2, 2]))
show("zeros_initializer:", tf.zeros_initializer()(shape=[2], dtype=tf.int32))
show("ones_initializer:", tf.ones_initializer()(shape=[1, 2]))
print("initializer config:", tf.constant_initializer(3.0).get_config(), tf.random_normal_initializer(1.0, 2.0).get_config())
with tf.control_dependencies([tf.constant(1.0)]):
    show("control_dependencies:", tf.constant(2.0) * 3)
print("no_op, group:", tf.no_op(), tf.group(tf.constant(1.0)))
show("tuple:", tf.tuple([tf.constant(1.0), tf.constant(2.0)]))
print("get_logger:", type(tf.get_logger()).__name__)

# errors
it = iter(tf.data.Dataset.from_tensor_slices([1.0]))
show("get_next:", it.get_next())
error("get_next at the end:", it.get_next)
error("reshape:", lambda: tf.reshape(tf.zeros([2, 3]), [4]))
print("codes:", tf.errors.OK, tf.errors.INVALID_ARGUMENT, tf.errors.NOT_FOUND, tf.errors.OUT_OF_RANGE,
      tf.errors.UNIMPLEMENTED, tf.errors.DATA_LOSS, tf.errors.UNAUTHENTICATED)
for cls in (tf.errors.InvalidArgumentError, tf.errors.ResourceExhaustedError, tf.errors.NotFoundError,
            tf.errors.OutOfRangeError, tf.errors.UnimplementedError, tf.errors.InternalError, tf.errors.AbortedError,
            tf.errors.CancelledError, tf.errors.UnknownError, tf.errors.FailedPreconditionError, tf.errors.DataLossError):
    e = cls(None, None, "message text")
    print(cls.__name__, issubclass(cls, tf.errors.OpError), e.message, e.error_code, str(e))
try:
    tf.reshape(tf.zeros([2, 3]), [4])
except tf.errors.OpError as e:
    print("OpError caught:", type(e).__name__, e.error_code)

# tf.debugging
error("assert_scalar:", lambda: tf.debugging.assert_scalar(tf.ones([2])))
error("assert_integer:", lambda: tf.debugging.assert_integer(tf.constant(1.0)))
error("assert_type:", lambda: tf.debugging.assert_type(tf.constant(1.0), tf.int32))
error("assert_rank_at_least:", lambda: tf.debugging.assert_rank_at_least(tf.ones([2]), 2))
error("assert_rank_in:", lambda: tf.debugging.assert_rank_in(tf.ones([2]), [0, 2]))
error("assert_all_finite:", lambda: tf.debugging.assert_all_finite(tf.constant([1.0, np.inf]), "bad"))
error("assert_same_float_dtype:", lambda: tf.debugging.assert_same_float_dtype([tf.constant(1.0), tf.constant(1.0, tf.float64)]))
error("assert_proper_iterable:", lambda: tf.debugging.assert_proper_iterable("abc"))
print("is_numeric_tensor:", tf.debugging.is_numeric_tensor(tf.constant(1)), tf.debugging.is_numeric_tensor(tf.constant(False)))
error("tf.assert_equal:", lambda: tf.assert_equal(tf.constant([1, 2]), tf.constant([1, 3])))
error("tf.assert_less:", lambda: tf.assert_less(tf.constant(2), tf.constant(1)))
error("tf.Assert:", lambda: tf.Assert(tf.constant(False), ["never"]))
print("get_current_name_scope:", repr(tf.get_current_name_scope()))

# tf.TensorArray, eager
ta = tf.TensorArray(tf.float32, size=2)
ta2 = ta.write(0, 1.0)
show("TensorArray shared storage:", ta.write(1, 3.0).stack())
error("TensorArray write past the end:", lambda: ta.write(5, 2.0))
error("TensorArray write dtype:", lambda: ta.write(1, tf.constant(1, tf.int32)))
error("TensorArray write shape:", lambda: ta.write(1, [1.0, 2.0]))
tb = tf.TensorArray(tf.float32, size=0, dynamic_size=True).write(2, [1.0, 2.0])
show("TensorArray dynamic:", [tb.size(), tb.stack()])
show("TensorArray empty:", [tf.TensorArray(tf.float32, size=0).stack().shape.as_list(),
                            tf.TensorArray(tf.float32, size=0, element_shape=[2]).stack().shape.as_list()])
tc = tf.TensorArray(tf.float32, size=3).unstack([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
show("TensorArray gather, concat:", [tc.gather([2, 0]), tc.concat()])
error("TensorArray negative read:", lambda: tc.read(-1))
te = tf.TensorArray(tf.float32, size=2).write(0, 1.0)
show("TensorArray read:", te.read(0))
error("TensorArray second read:", lambda: te.read(0))
show("TensorArray keep:", [tf.TensorArray(tf.float32, size=1, clear_after_read=False).write(0, 2.0).read(0)])
show("TensorArray scatter:", tf.TensorArray(tf.float32, size=2).scatter([1, 0], [[1.0], [2.0]]).stack())
show("TensorArray split:", tf.TensorArray(tf.float32, size=3).split([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1, 2, 3]).read(2))
tv = tf.Variable([1.0, 2.0, 3.0])
with tf.GradientTape() as tape:
    acc = tf.TensorArray(tf.float32, size=3)
    for i in range(3):
        acc = acc.write(i, tv[i] * tv[i])
    total = tf.reduce_sum(acc.stack() * [1.0, 10.0, 100.0])
show("TensorArray gradient:", tape.gradient(total, tv))


@tf.function
def squares(x):
    out = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
    for i in range(3):
        out = out.write(i, x * float(i))
    return out.stack()


show("TensorArray in tf.function:", [squares(tf.constant(2.0)), squares(tf.constant(3.0))])

# tf.config on a CPU-only machine
cpu = tf.config.list_physical_devices("CPU")
print("visible:", [d.name for d in tf.config.get_visible_devices()], tf.config.get_visible_devices("GPU"))
print("set_visible_devices:", tf.config.set_visible_devices([], "GPU"))
print("threading:", tf.config.threading.get_intra_op_parallelism_threads(),
      tf.config.threading.get_inter_op_parallelism_threads())
# (setting them here would raise RuntimeError in TensorFlow, whose runtime is initialised by
# now; gradtape's pool can be resized at any time: docs/choices.md)
print("determinism:", tf.config.experimental.enable_op_determinism())
print("tf32:", tf.config.experimental.tensor_float_32_execution_enabled())
error("memory growth on a CPU:", lambda: tf.config.experimental.set_memory_growth(cpu[0], True))
print("soft placement:", tf.config.get_soft_device_placement())
print("device details:", tf.config.experimental.get_device_details(cpu[0]))
print("functions_run_eagerly:", tf.config.functions_run_eagerly())

# tf.initializers (Keras 3's): distributions compared through statistics of 120,000 draws
# (the random bits are gt.random's, not TensorFlow's); same values per call with a seed
for make, shape in [(lambda: tf.initializers.GlorotUniform(seed=1), [300, 400]),
                    (lambda: tf.initializers.GlorotNormal(seed=1), [300, 400]),
                    (lambda: tf.initializers.HeUniform(seed=1), [3, 3, 40, 333]),
                    (lambda: tf.initializers.HeNormal(seed=1), [3, 3, 40, 333]),
                    (lambda: tf.initializers.LecunUniform(seed=1), [400, 300]),
                    (lambda: tf.initializers.LecunNormal(seed=1), [400, 300]),
                    (lambda: tf.initializers.VarianceScaling(3.0, "fan_out", "untruncated_normal", seed=1), [300, 400]),
                    (lambda: tf.initializers.RandomNormal(0.0, 0.5, seed=1), [300, 400]),
                    (lambda: tf.initializers.RandomUniform(-0.3, 0.3, seed=1), [300, 400]),
                    (lambda: tf.initializers.TruncatedNormal(0.0, 0.5, seed=1), [300, 400])]:
    init = make()
    values = init(shape=shape).numpy().astype(np.float64)
    again = init(shape=shape).numpy().astype(np.float64)
    bounded = type(init).__name__ not in ("VarianceScaling", "RandomNormal")  # (a normal's max is noise)
    print("[rtol=0.02]", type(init).__name__, "std %.5f" % values.std(), "max|x| %.4f" % np.abs(values).max() if bounded else "")
    print(type(init).__name__, "same per call:", bool((values == again).all()), values.dtype, list(values.shape))
q = tf.initializers.Orthogonal(gain=2.0, seed=3)(shape=[6, 4]).numpy().astype(np.float64)
print("Orthogonal:", np.round(q.T @ q, 5).tolist())
show("Identity:", tf.initializers.Identity(3.0)(shape=[2, 3]))
show("Constant:", tf.initializers.Constant(1.5)(shape=[2]))
show("Zeros, Ones:", [tf.initializers.Zeros()(shape=[2]), tf.initializers.Ones()(shape=[1, 2])])
print("get:", type(tf.initializers.get("he_normal")).__name__, tf.initializers.serialize(tf.initializers.GlorotUniform(seed=5)))
print("config:", tf.initializers.VarianceScaling(2.0, "fan_avg", "uniform").get_config())
print("fan axes:", tf.initializers.VarianceScaling(1.0, "fan_in", "uniform", input_axes=[0, 1], output_axes=[2]).get_config())
x_axes = tf.initializers.VarianceScaling(6.0, "fan_in", "uniform", seed=2, input_axes=[0, 1], output_axes=[2])(shape=[10, 6, 7])
print("[rtol=0.001] fan axes limit:", "%.4f" % np.abs(x_axes.numpy()).max())

# tf.image on float images
imgs = tf.reshape(tf.range(2 * 3 * 4 * 2, dtype=tf.float64), [2, 3, 4, 2])
for size in ([5, 3], [2, 2], [3, 4], [7, 9]):
    r = tf.image.resize(imgs, size)
    show("resize %s:" % size, [str(r.dtype), r[0, :, :, 0], r[1, :, :, 1]])
    n = tf.image.resize(imgs, size, method="nearest")
    show("resize nearest %s:" % size, [str(n.dtype), n[0, :, :, 0]])
show("resize 3-D:", tf.image.resize(imgs[0], [2, 3])[:, :, 1])
print("resize aspect:", tf.image.resize(imgs, [6, 2], preserve_aspect_ratio=True).shape.as_list())
error("resize unknown method:", lambda: tf.image.resize(imgs, [2, 2], method="foo"))
iv = tf.Variable(imgs)
with tf.GradientTape() as tape:
    out = tf.reduce_sum(tf.image.resize(iv, [5, 3]) * tf.reshape(tf.range(60, dtype=tf.float32), [2, 5, 3, 2]))
show("d resize:", tape.gradient(out, iv)[0, :, :, 0])
show("flips:", [tf.image.flip_left_right(imgs)[0, :, :, 0], tf.image.flip_up_down(imgs[1])[:, :, 1]])
show("transpose, rot90:", [tf.image.transpose(imgs)[0, :, :, 0], tf.image.rot90(imgs[0], 3)[:, :, 0], tf.image.rot90(imgs, 2)[1, :, :, 1]])
print("crops:", tf.image.central_crop(imgs, 0.5).shape.as_list(), tf.image.central_crop(imgs[0], 0.7).shape.as_list(),
      tf.image.resize_with_crop_or_pad(imgs, 5, 2).shape.as_list(), tf.image.resize_with_crop_or_pad(imgs[0], 2, 7).shape.as_list())
show("resize_with_crop_or_pad:", tf.image.resize_with_crop_or_pad(imgs, 5, 2)[0, :, :, 0])
show("crop_to_bounding_box:", tf.image.crop_to_bounding_box(imgs, 1, 1, 2, 2)[1, :, :, 0])
show("pad_to_bounding_box:", tf.image.pad_to_bounding_box(imgs[0], 1, 2, 5, 7)[:, :, 0])
error("crop outside:", lambda: tf.image.crop_to_bounding_box(imgs, 2, 2, 2, 3))
s = tf.image.per_image_standardization(imgs)
show("per_image_standardization:", [str(s.dtype), s[0, 0], s[1, 2]])
show("grayscale:", [tf.image.rgb_to_grayscale(tf.reshape(tf.range(12.0), [2, 2, 3])), tf.image.grayscale_to_rgb(tf.ones([1, 1, 1]))])
show("brightness, contrast:", [tf.image.adjust_brightness(imgs[0, 0], 0.5), tf.image.adjust_contrast(imgs[0], 2.0)[0, 0]])
show("total_variation:", [tf.image.total_variation(imgs), tf.image.total_variation(imgs[0])])
dy, dx = tf.image.image_gradients(imgs)
show("image_gradients:", [dy[0, :, 0, 0], dx[0, 0, :, 0]])

# more top-level names
base = tf.constant([[1.0, 5.0], [2.0, -1.0], [0.0, 0.0]])
sv = tf.Variable(base)
uv = tf.Variable([[3.0, 4.0], [0.5, 6.0], [3.0, -2.0]])
with tf.GradientTape(persistent=True) as tape:
    smax = tf.tensor_scatter_nd_max(sv, [[0], [1], [0]], uv)
    smin = tf.tensor_scatter_nd_min(sv, [[0], [1], [0]], uv)
    ssub = tf.tensor_scatter_nd_sub(sv, [[2, 1], [0, 0]], [1.0, 2.0])
    weights = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    lmax, lmin = tf.reduce_sum(smax * weights), tf.reduce_sum(smin * weights)
show("tensor_scatter_nd_max/min/sub:", [smax, smin, ssub])
show("d scatter max:", tape.gradient(lmax, [sv, uv]))
show("d scatter min:", tape.gradient(lmin, [sv, uv]))
show("parallel_stack in tf.function:", tf.function(lambda a, b: tf.parallel_stack([a, b]))(tf.constant([1, 2]), tf.constant([3, 4])))
print("inside_function:", tf.inside_function(), tf.is_symbolic_tensor(tf.constant(1.0)))
print("aggregation:", tf.VariableAggregation.MEAN.value, tf.VariableSynchronization.ON_READ.value, tf.AggregationMethod.ADD_N)
