"""CLI commands that look after the data on disk: verify (and repair) every stored file, export captures as
WARC, backfill a history from the web archive."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from monitor.cli.base import CliError, settings_of, target_of
from monitor.clock import utcnow
from monitor.errors import MonitorError


def add_store_commands(group: click.Group) -> None:
    """Add the data-care commands to the CLI group."""

    @group.command("verify")
    @click.option("--repair", is_flag=True, help="Quarantine what is not whole, remove stale temp files, "
                                                 "regenerate the index.")
    @click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
    @click.pass_context
    def verify_command(ctx: click.Context, repair: bool, as_json: bool) -> None:
        """Check every snapshot, state file, report, the review database and the index; exit 2 on damage."""
        from monitor.verify import verify  # a check never needs it: kept out of the CLI's start-up

        settings = settings_of(ctx)
        try:
            result = verify(settings.snapshots_dir, settings.reports_dir, repair=repair, now=utcnow())
        except MonitorError as exc:
            raise CliError(str(exc)) from exc
        if as_json:
            click.echo(json.dumps({
                "checked": result.checked, "errors": len(result.errors), "unrepaired": len(result.unrepaired),
                "quarantine": str(result.quarantine) if result.quarantine else None,
                "regenerated_index": result.regenerated,
                "findings": [{"paths": [str(p) for p in f.paths], "problem": f.problem, "severity": f.severity,
                              "action": f.action} for f in result.findings]}, indent=2))
        else:
            for f in result.findings:
                click.echo(f"{f.severity}: {f.paths[0]}: {f.problem}" + (f" [{f.action}]" if f.action else ""))
            notices = len(result.findings) - len(result.errors)
            line = f"verify: {result.checked} files checked, {len(result.errors)} damaged, {notices} leftovers"
            if repair:
                line += f"; {len(result.errors) - len(result.unrepaired)} repaired"
                line += f", quarantine: {result.quarantine}" if result.quarantine else ""
            click.echo(line)
        if result.unrepaired:
            ctx.exit(2)

    @group.command("export")
    @click.argument("names", nargs=-1)
    @click.option("--all", "every", is_flag=True, help="Every configured target.")
    @click.option("--warc", "dest", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="The file to write: *.warc.gz (gzip per record) or *.warc.")
    @click.option("--from", "since", type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC) of captures.")
    @click.option("--to", "until", type=click.DateTime(["%Y-%m-%d"]), help="Last day (UTC) of captures.")
    @click.pass_context
    def export_command(ctx: click.Context, names: tuple[str, ...], every: bool, dest: Path, since: datetime | None,
                       until: datetime | None) -> None:
        """Write the captures of NAME... (or --all targets) as one WARC file, for replay tools such as pywb.
        Each capture is the HTTP request and response as they went over the wire, at the time of the fetch
        (an archived page: at the archive's capture time)."""
        from monitor.store import SnapshotStore
        from monitor.store.export import export_warc

        settings = settings_of(ctx)
        if every == bool(names):
            raise CliError("name the targets to export, or give --all (not both)")
        chosen = [t.name for t in settings.targets] if every else [target_of(ctx, settings, n).name for n in names]
        start = since.replace(tzinfo=UTC) if since else None
        end = until.replace(tzinfo=UTC) + timedelta(days=1, seconds=-1) if until else None
        try:
            done = export_warc(SnapshotStore(settings.snapshots_dir), chosen, dest, start=start, end=end,
                               now=utcnow())
        except MonitorError as exc:
            raise CliError(str(exc)) from exc
        for name, count in done.captures.items():
            click.echo(f"{name}: {count} capture{'' if count == 1 else 's'}")
        for where in done.damaged:
            click.echo(f"{where}: left out, its records are damaged (run monitor verify --repair)", err=True)
        total = sum(done.captures.values())
        click.echo(f"export: wrote {total} capture{'' if total == 1 else 's'} to {done.path} ({done.size:,} bytes)")
        if done.damaged:
            ctx.exit(2)

    @group.command("backfill")
    @click.argument("name")
    @click.option("--from", "since", type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC) of captures.")
    @click.option("--to", "until", type=click.DateTime(["%Y-%m-%d"]), help="Last day (UTC) of captures.")
    @click.pass_context
    def backfill_command(ctx: click.Context, name: str, since: datetime | None, until: datetime | None) -> None:
        """Rebuild NAME's history from the web archive: each distinct capture becomes a snapshot at its capture
        time, with change reports between consecutive snapshots. Resumable; polite (see archive: in the config)."""
        from monitor.backfill import backfill, describe
        from monitor.fetch import Archive
        from monitor.store import SnapshotStore

        settings = settings_of(ctx)
        target = target_of(ctx, settings, name)
        start = since.replace(tzinfo=UTC) if since else None
        end = until.replace(tzinfo=UTC) + timedelta(days=1, seconds=-1) if until else None
        try:
            with Archive(settings.archive, settings.fetch) as archive:
                result = backfill(target, SnapshotStore(settings.snapshots_dir), archive, settings.reports_dir,
                                  now=utcnow(), since=start, until=end, lock_wait=settings.daemon.lock_wait)
        except MonitorError as exc:
            raise CliError(f"{name}: backfill stopped ({exc}); run it again to resume") from exc
        for line in describe(result):
            click.echo(f"{name}: {line}")
