"""`monitor check` end to end: loopback server, committed baseline copy, real store and reports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli.main import cli
from monitor.demo import DEMO_PAGES, edited_html, page_html
from monitor.demo.server import Page, PageServer
from monitor.store import SnapshotStore
from tests.conftest import MATTIS, NATO, WriteConfig
from tests.fetch.test_fetch import AKAMAI

NATO_PATH = DEMO_PAGES[NATO]


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "check", *args], catch_exceptions=False)


def files(folder: Path) -> set[str]:
    """Every file below `folder` (temp-file leftovers do count)."""
    if not folder.exists():
        return set()
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def config(write_config: WriteConfig, baseline_dir: Path) -> Path:
    return write_config()


def test_first_check_against_the_committed_baseline_is_unchanged(config: Path, tmp_path: Path) -> None:
    before = files(tmp_path / "snapshots")
    result = run(config)
    assert result.exit_code == 0, result.output
    assert sorted(result.stdout.splitlines()) == [f"{MATTIS}: unchanged", f"{NATO}: unchanged"]
    # Nothing durable happened (no error, no change): the state is check.json alone; no lock file.
    assert files(tmp_path / "snapshots") - before == {f"{t}/check.json" for t in (NATO, MATTIS)}
    assert files(tmp_path / "reports") == set()
    state = json.loads((tmp_path / "snapshots" / NATO / "check.json").read_text())
    assert state["last_status"] == "unchanged" and state["last_checked"] and "crc32" in state
    assert run(config).exit_code == 0
    assert files(tmp_path / "snapshots") - before == {f"{t}/check.json" for t in (NATO, MATTIS)}


def test_an_edited_page_gives_exit_1_a_marked_report_and_an_index_entry(
        config: Path, server: PageServer, tmp_path: Path) -> None:
    server.set(NATO_PATH, Page(edited_html(NATO)))
    result = run(config, "--json")
    assert result.exit_code == 1, result.output
    nato, mattis = json.loads(result.stdout)
    assert mattis["status"] == "unchanged" and mattis["report"] is None
    assert nato["status"] == "changed" and nato["error"] is None
    assert nato["final_url"] == server.url(NATO_PATH)
    assert (nato["inserted_words"], nato["deleted_words"]) == (5, 1)
    report = Path(nato["report"])
    assert report.parent == tmp_path / "reports" / NATO
    html = report.read_text(encoding="utf-8")
    assert re.search(r'class="del"[^>]*><span class="sr">\[-</span>today<', html)
    assert re.search(r'class="ins"[^>]*><span class="sr">\[\+</span>on Tuesday<', html)
    assert "said in Brussels " in html and "Man speaks at " in html
    sidecar = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["version"] == 1 and sidecar["target"] == NATO and sidecar["old"]["source"] == "baseline"
    assert [-1, "today"] in sidecar["ops"] and [1, "on Tuesday"] in sidecar["ops"]
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert f'href="{NATO}/{report.name}"' in index
    history = SnapshotStore(tmp_path / "snapshots").history(NATO)
    assert [s.source for s in history] == ["live", "baseline"]
    assert history[0].id == nato["snapshot"]


def test_the_same_content_again_gives_no_snapshot_and_no_report(
        config: Path, server: PageServer, tmp_path: Path) -> None:
    server.set(NATO_PATH, Page(edited_html(NATO)))
    assert run(config).exit_code == 1
    snapshots, reports = files(tmp_path / "snapshots"), files(tmp_path / "reports")
    result = run(config)
    assert result.exit_code == 0
    lines = sorted(line.split(" (")[0] for line in result.stdout.splitlines())
    assert lines == [f"{MATTIS}: unchanged", f"{NATO}: unchanged"]
    # Only check.json is new (the first check, a change, kept its state in state.json alone).
    assert files(tmp_path / "snapshots") - snapshots <= {f"{t}/check.json" for t in (NATO, MATTIS)}
    assert snapshots <= files(tmp_path / "snapshots") and files(tmp_path / "reports") == reports


def test_a_304_counts_as_unchanged(config: Path, server: PageServer, tmp_path: Path) -> None:
    server.set(NATO_PATH, Page(edited_html(NATO)))
    assert run(config, NATO).exit_code == 1
    etag = Page(edited_html(NATO)).etag
    result = run(config, NATO)
    assert result.exit_code == 0 and result.stdout.strip() == f"{NATO}: unchanged"
    last = server.requests[-1]
    assert last.headers["If-None-Match"] == etag and "If-Modified-Since" in last.headers
    state = SnapshotStore(tmp_path / "snapshots").load_state(NATO)
    assert state.validators.etag == etag and state.last_status == "unchanged"


def test_a_page_that_changes_back_is_a_change_again(config: Path, server: PageServer) -> None:
    server.set(NATO_PATH, Page(edited_html(NATO)))
    assert run(config, NATO).exit_code == 1
    server.set(NATO_PATH, Page(page_html(NATO)))
    assert run(config, NATO).exit_code == 1


@pytest.mark.parametrize(("page", "message"), [
    (Page(page_html(NATO), delay=3.0), f"{NATO}: error: read timeout after 1s"),
    (Page(b"<h1>Internal Server Error</h1>", status=500), f"{NATO}: error: HTTP 500 Internal Server Error"),
    (Page(AKAMAI, status=403), f"{NATO}: error: HTTP 403 in the browser: CDN block page"),  # via auto
    (Page(b"%PDF-1.4", content_type="application/pdf"), f"{NATO}: error: not HTML (Content-Type application/pdf)"),
    (Page(b"<html><body><h1>Page not found</h1></body></html>", status=404), f"{NATO}: error: HTTP 404 Not Found"),
    (Page(b"<html><body><h1>Moved to a new site</h1></body></html>"),
     f"{NATO}: error: profile defense.gov: page has none of h1.maintitle, div.body"),
])
def test_fetch_failures_are_error_results_and_nothing_is_stored(
        write_config: WriteConfig, baseline_dir: Path, server: PageServer, tmp_path: Path,
        page: Page, message: str) -> None:
    config = write_config([{"name": NATO, "url": server.url(NATO_PATH), "profile": "defense.gov", "timeout": 1}])
    server.set(NATO_PATH, page)
    before = files(tmp_path / "snapshots")
    result = run(config)
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [message] or result.stdout.startswith(message)
    assert len(result.stdout.splitlines()) == 1 and "Traceback" not in result.output
    assert files(tmp_path / "snapshots") - before == {f"{NATO}/state.json"}  # the first state: state.json alone
    assert files(tmp_path / "reports") == set()
    state = json.loads((tmp_path / "snapshots" / NATO / "state.json").read_text())
    assert state["last_status"] == "error" and state["consecutive_failures"] == 1


def test_an_unreachable_host_is_one_line_per_target_and_exit_2(
        write_config: WriteConfig, baseline_dir: Path, closed_port: int, tmp_path: Path) -> None:
    config = write_config([{"name": name, "url": f"http://127.0.0.1:{closed_port}{path}", "profile": "defense.gov"}
                           for name, path in DEMO_PAGES.items()])
    result = run(config, "--json")
    assert result.exit_code == 2 and result.stderr == ""
    rows = json.loads(result.stdout)
    assert [r["status"] for r in rows] == ["error", "error"]
    assert all(r["error"] == f"connection refused (127.0.0.1:{closed_port})" for r in rows)
    assert all(r["error_kind"] == "network" and r["report"] is None for r in rows)
    assert not (tmp_path / "reports").exists()
    assert len(SnapshotStore(tmp_path / "snapshots").history(NATO)) == 1


def test_errors_win_over_changes_in_the_exit_code(config: Path, server: PageServer) -> None:
    server.set(NATO_PATH, Page(edited_html(NATO)))
    server.set(DEMO_PAGES[MATTIS], Page(b"gone", status=410))
    result = run(config)
    assert result.exit_code == 2
    mattis, nato = sorted(result.stdout.splitlines())  # each line as its check ends
    assert nato.startswith(f"{NATO}: changed (+5/-1 words in body paragraph 1 and photo 2) report: ")
    assert mattis == f"{MATTIS}: error: HTTP 410 Gone"


def test_json_output_has_the_documented_fields(config: Path) -> None:
    rows = json.loads(run(config, NATO, "--json").stdout)
    assert len(rows) == 1
    assert {"target", "url", "final_url", "status", "report", "inserted", "deleted", "error"} <= rows[0].keys()
    assert rows[0]["target"] == NATO and rows[0]["status"] == "unchanged"


def test_a_target_without_baseline_is_new_then_unchanged(tmp_path: Path, server: PageServer,
                                                         write_config: WriteConfig) -> None:
    server.set("/plain", Page(b"<html><body><main><p>First version</p></main></body></html>"))
    config = write_config([{"name": "plain", "url": server.url("/plain")}])
    result = run(config, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["status"] == "new"
    assert run(config).stdout.strip() == "plain: unchanged"
    assert not list((tmp_path / "reports").glob("*/*.json")), "no report for a first snapshot"
    history = (tmp_path / "reports" / "plain" / "history.html").read_text(encoding="utf-8")
    assert history.count(".txt</a>") == 1, "the history page lists the first snapshot"


@pytest.mark.parametrize(("body", "content_type"), [
    ("<html><body><main><p>Secretary’s “remarks” – café</p></main></body></html>".encode(), "text/html"),
    ("<html><body><main><p>Secretary’s “remarks” – café</p></main></body></html>".encode("cp1252"),
     "text/html; charset=windows-1252"),
    (b'<html><head><meta charset="windows-1252"></head><body><main><p>Secretary\x92s \x93remarks\x94 \x96 caf\xe9'
     b"</p></main></body></html>", "text/html"),
])
def test_encodings_are_decoded_right(tmp_path: Path, server: PageServer, write_config: WriteConfig,
                                     body: bytes, content_type: str) -> None:
    server.set("/enc", Page(body, content_type=content_type))
    assert run(write_config([{"name": "enc", "url": server.url("/enc")}])).exit_code == 0
    store = SnapshotStore(tmp_path / "snapshots")
    assert store.read_text(store.latest("enc")) == "Secretary’s “remarks” – café"


def test_ignored_text_never_counts_as_a_change(tmp_path: Path, server: PageServer, write_config: WriteConfig) -> None:
    server.set("/c", Page(b"<html><body><main><p>Story</p><p>Viewed 10 times</p></main></body></html>"))
    config = write_config([{"name": "c", "url": server.url("/c"), "ignore": [r"Viewed \d+ times"]}])
    assert run(config).exit_code == 0
    server.set("/c", Page(b"<html><body><main><p>Story</p><p>Viewed 11 times</p></main></body></html>"))
    assert run(config).stdout.strip() == "c: unchanged"
    server.set("/c", Page(b"<html><body><main><p>Story, updated</p><p>Viewed 12 times</p></main></body></html>"))
    result = run(config, "--json")
    row = json.loads(result.stdout)[0]
    assert row["status"] == "changed"
    html = Path(row["report"]).read_text(encoding="utf-8")
    assert "Viewed" not in html and "updated" in html
    assert "1 fragment matching ignore rules differed" in html


def test_a_report_that_cannot_be_written_keeps_the_change_for_next_time(
        config: Path, server: PageServer, tmp_path: Path) -> None:
    (tmp_path / "reports").write_text("not a folder")
    server.set(NATO_PATH, Page(edited_html(NATO)))
    result = run(config, NATO)
    assert result.exit_code == 2 and "cannot write" in result.stdout
    assert len(SnapshotStore(tmp_path / "snapshots").history(NATO)) == 1
    (tmp_path / "reports").unlink()
    assert run(config, NATO).exit_code == 1


def test_bad_config_is_refused_before_anything_runs(tmp_path: Path, server: PageServer) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"targets:\n  - name: a\n    url: {server.url('/')}\n    timout: 5\n", encoding="utf-8")
    result = run(config)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {config}:4: targets[0].timout: unknown key"
    assert server.requests == [] and not (tmp_path / "snapshots").exists()


def test_unknown_target_names_are_refused(config: Path) -> None:
    result = run(config, "no-such-page")
    assert result.exit_code == 2 and "unknown target(s): no-such-page" in result.stderr
