"""Errors as events, flip-flop suppression and retention, through the check pipeline on a loopback server."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.demo import page_html
from monitor.demo.server import Page
from monitor.events import on_failure, on_success
from monitor.models import Retention, TargetState
from monitor.report.catalog import list_reports
from tests.conftest import MATTIS, NATO

DOWN = Page(b"<html><body>Service Unavailable</body></html>", status=503, validators=False)
AKAMAI = (b"<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY><H1>Access Denied</H1>You don't have permission"
          b" to access this server.<P>Reference&#32;&#35;18&#46;3c2e1302&#46;1700000000&#46;1a2b3c</BODY></HTML>")


def edited(page: str, old: str, new: str) -> bytes:
    html = page_html(page)
    assert old.encode() in html
    return html.replace(old.encode(), new.encode(), 1)


def reports(run: Any) -> list[dict[str, Any]]:
    folder = run.ctx.reports_dir / run.target.name
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def test_a_failure_streak_is_reported_once_at_the_threshold_and_its_end_once(pipeline: Any) -> None:
    run = pipeline(NATO)
    run.serve(page_html(NATO))
    assert run.check().status == "new"
    run.server.set(run.path, DOWN)
    results = [run.check() for _ in range(5)]
    assert [r.status for r in results] == ["error"] * 5
    assert [r.event for r in results] == [None, None, "error", None, None]
    assert results[2].report is not None and results[2].report.exists()
    assert [r["kind"] for r in reports(run)] == ["error"]
    event = reports(run)[0]
    assert event["failures"] == 3 and "HTTP 503" in event["error"] and event["old"]["source"] == "live"
    run.serve(page_html(NATO))
    back = run.check()
    assert (back.status, back.event) == ("unchanged", "recovered")
    assert [r["kind"] for r in reports(run)] == ["error", "recovered"]
    assert "the text is unchanged" in back.report.read_text(encoding="utf-8")
    assert run.check().event is None, "a recovery is reported once"
    assert [e.kind for e in list_reports(run.ctx.reports_dir)] == ["recovered", "error"]


def test_a_recovery_diffs_against_the_last_good_snapshot(pipeline: Any) -> None:
    run = pipeline(NATO, error_threshold=2)
    run.serve(page_html(NATO))
    good = run.check().snapshot
    run.server.set(run.path, DOWN)
    assert [run.check().event for _ in range(2)] == [None, "error"]
    run.serve(edited(NATO, "Stoltenberg told the media", "Stoltenberg informed the media"))
    back = run.check()
    assert (back.status, back.event) == ("changed", "recovered")
    assert [[op, t] for op, t in back.change.ops if op] == [[-1, "told"], [1, "informed"]]
    doc = reports(run)[-1]
    assert doc["kind"] == "recovered" and doc["old"]["id"] == good and doc["new"]["id"] == back.snapshot
    html = back.report.read_text(encoding="utf-8")
    assert "The page is back" in html and "after 2 failed checks" in html and 'id="inline"' in html


def test_failures_below_the_threshold_are_logged_but_never_reported(pipeline: Any,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    run = pipeline(NATO)
    run.serve(page_html(NATO))
    run.check()
    run.server.set(run.path, DOWN)
    with caplog.at_level(logging.INFO, logger="monitor.check"):
        run.check()
        run.check()
    levels = [r.levelno for r in caplog.records if r.name == "monitor.check" and "503" in r.getMessage()]
    assert levels == [logging.WARNING, logging.INFO]
    run.serve(page_html(NATO))
    result = run.check()
    assert (result.status, result.event, result.report) == ("unchanged", None, None)
    assert reports(run) == []
    assert run.ctx.store.load_state(NATO).consecutive_failures == 0


def test_a_persistent_404_becomes_a_page_removed_change(pipeline: Any) -> None:
    run = pipeline(MATTIS)
    run.serve(page_html(MATTIS))
    run.check()
    run.server.set(run.path, Page(b"<html><body><h1>404 - Not Found</h1></body></html>", status=404, validators=False))
    results = [run.check() for _ in range(4)]
    assert [r.event for r in results] == [None, None, "removed", None]
    doc = reports(run)[0]
    assert doc["kind"] == "removed" and doc["meta"]["status"] == [200, 404]
    html = results[2].report.read_text(encoding="utf-8")
    assert "Page removed" in html and "200 → 404" in html
    assert run.ctx.store.load_state(MATTIS).reported == "removed"
    run.server.set(run.path, Page(page_html(MATTIS), status=200, validators=False))
    assert run.check().event == "recovered"


def test_a_cdn_block_page_is_a_blocked_error_never_content(pipeline: Any) -> None:
    run = pipeline(NATO, error_threshold=1)
    run.serve(page_html(NATO))
    run.check()
    before = sorted(p.name for p in (run.ctx.store.root / NATO).iterdir())
    for status in (403, 200):
        run.server.set(run.path, Page(AKAMAI, status=status, validators=False))
        result = run.check()
        assert (result.status, result.error_kind) == ("error", "blocked"), result.error
    after = sorted(p.name for p in (run.ctx.store.root / NATO).iterdir())
    assert set(after) - set(before) <= {"check.json", "state.json"} and set(before) <= set(after)  # no content kept
    assert [r["kind"] for r in reports(run)] == ["error"], "threshold 1: reported at once, then quiet"


def test_flip_flop_is_reported_once_with_compare_versions(pipeline: Any) -> None:
    run = pipeline(NATO, compare_versions=3)
    a = page_html(NATO)
    b = edited(NATO, "Stoltenberg told the media", "Stoltenberg informed the media")
    c = edited(NATO, "Baghdad International Airport Jan. 2.", "Baghdad International Airport Jan. 3.")
    run.serve(a)
    run.check()
    statuses = []
    for body in (b, a, b, a, b):
        run.serve(body)
        result = run.check()
        statuses.append(result.status)
    assert statuses == ["changed", "unchanged", "unchanged", "unchanged", "unchanged"]
    assert len(reports(run)) == 1
    history = run.ctx.store.history(NATO)
    assert history[0].repeat_of is not None, "the return is recorded, marked as a repeat"
    run.serve(c)
    result = run.check()
    assert result.status == "changed"
    assert [[op, t] for op, t in result.change.ops if op] == [[-1, "informed"], [1, "told"], [-1, "2"], [1, "3"]]


def test_without_compare_versions_every_return_is_reported(pipeline: Any) -> None:
    run = pipeline(NATO)
    a = page_html(NATO)
    b = edited(NATO, "Stoltenberg told the media", "Stoltenberg informed the media")
    run.serve(a)
    run.check()
    statuses = []
    for body in (b, a, b):
        run.serve(body)
        statuses.append(run.check().status)
    assert statuses == ["changed", "changed", "changed"]


def test_retention_keeps_the_newest_the_baseline_and_what_reports_need(pipeline: Any, tmp_path: Path) -> None:
    run = pipeline(NATO, keep=Retention(count=2))
    store = run.ctx.store
    store.import_baseline(NATO, "Seed text", taken_at=run.ctx.clock(), origin="seed")
    run.serve(page_html(NATO))
    for day in range(1, 6):
        run.serve(edited(NATO, "Airport Jan. 2.", f"Airport Jan. {day + 2}."))
        assert run.check().status == "changed"
    history = store.history(NATO)
    sources = [s.source for s in history]
    assert sources.count("baseline") == 1, "the baseline is never pruned"
    kept_reports = reports(run)
    assert len(kept_reports) == 2, "reports go with the snapshots they describe"
    needed = {r["old"]["id"] for r in kept_reports} | {r["new"]["id"] for r in kept_reports}
    assert needed <= {s.id for s in history}, "every kept report can still be opened against its snapshots"
    assert len(history) == 4  # 2 newest + the old side of the older kept report + the baseline
    index = (run.ctx.reports_dir / "index.html").read_text(encoding="utf-8")
    assert index.count('<span class="sr"> report ') == 2
    for s in history:
        store.read_text(s)


def test_events_unit_the_threshold_and_the_reset() -> None:
    state = TargetState()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    events = []
    for i in range(4):
        decision = on_failure(state, now=now + timedelta(minutes=i), error="x", status=410, threshold=2)
        state = decision.state
        events.append(decision.event)
    assert events == [None, "removed", None, None]
    assert state.failing_since == now and state.consecutive_failures == 4
    state, recovered = on_success(state, now=now, status="unchanged", validators=None)
    assert recovered and state.reported is None and state.consecutive_failures == 0 and state.failing_since is None


def test_exclude_and_ignore_apply_before_hashing_and_before_diffing(pipeline: Any) -> None:
    run = pipeline(NATO, exclude=("figure",), ignore=(r"\bJan\. \d+\b",))
    run.serve(page_html(NATO))
    run.check()
    caption = ("tells reporters that the alliance will suspend training", "tells reporters nothing")
    date = ("Airport Jan. 2.", "Airport Jan. 3.")
    noisy = page_html(NATO)
    for old, new in (caption, date):
        noisy = noisy.replace(old.encode(), new.encode())
    run.serve(noisy)
    assert run.check().status == "unchanged", "an excluded part and an ignored fragment changed: no change"
    run.serve(noisy.replace(b"Stoltenberg told the media", b"Stoltenberg informed the media"))
    result = run.check()
    assert result.status == "changed"
    assert [[op, t] for op, t in result.change.ops if op] == [[-1, "told"], [1, "informed"]]
    for path in (result.report, result.report.with_suffix(".txt"), result.report.with_suffix(".json")):
        body = path.read_text(encoding="utf-8")
        assert "tells reporters" not in body and "Jan. 3" not in body and "Jan. 2" not in body
    assert "1 fragment matching ignore rules differed" in result.report.read_text(encoding="utf-8")


def test_raw_bodies_are_kept_for_the_newest_two_snapshots_by_default(pipeline: Any) -> None:
    from monitor.verify import verify

    run = pipeline(NATO)
    for day in range(1, 5):
        run.serve(edited(NATO, "Airport Jan. 2.", f"Airport Jan. {day + 2}."))
        assert run.check().status in ("new", "changed")
    history = run.ctx.store.history(NATO)
    assert [s.has_raw for s in history] == [True, True, False, False]
    assert run.ctx.store.read_raw(history[0]) is not None and run.ctx.store.read_raw(history[3]) is None
    warc = sorted((run.ctx.store.root / NATO).glob("*.warc.gz"))
    assert [p.name for p in warc] == [history[0].capture.file], "the let-go records are rewritten away"
    kept = {(s.capture.offset, s.capture.length) for s in history[:2]}
    assert sum(n for _, n in kept) == warc[0].stat().st_size, "the file holds the two kept captures, nothing else"
    assert verify(run.ctx.store.root, run.ctx.reports_dir, now=history[0].taken_at).errors == []
