#!/usr/bin/env python3
"""Fuzz harness over gradtape's Python API argument space.

Every input picks one operation -- an op of API.md's list (top level, gt.math, gt.nn), a
tensor or variable method (indexing, numpy(), __array__, conversions, operators, len/iter,
repr), Variable construction and assign*, a GradientTape scenario (watch, gradient, jacobian,
batch_jacobian, reset, stop_recording, output_gradients, unconnected_gradients), a custom
gradient whose grad_fn misbehaves, or a config switch -- and builds its arguments from the
input: shapes (empty, huge like 2**40, negative, rank up to 10), dtypes (the five gradtape
dtypes plus NumPy float16/uint8/complex/object/str, big-endian and strided arrays), axes (in and
out of range, duplicates, lists, tensors, None), values with NaN/inf, Python scalars, None and
wrong types (strings, dicts, functions, objects), and hostile objects: instances made with
Class.__new__ and never initialised, instances retyped by assigning __class__, subclasses of
Tensor and Variable, DType enum values in and out of range.

The contract checked: every call returns or raises an `Exception`. The process must never
crash, abort or hang -- a crash kills this process, which IS the failure signal, so each call
runs in-process. A hang trips a watchdog (faulthandler) that dumps the Python stacks and exits
with status 1.

Two ways to run it:

  python fuzz/fuzz_api.py -max_total_time=60          # atheris (coverage-guided), if installed
                                                      # (env GRADTAPE_FUZZ_AVOID_KNOWN=1: as --avoid-known)
  python fuzz/fuzz_api.py --iterations N --seed S     # deterministic random driver

The random driver prints `fuzz: seed S` on start and `fuzz: N inputs tried, 0 crashes` at the
end. Input i of seed S is drawn from random.Random("S:i") alone, so any input can be replayed:

  python fuzz/fuzz_api.py --seed S --start I --iterations 1 --verbose    # shows the call
  python fuzz/fuzz_api.py --seed S --start I ...                         # resume after a crash

`--trace FILE` keeps the index of the input being run in FILE (overwritten before each
input), so after a crash FILE names the input that crashed. `--replay PATH` replays a corpus
file (tests/fuzz_corpus/*.json, or raw bytes as written by atheris) in-process.
`--avoid-known` leaves out the input families of known, reported engine bugs (see
KNOWN_BUGS) so that a run can look for new ones. The address space is capped (--mem-limit-mb,
default 2048; GRADTAPE_FUZZ_MEM_MB under atheris) so that a huge allocation fails with
MemoryError instead of calling in the OOM killer. Under atheris, pass -artifact_prefix=DIR/ to
keep crash files out of the working directory; they replay with --replay.

Besides single calls, some inputs are small scenarios: variables assigned inside a tape's
block, long op chains (20,000 ops), nested structures as targets/sources/output_gradients,
gt.test.check_gradients on odd functions, nested plain_ieee_gradients() contexts, and
well-formed calls (valid shapes and axes, under a tape half the time) so that kernels and
gradient rules run, not only argument checks.
"""
import argparse
import faulthandler
import gc
import json
import operator
import os
import random
import sys
import time
import types
import warnings

import numpy as np

# Input families that triggered engine bugs found by this harness (regression inputs live in
# tests/fuzz_corpus/). --avoid-known leaves them out of the random driver, so that a run can
# look for new bugs while these are open.
KNOWN_BUGS = {
    "reset_in_grad_fn": "tape.reset() called by a custom grad_fn while that tape's backward "
                        "sweep runs: use-after-free (segfault at commit 29772e7)",
    "huge_empty_unstack": "iter()/concat()/stack() over a tensor whose first dim is huge but "
                          "which has no elements (e.g. shape (2**40, 0)) materialised 2**40 "
                          "tensors: hang, then std::terminate from the allocator when memory ran out",
}

HUGE_DIMS = [2**31 - 1, 2**31, 2**32, 2**40, 2**62, 2**63 - 1]
NEG_DIMS = [-1, -2, -(2**31), -(2**63)]
SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.7, -2.5, 1e-300, 5e-324, 1e300, 1.7976931348623157e308,
                  float("inf"), float("-inf"), float("nan"), 2.0**31, 2.0**63, -(2.0**63), 1e-7]
SPECIAL_INTS = [0, 1, -1, 2, 3, 7, -5, 2**31 - 1, -(2**31), 2**31, 2**32, 2**63 - 1, -(2**63), 2**64, -(2**70)]


# ---------------------------------------------------------------------------------------------
# sources of choices: a seeded PRNG (random driver) or the fuzzer's bytes (atheris, replay)
# ---------------------------------------------------------------------------------------------

class _Choices:
    def below(self, n):
        raise NotImplementedError

    def coin(self, num=1, den=2):
        return self.below(den) < num

    def int_in(self, lo, hi):
        return lo + self.below(hi - lo + 1)

    def choice(self, seq):
        seq = list(seq) if not isinstance(seq, (list, tuple)) else seq
        return seq[self.below(len(seq))]

    def weighted(self, pairs):
        total = sum(w for w, _ in pairs)
        k = self.below(total)
        for w, v in pairs:
            if k < w:
                return v
            k -= w
        return pairs[-1][1]

    def unit(self):
        return self.below(1 << 30) / float(1 << 30)


class RandomSource(_Choices):
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def below(self, n):
        return self.rng.randrange(n) if n > 1 else 0


