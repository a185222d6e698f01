"""Snapshot store on disk: one folder per target; atomic, versioned, content-identified files.

Layout of `<snapshots_dir>/<target>/`:
  <id>.txt       the normalized text (UTF-8), readable as is
  <id>.json      metadata; written last, so its presence is what makes a snapshot visible. Its `capture`
                 says where the raw body's WARC records are (monitor.store.captures)
  captures-<YYYYMM>-<NNNNN>.warc.gz   the target's captures as WARC records (monitor.store.captures)
  <id>.html.gz   a raw body in the layout before WARC (moved into a WARC record by migrate_raw)
  state.json, check.json   the target's state (monitor.store.state)
where <id> is `<UTC time>-<first 12 hex of the text's sha256>`, so names sort by time.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.errors import StoreError
from monitor.models import SNAPSHOT_ID_RE, CaptureRef, Exchange, Snapshot, SnapshotSource, time_id
from monitor.store import captures
from monitor.store.durable import json_bytes, read_file, read_json, write_files, write_json
from monitor.store.state import StateStore, iso, parse_time
from monitor.store.warc import Capture, payload_digest

logger = logging.getLogger(__name__)

REVISIT_WINDOW = 3  # a new body is compared with the kept captures of this many newest snapshots (A, B, A again)

def sha256_text(text: str) -> str:
    """Return the hex sha256 of `text` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SnapshotStore(StateStore):
    """Reads and writes snapshots, their captures and per-target state below `root`."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._migrated: set[str] = set()  # targets whose old-layout raw bodies this store has moved already

    def _ids(self, target: str) -> list[str]:
        """Return the ids of the target's snapshots, newest first. Raises StoreError when its folder cannot be
        listed."""
        try:
            names = os.listdir(self.target_dir(target))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise StoreError(f"cannot list the snapshots of {target}: {exc.strerror or exc}") from exc
        return sorted((n[:-5] for n in names if n.endswith(".json") and SNAPSHOT_ID_RE.match(n[:-5])), reverse=True)

    def history(self, target: str) -> list[Snapshot]:
        """Return the target's snapshots, newest first. Raises StoreError on an unreadable metadata file."""
        return [self._load_meta(target, sid) for sid in self._ids(target)]

    def latest(self, target: str) -> Snapshot | None:
        """Return the newest snapshot of `target`, or None if it has none. Raises StoreError."""
        ids = self._ids(target)
        return self._load_meta(target, ids[0]) if ids else None

    def readable(self, target: str, count: int | None = None) -> list[Snapshot]:
        """Return the target's newest `count` snapshots (all, for None), newest first, leaving out those whose
        metadata cannot be read (verify reports them). Raises StoreError when the folder cannot be listed."""
        found = []
        for sid in self._ids(target)[:count]:
            try:
                found.append(self._load_meta(target, sid))
            except StoreError:
                continue
        return found

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
        """Return the raw body stored with the snapshot (from its WARC record, its digests checked), or None if
        it has none. Raises StoreError."""
        if not snapshot.has_raw:
            return None
        folder = self.target_dir(snapshot.target)
        if snapshot.capture is not None:
            return captures.read_body(folder, snapshot.capture)
        path = folder / f"{snapshot.id}.html.gz"
        try:
            return gzip.decompress(path.read_bytes())
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc

    def read_capture(self, snapshot: Snapshot, with_original: bool = True) -> bytes:
        """Return the snapshot's WARC records as stored (gzip members), for a revisit preceded by its original's
        unless `with_original` is False. Raises StoreError when it has none."""
        ref = snapshot.capture
        if ref is None or not snapshot.has_raw:
            raise StoreError(f"{snapshot.target}/{snapshot.id}: no capture kept")
        folder = self.target_dir(snapshot.target)
        own = captures.read_range(folder, ref.file, ref.offset, ref.length)
        if ref.original is None or not with_original:
            return own
        return captures.read_range(folder, ref.original.file, ref.original.offset, ref.original.length) + own

    def save(self, target: str, text: str, *, taken_at: datetime, source: SnapshotSource = "live",
             raw: bytes | None = None, exchanges: tuple[Exchange, ...] = (), archive_url: str | None = None,
             captured_url: str | None = None, **meta: Any) -> Snapshot:
        """Store `text` as a new snapshot of `target` and return it; `raw`, the body it was read from, goes to
        the target's WARC file with `exchanges` (the HTTP requests and responses that brought it; for an
        archived page, `archive_url` is the archive's replay URL and `captured_url` the URL it captured).

        `meta` may carry url, final_url, status, content_type, etag, last_modified, origin, title, links,
        repeat_of, blocks, date, via.
        Raises StoreError if the disk refuses; a failed save leaves no visible snapshot.
        """
        digest = sha256_text(text)
        snapshot_id = time_id(taken_at, digest[:12])
        folder = self.target_dir(target)
        capture = None
        if raw is not None:
            uri = captured_url or meta.get("final_url") or meta.get("url") or ""
            body_digest = payload_digest(raw)
            recent = self.readable(target, REVISIT_WINDOW)
            capture = captures.append(folder, Capture(
                uri=uri, when=taken_at, body=raw, content_type=meta.get("content_type"), exchanges=exchanges,
                rendered=meta.get("via") == "browser", source_uri=archive_url, digest=body_digest,
                revisit_of=_revisit(recent, body_digest, taken_at)),
                next((s.capture for s in recent if s.capture is not None), None), flushed=False)
        snapshot = Snapshot(id=snapshot_id, target=target, taken_at=taken_at.astimezone(UTC), sha256=digest,
                            source=source, has_raw=raw is not None, capture=capture, **meta)
        # The records, the text and the metadata are flushed together; then the text is renamed into place, and
        # last the metadata that makes the snapshot visible.
        write_files(folder, [(folder / f"{snapshot_id}.txt", text.encode("utf-8"))],
                    last=(folder / f"{snapshot_id}.json", json_bytes(_meta_document(snapshot))),
                    written=(folder / capture.file,) if capture is not None else ())
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
        """Let go of the raw bodies of all but the newest `keep` snapshots (metadata first, so none claims a
        body that is gone; then the WARC records nothing refers to, see compact); return how many. Raises
        StoreError."""
        removed = 0
        folder = self.target_dir(target)
        history = self.history(target)
        for index, snapshot in enumerate(history):
            if index < keep or not snapshot.has_raw:
                continue
            history[index] = replace(snapshot, has_raw=False, capture=None)
            self.write_meta(history[index])
            try:
                (folder / f"{snapshot.id}.html.gz").unlink(missing_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot remove the raw body of {snapshot.id}: {exc}") from exc
            removed += 1
        if removed:
            self.compact(target, history=history)
        return removed

    def compact(self, target: str, drop: set[tuple[str, int]] | None = None,
                history: list[Snapshot] | None = None) -> int:
        """Rewrite the target's WARC files without the records no snapshot refers to (and without the members
        at the (file, offset) pairs in `drop`: snapshots whose capture held one lose their raw body); return
        how many files were removed. `history`: the target's snapshots as they are now, when the caller has
        them. Crash-safe: the new file is whole before any snapshot points at it, and the old one goes last.
        Raises StoreError."""
        folder = self.target_dir(target)
        kept = [s for s in (self.history(target) if history is None else history) if s.has_raw and s.capture]
        refs = [r for s in kept for r in (s.capture, s.capture.original) if r is not None]  # type: ignore[union-attr]
        moved = captures.rewrite(folder, refs, drop)
        used: set[str] = set()
        for snapshot in kept:
            ref = snapshot.capture
            assert ref is not None
            new = _moved(ref, moved)
            if new is None:
                self.write_meta(replace(snapshot, has_raw=False, capture=None))  # its records were damaged
                continue
            if new != ref:
                self.write_meta(replace(snapshot, capture=new))
            used |= {r.file for r in (new, new.original) if r is not None}
        return len(captures.remove_unused(folder, used))

    def migrate_raw(self, target: str, once: bool = False) -> int:
        """Move raw bodies kept in the layout before WARC (`<id>.html.gz`) into the target's WARC file, as
        `resource` records at the snapshot's time; return how many. Nothing is lost: a body's file goes only
        after the snapshot points at its record. With `once`, a target this store migrated before is not looked
        at again. Raises StoreError."""
        if once and target in self._migrated:
            return 0
        self._migrated.add(target)
        folder = self.target_dir(target)
        try:
            legacy = sorted(p.name[:-8] for p in folder.iterdir() if p.name.endswith(".html.gz"))
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise StoreError(f"cannot list {folder}: {exc.strerror or exc}") from exc
        moved = 0
        for sid in legacy:
            if not SNAPSHOT_ID_RE.match(sid) or not (folder / f"{sid}.json").exists():
                continue  # an interrupted write, invisible: verify reports it
            snapshot = self.get(target, sid)
            if snapshot.capture is None and snapshot.has_raw:
                body = self.read_raw(snapshot)
                assert body is not None
                ref = captures.append(folder, Capture(
                    uri=snapshot.final_url or snapshot.url or "", when=snapshot.taken_at, body=body,
                    content_type=snapshot.content_type,
                    note=f"kept as {sid}.html.gz before WARC; the HTTP headers were not recorded"),
                    next((s.capture for s in self.readable(target, REVISIT_WINDOW) if s.capture is not None), None))
                self.write_meta(replace(snapshot, capture=ref))
                moved += 1
            (folder / f"{sid}.html.gz").unlink(missing_ok=True)
        if moved:
            logger.info("%s: moved %d raw bodies into WARC records", target, moved)
        return moved

    def discard(self, snapshot: Snapshot) -> None:
        """Remove a snapshot (metadata first, so it vanishes at once; its WARC records go at the next compact).
        Raises StoreError."""
        folder = self.target_dir(snapshot.target)
        try:
            for suffix in (".json", ".txt", ".html.gz"):
                (folder / f"{snapshot.id}{suffix}").unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot remove snapshot {snapshot.id}: {exc}") from exc

    def write_meta(self, snapshot: Snapshot) -> None:
        """(Re)write the snapshot's metadata file, durably. Raises StoreError."""
        write_json(self.target_dir(snapshot.target) / f"{snapshot.id}.json", _meta_document(snapshot))

    def _load_meta(self, target: str, snapshot_id: str) -> Snapshot:
        doc = read_json(self.target_dir(target) / f"{snapshot_id}.json")
        try:
            fields = {k: doc.get(k) for k in Snapshot.__dataclass_fields__}
            links, blocks = doc.get("links"), doc.get("blocks")
            snapshot = Snapshot(**{**fields, "taken_at": parse_time(doc["taken_at"]),
                                   "has_raw": bool(doc.get("has_raw")),
                                   "links": tuple(links) if links is not None else None,
                                   "blocks": tuple((str(p), int(n)) for p, n in blocks) if blocks else None,
                                   "capture": _ref(doc.get("capture"))})
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{target}/{snapshot_id}.json: invalid metadata ({exc})") from exc
        if snapshot.id != snapshot_id or snapshot.target != target:
            raise StoreError(f"{target}/{snapshot_id}.json: metadata names another snapshot")
        return snapshot


def _meta_document(snapshot: Snapshot) -> dict[str, Any]:
    """A snapshot's metadata file."""
    # Field by field, not dataclasses.asdict: that deep-copies every block and link (0.4 ms a snapshot); json
    # writes the tuples as lists all the same.
    doc = {name: getattr(snapshot, name) for name in _SNAPSHOT_FIELDS}
    return {**doc, "taken_at": iso(snapshot.taken_at), "capture": _ref_document(snapshot.capture)}


_SNAPSHOT_FIELDS = tuple(f.name for f in fields(Snapshot))


def _ref_document(ref: CaptureRef | None) -> dict[str, Any] | None:
    """A CaptureRef in its metadata form (read back by _ref)."""
    if ref is None:
        return None
    return {"file": ref.file, "offset": ref.offset, "length": ref.length, "record": ref.record,
            "digest": ref.digest, "date": ref.date, "original": _ref_document(ref.original)}


def _ref(doc: Any) -> CaptureRef | None:
    """A CaptureRef from its metadata form. Raises KeyError, TypeError or ValueError when it is not one."""
    if doc is None:
        return None
    return CaptureRef(str(doc["file"]), int(doc["offset"]), int(doc["length"]), str(doc["record"]),
                      str(doc["digest"]), str(doc.get("date") or ""), _ref(doc.get("original")))


def _moved(ref: CaptureRef, moved: dict[tuple[str, int], tuple[str, int] | None]) -> CaptureRef | None:
    """`ref` where a rewrite put it; None when its records, or its original's, were dropped."""
    def where(r: CaptureRef) -> CaptureRef | None:
        if (r.file, r.offset) not in moved:
            return r
        to = moved[(r.file, r.offset)]
        return replace(r, file=to[0], offset=to[1]) if to is not None else None
    own = where(ref)
    original = where(ref.original) if ref.original is not None else None
    if own is None or (ref.original is not None and original is None):
        return None
    return replace(own, original=original)


def _revisit(recent: list[Snapshot], digest: str, when: datetime) -> CaptureRef | None:
    """The full capture (never another revisit) of one of the `recent` snapshots taken before `when` whose body
    has the payload `digest` and is still kept, else None (a page the browser rendered is never revisited; nor
    is a capture by a later one: a backfill stores older captures after newer ones)."""
    for snapshot in recent:
        ref = snapshot.capture
        if snapshot.has_raw and ref is not None and ref.digest == digest and snapshot.via != "browser" \
                and snapshot.taken_at < when:
            return ref.original or ref
    return None
