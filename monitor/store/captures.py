"""A target's WARC files: appending a capture's records, reading a capture back, and rewriting a file without the
records nothing refers to any more. The caller holds the target's lock.

The files sit beside the target's snapshots, `<snapshots_dir>/<target>/captures-<YYYYMM>-<NNNNN>.warc.gz`: the
records, gzip per record, appended in the month they were written; a new file when one passes MAX_FILE_BYTES,
or when a rewrite drops records (the next NNNNN).

An append writes all the records of a capture in one write() on an O_APPEND descriptor and flushes the file
before the snapshot that points at them is made visible. A crash cannot leave half a capture that anything
refers to; what a crash can leave is a partial record at the end of the file. The next append finds it: past
the end of the newest capture a snapshot points at, it reads what is there and cuts the file after the last
whole gzip member, so the file stays readable to its last whole record.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from monitor.clock import utcnow
from monitor.errors import StoreError
from monitor.models import CaptureRef
from monitor.store import sync
from monitor.store.durable import fsync_dir, write_atomic
from monitor.store.warc import Capture, Member, capture_records, check, members

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 64 * 1024 * 1024
FILE_RE = re.compile(r"^captures-(\d{6})-(\d{5})\.warc\.gz$")


def warc_files(folder: Path) -> list[Path]:
    """Return the WARC files in a target folder, oldest first."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise StoreError(f"cannot list {folder}: {exc.strerror or exc}") from exc
    return [folder / n for n in sorted(n for n in names if FILE_RE.match(n))]


def _current(folder: Path, extra: int) -> Path:
    """The file to append `extra` bytes to: this month's newest, unless that would pass MAX_FILE_BYTES."""
    month = utcnow().strftime("%Y%m")
    mine = [p for p in warc_files(folder) if p.name.startswith(f"captures-{month}-")]
    if not mine:
        return folder / f"captures-{month}-00000.warc.gz"
    newest = mine[-1]
    size = newest.stat().st_size
    if size and size + extra > MAX_FILE_BYTES:
        return next_file(newest)
    return newest


def next_file(path: Path) -> Path:
    """The name after `path` in its month's sequence."""
    found = FILE_RE.match(path.name)
    assert found is not None
    return path.with_name(f"captures-{found.group(1)}-{int(found.group(2)) + 1:05}.warc.gz")


def whole_end(path: Path, start: int = 0) -> int:
    """Return where the last whole gzip member of the file at `path` ends, reading only what lies past `start`
    (itself the end of a whole member). Raises OSError."""
    with path.open("rb") as fh:
        fh.seek(start)
        data = fh.read()
    end = 0
    for member in members(data):
        if member.data is None:
            break
        end = member.offset + member.length
    return start + end


def _repair_tail(path: Path, known: int | None) -> int:
    """Return the size of the file at `path` after cutting off a partial record a crash left at its end;
    `known` is where a whole record is known to end (the newest capture a snapshot points at), if any."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    if known == size:
        return size
    end = whole_end(path, known if known is not None and known < size else 0)
    if end < size:
        logger.warning("%s: cutting off %d bytes of a record a crash left unfinished", path, size - end)
        os.truncate(path, end)
    return end


def append(folder: Path, capture: Capture, newest: CaptureRef | None, flushed: bool = True) -> CaptureRef:
    """Append `capture`'s records to the target's current WARC file, durably; return where they are. `newest`
    is the capture of the target's newest snapshot (where a whole record ends). Without `flushed` neither the
    file nor (for a new file) the folder is flushed: the caller does both before the snapshot that points at
    the records is written (durable.write_files with the file in `written`).
    Raises StoreError when the disk refuses."""
    records = capture_records(capture)
    path = _current(folder, len(records.data))
    known = newest.offset + newest.length if newest is not None and newest.file == path.name else None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        offset = _repair_tail(path, known)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(records.data)
            while view:
                view = view[os.write(fd, view):]
            if flushed:
                sync.flush(fd)
        finally:
            os.close(fd)
        if flushed and offset == 0:
            fsync_dir(folder)
    except OSError as exc:
        raise StoreError(f"cannot append to {path}: {exc.strerror or exc}") from exc
    return CaptureRef(path.name, offset, len(records.data), records.record, records.digest, records.date,
                      records.original)


def read_range(folder: Path, file: str, offset: int, length: int) -> bytes:
    """Return `length` bytes at `offset` of the target's WARC file `file`. Raises StoreError."""
    if not FILE_RE.match(file):
        raise StoreError(f"invalid WARC file name {file!r}")
    path = folder / file
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read(length)
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) != length:
        raise StoreError(f"{path}: the capture at {offset} runs past the end of the file")
    return data