class BytesSource(_Choices):
    """Reads choices from a byte string (as libFuzzer mutates it); zeros once exhausted."""

    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0

    def below(self, n):
        if n <= 1:
            return 0
        nbytes = max(1, ((n - 1).bit_length() + 7) // 8)
        chunk = self.data[self.pos:self.pos + nbytes]
        self.pos += nbytes
        return int.from_bytes(chunk, "little") % n if chunk else 0


# ---------------------------------------------------------------------------------------------
# argument generators
# ---------------------------------------------------------------------------------------------

class _Opaque:
    def __repr__(self):
        return "<opaque object>"


class _BadArray:
    """An object whose __array__ raises."""

    def __array__(self, *a, **k):
        raise RuntimeError("no array for you")


class _LyingSequence:
    """A sequence whose __len__ and __getitem__ disagree (raises mid-iteration)."""

    def __len__(self):
        return 3

    def __getitem__(self, i):
        if i >= 1:
            raise ValueError("lying sequence")
        return 1


class _IntLike:
    def __index__(self):
        return 2

    def __int__(self):
        return 2


class Gen:
    """Builds arguments from a source of choices. `log` collects a readable description."""

    def __init__(self, src, gt, avoid_known=False):
        self.s = src
        self.gt = gt
        self.avoid_known = avoid_known
        self.log = []

    # ---- shapes, dims, dtypes, axes ----
    def dim(self):
        return self.s.weighted([(40, lambda: self.s.int_in(0, 4)), (3, lambda: self.s.choice(HUGE_DIMS)),
                                (3, lambda: self.s.choice(NEG_DIMS)),
                                (2, lambda: self.s.choice([1.0, 2.5, "3", None, True, np.int64(2), np.uint64(2**63),
                                                           _IntLike(), float("nan")]))])()

    def small_shape(self, max_rank=4):
        return tuple(self.s.int_in(0, 3) if self.s.coin(1, 6) else self.s.int_in(1, 3)
                     for _ in range(self.s.int_in(0, max_rank)))

    def shape(self):
        kind = self.s.weighted([(10, "small"), (6, "wild"), (2, "tensor"), (2, "weird"), (1, "huge_empty")])
        if kind == "small":
            return list(self.small_shape(self.s.int_in(0, 10)))
        if kind == "wild":
            dims = [self.dim() for _ in range(self.s.int_in(0, 10))]
            return tuple(dims) if self.s.coin() else dims
        if kind == "tensor":
            return self.gt.constant(np.array(self.small_shape(), dtype=self.s.choice([np.int32, np.int64])))
        if kind == "huge_empty":
            return [0, self.s.choice(HUGE_DIMS)] if self.s.coin() else [self.s.choice(HUGE_DIMS), 0]
        return self.s.choice([None, 5, -3, "abc", {"a": 1}, (lambda: 3), _Opaque(), 3.5, [[1, 2]], [None],
                              np.array([[2]]), _LyingSequence(), b"\x01\x02", np.float32(2.0)])

    def dtype(self):
        gt = self.gt
        return self.s.weighted([
            (10, lambda: self.s.choice([gt.float32, gt.float64, gt.int32, gt.int64, gt.bool])),
            (5, lambda: self.s.choice([gt.float16, gt.bfloat16, gt.int8, gt.int16, gt.uint8, gt.uint16, gt.uint32,
                                       gt.uint64])),
            (4, lambda: self.s.choice(["float32", "float64", "int32", "int64", "bool", "double", "float16",
                                       "uint8", "complex64", "nonsense", ""])),
            (4, lambda: self.s.choice([np.float16, np.uint8, np.int8, np.uint64, np.complex64, object, str,
                                       np.float32, np.float64, np.int32, np.int64, np.bool_, np.dtype(">f8"),
                                       np.longdouble, np.datetime64])),
            (3, lambda: self.s.choice([None, float, int, bool, 5, 3.5, {}, (lambda: 0), _Opaque()])),
            # TF's enum values and others (gt.DType refuses those it has no dtype for)
            (2, lambda: gt.DType(self.s.choice([1, 2, 3, 9, 10, 0, 4, 19, 99, 255, 256, -1, 2**40]))),
            (1, lambda: gt.DType.__new__(gt.DType)),
        ])()

    def axis(self):
        return self.s.weighted([
            (6, lambda: None),
            (10, lambda: self.s.int_in(-5, 5)),
            (3, lambda: self.s.choice([-12, 12, 2**31, -(2**31), 2**63 - 1, -(2**63), 2**64])),
            (6, lambda: [self.s.int_in(-4, 4) for _ in range(self.s.int_in(0, 5))]),
            (2, lambda: tuple(self.s.int_in(-3, 3) for _ in range(self.s.int_in(0, 3)))),
            (2, lambda: self.gt.constant(np.array([self.s.int_in(-3, 3) for _ in range(self.s.int_in(0, 3))],
                                                  dtype=np.int32))),
            (3, lambda: self.s.choice([1.0, "0", [None], [0.5], {}, True, np.int64(1), [[0]], _IntLike(),
                                       self.gt.constant(1.0)])),
        ])()

    def flag(self):
        return self.s.weighted([(8, lambda: self.s.coin()), (1, lambda: self.s.choice([None, 0, 1, "yes", 2.5, [],
                                                                                       _Opaque()]))])()

    # ---- numeric payloads ----
    def fill_array(self, shape, np_dtype):
        n = int(np.prod(shape, dtype=np.int64))
        mode = self.s.below(4)
        if np.dtype(np_dtype).kind == "f":
            if mode == 0:
                flat = [self.s.choice(SPECIAL_FLOATS) for _ in range(n)]
            else:
                flat = [(self.s.unit() - 0.5) * 8 for _ in range(n)]
            return np.array(flat, dtype=np.float64).astype(np_dtype).reshape(shape)
        if np.dtype(np_dtype).kind in "iu":
            info = np.iinfo(np_dtype)
            if mode == 0:
                flat = [self.s.choice([info.min, info.max, 0, -1, 1]) for _ in range(n)]
            else:
                flat = [self.s.int_in(-5, 5) for _ in range(n)]
            flat = [min(max(v, info.min), info.max) for v in flat]
            return np.array(flat, dtype=np.int64).astype(np_dtype).reshape(shape)
        if np.dtype(np_dtype).kind == "b":
            return np.array([self.s.coin() for _ in range(n)], dtype=bool).reshape(shape)
        return np.zeros(shape, dtype=np_dtype)

    def np_array(self, shape=None, kinds="any"):
        shape = self.small_shape() if shape is None else shape
        supported = [np.float32, np.float64, np.int32, np.int64, np.bool_]
        odd = [np.float16, np.uint8, np.int8, np.uint32, np.complex64, np.longdouble, ">f8", ">i4", "<f4"]
        if kinds == "supported" or self.s.coin(4, 5):
            dt = self.s.choice(supported)
        else:
            dt = self.s.choice(odd)
        arr = self.fill_array(shape, dt)
        layout = self.s.below(8)
        if layout == 1 and arr.ndim >= 2:
            arr = np.asfortranarray(arr)
        elif layout == 2 and arr.ndim >= 1:
            arr = arr[::-1]
        elif layout == 3 and arr.ndim >= 1:
            big = np.repeat(arr, 2, axis=0)
            arr = big[::2]
        elif layout == 4:
            arr = np.broadcast_to(arr, (2,) + arr.shape) if arr.ndim < 8 else arr
        elif layout == 5:
            arr = arr.copy()
            arr.setflags(write=False)
        if self.s.coin(1, 12):
            arr = np.array([self.s.choice(["a", None, 1]), 2], dtype=object)
        return arr

    def py_scalar(self):
        return self.s.weighted([(5, lambda: self.s.choice(SPECIAL_FLOATS)), (5, lambda: self.s.choice(SPECIAL_INTS)),
                                (2, lambda: self.s.coin()), (2, lambda: np.float64(self.s.choice(SPECIAL_FLOATS))),
                                (1, lambda: np.int64(3)), (1, lambda: np.float32(0.5)), (1, lambda: complex(1, 2))])()

    def nested_list(self, depth=None):
        depth = self.s.int_in(1, 3) if depth is None else depth
        if depth == 0:
            return self.s.choice(SPECIAL_FLOATS + [1, 2, True])
        n = self.s.int_in(0, 3)
        items = [self.nested_list(depth - 1) for _ in range(n)]
        if self.s.coin(1, 8) and items:  # ragged
            items[0] = [items[0], items[0]]
        return items

    # ---- tensors and values ----
    def tensor(self, shape=None, dtype=None):
        gt = self.gt
        arr = self.np_array(shape, kinds="supported") if dtype is None else \
            self.fill_array(self.small_shape() if shape is None else shape, dtype)
        t = gt.constant(arr)
        if self.s.coin(1, 10) and t.ndim < 8:
            t = t[None]
        return t

    def huge_empty_tensor(self):
        gt = self.gt
        shape = [self.s.choice(HUGE_DIMS), 0]
        if self.s.coin() or self.avoid_known:  # (a huge first dim: see KNOWN_BUGS)
            shape = shape[::-1]
        return gt.zeros(shape, dtype=self.s.choice([gt.float32, gt.float64, gt.int32, gt.bool]))

    def value(self, depth=0):
        gt = self.gt
        kind = self.s.weighted([(14, "tensor"), (4, "variable"), (6, "numpy"), (6, "scalar"), (3, "list"),
                                (2, "huge_empty"), (3, "wrong"), (1, "none"), (2, "hostile")])
        if kind == "tensor":
            return self.tensor()
        if kind == "hostile":
            return self.hostile_object()
        if kind == "variable":
            return gt.Variable(self.tensor(), trainable=self.s.coin(3, 4))
        if kind == "numpy":
            return self.np_array()
        if kind == "scalar":
            return self.py_scalar()
        if kind == "list":
            return self.nested_list()
        if kind == "huge_empty":
            return self.huge_empty_tensor()
        if kind == "none":
            return None
        return self.s.choice(["abc", "", {"a": 1}, {}, (lambda x: x), print, _Opaque(), _BadArray(),
                              _LyingSequence(), b"bytes", bytearray(b"\x00" * 8), range(3), slice(1, 2),
                              Ellipsis, object, np, [gt.constant(1.0), "x"], (gt.constant([1.0]), 2.0)])

    def hostile_object(self):
        """Objects a careless or hostile program can make: never initialised (Class.__new__),
        user subclasses of Tensor and Variable (initialised or not), a DType made without __init__."""
        gt = self.gt

        class SubTensorUser(gt.Variable):
            pass

        return self.s.choice([
            lambda: gt.Tensor.__new__(gt.Tensor), lambda: gt.Variable.__new__(gt.Variable),
            lambda: SubTensorUser(self.tensor(dtype=np.float32)), lambda: SubTensorUser.__new__(SubTensorUser),
            lambda: gt.DType.__new__(gt.DType), lambda: gt.GradientTape.__new__(gt.GradientTape),
        ])()

    def float_tensor_pair(self):
        """Two float tensors of broadcast-compatible shapes (a call likely to get deep)."""
        base = self.small_shape(3)
        dt = self.s.choice([np.float32, np.float64])

        def sub():
            k = self.s.int_in(0, len(base))
            return tuple(d if self.s.coin(3, 4) else 1 for d in base[len(base) - k:])

        return self.tensor(sub(), dt), self.tensor(sub(), dt)

    def value_pair(self):
        if self.s.coin():
            return self.float_tensor_pair()
        return self.value(), self.value()

    def index_key(self):
        gt = self.gt

        def item():
            return self.s.weighted([
                (10, lambda: self.s.int_in(-4, 4)), (8, lambda: slice(*[self.s.choice([None, -5, -1, 0, 1, 2, 5, 2**62, -(2**63)])
                                                                       for _ in range(3)])),
                (3, lambda: None), (3, lambda: Ellipsis),
                (2, lambda: self.s.choice([2**63 - 1, -(2**63), 2**64, 1.5, "a", [0, 1], [True, False],
                                           np.int64(1), _IntLike(), gt.constant(1), gt.constant([True]),
                                           slice(0, 1, 0), slice("a", None), {}])),
            ])()

        if self.s.coin(1, 3):
            return item()
        return tuple(item() for _ in range(self.s.int_in(0, 10)))


# ---------------------------------------------------------------------------------------------
# the operations
# ---------------------------------------------------------------------------------------------

def _kwargs(g, **candidates):
    """A random subset of the given keyword arguments, sometimes with a bogus one."""
    kw = {k: v() for k, v in candidates.items() if g.s.coin(2, 3)}
    if g.s.coin(1, 20):
        kw["bogus_keyword"] = 1
    if g.s.coin(1, 10):
        kw["name"] = g.s.choice(["op", None, 5, {}])
    return kw


def _build_ops(gt):
    ops = {}
    # The regular families come from the op manifest (cpp/include/gradtape/ops.def): every
    # public function under each of its namespaces ("exp", "math.exp", "nn.relu", ...). The
    # other rows have their own argument builders below; tests/test_fuzz.py checks that every
    # public row is reached.
    from gradtape import _manifest
    for row in _manifest.rows():
        if not row.public or row.family == "Custom":
            continue
        for ns in row.namespaces:
            name = row.name if ns == "gt" else "%s.%s" % (ns, row.name)
            fn = getattr(gt if ns == "gt" else getattr(gt, ns), row.name)
            if row.family == "Unary":
                ops[name] = (lambda fn: lambda g: fn(g.value(), **_kwargs(g)))(fn)
            elif row.family == "Binary":
                ops[name] = (lambda fn: lambda g: fn(*g.value_pair(), **_kwargs(g)))(fn)
            else:
                ops[name] = (lambda fn: lambda g: fn(g.value(), **_kwargs(g, axis=g.axis, keepdims=g.flag)))(fn)

    ops["where"] = lambda g: gt.where(g.s.choice([lambda: g.tensor(dtype=np.bool_), g.value])(),
                                      *([] if g.s.coin(1, 4) else list(g.value_pair())))
    ops["where_x_only"] = lambda g: gt.where(g.value(), g.value(), None)
    ops["matmul"] = lambda g: gt.matmul(*(g.float_tensor_pair() if g.s.coin(1, 3) else
                                          (g.tensor(), g.tensor()) if g.s.coin() else g.value_pair()),
                                        **_kwargs(g, transpose_a=g.flag, transpose_b=g.flag, adjoint_a=g.flag,
                                                  adjoint_b=g.flag, a_is_sparse=g.flag))
    ops["operator @"] = lambda g: operator.matmul(*g.value_pair())
    ops["transpose"] = lambda g: gt.transpose(g.value(), **_kwargs(g, perm=lambda: g.s.choice([g.axis, g.shape])(),
                                                                    conjugate=g.flag))
    ops["reshape"] = lambda g: gt.reshape(g.value(), g.shape())

    def retype(g):
        obj = g.s.choice([g.tensor, lambda: gt.Variable(g.tensor())])()
        obj.__class__ = g.s.choice([gt.Tensor, gt.Variable, gt.GradientTape, object])
        return obj * 2

    ops["retype"] = retype

    def method_of_uninitialised(g):
        cls = g.s.choice([gt.Tensor, gt.Variable, gt.GradientTape, gt.DType])
        obj = cls.__new__(cls)
        names = sorted(n for n in dir(cls) if n not in ("__new__", "__init_subclass__", "__class__", "__init__"))
        attr = getattr(obj, g.s.choice(names))
        return attr(*[g.value() for _ in range(g.s.int_in(0, 2))]) if callable(attr) else attr

    ops["method_of_uninitialised"] = method_of_uninitialised
    ops["expand_dims"] = lambda g: gt.expand_dims(g.value(), g.axis())
    ops["squeeze"] = lambda g: gt.squeeze(g.value(), **_kwargs(g, axis=g.axis))
    ops["broadcast_to"] = lambda g: gt.broadcast_to(g.value(), g.shape())

    def values_list(g):
        kind = g.s.below(4)
        if kind == 0:
            return [g.value() for _ in range(g.s.int_in(0, 4))]
        if kind == 1:
            t = g.tensor()
            return [t for _ in range(g.s.int_in(1, 3))]
        if kind == 2:
            return g.huge_empty_tensor() if not g.avoid_known else g.tensor()
        return g.value()

    ops["concat"] = lambda g: gt.concat(values_list(g), g.axis())
    ops["stack"] = lambda g: gt.stack(values_list(g), **_kwargs(g, axis=g.axis))
    ops["gather"] = lambda g: gt.gather(g.value(), g.s.choice([g.value, lambda: g.tensor(dtype=np.int64),
                                                               lambda: g.tensor(dtype=np.int32)])(),
                                        **_kwargs(g, axis=g.axis, batch_dims=lambda: g.s.choice([0, 1, -1, "x"]),
                                                  validate_indices=g.flag))
    ops["boolean_mask"] = lambda g: gt.boolean_mask(g.value(), g.s.choice([g.value, lambda: g.tensor(dtype=np.bool_)])())
    # The Args rows (tile, pad, roll, gather_nd, cumsum, top_k, split, segment ops, ...): their
    # arguments drawn from the annotations of their manifest signature.
    strings = ["CONSTANT", "REFLECT", "SYMMETRIC", "symmetric", "xy", "ij", "ASCENDING", "DESCENDING", "",
               "DEFAULT", "IGNORE", "bogus"]

    def draw(g, annotation):
        if annotation.startswith("Sequence[TensorLike]"):
            return values_list(g)
        if "TensorLike" in annotation:
            return g.value()
        if annotation.startswith("IndicesLike"):
            return g.s.choice([lambda: g.tensor(dtype=np.int32), lambda: g.tensor(dtype=np.int64), g.shape,
                               lambda: [g.shape() for _ in range(g.s.int_in(0, 3))], g.value])()
        if annotation.startswith(("ShapeLike", "Sequence[int]")):
            return g.shape()
        if annotation.startswith(("int | Sequence[int]", "Axis")):
            return g.axis()
        if annotation.startswith("int"):
            return g.s.choice([lambda: g.s.int_in(-3, 5), lambda: None, g.axis, lambda: 2 ** 40])()
        if annotation.startswith("bool"):
            return g.flag()
        if annotation.startswith("str"):
            return g.s.choice(strings + [None, 3])
        if annotation.startswith("DTypeLike"):
            return g.s.choice([gt.int32, gt.int64, gt.float32, gt.float64, gt.bool, "int32", None, "x"])
        return g.value()

    def args_row(fn, params):
        def call(g):
            args = []
            for pname, annotation in params:
                if pname == "*args":
                    args += [g.value() for _ in range(g.s.int_in(0, 3))]
                elif g.s.coin(5, 6) or not args:
                    args.append(draw(g, annotation))
            return fn(*args, **_kwargs(g))
        return call

    for row in _manifest.rows():
        if row.kind != "Args" or row.family != "Custom":
            continue
        params = []
        for p in row.signature[1:row.signature.rindex(") ->")].split(", "):
            if ":" in p and not p.startswith("name"):
                pname, annotation = p.split(":", 1)
                params.append((pname.strip(), annotation.strip()))
        ns = row.namespaces[0]
        key = row.name if ns == "gt" else "%s.%s" % (ns, row.name)
        if key not in ops:
            ops[key] = args_row(getattr(gt if ns == "gt" else getattr(gt, ns), row.name), params)

    ops["one_hot"] = lambda g: gt.one_hot(g.s.choice([g.value, lambda: g.tensor(dtype=np.int32)])(),
                                          g.s.choice([0, 1, 3, -1, 2**31, 2**40, 2**63 - 1, 2**64, 2.5, None, "3"]),
                                          **_kwargs(g, dtype=g.dtype))
    ops["cast"] = lambda g: gt.cast(g.value(), g.dtype())
    ops["zeros"] = lambda g: gt.zeros(g.shape(), **_kwargs(g, dtype=g.dtype))
    ops["ones"] = lambda g: gt.ones(g.shape(), **_kwargs(g, dtype=g.dtype))
    ops["zeros_like"] = lambda g: gt.zeros_like(g.value(), **_kwargs(g, dtype=g.dtype))
    ops["ones_like"] = lambda g: gt.ones_like(g.value(), **_kwargs(g, dtype=g.dtype))
    ops["fill"] = lambda g: gt.fill(g.shape(), g.s.choice([g.py_scalar, g.value])())
    ops["range"] = lambda g: gt.range(*[g.s.choice([g.py_scalar, g.value, lambda: g.s.int_in(-5, 9)])()
                                        for _ in range(g.s.int_in(1, 3))], **_kwargs(g, dtype=g.dtype))
    ops["clip_by_value"] = lambda g: gt.clip_by_value(g.value(), g.value(), g.value())
    ops["constant"] = lambda g: gt.constant(g.value(), **_kwargs(g, dtype=g.dtype, shape=g.shape))
    ops["convert_to_tensor"] = lambda g: gt.convert_to_tensor(g.value(), **_kwargs(g, dtype=g.dtype,
                                                                                    dtype_hint=g.dtype))
    ops["as_dtype"] = lambda g: gt.as_dtype(g.dtype())
    ops["nn.softmax"] = lambda g: gt.nn.softmax(g.value(), **_kwargs(g, axis=g.axis))
    ops["nn.log_softmax"] = lambda g: gt.nn.log_softmax(g.value(), **_kwargs(g, axis=g.axis))
    ops["math.softmax"] = lambda g: gt.math.softmax(g.value(), **_kwargs(g, axis=g.axis))

    def xent(g):
        a, b = g.float_tensor_pair() if g.s.coin() else g.value_pair()
        return gt.nn.softmax_cross_entropy_with_logits(labels=a, logits=b, **_kwargs(g, axis=g.axis))

    ops["nn.softmax_cross_entropy_with_logits"] = xent
    ops["nn.sparse_softmax_cross_entropy_with_logits"] = lambda g: gt.nn.sparse_softmax_cross_entropy_with_logits(
        labels=g.s.choice([g.value, lambda: g.tensor(dtype=np.int32), lambda: g.tensor(dtype=np.int64)])(),
        logits=g.s.choice([g.value, lambda: g.tensor(dtype=np.float32)])())

    # ---- tensor and variable methods ----
    def target(g):
        return g.s.choice([g.tensor, g.tensor, lambda: gt.Variable(g.tensor()), g.huge_empty_tensor])()

    ops["getitem"] = lambda g: target(g)[g.index_key()]
    ops["numpy"] = lambda g: target(g).numpy()
    ops["__array__"] = lambda g: target(g).__array__(*([g.dtype()] if g.s.coin() else []),
                                                      **({"copy": g.flag()} if g.s.coin() else {}))
    ops["np.asarray"] = lambda g: np.asarray(target(g), dtype=g.s.choice([None, np.float64, object, np.int8]))
    ops["np.array"] = lambda g: np.array(target(g), copy=g.s.choice([True, False, None]))
    ops["float"] = lambda g: float(target(g))
    ops["int"] = lambda g: int(target(g))
    ops["bool"] = lambda g: bool(target(g))
    ops["index"] = lambda g: operator.index(target(g))
    ops["len"] = lambda g: len(target(g))

    def iterate(g):
        t = target(g) if not g.avoid_known else g.tensor()
        return [x for _, x in zip(range(1000), t)]

    ops["iter"] = iterate
    ops["repr"] = lambda g: (repr(target(g)), str(target(g)), format(target(g)))
    ops["hash"] = lambda g: hash(target(g))
    ops["properties"] = lambda g: [getattr(target(g), a) for a in ["shape", "dtype", "ndim", "device"]] + \
        [target(g).get_shape(), tuple(target(g).shape), target(g).shape[g.s.int_in(-3, 3)]]
    ops["dtype_props"] = lambda g: [getattr(g.dtype(), a, None) for a in
                                    ["is_floating", "is_integer", "is_bool", "size", "as_numpy_dtype", "base_dtype"]]

    binops = [operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod,
              operator.pow, operator.matmul, operator.lt, operator.le, operator.gt, operator.ge, operator.eq,
              operator.ne, operator.and_, operator.or_]

    def binop(g):
        f = g.s.choice(binops)
        a, b = g.value_pair()
        if g.s.coin(1, 3):
            a, b = target(g), g.value()
        return f(b, a) if g.s.coin() else f(a, b)

    ops["operator"] = binop
    ops["unary operator"] = lambda g: g.s.choice([operator.neg, operator.pos, abs, operator.invert])(target(g))

    def inplace(g):
        x = target(g)
        y = g.value()
        f = g.s.choice([operator.iadd, operator.isub, operator.imul, operator.itruediv, operator.ipow])
        return f(x, y)

    ops["inplace operator"] = inplace

    # ---- variables ----
    def variable_ctor(g):
        init = g.s.choice([g.value, g.tensor, lambda: (lambda: g.tensor()), lambda: None])()
        return gt.Variable(init, **_kwargs(g, trainable=g.flag, name=lambda: g.s.choice(["v", "", None, 3, "é\x00"]),
                                           dtype=g.dtype))

    ops["Variable"] = variable_ctor

    def variable_assign(g):
        v = gt.Variable(g.tensor())
        held = []
        if g.s.coin():
            held.append(v.numpy())  # a live view: assign must copy on write
        if g.s.coin():
            held.append(v.read_value())
        method = g.s.choice(["assign", "assign_add", "assign_sub"])
        value = g.s.choice([g.value, lambda: g.tensor(tuple(v.shape)), lambda: np.zeros(tuple(v.shape)),
                            lambda: v, lambda: v.numpy(), lambda: v.read_value()])()
        res = getattr(v, method)(value, **_kwargs(g, use_locking=g.flag, read_value=g.flag))
        return res, v.numpy(), held

    ops["Variable.assign"] = variable_assign
    ops["Variable.methods"] = lambda g: (lambda v: [v.read_value(), v.value(), v.numpy(), v.trainable, v.name,
                                                    v.shape, v.dtype, repr(v)])(gt.Variable(g.tensor()))

    # ---- tapes ----
    def random_chain(g, xs):
        """A few random differentiable ops over the watched values."""
        fns = [gt.exp, gt.sin, gt.tanh, gt.square, gt.nn.relu, gt.sigmoid, gt.abs, gt.math.log1p,
               lambda a: a * 2.0, lambda a: gt.reduce_sum(a, axis=g.axis(), keepdims=g.flag()),
               lambda a: gt.reduce_max(a), lambda a: a[g.index_key()], lambda a: gt.reshape(a, [-1]),
               lambda a: gt.where(a > 0.0, a, gt.exp(a)), lambda a: gt.nn.softmax(a),
               lambda a: gt.transpose(a), lambda a: gt.concat([a, a], 0), lambda a: gt.stack([a, a]),
               lambda a: gt.gather(gt.reshape(a, [-1]), gt.constant([0, 0])),
               lambda a: gt.pow(a, g.s.choice([2.0, 0.5, a])), lambda a: gt.matmul(a, gt.transpose(a)),
               lambda a: gt.cast(a, g.s.choice([gt.float32, gt.float64, gt.int32])),
               lambda a: gt.stop_gradient(a), lambda a: gt.reduce_logsumexp(a, axis=-1)]
        vals = list(xs)
        for _ in range(g.s.int_in(0, 6)):
            a = g.s.choice(vals)
            b = g.s.choice(vals)
            try:
                if g.s.coin(1, 4):
                    vals.append(g.s.choice([gt.add, gt.multiply, gt.maximum, gt.divide, gt.subtract])(a, b))
                else:
                    vals.append(g.s.choice(fns)(a))
            except Exception:
                pass
        return vals

    def sources(g, xs):
        kind = g.s.below(7)
        if kind == 0:
            return g.s.choice(xs)
        if kind == 1:
            return list(xs)
        if kind == 2:
            return {"a": xs[0], "b": [tuple(xs)]}
        if kind == 3:
            return [g.value()]
        if kind == 4:
            return []
        if kind == 5:
            return g.s.choice([None, 3.0, "x", {}, [None], g.np_array()])
        return (xs[0], xs[0])

    def tape_scenario(g):
        persistent = g.s.choice([False, True, True, None, 1, "yes"])
        wav = g.s.choice([True, False, 0])
        tape = gt.GradientTape(persistent=persistent, watch_accessed_variables=wav)
        xs = [g.tensor(dtype=g.s.choice([np.float32, np.float64])) for _ in range(g.s.int_in(1, 3))]
        if g.s.coin(1, 3):
            xs.append(gt.Variable(g.tensor(dtype=np.float64), trainable=g.s.coin(3, 4)))
        if g.s.coin(1, 6):
            xs.append(g.value())
        results = []
        with tape:
            for x in xs:
                try:
                    tape.watch(x if g.s.coin(4, 5) else g.value())
                except Exception:
                    pass
            vals = random_chain(g, xs)
            if g.s.coin(1, 6):
                with tape.stop_recording():
                    vals.append(random_chain(g, xs)[-1])
            if g.s.coin(1, 8):
                tape.reset()
                vals = random_chain(g, xs)
            if g.s.coin(1, 6):
                try:
                    with tape:  # re-entering an active tape
                        pass
                except Exception:
                    pass
            inside = g.s.coin(1, 4)
            if inside:
                results.append(do_backward(g, tape, vals, xs))
        for _ in range(g.s.int_in(1, 3)):
            try:
                results.append(do_backward(g, tape, vals, xs))
            except Exception:
                pass
        if g.s.coin(1, 6):
            try:
                tape.__exit__(None, None, None)  # exit twice
            except Exception:
                pass
        if g.s.coin(1, 8):
            with tape.stop_recording():  # not recording: an error
                pass
        return results

    def do_backward(g, tape, vals, xs):
        kind = g.s.below(5)
        target = g.s.choice([lambda: g.s.choice(vals), lambda: vals, lambda: {"t": vals[-1]}, g.value,
                             lambda: None])()
        srcs = sources(g, xs)
        ug = g.s.choice(["none", "zero", "error", gt.UnconnectedGradients.ZERO, "bogus", None, 3])
        if kind <= 1:
            og = None
            if g.s.coin(1, 3):
                og = g.s.choice([lambda: [gt.ones_like(t) if isinstance(t, gt.Tensor) else None
                                          for t in (target if isinstance(target, list) else [target])],
                                 g.value, lambda: [g.value()], lambda: gt.ones_like(vals[-1])])()
            return tape.gradient(target, srcs, output_gradients=og, unconnected_gradients=ug)
        mode = g.s.choice(["auto", "forward", "reverse", "bogus", None])
        if kind == 2:
            return tape.jacobian(target, srcs, unconnected_gradients=ug, experimental_mode=mode)
        if kind == 3:
            src = srcs[0] if isinstance(srcs, list) and srcs else srcs
            return tape.batch_jacobian(target, src, unconnected_gradients=ug, experimental_mode=mode)
        return tape.watched_variables()

    ops["GradientTape"] = tape_scenario

    def forward_scenario(g):
        """A ForwardAccumulator over random primals and (sometimes ill-formed) tangents, with a
        tape inside or around it or neither, a random chain of ops, and jvp of random targets."""
        xs = [g.tensor(dtype=g.s.choice([np.float32, np.float64])) for _ in range(g.s.int_in(1, 2))]
        if g.s.coin(1, 4):
            xs.append(gt.Variable(g.tensor(dtype=np.float64)))
        tangents = [gt.ones_like(x) if g.s.coin(3, 4) else g.value() for x in xs]
        primals = xs if g.s.coin(3, 4) else g.value()
        acc = gt.autodiff.ForwardAccumulator(primals, tangents if isinstance(primals, list) else g.value())
        arrangement = g.s.below(3)  # 0: alone, 1: tape inside, 2: tape around
        tape = gt.GradientTape(persistent=True)
        results = []
        if arrangement == 2:
            tape.__enter__()
        try:
            with acc:
                if g.s.coin(1, 6):
                    try:
                        with acc:  # re-entering: an error
                            pass
                    except Exception:
                        pass
                if arrangement == 1:
                    with tape:
                        for x in xs:
                            tape.watch(x)
                        vals = random_chain(g, xs)
                    results.append(do_backward(g, tape, vals, xs))
                else:
                    for x in xs:
                        tape.watch(x)
                    vals = random_chain(g, xs)
                target = g.s.choice([lambda: g.s.choice(vals), lambda: vals, lambda: {"t": vals[-1]}, g.value])()
                results.append(acc.jvp(target, unconnected_gradients=g.s.choice(["none", "zero", "error", "bogus"])))
        finally:
            if arrangement == 2:
                tape.__exit__(None, None, None)
        if arrangement == 2:
            results.append(do_backward(g, tape, vals + [r for r in results if isinstance(r, gt.Tensor)], xs))
        return results

    ops["ForwardAccumulator"] = forward_scenario

    def custom_gradient_scenario(g):
        behaviours = ["ok", "none", "wrong_count", "wrong_dtype", "wrong_shape", "raise", "non_tensor",
                      "string", "nested_tape", "same_tape_gradient", "watch", "numpy", "generator",
                      "raise_base"]
        if not g.avoid_known:
            behaviours.append("reset_tape")
        behaviour = g.s.choice(behaviours)
        if isinstance(gt, _TracingModule):
            print("    (custom gradient: grad_fn behaviour %r)" % behaviour, flush=True)
        persistent = g.s.coin()
        x = g.tensor(dtype=g.s.choice([np.float32, np.float64]))
        holder = {}

        @gt.custom_gradient
        def f(a):
            y = a * 3.0 if g.s.coin(3, 4) else a  # an output that IS the input: an error

            def grad_fn(*dy, **kw):
                tape = holder.get("tape")
                if behaviour == "ok":
                    return dy[0] * 3.0
                if behaviour == "none":
                    return None
                if behaviour == "wrong_count":
                    return [dy[0], dy[0]]
                if behaviour == "wrong_dtype":
                    return gt.cast(dy[0], gt.float32 if dy[0].dtype == gt.float64 else gt.float64)
                if behaviour == "wrong_shape":
                    return gt.ones([7, 5], dtype=dy[0].dtype)
                if behaviour == "raise":
                    raise ValueError("grad_fn raised")
                if behaviour == "raise_base":
                    raise KeyboardInterrupt_("a BaseException from grad_fn")  # not an Exception
                if behaviour == "non_tensor":
                    return g.value()
                if behaviour == "string":
                    return "gradient"
                if behaviour == "nested_tape":
                    with gt.GradientTape() as t2:
                        t2.watch(dy[0])
                        z = dy[0] * dy[0]
                    return t2.gradient(z, dy[0])
                if behaviour == "same_tape_gradient":
                    return tape.gradient(holder["y"], x)
                if behaviour == "watch":
                    tape.watch(dy[0])
                    return dy[0]
                if behaviour == "numpy":
                    return dy[0].numpy() * 3
                if behaviour == "generator":
                    return (d for d in dy)
                if behaviour == "reset_tape":
                    tape.reset()
                    return dy[0] * 3.0
                return dy[0]

            return y, grad_fn

        with gt.GradientTape(persistent=persistent) as tape:
            holder["tape"] = tape
            tape.watch(x)
            y = f(x)
            holder["y"] = y
            z = gt.reduce_sum(y * x) if g.s.coin() else y
        try:
            return tape.gradient(z, x)
        finally:
            holder.clear()

    ops["custom_gradient"] = custom_gradient_scenario

    def config_scenario(g):
        was = gt.config.structural_zeros_enabled()
        try:
            gt.config.set_structural_zeros(g.s.choice([True, False, None, 0, "x"]))
            x = gt.constant(np.array([1000.0, -3.0, 0.0]))
            with gt.GradientTape() as tape:
                tape.watch(x)
                y = gt.where(x > 30.0, x, gt.math.log(gt.exp(x) + 1.0))
            return tape.gradient(y, x)
        finally:
            gt.config.set_structural_zeros(was)

    ops["config"] = config_scenario
    # ---- well-formed calls: valid shapes, dtypes and axes, so the kernels and rules run ----
    def ftensor(g, shape=None, rank=None):
        if shape is None:
            r = g.s.int_in(0, 4) if rank is None else rank
            shape = tuple(g.s.choice([0, 1, 1, 2, 3]) for _ in range(r))
        return g.tensor(shape, g.s.choice([np.float32, np.float64]))

    def good_axis(g, rank):
        if rank == 0 or g.s.coin(1, 4):
            return None
        if g.s.coin():
            return g.s.int_in(-rank, rank - 1)
        return [g.s.int_in(-rank, rank - 1) for _ in range(g.s.int_in(1, rank + 1))]  # duplicates too

    def good_reduce(g):
        x = ftensor(g, rank=g.s.int_in(0, 8) if g.s.coin(1, 4) else None)
        fn = getattr(gt, g.s.choice(["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod",
                                     "reduce_logsumexp"]))
        return watched(g, [x], lambda a: fn(a, axis=good_axis(g, x.ndim), keepdims=g.s.coin()))

    def watched(g, xs, f):
        """Runs f(*xs) under a tape and differentiates it (half the time)."""
        if g.s.coin():
            return f(*xs)
        with gt.GradientTape(persistent=g.s.coin()) as tape:
            for x in xs:
                tape.watch(x)
            y = f(*xs)
        return y, tape.gradient(y, xs, unconnected_gradients=g.s.choice(["none", "zero"]))

    def good_matmul(g):
        batch_a = tuple(g.s.choice([1, 2]) for _ in range(g.s.int_in(0, 2)))
        batch_b = tuple(g.s.choice([1, 2]) for _ in range(g.s.int_in(0, 2)))
        m, k, n = (g.s.choice([0, 1, 2, 3, 5]) for _ in range(3))
        ta, tb = g.s.coin(), g.s.coin()
        sa = batch_a + ((k, m) if ta else (m, k))
        sb = batch_b + ((n, k) if tb else (k, n))
        if g.s.coin(1, 5):
            sa = (k,)
            ta = False
        if g.s.coin(1, 5):
            sb = (k,)
            tb = False
        dt = g.s.choice([np.float32, np.float64, np.int32, np.int64])
        a, b = g.tensor(sa, dt), g.tensor(sb, dt)
        if dt in (np.int32, np.int64):
            return gt.matmul(a, b, transpose_a=ta, transpose_b=tb)
        return watched(g, [a, b], lambda x, y: gt.matmul(x, y, transpose_a=ta, transpose_b=tb))

    def good_gather(g):
        p = ftensor(g, rank=g.s.int_in(1, 4))
        axis = g.s.int_in(-p.ndim, p.ndim - 1)
        dim = p.shape[axis]
        ishape = tuple(g.s.int_in(0, 3) for _ in range(g.s.int_in(0, 2)))
        idx = np.array([g.s.int_in(0, max(dim - 1, 0)) if g.s.coin(9, 10) else g.s.choice([-1, dim, 2**31 - 1])
                        for _ in range(int(np.prod(ishape, dtype=np.int64)))], dtype=g.s.choice([np.int32, np.int64]))
        ind = gt.constant(idx.reshape(ishape))
        return watched(g, [p], lambda x: gt.gather(x, ind, axis=axis))

    def good_shape_op(g):
        x = ftensor(g, rank=g.s.int_in(0, 5))
        kind = g.s.below(9)
        if kind == 0:
            perm = list(range(x.ndim))
            g.s.rng.shuffle(perm) if hasattr(g.s, "rng") else perm.reverse()
            return watched(g, [x], lambda a: gt.transpose(a, perm))
        if kind == 1:
            dims = list(x.shape)
            if dims and g.s.coin():
                dims[g.s.below(len(dims))] = -1
            return watched(g, [x], lambda a: gt.reshape(a, dims[::-1] if g.s.coin() else dims))
        if kind == 2:
            return watched(g, [x], lambda a: gt.expand_dims(a, g.s.int_in(-x.ndim - 1, x.ndim)))
        if kind == 3:
            return watched(g, [x], lambda a: gt.squeeze(a))
        if kind == 4:
            return watched(g, [x], lambda a: gt.broadcast_to(a, (2,) + tuple(x.shape)))
        if kind == 5 and x.ndim:
            ax = g.s.int_in(-x.ndim, x.ndim - 1)
            return watched(g, [x], lambda a: gt.concat([a, a, a][:g.s.int_in(1, 3)], ax))
        if kind == 6:
            return watched(g, [x], lambda a: gt.stack([a, a], g.s.int_in(-x.ndim - 1, x.ndim)))
        if kind == 7 and x.ndim:
            mask = gt.constant(np.array([g.s.coin() for _ in range(x.shape[0])], dtype=bool))
            return watched(g, [x], lambda a: gt.boolean_mask(a, mask))
        return watched(g, [x], lambda a: a[g.index_key()])

    def good_elementwise(g):
        a, b = g.float_tensor_pair()
        fn = g.s.choice([gt.add, gt.subtract, gt.multiply, gt.divide, gt.pow, gt.maximum, gt.minimum, gt.floormod,
                         gt.floordiv, lambda x, y: gt.where(x > y, x, y), lambda x, y: gt.clip_by_value(x, -1.0, y),
                         lambda x, y: gt.exp(x) * gt.math.log(y), lambda x, y: gt.sqrt(x) + gt.math.rsqrt(y),
                         lambda x, y: gt.nn.softplus(x) - gt.sigmoid(y), lambda x, y: gt.tan(x) / gt.cos(y),
                         lambda x, y: gt.math.reciprocal(x) + gt.math.log1p(y) + gt.math.expm1(x),
                         lambda x, y: gt.abs(x) * gt.sign(y) + gt.nn.relu(x), lambda x, y: x ** 2.0 + y ** 0.5])
        return watched(g, [a, b], fn)

    def good_nn(g):
        x = ftensor(g, rank=g.s.int_in(1, 3))
        kind = g.s.below(4)
        if kind == 0:
            return watched(g, [x], lambda a: gt.nn.softmax(a, axis=g.s.int_in(-x.ndim, x.ndim - 1)))
        if kind == 1:
            return watched(g, [x], lambda a: gt.nn.log_softmax(a, axis=g.s.int_in(-x.ndim, x.ndim - 1)))
        if kind == 2:
            labels = ftensor(g, shape=tuple(x.shape))
            labels = gt.cast(labels, x.dtype) if labels.dtype != x.dtype else labels
            return watched(g, [x], lambda a: gt.nn.softmax_cross_entropy_with_logits(labels=labels, logits=a))
        classes = x.shape[-1]
        lab = np.array([g.s.int_in(0, max(classes - 1, 0)) if g.s.coin(9, 10) else g.s.choice([-1, classes])
                        for _ in range(int(np.prod(x.shape[:-1], dtype=np.int64)))], dtype=np.int32)
        labels = gt.constant(lab.reshape(tuple(x.shape[:-1])))
        return watched(g, [x], lambda a: gt.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=a))

    def good_jacobian(g):
        x = ftensor(g, rank=g.s.int_in(0, 3))
        with gt.GradientTape(persistent=g.s.coin()) as tape:
            tape.watch(x)
            vals = random_chain(g, [x])
            y = vals[-1]
        if g.s.coin() and x.ndim >= 1 and isinstance(y, gt.Tensor) and y.ndim >= 1 and y.shape[0] == x.shape[0]:
            return tape.batch_jacobian(y, x)
        return tape.jacobian(y, x, unconnected_gradients=g.s.choice(["none", "zero"]))

    def variable_in_tape(g):
        """Variables read, assigned and read again inside a tape's block (copy on write of
        recorded values), with trainable flags and watch_accessed_variables varied."""
        v = gt.Variable(ftensor(g, rank=g.s.int_in(0, 3)), trainable=g.s.coin(3, 4))
        u = gt.Variable(gt.ones_like(v.read_value()))
        with gt.GradientTape(persistent=g.s.coin(), watch_accessed_variables=g.s.coin(3, 4)) as tape:
            if g.s.coin(1, 3):
                tape.watch(v)
            y = v * u
            for _ in range(g.s.int_in(0, 3)):
                getattr(v, g.s.choice(["assign", "assign_add", "assign_sub"]))(
                    g.s.choice([lambda: gt.ones_like(v.read_value()), lambda: y, lambda: v.numpy() * 2, g.value])())
                y = y + v * g.s.choice([1.0, 2.0])
            hold = v.numpy() if g.s.coin() else None
            z = gt.reduce_sum(y)
        return tape.gradient(z, g.s.choice([[v, u], v, {"v": v}, (u,)]),
                             unconnected_gradients=g.s.choice(["none", "zero", "error"])), hold

    def long_chain(g):
        """A long chain of ops (the sweep and the release are iterative, never recursive)."""
        n = g.s.weighted([(14, 200), (5, 2000), (1, 20000)])
        x = gt.constant(np.float64(0.5))
        with gt.GradientTape(persistent=g.s.coin()) as tape:
            tape.watch(x)
            y = x
            for _ in range(n):
                y = gt.sin(y) * 0.5 + 0.25
        r = tape.gradient(y, x)
        del y
        return r

    def check_gradients_scenario(g):
        x = ftensor(g, rank=g.s.int_in(0, 2))
        f = g.s.choice([gt.sin, gt.exp, gt.square, lambda a: gt.reduce_sum(a * a), lambda a: gt.nn.softmax(a),
                        lambda a: a.numpy(), lambda a: None, lambda a: "x", lambda a: gt.stop_gradient(a)])
        if g.s.coin():
            return gt.test.compute_gradient(f, [x.numpy()])
        return gt.test.check_gradients(f, [x.numpy()], order=g.s.choice([1, 2, 3]))

    def nested_structures(g):
        a, b = g.float_tensor_pair()
        with gt.GradientTape(persistent=True) as tape:
            tape.watch([a, {"b": (b,)}])
            y = {"s": gt.reduce_sum(a * 2.0), "t": [b * b, (a + 1.0,)]}
        srcs = g.s.choice([{"a": a, "rest": [b, (a, b)]}, [[a], [[b]]], (a, [b]), {"x": a}])
        og = g.s.choice([None, {"s": gt.ones_like(y["s"]), "t": [gt.ones_like(y["t"][0]), (None,)]}, [1.0], "x"])
        return tape.gradient(y, srcs, output_gradients=og)

    def ieee_contexts(g):
        with gt.config.plain_ieee_gradients():
            with gt.config.plain_ieee_gradients():
                x = ftensor(g, rank=1)
                with gt.GradientTape() as tape:
                    tape.watch(x)
                    y = gt.where(x > 0.0, x, gt.math.log(x))
            return tape.gradient(y, x)

    ops["variable_in_tape"] = variable_in_tape
    ops["long_chain"] = long_chain
    ops["check_gradients"] = check_gradients_scenario
    ops["nested_structures"] = nested_structures
    ops["ieee_contexts"] = ieee_contexts

    for name, fn in [("good/reduce", good_reduce), ("good/matmul", good_matmul), ("good/gather", good_gather),
                     ("good/shape", good_shape_op), ("good/elementwise", good_elementwise), ("good/nn", good_nn),
                     ("good/jacobian", good_jacobian)]:
        for k in range(3):  # weight: well-formed calls are a good share of the inputs
            ops["%s#%d" % (name, k)] = fn

    ops["TensorShape"] = lambda g: gt.TensorShape(g.shape())
    ops["nest"] = lambda g: gt.nest.pack_sequence_as(g.value(), gt.nest.flatten(g.value()))
    return ops


