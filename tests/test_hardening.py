"""Every check bounded, every message clear: the items of the hardening issue, one test each."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.check import CheckContext, check_target
from monitor.cli.main import cli
from monitor.cli.progress import Progress
from monitor.config import load_settings
from monitor.config.settings import parse_settings
from monitor.daemon import run_checks
from monitor.demo import DEMO_PAGES
from monitor.demo.server import Page, PageServer
from monitor.errors import ConfigError, PatternError
from monitor.fetch import Fetcher, decode_html
from monitor.models import FetchSettings, Target
from monitor.patterns import Budget, apply_ignore
from monitor.store import SnapshotStore
from tests.conftest import MATTIS, NATO, WriteConfig

SLOW = "(a|aa)+$"  # exponential backtracking on a run of a's that does not end the line


def invoke(*args: str, **kwargs: object):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


@pytest.mark.timeout(30)
def test_a_backtracking_ignore_pattern_is_a_clear_error_within_the_targets_budget(tmp_path: Path) -> None:
    page = f"<html><body><main><p>{'a' * 40}b</p><p>rest</p></main></body></html>".encode()
    with PageServer({"/p": Page(page)}) as server, Fetcher(FetchSettings(user_agent="t", retries=0)) as fetcher:
        target = Target(name="redos", url=server.url("/p"), timeout=1, ignore=(SLOW,))
        ctx = CheckContext(fetcher=fetcher, store=SnapshotStore(tmp_path / "s"), reports_dir=tmp_path / "r")
        assert check_target(target, ctx).status == "new"
        for n in range(2):  # the stored text does not trap the target: each check ends, as an error
            server.set("/p", Page(page.replace(b"rest", f"rest {n}".encode())))  # a change: the patterns run
            started = time.monotonic()
            result = check_target(target, ctx)
            assert time.monotonic() - started < 5
            assert result.status == "error" and result.error_kind == "pattern"
            assert "'(a|aa)+$' ran past the check's 1 s budget" in result.error


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.from_regex(r"[a()|+*?\\wsd.^$\[\]{}0-9,]{1,12}", fullmatch=True), min_size=1, max_size=3),
       st.text(alphabet="ab \n.x", max_size=400))
def test_any_patterns_on_any_text_end_within_the_budget(patterns: list[str], text: str) -> None:
    started = time.monotonic()
    try:
        result, removed = apply_ignore(text, patterns, Budget(0.2))
        assert isinstance(result, str) and all(isinstance(r, str) for r in removed)
    except PatternError as exc:
        assert "pattern" in str(exc)
    assert time.monotonic() - started < 1.5


def test_a_huge_pattern_or_config_is_refused_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    doc = {"targets": [{"name": "a", "url": "http://127.0.0.1:9/", "ignore": ["x" * 2_000_000]}]}
    with pytest.raises(ConfigError, match=r"targets\[0\]\.ignore: pattern is 2,000,000 characters long; at most 1,000"):
        parse_settings(json.dumps(doc))
    with pytest.raises(ConfigError, match=r"selector is 5,000 characters long"):
        parse_settings(json.dumps({"targets": [{"name": "a", "url": "http://h/", "select": "p" * 5000}]}))
    big = tmp_path / "big.yaml"
    with big.open("wb") as out:
        out.truncate(17 * 1024 * 1024)
    with pytest.raises(ConfigError, match=r"big.yaml: the config file is 17 MiB; at most 16 MiB are read"):
        load_settings(big)
    assert time.monotonic() - started < 5


def test_normalize_with_a_broken_selector_is_one_line() -> None:
    result = CliRunner().invoke(cli, ["normalize", "-", "--select", "p[["], input=b"<p>x</p>")
    assert result.exit_code == 2
    assert result.stderr == ("Error: <stdin>: 'p[[' is not a valid CSS selector: Malformed attribute selector at "
                             "position 1\n")


def test_utf8_with_a_few_bad_bytes_stays_utf8_and_nul_bytes_are_dropped() -> None:
    assert decode_html(b"caf\xc3\xa9 ok then bad \xff\xfe\xc3\x28", "text/html; charset=utf-8") == \
        "café ok then bad \ufffd\ufffd\ufffd("
    assert decode_html("café naïve".encode("cp1252"), "text/html; charset=utf-8") == "café naïve"
    assert decode_html(b"<p>a\x00b</p>", "text/html") == "<p>ab</p>"


def test_a_page_with_a_few_nul_bytes_is_checked(tmp_path: Path) -> None:
    page = b"<html><body><main><p>one\x00 two</p>\x00<p>three\x00</p></main></body></html>"
    with PageServer({"/p": Page(page)}) as server, Fetcher(FetchSettings(user_agent="t", retries=0)) as fetcher:
        ctx = CheckContext(fetcher=fetcher, store=SnapshotStore(tmp_path / "s"), reports_dir=tmp_path / "r")
        result = check_target(Target(name="nul", url=server.url("/p")), ctx)
    assert result.status == "new", result.error
    assert ctx.store.read_text(ctx.store.latest("nul")) == "one two\n\nthree"


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1:8765/p/1 extra", "contains a space or a control character"),
    ("http://127.0.0.1:99999/", "has an invalid port"),
])
def test_unusable_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings(json.dumps({"targets": [{"name": "a", "url": url}]}))


def test_config_errors_say_list_and_name_duplicates_beside_other_errors() -> None:
    source = ("targets:\n  - {name: a, url: 'http://h/', exclude: '.x'}\n  - {name: a, url: 'http://h/', "
              "ignore: {a: 1}}\n  - {name: b, url: 'http://h/', timout: 3}\n")
    with pytest.raises(ConfigError) as caught:
        parse_settings(source)
    problems = caught.value.problems
    assert "<config>:3: targets[1].name: duplicate target name 'a' (also targets[0])" in problems
    assert any("targets[0].exclude: must be a list" in p for p in problems)
    assert any("targets[1].ignore: must be a list" in p for p in problems)
    assert any("targets[2].timout: unknown key" in p for p in problems)


def test_history_of_an_unknown_target_is_an_error(write_config: WriteConfig, baseline_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(write_config()), "history", "nosuch"])
    assert result.exit_code == 2 and "unknown target 'nosuch' (configured: nato-training-suspended" in result.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_check_shows_each_result_as_it_ends_and_progress_in_a_terminal(
        write_config: WriteConfig, baseline_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings_ = load_settings(write_config())
    seen: list[str] = []
    report = run_checks(settings_, settings_.targets, on_result=lambda r: seen.append(r.target))
    assert sorted(seen) == sorted(t.name for t in settings_.targets) and len(report.results) == 2
    terminal = _Terminal()
    progress = Progress(2, stream=terminal)
    for result in report.results:
        progress(result)
    progress.close()
    assert "2/2 checked, 0 errors" in terminal.getvalue() and terminal.getvalue().endswith("\r\x1b[K")
    assert capsys.readouterr().out.count(": unchanged") == 2
    quiet = _Terminal()
    Progress(2, stream=quiet, quiet=True)(report.results[0])  # --json: no lines, no progress
    assert quiet.getvalue() == "" and capsys.readouterr().out == ""


def test_status_says_the_summary_first_lists_failing_ones_and_exits_1(
        write_config: WriteConfig, baseline_dir: Path, server: PageServer) -> None:
    config = str(write_config())
    server.set(DEMO_PAGES[MATTIS], Page(b"gone", status=410))
    invoke("--config", config, "check")
    result = invoke("--config", config, "status")
    lines = result.stdout.splitlines()
    assert result.exit_code == 1
    assert lines[0].startswith("2 targets: 1 ok, 1 failing, 0 never checked; daemon: not running")
    assert " UTC (" in lines[1] and "+00:00" not in result.stdout
    failing = invoke("--config", config, "status", "--failing").stdout.splitlines()
    assert len(failing) == 2 and "error: HTTP 410 Gone" in failing[1] and NATO not in failing[1]
    assert invoke("--version").stdout.startswith("monitor, version ")


def test_lists_say_what_changed_beyond_words(write_config: WriteConfig, baseline_dir: Path) -> None:
    from monitor.report.catalog import summary

    assert summary({"kind": "changed", "meta": {"links_added": ["/a"], "links_removed": []}}) == \
        "Changed: links +1/−0"
    assert summary({"kind": "removed", "error": "HTTP 404 Not Found"}) == "Page removed: HTTP 404 Not Found"


def test_a_wrong_host_gets_a_403_that_says_what_to_do(write_config: WriteConfig, baseline_dir: Path) -> None:
    from monitor.web import create_app

    client = create_app(load_settings(write_config())).test_client()
    answer = client.get("/", headers={"Host": "monitor.example:8000"})
    assert answer.status_code == 403 and b"open http://127.0.0.1:<port>/" in answer.data and b"--token" in answer.data
