"""Fetch a page through a real browser: Playwright driving Debian's chromium, for pages a plain client cannot
read (a bot wall that runs script before it lets a client in, an article inserted by script).

One `Browser` is one chromium process, started on first use and restarted after `MAX_PAGES` pages or a
crash; each fetch gets a fresh context (no cookies carried between checks), images, media and fonts are not
downloaded, the page gets the target's timeout and a bounded wait for its requests to end, and the
rendered DOM is what is handed on, as a `Fetched` with `via="browser"`. Playwright's sync API is bound to the
thread that started it and runs once per thread, so each thread has one Playwright and one Browser per
chromium binary (`thread_browser`), shared by every Fetcher of that thread and kept between checks;
`stop_thread()` ends them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from monitor.clock import Clock, utcnow
from monitor.errors import (
    BadContentError,
    BlockedError,
    BrowserUnavailableError,
    HTTPStatusError,
    TransientFetchError,
)
from monitor.fetch.blockpage import blocked_reason, check_content
from monitor.fetch.exchange import browser_exchanges
from monitor.models import Fetched, FetchSettings, Target

logger = logging.getLogger(__name__)

MAX_PAGES = 200  # pages per browser process before it is restarted (bounds its memory)
IDLE_WAIT = 5.0  # seconds at most to wait for the network to go quiet after the load event
_SKIPPED = frozenset({"image", "media", "font"})
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-quic"]


_thread = threading.local()


def thread_browser(settings: FetchSettings, clock: Clock = utcnow) -> Browser:
    """Return this thread's Browser for `settings.browser` (created on first use, kept between checks)."""
    browsers: dict[str, Browser] = _thread.__dict__.setdefault("browsers", {})
    if settings.browser not in browsers:
        browsers[settings.browser] = Browser(settings, clock)
    return browsers[settings.browser]


def stop_thread() -> None:
    """Stop this thread's browsers and its Playwright; never raises."""
    for browser in _thread.__dict__.pop("browsers", {}).values():
        browser.close()
    playwright = _thread.__dict__.pop("playwright", None)
    if playwright is not None:
        try:
            playwright.stop()
        except Exception as exc:
            logger.debug("stopping Playwright: %s", exc)


def _playwright() -> Any:
    """This thread's Playwright (started once per thread: its sync API allows no second one)."""
    if getattr(_thread, "playwright", None) is None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise BrowserUnavailableError(f"browser fetch needs Playwright ({exc}); run `make check` to install it") \
                from exc
        _thread.playwright = sync_playwright().start()
    return _thread.playwright


class Browser:
    """A chromium process (see the module docstring); get one with thread_browser()."""

    def __init__(self, settings: FetchSettings, clock: Clock = utcnow) -> None:
        self.settings = settings
        self._clock = clock
        self._browser: Any = None
        self._pages = 0

    def _start(self) -> Any:
        if self._browser is not None and self._pages < MAX_PAGES and self._browser.is_connected():
            return self._browser
        self.close()
        playwright = _playwright()
        from playwright.sync_api import Error as PlaywrightError

        try:
            try:
                self._browser = playwright.chromium.launch(executable_path=self.settings.browser, args=ARGS,
                                                           headless=True)
            except PlaywrightError as exc:
                if "closed" not in str(exc):
                    raise
                stop_thread()  # the driver died with a crashed browser: one fresh Playwright, one more try
                self._browser = _playwright().chromium.launch(executable_path=self.settings.browser, args=ARGS,
                                                              headless=True)
        except PlaywrightError as exc:
            self.close()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BrowserUnavailableError(f"cannot start the browser {self.settings.browser!r}: {first} "
                                          "(`make check` installs Debian's chromium; or set MONITOR_CHROMIUM)") from exc
        self._pages = 0
        return self._browser

    def close(self) -> None:
        """Stop the browser process (if any); never raises."""
        if self._browser is not None:
            try:
                self._browser.close()
            except Exception as exc:  # a crashed browser cannot be closed cleanly
                logger.debug("closing the browser: %s", exc)
        self._browser = None

    def fetch(self, target: Target) -> Fetched:
        """Return the target's page as the browser renders it. Raises TransientFetchError (did not load, the
        browser crashed), BlockedError (a wall the browser cannot pass either), HTTPStatusError,
        BadContentError, or BrowserUnavailableError when the browser cannot start."""
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        browser = self._start()
        self._pages += 1
        started = time.monotonic()
        context = None
        try:
            context = browser.new_context(user_agent=self.settings.user_agent,
                                          extra_http_headers=dict(target.headers) or None)
            context.route("**/*", lambda route: route.abort() if route.request.resource_type in _SKIPPED
                          else route.continue_())
            page = context.new_page()
            page.set_default_timeout(target.timeout * 1000)
            main: list[Any] = []
            page.on("response", lambda r: main.append(r) if r.request.is_navigation_request()
                    and r.frame == page.main_frame else None)
            pending: set[Any] = set()  # requests in flight: the network is quiet when none are
            page.on("request", lambda request: pending.add(request))  # Playwright takes no builtins here
            page.on("requestfinished", lambda request: pending.discard(request))
            page.on("requestfailed", lambda request: pending.discard(request))
            page.goto(target.url, wait_until="load", timeout=target.timeout * 1000)
            # Then until the network is quiet (a script's requests, a reload past a wall), at most IDLE_WAIT:
            # a page that keeps polling never goes quiet, and its DOM is read anyway.
            quiet_by = time.monotonic() + max(0.0, min(IDLE_WAIT, target.timeout - (time.monotonic() - started)))
            while pending and time.monotonic() < quiet_by:
                page.wait_for_timeout(50)
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_load_state("load", timeout=max(0.1, target.timeout - (time.monotonic() - started))
                                         * 1000)
            html = page.content()
            final_url, status = page.url, (main[-1].status if main else 200)
            headers = main[-1].headers if main else {}
            exchanges = browser_exchanges(main[-1]) if main else ()
        except PlaywrightTimeout as exc:
            raise TransientFetchError(f"browser: the page did not finish loading within {target.timeout:g} s") \
                from exc
        except PlaywrightError as exc:
            stop_thread()  # a crashed renderer or browser: the next fetch starts a new one (and a new driver)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TransientFetchError(f"browser: {first}") from exc
        finally:
            if context is not None:
                try:
                    context.close()
                except PlaywrightError:
                    stop_thread()
        body = html.encode("utf-8")
        if len(body) > self.settings.max_body_bytes:
            raise BadContentError(f"rendered page over the {self.settings.max_body_bytes:,}-byte cap")
        if status >= 400:
            reason = blocked_reason(body)
            if reason and status in (401, 403, 429, 503):
                raise BlockedError(f"HTTP {status} in the browser: {reason}", status)
            raise HTTPStatusError(f"HTTP {status} in the browser", status)
        check_content(body, "text/html; charset=utf-8", status)
        logger.debug("%s: rendered by the browser in %.2fs", target.name, time.monotonic() - started)
        return Fetched(url=target.url, final_url=final_url, status=status, fetched_at=self._clock(), body=body,
                       content_type="text/html; charset=utf-8", etag=headers.get("etag"),
                       last_modified=headers.get("last-modified"), via="browser", exchanges=exchanges)
