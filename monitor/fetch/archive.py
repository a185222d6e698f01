"""The web archive (the Wayback Machine): list a page's captures with the CDX API, fetch them raw, politely.

CDX: `<archive_url>/cdx/search/cdx?url=...&output=json&filter=statuscode:200&collapse=digest` answers a header
row and then rows of strings (`urlkey, timestamp, original, mimetype, statuscode, digest, length`); with
`showResumeKey=true` a page ends with an empty row and a row holding the key for the next page. A capture
replays byte for byte at `<archive_url>/web/<timestamp>id_/<original>`.

Politeness: one request at a time for the whole process, at least `min_interval` seconds apart; a 429 waits
for its Retry-After (or `rate_limit_wait`), network errors and 5xx are retried with back-off.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from urllib.parse import urlencode

from monitor.clock import Clock, utcnow
from monitor.errors import (
    BadContentError,
    BlockedError,
    FetchError,
    HTTPStatusError,
    SoftNotFoundError,
    TransientFetchError,
)
from monitor.fetch.http import Fetcher
from monitor.models import ArchiveSettings, Fetched, FetchSettings, Target

logger = logging.getLogger(__name__)

RETRY_STATUSES = (500, 502, 503, 504)


@dataclass(frozen=True)
class Capture:
    """One archived capture of a page."""

    timestamp: str  # YYYYMMDDhhmmss, UTC
    original: str
    digest: str
    statuscode: str = "200"
    mimetype: str = "text/html"

    @property
    def taken_at(self) -> datetime:
        """The capture time."""
        return datetime.strptime(self.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)

    @property
    def key(self) -> str:
        """A stable identity: what a stored snapshot records as its origin."""
        return f"wayback:{self.timestamp}:{self.digest}"


def cdx_time(when: datetime) -> str:
    """Return `when` in the CDX API's format (YYYYMMDDhhmmss, UTC)."""
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def parse_cdx(body: bytes) -> tuple[list[Capture], str | None]:
    """Return the captures in a CDX JSON answer and the resume key for the next page (None on the last).

    Raises FetchError if the answer is not the CDX JSON format.
    """
    try:
        rows = json.loads(body.decode("utf-8") or "[]")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FetchError(f"the archive's CDX answer is not JSON ({exc})") from exc
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise FetchError("the archive's CDX answer is not a list of rows")
    if not rows:
        return [], None
    header, rows = rows[0], rows[1:]
    resume = None
    if len(rows) >= 2 and rows[-2] == [] and len(rows[-1]) == 1:
        resume, rows = str(rows[-1][0]), rows[:-2]
    if not {"timestamp", "original", "digest"} <= set(map(str, header)):
        raise FetchError(f"the archive's CDX header lacks a field: {header}")
    captures = []
    for row in rows:
        if len(row) != len(header):
            continue
        values = {name: str(value) for name, value in zip(header, row, strict=True)}
        capture = Capture(timestamp=values["timestamp"], original=values["original"], digest=values["digest"],
                          statuscode=values.get("statuscode", "200"), mimetype=values.get("mimetype", ""))
        try:
            capture.taken_at  # noqa: B018 - validates the timestamp
        except ValueError:
            logger.warning("skipping a CDX row with a bad timestamp: %s", row)
            continue
        captures.append(capture)
    return captures, resume


