"""gt.train.CheckpointManager: numbered checkpoints in a directory, keeping the newest few.

A save writes the new checkpoint (atomically, see checkpoint.py), then rewrites the directory's
state file naming it latest, and only then deletes the checkpoints beyond `max_to_keep`; a kill
between any two steps leaves a state file that names intact checkpoints.
"""
from __future__ import annotations

import os
import time
from typing import List, Optional

from .checkpoint import SUFFIX, _update_state, get_checkpoint_state

__all__ = ["CheckpointManager"]


class CheckpointManager:
    """Saves `checkpoint` as `directory/checkpoint_name-N`, keeping the last `max_to_keep`
    (all when None).

    >>> import os, tempfile
    >>> v = gt.Variable(0.0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     manager = gt.train.CheckpointManager(gt.train.Checkpoint(v=v), d, max_to_keep=2)
    ...     for step in range(3):
    ...         _ = v.assign_add(1.0)
    ...         _ = manager.save()
    ...     kept = [os.path.basename(p) for p in manager.checkpoints]
    ...     files = sorted(f for f in os.listdir(d) if f.endswith(".npz"))
    >>> kept, files
    (['ckpt-2', 'ckpt-3'], ['ckpt-2.npz', 'ckpt-3.npz'])
    """

    def __init__(self, checkpoint, directory, max_to_keep, keep_checkpoint_every_n_hours=None,
                 checkpoint_name="ckpt", step_counter=None, checkpoint_interval=None, init_fn=None):
        if directory is None:
            raise ValueError("Checkpoint directory must be specified.")
        if max_to_keep is not None and max_to_keep <= 0:
            raise ValueError("Expected a positive integer or `None` for `max_to_keep`, got %d."
                             % max_to_keep)
        self._checkpoint = checkpoint
        self._directory = os.fspath(directory)
        self._max_to_keep = max_to_keep
        self._keep_every = keep_checkpoint_every_n_hours
        self._name = checkpoint_name
        self._step_counter = step_counter
        self._interval = checkpoint_interval
        self._init_fn = init_fn
        self._last_step = None
        state = get_checkpoint_state(self._directory)
        self._kept = []  # [(prefix, timestamp)], oldest first
        self._latest = None
        if state is not None:
            stamps = state["all_model_checkpoint_timestamps"]
            for i, p in enumerate(state["all_model_checkpoint_paths"]):
                if os.path.isfile(p + SUFFIX):
                    self._kept.append((p, stamps[i] if i < len(stamps) else time.time()))
            if os.path.isfile(state["model_checkpoint_path"] + SUFFIX):
                self._latest = state["model_checkpoint_path"]
        self._last_preserved = time.time()

    @property
    def directory(self) -> str:
        """The directory the checkpoints are in.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     gt.train.CheckpointManager(gt.train.Checkpoint(), d, max_to_keep=1).directory == d
        True
        """
        return self._directory

    @property
    def checkpoint(self):
        """The gt.train.Checkpoint this manager saves.

        >>> import tempfile
        >>> ckpt = gt.train.Checkpoint()
        >>> with tempfile.TemporaryDirectory() as d:
        ...     gt.train.CheckpointManager(ckpt, d, max_to_keep=1).checkpoint is ckpt
        True
        """
        return self._checkpoint

    @property
    def checkpoint_interval(self):
        """The minimum number of steps between saves (None: every save).

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     print(gt.train.CheckpointManager(gt.train.Checkpoint(), d, max_to_keep=1).checkpoint_interval)
        None
        """
        return self._interval

    @property
    def latest_checkpoint(self) -> Optional[str]:
        """The prefix of the newest checkpoint (from this manager or found in the directory).

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     manager = gt.train.CheckpointManager(gt.train.Checkpoint(v=gt.Variable(1.0)), d, max_to_keep=3)
        ...     print(manager.latest_checkpoint)
        ...     path = manager.save()
        ...     manager.latest_checkpoint == path
        None
        True
        """
        return self._latest

    @property
    def checkpoints(self) -> List[str]:
        """The prefixes of the checkpoints kept, oldest first.

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     manager = gt.train.CheckpointManager(gt.train.Checkpoint(v=gt.Variable(1.0)), d, max_to_keep=2)
        ...     paths = [manager.save() for _ in range(3)]
        ...     manager.checkpoints == paths[1:]
        True
        """
        return [p for p, _ in self._kept]

    def save(self, checkpoint_number=None, check_interval=True, options=None) -> Optional[str]:
        """Saves a new checkpoint and returns its prefix (None when `checkpoint_interval` says
        it is not yet time).

        >>> import os, tempfile
        >>> step = gt.Variable(0, dtype=gt.int64)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     manager = gt.train.CheckpointManager(gt.train.Checkpoint(step=step), d, max_to_keep=None,
        ...                                          step_counter=step, checkpoint_interval=10)
        ...     saved = []
        ...     for _ in range(25):
        ...         _ = step.assign_add(1)
        ...         saved.append(manager.save() is not None)
        >>> [i + 1 for i, s in enumerate(saved) if s]  # the steps that saved
        [1, 11, 21]
        """
        if self._interval is not None and check_interval:
            if self._step_counter is None:
                raise ValueError("`step_counter` should be passed if `checkpoint_interval` is not None.")
            step = int(self._step_counter.numpy())
            if self._last_step is not None and step < self._last_step + self._interval:
                return None
            self._last_step = step
        counter = self._checkpoint.save_counter
        counter.assign_add(1)
        if checkpoint_number is None:
            number = int(counter.numpy())
        else:
            number = int(checkpoint_number.numpy() if hasattr(checkpoint_number, "numpy")
                         else checkpoint_number)
        prefix = os.path.join(self._directory, "%s-%d" % (self._name, number))
        self._checkpoint.write(prefix)
        now = time.time()
        self._kept = [(p, t) for p, t in self._kept if p != prefix] + [(prefix, now)]
        doomed = []
        if self._max_to_keep is not None:
            while len(self._kept) > self._max_to_keep:
                p, t = self._kept.pop(0)
                if self._keep_every is not None and t - self._last_preserved >= self._keep_every * 3600:
                    self._last_preserved = t
                    continue
                doomed.append(p)
        self._latest = prefix
        _update_state(self._directory, prefix, [p for p, _ in self._kept], [t for _, t in self._kept])
        for p in doomed:
            try:
                os.unlink(p + SUFFIX)
            except FileNotFoundError:
                pass
        return prefix

    def restore_or_initialize(self) -> Optional[str]:
        """Restores the latest checkpoint and returns its prefix, or calls `init_fn` and returns
        None when there is none.

        >>> import os, tempfile
        >>> v = gt.Variable(0.0)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     manager = gt.train.CheckpointManager(gt.train.Checkpoint(v=v), d, max_to_keep=1,
        ...                                          init_fn=lambda: v.assign(-1.0))
        ...     print(manager.restore_or_initialize(), float(v))  # nothing saved yet: init_fn
        ...     _ = v.assign(5.0)
        ...     path = manager.save()
        ...     _ = v.assign(0.0)
        ...     manager.restore_or_initialize() == path, float(v)
        None -1.0
        (True, 5.0)
        """
        if self._latest is not None:
            self._checkpoint.restore(self._latest)
            return self._latest
        if self._init_fn is not None:
            self._init_fn()
        return None
