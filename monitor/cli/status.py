"""CLI command `monitor status`: a summary line, the engine and channels, then one line per target."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from monitor.cli.base import EXIT_CHANGED, EXIT_OK, CliError, settings_of
from monitor.cli.engine import engine_lines
from monitor.errors import MonitorError


def add_status_command(group: click.Group) -> None:
    """Add `status` to the CLI group."""

    @group.command()
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON object: daemon, email, targets.")
    @click.option("--failing", is_flag=True, help="Only the targets whose last check failed.")
    @click.pass_context
    def status(ctx: click.Context, as_json: bool, failing: bool) -> None:
        """Per target: last check, result, last change, last error, next run. Exit 1 when a target is failing."""
        from monitor.daemon import read_status
        from monitor.notify import Outbox, channel_outboxes  # here: smtplib and Apprise are not for a check
        from monitor.store import SnapshotStore

        settings = settings_of(ctx)
        daemon = read_status(settings)
        store = SnapshotStore(settings.snapshots_dir)
        rows = []
        for target in settings.targets:
            try:
                state = store.load_state(target.name)
            except MonitorError as exc:
                raise CliError(str(exc)) from exc
            next_run = (daemon or {}).get("next_run", {}).get(target.name)
            rows.append({
                "target": target.name, "url": target.url,
                "last_checked": _iso(state.last_checked), "last_status": state.last_status,
                "last_change": _iso(state.last_change), "last_error": state.last_error,
                "consecutive_failures": state.consecutive_failures, "failing_since": _iso(state.failing_since),
                "reported": state.reported, "next_run": None if target.paused else next_run, "paused": target.paused,
            })
        failing_rows = [row for row in rows if row["consecutive_failures"]]
        outbox = Outbox(settings.snapshots_dir, settings.reports_dir, settings.email).size()
        shown = failing_rows if failing else rows
        engine, engine_text = engine_lines(settings.engine) if settings.engine.url else (None, [])
        channels = [{"channel": c.channel.name, "outbox": c.size()} for c in channel_outboxes(settings)]
        if as_json:
            click.echo(json.dumps({"daemon": {"running": daemon is not None, "pid": (daemon or {}).get("pid")},
                                   "email": {"enabled": settings.email.enabled, "outbox": outbox},
                                   **({"engine": engine} if engine else {}),
                                   **({"notify": channels} if channels else {}),
                                   "failing": len(failing_rows), "targets": shown}, indent=2))
        else:
            never = sum(1 for row in rows if not row["last_checked"])
            running = f"running (pid {daemon['pid']})" if daemon else "not running"
            paused = sum(1 for row in rows if row["paused"])
            click.echo(f"{len(rows)} targets: {len(rows) - len(failing_rows) - never} ok, {len(failing_rows)} "
                       f"failing, {never} never checked" + (f", {paused} paused" if paused else "")
                       + f"; daemon: {running}"
                       + (f"; email: {'on' if settings.email.enabled else 'off'}, {outbox} in the outbox"
                          if settings.email.enabled or outbox else ""))
            for line in engine_text:
                click.echo(line)
            if channels:
                click.echo("notify: " + ", ".join(f"{c['channel']} ({c['outbox']} waiting)" for c in channels))
            for row in shown:
                click.echo(_status_line(row))
        ctx.exit(EXIT_CHANGED if failing_rows else EXIT_OK)  # status: 1 means a target needs attention


def _status_line(row: dict[str, Any]) -> str:
    if row.get("paused"):
        return f"{row['target']}: paused (last check {_utc(row['last_checked']) or 'never'})"
    line = (f"{row['target']}: last check {_utc(row['last_checked']) or 'never'} ({row['last_status'] or '-'}), "
            f"last change {_utc(row['last_change']) or 'none'}, next run {_utc(row['next_run']) or '-'}")
    if row["last_error"]:
        line += f", error: {row['last_error']} (x{row['consecutive_failures']} since {_utc(row['failing_since'])}"
        line += f", '{row['reported']}' reported)" if row["reported"] else ", not reported yet)"
    return line


def _utc(iso: str | None) -> str | None:
    """An ISO time as everything else shows times: 'YYYY-MM-DD HH:MM:SS UTC'."""
    if not iso:
        return None
    try:
        from monitor.report import stamp

        return stamp(datetime.fromisoformat(iso))
    except ValueError:
        return iso


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when else None
