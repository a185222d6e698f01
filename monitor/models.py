"""Frozen dataclasses that cross stage boundaries; no I/O here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal

CheckStatus = Literal["new", "unchanged", "changed", "error"]
Via = Literal["http", "browser", "archive"]
SnapshotSource = Literal["live", "baseline", "archive"]
# What a report describes: a content/metadata change, or an event in the target's error state.
ReportKind = Literal["changed", "error", "removed", "recovered"]
# The extraction profiles (monitor.extract.normalize.PROFILES has one of each), named here for the config and CLI.
PROFILE_NAMES = ("generic", "defense.gov")
# Target names become folder and file names: keep them to a safe alphabet.
NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
# Snapshot and report ids start with their UTC time in this format, so names sort by time.
ID_TIME_FORMAT = "%Y%m%dT%H%M%S.%fZ"
SNAPSHOT_ID_RE = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{12}$")
REPORT_ID_RE = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-(?:[0-9a-f]{12}|error|removed|recovered)$")


def time_id(when: datetime, suffix: str) -> str:
    """Return the id `<UTC time>-<suffix>` used for snapshots (suffix: sha prefix) and event reports (kind)."""
    return f"{when.astimezone(UTC).strftime(ID_TIME_FORMAT)}-{suffix}"


@dataclass(frozen=True)
class Target:
    """One monitored page, as configured (defaults are decided in config.py)."""

    name: str
    url: str
    profile: str = "generic"
    every: timedelta | None = None
    cron: str | None = None
    timeout: float = 30.0
    headers: dict[str, str] = field(default_factory=dict)
    select: str | None = None
    exclude: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    error_threshold: int = 3
    compare_versions: int = 0
    keep: Retention | None = None
    archive_fallback: bool = False  # blocked or unreachable: use the web archive's newest capture
    keep_raw: int | None = 2  # raw bodies kept for the newest N snapshots (None: all)
    chrome: Literal["chrome", "content"] = "chrome"  # a change confined to site chrome: no alarm, or content
    via: Literal["http", "browser", "auto"] = "http"  # auto: HTTP, then the browser when a wall answers
    source: Literal["live", "archive"] = "live"  # archive: the web archive's newest capture, not the site
    paused: bool = False  # not scheduled by the daemon, not checked by a plain `monitor check`

    @property
    def uses_archive(self) -> bool:
        """True if a check of this target may ask the web archive (its source, or its fallback)."""
        return self.source == "archive" or self.archive_fallback


@dataclass(frozen=True)
class Retention:
    """How much history of a target to keep: a snapshot survives if it is among the newest `count`
    or younger than `age` (either may be None: no limit of that kind)."""

    count: int | None = None
    age: timedelta | None = None


@dataclass(frozen=True)
class FetchSettings:
    """How pages are fetched: retries, back-off, size cap, identity."""

    user_agent: str
    retries: int = 2
    backoff: float = 2.0
    max_retry_after: float = 120.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 10
    browser: str = "/usr/bin/chromium"  # the chromium the browser fetcher drives
    browser_memory: float = 86400.0  # seconds a host stays browser-only after a wall answered plain HTTP


@dataclass(frozen=True)
class DaemonSettings:
    """How the daemon runs checks: pool size, per-host politeness, start-up spread, shutdown grace."""

    workers: int = 4
    per_host: int = 1
    host_delay: float = 1.0
    startup_spread: float = 60.0
    jitter: float = 0.05
    grace: float = 30.0
    lock_wait: float = 60.0


@dataclass(frozen=True)
class EmailSettings:
    """Where and how change reports are mailed (the password comes from the environment, never the file)."""

    enabled: bool = False
    host: str = "localhost"
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    sender: str = "monitor@localhost"
    to: tuple[str, ...] = ()
    mode: Literal["digest", "each"] = "digest"
    on: tuple[str, ...] = ("changed", "error", "removed", "recovered")
    timeout: float = 30.0
    tls_ca_file: Path | None = None
    report_url: str | None = None
    max_diff_chars: int = 20_000
    retry_backoff: float = 60.0
    flush_every: float = 60.0


@dataclass(frozen=True)
class ArchiveSettings:
    """Where the web archive is (CDX API and raw replay) and how politely it is asked."""

    url: str = "https://web.archive.org"
    min_interval: float = 2.0      # seconds between two requests to the archive, whatever asks
    retries: int = 3
    backoff: float = 5.0           # seconds before the first retry of a network error or 5xx, doubled each time
    rate_limit_wait: float = 60.0  # after a 429 without Retry-After
    max_retry_after: float = 300.0
    timeout: float = 60.0
    page_size: int = 1000          # CDX rows per request


@dataclass(frozen=True)
class ChannelSettings:
    """One notification channel (an Apprise URL): which reports it gets and how. The URL carries tokens: it
    is read from the environment (`url_env`) when the config does not hold it, and never logged."""

    name: str
    url: str | None = field(default=None, repr=False)
    url_env: str | None = None
    targets: tuple[str, ...] = ("*",)  # target names or fnmatch patterns
    events: tuple[str, ...] = ("changed", "error", "removed", "recovered")
    min_significance: float = 0.0      # share of the page's words a change touches (0..1)
    mode: Literal["digest", "each"] = "each"
    base_url: str | None = None        # where the reports are served (the review app or the static files)
    retry_backoff: float = 60.0


@dataclass(frozen=True)
class EngineSettings:
    """Where checks run: in this process (no url), or on `monitor worker`s through Redis at `url`."""

    url: str | None = None         # redis://HOST:PORT/DB
    redelivery: float = 15.0       # seconds after which a dead worker's check goes to another worker


@dataclass(frozen=True)
class Settings:
    """The whole parsed configuration."""

    config_path: Path | None
    snapshots_dir: Path
    reports_dir: Path
    fetch: FetchSettings
    targets: tuple[Target, ...]
    daemon: DaemonSettings = DaemonSettings()
    email: EmailSettings = EmailSettings()
    archive: ArchiveSettings = ArchiveSettings()
    engine: EngineSettings = EngineSettings()
    channels: tuple[ChannelSettings, ...] = ()

    def target(self, name: str) -> Target | None:
        """Return the target called `name`, or None."""
        return next((t for t in self.targets if t.name == name), None)


@dataclass(frozen=True)
class Validators:
    """The server's own cache validators from the last good fetch, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


