"""gt.data.Dataset: eager input pipelines with tf.data's API.

A Dataset is a recipe; iterating it runs the recipe from the start (each `for` loop, each epoch
of `repeat`). Elements are nests (tuples, dicts, namedtuples) of gt.Tensors; text is Python
bytes (a scalar) or a NumPy array of bytes, since gradtape has no string tensors.

Sources keep their data as NumPy arrays and make a tensor per element or per batch. When a
batch is taken straight from `from_tensor_slices` (optionally through a `shuffle` whose buffer
holds the whole dataset), each batch is one contiguous NumPy slice (or one gather) copied into
one tensor, never a stack of per-element tensors: batching 60,000 x 784 floats costs about what
NumPy's copy of the same slices costs (bench/data.py).

Everything runs in the calling thread: `num_parallel_calls`, `prefetch` and `deterministic` are
accepted and change nothing but the (always deterministic) order they would otherwise permit.
"""
from __future__ import annotations

import itertools
import os
import typing
from typing import Any

import numpy as np

from .. import _core
from .. import nest as _nest
from .._errors import NotFoundError, OutOfRangeError
from ..specs import TensorSpec, string

__all__ = ["Dataset", "Iterator", "TextLineDataset", "AUTOTUNE", "INFINITE_CARDINALITY",
           "UNKNOWN_CARDINALITY"]

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2

_TENSORS = (_core.Tensor, _core.Variable)

# NumPy dtypes gradtape does not have, widened to one that holds every value exactly
# (MNIST's labels are uint8).
_WIDEN = {np.dtype(np.uint8): np.int32, np.dtype(np.int8): np.int32, np.dtype(np.int16): np.int32,
          np.dtype(np.uint16): np.int32, np.dtype(np.uint32): np.int64, np.dtype(np.float16): np.float32}


# --- leaves --------------------------------------------------------------------------------

def _is_text(a):
    return a.dtype.kind in "OSU"


def _text_array(a):
    """A NumPy array of bytes (dtype object) from str/bytes data."""
    a = np.asarray(a, dtype=object)
    out = np.empty(a.shape, dtype=object)
    flat_in, flat_out = a.reshape(-1), out.reshape(-1)
    for i, v in enumerate(flat_in):
        flat_out[i] = v.encode("utf-8") if isinstance(v, str) else bytes(v)
    return out


def _as_array(x):
    """A leaf of a source (tensor, array, Python value) as a NumPy array of a gradtape dtype."""
    if isinstance(x, _TENSORS):
        return np.asarray(x.numpy())
    if isinstance(x, np.ndarray) or isinstance(x, np.generic):
        a = np.asarray(x)
        if _is_text(a):
            return _text_array(a)
        if a.dtype in _WIDEN:
            a = a.astype(_WIDEN[a.dtype])
        return a
    if isinstance(x, (str, bytes)):
        return _text_array(x)
    if isinstance(x, (list, tuple)) and _nest.flatten(list(x)) and \
            any(isinstance(v, (str, bytes)) for v in _nest.flatten(list(x))):
        return _text_array(np.array(x, dtype=object))
    if isinstance(x, (list, tuple)) and any(isinstance(v, _TENSORS) for v in _nest.flatten(list(x))):
        return np.asarray(_core.stack([_core.convert_to_tensor(v) for v in x]).numpy())
    return np.asarray(_core.constant(x).numpy())


def _out(a):
    """A NumPy value as an element's leaf: a tensor (copied), or bytes / an array of bytes."""
    if isinstance(a, bytes):
        return a
    if a.dtype == object:
        return a[()] if a.ndim == 0 else a
    return _core.constant(a)


def _leaf_array(v):
    if isinstance(v, _TENSORS):
        return np.asarray(v.numpy())
    if isinstance(v, bytes):
        return np.array(v, dtype=object)
    return np.asarray(v)


def _normalize_leaf(v):
    """A value a user function returned, as an element leaf."""
    if isinstance(v, _core.Tensor):
        return v
    if isinstance(v, _core.Variable):
        return v.read_value()
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, bytes):
        return v
    return _out(_as_array(v))


def _normalize(element):
    return _nest.map_structure(_normalize_leaf, element)


def _spec_of_leaf(v):
    if isinstance(v, _TENSORS):
        return TensorSpec(tuple(v.shape), v.dtype)
    if isinstance(v, bytes):
        return TensorSpec((), string)
    a = np.asarray(v)
    return TensorSpec(a.shape, string if _is_text(a) else _core.as_dtype(a.dtype))


def _source_structure(tensors):
    """The element structure of a source: tuples, dicts and namedtuples are structure; a list is
    one tensor (as tf.data reads it)."""
    if isinstance(tensors, dict):
        return {k: _source_structure(v) for k, v in tensors.items()}
    if isinstance(tensors, tuple):
        items = [_source_structure(v) for v in tensors]
        return type(tensors)(*items) if hasattr(tensors, "_fields") else tuple(items)
    return _as_array(tensors)


def _call(fn, element):
    """Calls a map/filter function as tf.data does: a tuple element is unpacked into arguments."""
    if isinstance(element, tuple) and not hasattr(element, "_fields"):
        return fn(*element)
    return fn(element)


