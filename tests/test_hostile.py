"""Hostile pages, names and secrets: scraped text stays inert everywhere, paths stay inside their folders,
secrets never leak. The inert-ness is checked in a real headless browser, not only by string search."""

from __future__ import annotations

import email
import json
import logging
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from monitor.cli.main import cli
from monitor.config import load_settings
from monitor.demo import page_html
from monitor.errors import ConfigError, StoreError
from monitor.models import EmailSettings
from monitor.report.catalog import read_sidecar
from monitor.report.email import compose
from monitor.store import SnapshotStore
from monitor.web.app import create_app
from tests.conftest import NATO, WriteConfig

TITLE = "Breaking\r\nBcc: victim@example.org &lt;script&gt;window.__pwned=4&lt;/script&gt; \u202eevil\u200b"
BODY = ("<p>&lt;/textarea&gt;&lt;script&gt;window.__pwned=5&lt;/script&gt; {{ 7*7 }} {% if 1 %}x{% endif %} "
        "\u202edesrever\u202c zero\u200bwidth</p>"
        '<p>A <a href="javascript:window.__pwned=6">link</a> and <a href="data:text/html,&lt;script&gt;">data</a>.</p>')
LONG_LINE = " ".join(f"word{i}" for i in range(110_000))  # ~1 MB on one line


def hostile_page() -> bytes:
    html = page_html(NATO).decode("utf-8")
    html = re.sub(r'(<h1 class="maintitle">)(.*?)(</h1>)', lambda m: m.group(1) + TITLE + m.group(3), html, count=1,
                  flags=re.S)
    marker = "<p>Although NATO"
    assert marker in html
    return html.replace(marker, BODY + f"<p>{LONG_LINE}</p>" + marker, 1).encode("utf-8")


@pytest.fixture
def hostile(pipeline: Any, tmp_path: Path) -> dict[str, Any]:
    """A NATO check that finds the hostile edit; returns the report's paths, sidecar and composed mail."""
    run = pipeline(NATO)
    run.serve(page_html(NATO))
    assert run.check().status == "new"
    run.serve(hostile_page())
    result = run.check()
    assert result.status == "changed" and result.report is not None
    doc = read_sidecar(run.ctx.reports_dir, NATO, result.report.stem)
    mail = compose([doc], EmailSettings(enabled=True, to=("analyst@example.org",)), run.ctx.reports_dir,
                   result.checked_at)
    return {"run": run, "report": result.report, "doc": doc, "mail": mail}


def test_the_normalized_text_drops_invisible_controls(hostile: dict[str, Any]) -> None:
    text = SnapshotStore(hostile["run"].ctx.store.root).read_text(
        hostile["run"].ctx.store.latest(NATO))
    assert "\u202e" not in text and "\u200b" not in text and "zerowidth" in text
    assert LONG_LINE in text, "a 1 MB line is kept whole"


def test_report_files_keep_hostile_text_as_text(hostile: dict[str, Any]) -> None:
    html = hostile["report"].read_text(encoding="utf-8")
    assert "<script" not in html and "href=\"javascript" not in html and "href=\"data:" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;window.__pwned=5&lt;/script&gt;" in html
    assert "{{ 7*7 }} {% if 1 %}x{% endif %}" in html, "template syntax from a page is never evaluated"
    assert "javascript:window.__pwned=6" not in html, "javascript: pseudo-links are no links"
    assert "data:text/html,&lt;script&gt;" in html, "a data: link is listed, as text"
    text = hostile["report"].with_suffix(".txt").read_text(encoding="utf-8")
    assert "<script>window.__pwned=5</script>" in text, "the text form is plain text"


def test_mail_headers_cannot_be_injected_and_bodies_stay_inert(hostile: dict[str, Any]) -> None:
    mail: EmailMessage = hostile["mail"]
    parsed = email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed.get_all("To") == ["analyst@example.org"]
    subject = str(parsed["Subject"])
    assert "\n" not in subject and "\r" not in subject and "\u202e" not in subject
    html = parsed.get_body(("html",)).get_content()
    assert "<script" not in html
    assert not re.search(r'href="(?:javascript|data):', html)
    assert "&lt;script&gt;window.__pwned=5&lt;/script&gt;" in html