class _TracingModule:
    """(--verbose) A view of the gradtape module whose functions print each call before making
    it, so that a crashing input shows the exact call that crashed."""

    def __init__(self, mod, prefix):
        self._mod, self._prefix = mod, prefix

    def __getattr__(self, name):
        v = getattr(self._mod, name)
        if isinstance(v, types.ModuleType) and v.__name__.startswith("gradtape"):
            return _TracingModule(v, self._prefix + name + ".")
        if callable(v) and not isinstance(v, type):
            return _traced(v, self._prefix + name)
        return v


def _traced(fn, label):
    def call(*args, **kwargs):
        parts = [_short(a, 120) for a in args] + ["%s=%s" % (k, _short(v, 120)) for k, v in kwargs.items()]
        print("    %s(%s)" % (label, ", ".join(parts)), flush=True)
        return fn(*args, **kwargs)
    return call


class KeyboardInterrupt_(BaseException):
    """A BaseException that is not an Exception (raised on purpose by a grad_fn)."""


# ---------------------------------------------------------------------------------------------
# running inputs
# ---------------------------------------------------------------------------------------------

class Harness:
    def __init__(self, avoid_known=False, verbose=False):
        import gradtape
        gt = _TracingModule(gradtape, "gt.") if verbose else gradtape
        self.gt = gt
        self.ops = _build_ops(gt)
        self.names = sorted(self.ops)
        self.avoid_known = avoid_known
        self.verbose = verbose
        self.stats = {}
        self.bad = []  # (input id, description) of inputs that broke the contract without crashing

    def run(self, src, input_id=""):
        """Runs one input. Returns True when the contract held (returned or raised Exception)."""
        g = Gen(src, self.gt, self.avoid_known)
        name = g.s.choice(self.names)
        if self.verbose:
            print("input %s: op %s" % (input_id, name), flush=True)
        outcome = "returned"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = self.ops[name](g)
                if self.verbose:
                    print("  -> returned %s" % (_short(result),), flush=True)
        except KeyboardInterrupt_ as e:
            # our own BaseException from a grad_fn must reach the caller unchanged
            outcome = "raised " + type(e).__name__
            if self.verbose:
                print("  -> raised %s (a grad_fn's own BaseException, passed through)" % type(e).__name__, flush=True)
        except Exception as e:  # noqa: BLE001 -- any Exception honours the contract
            outcome = "raised " + type(e).__name__
            if self.verbose:
                print("  -> raised %s: %s" % (type(e).__name__, str(e)[:300]), flush=True)
        except BaseException as e:  # SystemExit, KeyboardInterrupt, GeneratorExit from the engine
            if isinstance(e, KeyboardInterrupt) and not isinstance(e, KeyboardInterrupt_):
                raise
            self.bad.append((input_id, "%s raised %s: %s" % (name, type(e).__name__, e)))
            outcome = "BROKE CONTRACT"
        st = self.stats.setdefault(name, {})
        key = outcome if outcome.startswith(("returned", "BROKE")) else "raised"
        st[key] = st.get(key, 0) + 1
        return outcome != "BROKE CONTRACT"


