"""Command-line interface: a thin shell over the library. Logging is set up and exit codes decided here only.
Nothing heavy is imported at start-up: each command imports the stages it runs.

Exit codes: 0 all unchanged or new, 1 at least one change, 2 at least one error or bad input (errors win).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import logging.handlers
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import click

from monitor import __version__
from monitor.cli.base import EXIT_CHANGED, EXIT_ERROR, EXIT_OK, CliError, settings_of, target_of
from monitor.cli.engine import add_engine_commands, engine_of
from monitor.cli.notify import add_notify_commands
from monitor.cli.output import result_json, result_line
from monitor.cli.progress import Progress
from monitor.cli.review import add_review_commands
from monitor.cli.status import add_status_command
from monitor.cli.store import add_store_commands
from monitor.cli.targets import add_target_commands
from monitor.clock import utcnow
from monitor.daemon.launch import Launch
from monitor.errors import MonitorError
from monitor.models import PROFILE_NAMES, RunReport, Settings, Target

# The stages are imported by the commands that use them: `monitor check` loads the check stack in its
# checking process while this one reads the config (monitor.daemon.launch).

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def run_exit_code(report: RunReport) -> int:
    """Return the exit code for a run: errors win over changes, changes over quiet runs."""
    if report.count("error"):
        return EXIT_ERROR
    if any(result.alarming for result in report.results):  # a change confined to site chrome is no alarm
        return EXIT_CHANGED
    return EXIT_OK


def _setup_logging(verbose: int, default: int = logging.ERROR, log_file: Path | None = None) -> None:
    level = {0: default, 1: logging.INFO}.get(verbose, logging.DEBUG)
    handler: logging.Handler = (
        logging.handlers.RotatingFileHandler(log_file, maxBytes=10 * 1024 * 1024, backupCount=5)
        if log_file else logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "charset_normalizer", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="monitor")
@click.option("-c", "--config", "config", type=click.Path(path_type=Path), default="config.yaml",
              envvar="MONITOR_CONFIG", show_default=True, help="The YAML config file.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
@click.pass_context
def cli(ctx: click.Context, config: Path, verbose: int) -> None:
    """Watch web pages for changes: fetch, normalize, snapshot, diff and report."""
    ctx.ensure_object(dict)
    ctx.obj.update(config=config, verbose=verbose)
    _setup_logging(verbose)


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per target.")
@click.pass_context
def check(ctx: click.Context, names: tuple[str, ...], as_json: bool) -> None:
    """Check the named targets (all but the paused ones by default) once; exit 0 quiet, 1 changed, 2 error."""
    with Launch() as launch:  # first: its process loads the check stack while this one reads the config
        settings = settings_of(ctx)
        targets = _check_targets(ctx, settings, names)
        progress = Progress(len(targets), quiet=as_json)
        try:
            report = launch.run(settings, targets, on_result=progress)
        except MonitorError as exc:
            raise CliError(str(exc)) from exc
        finally:
            progress.close()
    if as_json:
        click.echo(json.dumps([result_json(r) for r in report.results], indent=2))
    if report.mail_error:
        click.echo(f"{report.mail_error} ({report.outbox} in the outbox, retried on later runs)", err=True)
    for error in report.notify_errors:
        click.echo(f"{error} (the message waits in its outbox, retried on later runs)", err=True)
    global _QUICK_EXIT
    _QUICK_EXIT = True  # every thread and worker process of the run has ended
    ctx.exit(run_exit_code(report))


def _check_targets(ctx: click.Context, settings: Settings, names: tuple[str, ...]) -> list[Target]:
    """The targets `monitor check NAMES` checks. Raises CliError for an unknown name or nothing to check."""
    unknown = [n for n in names if settings.target(n) is None]
    if unknown:
        raise CliError(f"unknown target(s): {', '.join(unknown)} (configured: "
                       f"{', '.join(t.name for t in settings.targets) or 'none'})")
    # Named targets are checked even when paused; a plain `monitor check` leaves paused ones alone.
    targets = [settings.target(n) for n in names] if names else [t for t in settings.targets if not t.paused]
    if not targets:
        paused = sum(1 for t in settings.targets if t.paused)
        raise CliError(f"{ctx.obj['config']}: no targets configured" if not paused else
                       f"{ctx.obj['config']}: all {paused} targets are paused (`monitor resume NAME`)")
    return [t for t in targets if t is not None]


@cli.command("email-test")
@click.pass_context
def email_test(ctx: click.Context) -> None:
    """Send a test message with the current email settings; a clear one-line error if it fails."""
    from monitor.notify import send
    from monitor.report import probe_message

    settings = settings_of(ctx).email
    if not settings.to:
        raise CliError("email.to is empty: nowhere to send the test message")
    message = probe_message(settings, utcnow())
    try:
        send(settings, message)
    except MonitorError as exc:
        raise CliError(str(exc)) from exc
    click.echo(f"test message sent to {', '.join(settings.to)} via {settings.host}:{settings.port}")


@cli.command("run")
@click.option("--log-file", type=click.Path(path_type=Path), help="Log here (rotated at 10 MB, 5 kept).")
@click.option("--engine", "engine_url", help="Send checks to `monitor worker`s through this Redis "
                                             "(redis://HOST:PORT/DB; default: engine.url, else run them here).")
@click.pass_context
def run_command(ctx: click.Context, log_file: Path | None, engine_url: str | None) -> None:
    """Run as a daemon: check every target on its schedule until SIGTERM/SIGINT; SIGHUP reloads the config."""
    from dataclasses import replace

    from monitor.daemon import Daemon, install_signal_handlers

    _setup_logging(ctx.obj["verbose"], default=logging.INFO, log_file=log_file)
    settings = settings_of(ctx)
    if engine_url is not None:
        settings = replace(settings, engine=engine_of(ctx, engine_url))
    stop, reload = threading.Event(), threading.Event()
    install_signal_handlers(stop, reload)
    try:
        clean = Daemon(ctx.obj["config"], settings).run(stop, reload)
    except MonitorError as exc:
        raise CliError(str(exc)) from exc
    if not clean:
        # Worker threads still inside a check would keep the interpreter alive: leave now (store is crash-safe).
        logging.shutdown()
        os._exit(EXIT_OK)


@cli.command("normalize")
@click.argument("file", type=click.File("rb"))
@click.option("--profile", type=click.Choice(sorted(PROFILE_NAMES)), default="generic", show_default=True)
@click.option("--select", help="CSS selector: keep only these parts.")
@click.option("--exclude", multiple=True, help="CSS selector: drop these parts (repeatable).")
@click.option("--explain", is_flag=True, help="Show each block's place and the element it came from.")
def normalize_command(file: Any, profile: str, select: str | None, exclude: tuple[str, ...], explain: bool) -> None:
    """Print the normalized text of a saved HTML page (FILE, or - for stdin)."""
    from monitor.extract import explain as explain_page
    from monitor.extract import normalize
    from monitor.fetch import decode_html

    try:
        html = decode_html(file.read())
        if not explain:
            click.echo(normalize(html, profile, select, exclude))
            return
        content, blocks = explain_page(html, profile, select, exclude)
    except MonitorError as exc:
        raise CliError(f"{getattr(file, 'name', '<stdin>')}: {exc}") from exc
    click.echo(f"profile {profile}: {len(blocks)} blocks; title: {content.title or '(none)'}; "
               f"date: {content.date or '(none)'}; {len(content.links)} links")
    for block in blocks:
        click.echo(f"\n[{block.place}] {block.path}\n{block.text}")


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, newest first.")
@click.pass_context
def history(ctx: click.Context, name: str, as_json: bool) -> None:
    """List NAME's snapshots, newest first."""
    from monitor.store import SnapshotStore

    settings = settings_of(ctx)
    try:
        snapshots = SnapshotStore(settings.snapshots_dir).history(name)
    except MonitorError as exc:
        raise CliError(str(exc)) from exc
    if not snapshots:  # a target no longer configured still shows the history it left
        target_of(ctx, settings, name)
    if as_json:
        from monitor.store.export import capture_json

        click.echo(json.dumps([{
            "id": s.id, "taken_at": s.taken_at.isoformat(), "source": s.source, "sha256": s.sha256,
            "url": s.url, "final_url": s.final_url, "status": s.status, "origin": s.origin,
            "title": s.title, "repeat_of": s.repeat_of, "via": s.via, "capture": capture_json(s),
            "text": str(settings.snapshots_dir / name / f"{s.id}.txt"),
        } for s in snapshots], indent=2))
        return
    if not snapshots:
        click.echo(f"{name}: no snapshots")
    for s in snapshots:
        repeat = f"  (same text as {s.repeat_of})" if s.repeat_of else ""
        click.echo(f"{s.id}  {s.taken_at:%Y-%m-%d %H:%M:%S} UTC  {s.source:<8}  "
                   f"{settings.snapshots_dir / name / (s.id + '.txt')}{repeat}")


