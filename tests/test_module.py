"""gt.Module and gt.name_scope: names, scopes, variables and submodules in tf.Module's order.

The expected names and orders are TensorFlow 2.21's (run in a separate environment, stored
here as literals)."""
import numpy as np
import pytest

import gradtape as gt


class Dense(gt.Module):
    def __init__(self, n, name=None):
        super().__init__(name=name)
        with self.name_scope:
            self.w = gt.Variable(gt.ones([2, n]), name="w")
            self.b = gt.Variable(gt.zeros([n]), name="b", trainable=False)

    @gt.Module.with_name_scope
    def __call__(self, x):
        return gt.Variable(1.0, name="inside").name


class MyModel(gt.Module):
    def __init__(self):
        super().__init__()
        self.layers = [Dense(3), Dense(4, name="second")]
        self.d = {"b": Dense(1), "a": (Dense(2),)}
        self.alias = self.layers[0]


def test_names_variables_and_submodules_in_tf_order():
    m = MyModel()
    assert (m.name, m.name_scope.name) == ("my_model", "my_model/")
    assert [s.name for s in m.submodules] == ["dense", "dense", "dense", "second"]
    assert [v.name for v in m.variables] == ["dense/b:0", "dense/w:0", "dense/b:0", "dense/w:0",
                                             "dense/b:0", "dense/w:0", "second/b:0", "second/w:0"]
    assert [v.name for v in m.trainable_variables] == ["dense/w:0", "dense/w:0", "dense/w:0", "second/w:0"]
    assert [v.name for v in m.non_trainable_variables] == ["dense/b:0", "dense/b:0", "dense/b:0", "second/b:0"]
    # alias and layers[0] are one object: reported once; the order is the walk's
    assert m.submodules[0] is m.alias and m.submodules[1] is m.d["a"][0] and m.submodules[2] is m.d["b"]
    assert isinstance(m.variables, tuple) and isinstance(m.submodules, tuple)
    assert m.layers[0](1) == "dense/inside:0"


def test_default_names_are_snake_case_and_not_uniquified():
    class HTTPServer2(gt.Module):
        pass
    assert HTTPServer2().name == "http_server2" and HTTPServer2().name_scope.name == "http_server2/"
    assert gt.Module().name == "module"
    assert gt.Module(name="a").name_scope.name == "a/"
    for bad in ["bad name", "a.b", "1a", "a/b", "a-b"]:
        with pytest.raises(ValueError, match="not a valid module name"):
            gt.Module(name=bad)
    assert gt.Module(name="_x").name == "_x"


def test_name_scopes_prefix_variable_names():
    assert gt.Variable(1.0).name == "Variable:0"
    with gt.name_scope("outer") as scope:
        assert scope == "outer/"
        assert gt.Variable(1.0).name == "outer/Variable:0"
        assert gt.Variable(1.0, name="x").name == "outer/x:0"
        d = Dense(2)
        assert (d.name, d.name_scope.name, d.w.name) == ("dense", "outer/dense/", "outer/dense/w:0")
        with gt.name_scope("inner"):
            assert gt.Variable(1.0, name="y").name == "outer/inner/y:0"
        with gt.name_scope("outer/"):  # absolute
            assert gt.Variable(1.0, name="z").name == "outer/z:0"
        with gt.name_scope(""):  # back to the root
            assert gt.Variable(1.0, name="r").name == "r:0"
    assert gt.Variable(1.0, name="x").name == "x:0"
    assert gt.Variable(1.0, name="a/b").name == "a/b:0"
    with pytest.raises(ValueError, match="must be a string"):
        gt.name_scope(None)
    # a module re-enters its own scope wherever it is called from
    with gt.name_scope("elsewhere"):
        assert d(0) == "outer/dense/inside:0"


def test_variables_made_outside_name_scope_are_not_prefixed():
    class M(gt.Module):
        def __init__(self):
            super().__init__()
            self.v = gt.Variable(1.0, name="v")

        @gt.Module.with_name_scope
        def f(self):
            with gt.name_scope("q") as s:
                return s, gt.Variable(1.0, name="k").name
    m = M()
    assert m.v.name == "v:0"
    assert m.f() == ("m/q/", "m/q/k:0")
    with m.name_scope as s:
        assert s == "m/"