def _short(x, n=300):
    try:
        r = repr(x)
    except Exception as e:  # noqa: BLE001
        r = "<repr raised %s>" % type(e).__name__
    r = " ".join(r.split())
    return r if len(r) < n else r[:n] + "..."


def set_memory_limit(mb):
    """Caps the address space so that a huge allocation fails (MemoryError) instead of
    driving the machine into the OOM killer."""
    if mb <= 0:
        return
    try:
        import resource
        limit = mb * 1024 * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass


def random_driver(seed, iterations, start=0, avoid_known=False, verbose=False, trace=None,
                  hang_timeout=20.0, stats=False):
    print("fuzz: seed %d (inputs %d..%d)%s" % (seed, start, start + iterations - 1,
                                               ", avoiding known bugs" if avoid_known else ""), flush=True)
    h = Harness(avoid_known=avoid_known, verbose=verbose)
    trace_fd = os.open(trace, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) if trace else None
    faulthandler.enable()
    t0 = time.time()
    tried = 0
    for i in range(start, start + iterations):
        if trace_fd is not None:
            line = ("%d %d\n" % (seed, i)).encode()
            os.pwrite(trace_fd, line.ljust(40), 0)
        faulthandler.dump_traceback_later(hang_timeout, exit=True)
        h.run(RandomSource("%d:%d" % (seed, i)), input_id="seed %d index %d" % (seed, i))
        tried += 1
        if i % 500 == 499:
            gc.collect()
    faulthandler.cancel_dump_traceback_later()
    if trace_fd is not None:
        os.pwrite(trace_fd, b"done".ljust(40), 0)
        os.close(trace_fd)
    for input_id, what in h.bad:
        print("contract broken at %s: %s" % (input_id, what), flush=True)
    if stats:
        for name in h.names:
            print("  %-45s %s" % (name, h.stats.get(name, {})))
        print("fuzz: %.1f s, %.0f inputs/s" % (time.time() - t0, tried / max(time.time() - t0, 1e-9)))
    print("fuzz: %d inputs tried, %d crashes" % (tried, len(h.bad)), flush=True)
    return 0 if not h.bad else 1


