"""Notification channels through Apprise against a real HTTP receiver on loopback: json://, form:// and
ntfy:// posts; every matching channel told once; a receiver that fails then recovers gets the waiting messages
in order; hostile page text arrives escaped; the channel's token shows nowhere."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml
from click.testing import CliRunner

from monitor.cli.main import cli
from monitor.demo import DEMO_PAGES, page_html
from monitor.demo.server import Page, PageServer
from monitor.report.chat import JOINER, chat_message, escape

TOKEN = "T0KENsecret9000"


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        """Title and message, whichever way the service sent them."""
        raw = self.body.decode("utf-8", "replace")
        try:
            doc = json.loads(raw)
            return f"{doc.get('title', '')}\n{doc.get('message', '')}"
        except ValueError:
            pass
        form = parse_qs(raw)
        if "message" in form:
            return f"{form.get('title', [''])[0]}\n{form['message'][0]}"
        return f"{self.headers.get('X-Title', '')}\n{raw}"


@dataclass
class Receiver:
    """Takes every POST; answers `fail` (a status) while set."""

    posts: list[Post] = field(default_factory=list)
    fail: int | None = None
    port: int = 0

    def url(self, scheme: str, path: str) -> str:
        return f"{scheme}://127.0.0.1:{self.port}/{path}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = state.fail or 200
            if status == 200:
                state.posts.append(Post(self.path, dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = httpd.server_port
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield state
    httpd.shutdown()
    httpd.server_close()


NATO, MATTIS = DEMO_PAGES


def _config(tmp_path: Path, pages: PageServer, channels: list[dict[str, Any]]) -> Path:
    doc = {"snapshots_dir": "snapshots", "reports_dir": "reports", "fetch": {"retries": 0},
           "notify": channels,
           "targets": [{"name": name, "url": pages.url(path), "profile": "defense.gov", "timeout": 5}
                       for name, path in DEMO_PAGES.items()]}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _run(config: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def _edit(pages: PageServer, name: str, old: str, new: str) -> None:
    html = page_html(name)
    assert old.encode() in html
    pages.set(DEMO_PAGES[name], Page(html.replace(old.encode(), new.encode()), validators=False))


@pytest.fixture
def pages() -> Iterator[PageServer]:
    with PageServer({path: Page(page_html(name)) for name, path in DEMO_PAGES.items()}) as server:
        yield server


def test_a_change_reaches_every_matching_channel_once(receiver: Receiver, pages: PageServer,
                                                      tmp_path: Path) -> None:
    config = _config(tmp_path, pages, [
        {"name": "hook", "url": receiver.url("json", "hook")},
        {"name": "form", "url": receiver.url("form", "form")},
        {"name": "ntfy", "url": receiver.url("ntfy", "monitor-topic")},
        {"name": "mattis-only", "url": receiver.url("json", "mattis"), "targets": ["mattis-*"]},
        {"name": "errors-only", "url": receiver.url("json", "errors"), "events": ["error"]},
    ])
    assert _run(config, "check").exit_code == 0  # new pages: nothing to tell
    _edit(pages, NATO, "Stoltenberg told the media", "Stoltenberg informed the media")
    out = _run(config, "check")
    assert out.exit_code == 1, out.output
    assert _run(config, "check").exit_code == 0  # unchanged now: nothing more
    by_path: dict[str, list[Post]] = {}
    for post in receiver.posts:
        by_path.setdefault(post.path.split("?")[0], []).append(post)
    assert sorted(by_path) == ["/form", "/hook", "/monitor-topic"] or sorted(by_path) == ["/", "/form", "/hook"], \
        sorted(by_path)
    assert all(len(posts) == 1 for posts in by_path.values()), {k: len(v) for k, v in by_path.items()}
    text = by_path["/hook"][0].text()
    assert f"Changed: {NATO}" in text and "{+informed+}" in text and "[-told-]" in text, text
    assert f"/reports/{NATO}/" in text or f"{NATO}/" in text
    status = json.loads(_run(config, "status", "--json").stdout)
    assert {c["channel"]: c["outbox"] for c in status["notify"]} == {
        "hook": 0, "form": 0, "ntfy": 0, "mattis-only": 0, "errors-only": 0}


def test_a_receiver_that_fails_then_recovers_gets_the_waiting_messages_in_order(
        receiver: Receiver, pages: PageServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_URL", receiver.url("json", f"hook/{TOKEN}"))
    config = _config(tmp_path, pages, [{"name": "hook", "url_env": "HOOK_URL", "retry_backoff": 3600}])
    _run(config, "check")
    receiver.fail = 500
    _edit(pages, NATO, "Stoltenberg told the media", "Stoltenberg FIRST the media")
    out = _run(config, "check")
    assert "channel hook:" in out.output and TOKEN not in out.output, out.output
    assert (tmp_path / "snapshots" / ".outbox" / "channels" / "hook").is_dir()
    status = _run(config, "status", "--json")
    assert TOKEN not in status.output and json.loads(status.stdout)["notify"] == [{"channel": "hook", "outbox": 1}]
    receiver.fail = None  # back; a later change (the earlier message is still on its one-hour back-off)
    _edit(pages, NATO, "Stoltenberg told the media", "Stoltenberg SECOND the media")
    _run(config, "check")
    texts = [post.text() for post in receiver.posts]
    assert len(texts) == 2 and "FIRST" in texts[0] and "SECOND" in texts[1], texts
    assert _run(config, "check").exit_code == 0 and len(receiver.posts) == 2, "nothing sent twice"
    for path in (tmp_path / "reports").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_page_text_with_markdown_mentions_and_html_reaches_the_channel_escaped(
        receiver: Receiver, pages: PageServer, tmp_path: Path) -> None:
    config = _config(tmp_path, pages, [{"name": "hook", "url": receiver.url("json", "hook")}])
    _run(config, "check")
    _edit(pages, NATO, "Stoltenberg told the media",
          "Stoltenberg told @here and @channel &lt;!everyone&gt; **now** [click](http://evil.example/) "
          "&lt;b&gt;the media")
    _run(config, "check")
    [post] = receiver.posts
    text = post.text()
    assert "@here" not in text and "@channel" not in text and "<!everyone>" not in text
    assert f"@{JOINER}here" in text and f"!{JOINER}everyone" in text


def test_escaping_per_format_and_the_size_limit() -> None:
    hostile = "**x** [a](http://e/) <b>@here</b> `code` _u_"
    assert escape(hostile, "markdown") == (r"\*\*x\*\* \[a\]\(http://e/\) \<b\>@" + JOINER
                                           + r"here\</b\> \`code\` \_u\_")
    assert escape(hostile, "html").startswith("**x** [a](http://e/) &lt;b&gt;@")
    slack = escape("<!here> *bold* & <http://x|y>", "slack")
    assert "<" not in slack and "&amp;" in slack and f"*{JOINER}bold*{JOINER}" in slack
    doc = {"target": "t", "id": "20260101T000000Z-abc", "kind": "changed", "places": ["paragraph 5"],
           "ops": [[0, "Start. "], [-1, "old " * 500], [1, "new " * 500], [0, " end.\n"]] * 20}
    title, body = chat_message([doc], "text", 1000, 100, "https://monitor.example/reports", Path("/tmp"))
    assert title == "Changed: t – body paragraph 5" and len(body) <= 1000
    assert body.endswith("https://monitor.example/reports/t/20260101T000000Z-abc.html"), body[-120:]


def test_notify_test_says_per_channel_what_works_and_what_to_fix(receiver: Receiver, pages: PageServer,
                                                                 tmp_path: Path) -> None:
    config = _config(tmp_path, pages, [
        {"name": "hook", "url": receiver.url("json", "hook")},
        {"name": "unset", "url_env": "MONITOR_TEST_UNSET_URL"},
        {"name": "down", "url": f"json://127.0.0.1:9/{TOKEN}"},
    ])
    out = _run(config, "notify-test")
    lines = out.stdout.splitlines()
    assert out.exit_code == 2 and len(lines) == 3, out.output
    assert lines[0] == "hook: test message sent (text)"
    assert lines[1].startswith("unset: failed:") and "MONITOR_TEST_UNSET_URL is not set" in lines[1]
    assert lines[2].startswith("down: failed:") and TOKEN not in out.output
    assert "test message" in receiver.posts[0].text()
    assert _run(config, "notify-test", "hook").exit_code == 0
    assert "no channel 'nope'" in _run(config, "notify-test", "nope").output


def test_a_daemon_restart_between_failure_and_recovery_loses_nothing(
        receiver: Receiver, pages: PageServer, tmp_path: Path, daemons: Any) -> None:
    import time

    from monitor.store import SnapshotStore

    config = _config(tmp_path, pages, [{"name": "hook", "url": receiver.url("json", "hook"), "retry_backoff": 3600}])
    doc = yaml.safe_load(config.read_text())
    doc["targets"] = [{**doc["targets"][0], "every": "1s"}]
    doc["daemon"] = {"startup_spread": 0, "host_delay": 0, "jitter": 0}
    doc["email"] = {"flush_every": 1}
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    _run(config, "check")
    store = SnapshotStore(tmp_path / "snapshots")

    def until(condition: Any, what: str) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.1)

    receiver.fail = 500
    _edit(pages, NATO, "Stoltenberg told the media", "Stoltenberg FIRST the media")
    first = daemons(config, tmp_path / "daemon-1.log")
    outbox = tmp_path / "snapshots" / ".outbox" / "channels" / "hook"
    until(lambda: len(list(outbox.glob("*.json"))) == 1 and json.loads(next(outbox.glob("*.json")).read_text())
          ["attempts"] >= 1, "the message was tried and kept")
    assert first.stop() == 0
    receiver.fail = None
    _edit(pages, NATO, "Stoltenberg told the media", "Stoltenberg SECOND the media")
    second = daemons(config, tmp_path / "daemon-2.log")
    until(lambda: len(receiver.posts) >= 2, "both messages arrived")
    time.sleep(1.5)
    assert second.stop() == 0
    texts = [post.text() for post in receiver.posts]
    assert len(texts) == 2 and "FIRST" in texts[0] and "SECOND" in texts[1], texts
    assert len(store.history(NATO)) == 3


def test_a_check_run_from_the_app_is_told_like_any_other(receiver: Receiver, pages: PageServer,
                                                         tmp_path: Path) -> None:
    from monitor.config import load_settings
    from monitor.web.app import create_app

    config = _config(tmp_path, pages, [{"name": "hook", "url": receiver.url("json", "hook")}])
    _run(config, "check")
    _edit(pages, NATO, "Stoltenberg told the media", "Stoltenberg informed the media")
    client = create_app(load_settings(config)).test_client()
    answer = client.post(f"/api/v1/targets/{NATO}/check", json={}).get_json()
    assert answer["result"].startswith(f"{NATO}: checked now: changed"), answer
    assert len(receiver.posts) == 1 and "{+informed+}" in receiver.posts[0].text()
