"""Notify stage: owns telling people about reports.

outbox.py composes a mail for each run's reports into a durable outbox before anything is sent, retries
with back-off and never sends one twice; smtp.py is the SMTP client. channels.py does the same for every
`notify:` channel through Apprise (Slack, Teams, Matrix, ntfy, webhooks...), one outbox per channel, in
order. Message bodies come from `monitor.report.email` and `monitor.report.chat`; nothing here decides what
changed.
"""

from dataclasses import replace
from pathlib import Path

from monitor.models import Settings
from monitor.notify.channels import ChannelOutbox, deliver, notify_channels
from monitor.notify.outbox import Outbox, notify
from monitor.notify.smtp import send


def channel_outboxes(settings: Settings) -> list[ChannelOutbox]:
    """Return the outbox of every configured channel (linking reports at the channel's `base_url`, else at
    `email.report_url`)."""
    return [ChannelOutbox(Path(settings.snapshots_dir), settings.reports_dir,
                          replace(c, base_url=c.base_url or settings.email.report_url)) for c in settings.channels]


__all__ = ["ChannelOutbox", "Outbox", "channel_outboxes", "deliver", "notify", "notify_channels", "send"]
