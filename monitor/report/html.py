"""Write one self-contained HTML change report (+ JSON sidecar) per change, and reports/index.html."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from monitor.durable import read_json, write_atomic, write_json
from monitor.errors import ReportError, StoreError
from monitor.models import NAME_RE, ChangeReport

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Return the Jinja environment: package templates, autoescape for .html, StrictUndefined."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("monitor.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "xml"), disabled_extensions=("txt",),
                                            default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _is_web_url(url: str | None) -> bool:
    return bool(url) and urlsplit(url).scheme in ("http", "https")


def report_context(report: ChangeReport, generated_at: datetime) -> dict[str, Any]:
    """Return the template variables describing `report` (shared by the HTML, text and email forms)."""
    change = report.change
    return {
        "target": report.target.name,
        "url": report.target.url,
        "url_is_link": _is_web_url(report.target.url),
        "final_url": report.new.final_url,
        "old_time": _stamp(report.old.taken_at),
        "old_source": report.old.source,
        "new_time": _stamp(report.new.taken_at),
        "inserted_words": change.inserted_words,
        "deleted_words": change.deleted_words,
        "inserted_chars": change.inserted_chars,
        "deleted_chars": change.deleted_chars,
        "ignored": report.ignored,
        "ops": change.ops,
        "generated_at": _stamp(generated_at),
    }


def render_report(report: ChangeReport, generated_at: datetime) -> str:
    """Return the report's HTML. Raises ReportError if a template fails."""
    try:
        return environment().get_template("report.html").render(report_context(report, generated_at))
    except jinja2.TemplateError as exc:
        raise ReportError(f"cannot render report for {report.target.name}: {exc}") from exc


def write_report(reports_dir: Path, report: ChangeReport) -> Path:
    """Write `<reports_dir>/<target>/<id>.html` and its `.json` sidecar, refresh the index; return the HTML path.

    Raises ReportError if the files cannot be written.
    """
    folder = reports_dir / report.target.name
    html_path = folder / f"{report.id}.html"
    change = report.change
    sidecar = {
        "id": report.id,
        "target": report.target.name,
        "url": report.target.url,
        "final_url": report.new.final_url,
        "created_at": report.created_at.astimezone(UTC).isoformat(),
        "old": {"id": report.old.id, "taken_at": report.old.taken_at.isoformat(), "source": report.old.source},
        "new": {"id": report.new.id, "taken_at": report.new.taken_at.isoformat(), "source": report.new.source},
        "inserted_chars": change.inserted_chars,
        "deleted_chars": change.deleted_chars,
        "inserted_words": change.inserted_words,
        "deleted_words": change.deleted_words,
        "ignored": report.ignored,
        "html": html_path.name,
        "ops": [[op, text] for op, text in change.ops],
    }
    try:
        write_atomic(html_path, render_report(report, report.created_at).encode("utf-8"))
        write_json(folder / f"{report.id}.json", sidecar)
    except StoreError as exc:
        raise ReportError(str(exc)) from exc
    write_index(reports_dir, report.created_at)
    logger.info("%s: report written to %s", report.target.name, html_path)
    return html_path


@dataclass(frozen=True)
class IndexEntry:
    """One row of the report index."""

    target: str
    new_time: str
    sort_key: str
    inserted_words: int
    deleted_words: int
    href: str


def list_reports(reports_dir: Path) -> list[IndexEntry]:
    """Return every report found under `reports_dir` (from the JSON sidecars), newest first.

    Unreadable sidecars are skipped with a warning.
    """
    entries = []
    if not reports_dir.is_dir():
        return entries
    for folder in sorted(p for p in reports_dir.iterdir() if p.is_dir() and NAME_RE.match(p.name)):
        for path in folder.glob("*.json"):
            try:
                doc = read_json(path)
                taken = datetime.fromisoformat(doc["new"]["taken_at"])
                entries.append(IndexEntry(
                    target=folder.name, new_time=_stamp(taken), sort_key=taken.isoformat(),
                    inserted_words=int(doc["inserted_words"]), deleted_words=int(doc["deleted_words"]),
                    href=f"{folder.name}/{path.stem}.html"))
            except (StoreError, KeyError, TypeError, ValueError) as exc:
                logger.warning("skipping unreadable report sidecar %s: %s", path, exc)
    return sorted(entries, key=lambda e: (e.sort_key, e.target), reverse=True)


def write_index(reports_dir: Path, generated_at: datetime) -> Path:
    """Rewrite `<reports_dir>/index.html` listing every report newest first; return its path.

    Raises ReportError if it cannot be written.
    """
    path = reports_dir / "index.html"
    try:
        html = environment().get_template("index.html").render(
            entries=list_reports(reports_dir), generated_at=_stamp(generated_at))
        write_atomic(path, html.encode("utf-8"))
    except (jinja2.TemplateError, StoreError) as exc:
        raise ReportError(f"cannot write {path}: {exc}") from exc
    return path
