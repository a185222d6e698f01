"""The read side of the JSON API under /api/v1, for integrations: what is watched and how it is doing, each
target's snapshots, the change reports, the daemon's status, and the OpenAPI 3 document describing them.

Everything goes through the app's token gate and Host check (`Authorization: Bearer <token>` suits scripts).
Times are ISO 8601 UTC. Page-derived strings are returned as JSON strings: the client escapes them for its medium.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, request
from flask.typing import ResponseReturnValue

from monitor.errors import StoreError
from monitor.models import NAME_RE, REPORT_ID_RE, Settings, Target, TargetState
from monitor.report import ReportEntry, list_reports
from monitor.review import ReviewStore
from monitor.store import SnapshotStore

VERSION = "1"


def _json(value: Any) -> Response:
    """A JSON response with <, > and & as \\u escapes: page text inside cannot be read as markup, even by a
    client that pastes it into HTML or a sniffing browser."""
    text = json.dumps(value, ensure_ascii=False, indent=None, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return Response(text, mimetype="application/json")


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _target_json(target: Target, state: TargetState, next_run: str | None) -> dict[str, Any]:
    status = "paused" if target.paused else ("failing" if state.consecutive_failures else
                                             state.last_status or "never checked")
    return {"name": target.name, "url": target.url, "profile": target.profile,
            "every": target.every.total_seconds() if target.every else None, "cron": target.cron,
            "via": target.via, "source": target.source, "paused": target.paused, "state": status,
            "last_checked": _iso(state.last_checked), "last_status": state.last_status,
            "last_change": _iso(state.last_change), "last_error": state.last_error,
            "consecutive_failures": state.consecutive_failures, "failing_since": _iso(state.failing_since),
            "next_run": None if target.paused else next_run}


def api_blueprint(settings: Settings) -> Blueprint:
    """Return the /api/v1 blueprint over `settings`' store and reports."""
    api = Blueprint("api", __name__, url_prefix="/api/v1")
    store = SnapshotStore(settings.snapshots_dir)
    reviews = ReviewStore(settings.reports_dir)

    def target_or_404(name: str) -> Target:
        target = settings.target(name) if NAME_RE.match(name) else None
        if target is None:
            abort(404)
        return target

    def next_runs() -> dict[str, str]:
        return (store.daemon_status() or {}).get("next_run", {})

    @api.get("/status")
    def status() -> ResponseReturnValue:
        daemon = store.daemon_status()
        states = [store.load_state(t.name) for t in settings.targets]
        return _json({"version": VERSION, "daemon": {"running": daemon is not None,
                                                       "pid": (daemon or {}).get("pid")},
                        "targets": len(settings.targets), "failing": sum(1 for s in states if s.consecutive_failures),
                        "paused": sum(1 for t in settings.targets if t.paused)})

    @api.get("/targets")
    def targets() -> ResponseReturnValue:
        runs = next_runs()
        return _json([_target_json(t, store.load_state(t.name), runs.get(t.name)) for t in settings.targets])

    @api.get("/targets/<name>")
    def target(name: str) -> ResponseReturnValue:
        found = target_or_404(name)
        return _json(_target_json(found, store.load_state(name), next_runs().get(name)))

    @api.get("/targets/<name>/history")
    def history(name: str) -> ResponseReturnValue:
        target_or_404(name)
        return _json([{"id": s.id, "taken_at": _iso(s.taken_at), "source": s.source, "via": s.via,
                         "sha256": s.sha256, "status": s.status, "final_url": s.final_url, "title": s.title,
                         "text": f"/t/{name}/s/{s.id}.txt"} for s in store.history(name)])

    @api.get("/reports")
    def reports() -> ResponseReturnValue:
        wanted = request.args.get("target")
        unreviewed = request.args.get("unreviewed") in ("1", "true", "yes")
        entries = [e for e in list_reports(settings.reports_dir, reviews.load_all())
                   if (wanted is None or e.target == wanted) and not (unreviewed and e.reviewed)]
        return _json([_report_json(e) for e in entries])

    @api.get("/reports/<name>/<report_id>")
    def report(name: str, report_id: str) -> ResponseReturnValue:
        from monitor.errors import ReportError
        from monitor.report import read_sidecar

        if not NAME_RE.match(name) or not REPORT_ID_RE.match(report_id):
            abort(404)
        try:
            doc = read_sidecar(settings.reports_dir, name, report_id)
        except (ReportError, StoreError):
            abort(404)
        review = reviews.get(name, report_id)
        keep = ("target", "id", "kind", "created_at", "title", "url", "inserted_words", "deleted_words", "places",
                "error", "failures", "meta", "ops")
        return _json({**{k: doc.get(k) for k in keep}, "html": f"/r/{name}/{report_id}",
                        "reviewed": review is not None,
                        "review": None if review is None else {"at": _iso(review.reviewed_at), "note": review.note,
                                                               "significance": review.significance}})

    @api.get("/openapi.json")
    def openapi() -> ResponseReturnValue:
        return _json(OPENAPI)

    return api


def _report_json(entry: ReportEntry) -> dict[str, Any]:
    return {"target": entry.target, "id": entry.id, "kind": entry.kind, "created_at": _iso(entry.created_at),
            "title": entry.title, "inserted_words": entry.inserted_words, "deleted_words": entry.deleted_words,
            "chrome": entry.chrome, "reviewed": entry.reviewed, "html": f"/r/{entry.target}/{entry.id}",
            "json": f"/api/v1/reports/{entry.target}/{entry.id}"}


def _get(summary: str, params: tuple[str, ...] = (), query: tuple[str, ...] = ()) -> dict[str, Any]:
    parameters = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params]
    parameters += [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in query]
    return {"get": {"summary": summary, "parameters": parameters,
                    "responses": {"200": {"description": "OK", "content": {"application/json": {}}},
                                  **({"404": {"description": "no such target or report"}} if params else {})}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "monitor", "version": VERSION,
             "description": "What is watched, how it is doing, its snapshots and change reports."},
    "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
    "security": [{"token": []}],
    "paths": {
        "/api/v1/status": _get("The daemon and a count of targets, failing and paused."),
        "/api/v1/targets": _get("Every target with its settings and state."),
        "/api/v1/targets/{name}": _get("One target.", ("name",)),
        "/api/v1/targets/{name}/history": _get("A target's snapshots, newest first.", ("name",)),
        "/api/v1/reports": _get("Change reports, newest first.", query=("target", "unreviewed")),
        "/api/v1/reports/{name}/{report_id}": _get("One report with its diff and review.", ("name", "report_id")),
        "/api/v1/openapi.json": _get("This document."),
    },
}
