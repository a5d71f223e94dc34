"""gt.train: checkpoints (Checkpoint, CheckpointManager and the functions to read them)."""
from .checkpoint import (  # noqa: F401
    Checkpoint, CheckpointLoadStatus, get_checkpoint_state, latest_checkpoint, list_variables,
    load_variable, restore_deferred,
)
from .manager import CheckpointManager  # noqa: F401

__all__ = ["Checkpoint", "CheckpointLoadStatus", "CheckpointManager", "get_checkpoint_state",
           "latest_checkpoint", "list_variables", "load_variable", "restore_deferred"]
