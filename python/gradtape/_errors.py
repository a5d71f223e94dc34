"""TensorFlow's error classes that the core never raises, defined in Python over the core's
OpError: the file errors, FailedPreconditionError, OutOfRangeError (the end of an iterator's
get_next) and the rest of tf.errors, for programs that raise or catch them by name."""
from ._core import OpError


def _message(self):
    return self.args[2] if len(self.args) >= 3 and isinstance(self.args[2], str) else (str(self.args[0]) if self.args else "")


def _str(self):
    return _message(self) if len(self.args) >= 3 else Exception.__str__(self)


def _op_error_init(self, *args, **kwargs):
    """TensorFlow's OpError(node_def, op, message, error_code) (positional or by keyword); a
    message alone, as the core raises them, stays Python's one-argument form."""
    if kwargs or len(args) >= 3:
        names = ("node_def", "op", "message", "error_code")
        given = dict(zip(names, args))
        given.update(kwargs)
        unknown = set(given) - set(names)
        if unknown:
            raise TypeError("unexpected keyword arguments: %s" % sorted(unknown))
        Exception.__init__(self, given.get("node_def"), given.get("op"), given.get("message"))
        if given.get("error_code") is not None:
            self.error_code = given["error_code"]
    else:
        Exception.__init__(self, *args)


OpError.__init__ = _op_error_init
OpError.message = property(_message, doc="The error's text (TensorFlow's OpError.message).")
OpError.op = property(lambda self: self.args[1] if len(self.args) >= 3 else None,
                      doc="The operation that failed: None in eager code (TensorFlow's OpError.op).")
OpError.node_def = property(lambda self: self.args[0] if len(self.args) >= 3 else None,
                            doc="None: gradtape has no graph nodes (TensorFlow's OpError.node_def).")
OpError.__str__ = _str
OpError.__doc__ = """The base class of TensorFlow's op errors (tf.errors.OpError): `except gt.errors.OpError`
catches InvalidArgumentError, ResourceExhaustedError, NotFoundError, OutOfRangeError and the
others. `e.message` is the text.

>>> try:
...     gt.reshape(gt.zeros([2, 3]), [4])
... except gt.errors.OpError as e:
...     print(type(e).__name__, e.error_code)
InvalidArgumentError 3
"""


class NotFoundError(OpError, FileNotFoundError):
    """A file or checkpoint that does not exist (tf.errors.NotFoundError); also a
    FileNotFoundError.

    >>> try:
    ...     list(gt.data.TextLineDataset("/no/such/file.txt"))
    ... except gt.errors.NotFoundError:
    ...     print("not found")
    not found
    """

    def __init__(self, *args, **kwargs):
        # OSError would read TensorFlow's (node_def, op, message) as (errno, strerror, filename)
        _op_error_init(self, *args, **kwargs)


class DataLossError(OpError):
    """A file that is truncated, corrupt or not of the expected format (tf.errors.DataLossError).

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with open(os.path.join(d, "ckpt.npz"), "wb") as f:
    ...         _ = f.write(b"not a checkpoint")
    ...     try:
    ...         gt.train.list_variables(os.path.join(d, "ckpt"))
    ...     except gt.errors.DataLossError:
    ...         print("corrupt")
    corrupt
    """


class FailedPreconditionError(OpError):
    """An op refused its arguments because of a condition TensorFlow checks as a precondition
    (tf.errors.FailedPreconditionError): linalg.cross of vectors that do not have 3 elements.

    >>> try:
    ...     gt.linalg.cross([1.0, 0.0], [0.0, 1.0])
    ... except gt.errors.FailedPreconditionError:
    ...     print("not 3-element vectors")
    not 3-element vectors
    """


class OutOfRangeError(OpError):
    """An iteration went past its end: `Iterator.get_next()` after the last element
    (tf.errors.OutOfRangeError; Python iteration stops with StopIteration instead).

    >>> it = iter(gt.data.Dataset.range(1))
    >>> int(it.get_next())
    0
    >>> try:
    ...     it.get_next()
    ... except gt.errors.OutOfRangeError:
    ...     print("end of sequence")
    end of sequence
    """


def _tf_error(name, code, doc):
    cls = type(name, (OpError,), {"__doc__": doc, "__module__": __name__})
    cls.error_code = code
    return cls


_EXAMPLE = """

    >>> try:
    ...     raise gt.errors.%s(None, None, "what failed")
    ... except gt.errors.OpError as e:
    ...     print(e.message, e.error_code)
    what failed %d
    """

# TensorFlow's remaining error classes: gradtape raises none of them, but programs raise and
# catch them by name. (name, tf.errors code, what TensorFlow means by it)
_MORE = [("CancelledError", 1, "An operation was cancelled"),
         ("UnknownError", 2, "An error of no other kind"),
         ("DeadlineExceededError", 4, "A deadline passed before the operation finished"),
         ("AlreadyExistsError", 6, "Something to be created exists already"),
         ("PermissionDeniedError", 7, "The caller may not do this"),
         ("AbortedError", 10, "An operation was aborted, typically by a concurrent action"),
         ("UnimplementedError", 12, "An operation that is not implemented"),
         ("InternalError", 13, "An internal invariant broke"),
         ("UnavailableError", 14, "A service is unavailable"),
         ("UnauthenticatedError", 16, "The request has no valid credentials")]
for _name, _code, _what in _MORE:
    globals()[_name] = _tf_error(_name, _code, "%s (tf.errors.%s).%s" % (_what, _name, _EXAMPLE % (_name, _code)))
