"""A smoke run of the benchmark itself (benchmarks/bench.py) on a tiny corpus: no timing is asserted, only
that it runs end to end and scores the round the way the real benchmark does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_BENCH = ROOT.parent / "shared" / "bench"


@pytest.mark.skipif(not (SHARED_BENCH / "corpus.py").exists(), reason="../shared/bench is not beside this checkout")
def test_the_benchmark_runs_on_a_small_corpus_and_scores_the_round(tmp_path: Path) -> None:
    # nginx's workers run as nobody: the corpus must not sit under pytest's private (0700) temp folders.
    work = Path(tempfile.mkdtemp(prefix="monitor-bench-smoke-"))
    work.chmod(0o755)
    try:
        text = _run_bench(work, tmp_path / "results.md")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    diff_row = next(line for line in text.splitlines() if line.startswith("| monitor, defense.gov profile, diff"))
    assert "| 1.00 / 1.00 |" in diff_row  # every edited page flagged, no page flagged for noise
    assert "| monitor, baseline round (all new) |" in text
    assert "fast path vs full normalization: 40 pages compared, 0 differ" in text
    assert "1 MB text with 20 scattered edits: diffed in" in text
    assert "| via http, 5 pages, baseline round, 2 workers |" in text
    assert "| via browser, 5 pages, baseline round, 2 workers |" in text
    assert "| engine, 1 worker x 4 threads |" in text and "| local `monitor check`" in text
    assert "| monitor run (the daemon, after its first pass) | " in text


def _run_bench(work: Path, table: Path) -> str:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["MONITOR_BENCH_DIR"] = str(work)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--pages", "20", "--reps", "1",
                           "--scale", "0", "--no-peers", "--browser", "5",
                           "--engine-pages", "8", "--engine-workers", "1", "--daemon-checks", "20",
                           "--md", str(table)],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return table.read_text()
