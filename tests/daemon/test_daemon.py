"""`monitor run` as a real subprocess: scheduled checks, SIGTERM, SIGHUP, one daemon per dir, kill -9 safety."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path

import yaml
from click.testing import CliRunner

from monitor.cli.main import cli
from monitor.demo import DEMO_PAGES, edited_html
from monitor.demo.server import Page, PageServer, RequestInfo
from monitor.store import SnapshotStore, read_json
from tests.conftest import MATTIS, NATO, Daemon

FAST = {"startup_spread": 0.2, "host_delay": 0, "grace": 5, "lock_wait": 10}


def wait_for(condition: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def write(path: Path, targets: list[dict], **top: object) -> Path:
    doc = {"snapshots_dir": "snapshots", "reports_dir": "reports", "fetch": {"retries": 0},
           "daemon": FAST, **top, "targets": targets}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def demo_target(server: PageServer, name: str, every: str = "1s") -> dict:
    return {"name": name, "url": server.url(DEMO_PAGES[name]), "profile": "defense.gov", "every": every,
            "timeout": 5}


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp")]


def test_scheduled_checks_report_an_edit_and_sigterm_exits_cleanly(
        tmp_path: Path, server: PageServer, baseline_dir: Path, daemons: Callable[..., Daemon]) -> None:
    config = write(tmp_path / "config.yaml", [demo_target(server, NATO), demo_target(server, MATTIS)])
    started = time.monotonic()
    daemon = daemons(config, tmp_path / "daemon.log")
    store = SnapshotStore(tmp_path / "snapshots")
    wait_for(lambda: store.load_state(NATO).last_status, what="the first check")
    assert store.load_state(NATO).last_status == "unchanged"
    server.set(DEMO_PAGES[NATO], Page(edited_html(NATO)))
    report = wait_for(lambda: list((tmp_path / "reports" / NATO).glob("2*.html")), what="a change report")
    assert "on Tuesday" in report[0].read_text(encoding="utf-8")
    assert time.monotonic() - started < 10

    status = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"])
    doc = json.loads(status.stdout)
    assert doc["daemon"] == {"running": True, "pid": daemon.proc.pid}
    assert {row["target"] for row in doc["targets"]} == {NATO, MATTIS}
    assert all(row["next_run"] for row in doc["targets"])

    stop_started = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - stop_started < 3
    assert leftovers(tmp_path) == []
    log = daemon.text()
    assert f"INFO monitor.check: {NATO}: changed" in log and "daemon stopped" in log
    assert "Traceback" not in log
    after = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"])
    assert json.loads(after.stdout)["daemon"]["running"] is False


def test_sighup_reloads_the_config_and_keeps_the_old_one_when_invalid(
        tmp_path: Path, server: PageServer, baseline_dir: Path, daemons: Callable[..., Daemon]) -> None:
    config = write(tmp_path / "config.yaml", [demo_target(server, NATO)])
    daemon = daemons(config, tmp_path / "daemon.log")
    wait_for((tmp_path / "snapshots" / NATO / "check.json").exists, what="the first check")

    config.write_text("targets: [{name: broken, url: nope}]\n", encoding="utf-8")
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "config reload refused" in daemon.text(), what="the refusal")
    checks = daemon.text().count(f"monitor.check: {NATO}:")
    wait_for(lambda: daemon.text().count(f"monitor.check: {NATO}:") > checks, what="checks to go on")

    write(config, [demo_target(server, NATO), demo_target(server, MATTIS)])
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for((tmp_path / "snapshots" / MATTIS / "check.json").exists, what="the added target's first check")
    assert "config reloaded: 1 added, 0 removed, 0 changed" in daemon.text()
    assert daemon.stop() == 0


def test_a_second_daemon_on_the_same_data_dir_is_refused(
        tmp_path: Path, server: PageServer, baseline_dir: Path, daemons: Callable[..., Daemon]) -> None:
    config = write(tmp_path / "config.yaml", [demo_target(server, NATO)])
    first = daemons(config, tmp_path / "first.log")
    wait_for((tmp_path / "snapshots" / NATO / "check.json").exists, what="the first daemon")
    second = daemons(config, tmp_path / "second.log")
    assert second.proc.wait(timeout=10) == 2
    assert f"Error: another daemon (pid {first.proc.pid}) is already running on" in second.text()
    assert first.proc.poll() is None
    assert first.stop() == 0


def changing_page(prefix: str) -> Callable[[RequestInfo], Page]:
    """A page whose text differs on every request: every check stores a snapshot and writes a report."""
    counter = count()
    return lambda _: Page(f"<html><body><main><p>{prefix}</p><p>version {next(counter)}</p></main></body></html>"
                          .encode())


def test_one_off_checks_during_a_daemon_run_never_corrupt_the_store(
        tmp_path: Path, server: PageServer, daemons: Callable[..., Daemon]) -> None:
    targets = []
    for i in range(3):
        server.set(f"/p{i}", changing_page(f"page {i}"))
        targets.append({"name": f"page-{i}", "url": server.url(f"/p{i}"), "every": "1s", "timeout": 5})
    config = write(tmp_path / "config.yaml", targets)
    daemon = daemons(config, tmp_path / "daemon.log")
    for i in range(3):
        wait_for((tmp_path / "snapshots" / f"page-{i}" / "check.json").exists, what="the daemon's first checks")
    for _ in range(4):
        result = CliRunner().invoke(cli, ["--config", str(config), "check", "--json"])
        assert result.exit_code == 1, result.output
    assert daemon.stop() == 0
    assert_store_consistent(tmp_path)
    store = SnapshotStore(tmp_path / "snapshots")
    assert all(len(store.history(f"page-{i}")) >= 5 for i in range(3))


def assert_store_consistent(root: Path) -> None:
    """Every visible snapshot and report sidecar reads back and verifies."""
    store = SnapshotStore(root / "snapshots")
    for folder in (root / "snapshots").iterdir():
        if folder.is_dir():
            for snapshot in store.history(folder.name):
                store.read_text(snapshot)
                store.read_raw(snapshot)
            store.load_state(folder.name)
    for sidecar in (root / "reports").glob("*/*.json"):
        assert read_json(sidecar)["version"] == 1
        assert sidecar.with_suffix(".html").exists()


def test_kill_9_during_checks_leaves_every_snapshot_readable_and_a_restart_proceeds(
        tmp_path: Path, server: PageServer, daemons: Callable[..., Daemon]) -> None:
    targets = []
    for i in range(4):
        server.set(f"/k{i}", changing_page(f"kill test {i}" + " filler text" * 2000))
        targets.append({"name": f"kill-{i}", "url": server.url(f"/k{i}"), "every": "1s", "timeout": 5})
    config = write(tmp_path / "config.yaml", targets, daemon={**FAST, "workers": 4})
    for round_ in range(5):
        daemon = daemons(config, tmp_path / f"daemon-{round_}.log")
        wait_for(lambda r=round_: sum(1 for _ in (tmp_path / "snapshots").glob("kill-*/*.json")) > 4 * (r + 1),
                 what="snapshots being written")
        time.sleep(0.05 * round_)
        os.kill(daemon.proc.pid, signal.SIGKILL)
        daemon.proc.wait(timeout=5)
        assert_store_consistent(tmp_path)
    final = daemons(config, tmp_path / "final.log")
    before = len(SnapshotStore(tmp_path / "snapshots").history("kill-0"))
    wait_for(lambda: len(SnapshotStore(tmp_path / "snapshots").history("kill-0")) > before, what="a new snapshot")
    assert final.stop() == 0
    assert_store_consistent(tmp_path)


def test_the_daemon_mails_a_change_once(tmp_path: Path, server: PageServer, baseline_dir: Path,
                                        daemons: Callable[..., Daemon]) -> None:
    from tests.notify.test_email import smtp

    with smtp() as (mailer, port):
        config = write(tmp_path / "config.yaml", [demo_target(server, NATO)],
                       email={"enabled": True, "host": "127.0.0.1", "port": port, "security": "none",
                              "from": "m@example.org", "to": ["a@example.org"], "flush_every": 1,
                              "timeout": 5})
        daemon = daemons(config, tmp_path / "daemon.log")
        wait_for((tmp_path / "snapshots" / NATO / "check.json").exists, what="the first check")
        server.set(DEMO_PAGES[NATO], Page(edited_html(NATO)))
        wait_for(lambda: mailer.messages, what="a mail from the daemon")
        time.sleep(2.5)  # several more checks and mailing passes: the same change is never mailed again
        assert daemon.stop() == 0
    assert len(mailer.messages) == 1, daemon.text()
    assert mailer.messages[0]["Subject"].startswith("[monitor] Changed: nato-training-suspended (+5/-1 words)")