def read_body(folder: Path, ref: CaptureRef) -> bytes:
    """Return the raw body of the capture `ref` (for a revisit, its original's), its digests checked.
    Raises StoreError."""
    where = ref.original or ref
    data = read_range(folder, where.file, where.offset, where.length)
    for member in members(data):
        record, problem = check(member)
        if problem is not None:
            raise StoreError(f"{where.file} at {member.offset + where.offset}: {problem}")
        if record is not None and record.id == where.record:
            return record.payload
    raise StoreError(f"{where.file} at {where.offset}: record {where.record} is not there")


def rewrite(folder: Path, keep: list[CaptureRef],
            drop: set[tuple[str, int]] | None = None) -> dict[tuple[str, int], tuple[str, int] | None]:
    """Rewrite every WARC file holding bytes that no capture in `keep` covers into the next free name in its
    sequence, with only the kept captures, byte for byte; a capture holding a member at a (file, offset) in
    `drop` is not kept. The old file stays until remove_unused (after the caller has pointed the snapshots at
    the new one). Return {(old file, offset): (new file, offset), or None when dropped} for every capture of
    `keep` that moved or was dropped. Raises StoreError."""
    by_file: dict[str, set[tuple[int, int]]] = {}
    for ref in keep:
        by_file.setdefault(ref.file, set()).add((ref.offset, ref.length))
    changed: dict[tuple[str, int], tuple[str, int] | None] = {}
    for path in warc_files(folder):
        spans = sorted(by_file.get(path.name, ()))
        lost = [(o, n) for o, n in spans if drop and any(f == path.name and o <= at < o + n for f, at in drop)]
        changed.update({(path.name, o): None for o, _ in lost})
        spans = [s for s in spans if s not in lost]
        try:
            size = path.stat().st_size
            if not spans or sum(length for _, length in spans) == size:
                continue  # all kept as is, or nothing kept (remove_unused deletes the file)
            data = path.read_bytes()
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
        out, target = bytearray(), _free_name(path)
        for offset, length in spans:
            changed[(path.name, offset)] = (target.name, len(out))
            out += data[offset:offset + length]
        write_atomic(target, bytes(out))
        logger.info("%s: rewrote %s as %s (%d of %d bytes kept)", folder.name, path.name, target.name, len(out), size)
    return changed


def _free_name(path: Path) -> Path:
    """The first unused name after `path` in its month's sequence."""
    candidate = next_file(path)
    while candidate.exists():
        candidate = next_file(candidate)
    return candidate


def remove_unused(folder: Path, used: set[str]) -> list[str]:
    """Remove the target's WARC files no snapshot points at (`used`: the file names in use); return their names.
    Raises StoreError."""
    removed = []
    for path in warc_files(folder):
        if path.name in used:
            continue
        try:
            path.unlink()
        except OSError as exc:
            raise StoreError(f"cannot remove {path}: {exc.strerror or exc}") from exc
        removed.append(path.name)
    if removed:
        fsync_dir(folder)
    return removed


@dataclass(frozen=True)
class Scan:
    """What scan() read in a target's WARC files: each member that is not a whole record with matching digests
    (file, the member, what is wrong), and where each whole record starts ({file: {record id: offset}})."""

    damaged: list[tuple[Path, Member, str]]
    records: dict[str, dict[str, int]]


def scan(folder: Path) -> Scan:
    """Read every record of the target's WARC files once and check it. Raises StoreError when a file cannot be
    read."""
    result = Scan([], {})
    for path in warc_files(folder):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
        found = result.records.setdefault(path.name, {})
        for member in members(data):
            record, problem = check(member)
            if problem is not None:
                result.damaged.append((path, member, problem))
            elif record is not None:
                found[record.id] = member.offset
    return result
