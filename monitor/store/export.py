"""Writing targets' captures out as one WARC file, for replay and analysis tools (pywb, warcio, the Wayback
Machine's stack) and for handing evidence to someone else.

`export_warc()` writes a `warcinfo` record, then every capture of the chosen targets taken in the chosen time
span, oldest first, each as stored (its records copied byte for byte, digests checked first). A revisit whose
original is not otherwise in the file brings the original along, so the file stands on its own. An archived
page keeps the archive's capture time as its WARC-Date. The file is written atomically: a reader sees none
of it or all of it.
"""

from __future__ import annotations

import gzip
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from monitor import __version__
from monitor.errors import StoreError
from monitor.models import Snapshot
from monitor.store.durable import write_atomic
from monitor.store.snapshots import SnapshotStore
from monitor.store.warc import check, members, warcinfo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exported:
    """What export_warc() wrote: captures per target, and the captures left out because they are damaged."""

    path: Path
    captures: dict[str, int]
    damaged: tuple[str, ...]  # "<target>/<snapshot id>" of each one left out
    size: int


def capture_json(snapshot: Snapshot) -> dict[str, object] | None:
    """Return what the JSON outputs (`history --json`, the API) say of a snapshot's capture, or None when its
    raw body is not kept: the WARC record id, its date and payload digest, the file and offset, and whether it
    is a revisit."""
    ref = snapshot.capture if snapshot.has_raw else None
    if ref is None:
        return None
    return {"record": ref.record, "date": ref.date, "digest": ref.digest, "file": ref.file, "offset": ref.offset,
            "revisit_of": ref.original.record if ref.original else None}


def _checked(data: bytes, where: str) -> bytes:
    """`data` (a capture's records) when every record in it is whole with matching digests. Raises StoreError."""
    for member in members(data):
        problem = check(member)[1]
        if problem is not None:
            raise StoreError(f"{where}: {problem}")
    return data


def export_warc(store: SnapshotStore, targets: list[str], dest: Path, *, start: datetime | None = None,
                end: datetime | None = None, now: datetime) -> Exported:
    """Write the captures of `targets` taken from `start` to `end` (inclusive; None: unbounded) to `dest` (gzip
    per record when it ends in .warc.gz, plain when in .warc) and return what was written. Raises StoreError
    for another file name, a target without captures in the span, or when the file cannot be written."""
    if not dest.name.endswith((".warc.gz", ".warc")):
        raise StoreError(f"{dest}: name the file *.warc.gz (compressed per record) or *.warc")
    chosen: list[Snapshot] = []
    for name in targets:
        chosen += [s for s in store.history(name) if s.has_raw and s.capture is not None
                   and (start is None or s.taken_at >= start) and (end is None or s.taken_at <= end)]
    if not chosen:
        raise StoreError(f"no captures of {', '.join(targets)} in that time span (raw bodies are kept for the "
                         f"newest `keep_raw` snapshots of each target)")
    chosen.sort(key=lambda s: (s.taken_at, s.target))
    parts = [warcinfo(dest.name, {"software": f"monitor {__version__}", "format": "WARC File Format 1.1",
                                  "description": f"captures of {', '.join(targets)}", "created": now.isoformat()})]
    written: set[tuple[str, str]] = set()
    counts: dict[str, int] = {}
    damaged: list[str] = []
    for snapshot in chosen:
        ref = snapshot.capture
        assert ref is not None
        where = f"{snapshot.target}/{snapshot.id}"
        bring = ref.original is not None and (snapshot.target, ref.original.record) not in written
        try:
            parts.append(_checked(store.read_capture(snapshot, with_original=bring), where))
        except StoreError as exc:
            logger.warning("export: %s left out: %s", where, exc)
            damaged.append(where)
            continue
        written |= {(snapshot.target, r.record) for r in (ref, ref.original) if r is not None}
        counts[snapshot.target] = counts.get(snapshot.target, 0) + 1
    data = b"".join(parts)
    if not dest.name.endswith(".gz"):
        data = gzip.decompress(data)
    write_atomic(dest, data)
    logger.info("exported %d captures to %s (%d bytes)", sum(counts.values()), dest, len(data))
    return Exported(dest, counts, tuple(damaged), len(data))
