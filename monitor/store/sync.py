"""Making writes durable: one syncfs shared by the threads that wait together (group commit), else fsync.

`flush(fd)` returns once what was written before the call is on disk: the file's data, or for a folder its
entries (renames, new files). On Linux it waits for a syncfs(2) of the fd's filesystem that *started* after
the call; threads that call while one runs share the next, so a round of checks makes a few disk flushes
where it made seven per new target. Elsewhere, or with `MONITOR_SYNC=fsync` (a disk shared with a busy
database, whose writes a syncfs would flush too), it is fsync(2) of that one fd. The order of a caller's
writes is kept either way: each flush covers everything the calling thread wrote before it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


def _syncfs() -> Callable[[int], int] | None:
    """Return libc's syncfs, or None where it is missing or turned off."""
    if os.environ.get("MONITOR_SYNC", "").lower() == "fsync" or not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes, function.restype = [ctypes.c_int], ctypes.c_int
    return function  # type: ignore[no-any-return]


class _Group:
    """The syncfs runs of one filesystem: how many started and finished, whether one is running, and the
    last that failed (its waiters fall back to their own fsync, which raises the error)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.started = self.done = self.failed = 0
        self.running = False


_SYNCFS = _syncfs()
_groups: dict[int, _Group] = {}
_groups_lock = threading.Lock()


def _reset_after_fork() -> None:
    global _groups_lock
    _groups.clear()
    _groups_lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def shared() -> bool:
    """True when one flush makes everything on its filesystem durable (syncfs), not just its own fd."""
    return _SYNCFS is not None


def flush_path(path: str | os.PathLike[str]) -> None:
    """Flush the file at `path` (its data), or the folder (its entries: renames, new files). Raises OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        flush(fd)
    finally:
        os.close(fd)


def flush(fd: int) -> None:
    """Return once what was written through `fd` (and, with syncfs, everything else on its filesystem)
    before the call is durable. Raises OSError when the disk reports an error."""
    if _SYNCFS is None:
        os.fsync(fd)
        return
    device = os.fstat(fd).st_dev
    with _groups_lock:
        group = _groups.setdefault(device, _Group())
    with group.cond:
        wanted = group.started + 1  # a run that started before this call may have missed its writes
        while group.done < wanted:
            if group.running:
                group.cond.wait()
                continue
            group.running = True
            group.started += 1
            run = group.started
            group.cond.release()
            ok = False
            try:
                ok = _SYNCFS(fd) == 0
                if not ok:
                    logger.warning("syncfs failed (%s); fsyncing file by file", os.strerror(ctypes.get_errno()))
            finally:
                group.cond.acquire()
                group.done, group.running = run, False
                if not ok:
                    group.failed = run
                group.cond.notify_all()
        failed = group.failed >= wanted
    if failed:
        os.fsync(fd)
