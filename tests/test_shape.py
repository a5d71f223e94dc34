"""gt.TensorShape against TensorFlow 2.21: each expected value (result, or exception type and
message) below is what `tf.TensorShape` gives for the same call, recorded from TensorFlow."""
import copy
import pickle

import numpy as np
import pytest

import gradtape as gt

S = gt.TensorShape
s = S([2, 3, 4])
p = S([None, 3])
u = S(None)

# (expression, TensorFlow's repr of the result)
VALUES = [
    ("S([2, 3])", "TensorShape([2, 3])"),
    ("S((2, 3))", "TensorShape([2, 3])"),
    ("S(3)", "TensorShape([3])"),
    ("S([])", "TensorShape([])"),
    ("S(None)", "TensorShape(None)"),
    ("S([None, 3])", "TensorShape([None, 3])"),
    ("S(np.int64(3))", "TensorShape([3])"),
    ("S([np.int64(3)])", "TensorShape([3])"),
    ("S(np.array([2, 3]))", "TensorShape([2, 3])"),
    ("S(gt.constant([2, 3]))", "TensorShape([2, 3])"),
    ("S(S([1, 2]))", "TensorShape([1, 2])"),
    ("S(iter([1, 2]))", "TensorShape([1, 2])"),
    ("S([2**40])", "TensorShape([1099511627776])"),
    ("s[0]", "2"),
    ("s[-1]", "4"),
    ("s[np.int64(1)]", "3"),
    ("s[1:]", "TensorShape([3, 4])"),
    ("s[::2]", "TensorShape([2, 4])"),
    ("p[0]", "None"),
    ("p[1:]", "TensorShape([3])"),
    ("u[0]", "None"),
    ("u[1:]", "TensorShape(None)"),
    ("s.rank", "3"),
    ("s.ndims", "3"),
    ("u.rank", "None"),
    ("s.dims", "[2, 3, 4]"),
    ("S([]).dims", "[]"),
    ("p.dims", "[None, 3]"),
    ("u.dims", "None"),
    ("s.as_list()", "[2, 3, 4]"),
    ("p.as_list()", "[None, 3]"),
    ("s.num_elements()", "24"),
    ("S([]).num_elements()", "1"),
    ("S([0, 3]).num_elements()", "0"),
    ("p.num_elements()", "None"),
    ("u.num_elements()", "None"),
    ("s.is_fully_defined()", "True"),
    ("p.is_fully_defined()", "False"),
    ("u.is_fully_defined()", "False"),
    ("s.concatenate([5])", "TensorShape([2, 3, 4, 5])"),
    ("s.concatenate(S([5]))", "TensorShape([2, 3, 4, 5])"),
    ("s.concatenate(5)", "TensorShape([2, 3, 4, 5])"),
    ("s.concatenate(None)", "TensorShape(None)"),
    ("s.concatenate([None])", "TensorShape([2, 3, 4, None])"),
    ("p.concatenate([1])", "TensorShape([None, 3, 1])"),
    ("u.concatenate([1])", "TensorShape(None)"),
    ("s + [5]", "TensorShape([2, 3, 4, 5])"),
    ("s + (5,)", "TensorShape([2, 3, 4, 5])"),
    ("[5] + s", "TensorShape([5, 2, 3, 4])"),
    ("(5,) + s", "TensorShape([5, 2, 3, 4])"),
    ("s + s", "TensorShape([2, 3, 4, 2, 3, 4])"),
    ("s + None", "TensorShape(None)"),
    ("None + s", "TensorShape(None)"),
    ("s + 5", "TensorShape([2, 3, 4, 5])"),
    ("s == [2, 3, 4]", "True"),
    ("s == (2, 3, 4)", "True"),
    ("s == S([2, 3, 4])", "True"),
    ("s == np.array([2, 3, 4])", "True"),
    ("s == gt.constant([2, 3, 4])", "True"),
    ("s == [2, 3]", "False"),
    ("s == [2, 3, None]", "False"),
    ("s == 5", "False"),
    ("S([5]) == 5", "True"),
    ("s == None", "False"),
    ("s == 'abc'", "False"),
    ("s != [2, 3, 4]", "False"),
    ("s != 'abc'", "True"),
    ("S([None]) == S([None])", "True"),
    ("S(None) == S(None)", "True"),
    ("u == None", "True"),
    ("s == S(None)", "False"),
    ("s.merge_with([2, 3, 4])", "TensorShape([2, 3, 4])"),
    ("s.merge_with([2, None, 4])", "TensorShape([2, 3, 4])"),
    ("s.merge_with(None)", "TensorShape([2, 3, 4])"),
    ("s.merge_with(S(None))", "TensorShape([2, 3, 4])"),
    ("p.merge_with([2, None])", "TensorShape([2, 3])"),
    ("u.merge_with([2])", "TensorShape([2])"),
    ("s.is_compatible_with([2, 3, 4])", "True"),
    ("s.is_compatible_with([None, 3, 4])", "True"),
    ("s.is_compatible_with([2, 3])", "False"),
    ("s.is_compatible_with(None)", "True"),
    ("s.is_compatible_with(5)", "False"),
    ("p.is_compatible_with([7, 3])", "True"),
    ("s.assert_is_compatible_with([2, 3, 4])", "None"),
    ("s.assert_same_rank([1, 1, 1])", "None"),
    ("s.assert_same_rank(None)", "None"),
    ("s.assert_has_rank(3)", "None"),
    ("u.assert_has_rank(3)", "None"),
    ("s.with_rank(3)", "TensorShape([2, 3, 4])"),
    ("s.with_rank(np.int64(3))", "TensorShape([2, 3, 4])"),
    ("u.with_rank(2)", "TensorShape([None, None])"),
    ("p.with_rank(2)", "TensorShape([None, 3])"),
    ("s.with_rank_at_least(2)", "TensorShape([2, 3, 4])"),
    ("u.with_rank_at_least(2)", "TensorShape(None)"),
    ("s.with_rank_at_most(3)", "TensorShape([2, 3, 4])"),
    ("s.most_specific_compatible_shape([2, 5, 4])", "TensorShape([2, None, 4])"),
    ("s.most_specific_compatible_shape([2, 3, 4])", "TensorShape([2, 3, 4])"),
    ("s.most_specific_compatible_shape([2, 5])", "TensorShape(None)"),
    ("s.most_specific_compatible_shape(None)", "TensorShape(None)"),
    ("p.most_specific_compatible_shape([1, 3])", "TensorShape([None, 3])"),
    ("len(s)", "3"),
    ("list(s)", "[2, 3, 4]"),
    ("tuple(s)", "(2, 3, 4)"),
    ("3 in s", "True"),
    ("bool(S([]))", "True"),
    ("bool(s)", "True"),
    ("bool(u)", "False"),
    ("hash(s) == hash((2, 3, 4))", "True"),
    ("hash(p) == hash((None, 3))", "True"),
    ("str(s)", "'(2, 3, 4)'"),
    ("str(S([2]))", "'(2,)'"),
    ("str(S([]))", "'()'"),
    ("str(p)", "'(None, 3)'"),
    ("str(u)", "'<unknown>'"),
    ("repr(p)", "'TensorShape([None, 3])'"),
]