Headers = tuple[tuple[str, str], ...]  # as they went over the wire: in order, repeated names kept


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its response as they went over the wire, kept as evidence (WARC records). `body` is
    the response body when it is not the page's (a redirect's, or what the browser received before scripts
    ran); None for the page's own response, whose body is `Fetched.body`."""

    url: str
    method: str = "GET"
    request_target: str = "/"     # what followed the method on the request line
    request_headers: Headers = ()  # None of them secret: see monitor.fetch.exchange
    protocol: str = "HTTP/1.1"
    status: int = 200
    reason: str = ""
    headers: Headers = ()
    body: bytes | None = None


@dataclass(frozen=True)
class Fetched:
    """A successful HTTP exchange: the raw body (bytes) plus what we need to know about it."""

    url: str
    final_url: str
    status: int
    fetched_at: datetime
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    attempts: int = 1
    source: SnapshotSource = "live"  # "archive": the web archive's capture, fetched because the site failed
    origin: str | None = None        # the capture's identity, for an archived page
    via: Via = "http"                # how it was fetched: plain HTTP, a real browser, or the web archive
    # The redirects followed, then the page's own exchange (empty when not recorded): the capture's evidence.
    exchanges: tuple[Exchange, ...] = ()
    archive_url: str | None = None   # an archived page: the archive's replay URL it came from...
    captured_url: str | None = None  # ...and the URL the archive captured (its WARC records' target URI)

    @property
    def validators(self) -> Validators:
        """The server's validators from this response."""
        return Validators(self.etag, self.last_modified)


@dataclass(frozen=True)
class PageContent:
    """What normalization extracts from a page: its clean text, its title and the links in its content."""

    text: str
    title: str | None = None
    links: tuple[str, ...] = ()
    # Where each text block came from, as (place, length): "title", "paragraph 3", "photo 1", "banner"...
    blocks: tuple[tuple[str, int], ...] = ()
    date: str | None = None  # the article's date line, as the page shows it


@dataclass(frozen=True)
class PageRead:
    """What a check reads off the network before anything is compared or stored (the part a remote worker
    does): the fetched page and, unless the page is unchanged, the content extracted from it."""

    fetched: Fetched
    content: PageContent | None = None  # None: unchanged (not modified, or the same content fingerprint)
    fingerprint: str | None = None      # of the page's content regions, when it could be cut


@dataclass(frozen=True)
class CaptureRef:
    """Where a snapshot's capture is kept: `length` bytes at `offset` of the target's WARC file `file` (whole
    gzip members, one per record). `record` is the WARC-Record-ID of the record whose payload is the raw body,
    `digest` its WARC-Payload-Digest; a revisit names, as `original`, the capture that holds the body."""

    file: str
    offset: int
    length: int
    record: str
    digest: str
    date: str = ""  # its WARC-Date
    original: CaptureRef | None = None


@dataclass(frozen=True)
class Snapshot:
    """Metadata of one stored version of a target's normalized text."""

    id: str
    target: str
    taken_at: datetime
    sha256: str
    source: SnapshotSource
    url: str | None = None
    final_url: str | None = None
    status: int | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    has_raw: bool = False
    origin: str | None = None
    title: str | None = None
    links: tuple[str, ...] | None = None  # None: not recorded (baseline imports)
    repeat_of: str | None = None  # set when the text returned to an earlier version (compare_versions)
    blocks: tuple[tuple[str, int], ...] | None = None  # each text block's place and length (None: not recorded)
    date: str | None = None  # the article's date line (None: none, or not recorded)
    via: Via | None = None  # how the page was fetched (None: not recorded)
    capture: CaptureRef | None = None  # its WARC records (has_raw without it: a body in the old <id>.html.gz)


