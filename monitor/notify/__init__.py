"""Notify stage: owns telling people about reports.

outbox.py composes a mail for each run's reports into a durable outbox before anything is sent, retries
with back-off and never sends one twice; smtp.py is the SMTP client. channels.py does the same for every
`notify:` channel through Apprise (Slack, Teams, Matrix, ntfy, webhooks...), one outbox per channel, in
order. Message bodies come from `monitor.report.email` and `monitor.report.chat`; nothing here decides what
changed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.models import RunReport, Settings

if TYPE_CHECKING:
    from monitor.notify.channels import ChannelOutbox

# Loaded on first use: a run with nothing to send (most `monitor check`s) never imports smtplib, email or the
# chat formats (14 ms of its start-up).
_LAZY = {"ChannelOutbox": "channels", "deliver": "channels", "notify_channels": "channels", "Outbox": "outbox",
         "notify": "outbox", "send": "smtp"}


def __getattr__(name: str) -> Any:
    """The stage's other names, from their modules on first use."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"monitor.notify.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def channel_outboxes(settings: Settings) -> list[ChannelOutbox]:
    """Return the outbox of every configured channel (linking reports at the channel's `base_url`, else at
    `email.report_url`)."""
    from monitor.notify.channels import ChannelOutbox

    return [ChannelOutbox(Path(settings.snapshots_dir), settings.reports_dir,
                          replace(c, base_url=c.base_url or settings.email.report_url)) for c in settings.channels]


def notify_run(settings: Settings, report: RunReport, now: datetime) -> RunReport:
    """Tell about a one-off run's results: mail them (when email is on) and queue and send them on every
    channel; return the report with what was sent and what waits. Never raises (failures wait in outboxes)."""
    if settings.email.enabled:
        from monitor.notify.outbox import Outbox, notify

        outbox = Outbox(settings.snapshots_dir, settings.reports_dir, settings.email)
        mail = notify(outbox, report.results, now)
        if mail is not None:
            report = replace(report, mail_sent=mail.sent, mail_error=mail.error, outbox=outbox.size())
    if settings.channels:
        from monitor.notify.channels import notify_channels

        flushed = notify_channels(channel_outboxes(settings), report.results, now)
        report = replace(report, notify_errors=tuple(f.error for f in flushed if f.error))
    return report


__all__ = ["ChannelOutbox", "Outbox", "channel_outboxes", "deliver", "notify", "notify_channels", "notify_run",
           "send"]
