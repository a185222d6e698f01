"""Render a ChangeReport as HTML (three views of one diff) and as plain text; pure apart from templates."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jinja2

from monitor.errors import ReportError
from monitor.extract import describe
from monitor.models import ChangeReport, MetaChange, Snapshot
from monitor.report.views import chunks, hunks, rows, windowed

logger = logging.getLogger(__name__)

HEADINGS = {"changed": "Changed", "error": "Failing", "removed": "Page removed", "recovered": "Recovered"}
LONG_PAGE_LINES = 60  # a report of a longer page opens on the changes-only view
MAX_SIDE_ROWS = 20_000  # beyond this the side-by-side view is left out (the other two views stay whole)
# Characters XML 1.0 forbids even as references: a scraped page may contain them; they never reach the feed.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: object) -> str:
    """Return `value` as text without the characters XML 1.0 cannot carry."""
    return _XML_INVALID.sub("", str(value))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Return the Jinja environment: package templates, autoescape for .html/.xml, StrictUndefined.

    One per process, shared (rendering is thread-safe): each template is compiled once, not per report.
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor.report", "templates"),
        auto_reload=False,  # the templates are package files
        bytecode_cache=_bytecode_cache(),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "xml"), disabled_extensions=("txt",),
                                            default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["plural"] = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"
    env.filters["web_url"] = is_web_url
    env.filters["xml"] = xml_text
    return env


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja's cache of compiled templates in this user's own temp folder (mode 0700, checked by Jinja), keyed by
    each template's source: a `monitor check` compiles its templates once, not in every process (42 ms to
    1.6 ms for the seven). None where no such folder can be made: templates are then compiled as before."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (RuntimeError, OSError) as exc:
        logger.debug("no template cache: %s", exc)
        return None


def stamp(when: datetime | None) -> str:
    """Return `when` as 'YYYY-MM-DD HH:MM:SS UTC' ('' for None)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if when else ""


def is_web_url(url: str | None) -> bool:
    """True for an absolute http(s) URL (the only kind a report turns into a link)."""
    return bool(url) and urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).netloc)


