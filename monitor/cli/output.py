"""How the CLI shows check results: one line per target, or JSON (pure functions, no I/O)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from monitor.models import CheckResult


def result_line(result: CheckResult) -> str:
    """Return the one-line summary of a result (what `monitor check` prints)."""
    event = f" [{result.event} reported: {result.report}]" if result.event and result.report else ""
    if result.status == "error":
        return f"{result.target}: error: {result.error}{event}"
    details = []
    if result.change:
        from monitor.extract import describe  # the stage is loaded by then: the check ran

        where = f" in {describe(result.change.places)}" if result.change.places and not result.change.chrome else ""
        details.append(f"+{result.change.inserted_words}/-{result.change.deleted_words} words{where}")
    if result.meta:
        details += [name for name, value in (("title", result.meta.title), ("date", result.meta.date),
                                             ("final URL", result.meta.final_url),
                                             ("status", result.meta.status),
                                             ("links", result.meta.links_added or result.meta.links_removed))
                    if value]
    moved = result.meta.final_url if result.meta else None
    if moved and moved[1] and urlsplit(moved[0] or "").hostname != urlsplit(moved[1]).hostname:
        details.append(f"the page moved to {urlsplit(moved[1]).hostname}: set the target's url to {moved[1]}")
    if result.via in ("browser", "archive"):
        details.append(f"via {result.via}")
    if result.note:
        details.append(result.note)
    line = f"{result.target}: {result.status}" + (f" ({', '.join(details)})" if details else "")
    if result.event:
        return line + event
    return line + (f" report: {result.report}" if result.report else "")


def result_json(result: CheckResult) -> dict[str, Any]:
    """Return the result as the JSON object `monitor check --json` prints."""
    change = result.change
    return {
        "target": result.target, "url": result.url, "final_url": result.final_url, "status": result.status,
        "report": str(result.report) if result.report else None,
        "inserted": result.inserted, "deleted": result.deleted,
        "inserted_words": change.inserted_words if change else 0,
        "deleted_words": change.deleted_words if change else 0,
        "error": result.error, "error_kind": result.error_kind, "snapshot": result.snapshot,
        "event": result.event, "note": result.note,
        "places": list(change.places) if change else [], "alarm": result.alarming, "via": result.via,
        "meta": {"title": result.meta.title, "final_url": result.meta.final_url, "status": result.meta.status,
                 "date": result.meta.date,
                 "links_added": list(result.meta.links_added), "links_removed": list(result.meta.links_removed)}
        if result.meta else None,
        "checked_at": result.checked_at.isoformat(), "duration": round(result.duration, 3),
    }
