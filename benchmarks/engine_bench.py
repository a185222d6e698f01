"""The distributed engine beside a local run (a `make bench` section).

The first `pages` corpus pages are served from 4 loopback servers (4 hosts to politeness) with 100 ms of
latency per response, as a distant site would answer. Measured: one `monitor check` of them (the local run:
`daemon.workers` threads in all, split over one process per core), then the engine with 1, 2 and 4 `monitor worker`
processes (4 threads each) and an in-process coordinator: wall time from the first send to the last stored
result, pages/s, and the coordinator's CPU per check (this process's CPU time over the run).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import ROOT, WORK, measure

LATENCY = 0.1
HOSTS = 4
THREADS = 4


def _redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = os.environ.get("MONITOR_REDIS", shutil.which("redis-server") or "/usr/bin/redis-server")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--save", ""],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    for _ in range(100):
        try:
            redis.Redis(port=port).ping()
            break
        except redis.RedisError:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def _config(state: Path, urls: list[str], engine: str | None) -> Path:
    import yaml

    doc = {"snapshots_dir": "snapshots", "reports_dir": "reports", "fetch": {"retries": 0},
           "daemon": {"workers": THREADS, "per_host": 16, "host_delay": 0},
           "targets": [{"name": f"p{i:05d}", "url": url, "profile": "defense.gov", "timeout": 30,
                        "fetch": {"via": "http"}} for i, url in enumerate(urls, 1)]}
    if engine:
        doc["engine"] = {"url": engine}
    state.mkdir(parents=True, exist_ok=True)
    (state / "config.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return state / "config.yaml"


def _engine_run(engine: str, config: Path, workers: int) -> tuple[float, float, int]:
    """Return (wall s, coordinator CPU s, errors) for one pass of every target through `workers` workers."""
    import redis

    from monitor.config import load_settings
    from monitor.daemon.remote import Coordinator
    from monitor.report import SiteUpdates
    from monitor.store import SnapshotStore

    redis.Redis.from_url(engine).flushall()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    procs = [subprocess.Popen([sys.executable, "-m", "monitor", "--config", "/nonexistent.yaml", "worker",
                               "--engine", engine, "--processes", "1", "--threads", str(THREADS)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True) for _ in range(workers)]
    settings = load_settings(config)
    store = SnapshotStore(settings.snapshots_dir)
    done, results = threading.Condition(), []

    def on_result(result: object) -> None:
        with done:
            results.append(result)
            done.notify_all()

    try:
        coordinator = Coordinator(engine, 15, store, lambda: settings, SiteUpdates(settings.reports_dir, store),
                                  on_result)
        time.sleep(3)  # the workers start (imports, broker) before the clock does
        cpu0, started = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        for target in settings.targets:
            coordinator.submit(target)
        with done:
            done.wait_for(lambda: len(results) == len(settings.targets), timeout=600)
        wall, cpu1 = time.monotonic() - started, resource.getrusage(resource.RUSAGE_SELF)
        coordinator.close(5)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return wall, cpu, sum(1 for r in results if getattr(r, "status", "") == "error")


def engine_figures(corpus_dir: Path, pages: int, counts: tuple[int, ...] = (1, 2, 4)) -> list[str]:
    """Rows for the engine table (see the module docstring)."""
    sys.path.insert(0, str(ROOT))
    from monitor.demo.server import Page, PageServer

    paths = (corpus_dir / "urls.txt").read_text().split()[:pages]
    files = sorted((corpus_dir / "round-0").glob("page-*.html"))[:pages]
    servers = [PageServer().__enter__() for _ in range(HOSTS)]
    work = Path(tempfile.mkdtemp(prefix="monitor-bench-engine-", dir=WORK))
    redis_proc, engine = _redis(work)
    rows = []
    try:
        urls = []
        for i, (path, page) in enumerate(zip(paths, files, strict=False)):
            server = servers[i % HOSTS]
            server.set(path, Page(page.read_bytes(), delay=LATENCY))
            urls.append(server.url(path))
        local = measure(_config(work / "local", urls, None), len(urls), "baseline", None)
        rows.append(f"| local `monitor check` ({THREADS} threads in all, split over the cores) | {local.wall:.2f} | "
                    f"{len(urls) / local.wall:.0f} | - | {local.errors} |")
        for count in counts:
            wall, cpu, errors = _engine_run(engine, _config(work / f"engine-{count}", urls, engine), count)
            rows.append(f"| engine, {count} worker{'s' if count > 1 else ''} x {THREADS} threads | {wall:.2f} | "
                        f"{len(urls) / wall:.0f} | {cpu / len(urls) * 1000:.1f} | {errors} |")
    finally:
        redis_proc.send_signal(signal.SIGTERM)
        redis_proc.wait(timeout=30)
        for server in servers:
            server.__exit__(None, None, None)
        shutil.rmtree(work, ignore_errors=True)
    return ["", f"| {len(urls)} pages, {HOSTS} hosts, {LATENCY * 1000:.0f} ms latency per response, baseline round "
                f"| wall s | pages/s | coordinator CPU ms/check | errors |", "|---|---|---|---|---|", *rows]
