"""The seed texts: one content everywhere (tests, demo baseline, committed snapshots)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.store import SnapshotStore
from tests.conftest import ROOT, SEEDS

SHARED = ROOT.parent / "shared" / "seeds"


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_committed_baseline_is_the_seed(name: str) -> None:
    store = SnapshotStore(ROOT / "snapshots")
    baseline = store.history(name)[-1]
    assert baseline.source == "baseline"
    assert store.read_text(baseline) == SEEDS[name].read_text(encoding="utf-8")


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is not beside this checkout")
@pytest.mark.parametrize("path", sorted(SEEDS.values()), ids=lambda p: p.name)
def test_fixture_seeds_match_the_shared_seeds(path: Path) -> None:
    assert path.read_bytes() == (SHARED / path.name).read_bytes()
