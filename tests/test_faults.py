"""Network and server faults from a fault-injecting loopback server, through the whole check pipeline.

For every fault: the check ends within its time bound, the result is the right typed error (or the right
content), no snapshot is stored from a bad response, and nothing is reported as a change.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.check import CheckContext, check_target
from monitor.config import DEFAULT_USER_AGENT
from monitor.demo import DEMO_PAGES, edited_html
from monitor.demo.server import Page, PageServer
from monitor.extract import normalize
from monitor.fetch import Fetcher
from monitor.models import FetchSettings, Target
from monitor.store import SnapshotStore
from tests import faults
from tests.conftest import NATO, Daemon
from tests.daemon.test_daemon import FAST, demo_target, wait_for, write
from tests.faults import ARTICLE, FaultServer, respond

AKAMAI = (b"<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n"
          b"You don't have permission to access \"http&#58;&#47;&#47;www&#46;defense&#46;gov&#47;\" on this server."
          b"<P>\nReference&#32;&#35;18&#46;a1b2c3d4&#46;1700000000&#46;5f6e7d8c\n</BODY>\n</HTML>\n")
SOFT_404 = (b"<html><head><title>Page Not Found</title></head><body><main><h1>Sorry</h1>"
            b"<p>The page you requested does not exist.</p></main></body></html>")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
CAFE_1252 = "<html><body><main><p>Café résumé – naïve</p></main></body></html>".encode("cp1252")
CAFE_UTF8 = "<html><body><main><p>Café résumé – naïve</p></main></body></html>".encode()
DEEP = (b"<html><body><main>" + b"<div>" * 10_000 + b"<p>deep text</p>" + b"</div>" * 10_000 + b"</main></body></html>")
UNCLOSED = (b"<html><body><main><h1>Title<p>First <b>bold <i>both<p>Second<ul><li>one<li>two"
            b"<table><tr><td>cell</main>")

TIMEOUT = 1.0


@dataclass(frozen=True)
class Fault:
    """A route, what the check must conclude, and how long it may take at most (seconds)."""

    handler: faults.Handler
    kind: str | None          # the error kind, or None when the page must be read as content
    within: float
    text: str | None = None   # for content: a fragment the text must contain
    message: str = ""         # for errors: a fragment of the one-line message


def _retry_then_ok() -> faults.Handler:
    seen: list[int] = []

    def handler(conn: socket.socket, path: str) -> None:
        seen.append(1)
        if len(seen) == 1:
            respond(b"slow down", "429 Too Many Requests", Retry_After="1")(conn, path)
        else:
            respond(ARTICLE)(conn, path)
    return handler


FAULTS: dict[str, Fault] = {
    "reset-mid-body": Fault(faults.reset_mid_body, "network", 3, message="mid-body"),
    "read-timeout": Fault(faults.never_answers, "network", 2 * TIMEOUT + 2, message="read timeout"),
    "slow-drip": Fault(faults.slow_drip, "network", 2 * 2 * TIMEOUT + 2, message="not received within"),
    "truncated-body": Fault(faults.truncated, "network", 3, message="mid-body"),
    "invalid-chunked": Fault(faults.bad_chunked, "network", 3, message="mid-body"),
    "gzip-bomb": Fault(faults.gzip_bomb, "content", 5, message="exceeds the cap"),
    "huge-body": Fault(faults.huge_body, "content", 5, message="exceeds the cap"),
    "redirect-loop": Fault(faults.redirect("/redirect-loop"), "fetch", 3, message="too many redirects"),
    "redirect-chain/0": Fault(faults.redirect("/redirect-chain/{n}"), "fetch", 3, message="too many redirects"),
    "redirect-file": Fault(faults.redirect("file:///etc/passwd"), "content", 3, message="unusable URL"),
    "redirect-javascript": Fault(faults.redirect("javascript:alert(1)"), "content", 3, message="unusable URL"),
    "redirect-ftp": Fault(faults.redirect("ftp://127.0.0.1/x"), "content", 3, message="unusable URL"),
    "429-retry-after": Fault(respond(b"slow down", "429 Too Many Requests", Retry_After="1"), "http", 4,
                             message="HTTP 429"),
    "429-then-ok": Fault(_retry_then_ok(), None, 4, text="The content a good response carries."),
    "500": Fault(respond(b"oops", "500 Internal Server Error"), "http", 3, message="HTTP 500"),
    "502": Fault(respond(b"oops", "502 Bad Gateway"), "http", 3, message="HTTP 502"),
    "503": Fault(respond(b"oops", "503 Service Unavailable"), "http", 3, message="HTTP 503"),
    "504": Fault(respond(b"oops", "504 Gateway Timeout"), "http", 3, message="HTTP 504"),
    "403-akamai": Fault(respond(AKAMAI, "403 Forbidden"), "blocked", 3, message="CDN block page"),
    "200-empty": Fault(respond(b""), "content", 3, message="empty body"),
    "200-soft-404": Fault(respond(SOFT_404), "soft-404", 3, message="says it is not found"),
    "binary-as-html": Fault(respond(PNG), "content", 3, message="binary"),
    "utf8-label-on-1252": Fault(respond(CAFE_1252), None, 3, text="Café résumé – naïve"),
    "latin1-label-on-utf8": Fault(respond(CAFE_UTF8, Content_Type="text/html; charset=iso-8859-1"), None, 3,
                                  text="Café résumé – naïve"),
    "unclosed-tags": Fault(respond(UNCLOSED), None, 3, text="Second"),
    "nesting-10000": Fault(respond(DEEP), None, 5, text="deep text"),
}


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    routes = {f"/{name}": fault.handler for name, fault in FAULTS.items()}
    routes["/redirect-chain/*"] = FAULTS["redirect-chain/0"].handler
    with FaultServer(routes) as server:
        yield server


def _context(tmp_path: Path) -> tuple[CheckContext, Fetcher]:
    fetcher = Fetcher(FetchSettings(user_agent=DEFAULT_USER_AGENT, retries=1, backoff=0.1, max_retry_after=5,
                                    max_body_bytes=5 * 1024 * 1024, max_redirects=10))
    return CheckContext(fetcher=fetcher, store=SnapshotStore(tmp_path / "snapshots"),
                        reports_dir=tmp_path / "reports"), fetcher


@pytest.mark.parametrize("name", list(FAULTS))
def test_a_fault_ends_in_time_as_the_right_result_and_stores_nothing_bad(
        name: str, fault_server: FaultServer, tmp_path: Path) -> None:
    fault = FAULTS[name]
    ctx, fetcher = _context(tmp_path)
    target = Target(name="fault", url=fault_server.url(f"/{name}"), timeout=TIMEOUT, error_threshold=3)
    good = normalize(ARTICLE.decode(), "generic")
    ctx.store.save("fault", good, taken_at=datetime(2026, 1, 1, tzinfo=UTC), source="baseline")
    with fetcher:
        started = time.monotonic()
        result = check_target(target, ctx)
        took = time.monotonic() - started
    assert took <= fault.within, f"{name} took {took:.1f}s"
    history = ctx.store.history("fault")
    reports = list((tmp_path / "reports").glob("fault/*.json"))
    if fault.kind is None:
        assert result.status in ("unchanged", "changed"), result.error
        assert fault.text in ctx.store.read_text(history[0])
        return
    assert result.status == "error" and result.error_kind == fault.kind, (result.error_kind, result.error)
    assert fault.message in (result.error or "")
    assert "\n" not in (result.error or ""), "one line"
    assert len(history) == 1, "nothing stored from a bad response"
    assert not reports, "a first failure is no change and no report"


def test_connection_refused_is_a_network_error(closed_port: int, tmp_path: Path) -> None:
    ctx, fetcher = _context(tmp_path)
    with fetcher:
        result = check_target(Target(name="fault", url=f"http://127.0.0.1:{closed_port}/", timeout=TIMEOUT), ctx)
    assert result.status == "error" and result.error_kind == "network" and "refused" in (result.error or "")
    assert ctx.store.history("fault") == []


def test_429_waits_for_retry_after(fault_server: FaultServer, tmp_path: Path) -> None:
    ctx, fetcher = _context(tmp_path)
    with fetcher:
        started = time.monotonic()
        result = check_target(Target(name="fault", url=fault_server.url("/429-retry-after"), timeout=TIMEOUT), ctx)
    assert result.status == "error" and "after 2 attempts" in (result.error or "")
    assert time.monotonic() - started >= 1.0, "Retry-After: 1 was honoured between the attempts"


def test_three_soft_404s_report_the_page_removed(fault_server: FaultServer, tmp_path: Path) -> None:
    ctx, fetcher = _context(tmp_path)
    target = Target(name="fault", url=fault_server.url("/200-soft-404"), timeout=TIMEOUT, error_threshold=3)
    ctx.store.save("fault", "Old text", taken_at=datetime(2026, 1, 1, tzinfo=UTC), source="baseline")
    with fetcher:
        events = [check_target(target, ctx).event for _ in range(4)]
    assert events == [None, None, "removed", None]


DAEMON_FAULTS = ("reset-mid-body", "500", "200-soft-404", "gzip-bomb", "slow-drip", "redirect-file",
                 "binary-as-html", "invalid-chunked", "403-akamai")


def test_the_daemon_keeps_running_through_every_fault_and_still_reports_a_real_edit(
        tmp_path: Path, fault_server: FaultServer, server: PageServer, baseline_dir: Path,
        daemons: Callable[..., Daemon]) -> None:
    targets = [{"name": name.replace("/", "-").lower(), "url": fault_server.url(f"/{name}"), "every": "1s",
                "timeout": TIMEOUT} for name in DAEMON_FAULTS]
    config = write(tmp_path / "config.yaml", [*targets, demo_target(server, NATO)],
                   daemon={**FAST, "workers": 4, "per_host": 4})
    daemon = daemons(config, tmp_path / "daemon.log")
    state = tmp_path / "snapshots" / NATO / "check.json"
    wait_for(state.exists, what="the first check of the good page")
    server.set(DEMO_PAGES[NATO], Page(edited_html(NATO)))
    wait_for(lambda: list((tmp_path / "reports" / NATO).glob("2*.html")), timeout=15, what="the edit reported")
    store = SnapshotStore(tmp_path / "snapshots")
    wait_for(lambda: all(store.load_state(t["name"]).consecutive_failures >= 3 for t in targets), timeout=20,
             what="three failed rounds of every fault")
    assert daemon.proc.poll() is None, "the daemon survived every fault"
    for t in targets:
        assert store.history(t["name"]) == [], f"{t['name']}: nothing stored from a bad response"
    changed = [p for p in (tmp_path / "reports").glob("*/2*.json") if '"kind": "changed"' in p.read_text()]
    assert [p.parent.name for p in changed] == [NATO], "the only change reported is the real edit"
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.text()