def _cardinality_value(n):
    return int(n)


def _check_count(x, what):
    if isinstance(x, _TENSORS):
        x = x.numpy()
    x = int(x)
    return x


# --- Dataset -------------------------------------------------------------------------------

class Dataset:
    """A sequence of elements, iterated eagerly. Build one with a `from_*` method or `range`.

    >>> x = np.arange(10, dtype=np.float32)
    >>> ds = gt.data.Dataset.from_tensor_slices((x, x * 2)).shuffle(10, seed=1).batch(4)
    >>> for bx, by in ds.take(1):
    ...     print(bx.shape, by.shape, bool(gt.reduce_all(by == bx * 2)))
    (4,) (4,) True
    >>> [b.numpy().tolist() for b in gt.data.Dataset.range(5).map(lambda i: i * 10).batch(2)]
    [[0, 10], [20, 30], [40]]
    """

    def _generate(self):  # a fresh generator over this dataset's elements
        raise NotImplementedError

    def _cardinality(self):
        return UNKNOWN_CARDINALITY

    def _element_spec(self):
        raise NotImplementedError

    # -- iteration --

    def __iter__(self) -> Iterator:
        return Iterator(self)

    def __len__(self) -> int:
        n = self._cardinality()
        if n == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown.")
        return n

    def __bool__(self):
        return True

    def __repr__(self):
        return "<%s element_spec=%r>" % (type(self).__name__.lstrip("_"), self.element_spec)

    def as_numpy_iterator(self) -> typing.Iterator[Any]:
        """Iterates the elements as nests of NumPy arrays (bytes for scalar text).

        >>> [a.tolist() for a in gt.data.Dataset.from_tensor_slices([[1, 2], [3, 4]]).as_numpy_iterator()]
        [[1, 2], [3, 4]]
        """
        def to_numpy(v):
            if isinstance(v, _TENSORS):
                a = np.array(v.numpy())
                return a[()] if a.ndim == 0 else a
            return v
        for element in self:
            yield _nest.map_structure(to_numpy, element)

    def cardinality(self) -> _core.Tensor:
        """The number of elements as an int64 scalar tensor: INFINITE_CARDINALITY (-1) or
        UNKNOWN_CARDINALITY (-2) when it is not a known number.

        >>> int(gt.data.Dataset.range(5).batch(2).cardinality())
        3
        >>> int(gt.data.Dataset.range(5).repeat().cardinality()) == gt.data.INFINITE_CARDINALITY
        True
        >>> int(gt.data.Dataset.range(5).filter(lambda x: x > 2).cardinality()) == gt.data.UNKNOWN_CARDINALITY
        True
        """
        return _core.constant(np.int64(self._cardinality()))

    @property
    def element_spec(self):
        """The structure of an element, with a gt.TensorSpec for each leaf.

        >>> gt.data.Dataset.from_tensor_slices(({"a": [1, 2]}, [[1.0], [2.0]])).element_spec
        ({'a': TensorSpec(shape=(), dtype=gt.int32, name=None)}, TensorSpec(shape=(1,), dtype=gt.float32, name=None))
        """
        return self._element_spec()

    def reduce(self, initial_state, reduce_func, name=None):
        """Folds the elements into one value: reduce_func(state, element) from initial_state.

        >>> gt.data.Dataset.range(5).reduce(gt.constant(0, dtype=gt.int64), lambda total, x: total + x)
        <gt.Tensor: shape=(), dtype=int64, numpy=10>
        """
        state = initial_state
        for element in self:
            state = reduce_func(state, element)
        return _normalize(state)

    def apply(self, transformation_func):
        """transformation_func(self): a transformation written as a function of a dataset.

        >>> evens = lambda ds: ds.filter(lambda x: x % 2 == 0)
        >>> [int(x) for x in gt.data.Dataset.range(7).apply(evens)]
        [0, 2, 4, 6]
        """
        return transformation_func(self)

    # -- sources --

    @staticmethod
    def from_tensor_slices(tensors, name=None) -> Dataset:
        """One element per index of the tensors' first axis (all must have the same size).

        >>> ds = gt.data.Dataset.from_tensor_slices({"x": [[1, 2], [3, 4], [5, 6]], "y": [0, 1, 0]})
        >>> len(ds)
        3
        >>> e = next(iter(ds))
        >>> e["x"], e["y"]
        (<gt.Tensor: shape=(2,), dtype=int32, numpy=array([1, 2], dtype=int32)>, <gt.Tensor: shape=(), dtype=int32, numpy=0>)
        """
        structure = _source_structure(tensors)
        leaves = _nest.flatten(structure)
        if not leaves:
            raise ValueError("from_tensor_slices: no tensors given")
        sizes = set()
        for a in leaves:
            if a.ndim == 0:
                raise _core.InvalidArgumentError(
                    "from_tensor_slices: every component must have rank at least 1, got a scalar")
            sizes.add(a.shape[0])
        if len(sizes) > 1:
            raise _core.InvalidArgumentError(
                "from_tensor_slices: all components must have the same size in dimension 0, got %s"
                % sorted(sizes))
        return _SliceSource(structure)

    @staticmethod
    def from_tensors(tensors, name=None) -> Dataset:
        """A dataset of one element: `tensors` itself.

        >>> [t.numpy().tolist() for t in gt.data.Dataset.from_tensors([1, 2, 3])]
        [[1, 2, 3]]
        """
        return _TensorsSource(_source_structure(tensors))

    @staticmethod
    def range(*args, dtype=_core.DType.int64, name=None) -> Dataset:
        """range(stop), range(start, stop[, step]) as Python's, with elements of `dtype`.

        >>> [int(x) for x in gt.data.Dataset.range(2, 10, 3)]
        [2, 5, 8]
        >>> gt.data.Dataset.range(3, dtype=gt.float32).element_spec
        TensorSpec(shape=(), dtype=gt.float32, name=None)
        """
        if not args or len(args) > 3:
            raise TypeError("range() takes 1 to 3 positional arguments")
        r = range(*[_check_count(a, "range") for a in args])
        return _RangeSource(r, _core.as_dtype(dtype))

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None,
                       output_signature=None, name=None) -> Dataset:
        """Elements from `generator(*args)`, checked against `output_signature` (a nest of
        gt.TensorSpec), or against `output_types` and `output_shapes`.

        >>> def gen():
        ...     for i in range(3):
        ...         yield i, [1.0] * i
        >>> ds = gt.data.Dataset.from_generator(gen, output_signature=(
        ...     gt.TensorSpec([], gt.int32), gt.TensorSpec([None], gt.float32)))
        >>> [(int(i), v.shape) for i, v in ds]
        [(0, TensorShape([0])), (1, TensorShape([1])), (2, TensorShape([2]))]
        """
        if not callable(generator):
            raise TypeError("`generator` must be a Python callable.")
        if output_signature is not None:
            if output_types is not None or output_shapes is not None:
                raise TypeError("The `output_types` and `output_shapes` arguments can not be used "
                                "together with the `output_signature` argument.")
            for s in _nest.flatten(output_signature):
                if not isinstance(s, TensorSpec):
                    raise TypeError("output_signature must contain gt.TensorSpec objects, got %r" % (s,))
            signature = output_signature
        else:
            if output_types is None:
                raise TypeError("To specify the output signature you need to provide either the "
                                "`output_signature` argument or the `output_types` argument.")
            types = _nest.flatten(output_types)
            if output_shapes is None:
                shapes = [None] * len(types)
            elif len(types) == 1 and not isinstance(output_types, (tuple, dict)):
                shapes = [output_shapes]
            else:
                shapes = _flatten_up_to(output_types, output_shapes)
            signature = _nest.pack_sequence_as(
                output_types, [TensorSpec(s, t) for t, s in zip(types, shapes)])
        return _GeneratorSource(generator, tuple(args) if args is not None else (), signature)

    @staticmethod
    def zip(*args, datasets=None, name=None) -> Dataset:
        """Elements are tuples (or the given nest) of the datasets' elements, until one ends.

        >>> a, b = gt.data.Dataset.range(3), gt.data.Dataset.range(10, 20)
        >>> [(int(x), int(y)) for x, y in gt.data.Dataset.zip(a, b)]
        [(0, 10), (1, 11), (2, 12)]
        """
        if datasets is not None:
            if args:
                raise TypeError("zip: give the datasets positionally or as `datasets`, not both")
            structure = datasets
        elif len(args) == 1:
            structure = args[0]
        else:
            structure = tuple(args)
        for d in _nest.flatten(structure):
            if not isinstance(d, Dataset):
                raise TypeError("zip: expected gt.data.Dataset objects, got %s" % type(d).__name__)
        return _Zip(structure)

    # -- transformations --

    def concatenate(self, dataset, name=None) -> Dataset:
        """This dataset's elements, then `dataset`'s.

        >>> [int(x) for x in gt.data.Dataset.range(2).concatenate(gt.data.Dataset.range(5, 7))]
        [0, 1, 5, 6]
        """
        return _Concatenate(self, dataset)

    def map(self, map_func, num_parallel_calls=None, deterministic=None, synchronous=None,
            use_unbounded_threadpool=False, name=None) -> Dataset:
        """`map_func(element)` for each element (a tuple element is passed as arguments).

        >>> ds = gt.data.Dataset.from_tensor_slices(([1, 2, 3], [10, 20, 30]))
        >>> [int(s) for s in ds.map(lambda x, y: x + y)]
        [11, 22, 33]
        """
        return _Map(self, map_func)

    def filter(self, predicate, name=None) -> Dataset:
        """The elements for which `predicate` (called as map's function) returns True.

        >>> [int(x) for x in gt.data.Dataset.range(10).filter(lambda x: x % 3 == 0)]
        [0, 3, 6, 9]
        """
        return _Filter(self, predicate)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None,
              name=None) -> Dataset:
        """Stacks `batch_size` consecutive elements into one; the last batch may be smaller
        unless `drop_remainder`.

        >>> [b.numpy().tolist() for b in gt.data.Dataset.range(7).batch(3)]
        [[0, 1, 2], [3, 4, 5], [6]]
        >>> [b.numpy().tolist() for b in gt.data.Dataset.range(7).batch(3, drop_remainder=True)]
        [[0, 1, 2], [3, 4, 5]]
        """
        b = _check_count(batch_size, "batch_size")
        if b <= 0:
            raise _core.InvalidArgumentError("batch_size must be greater than zero.")
        return _Batch(self, b, bool(drop_remainder))

    def unbatch(self, name=None) -> Dataset:
        """Splits each element along its first axis into elements.

        >>> [int(x) for x in gt.data.Dataset.from_tensors([[1, 2], [3, 4]]).unbatch().unbatch()]
        [1, 2, 3, 4]
        """
        return _Unbatch(self)

    def rebatch(self, batch_size, drop_remainder=False, name=None) -> Dataset:
        """Batches of `batch_size` (an int, or a list of sizes used in turn) made from this
        dataset's batches, as unbatch().batch() would.

        >>> [b.numpy().tolist() for b in gt.data.Dataset.range(6).batch(4).rebatch(3)]
        [[0, 1, 2], [3, 4, 5]]
        """
        sizes = [_check_count(b, "batch_size") for b in
                 (batch_size if isinstance(batch_size, (list, tuple)) else [batch_size])]
        if not sizes or any(s <= 0 for s in sizes):
            raise _core.InvalidArgumentError("rebatch: batch sizes must be greater than zero")
        return _Rebatch(self, sizes, bool(drop_remainder))

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None) -> Dataset:
        """Shuffles with a buffer of `buffer_size` elements, as tf.data: each output is drawn at
        random from the buffer, which the next input then refills. A buffer at least as large as
        the dataset gives a uniform random permutation.

        >>> ds = gt.data.Dataset.range(6).shuffle(6, seed=3)
        >>> order = [int(x) for x in ds]
        >>> sorted(order)
        [0, 1, 2, 3, 4, 5]
        >>> ds2 = gt.data.Dataset.range(6).shuffle(6, seed=3)
        >>> [int(x) for x in ds2] == order  # the same seed gives the same first epoch
        True
        """
        n = _check_count(buffer_size, "buffer_size")
        if n <= 0 and n != AUTOTUNE:
            raise _core.InvalidArgumentError("buffer_size must be greater than zero.")
        return _Shuffle(self, n, seed, bool(reshuffle_each_iteration))

    def repeat(self, count=None, name=None) -> Dataset:
        """The dataset `count` times (forever when None or -1).

        >>> [int(x) for x in gt.data.Dataset.range(3).repeat(2)]
        [0, 1, 2, 0, 1, 2]
        >>> [int(x) for x in gt.data.Dataset.range(2).repeat().take(5)]
        [0, 1, 0, 1, 0]
        """
        count = -1 if count is None else _check_count(count, "count")
        return _Repeat(self, count)

    def take(self, count, name=None) -> Dataset:
        """The first `count` elements (all when -1).

        >>> [int(x) for x in gt.data.Dataset.range(10).take(3)]
        [0, 1, 2]
        """
        return _Take(self, _check_count(count, "count"))

    def skip(self, count, name=None) -> Dataset:
        """All but the first `count` elements (none when -1).

        >>> [int(x) for x in gt.data.Dataset.range(5).skip(3)]
        [3, 4]
        """
        return _Skip(self, _check_count(count, "count"))

    def prefetch(self, buffer_size, name=None) -> Dataset:
        """Accepted for TensorFlow's programs; elements are made when asked for.

        >>> [int(x) for x in gt.data.Dataset.range(3).prefetch(gt.data.AUTOTUNE)]
        [0, 1, 2]
        """
        return _Passthrough(self)

    def cache(self, filename="", name=None) -> Dataset:
        """Keeps the elements of the first complete iteration in memory and replays them
        afterwards (`filename` is accepted; the cache is in memory only).

        >>> calls = []
        >>> ds = gt.data.Dataset.range(3).map(lambda x: calls.append(1) or x).cache()
        >>> [int(x) for x in ds], [int(x) for x in ds], len(calls)  # mapped once
        ([0, 1, 2], [0, 1, 2], 3)
        """
        return _Cache(self)

    def enumerate(self, start=0, name=None) -> Dataset:
        """(index, element) pairs, the index an int64 scalar counting from `start`.

        >>> [(int(i), int(x)) for i, x in gt.data.Dataset.range(10, 13).enumerate(start=1)]
        [(1, 10), (2, 11), (3, 12)]
        """
        return _Enumerate(self, _check_count(start, "start"))

    def shard(self, num_shards, index, name=None) -> Dataset:
        """Every `num_shards`-th element, starting at `index`.

        >>> [int(x) for x in gt.data.Dataset.range(10).shard(num_shards=3, index=1)]
        [1, 4, 7]
        """
        n, i = _check_count(num_shards, "num_shards"), _check_count(index, "index")
        if n <= 0:
            raise _core.InvalidArgumentError("num_shards must be greater than zero.")
        if not 0 <= i < n:
            raise _core.InvalidArgumentError("index must be in [0, num_shards), got %d" % i)
        return _Shard(self, n, i)


