"""Load: 1,000 targets checked by a real daemon for three cycles, memory and descriptors bounded and flat.

(A longer soak of the same: `make soak`.)
"""

from __future__ import annotations

from pathlib import Path

from tests.load import run_load

PEAK_CEILING_MIB = 200
GROWTH_LIMIT_MIB = 8


def test_a_thousand_targets_for_three_cycles_without_growth(tmp_path: Path) -> None:
    samples = run_load(tmp_path, targets=1000, cycles=3, every=5)
    table = [(s.cycle, round(s.rss_mib, 1), round(s.peak_mib, 1), s.fds) for s in samples]
    print("cycle, RSS MiB, peak RSS MiB, fds:", table)
    assert max(s.peak_mib for s in samples) < PEAK_CEILING_MIB, table
    assert samples[-1].rss_mib - samples[1].rss_mib < GROWTH_LIMIT_MIB, f"memory grows cycle over cycle: {table}"
    assert samples[-1].fds <= samples[1].fds + 8 and samples[-1].fds < 64, f"descriptors leak: {table}"
    snapshots = list((tmp_path / "snapshots").glob("t*/2*.json"))
    assert len(snapshots) >= 1000, "every target got its first snapshot"
    assert len(list((tmp_path / "reports").glob("t*/2*.json"))) > 0, "edits were reported"
