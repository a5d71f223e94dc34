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
