"""What the benchmark scripts share: the corpus, its server, our config for it, and one measured check.

A `monitor check` is one process whose CPU time (its own and its reaped children's: worker processes, the
browser) and peak RSS come from wait4().
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "bench"
WORK = Path(os.environ.get("MONITOR_BENCH_DIR", "/tmp/monitor-bench"))


_LEFT: list[Path] = []  # state folders of finished runs, removed by remove_left() at the end


def remove_later(folder: Path) -> None:
    """Remove a finished run's state folder at the end of the benchmark, not now: deleting thousands of files
    just before the next run makes ext4 step over every recently freed inode when that run creates its own
    (its `recently_deleted` check: 0.8 s of a 2.5 s baseline round here), a cost of the benchmark's
    clean-up, not of the run measured."""
    _LEFT.append(folder)


def remove_left() -> None:
    """Remove every folder given to remove_later (also at exit, however the benchmark ends)."""
    while _LEFT:
        shutil.rmtree(_LEFT.pop(), ignore_errors=True)


atexit.register(remove_left)


@dataclass(frozen=True)
class Run:
    """One measured `monitor check` process."""

    pages: int
    run: str          # "baseline" or "diff"
    wall: float
    cpu: float
    rss_mib: float
    flagged: int = 0
    true_positives: int = 0
    edited: int = 0
    errors: int = 0


def corpus(pages: int, rounds: int = 2, seed: int = 1) -> Path:
    """Return the corpus directory for `pages` pages (generated once)."""
    out = WORK / (f"corpus-{pages}" if rounds == 2 else f"corpus-{pages}-r{rounds}")
    if not (out / f"round-{rounds - 1}" / "truth.json").exists():
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([sys.executable, str(SHARED / "corpus.py"), "-n", str(pages), "-r", str(rounds), "-s",
                        str(seed), str(out)], check=True, stdout=subprocess.DEVNULL)
    return out


class Server:
    """serve.py in the foreground as a child process; `url` is its base URL."""

    def __init__(self, corpus_dir: Path) -> None:
        subprocess.run([sys.executable, str(SHARED / "serve.py"), "switch", str(corpus_dir), "0"], check=True,
                       stdout=subprocess.DEVNULL)
        self.corpus = corpus_dir
        self.proc = subprocess.Popen([sys.executable, str(SHARED / "serve.py"), "start", str(corpus_dir),
                                      "--round", "0"], stdout=subprocess.PIPE, text=True)
        self.url = (self.proc.stdout.readline() if self.proc.stdout else "").strip()
        if not self.url.startswith("http://127.0.0.1"):
            raise SystemExit(f"serve.py did not start: {self.url!r}")

    def switch(self, round_no: int) -> None:
        subprocess.run([sys.executable, str(SHARED / "serve.py"), "switch", str(self.corpus), str(round_no)],
                       check=True, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def write_config(state: Path, base_url: str, corpus_dir: Path, *, pages: int | None = None, via: str = "auto",
                 workers: int = 10) -> Path:
    """A config with one defense.gov target per corpus page (the first `pages`, if given), fetched `via`
    http/browser/auto (auto, the profile's default: HTTP unless a bot wall answers), 10 fetch workers
    (as urlwatch), no retries."""
    paths = (corpus_dir / "urls.txt").read_text().split()[:pages]
    import yaml  # the project's own dependency; this script runs in its venv

    doc = {"snapshots_dir": "snapshots", "reports_dir": "reports", "fetch": {"retries": 0},
           "daemon": {"workers": workers, "per_host": workers},
           "targets": [{"name": f"p{i:05d}", "url": base_url + path, "profile": "defense.gov", "timeout": 30,
                        "fetch": {"via": via}} for i, path in enumerate(paths, 1)]}
    config = state / "config.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


def measure(config: Path, pages: int, run: str, truth: set[str] | None) -> Run:
    """Run `monitor check --json` once; return wall, CPU (user+sys) and peak RSS from wait4()."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "check", "--json"],
                                stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, _, usage = os.wait4(proc.pid, 0)  # this child's CPU and peak RSS (with its worker processes)
        wall = time.monotonic() - started
        out.seek(0)
        results = json.loads(out.read() or b"[]")
    flagged = {r["target"] for r in results if r["status"] == "changed"}
    errors = sum(1 for r in results if r["status"] == "error")
    tp = len(flagged & truth) if truth is not None else 0
    return Run(pages, run, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, len(flagged), tp,
               len(truth or ()), errors)


def truth_of(corpus_dir: Path) -> set[str]:
    """The target names of the pages edited in round 1."""
    doc = json.loads((corpus_dir / "round-1" / "truth.json").read_text())
    return {f"p{n:05d}" for n in doc["edited"]}