def _flatten_up_to(structure, values):
    """Flattens `values` (shapes) to the leaves of `structure` (types); a shape is a leaf."""
    if isinstance(structure, dict):
        return [x for k in sorted(structure) for x in _flatten_up_to(structure[k], values[k])]
    if isinstance(structure, (tuple, list)):
        return [x for s, v in zip(structure, values) for x in _flatten_up_to(s, v)]
    return [values]


class Iterator:
    """An iterator over a Dataset (what iter(dataset) returns).

    >>> it = iter(gt.data.Dataset.range(3))
    >>> it.get_next()
    <gt.Tensor: shape=(), dtype=int64, numpy=0>
    >>> [int(x) for x in it]
    [1, 2]
    """

    def __init__(self, dataset):
        self._dataset = dataset
        self._gen = dataset._generate()

    def __iter__(self):
        return self

    def __next__(self):
        if _core._tracing():
            # a program would replay this element as a constant: TensorFlow iterates a dataset
            # inside a graph at each call, which gradtape cannot do
            raise _core.OperatorNotAllowedInGraphError(
                "iterating a gt.data.Dataset inside a gt.function is not supported: iterate outside and pass "
                "each element to the function (for x, y in dataset: train_step(x, y))")
        return next(self._gen)

    def get_next(self):
        """The next element; gt.errors.OutOfRangeError at the end, as TensorFlow (`next(it)`
        raises StopIteration instead).

        >>> it = iter(gt.data.Dataset.from_tensor_slices([5.0, 6.0]))
        >>> float(it.get_next()), float(it.get_next())
        (5.0, 6.0)
        """
        try:
            return self.__next__()
        except StopIteration:
            raise OutOfRangeError(None, None, "End of sequence") from None

    @property
    def element_spec(self):
        """The dataset's element_spec.

        >>> iter(gt.data.Dataset.range(3)).element_spec
        TensorSpec(shape=(), dtype=gt.int64, name=None)
        """
        return self._dataset.element_spec


