"""fetch: real HTTP against a loopback server; every failure is a typed error, retries only where they help."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest

from monitor.config import DEFAULT_USER_AGENT
from monitor.demo.server import Page, PageServer, RequestInfo
from monitor.errors import BadContentError, BlockedError, FetchError, HTTPStatusError, TransientFetchError
from monitor.fetch.http import Fetcher, blocked_reason, retry_after_seconds
from monitor.models import FetchSettings, Target, Validators
from tests.conftest import Sleeps

HTML = b"<html><body><main><p>Hello</p></main></body></html>"
AKAMAI = (b'<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n'
          b'You don\'t have permission to access "http&#58;&#47;&#47;www&#46;defense&#46;gov&#47;" on this server.<P>\n'
          b'Reference&#32;&#35;18&#46;6f4c1302&#46;1700000000&#46;1a2b3c4d\n<P>https&#58;&#47;&#47;errors&#46;edgesuite'
          b'&#46;net&#47;18&#46;6f4c1302</P></BODY></HTML>\n')


def fetcher(sleeps: Sleeps, **kw: object) -> Fetcher:
    return Fetcher(FetchSettings(user_agent=DEFAULT_USER_AGENT, **{"retries": 2, "backoff": 1.0, **kw}), sleep=sleeps)


def target(url: str, **kw: object) -> Target:
    return Target(name="t", url=url, **{"timeout": 5.0, **kw})


def sequence(*pages: Page):
    """A route answering with each page in turn, then the last one forever."""
    counter = count()

    def route(_: RequestInfo) -> Page:
        return pages[min(next(counter), len(pages) - 1)]
    return route


def test_fetch_returns_bytes_metadata_and_browser_headers(sleeps: Sleeps) -> None:
    with PageServer({"/a": Page(HTML)}) as srv, fetcher(sleeps) as f:
        got = f.fetch(target(srv.url("/a")))
    assert (got.status, got.body, got.final_url, got.attempts) == (200, HTML, srv.url("/a"), 1)
    assert got.content_type == "text/html; charset=utf-8"
    assert got.etag and got.last_modified == "Wed, 01 Jan 2020 00:00:00 GMT"
    sent = srv.requests[0].headers
    assert sent["User-Agent"] == DEFAULT_USER_AGENT and sent["Accept"].startswith("text/html")
    assert "If-None-Match" not in sent


def test_per_target_headers_override_the_defaults(sleeps: Sleeps) -> None:
    with PageServer({"/a": Page(HTML)}) as srv, fetcher(sleeps) as f:
        f.fetch(target(srv.url("/a"), headers={"User-Agent": "custom/1.0", "X-Extra": "1"}))
    assert srv.requests[0].headers["User-Agent"] == "custom/1.0"
    assert srv.requests[0].headers["X-Extra"] == "1"


def test_conditional_get_sends_the_servers_validators_and_304_means_not_modified(sleeps: Sleeps) -> None:
    with PageServer({"/a": Page(HTML)}) as srv, fetcher(sleeps) as f:
        first = f.fetch(target(srv.url("/a")))
        second = f.fetch(target(srv.url("/a")), first.validators)
    assert second.not_modified and second.status == 304 and second.body == b""
    assert srv.requests[1].headers["If-None-Match"] == first.etag
    assert srv.requests[1].headers["If-Modified-Since"] == first.last_modified


def test_a_changed_page_answers_a_conditional_get_in_full(sleeps: Sleeps) -> None:
    with PageServer({"/a": Page(HTML)}) as srv, fetcher(sleeps) as f:
        got = f.fetch(target(srv.url("/a")), Validators(etag='"stale"'))
    assert not got.not_modified and got.body == HTML


def test_redirects_are_followed_and_the_final_url_recorded(sleeps: Sleeps) -> None:
    with PageServer({"/old": Page(b"", status=301, headers={"Location": "/new"}), "/new": Page(HTML)}) as srv, \
            fetcher(sleeps) as f:
        got = f.fetch(target(srv.url("/old")))
    assert got.url == srv.url("/old") and got.final_url == srv.url("/new")


def test_cookies_a_site_sets_are_sent_on_its_redirect_and_on_later_fetches(sleeps: Sleeps) -> None:
    """A bot manager's pattern: the first answer sets a cookie and redirects; the page wants the cookie back."""
    routes = {"/a": Page(b"", status=302, headers={"Location": "/b", "Set-Cookie": "bm=1; Path=/"}),
              "/b": Page(HTML)}
    with PageServer(routes) as srv, fetcher(sleeps) as f:
        first = f.fetch(target(srv.url("/a")))
        f.fetch(target(srv.url("/b")))
    assert first.final_url == srv.url("/b")
    assert [r.headers.get("Cookie") for r in srv.requests] == [None, "bm=1", "bm=1"]


def test_credentials_in_a_target_url_are_sent_as_basic_auth(sleeps: Sleeps) -> None:
    with PageServer({"/a": Page(HTML)}) as srv, fetcher(sleeps) as f:
        f.fetch(target(srv.url("/a").replace("http://", "http://reader:s3cret@")))
    assert srv.requests[0].headers["Authorization"] == "Basic cmVhZGVyOnMzY3JldA=="


def test_a_redirect_loop_is_an_error(sleeps: Sleeps) -> None:
    with PageServer({"/loop": Page(b"", status=302, headers={"Location": "/loop"})}) as srv, \
            fetcher(sleeps, max_redirects=5) as f, pytest.raises(FetchError, match="too many redirects"):
        f.fetch(target(srv.url("/loop")))


