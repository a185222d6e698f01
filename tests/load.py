"""Load run: many targets on one loopback server, checked by a real `monitor run` daemon for several cycles.

Samples the daemon's resident memory and open file descriptors at the end of every cycle (a cycle ends when
every target was checked once more). `python -m tests.load --targets 1000 --cycles 20` is the soak
(`make soak`); tests/daemon/test_load.py runs a short one.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from monitor.demo.server import Page, PageServer, RequestInfo

_CHECKED = re.compile(rb"monitor\.check: t\d+: (?:new|unchanged|changed)")


def page_for(n: int, period: float) -> object:
    """A small article; every tenth one gets a new sentence each `period` seconds (real edits to report)."""
    def route(request: RequestInfo) -> Page:
        version = int(time.time() // period) if n % 10 == 0 else 0
        body = (f"<html><head><title>Page {n}</title></head><body><nav>menu</nav><main><h1>Page {n}</h1>"
                f"<p>Paragraph one of page {n}, version {version}.</p><p>Another paragraph with more words in it "
                f"so the page has some text.</p></main><footer>{time.time()}</footer></body></html>")
        return Page(body.encode(), validators=False)
    return route


@dataclass(frozen=True)
class Sample:
    """The daemon after one cycle."""

    cycle: int
    seconds: float
    rss_mib: float
    peak_mib: float
    fds: int


def _proc(pid: int) -> tuple[float, float, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
    return rss, peak, len(os.listdir(f"/proc/{pid}/fd"))


def run_load(workdir: Path, targets: int = 1000, cycles: int = 3, every: float = 6.0,
             timeout: float = 300.0) -> list[Sample]:
    """Run the daemon over `targets` pages for `cycles` cycles; return one sample per cycle.

    Raises AssertionError if the daemon dies or a cycle does not finish within `timeout` seconds.
    """
    with PageServer() as server:
        for n in range(targets):
            server.set(f"/p/{n}", page_for(n, every))  # type: ignore[arg-type]
        doc = {"snapshots_dir": "snapshots", "reports_dir": "reports", "fetch": {"retries": 0},
               "daemon": {"workers": 4, "per_host": 4, "host_delay": 0, "startup_spread": 1, "jitter": 0,
                          "grace": 5},
               "targets": [{"name": f"t{n}", "url": server.url(f"/p/{n}"), "every": f"{every:g}s", "timeout": 10,
                            "keep": {"count": 3}} for n in range(targets)]}
        config = workdir / "config.yaml"
        config.write_text(yaml.safe_dump(doc), encoding="utf-8")
        log = workdir / "daemon.log"
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                stdout=subprocess.DEVNULL, stderr=log.open("wb"), env=env)
        samples: list[Sample] = []
        started = time.monotonic()
        try:
            for cycle in range(1, cycles + 1):
                deadline = time.monotonic() + timeout
                while len(_CHECKED.findall(log.read_bytes())) < cycle * targets:
                    if proc.poll() is not None:
                        raise AssertionError(f"the daemon died (exit {proc.returncode}): {log.read_text()[-2000:]}")
                    if time.monotonic() > deadline:
                        raise AssertionError(f"cycle {cycle} did not finish in {timeout}s")
                    time.sleep(0.2)
                rss, peak, fds = _proc(proc.pid)
                samples.append(Sample(cycle, time.monotonic() - started, rss, peak, fds))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if b"Traceback" in log.read_bytes():
            raise AssertionError(f"a traceback in the daemon log: {log}")
        return samples


def main() -> None:
    """Print a table of the daemon's memory and descriptors per cycle."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between checks of a target")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="monitor-soak-") as tmp:
        samples = run_load(Path(tmp), args.targets, args.cycles, args.every)
    print(f"| cycle | elapsed s | RSS MiB | peak RSS MiB | open fds |  ({args.targets} targets, every {args.every:g}s)")
    print("|---|---|---|---|---|")
    for s in samples:
        print(f"| {s.cycle} | {s.seconds:.1f} | {s.rss_mib:.1f} | {s.peak_mib:.1f} | {s.fds} |")


if __name__ == "__main__":
    main()