# --- sources -------------------------------------------------------------------------------

class _SliceSource(Dataset):
    def __init__(self, structure):
        self._structure = structure
        self._leaves = [np.ascontiguousarray(a) for a in _nest.flatten(structure)]
        self._n = self._leaves[0].shape[0]

    def _cardinality(self):
        return self._n

    def _element_spec(self):
        return _nest.pack_sequence_as(self._structure, [
            TensorSpec(a.shape[1:], string if a.dtype == object else _core.as_dtype(a.dtype))
            for a in self._leaves])

    def _generate(self, order=None):
        leaves, structure = self._leaves, self._structure
        for i in (range(self._n) if order is None else order):
            yield _nest.pack_sequence_as(structure, [_out(a[i]) for a in leaves])

    def _batches(self, b, drop_remainder, order=None):
        """Batches in bulk: one slice (or one gather, for `order`) per component per batch."""
        n, leaves, structure = self._n, self._leaves, self._structure
        stop = n - n % b if drop_remainder else n
        for i in range(0, stop, b):
            if order is None:
                parts = [_out(a[i:i + b]) for a in leaves]
            else:
                idx = order[i:i + b]
                parts = [_out(a.take(idx, axis=0)) for a in leaves]
            yield _nest.pack_sequence_as(structure, parts)


