"""Notify stage: owns telling people about reports.

outbox.py composes a notification for each run's reports into a durable outbox before anything is sent,
retries with back-off and never sends one twice; smtp.py is the SMTP client. Message bodies come from
`monitor.report.email`; nothing here decides what changed.
"""

from monitor.notify.outbox import Outbox, notify
from monitor.notify.smtp import send

__all__ = ["Outbox", "notify", "send"]
