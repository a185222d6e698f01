"""Captures as WARC records: what a real fetch over loopback writes, read back by warcio's own ArchiveIterator
with its digest checks; revisits, retention, crash safety (SIGKILL during appends, a torn tail), migration of
the old raw-body layout, and `monitor export`."""

from __future__ import annotations

import gzip
import http.server
import io
import json
import os
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from monitor.check import CheckContext, check_target
from monitor.cli.main import cli
from monitor.config import DEFAULT_USER_AGENT
from monitor.demo import page_html
from monitor.fetch import Fetcher
from monitor.models import Exchange, FetchSettings, Target
from monitor.store import SnapshotStore
from monitor.store.audit import audit
from monitor.store.export import export_warc
from monitor.verify import verify
from tests.conftest import NATO, kill_at_random

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SECRET = "s3cret-token-do-not-store"


def records(data: bytes) -> list[dict[str, Any]]:
    """Every record of a WARC file's bytes, as warcio reads them, digests checked (a mismatch raises)."""
    found = []
    for record in ArchiveIterator(io.BytesIO(data), check_digests="raise"):
        found.append({"type": record.rec_type, "headers": dict(record.rec_headers.headers),
                      "http": record.http_headers, "payload": record.content_stream().read()})
    return found


def warc_bytes(store: SnapshotStore, target: str) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((store.root / target).glob("*.warc.gz")))


