"""The durable flush: threads flushing together share one syncfs, each returns only after a syncfs that started
after its call, a failed syncfs falls back to the caller's own fsync, and without syncfs it is fsync."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from monitor.store import SnapshotStore, sync


def _counting_syncfs(runs: list[tuple[float, float]], delay: float = 0.02, result: int = 0):
    def syncfs(fd: int) -> int:
        started = time.monotonic()
        time.sleep(delay)  # a slow disk: callers arriving meanwhile must wait for the next run
        runs.append((started, time.monotonic()))
        return result
    return syncfs


@pytest.mark.skipif(not sync.shared(), reason="syncfs is Linux's")
def test_threads_flushing_together_share_a_syncfs_that_started_after_each_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[tuple[float, float]] = []
    monkeypatch.setattr(sync, "_SYNCFS", _counting_syncfs(runs))
    fd = os.open(tmp_path, os.O_RDONLY)
    calls: list[tuple[float, float]] = []
    lock = threading.Lock()

    def flush() -> None:
        called = time.monotonic()
        sync.flush(fd)
        with lock:
            calls.append((called, time.monotonic()))

    threads = [threading.Thread(target=flush) for _ in range(12)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        os.close(fd)
    assert len(calls) == 12 and 1 <= len(runs) <= 6, runs  # shared: far fewer runs than callers
    for called, returned in calls:  # each caller was covered by a run that started after it called
        assert any(called <= start and end <= returned for start, end in runs), (called, returned, runs)


@pytest.mark.skipif(not sync.shared(), reason="syncfs is Linux's")
def test_a_failed_syncfs_falls_back_to_the_callers_own_fsync(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync, "_SYNCFS", _counting_syncfs([], delay=0, result=-1))
    fsynced: list[int] = []
    monkeypatch.setattr(os, "fsync", fsynced.append)
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        sync.flush(fd)
    finally:
        os.close(fd)
    assert fsynced == [fd]


def test_without_syncfs_a_flush_is_an_fsync_and_a_snapshot_still_saves(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync, "_SYNCFS", None)
    real, fsynced = os.fsync, []
    monkeypatch.setattr(os, "fsync", lambda fd: (fsynced.append(fd), real(fd))[1])
    store = SnapshotStore(tmp_path)
    from datetime import UTC, datetime
    snapshot = store.save("page", "text", taken_at=datetime(2026, 1, 1, tzinfo=UTC), raw=b"<html>x</html>",
                          url="http://127.0.0.1/x")
    # the WARC file, the text and the metadata, then the folder before the metadata's rename and after it
    assert len(fsynced) == 5
    assert store.read_text(snapshot) == "text" and store.read_raw(snapshot) == b"<html>x</html>"
    assert sorted(p.name for p in (tmp_path / "page").iterdir() if p.name.startswith(".")) == []


def test_the_environment_can_turn_syncfs_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_SYNC", "fsync")
    assert sync._syncfs() is None
