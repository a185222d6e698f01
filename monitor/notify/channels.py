"""Notification channels through Apprise (Slack, Teams, Matrix, ntfy, Discord, webhooks, 100+ services), as
durable as mail.

Each channel has its own outbox below `<snapshots_dir>/.outbox/channels/<name>/`:
  pending/<target>--<report id>.json   a report this channel should tell about, not yet composed
  <key>.json                           a composed message (title, body, format) and its delivery state
  sent/<key>.json                      delivered messages (the key: the channel and the message's reports)
A message is composed (and on disk) before it is sent, and never composed twice. Delivery keeps the order the
reports came in: the oldest waiting message goes first, a failure stops the pass and puts the whole channel on
back-off, and once the channel accepts one, everything waiting for it is sent at once, oldest first.

The channel's URL carries its tokens: it comes from the config or from the environment (`url_env`) when sending,
and no message, log line or error ever shows it (`scrub`).
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError, NotifyError
from monitor.models import ChannelSettings, CheckResult
from monitor.notify.outbox import OUTBOX, FlushResult, hold_back, notifiable
from monitor.report import read_sidecar
from monitor.report.chat import Format, chat_key, chat_message, significance
from monitor.store import read_json, write_json

logger = logging.getLogger(__name__)

VERSION = 1


@dataclass(frozen=True)
class Medium:
    """What a channel's service takes: its text format and size limits."""

    format: Format
    body_limit: int
    title_limit: int


Deliver = Callable[[str, str, str, Format], None]


def channel_url(channel: ChannelSettings) -> str:
    """Return the channel's Apprise URL. Raises NotifyError when its environment variable is unset."""
    if channel.url:
        return channel.url
    value = os.environ.get(channel.url_env or "", "").strip()
    if not value:
        raise NotifyError(f"channel {channel.name}: the environment variable {channel.url_env} is not set")
    return value


def scrub(text: str, url: str) -> str:
    """Return `text` without the URL or any longer piece of it (tokens, passwords, webhook paths)."""
    text = text.replace(url, "<url>")
    for piece in sorted(set(re.split(r"[/:@?&=#]+", url.split("://", 1)[-1])), key=len, reverse=True):
        if len(piece) >= 6:
            text = text.replace(piece, "***")
    return text


def medium(url: str, name: str) -> Medium:
    """Return the format and limits of the service behind `url`. Raises NotifyError if Apprise does not
    know the URL."""
    import apprise

    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise NotifyError(f"channel {name}: not a URL Apprise knows (see its list of services)")
    supported = plugin.notify_format if isinstance(plugin.notify_format, tuple) else (plugin.notify_format,)
    first = str(getattr(supported[0], "value", supported[0]))
    fmt: Format = "slack" if type(plugin).__name__ == "NotifySlack" else \
        "markdown" if first == "markdown" else "html" if first == "html" else "text"
    return Medium(fmt, int(plugin.body_maxlen or 32768), int(plugin.title_maxlen or 0))


def deliver(url: str, title: str, body: str, fmt: Format) -> None:
    """Send one message through Apprise. Raises NotifyError (the service's answer, with no secret in it)."""
    import apprise

    sender = apprise.Apprise()
    if not sender.add(url):
        raise NotifyError("not a URL Apprise knows")
    formats = {"text": apprise.NotifyFormat.TEXT, "markdown": apprise.NotifyFormat.MARKDOWN,
               "slack": apprise.NotifyFormat.MARKDOWN, "html": apprise.NotifyFormat.HTML}
    with apprise.LogCapture(level=logging.WARNING) as captured:
        accepted = sender.notify(body=body, title=title, body_format=formats[fmt])
        log = captured.getvalue() if hasattr(captured, "getvalue") else ""
    if not accepted:
        reason = " ".join(line.split(" - ", 2)[-1] for line in log.strip().splitlines()[-2:]) or "not accepted"
        raise NotifyError(scrub(reason, url))