class Site(http.server.BaseHTTPRequestHandler):
    """/old redirects to /page, which answers gzip-encoded with two Set-Cookie headers; `pages` is the body."""

    protocol_version = "HTTP/1.1"
    pages: ClassVar[list[bytes]] = []

    def do_GET(self) -> None:
        if self.path == "/old":
            self.send_response(301, "Moved Permanently")
            self.send_header("Location", "/page")
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"moved")
            return
        body = gzip.compress(self.pages[0])
        self.send_response(200, "OK")
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Set-Cookie", "a=1; Path=/")
        self.send_header("Set-Cookie", "b=2; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site() -> Iterator[tuple[str, list[bytes]]]:
    pages: list[bytes] = [page_html(NATO)]
    handler = type("Handler", (Site,), {"pages": pages})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", pages
    finally:
        server.shutdown()
        server.server_close()


def clock() -> Any:
    now = [T0]

    def tick() -> datetime:
        now[0] += timedelta(minutes=1)
        return now[0]
    return tick


@pytest.fixture
def checker(tmp_path: Path, site: tuple[str, list[bytes]]) -> Iterator[Any]:
    base, pages = site
    target = Target(name=NATO, url=f"{base}/old", profile="defense.gov", timeout=5,
                    headers={"Authorization": f"Bearer {SECRET}", "X-Api-Key": SECRET, "Accept-Language": "en"})
    with Fetcher(FetchSettings(user_agent=DEFAULT_USER_AGENT, retries=0)) as fetcher:
        ctx = CheckContext(fetcher=fetcher, store=SnapshotStore(tmp_path / "snapshots"),
                           reports_dir=tmp_path / "reports", clock=clock())

        def check(body: bytes | None = None, **options: Any) -> Any:
            if body is not None:
                pages[0] = body
            from dataclasses import replace
            return check_target(replace(target, **options), ctx)
        check.ctx, check.base = ctx, base  # type: ignore[attr-defined]
        yield check


def test_a_capture_is_the_exchange_as_it_went_over_the_wire(checker: Any) -> None:
    result = checker()
    assert result.status == "new"
    store: SnapshotStore = checker.ctx.store
    snapshot = store.latest(NATO)
    data = warc_bytes(store, NATO)
    found = records(data)
    assert [r["type"] for r in found] == ["request", "response", "request", "response"], "the redirect, then the page"
    moved, page = found[1], found[3]
    assert moved["http"].statusline == "301 Moved Permanently" and moved["payload"] == b"moved"
    assert moved["headers"]["WARC-Target-URI"] == f"{checker.base}/old"
    assert page["headers"]["WARC-Target-URI"] == f"{checker.base}/page"
    assert page["http"].protocol == "HTTP/1.1" and page["http"].statusline == "200 OK"
    cookies = [v for k, v in page["http"].headers if k == "Set-Cookie"]
    assert cookies == ["a=1; Path=/", "b=2; Path=/"], "repeated headers kept, in order"
    assert page["http"].get_header("X-Archive-Orig-Content-Encoding") == "gzip", "the body is stored decoded"
    assert page["http"].get_header("Content-Length") == str(len(page_html(NATO)))
    assert page["payload"] == page_html(NATO) == store.read_raw(snapshot)
    fetched_at = snapshot.taken_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert page["headers"]["WARC-Date"] == fetched_at == snapshot.capture.date, "the fetch time"
    assert page["headers"]["WARC-Payload-Digest"].startswith("sha256:")
    assert snapshot.capture.record == page["headers"]["WARC-Record-ID"]
    request = found[2]
    assert request["http"].protocol == "GET" and request["http"].statusline == "/page HTTP/1.1"
    assert request["http"].get_header("Accept-Language") == "en"
    assert request["http"].get_header("Authorization") == "[redacted]" == request["http"].get_header("X-Api-Key")
    assert request["headers"]["WARC-Concurrent-To"] == page["headers"]["WARC-Record-ID"]
    assert SECRET.encode() not in gzip.decompress(data), "no credential is ever stored"


def test_the_same_body_again_is_a_revisit_of_the_original(checker: Any) -> None:
    first = page_html(NATO)
    second = first.replace(b"Jens Stoltenberg said", b"Jens Stoltenberg told reporters", 1)
    store: SnapshotStore = checker.ctx.store
    assert checker(first).status == "new"
    original = store.latest(NATO).capture
    assert checker(second).status == "changed"
    assert checker(first).status == "changed", "back to the first version"
    newest, middle, oldest = store.history(NATO)
    assert not oldest.has_raw, "keep_raw 2: the oldest body is let go..."
    assert newest.capture.original.record == original.record, "...but its record stays: the revisit refers to it"
    assert store.read_raw(newest) == first and store.read_raw(middle) == second
    found = records(warc_bytes(store, NATO))
    revisit = next(r for r in found if r["type"] == "revisit")
    assert revisit["headers"]["WARC-Refers-To"] == original.record
    assert revisit["headers"]["WARC-Refers-To-Date"] == original.date
    assert revisit["headers"]["WARC-Profile"].endswith("/revisit/identical-payload-digest")
    assert revisit["payload"] == b"" and revisit["http"].statusline == "200 OK"
    assert audit(store, NATO) == []


def test_retention_rewrites_the_file_without_what_is_let_go(checker: Any) -> None:
    body = page_html(NATO)
    for n in range(5):
        checker(body.replace(b"Jens Stoltenberg said", f"Jens Stoltenberg (take {n}) said".encode(), 1))
    store: SnapshotStore = checker.ctx.store
    history = store.history(NATO)
    assert [s.has_raw for s in history] == [True, True, False, False, False]
    files = sorted((store.root / NATO).glob("*.warc.gz"))
    assert len(files) == 1 and files[0].stat().st_size == sum(s.capture.length for s in history[:2])
    assert [r["payload"] for r in records(files[0].read_bytes()) if r["type"] == "response"][-1] == \
        store.read_raw(history[0])
    assert audit(store, NATO) == []


def saver(root: Path, seed: int) -> None:
    """Save snapshots with bodies and exchanges forever (until killed)."""
    rnd = random.Random(seed)
    store = SnapshotStore(root)
    page = Exchange(url="http://127.0.0.1/p", request_target="/p", request_headers=(("Host", "127.0.0.1"),),
                    headers=(("Content-Type", "text/html"),))
    n = 0
    while True:
        n += 1
        body = os.urandom(rnd.randint(1000, 300_000))  # incompressible: big appends
        with store.lock_target("page", 5):
            store.save("page", f"text {seed} {n}", taken_at=datetime.now(UTC), raw=body, exchanges=(page,),
                       final_url="http://127.0.0.1/p")
            store.drop_raw("page", 3)


def test_sigkill_during_appends_leaves_every_file_readable(tmp_path: Path) -> None:
    assert kill_at_random(lambda i: saver(tmp_path, i), 12, random.Random(11), 0.4) == 12
    store = SnapshotStore(tmp_path)
    history = store.history("page")
    assert len(history) > 12, "the savers made progress"
    for path in sorted((tmp_path / "page").glob("*.warc.gz")):
        records(path.read_bytes())  # warcio reads every record; digests match
    for snapshot in history:
        store.read_text(snapshot)
        if snapshot.has_raw:
            assert store.read_raw(snapshot) is not None
    assert [p for p in audit(store, "page") if p.severity == "error"] == []


def test_a_torn_last_record_is_cut_off_by_the_next_append(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    first = store.save("page", "one", taken_at=T0, raw=b"<p>one</p>" * 500, final_url="http://x/")
    path = tmp_path / "page" / first.capture.file
    whole = path.read_bytes()
    with path.open("ab") as fh:  # a power cut in the middle of the next append
        fh.write(whole[: len(whole) // 2])
    assert records(path.read_bytes())[-1]["payload"] == b"", "warcio reads a torn record as an empty one"
    problems = audit(store, "page")
    assert [p.fix for p in problems] == ["compact"] and problems[0].severity == "notice"
    second = store.save("page", "two", taken_at=T0 + timedelta(hours=1), raw=b"<p>two</p>", final_url="http://x/")
    assert second.capture.offset == len(whole), "appended where the last whole record ended"
    assert [r["payload"] for r in records(path.read_bytes())] == [b"<p>one</p>" * 500, b"<p>two</p>"]
    assert audit(store, "page") == []


def test_old_raw_bodies_move_into_warc_records_on_the_first_check(checker: Any) -> None:
    store: SnapshotStore = checker.ctx.store
    old = store.save(NATO, "old text", taken_at=T0 - timedelta(days=30), final_url="http://x/a",
                     content_type="text/html")
    folder = store.root / NATO
    (folder / f"{old.id}.html.gz").write_bytes(gzip.compress(b"<p>kept before WARC</p>"))
    meta = json.loads((folder / f"{old.id}.json").read_text())
    (folder / f"{old.id}.json").write_text(json.dumps({**meta, "has_raw": True, "capture": None}))
    assert [p.fix for p in audit(store, NATO)] == ["migrate"]
    checker(keep_raw=None)
    migrated = store.get(NATO, old.id)
    assert migrated.capture is not None and not (folder / f"{old.id}.html.gz").exists()
    assert store.read_raw(migrated) == b"<p>kept before WARC</p>"
    resource = next(r for r in records(warc_bytes(store, NATO)) if r["type"] == "resource")
    assert resource["headers"]["WARC-Date"] == migrated.capture.date == "2025-12-02T00:00:00Z"
    assert "HTTP headers were not recorded" in resource["headers"]["WARC-Monitor-Note"]
    assert audit(store, NATO) == []
    # Without a check first, `verify --repair` moves such a body too (a store copied from an older version).
    later = store.save(NATO, "later text", taken_at=T0 - timedelta(days=20), final_url="http://x/b")
    (folder / f"{later.id}.html.gz").write_bytes(gzip.compress(b"<p>also before WARC</p>"))
    meta = json.loads((folder / f"{later.id}.json").read_text())
    (folder / f"{later.id}.json").write_text(json.dumps({**meta, "has_raw": True, "capture": None}))
    found = verify(store.root, checker.ctx.reports_dir, now=T0)
    assert [f.severity for f in found.findings] == ["notice"] and "before WARC" in found.findings[0].problem
    fixed = verify(store.root, checker.ctx.reports_dir, repair=True, now=T0)
    assert fixed.findings[0].action.startswith("moved into a WARC record")
    assert store.read_raw(store.get(NATO, later.id)) == b"<p>also before WARC</p>"
    assert verify(store.root, checker.ctx.reports_dir, now=T0).findings == []


def test_export_writes_a_standalone_file_and_the_cli_says_what(checker: Any, tmp_path: Path) -> None:
    first = page_html(NATO)
    second = first.replace(b"Jens Stoltenberg said", b"Jens Stoltenberg told reporters", 1)
    for body in (first, second, first):
        checker(body)
    store: SnapshotStore = checker.ctx.store
    newest = store.latest(NATO)
    done = export_warc(store, [NATO], tmp_path / "one.warc.gz", start=newest.taken_at, now=T0)
    found = records((tmp_path / "one.warc.gz").read_bytes())
    assert found[0]["type"] == "warcinfo" and done.captures == {NATO: 1}
    pages = [r["type"] for r in found if r["http"] and r["http"].statusline == "200 OK"]
    assert pages == ["response", "revisit"], "the revisit brings its original along"
    plain = tmp_path / "all.warc"
    config = tmp_path / "config.yaml"
    config.write_text(f"snapshots_dir: {store.root}\nreports_dir: {tmp_path / 'reports'}\ntargets:\n"
                      f"  - name: {NATO}\n    url: {checker.base}/old\n")
    out = CliRunner().invoke(cli, ["--config", str(config), "export", "--all", "--warc", str(plain)])
    assert out.exit_code == 0, out.output
    assert f"{NATO}: 2 captures" in out.stdout and "export: wrote 2 captures" in out.stdout
    assert [r["type"] for r in records(plain.read_bytes())].count("revisit") == 1
    bad = CliRunner().invoke(cli, ["--config", str(config), "export", NATO, "--warc", str(tmp_path / "x.zip")])
    assert bad.exit_code == 2 and "name the file *.warc.gz" in bad.output
    none = CliRunner().invoke(cli, ["--config", str(config), "export", NATO, "--warc", str(plain), "--to",
                                    "2020-01-01"])
    assert none.exit_code == 2 and "no captures" in none.output


def test_a_damaged_record_is_quarantined_and_nothing_else_is_lost(checker: Any, tmp_path: Path) -> None:
    body = page_html(NATO)
    for n in range(3):
        checker(body.replace(b"Jens Stoltenberg said", f"Jens Stoltenberg (take {n}) said".encode(), 1),
                keep_raw=None)
    store: SnapshotStore = checker.ctx.store
    newest, middle, oldest = store.history(NATO)
    path = store.root / NATO / middle.capture.file
    data = bytearray(path.read_bytes())
    data[middle.capture.offset + middle.capture.length - 100] ^= 0xFF
    path.write_bytes(bytes(data))
    found = verify(store.root, checker.ctx.reports_dir, now=T0)
    assert found.errors and all("damaged WARC record" in f.problem and f.paths == (path,) for f in found.errors)
    fixed = verify(store.root, checker.ctx.reports_dir, repair=True, now=T0)
    assert fixed.unrepaired == [] and fixed.quarantine is not None
    assert list((fixed.quarantine / NATO).iterdir()), "the damaged bytes are kept in the quarantine"
    assert verify(store.root, checker.ctx.reports_dir, now=T0).findings == []
    assert store.read_raw(store.get(NATO, newest.id)) is not None and store.read_raw(store.get(NATO, oldest.id))
    assert not store.get(NATO, middle.id).has_raw, "only the damaged capture's body is gone"
    assert store.read_text(store.get(NATO, middle.id)), "its text stays"
    records(b"".join(p.read_bytes() for p in (store.root / NATO).glob("*.warc.gz")))


def test_files_rotate_by_month_and_by_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.store import captures

    store = SnapshotStore(tmp_path)
    months = iter([datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)] * 10)
    monkeypatch.setattr(captures, "utcnow", lambda: next(months))
    november = store.save("page", "one", taken_at=T0, raw=b"<p>one</p>", final_url="http://x/")
    december = store.save("page", "two", taken_at=T0 + timedelta(hours=1), raw=b"<p>two</p>", final_url="http://x/")
    assert (november.capture.file, december.capture.file) == ("captures-202611-00000.warc.gz",
                                                              "captures-202612-00000.warc.gz")
    monkeypatch.setattr(captures, "utcnow", lambda: datetime(2026, 12, 2, tzinfo=UTC))
    monkeypatch.setattr(captures, "MAX_FILE_BYTES", december.capture.length + 10)
    full = store.save("page", "three", taken_at=T0 + timedelta(hours=2), raw=b"<p>three</p>", final_url="http://x/")
    assert full.capture.file == "captures-202612-00001.warc.gz", "past MAX_FILE_BYTES: the next file"
    assert [store.read_raw(s) for s in store.history("page")] == [b"<p>three</p>", b"<p>two</p>", b"<p>one</p>"]


def test_an_older_capture_stored_later_is_never_a_revisit_of_a_newer_one(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    sent = (Exchange(url="http://x/"),)  # revisits are of responses (a body kept without one is a resource)
    newer = store.save("page", "live", taken_at=T0 + timedelta(days=1), raw=b"<p>same</p>", final_url="http://x/",
                       exchanges=sent)
    older = store.save("page", "archived", taken_at=T0, raw=b"<p>same</p>", final_url="http://x/",
                       exchanges=sent)  # a backfill
    again = store.save("page", "live again", taken_at=T0 + timedelta(days=2), raw=b"<p>same</p>",
                       final_url="http://x/", exchanges=sent)
    assert older.capture.original is None, "a full record, not a revisit of what came after it"
    assert again.capture.original is not None and again.capture.original.record == newer.capture.record
    bare = store.save("page", "no exchange", taken_at=T0 + timedelta(days=3), raw=b"<p>same</p>")
    assert bare.capture.original is None, "a resource record holds its body: its capture is no revisit"
    assert store.read_raw(bare) == b"<p>same</p>"
