"""CLI commands of the notification channels: `monitor notify-test [CHANNEL]`."""

from __future__ import annotations

import click

from monitor.cli.base import EXIT_ERROR, EXIT_OK, CliError, settings_of
from monitor.errors import MonitorError


def add_notify_commands(group: click.Group) -> None:
    """Add `notify-test` to the CLI group."""

    @group.command("notify-test")
    @click.argument("channel", required=False)
    @click.pass_context
    def notify_test(ctx: click.Context, channel: str | None) -> None:
        """Send a test message to every `notify:` channel (or CHANNEL): one line each; exit 2 if any failed."""
        from monitor.notify.channels import probe

        settings = settings_of(ctx)
        channels = [c for c in settings.channels if channel is None or c.name == channel]
        if not channels:
            known = ", ".join(c.name for c in settings.channels) or "none"
            raise CliError(f"no channel {channel!r} (configured: {known})" if channel else
                           f"no notify: channels in {ctx.obj['config']}")
        failed = 0
        for item in channels:
            try:
                fmt = probe(item)
                click.echo(f"{item.name}: test message sent ({fmt})")
            except MonitorError as exc:
                failed += 1
                click.echo(f"{item.name}: failed: {exc}")
        ctx.exit(EXIT_ERROR if failed else EXIT_OK)
