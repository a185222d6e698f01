"""`monitor check` as it runs: each target's line when its check ends, and a progress line in a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import click

from monitor.cli.output import result_line
from monitor.models import CheckResult

_CLEAR = "\r\x1b[K"


class Progress:
    """Prints result lines as results come and, when stderr is a terminal, one self-overwriting line
    'done/total, errors, rate' below them; `quiet` (--json) prints neither."""

    def __init__(self, total: int, *, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.total, self.quiet = total, quiet
        self.stream = stream or sys.stderr
        self.live = total > 1 and not quiet and self.stream.isatty()
        self.done = self.errors = 0
        self.started = time.monotonic()

    def __call__(self, result: CheckResult) -> None:
        """Show one finished check."""
        self.done += 1
        self.errors += result.status == "error"
        if self.live:
            self.stream.write(_CLEAR)
        if not self.quiet:
            click.echo(result_line(result))
        if self.live:
            rate = self.done / max(time.monotonic() - self.started, 1e-3)
            self.stream.write(f"{self.done}/{self.total} checked, {self.errors} error{'s' * (self.errors != 1)}, "
                              f"{rate:.1f}/s")
            self.stream.flush()

    def close(self) -> None:
        """Remove the progress line."""
        if self.live:
            self.stream.write(_CLEAR)
            self.stream.flush()
