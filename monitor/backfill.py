"""Backfill a target's history from the web archive: every distinct capture becomes a snapshot at its capture
time, and each consecutive pair of snapshots gets its change report.

Resumable: each capture dealt with (stored, identical to a neighbour, or unusable) is recorded in
`<snapshots>/<target>/backfill.json` as soon as it is done, so a run that stops half-way continues where it
stopped and never fetches a stored capture again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path

from monitor.diff import diff, diff_meta
from monitor.errors import BadContentError, BlockedError, NormalizeError, SoftNotFoundError
from monitor.extract import extract
from monitor.fetch import Archive, Capture, decode_html
from monitor.models import ChangeReport, Snapshot, Target
from monitor.patterns import apply_ignore
from monitor.report import publish, remove_reports, write_report
from monitor.store import SnapshotStore, read_json, write_json

logger = logging.getLogger(__name__)

PROGRESS = "backfill.json"


@dataclass
class Backfill:
    """What a backfill did."""

    listed: int = 0
    fetched: int = 0
    stored: list[str] = field(default_factory=list)          # snapshot ids
    identical: int = 0                                        # captures whose text a neighbour already has
    skipped: list[str] = field(default_factory=list)          # "<capture>: why" for unusable captures
    already: int = 0                                          # done by an earlier (interrupted) run
    reports: int = 0


def _progress(store: SnapshotStore, target: str) -> dict[str, str]:
    return dict(read_json(store.target_dir(target) / PROGRESS, missing={}).get("done", {}))


def _save_progress(store: SnapshotStore, target: str, done: dict[str, str]) -> None:
    write_json(store.target_dir(target) / PROGRESS, {"done": done})


def _neighbours(history: list[Snapshot], when: datetime) -> tuple[Snapshot | None, Snapshot | None]:
    """The snapshots just before and just after `when` (history newest first)."""
    before = next((s for s in history if s.taken_at <= when), None)
    after = next((s for s in reversed(history) if s.taken_at > when), None)
    return before, after


def backfill(target: Target, store: SnapshotStore, archive: Archive, reports_dir: Path, *, now: datetime,
             since: datetime | None = None, until: datetime | None = None, lock_wait: float = 60.0) -> Backfill:
    """Fill `target`'s history with the archive's captures between the dates; return what was done.

    Raises FetchError when the archive cannot be reached (after its retries; what was stored stays, and a
    second run resumes), LockedError when another process checks the target, StoreError/ReportError on disk
    errors.
    """
    result = Backfill()
    with store.lock_target(target.name, lock_wait):
        captures = archive.captures(target.url, since, until)
        result.listed = len(captures)
        done = _progress(store, target.name)
        stored_keys = {s.origin for s in store.history(target.name) if s.source == "archive"}
        for capture in captures:
            if capture.key in done or capture.key in stored_keys:
                result.already += 1
                continue
            stored_before = len(result.stored)
            note = _one(target, store, archive, capture, result)
            if len(result.stored) > stored_before:  # reports at once: an interrupted run leaves none missing
                result.reports += _write_reports(target, store, reports_dir, {result.stored[-1]})
            done[capture.key] = note
            _save_progress(store, target.name, done)
        # A run killed between storing a capture and writing its reports: write what is missing.
        missing = {s.id for s in store.history(target.name)
                   if s.source == "archive" and not (reports_dir / target.name / f"{s.id}.json").exists()}
        result.reports += _write_reports(target, store, reports_dir, missing)
    if result.stored:
        publish(reports_dir, store, now, [target.name])
    return result


def _one(target: Target, store: SnapshotStore, archive: Archive, capture: Capture, result: Backfill) -> str:
    """Fetch, check and store one capture; return the note recorded for it in the progress file."""
    try:
        fetched = archive.replay(capture)
        result.fetched += 1
        content = extract(decode_html(fetched.body, fetched.content_type), target.profile, target.select,
                          target.exclude)
    except (BlockedError, SoftNotFoundError, BadContentError, NormalizeError) as exc:
        note = f"{capture.timestamp}: skipped, {exc}"
        result.skipped.append(note)
        logger.info("%s: capture %s", target.name, note)
        return note
    comparable = apply_ignore(content.text, target.ignore)[0]
    history = store.history(target.name)
    for neighbour in _neighbours(history, capture.taken_at):
        if neighbour is not None and apply_ignore(store.read_text(neighbour), target.ignore)[0] == comparable:
            result.identical += 1
            return f"same text as {neighbour.id}"
    snapshot = store.save(target.name, content.text, taken_at=capture.taken_at, source="archive",
                          raw=fetched.body, exchanges=fetched.exchanges, archive_url=fetched.archive_url,
                          captured_url=fetched.captured_url,
                          url=target.url, final_url=target.url, status=200, via="archive",
                          content_type=fetched.content_type, origin=capture.key, title=content.title,
                          links=content.links)
    result.stored.append(snapshot.id)
    logger.info("%s: stored capture %s as %s", target.name, capture.timestamp, snapshot.id)
    return f"stored as {snapshot.id}"


def _write_reports(target: Target, store: SnapshotStore, reports_dir: Path, inserted: set[str]) -> int:
    """Write the change report of every consecutive pair touching an inserted snapshot; return how many.

    A report is named by its newer snapshot, so the report of a pair that a new snapshot split is replaced.
    """
    if not inserted:
        return 0
    history = list(reversed(store.history(target.name)))  # oldest first
    written = 0
    for old, new in pairwise(history):
        if old.id not in inserted and new.id not in inserted:
            continue
        change = diff(apply_ignore(store.read_text(old), target.ignore)[0],
                      apply_ignore(store.read_text(new), target.ignore)[0])
        meta = diff_meta(old, title=new.title, final_url=new.final_url, links=new.links, status=new.status,
                         expected_url=target.url)
        if change is None and meta is None:
            remove_reports(reports_dir, target.name, [new.id])
            continue
        write_report(reports_dir, ChangeReport(target=target, kind="changed", created_at=new.taken_at, old=old,
                                               new=new, change=change, meta=meta))
        written += 1
    return written


def describe(result: Backfill) -> list[str]:
    """Return the summary lines the CLI prints."""
    lines = [f"{result.listed} captures listed, {result.already} done before, {result.fetched} fetched, "
             f"{len(result.stored)} stored, {result.identical} identical to a neighbour, {len(result.skipped)} "
             f"skipped, {result.reports} reports written"]
    return lines + [f"  {note}" for note in result.skipped]