class Archive:
    """A polite client of one web archive; use as a context manager."""

    def __init__(self, settings: ArchiveSettings, fetch: FetchSettings, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Clock = utcnow, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._fetcher = Fetcher(replace(fetch, retries=0), sleep=sleep, clock=clock)
        self._sleep = sleep
        self._monotonic = monotonic
        self._turn = threading.Lock()
        self._last: float | None = None

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._fetcher.close()

    def _once(self, url: str, html: bool) -> Fetched:
        with self._turn:  # one request at a time, min_interval apart, for every caller in this process
            if self._last is not None:
                wait = self._last + self.settings.min_interval - self._monotonic()
                if wait > 0:
                    self._sleep(wait)
            try:
                return self._fetcher.fetch(Target(name="archive", url=url, timeout=self.settings.timeout), html=html)
            finally:
                self._last = self._monotonic()

    def get(self, url: str, *, html: bool) -> Fetched:
        """GET `url` from the archive with its retry policy. Raises FetchError (BlockedError and
        SoftNotFoundError at once: they are answers, not failures)."""
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._once(url, html)
            except (BlockedError, SoftNotFoundError):
                raise
            except HTTPStatusError as exc:
                if exc.status == 429:
                    delay = exc.retry_after if exc.retry_after is not None else self.settings.rate_limit_wait
                    if delay > self.settings.max_retry_after:
                        raise
                elif exc.status in RETRY_STATUSES:
                    delay = self.settings.backoff * 2 ** (attempt - 1)
                else:
                    raise
                last: FetchError = exc
            except TransientFetchError as exc:
                delay, last = self.settings.backoff * 2 ** (attempt - 1), exc
            if attempt == attempts:
                raise last
            logger.info("archive: %s; retry %d/%d in %.0fs", last, attempt, attempts - 1, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def captures(self, url: str, since: datetime | None = None, until: datetime | None = None) -> list[Capture]:
        """Return the distinct successful captures of `url` between the dates, oldest first. Raises FetchError."""
        params: dict[str, str] = {"url": url, "output": "json", "filter": "statuscode:200", "collapse": "digest",
                                  "limit": str(self.settings.page_size), "showResumeKey": "true"}
        if since is not None:
            params["from"] = cdx_time(since)
        if until is not None:
            params["to"] = cdx_time(until)
        found: list[Capture] = []
        resume: str | None = None
        while True:
            query = {**params, **({"resumeKey": resume} if resume else {})}
            body = self.get(f"{self.settings.url}/cdx/search/cdx?{urlencode(query)}", html=False).body
            page, resume = parse_cdx(body)
            found += page
            if not resume:
                break
        unique = {c.key: c for c in found}  # pages may overlap at their edges
        return sorted(unique.values(), key=lambda c: c.timestamp)

    def replay(self, capture: Capture) -> Fetched:
        """Return the capture's raw body (id_ replay), checked like a live page. Raises FetchError."""
        fetched = self.get(f"{self.settings.url}/web/{capture.timestamp}id_/{capture.original}", html=True)
        return replace(fetched, archive_url=fetched.final_url, captured_url=capture.original)

    def newest_after(self, url: str, after: datetime | None, count: int = 1) -> list[Capture]:
        """Return up to `count` of the newest captures of `url` taken after `after` (any, if None), newest
        first. Raises FetchError.

        One CDX request: `limit=-N` asks for the last N rows only, `fastLatest` lets the archive find them quickly.
        """
        params = {"url": url, "output": "json", "filter": "statuscode:200", "limit": str(-count),
                  "fastLatest": "true"}
        if after is not None:
            params["from"] = cdx_time(after + timedelta(seconds=1))
        body = self.get(f"{self.settings.url}/cdx/search/cdx?{urlencode(params)}", html=False).body
        newer = [c for c in parse_cdx(body)[0] if after is None or c.taken_at > after]
        return sorted(newer, key=lambda c: c.timestamp, reverse=True)[:count]


# An archived capture can itself be a CDN block page or a soft 404: the newest few are tried, newest first.
TRIED_CAPTURES = 3


def from_archive(archive: Archive, target: Target, after: datetime | None, also: str | None = None) -> Fetched | None:
    """Return the newest usable capture of the target taken after `after`, as a page fetched at its capture time
    (None if there is none). The archive is asked about the configured URL, then about `also` (where the page
    was last found: after a move, the archive may know it only there). A capture that replays as a block page
    or a soft 404 is passed over for the one before it. Raises FetchError."""
    captures: list[Capture] = []
    for url in dict.fromkeys(u for u in (target.url, also) if u):
        captures = archive.newest_after(url, after, TRIED_CAPTURES)
        if captures:
            break
    for capture in captures:
        try:
            fetched = archive.replay(capture)
        except (BlockedError, SoftNotFoundError, BadContentError) as exc:
            logger.warning("%s: the archive's capture of %s is not the page (%s)", target.name,
                           capture.taken_at, exc)
            continue
        return replace(fetched, url=target.url, final_url=target.url, fetched_at=capture.taken_at,
                       source="archive", via="archive", origin=capture.key, etag=None, last_modified=None)
    return None


def fallback_fetch(archive: Archive, target: Target, after: datetime | None, failure: FetchError,
                   also: str | None = None) -> Fetched:
    """Return the archive's newest capture taken after `after` (of the configured URL, else of `also`), for a
    target whose live fetch failed with `failure`; raise `failure` when the archive has nothing newer or cannot
    be reached."""
    try:
        fetched = from_archive(archive, target, after, also)
    except FetchError as exc:
        logger.warning("%s: the web archive failed too: %s", target.name, exc)
        raise failure from exc
    if fetched is None:
        raise failure
    logger.warning("%s: %s; using the web archive's capture of %s", target.name, failure, fetched.fetched_at)
    return fetched
