"""Two of TensorFlow's tape rules that the guides' programs meet: the gradient of a source
given as the target is 1 even when the tape never watched it, and relu's second derivative is
zeros, not unconnected (values from TensorFlow 2.21); and relu's sign of zero."""
import warnings

import pytest

import gradtape as gt


def test_gradient_of_a_source_given_as_the_target_is_one_even_unwatched():
    v0, v1 = gt.Variable(2.0), gt.Variable(3.0)
    with gt.GradientTape() as tape:
        result = v0  # no op, no read: the tape never sees v0
    assert float(tape.gradient(result, v0)) == 1.0
    assert tape.watched_variables() == ()
    with gt.GradientTape() as tape:
        pass
    g = tape.gradient(v1, [v1, v0])
    assert float(g[0]) == 1.0 and g[1] is None
    x = gt.constant([3.0, 4.0])
    with gt.GradientTape() as tape:
        pass
    assert tape.gradient(x, x).numpy().tolist() == [1.0, 1.0]
    with gt.GradientTape() as tape:
        pass
    g = tape.gradient([x, x * 2], x, output_gradients=[gt.constant([5.0, 6.0]), gt.constant([1.0, 1.0])])
    assert g.numpy().tolist() == [5.0, 6.0]
    with gt.GradientTape() as tape:
        pass
    assert tape.gradient({"a": x}, {"b": x})["b"].numpy().tolist() == [1.0, 1.0]
    with gt.GradientTape() as tape:
        pass
    assert float(tape.gradient(v1, v1, unconnected_gradients="error")) == 1.0
    # a watched one goes through the sweep once, not twice
    with gt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    assert tape.gradient([y, x], x).numpy().tolist() == [7.0, 9.0]
    assert tape.gradient(x, x).numpy().tolist() == [1.0, 1.0]
    # another object with equal values is not the source
    with gt.GradientTape() as tape:
        pass
    assert tape.gradient(gt.identity(x), x) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        i = gt.constant(3)
        with gt.GradientTape() as tape:
            pass
        assert tape.gradient(i, i) is None  # integers carry no gradient


def test_relu_second_derivative_is_zeros_not_unconnected():
    x = gt.Variable([-1.0, 2.0, 0.0])
    with gt.GradientTape() as t2:
        with gt.GradientTape() as t1:
            y = gt.reduce_sum(gt.nn.relu(x) * 3.0)
        g = t1.gradient(y, x)
    assert g.numpy().tolist() == [0.0, 3.0, 0.0]
    assert t2.gradient(g, x).numpy().tolist() == [0.0, 0.0, 0.0]
    # the input-gradient penalty of a relu layer reaches the bias (with zeros from relu)
    w = gt.Variable([[0.5, -1.0], [2.0, 1.0]])
    b = gt.Variable([0.1, -0.2])
    inp = gt.constant([[1.0, 2.0]])
    with gt.GradientTape() as t2:
        with gt.GradientTape() as t1:
            t1.watch(inp)
            out = gt.nn.relu(inp @ w + b)
        pen = gt.reduce_sum(gt.square(t1.gradient(out, inp)))
    gw, gb = t2.gradient(pen, [w, b])
    assert gb.numpy().tolist() == [0.0, 0.0] and gw is not None



def test_relu_keeps_the_sign_of_zero_and_nan_as_tensorflow():
    # TensorFlow 2.21: relu([-0., 0., -1., nan, 2.]) is [-0., 0., 0., nan, 2.] (x unless x < 0)
    import numpy as np
    for dtype in (gt.float32, gt.float64):
        x = gt.constant([-0.0, 0.0, -1.0, float("nan"), 2.0], dtype=dtype)
        for y in (gt.nn.relu(x), gt.function(gt.nn.relu)(x), gt.nn.relu(-(-x))):
            v = y.numpy()
            assert np.signbit(v).tolist() == [True, False, False, False, False]
            assert np.isnan(v[3]) and v[[0, 1, 2, 4]].tolist() == [0.0, 0.0, 0.0, 2.0]
    assert np.signbit(gt.nn.relu(gt.constant(-0.0)).numpy())
    # negation swaps the zeros (TensorFlow: -[0., -0.] is [-0., 0.]), so relu(-t) has TF's signs
    t = gt.constant([0.0, -0.0, 1.0])
    for y in (-t, gt.negative(t), gt.function(lambda a: -a)(t)):
        assert np.signbit(y.numpy()).tolist() == [True, False, True]
    assert np.signbit(gt.nn.relu(-t).numpy()).tolist() == [True, False, False]
    assert (-gt.constant([-128, 5], dtype=gt.int8)).numpy().tolist() == [-128, -5]
    assert gt.nn.relu(gt.constant([-3, 0, 4])).numpy().tolist() == [0, 0, 4]