def _snapshot_document(snapshot: Snapshot | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    capture = snapshot.capture if snapshot.has_raw else None
    return {"id": snapshot.id, "taken_at": snapshot.taken_at.isoformat(), "source": snapshot.source,
            "capture": {"record": capture.record, "date": capture.date, "digest": capture.digest,
                        "revisit": capture.original is not None} if capture else None}


def _meta_document(meta: MetaChange | None) -> dict[str, Any] | None:
    if meta is None:
        return None
    return {"title": meta.title, "final_url": meta.final_url, "status": meta.status, "date": meta.date,
            "links_added": list(meta.links_added), "links_removed": list(meta.links_removed)}


def report_document(report: ChangeReport) -> dict[str, Any]:
    """Return `report` as a JSON-ready document: what its sidecar stores and every view is rendered from."""
    change = report.change
    return {
        "id": report.id,
        "kind": report.kind,
        "target": report.target.name,
        "url": report.target.url,
        "final_url": report.new.final_url if report.new else None,
        "title": (report.new or report.old).title if (report.new or report.old) else None,
        "created_at": report.created_at.astimezone(UTC).isoformat(),
        "old": _snapshot_document(report.old),
        "new": _snapshot_document(report.new),
        "inserted_chars": change.inserted_chars if change else 0,
        "deleted_chars": change.deleted_chars if change else 0,
        "inserted_words": change.inserted_words if change else 0,
        "deleted_words": change.deleted_words if change else 0,
        "ignored": report.ignored,
        "meta": _meta_document(report.meta),
        "error": report.error,
        "failures": report.failures,
        "failing_since": report.failing_since.astimezone(UTC).isoformat() if report.failing_since else None,
        "ops": [[op, text] for op, text in change.ops] if change else [],
        "places": list(change.places) if change else [],
        "chrome": bool(change and change.chrome and not report.meta),
    }


ALL_VIEWS = ("chunks", "rows", "hunks")


def document_ops(doc: dict[str, Any]) -> tuple[tuple[int, str], ...]:
    """Return a report document's diff operations as (op, text) pairs. Raises ValueError or TypeError for
    malformed ones."""
    return tuple((int(op), str(text)) for op, text in doc.get("ops") or ())


def document_context(doc: dict[str, Any], views: tuple[str, ...] = ALL_VIEWS) -> dict[str, Any]:
    """Return the template variables describing a report document (a sidecar): the static report, its text
    form and the review app all render from these, so they show the same views. Of the three views of the
    diff (`chunks` inline, `rows` side by side, `hunks` changes only) only those in `views` are computed;
    the others are None.

    Raises ReportError for a document that is not a report.
    """
    try:
        ops = document_ops(doc)
        kind = str(doc.get("kind", "changed"))
        side = rows(ops) if ops and "rows" in views else []
        inline = [windowed(c) for c in chunks(ops)] if "chunks" in views else None
        text_lines = sum(text.count("\n") for op, text in ops if op >= 0) + 1
        old, new = doc.get("old"), doc.get("new")
        return {
            "id": doc["id"], "kind": kind, "target": doc["target"],
            "heading": "Site chrome changed" if doc.get("chrome") else HEADINGS.get(kind, kind),
            "where": describe(str(p) for p in doc.get("places") or ()), "chrome": bool(doc.get("chrome")),
            "url": doc.get("url"), "final_url": doc.get("final_url"), "title": doc.get("title"),
            "old": old, "new": new,
            "old_time": stamp(datetime.fromisoformat(old["taken_at"])) if old else "",
            "new_time": stamp(datetime.fromisoformat(new["taken_at"])) if new else "",
            "created_time": stamp(datetime.fromisoformat(doc["created_at"])),
            "change": {key: doc.get(key, 0) for key in ("inserted_words", "deleted_words", "inserted_chars",
                                                         "deleted_chars")} if ops else None,
            "meta": doc.get("meta"), "ignored": int(doc.get("ignored") or 0), "error": doc.get("error"),
            "failures": int(doc.get("failures") or 0),
            "failing_since": stamp(datetime.fromisoformat(doc["failing_since"])) if doc.get("failing_since") else "",
            "ops": ops, "chunks": inline,
            "changed_chunks": sum(1 for c in inline if c.changed) if inline is not None else 0,
            "opens_changes": text_lines > LONG_PAGE_LINES,
            "rows": side if "rows" in views and len(side) <= MAX_SIDE_ROWS else None,
            "hunks": hunks(ops) if "hunks" in views else None,
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"invalid report document: {exc}") from exc


def render_html(report: ChangeReport, generated_at: datetime) -> str:
    """Return the report's HTML page. Raises ReportError if a template fails."""
    return render_document("report.html", report_document(report), generated_at)


def render_text(report: ChangeReport, generated_at: datetime) -> str:
    """Return the report as plain text: summary, metadata changes and the changes-only view with
    [-deleted-] and {+inserted+} marks. Raises ReportError if a template fails."""
    return render_document("report.txt", report_document(report), generated_at)


def render_document(name: str, doc: dict[str, Any], generated_at: datetime) -> str:
    """Return template `name` rendered for a report document. Raises ReportError."""
    return render_documents((name,), doc, generated_at)[0]


def render_documents(names: tuple[str, ...], doc: dict[str, Any], generated_at: datetime) -> list[str]:
    """Return the templates `names` rendered for one report document (its views computed once).
    Raises ReportError."""
    context = {**document_context(doc), "generated_at": stamp(generated_at)}
    out = []
    for name in names:
        try:
            out.append(environment().get_template(name).render(context))
        except jinja2.TemplateError as exc:
            raise ReportError(f"cannot render {name} for {doc.get('target')}: {exc}") from exc
    return out
