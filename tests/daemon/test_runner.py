"""daemon.runner: a one-off run split over worker processes checks every target exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from monitor.config.settings import parse_settings
from monitor.daemon import run_checks
from monitor.daemon.runner import plan_processes
from monitor.demo import page_html
from monitor.demo.server import Page, PageServer
from monitor.models import Settings
from tests.conftest import NATO

PAGES = 120  # enough for two worker processes (runner.MIN_TARGETS_PER_PROCESS is 50)


def _settings(tmp_path: Path, server: PageServer, per_host: int) -> Settings:
    lines = "".join(f"  - {{name: page-{i}, url: '{server.url(f'/p/{i}')}', profile: defense.gov, timeout: 5, "
                    f"fetch: {{via: http}}}}\n" for i in range(PAGES))
    return parse_settings(f"fetch: {{retries: 0}}\ndaemon: {{workers: 4, per_host: {per_host}, host_delay: 0}}\n"
                          f"targets:\n{lines}", base_dir=tmp_path)


def test_processes_sharing_a_host_take_every_target_once_from_one_queue(tmp_path: Path) -> None:
    html = page_html(NATO)
    # Some pages answer slowly, so the processes finish their first targets at different times.
    routes = {f"/p/{i}": Page(html, delay=0.05 if i % 7 == 0 else 0.0) for i in range(PAGES)}
    with PageServer(routes) as server:
        settings = _settings(tmp_path, server, per_host=4)  # 4 >= 2 processes: the host is shared
        first = run_checks(settings, settings.targets, processes=2)
        assert [r.target for r in first.results] == [t.name for t in settings.targets]
        assert {r.status for r in first.results} == {"new"}
        assert Counter(r.path for r in server.requests) == {f"/p/{i}": 1 for i in range(PAGES)}
        again = run_checks(settings, settings.targets, processes=2)
        assert {r.status for r in again.results} == {"unchanged"}
        assert Counter(r.path for r in server.requests) == {f"/p/{i}": 2 for i in range(PAGES)}
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert all(f">page-{i}</a>" in index and (tmp_path / "reports" / f"page-{i}" / "index.html").exists()
               for i in range(PAGES)), "every target listed, and its pages written by the process that checked it"


def test_a_host_kept_in_one_process_is_checked_whole_there(tmp_path: Path) -> None:
    with PageServer({f"/p/{i}": Page(page_html(NATO)) for i in range(PAGES)}) as server:
        settings = _settings(tmp_path, server, per_host=1)  # 1 < 2 processes: the host stays in one
        report = run_checks(settings, settings.targets, processes=2)
        assert [r.status for r in report.results] == ["new"] * PAGES
        assert Counter(r.path for r in server.requests) == {f"/p/{i}": 1 for i in range(PAGES)}


def test_the_plan_shares_hosts_only_when_each_process_can_have_its_part_of_per_host(tmp_path: Path) -> None:
    with PageServer({}) as one, PageServer({}) as two:
        lines = "".join(f"  - {{name: p-{i}, url: '{(one if i < 120 else two).url(f'/{i}')}'}}\n"
                        for i in range(200))

        def plan(per_host: int, cpus: int) -> tuple[list[tuple[Settings, list[str]]], bool]:
            settings = parse_settings(f"daemon: {{workers: 8, per_host: {per_host}}}\ntargets:\n{lines}",
                                      base_dir=tmp_path)
            parts, shared = plan_processes(settings, settings.targets, cpus)
            return [(part, [t.name for t in chunk]) for part, chunk in parts], shared

        parts, shared = plan(per_host=4, cpus=2)  # shared: every process has the run, in turns across hosts
        assert shared and [p.daemon.per_host for p, _ in parts] == [2, 2]
        assert parts[0][1] == parts[1][1] and parts[0][1][:4] == ["p-0", "p-120", "p-1", "p-121"]
        assert sorted(parts[0][1]) == sorted(f"p-{i}" for i in range(200))
        # Two hosts on four cores with per_host 3: not shared (3 < 4), so per_host stays whole and a host's
        # targets stay in one process, even though only two processes are used.
        parts, shared = plan(per_host=3, cpus=4)
        assert not shared and [p.daemon.per_host for p, _ in parts] == [3, 3]
        assert sorted(len(names) for _, names in parts) == [80, 120]