class _TensorsSource(Dataset):
    def __init__(self, structure):
        self._structure = structure

    def _cardinality(self):
        return 1

    def _element_spec(self):
        return _nest.map_structure(
            lambda a: TensorSpec(a.shape, string if a.dtype == object else _core.as_dtype(a.dtype)),
            self._structure)

    def _generate(self):
        yield _nest.map_structure(_out, self._structure)


class _RangeSource(Dataset):
    def __init__(self, r, dtype):
        self._range, self._dtype = r, dtype

    def _cardinality(self):
        return len(self._range)

    def _element_spec(self):
        return TensorSpec((), self._dtype)

    def _generate(self):
        np_dtype = self._dtype.as_numpy_dtype
        for v in self._range:
            yield _core.constant(np.asarray(v, dtype=np_dtype))


class _GeneratorSource(Dataset):
    def __init__(self, generator, args, signature):
        self._generator, self._args, self._signature = generator, args, signature

    def _element_spec(self):
        return self._signature

    def _generate(self):
        specs = _nest.flatten(self._signature)
        single = not _nest.is_nested(self._signature)
        for value in self._generator(*self._args):
            if single:
                values = [value]
            else:
                try:
                    values = _flatten_up_to(self._signature, value)
                except (TypeError, KeyError, IndexError):
                    values = None
                if values is None or len(values) != len(specs) or \
                        (isinstance(value, (tuple, list)) and len(value) != len(self._signature)):
                    raise TypeError("`generator` yielded an element that did not match the expected "
                                    "structure. The expected structure was %r, but the yielded "
                                    "element was %r." % (self._signature, value))
            leaves = []
            for v, spec in zip(values, specs):
                if spec.dtype is string:
                    a = _text_array(v)
                else:
                    if isinstance(v, _TENSORS):
                        v = v.numpy()
                    try:
                        a = np.asarray(v, dtype=spec.dtype.as_numpy_dtype)
                    except (TypeError, ValueError) as e:
                        raise TypeError("`generator` yielded an element that could not be converted "
                                        "to the expected type %s: %r (%s)" % (spec.dtype.name, v, e))
                if spec._shape is not None and not spec.is_compatible_with(
                        TensorSpec(a.shape, spec.dtype)):
                    raise _core.InvalidArgumentError(
                        "`generator` yielded an element of shape %s where an element of shape %s "
                        "was expected." % (a.shape, spec.shape))
                leaves.append(_out(a))
            yield leaves[0] if single else _nest.pack_sequence_as(self._signature, leaves)


