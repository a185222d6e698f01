"""Changing what is watched from the CLI: add, edit, pause, resume, remove keep config.yaml's comments and
order, are validated like loading (nothing written when refused), and a running daemon reloads."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from monitor.cli.main import cli
from monitor.demo import DEMO_PAGES
from monitor.demo.server import PageServer

NATO, MATTIS = DEMO_PAGES

CONFIG = """\
# our watch list (comments must survive edits)
snapshots_dir: snapshots   # beside this file
reports_dir: reports

targets:
  # the NATO story, first of all
  - name: nato
    url: {nato}   # moved in 2025?
    profile: defense.gov
    every: 6h
"""


def _run(config: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def _config(tmp_path: Path, server: PageServer) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(nato=server.url(DEMO_PAGES[NATO])), encoding="utf-8")
    return path


def test_add_edit_pause_resume_remove_keep_the_file_s_comments(tmp_path: Path, server: PageServer) -> None:
    config = _config(tmp_path, server)
    original = config.read_text()
    out = _run(config, "add", server.url(DEMO_PAGES[MATTIS]), "--name", "mattis", "--profile", "defense.gov",
               "--every", "1h")
    assert out.exit_code == 0, out.output
    assert "added mattis" in out.stdout and "profile defense.gov:" in out.stdout and "blocks" in out.stdout
    assert "Remarks by Secretary Mattis" in out.stdout, "the first fetch shows what the profile extracts"
    text = config.read_text()
    assert text.startswith(original.rstrip("\n")), "what was there stays as it was, comments and all"
    assert "  - name: mattis\n" in text and "    every: 1h\n" in text
    assert _run(config, "edit", "nato", "every=2h", "fetch.via=http").exit_code == 0
    text = config.read_text()
    assert "    every: 2h\n" in text and "    fetch:\n      via: http\n" in text and "# moved in 2025?" in text
    before = config.read_text()
    assert _run(config, "pause", "nato").exit_code == 0 and "    paused: true\n" in config.read_text()
    status = json.loads(_run(config, "status", "--json").stdout)
    assert [t["paused"] for t in status["targets"]] == [True, False]
    assert "nato: paused" in _run(config, "status").stdout
    assert _run(config, "resume", "nato").exit_code == 0 and config.read_text() == before
    assert _run(config, "remove", "mattis").exit_code == 0
    assert "mattis" not in config.read_text() and "# our watch list" in config.read_text()


def test_a_refused_change_writes_nothing_and_says_why(tmp_path: Path, server: PageServer) -> None:
    config = _config(tmp_path, server)
    original = config.read_bytes()
    for args, message in [
        (("edit", "nato", "every=5x"), "targets[0].every: '5x' is not a duration"),
        (("edit", "nato", "profile=nope"), "targets[0].profile"),
        (("edit", "nosuch", "every=1h"), "unknown target 'nosuch'"),
        (("edit", "nato", "every"), "write KEY=VALUE"),
        (("add", "not a url", "--name", "x", "--no-fetch"), "targets[1].url"),
        (("add", server.url("/other"), "--name", "nato", "--no-fetch"), "a target called 'nato' exists already"),
        (("pause", "nosuch"), "unknown target 'nosuch'"),
    ]:
        out = _run(config, *args)
        assert out.exit_code == 2 and message in out.output and "Traceback" not in out.output, (args, out.output)
        assert config.read_bytes() == original, args


def test_paused_targets_are_left_alone_by_a_plain_check_and_removed_data_goes_only_when_asked(
        tmp_path: Path, server: PageServer) -> None:
    config = _config(tmp_path, server)
    _run(config, "add", server.url(DEMO_PAGES[MATTIS]), "--name", "mattis", "--profile", "defense.gov",
         "--no-fetch")
    _run(config, "pause", "mattis")
    out = _run(config, "check", "--json")
    assert [r["target"] for r in json.loads(out.stdout)] == ["nato"]
    assert json.loads(_run(config, "check", "mattis", "--json").stdout)[0]["status"] == "new", "named: checked"
    _run(config, "remove", "mattis")
    assert (tmp_path / "snapshots" / "mattis").is_dir() and (tmp_path / "reports").is_dir()
    out = _run(config, "remove", "nato", "--delete-data")
    assert "deleted" in out.stdout, out.output
    assert not (tmp_path / "snapshots" / "nato").exists()
    assert (tmp_path / "snapshots" / "mattis").is_dir(), "another target's data stays"


def test_a_running_daemon_reloads_after_a_change(tmp_path: Path, server: PageServer,
                                                 daemons: Callable[..., Any]) -> None:
    config = _config(tmp_path, server)
    text = config.read_text().replace("reports_dir: reports\n", "reports_dir: reports\ndaemon: {startup_spread: 0}\n")
    config.write_text(text)
    daemon = daemons(config, tmp_path / "daemon.log")
    deadline = time.monotonic() + 20
    while not (tmp_path / "snapshots" / "daemon.json").exists():
        assert time.monotonic() < deadline, daemon.text()
        time.sleep(0.1)
    out = _run(config, "pause", "nato")
    assert "the daemon (pid" in out.stdout and "reloads the config" in out.stdout, out.output
    while "config reloaded" not in daemon.text():
        assert time.monotonic() < deadline + 10, daemon.text()
        time.sleep(0.1)
    assert daemon.stop() == 0
    assert "nato: paused; not scheduled" in daemon.text()


def test_the_commands_in_a_real_process(tmp_path: Path, server: PageServer) -> None:
    import os
    import subprocess
    import sys

    config = _config(tmp_path, server)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    done = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "add",
                           server.url(DEMO_PAGES[MATTIS]), "--name", "mattis", "--profile", "defense.gov"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0 and "added mattis" in done.stdout and "profile defense.gov:" in done.stdout
    refused = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "edit", "mattis",
                              "every=5x"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert "# our watch list" in config.read_text()