def test_5xx_is_retried_with_backoff_then_succeeds(sleeps: Sleeps) -> None:
    route = sequence(Page(b"oops", status=500), Page(b"busy", status=503), Page(HTML))
    with PageServer({"/a": route}) as srv, fetcher(sleeps) as f:
        got = f.fetch(target(srv.url("/a")))
    assert got.body == HTML and got.attempts == 3 and len(srv.requests) == 3
    assert len(sleeps) == 2 and 1.0 <= sleeps[0] <= 1.25 and 2.0 <= sleeps[1] <= 2.5


def test_persistent_5xx_gives_an_http_error_after_all_attempts(sleeps: Sleeps) -> None:
    with PageServer({"/a": Page(b"down", status=502)}) as srv, fetcher(sleeps) as f, \
            pytest.raises(HTTPStatusError, match=r"HTTP 502 Bad Gateway \(after 3 attempts\)") as info:
        f.fetch(target(srv.url("/a")))
    assert info.value.status == 502 and len(srv.requests) == 3


def test_429_honours_retry_after(sleeps: Sleeps) -> None:
    route = sequence(Page(b"slow down", status=429, headers={"Retry-After": "7"}), Page(HTML))
    with PageServer({"/a": route}) as srv, fetcher(sleeps) as f:
        assert f.fetch(target(srv.url("/a"))).body == HTML
    assert sleeps == [7.0]


def test_a_retry_after_beyond_the_limit_is_not_waited_for(sleeps: Sleeps) -> None:
    page = Page(b"come back tomorrow", status=503, headers={"Retry-After": "86400"})
    with PageServer({"/a": page}) as srv, fetcher(sleeps, max_retry_after=60) as f, \
            pytest.raises(HTTPStatusError, match="HTTP 503"):
        f.fetch(target(srv.url("/a")))
    assert sleeps == [] and len(srv.requests) == 1


@pytest.mark.parametrize("status", [400, 404, 410])
def test_4xx_is_not_retried(sleeps: Sleeps, status: int) -> None:
    with PageServer({"/a": Page(b"<h1>gone</h1>", status=status)}) as srv, fetcher(sleeps) as f, \
            pytest.raises(HTTPStatusError) as info:
        f.fetch(target(srv.url("/a")))
    assert info.value.status == status and len(srv.requests) == 1 and sleeps == []


def test_an_akamai_403_is_a_block_not_content_and_not_retried(sleeps: Sleeps) -> None:
    with PageServer({"/a": Page(AKAMAI, status=403)}) as srv, fetcher(sleeps) as f, \
            pytest.raises(BlockedError, match="HTTP 403: CDN block page") as info:
        f.fetch(target(srv.url("/a")))
    assert info.value.status == 403 and len(srv.requests) == 1


def test_a_block_page_served_with_200_is_still_a_block(sleeps: Sleeps) -> None:
    with PageServer({"/a": Page(AKAMAI)}) as srv, fetcher(sleeps) as f, pytest.raises(BlockedError):
        f.fetch(target(srv.url("/a")))


def test_connection_refused_is_retried_then_reported_in_one_line(sleeps: Sleeps, closed_port: int) -> None:
    with fetcher(sleeps) as f, pytest.raises(TransientFetchError) as info:
        f.fetch(target(f"http://127.0.0.1:{closed_port}/a"))
    assert str(info.value) == f"connection refused (127.0.0.1:{closed_port}) (after 3 attempts)"
    assert len(sleeps) == 2


def test_a_slow_server_hits_the_read_timeout(sleeps: Sleeps) -> None:
    with PageServer({"/a": Page(HTML, delay=2.0)}) as srv, fetcher(sleeps, retries=0) as f, \
            pytest.raises(TransientFetchError, match=r"read timeout after 0.5s"):
        f.fetch(target(srv.url("/a"), timeout=0.5))


@pytest.mark.parametrize(("page", "message"), [
    (Page(b"%PDF-1.7 ...", content_type="application/pdf"), r"not HTML \(Content-Type application/pdf\)"),
    (Page(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", content_type="text/html"), "binary content"),
    (Page(b"", content_type="text/html"), "HTTP 200 with an empty body"),
    (Page(b"   \n", content_type="text/html"), "HTTP 200 with an empty body"),
    (Page(b"just some words", content_type=None), "does not look like HTML"),
])
def test_unusable_content_is_a_content_error(sleeps: Sleeps, page: Page, message: str) -> None:
    with PageServer({"/a": page}) as srv, fetcher(sleeps) as f, pytest.raises(BadContentError, match=message):
        f.fetch(target(srv.url("/a")))


def test_the_body_size_cap_is_enforced(sleeps: Sleeps) -> None:
    with PageServer({"/a": Page(b"<p>" + b"x" * 50_000 + b"</p>")}) as srv, fetcher(sleeps, max_body_bytes=4096) as f, \
            pytest.raises(BadContentError, match="exceeds the cap of 4096 bytes"):
        f.fetch(target(srv.url("/a")))


def test_retry_after_parsing() -> None:
    now = datetime(2020, 1, 7, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Tue, 07 Jan 2020 12:01:30 GMT", now) == 90
    assert retry_after_seconds("Tue, 07 Jan 2020 11:00:00 GMT", now) == 0
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None


def test_block_detection_leaves_real_pages_alone() -> None:
    assert blocked_reason(AKAMAI)
    assert blocked_reason(b"<title>Just a moment...</title>")
    captcha = b'<html><body><form><div class="g-recaptcha" data-sitekey="x"></div></form></body></html>'
    assert blocked_reason(captcha) == "captcha page instead of content"
    article_with_comment_form = b"<html><body>" + b"<p>Long article text.</p>" * 2000 + captcha + b"</body></html>"
    assert blocked_reason(article_with_comment_form) is None
    assert blocked_reason(b"<html><body><h1>Access Denied: a history of the closed archive</h1></body></html>") is None
