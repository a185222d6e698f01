"""The browser fetcher against real chromium on loopback: a bot wall only script passes, script-built articles."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from monitor.check import CheckContext, check_target
from monitor.config import DEFAULT_USER_AGENT
from monitor.fetch import Fetcher
from monitor.fetch.browser import stop_thread
from monitor.models import FetchSettings, Target
from monitor.store import SnapshotStore
from tests.extract.variants import Variant, page

CHROMIUM = os.environ.get("MONITOR_CHROMIUM", "/usr/bin/chromium")
ARTICLE, _ = page(Variant())
WALL = (b"<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1>You don't have permission "
        b"to access this page.<p>Reference #18.2f5e1002.1733000000.1a2b3c</p><script>document.cookie = "
        b"'passed=1; path=/'; location.reload();</script></body></html>")
SCRIPTED = (b'<html><head><title>T</title></head><body><h1 class="maintitle">Script-built story</h1>'
            b'<div class="body"></div><script>document.querySelector(".body").innerHTML = '
            b'"<p>Only a browser reads this paragraph.</p>";</script></body></html>')


class Site:
    """A loopback site: /wall lets in only a client that ran its script; /scripted builds its body by script;
    /hang never answers; /kill runs `on_kill` mid-request. Counts the requests that came from a browser and
    from a plain client."""

    def __init__(self) -> None:
        self.browser_hits = self.plain_hits = 0
        self.stop = threading.Event()
        self.on_kill: Callable[[], None] = lambda: None
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.headers.get("Sec-Fetch-Mode"):
                    site.browser_hits += 1
                else:
                    site.plain_hits += 1
                if self.path == "/hang":
                    site.stop.wait(15)
                    return
                if self.path == "/kill":  # the browser dies while it waits for this answer
                    site.on_kill()
                    site.stop.wait(2)
                    return
                if self.path == "/scripted":
                    self._send(200, SCRIPTED)
                elif "passed=1" in (self.headers.get("Cookie") or ""):
                    self._send(200, ARTICLE.encode("utf-8"))
                else:
                    self._send(403, WALL)

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.close()


@pytest.fixture(scope="module")
def fetcher() -> Iterator[Fetcher]:
    """One fetcher (so one browser process) for the whole module."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (or set MONITOR_CHROMIUM)")
    with Fetcher(FetchSettings(user_agent=DEFAULT_USER_AGENT, retries=0, browser=CHROMIUM)) as shared:
        yield shared
    stop_thread()  # this thread's Playwright: the browser tests of other modules start their own


def check(fetcher: Fetcher, tmp_path: Path, target: Target):
    ctx = CheckContext(fetcher=fetcher, store=SnapshotStore(tmp_path / "s"), reports_dir=tmp_path / "r")
    return check_target(target, ctx), ctx.store


def test_auto_passes_the_bot_wall_in_the_browser_and_remembers_the_host(
        site: Site, fetcher: Fetcher, tmp_path: Path) -> None:
    blocked, _ = check(fetcher, tmp_path / "http", Target(name="wall", url=site.url("/wall"), profile="defense.gov",
                                                           timeout=10))
    assert blocked.status == "error" and blocked.error_kind == "blocked"
    plain, browser = site.plain_hits, site.browser_hits
    result, store = check(fetcher, tmp_path / "auto", Target(name="wall", url=site.url("/wall"),
                                                             profile="defense.gov", timeout=10, via="auto"))
    assert result.status == "new" and result.via == "browser", result.error
    assert site.plain_hits == plain + 1 and site.browser_hits >= browser + 2, "a plain try, then the browser"
    text = store.read_text(store.latest("wall"))
    assert text.startswith("An official website of the United States Government") and "NATO" in text
    assert store.latest("wall").via == "browser"
    plain = site.plain_hits
    again, _ = check(fetcher, tmp_path / "auto", Target(name="wall", url=site.url("/wall"), profile="defense.gov",
                                                        timeout=10, via="auto"))
    assert again.status == "unchanged" and again.via == "browser"
    assert site.plain_hits == plain, "the host is remembered as browser-only: no plain request first"


def test_only_the_browser_reads_an_article_built_by_script(site: Site, fetcher: Fetcher, tmp_path: Path) -> None:
    target = Target(name="scripted", url=site.url("/scripted"), profile="defense.gov", timeout=10)
    plain, plain_store = check(fetcher, tmp_path / "http", target)
    assert plain.status == "new" and "Only a browser" not in plain_store.read_text(plain_store.latest("scripted"))
    rendered, store = check(fetcher, tmp_path / "browser", Target(**{**target.__dict__, "via": "browser"}))
    assert rendered.status == "new" and rendered.via == "browser"
    assert store.read_text(store.latest("scripted")) == "Script-built story\n\nOnly a browser reads this paragraph."
    # The capture keeps both: what the server sent, and what the browser rendered (what was normalized).
    snapshot = store.latest("scripted")
    warc = (tmp_path / "browser" / "s" / "scripted" / snapshot.capture.file).read_bytes()
    found = [(r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read())
             for r in ArchiveIterator(io.BytesIO(warc), check_digests="raise")]
    assert [kind for kind, *_ in found] == ["request", "response", "conversion"]
    response, conversion = found[1], found[2]
    assert response[3] == SCRIPTED and response[2].get_header("Content-Type") == "text/html; charset=utf-8"
    assert response[2].statusline.startswith("200")
    assert b"Only a browser reads this paragraph." in conversion[3] == store.read_raw(snapshot)
    assert conversion[1].get_header("WARC-Refers-To") == response[1].get_header("WARC-Record-ID")
    assert found[0][2].get_header("User-Agent") == DEFAULT_USER_AGENT


