"""TensorFlow's file errors and FailedPreconditionError, defined in Python (the core raises none
of them)."""


class NotFoundError(FileNotFoundError):
    """A file or checkpoint that does not exist (tf.errors.NotFoundError); also a
    FileNotFoundError.

    >>> try:
    ...     list(gt.data.TextLineDataset("/no/such/file.txt"))
    ... except gt.errors.NotFoundError:
    ...     print("not found")
    not found
    """


class DataLossError(Exception):
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


class FailedPreconditionError(Exception):
    """An op refused its arguments because of a condition TensorFlow checks as a precondition
    (tf.errors.FailedPreconditionError): linalg.cross of vectors that do not have 3 elements.

    >>> try:
    ...     gt.linalg.cross([1.0, 0.0], [0.0, 1.0])
    ... except gt.errors.FailedPreconditionError:
    ...     print("not 3-element vectors")
    not 3-element vectors
    """