class TextLineDataset(Dataset):
    """The lines of local text files, each as bytes without its line ending ("\\n" or
    "\\r\\n"); the files are read one after another.

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "lines.txt")
    ...     with open(path, "w") as f:
    ...         _ = f.write("first line\\nsecond line\\r\\n")
    ...     lines = list(gt.data.TextLineDataset(path).as_numpy_iterator())
    >>> lines
    [b'first line', b'second line']
    >>> gt.data.TextLineDataset([]).element_spec
    TensorSpec(shape=(), dtype=gt.string, name=None)
    """

    def __init__(self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None,
                 name=None):
        if compression_type not in (None, ""):
            raise ValueError("TextLineDataset: compression_type %r is not supported (only "
                             "uncompressed files)" % (compression_type,))
        if isinstance(filenames, Dataset):
            names = [v for v in filenames.as_numpy_iterator()]
        elif isinstance(filenames, (str, bytes, os.PathLike)):
            names = [filenames]
        else:
            names = list(np.asarray(filenames, dtype=object).reshape(-1))
        self._files = [os.fsdecode(n if not isinstance(n, np.ndarray) else n[()]) for n in names]

    def _element_spec(self):
        return TensorSpec((), string)

    def _generate(self):
        for path in self._files:
            try:
                f = open(path, "rb")
            except FileNotFoundError:
                raise NotFoundError("%s; No such file or directory" % path) from None
            with f:
                for line in f:
                    if line.endswith(b"\n"):
                        line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
                    yield line


# --- transformations -----------------------------------------------------------------------

class _Unary(Dataset):
    def __init__(self, inp):
        if not isinstance(inp, Dataset):
            raise TypeError("expected a gt.data.Dataset, got %s" % type(inp).__name__)
        self._input = inp

    def _cardinality(self):
        return self._input._cardinality()

    def _element_spec(self):
        return self._input._element_spec()


class _Passthrough(_Unary):
    def _generate(self):
        return self._input._generate()


class _Map(_Unary):
    def __init__(self, inp, fn):
        super().__init__(inp)
        if not callable(fn):
            raise TypeError("map_func must be callable")
        self._fn = fn
        self._spec = None

    def _generate(self):
        fn = self._fn
        for element in self._input._generate():
            yield _normalize(_call(fn, element))

    def _element_spec(self):
        # The spec of the function's result on the first element (tf.data traces the function
        # instead; here it runs once on real data, or on zeros of the input's spec if empty).
        if self._spec is None:
            first = next(iter(self._input._generate()), None)
            if first is None:
                first = _nest.map_structure(
                    lambda s: _core.zeros([d or 1 for d in (s._shape or ())], dtype=s.dtype)
                    if s.dtype is not string else b"", self._input._element_spec())
            self._spec = _nest.map_structure(_spec_of_leaf, _normalize(_call(self._fn, first)))
        return self._spec


class _Filter(_Unary):
    def __init__(self, inp, predicate):
        super().__init__(inp)
        if not callable(predicate):
            raise TypeError("predicate must be callable")
        self._predicate = predicate

    def _cardinality(self):
        n = self._input._cardinality()
        return n if n == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY

    def _generate(self):
        for element in self._input._generate():
            keep = _call(self._predicate, element)
            if isinstance(keep, _TENSORS):
                if keep.dtype != _core.DType.bool or keep.ndim != 0:
                    raise ValueError("Invalid `predicate`. `predicate` must return a `tf.bool` scalar "
                                     "tensor, but its return type was %s of shape %s."
                                     % (keep.dtype.name, list(keep.shape)))
                keep = bool(keep.numpy())
            elif not isinstance(keep, (bool, np.bool_)):
                raise ValueError("Invalid `predicate`. `predicate` must return a `tf.bool` scalar "
                                 "tensor, but it returned %r." % (keep,))
            if keep:
                yield element


