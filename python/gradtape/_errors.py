"""TensorFlow's file errors, defined in Python (the core raises neither)."""


class NotFoundError(FileNotFoundError):
    """A file or checkpoint that does not exist (tf.errors.NotFoundError); also a
    FileNotFoundError."""


class DataLossError(Exception):
    """A file that is truncated, corrupt or not of the expected format (tf.errors.DataLossError)."""
