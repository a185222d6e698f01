"""The daemon's steady state (a `make bench` section): CPU per 1,000 checks of unchanged pages in a running
`monitor run`, no start-up in it.

The first `pages` corpus pages (round 0, never edited) are checked once by `monitor check` (the baseline), then
`monitor run` checks every one of them every 5 s (one loopback host: no gap between its requests, `daemon.workers`
10 and `per_host` 10 as in the rounds). Once the daemon has checked each page once, its CPU time
(user + system of the process, all its threads, from /proc) and the checks in its log are read; again when
`checks` more have been logged. Beside it (with the peers): urlwatch run as cron would, one process per round,
on a corpus whose round 1 is round 0 unchanged (the same files and times, so the same ETags for both tools).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from harness import SHARED, WORK, Server, measure, write_config

EVERY = "5s"
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """The user + system CPU seconds of process `pid` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _checks(log: Path) -> int:
    """The checks the daemon has logged as unchanged so far."""
    try:
        return log.read_text(errors="replace").count(": unchanged (")
    except FileNotFoundError:
        return 0


def _wait_for(log: Path, count: int, proc: subprocess.Popen[bytes], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = _checks(log)
        if done >= count:
            return done
        if proc.poll() is not None:
            raise SystemExit(f"monitor run exited ({proc.returncode}); see {log}")
        time.sleep(0.05)
    raise SystemExit(f"the daemon logged {_checks(log)} of {count} checks in {timeout:.0f} s; see {log}")


def _unchanged_corpus(corpus_dir: Path) -> Path:
    """A copy of the corpus whose round 1 is its round 0 (files and modification times), nothing edited."""
    out = WORK / f"{corpus_dir.name}-unchanged"
    if not (out / "round-1" / "truth.json").exists():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for name in ("urls.txt", "pages.json"):
            shutil.copy2(corpus_dir / name, out / name)
        shutil.copytree(corpus_dir / "round-0", out / "round-0")
        shutil.copytree(corpus_dir / "round-0", out / "round-1")
        truth = json.loads((corpus_dir / "round-0" / "truth.json").read_text())
        (out / "round-1" / "truth.json").write_text(json.dumps({**truth, "round": 1}))
    return out


def _urlwatch_unchanged(corpus_dir: Path, pages: int) -> float:
    """urlwatch's (css+html2text) CPU seconds for one cron-style run over `pages` unchanged pages."""
    out = WORK / "peers-unchanged.json"
    subprocess.run([sys.executable, str(SHARED / "peers.py"), "--pages", str(pages), "--reps", "1", "--corpus",
                    str(_unchanged_corpus(corpus_dir)), "--cases", "urlwatch/css+html2text", "--json", str(out),
                    "--state-root", str(WORK / "peer-state")], check=True, stdout=subprocess.DEVNULL)
    return next(float(r["cpu_s"]) for r in json.loads(out.read_text())["records"] if r["phase"] == "diff")


def daemon_figures(corpus_dir: Path, pages: int, checks: int, peers: bool) -> list[str]:
    """Return the table lines of the steady-state measurement (see the module docstring)."""
    server = Server(corpus_dir)
    state = Path(tempfile.mkdtemp(prefix="monitor-bench-daemon-", dir=WORK))
    try:
        config = write_config(state, server.url, corpus_dir, pages=pages)
        doc = yaml.safe_load(config.read_text())
        for target in doc["targets"]:
            target["every"] = EVERY
        # One loopback host: no politeness gap between its requests, the first pass not spread over a minute.
        doc["daemon"].update(host_delay=0, startup_spread=1)
        config.write_text(yaml.safe_dump(doc))
        measure(config, pages, "baseline", None)
        log = state / "daemon.log"
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run", "--log-file",
                                 str(log)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            first = _wait_for(log, pages, proc, 120)
            cpu0, t0 = _cpu_seconds(proc.pid), time.monotonic()
            last = _wait_for(log, first + checks, proc, 300)
            cpu1, t1 = _cpu_seconds(proc.pid), time.monotonic()
            rss = _rss_mib(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    finally:
        server.stop()
    done = last - first
    per_1000 = (cpu1 - cpu0) / done * 1000
    lines = ["", f"| steady state, {pages} unchanged pages every {EVERY} | checks | CPU s per 1,000 checks | "
             "checks/s | RSS MiB |", "|---|---|---|---|---|",
             f"| monitor run (the daemon, after its first pass) | {done} | {per_1000:.2f} | {done / (t1 - t0):.0f} | "
             f"{rss:.0f} |"]
    if peers:
        cpu = _urlwatch_unchanged(corpus_dir, pages)
        lines.append(f"| urlwatch css+html2text, one process per round of unchanged pages (cron) | {pages} | "
                     f"{cpu / pages * 1000:.2f} | - | - |")
    return lines