# ---------------------------------------------------------------------------------------------
# corpus replay
# ---------------------------------------------------------------------------------------------

def replay_code(code, expect="any"):
    """Runs a corpus snippet in-process. expect: 'any' (returns or raises an Exception),
    'returns' (must not raise), 'raises' (must raise an Exception)."""
    import gradtape as gt
    ns = {"gt": gt, "np": np, "__name__": "__fuzz_corpus__"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(code, "<fuzz corpus>", "exec"), ns)
    except Exception as e:  # noqa: BLE001
        if expect == "returns":
            raise AssertionError("corpus snippet raised %s: %s" % (type(e).__name__, e)) from e
        return "raised %s: %s" % (type(e).__name__, str(e)[:200])
    if expect == "raises":
        raise AssertionError("corpus snippet was expected to raise an Exception but returned")
    return "returned"


def replay_file(path, avoid_known=False, verbose=False):
    """Replays one corpus file in-process; returns a short description of the outcome."""
    if path.endswith(".json"):
        with open(path) as f:
            entry = json.load(f)
        kind = entry.get("kind", "code")
        if kind == "code":
            return replay_code(entry["code"], entry.get("expect", "any"))
        if kind == "seed":
            h = Harness(avoid_known=avoid_known, verbose=verbose)
            ok = h.run(RandomSource("%d:%d" % (entry["seed"], entry["index"])), "replay")
            if not ok:
                raise AssertionError("; ".join(w for _, w in h.bad))
            return "ran seed %d index %d" % (entry["seed"], entry["index"])
        raise ValueError("unknown corpus entry kind %r in %s" % (kind, path))
    with open(path, "rb") as f:
        data = f.read()
    h = Harness(avoid_known=avoid_known, verbose=verbose)
    if not h.run(BytesSource(data), "replay"):
        raise AssertionError("; ".join(w for _, w in h.bad))
    return "ran %d bytes" % len(data)


