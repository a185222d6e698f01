"""store: snapshots and state on disk, atomic and verifiable; tests use tmp_path only."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.models import TargetState, Validators
from monitor.store.durable import read_cache_json, write_atomic, write_cache_json
from monitor.store.snapshots import SnapshotStore, sha256_text

T0 = datetime(2020, 1, 7, 12, 0, tzinfo=UTC)


def test_save_and_read_back(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    text = "Hello\n\nWorld"
    snap = store.save("page", text, taken_at=T0, raw=b"<p>Hello</p>", url="http://x/",
                      final_url="http://x/final", status=200, etag='"e"')
    assert snap.id == f"20200107T120000.000000Z-{sha256_text(text)[:12]}"
    assert store.latest("page") == snap == store.get("page", snap.id)
    assert store.read_text(snap) == "Hello\n\nWorld"
    assert store.read_raw(snap) == b"<p>Hello</p>"
    folder = tmp_path / "page"
    assert (folder / f"{snap.id}.txt").read_text(encoding="utf-8") == "Hello\n\nWorld"
    meta = json.loads((folder / f"{snap.id}.json").read_text())
    assert meta["version"] == 1 and meta["sha256"] == sha256_text("Hello\n\nWorld")
    assert meta["final_url"] == "http://x/final" and meta["taken_at"] == "2020-01-07T12:00:00Z"
    assert meta["capture"]["file"] == snap.capture.file and meta["has_raw"] is True
    assert (folder / snap.capture.file).stat().st_size == snap.capture.length, "the body is a WARC record"
    assert not (folder / f"{snap.id}.html.gz").exists()
    assert not list(folder.glob(".*tmp")), "no temp files left behind"


def test_history_is_newest_first(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    ids = [store.save("page", f"v{i}", taken_at=T0 + timedelta(hours=i)).id for i in range(3)]
    assert [s.id for s in store.history("page")] == ids[::-1]
    assert store.latest("page").id == ids[-1]
    assert store.history("other") == [] and store.latest("other") is None


def test_a_tampered_text_is_detected(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    snap = store.save("page", "original", taken_at=T0)
    (tmp_path / "page" / f"{snap.id}.txt").write_text("edited by hand", encoding="utf-8")
    with pytest.raises(StoreError, match="does not match its recorded sha256"):
        store.read_text(snap)


def test_a_text_without_metadata_is_not_a_snapshot(tmp_path: Path) -> None:
    """The metadata file is written last: a crash before it leaves nothing visible."""
    store = SnapshotStore(tmp_path)
    snap = store.save("page", "one", taken_at=T0)
    (tmp_path / "page" / "20200108T000000.000000Z-aaaaaaaaaaaa.txt").write_text("orphan", encoding="utf-8")
    assert [s.id for s in store.history("page")] == [snap.id]


def test_metadata_of_an_unknown_version_is_refused(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    snap = store.save("page", "one", taken_at=T0)
    path = tmp_path / "page" / f"{snap.id}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "version": 99}))
    with pytest.raises(StoreError, match="unsupported format version 99"):
        store.latest("page")


def test_state_round_trip(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    assert store.load_state("page") == TargetState()
    state = TargetState(last_checked=T0, last_status="error", last_error="boom", last_change=T0 - timedelta(days=1),
                        consecutive_failures=2, validators=Validators('"etag"', "Wed, 01 Jan 2020 00:00:00 GMT"))
    store.save_state("page", state)
    assert store.load_state("page") == state
    assert json.loads((tmp_path / "page" / "state.json").read_text())["version"] == 1


def test_a_check_that_changes_nothing_that_matters_leaves_the_durable_state_alone(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    first = TargetState(last_checked=T0, last_status="new", last_change=T0, fingerprint="a:1")
    store.save_state("page", first, TargetState())
    durable = tmp_path / "page" / "state.json"
    inode = durable.stat().st_ino
    later = replace(first, last_checked=T0 + timedelta(hours=1), last_status="unchanged",
                    validators=Validators('"e2"', None), fingerprint="a:2")
    store.save_state("page", later, first)
    assert durable.stat().st_ino == inode, "state.json not rewritten"
    assert store.load_state("page") == later
    # A power cut can leave the unsynced check.json empty: the durable state's (older) values come back.
    (tmp_path / "page" / "check.json").write_bytes(b"")
    assert store.load_state("page") == first
    failing = replace(later, consecutive_failures=1, last_error="boom")
    store.save_state("page", failing, later)
    assert durable.stat().st_ino != inode and store.load_state("page") == failing
    # An older check.json (its write was lost after state.json's) does not override the durable state.
    write_cache_json(tmp_path / "page" / "check.json", {"last_checked": T0.isoformat(), "fingerprint": "old"})
    assert store.load_state("page") == failing


def test_a_new_page_whose_check_changed_nothing_durable_keeps_check_json_alone(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    folder = tmp_path / "page"
    folder.mkdir()
    new = TargetState(last_checked=T0, last_status="new", validators=Validators('"e"', None), fingerprint="a:1")
    store.save_state("page", new, TargetState())
    assert sorted(p.name for p in folder.iterdir()) == ["check.json"]  # no error, no change: nothing durable
    assert store.load_state("page") == new
    later = replace(new, last_checked=T0 + timedelta(hours=1), last_status="unchanged")
    store.save_state("page", later, new)
    assert sorted(p.name for p in folder.iterdir()) == ["check.json"] and store.load_state("page") == later
    # Losing the cache to a power cut loses only caches: the state is the defaults it had durably.
    (folder / "check.json").write_bytes(b'{"version": 1, "last_checked": "2020-01-07T13')
    assert store.load_state("page") == TargetState()
    # The first value that decides reports makes state.json, and both files agree.
    failing = replace(later, last_status="error", consecutive_failures=1, last_error="boom")
    store.save_state("page", failing, TargetState())
    assert sorted(p.name for p in folder.iterdir()) == ["check.json", "state.json"]
    assert store.load_state("page") == failing
    (folder / "check.json").unlink()
    assert store.load_state("page") == failing
    # Without a previous state to compare with, the state is written durably.
    store.save_state("other", new)
    assert (tmp_path / "other" / "state.json").exists() and store.load_state("other") == new


def test_a_cache_file_cut_short_anywhere_is_refused_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "check.json"
    write_cache_json(path, {"last_checked": T0.isoformat(), "fingerprint": "id:" + "f" * 64, "etag": None})
    whole = path.read_bytes()
    assert read_cache_json(path) == {"version": 1, "last_checked": T0.isoformat(), "fingerprint": "id:" + "f" * 64,
                                     "etag": None}
    for cut in range(len(whole.rstrip(b"\n"))):
        path.write_bytes(whole[:cut])
        with pytest.raises(StoreError):
            read_cache_json(path)


def test_a_cache_file_overwritten_in_place_is_read_whole_or_refused(tmp_path: Path) -> None:
    """The overwrite does not truncate first: caught half done, the file is the new start and the old rest."""
    path = tmp_path / "check.json"
    old = {"last_checked": T0.isoformat(), "etag": '"aaaa"', "fingerprint": "id:" + "a" * 64}
    new = {"last_checked": (T0 + timedelta(seconds=1)).isoformat(), "etag": '"bbbb"', "fingerprint": "id:" + "b" * 64}
    write_cache_json(path, old)
    before = path.read_bytes()
    write_cache_json(path, new)
    after = path.read_bytes()
    assert len(before) == len(after) and read_cache_json(path)["etag"] == '"bbbb"'
    mixed_but_valid = 0
    for cut in range(1, len(after)):  # every state a reader or a power cut can leave
        mixed = after[:cut] + before[cut:]
        path.write_bytes(mixed)
        if mixed in (before, after):  # the bytes of the two differ only in part: this one is whole
            assert read_cache_json(path)["etag"] == ('"bbbb"' if mixed == after else '"aaaa"')
            continue
        with contextlib.suppress(ValueError):
            mixed_but_valid += bool(json.loads(mixed))  # valid JSON of two checks' values
        with pytest.raises(StoreError):
            read_cache_json(path)
    assert mixed_but_valid > 50, "the seal, not the JSON syntax, is what refuses them"
    write_cache_json(path, {**new, "etag": None})  # shorter: cut to its length
    assert read_cache_json(path)["etag"] is None and path.read_bytes().endswith(b"\n}\n")
    # One written by a version that did not seal it is refused too (the durable state counts then).
    path.write_text(json.dumps({"version": 1, **old}))
    with pytest.raises(StoreError, match="not sealed"):
        read_cache_json(path)


def test_baseline_import_only_as_the_first_snapshot(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    snap = store.import_baseline("page", "line 1\r\nline 2", taken_at=T0, origin="seed.txt")
    assert (snap.source, snap.origin, store.read_text(snap)) == ("baseline", "seed.txt", "line 1\nline 2")
    with pytest.raises(StoreError, match="already has snapshots"):
        store.import_baseline("page", "again", taken_at=T0, origin="seed.txt")


def test_discard_removes_a_snapshot(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    first = store.save("page", "one", taken_at=T0)
    second = store.save("page", "two", taken_at=T0 + timedelta(seconds=1), raw=b"<p>two</p>")
    store.discard(second)
    assert store.latest("page") == first
    assert sorted(p.name for p in (tmp_path / "page").iterdir() if not p.name.endswith(".warc.gz")) == [
        f"{first.id}.json", f"{first.id}.txt"]
    assert store.compact("page") == 1, "its WARC records go at the next compact"
    assert not list((tmp_path / "page").glob("*.warc.gz"))


@pytest.mark.parametrize("name", ["../escape", "/abs", "a/b", "", "UPPER", "x" * 65, "nul\0"])
def test_names_that_could_escape_the_root_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(StoreError, match="invalid target name"):
        SnapshotStore(tmp_path).save(name, "text", taken_at=T0)


def test_a_disk_error_is_a_store_error_and_leaves_no_snapshot(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    (tmp_path / "page").write_text("a file where the folder should be")
    with pytest.raises(StoreError, match="cannot write"):
        store.save("page", "text", taken_at=T0)


@pytest.mark.parametrize(("durable", "sync_dir", "expected"), [(True, True, 2), (True, False, 1), (False, True, 0)])
def test_write_atomic_fsyncs_what_it_promises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool,
                                              sync_dir: bool, expected: int) -> None:
    from monitor.store import sync
    synced: list[int] = []
    real = sync.flush
    monkeypatch.setattr(sync, "flush", lambda fd: (synced.append(fd), real(fd))[1])
    path = tmp_path / "page.html"
    path.write_bytes(b"old")
    write_atomic(path, b"new page", durable=durable, sync_dir=sync_dir)
    assert path.read_bytes() == b"new page" and len(synced) == expected
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]  # no temp file left behind
