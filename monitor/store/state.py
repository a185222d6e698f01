"""Per-target state and the daemon's control files: what the monitor remembers about a target between checks.

Layout, beside each target's snapshots (monitor.store.snapshots):
  <target>/state.json   error streak, last change, and the rest as of its last write (durable)
  <target>/check.json   what every check refreshes: time, status, validators, content fingerprint (a cache,
                        overwritten in place: see load_state)
  (the target's writer lock is an flock on the <target> folder itself)
  daemon.json, .daemon.lock, .requests/<target>.json   the running daemon's status, its lock, check-now requests
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError, StoreError
from monitor.models import NAME_RE, TargetState, Validators
from monitor.store.durable import read_cache_json, read_json, write_cache_json, write_json
from monitor.store.lock import FileLock, locked

_EVENTS = ("error", "removed")
CHECKS = "check.json"  # what every check refreshes (StateStore.load_state)
DAEMON_STATUS = "daemon.json"  # written by the running daemon (pid, next runs); read by status, the app
_CHECK_FIELDS = ("last_checked", "last_status", "etag", "last_modified", "fingerprint")


def iso(when: datetime | None) -> str | None:
    """Return `when` as ISO 8601 UTC with a Z (None for None)."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z") if when else None


def parse_time(value: str | None) -> datetime | None:
    """Return the datetime of an iso() string (None for None or empty)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class StateStore:
    """Reads and writes per-target state and the daemon's control files below `root`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def target_dir(self, target: str) -> Path:
        """Return the folder of `target`; raise StoreError for a name that could escape the root."""
        if not NAME_RE.match(target):
            raise StoreError(f"invalid target name {target!r}")
        return self.root / target

    def lock_target(self, target: str, wait: float) -> AbstractContextManager[FileLock]:
        """Return a context manager holding `target`'s lock; entering raises LockedError after `wait` seconds."""
        return locked(self.target_dir(target), wait, f"target {target}", folder=True)

    def daemon_lock(self) -> FileLock:
        """Return the (unacquired) lock that makes one daemon per snapshots dir."""
        return FileLock(self.root / ".daemon.lock")

    def request_check(self, target: str, when: datetime) -> None:
        """Ask the running daemon to check `target` at its next pass (`.requests/<target>.json`). Raises
        StoreError."""
        if not NAME_RE.match(target):
            raise StoreError(f"invalid target name {target!r}")
        write_json(self.root / ".requests" / f"{target}.json", {"version": 1, "requested_at": when.isoformat()})

    def take_check_requests(self) -> list[str]:
        """Return the targets asked for by request_check (oldest first) and forget the requests."""
        folder = self.root / ".requests"
        found = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
        names = []
        for path in found:
            path.unlink(missing_ok=True)
            if NAME_RE.match(path.stem):
                names.append(path.stem)
        return names

    def daemon_status(self) -> dict[str, Any] | None:
        """Return the running daemon's status document (`daemon.json`: pid, next runs), or None when no daemon
        holds this snapshots dir."""
        lock = self.daemon_lock()
        if not lock.path.exists():
            return None
        if lock.acquire(0):  # nobody holds it: no daemon
            lock.close()
            return None
        try:
            return read_json(self.root / DAEMON_STATUS)
        except MonitorError:
            return None

    def load_state(self, target: str) -> TargetState:
        """Return the target's remembered state (an empty state if there is none). Raises StoreError.

        `state.json` is durable and holds everything (it is absent while the defaults hold: no error streak,
        no change yet; a new page's first check writes only check.json); `check.json`, overwritten in place
        by every check without waiting for the disk, holds what a check refreshes (time, status, validators,
        fingerprint) and wins when it is whole and newer. Read mid-write or cut by a power cut its seal does not match
        (read_cache_json): then the durable values count, and the check after takes the full path once.
        """
        folder = self.target_dir(target)
        doc = read_json(folder / "state.json", missing={})
        try:
            checks = read_cache_json(folder / CHECKS, missing={})
        except StoreError:
            checks = {}  # lost to a power cut, or read mid-write: the durable state has older values of the same
        if not doc and not checks:
            return TargetState()
        if str(checks.get("last_checked") or "") >= str(doc.get("last_checked") or ""):
            doc = {**doc, **{k: checks.get(k) for k in _CHECK_FIELDS}}
        return TargetState(
            last_checked=parse_time(doc.get("last_checked")),
            last_status=doc.get("last_status"),
            last_error=doc.get("last_error"),
            last_change=parse_time(doc.get("last_change")),
            consecutive_failures=int(doc.get("consecutive_failures", 0)),
            validators=Validators(doc.get("etag"), doc.get("last_modified")),
            failing_since=parse_time(doc.get("failing_since")),
            last_error_status=doc.get("last_error_status"),
            reported=doc.get("reported") if doc.get("reported") in _EVENTS else None,
            fingerprint=doc.get("fingerprint") if isinstance(doc.get("fingerprint"), str) else None,
        )

    def save_state(self, target: str, state: TargetState, previous: TargetState | None = None) -> None:
        """Remember the target's state. Raises StoreError.

        Given the `previous` state, a change of nothing but what a check refreshes every time goes to
        `check.json` only, without fsync (see load_state); anything that decides reports (an error streak, the
        last change) rewrites the durable `state.json` first. A target without state.json gets one only when
        such a value leaves its default: a new page's first check writes check.json alone.
        """
        folder = self.target_dir(target)
        durable = (folder / "state.json").exists()
        checks = {
            "last_checked": iso(state.last_checked),
            "last_status": state.last_status,
            "etag": state.validators.etag,
            "last_modified": state.validators.last_modified,
            "fingerprint": state.fingerprint,
        }
        # Without state.json the durable values are the defaults (load_state): a target whose checks have
        # changed none of them (a new page, fetched and stored) needs no state.json at all.
        if previous is None or _events_of(previous) != _events_of(state) \
                or (not durable and _events_of(state) != _QUIET):
            write_json(folder / "state.json", {
                **checks,
                "last_error": state.last_error,
                "last_change": iso(state.last_change),
                "consecutive_failures": state.consecutive_failures,
                "failing_since": iso(state.failing_since),
                "last_error_status": state.last_error_status,
                "reported": state.reported,
            })
            if not durable and not (folder / CHECKS).exists():
                return  # state.json holds the same values: check.json is made by the next check (one file less)
        write_cache_json(folder / CHECKS, checks)


def _events_of(state: TargetState) -> tuple[object, ...]:
    """The part of a state that decides what gets reported (error streaks, the last change)."""
    return (state.consecutive_failures, state.failing_since, state.reported, state.last_error,
            state.last_error_status, state.last_change)


_QUIET = _events_of(TargetState())  # no error streak, nothing reported, no change yet
