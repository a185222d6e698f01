"""The monitor's one error tree: every failure a caller may handle is a MonitorError."""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error the monitor raises on purpose; str() is one line for the user."""

    kind = "error"


class ConfigError(MonitorError):
    """The configuration is invalid; `problems` holds one line per problem."""

    kind = "config"

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class FetchError(MonitorError):
    """A page could not be fetched as usable HTML."""

    kind = "fetch"


class TransientFetchError(FetchError):
    """Network trouble (refused, reset, timeout, DNS) or a server that asked us to come back later."""

    kind = "network"


class HTTPStatusError(FetchError):
    """The server answered with an error status (4xx/5xx) after any retries."""

    kind = "http"

    def __init__(self, message: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class BlockedError(HTTPStatusError):
    """A CDN or bot wall answered instead of the page (e.g. Akamai's 403 "Access Denied")."""

    kind = "blocked"


class SoftNotFoundError(HTTPStatusError):
    """A 200 answer whose page says it is not there (a "soft 404"); counts as a 404 for error events."""

    kind = "soft-404"


class BrowserUnavailableError(FetchError):
    """The browser for a browser fetch cannot start (not installed, Playwright missing, a bad binary)."""

    kind = "browser"


class BadContentError(FetchError):
    """The response is not usable page content: not HTML, empty, or over the size cap."""

    kind = "content"


class NormalizeError(MonitorError):
    """The page could not be turned into text (e.g. the profile found no article in it)."""

    kind = "normalize"


class PatternError(MonitorError):
    """A user pattern (`ignore`) is invalid or ran past the check's time budget on this page."""

    kind = "pattern"


class StoreError(MonitorError):
    """The snapshot store could not read or write (disk error, corrupt file, bad name)."""

    kind = "store"


class ReportError(MonitorError):
    """A change report could not be rendered or written."""

    kind = "report"


class LockedError(MonitorError):
    """Another process holds the lock on a target or data directory."""

    kind = "locked"


class EmailError(MonitorError):
    """A message could not be sent: connection, TLS, authentication, refusal. Names the setting to fix."""

    kind = "email"


class NotifyError(MonitorError):
    """A notification channel is misconfigured or did not accept a message (the message waits in its outbox)."""

    kind = "notify"
