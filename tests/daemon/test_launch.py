"""`monitor check` split over two processes (daemon/launch.py): the config read here, the checks run in a fork.

A fork only happens with no other thread running, which a pytest process with page servers has not: these
tests run their launches in fresh subprocesses, as `monitor check` runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from monitor.config import load_settings
from monitor.daemon.launch import Launch
from tests.conftest import ROOT, WriteConfig

SCRIPT = """
import json, os, signal, sys
from monitor.daemon.launch import Launch
from monitor.errors import MonitorError
seen = []
with Launch() as launch:
    forked = launch._pid is not None
    from monitor.config import load_settings
    settings = load_settings(sys.argv[1])
    if sys.argv[2] == "kill":
        os.kill(launch._pid, signal.SIGKILL)
    try:
        report = launch.run(settings, settings.targets, on_result=lambda r: seen.append((r.target, os.getpid())))
    except MonitorError as exc:
        print(json.dumps({"error": str(exc)}))
        sys.exit(0)
print(json.dumps({"forked": forked, "statuses": [r.status for r in report.results], "seen": seen,
                  "pid": os.getpid(), "stack_here": "monitor.daemon.runner" in sys.modules}))
"""


def _launch(config: Path, mode: str = "run") -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(config), mode], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_cli_imports_no_stage_before_a_command_runs() -> None:
    probe = ("import sys, monitor.cli.main; print([m for m in ('monitor.daemon.runner', 'monitor.config', "
             "'pydantic', 'requests', 'lxml.etree', 'jinja2', 'monitor.report', 'monitor.store') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_the_checks_run_in_the_forked_process_and_their_results_come_back(write_config: WriteConfig,
                                                                          baseline_dir: Path) -> None:
    out = _launch(write_config())
    assert out["forked"] and not out["stack_here"], "the check stack was loaded and run in the child only"
    assert out["statuses"] and all(s in ("new", "unchanged", "changed") for s in out["statuses"])
    assert [pid for _, pid in out["seen"]] == [out["pid"]] * len(out["statuses"]), "progress is shown here"


def test_a_checking_process_that_dies_is_a_one_line_error(write_config: WriteConfig) -> None:
    out = _launch(write_config(), "kill")
    assert out["error"] == "the checking process ended without a report (killed by signal 9)"


def test_an_invalid_config_ends_the_checking_process_with_it(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("targets: [{name: Bad Name, url: 'http://127.0.0.1:1/'}]\n")
    done = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "check"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: ") and "config.yaml" in done.stderr and done.stdout == ""


def test_with_another_thread_running_the_checks_stay_in_this_process(write_config: WriteConfig,
                                                                     baseline_dir: Path) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, args=(10,))
    other.start()
    try:
        settings = load_settings(write_config())
        with Launch() as launch:
            assert launch._pid is None, "a fork copies only the calling thread: no fork then"
            report = launch.run(settings, settings.targets)
    finally:
        stop.set()
        other.join()
    assert len(report.results) == len(settings.targets)
