"""Checking a target's captures: every WARC record whole with matching digests, every snapshot's capture where
its metadata says, no body left in the layout before WARC; and the repair of each problem with nothing else
lost (`monitor verify` reports and repairs them, monitor.verify).

A damaged record is copied to the quarantine folder and its file rewritten without it; the snapshots whose
capture it was keep their text and lose only the raw body. Bytes no snapshot refers to (a crash between an
append and the snapshot that would have pointed at it) are dropped by the same rewrite. Old-layout bodies
are moved into WARC records.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from monitor.store import captures
from monitor.store.durable import write_atomic
from monitor.store.snapshots import SnapshotStore

logger = logging.getLogger(__name__)

Fix = Literal["quarantine", "forget", "compact", "migrate"]


@dataclass(frozen=True)
class Problem:
    """One problem with a target's captures, and how repair deals with it."""

    path: Path
    problem: str
    severity: Literal["error", "notice"]
    fix: Fix
    offset: int = 0            # quarantine: the damaged member's place and size
    length: int = 0
    snapshot: str | None = None  # forget: the snapshot whose capture is not where it says
    gaps: tuple[tuple[int, int], ...] = ()  # compact: the (offset, length) of the bytes nothing refers to


def audit(store: SnapshotStore, target: str) -> list[Problem]:
    """Return every problem with `target`'s captures (empty when all is whole). Raises StoreError when a file
    cannot be read at all."""
    folder = store.target_dir(target)
    scanned = captures.scan(folder)
    damaged = {(path.name, m.offset): (path, m, why) for path, m, why in scanned.damaged}
    found: list[Problem] = []
    covered: dict[str, list[tuple[int, int]]] = {}
    for snapshot in store.readable(target):
        if not snapshot.has_raw:
            continue
        if snapshot.capture is None:
            found.append(Problem(folder / f"{snapshot.id}.html.gz", "raw body in the layout before WARC", "notice",
                                 "migrate"))
            continue
        for ref in (snapshot.capture, snapshot.capture.original):
            if ref is None:
                continue
            covered.setdefault(ref.file, []).append((ref.offset, ref.offset + ref.length))
            if any(f == ref.file and ref.offset <= o < ref.offset + ref.length for f, o in damaged):
                continue  # reported as the damaged record; repair forgets this capture
            at = scanned.records.get(ref.file, {}).get(ref.record)
            if at is None or not ref.offset <= at < ref.offset + ref.length:
                found.append(Problem(folder / ref.file, f"capture of {snapshot.id} not readable: record "
                                     f"{ref.record} is not at {ref.file}:{ref.offset}", "error", "forget",
                                     snapshot=snapshot.id))
                break
    # A damaged record a capture refers to is damage; one nothing refers to (the torn end of an append a crash
    # cut short) is a leftover, among the bytes nothing refers to.
    for (file, offset), (path, member, why) in damaged.items():
        if any(start <= offset < end for start, end in covered.get(file, [])):
            found.insert(0, Problem(path, f"damaged WARC record at offset {offset} ({why})", "error", "quarantine",
                                    offset, member.length))
    for path in captures.warc_files(folder):
        gaps, reached = [], 0
        for start, end in [*sorted(covered.get(path.name, [])), (path.stat().st_size, 0)]:
            if start > reached:
                gaps.append((reached, start - reached))
            reached = max(reached, end)
        if gaps:
            found.append(Problem(path, f"{sum(n for _, n in gaps)} bytes of WARC records no snapshot refers to "
                                       f"(its snapshot was quarantined, or a crash came before it was saved)",
                                 "notice", "compact", gaps=tuple(gaps)))
    return found


def repair(store: SnapshotStore, target: str, problems: list[Problem], quarantine: Path) -> list[str]:
    """Deal with `problems` (from audit) and return what was done, one line each, in their order. A damaged
    record's bytes are copied under `quarantine` first. Raises StoreError."""
    done: list[str] = []
    drop: set[tuple[str, int]] = set()
    for problem in problems:
        if problem.fix == "quarantine":
            data = captures.read_range(problem.path.parent, problem.path.name, problem.offset, problem.length)
            dest = quarantine / target / f"{problem.path.name}@{problem.offset}"
            write_atomic(dest, data)
            drop.add((problem.path.name, problem.offset))
            done.append(f"moved to {dest}")
        elif problem.fix == "forget" and problem.snapshot:
            snapshot = store.get(target, problem.snapshot)
            store.write_meta(replace(snapshot, has_raw=False, capture=None))
            done.append("capture forgotten (the snapshot's text is kept)")
        elif problem.fix == "migrate":
            done.append("")  # filled in below
        else:
            for offset, length in problem.gaps:
                data = captures.read_range(problem.path.parent, problem.path.name, offset, length)
                write_atomic(quarantine / target / f"{problem.path.name}@{offset}", data)
            done.append(f"moved to {quarantine / target}")
    if any(p.fix in ("quarantine", "compact", "forget") for p in problems):
        store.compact(target, drop)
    if any(p.fix == "migrate" for p in problems):
        moved = store.migrate_raw(target)
        done = [d or f"moved into a WARC record ({moved} in all)" for d in done]
    return done