def _stack(elements, structure):
    """One element from a list of elements with the same structure: each leaf stacked."""
    flats = [_nest.flatten(e) for e in elements]
    parts = []
    for j in range(len(flats[0])):
        column = [f[j] for f in flats]
        first = column[0]
        if isinstance(first, _TENSORS):
            shape = tuple(first.shape)
            for k, v in enumerate(column):
                if tuple(v.shape) != shape:
                    raise _core.InvalidArgumentError(
                        "Cannot batch tensors with different shapes in component %d. First element "
                        "had shape %s and element %d had shape %s." % (j, list(shape), k, list(v.shape)))
            parts.append(_core.stack(column, axis=0))
        else:
            arrays = [_leaf_array(v) for v in column]
            if len({a.shape for a in arrays}) > 1:
                raise _core.InvalidArgumentError(
                    "Cannot batch tensors with different shapes in component %d." % j)
            out = np.empty((len(arrays),) + arrays[0].shape, dtype=object)
            for k, a in enumerate(arrays):
                out[k] = a
            parts.append(out)
    return _nest.pack_sequence_as(structure, parts)


class _Batch(_Unary):
    def __init__(self, inp, b, drop_remainder):
        super().__init__(inp)
        self._b, self._drop = b, drop_remainder

    def _cardinality(self):
        n = self._input._cardinality()
        if n < 0:
            return n
        return n // self._b if self._drop else -(-n // self._b)

    def _element_spec(self):
        lead = self._b if self._drop else None
        return _nest.map_structure(lambda s: TensorSpec(
            None if s._shape is None else (lead,) + s._shape, s.dtype), self._input._element_spec())

    def _generate(self):
        src = self._input
        if isinstance(src, _SliceSource):
            yield from src._batches(self._b, self._drop)
            return
        if isinstance(src, _Shuffle) and isinstance(src._input, _SliceSource) and src._permutes():
            yield from src._input._batches(self._b, self._drop, order=src._permutation())
            return
        chunk = []
        for element in src._generate():
            chunk.append(element)
            if len(chunk) == self._b:
                yield _stack(chunk, element)
                chunk = []
        if chunk and not self._drop:
            yield _stack(chunk, chunk[0])


def _rows(element):
    """The elements an element splits into along its first axis."""
    flat = _nest.flatten(element)
    arrays = [_leaf_array(v) for v in flat]
    sizes = set()
    for a in arrays:
        if a.ndim == 0:
            raise _core.InvalidArgumentError("Input element must have a non-scalar value in each "
                                             "component (unbatch).")
        sizes.add(a.shape[0])
    if len(sizes) > 1:
        raise _core.InvalidArgumentError("unbatch: components have different sizes in dimension 0: %s"
                                         % sorted(sizes))
    n = sizes.pop()
    for i in range(n):
        yield _nest.pack_sequence_as(element, [_out(a[i]) for a in arrays])


class _Unbatch(_Unary):
    def _cardinality(self):
        n = self._input._cardinality()
        if n < 0:
            return n
        leads = {s._shape[0] if s._shape else None for s in _nest.flatten(self._input._element_spec())}
        if len(leads) == 1 and None not in leads:
            return n * leads.pop()
        return UNKNOWN_CARDINALITY

    def _element_spec(self):
        return _nest.map_structure(lambda s: TensorSpec(None if s._shape is None else s._shape[1:],
                                                        s.dtype), self._input._element_spec())

    def _generate(self):
        for element in self._input._generate():
            yield from _rows(element)


class _Rebatch(_Unary):
    def __init__(self, inp, sizes, drop_remainder):
        super().__init__(inp)
        self._sizes, self._drop = sizes, drop_remainder

    def _cardinality(self):
        n = self._input._cardinality()
        return n if n == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY

    def _element_spec(self):
        lead = self._sizes[0] if self._drop and len(set(self._sizes)) == 1 else None
        return _nest.map_structure(lambda s: TensorSpec(None if s._shape is None else (lead,) + s._shape[1:],
                                                        s.dtype), self._input._element_spec())

    def _generate(self):
        sizes = itertools.cycle(self._sizes)
        want = next(sizes)
        chunk = []
        for element in self._input._generate():
            for row in _rows(element):
                chunk.append(row)
                if len(chunk) == want:
                    yield _stack(chunk, row)
                    chunk = []
                    want = next(sizes)
        if chunk and not self._drop:
            yield _stack(chunk, chunk[0])


class _Shuffle(_Unary):
    def __init__(self, inp, buffer_size, seed, reshuffle):
        super().__init__(inp)
        self._buffer = buffer_size
        # The seed follows gt.random's rules (as tf.data's does tf.random's): an op seed, or the
        # global seed (gt.random.set_seed) with the next op seed, makes the orders repeat run to
        # run; neither, fresh entropy. The base seed is drawn once, so that
        # reshuffle_each_iteration=False repeats one order; each iteration then derives its own
        # generator from (seed, epoch).
        from .. import random as _random
        global_seed, op_seed = _random.get_seed(seed)
        if global_seed is None:
            self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        else:
            self._seed = int(np.random.SeedSequence([global_seed & (2 ** 63 - 1), op_seed & (2 ** 63 - 1)])
                             .generate_state(2, np.uint64)[0] % (2 ** 63))
        self._reshuffle = reshuffle
        self._epoch = 0
        self._pending = None

    def _rng(self):
        epoch = self._epoch
        if self._reshuffle:
            self._epoch += 1
        return np.random.default_rng([self._seed & (2 ** 63 - 1), epoch])

    def _permutes(self):
        n = self._input._cardinality()
        return n >= 0 and (self._buffer == AUTOTUNE or n <= self._buffer)

    def _permutation(self):
        return self._rng().permutation(self._input._cardinality())

    def _generate(self):
        src = self._input
        if self._permutes():
            order = self._permutation()
            if isinstance(src, _SliceSource):
                yield from src._generate(order)
            else:
                elements = list(src._generate())
                for i in order:
                    yield elements[i]
            return
        rng = self._rng()
        buf = []
        it = src._generate()
        for element in it:
            buf.append(element)
            if len(buf) == self._buffer:
                break
        for element in it:
            k = int(rng.integers(len(buf)))
            out, buf[k] = buf[k], element
            yield out
        while buf:
            k = int(rng.integers(len(buf)))
            buf[k], buf[-1] = buf[-1], buf[k]
            yield buf.pop()


