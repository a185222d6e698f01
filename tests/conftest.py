"""Shared fixtures: no proxies, a loopback page server, settings in tmp_path, the committed baseline copied."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.check import CheckContext, check_target
from monitor.config import DEFAULT_USER_AGENT, load_settings
from monitor.demo import DEMO_PAGES, page_html
from monitor.demo.server import Page, PageServer
from monitor.fetch import Fetcher
from monitor.models import CheckResult, FetchSettings, Settings, Target
from monitor.store import SnapshotStore

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEEDS = {
    "nato-training-suspended": FIXTURES / "seeds" / "000_4c4e1697ccf35c4f.txt",
    "mattis-stoltenberg-remarks": FIXTURES / "seeds" / "002_76aa4a595b3534b1.txt",
}
NATO = "nato-training-suspended"
MATTIS = "mattis-stoltenberg-remarks"


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy in the environment must never see (or swallow) loopback test traffic."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
                "all_proxy", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "MONITOR_CONFIG"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server() -> Iterator[PageServer]:
    """A page server on 127.0.0.1:<free port> serving both defense.gov fixture pages at their real paths."""
    with PageServer({path: Page(page_html(name)) for name, path in DEMO_PAGES.items()}) as srv:
        yield srv


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening on it (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def baseline_dir(tmp_path: Path) -> Path:
    """A copy of the committed snapshots/ baseline (tests never write into the source tree)."""
    target = tmp_path / "snapshots"
    shutil.copytree(ROOT / "snapshots", target, ignore=shutil.ignore_patterns("state.json"))
    for path in target.glob("*/*"):
        if path.suffix not in (".txt", ".json"):
            path.unlink()
    return target


WriteConfig = Callable[..., Path]


@pytest.fixture
def write_config(tmp_path: Path, server: PageServer) -> WriteConfig:
    """Return a function writing config.yaml in tmp_path for targets on the test server; it returns the path.

    Targets default to the two fixture pages with the defense.gov profile and no retries.
    """

    def write(targets: list[dict] | None = None, **top: object) -> Path:
        if targets is None:
            targets = [{"name": name, "url": server.url(path), "profile": "defense.gov", "timeout": 5}
                       for name, path in DEMO_PAGES.items()]
        doc = {"snapshots_dir": "snapshots", "reports_dir": "reports",
               "fetch": {"retries": 0, "backoff": 0}, **top, "targets": targets}
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def settings(write_config: WriteConfig, baseline_dir: Path) -> Settings:
    """Settings for both fixture pages on the test server, with the committed baseline in tmp_path."""
    return load_settings(write_config())


class Sleeps(list):
    """Records the delays a Fetcher asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    """A sleep function that records its calls (keeps retry tests fast and their waits assertable)."""
    return Sleeps()


@dataclass
class Pipeline:
    """A target on a loopback server and a check context writing into tmp_path, with a stepping clock."""

    server: PageServer
    ctx: CheckContext
    target: Target
    path: str

    def serve(self, body: str | bytes) -> None:
        self.server.set(self.path, Page(body.encode("utf-8") if isinstance(body, str) else body, validators=False))

    def check(self) -> CheckResult:
        return check_target(self.target, self.ctx)


def _clock() -> Any:
    """A clock that advances one second per reading, from 2026-01-01 UTC (snapshot ids stay distinct)."""
    now = [datetime(2026, 1, 1, tzinfo=UTC)]

    def tick() -> datetime:
        now[0] += timedelta(seconds=1)
        return now[0]
    return tick


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Any]:
    """Return make(page, **target_options) -> Pipeline: one fixture page's target on a fresh loopback server."""

    def make(page: str, **target_options: Any) -> Pipeline:
        path = DEMO_PAGES[page]
        target = Target(name=page, url=server.url(path), profile="defense.gov", timeout=5, **target_options)
        ctx = CheckContext(fetcher=fetcher, store=SnapshotStore(tmp_path / "snapshots"),
                           reports_dir=tmp_path / "reports", clock=_clock())
        return Pipeline(server, ctx, target, path)

    with PageServer() as server, Fetcher(FetchSettings(user_agent=DEFAULT_USER_AGENT, retries=0)) as fetcher:
        yield make


