"""The static review site in the reports folder: index pages, per-target history pages and an Atom feed.

Works with no server: `reports/index.html` (all targets, every report, newest first), one
`reports/<target>/index.html` per target (the filter by target without JavaScript), `reports/<target>/history.html`
(every snapshot, linked to its text) and `reports/feed.atom` (RFC 4287). Review marks from monitor.review are
shown on every page. All of it is regenerated from the sidecars, the snapshot store and the review database.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from monitor.errors import ReportError, StoreError
from monitor.models import NAME_RE, Snapshot
from monitor.report.catalog import ReportEntry, list_reports, read_sidecar
from monitor.report.render import document_context, environment, stamp, xml_text
from monitor.report.views import hunks_within
from monitor.review import Review, ReviewStore
from monitor.store import SnapshotStore, write_atomic

logger = logging.getLogger(__name__)

FEED_NAME = "feed.atom"
FEED_ENTRIES = 100
FEED_CONTENT_CHARS = 20_000


@dataclass(frozen=True)
class TargetSummary:
    """One target's line on the index: how many reports, how many still unreviewed, the newest."""

    name: str
    reports: int
    unreviewed: int
    latest: str


def rfc3339(when: datetime) -> str:
    """Return `when` as an RFC 3339 UTC timestamp ('2026-11-22T10:00:00Z')."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def by_target(entries: list[ReportEntry]) -> dict[str, list[ReportEntry]]:
    """Return the entries grouped by target, each group in the given (newest-first) order."""
    groups: dict[str, list[ReportEntry]] = defaultdict(list)
    for e in entries:
        groups[e.target].append(e)
    return groups


def target_summaries(groups: dict[str, list[ReportEntry]], names: Iterable[str]) -> list[TargetSummary]:
    """Return a summary per target name (sorted), counting its reports."""
    out = []
    for name in sorted(set(names)):
        mine = groups.get(name, [])
        out.append(TargetSummary(name, len(mine), sum(1 for e in mine if not e.reviewed),
                                 mine[0].when if mine else ""))
    return out


def _target_names(reports_dir: Path, store: SnapshotStore) -> set[str]:
    names: set[str] = set()
    for root in (reports_dir, store.root):
        try:
            with os.scandir(root) as entries:  # the folder type comes with the listing: no stat per target
                names |= {e.name for e in entries if NAME_RE.match(e.name) and e.is_dir()}
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise ReportError(f"cannot list {root}: {exc.strerror or exc}") from exc
    return names


def _reviews(reports_dir: Path) -> dict[tuple[str, str], Review]:
    try:
        return ReviewStore(reports_dir).load_all()
    except StoreError as exc:
        raise ReportError(f"cannot read the review state: {exc}") from exc


def publish(reports_dir: Path, store: SnapshotStore, now: datetime, targets: Iterable[str] | None = None) -> Path:
    """Rewrite the top index and the feed, and the pages of `targets` (default: every target on disk) and of
    any target that has none yet (the index links to them), all from one reading of the reports.

    Returns the top index's path. Raises ReportError if a page cannot be rendered or written.
    """
    entries = list_reports(reports_dir, _reviews(reports_dir))
    names = _target_names(reports_dir, store)
    groups = by_target(entries)
    env = environment()
    index = reports_dir / "index.html"
    try:
        _write(index, env.get_template("index.html").render(
            entries=entries, targets=target_summaries(groups, names), target=None, root="",
            generated_at=stamp(now)))
        _write(reports_dir / FEED_NAME, _feed(env, reports_dir, entries, now))
    except jinja2.TemplateError as exc:
        raise ReportError(f"cannot render the report index: {exc}") from exc
    wanted = names if targets is None else (set(targets) & names) | {
        n for n in names if not (reports_dir / n / "index.html").exists()}
    _target_pages(reports_dir, store, now, wanted, groups)
    return index


def publish_targets(reports_dir: Path, store: SnapshotStore, now: datetime, targets: Iterable[str]) -> None:
    """Rewrite the index and history pages of `targets` (each from its own reports only, so worker processes
    can write their targets' pages side by side). Raises ReportError."""
    reviews = _reviews(reports_dir)
    names = [n for n in targets if NAME_RE.match(n)]
    groups = {n: list_reports(reports_dir, reviews, n) for n in names}
    _target_pages(reports_dir, store, now, names, groups)


def _target_pages(reports_dir: Path, store: SnapshotStore, now: datetime, names: Iterable[str],
                  groups: dict[str, list[ReportEntry]]) -> None:
    env = environment()
    index, history = env.get_template("index.html"), env.get_template("history.html")
    generated = stamp(now)
    try:
        for name in sorted(names):
            mine = groups.get(name, [])
            _write(reports_dir / name / "index.html", index.render(
                entries=mine, targets=target_summaries({name: mine}, [name]), target=name, root="../",
                generated_at=generated))
            _write(reports_dir / name / "history.html", history.render(
                target=name, rows=history_rows(reports_dir, store, name, mine), generated_at=generated))
    except jinja2.TemplateError as exc:
        raise ReportError(f"cannot render the pages of the reports: {exc}") from exc


class SiteUpdates:
    """Targets whose pages need regenerating, written together by flush(): a daemon checking many targets
    regenerates the index once per pass, not once per check. Thread-safe."""

    def __init__(self, reports_dir: Path, store: SnapshotStore) -> None:
        self.reports_dir = reports_dir
        self.store = store
        self._dirty: set[str] = set()
        self._index = False  # the top index and feed need rewriting (targets' own pages are done)
        self._lock = threading.Lock()

    def touch(self, target: str) -> None:
        """Note that `target`'s reports or snapshots changed."""
        with self._lock:
            self._dirty.add(target)

    def touch_index(self) -> None:
        """Note that the top index and feed are out of date (another process wrote the targets' pages)."""
        with self._lock:
            self._index = True

    def _take(self) -> set[str]:
        """Return and forget the targets touched since the last flush."""
        with self._lock:
            names, self._dirty = self._dirty, set()
        return names

    def flush(self, now: datetime) -> None:
        """Regenerate the top index and feed and the pages of the targets touched since the last flush; a
        failure is logged and retried on the next flush."""
        names = self._take()
        with self._lock:
            index, self._index = self._index, False
        if not names and not index:
            return
        try:
            publish(self.reports_dir, self.store, now, names)
        except ReportError as exc:
            logger.error("could not update the report index: %s", exc)
            with self._lock:
                self._dirty |= names
                self._index = True

    def flush_targets(self, now: datetime) -> set[str]:
        """Regenerate the touched targets' own pages only (a worker process's part); return their names, whose
        top index and feed the caller regenerates. A failure is logged."""
        names = self._take()
        try:
            publish_targets(self.reports_dir, self.store, now, names)
        except ReportError as exc:
            logger.error("could not update the report pages: %s", exc)
        return names


def _write(path: Path, html: str) -> None:
    try:
        # Whole pages, never fsynced: they are made from the sidecars, the store and the review database (a power
        # cut may leave one a version behind, or empty, until its next rewrite or `verify --repair`).
        write_atomic(path, html.encode("utf-8"), durable=False)
    except StoreError as exc:
        raise ReportError(str(exc)) from exc


@dataclass(frozen=True)
class HistoryRow:
    """One snapshot on a history page: when, where from, its text file, the report it introduced (if any)."""

    snapshot: Snapshot
    when: str
    text_href: str
    report: ReportEntry | None


def history_rows(reports_dir: Path, store: SnapshotStore, target: str,
                 entries: list[ReportEntry]) -> list[HistoryRow]:
    """Return the target's snapshots, newest first, with links relative to `reports_dir/<target>/`.

    Raises ReportError if the snapshot metadata cannot be read.
    """
    try:
        snapshots = store.history(target)
    except StoreError as exc:
        raise ReportError(f"cannot list the snapshots of {target}: {exc}") from exc
    by_new: dict[str, ReportEntry] = {}
    for e in entries:
        if e.kind in ("changed", "recovered"):
            by_new.setdefault(e.id, e)
    folder = os.path.relpath(store.target_dir(target), reports_dir / target)
    return [HistoryRow(s, stamp(s.taken_at), f"{Path(folder).as_posix()}/{s.id}.txt", by_new.get(s.id))
            for s in snapshots]


def _entry_id(url: str | None, entry: ReportEntry) -> str:
    """A permanent, unique entry id: derived from the watched page's URL and the report's reference."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{url or entry.target}#monitor-report/{entry.ref}").urn


def _feed(env: jinja2.Environment, reports_dir: Path, entries: list[ReportEntry], now: datetime) -> str:
    """Return the Atom feed of the newest FEED_ENTRIES reports."""
    items = []
    for e in entries[:FEED_ENTRIES]:
        try:
            context = document_context(read_sidecar(reports_dir, e.target, e.id), views=("hunks",))
        except ReportError as exc:
            logger.warning("feed: skipping %s: %s", e.ref, exc)
            continue
        shown, _ = hunks_within(context["hunks"], FEED_CONTENT_CHARS)
        body = env.get_template("_feed_entry.html").render(
            **{**context, "hunks": shown, "cut": len(context["hunks"]) - len(shown)})
        items.append({"entry": e, "id": _entry_id(context["url"], e), "updated": rfc3339(e.created_at),
                      "url": context["url"], "content": xml_text(body)})
    feed_id = uuid.uuid5(uuid.NAMESPACE_URL, f"file://{reports_dir.resolve().as_posix()}#monitor-feed").urn
    updated = rfc3339(entries[0].created_at if entries else now)
    return env.get_template("feed.xml").render(feed_id=feed_id, updated=updated, items=items)
