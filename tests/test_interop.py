"""Interop: Tensor.ref()/Variable.ref() (TensorFlow's Reference objects) and DLPack both ways,
with NumPy and (when installed) PyTorch. docs/choices.md, "DLPack", states the rules tested
here: exports share memory read-only (versioned capsules) or hand over a copy (legacy capsules,
copy=True); imports always copy."""
import gc
import pickle

import numpy as np
import pytest

import gradtape as gt

DTYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_]


def _values(dtype, shape=(2, 3)):
    n = int(np.prod(shape))
    if dtype == np.bool_:
        return (np.arange(n) % 3 == 0).reshape(shape)
    return (np.arange(n) - 2).astype(dtype).reshape(shape)


# ---- ref() / deref() ----

@pytest.mark.parametrize("make", [lambda: gt.constant([1.0, 2.0]), lambda: gt.Variable([1.0, 2.0])],
                         ids=["Tensor", "Variable"])
def test_ref_is_hashable_by_identity(make):
    x, y = make(), make()
    with pytest.raises(TypeError):
        hash(x)  # == is elementwise: the object itself is unhashable, as in TensorFlow
    assert x.ref() == x.ref() and hash(x.ref()) == hash(x.ref()) == id(x)
    assert x.ref() != y.ref()  # equal values, other objects
    assert x.ref().deref() is x
    d = {x.ref(): "x", y.ref(): "y"}
    assert d[x.ref()] == "x" and d[y.ref()] == "y" and len(d) == 2
    s = {x.ref(), x.ref(), y.ref()}
    assert len(s) == 2 and x.ref() in s
    assert [id(r.deref()) for r in sorted(s)] == sorted([id(x), id(y)])  # ordered by id, as TensorFlow's


def test_ref_comparisons_follow_tensorflow():
    x = gt.constant(1.0)
    r = x.ref()
    assert (r == None) is False and (r != None) is True  # noqa: E711
    with pytest.raises(TypeError, match="Cannot compare"):
        r == x  # noqa: B015 (TensorFlow refuses to compare a reference with an unwrapped object)
    assert repr(r).startswith("<Reference wrapping <gt.Tensor")


def test_ref_keeps_its_object_alive_and_variables_stay_variables():
    v = gt.Variable(3.0, name="w")
    r = v.ref()
    del v
    gc.collect()
    w = r.deref()
    assert isinstance(w, gt.Variable) and w.name == "w:0"
    w.assign(4.0)
    assert float(r.deref()) == 4.0


def test_pickle_and_deepcopy_still_work():
    t = gt.constant([1, 2])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(t)).numpy(), [1, 2])


# ---- export: NumPy ----

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_numpy_from_dlpack_shares_memory_read_only(dtype):
    values = _values(dtype)
    t = gt.constant(values)
    a = np.from_dlpack(t)
    assert a.dtype == values.dtype and a.shape == values.shape
    np.testing.assert_array_equal(a, values)
    assert not a.flags.writeable  # a gradtape tensor is immutable
    with pytest.raises(ValueError):
        a[0, 0] = 1
    assert np.shares_memory(a, np.asarray(t))  # zero-copy


def test_np_asarray_stays_zero_copy():
    t = gt.constant([1.0, 2.0, 3.0])
    a, b = np.asarray(t), np.asarray(t)
    assert np.shares_memory(a, b) and not a.flags.writeable


@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (1,), (2, 1, 3)])
def test_numpy_round_trip_shapes(shape):
    values = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    a = np.from_dlpack(gt.constant(values))
    assert a.shape == shape
    np.testing.assert_array_equal(a, values)
    back = gt.from_dlpack(a)
    assert back.shape == shape and back.dtype == gt.float32
    np.testing.assert_array_equal(back.numpy(), values)


def test_export_outlives_the_tensor():
    t = gt.constant(np.arange(1000, dtype=np.float64))
    a = np.from_dlpack(t)
    b = np.from_dlpack(gt.exp(gt.constant([0.0, 1.0])))  # a temporary (maybe deferred) tensor
    del t
    gc.collect()
    for _ in range(50):  # the freed storage, had it been freed, would be reused by these
        gt.constant(np.full(1000, -1.0)) + 1.0
    assert a.sum() == np.arange(1000).sum()
    np.testing.assert_allclose(b, [1.0, np.e], rtol=1e-6)


def test_an_unconsumed_capsule_frees_its_storage():
    t = gt.constant(np.ones(10000, dtype=np.float32))
    gc.collect()
    before = gt._core.live_storages()
    for kw in ({}, {"max_version": (1, 0)}, {"max_version": (1, 0), "copy": True}):
        cap = t.__dlpack__(**kw)
        del cap
    gc.collect()
    assert gt._core.live_storages() == before
    t.__dlpack__(max_version=(1, 0))  # (an unconsumed shared export: released with its capsule)
    del t
    gc.collect()
    assert gt._core.live_storages() == before - 1


