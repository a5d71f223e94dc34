"""Deferred restoration: checkpoint values waiting for variables that do not exist yet.

When a checkpoint is restored, a saved value whose object is not yet in the live object graph
(an optimizer's slot, a layer built on first call) waits here, filed under the deepest live
object on its path together with the rest of the path. When that object gains a dependency
(a gt.Module's attribute assignment calls `dependency_added`; any other object, an optimizer
say, calls `gt.train.restore_deferred(obj)` after it makes variables), the object's subgraph is
walked again and each waiting value whose path now leads to a variable is assigned to it.
Nothing waits unless a restore left values unmatched, so the check is one dict lookup.
"""
import weakref

# id(owner) -> [weakref or strong ref to owner, {checkpoint key: Waiting}]
_waiting = {}


class Waiting:
    __slots__ = ("key", "value", "status", "owner_path")

    def __init__(self, key, value, status, owner_path):
        self.key, self.value, self.status, self.owner_path = key, value, status, owner_path


def _ref(obj):
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj


def add(owner, waiting):
    entry = _waiting.get(id(owner))
    if entry is None or entry[0]() is not owner:
        entry = _waiting[id(owner)] = [_ref(owner), {}]
    entry[1][waiting.key] = waiting


def dependency_added(owner):
    """Restores the waiting values that `owner`'s subgraph now has variables for."""
    if not _waiting:
        return
    entry = _waiting.get(id(owner))
    if entry is None:
        return
    if entry[0]() is not owner:  # a dead owner's id was reused
        del _waiting[id(owner)]
        return
    _retry(id(owner), owner, entry[1])


def _retry(key, owner, entries):
    """Assigns owner's waiting values whose variables exist now; forgets the owner when none
    is left waiting."""
    from .train import checkpoint
    checkpoint._restore_waiting(owner, entries)
    if not entries:
        _waiting.pop(key, None)


def retry_all():
    """Restores every waiting value whose variable now exists, under whichever owner it waits:
    for an object that made variables without knowing which objects hold it (an optimizer's
    build, when the optimizer was attached to its model after the restore). Nothing to do
    unless a restore left values unmatched."""
    for key, (ref, entries) in list(_waiting.items()):
        owner = ref()
        if owner is not None:
            _retry(key, owner, entries)


def waiting_for(status):
    """The waiting values restored by `status` that have not found their variables yet."""
    out = []
    for ref, entries in list(_waiting.values()):
        if ref() is None:
            continue
        out.extend(w for w in entries.values() if w.status is status)
    return out


def forget(status):
    for key, (ref, entries) in list(_waiting.items()):
        for p in [p for p, w in entries.items() if w.status is status or ref() is None]:
            del entries[p]
        if not entries:
            del _waiting[key]


def forget_stale():
    """Drops the waiting values of owners that no longer exist."""
    for key, (ref, _) in list(_waiting.items()):
        if ref() is None:
            del _waiting[key]