# Scraped text that would run or inject if it ever reached a page unescaped (it is text in the served page).
HOSTILE_HTML = ("&lt;script&gt;window.__pwned = 1&lt;/script&gt; &lt;/textarea&gt; "
                "&lt;img src=x onerror=window.__pwned=2&gt; {{ 7*7 }}")
HOSTILE_TEXT = "<script>window.__pwned = 1</script> </textarea> <img src=x onerror=window.__pwned=2> {{ 7*7 }}"


@dataclass
class ReportSite:
    """Three change reports made by real checks over a loopback server: NATO twice, Mattis once (hostile text)."""

    settings: Settings
    server: PageServer
    refs: list[str]  # newest first


@pytest.fixture
def report_site(settings: Settings, server: PageServer) -> ReportSite:
    """Settings whose reports folder holds three change reports (and the static site), none reviewed."""
    from monitor.daemon import run_checks
    from monitor.demo import edited_html
    from monitor.report.catalog import list_reports

    now = [datetime.now(UTC)]  # after the committed baseline, so it stays the oldest snapshot

    def clock() -> datetime:
        now[0] += timedelta(seconds=1)
        return now[0]

    assert run_checks(settings, settings.targets, clock=clock).count("unchanged") == 2
    nato = edited_html(NATO)
    server.set(DEMO_PAGES[NATO], Page(nato))
    head, body = page_html(MATTIS).split(b"</head>", 1)
    mattis = head + b"</head>" + body.replace(b"fellow ministers", HOSTILE_HTML.encode(), 1)
    server.set(DEMO_PAGES[MATTIS], Page(mattis))
    assert run_checks(settings, settings.targets, clock=clock).count("changed") == 2
    server.set(DEMO_PAGES[NATO], Page(nato.replace(b"Stoltenberg Briefing", b"Stoltenberg Press Briefing", 1)))
    assert run_checks(settings, settings.targets, clock=clock).count("changed") == 1
    refs = [e.ref for e in list_reports(settings.reports_dir)]
    assert len(refs) == 3
    return ReportSite(settings, server, refs)


@dataclass
class ReviewServer:
    """`monitor serve` running as a real process on a free loopback port."""

    url: str
    proc: subprocess.Popen[str]
    site: ReportSite


@pytest.fixture
def review_server(report_site: ReportSite) -> Iterator[ReviewServer]:
    """`monitor serve --port 0` over the report site, as a subprocess; killed after the test."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k != "MONITOR_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(report_site.settings.config_path),
                             "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    line = proc.stdout.readline() if proc.stdout else ""
    match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
    if not match:
        proc.kill()
        pytest.fail(f"monitor serve printed no URL: {line!r}; stderr: {proc.stderr.read() if proc.stderr else ''}")
    try:
        yield ReviewServer(match.group(1), proc, report_site)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item (the browser fixture screenshots a failed test)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


class Daemon:
    """A `monitor run` subprocess with its log file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                     stdout=subprocess.DEVNULL, stderr=log.open("ab"))

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 8.0) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


@pytest.fixture
def daemons() -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(config: Path, log: Path) -> Daemon:
        daemon = Daemon(config, log)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()


def kill_at_random(work: Callable[[int], None], times: int, rnd: random.Random, longest: float) -> int:
    """Fork `times` children that each run work(i) until SIGKILL comes, after a random wait of up to `longest`
    seconds; return how many were killed by it (each one was killed mid-work when that is `times`)."""
    killed = 0
    for i in range(times):
        pid = os.fork()
        if pid == 0:  # the child: work until killed
            try:
                work(i)
            finally:
                os._exit(0)
        time.sleep(rnd.uniform(0.05, longest))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        killed += os.WIFSIGNALED(status)
    return killed
