"""TensorShape: the tuple a tensor's `.shape` returns, with TensorFlow's helpers."""


class TensorShape(tuple):
    """A tuple of ints, with `as_list()`, `rank` and `num_elements()` as in TensorFlow."""

    __slots__ = ()

    def as_list(self):
        return list(self)

    @property
    def rank(self):
        return len(self)

    @property
    def ndims(self):
        return len(self)

    def num_elements(self):
        n = 1
        for d in self:
            n *= d
        return n

    def __repr__(self):
        return "TensorShape(%s)" % list(self)

    def __str__(self):
        return tuple.__repr__(self)
