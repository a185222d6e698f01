"""`monitor verify`: every kind of damage is found, `--repair` quarantines it and leaves a whole store."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli.main import cli
from monitor.daemon import run_checks
from monitor.review import DB_NAME, ReviewStore
from monitor.store import SnapshotStore
from monitor.verify import verify
from tests.conftest import NATO, ReportSite

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def newest_snapshot(site: ReportSite, suffix: str) -> Path:
    return sorted((site.settings.snapshots_dir / NATO).glob(f"2*{suffix}"))[-1]


def newest_report(site: ReportSite, suffix: str) -> Path:
    return sorted((site.settings.reports_dir / NATO).glob(f"2*{suffix}"))[-1]


def append(path: Path, data: bytes = b"tampered") -> None:
    with path.open("ab") as fh:
        fh.write(data)


def flip_a_byte(path: Path) -> None:
    """Damage the WARC file at `path` in the middle of its last record (a bad disk block)."""
    data = bytearray(path.read_bytes())
    data[len(data) - 200] ^= 0x55
    path.write_bytes(bytes(data))


def json_version(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["version"] = 99
    path.write_text(json.dumps(doc), encoding="utf-8")


Damage = Callable[[ReportSite], Path]
DAMAGE: dict[str, tuple[Damage, str]] = {
    "text-tampered": (lambda s: (append(p := newest_snapshot(s, ".txt")), p)[1], "sha256"),
    "text-missing": (lambda s: (newest_snapshot(s, ".txt").unlink(), newest_snapshot(s, ".json"))[1],
                     "cannot read"),
    "metadata-truncated": (lambda s: ((p := newest_snapshot(s, ".json")).write_bytes(p.read_bytes()[:40]), p)[1],
                           "cannot read"),
    "metadata-unknown-version": (lambda s: (json_version(p := newest_snapshot(s, ".json")), p)[1],
                                 "unsupported format version"),
    "warc-record-corrupt": (lambda s: flip_a_byte(p := sorted((s.settings.snapshots_dir / NATO)
                                                              .glob("*.warc.gz"))[-1]) or p, "damaged WARC record"),
    "state-garbage": (lambda s: ((p := s.settings.snapshots_dir / NATO / "state.json").write_text("{"), p)[1],
                      "state not readable"),
    "sidecar-garbage": (lambda s: ((p := newest_report(s, ".json")).write_text("[]"), p)[1],
                        "sidecar not readable"),
    "report-html-missing": (lambda s: (newest_report(s, ".html").unlink(), newest_report(s, ".json"))[1],
                            "lacks its .html"),
    "review-db-garbage": (lambda s: ((p := s.settings.reports_dir / DB_NAME).write_bytes(b"not sqlite" * 100),
                                     p)[1], "review database"),
    "index-unreadable": (lambda s: ((p := s.settings.reports_dir / "index.html").write_bytes(b"\xff\xfe\x00bad"),
                                    p)[1], "index not readable"),
    "feed-broken": (lambda s: (append(p := s.settings.reports_dir / "feed.atom", b"<unclosed"), p)[1],
                    "feed not readable"),
}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_damage_is_found_repaired_and_the_monitor_goes_on(report_site: ReportSite, name: str) -> None:
    settings = report_site.settings
    ReviewStore(settings.reports_dir).mark(NATO, report_site.refs[0].split("/")[1], when=NOW)
    assert verify(settings.snapshots_dir, settings.reports_dir, now=NOW).findings == []
    damage, problem = DAMAGE[name]
    path = damage(report_site)
    found = verify(settings.snapshots_dir, settings.reports_dir, now=NOW)
    assert any(path in f.paths and problem in f.problem for f in found.errors), found.findings
    fixed = verify(settings.snapshots_dir, settings.reports_dir, repair=True, now=NOW)
    assert fixed.unrepaired == [] and fixed.errors
    if fixed.quarantine:
        record = json.loads((fixed.quarantine / "verify.json").read_text(encoding="utf-8"))
        assert record["version"] == 1 and record["findings"]
    again = verify(settings.snapshots_dir, settings.reports_dir, now=NOW)
    assert again.findings == [], again.findings
    store = SnapshotStore(settings.snapshots_dir)
    for snapshot in store.history(NATO):
        store.read_text(snapshot)
    assert run_checks(settings, settings.targets).count("error") == 0, "checks work on the repaired store"


def test_leftovers_of_interrupted_writes_are_notices_not_damage(report_site: ReportSite) -> None:
    settings = report_site.settings
    folder = settings.snapshots_dir / NATO
    (folder / "20991231T000000.000000Z-0123456789ab.txt").write_text("half a save")
    (folder / ".state.json.abc123.tmp").write_text("{")
    (settings.reports_dir / NATO / "20991231T000000.000000Z-0123456789ab.html").write_text("<html>")
    index = settings.reports_dir / "index.html"
    index.write_text(index.read_text(encoding="utf-8").replace(report_site.refs[0], "gone/x"), encoding="utf-8")
    found = verify(settings.snapshots_dir, settings.reports_dir, now=NOW)
    assert found.errors == [] and len(found.findings) == 4, found.findings
    assert any("index out of date: 1 reports missing" in f.problem for f in found.findings)
    assert {f.severity for f in found.findings} == {"notice"}
    fixed = verify(settings.snapshots_dir, settings.reports_dir, repair=True, now=NOW)
    assert all(f.action for f in fixed.findings)
    assert verify(settings.snapshots_dir, settings.reports_dir, now=NOW).findings == []


def test_verify_cli_exit_codes_and_json(report_site: ReportSite) -> None:
    config = str(report_site.settings.config_path)
    clean = CliRunner().invoke(cli, ["--config", config, "verify"])
    assert clean.exit_code == 0 and clean.stdout.startswith("verify: ") and "0 damaged" in clean.stdout
    append(newest_snapshot(report_site, ".txt"))
    damaged = CliRunner().invoke(cli, ["--config", config, "verify", "--json"])
    assert damaged.exit_code == 2
    doc = json.loads(damaged.stdout)
    assert doc["errors"] >= 1 and doc["unrepaired"] == doc["errors"]
    repaired = CliRunner().invoke(cli, ["--config", config, "verify", "--repair"])
    assert repaired.exit_code == 0 and "repaired" in repaired.stdout and "quarantine: " in repaired.stdout
    assert CliRunner().invoke(cli, ["--config", config, "verify"]).exit_code == 0




def test_a_target_page_emptied_by_a_power_cut_is_a_notice_and_is_made_again(report_site: ReportSite) -> None:
    # The site's pages are written atomically but without fsync: a power cut may leave one empty.
    settings = report_site.settings
    history = settings.reports_dir / NATO / "history.html"
    index = settings.reports_dir / NATO / "index.html"
    whole = history.read_bytes()
    history.write_bytes(b"")
    index.write_bytes(index.read_bytes()[:100])
    found = verify(settings.snapshots_dir, settings.reports_dir, now=NOW)
    assert found.errors == [] and {f.paths[0] for f in found.findings} == {history, index}, found.findings
    assert all("cut short" in f.problem for f in found.findings)
    fixed = verify(settings.snapshots_dir, settings.reports_dir, repair=True, now=NOW)
    assert fixed.regenerated and all(f.action == "regenerated" for f in fixed.findings)
    assert history.read_bytes().rstrip().endswith(b"</html>") and len(history.read_bytes()) > len(whole) // 2
    assert verify(settings.snapshots_dir, settings.reports_dir, now=NOW).findings == []
