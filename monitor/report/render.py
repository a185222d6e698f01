"""Render a ChangeReport as HTML (three views of one diff) and as plain text; pure apart from templates."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jinja2

from monitor.errors import ReportError
from monitor.models import ChangeReport
from monitor.report.views import chunks, hunks, rows

HEADINGS = {"changed": "Changed", "error": "Failing", "removed": "Page removed", "recovered": "Recovered"}
MAX_SIDE_ROWS = 20_000  # beyond this the side-by-side view is left out (the other two views stay whole)
# Characters XML 1.0 forbids even as references: a scraped page may contain them; they never reach the feed.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: object) -> str:
    """Return `value` as text without the characters XML 1.0 cannot carry."""
    return _XML_INVALID.sub("", str(value))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Return the Jinja environment: package templates, autoescape for .html/.xml, StrictUndefined."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "xml"), disabled_extensions=("txt",),
                                            default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["plural"] = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"
    env.filters["web_url"] = is_web_url
    env.filters["xml"] = xml_text
    return env


def stamp(when: datetime | None) -> str:
    """Return `when` as 'YYYY-MM-DD HH:MM:SS UTC' ('' for None)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if when else ""


def is_web_url(url: str | None) -> bool:
    """True for an absolute http(s) URL (the only kind a report turns into a link)."""
    return bool(url) and urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).netloc)


def report_context(report: ChangeReport, generated_at: datetime) -> dict[str, Any]:
    """Return the template variables describing `report` (shared by the HTML, text and email forms)."""
    change = report.change
    ops = change.ops if change else ()
    side = rows(ops) if change else []
    return {
        "id": report.id,
        "kind": report.kind,
        "heading": HEADINGS[report.kind],
        "target": report.target.name,
        "url": report.target.url,
        "final_url": report.new.final_url if report.new else None,
        "old": report.old,
        "new": report.new,
        "old_time": stamp(report.old.taken_at) if report.old else "",
        "new_time": stamp(report.new.taken_at) if report.new else "",
        "created_time": stamp(report.created_at),
        "change": change,
        "meta": report.meta,
        "ignored": report.ignored,
        "error": report.error,
        "failures": report.failures,
        "failing_since": stamp(report.failing_since),
        "ops": ops,
        "chunks": chunks(ops),
        "rows": side if len(side) <= MAX_SIDE_ROWS else None,
        "hunks": hunks(ops),
        "generated_at": stamp(generated_at),
    }


def render_html(report: ChangeReport, generated_at: datetime) -> str:
    """Return the report's HTML page. Raises ReportError if a template fails."""
    return _render("report.html", report, generated_at)


def render_text(report: ChangeReport, generated_at: datetime) -> str:
    """Return the report as plain text: summary, metadata changes and the changes-only view with
    [-deleted-] and {+inserted+} marks. Raises ReportError if a template fails."""
    return _render("report.txt", report, generated_at)


def _render(name: str, report: ChangeReport, generated_at: datetime) -> str:
    try:
        return environment().get_template(name).render(report_context(report, generated_at))
    except jinja2.TemplateError as exc:
        raise ReportError(f"cannot render {name} for {report.target.name}: {exc}") from exc