@dataclass(frozen=True)
class TargetState:
    """What the store remembers about a target between checks."""

    last_checked: datetime | None = None
    last_status: CheckStatus | None = None
    last_error: str | None = None
    last_change: datetime | None = None
    consecutive_failures: int = 0
    validators: Validators = Validators()
    failing_since: datetime | None = None
    last_error_status: int | None = None
    reported: ReportKind | None = None  # the "error"/"removed" event already reported for this streak
    fingerprint: str | None = None  # "<latest snapshot id>:<content fingerprint>" (monitor.regions)


@dataclass(frozen=True)
class Change:
    """A difference between two texts: diff operations (-1 delete, 0 equal, 1 insert) and counts."""

    ops: tuple[tuple[int, str], ...]
    inserted_chars: int
    deleted_chars: int
    inserted_words: int
    deleted_words: int
    places: tuple[str, ...] = ()  # where in the page: "title", "paragraph 5", "photo 1", "banner"...
    chrome: bool = False  # every changed place is site chrome (banner, notice, related heading): no alarm


@dataclass(frozen=True)
class MetaChange:
    """Changes outside the text: title, final URL (redirects), links in the content, HTTP status.

    Each pair is (old, new); None where that aspect did not change or was not recorded before.
    """

    title: tuple[str | None, str | None] | None = None
    final_url: tuple[str | None, str | None] | None = None
    links_added: tuple[str, ...] = ()
    links_removed: tuple[str, ...] = ()
    status: tuple[int | None, int | None] | None = None
    date: tuple[str | None, str | None] | None = None  # the article's date line

    def __bool__(self) -> bool:
        return bool(self.title or self.final_url or self.links_added or self.links_removed or self.status
                    or self.date)


@dataclass(frozen=True)
class ChangeReport:
    """What a report describes: a change between two snapshots, or an error-state event of a target.

    kind "changed": `old`, `new` and `change` and/or `meta` are set.
    kind "error"/"removed": `old` is the last good snapshot (if any), `error` the failure, `failures` the streak.
    kind "recovered": `old` is the last good snapshot, `new` the fresh one (None if not modified),
    `change` the text difference if any.
    """

    target: Target
    kind: ReportKind
    created_at: datetime
    old: Snapshot | None = None
    new: Snapshot | None = None
    change: Change | None = None
    meta: MetaChange | None = None
    ignored: int = 0
    error: str | None = None
    failures: int = 0
    failing_since: datetime | None = None

    @property
    def id(self) -> str:
        """The report's id, unique per target: the new snapshot's id for changes, `<time>-<kind>` for events."""
        if self.kind == "changed" and self.new is not None:
            return self.new.id
        return time_id(self.created_at, self.kind)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one target once; errors are results too."""

    target: str
    url: str
    status: CheckStatus
    checked_at: datetime
    duration: float = 0.0
    final_url: str | None = None
    report: Path | None = None
    snapshot: str | None = None
    change: Change | None = None
    error: str | None = None
    error_kind: str | None = None
    event: ReportKind | None = None  # set when this check reported an event (error/removed/recovered)
    meta: MetaChange | None = None
    note: str | None = None
    via: Via | None = None  # how the page was fetched, for a successful check

    @property
    def alarming(self) -> bool:
        """True for a change a person must see: "changed", unless only site chrome changed."""
        return self.status == "changed" and not (self.change is not None and self.change.chrome and not self.meta)

    @property
    def inserted(self) -> int:
        """Inserted characters (0 without a change)."""
        return self.change.inserted_chars if self.change else 0

    @property
    def deleted(self) -> int:
        """Deleted characters (0 without a change)."""
        return self.change.deleted_chars if self.change else 0


@dataclass(frozen=True)
class RunReport:
    """All results of one run over a set of targets."""

    started_at: datetime
    finished_at: datetime
    results: tuple[CheckResult, ...]
    mail_sent: int = 0
    mail_error: str | None = None
    outbox: int = 0  # mails still waiting in the outbox after this run
    notify_errors: tuple[str, ...] = ()  # channels that did not take their messages (they wait in the outbox)

    def count(self, status: CheckStatus) -> int:
        """Return how many results have `status`."""
        return sum(1 for r in self.results if r.status == status)


@dataclass(frozen=True)
class HtmlBody:
    """A fetched page's bytes with their encoding decided once. `text` is what decode_html returns; `utf8` is
    that text as UTF-8 bytes, which for a page already in valid UTF-8 is the body itself, not decoded."""

    body: bytes
    encoding: str
    valid_utf8: bool = False

    @cached_property
    def text(self) -> str:
        """The page as text: undecodable bytes become U+FFFD, a byte-order mark is dropped."""
        text = self.body.decode(self.encoding, errors="replace")
        return text[1:] if text.startswith("\ufeff") else text

    @cached_property
    def utf8(self) -> bytes:
        """`text` encoded as UTF-8 (for lxml), without decoding when the body is valid UTF-8 already."""
        if self.valid_utf8:
            return self.body  # no BOM: _detect only proves bodies valid when no BOM decided the encoding
        return self.text.encode("utf-8", "replace")