class ChannelOutbox:
    """The durable queue of one channel's messages."""

    def __init__(self, snapshots_dir: Path, reports_dir: Path, channel: ChannelSettings, *,
                 send: Deliver = deliver) -> None:
        self.root = snapshots_dir / OUTBOX / "channels" / channel.name
        self.reports_dir = reports_dir
        self.channel = channel
        self._send = send

    def wants(self, result: CheckResult) -> str | None:
        """Return the kind this channel tells `result` as, or None (not its target or event, no report)."""
        kind = notifiable(result, self.channel.events)
        if kind is None or not any(fnmatch.fnmatchcase(result.target, p) for p in self.channel.targets):
            return None
        return kind

    def add(self, results: Iterable[CheckResult]) -> int:
        """Record each result this channel wants as pending; return how many. Raises StoreError."""
        count = 0
        for result in results:
            kind = self.wants(result)
            if kind and result.report is not None:
                write_json(self.root / "pending" / f"{result.target}--{result.report.stem}.json",
                           {"version": VERSION, "target": result.target, "id": result.report.stem, "kind": kind})
                count += 1
        return count

    def size(self) -> int:
        """Return how many messages (and pending reports) wait."""
        return len(list(self.root.glob("*.json"))) + len(list((self.root / "pending").glob("*.json"))) \
            if self.root.is_dir() else 0

    def compose_pending(self, now: datetime) -> int:
        """Compose pending reports into messages (one each, or one digest); return how many were queued.
        Raises MonitorError (NotifyError when the channel's URL is missing: the reports stay pending)."""
        folder = self.root / "pending"
        paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if not paths:
            return 0
        url = channel_url(self.channel)
        shape = medium(url, self.channel.name)
        docs: list[tuple[Path, dict[str, Any]]] = []
        for path in paths:
            ref = read_json(path)
            try:
                doc = read_sidecar(self.reports_dir, ref["target"], ref["id"])
            except MonitorError as exc:
                logger.warning("channel %s: dropping pending report %s: %s", self.channel.name, path.name, exc)
                path.unlink(missing_ok=True)
                continue
            if ref.get("kind") == "changed" and significance(doc) < self.channel.min_significance:
                path.unlink(missing_ok=True)  # below this channel's threshold: told nowhere here
                continue
            docs.append((path, {**doc, "kind": ref.get("kind", doc.get("kind"))}))
        docs.sort(key=lambda item: (item[1].get("created_at", ""), item[1]["target"]))
        groups = [docs] if self.channel.mode == "digest" and docs else [[d] for d in docs]
        queued = 0
        for group in groups:
            queued += self._queue([doc for _, doc in group], shape, now)
            for path, _ in group:
                path.unlink(missing_ok=True)
        return queued

    def _queue(self, docs: list[dict[str, Any]], shape: Medium, now: datetime) -> int:
        key = chat_key(self.channel.name, docs)
        if (self.root / f"{key}.json").exists() or (self.root / "sent" / f"{key}.json").exists():
            return 0
        title, body = chat_message(docs, shape.format, shape.body_limit, shape.title_limit or 250,
                                   self.channel.base_url, self.reports_dir)
        if not shape.title_limit:  # a service without titles: the title leads the body
            title, body = "", (title + ("<br/>" if shape.format == "html" else "\n") + body)[: shape.body_limit]
        write_json(self.root / f"{key}.json", {
            "version": VERSION, "key": key, "seq": time.time_ns(), "created_at": now.isoformat(), "attempts": 0,
            "next_attempt": now.isoformat(), "last_error": None, "title": title, "body": body,
            "format": shape.format, "reports": [f"{d['target']}/{d['id']}" for d in docs]})
        return 1

    def flush(self, now: datetime, *, force: bool = False) -> FlushResult:
        """Send what waits, oldest first, when any of it is due (all with `force`); stop at the first failure
        and put the whole channel on back-off. Never sends a message twice."""
        entries = []
        for path in self.root.glob("*.json") if self.root.is_dir() else []:
            try:
                meta = read_json(path)
                entries.append((int(meta["seq"]), path, meta))
            except (MonitorError, KeyError, ValueError) as exc:
                logger.error("channel %s: unreadable outbox entry %s: %s", self.channel.name, path.name, exc)
        entries.sort(key=lambda e: e[0])
        if not entries:
            return FlushResult(0, 0, 0)
        if not force and all(datetime.fromisoformat(m["next_attempt"]) > now for _, _, m in entries):
            return FlushResult(0, 0, len(entries))
        sent = 0
        for index, (_, path, meta) in enumerate(entries):
            if (self.root / "sent" / f"{meta['key']}.json").exists():
                path.unlink(missing_ok=True)
                continue
            try:
                url = channel_url(self.channel)
                self._send(url, meta["title"], meta["body"], meta["format"])
            except MonitorError as exc:
                error = str(exc)
                attempts, delay = hold_back((path, meta), [(p, m) for _, p, m in entries[index + 1:]], error, now,
                                            self.channel.retry_backoff)
                logger.error("channel %s: %s; %d messages wait (attempt %d, next in %.0fs)", self.channel.name,
                             error, len(entries) - index, attempts, delay)
                return FlushResult(sent, 1, len(entries) - index - 1, f"channel {self.channel.name}: {error}")
            write_json(self.root / "sent" / f"{meta['key']}.json", {**meta, "sent_at": now.isoformat()})
            path.unlink(missing_ok=True)
            sent += 1
        return FlushResult(sent, 0, 0)


def notify_channels(outboxes: Iterable[ChannelOutbox], results: Iterable[CheckResult],
                    now: datetime) -> list[FlushResult]:
    """Queue the results each channel wants, compose and send what is due; never raises (failures are
    logged, and what failed waits in its outbox)."""
    results = list(results)
    done = []
    for outbox in outboxes:
        try:
            outbox.add(results)
            outbox.compose_pending(now)
            done.append(outbox.flush(now))
        except MonitorError as exc:
            logger.error("channel %s: %s", outbox.channel.name, exc)
            done.append(FlushResult(0, 1, outbox.size(), str(exc)))
    return done


def probe(channel: ChannelSettings) -> str:
    """Send a test message to `channel` right away (not through its outbox); return the service format used.
    Raises NotifyError saying what to fix (the URL never shows)."""
    url = channel_url(channel)
    shape = medium(url, channel.name)
    try:
        deliver(url, "monitor: test message" if shape.title_limit else "",
                f"This is a test message from monitor for channel {channel.name}. Change reports will arrive "
                "like this one.", shape.format)
    except NotifyError as exc:
        raise NotifyError(f"channel {channel.name}: {exc} (check its url or {channel.url_env or 'url'})") from exc
    return shape.format
