"""report: self-contained HTML, scraped text always escaped, sidecar JSON, index newest first."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.diff import diff
from monitor.models import ChangeReport, Snapshot, Target
from monitor.report.catalog import list_reports
from monitor.report.html import write_report
from monitor.report.render import render_html as render_report
from monitor.report.site import publish
from monitor.store import SnapshotStore

T0 = datetime(2020, 1, 7, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script> {{ 7*7 }} {% if 1 %}x{% endif %} <img src=x onerror="alert(2)">'


def make_report(target: str = "page", old: str = "Hello world", new: str = "Hello brave world",
                when: datetime = T0, final_url: str | None = None) -> ChangeReport:
    change = diff(old, new)
    assert change is not None

    def snap(taken_at: datetime, digest: str, source: str) -> Snapshot:
        return Snapshot(id=f"{taken_at:%Y%m%dT%H%M%S}.000000Z-{digest}", target=target, taken_at=taken_at,
                        sha256="0" * 64, source=source, final_url=final_url)

    return ChangeReport(target=Target(name=target, url="https://example.org/a"), kind="changed",
                        old=snap(when - timedelta(hours=1), "a" * 12, "baseline"), new=snap(when, "b" * 12, "live"),
                        change=change, created_at=when)


def test_report_is_self_contained_and_marks_the_change() -> None:
    html = render_report(make_report(), T0)
    assert "<script" not in html and "http://" not in html.replace("https://example.org/a", "")
    assert '<link' not in html and "<style>" in html
    assert '<span class="sr">[+</span>brave <span class="sr">+]</span>' in html
    assert '<a href="https://example.org/a" rel="noreferrer noopener">' in html


def test_scraped_text_is_escaped_everywhere() -> None:
    html = render_report(make_report(old="Title", new=f"Title {HOSTILE}", final_url='javascript:alert("x")'), T0)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html and "49" not in html, "template syntax from a page stays literal"
    assert 'href="javascript' not in html


def test_write_report_writes_html_sidecar_and_index(tmp_path: Path) -> None:
    older = write_report(tmp_path, make_report("alpha", when=T0))
    newer = write_report(tmp_path, make_report("beta", when=T0 + timedelta(days=1)))
    assert older == tmp_path / "alpha" / f"{T0:%Y%m%dT%H%M%S}.000000Z-bbbbbbbbbbbb.html"
    sidecar = json.loads(older.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["version"] == 1 and sidecar["inserted_words"] == 1 and sidecar["deleted_words"] == 0
    assert sidecar["ops"] == [[0, "Hello "], [1, "brave "], [0, "world"]]
    assert [e.target for e in list_reports(tmp_path)] == ["beta", "alpha"]
    publish(tmp_path, SnapshotStore(tmp_path / "snapshots"), T0)
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert index.index(f"beta/{newer.name}") < index.index(f"alpha/{older.name}")
    assert "<title>(2) Change reports</title>" in index, "the unreviewed count leads the title"


def test_an_unreadable_sidecar_is_skipped_not_fatal(tmp_path: Path) -> None:
    write_report(tmp_path, make_report("alpha"))
    (tmp_path / "alpha" / "broken.json").write_text("{not json", encoding="utf-8")
    assert [e.target for e in list_reports(tmp_path)] == ["alpha"]


def test_every_view_and_the_text_form_keep_scraped_text_inert() -> None:
    from monitor.report.render import render_text

    report = make_report(old="Title\n\nBody", new=f"Title {HOSTILE}\n\nBody")
    html = render_report(report, T0)
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3, "inline, side by side and changes only"
    assert "<script" not in html and "<img" not in html
    text = render_text(report, T0)
    assert "Title{+ " + HOSTILE + "+}" in text, "the text form is plain text: marks, no markup added"
