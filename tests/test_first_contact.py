"""First contact with the real markup: the seed baseline re-aligned without an alarm, real edits still alarm."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from monitor.cli.main import cli
from monitor.demo import DEMO_PAGES
from monitor.demo.server import Page, PageServer
from monitor.notify.outbox import notifiable
from monitor.store import SnapshotStore
from tests.conftest import MATTIS, NATO, WriteConfig
from tests.extract.variants import Variant, page

EDIT = ("the alliance has suspended training operations", "the alliance has halted training operations")


def run(config: Path) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "check", "--json"], catch_exceptions=False)


def serve_real(server: PageServer, **edits: tuple[str, str]) -> None:
    """Serve both articles in the documented 2024-25 markup (DMA banner with its 'A'), edits applied per page."""
    for name in (NATO, MATTIS):
        html, _ = page(Variant(name=name))
        for old, new in [edits[name]] if name in edits else []:
            assert old in html
            html = html.replace(old, new)
        server.set(DEMO_PAGES[name], Page(html.encode("utf-8")))


def test_the_real_page_against_the_seed_baseline_is_realigned_without_an_alarm(
        write_config: WriteConfig, baseline_dir: Path, server: PageServer, tmp_path: Path) -> None:
    config = write_config()
    serve_real(server)
    result = run(config)
    assert result.exit_code == 0, result.output
    for item in json.loads(result.stdout):
        assert item["status"] == "changed" and item["alarm"] is False
        assert item["places"] == ["banner"]
        assert "baseline re-aligned" in item["note"] and "the government banner" in item["note"]
        report = Path(item["report"]).read_text(encoding="utf-8")
        assert "Site chrome changed" in report and "in the government banner" in report
        assert notifiable_kind(item) is None
    line = CliRunner().invoke(cli, ["--config", str(config), "check", NATO]).stdout
    assert line.strip() == f"{NATO}: unchanged", "the re-aligned snapshot is the new baseline"
    store = SnapshotStore(baseline_dir)
    assert store.latest(NATO).blocks[0][0] == "banner"
    assert store.read_text(store.latest(NATO)).split("\n\n")[2].startswith("A\u00a0.gov website belongs")


def notifiable_kind(item: dict) -> str | None:
    """What the outbox would mail a --json result as (None: nothing)."""
    from datetime import UTC, datetime

    from monitor.models import Change, CheckResult

    change = Change(ops=(), inserted_chars=0, deleted_chars=0, inserted_words=0, deleted_words=0,
                    places=tuple(item["places"]), chrome=not item["alarm"])
    result = CheckResult(target=item["target"], url=item["url"], status=item["status"], checked_at=datetime.now(UTC),
                         report=Path(item["report"]), change=change)
    return notifiable(result, ("changed", "error", "removed", "recovered"))


def test_an_edited_paragraph_on_the_real_page_alarms_and_says_where(
        write_config: WriteConfig, baseline_dir: Path, server: PageServer) -> None:
    config = write_config()
    serve_real(server, **{NATO: EDIT})
    first = {item["target"]: item for item in json.loads(run(config).stdout)}
    assert first[NATO]["alarm"] is True and first[NATO]["places"] == ["banner", "paragraph 1"]
    assert first[MATTIS]["alarm"] is False
    serve_real(server, **{NATO: (EDIT[0], "the alliance has stopped training operations")})
    result = run(config)
    assert result.exit_code == 1
    nato = {item["target"]: item for item in json.loads(result.stdout)}[NATO]
    assert nato["places"] == ["paragraph 1"] and "re-aligned" not in (nato["note"] or "")
    report = Path(nato["report"]).read_text(encoding="utf-8")
    assert "in body paragraph 1" in report and "Site chrome" not in report
    assert notifiable_kind(nato) == "changed"
    text = CliRunner().invoke(cli, ["--config", str(config), "check"]).stdout
    assert sorted(text.splitlines()) == [f"{MATTIS}: unchanged", f"{NATO}: unchanged"], "noise-free repeat"


def test_noise_on_the_real_page_is_unchanged(
        write_config: WriteConfig, baseline_dir: Path, server: PageServer) -> None:
    config = write_config()
    serve_real(server)
    run(config)
    for name in (NATO, MATTIS):  # a new view state, cache-buster, footer date and filled-in related cards
        html, _ = page(Variant(name=name))
        html = (html.replace("abc123", "zzz999").replace("cdv=1913", "cdv=1920").replace("Dec. 1, 2026", "Dec. 2")
                .replace('article-title="Related article 1">', 'article-title="Another">'))
        server.set(DEMO_PAGES[name], Page(html.encode("utf-8")))
    result = run(config)
    assert result.exit_code == 0 and all(i["status"] == "unchanged" for i in json.loads(result.stdout))


def test_a_changed_date_line_is_page_metadata_not_text(
        write_config: WriteConfig, baseline_dir: Path, server: PageServer) -> None:
    config = write_config()
    serve_real(server)
    run(config)
    serve_real(server, **{NATO: ("Jan. 7, 2020", "Jan. 8, 2020")})
    result = run(config)
    assert result.exit_code == 1
    nato = {item["target"]: item for item in json.loads(result.stdout)}[NATO]
    assert nato["meta"]["date"] == ["Jan. 7, 2020", "Jan. 8, 2020"] and nato["inserted_words"] == 0
    assert "Date" in Path(nato["report"]).read_text(encoding="utf-8")
    line = CliRunner().invoke(cli, ["--config", str(config), "check", NATO]).stdout
    assert line.strip() == f"{NATO}: unchanged"


def test_a_target_can_treat_chrome_as_content(
        write_config: WriteConfig, baseline_dir: Path, server: PageServer) -> None:
    targets = [{"name": name, "url": server.url(path), "profile": "defense.gov", "timeout": 5, "chrome": "content"}
               for name, path in DEMO_PAGES.items()]
    serve_real(server)
    result = run(write_config(targets))
    assert result.exit_code == 1
    assert all(i["alarm"] and i["places"] == ["banner"] and not i["note"] for i in json.loads(result.stdout))


def test_a_move_to_another_host_is_reported_once_with_the_url_to_configure(tmp_path: Path) -> None:
    html, _ = page(Variant())
    with PageServer({"/a": Page(html.encode("utf-8"))}) as old, PageServer({"/a": Page(html.encode())}) as new:
        moved_to = f"http://localhost:{new.url('/a').rsplit(':', 1)[1]}"  # another host name, on loopback
        config = tmp_path / "config.yaml"
        config.write_text(json.dumps({"snapshots_dir": "s", "reports_dir": "r", "fetch": {"retries": 0},
                                      "targets": [{"name": "moving", "url": old.url("/a"), "profile": "defense.gov",
                                                   "timeout": 5}]}), encoding="utf-8")
        assert run(config).exit_code == 0
        old.set("/a", Page(b"", status=301, headers={"Location": moved_to}))
        result = run(config)
        item = json.loads(result.stdout)[0]
        assert result.exit_code == 1 and item["final_url"] == moved_to, item
        line = CliRunner().invoke(cli, ["--config", str(config), "check"]).stdout
        assert "unchanged" in line, "the move is reported once"
        old.set("/a", Page(html.encode("utf-8")))
        run(config)
        old.set("/a", Page(b"", status=301, headers={"Location": moved_to}))
        line = CliRunner().invoke(cli, ["--config", str(config), "check"]).stdout
        assert f"the page moved to localhost: set the target's url to {moved_to}" in line