def test_dlpack_protocol_arguments():
    t = gt.constant([1.0, 2.0])
    assert t.__dlpack_device__() == (1, 0)
    assert type(t.__dlpack__()).__name__ == "PyCapsule"
    assert "dltensor_versioned" in repr(t.__dlpack__(max_version=(1, 0)))
    assert '"dltensor"' in repr(t.__dlpack__())
    assert '"dltensor"' in repr(t.__dlpack__(max_version=(0, 8)))
    # a legacy capsule cannot say read-only: it is a copy, so copy=False cannot be honoured
    with pytest.raises(BufferError, match="legacy"):
        t.__dlpack__(copy=False)
    with pytest.raises(BufferError, match="CPU"):
        t.__dlpack__(max_version=(1, 0), dl_device=(2, 0))
    t.__dlpack__(max_version=(1, 0), dl_device=(1, 0))
    with pytest.raises(ValueError, match="stream"):
        t.__dlpack__(stream=1)


def test_numpy_copy_true_gives_a_private_writable_array():
    t = gt.constant([1.0, 2.0])
    a = np.from_dlpack(t, copy=True)
    assert not np.shares_memory(a, np.asarray(t))
    a[0] = 9.0  # writable: it is the consumer's own copy
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])


def test_variable_export_is_a_snapshot():
    v = gt.Variable([1.0, 2.0])
    a = np.from_dlpack(v)
    v.assign([5.0, 6.0])  # copies on write: the export holds the old storage
    v.assign_add([1.0, 1.0])
    np.testing.assert_array_equal(a, [1.0, 2.0])
    np.testing.assert_array_equal(v.numpy(), [6.0, 7.0])
    assert not a.flags.writeable


# ---- import ----

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_from_dlpack_numpy_copies_each_dtype(dtype):
    values = _values(dtype)
    t = gt.from_dlpack(values)
    assert t.dtype == gt.as_dtype(values.dtype)
    np.testing.assert_array_equal(t.numpy(), values)
    assert not np.shares_memory(np.asarray(t), values)  # gradtape owns its buffers: a copy


@pytest.mark.parametrize("view", [lambda a: a.T, lambda a: a[::-1], lambda a: a[:, ::2], lambda a: a[1:, 1:],
                                  lambda a: np.broadcast_to(a[:1], (3, 4))],
                         ids=["transpose", "reversed", "step", "offset", "broadcast"])
def test_from_dlpack_strided_views(view):
    a = view(np.arange(12, dtype=np.int64).reshape(3, 4))
    np.testing.assert_array_equal(gt.from_dlpack(a).numpy(), a)


def test_from_dlpack_legacy_and_versioned_capsules():
    t = gt.constant([[1, 2], [3, 4]], dtype=gt.int64)
    for cap in (gt.experimental.dlpack.to_dlpack(t), t.__dlpack__(max_version=(1, 0)), t.__dlpack__()):
        back = gt.experimental.dlpack.from_dlpack(cap)
        np.testing.assert_array_equal(back.numpy(), t.numpy())
        assert back.dtype == gt.int64
        with pytest.raises(ValueError, match="already consumed"):
            gt.experimental.dlpack.from_dlpack(cap)


def test_from_dlpack_of_a_gradtape_tensor():
    t = gt.constant([1.5, 2.5])
    u = gt.from_dlpack(t)
    assert isinstance(u, gt.Tensor) and u is not t
    np.testing.assert_array_equal(u.numpy(), t.numpy())


def test_legacy_capsule_is_a_copy():
    t = gt.constant([1.0, 2.0])
    cap = gt.experimental.dlpack.to_dlpack(t)
    a = np.from_dlpack(_Capsule(cap))  # NumPy takes a legacy capsule through __dlpack__
    assert not np.shares_memory(a, np.asarray(t))  # (NumPy marks it read-only anyway)


class _Capsule:
    """A producer that hands out a capsule it was given (legacy-only: no max_version)."""

    def __init__(self, cap):
        self.cap = cap

    def __dlpack__(self, stream=None):
        return self.cap

    def __dlpack_device__(self):
        return (1, 0)


def test_from_dlpack_falls_back_for_producers_without_max_version():
    cap = gt.experimental.dlpack.to_dlpack(gt.constant([3, 4]))
    np.testing.assert_array_equal(gt.from_dlpack(_Capsule(cap)).numpy(), [3, 4])


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_from_dlpack_refuses_other_dtypes(dtype):
    with pytest.raises(TypeError, match="unsupported dtype .*float16, bfloat16, float32, float64"):
        gt.from_dlpack(np.zeros(3, dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float16, np.uint8, np.int8, np.int16, np.uint16, np.uint32, np.uint64])
