"""The reports on disk, read back from their JSON sidecars: listing and lookup by reference.

Everything that shows reports after they were written (static index, feed, CLI, review app) reads them here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.errors import ReportError, StoreError
from monitor.extract import describe
from monitor.models import NAME_RE, REPORT_ID_RE
from monitor.report.render import HEADINGS, stamp
from monitor.review import Review
from monitor.store import read_json

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportEntry:
    """One report as listed: where it is, what it says in short, and its review state."""

    target: str
    id: str
    kind: str
    created_at: datetime
    summary: str
    title: str | None
    inserted_words: int
    deleted_words: int
    review: Review | None = None
    chrome: bool = False  # a change confined to site chrome (stored and listed, never alerted)

    @property
    def ref(self) -> str:
        """The report's reference, unique across targets: `<target>/<id>`."""
        return f"{self.target}/{self.id}"

    @property
    def href(self) -> str:
        """The report's HTML file relative to the reports folder."""
        return f"{self.target}/{self.id}.html"

    @property
    def when(self) -> str:
        """The creation time as 'YYYY-MM-DD HH:MM:SS UTC'."""
        return stamp(self.created_at)

    @property
    def reviewed(self) -> bool:
        """True once a reviewer marked the report."""
        return self.review is not None


def summary(doc: dict[str, Any]) -> str:
    """Return a short description of a report from its sidecar: 'Changed: text, title', 'Failing', ..."""
    kind = doc.get("kind", "changed")
    parts = []
    if doc.get("ops"):
        places = [str(p) for p in doc.get("places") or ()]
        parts.append(f"text in {describe(places)}" if places else "text")
    meta = doc.get("meta") or {}
    parts += [label for key, label in (("title", "title"), ("date", "date"), ("final_url", "final URL"),
                                       ("status", "status")) if meta.get(key)]
    added, removed = meta.get("links_added") or (), meta.get("links_removed") or ()
    if added or removed:
        parts.append(f"links +{len(added)}/−{len(removed)}")
    if kind in ("error", "removed") and doc.get("error"):
        error = str(doc["error"])
        parts.insert(0, error if len(error) <= 80 else error[:79] + "…")
    heading = "Site chrome" if doc.get("chrome") else HEADINGS.get(kind, kind)
    return f"{heading}: {', '.join(parts)}" if parts else heading


def sidecars(reports_dir: Path, target: str | None = None) -> list[tuple[str, Path, dict[str, Any]]]:
    """Return (target, path, document) for every readable sidecar; unreadable ones are skipped with a warning."""
    out: list[tuple[str, Path, dict[str, Any]]] = []
    if not reports_dir.is_dir():
        return out
    folders = [reports_dir / target] if target else sorted(reports_dir.iterdir())
    for folder in folders:
        if not folder.is_dir() or not NAME_RE.match(folder.name):
            continue
        for path in sorted(folder.glob("*.json")):
            if not REPORT_ID_RE.match(path.stem):
                continue
            try:
                out.append((folder.name, path, read_json(path)))
            except StoreError as exc:
                logger.warning("skipping unreadable report sidecar %s: %s", path, exc)
    return out


def entry(target: str, report_id: str, doc: dict[str, Any], review: Review | None = None) -> ReportEntry:
    """Return the listing entry of one sidecar. Raises ReportError if the document lacks what a listing needs."""
    try:
        return ReportEntry(
            target=target, id=report_id, kind=str(doc.get("kind", "changed")),
            created_at=datetime.fromisoformat(doc["created_at"]).astimezone(UTC), summary=summary(doc),
            title=doc.get("title"), inserted_words=int(doc["inserted_words"]),
            deleted_words=int(doc["deleted_words"]), review=review, chrome=bool(doc.get("chrome")))
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"report {target}/{report_id}: invalid sidecar ({exc})") from exc


def list_reports(reports_dir: Path, reviews: dict[tuple[str, str], Review] | None = None,
                 target: str | None = None) -> list[ReportEntry]:
    """Return the reports under `reports_dir` (one target's, or all), newest first, with their review state."""
    reviews = reviews or {}
    entries = []
    for name, path, doc in sidecars(reports_dir, target):
        try:
            entries.append(entry(name, path.stem, doc, reviews.get((name, path.stem))))
        except ReportError as exc:
            logger.warning("skipping %s: %s", path, exc)
    return sorted(entries, key=lambda e: (e.created_at, e.target, e.id), reverse=True)


def read_sidecar(reports_dir: Path, target: str, report_id: str) -> dict[str, Any]:
    """Return the sidecar document of one report. Raises ReportError if it is missing or unreadable."""
    if not NAME_RE.match(target) or not REPORT_ID_RE.match(report_id):
        raise ReportError(f"invalid report reference {target}/{report_id}")
    try:
        return read_json(reports_dir / target / f"{report_id}.json")
    except StoreError as exc:
        raise ReportError(f"no readable report {target}/{report_id}") from exc


def resolve(entries: list[ReportEntry], ref: str) -> ReportEntry:
    """Return the entry `ref` names: `<target>/<id>`, an id, or a unique prefix of either or of the id's hash.

    Raises ReportError if nothing or more than one report matches.
    """
    ref = ref.strip().removesuffix(".html").removesuffix(".json").removesuffix(".txt")
    exact = [e for e in entries if ref in (e.ref, e.id)]
    if len(exact) == 1:
        return exact[0]
    matches = exact or [e for e in entries
                        if e.ref.startswith(ref) or e.id.startswith(ref) or e.id.partition("-")[2].startswith(ref)]
    if not matches:
        raise ReportError(f"no report matches {ref!r} (see 'monitor reports')")
    if len(matches) > 1:
        shown = ", ".join(e.ref for e in matches[:3]) + (", ..." if len(matches) > 3 else "")
        raise ReportError(f"{ref!r} matches {len(matches)} reports ({shown}); give more of the id")
    return matches[0]