def test_nested_scope_entry_of_one_object_and_exceptions_restore_the_scope():
    s = gt.name_scope("a")
    with s:
        with s:
            assert gt.Variable(1.0, name="v").name == "a/a/v:0"
        assert gt.Variable(1.0, name="v").name == "a/v:0"
    with pytest.raises(RuntimeError):
        with gt.name_scope("boom"):
            raise RuntimeError()
    assert gt.Variable(1.0, name="v").name == "v:0"


def test_walk_through_nests_cycles_and_flatten_with_path():
    x = gt.Module()
    x.v = [gt.Variable(1.0, name="q"), {"k": gt.Variable(2.0, name="r")}]
    x.m = gt.Variable(3.0, name="s")
    x.t = gt.constant(1.0)  # tensors are not variables
    assert [v.name for v in x.variables] == ["s:0", "q:0", "r:0"]
    a, b = gt.Module(name="a"), gt.Module(name="b")
    a.child, b.child = b, a  # a cycle
    a.w = gt.Variable(1.0, name="w")
    assert [s.name for s in a.submodules] == ["b"]
    assert [v.name for v in a.variables] == ["w:0"]
    paths = list(x._flatten(predicate=lambda v: isinstance(v, gt.Variable), with_path=True))
    assert [p for p, _ in paths] == [("m",), ("v", 0), ("v", 1, "k")]


def test_variable_keeps_its_arguments():
    v = gt.Variable([1.0, 2.0], trainable=False, name="n", dtype=gt.float64, validate_shape=True,
                    shape=None, synchronization=None, aggregation=None, caching_device=None)
    assert (v.name, v.trainable, v.dtype, v.numpy().tolist()) == ("n:0", False, gt.float64, [1.0, 2.0])
    with pytest.raises(TypeError):
        gt.Variable(1.0, bogus=1)
    # pickling keeps the name (not re-scoped twice)
    import pickle
    with gt.name_scope("s"):
        w = gt.Variable(1.0, name="w")
    assert pickle.loads(pickle.dumps(w)).name == "s/w:0"


def test_module_training_step_uses_trainable_variables():
    class Linear(gt.Module):
        def __init__(self):
            super().__init__()
            self.w = gt.Variable(2.0)
            self.b = gt.Variable(1.0)

        def __call__(self, x):
            return self.w * x + self.b
    m = Linear()
    x = gt.constant([1.0, 2.0])
    with gt.GradientTape() as tape:
        loss = gt.reduce_mean(gt.square(m(x) - 1.0))
    grads = tape.gradient(loss, m.trainable_variables)
    # trainable_variables are b then w (sorted attributes); d/db = mean(2 r), d/dw = mean(2 r x)
    r = 2.0 * np.array([1.0, 2.0]) + 1.0 - 1.0
    np.testing.assert_allclose([g.numpy() for g in grads], [np.mean(2 * r), np.mean(2 * r * [1.0, 2.0])])


def test_variable_scatter_nd_methods():
    # TF 2.21's tf.Variable.scatter_nd_*: each writes tensor_scatter_nd_*(v, indices, updates)
    # and returns the variable; an index out of range raises InvalidArgumentError, writing nothing.
    v = gt.Variable([1.0, 2.0, 3.0, 4.0])
    assert v.scatter_nd_update([[1], [3]], [10.0, 20.0]) is v
    np.testing.assert_array_equal(v.numpy(), [1.0, 10.0, 3.0, 20.0])
    v.scatter_nd_add([[0]], [5.0])
    np.testing.assert_array_equal(v.numpy(), [6.0, 10.0, 3.0, 20.0])
    v.scatter_nd_sub([[0], [0]], [1.0, 1.0])
    np.testing.assert_array_equal(v.numpy(), [4.0, 10.0, 3.0, 20.0])
    v.scatter_nd_max([[1], [2]], [100.0, 0.0])
    v.scatter_nd_min([[3]], [-1.0])
    np.testing.assert_array_equal(v.numpy(), [4.0, 100.0, 3.0, -1.0])
    with pytest.raises(gt.errors.InvalidArgumentError):
        v.scatter_nd_update([[9]], [1.0])
    np.testing.assert_array_equal(v.numpy(), [4.0, 100.0, 3.0, -1.0])
    m = gt.Variable([[1.0, 2.0], [3.0, 4.0]])
    m.scatter_nd_update([[1]], [[7.0, 8.0]])
    np.testing.assert_array_equal(m.numpy(), [[1.0, 2.0], [7.0, 8.0]])

    @gt.function
    def bump(indices):  # (traced: a write of the variable at each call)
        m.scatter_nd_add(indices, [1.0])
        return m.read_value()

    for k in range(3):
        bump(gt.constant([[k % 2, 0]]))
    np.testing.assert_array_equal(m.numpy(), [[3.0, 2.0], [8.0, 8.0]])