def test_from_dlpack_takes_the_small_and_unsigned_dtypes(dtype):
    a = np.arange(5).astype(dtype)
    t = gt.from_dlpack(a)
    assert t.dtype == gt.as_dtype(dtype)
    np.testing.assert_array_equal(t.numpy(), a)
    np.testing.assert_array_equal(np.from_dlpack(t), a)


def test_from_dlpack_errors():
    with pytest.raises(TypeError, match="__dlpack__"):
        gt.from_dlpack([1, 2])

    class OnGpu:
        def __dlpack__(self, **kw):
            raise AssertionError("not called")

        def __dlpack_device__(self):
            return (2, 0)

    with pytest.raises(BufferError, match="CPU"):
        gt.from_dlpack(OnGpu())
    with pytest.raises(ValueError, match="always copies"):
        gt.from_dlpack(np.zeros(2), copy=False)
    with pytest.raises(ValueError, match="CPU"):
        gt.from_dlpack(np.zeros(2), device="cuda")
    assert gt.from_dlpack(np.zeros(2), device="cpu", copy=True).shape == (2,)


def test_imported_bools_are_zero_or_one():
    raw = np.array([0, 1, 2, 255], dtype=np.uint8).view(np.bool_)  # bytes other than 0/1
    t = gt.from_dlpack(raw)
    np.testing.assert_array_equal(t.numpy().view(np.uint8), [0, 1, 1, 1])


# ---- PyTorch ----

def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_torch_from_dlpack_and_as_tensor_share_memory(dtype):
    torch = _torch()
    values = _values(dtype)
    t = gt.constant(values)
    for x in (torch.from_dlpack(t), torch.as_tensor(t)):
        np.testing.assert_array_equal(x.numpy(), values)
        assert x.data_ptr() == np.asarray(t).ctypes.data  # zero-copy (torch ignores the read-only flag)


def test_torch_copies_when_asked():
    torch = _torch()
    t = gt.constant([1.0, 2.0])
    for x in (torch.from_dlpack(t, copy=True), torch.tensor(t), torch.from_dlpack(gt.experimental.dlpack.to_dlpack(t))):
        assert x.data_ptr() != np.asarray(t).ctypes.data
        x[0] = 9.0  # the consumer's own memory
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])


def test_torch_tensor_outlives_the_gradtape_tensor():
    torch = _torch()
    t = gt.constant(np.arange(100, dtype=np.float32))
    x = torch.from_dlpack(t)
    del t
    gc.collect()
    for _ in range(20):
        gt.constant(np.full(100, -1.0, dtype=np.float32)) * 2.0
    assert float(x.sum()) == float(np.arange(100).sum())


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "bool"])
def test_from_torch(dtype):
    torch = _torch()
    x = torch.arange(12).reshape(3, 4).to(getattr(torch, dtype))
    for src in (x, x.t(), x.flip(0), x[:, 1:3]):
        t = gt.from_dlpack(src)
        assert t.dtype == gt.as_dtype(dtype)
        np.testing.assert_array_equal(t.numpy(), src.numpy())
    np.testing.assert_array_equal(gt.experimental.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(x)).numpy(), x.numpy())


def test_from_torch_refuses_complex():
    torch = _torch()
    with pytest.raises(TypeError, match="complex"):
        gt.from_dlpack(torch.zeros(2, dtype=torch.complex64))


@pytest.mark.parametrize("name", ["float16", "bfloat16", "uint8", "int8", "int16"])
def test_torch_round_trip_of_the_small_dtypes(name):
    torch = _torch()
    x = (torch.arange(6) * 3 - 4).to(getattr(torch, name))
    t = gt.from_dlpack(x)
    assert t.dtype == getattr(gt, name)
    back = torch.from_dlpack(t)
    assert back.dtype == x.dtype and torch.equal(back, x)


def test_torch_round_trip_through_gradtape():
    torch = _torch()
    x = torch.randn(4, 5, dtype=torch.float64)
    y = torch.from_dlpack(gt.exp(gt.from_dlpack(x)))
    torch.testing.assert_close(y, torch.exp(x))


# ---- threadpoolctl ----
# gradtape/_threadpoolctl.py registers a controller for the kernel pool with threadpoolctl
# (>= 3.5, threadpoolctl.register) when threadpoolctl is imported, before or after gradtape.

def _threadpoolctl():
    tpc = pytest.importorskip("threadpoolctl")
    if not hasattr(tpc, "register"):
        pytest.skip("threadpoolctl %s has no register() (3.5 and later)" % tpc.__version__)
    return tpc