class _Repeat(_Unary):
    def __init__(self, inp, count):
        super().__init__(inp)
        self._count = count

    def _cardinality(self):
        n = self._input._cardinality()
        if n == 0 or self._count == 0:
            return 0
        if self._count < 0:
            return INFINITE_CARDINALITY if n != UNKNOWN_CARDINALITY else UNKNOWN_CARDINALITY
        return n * self._count if n >= 0 else n

    def _generate(self):
        k = 0
        while self._count < 0 or k < self._count:
            empty = True
            for element in self._input._generate():
                empty = False
                yield element
            k += 1
            if empty:
                return


class _Take(_Unary):
    def __init__(self, inp, count):
        super().__init__(inp)
        self._count = count

    def _cardinality(self):
        n = self._input._cardinality()
        if self._count < 0:
            return n
        if n == UNKNOWN_CARDINALITY:
            return n
        return self._count if n == INFINITE_CARDINALITY else min(n, self._count)

    def _generate(self):
        if self._count < 0:
            yield from self._input._generate()
            return
        if self._count == 0:
            return
        for k, element in enumerate(self._input._generate()):
            yield element
            if k + 1 >= self._count:
                return


class _Skip(_Unary):
    def __init__(self, inp, count):
        super().__init__(inp)
        self._count = count

    def _cardinality(self):
        n = self._input._cardinality()
        if n < 0:
            return n
        return 0 if self._count < 0 else max(n - self._count, 0)

    def _generate(self):
        if self._count < 0:
            for _ in self._input._generate():
                pass
            return
        yield from itertools.islice(self._input._generate(), self._count, None)


class _Cache(_Unary):
    def __init__(self, inp):
        super().__init__(inp)
        self._store = None

    def _generate(self):
        if self._store is not None:
            yield from self._store
            return
        seen = []
        for element in self._input._generate():
            seen.append(element)
            yield element
        self._store = seen


class _Enumerate(_Unary):
    def __init__(self, inp, start):
        super().__init__(inp)
        self._start = start

    def _element_spec(self):
        return (TensorSpec((), _core.DType.int64), self._input._element_spec())

    def _generate(self):
        for k, element in enumerate(self._input._generate(), self._start):
            yield (_core.constant(np.int64(k)), element)


class _Shard(_Unary):
    def __init__(self, inp, n, index):
        super().__init__(inp)
        self._n, self._index = n, index

    def _cardinality(self):
        n = self._input._cardinality()
        if n < 0:
            return n
        return n // self._n + (1 if self._index < n % self._n else 0)

    def _generate(self):
        return itertools.islice(self._input._generate(), self._index, None, self._n)


class _Zip(Dataset):
    def __init__(self, structure):
        self._structure = structure
        self._datasets = _nest.flatten(structure)

    def _cardinality(self):
        ns = [d._cardinality() for d in self._datasets]
        if not ns:
            return 0
        known = [n for n in ns if n >= 0]
        if known:
            return min(known) if UNKNOWN_CARDINALITY not in ns else (
                min(known) if min(known) == 0 else UNKNOWN_CARDINALITY)
        return UNKNOWN_CARDINALITY if UNKNOWN_CARDINALITY in ns else INFINITE_CARDINALITY

    def _element_spec(self):
        return _nest.pack_sequence_as(self._structure, [d._element_spec() for d in self._datasets])

    def _generate(self):
        for elements in zip(*[d._generate() for d in self._datasets]):
            yield _nest.pack_sequence_as(self._structure, list(elements)) \
                if _nest.is_nested(self._structure) else elements[0]


class _Concatenate(Dataset):
    def __init__(self, first, second):
        self._first, self._second = first, second

    def _cardinality(self):
        a, b = self._first._cardinality(), self._second._cardinality()
        if INFINITE_CARDINALITY in (a, b):
            return INFINITE_CARDINALITY
        if UNKNOWN_CARDINALITY in (a, b):
            return UNKNOWN_CARDINALITY
        return a + b

    def _element_spec(self):
        return self._first._element_spec()

    def _generate(self):
        yield from self._first._generate()
        yield from self._second._generate()