@cli.command()
@click.argument("name")
@click.argument("file", type=click.File("rb"))
@click.pass_context
def baseline(ctx: click.Context, name: str, file: Any) -> None:
    """Import FILE (UTF-8 text) as NAME's first snapshot."""
    from monitor.store import SnapshotStore

    settings = settings_of(ctx)
    target_of(ctx, settings, name)
    try:
        text = file.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(f"{file.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        snapshot = SnapshotStore(settings.snapshots_dir).import_baseline(
            name, text, taken_at=utcnow(), origin=Path(file.name).name)
    except MonitorError as exc:
        raise CliError(str(exc)) from exc
    click.echo(f"{name}: baseline stored as {snapshot.id}")


@cli.command()
@click.option("--dir", "workdir", type=click.Path(path_type=Path), help="Work here (default: a new temp dir).")
def demo(workdir: Path | None) -> None:
    """Offline walk-through: serve the bundled pages on 127.0.0.1, check, edit one, check again."""
    from monitor.demo import DEMO_EDITS, run_demo

    workdir = workdir or Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    click.echo(f"Working in {workdir} (snapshots/ and reports/); baseline = the seed texts.")
    try:
        run = run_demo(workdir)
    except MonitorError as exc:
        raise CliError(str(exc)) from exc
    click.echo("First check, the pages in war.gov's 2024-25 markup vs. the seed baseline:")
    for result in run.first.results:
        click.echo("  " + result_line(result))
    click.echo("Edited the NATO story: " + "; ".join(f"{old!r} -> {new!r}" for old, new in DEMO_EDITS))
    click.echo("Second check:")
    for result in run.second.results:
        click.echo("  " + result_line(result))
    click.echo(f"Change report: {run.report}")
    click.echo(f"Report index:  {run.index}")
    click.echo(f"Review it:     monitor --config {run.config} serve   (or: reports, show, review)")
    if run_exit_code(run.first) != EXIT_OK or run.report is None:
        raise CliError("the demo did not behave as expected (see the lines above)")


add_review_commands(cli)
add_store_commands(cli)
add_engine_commands(cli)
add_notify_commands(cli)
add_status_command(cli)
add_target_commands(cli)


_QUICK_EXIT = False  # set by a command whose work is all done when it returns (no thread or child left)


def main() -> None:
    """Console-script entry point. After a one-off check the process ends without tearing the interpreter
    down (0.1 s of a 2.5 s round freeing every module's objects): the output is flushed and the exit handlers
    run first, the exit code is the one decided above."""
    global _QUICK_EXIT
    _QUICK_EXIT = False
    try:
        cli(prog_name="monitor")
    except SystemExit as done:
        if not _QUICK_EXIT or not isinstance(done.code, int | None):
            raise
        atexit._run_exitfuncs()  # logging's shutdown, a browser's, multiprocessing's
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe: the exit code still tells
                stream.flush()
        os._exit(done.code or 0)
