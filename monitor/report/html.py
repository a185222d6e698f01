"""Write reports to disk: per report `<id>.html`, `<id>.txt` and the `<id>.json` sidecar; reports/index.html.

Layout of `<reports_dir>/<target>/`: one report per change or error event, named by the report's id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from monitor.durable import read_json, write_atomic, write_json
from monitor.errors import ReportError, StoreError
from monitor.models import NAME_RE, REPORT_ID_RE, ChangeReport, MetaChange, Snapshot
from monitor.report.render import HEADINGS, environment, render_html, render_text, stamp
from monitor.retention import ReportRef

logger = logging.getLogger(__name__)


def write_report(reports_dir: Path, report: ChangeReport) -> Path:
    """Write `<reports_dir>/<target>/<id>.html`, `.txt` and the `.json` sidecar (last, so a report is visible
    only once complete), refresh the index; return the HTML path. Raises ReportError.
    """
    folder = reports_dir / report.target.name
    html_path = folder / f"{report.id}.html"
    try:
        write_atomic(html_path, render_html(report, report.created_at).encode("utf-8"))
        write_atomic(folder / f"{report.id}.txt", render_text(report, report.created_at).encode("utf-8"))
        write_json(folder / f"{report.id}.json", _sidecar(report, html_path.name))
    except StoreError as exc:
        raise ReportError(str(exc)) from exc
    write_index(reports_dir, report.created_at)
    logger.info("%s: %s report written to %s", report.target.name, report.kind, html_path)
    return html_path


def _snap(snapshot: Snapshot | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    return {"id": snapshot.id, "taken_at": snapshot.taken_at.isoformat(), "source": snapshot.source}


def _meta(meta: MetaChange | None) -> dict[str, Any] | None:
    if meta is None:
        return None
    return {"title": meta.title, "final_url": meta.final_url, "status": meta.status,
            "links_added": list(meta.links_added), "links_removed": list(meta.links_removed)}


def _sidecar(report: ChangeReport, html_name: str) -> dict[str, Any]:
    change = report.change
    return {
        "id": report.id,
        "kind": report.kind,
        "target": report.target.name,
        "url": report.target.url,
        "final_url": report.new.final_url if report.new else None,
        "title": (report.new or report.old).title if (report.new or report.old) else None,
        "created_at": report.created_at.astimezone(UTC).isoformat(),
        "old": _snap(report.old),
        "new": _snap(report.new),
        "inserted_chars": change.inserted_chars if change else 0,
        "deleted_chars": change.deleted_chars if change else 0,
        "inserted_words": change.inserted_words if change else 0,
        "deleted_words": change.deleted_words if change else 0,
        "ignored": report.ignored,
        "meta": _meta(report.meta),
        "error": report.error,
        "failures": report.failures,
        "failing_since": report.failing_since.astimezone(UTC).isoformat() if report.failing_since else None,
        "html": html_name,
        "text": f"{report.id}.txt",
        "ops": [[op, text] for op, text in change.ops] if change else [],
    }


def summary(doc: dict[str, Any]) -> str:
    """Return a short description of a report from its sidecar: 'Changed: text, title', 'Failing', ..."""
    kind = doc.get("kind", "changed")
    parts = []
    if doc.get("ops"):
        parts.append("text")
    meta = doc.get("meta") or {}
    parts += [label for key, label in (("title", "title"), ("final_url", "final URL"), ("status", "status"))
              if meta.get(key)]
    if meta.get("links_added") or meta.get("links_removed"):
        parts.append("links")
    heading = HEADINGS.get(kind, kind)
    return f"{heading}: {', '.join(parts)}" if parts else heading


@dataclass(frozen=True)
class IndexEntry:
    """One row of the report index."""

    target: str
    when: str
    sort_key: str
    kind: str
    summary: str
    inserted_words: int
    deleted_words: int
    href: str


def _sidecars(reports_dir: Path, target: str | None = None) -> list[tuple[str, Path, dict[str, Any]]]:
    """Return (target, path, document) for every readable sidecar; unreadable ones are skipped with a warning."""
    out: list[tuple[str, Path, dict[str, Any]]] = []
    if not reports_dir.is_dir():
        return out
    folders = [reports_dir / target] if target else sorted(reports_dir.iterdir())
    for folder in folders:
        if not folder.is_dir() or not NAME_RE.match(folder.name):
            continue
        for path in sorted(folder.glob("*.json")):
            try:
                out.append((folder.name, path, read_json(path)))
            except StoreError as exc:
                logger.warning("skipping unreadable report sidecar %s: %s", path, exc)
    return out


def list_reports(reports_dir: Path) -> list[IndexEntry]:
    """Return every report found under `reports_dir` (from the JSON sidecars), newest first."""
    entries = []
    for target, path, doc in _sidecars(reports_dir):
        try:
            created = datetime.fromisoformat(doc["created_at"])
            entries.append(IndexEntry(
                target=target, when=stamp(created), sort_key=created.astimezone(UTC).isoformat(),
                kind=str(doc.get("kind", "changed")), summary=summary(doc),
                inserted_words=int(doc["inserted_words"]), deleted_words=int(doc["deleted_words"]),
                href=f"{target}/{path.stem}.html"))
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("skipping unreadable report sidecar %s: %s", path, exc)
    return sorted(entries, key=lambda e: (e.sort_key, e.target), reverse=True)


def read_sidecar(reports_dir: Path, target: str, report_id: str) -> dict[str, Any]:
    """Return the sidecar document of one report. Raises ReportError if it is missing or unreadable."""
    if not NAME_RE.match(target) or not REPORT_ID_RE.match(report_id):
        raise ReportError(f"invalid report reference {target}/{report_id}")
    try:
        return read_json(reports_dir / target / f"{report_id}.json")
    except StoreError as exc:
        raise ReportError(str(exc)) from exc


def report_refs(reports_dir: Path, target: str) -> list[ReportRef]:
    """Return what retention needs to know about each of `target`'s reports."""
    refs = []
    for _, path, doc in _sidecars(reports_dir, target):
        try:
            refs.append(ReportRef(id=path.stem, created_at=datetime.fromisoformat(doc["created_at"]),
                                  old_id=(doc.get("old") or {}).get("id"), new_id=(doc.get("new") or {}).get("id"),
                                  kind=str(doc.get("kind", "changed"))))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            logger.warning("skipping unreadable report sidecar %s: %s", path, exc)
    return refs


def remove_reports(reports_dir: Path, target: str, ids: list[str] | tuple[str, ...]) -> None:
    """Remove reports of `target` (sidecar first, so each vanishes from the index at once). Raises ReportError."""
    folder = reports_dir / target
    try:
        for report_id in ids:
            for suffix in (".json", ".html", ".txt"):
                (folder / f"{report_id}{suffix}").unlink(missing_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot remove reports of {target}: {exc}") from exc


def write_index(reports_dir: Path, generated_at: datetime) -> Path:
    """Rewrite `<reports_dir>/index.html` listing every report newest first; return its path.

    Raises ReportError if it cannot be written.
    """
    path = reports_dir / "index.html"
    try:
        html = environment().get_template("index.html").render(
            entries=list_reports(reports_dir), generated_at=stamp(generated_at))
        write_atomic(path, html.encode("utf-8"))
    except (jinja2.TemplateError, StoreError) as exc:
        raise ReportError(f"cannot write {path}: {exc}") from exc
    return path