# ---------------------------------------------------------------------------------------------
# atheris entry point
# ---------------------------------------------------------------------------------------------

def atheris_main(argv):
    import atheris
    import gradtape  # noqa: F401  (an editable install's loader defeats instrument_imports)
    h = Harness(avoid_known=os.environ.get("GRADTAPE_FUZZ_AVOID_KNOWN", "") not in ("", "0"))
    set_memory_limit(int(os.environ.get("GRADTAPE_FUZZ_MEM_MB", "2048")))

    def test_one_input(data):
        if not h.run(BytesSource(data), "atheris input"):
            raise RuntimeError("contract broken: " + h.bad[-1][1])

    atheris.instrument_all()  # coverage of gradtape's Python layer and of this harness
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


def main(argv=None):
    argv = sys.argv if argv is None else argv
    driver_flags = ("--iterations", "--seed", "--start", "--replay", "--random", "-h", "--help")
    use_random = any(a.split("=")[0] in driver_flags for a in argv[1:])
    if not use_random:
        try:
            import atheris  # noqa: F401
        except ImportError:
            print("fuzz: atheris is not installed; running the random driver instead "
                  "(pip install atheris, or pass --iterations N --seed S)", flush=True)
            use_random = True
            argv = [argv[0]] + [a for a in argv[1:] if not a.startswith("-max_total_time")]
    if not use_random:
        atheris_main(argv)
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", type=int, default=2000)
    p.add_argument("--seed", type=int, default=None, help="default: a fresh seed, printed on start")
    p.add_argument("--start", type=int, default=0, help="first input index (to resume or replay)")
    p.add_argument("--avoid-known", action="store_true", help="leave out inputs of known engine bugs")
    p.add_argument("--verbose", action="store_true", help="print every input's op and outcome")
    p.add_argument("--trace", default=None, help="file that names the input being run")
    p.add_argument("--hang-timeout", type=float, default=20.0, help="seconds one input may take")
    p.add_argument("--mem-limit-mb", type=int, default=2048, help="address-space cap (0: none)")
    p.add_argument("--stats", action="store_true", help="print per-op outcome counts")
    p.add_argument("--replay", default=None, help="replay one corpus file (json or raw bytes)")
    p.add_argument("--random", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv[1:])
    set_memory_limit(args.mem_limit_mb)
    if args.replay:
        faulthandler.enable()
        faulthandler.dump_traceback_later(args.hang_timeout, exit=True)
        print("replay: %s" % args.replay, flush=True)
        outcome = replay_file(args.replay, avoid_known=args.avoid_known, verbose=args.verbose)
        faulthandler.cancel_dump_traceback_later()
        print("replay: ok (%s)" % outcome, flush=True)
        return 0
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    return random_driver(seed, args.iterations, args.start, args.avoid_known, args.verbose, args.trace,
                         args.hang_timeout, args.stats)


if __name__ == "__main__":
    sys.exit(main())