# (expression, TensorFlow's exception type, the start of its message where gradtape gives the same)
ERRORS = [
    ("S('ab')", TypeError, "Failed to convert"),
    ("S([2.0, 3])", TypeError, "Failed to convert"),
    ("S(5.0)", TypeError, "Dimension value must be integer or None or have an __index__ method"),
    ("S([-1])", ValueError, "Dimension -1 must be >= 0"),
    ("S(gt.zeros([2, 2]))", TypeError, "Failed to convert"),
    ("s[5]", IndexError, ""),
    ("s['a']", TypeError, ""),
    ("s[1.0]", TypeError, ""),
    ("s * 2", TypeError, ""),
    ("s.merge_with([2, 5, 4])", ValueError, "Shapes (2, 3, 4) and (2, 5, 4) are not compatible"),
    ("s.merge_with([2, 3])", ValueError, "Shapes (2, 3, 4) and (2, 3) are not compatible"),
    ("p.merge_with([2, 4])", ValueError, "Shapes (None, 3) and (2, 4) are not compatible"),
    ("s.merge_with('ab')", TypeError, "Failed to convert"),
    ("s.concatenate('ab')", TypeError, "Failed to convert"),
    ("s.is_compatible_with('ab')", TypeError, "Failed to convert"),
    ("s.most_specific_compatible_shape('ab')", TypeError, "Failed to convert"),
    ("s.assert_is_compatible_with([2, 3])", ValueError, "Shapes (2, 3, 4) and [2, 3] are incompatible"),
    ("s.assert_is_compatible_with([1, 3, 4])", ValueError, "Shapes (2, 3, 4) and [1, 3, 4] are incompatible"),
    ("s.assert_same_rank([1])", ValueError, "Shapes (2, 3, 4) and (1,) must have the same rank"),
    ("s.assert_has_rank(2)", ValueError, "Shape (2, 3, 4) must have rank 2"),
    ("s.with_rank(2)", ValueError, "Shape (2, 3, 4) must have rank 2"),
    ("p.with_rank(3)", ValueError, "Shape (None, 3) must have rank 3"),
    ("s.with_rank(3.0)", TypeError, ""),
    ("s.with_rank_at_least(4)", ValueError, "Shape (2, 3, 4) must have rank at least 4"),
    ("s.with_rank_at_most(2)", ValueError, "Shape (2, 3, 4) must have rank at most 2"),
    ("len(u)", ValueError, "Cannot take the length of shape with unknown rank."),
    ("list(u)", ValueError, "Cannot iterate over a shape with unknown rank."),
    ("u.as_list()", ValueError, "as_list() is not defined on an unknown TensorShape."),
]

