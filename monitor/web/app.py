"""The review app: a small Flask (WSGI) app over the reports folder, the snapshot store and the review database.

Screens: the watches (the front page, web/watches.py), the list of changes at /reports (unreviewed first,
filters by target, status and kind), a report (three views,
previous/next, mark reviewed with a note and a significance), a target's history (every snapshot, its text,
compare any two). Review marks go to monitor.review and the static site is regenerated after each one. The
read side of the JSON API (/api/v1, with its OpenAPI document) is web/api.py.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import jinja2
from flask import Flask, Response, abort, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from monitor.clock import Clock, utcnow
from monitor.diff import diff
from monitor.errors import MonitorError, ReportError, StoreError
from monitor.models import NAME_RE, REPORT_ID_RE, ChangeReport, Settings, Snapshot, Target
from monitor.report import (
    ReportEntry,
    document_context,
    is_web_url,
    list_reports,
    publish,
    read_sidecar,
    report_document,
    resolve,
    stamp,
)
from monitor.review import ReviewStore
from monitor.store import SnapshotStore
from monitor.web import security
from monitor.web.api import api_blueprint
from monitor.web.filters import KINDS, STATUSES, Filters, neighbours
from monitor.web.watch_routes import add_watch_routes
from monitor.web.watches import (
    TIMELINE_WIDTH,
    current_settings,
    editable_target,
    field_errors,
    life_marks,
)

logger = logging.getLogger(__name__)

EDIT_FIELDS = ("every", "profile", "timeout", "fetch.via")  # what the target page's form can change


@dataclass(frozen=True)
class Sources:
    """Where the app reads and writes: settings, the snapshot store, the review database, the clock."""

    settings: Settings
    store: SnapshotStore
    reviews: ReviewStore
    clock: Clock

    def entries(self) -> list[ReportEntry]:
        """Return every report, newest first, with its review state. Raises StoreError."""
        return list_reports(self.settings.reports_dir, self.reviews.load_all())


def parse_significance(value: str | None) -> float | None:
    """Return the significance from a form field ('' -> None). Raises StoreError if it is not a number in 0..1."""
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise StoreError(f"significance {value!r} is not a number") from exc
    if not 0.0 <= number <= 1.0:
        raise StoreError(f"significance {value} is outside 0..1")
    return number


def create_app(settings: Settings, *, token: str | None = None, clock: Clock = utcnow) -> Flask:
    """Return the review app for `settings`; with `token`, every request must carry it (see monitor.web.security)."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secrets.token_bytes(32), WTF_CSRF_TIME_LIMIT=None, MAX_CONTENT_LENGTH=64 * 1024,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict")
    app.jinja_loader = jinja2.ChoiceLoader([jinja2.PackageLoader("monitor.web", "templates"),
                                            jinja2.PackageLoader("monitor.report", "templates")])
    app.jinja_env.undefined = jinja2.StrictUndefined
    app.jinja_env.filters["plural"] = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"
    app.jinja_env.filters["web_url"] = is_web_url
    security.install(app, token)  # first: a request without the token is refused before anything else runs
    csrf = CSRFProtect(app)
    src = Sources(settings, SnapshotStore(settings.snapshots_dir), ReviewStore(settings.reports_dir), clock)
    api = api_blueprint(settings)
    csrf.exempt(api)  # JSON writes only (web/api.py): no cross-origin form can send them
    app.register_blueprint(api)

    def page(template: str, entries: list[ReportEntry], **context: object) -> str:
        unreviewed = sum(1 for e in entries if not e.reviewed)
        targets = sorted({e.target for e in entries} | {t.name for t in settings.targets})
        return render_template(template, unreviewed_total=unreviewed, all_targets=targets, **context)

    @app.errorhandler(MonitorError)
    def monitor_error(exc: MonitorError) -> tuple[str, int]:
        logger.error("review app: %s", exc)
        return render_template("error.html", message=str(exc), unreviewed_total=0, all_targets=[]), 500

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[str, int]:
        return render_template("error.html", message=f"{exc.description} Reload the page and try again.",
                               unreviewed_total=0, all_targets=[]), 400

    @app.get("/reports")
    def index() -> str:
        entries = src.entries()
        filters = Filters.from_args(request.args)
        shown = filters.apply(entries)
        return page("list.html", entries, shown=shown, filters=filters, statuses=STATUSES, kinds=KINDS,
                    query=filters.query())

    def sidecar_or_404(target: str, report_id: str) -> dict[str, Any]:
        """The report's sidecar; a 404 for a malformed reference or a report that is not there."""
        if not NAME_RE.match(target) or not REPORT_ID_RE.match(report_id):
            abort(404)
        try:
            return read_sidecar(settings.reports_dir, target, report_id)
        except ReportError:
            abort(404)

    @app.get("/r/<name>/<report_id>")
    def report(name: str, report_id: str) -> str:
        target = name
        context = document_context(sidecar_or_404(target, report_id))
        entries = src.entries()
        filters = Filters.from_args(request.args)
        queue = filters.apply(entries)
        prev, nxt = neighbours(queue, f"{target}/{report_id}")
        return page("report.html", entries, **context, review=src.reviews.get(target, report_id),
                    capture_link=lambda name, sid: url_for("snapshot_capture", target=name, snapshot_id=sid),
                    prev=prev, next=nxt, query=filters.query(), position=_position(queue, target, report_id))

    @app.post("/r/<name>/<report_id>/review")
    def review(name: str, report_id: str) -> Response:
        target = name
        sidecar_or_404(target, report_id)
        filters = Filters.from_args(request.form)
        if request.form.get("action") == "unreviewed":
            src.reviews.unmark(target, report_id)
            _republish(src, target)
            flash(f"{target}/{report_id} is unreviewed again.")
            return redirect(url_for("report", name=target, report_id=report_id, **filters.query()))
        try:
            significance = parse_significance(request.form.get("significance"))
            src.reviews.mark(target, report_id, when=src.clock().astimezone(UTC),
                             note=request.form.get("note", "").strip(), significance=significance)
        except StoreError as exc:
            flash(f"Not saved: {exc}", "error")
            return redirect(url_for("report", name=target, report_id=report_id, **filters.query()))
        _republish(src, target)
        flash(f"Marked {target}/{report_id} reviewed.")
        following = request.form.get("next", "")
        if following:
            try:
                nxt = resolve(src.entries(), following)
                return redirect(url_for("report", name=nxt.target, report_id=nxt.id, **filters.query()))
            except ReportError:
                pass
        return redirect(url_for("report", name=target, report_id=report_id, **filters.query()))

    @app.get("/t/<target>")
    def history(target: str, form: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> str:
        if not NAME_RE.match(target):
            abort(404)
        snapshots = src.store.history(target)
        entries = src.entries()
        if not snapshots and not any(e.target == target for e in entries) and \
                current_settings(settings).target(target) is None:
            abort(404)
        introduced = {e.id: e for e in entries if e.target == target and e.kind in ("changed", "recovered")}
        rows = [(s, stamp(s.taken_at), introduced.get(s.id)) for s in snapshots]
        mine = [e for e in entries if e.target == target]
        return page("history.html", entries, target=target, rows=rows, reports=mine,
                    watched=current_settings(settings).target(target), marks=life_marks(snapshots, mine, src.clock()),
                    width=TIMELINE_WIDTH * 2, can_edit=settings.config_path is not None,
                    form=form or {}, errors=errors or {}, profiles=("generic", "defense.gov"))

    @app.post("/t/<target>/edit")
    def edit(target: str) -> Response | tuple[str, int]:
        from monitor.watchlist import edit_target

        if editable_target(settings, target) is None:
            abort(404)
        form = {k: request.form.get(k, "").strip() for k in EDIT_FIELDS}
        changes = {k: v for k, v in form.items() if v}
        if not changes:
            flash("Nothing to change.")
            return redirect(url_for("history", target=target))
        try:
            done = edit_target(settings.config_path, target, changes)
        except MonitorError as exc:
            return history(target, form=form, errors=field_errors(str(exc), EDIT_FIELDS)), 400
        flash(f"{target}: {', '.join(changes)} changed; {done.daemon}.")
        return redirect(url_for("history", target=target))

    @app.get("/t/<target>/compare")
    def compare(target: str) -> str:
        if not NAME_RE.match(target):
            abort(404)
        try:
            a = src.store.get(target, request.args.get("a", ""))
            b = src.store.get(target, request.args.get("b", ""))
            old, new = sorted((a, b), key=lambda s: s.taken_at)
            change = diff(src.store.read_text(old), src.store.read_text(new))
        except StoreError:
            abort(404)
        watched = settings.target(target) or Target(name=target, url=new.url or "")
        doc = report_document(ChangeReport(target=watched, kind="changed", created_at=src.clock(), old=old, new=new,
                                           change=change))
        return page("compare.html", src.entries(), **document_context(doc), same=change is None)

    def stored(target: str, snapshot_id: str, read: Callable[[Snapshot], Any]) -> Any:
        """What `read` gives of a stored snapshot; 404 for one not there (or without it)."""
        try:
            return read(src.store.get(target, snapshot_id))
        except StoreError:
            abort(404)

    @app.get("/t/<target>/s/<snapshot_id>.txt")
    def snapshot_text(target: str, snapshot_id: str) -> Response:
        return Response(stored(target, snapshot_id, src.store.read_text), mimetype="text/plain",
                        headers={"Content-Disposition": "inline"})

    @app.get("/t/<target>/s/<snapshot_id>.warc.gz")
    def snapshot_capture(target: str, snapshot_id: str) -> Response:
        """The snapshot's capture as a WARC file (its records as stored; a revisit's original first)."""
        return Response(stored(target, snapshot_id, src.store.read_capture), mimetype="application/warc",
                        headers={"Content-Disposition": f'attachment; filename="{target}-{snapshot_id}.warc.gz"'})

    @app.post("/t/<target>/remove")
    def remove(target: str) -> Response:
        from monitor.watchlist import remove_target

        if editable_target(settings, target) is None:
            abort(404)
        try:
            done = remove_target(settings.config_path, target)
        except MonitorError as exc:
            flash(f"Not removed: {exc}", "error")
            return redirect(url_for("history", target=target))
        flash(f"{target} is no longer watched (its snapshots and reports are kept); "
              f"{done.daemon}.")
        return redirect(url_for("watches_page"))

    add_watch_routes(app, src, page)

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Response | str:
        nxt = security.safe_next(request.values.get("next"))
        if request.method == "POST" and token is not None:
            if security.token_matches(token, request.form.get("token", "")):
                response = redirect(nxt)
                security.set_cookie(response, token)
                return response
            flash("That token is not right.", "error")
        return render_template("login.html", next=nxt, unreviewed_total=0, all_targets=[])

    return app


def _position(queue: list[ReportEntry], target: str, report_id: str) -> tuple[int, int] | None:
    refs = [e.ref for e in queue]
    ref = f"{target}/{report_id}"
    return (refs.index(ref) + 1, len(refs)) if ref in refs else None


def _republish(src: Sources, target: str) -> None:
    """Regenerate the static index pages so they show the new review state; a failure is logged."""
    try:
        publish(src.settings.reports_dir, src.store, src.clock(), [target])
    except MonitorError as exc:
        logger.error("could not update the static report index: %s", exc)
