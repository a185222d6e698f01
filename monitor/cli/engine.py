"""CLI commands of the distributed engine: `monitor worker` (run checks for a `monitor run --engine` elsewhere)
and the engine lines of `monitor status`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from monitor.cli.base import CliError
from monitor.errors import MonitorError
from monitor.models import EngineSettings


def engine_of(ctx: click.Context, url: str | None) -> EngineSettings:
    """Return the engine to use: `url` (from --engine), else the config file's `engine:` (when the file
    exists: a worker machine needs no config). Raises CliError when neither names one or the URL is bad."""
    from monitor.config import load_settings
    from monitor.config.settings import check_engine_url

    settings = None
    config: Path = ctx.obj["config"]
    if url is None or config.exists():
        try:
            settings = load_settings(config) if config.exists() else None
        except MonitorError as exc:
            raise CliError(str(exc)) from exc
    engine = settings.engine if settings else EngineSettings()
    if url is not None:
        try:
            engine = EngineSettings(url=check_engine_url(url), redelivery=engine.redelivery)
        except ValueError as exc:
            raise CliError(f"--engine: {exc}") from None
    if not engine.url:
        raise CliError(f"no engine: give --engine redis://HOST:PORT/DB or set engine.url in {config}")
    return engine


def add_engine_commands(group: click.Group) -> None:
    """Add `worker` to the CLI group."""

    @group.command("worker")
    @click.option("--engine", "url", help="The coordinator's Redis: redis://HOST:PORT/DB (default: engine.url "
                                          "in the config).")
    @click.option("--processes", type=click.IntRange(1, 256), default=1, show_default=True,
                  help="Worker processes (one per core is typical).")
    @click.option("--threads", type=click.IntRange(1, 256), default=4, show_default=True,
                  help="Checks at once per process (each thread has its own connections and browser).")
    @click.option("--redelivery", type=click.FloatRange(1, 3600), help="Seconds without a heartbeat after which "
                  "a worker counts as dead and its check goes to another (default: engine.redelivery, 15).")
    @click.pass_context
    def worker_command(ctx: click.Context, url: str | None, processes: int, threads: int,
                       redelivery: float | None) -> None:
        """Run checks sent by `monitor run --engine` (any machine; no config or store needed here)."""
        from dataclasses import replace

        from dramatiq.cli import main, make_argument_parser

        from monitor.daemon.engine import CHECKS, connect

        engine = engine_of(ctx, url)
        if redelivery is not None:
            engine = replace(engine, redelivery=redelivery)
        try:  # one clear line now, rather than a traceback from every worker process
            connect(engine.url or "", engine.redelivery, _nothing, _nothing).broker.close()
        except MonitorError as exc:
            raise CliError(str(exc)) from exc
        os.environ["MONITOR_ENGINE"] = engine.url or ""
        os.environ["MONITOR_ENGINE_REDELIVERY"] = str(engine.redelivery)
        argv = ["monitor.daemon.worker_entry", "--processes", str(processes), "--threads", str(threads),
                "--queues", CHECKS, "--worker-shutdown-timeout", "30000"]
        if ctx.obj["verbose"] > 1:
            argv.append("--verbose")
        ctx.exit(main(make_argument_parser().parse_args(argv)) or 0)


def _nothing(message: dict[str, Any]) -> None:
    """An actor body for a connection check: never called."""


def engine_lines(engine: EngineSettings) -> tuple[dict[str, Any], list[str]]:
    """Return the engine's status (queue depth, workers seen in the last minute) as JSON and as lines; an
    unreachable Redis is said so, not raised."""
    from monitor.daemon.engine import connect, engine_status, safe_url

    try:
        connected = connect(engine.url or "", engine.redelivery, _nothing, _nothing)
        try:
            status = engine_status(connected)
        finally:
            connected.broker.close()
    except MonitorError as exc:
        return {"url": safe_url(engine.url or ""), "error": str(exc)}, [f"engine: {exc}"]
    workers = ", ".join(f"{w['worker']} ({w['checks']} checks, {w['errors']} errors)" for w in status["workers"])
    lines = [f"engine: {status['queued']} checks queued, {status['results_waiting']} results waiting; "
             f"{len(status['workers'])} workers seen in the last minute" + (f": {workers}" if workers else "")]
    return {"url": safe_url(engine.url or ""), **status}, lines
