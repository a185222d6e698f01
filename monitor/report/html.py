"""Write reports to disk: per report `<id>.html`, `<id>.txt` and the `<id>.json` sidecar; remove them.

Layout of `<reports_dir>/<target>/`: one report per change or error event, named by the report's id.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from monitor.errors import ReportError, StoreError
from monitor.models import ChangeReport
from monitor.report.catalog import sidecars
from monitor.report.render import render_documents, report_document
from monitor.store import ReportRef, json_bytes, write_files

logger = logging.getLogger(__name__)


def write_report(reports_dir: Path, report: ChangeReport) -> Path:
    """Write `<reports_dir>/<target>/<id>.html`, `.txt` and the `.json` sidecar (last, so a report is visible
    only once complete); return the HTML path. The index pages are the caller's (monitor.report.site).
    Raises ReportError.
    """
    folder = reports_dir / report.target.name
    html_path = folder / f"{report.id}.html"
    document = report_document(report)
    try:
        # The HTML and text forms on disk before the sidecar that lists the report.
        html, text = render_documents(("report.html", "report.txt"), document, report.created_at)
        sidecar = json_bytes({**document, "html": html_path.name, "text": f"{report.id}.txt"})
        write_files(folder, [(html_path, html.encode("utf-8")), (folder / f"{report.id}.txt", text.encode("utf-8"))],
                    last=(folder / f"{report.id}.json", sidecar))
    except StoreError as exc:
        raise ReportError(str(exc)) from exc
    logger.info("%s: %s report written to %s", report.target.name, report.kind, html_path)
    return html_path


def report_refs(reports_dir: Path, target: str) -> list[ReportRef]:
    """Return what retention needs to know about each of `target`'s reports."""
    refs = []
    for _, path, doc in sidecars(reports_dir, target):
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
