"""Crash safety: SIGKILL at random points during checks, and a full disk, never damage what is stored.

The kill test forks a worker that checks, reports, prunes and marks reviews in a loop against pages that
change on every request, kills it at a random moment, and repeats; `verify` must then find no damage.
"""

from __future__ import annotations

import errno
import io
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from monitor.config import load_settings
from monitor.daemon import run_checks
from monitor.demo import DEMO_PAGES, page_html
from monitor.demo.server import Page, PageServer, RequestInfo
from monitor.models import Settings
from monitor.report.catalog import list_reports
from monitor.review import ReviewStore
from monitor.store import SnapshotStore
from monitor.verify import verify
from tests.conftest import NATO, WriteConfig, kill_at_random

KILLS = int(os.environ.get("MONITOR_KILLS", "50"))


def changing_page(name: str) -> Any:
    """A route whose NATO article text differs on every request (the Mattis page does not have the phrase)."""
    html = page_html(name)
    counter = iter(range(10**9))

    def route(request: RequestInfo) -> Page:
        n = next(counter)
        return Page(html.replace(b"Jens Stoltenberg said", f"Jens Stoltenberg (update {n}) said".encode(), 1),
                    validators=False)
    return route


def worker(settings: Settings, seed: int) -> None:
    """Check, report, prune and review forever (until killed)."""
    rnd = random.Random(seed)
    reviews = ReviewStore(settings.reports_dir)
    while True:
        run_checks(settings, settings.targets)
        entries = list_reports(settings.reports_dir)
        if entries:
            e = rnd.choice(entries)
            reviews.mark(e.target, e.id, when=e.created_at, note=f"seen {seed}", significance=rnd.random())


@pytest.fixture
def crash_settings(write_config: WriteConfig, baseline_dir: Path, server: PageServer) -> Settings:
    for name, path in DEMO_PAGES.items():
        server.set(path, changing_page(name))
    targets = [{"name": name, "url": server.url(path), "profile": "defense.gov", "timeout": 5,
                "keep": {"count": 4}} for name, path in DEMO_PAGES.items()]
    return load_settings(write_config(targets))


def test_random_sigkills_during_checks_never_damage_the_store(crash_settings: Settings) -> None:
    settings = crash_settings
    rnd = random.Random(int(os.environ.get("MONITOR_KILL_SEED", "7")))
    killed = kill_at_random(lambda i: worker(settings, i), KILLS, rnd, 0.6)
    assert killed == KILLS, "every worker was killed mid-work"
    result = verify(settings.snapshots_dir, settings.reports_dir, now=time_now())
    assert result.errors == [], [f"{f.paths[0]}: {f.problem}" for f in result.errors]
    store = SnapshotStore(settings.snapshots_dir)
    for target in settings.targets:
        history = store.history(target.name)
        assert history, "the baseline survives retention"
        for snapshot in history:
            store.read_text(snapshot)
    assert len(list_reports(settings.reports_dir)) > 0, "the workers made progress between kills"
    warcs = sorted(settings.snapshots_dir.glob("*/*.warc.gz"))
    assert warcs, "the captures went to WARC files"
    for path in warcs:  # warcio reads each to its last whole record, digests matching
        for record in ArchiveIterator(io.BytesIO(path.read_bytes()), check_digests="raise"):
            record.content_stream().read()
    ReviewStore(settings.reports_dir).load_all()
    verify(settings.snapshots_dir, settings.reports_dir, repair=True, now=time_now())
    final = {r.target: r.status for r in run_checks(settings, settings.targets).results}
    assert final[NATO] == "changed" and "error" not in final.values(), "the monitor carries on"
    assert verify(settings.snapshots_dir, settings.reports_dir, now=time_now()).findings == []


def time_now() -> Any:
    from monitor.clock import utcnow
    return utcnow()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (skips where mounting is not allowed)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path, leave: int) -> Path:
    """Fill the filesystem of `folder` until about `leave` bytes are free; return the filler file."""
    filler = folder / "filler"
    free = shutil.disk_usage(folder).free
    with filler.open("wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    return filler


def _full_disk_check(settings: Settings, server: PageServer, filler: Path) -> None:
    """With the disk full: the check fails cleanly, earlier snapshots stay whole; freed, the change is found."""
    store = SnapshotStore(settings.snapshots_dir)
    before = {t.name: [s.id for s in store.history(t.name)] for t in settings.targets}
    edited = page_html(NATO).replace(b"Jens Stoltenberg said", b"Jens Stoltenberg told reporters", 1)
    server.set(DEMO_PAGES[NATO], Page(edited))
    result = {r.target: r for r in run_checks(settings, settings.targets).results}[NATO]
    assert result.status == "error" and result.error_kind in ("store", "report"), result
    assert "No space left on device" in (result.error or "")
    assert [s.id for s in store.history(NATO)] == before[NATO], "no half snapshot became visible"
    for name in before:
        for snapshot in store.history(name):
            store.read_text(snapshot)
    assert verify(settings.snapshots_dir, settings.reports_dir, now=time_now()).errors == []
    filler.unlink()
    again = {r.target: r for r in run_checks(settings, settings.targets).results}[NATO]
    assert again.status == "changed" and again.report is not None, "the change is found once there is room"


def test_a_full_disk_fails_the_check_cleanly(tiny_disk: Path, baseline_dir: Path, server: PageServer,
                                             write_config: WriteConfig) -> None:
    shutil.copytree(baseline_dir, tiny_disk / "snapshots")
    config = write_config()
    text = config.read_text(encoding="utf-8").replace("snapshots_dir: snapshots",
                                                      f"snapshots_dir: {tiny_disk / 'snapshots'}")
    config.write_text(text.replace("reports_dir: reports", f"reports_dir: {tiny_disk / 'reports'}"), encoding="utf-8")
    settings = load_settings(config)
    assert run_checks(settings, settings.targets).count("unchanged") == 2
    _full_disk_check(settings, server, _fill(tiny_disk, 4096))


def test_a_write_refused_with_enospc_fails_the_check_cleanly(
        settings: Settings, server: PageServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The same where no filesystem can be mounted: every write after the first 4 KiB fails with ENOSPC."""
    import monitor.store.durable as durable

    real_fdopen = os.fdopen
    budget = [4096]

    class Full:
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def write(self, data: bytes) -> int:
            budget[0] -= len(data)
            if budget[0] < 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.fh.write(data)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.fh, name)

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

    monkeypatch.setattr(durable.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    filler = tmp_path / "filler"
    filler.write_bytes(b"")

    class Release:
        def unlink(self) -> None:
            monkeypatch.setattr(durable.os, "fdopen", real_fdopen)

    _full_disk_check(settings, server, Release())  # type: ignore[arg-type]
