"""The misuse cases of the error table, shared by tests/reference/make_errors.py (which runs
them under TensorFlow 2.21 and stores what it raises in tf_errors.json) and
tests/test_error_table.py (which runs them under gradtape and compares the exception types).

Each case is a function of one argument, the module (`tensorflow` or `gradtape`), written with
the API both have, that misuses the tape or an op. `outcome(fn, tf)` runs it and says what
happened: the exception's type, named as `kind()` names it, and the head of its message, or
"returns" and what came back. The cases import nothing but NumPy.

DELIBERATE lists the rows where gradtape keeps a documented difference from TensorFlow, with
gradtape's outcome and the reason; docs/errors.md marks them.
"""
import re
import warnings

import numpy as np

CASES = []
AREAS = {
    "tape": "GradientTape",
    "custom": "custom_gradient",
    "ops": "Ops",
    "tensor": "Tensors and variables",
    "forward": "ForwardAccumulator",
}


def case(area, what):
    def register(fn):
        assert area in AREAS
        assert fn.__name__ not in {c["id"] for c in CASES}, fn.__name__
        CASES.append(dict(id=fn.__name__, area=area, what=what, fn=fn))
        return fn
    return register


def kind(exc_type):
    """A library-neutral name for an exception type: a builtin's own name ("ValueError"),
    "errors.NAME" for TensorFlow's tf.errors classes and gradtape's gt.errors classes, and
    "module.qualname" for anything else."""
    module = exc_type.__module__
    if module == "builtins":
        return exc_type.__name__
    if module.startswith("tensorflow.python.framework.errors") or module.startswith("gradtape"):
        return "errors." + exc_type.__name__
    return module + "." + exc_type.__qualname__


def _head(text, limit=160):
    """The first line of a message, without TensorFlow's "{{function_node ...}} " prefix and
    without object addresses (so that the stored data is the same run to run)."""
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    line = re.sub(r"^\{\{function_node [^}]*\}\}\s*", "", line)
    line = re.sub(r" at 0x[0-9a-f]+", "", line)
    return line if len(line) <= limit else line[:limit - 3] + "..."