def test_a_page_that_never_loads_is_a_bounded_error(site: Site, fetcher: Fetcher, tmp_path: Path) -> None:
    started = time.monotonic()
    result, _ = check(fetcher, tmp_path, Target(name="hang", url=site.url("/hang"), timeout=2, via="browser"))
    assert result.status == "error" and result.error_kind == "network"
    assert "did not finish loading within 2 s" in result.error
    assert time.monotonic() - started < 8


def test_a_missing_browser_is_one_clear_error(site: Site, tmp_path: Path) -> None:
    settings = FetchSettings(user_agent=DEFAULT_USER_AGENT, retries=0, browser=str(tmp_path / "no-chromium"))
    with Fetcher(settings) as lonely:
        result, _ = check(lonely, tmp_path, Target(name="x", url=site.url("/scripted"), via="browser"))
    assert result.status == "error" and result.error_kind == "browser" and "cannot start the browser" in result.error
    assert "`make check` installs Debian's chromium" in result.error
    with Fetcher(settings) as lonely:  # via auto behind a wall: still blocked (so the archive fallback applies)
        walled, _ = check(lonely, tmp_path / "auto", Target(name="w", url=site.url("/wall"), via="auto"))
    assert walled.status == "error" and walled.error_kind == "blocked", walled
    assert "the browser that could pass it is unavailable: cannot start the browser" in walled.error


def _descendants(pid: int) -> list[int]:
    """The processes below `pid` (the browser and its renderers, under Playwright's driver)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _chromium_rss_kib(pid: int) -> int:
    total = 0
    for child in _descendants(pid):
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        if "chrom" in Path(f"/proc/{child}/comm").read_text():
            total += int(next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")), 0))
    return total


def test_a_killed_browser_is_an_error_result_and_the_next_check_starts_a_new_one(
        site: Site, tmp_path: Path) -> None:
    def chromium() -> set[int]:
        return {p for p in _descendants(os.getpid()) if "chrom" in _comm(p)}

    others = chromium()  # browsers of other tests' fixtures are left alone

    def kill() -> None:
        mine = chromium() - others
        assert mine, "a chromium process runs under this test"
        for pid in mine:
            os.kill(pid, 9)

    site.on_kill = kill
    with Fetcher(FetchSettings(user_agent=DEFAULT_USER_AGENT, retries=0, browser=CHROMIUM)) as own:
        target = Target(name="scripted", url=site.url("/scripted"), profile="defense.gov", timeout=10, via="browser")
        assert check(own, tmp_path / "1", target)[0].status == "new"
        crashed, _ = check(own, tmp_path / "2", replace(target, url=site.url("/kill")))
        assert crashed.status == "error" and crashed.error_kind == "network" and "browser" in crashed.error, crashed
        again, store = check(own, tmp_path / "3", target)
        assert again.status == "new" and "Only a browser" in store.read_text(store.latest("scripted"))


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return ""


@pytest.mark.timeout(240)
def test_many_pages_through_one_browser_keep_its_memory_flat(site: Site, fetcher: Fetcher, tmp_path: Path) -> None:
    target = Target(name="scripted", url=site.url("/scripted"), profile="defense.gov", timeout=10, via="browser")
    ctx = CheckContext(fetcher=fetcher, store=SnapshotStore(tmp_path / "s"), reports_dir=tmp_path / "r")
    for _ in range(20):
        check_target(target, ctx)
    settled = _chromium_rss_kib(os.getpid())
    for _ in range(180):  # 200 pages in all (~0.25 s each), about MAX_PAGES: at most one restart on the way
        assert check_target(target, ctx).status == "unchanged"
    after = _chromium_rss_kib(os.getpid())
    print(f"chromium RSS after 20 pages: {settled} KiB, after 200: {after} KiB")
    assert settled > 0 and after < settled * 1.5 + 50_000, (settled, after)


def test_a_one_off_run_on_worker_threads_leaves_no_browser_behind(site: Site, tmp_path: Path) -> None:
    from monitor.config.settings import parse_settings
    from monitor.daemon import run_checks

    def chromium() -> set[int]:
        return {p for p in _descendants(os.getpid()) if "chrom" in _comm(p) or "node" in _comm(p)}

    others = chromium()
    targets = "".join(f"  - {{name: s{i}, url: '{site.url('/scripted')}?{i}', profile: defense.gov, "
                      f"fetch: {{via: browser}}}}\n" for i in range(3))
    settings = parse_settings(f"fetch: {{browser: {CHROMIUM}, retries: 0}}\ndaemon: {{workers: 2, per_host: 2}}\n"
                              f"targets:\n{targets}", base_dir=tmp_path)
    report = run_checks(settings, settings.targets, processes=1)
    assert [r.status for r in report.results] == ["new"] * 3, [r.error for r in report.results]
    time.sleep(0.2)
    assert chromium() - others == set(), "each worker thread stopped its browser and Playwright driver"
