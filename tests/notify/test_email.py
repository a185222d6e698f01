"""Email against a real SMTP server on loopback (aiosmtpd): plain, STARTTLS, SSL, AUTH, digest/each, header
injection, outbox retry exactly once. Certificates are made per test with trustme (a throwaway CA)."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import escape as html_escape
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner

from monitor.cli.main import cli
from monitor.demo import DEMO_PAGES, page_html
from monitor.demo.server import Page, PageServer
from monitor.errors import EmailError
from monitor.models import EmailSettings
from monitor.notify import send
from monitor.report.email import header_safe

PASSWORD = "s3cret-pa55"


class Recorder:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == b"monitor" and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@contextmanager
def smtp(mode: str = "none", *, ca: trustme.CA | None = None, auth: str | None = None,
         port: int | None = None) -> Iterator[tuple[Recorder, int]]:
    """Run an SMTP server on 127.0.0.1: mode none, starttls (required) or ssl (implicit TLS); `auth` is the
    only AUTH mechanism offered (LOGIN or PLAIN), and then required."""
    handler = Recorder()
    port = port or free_port()
    kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": port}
    context = None
    if mode != "none":
        assert ca is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    if mode == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    elif mode == "ssl":
        kwargs.update(ssl_context=context)
    if auth:
        other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[auth]
        kwargs.update(authenticator=_authenticator, auth_required=True, auth_require_tls=False,
                      auth_exclude_mechanism=[other])
    controller = Controller(handler, **kwargs)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def settings(port: int, **changes: Any) -> EmailSettings:
    base = EmailSettings(enabled=True, host="127.0.0.1", port=port, security="none",
                         sender="Monitor <monitor@example.org>", to=("analyst@example.org",), timeout=5,
                         retry_backoff=0)
    return replace(base, **changes)


def sample_message(subject: str = "hello") -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "monitor@example.org"
    message["To"] = "analyst@example.org"
    message.set_content("body")
    return message


@pytest.mark.parametrize("mode", ["none", "starttls", "ssl"])
def test_each_transport_delivers(mode: str, ca: trustme.CA, ca_file: Path) -> None:
    with smtp(mode, ca=ca) as (server, port):
        send(settings(port, security=mode, tls_ca_file=ca_file), sample_message())
    assert [m["Subject"] for m in server.messages] == ["hello"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize(("mode", "mechanism"), [("none", "PLAIN"), ("starttls", "LOGIN"), ("starttls", "PLAIN")])
def test_auth_with_the_right_and_a_wrong_password(mode: str, mechanism: str, ca: trustme.CA, ca_file: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    config = settings(0, security=mode, tls_ca_file=ca_file, username="monitor", password_env="MON_PW")
    with smtp(mode, ca=ca, auth=mechanism) as (server, port):
        monkeypatch.setenv("MON_PW", PASSWORD)
        send(replace(config, port=port), sample_message())
        monkeypatch.setenv("MON_PW", "wrong")
        with pytest.raises(EmailError) as info:
            send(replace(config, port=port), sample_message())
    assert len(server.messages) == 1
    text = str(info.value)
    assert "refused the login of 'monitor'" in text and "$MON_PW" in text and "\n" not in text
    assert "wrong" not in text and PASSWORD not in text, "secrets never appear in errors"


def test_tls_problems_name_the_setting_to_fix(ca: trustme.CA, ca_file: Path) -> None:
    with smtp("ssl", ca=ca) as (_, port), pytest.raises(EmailError, match=r"not trusted.*email.tls_ca_file"):
        send(settings(port, security="ssl"), sample_message())  # the test CA is not trusted by default
    with smtp("none") as (_, port), pytest.raises(EmailError, match=r"does not offer STARTTLS.*email.security"):
        send(settings(port, security="starttls", tls_ca_file=ca_file), sample_message())
    with pytest.raises(EmailError, match=r"cannot connect to 127.0.0.1:\d+.*email.host and email.port"):
        send(settings(free_port()), sample_message())


def test_header_injection_is_impossible() -> None:
    assert header_safe("Title\r\nBcc: victim@example.org") == "Title Bcc: victim@example.org"
    assert header_safe("a\u2028b\x00c") == "a b c"


# --- the whole path: check -> report -> outbox -> SMTP ------------------------------------------------------

def _config(tmp_path: Path, srv: PageServer, port: int, **email: Any) -> Path:
    import yaml

    doc = {"snapshots_dir": "snapshots", "reports_dir": "reports", "fetch": {"retries": 0},
           "email": {"enabled": True, "host": "127.0.0.1", "port": port, "security": "none",
                     "from": "Monitor <monitor@example.org>", "to": ["analyst@example.org"], "timeout": 5,
                     "retry_backoff": 0, **email},
           "targets": [{"name": name, "url": srv.url(path), "profile": "defense.gov", "timeout": 5}
                       for name, path in DEMO_PAGES.items()]}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _edit(html: bytes, old: str, new: str) -> bytes:
    assert old.encode() in html
    return html.replace(old.encode(), new.encode())


@pytest.fixture
def pages() -> Iterator[PageServer]:
    with PageServer({path: Page(page_html(name), validators=False) for name, path in DEMO_PAGES.items()}) as srv:
        yield srv


def check(config: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(config), "check", *args])


def edit_both(pages: PageServer, title: str | None = None) -> None:
    nato, mattis = DEMO_PAGES
    html = _edit(page_html(nato), "Stoltenberg told the media", "Stoltenberg informed the media")
    if title:
        html = html.replace(b"NATO Temporarily Suspends Training Mission in Iraq</h1>", title.encode() + b"</h1>")
    pages.set(DEMO_PAGES[nato], Page(html, validators=False))
    pages.set(DEMO_PAGES[mattis], Page(_edit(page_html(mattis), "Syria continues.", "Syria goes on."),
                                       validators=False))


def test_digest_one_mail_with_both_changes_readable_as_text_and_html(tmp_path: Path, pages: PageServer) -> None:
    with smtp() as (server, port):
        config = _config(tmp_path, pages, port, mode="digest")
        assert check(config).exit_code == 0  # first sight: new, nothing to mail
        edit_both(pages)
        result = check(config)
        assert result.exit_code == 1, result.output
    assert len(server.messages) == 1
    mail = server.messages[0]
    assert mail["Subject"] == "[monitor] 2 changed: mattis-stoltenberg-remarks, nato-training-suspended"
    assert mail["List-Id"].startswith("monitor change reports <") and mail["Message-ID"] and mail["Date"]
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Stoltenberg [-told-]{+informed+} the media" in text and "Syria [-continues-]{+goes on+}." in text
    assert "<style" not in html and "<ins" not in html, "Gmail strips these: inline styles only"
    assert 'text-decoration:line-through">continues</span>' in html
    assert "file://" in text and (tmp_path / "reports").as_uri() in text


def test_each_mode_one_mail_per_change_and_a_hostile_title_stays_in_its_header(tmp_path: Path,
                                                                                pages: PageServer) -> None:
    hostile = "Evil\r\nBcc: victim@example.org\r\nX-Injected: yes <script>alert(1)</script>"
    with smtp() as (server, port):
        config = _config(tmp_path, pages, port, mode="each")
        check(config)
        edit_both(pages, title=html_escape(hostile).replace("\r\n", "&#13;&#10;"))
        check(config)
    assert len(server.messages) == 2
    subjects = sorted(m["Subject"] for m in server.messages)
    assert subjects[0].startswith("[monitor] Changed: mattis-stoltenberg-remarks (+2/-1 words)")
    nato = next(m for m in server.messages if "nato" in m["Subject"])
    assert "X-Injected" not in nato and "Bcc" not in nato
    assert all(rcpt == ["analyst@example.org"] for rcpt in (e.rcpt_tos for e in server.envelopes))
    assert "Evil Bcc: victim@example.org X-Injected: yes" in nato["Subject"]
    html = nato.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_server_down_then_up_delivers_exactly_once(tmp_path: Path, pages: PageServer) -> None:
    port = free_port()
    config = _config(tmp_path, pages, port)
    check(config)
    edit_both(pages)
    result = check(config)
    assert result.exit_code == 1, "a mail problem never changes the check's outcome"
    assert "cannot connect to 127.0.0.1" in result.stderr and "1 in the outbox" in result.stderr
    status = json.loads(CliRunner().invoke(cli, ["--config", str(config), "status", "--json"]).stdout)
    assert status["email"] == {"enabled": True, "outbox": 1}
    with smtp(port=port) as (server, _):
        assert check(config).exit_code == 0
        assert check(config).exit_code == 0
    assert len(server.messages) == 1 and "2 changed" in server.messages[0]["Subject"]
    status = json.loads(CliRunner().invoke(cli, ["--config", str(config), "status", "--json"]).stdout)
    assert status["email"]["outbox"] == 0
    assert len(list((tmp_path / "snapshots" / ".outbox" / "sent").glob("*.json"))) == 1


def test_a_long_diff_is_cut_with_a_note(tmp_path: Path, pages: PageServer) -> None:
    nato = next(iter(DEMO_PAGES))
    with smtp() as (server, port):
        config = _config(tmp_path, pages, port, max_diff_chars=500)
        check(config)
        html = page_html(nato)
        for word in (b"NATO", b"Iraq", b"training", b"Stoltenberg"):
            html = html.replace(word, word.upper() + b"X")
        pages.set(DEMO_PAGES[nato], Page(html, validators=False))
        check(config, nato)
    text = server.messages[0].get_body(("plain",)).get_content()
    assert "[The diff is too long for an email and was cut here." in text
    assert len(text) < 4000


def test_email_test_command(tmp_path: Path, pages: PageServer) -> None:
    with smtp() as (server, port):
        result = CliRunner().invoke(cli, ["--config", str(_config(tmp_path, pages, port)), "email-test"])
    assert result.exit_code == 0 and server.messages[0]["Subject"] == "[monitor] test message"
    result = CliRunner().invoke(cli, ["--config", str(_config(tmp_path, pages, free_port())), "email-test"])
    assert result.exit_code == 2 and "cannot connect" in result.output and "Traceback" not in result.output


def test_errors_and_recovery_are_mailed_once(tmp_path: Path, pages: PageServer) -> None:
    nato = next(iter(DEMO_PAGES))
    with smtp() as (server, port):
        config = _config(tmp_path, pages, port, mode="each")
        check(config, nato)
        pages.set(DEMO_PAGES[nato], Page(b"down", status=503, validators=False))
        for _ in range(5):
            check(config, nato)
        pages.set(DEMO_PAGES[nato], Page(page_html(nato), validators=False))
        check(config, nato)
        check(config, nato)
    assert [m["X-Monitor-Kinds"] for m in server.messages] == ["error", "recovered"]
    assert "3 consecutive failed checks" in server.messages[0].get_body(("plain",)).get_content()


def test_mail_queued_while_the_server_was_down_goes_out_before_a_later_one(tmp_path: Path,
                                                                            pages: PageServer) -> None:
    nato = next(iter(DEMO_PAGES))
    port = free_port()
    config = _config(tmp_path, pages, port, mode="each", retry_backoff=3600)
    check(config, nato)  # the first check: new, nothing to mail
    pages.set(DEMO_PAGES[nato], Page(_edit(page_html(nato), "Stoltenberg told the media", "Stoltenberg TOLD"),
                                     validators=False))
    assert "cannot connect" in check(config, nato).output  # the server is down: the mail waits (1 h back-off)
    with smtp(port=port) as (server, _):
        pages.set(DEMO_PAGES[nato], Page(_edit(page_html(nato), "Stoltenberg told the media", "Stoltenberg SAID"),
                                         validators=False))
        check(config, nato)  # a later change, mailed with the server back: the earlier mail goes first
    subjects = [str(m["Subject"]) for m in server.messages]
    bodies = [m.get_body(("plain",)).get_content() for m in server.messages]
    assert len(subjects) == 2 and "TOLD" in bodies[0] and "SAID" in bodies[1], subjects
