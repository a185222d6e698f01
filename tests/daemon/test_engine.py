"""The distributed engine with a real redis-server, real `monitor worker` subprocesses and loopback pages:
results equal a local run's, a killed worker's check is finished by another, a slot is stored once, the
per-host gap holds across workers, Redis may go away and come back, and the coordinator may restart."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from warcio.archiveiterator import ArchiveIterator

from monitor.config.settings import parse_settings
from monitor.daemon import run_checks
from monitor.daemon.engine import engine_status
from monitor.daemon.remote import Coordinator
from monitor.demo import edited_html, page_html
from monitor.demo.server import Page, PageServer, RequestInfo
from monitor.models import CheckResult, Settings
from monitor.report import SiteUpdates
from monitor.report.catalog import list_reports
from monitor.store import SnapshotStore
from tests.conftest import NATO

REDIS = os.environ.get("MONITOR_REDIS", "/usr/bin/redis-server")
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """Our own redis-server on a free loopback port, appending every write to its AOF (so a restart keeps
    the queues)."""

    def __init__(self, workdir: Path) -> None:
        if not Path(REDIS).exists():
            pytest.fail(f"{REDIS} is missing: `make test` installs Debian's redis-server (or set MONITOR_REDIS)")
        self.port, self.dir = _free_port(), workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen([REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                                      "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.kill()


@pytest.fixture
def engine_url(redis_server: RedisServer) -> str:
    redis.Redis(port=redis_server.port).flushall()
    return redis_server.url


class Workers:
    """`monitor worker` subprocesses, each in its own process group (Dramatiq's CLI forks its workers)."""

    def __init__(self, url: str, log_dir: Path) -> None:
        self.url, self.log_dir = url, log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, threads: int = 2) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        log = (self.log_dir / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(self.log_dir / "none.yaml"),
                                 "worker", "--engine", self.url, "--processes", "1", "--threads", str(threads),
                                 "--redelivery", "2"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc, signal.SIGTERM)