def _gradtape_pools(tpc):
    return [i for i in tpc.threadpool_info() if i["user_api"] == "gradtape"]


def test_threadpoolctl_lists_the_kernel_pool():
    import os
    tpc = _threadpoolctl()
    was = gt.config.get_num_threads()
    try:
        gt.config.set_num_threads(3)
        (info,) = _gradtape_pools(tpc)
        assert info["internal_api"] == "gradtape" and info["num_threads"] == 3
        assert info["version"] == gt.__version__
        assert os.path.realpath(info["filepath"]) == os.path.realpath(gt._core.__file__)
        assert info["prefix"] == "_core."
    finally:
        gt.config.set_num_threads(was)


def test_threadpool_limits_limits_the_pool_and_restores_it():
    tpc = _threadpoolctl()
    was = gt.config.get_num_threads()
    try:
        gt.config.set_num_threads(2)
        x = gt.constant(np.linspace(-3.0, 3.0, 1 << 20, dtype=np.float32))
        want = gt.reduce_sum(gt.exp(x)).numpy()
        with tpc.threadpool_limits(1):
            assert gt.config.get_num_threads() == 1
            assert _gradtape_pools(tpc)[0]["num_threads"] == 1
            assert gt.reduce_sum(gt.exp(x)).numpy() == want  # the same bits on one thread
        assert gt.config.get_num_threads() == 2
        blas = [i["num_threads"] for i in tpc.threadpool_info() if i["user_api"] == "blas"]
        with tpc.threadpool_limits(limits=1, user_api="gradtape"):
            assert gt.config.get_num_threads() == 1
            # only gradtape's pool: OpenBLAS's keep their threads
            assert [i["num_threads"] for i in tpc.threadpool_info() if i["user_api"] == "blas"] == blas
        assert gt.config.get_num_threads() == 2
        with tpc.threadpool_limits(limits={"gradtape": 1}):
            assert gt.config.get_num_threads() == 1
        controller = tpc.ThreadpoolController().select(user_api="gradtape")
        with controller.limit(limits=1):
            assert gt.config.get_num_threads() == 1
        assert gt.config.get_num_threads() == 2
    finally:
        gt.config.set_num_threads(was)


_IMPORT_ORDER_SCRIPT = r"""
import sys
first = sys.argv[1]
if first in ("gradtape", "gradtape, find_spec"):
    import gradtape as gt
    assert "threadpoolctl" not in sys.modules  # gradtape does not import threadpoolctl
    if first == "gradtape, find_spec":  # a look-up that does not import it changes nothing
        import importlib.util
        assert importlib.util.find_spec("threadpoolctl") is not None
        assert "threadpoolctl" not in sys.modules
    import threadpoolctl
else:
    import threadpoolctl
    threadpoolctl.threadpool_info()  # listed once before gradtape loads
    import gradtape as gt
pools = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "gradtape"]
assert len(pools) == 1 and pools[0]["num_threads"] == gt.config.get_num_threads(), pools
with threadpoolctl.threadpool_limits(1):
    assert gt.config.get_num_threads() == 1
# threadpoolctl looks as if imported by the usual machinery; the finder is gone
assert type(threadpoolctl.__loader__).__module__ != "gradtape._threadpoolctl"
assert threadpoolctl.__spec__.loader is threadpoolctl.__loader__
import inspect
assert "def threadpool_limits" in inspect.getsource(threadpoolctl) or "class threadpool_limits" in inspect.getsource(threadpoolctl)
assert not [f for f in sys.meta_path if type(f).__module__ == "gradtape._threadpoolctl"]
print("ok")
"""


@pytest.mark.parametrize("first", ["gradtape", "threadpoolctl", "gradtape, find_spec"])
def test_threadpoolctl_sees_gradtape_whichever_is_imported_first(first):
    import subprocess
    import sys
    _threadpoolctl()
    p = subprocess.run([sys.executable, "-c", _IMPORT_ORDER_SCRIPT, first], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stdout + p.stderr


def test_the_controller_exports_are_plain_c():
    """The three functions the controller calls, looked up as threadpoolctl does (ctypes)."""
    import ctypes
    lib = ctypes.CDLL(gt._core.__file__)
    lib.gradtape_get_version.restype = ctypes.c_char_p
    assert lib.gradtape_get_version().decode() == gt.__version__
    was = gt.config.get_num_threads()
    try:
        lib.gradtape_set_num_threads(1)
        assert lib.gradtape_get_num_threads() == 1 == gt.config.get_num_threads()
        lib.gradtape_set_num_threads(0)  # (at least one thread, as gt.config's own)
        assert gt.config.get_num_threads() == 1
    finally:
        gt.config.set_num_threads(was)
