"""TensorShape: the tuple a tensor's `.shape` returns, with TensorFlow's methods.

A tensor's shape is always fully known in gradtape, so `tensor.shape` is a plain
`TensorShape`: a tuple of ints. Shapes with unknown parts exist only where TensorFlow uses them
for descriptions rather than values (a `gt.TensorSpec`, `gt.TensorShape([None, 3])`, the result
of `merge_with` or `most_specific_compatible_shape`): a dimension may then be None, and the
whole shape may be unknown (`gt.TensorShape(None)`, whose rank is None). Those are instances of
two subclasses of TensorShape, so `isinstance(s, gt.TensorShape)` holds for all of them and the
methods below behave as TensorFlow's on each. One difference: `dims` lists ints (or None), not
TensorFlow's `Dimension` objects (docs/choices.md).
"""
import operator

__all__ = ["TensorShape"]


def _dim(d):
    """A dimension: None, or a non-negative int (anything with __index__)."""
    if d is None:
        return None
    try:
        d = operator.index(d)
    except TypeError:
        raise TypeError("Dimension value must be integer or None or have an __index__ method, got value '%r' "
                        "with type '%r'" % (d, type(d))) from None
    if d < 0:
        raise ValueError("Dimension %d must be >= 0" % d)
    return d


def _dims(dims):
    """TensorFlow's reading of a shape argument: None (unknown rank), one dimension, or an
    iterable of dimensions. Returns None or a tuple of ints and Nones."""
    if dims is None:
        return None
    if isinstance(dims, TensorShape):
        return None if isinstance(dims, _UnknownShape) else tuple(dims)
    if hasattr(dims, "__index__") and getattr(dims, "ndim", 0) == 0:
        return (_dim(dims),)
    try:
        items = list(dims)
    except TypeError:
        return (_dim(dims),)  # (not iterable: one dimension, or the dimension's error)
    out = []
    for d in items:
        try:
            out.append(_dim(d))
        except TypeError:
            raise TypeError("Failed to convert %r to a shape: %r could not be converted to a dimension. A shape "
                            "should either be single dimension (e.g. 10), or an iterable of dimensions "
                            "(e.g. [1, 10, None])." % (dims, d)) from None
    return tuple(out)


def _make(dims):
    """The TensorShape of parsed dims (None, or a tuple): the plain class when fully known."""
    if dims is None:
        return _UnknownShape()
    if any(d is None for d in dims):
        return tuple.__new__(_PartialShape, dims)
    return tuple.__new__(TensorShape, dims)


def _as_shape(shape):
    return shape if isinstance(shape, TensorShape) else _make(_dims(shape))


def _shape_str(dims):
    if dims is None:
        return "<unknown>"
    if len(dims) == 1:
        return "(%s,)" % dims[0]
    return "(%s)" % ", ".join(str(d) for d in dims)


