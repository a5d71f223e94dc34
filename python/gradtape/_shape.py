"""TensorShape: the tuple a tensor's `.shape` returns, with TensorFlow's helpers."""


class TensorShape(tuple):
    """A tuple of ints, with `as_list()`, `rank` and `num_elements()` as in TensorFlow.

    >>> s = gt.zeros([2, 3]).shape
    >>> s, s.as_list(), s.rank, s.num_elements(), s[1]
    (TensorShape([2, 3]), [2, 3], 2, 6, 3)
    """

    __slots__ = ()

    def as_list(self):
        """The dimensions as a list of ints."""
        return list(self)

    @property
    def rank(self):
        """The number of dimensions."""
        return len(self)

    @property
    def ndims(self):
        """The number of dimensions (as rank)."""
        return len(self)

    def num_elements(self):
        """The number of elements: the product of the dimensions."""
        n = 1
        for d in self:
            n *= d
        return n

    def __repr__(self):
        return "TensorShape(%s)" % list(self)

    def __str__(self):
        return tuple.__repr__(self)
