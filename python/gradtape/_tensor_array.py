"""gt.TensorArray: tf.TensorArray as TensorFlow's eager mode has it, a list of tensors of one
dtype. write() returns a new TensorArray object over the same storage (as TensorFlow's eager
TensorArray), so both the functional form `ta = ta.write(i, x)` and ignoring the result work.
stack(), gather() and concat() are gt.stack/gather/concat of the elements, so the tape
differentiates through them; unwritten elements read as zeros of the element shape.
"""
from . import _core
from ._shape import TensorShape


class _Storage:
    def __init__(self, size):
        self.elements = [None] * size
        self.cleared = set()


class TensorArray:
    """A list of tensors of one dtype, written and read by index (tf.TensorArray, eager form).

    Args (TensorFlow's): dtype; size, the number of elements; dynamic_size, whether writes past
    the end grow it (otherwise OutOfRangeError); clear_after_read (default True, as
    TensorFlow's eager TensorArray: an element can be read once); element_shape, the shape
    every element must have (inferred from the first write when infer_shape is True).

    >>> ta = gt.TensorArray(gt.float32, size=0, dynamic_size=True)
    >>> for i in range(3):
    ...     ta = ta.write(i, float(i) * 2.0)
    >>> ta.stack().numpy()
    array([0., 2., 4.], dtype=float32)
    """

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None, tensor_array_name=None,
                 handle=None, flow=None, infer_shape=True, element_shape=None, colocate_with_first_write_call=True,
                 name=None):
        self._dtype = _core.as_dtype(dtype)
        if size is None and not dynamic_size:
            raise ValueError("Size must be provided if handle is not provided")
        n = 0 if size is None else int(size)
        if n < 0:
            raise _core.InvalidArgumentError("TensorArray size must be non-negative, got %d" % n)
        self._storage = _Storage(n)
        self._dynamic_size = bool(dynamic_size)
        self._clear_after_read = True if clear_after_read is None else bool(clear_after_read)
        self._infer_shape = infer_shape
        self._element_shape = TensorShape(element_shape) if element_shape is not None else TensorShape(None)

    def _view(self):
        other = object.__new__(TensorArray)
        other.__dict__.update(self.__dict__)
        return other

    @property
    def dtype(self):
        """The elements' dtype.

        >>> gt.TensorArray(gt.int32, size=1).dtype
        gt.int32
        """
        return self._dtype

    @property
    def element_shape(self):
        """The elements' shape as far as it is known (TensorShape(None) before any write).

        >>> gt.TensorArray(gt.float32, size=2).write(0, [1.0, 2.0]).element_shape
        TensorShape([2])
        """
        return self._element_shape

    @property
    def dynamic_size(self):
        """Whether writes past the end grow the array.

        >>> gt.TensorArray(gt.float32, size=2).dynamic_size
        False
        """
        return self._dynamic_size

    @property
    def handle(self):
        """None: there is no resource handle in eager mode.

        >>> gt.TensorArray(gt.float32, size=1).handle is None
        True
        """
        return None

    @property
    def flow(self):
        """None: there is no flow tensor in eager mode.

        >>> gt.TensorArray(gt.float32, size=1).flow is None
        True
        """
        return None

    def size(self, name=None):
        """The number of elements, as an int32 scalar.

        >>> int(gt.TensorArray(gt.float32, size=0, dynamic_size=True).write(4, 1.0).size())
        5
        """
        return _core.constant(len(self._storage.elements), dtype="int32")

    @staticmethod
    def _index(index, what):
        i = int(index)
        if i < 0:
            _out_of_range("%s negative indices (index %d) is not allowed." % (what, i))
        return i

    def _as_tensor(self, value):
        """A Python value converted to the array's dtype; a tensor as it is (write checks its dtype)."""
        if isinstance(value, (_core.Tensor, _core.Variable)):
            return value
        return _core.convert_to_tensor(value, dtype=self._dtype)

    def _zeros(self, i):
        if not self._element_shape.is_fully_defined():
            raise _core.InvalidArgumentError(
                "Could not read from TensorArray index %d: it has not been written to and the element shape %s is "
                "not fully defined (set element_shape to read unwritten elements as zeros)." % (i, self._element_shape))
        return _core.zeros(self._element_shape.as_list(), dtype=self._dtype)

    def _get(self, i, clear):
        elements = self._storage.elements
        if i >= len(elements):
            _out_of_range("Tried to read from index %d but array size is: %d" % (i, len(elements)))
        if i in self._storage.cleared:
            raise _core.InvalidArgumentError("Could not read index %d twice because it was cleared after a previous "
                                             "read (perhaps try setting clear_after_read = false?)" % i)
        value = elements[i]
        if value is None:
            return self._zeros(i)
        if clear and self._clear_after_read:
            self._storage.cleared.add(i)
        return value

    def read(self, index, name=None):
        """Element `index`: zeros of the element shape if it was never written; once read, it is
        cleared when clear_after_read is set (a second read raises InvalidArgumentError).

        >>> ta = gt.TensorArray(gt.float32, size=2).write(0, 3.0)
        >>> float(ta.read(0)), float(ta.read(1))
        (3.0, 0.0)
        """
        return self._get(self._index(index, "Reading from"), clear=True)

    def write(self, index, value, name=None):
        """Sets element `index` to value (converted to the array's dtype; a tensor of another dtype
        is InvalidArgumentError) and returns a TensorArray over the same elements.

        >>> ta = gt.TensorArray(gt.float32, size=2).write(1, [1.0, 2.0])
        >>> ta.stack().numpy()
        array([[0., 0.],
               [1., 2.]], dtype=float32)
        """
        i = self._index(index, "Writing to")
        if isinstance(value, (_core.Tensor, _core.Variable)):
            if value.dtype != self._dtype:
                raise _core.InvalidArgumentError("TensorArray dtype is %s but Op is trying to write dtype %s"
                                                 % (self._dtype.name, value.dtype.name))
            if isinstance(value, _core.Variable):
                value = value.read_value()
        else:
            value = _core.convert_to_tensor(value, dtype=self._dtype)
        shape = TensorShape(value.shape)
        if self._infer_shape:
            if not shape.is_compatible_with(self._element_shape):
                raise ValueError("Incompatible shape for value (%s), expected (%s)"
                                 % (tuple(shape), tuple(self._element_shape) if self._element_shape.rank is not None
                                    else None))
            self._element_shape = shape.merge_with(self._element_shape) if self._element_shape.rank is not None \
                else shape
        elements = self._storage.elements
        if i >= len(elements):
            if not self._dynamic_size:
                _out_of_range("Tried to write to index %d but array is not resizeable and size is: %d"
                              % (i, len(elements)))
            elements.extend([None] * (i + 1 - len(elements)))
        elements[i] = value
        self._storage.cleared.discard(i)
        return self._view()

    def stack(self, name=None):
        """The elements stacked along a new first axis (zeros for unwritten ones).

        >>> gt.TensorArray(gt.float32, size=3).unstack([[1.0], [2.0], [3.0]]).stack().shape
        TensorShape([3, 1])
        """
        return self.gather(list(range(len(self._storage.elements))))

    def gather(self, indices, name=None):
        """The elements at `indices`, stacked along a new first axis.

        >>> ta = gt.TensorArray(gt.float32, size=3).unstack([1.0, 2.0, 3.0])
        >>> ta.gather([2, 0]).numpy()
        array([3., 1.], dtype=float32)
        """
        idx = [self._index(i, "Reading from") for i in _as_list(indices)]
        if not idx:
            shape = [0] + (self._element_shape.as_list() if self._element_shape.is_fully_defined() else [])
            return _core.zeros(shape, dtype=self._dtype)
        return _core.stack([self._get(i, clear=False) for i in idx])

    def concat(self, name=None):
        """The elements concatenated along their first axis.

        >>> gt.TensorArray(gt.float32, size=2).unstack([[1.0, 2.0], [3.0, 4.0]]).concat().numpy()
        array([1., 2., 3., 4.], dtype=float32)
        """
        n = len(self._storage.elements)
        if n == 0:
            return _core.zeros([0], dtype=self._dtype)
        return _core.concat([self._get(i, clear=False) for i in range(n)], axis=0)

    def unstack(self, value, name=None):
        """Makes the elements value[0], value[1], ... along value's first axis: the array then has
        that many elements, whatever its size was (as TensorFlow's eager TensorArray).

        >>> float(gt.TensorArray(gt.float32, size=2).unstack([5.0, 6.0]).read(1))
        6.0
        """
        value = self._as_tensor(value)
        if value.ndim == 0:
            raise _core.InvalidArgumentError("unstack: value must have at least one dimension")
        self._storage.elements[:] = [None] * value.shape[0]
        self._storage.cleared.clear()
        return self.scatter(list(range(value.shape[0])), value)

    def scatter(self, indices, value, name=None):
        """Writes value[i] to element indices[i].

        >>> gt.TensorArray(gt.float32, size=2).scatter([1, 0], [[1.0], [2.0]]).stack().numpy()
        array([[2.],
               [1.]], dtype=float32)
        """
        value = self._as_tensor(value)
        idx = _as_list(indices)
        if value.ndim == 0 or value.shape[0] != len(idx):
            raise _core.InvalidArgumentError("scatter: value's first dimension (%s) must equal the number of indices (%d)"
                                             % (value.shape[0] if value.ndim else "a scalar", len(idx)))
        out = self
        for k, i in enumerate(idx):
            out = out.write(i, value[k])
        return out

    def split(self, value, lengths, name=None):
        """Writes consecutive pieces of value (along its first axis), of the given lengths, to
        elements 0, 1, ...

        >>> gt.TensorArray(gt.float32, size=2).split([1.0, 2.0, 3.0], [1, 2]).read(1).numpy()
        array([2., 3.], dtype=float32)
        """
        value = self._as_tensor(value)
        lens = [int(n) for n in _as_list(lengths)]
        if sum(lens) != (value.shape[0] if value.ndim else 0) or any(n < 0 for n in lens):
            raise _core.InvalidArgumentError("split: lengths %s must be non-negative and sum to value's first dimension %s"
                                             % (lens, value.shape[0] if value.ndim else None))
        if len(set(lens)) > 1:  # pieces of several lengths: only their other dimensions are fixed
            self._element_shape = TensorShape([None] + list(value.shape[1:]))
            self._infer_shape = False
        out, start = self, 0
        for i, n in enumerate(lens):
            out = out.write(i, value[start:start + n])
            start += n
        return out

    def identity(self):
        """A TensorArray over the same elements.

        >>> ta = gt.TensorArray(gt.float32, size=1)
        >>> float(ta.identity().write(0, 2.0).stack()[0])
        2.0
        """
        return self._view()

    def close(self, name=None):
        """Drops the elements (the array has size 0 afterwards).

        >>> ta = gt.TensorArray(gt.float32, size=1).write(0, 1.0)
        >>> ta.close()
        >>> int(ta.size())
        0
        """
        self._storage.elements.clear()
        self._storage.cleared.clear()

    def __repr__(self):
        return "<gt.TensorArray: dtype=%s, size=%d>" % (self._dtype.name, len(self._storage.elements))


def _as_list(indices):
    if isinstance(indices, (_core.Tensor, _core.Variable)):
        return [int(i) for i in indices.numpy().reshape(-1)]
    return [int(i) for i in indices]


def _out_of_range(message):
    from ._errors import OutOfRangeError
    raise OutOfRangeError(None, None, message)