def _rows():
    return gt.Variable([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])


@pytest.mark.parametrize("method, expected", [
    # TF 2.21: v.<method>(tf.IndexedSlices([[10., 20.]], [1])) on [[1, 2], [3, 4], [5, 6]]
    ("scatter_update", [[1.0, 2.0], [10.0, 20.0], [5.0, 6.0]]),
    ("scatter_add", [[1.0, 2.0], [13.0, 24.0], [5.0, 6.0]]),
    ("scatter_sub", [[1.0, 2.0], [-7.0, -16.0], [5.0, 6.0]]),
    ("scatter_mul", [[1.0, 2.0], [30.0, 80.0], [5.0, 6.0]]),
    ("scatter_div", [[1.0, 2.0], [0.30000001192092896, 0.20000000298023224], [5.0, 6.0]]),
    ("scatter_max", [[1.0, 2.0], [10.0, 20.0], [5.0, 6.0]]),
    ("scatter_min", [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
])
def test_variable_scatter_methods_take_indexed_slices(method, expected):
    v = _rows()
    r = getattr(v, method)(gt.IndexedSlices(gt.constant([[10.0, 20.0]]), gt.constant([1])))
    assert r is v  # (TF returns the variable, as an unread view of it)
    assert v.numpy().tolist() == expected
    # an index out of range (or negative): TF's InvalidArgumentError ("indices[1] = 5 is not in
    # [0, 3)"), and nothing written
    for bad in ([0, 5], [-1, 0]):
        v = _rows()
        with pytest.raises(gt.errors.InvalidArgumentError):
            getattr(v, method)(gt.IndexedSlices(gt.constant([[2.0, 2.0], [2.0, 2.0]]), gt.constant(bad)))
        assert v.numpy().tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]


def test_variable_scatter_methods_duplicates_shapes_and_errors():
    # TF 2.21's values
    v = _rows()
    v.scatter_add(gt.IndexedSlices(gt.constant([[1.0, 1.0], [2.0, 2.0]]), gt.constant([1, 1])))
    assert v.numpy().tolist() == [[1.0, 2.0], [6.0, 7.0], [5.0, 6.0]]
    v = _rows()
    v.scatter_update(gt.IndexedSlices(gt.constant([[1.0, 1.0], [2.0, 2.0]]), gt.constant([1, 1])))
    assert v.numpy().tolist() == [[1.0, 2.0], [2.0, 2.0], [5.0, 6.0]]  # (the last one, as TF's CPU kernel)
    v = _rows()
    v.scatter_update(gt.IndexedSlices(gt.constant([7.0, 8.0]), gt.constant(1)))  # scalar index
    assert v.numpy().tolist() == [[1.0, 2.0], [7.0, 8.0], [5.0, 6.0]]
    v = _rows()
    v.scatter_update(gt.IndexedSlices(gt.constant([[[7.0, 8.0]], [[9.0, 9.0]]]), gt.constant([[1], [2]])))
    assert v.numpy().tolist() == [[1.0, 2.0], [7.0, 8.0], [9.0, 9.0]]
    v = _rows()
    v.scatter_add(gt.IndexedSlices(gt.constant(5.0), gt.constant([1])))  # a scalar update is broadcast
    assert v.numpy().tolist() == [[1.0, 2.0], [8.0, 9.0], [5.0, 6.0]]
    v = _rows()
    v.scatter_add(gt.IndexedSlices(gt.constant([[1.0, 1.0]]), gt.constant([1], gt.int64)))
    assert v.numpy().tolist() == [[1.0, 2.0], [4.0, 5.0], [5.0, 6.0]]
    vi = gt.Variable([1, 2, 3])
    vi.scatter_div(gt.IndexedSlices(gt.constant([2]), gt.constant([2])))
    assert vi.numpy().tolist() == [1, 2, 1]
    vi = gt.Variable([-7, 2, 3])
    vi.scatter_div(gt.IndexedSlices(gt.constant([2]), gt.constant([0])))
    assert vi.numpy().tolist() == [-3, 2, 3]  # (toward zero)
    vi = gt.Variable([1, 2, 3])
    vi.scatter_mul(gt.IndexedSlices(gt.constant([2, 3]), gt.constant([2, 2])))
    assert vi.numpy().tolist() == [1, 2, 18]
    vi = gt.Variable([1, 2, 3])
    vi.scatter_max(gt.IndexedSlices(gt.constant([5, 4]), gt.constant([0, 0])))
    assert vi.numpy().tolist() == [5, 2, 3]
    # TF 2.21's errors
    with pytest.raises(TypeError):  # "Argument `sparse_delta` must be a `tf.IndexedSlices`."
        _rows().scatter_update(gt.constant([1.0]))
    with pytest.raises(ValueError):  # "Tensor conversion requested dtype float32 for Tensor with dtype int32"
        _rows().scatter_add(gt.IndexedSlices(gt.constant([[1, 1]]), gt.constant([1])))
    for zero in (gt.constant([[0.0, 1.0]]), gt.constant([[0.0, 0.0]])):
        v = _rows()
        with pytest.raises(gt.errors.InvalidArgumentError, match="updates must not contain 0"):
            v.scatter_div(gt.IndexedSlices(zero, gt.constant([1])))
        assert v.numpy().tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    # updates of the wrong shape: TF 2.21's eager kernel writes past the row ([[7, 8], [9, 6]]);
    # gradtape raises InvalidArgumentError and writes nothing
    v = _rows()
    with pytest.raises(gt.errors.InvalidArgumentError):
        v.scatter_update(gt.IndexedSlices(gt.constant([[7.0, 8.0, 9.0]]), gt.constant([1])))
    assert v.numpy().tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]