class TensorShape(tuple):
    """The shape of a tensor: a tuple of ints with TensorFlow's TensorShape methods.

    `tensor.shape` returns one. `gt.TensorShape(dims)` makes one from a list or tuple of
    dimensions (or a single int); a None dimension, or `dims=None` (unknown rank), makes a
    partially known shape, as a TensorSpec's shape is (still a TensorShape). Indexing with an
    int gives an int, with a slice a TensorShape; `+` concatenates; `==` compares with lists
    and tuples as TensorFlow does.

    >>> s = gt.zeros([2, 3]).shape
    >>> s, s.as_list(), s.rank, s.num_elements(), s[1]
    (TensorShape([2, 3]), [2, 3], 2, 6, 3)
    >>> s == [2, 3], s + [4], s[1:], gt.TensorShape([5, 1]).concatenate(s)
    (True, TensorShape([2, 3, 4]), TensorShape([3]), TensorShape([5, 1, 2, 3]))
    >>> gt.TensorShape([None, 3]).merge_with([2, None])
    TensorShape([2, 3])
    """

    __slots__ = ()

    def __new__(cls, dims):
        return _make(_dims(dims))

    def __getnewargs__(self):
        return (self.as_list(),)

    # -- what a shape is -------------------------------------------------------------------

    @property
    def rank(self):
        """The number of dimensions (None when the rank is unknown).

        >>> gt.zeros([2, 3]).shape.rank, gt.TensorShape(None).rank
        (2, None)
        """
        return len(self)

    @property
    def ndims(self):
        """The number of dimensions, as `rank`.

        >>> gt.zeros([4]).shape.ndims
        1
        """
        return len(self)

    @property
    def dims(self):
        """The dimensions as a list (ints here, not TensorFlow's Dimension objects; None when
        the rank is unknown).

        >>> gt.zeros([2, 3]).shape.dims
        [2, 3]
        """
        return list(self)

    def as_list(self):
        """The dimensions as a list of ints (and None for unknown ones).

        >>> gt.zeros([2, 3]).shape.as_list()
        [2, 3]
        """
        return list(self)

    def num_elements(self):
        """The number of elements: the product of the dimensions (None unless fully defined).

        >>> gt.zeros([2, 3]).shape.num_elements(), gt.TensorShape([None, 3]).num_elements()
        (6, None)
        """
        n = 1
        for d in self:
            if d is None:
                return None
            n *= d
        return n

    def is_fully_defined(self):
        """Whether every dimension is known (always true of a tensor's shape).

        >>> gt.zeros([2]).shape.is_fully_defined(), gt.TensorShape([None]).is_fully_defined()
        (True, False)
        """
        return all(d is not None for d in self)

    # -- combining shapes ------------------------------------------------------------------

    def concatenate(self, other):
        """This shape's dimensions followed by `other`'s (any shape-like value).

        >>> gt.TensorShape([2, 3]).concatenate([4])
        TensorShape([2, 3, 4])
        """
        other = _as_shape(other)
        if self.rank is None or other.rank is None:
            return _UnknownShape()
        return _make(tuple(self) + tuple(other))

    def is_compatible_with(self, other):
        """Whether `other` could be the same shape: the same rank, and equal dimensions where
        both are known.

        >>> s = gt.TensorShape([2, 3])
        >>> s.is_compatible_with([2, 3]), s.is_compatible_with([None, 3]), s.is_compatible_with([2])
        (True, True, False)
        """
        other = _as_shape(other)
        if self.rank is None or other.rank is None:
            return True
        if self.rank != other.rank:
            return False
        return all(a is None or b is None or a == b for a, b in zip(self, other))

    def assert_is_compatible_with(self, other):
        """Raises ValueError unless `is_compatible_with(other)`.

        >>> gt.TensorShape([2, 3]).assert_is_compatible_with([2, None])
        >>> gt.TensorShape([2, 3]).assert_is_compatible_with([3, 3])
        Traceback (most recent call last):
        ValueError: Shapes (2, 3) and [3, 3] are incompatible
        """
        if not self.is_compatible_with(other):
            raise ValueError("Shapes %s and %s are incompatible" % (self, other))

    def merge_with(self, other):
        """The shape with the dimensions known in either shape; ValueError when they are not
        compatible.

        >>> gt.TensorShape([2, None]).merge_with([None, 3])
        TensorShape([2, 3])
        """
        other = _as_shape(other)
        if self.rank is None:
            return other
        if other.rank is None:
            return _make(tuple(self))
        if not self.is_compatible_with(other):
            raise ValueError("Shapes %s and %s are not compatible" % (self, other))
        return _make(tuple(b if a is None else a for a, b in zip(self, other)))

    def most_specific_compatible_shape(self, other):
        """The most specific shape both shapes are compatible with: dimensions that differ
        (or are unknown in either) become None; unknown rank when the ranks differ.

        >>> gt.TensorShape([2, 3]).most_specific_compatible_shape([4, 3])
        TensorShape([None, 3])
        """
        other = _as_shape(other)
        if self.rank is None or other.rank is None or self.rank != other.rank:
            return _UnknownShape()
        return _make(tuple(a if a is not None and a == b else None for a, b in zip(self, other)))

    # -- rank checks -----------------------------------------------------------------------

    def assert_same_rank(self, other):
        """Raises ValueError when both ranks are known and differ.

        >>> gt.TensorShape([2, 3]).assert_same_rank([5, 5])
        """
        other = _as_shape(other)
        if self.rank is not None and other.rank is not None and self.rank != other.rank:
            raise ValueError("Shapes %s and %s must have the same rank" % (self, other))

    def assert_has_rank(self, rank):
        """Raises ValueError when the rank is known and is not `rank`.

        >>> gt.TensorShape([2, 3]).assert_has_rank(2)
        """
        if self.rank not in (None, rank):
            raise ValueError("Shape %s must have rank %d" % (self, rank))

    def with_rank(self, rank):
        """This shape, known to have rank `rank` (ValueError when it cannot).

        >>> gt.TensorShape([2, 3]).with_rank(2), gt.TensorShape(None).with_rank(2)
        (TensorShape([2, 3]), TensorShape([None, None]))
        """
        try:
            return self.merge_with(_make((None,) * rank))
        except ValueError:
            raise ValueError("Shape %s must have rank %d" % (self, rank)) from None

    def with_rank_at_least(self, rank):
        """This shape, when its rank is at least `rank` (ValueError otherwise).

        >>> gt.TensorShape([2, 3]).with_rank_at_least(1)
        TensorShape([2, 3])
        """
        if self.rank is not None and self.rank < rank:
            raise ValueError("Shape %s must have rank at least %d" % (self, rank))
        return self

    def with_rank_at_most(self, rank):
        """This shape, when its rank is at most `rank` (ValueError otherwise).

        >>> gt.TensorShape([2, 3]).with_rank_at_most(3)
        TensorShape([2, 3])
        """
        if self.rank is not None and self.rank > rank:
            raise ValueError("Shape %s must have rank at most %d" % (self, rank))
        return self

    # -- Python protocols ------------------------------------------------------------------

    def __getitem__(self, key):
        if isinstance(key, slice):
            return _make(tuple.__getitem__(self, key))
        return tuple.__getitem__(self, key)

    def __add__(self, other):
        return self.concatenate(other)

    def __radd__(self, other):
        return _as_shape(other).concatenate(self)

    def __mul__(self, other):
        return NotImplemented  # (not a tuple's repetition: TensorFlow's shapes have no `*`)

    __rmul__ = __mul__

    def __eq__(self, other):
        try:
            other = _as_shape(other)
        except (TypeError, ValueError):
            return NotImplemented
        if self.rank is None or other.rank is None:
            return self.rank is None and other.rank is None
        return tuple(self) == tuple(other)

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return tuple.__hash__(self)

    def __bool__(self):
        return True  # (TensorFlow: a shape of known rank is true, even the scalar shape ())

    def __repr__(self):
        return "TensorShape(%s)" % list(self)

    def __str__(self):
        return _shape_str(tuple(self))


