"""CLI review commands: reports, show, review, serve (serve as a real subprocess on a free loopback port)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from monitor.cli.main import cli
from monitor.review import ReviewStore
from tests.conftest import MATTIS, NATO, ReportSite, ReviewServer


def invoke(site: ReportSite, *args: str):
    return CliRunner().invoke(cli, ["--config", str(site.settings.config_path), *args], catch_exceptions=False)


def test_reports_lists_newest_first_and_filters(report_site: ReportSite) -> None:
    out = invoke(report_site, "reports")
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert [re.search(r"  (\S+/\S+)  ", line).group(1) for line in lines] == report_site.refs
    assert all(line.startswith("[ ] ") for line in lines)
    assert len(invoke(report_site, "reports", "--target", NATO).stdout.splitlines()) == 2
    rows = json.loads(invoke(report_site, "reports", "--json").stdout)
    assert [r["ref"] for r in rows] == report_site.refs and rows[0]["reviewed"] is False
    assert Path(rows[0]["html"]).exists()


def test_review_marks_and_the_lists_agree(report_site: ReportSite) -> None:
    ref = next(r for r in report_site.refs if r.startswith(MATTIS))
    short = ref.split("-")[-1][:8]  # the content hash is enough to name a report
    out = invoke(report_site, "review", short, "--note", "Hostile test text", "--significance", "0.9")
    assert out.exit_code == 0 and out.stdout.strip() == f"{ref}: reviewed"
    assert ref not in invoke(report_site, "reports", "--unreviewed").stdout
    assert "[x] " in invoke(report_site, "reports").stdout
    rows = {r["ref"]: r for r in json.loads(invoke(report_site, "reports", "--json").stdout)}
    assert rows[ref]["review"]["note"] == "Hostile test text" and rows[ref]["review"]["significance"] == 0.9
    index = (report_site.settings.reports_dir / "index.html").read_text(encoding="utf-8")
    assert "<title>(2) Change reports</title>" in index, "the static index follows the CLI"
    assert invoke(report_site, "review", short, "--undo").exit_code == 0
    assert ReviewStore(report_site.settings.reports_dir).load_all() == {}


def test_show_prints_the_text_form_with_review_state(report_site: ReportSite) -> None:
    ref = report_site.refs[-1]  # the first NATO edit
    out = invoke(report_site, "show", ref)
    assert out.exit_code == 0
    assert out.stdout.startswith(f"Report {ref}\nNot reviewed yet\n")
    assert "[-today-]{+on Tuesday+}" in out.stdout, "plain marks when not on a terminal"
    invoke(report_site, "review", ref, "--note", "ok")
    assert "Reviewed " in invoke(report_site, "show", ref).stdout


@pytest.mark.parametrize(("args", "message"), [
    (("show", "zzzz"), "no report matches 'zzzz'"),
    (("show", f"{NATO}/"), "matches 2 reports"),
    (("review", f"{NATO}/", "--significance", "0.5"), "matches 2 reports"),
    (("review", "x", "--significance", "3"), "3.0 is not in the range 0<=x<=1"),
    (("serve", "--host", "0.0.0.0"), "not a loopback address: give --token or set MONITOR_TOKEN"),
    (("serve", "--token", "short"), "the token is too short"),
])
def test_bad_review_commands_fail_with_one_line(report_site: ReportSite, args: tuple[str, ...], message: str) -> None:
    out = CliRunner().invoke(cli, ["--config", str(report_site.settings.config_path), *args])
    assert out.exit_code == 2
    assert message in out.stderr and out.stderr.strip().splitlines()[-1].startswith("Error: ")


def test_serve_answers_on_loopback_and_stops_on_sigterm(review_server: ReviewServer) -> None:
    url, proc = review_server.url, review_server.proc
    session = requests.Session()
    session.trust_env = False
    page = session.get(url + "reports", timeout=10)
    assert page.status_code == 200 and "<title>(3) Change reports" in page.text
    assert "<title>(3) Watches" in session.get(url, timeout=10).text, "the front page is the watches"
    assert session.get(url + "static/app.js", timeout=10).status_code == 200
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert proc.wait(timeout=10) == 0 and time.monotonic() - started < 10


def test_the_app_token_never_reaches_the_output_or_the_logs(report_site: ReportSite) -> None:
    token = "tok-" + "7" * 28
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["MONITOR_TOKEN"] = token
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(report_site.settings.config_path),
                             "-vv", "serve", "--host", "127.0.0.1", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        assert "token required" in first
        url = re.search(r"(http://\S+/)", first).group(1)
        session = requests.Session()
        session.trust_env = False
        assert session.get(url, timeout=10, allow_redirects=False).status_code == 302
        assert session.get(url + "?token=wrong-token-wrong-token", timeout=10).status_code == 403
        assert session.get(url + f"?token={token}", timeout=10).status_code == 200
        assert session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert token not in first + out + err
