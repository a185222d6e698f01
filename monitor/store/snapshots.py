"""Snapshot store on disk: one folder per target; atomic, versioned, content-identified files.

Layout of `<snapshots_dir>/<target>/`:
  <id>.txt       the normalized text (UTF-8), readable as is
  <id>.html.gz   the raw response body, gzip-compressed (live fetches only)
  <id>.json      metadata; written last, so its presence is what makes a snapshot visible
  state.json     error streak, last change, and the rest as of its last write (durable)
  check.json     what every check refreshes: time, status, validators, content fingerprint (a cache,
                 overwritten in place: see load_state)
where <id> is `<UTC time>-<first 12 hex of the text's sha256>`, so names sort by time.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
from contextlib import AbstractContextManager
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError, StoreError
from monitor.models import NAME_RE, SNAPSHOT_ID_RE, Snapshot, SnapshotSource, TargetState, Validators, time_id
from monitor.store.durable import fsync_dir, read_file, read_json, write_atomic, write_cache_json, write_json
from monitor.store.lock import FileLock, locked

logger = logging.getLogger(__name__)

_EVENTS = ("error", "removed")
# gzip level for raw bodies: on the benchmark's 100 KB pages level 3 takes 1.5 ms and 36.9 KB, level 6 2.8 ms
# and 35.3 KB (4 % smaller for twice the time).
RAW_GZIP_LEVEL = 3
CHECKS = "check.json"  # what every check refreshes (SnapshotStore.load_state)
DAEMON_STATUS = "daemon.json"  # written by the running daemon (pid, next runs); read by status, the app
_CHECK_FIELDS = ("last_checked", "last_status", "etag", "last_modified", "fingerprint")


def sha256_text(text: str) -> str:
    """Return the hex sha256 of `text` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z") if when else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class SnapshotStore:
    """Reads and writes snapshots and per-target state below `root`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def target_dir(self, target: str) -> Path:
        """Return the folder of `target`; raise StoreError for a name that could escape the root."""
        if not NAME_RE.match(target):
            raise StoreError(f"invalid target name {target!r}")
        return self.root / target

    def lock_target(self, target: str, wait: float) -> AbstractContextManager[FileLock]:
        """Return a context manager holding `target`'s lock; entering raises LockedError after `wait` seconds."""
        return locked(self.target_dir(target) / ".lock", wait, f"target {target}")

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

    def history(self, target: str) -> list[Snapshot]:
        """Return the target's snapshots, newest first. Raises StoreError on an unreadable metadata file."""
        folder = self.target_dir(target)
        if not folder.is_dir():
            return []
        ids = sorted((p.stem for p in folder.glob("*.json") if SNAPSHOT_ID_RE.match(p.stem)), reverse=True)
        return [self._load_meta(target, sid) for sid in ids]

    def latest(self, target: str) -> Snapshot | None:
        """Return the newest snapshot of `target`, or None if it has none. Raises StoreError."""
        try:
            names = os.listdir(self.target_dir(target))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StoreError(f"cannot list the snapshots of {target}: {exc.strerror or exc}") from exc
        ids = [n[:-5] for n in names if n.endswith(".json") and SNAPSHOT_ID_RE.match(n[:-5])]
        return self._load_meta(target, max(ids)) if ids else None

    def get(self, target: str, snapshot_id: str) -> Snapshot:
        """Return the snapshot `snapshot_id` of `target`. Raises StoreError if it does not exist."""
        if not SNAPSHOT_ID_RE.match(snapshot_id):
            raise StoreError(f"invalid snapshot id {snapshot_id!r}")
        return self._load_meta(target, snapshot_id)

    def read_text(self, snapshot: Snapshot) -> str:
        """Return the snapshot's text, verified against its sha256. Raises StoreError."""
        path = self.target_dir(snapshot.target) / f"{snapshot.id}.txt"
        try:
            text = read_file(path).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc
        if sha256_text(text) != snapshot.sha256:
            raise StoreError(f"{path}: content does not match its recorded sha256")
        return text

    def read_raw(self, snapshot: Snapshot) -> bytes | None:
        """Return the raw body stored with the snapshot, or None if it has none. Raises StoreError."""
        if not snapshot.has_raw:
            return None
        path = self.target_dir(snapshot.target) / f"{snapshot.id}.html.gz"
        try:
            return gzip.decompress(path.read_bytes())
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc

    def save(self, target: str, text: str, *, taken_at: datetime, source: SnapshotSource = "live",
             raw: bytes | None = None, **meta: Any) -> Snapshot:
        """Store `text` as a new snapshot of `target` and return it.

        `meta` may carry url, final_url, status, content_type, etag, last_modified, origin, title, links,
        repeat_of, blocks, date.
        Raises StoreError if the disk refuses; a failed save leaves no visible snapshot.
        """
        digest = sha256_text(text)
        snapshot_id = time_id(taken_at, digest[:12])
        snapshot = Snapshot(id=snapshot_id, target=target, taken_at=taken_at.astimezone(UTC),
                            sha256=digest, source=source, has_raw=raw is not None, **meta)
        folder = self.target_dir(target)
        # Text and raw body first, made durable by one folder fsync; then the metadata that makes them visible.
        write_atomic(folder / f"{snapshot_id}.txt", text.encode("utf-8"), sync_dir=False)
        if raw is not None:
            write_atomic(folder / f"{snapshot_id}.html.gz", gzip.compress(raw, compresslevel=RAW_GZIP_LEVEL, mtime=0),
                         sync_dir=False)
        fsync_dir(folder)
        write_json(folder / f"{snapshot_id}.json", _meta_document(snapshot))
        logger.debug("%s: stored snapshot %s (%d chars)", target, snapshot_id, len(text))
        return snapshot

    def import_baseline(self, target: str, text: str, *, taken_at: datetime, origin: str) -> Snapshot:
        """Store `text` as the first snapshot of `target` (source "baseline") and return it.

        Raises StoreError if the target already has snapshots, or if the disk refuses.
        """
        existing = self.latest(target)
        if existing is not None:
            raise StoreError(f"{target} already has snapshots (newest {existing.id}); a baseline must be the first")
        return self.save(target, text.replace("\r\n", "\n"), taken_at=taken_at, source="baseline", origin=origin)

    def drop_raw(self, target: str, keep: int) -> int:
        """Remove the raw bodies of all but the newest `keep` snapshots (metadata first, so none claims a body
        that is gone); return how many were removed. Raises StoreError."""
        removed = 0
        folder = self.target_dir(target)
        for snapshot in self.history(target)[keep:]:
            if not snapshot.has_raw:
                continue
            write_json(folder / f"{snapshot.id}.json", _meta_document(replace(snapshot, has_raw=False)))
            try:
                (folder / f"{snapshot.id}.html.gz").unlink(missing_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot remove the raw body of {snapshot.id}: {exc}") from exc
            removed += 1
        return removed

    def discard(self, snapshot: Snapshot) -> None:
        """Remove a snapshot (metadata first, so it vanishes at once). Raises StoreError."""
        folder = self.target_dir(snapshot.target)
        try:
            for suffix in (".json", ".txt", ".html.gz"):
                (folder / f"{snapshot.id}{suffix}").unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot remove snapshot {snapshot.id}: {exc}") from exc

    def load_state(self, target: str) -> TargetState:
        """Return the target's remembered state (an empty state if there is none). Raises StoreError.

        `state.json` is durable and holds everything; `check.json`, overwritten in place by every check
        without waiting for the disk, holds what a check refreshes (time, status, validators, fingerprint)
        and wins when it is readable and newer. Read mid-write or emptied by a power cut it is not valid
        JSON: then the durable values count, and the check after takes the full path once.
        """
        folder = self.target_dir(target)
        doc = read_json(folder / "state.json", missing={})
        if not doc:
            return TargetState()
        try:
            checks = read_json(folder / CHECKS, missing={})
        except StoreError:
            checks = {}  # lost to a power cut, or read mid-write: the durable state has older values of the same
        if str(checks.get("last_checked") or "") >= str(doc.get("last_checked") or ""):
            doc = {**doc, **{k: checks.get(k) for k in _CHECK_FIELDS}}
        return TargetState(
            last_checked=_parse_time(doc.get("last_checked")),
            last_status=doc.get("last_status"),
            last_error=doc.get("last_error"),
            last_change=_parse_time(doc.get("last_change")),
            consecutive_failures=int(doc.get("consecutive_failures", 0)),
            validators=Validators(doc.get("etag"), doc.get("last_modified")),
            failing_since=_parse_time(doc.get("failing_since")),
            last_error_status=doc.get("last_error_status"),
            reported=doc.get("reported") if doc.get("reported") in _EVENTS else None,
            fingerprint=doc.get("fingerprint") if isinstance(doc.get("fingerprint"), str) else None,
        )

    def save_state(self, target: str, state: TargetState, previous: TargetState | None = None) -> None:
        """Remember the target's state. Raises StoreError.

        Given the `previous` state, a change of nothing but what a check refreshes every time goes to
        `check.json` only, without fsync (see load_state); anything that decides reports (an error streak, the
        last change) rewrites the durable `state.json` first.
        """
        folder = self.target_dir(target)
        checks = {
            "last_checked": _iso(state.last_checked),
            "last_status": state.last_status,
            "etag": state.validators.etag,
            "last_modified": state.validators.last_modified,
            "fingerprint": state.fingerprint,
        }
        if previous is None or _events_of(previous) != _events_of(state) or not (folder / "state.json").exists():
            write_json(folder / "state.json", {
                **checks,
                "last_error": state.last_error,
                "last_change": _iso(state.last_change),
                "consecutive_failures": state.consecutive_failures,
                "failing_since": _iso(state.failing_since),
                "last_error_status": state.last_error_status,
                "reported": state.reported,
            })
        write_cache_json(folder / CHECKS, checks)

    def _load_meta(self, target: str, snapshot_id: str) -> Snapshot:
        doc = read_json(self.target_dir(target) / f"{snapshot_id}.json")
        try:
            fields = {k: doc.get(k) for k in Snapshot.__dataclass_fields__}
            links, blocks = doc.get("links"), doc.get("blocks")
            snapshot = Snapshot(**{**fields, "taken_at": _parse_time(doc["taken_at"]),
                                   "has_raw": bool(doc.get("has_raw")),
                                   "links": tuple(links) if links is not None else None,
                                   "blocks": tuple((str(p), int(n)) for p, n in blocks) if blocks else None})
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{target}/{snapshot_id}.json: invalid metadata ({exc})") from exc
        if snapshot.id != snapshot_id or snapshot.target != target:
            raise StoreError(f"{target}/{snapshot_id}.json: metadata names another snapshot")
        return snapshot


def _meta_document(snapshot: Snapshot) -> dict[str, Any]:
    """A snapshot's metadata file."""
    return {**asdict(snapshot), "taken_at": _iso(snapshot.taken_at)}


def _events_of(state: TargetState) -> tuple[object, ...]:
    """The part of a state that decides what gets reported (error streaks, the last change)."""
    return (state.consecutive_failures, state.failing_since, state.reported, state.last_error,
            state.last_error_status, state.last_change)