class _PartialShape(TensorShape):
    """A shape of known rank with some dimensions unknown (None): a TensorSpec's shape."""

    __slots__ = ()


class _UnknownShape(TensorShape):
    """A shape whose rank is unknown (`gt.TensorShape(None)`): no dimensions to list."""

    __slots__ = ()

    def __new__(cls, dims=None):
        return tuple.__new__(cls)

    def __getnewargs__(self):
        return ()

    @property
    def rank(self):
        return None

    @property
    def ndims(self):
        return None

    @property
    def dims(self):
        return None

    def as_list(self):
        raise ValueError("as_list() is not defined on an unknown TensorShape.")

    def num_elements(self):
        return None

    def is_fully_defined(self):
        return False

    def __len__(self):
        raise ValueError("Cannot take the length of shape with unknown rank.")

    def __iter__(self):
        raise ValueError("Cannot iterate over a shape with unknown rank.")

    def __getitem__(self, key):
        return _UnknownShape() if isinstance(key, slice) else None

    def __hash__(self):
        return hash(_UnknownShape)

    def __bool__(self):
        return False

    def __repr__(self):
        return "TensorShape(None)"

    def __str__(self):
        return "<unknown>"


class _TracedShape(TensorShape):
    """The `.shape` of a tensor computed from a gt.function's inputs, while it is being traced:
    the real dimensions, and each dimension the Python code reads is noted by the trace
    (`_core._note_shape_read`), so that the program is never reused at a size where what the
    code read differs (docs/guides/function.md, "One program for all sizes"). Reading the rank
    (`len`, `.rank`) notes only that the rank is read (it matters after a squeeze without axes,
    whose rank depends on the sizes: `_core._note_rank_read`); indexing notes the dimensions
    indexed; anything that sees every dimension (iteration, comparison, hashing, printing,
    as_list) notes them all."""

    def __new__(cls, dims, tensor):
        self = tuple.__new__(cls, dims)
        self._tensor = tensor
        return self

    def _read(self, dim=-1):
        from . import _core
        _core._note_shape_read(self._tensor, dim)

    def __len__(self):
        from . import _core
        _core._note_rank_read(self._tensor)
        return tuple.__len__(self)

    def __getitem__(self, key):
        n = tuple.__len__(self)
        if isinstance(key, slice):
            for d in range(n)[key]:
                self._read(d)
            return _make(tuple.__getitem__(self, key))
        d = operator.index(key)
        if -n <= d < n:
            self._read(d % n)
        return tuple.__getitem__(self, key)

    def __iter__(self):
        self._read()
        return tuple.__iter__(self)

    def __reversed__(self):
        self._read()
        return reversed(tuple(tuple.__iter__(self)))

    def is_fully_defined(self):
        return True  # (a tensor's shape: whatever its sizes)

    def __reduce__(self):
        self._read()
        return (TensorShape, (list(tuple.__iter__(self)),))

    def __copy__(self):
        self._read()
        return _make(tuple(tuple.__iter__(self)))

    def __deepcopy__(self, memo):
        return self.__copy__()


def _reading(base, name):
    """base.name, noting first that every dimension is read (the comparisons, hashing and the
    searches of a tuple see all of them)."""
    method = getattr(base, name)

    def read_all(self, *args):
        self._read()
        return method(self, *args)
    read_all.__name__ = read_all.__qualname__ = name
    return read_all


for _base, _names in ((tuple, ("__contains__", "index", "count", "__hash__", "__lt__", "__le__", "__gt__", "__ge__")),
                      (TensorShape, ("__eq__", "__ne__"))):
    for _name in _names:
        setattr(_TracedShape, _name, _reading(_base, _name))
