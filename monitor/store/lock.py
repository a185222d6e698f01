"""Inter-process locks (fcntl.flock): one per target while it is checked (on the target's folder itself), one
per data dir for the daemon (a `.daemon.lock` file that also says who holds it)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from monitor.errors import LockedError

logger = logging.getLogger(__name__)

_POLL = 0.05


class FileLock:
    """An exclusive advisory lock on `path`; released on close() or when the process dies (even by SIGKILL).

    With `folder=True`, `path` is a folder (created when missing) and the lock is taken on the folder itself:
    no lock file, so a new target costs one file (one inode to allocate) less.
    """

    def __init__(self, path: Path, *, folder: bool = False) -> None:
        self.path = path
        self._folder = folder
        self._fd: int | None = None

    def _open(self) -> int:
        if self._folder:
            return os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def acquire(self, wait: float = 0.0) -> bool:
        """Try for up to `wait` seconds; return True once held, False if another process still holds it.
        Raises OSError when the lock cannot be opened."""
        try:
            fd = self._open()
        except FileNotFoundError:  # the folder is created on first use
            (self.path if self._folder else self.path.parent).mkdir(parents=True, exist_ok=True)
            fd = self._open()
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(_POLL)
                continue
            self._fd = fd
            return True

    def write_note(self, note: str) -> None:
        """Record who holds the lock (e.g. a pid) inside the lock file (not for a folder's lock)."""
        if self._fd is not None and not self._folder:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, note.encode(), 0)

    def read_note(self) -> str:
        """Return what the holder recorded, or '' if nothing (readable without holding the lock)."""
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def close(self) -> None:
        """Release the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextlib.contextmanager
def locked(path: Path, wait: float, what: str, *, folder: bool = False) -> Iterator[FileLock]:
    """Hold the lock at `path` (a folder's, with `folder`) for the block; raise LockedError naming `what` if not
    had within `wait` seconds."""
    lock = FileLock(path, folder=folder)
    try:
        ok = lock.acquire(wait)
    except OSError as exc:
        raise LockedError(f"cannot lock {path}: {exc.strerror or exc}") from exc
    if not ok:
        raise LockedError(f"{what} is busy in another process (waited {wait:g}s); skipped")
    try:
        yield lock
    finally:
        lock.close()
