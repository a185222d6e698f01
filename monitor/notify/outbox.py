"""Notifications: reports worth a mail go through a durable outbox, so nothing is lost and nothing sent twice.

Layout of `<snapshots_dir>/.outbox/`:
  pending/<target>--<report id>.json   a report waiting to be put in a mail (digest: one mail per batch)
  <key>.eml + <key>.json               a composed mail and its delivery state (attempts, next attempt, error)
  sent/<key>.json                      delivered mails (the key is a hash of the reports in the mail)
A mail is marked sent before it leaves the outbox; a crash between the server's acceptance and that mark is
the only way a mail can be sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from monitor.errors import EmailError, MonitorError
from monitor.models import CheckResult, EmailSettings
from monitor.notify.smtp import send
from monitor.report import MAIL_POLICY, compose, message_key, read_sidecar
from monitor.store import read_json, write_atomic, write_json

logger = logging.getLogger(__name__)

OUTBOX = ".outbox"
MAX_BACKOFF = 3600.0
Sender = Callable[[EmailSettings, EmailMessage], None]


def notifiable(result: CheckResult, on: Iterable[str]) -> str | None:
    """Return the report kind a result should be mailed as ("changed", "error", ...), or None."""
    if result.report is None:
        return None
    kind = result.event or ("changed" if result.alarming else None)
    return kind if kind in set(on) else None


def hold_back(failed: tuple[Path, dict[str, Any]], waiting: Iterable[tuple[Path, dict[str, Any]]], error: str,
              now: datetime, backoff: float) -> tuple[int, float]:
    """Record a failed send on the `failed` entry (path, metadata) and put it and every later `waiting` one on
    the same exponential back-off, so the queue keeps its order; return (attempts, delay in seconds)."""
    path, meta = failed
    attempts = int(meta.get("attempts", 0)) + 1
    delay = min(backoff * 2 ** (attempts - 1), MAX_BACKOFF)
    later = (now + timedelta(seconds=delay)).isoformat()
    write_json(path, {**meta, "attempts": attempts, "last_error": error, "next_attempt": later})
    for other_path, other in waiting:
        write_json(other_path, {**other, "next_attempt": later})
    return attempts, delay


@dataclass(frozen=True)
class FlushResult:
    """What one pass over the outbox did."""

    sent: int
    failed: int
    waiting: int
    error: str | None = None


class Outbox:
    """The durable queue of mails below `<snapshots_dir>/.outbox`."""

    def __init__(self, snapshots_dir: Path, reports_dir: Path, settings: EmailSettings, *,
                 sender: Sender = send) -> None:
        self.root = snapshots_dir / OUTBOX
        self.reports_dir = reports_dir
        self.settings = settings
        self._send = sender

    def size(self) -> int:
        """Return how many mails wait to be sent (pending reports not yet composed count as one)."""
        mails = len(list(self.root.glob("*.json"))) if self.root.is_dir() else 0
        pending = (self.root / "pending").is_dir() and any((self.root / "pending").glob("*.json"))
        return mails + (1 if pending else 0)

    def add(self, results: Iterable[CheckResult]) -> int:
        """Record each mail-worthy result's report as pending; return how many. Raises StoreError."""
        count = 0
        for result in results:
            kind = notifiable(result, self.settings.on)
            if kind and result.report is not None:
                write_json(self.root / "pending" / f"{result.target}--{result.report.stem}.json",
                           {"target": result.target, "id": result.report.stem, "kind": kind})
                count += 1
        return count

    def compose_pending(self, now: datetime) -> int:
        """Turn pending reports into mails (one per report, or one digest); return how many mails were queued.

        A mail whose reports were already sent or queued is not queued again. Raises MonitorError.
        """
        folder = self.root / "pending"
        paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
        docs: list[tuple[Path, dict[str, Any]]] = []
        for path in paths:
            ref = read_json(path)
            try:
                docs.append((path, read_sidecar(self.reports_dir, ref["target"], ref["id"])))
            except MonitorError as exc:  # the report was pruned or damaged: nothing to send for it
                logger.warning("email: dropping pending report %s: %s", path.name, exc)
                path.unlink(missing_ok=True)
        docs.sort(key=lambda item: (item[1].get("created_at", ""), item[1]["target"]))
        groups = [docs] if self.settings.mode == "digest" and docs else [[d] for d in docs]
        queued = 0
        for group in groups:
            queued += self._queue([doc for _, doc in group], now)
            for path, _ in group:
                path.unlink(missing_ok=True)
        return queued

    def _queue(self, docs: list[dict[str, Any]], now: datetime) -> int:
        key = message_key(docs)
        if (self.root / f"{key}.json").exists() or (self.root / "sent" / f"{key}.json").exists():
            return 0
        message = compose(docs, self.settings, self.reports_dir, now)
        write_atomic(self.root / f"{key}.eml", bytes(message))
        write_json(self.root / f"{key}.json", {"key": key, "created_at": now.isoformat(), "attempts": 0,
                                              "next_attempt": now.isoformat(), "last_error": None,
                                              "subject": str(message["Subject"]),
                                              "reports": [f"{d['target']}/{d['id']}" for d in docs]})
        return 1

    def flush(self, now: datetime, *, force: bool = False) -> FlushResult:
        """Send the queued mails, oldest first, when any of them is due (all with `force`); return the counts.

        A failure keeps the mail, stops the pass and puts every waiting mail on the same exponential back-off,
        so a later mail never overtakes an earlier one; once the server takes one, the rest follow at once.
        """
        entries = []
        failed = 0
        for meta_path in self.root.glob("*.json") if self.root.is_dir() else []:
            try:
                meta = read_json(meta_path)
                entries.append((meta.get("created_at", ""), meta["key"], meta_path, meta))
            except (MonitorError, KeyError) as exc:
                logger.error("email: unreadable outbox entry %s: %s", meta_path.name, exc)
                failed += 1
        entries.sort(key=lambda e: (e[0], e[1]))
        try:
            due = force or any(datetime.fromisoformat(m["next_attempt"]) <= now for *_, m in entries)
        except (KeyError, ValueError):
            due = True
        if not due:
            return FlushResult(0, failed, len(entries))
        sent = 0
        for index, (_, key, meta_path, meta) in enumerate(entries):
            if (self.root / "sent" / f"{key}.json").exists():  # sent, then interrupted before clean-up
                self._forget(key)
                continue
            try:
                raw = (self.root / f"{key}.eml").read_bytes()
                message = BytesParser(policy=MAIL_POLICY).parsebytes(raw)
            except OSError as exc:
                logger.error("email: unreadable outbox entry %s: %s", meta_path.name, exc)
                failed += 1
                continue
            try:
                self._send(self.settings, message)  # type: ignore[arg-type]
            except EmailError as exc:
                attempts, delay = hold_back((meta_path, meta), [(p, m) for *_, p, m in entries[index + 1:]],
                                            str(exc), now, self.settings.retry_backoff)
                logger.error("%s; the mail stays in the outbox (attempt %d, next in %.0fs)", exc, attempts, delay)
                return FlushResult(sent, failed + 1, len(entries) - index - 1, str(exc))
            write_json(self.root / "sent" / f"{key}.json", {**meta, "sent_at": now.isoformat()})
            self._forget(key)
            sent += 1
        return FlushResult(sent, failed, 0, None)

    def _forget(self, key: str) -> None:
        (self.root / f"{key}.json").unlink(missing_ok=True)
        (self.root / f"{key}.eml").unlink(missing_ok=True)


def notify(outbox: Outbox, results: Iterable[CheckResult], now: datetime) -> FlushResult | None:
    """Queue the mail-worthy results and try to send what is due; never raises (failures are logged)."""
    if not outbox.settings.enabled:
        return None
    try:
        outbox.add(results)
        outbox.compose_pending(now)
        return outbox.flush(now)
    except MonitorError as exc:
        logger.error("email: %s", exc)
        return FlushResult(0, 1, 0, str(exc))