def outcome(fn, tf):
    """{"raises": kind, "message": head} or {"returns": repr head} for one case."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = fn(tf)
        except Exception as e:  # noqa: BLE001 - every exception is the data
            return {"raises": kind(type(e)), "message": _head(e)}
    return {"returns": _head(_describe(value))}


def _describe(value):
    if value is None:
        return "None"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_describe(v) for v in value) + "]"
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "numpy"):
        return "tensor of shape %s" % (tuple(int(d) for d in shape),)
    return type(value).__name__


# --------------------------------------------------------------------------- helpers

def _watched(tf, value=(1.0, 2.0), persistent=False):
    x = tf.constant(list(value) if isinstance(value, tuple) else value)
    tape = tf.GradientTape(persistent=persistent)
    with tape:
        tape.watch(x)
        y = x * x
    return tape, x, y


# --------------------------------------------------------------------------- GradientTape

@case("tape", "entering a tape that is already active")
def tape_reenter_active(tf):
    tape = tf.GradientTape()
    with tape:
        with tape:
            pass


@case("tape", "a second gradient() on a non-persistent tape")
def tape_second_gradient(tf):
    tape, x, y = _watched(tf)
    tape.gradient(y, x)
    return tape.gradient(y, x)


@case("tape", "jacobian() after gradient() on a non-persistent tape")
def tape_jacobian_after_gradient(tf):
    tape, x, y = _watched(tf)
    tape.gradient(y, x)
    return tape.jacobian(y, x)


@case("tape", "gradient() after jacobian() on a non-persistent tape")
def tape_gradient_after_jacobian(tf):
    tape, x, y = _watched(tf)
    tape.jacobian(y, x)
    return tape.gradient(y, x)


@case("tape", "batch_jacobian() after gradient() on a non-persistent tape")
def tape_batch_jacobian_after_gradient(tf):
    tape, x, y = _watched(tf, [[1.0, 2.0]])
    tape.gradient(y, x)
    return tape.batch_jacobian(y, x)


@case("tape", "stop_recording() on a tape never entered")
def tape_stop_recording_never_entered(tf):
    tape = tf.GradientTape()
    with tape.stop_recording():
        pass


@case("tape", "stop_recording() on a persistent tape after its block")
def tape_stop_recording_after_exit(tf):
    tape, x, y = _watched(tf, persistent=True)
    with tape.stop_recording():
        pass


@case("tape", "stop_recording() inside the block after a non-persistent gradient()")
def tape_stop_recording_after_gradient(tf):
    x = tf.constant(1.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        tape.gradient(y, x)
        with tape.stop_recording():
            pass


@case("tape", "stop_recording() nested in stop_recording()")
def tape_stop_recording_nested(tf):
    with tf.GradientTape() as tape:
        with tape.stop_recording():
            with tape.stop_recording():
                pass


@case("tape", "watch() of a Python float")
def tape_watch_python_float(tf):
    with tf.GradientTape() as tape:
        tape.watch(1.0)


@case("tape", "watch() of a NumPy array")
def tape_watch_numpy(tf):
    with tf.GradientTape() as tape:
        tape.watch(np.ones(2, np.float32))


@case("tape", "watch() of None")
def tape_watch_none(tf):
    with tf.GradientTape() as tape:
        tape.watch(None)


@case("tape", "watch() of a string")
def tape_watch_string(tf):
    with tf.GradientTape() as tape:
        tape.watch("x")


@case("tape", "watch() of a list holding a tensor and a float")
def tape_watch_list_with_float(tf):
    with tf.GradientTape() as tape:
        tape.watch([tf.constant(1.0), 2.0])


@case("tape", "watch() of an int32 tensor (a warning; its gradient is None)")
def tape_watch_int_tensor(tf):
    x = tf.constant(3)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    return tape.gradient(y, x)


@case("tape", "gradient() with target None")
def tape_gradient_target_none(tf):
    tape, x, y = _watched(tf)
    return tape.gradient(None, x)


@case("tape", "gradient() with sources None")
def tape_gradient_sources_none(tf):
    tape, x, y = _watched(tf)
    return tape.gradient(y, None)


@case("tape", "gradient() with a Python float source")
def tape_gradient_source_float(tf):
    tape, x, y = _watched(tf)
    return tape.gradient(y, 1.0)


@case("tape", "gradient() with a NumPy array source")
def tape_gradient_source_numpy(tf):
    tape, x, y = _watched(tf)
    return tape.gradient(y, np.ones(2, np.float32))


@case("tape", "gradient() with a list of sources holding a string")
def tape_gradient_source_list_with_string(tf):
    tape, x, y = _watched(tf)
    return tape.gradient(y, [x, "x"])


@case("tape", "gradient() with a dict of sources holding a float")
def tape_gradient_source_dict_with_float(tf):
    tape, x, y = _watched(tf)
    return tape.gradient(y, {"a": x, "b": 1.0})


@case("tape", "gradient() of an int32 target")
def tape_gradient_int_target(tf):
    x = tf.constant(3)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * 2
    return tape.gradient(y, x)


@case("tape", "gradient() with respect to an int32 source (a warning; None)")
def tape_gradient_int_source(tf):
    x = tf.constant(3)
    f = tf.constant(2.0)
    with tf.GradientTape() as tape:
        tape.watch(f)
        y = f * 2.0
    return tape.gradient(y, [f, x])


@case("tape", "gradient() with unconnected_gradients='bogus'")
def tape_unconnected_bogus(tf):
    tape, x, y = _watched(tf)
    return tape.gradient(y, x, unconnected_gradients="bogus")


@case("tape", "gradient() with unconnected_gradients=1")
def tape_unconnected_int(tf):
    tape, x, y = _watched(tf)
    return tape.gradient(y, x, unconnected_gradients=1)


@case("tape", "gradient() with unconnected_gradients='error' and an unconnected source")
def tape_unconnected_error_mode(tf):
    tape, x, y = _watched(tf)
    return tape.gradient(y, [x, tf.constant(1.0)], unconnected_gradients="error")


@case("tape", "gradient() with unconnected_gradients='ZERO' (upper case)")
def tape_unconnected_upper_case(tf):
    tape, x, y = _watched(tf)
    return tape.gradient(y, x, unconnected_gradients="ZERO")


@case("tape", "gradient() with 1 output_gradients for 2 targets")
def tape_output_gradients_count(tf):
    tape, x, y = _watched(tf)
    return tape.gradient([y, y], x, output_gradients=[tf.ones([2])])


@case("tape", "gradient() with output_gradients of the wrong shape")
def tape_output_gradients_shape(tf):
    tape, x, y = _watched(tf)
    return tape.gradient(y, x, output_gradients=tf.ones([3]))


@case("tape", "gradient() with output_gradients that broadcast to the target's shape")
def tape_output_gradients_broadcast(tf):
    tape, x, y = _watched(tf)
    return tape.gradient(y, x, output_gradients=tf.ones([1]))


@case("tape", "gradient() with float64 output_gradients for a float32 target")
def tape_output_gradients_dtype(tf):
    tape, x, y = _watched(tf)
    return tape.gradient(y, x, output_gradients=tf.ones([2], dtype=tf.float64))


@case("tape", "gradient() with output_gradients nested unlike the targets")
def tape_output_gradients_structure(tf):
    tape, x, y = _watched(tf)
    return tape.gradient({"a": y, "b": y}, x, output_gradients=[tf.ones([2])])


@case("tape", "jacobian() with unconnected_gradients='bogus'")
def tape_jacobian_unconnected_bogus(tf):
    tape, x, y = _watched(tf)
    return tape.jacobian(y, x, unconnected_gradients="bogus")


@case("tape", "jacobian() with target None")
def tape_jacobian_target_none(tf):
    tape, x, y = _watched(tf)
    return tape.jacobian(None, x)


@case("tape", "jacobian() with a Python float source")
def tape_jacobian_source_float(tf):
    tape, x, y = _watched(tf)
    return tape.jacobian(y, 1.0)


@case("tape", "batch_jacobian() of a rank-1 target")
def tape_batch_jacobian_rank1_target(tf):
    x = tf.constant([[1.0, 2.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(x * x, axis=1)
    return tape.batch_jacobian(y, x)


@case("tape", "batch_jacobian() with respect to a rank-1 source")
def tape_batch_jacobian_rank1_source(tf):
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reshape(x * x, [2, 1])
    return tape.batch_jacobian(y, x)


@case("tape", "batch_jacobian() with different batch sizes")
def tape_batch_jacobian_batch_mismatch(tf):
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reshape(x, [1, 4]) * 2.0
    return tape.batch_jacobian(y, x)


@case("tape", "batch_jacobian() with unconnected_gradients='bogus'")
def tape_batch_jacobian_unconnected_bogus(tf):
    tape, x, y = _watched(tf, [[1.0, 2.0]])
    return tape.batch_jacobian(y, x, unconnected_gradients="bogus")


@case("tape", "batch_jacobian() with a list of sources")
def tape_batch_jacobian_source_list(tf):
    tape, x, y = _watched(tf, [[1.0, 2.0]])
    return tape.batch_jacobian(y, [x])


@case("tape", "__exit__ of a tape never entered")
def tape_exit_never_entered(tf):
    tape = tf.GradientTape()
    return tape.__exit__(None, None, None)


@case("tape", "reset() on a tape never entered")
def tape_reset_never_entered(tf):
    tape = tf.GradientTape()
    tape.reset()


@case("tape", "reset() on a persistent tape after its block")
def tape_reset_after_exit(tf):
    tape, x, y = _watched(tf, persistent=True)
    tape.reset()
    return tape.gradient(y, x)


@case("tape", "gradient() with respect to a variable the tape did not watch")
def tape_gradient_unwatched_variable(tf):
    v = tf.Variable(1.0)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        y = v * 2.0
    return tape.gradient(y, v)


# --------------------------------------------------------------------------- custom_gradient

def _tape_through(tf, fn, *args):
    xs = [tf.constant(a) for a in args]
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        y = fn(*xs)
    return tape.gradient(y, xs)


@case("custom", "grad_fn returns 2 gradients for 1 input")
def custom_wrong_count(tf):
    @tf.custom_gradient
    def f(x):
        return x * 2.0, lambda dy: (dy, dy)
    return _tape_through(tf, f, 1.0)


@case("custom", "grad_fn returns 1 gradient for 2 inputs")
def custom_too_few(tf):
    @tf.custom_gradient
    def f(x, y):
        return x * y, lambda dy: dy
    return _tape_through(tf, f, 1.0, 2.0)


@case("custom", "the decorated function returns a tensor, not (y, grad_fn)")
def custom_no_grad_fn(tf):
    @tf.custom_gradient
    def f(x):
        return x * 2.0
    return f(tf.constant(1.0))


@case("custom", "grad_fn returns a gradient of the wrong shape")
def custom_wrong_shape(tf):
    @tf.custom_gradient
    def f(x):
        return x * 2.0, lambda dy: tf.ones([3])
    return _tape_through(tf, f, [1.0, 2.0])


@case("custom", "grad_fn returns a string")
def custom_grad_string(tf):
    @tf.custom_gradient
    def f(x):
        return x * 2.0, lambda dy: "g"
    return _tape_through(tf, f, 1.0)


@case("custom", "grad_fn raises ZeroDivisionError (passed on)")
def custom_grad_raises(tf):
    @tf.custom_gradient
    def f(x):
        def grad(dy):
            return 1 / 0
        return x * 2.0, grad
    return _tape_through(tf, f, 1.0)


@case("custom", "a function that reads a variable, with a grad_fn without `variables`")
def custom_variables_without_kwarg(tf):
    v = tf.Variable(2.0)

    @tf.custom_gradient
    def f(x):
        return x * v, lambda dy: dy * v
    x = tf.constant(1.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    return tape.gradient(y, x)


@case("custom", "grad_fn returns 2 variable gradients for 1 variable")
def custom_variables_wrong_count(tf):
    v = tf.Variable(2.0)

    @tf.custom_gradient
    def f(x):
        def grad(dy, variables=None):
            return dy * v, [dy, dy]
        return x * v, grad
    x = tf.constant(1.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    return tape.gradient(y, [x, v])


# --------------------------------------------------------------------------- ops

@case("ops", "add of float32 and int32 tensors")
def ops_add_float_int(tf):
    return tf.add(tf.constant([1.0]), tf.constant([1]))


@case("ops", "add of float32 and float64 tensors")
def ops_add_float32_float64(tf):
    return tf.add(tf.constant([1.0]), tf.constant([1.0], dtype=tf.float64))


@case("ops", "add of shapes that do not broadcast")
def ops_add_no_broadcast(tf):
    return tf.add(tf.ones([2]), tf.ones([3]))


@case("ops", "an int32 tensor times a Python float")
def ops_int_times_python_float(tf):
    return tf.constant([1, 2]) * 1.5


@case("ops", "a float32 tensor plus a string")
def ops_add_string(tf):
    return tf.constant([1.0]) + "a"


@case("ops", "matmul with inner dimensions 3 and 2")
def ops_matmul_inner(tf):
    return tf.matmul(tf.ones([2, 3]), tf.ones([2, 2]))


@case("ops", "matmul of float32 and int32")
def ops_matmul_dtype(tf):
    return tf.matmul(tf.ones([2, 2]), tf.ones([2, 2], dtype=tf.int32))


@case("ops", "matmul of two rank-1 tensors")
def ops_matmul_rank1(tf):
    return tf.matmul(tf.ones([2]), tf.ones([2]))


@case("ops", "linalg.inv of a singular matrix")
def ops_inv_singular(tf):
    return tf.linalg.inv(tf.constant([[1.0, 2.0], [2.0, 4.0]]))


@case("ops", "linalg.inv of a 2 x 3 matrix")
def ops_inv_not_square(tf):
    return tf.linalg.inv(tf.ones([2, 3]))


@case("ops", "linalg.det of a rank-1 tensor")
def ops_det_rank1(tf):
    return tf.linalg.det(tf.ones([3]))


@case("ops", "linalg.det of an int32 matrix")
def ops_det_int(tf):
    return tf.linalg.det(tf.constant([[1, 2], [3, 4]]))


@case("ops", "linalg.slogdet of a singular matrix")
def ops_slogdet_singular(tf):
    return tf.linalg.slogdet(tf.zeros([2, 2]))


@case("ops", "linalg.solve with a singular matrix")
def ops_solve_singular(tf):
    return tf.linalg.solve(tf.zeros([2, 2]), tf.ones([2, 1]))


@case("ops", "linalg.solve with 2 x 2 matrices and a 3-row rhs")
def ops_solve_rows(tf):
    return tf.linalg.solve(tf.eye(2), tf.ones([3, 1]))


@case("ops", "linalg.solve with a batch of matrices and one rhs (no broadcasting)")
def ops_solve_broadcast(tf):
    return tf.linalg.solve(tf.eye(2, batch_shape=[3]), tf.ones([2, 1]))


@case("ops", "linalg.solve with a rank-1 rhs")
def ops_solve_vector(tf):
    return tf.linalg.solve(tf.eye(2), tf.ones([2]))


@case("ops", "linalg.triangular_solve with a 3-row rhs")
def ops_triangular_solve_rows(tf):
    return tf.linalg.triangular_solve(tf.eye(2), tf.ones([3, 1]))


@case("ops", "linalg.triangular_solve with a zero on the diagonal")
def ops_triangular_solve_singular(tf):
    return tf.linalg.triangular_solve(tf.constant([[0.0, 0.0], [1.0, 1.0]]), tf.ones([2, 1]))


@case("ops", "linalg.cholesky of a matrix that is not positive definite")
def ops_cholesky_not_pd(tf):
    return tf.linalg.cholesky(tf.constant([[1.0, 2.0], [2.0, 1.0]]))


@case("ops", "linalg.cholesky of a 2 x 3 matrix")
def ops_cholesky_not_square(tf):
    return tf.linalg.cholesky(tf.ones([2, 3]))


@case("ops", "linalg.eigh of a 2 x 3 matrix")
def ops_eigh_not_square(tf):
    return tf.linalg.eigh(tf.ones([2, 3]))


@case("ops", "linalg.eigh of a matrix holding NaN")
def ops_eigh_nan(tf):
    return tf.linalg.eigh(tf.constant([[float("nan"), 0.0], [0.0, 1.0]]))


@case("ops", "linalg.qr of a vector")
def ops_qr_rank1(tf):
    return tf.linalg.qr(tf.ones([3]))


@case("ops", "the gradient of linalg.qr with full_matrices of a 3 x 2 matrix")
def ops_qr_full_gradient(tf):
    a = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]])
    with tf.GradientTape() as tape:
        tape.watch(a)
        q, _ = tf.linalg.qr(a, full_matrices=True)
    return tape.gradient(q, a)


@case("ops", "linalg.svd of a vector")
def ops_svd_rank1(tf):
    return tf.linalg.svd(tf.ones([3]))


@case("ops", "linalg.svd of a matrix holding NaN")
def ops_svd_nan(tf):
    return tf.linalg.svd(tf.constant([[float("nan"), 1.0], [0.0, 1.0]]))


@case("ops", "the gradient of linalg.svd with full_matrices of a 2 x 4 matrix")
def ops_svd_full_gradient(tf):
    a = tf.constant([[1.0, 2.0, 0.0, 1.0], [3.0, 4.0, 1.0, 0.0]])
    with tf.GradientTape() as tape:
        tape.watch(a)
        _, _, v = tf.linalg.svd(a, full_matrices=True)
    return tape.gradient(v, a)


@case("ops", "linalg.diag_part of a vector")
def ops_diag_part_rank1(tf):
    return tf.linalg.diag_part(tf.ones([3]))


@case("ops", "linalg.diag_part of a 3 x 4 matrix with k = 5")
def ops_diag_part_k(tf):
    return tf.linalg.diag_part(tf.ones([3, 4]), k=5)


@case("ops", "linalg.diag of a scalar")
def ops_diag_scalar(tf):
    return tf.linalg.diag(1.0)


@case("ops", "linalg.diag of 2 diagonals with k = (0, 2)")
def ops_diag_band_count(tf):
    return tf.linalg.diag(tf.ones([2, 3]), k=(0, 2))


@case("ops", "linalg.set_diag with a diagonal of the wrong length")
def ops_set_diag_length(tf):
    return tf.linalg.set_diag(tf.ones([3, 4]), tf.zeros([2]))


@case("ops", "linalg.band_part with num_lower larger than the rows")
def ops_band_part_lower(tf):
    return tf.linalg.band_part(tf.ones([3, 4]), 5, 0)


@case("ops", "linalg.trace of a vector")
def ops_trace_rank1(tf):
    return tf.linalg.trace(tf.ones([3]))


@case("ops", "linalg.cross of 2-element vectors")
def ops_cross_two(tf):
    return tf.linalg.cross(tf.ones([2]), tf.ones([2]))


@case("ops", "linalg.cross of shapes [2, 3] and [3]")
def ops_cross_shapes(tf):
    return tf.linalg.cross(tf.ones([2, 3]), tf.ones([3]))


@case("ops", "tensordot with axes = -1")
def ops_tensordot_negative(tf):
    return tf.tensordot(tf.ones([2, 3]), tf.ones([3, 2]), -1)


@case("ops", "tensordot with axes larger than a's rank")
def ops_tensordot_too_many(tf):
    return tf.tensordot(tf.ones([2, 3]), tf.ones([3, 2]), 3)


@case("ops", "tensordot contracting dims of sizes 3 and 2")
def ops_tensordot_sizes(tf):
    return tf.tensordot(tf.ones([2, 3]), tf.ones([2, 2]), 1)


@case("ops", "tensordot with axes of three lists")
def ops_tensordot_three(tf):
    return tf.tensordot(tf.ones([2, 3]), tf.ones([3, 2]), [[1], [0], [0]])


@case("ops", "reshape of 6 elements to 4")
def ops_reshape_size(tf):
    return tf.reshape(tf.zeros([2, 3]), [4])


@case("ops", "reshape with two -1 dimensions")
def ops_reshape_two_unknown(tf):
    return tf.reshape(tf.zeros([2, 3]), [-1, -1])


@case("ops", "reshape with a -2 dimension")
def ops_reshape_negative(tf):
    return tf.reshape(tf.zeros([2, 3]), [-2, 3])


@case("ops", "reshape to rank 9")
def ops_reshape_rank9(tf):
    return tf.reshape(tf.zeros([2]), [2, 1, 1, 1, 1, 1, 1, 1, 1])


@case("ops", "transpose with a permutation that repeats an axis")
def ops_transpose_repeat(tf):
    return tf.transpose(tf.zeros([2, 3]), [0, 0])


@case("ops", "transpose with a permutation of the wrong length")
def ops_transpose_length(tf):
    return tf.transpose(tf.zeros([2, 3]), [1, 0, 2])


@case("ops", "reduce_sum over axis 2 of a rank-2 tensor")
def ops_reduce_axis(tf):
    return tf.reduce_sum(tf.zeros([2, 3]), axis=2)


@case("ops", "reduce_sum over a float axis")
def ops_reduce_float_axis(tf):
    return tf.reduce_sum(tf.zeros([2, 3]), axis=0.5)


@case("ops", "reduce_max over axis -3 of a rank-2 tensor")
def ops_reduce_max_axis(tf):
    return tf.reduce_max(tf.zeros([2, 3]), axis=-3)


@case("ops", "concat of rank-1 and rank-2 tensors")
def ops_concat_rank(tf):
    return tf.concat([tf.zeros([2]), tf.zeros([2, 2])], axis=0)


@case("ops", "concat along axis 1 of rank-1 tensors")
def ops_concat_axis(tf):
    return tf.concat([tf.zeros([2]), tf.zeros([2])], axis=1)


@case("ops", "concat of float32 and int32 tensors")
def ops_concat_dtype(tf):
    return tf.concat([tf.zeros([2]), tf.zeros([2], dtype=tf.int32)], axis=0)


@case("ops", "concat of shapes that differ off the axis")
def ops_concat_shapes(tf):
    return tf.concat([tf.zeros([2, 2]), tf.zeros([2, 3])], axis=0)


@case("ops", "stack of shapes (2,) and (3,)")
def ops_stack_shapes(tf):
    return tf.stack([tf.zeros([2]), tf.zeros([3])])


@case("ops", "stack along axis 3 of rank-1 tensors")
def ops_stack_axis(tf):
    return tf.stack([tf.zeros([2]), tf.zeros([2])], axis=3)


@case("ops", "gather with an index out of range")
def ops_gather_index(tf):
    return tf.gather(tf.zeros([3]), [5])


@case("ops", "gather with a negative index")
def ops_gather_negative(tf):
    return tf.gather(tf.zeros([3]), [-1])


@case("ops", "gather with float indices")
def ops_gather_float_indices(tf):
    return tf.gather(tf.zeros([3]), tf.constant([1.0]))


@case("ops", "gather along axis 2 of a rank-1 tensor")
def ops_gather_axis(tf):
    return tf.gather(tf.zeros([3]), [0], axis=2)


@case("ops", "floordiv of int32 by zero")
def ops_floordiv_zero(tf):
    return tf.math.floordiv(tf.constant([1, 2]), tf.constant([1, 0]))


@case("ops", "floormod of int32 by zero")
def ops_floormod_zero(tf):
    return tf.math.floormod(tf.constant([1, 2]), tf.constant([0, 1]))


@case("ops", "the // operator on int64 tensors, by zero")
def ops_floordiv_operator_zero(tf):
    return tf.constant([7], dtype=tf.int64) // tf.constant([0], dtype=tf.int64)


@case("ops", "the % operator on int32 tensors, by zero")
def ops_mod_operator_zero(tf):
    return tf.constant([7]) % tf.constant([0])


@case("ops", "divide of int32 by zero (true division)")
def ops_int_truediv_zero(tf):
    return tf.constant([1]) / tf.constant([0])


@case("ops", "one_hot of float indices")
def ops_one_hot_float(tf):
    return tf.one_hot(tf.constant([1.0]), 3)


@case("ops", "one_hot with a negative depth")
def ops_one_hot_negative_depth(tf):
    return tf.one_hot([1], -2)


@case("ops", "expand_dims at axis 3 of a rank-1 tensor")
def ops_expand_dims_axis(tf):
    return tf.expand_dims(tf.zeros([2]), 3)


@case("ops", "squeeze of an axis of size 2")
def ops_squeeze_not_one(tf):
    return tf.squeeze(tf.zeros([2, 1]), axis=0)


@case("ops", "squeeze of axis 5 of a rank-2 tensor")
def ops_squeeze_axis(tf):
    return tf.squeeze(tf.zeros([2, 1]), axis=5)


@case("ops", "broadcast_to a shape the input does not broadcast to")
def ops_broadcast_to(tf):
    return tf.broadcast_to(tf.zeros([3]), [2, 2])


@case("ops", "zeros with a negative dimension")
def ops_zeros_negative(tf):
    return tf.zeros([-1])


@case("ops", "zeros of 2**60 elements")
def ops_zeros_huge(tf):
    return tf.zeros([2 ** 30, 2 ** 30])


@case("ops", "fill with a non-scalar value")
def ops_fill_nonscalar(tf):
    return tf.fill([2], tf.constant([1.0, 2.0]))


@case("ops", "range with delta 0")
def ops_range_zero_delta(tf):
    return tf.range(0, 10, 0)


@case("ops", "range from 5 down to 0 with delta 1")
def ops_range_wrong_direction(tf):
    return tf.range(5, 0, 1)


@case("ops", "constant of a ragged list")
def ops_constant_ragged(tf):
    return tf.constant([[1, 2], [3]])


@case("ops", "constant of 1.5 as int32")
def ops_constant_float_to_int(tf):
    return tf.constant(1.5, dtype=tf.int32)


@case("ops", "constant of 5 as bool")
def ops_constant_int_to_bool(tf):
    return tf.constant(5, dtype=tf.bool)


@case("ops", "constant of 2**70")
def ops_constant_overflow(tf):
    return tf.constant(2 ** 70)


@case("ops", "constant of an object()")
def ops_constant_object(tf):
    return tf.constant(object())


@case("ops", "constant of 3 values with shape (2,)")
def ops_constant_shape(tf):
    return tf.constant([1.0, 2.0, 3.0], shape=[2])


@case("ops", "convert_to_tensor of None")
def ops_convert_none(tf):
    return tf.convert_to_tensor(None)


@case("ops", "constant of a list mixing a number and None")
def ops_constant_mixed(tf):
    return tf.constant([1, None])


@case("ops", "constant of a dict")
def ops_constant_dict(tf):
    return tf.constant({"a": 1})


@case("ops", "a float32 tensor plus None")
def ops_add_none(tf):
    return tf.constant(1.0) + None


@case("ops", "convert_to_tensor of a float32 tensor with dtype float64")
def ops_convert_dtype_mismatch(tf):
    return tf.convert_to_tensor(tf.constant(1.0), dtype=tf.float64)


@case("ops", "constant of a float32 tensor with dtype float64")
def ops_constant_tensor_dtype(tf):
    return tf.constant(tf.constant(1.0), dtype=tf.float64)


@case("ops", "range(-3) (a negative limit)")
def ops_range_negative_limit(tf):
    return tf.range(-3)


@case("ops", "reduce_sum over axes [0, -2] of a rank-2 tensor (one axis twice)")
def ops_reduce_duplicate_axes(tf):
    return tf.reduce_sum(tf.zeros([2, 3]), axis=[0, -2])


@case("ops", "sparse_softmax_cross_entropy_with_logits with labels of the logits' rank")
def ops_sparse_xent_rank(tf):
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant([[1]]), logits=tf.zeros([1, 3]))


@case("ops", "matmul with transpose_b and adjoint_b")
def ops_matmul_transpose_and_adjoint(tf):
    return tf.matmul(tf.ones([2, 3]), tf.ones([2, 3]), transpose_b=True, adjoint_b=True)


@case("ops", "argmax with output_type float32")
def ops_argmax_output_type(tf):
    return tf.argmax(tf.constant([1.0, 2.0]), output_type=tf.float32)


@case("ops", "math.is_nan of an int32 tensor")
def ops_is_nan_int(tf):
    return tf.math.is_nan(tf.constant([1]))


@case("ops", "stack of no tensors")
def ops_stack_empty(tf):
    return tf.stack([])


@case("ops", "boolean_mask with a float mask")
def ops_boolean_mask_float(tf):
    return tf.boolean_mask(tf.zeros([3]), tf.constant([1.0, 0.0, 1.0]))


@case("ops", "reshape to a shape holding a float")
def ops_reshape_float_shape(tf):
    return tf.reshape(tf.zeros([2]), [2.5])


@case("ops", "zeros of a shape holding a float")
def ops_zeros_float_shape(tf):
    return tf.zeros([2.5])


@case("ops", "cast to dtype None")
def ops_cast_none(tf):
    return tf.cast(tf.constant(1.0), None)


@case("ops", "cast to the dtype name 'float17'")
def ops_cast_bad_name(tf):
    return tf.cast(tf.constant(1.0), "float17")


@case("ops", "sqrt of an int32 tensor")
def ops_sqrt_int(tf):
    return tf.sqrt(tf.constant([4]))


@case("ops", "exp of an int32 tensor")
def ops_exp_int(tf):
    return tf.exp(tf.constant([1]))


@case("ops", "softmax of an int32 tensor")
def ops_softmax_int(tf):
    return tf.nn.softmax(tf.constant([1, 2]))


@case("ops", "softmax along axis 2 of a rank-1 tensor")
def ops_softmax_axis(tf):
    return tf.nn.softmax(tf.constant([1.0, 2.0]), axis=2)


@case("ops", "where with x and y that do not broadcast")
def ops_where_shapes(tf):
    return tf.where(tf.constant([True, False]), tf.zeros([2]), tf.zeros([3]))


@case("ops", "where with a float condition")
def ops_where_float_condition(tf):
    return tf.where(tf.constant([1.0, 0.0]), tf.zeros([2]), tf.ones([2]))


@case("ops", "where with x and no y")
def ops_where_x_only(tf):
    return tf.where(tf.constant([True]), tf.zeros([1]))


@case("ops", "where with x and y of different dtypes")
def ops_where_dtypes(tf):
    return tf.where(tf.constant([True]), tf.zeros([1]), tf.zeros([1], dtype=tf.float64))


@case("ops", "logical_and of float tensors")
def ops_logical_and_float(tf):
    return tf.logical_and(tf.constant([1.0]), tf.constant([0.0]))


@case("ops", "argmax along axis 1 of a rank-1 tensor")
def ops_argmax_axis(tf):
    return tf.argmax(tf.constant([1.0, 2.0]), axis=1)


@case("ops", "boolean_mask with a mask of the wrong length")
def ops_boolean_mask_shape(tf):
    return tf.boolean_mask(tf.zeros([3]), tf.constant([True, False]))


@case("ops", "sparse_softmax_cross_entropy_with_logits with a label out of range")
def ops_sparse_xent_label(tf):
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant([5]), logits=tf.zeros([1, 3]))


@case("ops", "softmax_cross_entropy_with_logits with labels of another shape")
def ops_xent_shapes(tf):
    return tf.nn.softmax_cross_entropy_with_logits(labels=tf.zeros([2, 4]), logits=tf.zeros([2, 3]))


@case("ops", "conv2d with a padding that is not 'SAME' or 'VALID' (lower case)")
def ops_conv2d_padding(tf):
    return tf.nn.conv2d(tf.zeros([1, 4, 4, 1]), tf.zeros([2, 2, 1, 1]), 1, "same")


@case("ops", "conv2d whose filters' depth does not divide the input's channels")
def ops_conv2d_depth(tf):
    return tf.nn.conv2d(tf.zeros([1, 4, 4, 3]), tf.zeros([2, 2, 2, 1]), 1, "SAME")


@case("ops", "conv2d with strides of length 3")
def ops_conv2d_strides(tf):
    return tf.nn.conv2d(tf.zeros([1, 4, 4, 1]), tf.zeros([2, 2, 1, 1]), [1, 2, 1], "SAME")


@case("ops", "conv2d with 3-D filters")
def ops_conv2d_filter_rank(tf):
    return tf.nn.conv2d(tf.zeros([1, 4, 4, 1]), tf.zeros([2, 2, 1]), 1, "SAME")


@case("ops", "conv2d with an unknown data_format")
def ops_conv2d_format(tf):
    return tf.nn.conv2d(tf.zeros([1, 4, 4, 1]), tf.zeros([2, 2, 1, 1]), 1, "SAME", data_format="NHCW")


@case("ops", "max_pool2d with an unknown padding")
def ops_max_pool_padding(tf):
    return tf.nn.max_pool2d(tf.zeros([1, 4, 4, 1]), 2, 2, "FULL")


@case("ops", "avg_pool2d with explicit paddings (only strings are allowed)")
def ops_avg_pool_explicit(tf):
    return tf.nn.avg_pool2d(tf.zeros([1, 4, 4, 1]), 2, 2, [[0, 0], [1, 0], [1, 0], [0, 0]])


@case("ops", "clip_by_value with clip_value_min above clip_value_max")
def ops_clip_inverted(tf):
    return tf.clip_by_value(tf.constant([1.0, 5.0]), 4.0, 2.0)


@case("ops", "comparison (less) of shapes that do not broadcast")
def ops_less_no_broadcast(tf):
    return tf.less(tf.zeros([2]), tf.zeros([3]))


# --------------------------------------------------------------------------- tensors and variables

@case("tensor", "indexing [5] of a tensor of 3 elements")
def tensor_index_out_of_range(tf):
    return tf.zeros([3])[5]


@case("tensor", "indexing [0, 0] of a rank-1 tensor")
def tensor_too_many_indices(tf):
    return tf.zeros([3])[0, 0]


@case("tensor", "indexing with a float")
def tensor_float_index(tf):
    return tf.zeros([3])[1.5]


@case("tensor", "indexing with a string")
def tensor_string_index(tf):
    return tf.zeros([3])["a"]


@case("tensor", "slicing with step 0")
def tensor_slice_step_zero(tf):
    return tf.zeros([3])[1:2:0]


@case("tensor", "float() of a tensor of shape (1,)")
def tensor_float_one_element(tf):
    return float(tf.constant([1.0]))


@case("tensor", "bool() of an empty tensor")
def tensor_bool_empty(tf):
    return bool(tf.constant([], dtype=tf.float32))


@case("tensor", "item assignment t[0] = 1")
def tensor_item_assignment(tf):
    t = tf.zeros([3])
    t[0] = 1.0


@case("tensor", "int() of a tensor of 2 elements")
def tensor_int_nonscalar(tf):
    return int(tf.constant([1, 2]))


@case("tensor", "float() of a tensor of 2 elements")
def tensor_float_nonscalar(tf):
    return float(tf.constant([1.0, 2.0]))


@case("tensor", "bool() of a tensor of 2 elements")
def tensor_bool_nonscalar(tf):
    return bool(tf.constant([True, False]))


@case("tensor", "len() of a scalar")
def tensor_len_scalar(tf):
    return len(tf.constant(1.0))


@case("tensor", "iterating over a scalar")
def tensor_iter_scalar(tf):
    return list(tf.constant(1.0))


@case("tensor", "hash() of a tensor")
def tensor_hash(tf):
    return hash(tf.constant(1.0))


@case("tensor", "Variable.assign of another shape")
def tensor_variable_assign_shape(tf):
    v = tf.Variable([1.0, 2.0])
    return v.assign([1.0, 2.0, 3.0])


@case("tensor", "Variable.assign of a float64 tensor to a float32 variable")
def tensor_variable_assign_dtype(tf):
    v = tf.Variable([1.0, 2.0])
    return v.assign(tf.constant([1.0, 2.0], dtype=tf.float64))


@case("tensor", "Variable.assign_add of a float to an int32 variable")
def tensor_variable_assign_add_float(tf):
    v = tf.Variable([1, 2])
    return v.assign_add([0.5, 0.5])


@case("tensor", "Variable.assign_add of another shape")
def tensor_variable_assign_add_shape(tf):
    v = tf.Variable([1.0, 2.0])
    return v.assign_add([1.0])


@case("tensor", "Variable.assign_sub of a float64 tensor to a float32 variable")
def tensor_variable_assign_sub_dtype(tf):
    v = tf.Variable([1.0, 2.0])
    return v.assign_sub(tf.constant([1.0, 1.0], dtype=tf.float64))


@case("tensor", "Variable(object())")
def tensor_variable_object(tf):
    return tf.Variable(object())


@case("tensor", "Variable(None)")
def tensor_variable_none(tf):
    return tf.Variable(None)


@case("tensor", "a float32 variable plus a float64 tensor")
def tensor_variable_mixed_dtype(tf):
    return tf.Variable([1.0]) + tf.constant([1.0], dtype=tf.float64)


# --------------------------------------------------------------------------- ForwardAccumulator

def _fwd(tf, tangent, primal=(1.0, 2.0)):
    x = tf.constant(list(primal))
    with tf.autodiff.ForwardAccumulator(x, tangent) as acc:
        y = x * 2.0
    return acc.jvp(y)


@case("forward", "entering an accumulator that is already recording")
def forward_reenter_active(tf):
    acc = tf.autodiff.ForwardAccumulator(tf.constant(1.0), tf.constant(1.0))
    with acc:
        with acc:
            pass


@case("forward", "an int32 tangent for a float32 primal")
def forward_tangent_int(tf):
    return _fwd(tf, tf.constant([1, 1]))


@case("forward", "a float64 tangent for a float32 primal")
def forward_tangent_float64(tf):
    return _fwd(tf, tf.constant([1.0, 1.0], dtype=tf.float64))


@case("forward", "a tangent of another shape than its primal")
def forward_tangent_shape(tf):
    return _fwd(tf, tf.constant([1.0]))


@case("forward", "a None tangent")
def forward_tangent_none(tf):
    return _fwd(tf, None)


@case("forward", "primals and tangents of different structures")
def forward_structure(tf):
    return tf.autodiff.ForwardAccumulator([tf.constant(1.0), tf.constant(2.0)], [tf.constant(1.0)])


@case("forward", "one tensor given twice as a primal")
def forward_primal_twice(tf):
    x = tf.constant(1.0)
    return tf.autodiff.ForwardAccumulator([x, x], [tf.constant(1.0), tf.constant(1.0)])


@case("forward", "a Python float as the primal")
def forward_primal_float(tf):
    return tf.autodiff.ForwardAccumulator(1.0, 2.0)


@case("forward", "jvp with an unknown unconnected_gradients value")
def forward_jvp_bogus_mode(tf):
    x = tf.constant(1.0)
    with tf.autodiff.ForwardAccumulator(x, tf.constant(1.0)) as acc:
        y = x * 2.0
    return acc.jvp(y, unconnected_gradients="bogus")


@case("forward", "an integer primal (no tangent: jvp is None)")
def forward_integer_primal(tf):
    i = tf.constant(3)
    with tf.autodiff.ForwardAccumulator(i, tf.constant(1)) as acc:
        y = i * 2
    return acc.jvp(y)


# --------------------------------------------------------------------------- deliberate differences

# Rows where gradtape keeps a documented difference from TensorFlow: the id, gradtape's outcome
# ("errors.NAME", a builtin's name, or "returns") and why (with where the docs say so).
DELIBERATE = {
    "forward_primal_float": (
        "TypeError", "a primal that is not a tensor or a variable is a TypeError naming its type; TensorFlow fails "
        "inside its code with an AttributeError (docs/choices.md, forward mode)"),
    "tape_gradient_source_float": (
        "TypeError",
        "a source that is not a tensor or a variable is a TypeError naming its type, as TensorFlow's is for None "
        "and strings; for other objects TensorFlow fails inside its tape code with an AttributeError"),
    "tape_gradient_source_numpy": ("TypeError", "as above: a NumPy array is not a source"),
    "tape_gradient_source_dict_with_float": ("TypeError", "as above, in a nest of sources"),
    "tape_jacobian_target_none": (
        "TypeError", "jacobian(None, ...) is a TypeError as gradient(None, ...) is in both libraries; TensorFlow's "
        "jacobian fails with an AttributeError from its internals"),
    "tape_jacobian_source_float": ("TypeError", "as gradient()'s sources"),
    "tape_batch_jacobian_source_list": ("TypeError", "batch_jacobian takes one tensor or variable as its source"),
    "tape_unconnected_error_mode": (
        "errors.UnconnectedGradientsError",
        "unconnected_gradients='error' is a mode beyond TensorFlow: it names each unconnected source's cause "
        "(docs/choices.md)"),
    "tape_output_gradients_count": (
        "ValueError",
        "output_gradients must give one entry per target; TensorFlow reads past the list it was given (with two "
        "distinct targets, TensorFlow 2.21 crashed the process with a segmentation fault)"),
    "tape_output_gradients_broadcast": (
        "errors.InvalidArgumentError",
        "output_gradients must have the target's shape, as TensorFlow's documentation says; TensorFlow lets the "
        "first rule broadcast it, and fails in a later op when the broadcast widens the shape ((2, 1) for (2,))"),
    "tape_output_gradients_structure": (
        "ValueError", "output_gradients must be nested as the targets are (as above, for its count)"),
    "custom_wrong_shape": (
        "errors.InvalidArgumentError",
        "a custom gradient of the wrong shape is refused where it is returned, naming the input and both shapes; "
        "TensorFlow passes it on (docs/choices.md)"),
    "custom_grad_string": (
        "TypeError", "a gradient function's result is converted to a tensor of its input's dtype; TensorFlow "
        "hands the string to the caller as the gradient"),
    "ops_add_string": (
        "TypeError",
        "gradtape has no string tensors: a string is not converted to a tensor (TensorFlow makes a string tensor, "
        "which AddV2 then refuses)"),
    "ops_matmul_rank1": (
        "returns",
        "matmul accepts 1-d operands as NumPy does (docs/choices.md)"),
    "ops_reshape_rank9": (
        "errors.InvalidArgumentError",
        "gradtape's maximum rank is 8 (docs/choices.md)"),
    "ops_stack_empty": (
        "errors.InvalidArgumentError",
        "stack of no tensors has no dtype or shape to take; TensorFlow returns an empty float32 vector"),
    "ops_boolean_mask_float": (
        "errors.InvalidArgumentError", "boolean_mask's mask must be a bool tensor (its documented type)"),
    "ops_reshape_float_shape": (
        "TypeError",
        "a shape that holds a non-integer is a TypeError in every op; TensorFlow's type depends on how the op "
        "converts its shape (TypeError in zeros, InvalidArgumentError in reshape and fill)"),
    "tensor_float_one_element": (
        "returns",
        "float() and int() take any one-element tensor, as NumPy did before 2.x; TensorFlow follows NumPy 2.x's "
        "refusal of non-scalars"),
    "tensor_bool_empty": (
        "ValueError", "the truth value of an empty tensor is ambiguous, as NumPy 2.x says; TensorFlow gives False"),
}


# --------------------------------------------------------------------------- docs/errors.md

def _cell(text):
    # (| ends a table cell; [ would start a Markdown link: TensorFlow's messages end "[Op:Less]")
    return str(text).replace("|", "\\|").replace("[", "\\[").replace("\n", " ")


def _shown(row):
    return "returns" if "returns" in row else "`%s`" % row["raises"]


def render_markdown(tf_rows, gt_rows, tensorflow_version):
    """docs/errors.md from TensorFlow's stored outcomes and gradtape's (id -> outcome)."""
    notes = {cid: i + 1 for i, cid in enumerate(c["id"] for c in CASES if c["id"] in DELIBERATE)}
    out = [
        "# Errors: gradtape's exception types beside TensorFlow's",
        "",
        "Generated by `python tests/test_error_table.py --write-doc` from the misuse cases of",
        "`tests/reference/error_catalogue.py` and TensorFlow %s's answers stored in" % tensorflow_version,
        "`tests/reference/tf_errors.json` (`tests/reference/make_errors.py` records them);",
        "`tests/test_error_table.py` checks every row and that this page is up to date.",
        "",
        "gradtape raises the type TensorFlow raises: a builtin by that very class (a plain",
        "`ValueError` where TensorFlow's is plain, never a subclass), and TensorFlow's `tf.errors.X`",
        "as `gt.errors.X` (`errors.X` below). `gt.errors.InvalidArgumentError` is also a `ValueError`",
        "and `gt.errors.ResourceExhaustedError` a `MemoryError`, so `except ValueError` catches the",
        "first as it did before. The C++ core's classes map as: `gt::InvalidArgument` to",
        "`errors.InvalidArgumentError` (a bad shape, dtype, axis, index or value that TensorFlow's",
        "kernels refuse), `gt::ValueError_` to `ValueError` (what TensorFlow refuses in Python before",
        "a kernel runs: a value of no tensor type, a variable assigned another shape, stack's axis,",
        "boolean_mask's shapes), `gt::TypeError_` to `TypeError`, `gt::TapeError` to `RuntimeError`,",
        "`gt::ResourceExhausted` to `errors.ResourceExhaustedError`, `gt::UnconnectedError` to",
        "`errors.UnconnectedGradientsError`.",
        "",
        "Every class of `gt.errors` but `OperatorNotAllowedInGraphError` derives from",
        "`gt.errors.OpError`, as in TensorFlow, so `except gt.errors.OpError` catches them all; each",
        "has TensorFlow's `error_code` (`gt.errors.INVALID_ARGUMENT` is 3, ...) and `message`.",
        "gradtape raises InvalidArgumentError, ResourceExhaustedError, NotFoundError, DataLossError,",
        "FailedPreconditionError and OutOfRangeError (`Iterator.get_next()` past the end); the other",
        "classes (AbortedError, CancelledError, InternalError, UnimplementedError, ...) exist for",
        "programs that raise or catch them by name, and take TensorFlow's",
        "`(node_def, op, message)` arguments as well as a message alone.",
        "",
        "\"returns\" means no exception. A row marked with a note is a deliberate difference, said",
        "below the tables. The message is the head of TensorFlow's; gradtape's says the same in its",
        "own words, naming the op.",
    ]
    for area, title in AREAS.items():
        out += ["", "## " + title, "",
                "| case | TensorFlow | gradtape | TensorFlow's message, or what it returns |", "|---|---|---|---|"]
        for c in CASES:
            if c["area"] != area:
                continue
            t, g = tf_rows[c["id"]], gt_rows[c["id"]]
            mark = " (note %d)" % notes[c["id"]] if c["id"] in notes else ""
            msg = t.get("message", "") if "raises" in t else t["returns"]
            out.append("| %s | %s | %s%s | %s |" % (_cell(c["what"]), _shown(t), _shown(g), mark, _cell(msg)))
    out += ["", "## Deliberate differences", ""]
    for cid, n in notes.items():
        what = next(c["what"] for c in CASES if c["id"] == cid)
        out.append("%d. %s: %s" % (n, what, DELIBERATE[cid][1] + "."))
    for title, pick in (
            ("Where gradtape raises and TensorFlow returns", lambda t, g: "returns" in t and "raises" in g),
            ("Where TensorFlow raises and gradtape returns", lambda t, g: "raises" in t and "returns" in g)):
        out += ["", "## " + title, ""]
        for c in CASES:
            t, g = tf_rows[c["id"]], gt_rows[c["id"]]
            if pick(t, g):
                detail = ("gradtape: `%s`, TensorFlow returns %s" % (g["raises"], t["returns"]) if "raises" in g
                          else "TensorFlow: `%s`, gradtape returns %s" % (t["raises"], g["returns"]))
                out.append("- %s (%s)" % (c["what"], _cell(detail)))
    return "\n".join(out) + "\n"
