"""Static review site: index and per-target pages, history, Atom feed; review state; resolving report ids."""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import feedparser
import pytest

from monitor.errors import ReportError, StoreError
from monitor.report.catalog import list_reports, resolve
from monitor.report.site import publish
from monitor.review import DB_NAME, ReviewStore
from monitor.store import SnapshotStore
from tests.conftest import HOSTILE_TEXT, MATTIS, NATO, ReportSite

ATOM = "{http://www.w3.org/2005/Atom}"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def test_review_marks_survive_a_new_store_and_can_be_undone(tmp_path: Path) -> None:
    rid = "20260101T000001.000000Z-abcdefabcdef"
    ReviewStore(tmp_path).mark(NATO, rid, when=NOW, note="Real edit", significance=0.75)
    again = ReviewStore(tmp_path)  # a new process would do the same
    review = again.get(NATO, rid)
    assert review is not None and review.note == "Real edit" and review.significance == 0.75
    assert review.reviewed_at == NOW
    assert set(again.load_all()) == {(NATO, rid)}
    assert again.unmark(NATO, rid) and again.get(NATO, rid) is None
    assert not again.unmark(NATO, rid), "unmarking twice reports that nothing was marked"
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1, "the schema carries a version"


@pytest.mark.parametrize(("target", "rid", "significance", "message"), [
    ("../etc", "20260101T000001.000000Z-abcdefabcdef", None, "invalid report reference"),
    (NATO, "../../x", None, "invalid report reference"),
    (NATO, "20260101T000001.000000Z-abcdefabcdef", 1.5, "outside 0..1"),
    (NATO, "20260101T000001.000000Z-abcdefabcdef", -0.1, "outside 0..1"),
])
def test_bad_review_input_is_refused(tmp_path: Path, target: str, rid: str, significance: float | None,
                                     message: str) -> None:
    with pytest.raises(StoreError, match=re.escape(message)):
        ReviewStore(tmp_path).mark(target, rid, when=NOW, significance=significance)
    assert ReviewStore(tmp_path).load_all() == {}


def test_a_review_database_of_an_unknown_version_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("PRAGMA user_version = 7")
    with pytest.raises(StoreError, match="unsupported review database version 7"):
        ReviewStore(tmp_path).load_all()


def test_report_references_resolve_by_ref_id_or_unique_prefix(report_site: ReportSite) -> None:
    entries = list_reports(report_site.settings.reports_dir)
    mattis = next(e for e in entries if e.target == MATTIS)
    assert resolve(entries, mattis.ref) == mattis
    assert resolve(entries, mattis.id) == mattis
    assert resolve(entries, mattis.id.partition("-")[2][:6]) == mattis, "the content hash alone is enough"
    assert resolve(entries, f"{MATTIS}/") == mattis
    with pytest.raises(ReportError, match="matches 2 reports"):
        resolve(entries, f"{NATO}/")
    with pytest.raises(ReportError, match="no report matches"):
        resolve(entries, "nothing-like-this")


def test_static_index_pages_list_every_report_and_link_to_existing_files(report_site: ReportSite) -> None:
    reports = report_site.settings.reports_dir
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert "<title>(3) Change reports</title>" in index
    assert f'href="{NATO}/index.html"' in index and f'href="{MATTIS}/index.html"' in index
    for page in [reports / "index.html", *reports.glob("*/index.html"), *reports.glob("*/history.html")]:
        for href in re.findall(r'href="([^"#:]+)"', page.read_text(encoding="utf-8")):
            assert (page.parent / unquote(href)).resolve().exists(), f"{page.name}: dead link {href}"
    nato = (reports / NATO / "index.html").read_text(encoding="utf-8")
    assert nato.count('<span class="sr"> report ') == 2 and f"{MATTIS}/2" not in nato, "only this target's reports"


def test_history_page_lists_every_snapshot_with_its_text(report_site: ReportSite) -> None:
    settings = report_site.settings
    history = (settings.reports_dir / NATO / "history.html").read_text(encoding="utf-8")
    snapshots = SnapshotStore(settings.snapshots_dir).history(NATO)
    assert len(snapshots) == 3  # the baseline and two changes
    for s in snapshots:
        assert f"{s.id}.txt</a>" in history
    assert history.index(snapshots[0].id) < history.index(snapshots[-1].id), "newest first"
    assert history.count("Changed: text") == 2, "each change links to the report that introduced it"


def test_scraped_text_is_inert_in_the_index_and_the_feed(report_site: ReportSite) -> None:
    reports = report_site.settings.reports_dir
    report_html = next((reports / MATTIS).glob("2*.html")).read_text(encoding="utf-8")
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in report_html and "<script" not in report_html
    feed = (reports / "feed.atom").read_text(encoding="utf-8")
    assert "<script" not in feed and "<img" not in feed
    parsed = feedparser.parse(feed)
    mattis = next(e for e in parsed.entries if MATTIS in e.title)
    html = mattis.content[0].value  # the entry's HTML once the feed's XML escaping is undone
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html and "<script" not in html
    assert "{{ 7*7 }}" in html and HOSTILE_TEXT not in html


def test_feed_is_valid_atom(report_site: ReportSite) -> None:
    path = report_site.settings.reports_dir / "feed.atom"
    root = ET.parse(path).getroot()  # well-formed XML
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{name}")) == 1, f"feed needs exactly one atom:{name}"
    assert root.find(f"{ATOM}author/{ATOM}name") is not None, "entries have no author: the feed needs one"
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 3
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == 3 and all(i.startswith("urn:uuid:") for i in ids)
    for e in entries:
        assert RFC3339.match(e.findtext(f"{ATOM}updated") or "")
        link = e.find(f"{ATOM}link[@rel='alternate']")
        assert link is not None and (path.parent / link.get("href", "")).exists()
    assert RFC3339.match(root.findtext(f"{ATOM}updated") or "")
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.id for e in parsed.entries] == ids
    before = ids
    publish(report_site.settings.reports_dir, SnapshotStore(report_site.settings.snapshots_dir), NOW)
    assert [e.findtext(f"{ATOM}id") for e in ET.parse(path).getroot().findall(f"{ATOM}entry")] == before, \
        "entry ids are permanent: regenerating the feed keeps them"


def test_control_characters_from_a_page_never_break_the_feed(tmp_path: Path) -> None:
    from monitor.report.html import write_report
    from tests.report.test_report import make_report

    write_report(tmp_path, make_report("page", old="Hello world", new="Hello \x00\x07\x1b world"))
    publish(tmp_path, SnapshotStore(tmp_path / "snapshots"), NOW)
    ET.parse(tmp_path / "feed.atom")  # raises on characters XML 1.0 forbids
    assert not feedparser.parse((tmp_path / "feed.atom").read_bytes()).bozo


def test_the_static_index_shows_review_state_once_regenerated(report_site: ReportSite) -> None:
    settings = report_site.settings
    target, rid = report_site.refs[0].split("/")
    ReviewStore(settings.reports_dir).mark(target, rid, when=NOW, note="<b>checked</b>", significance=0.5)
    publish(settings.reports_dir, SnapshotStore(settings.snapshots_dir), NOW)
    index = (settings.reports_dir / "index.html").read_text(encoding="utf-8")
    assert "<title>(2) Change reports</title>" in index
    assert index.count("✓ reviewed") == 1 and "significance 0.50" in index
    assert "&lt;b&gt;checked&lt;/b&gt;" in index, "a reviewer's note is escaped too"