def test_relus_rule_keeps_a_negative_zero_gradient_under_an_outer_tape():
    # (TensorFlow's ReluGrad passes g on where out > 0, -0 included; the term that ties the
    # recorded rule to relu's output must not turn -0 into +0)
    import numpy as np
    x = gt.constant([1.0, 2.0, -3.0])
    c = gt.constant([-0.0, -0.0, -0.0])
    with gt.GradientTape() as outer:
        outer.watch(x)
        with gt.GradientTape() as t:
            t.watch(x)
            z = gt.nn.relu(x) * c
        g = t.gradient(z, x)
    assert np.signbit(g.numpy()).tolist() == [True, True, False]
    assert outer.gradient(g, x).numpy().tolist() == [0.0, 0.0, 0.0]

# ---- the tape's misuse rules, with TensorFlow 2.21's exception types and messages ----

def test_a_non_persistent_tape_records_afresh_when_entered_again():
    x = gt.constant([1.0, 2.0])
    tape = gt.GradientTape()
    grads = []
    for i in range(3):
        with tape:
            tape.watch(x)
            y = x * x * float(i + 1)
        grads.append(tape.gradient(y, x).numpy().tolist())
    assert grads == [[2.0, 4.0], [4.0, 8.0], [6.0, 12.0]]  # TensorFlow's values
    with pytest.raises(RuntimeError, match=r"^A non-persistent GradientTape can only be used to compute one set"):
        tape.gradient(y, x)


def test_stop_recording_on_a_tape_that_is_not_recording_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="Trying to stop recording a tape which is not recording."):
        with gt.GradientTape().stop_recording():
            pass
    x = gt.constant(1.0)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="not recording"):
        with tape.stop_recording():
            pass


def test_stop_recording_on_a_recording_that_is_not_going_on_is_a_plain_value_error():
    x = gt.constant(1.0)
    with gt.GradientTape(persistent=True) as tape:  # after the block: TF's _pop_tape refuses
        tape.watch(x)
        y = x * x
    for tape_now in (tape, gt.GradientTape()):
        with tape_now:
            with tape_now.stop_recording():
                with pytest.raises(ValueError, match="^Tape is not recording.$") as info:  # nested
                    with tape_now.stop_recording():
                        pass
                assert type(info.value) is ValueError
    with pytest.raises(ValueError, match="^Tape is not recording.$") as info:
        with tape.stop_recording():
            pass
    assert type(info.value) is ValueError
    assert float(tape.gradient(y, x)) == 2.0  # the recording is intact
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        tape.gradient(y, x)  # a non-persistent tape's gradient consumes the recording
        with pytest.raises(RuntimeError, match="Trying to stop recording a tape which is not recording."):
            with tape.stop_recording():
                pass
        with pytest.raises(ValueError, match="^Tape is not recording.$"):
            tape.reset()


def test_reentering_an_active_tape_is_a_plain_value_error():
    tape = gt.GradientTape()
    with tape:
        with pytest.raises(ValueError) as info:
            tape.__enter__()
    assert type(info.value) is ValueError and "re-enter an already-active tape" in str(info.value)


def test_batch_jacobian_needs_rank_two():
    x = gt.constant([1.0, 2.0])
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    with pytest.raises(ValueError, match=r"Shape \(2,\) must have rank at least 2"):
        tape.batch_jacobian(y, x)


def test_jacobian_of_an_empty_target_is_zeros_of_the_full_shape():
    x = gt.constant([1.0, 2.0])
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = gt.zeros([0, 3]) * gt.reduce_sum(x)
    j = tape.jacobian(y, x)
    assert j.shape == (0, 3, 2) and j.dtype == gt.float32