@pytest.fixture
def workers(engine_url: str, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(engine_url, tmp_path)
    yield pool
    pool.stop_all()


def _settings(tmp_path: Path, targets: list[tuple[str, str]], **daemon: Any) -> Settings:
    lines = "".join(f"  - {{name: {name}, url: '{url}', profile: defense.gov, timeout: 5, fetch: {{via: http}}}}\n"
                    for name, url in targets)
    options = {"per_host": 4, "host_delay": 0, **daemon}
    return parse_settings(f"fetch: {{retries: 0}}\ndaemon: {{{', '.join(f'{k}: {v}' for k, v in options.items())}}}\n"
                          f"engine: {{redelivery: 2}}\ntargets:\n{lines}", base_dir=tmp_path)


class Run:
    """A Coordinator over a store in `folder`, collecting the results it stores."""

    def __init__(self, url: str, settings: Settings) -> None:
        self.settings = settings
        self.store = SnapshotStore(settings.snapshots_dir)
        self.results: list[CheckResult] = []
        self.done = threading.Condition()
        self.coordinator = Coordinator(url, 2.0, self.store, lambda: self.settings,
                                       SiteUpdates(settings.reports_dir, self.store), self._on)

    def _on(self, result: CheckResult) -> None:
        with self.done:
            self.results.append(result)
            self.done.notify_all()

    def submit_all(self) -> None:
        for target in self.settings.targets:
            assert self.coordinator.submit(target)

    def wait(self, count: int, timeout: float = 60) -> list[CheckResult]:
        with self.done:
            assert self.done.wait_for(lambda: len(self.results) >= count, timeout), (len(self.results), count)
            return list(self.results)

    def close(self) -> None:
        self.coordinator.close(5)


@pytest.fixture
def runs(engine_url: str) -> Iterator[Callable[[Settings], Run]]:
    made: list[Run] = []

    def make(settings: Settings) -> Run:
        made.append(Run(engine_url, settings))
        return made[-1]

    yield make
    for run in made:
        run.close()


def _page(i: int, edited: bool = False) -> Page:
    html = edited_html(NATO) if edited else page_html(NATO)
    return Page(html.replace(b"Stoltenberg", f"Stoltenberg {i}".encode(), 1))


def test_two_workers_check_200_targets_on_four_hosts_as_a_local_run_does(
        workers: Workers, runs: Callable[[Settings], Run], tmp_path: Path) -> None:
    servers = [PageServer().__enter__() for _ in range(4)]
    try:
        targets = []
        for i in range(200):
            server = servers[i % 4]
            server.set(f"/p/{i}", _page(i))
            targets.append((f"t{i:03d}", server.url(f"/p/{i}")))
        workers.start()
        workers.start()
        remote = runs(_settings(tmp_path / "remote", targets))
        local = _settings(tmp_path / "local", targets)
        remote.submit_all()
        first = remote.wait(200)
        assert {r.status for r in first} == {"new"}, [r.error for r in first if r.status == "error"][:3]
        run_checks(local, local.targets, processes=1)
        for i in range(0, 200, 10):  # 20 pages edited
            servers[i % 4].set(f"/p/{i}", _page(i, edited=True))
        remote.submit_all()
        second = {r.target: r.status for r in remote.wait(400)[200:]}
        here = {r.target: r.status for r in run_checks(local, local.targets, processes=1).results}
        assert second == here and sum(1 for s in second.values() if s == "changed") == 20
        reports = [r for r in list_reports(remote.settings.reports_dir) if r.kind == "changed"]
        assert len(reports) == 20, "every change reported once"
        edited = remote.store.latest("t000")  # stored by the coordinator from what a worker read
        kinds = [(r.rec_type, r.http_headers.get_header("Content-Type") if r.rec_type == "response" else None)
                 for r in ArchiveIterator(io.BytesIO(remote.store.read_capture(edited)), check_digests="raise")]
        assert kinds == [("request", None), ("response", "text/html; charset=utf-8")], "the exchange came along"
        status = engine_status(remote.coordinator.engine)
        assert status["queued"] == 0 and sum(w["checks"] for w in status["workers"]) == 400
        assert len(status["workers"]) == 2
    finally:
        for server in servers:
            server.__exit__(None, None, None)


def test_a_killed_worker_s_check_is_finished_by_another_once(
        workers: Workers, runs: Callable[[Settings], Run], tmp_path: Path) -> None:
    asked = threading.Event()
    release = threading.Event()

    def hold(request: RequestInfo) -> Page:
        if not asked.is_set():
            asked.set()
            release.wait(20)  # the first worker to ask dies while it waits here
        return _page(1)

    with PageServer({"/slow": hold}) as server:
        run = runs(_settings(tmp_path, [("slow", server.url("/slow"))]))
        first = workers.start()
        run.submit_all()
        assert asked.wait(30), "a worker fetched the page"
        workers.kill(first)
        release.set()
        workers.start()
        [result] = run.wait(1, timeout=60)
        time.sleep(1)
    assert result.status == "new" and len(run.results) == 1
    assert len(run.store.history("slow")) == 1


def test_the_same_slot_answered_twice_is_stored_once(workers: Workers, runs: Callable[[Settings], Run],
                                                     tmp_path: Path) -> None:
    with PageServer({"/p": _page(1)}) as server:
        run = runs(_settings(tmp_path, [("twice", server.url("/p"))]))
        target = run.settings.targets[0]
        key = "monitor:inflight:twice"
        assert run.coordinator.submit(target)
        run.coordinator.engine.client.delete(key)  # as if the in-flight mark had expired: the slot goes again
        assert run.coordinator.submit(target)
        assert not run.coordinator.submit(target), "in flight: not sent a third time"
        workers.start()
        run.wait(1)
        time.sleep(2)
        assert len(run.results) == 1 and len(run.store.history("twice")) == 1
        assert sum(w["checks"] for w in engine_status(run.coordinator.engine)["workers"]) == 2


def test_the_per_host_gap_holds_across_workers_while_other_hosts_proceed(
        workers: Workers, runs: Callable[[Settings], Run], tmp_path: Path) -> None:
    arrivals: dict[str, list[float]] = {"slow": [], "fast": []}

    def logged(host: str, i: int) -> Callable[[RequestInfo], Page]:
        def route(request: RequestInfo) -> Page:
            arrivals[host].append(time.monotonic())
            return _page(i)
        return route

    with PageServer() as slow_host, PageServer() as fast_host:
        targets = []
        for i in range(6):
            slow_host.set(f"/s/{i}", logged("slow", i))
            fast_host.set(f"/f/{i}", logged("fast", i))
            targets += [(f"s{i}", slow_host.url(f"/s/{i}")), (f"f{i}", fast_host.url(f"/f/{i}"))]
        run = runs(_settings(tmp_path, targets, per_host=1, host_delay=0.6))
        workers.start(threads=3)
        workers.start(threads=3)
        run.submit_all()
        results = run.wait(12, timeout=90)
    assert {r.status for r in results} == {"new"}
    for host in ("slow", "fast"):
        times = sorted(arrivals[host])
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(times) == 6 and min(gaps) >= 0.55, (host, gaps)
    # The hosts take turns independently: both are done in about the time of one (6 starts 0.6 s apart each).
    span = max(arrivals["slow"] + arrivals["fast"]) - min(arrivals["slow"] + arrivals["fast"])
    assert span < 6 * 0.6 + 4, span


def test_redis_away_and_back_loses_no_check_and_reports_none_twice(
        redis_server: RedisServer, workers: Workers, runs: Callable[[Settings], Run], tmp_path: Path) -> None:
    with PageServer() as server:
        targets = []
        for i in range(10):
            server.set(f"/p/{i}", _page(i))
            targets.append((f"r{i}", server.url(f"/p/{i}")))
        run = runs(_settings(tmp_path, targets))
        workers.start()
        run.submit_all()
        run.wait(10)
        redis_server.kill()
        for i in range(10):
            server.set(f"/p/{i}", _page(i, edited=True))
        run.submit_all()  # due while Redis is away: kept by the coordinator
        assert run.coordinator.busy() == 10
        time.sleep(1)
        redis_server.start()
        results = run.wait(20, timeout=90)
    assert sorted(r.target for r in results[10:]) == sorted(t.name for t in run.settings.targets)
    assert {r.status for r in results[10:]} == {"changed"}
    reports = [r for r in list_reports(run.settings.reports_dir) if r.kind == "changed"]
    assert len(reports) == 10, "each change reported once"


def test_a_restarted_coordinator_does_not_send_a_slot_twice_and_takes_the_waiting_results(
        engine_url: str, workers: Workers, tmp_path: Path) -> None:
    with PageServer({"/p": _page(1)}) as server:
        settings = _settings(tmp_path, [("again", server.url("/p"))])
        first = Run(engine_url, settings)
        first.submit_all()
        first.close()
        second = Run(engine_url, settings)
        try:
            assert not second.coordinator.submit(settings.targets[0]), "the slot is still in flight"
            assert engine_status(second.coordinator.engine)["queued"] == 1
            workers.start()
            [result] = second.wait(1)
            assert result.status == "new" and len(second.store.history("again")) == 1
        finally:
            second.close()


def test_monitor_run_with_an_engine_and_a_worker_end_to_end_and_status_shows_the_engine(
        engine_url: str, workers: Workers, daemons: Callable[..., Any], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from monitor.cli.main import cli

    with PageServer({"/p": _page(1)}) as server:
        config = tmp_path / "config.yaml"
        config.write_text(f"engine: {{url: '{engine_url}', redelivery: 2}}\ndaemon: {{startup_spread: 0}}\n"
                          f"targets:\n  - {{name: live, url: '{server.url('/p')}', every: 1h}}\n"
                          f"  - {{name: unroutable, url: 'http://127.0.0.1:{_free_port()}/', every: 1h}}\n")
        workers.start()
        daemon = daemons(config, tmp_path / "daemon.log")
        store = SnapshotStore(tmp_path / "snapshots")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(store.load_state(n).last_checked for n in ("live", "unroutable")):
            time.sleep(0.2)
        status = CliRunner().invoke(cli, ["--config", str(config), "status"])
        assert daemon.stop() == 0, daemon.text()
    assert store.load_state("live").last_status == "new" and len(store.history("live")) == 1
    failed = store.load_state("unroutable")
    assert failed.consecutive_failures == 1 and "connection" in (failed.last_error or ""), failed
    assert "engine: 0 checks queued" in status.stdout and "1 workers seen in the last minute" in status.stdout
    assert "(2 checks, 1 errors)" in status.stdout, status.stdout


def test_an_unreachable_engine_is_one_line_for_run_and_worker(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from monitor.cli.main import cli

    config = tmp_path / "config.yaml"
    config.write_text("targets: [{name: a, url: 'http://127.0.0.1:9/'}]\n")
    url = f"redis://:hunter2@127.0.0.1:{_free_port()}/0"
    for args in (["run", "--engine", url], ["worker", "--engine", url]):
        out = CliRunner().invoke(cli, ["--config", str(config), *args])
        assert out.exit_code == 2 and "Redis does not answer" in out.output and "Traceback" not in out.output
        assert "hunter2" not in out.output, "the password stays out of messages"
    out = CliRunner().invoke(cli, ["--config", str(config), "run", "--engine", "http://x/"])
    assert out.exit_code == 2 and "is not a redis://HOST:PORT/DB URL" in out.output
