"""The JSON API under /api/v1, for integrations: what is watched and how it is doing, each target's snapshots,
the change reports, the daemon's status; adding, changing, removing and checking targets (through
monitor.watchlist, as the CLI does); and the OpenAPI 3 document describing it all.

Everything goes through the app's token gate and Host check (`Authorization: Bearer <token>` suits scripts).
Times are ISO 8601 UTC. Page-derived strings are returned as JSON strings: the client escapes them for its medium.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, request
from flask.typing import ResponseReturnValue

from monitor.clock import utcnow
from monitor.errors import ConfigError, MonitorError, StoreError
from monitor.models import NAME_RE, REPORT_ID_RE, Settings, Target, TargetState
from monitor.report import ReportEntry, list_reports
from monitor.review import ReviewStore
from monitor.store import SnapshotStore
from monitor.store.export import capture_json
from monitor.web.watches import check_now, current_settings

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
        target = current_settings(settings).target(name) if NAME_RE.match(name) else None
        if target is None:
            abort(404)
        return target

    def next_runs() -> dict[str, str]:
        return (store.daemon_status() or {}).get("next_run", {})

    @api.get("/status")
    def status() -> ResponseReturnValue:
        daemon = store.daemon_status()
        now = current_settings(settings)
        states = [store.load_state(t.name) for t in now.targets]
        return _json({"version": VERSION, "daemon": {"running": daemon is not None,
                                                       "pid": (daemon or {}).get("pid")},
                        "targets": len(now.targets), "failing": sum(1 for s in states if s.consecutive_failures),
                        "paused": sum(1 for t in now.targets if t.paused)})

    @api.get("/targets")
    def targets() -> ResponseReturnValue:
        runs = next_runs()
        return _json([_target_json(t, store.load_state(t.name), runs.get(t.name))
                      for t in current_settings(settings).targets])

    @api.get("/targets/<name>")
    def target(name: str) -> ResponseReturnValue:
        found = target_or_404(name)
        return _json(_target_json(found, store.load_state(name), next_runs().get(name)))

    @api.get("/targets/<name>/history")
    def history(name: str) -> ResponseReturnValue:
        target_or_404(name)
        return _json([{"id": s.id, "taken_at": _iso(s.taken_at), "source": s.source, "via": s.via,
                         "sha256": s.sha256, "status": s.status, "final_url": s.final_url, "title": s.title,
                         "text": f"/t/{name}/s/{s.id}.txt", "capture": capture_json(s),
                         "warc": f"/t/{name}/s/{s.id}.warc.gz" if capture_json(s) else None}
                        for s in store.history(name)])

    @api.get("/targets/<name>/diff")
    def snapshot_diff(name: str) -> ResponseReturnValue:
        from monitor.diff import diff

        target_or_404(name)
        try:
            a = store.get(name, request.args.get("a", ""))
            b = store.get(name, request.args.get("b", ""))
        except StoreError:
            abort(404)
        old, new = sorted((a, b), key=lambda snap: snap.taken_at)
        change = diff(store.read_text(old), store.read_text(new))
        return _json({"target": name, "old": old.id, "new": new.id, "same": change is None,
                      "inserted_words": change.inserted_words if change else 0,
                      "deleted_words": change.deleted_words if change else 0,
                      "ops": [list(op) for op in change.ops] if change else []})

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

    def body() -> dict[str, Any]:
        """The request's JSON object. A write must say `Content-Type: application/json`: a page on another
        origin cannot send that without a CORS preflight, which this app never answers, so it needs no CSRF
        token. Aborts with 415 or 400."""
        if request.mimetype != "application/json":
            abort(415)
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            abort(400)
        return data

    def refused(exc: MonitorError) -> Response:
        response = _json({"error": str(exc)})
        response.status_code = 400 if isinstance(exc, ConfigError) else 500
        return response

    @api.post("/targets")
    def create() -> ResponseReturnValue:
        from monitor.watchlist import add_target

        entry = body()
        if settings.config_path is None:
            abort(404)
        try:
            new = add_target(settings.config_path, entry).settings
        except MonitorError as exc:
            return refused(exc)
        made = new.target(str(entry.get("name")))
        assert made is not None
        response = _json(_target_json(made, store.load_state(made.name), None))
        response.status_code = 201
        return response

    @api.patch("/targets/<name>")
    def update(name: str) -> ResponseReturnValue:
        from monitor.watchlist import edit_target

        changes = body()
        if settings.config_path is None:
            abort(404)
        target_or_404(name)
        try:
            new = edit_target(settings.config_path, name, changes).settings
        except MonitorError as exc:
            return refused(exc)
        found = new.target(name)
        assert found is not None
        return _json(_target_json(found, store.load_state(name), next_runs().get(name)))

    @api.delete("/targets/<name>")
    def delete(name: str) -> ResponseReturnValue:
        from monitor.watchlist import remove_target

        if request.mimetype != "application/json":
            abort(415)
        if settings.config_path is None:
            abort(404)
        target_or_404(name)
        try:
            remove_target(settings.config_path, name)
        except MonitorError as exc:
            return refused(exc)
        return _json({"removed": name, "data": "kept"})

    @api.post("/targets/<name>/check")
    def check(name: str) -> ResponseReturnValue:
        if request.mimetype != "application/json":
            abort(415)
        now = current_settings(settings)
        found = now.target(name) if NAME_RE.match(name) else None
        if found is None:
            abort(404)
        if store.daemon_status():
            store.request_check(name, utcnow())
            return _json({"target": name, "queued": True})
        return _json({"target": name, "queued": False, "result": check_now(now, found, utcnow)})

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


def _write(method: str, summary: str, params: tuple[str, ...], ok: str = "200") -> dict[str, Any]:
    return {method: {"summary": summary,
                     "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                    for p in params],
                     **({"requestBody": {"required": True, "content": {"application/json": {}}}}
                        if method in ("post", "patch") else {}),
                     "responses": {ok: {"description": "done", "content": {"application/json": {}}},
                                   "400": {"description": "refused: the error says why (nothing was written)"},
                                   "404": {"description": "no such target"},
                                   "415": {"description": "send Content-Type: application/json"}}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "monitor", "version": VERSION,
             "description": "What is watched, how it is doing, its snapshots and change reports."},
    "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
    "security": [{"token": []}],
    "paths": {
        "/api/v1/status": _get("The daemon and a count of targets, failing and paused."),
        "/api/v1/targets": {**_get("Every target with its settings and state."),
                            **_write("post", "Add a target (its config.yaml keys as a JSON object).", (), "201")},
        "/api/v1/targets/{name}": {**_get("One target.", ("name",)),
                                   **_write("patch", "Change keys of a target ({\"every\": \"1h\"}; null removes "
                                            "one).", ("name",)),
                                   **_write("delete", "Stop watching a target (its data stays).", ("name",))},
        "/api/v1/targets/{name}/check": _write("post", "Check now: the running daemon's next pass, else here.",
                                               ("name",)),
        "/api/v1/targets/{name}/history": _get("A target's snapshots, newest first, each with its capture (WARC "
                                               "record id, date, digest) and a link to it as a WARC file while it "
                                               "is kept.", ("name",)),
        "/api/v1/targets/{name}/diff": _get("The diff between two of its snapshots (?a=ID&b=ID).", ("name",),
                                            ("a", "b")),
        "/api/v1/reports": _get("Change reports, newest first.", query=("target", "unreviewed")),
        "/api/v1/reports/{name}/{report_id}": _get("One report with its diff and review.", ("name", "report_id")),
        "/api/v1/openapi.json": _get("This document."),
    },
}
