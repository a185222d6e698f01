"""The web archive: CDX listing and id_ replay from a loopback archive; backfill (order, duplicates, block
pages, 429, rate limit, resume, reports) and the fallback when the live site blocks us."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from monitor.backfill import PROGRESS, backfill
from monitor.check import CheckContext, check_target
from monitor.cli.main import cli
from monitor.config import DEFAULT_USER_AGENT
from monitor.demo import DEMO_PAGES, edited_html, page_html
from monitor.demo.server import Page, PageServer, RequestInfo
from monitor.errors import FetchError
from monitor.fetch import Fetcher
from monitor.fetch.archive import Archive, Capture, parse_cdx
from monitor.models import ArchiveSettings, FetchSettings, Target
from monitor.report.catalog import list_reports
from monitor.store import SnapshotStore
from tests.conftest import NATO
from tests.test_faults import AKAMAI

LIVE = "https://www.defense.gov" + DEMO_PAGES[NATO]
NOW = datetime(2026, 11, 22, tzinfo=UTC)
FETCH = FetchSettings(user_agent=DEFAULT_USER_AGENT, retries=0)


def second_edit() -> bytes:
    return edited_html(NATO).replace(b"Stoltenberg Briefing", b"Stoltenberg Press Briefing", 1)


def noisy(html: bytes) -> bytes:
    return html.replace(b"</body>", b"<script>var token='x7';</script></body>", 1)


@dataclass
class FakeArchive:
    """A loopback archive: CDX rows (with collapse=digest and paging) and id_ replay, with request log."""

    server: PageServer
    rows: list[list[str]]
    bodies: dict[str, Any]
    times: list[float] = field(default_factory=list)
    cdx_queries: list[dict[str, list[str]]] = field(default_factory=list)
    replays: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.base_url

    def settings(self, **overrides: Any) -> ArchiveSettings:
        values = {"url": self.url, "min_interval": 0.2, "retries": 2, "backoff": 0.05, "rate_limit_wait": 0.5,
                  "timeout": 5, "page_size": 3, **overrides}
        return ArchiveSettings(**values)


CAPTURES = [  # timestamp, digest, body, note
    ("20200107120000", "AAAA", lambda: page_html(NATO)),
    ("20200108120000", "AAAA", lambda: page_html(NATO)),           # same digest: CDX collapses it
    ("20200110120000", "BBBB", lambda: edited_html(NATO)),         # first edit (its replay answers 429 once)
    ("20200111120000", "CCCC", lambda: noisy(edited_html(NATO))),  # other bytes, same text: nothing new
    ("20200112120000", "DDDD", lambda: AKAMAI),                    # a block page was archived
    ("20200115120000", "EEEE", second_edit),                       # second edit
]


@pytest.fixture
def archive_server() -> Iterator[FakeArchive]:
    with PageServer() as server:
        fake = FakeArchive(server, rows=[], bodies={})
        header = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
        for ts, digest, body in CAPTURES:
            fake.rows.append(["gov,defense)/news", ts, LIVE, "text/html", "200", digest, "100000"])
            fake.bodies[ts] = body

        def cdx(request: RequestInfo) -> Page:
            fake.times.append(time.monotonic())
            query = parse_qs(urlsplit(request.path).query)
            fake.cdx_queries.append(query)
            rows = [r for r in fake.rows if query.get("url") == [r[2]]]
            rows = [r for r in rows if r[1] >= query.get("from", ["0"])[0] and r[1] <= query.get("to", ["9"])[0]]
            if query.get("collapse") == ["digest"]:
                rows = [r for i, r in enumerate(rows) if i == 0 or rows[i - 1][5] != r[5]]
            start = int(query.get("resumeKey", ["0"])[0])
            limit = int(query.get("limit", ["1000"])[0])
            if limit < 0:  # the last -limit rows (the CDX server's "newest N")
                return Page(json.dumps([header, *rows[limit:]]).encode(), content_type="application/json",
                            validators=False)
            page = [header, *rows[start:start + limit]]
            if start + limit < len(rows) and query.get("showResumeKey") == ["true"]:
                page += [[], [str(start + limit)]]
            return Page(json.dumps(page).encode(), content_type="application/json", validators=False)

        server.set("/cdx/search/cdx", cdx)
        for ts, _, _ in CAPTURES:
            server.set(f"/web/{ts}id_/{LIVE}", fake_replay(fake, ts))
        yield fake


def fake_replay(fake: FakeArchive, ts: str) -> Any:
    def replay(request: RequestInfo) -> Page:
        fake.times.append(time.monotonic())
        fake.replays[ts] = fake.replays.get(ts, 0) + 1
        body = fake.bodies[ts]
        if body == "fail":
            return Page(b"down", status=500, validators=False)
        if ts == "20200110120000" and fake.replays[ts] == 1:
            return Page(b"slow down", status=429, headers={"Retry-After": "1"}, validators=False)
        return Page(body(), validators=False)
    return replay


def target(**options: Any) -> Target:
    return Target(name=NATO, url=LIVE, profile="defense.gov", **options)


def test_parse_cdx_reads_rows_and_the_resume_key() -> None:
    body = json.dumps([["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"],
                       ["k", "20200107120000", LIVE, "text/html", "200", "AAAA", "1"], [], ["next-page"]]).encode()
    captures, resume = parse_cdx(body)
    assert captures == [Capture("20200107120000", LIVE, "AAAA", "200", "text/html")] and resume == "next-page"
    assert captures[0].taken_at == datetime(2020, 1, 7, 12, tzinfo=UTC)
    assert parse_cdx(b"[]") == ([], None)
    with pytest.raises(FetchError, match="not JSON"):
        parse_cdx(b"<html>")


def test_backfill_stores_distinct_captures_in_order_with_reports(archive_server: FakeArchive, tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snapshots")
    with Archive(archive_server.settings(), FETCH) as archive:
        result = backfill(target(), store, archive, tmp_path / "reports", now=NOW)
    assert result.listed == 5, "the duplicate digest was collapsed by the CDX query"
    query = archive_server.cdx_queries[0]
    assert query["output"] == ["json"] and query["filter"] == ["statuscode:200"] and query["collapse"] == ["digest"]
    assert len(archive_server.cdx_queries) == 2, "paged with the resume key (page_size 3)"
    history = list(reversed(store.history(NATO)))
    assert [s.taken_at.strftime("%Y%m%d") for s in history] == ["20200107", "20200110", "20200115"]
    assert {s.source for s in history} == {"archive"} and history[0].origin == "wayback:20200107120000:AAAA"
    assert result.identical == 1 and len(result.skipped) == 1 and "CDN block page" in result.skipped[0]
    reports = list_reports(tmp_path / "reports")
    assert [(r.id, r.kind) for r in reports] == [(history[2].id, "changed"), (history[1].id, "changed")]
    report = (tmp_path / "reports" / NATO / f"{history[1].id}.html").read_text(encoding="utf-8")
    assert "on Tuesday" in report and "from the web archive" in report
    assert archive_server.replays["20200110120000"] == 2, "a 429 was waited out and retried"
    gaps = [b - a for a, b in zip(archive_server.times, archive_server.times[1:], strict=False)]
    assert min(gaps) >= 0.19, f"requests at least min_interval apart: {min(gaps):.3f}s"
    assert (tmp_path / "reports" / "index.html").exists()


def test_an_export_of_a_backfilled_history_gives_the_archive_s_capture_times(archive_server: FakeArchive,
                                                                             tmp_path: Path) -> None:
    import io

    from warcio.archiveiterator import ArchiveIterator

    from monitor.store.export import export_warc

    store = SnapshotStore(tmp_path / "snapshots")
    with Archive(archive_server.settings(), FETCH) as archive:
        backfill(target(), store, archive, tmp_path / "reports", now=NOW)
    done = export_warc(store, [NATO], tmp_path / "history.warc.gz", now=NOW)
    assert done.captures == {NATO: 3}
    found = [(r.rec_type, dict(r.rec_headers.headers), r.content_stream().read()) for r in
             ArchiveIterator(io.BytesIO((tmp_path / "history.warc.gz").read_bytes()), check_digests="raise")]
    responses = [(headers, payload) for kind, headers, payload in found if kind == "response"]
    assert [h["WARC-Date"] for h, _ in responses] == ["2020-01-07T12:00:00Z", "2020-01-10T12:00:00Z",
                                                      "2020-01-15T12:00:00Z"], "the archive's capture times"
    assert {h["WARC-Target-URI"] for h, _ in responses} == {LIVE}, "the page the archive captured"
    assert responses[0][0]["WARC-Source-URI"] == f"{archive_server.url}/web/20200107120000id_/{LIVE}"
    assert responses[0][1] == page_html(NATO) and responses[2][1] == second_edit()
    assert "request" not in [kind for kind, _, _ in found], "the request went to the archive, at another time"


def test_an_interrupted_backfill_resumes_without_fetching_again(archive_server: FakeArchive, tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snapshots")
    archive_server.bodies["20200115120000"] = "fail"
    with Archive(archive_server.settings(retries=1), FETCH) as archive, pytest.raises(FetchError, match="500"):
        backfill(target(), store, archive, tmp_path / "reports", now=NOW)
    assert len(store.history(NATO)) == 2
    progress = json.loads((store.target_dir(NATO) / PROGRESS).read_text())
    assert progress["version"] == 1 and len(progress["done"]) == 4
    before = dict(archive_server.replays)
    archive_server.bodies["20200115120000"] = second_edit
    with Archive(archive_server.settings(), FETCH) as archive:
        result = backfill(target(), store, archive, tmp_path / "reports", now=NOW)
    assert result.already == 4 and len(result.stored) == 1
    assert {ts: n - before.get(ts, 0) for ts, n in archive_server.replays.items() if n != before.get(ts, 0)} == {
        "20200115120000": 1}, "only the capture that had failed was fetched again"
    assert len(store.history(NATO)) == 3 and len(list_reports(tmp_path / "reports")) == 2


def test_backfill_into_an_existing_history_inserts_in_time_order(archive_server: FakeArchive,
                                                                 tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snapshots")
    live = store.save(NATO, "A much later live text.", taken_at=NOW, source="live", url=LIVE, final_url=LIVE,
                      status=200)
    with Archive(archive_server.settings(), FETCH) as archive:
        backfill(target(), store, archive, tmp_path / "reports", now=NOW,
                 since=datetime(2020, 1, 9, tzinfo=UTC), until=datetime(2020, 1, 12, 23, tzinfo=UTC))
    history = list(reversed(store.history(NATO)))
    assert [s.source for s in history] == ["archive", "live"] and history[-1].id == live.id
    reports = {r.id: r for r in list_reports(tmp_path / "reports")}
    assert set(reports) == {live.id}, "the live snapshot's report now compares it with the capture before it"
    sidecar = json.loads((tmp_path / "reports" / NATO / f"{live.id}.json").read_text())
    assert sidecar["old"]["id"] == history[0].id


def test_the_cli_backfills_and_history_marks_archive_snapshots(archive_server: FakeArchive, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"archive_url: {archive_server.url}\narchive: {{min_interval: 0.05, backoff: 0.05, "
                      f"rate_limit_wait: 0.2}}\ntargets:\n  - {{name: {NATO}, url: '{LIVE}', profile: defense.gov}}\n")
    out = CliRunner().invoke(cli, ["--config", str(config), "backfill", NATO, "--from", "2020-01-01",
                                   "--to", "2020-12-31"])
    assert out.exit_code == 0, out.output
    assert "5 captures listed" in out.stdout and "3 stored" in out.stdout and "1 skipped" in out.stdout
    history = CliRunner().invoke(cli, ["--config", str(config), "history", NATO]).stdout.splitlines()
    assert len(history) == 3 and all(" archive " in line for line in history)
    again = CliRunner().invoke(cli, ["--config", str(config), "backfill", NATO])
    assert "5 done before" in again.stdout and "0 fetched" in again.stdout


def test_a_blocked_live_site_falls_back_to_the_newest_capture(archive_server: FakeArchive, tmp_path: Path) -> None:
    with PageServer() as live, Fetcher(FETCH) as fetcher, Archive(archive_server.settings(), FETCH) as archive:
        live.set("/page", Page(AKAMAI, status=403, validators=False))
        ctx = CheckContext(fetcher=fetcher, store=SnapshotStore(tmp_path / "snapshots"),
                           reports_dir=tmp_path / "reports", archive=archive)
        ctx.store.save(NATO, ctx.store.read_text(_seed(ctx.store)), taken_at=datetime(2020, 1, 9, tzinfo=UTC),
                       source="live", url=LIVE, final_url=LIVE, status=200)
        tgt = Target(name=NATO, url=live.url("/page"), profile="defense.gov", archive_fallback=True)
        # The archive is asked about the configured URL: serve its captures under the loopback URL too.
        for row in archive_server.rows:
            row[2] = tgt.url
        for ts, _, _ in CAPTURES:
            archive_server.server.set(f"/web/{ts}id_/{tgt.url}", fake_replay(archive_server, ts))
        first = check_target(tgt, ctx)
        assert first.status == "changed" and "content from the web archive" in (first.note or ""), first
        newest = ctx.store.latest(NATO)
        assert newest.source == "archive" and newest.taken_at == datetime(2020, 1, 15, 12, tzinfo=UTC)
        assert "from the web archive" in first.report.read_text(encoding="utf-8")
        second = check_target(tgt, ctx)
        assert second.status == "error" and second.error_kind == "blocked", "nothing newer in the archive"
        plain = check_target(Target(name="other", url=live.url("/page"), profile="defense.gov"), ctx)
        assert plain.status == "error" and plain.error_kind == "blocked", "no fallback unless configured"


def _seed(store: SnapshotStore) -> Any:
    from monitor.demo import baseline_text

    return store.save("seed", baseline_text(NATO), taken_at=datetime(2020, 1, 1, tzinfo=UTC), source="baseline")


def test_the_fallback_also_asks_the_archive_where_the_page_was_last_found(archive_server: FakeArchive,
                                                                          tmp_path: Path) -> None:
    with PageServer() as live, Fetcher(FETCH) as fetcher, Archive(archive_server.settings(), FETCH) as archive:
        live.set("/page", Page(AKAMAI, status=403, validators=False))
        ctx = CheckContext(fetcher=fetcher, store=SnapshotStore(tmp_path / "snapshots"),
                           reports_dir=tmp_path / "reports", archive=archive)
        ctx.store.save(NATO, ctx.store.read_text(_seed(ctx.store)), taken_at=datetime(2020, 1, 9, tzinfo=UTC),
                       source="live", url=LIVE, final_url=LIVE, status=200)
        # The archive knows the page only under its old address (LIVE), not under the configured URL.
        result = check_target(Target(name=NATO, url=live.url("/page"), profile="defense.gov",
                                     archive_fallback=True), ctx)
        assert result.status == "changed" and result.via == "archive", result
        asked = [q["url"] for q in archive_server.cdx_queries]
        assert asked[0] == [live.url("/page")] and [LIVE] in asked


def test_a_target_with_source_archive_follows_the_newest_capture_on_schedule(archive_server: FakeArchive,
                                                                             tmp_path: Path) -> None:
    with PageServer() as live:
        live.set("/page", Page(b"the live site must not be asked", status=500, validators=False))
        url = live.url("/page")
        for row in archive_server.rows:
            row[2] = url
        newest = archive_server.rows.pop()  # the second edit is not archived yet
        for ts, _, _ in CAPTURES:
            archive_server.server.set(f"/web/{ts}id_/{url}", fake_replay(archive_server, ts))
        config = tmp_path / "config.yaml"
        config.write_text(f"archive_url: {archive_server.url}\narchive: {{min_interval: 0, backoff: 0.05}}\n"
                          f"targets:\n  - {{name: {NATO}, url: '{url}', profile: defense.gov, source: archive}}\n")

        def check_json() -> dict[str, Any]:
            out = CliRunner().invoke(cli, ["--config", str(config), "check", "--json"])
            assert out.exit_code in (0, 1), out.output
            return json.loads(out.stdout)[0]

        first = check_json()
        assert first["status"] == "new" and first["via"] == "archive", first
        assert "capture of 2020-01-11 12:00 UTC" in first["note"], "the archived block page was passed over"
        store = SnapshotStore(tmp_path / "snapshots")
        assert store.latest(NATO).source == "archive" and store.latest(NATO).origin == "wayback:20200111120000:CCCC"
        assert archive_server.cdx_queries[-1]["limit"] == ["-3"], "one CDX request for the newest captures"
        assert archive_server.replays == {"20200112120000": 1, "20200111120000": 1}
        second = check_json()
        assert second["status"] == "unchanged" and "no capture newer than 2020-01-11 12:00 UTC" in second["note"]
        assert archive_server.cdx_queries[-1]["from"] == ["20200111120001"]
        archive_server.rows.append(newest)
        third = check_json()
        assert third["status"] == "changed" and "capture of 2020-01-15 12:00 UTC" in third["note"], third
        assert store.latest(NATO).taken_at == datetime(2020, 1, 15, 12, tzinfo=UTC)
        assert archive_server.replays["20200115120000"] == 1
        assert live.requests == [], "a source: archive target never asks the live site"


def test_source_archive_without_captures_is_an_error_and_cannot_be_mixed_with_live_fetching(
        archive_server: FakeArchive, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    url = "http://127.0.0.1:9/never-archived"
    config.write_text(f"archive_url: {archive_server.url}\narchive: {{min_interval: 0}}\n"
                      f"targets:\n  - {{name: gone, url: '{url}', source: archive}}\n")
    out = CliRunner().invoke(cli, ["--config", str(config), "check"])
    assert out.exit_code == 2 and f"the web archive has no capture of {url}" in out.output, out.output
    config.write_text(f"targets:\n  - {{name: gone, url: '{url}', source: archive, fetch: {{via: browser}}}}\n")
    out = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert out.exit_code == 2 and "'source: archive' reads the web archive only" in out.output, out.output
