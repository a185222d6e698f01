"""What every CLI module shares: exit codes, the one-line error that carries one, reading the settings."""

from __future__ import annotations

import click

from monitor.errors import MonitorError
from monitor.models import Settings, Target

EXIT_OK = 0
EXIT_CHANGED = 1
EXIT_ERROR = 2


class CliError(click.ClickException):
    """A library error shown as one `Error: ...` line, exiting with EXIT_ERROR."""

    exit_code = EXIT_ERROR


def target_of(ctx: click.Context, settings: Settings, name: str) -> Target:
    """Return the configured target `name`. Raises CliError naming the config file when there is none."""
    target = settings.target(name)
    if target is None:
        known = ", ".join(t.name for t in settings.targets) or "none"
        raise CliError(f"unknown target {name!r} (configured: {known}): add it to {ctx.obj['config']} first")
    return target


def settings_of(ctx: click.Context) -> Settings:
    """Return the settings from the config file named on the command line. Raises CliError if it is invalid."""
    from monitor.config import load_settings  # here: pydantic and the schema are a fifth of a second to load

    try:
        return load_settings(ctx.obj["config"])
    except MonitorError as exc:
        raise CliError(str(exc)) from exc
