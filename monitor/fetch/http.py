"""HTTP fetch stage, the only module that imports requests: Fetcher.fetch(target) -> Fetched."""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urlsplit

import requests
import urllib3
from requests.hooks import default_hooks
from requests.structures import CaseInsensitiveDict

from monitor.clock import Clock, utcnow
from monitor.errors import (
    BadContentError,
    BlockedError,
    BrowserUnavailableError,
    FetchError,
    HTTPStatusError,
    TransientFetchError,
)
from monitor.fetch.blockpage import blocked_reason, check_content
from monitor.fetch.browser import thread_browser
from monitor.fetch.exchange import http_exchanges
from monitor.models import Fetched, FetchSettings, Target, Validators

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
_CHUNK = 64 * 1024
def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Return the delay a Retry-After header asks for (seconds or HTTP-date), or None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Fetcher:
    """Fetches targets over one requests.Session; use as a context manager."""

    def __init__(self, settings: FetchSettings, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Clock = utcnow) -> None:
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._session = requests.Session()
        self._session.max_redirects = settings.max_redirects
        # The environment (proxies, CA bundle) is read here once: requests' trust_env re-reads all of
        # os.environ twice per request, a fifth of a fetch's CPU. (~/.netrc credentials are not used.)
        self._session.trust_env = False
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self._session.verify = bundle
        self._proxies: dict[str, dict[str, str]] = {}
        self._browser_hosts: dict[str, float] = {}  # host -> until when (monotonic) it is fetched by browser
        self._session.headers.update({
            "User-Agent": settings.user_agent,
            "Accept": DEFAULT_ACCEPT,
            "Accept-Language": "en-US,en;q=0.9",
        })

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying connection pool (the thread's browser stays for the next check)."""
        self._session.close()

    def fetch(self, target: Target, validators: Validators | None = None, *, html: bool = True) -> Fetched:
        """Return the target's page: over HTTP, in the browser (`via: browser`), or over HTTP and then in the
        browser when a bot wall answers (`via: auto`; the host then goes straight to the browser for
        `browser_memory` seconds). Raises as `http_fetch` and Browser.fetch do."""
        host = urlsplit(target.url).netloc
        if target.via == "browser" or (target.via == "auto" and self._browser_hosts.get(host, 0) > time.monotonic()):
            return self._browser_fetch(target)
        try:
            return self.http_fetch(target, validators, html=html)
        except BlockedError as exc:
            if target.via != "auto":
                raise
            logger.info("%s: %s over plain HTTP; trying the browser", target.name, exc)
            try:
                fetched = self._browser_fetch(target)
            except BrowserUnavailableError as unavailable:  # still blocked (the archive fallback applies)
                raise BlockedError(f"{exc}; the browser that could pass it is unavailable: {unavailable}",
                                   exc.status) from unavailable
            self._browser_hosts[host] = time.monotonic() + self.settings.browser_memory
            return fetched

    def _browser_fetch(self, target: Target) -> Fetched:
        return thread_browser(self.settings, self._clock).fetch(target)

    def http_fetch(self, target: Target, validators: Validators | None = None, *, html: bool = True) -> Fetched:
        """Return the target's page over HTTP, retrying network errors, 429 and 5xx with back-off.

        A 304 answer to a conditional GET gives Fetched(not_modified=True, body=b""). With `html=False` the
        body is returned whatever it is (an API's JSON): no block-page, content-type or soft-404 checks.
        Raises TransientFetchError, HTTPStatusError, BlockedError or BadContentError.
        """
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                fetched = self._attempt(target, validators, html)
            except (TransientFetchError, HTTPStatusError) as exc:
                delay = self._retry_delay(exc, attempt)
                if attempt == attempts or delay is None:
                    suffix = f" (after {attempt} attempts)" if attempt > 1 else ""
                    raise type(exc)(*_with_suffix(exc, suffix)) from exc
                logger.info("%s: %s; retry %d/%d in %.1fs", target.name, exc, attempt,
                            attempts - 1, delay)
                self._sleep(delay)
                continue
            return replace(fetched, attempts=attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _proxies_for(self, url: str) -> dict[str, str]:
        """Return the environment's proxies for `url` (HTTP(S)_PROXY, NO_PROXY), remembered per scheme and host."""
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        if key not in self._proxies:
            self._proxies[key] = requests.utils.get_environ_proxies(url)
        return self._proxies[key]

    def _retry_delay(self, exc: FetchError, attempt: int) -> float | None:
        """Return seconds to wait before the next attempt, or None when `exc` is not worth retrying."""
        if isinstance(exc, BlockedError):
            return None
        if isinstance(exc, HTTPStatusError) and exc.status not in RETRY_STATUSES:
            return None
        asked = exc.retry_after if isinstance(exc, HTTPStatusError) else None
        if asked is not None:
            return asked if asked <= self.settings.max_retry_after else None
        base = self.settings.backoff * 2 ** (attempt - 1)
        return base + random.uniform(0, base / 4)

    def _attempt(self, target: Target, validators: Validators | None, html: bool = True) -> Fetched:
        headers = dict(target.headers)
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        started = time.monotonic()
        try:
            response = self._get(target.url, headers, target.timeout)
        except requests.RequestException as exc:
            raise _wrap_request_error(exc, target) from exc
        with response:
            if response.status_code == 304:
                return self._fetched(target, response, b"", not_modified=True)
            body = self._read_body(response, target, started)
            status = response.status_code
            if status >= 400:
                reason = blocked_reason(body)
                if reason and status in (401, 403, 429, 503):
                    raise BlockedError(f"HTTP {status}: {reason}", status)
                raise HTTPStatusError(f"HTTP {status} {response.reason or ''}".strip(), status,
                                      retry_after_seconds(response.headers.get("Retry-After"), self._clock()))
            if html:
                check_content(body, response.headers.get("Content-Type"), status)
            return self._fetched(target, response, body)

    def _get(self, url: str, headers: dict[str, str], timeout: float) -> requests.Response:
        """GET `url` as Session.get does (the session's headers under `headers`, its cookies sent and kept,
        redirects followed, streamed), the request prepared by PreparedRequest.prepare directly: Session.request
        first copies the cookie jar twice and merges every setting, 0.22 of requests' 0.72 ms of CPU a fetch
        here. Raises requests.RequestException."""
        merged = CaseInsensitiveDict(self._session.headers)
        merged.update(headers)
        prepared = requests.PreparedRequest()
        prepared.prepare(method="GET", url=url, headers=merged, cookies=self._session.cookies, hooks=default_hooks())
        return self._session.send(prepared, timeout=timeout, allow_redirects=True, stream=True,
                                  proxies=self._proxies_for(url), verify=self._session.verify, cert=self._session.cert)

    def _read_body(self, response: requests.Response, target: Target, started: float) -> bytes:
        """Return the (decompressed) body, enforcing the size cap and a whole-response deadline."""
        cap = self.settings.max_body_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap and "Content-Encoding" not in response.headers:
            raise BadContentError(f"body of {int(declared)} bytes exceeds the cap of {cap} bytes")
        deadline = started + max(target.timeout, 1.0) * 2
        chunks: list[bytes] = []
        size = 0
        try:
            # read1 returns whatever one socket read brings, so a server dripping bytes meets the deadline
            # (iter_content would wait for a whole chunk, each byte resetting the read timeout).
            while chunk := response.raw.read1(_CHUNK, decode_content=True):
                size += len(chunk)
                if size > cap:
                    raise BadContentError(f"body exceeds the cap of {cap} bytes")
                if time.monotonic() > deadline:
                    raise TransientFetchError(f"body not received within {deadline - started:.0f}s")
                chunks.append(chunk)
        except (urllib3.exceptions.HTTPError, requests.RequestException) as exc:
            raise _wrap_request_error(exc, target) from exc
        return b"".join(chunks)

    def _fetched(self, target: Target, response: requests.Response, body: bytes,
                 not_modified: bool = False) -> Fetched:
        return Fetched(
            url=target.url,
            final_url=response.url or target.url,
            status=response.status_code,
            fetched_at=self._clock(),
            body=body,
            content_type=response.headers.get("Content-Type"),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            not_modified=not_modified,
            exchanges=() if not_modified else http_exchanges(response),
        )


def _with_suffix(exc: FetchError, suffix: str) -> tuple[object, ...]:
    """Return constructor args re-creating `exc` with `suffix` added to its message."""
    message = f"{exc}{suffix}"
    return (message, exc.status) if isinstance(exc, HTTPStatusError) else (message,)


def _wrap_request_error(exc: requests.RequestException | urllib3.exceptions.HTTPError, target: Target) -> FetchError:
    """Return a one-line monitor error for a requests exception, or a urllib3 one raised while reading a body."""
    host = urlsplit(target.url).netloc
    text = repr(exc)
    if isinstance(exc, requests.TooManyRedirects):
        return FetchError("too many redirects (a redirect loop?)")
    if isinstance(exc, (requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidURL)):
        return BadContentError(f"redirected to an unusable URL ({str(exc).splitlines()[0][:120]})")
    if isinstance(exc, requests.ConnectTimeout):
        return TransientFetchError(f"connect timeout after {target.timeout:g}s ({host})")
    if isinstance(exc, (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError)):
        return TransientFetchError(f"read timeout after {target.timeout:g}s ({host})")
    if "NameResolution" in text or "Name or service not known" in text or "getaddrinfo" in text \
            or "Temporary failure in name resolution" in text:
        return TransientFetchError(f"cannot resolve host {urlsplit(target.url).hostname}")
    if "Connection refused" in text or "ConnectionRefused" in text:
        return TransientFetchError(f"connection refused ({host})")
    if isinstance(exc, (requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError)):
        return BadContentError("body could not be decompressed")
    if isinstance(exc, (requests.exceptions.SSLError, urllib3.exceptions.SSLError)):
        return TransientFetchError(f"TLS error talking to {host}")
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.HTTPError)):
        return TransientFetchError(f"connection broken mid-body ({host})")
    if isinstance(exc, requests.ConnectionError):
        return TransientFetchError(f"connection failed ({host}): {type(exc.__context__ or exc).__name__}")
    return TransientFetchError(f"request failed ({host}): {type(exc).__name__}")
