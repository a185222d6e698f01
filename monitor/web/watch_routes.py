"""The watches page's routes: the front page (every target and how it is doing), adding a target, pause and
resume, check now. What they show and do is web/watches.py and monitor.watchlist; here are only the routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, flash, redirect, request, url_for

from monitor.errors import MonitorError
from monitor.models import NAME_RE
from monitor.web.watches import (
    STATES,
    TIMELINE_DAYS,
    TIMELINE_WIDTH,
    check_now,
    current_settings,
    editable_target,
    field_errors,
    matching,
    watches,
)


def add_watch_routes(app: Flask, src: Any, page: Callable[..., str]) -> None:
    """Add the watches routes to `app` (`src`: the app's Sources; `page`: its page renderer)."""
    settings = src.settings

    @app.post("/watches/add")
    def watch_add() -> Response | tuple[str, int]:
        from monitor.watchlist import add_target, name_of

        form = {k: request.form.get(k, "").strip() for k in ("url", "name", "profile", "every")}
        entry = {"name": form["name"] or name_of(form["url"]), "url": form["url"],
                 "profile": form["profile"] or "generic", **({"every": form["every"]} if form["every"] else {})}
        if settings.config_path is None:
            abort(404)
        try:
            done = add_target(settings.config_path, entry)
        except MonitorError as exc:
            return watches_page(form=form, errors=field_errors(str(exc))), 400
        flash(f"Added {entry['name']}; {done.daemon}.")
        return redirect(url_for("watches_page"))

    @app.get("/watches")
    @app.get("/")  # registered first: url_for gives "/"
    def watches_page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> str:
        entries = src.entries()
        status = src.store.daemon_status() or {}
        current = current_settings(settings)  # the file as it is now: a pause from here or the CLI shows at once
        rows = watches(current, {t.name: src.store.load_state(t.name) for t in current.targets}, entries,
                       status.get("next_run", {}), src.clock())
        state, name = request.args.get("state", "all"), request.args.get("name", "").strip()
        shown = matching(rows, state if state in STATES else "all", name)
        return page("watches.html", entries, rows=rows, shown=shown, states=STATES, state=state, name=name,
                    filtered=bool(name) or state not in ("", "all"), days=TIMELINE_DAYS, width=TIMELINE_WIDTH,
                    failing=sum(1 for w in rows if w.state in ("failing", "blocked")),
                    can_edit=settings.config_path is not None, form=form or {}, errors=errors or {},
                    profiles=("generic", "defense.gov"))

    @app.post("/watches/<target>/pause")
    def watch_pause(target: str) -> Response:
        from monitor.watchlist import set_paused

        if editable_target(settings, target) is None:
            abort(404)
        paused = request.form.get("paused") == "1"
        try:
            done = set_paused(settings.config_path, target, paused)
        except MonitorError as exc:
            flash(f"Not changed: {exc}", "error")
            return redirect(url_for("watches_page"))
        flash(f"{target} {'paused' if paused else 'resumed'} in {settings.config_path.name}; "
              f"{done.daemon}.")
        return redirect(url_for("watches_page"))

    @app.post("/watches/<target>/check")
    def watch_check(target: str) -> Response:
        current = current_settings(settings)
        watched = current.target(target) if NAME_RE.match(target) else None
        if watched is None:
            abort(404)
        status = src.store.daemon_status()
        if status:
            src.store.request_check(target, src.clock())
            flash(f"{target}: the daemon (pid {status.get('pid')}) checks it within seconds.")
            return redirect(url_for("watches_page"))
        flash(check_now(current, watched, src.clock))  # no daemon: this request runs it, under the target's lock
        return redirect(url_for("watches_page"))
