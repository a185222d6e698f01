"""What every CLI module shares: exit codes, the one-line error that carries one, reading the settings."""

from __future__ import annotations

import click

from monitor.config import load_settings
from monitor.errors import MonitorError
from monitor.models import Settings

EXIT_OK = 0
EXIT_CHANGED = 1
EXIT_ERROR = 2


class CliError(click.ClickException):
    """A library error shown as one `Error: ...` line, exiting with EXIT_ERROR."""

    exit_code = EXIT_ERROR


def settings_of(ctx: click.Context) -> Settings:
    """Return the settings from the config file named on the command line. Raises CliError if it is invalid."""
    try:
        return load_settings(ctx.obj["config"])
    except MonitorError as exc:
        raise CliError(str(exc)) from exc