def test_variable_batch_scatter_update():
    # TF 2.21's values and errors
    b = gt.Variable([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert b.batch_scatter_update(gt.IndexedSlices(gt.constant([[10.0, 20.0], [30.0, 40.0]]),
                                                   gt.constant([[0, 2], [1, 1]]))) is b
    assert b.numpy().tolist() == [[10.0, 2.0, 20.0], [4.0, 40.0, 6.0]]
    b = gt.Variable([1.0, 2.0, 3.0])
    b.batch_scatter_update(gt.IndexedSlices(gt.constant([10.0, 20.0]), gt.constant([0, 2])))
    assert b.numpy().tolist() == [10.0, 2.0, 20.0]
    b = gt.Variable(gt.reshape(gt.range(12.0), [2, 3, 2]))
    b.batch_scatter_update(gt.IndexedSlices(gt.constant([[[-1.0, -1.0]], [[-2.0, -2.0]]]), gt.constant([[2], [0]])))
    assert b.numpy().tolist() == [[[0.0, 1.0], [2.0, 3.0], [-1.0, -1.0]], [[-2.0, -2.0], [8.0, 9.0], [10.0, 11.0]]]
    b = gt.Variable([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    for values, indices in (([10.0, 20.0], [0, 2]),  # "Dimensions [1,2) of input[shape=[2,3]] must match ..."
                            ([[10.0], [30.0]], [[0], [3]]),  # "indices[1,0] = [1, 3] does not index into shape [2,3]"
                            ([[[10.0]], [[30.0]]], [[[0]], [[1]]])):
        with pytest.raises(gt.errors.InvalidArgumentError):
            b.batch_scatter_update(gt.IndexedSlices(gt.constant(values), gt.constant(indices)))
        assert b.numpy().tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


@pytest.mark.parametrize("method, first, second", [
    # TF 2.21 inside tf.function: updates [[2, 3], [4, 5]] at indices [2, 2], then at [0, 1]
    ("scatter_update", [[1.0, 2.0], [3.0, 4.0], [4.0, 5.0]], [[2.0, 3.0], [4.0, 5.0], [4.0, 5.0]]),
    ("scatter_add", [[1.0, 2.0], [3.0, 4.0], [11.0, 14.0]], [[3.0, 5.0], [7.0, 9.0], [11.0, 14.0]]),
    ("scatter_sub", [[1.0, 2.0], [3.0, 4.0], [-1.0, -2.0]], [[-1.0, -1.0], [-1.0, -1.0], [-1.0, -2.0]]),
    ("scatter_mul", [[1.0, 2.0], [3.0, 4.0], [40.0, 90.0]], [[2.0, 6.0], [12.0, 20.0], [40.0, 90.0]]),
    ("scatter_div", [[1.0, 2.0], [3.0, 4.0], [0.625, 0.4000000059604645]],
     [[0.5, 0.6666666865348816], [0.75, 0.800000011920929], [0.625, 0.4000000059604645]]),
    ("scatter_max", [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[2.0, 3.0], [4.0, 5.0], [5.0, 6.0]]),
    ("scatter_min", [[1.0, 2.0], [3.0, 4.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0], [2.0, 3.0]]),
])
def test_variable_scatter_methods_inside_function(method, first, second):
    v = _rows()

    @gt.function
    def f(i, x):  # (traced indices and updates: the write happens at each call)
        return getattr(v, method)(gt.IndexedSlices(x, i)).read_value()

    u = gt.constant([[2.0, 3.0], [4.0, 5.0]])
    assert f(gt.constant([2, 2]), u).numpy().tolist() == first
    assert f(gt.constant([0, 1]), u).numpy().tolist() == second
    for bad in ([5, 0], [-1, 0]):
        with pytest.raises(gt.errors.InvalidArgumentError):
            f(gt.constant(bad), u)
    assert v.numpy().tolist() == second
    assert f.experimental_get_tracing_count() == 1


def test_variable_scatter_inside_function_integer_div_and_batch():
    vi = gt.Variable([-7, 2, 3])

    @gt.function
    def div(i, x):
        return vi.scatter_div(gt.IndexedSlices(x, i)).read_value()

    assert div(gt.constant([0, 0]), gt.constant([2, 2])).numpy().tolist() == [-1, 2, 3]  # (TF: -7/2/2 -> -1)
    with pytest.raises(gt.errors.InvalidArgumentError, match="updates must not contain 0"):
        div(gt.constant([0, 0]), gt.constant([2, 0]))
    assert vi.numpy().tolist() == [-1, 2, 3]
    b = gt.Variable([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])

    @gt.function
    def batch(i, x):
        return b.batch_scatter_update(gt.IndexedSlices(x, i)).read_value()

    u = gt.constant([[10.0, 20.0], [30.0, 40.0]])
    assert batch(gt.constant([[0, 2], [1, 1]]), u).numpy().tolist() == [[10.0, 2.0, 20.0], [4.0, 40.0, 6.0]]
    with pytest.raises(gt.errors.InvalidArgumentError):
        batch(gt.constant([[0, 2], [1, 3]]), u)
    # (TF 2.21's kernel has written the rows before the bad index, [4, 30, 6]; gradtape writes nothing)
    assert b.numpy().tolist() == [[10.0, 2.0, 20.0], [4.0, 40.0, 6.0]]


def test_a_variables_shape_argument_is_checked_against_its_value():
    # TF 2.21 raises ValueError for a value that does not fit `shape` (gradtape ignored it)
    with pytest.raises(ValueError, match="not compatible"):
        gt.Variable([1.0, 2.0], shape=[3])
    with pytest.raises(ValueError, match="not compatible"):
        gt.Variable([1.0, 2.0], shape=[2, 1])
    for shape in ([2], [None], gt.TensorShape(None)):
        assert gt.Variable([1.0, 2.0], shape=shape).shape == (2,)
