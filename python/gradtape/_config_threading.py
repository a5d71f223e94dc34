"""gt.config.threading: tf.config.threading's thread settings. Intra-op threads are the threads of
gradtape's kernel pool (gt.config.set_num_threads); gradtape runs ops one at a time, so the
inter-op setting is stored and reported but changes nothing. 0 means "the default", as in
TensorFlow.
"""
from . import _core

__all__ = ["get_intra_op_parallelism_threads", "set_intra_op_parallelism_threads",
           "get_inter_op_parallelism_threads", "set_inter_op_parallelism_threads"]

_settings = {"intra": 0, "inter": 0}
_default_pool = []


def _count(num_threads, what):
    n = int(num_threads)
    if n < 0:
        raise ValueError("%s: num_threads must be non-negative, got %d" % (what, n))
    return n


def get_intra_op_parallelism_threads():
    """The intra-op thread count last set, 0 (the default) if none was.

    >>> gt.config.threading.get_intra_op_parallelism_threads()
    0
    """
    return _settings["intra"]


def set_intra_op_parallelism_threads(num_threads):
    """Sets the threads one op may use: gradtape's kernel pool size; 0 restores the default
    (tf.config.threading.set_intra_op_parallelism_threads).

    >>> gt.config.threading.set_intra_op_parallelism_threads(1)
    >>> gt.config.get_num_threads()
    1
    >>> gt.config.threading.set_intra_op_parallelism_threads(0)
    """
    n = _count(num_threads, "set_intra_op_parallelism_threads")
    if not _default_pool:
        _default_pool.append(_core._num_threads())
    _core._set_num_threads(n if n > 0 else _default_pool[0])
    _settings["intra"] = n


def get_inter_op_parallelism_threads():
    """The inter-op thread count last set, 0 (the default) if none was.

    >>> gt.config.threading.get_inter_op_parallelism_threads()
    0
    """
    return _settings["inter"]


def set_inter_op_parallelism_threads(num_threads):
    """Stores the number of ops that may run at once (gradtape runs them one at a time, so it
    changes nothing; tf.config.threading.set_inter_op_parallelism_threads).

    >>> gt.config.threading.set_inter_op_parallelism_threads(2)
    >>> gt.config.threading.get_inter_op_parallelism_threads()
    2
    >>> gt.config.threading.set_inter_op_parallelism_threads(0)
    """
    _settings["inter"] = _count(num_threads, "set_inter_op_parallelism_threads")
