"""CLI commands for reviewing change reports: reports, show, review, serve (thin shells over the library)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import click

from monitor.cli.base import CliError, settings_of
from monitor.clock import utcnow
from monitor.errors import MonitorError
from monitor.models import Settings

if TYPE_CHECKING:
    from monitor.report import ReportEntry

_MARKS = re.compile(r"\[-(.*?)-\]|\{\+(.*?)\+\}", re.DOTALL)


def _entries(settings: Settings, target: str | None = None) -> list[ReportEntry]:
    from monitor.report import list_reports  # the report stage is loaded by the commands that read reports
    from monitor.review import ReviewStore

    try:
        return list_reports(settings.reports_dir, ReviewStore(settings.reports_dir).load_all(), target)
    except MonitorError as exc:
        raise CliError(str(exc)) from exc


def _find(settings: Settings, ref: str) -> ReportEntry:
    from monitor.report import resolve

    try:
        return resolve(_entries(settings), ref)
    except MonitorError as exc:
        raise CliError(str(exc)) from exc


def _entry_json(e: ReportEntry, settings: Settings) -> dict[str, object]:
    review = e.review
    return {"ref": e.ref, "target": e.target, "id": e.id, "kind": e.kind, "created_at": e.created_at.isoformat(),
            "summary": e.summary, "title": e.title, "inserted_words": e.inserted_words,
            "deleted_words": e.deleted_words, "html": str(settings.reports_dir / e.href),
            "reviewed": review is not None,
            "review": {"reviewed_at": review.reviewed_at.isoformat(), "note": review.note,
                       "significance": review.significance} if review else None}


def _colour(text: str) -> str:
    """Return the plain-text report with [-deleted-] in red and {+inserted+} in green (stripped off a tty)."""
    def paint(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return click.style(match.group(0), fg="red")
        return click.style(match.group(0), fg="green")
    return _MARKS.sub(paint, text)


def add_review_commands(group: click.Group) -> None:
    """Add the review commands to the CLI group."""

    @group.command("reports")
    @click.option("--target", "target", metavar="NAME", help="Only this target's reports.")
    @click.option("--unreviewed", is_flag=True, help="Only reports nobody has marked reviewed.")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON array, newest first.")
    @click.pass_context
    def reports(ctx: click.Context, target: str | None, unreviewed: bool, as_json: bool) -> None:
        """List change reports, newest first ([ ] unreviewed, [x] reviewed)."""
        settings = settings_of(ctx)
        entries = [e for e in _entries(settings, target) if not (unreviewed and e.reviewed)]
        if as_json:
            click.echo(json.dumps([_entry_json(e, settings) for e in entries], indent=2))
            return
        if not entries:
            click.echo("no reports" + (" to review" if unreviewed else ""))
        for e in entries:
            words = f" (+{e.inserted_words}/-{e.deleted_words} words)" if e.inserted_words or e.deleted_words else ""
            click.echo(f"[{'x' if e.reviewed else ' '}] {e.when}  {e.ref}  {e.summary}{words}")

    @group.command("show")
    @click.argument("ref", metavar="REPORT_ID")
    @click.pass_context
    def show(ctx: click.Context, ref: str) -> None:
        """Print a report as text: REPORT_ID is TARGET/ID, an ID, or a unique prefix of either."""
        settings = settings_of(ctx)
        entry = _find(settings, ref)
        path = settings.reports_dir / entry.target / f"{entry.id}.txt"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {path}: {exc}") from exc
        click.echo(f"Report {entry.ref}")
        if entry.review:
            sig = f", significance {entry.review.significance:.2f}" if entry.review.significance is not None else ""
            click.echo(f"Reviewed {entry.review.reviewed_at:%Y-%m-%d %H:%M} UTC{sig}"
                       + (f": {entry.review.note}" if entry.review.note else ""))
        else:
            click.echo("Not reviewed yet")
        click.echo("")
        click.echo(_colour(text.rstrip("\n")))

    @group.command("review")
    @click.argument("ref", metavar="REPORT_ID")
    @click.option("--note", default="", help="What the reviewer makes of the change.")
    @click.option("--significance", type=click.FloatRange(0, 1), help="0 = noise ... 1 = major.")
    @click.option("--undo", is_flag=True, help="Mark the report unreviewed again.")
    @click.pass_context
    def review(ctx: click.Context, ref: str, note: str, significance: float | None, undo: bool) -> None:
        """Mark a report reviewed (with an optional note and significance), or unreviewed with --undo."""
        from monitor.report import publish
        from monitor.review import ReviewStore
        from monitor.store import SnapshotStore

        settings = settings_of(ctx)
        entry = _find(settings, ref)
        store = ReviewStore(settings.reports_dir)
        now = utcnow()
        try:
            if undo:
                store.unmark(entry.target, entry.id)
            else:
                store.mark(entry.target, entry.id, when=now, note=note.strip(), significance=significance)
            publish(settings.reports_dir, SnapshotStore(settings.snapshots_dir), now, [entry.target])
        except MonitorError as exc:
            raise CliError(str(exc)) from exc
        click.echo(f"{entry.ref}: {'unreviewed' if undo else 'reviewed'}")

    @group.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
    @click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
                  help="Port (0: any free port).")
    @click.option("--token", envvar="MONITOR_TOKEN", help="Access token (or $MONITOR_TOKEN); required off loopback.")
    @click.pass_context
    def serve(ctx: click.Context, host: str, port: int, token: str | None) -> None:
        """Run the review app (a small web app) until interrupted."""
        from monitor.web import MIN_TOKEN_LENGTH, create_app, is_loopback, make_server

        settings = settings_of(ctx)
        if token is not None and len(token) < MIN_TOKEN_LENGTH:
            raise CliError(f"the token is too short: use at least {MIN_TOKEN_LENGTH} characters")
        if token is None and not is_loopback(host):
            raise CliError(f"--host {host} is not a loopback address: give --token or set MONITOR_TOKEN")
        try:
            server = make_server(create_app(settings, token=token), host, port)
        except MonitorError as exc:
            raise CliError(str(exc)) from exc
        click.echo(f"Review app on {server.url} ({'token required' if token else 'loopback only'}); "
                   "Ctrl-C stops it.")
        server.serve()