def test_nothing_runs_in_a_browser_from_report_mail_or_app(hostile: dict[str, Any], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.web.test_browser import ARGS, CHROMIUM

    run = hostile["run"]
    mail_html = email.message_from_bytes(hostile["mail"].as_bytes(), policy=email.policy.default).get_body(
        ("html",)).get_content()
    settings = load_settings(_config(tmp_path, run))
    app_html = create_app(settings).test_client().get(f"/r/{NATO}/{hostile['report'].stem}").get_data(as_text=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for name, load in (("report", lambda: page.goto(hostile["report"].as_uri())),
                           ("mail", lambda: page.set_content(mail_html)),
                           ("app", lambda: page.set_content(app_html))):
            load()
            assert page.evaluate("typeof window.__pwned") == "undefined", name
            assert page.locator("a[href^='javascript:'], a[href^='data:']").count() == 0, name
            for link in page.locator("a").all():  # follow every in-page link (the views): nothing runs
                if (link.get_attribute("href") or "").startswith("#"):
                    link.dispatch_event("click")
            assert page.evaluate("typeof window.__pwned") == "undefined", name
        page.set_content(app_html)
        assert page.locator("textarea").count() == 1 and page.locator("#note").input_value() == ""
        browser.close()
    assert dialogs == []


def _config(tmp_path: Path, run: Any) -> Path:
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump({"snapshots_dir": str(run.ctx.store.root), "reports_dir": str(run.ctx.reports_dir),
                                    "targets": [{"name": NATO, "url": run.target.url}]}), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["../escape", "/abs", "a/b", "with\x00nul", "x" * 200, "UPPER", ".hidden", "",
                                  "-lead", "trail-", "sp ace", "..", "é"])
def test_config_rejects_names_that_could_escape(write_config: WriteConfig, name: str) -> None:
    with pytest.raises(ConfigError, match=r"targets\[0\]\.name"):
        load_settings(write_config([{"name": name, "url": "https://example.org/"}]))


@pytest.mark.parametrize("name", ["../escape", "/abs", "a/../../b", "x\x00", "x" * 200])
def test_the_store_refuses_names_that_could_escape(tmp_path: Path, name: str) -> None:
    store = SnapshotStore(tmp_path / "snapshots")
    with pytest.raises(StoreError):
        store.target_dir(name)
    with pytest.raises(StoreError):
        store.get("ok", "../../etc/passwd")
    assert not (tmp_path / "snapshots").exists() or not any((tmp_path / "snapshots").rglob("*"))


SECRET = "correct-horse-battery-staple-5417"


def test_the_smtp_password_never_leaks(tmp_path: Path, report_site_config: Path, monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture, closed_port: int) -> None:
    """A failing login and a failing connection: the password is in no log line, output, report or file."""
    monkeypatch.setenv("MON_PW", SECRET)
    doc = yaml.safe_load(report_site_config.read_text(encoding="utf-8"))
    doc["email"] = {"enabled": True, "host": "127.0.0.1", "port": closed_port, "security": "none",
                    "username": "monitor", "password_env": "MON_PW", "to": ["a@example.org"], "timeout": 2}
    report_site_config.write_text(yaml.safe_dump(doc), encoding="utf-8")
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    outputs = [runner.invoke(cli, ["--config", str(report_site_config), "-vv", *args])
               for args in (["check"], ["email-test"], ["status", "--json"], ["reports", "--json"], ["verify"])]
    seen = "\n".join(o.output + (o.stderr or "") for o in outputs) + caplog.text
    assert "email" in json.loads(outputs[2].stdout)
    assert SECRET not in seen
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".html", ".txt", ".atom", ".yaml", ".eml", ".log", ""):
            assert SECRET.encode() not in path.read_bytes(), path


@pytest.fixture
def report_site_config(report_site: Any) -> Path:
    return report_site.settings.config_path