NS = {"S": S, "s": s, "p": p, "u": u, "np": np, "gt": gt}


@pytest.mark.parametrize("expr,expected", VALUES, ids=[v[0] for v in VALUES])
def test_value_as_tensorflow(expr, expected):
    assert repr(eval(expr, NS)) == expected


@pytest.mark.parametrize("expr,exc,message", ERRORS, ids=[e[0] for e in ERRORS])
def test_error_as_tensorflow(expr, exc, message):
    with pytest.raises(exc) as info:
        eval(expr, NS)
    assert str(info.value).startswith(message)


def test_every_shape_is_a_tensorshape():
    # a tensor's shape, a spec's shape (known, partial, unknown) and every result is one
    for shape in (gt.zeros([2, 3]).shape, gt.Variable([1.0]).shape, gt.TensorSpec([None, 3]).shape,
                  gt.TensorSpec(None).shape, gt.TensorSpec([2]).shape, s[1:], s + [1], s.merge_with(p[:0] + [2, 3, 4])):
        assert isinstance(shape, gt.TensorShape)
    assert type(gt.zeros([2]).shape) is gt.TensorShape and gt.zeros([2, 3]).shape == [2, 3]
    assert gt.TensorSpec([None, 3]).shape == p and gt.TensorSpec(None).shape == u


def test_results_are_new_objects_as_tensorflow():
    assert s.merge_with([2, 3, 4]) is not s and s[:] is not s and s.concatenate([]) is not s
    assert s.with_rank_at_least(1) is s and s.with_rank_at_most(5) is s


@pytest.mark.parametrize("shape", [s, p, u, S([])], ids=repr)
def test_pickle_and_copy(shape):
    for back in (pickle.loads(pickle.dumps(shape)), copy.copy(shape), copy.deepcopy(shape)):
        assert back == shape and type(back) is type(shape) and repr(back) == repr(shape)
