"""The JSON API (read side) through Flask's test client: every route, the OpenAPI document against the routes,
the token gate, and names that try to leave their folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from monitor.web.app import create_app
from tests.conftest import HOSTILE_TEXT, MATTIS, NATO, ReportSite
from tests.web.test_web import csrf as _csrf

TOKEN = "api-token-for-tests-0123456789abcdef"


@pytest.fixture
def client(report_site: ReportSite) -> FlaskClient:
    return create_app(report_site.settings).test_client()


def test_targets_status_history_and_reports(client: FlaskClient, report_site: ReportSite) -> None:
    status = client.get("/api/v1/status").get_json()
    assert status == {"version": "1", "daemon": {"running": False, "pid": None}, "targets": 2, "failing": 0,
                      "paused": 0}
    targets = client.get("/api/v1/targets").get_json()
    assert [t["name"] for t in targets] == [NATO, MATTIS]
    assert targets[0]["state"] in ("changed", "unchanged") and targets[0]["last_checked"]
    one = client.get(f"/api/v1/targets/{NATO}").get_json()
    assert one["name"] == NATO and one["profile"] == "defense.gov" and one["every"] == 6 * 3600
    history = client.get(f"/api/v1/targets/{NATO}/history").get_json()
    assert len(history) >= 2 and history[0]["taken_at"] > history[-1]["taken_at"]
    assert client.get(history[0]["text"]).status_code == 200, "the text link works"
    assert history[0]["capture"]["record"].startswith("<urn:uuid:") and history[0]["capture"]["digest"]
    assert client.get(history[0]["warc"]).mimetype == "application/warc", "the capture link works"
    assert history[-1]["capture"] is None and history[-1]["warc"] is None, "the baseline has no capture"
    reports = client.get("/api/v1/reports").get_json()
    assert [f"{r['target']}/{r['id']}" for r in reports] == report_site.refs
    assert len(client.get(f"/api/v1/reports?target={NATO}").get_json()) == 2
    first = reports[0]
    doc = client.get(first["json"]).get_json()
    assert doc["kind"] == "changed" and doc["ops"] and doc["reviewed"] is False
    assert client.get(doc["html"]).status_code == 200
    assert len(client.get("/api/v1/reports?unreviewed=1").get_json()) == 3


def test_page_text_comes_back_as_json_strings(client: FlaskClient, report_site: ReportSite) -> None:
    mattis = next(r for r in client.get("/api/v1/reports").get_json() if r["target"] == MATTIS)
    response = client.get(mattis["json"])
    assert response.mimetype == "application/json"
    assert "<script>" not in response.get_data(as_text=True), "JSON escapes < as \\u003c"
    assert any(HOSTILE_TEXT.split()[0] in text for _, text in response.get_json()["ops"])


def test_unknown_and_escaping_names_are_404(client: FlaskClient) -> None:
    for path in ("/api/v1/targets/nosuch", "/api/v1/targets/..%2F..%2Fetc", "/api/v1/targets/nosuch/history",
                 "/api/v1/reports/nosuch/20260101T000000Z-abc", f"/api/v1/reports/{NATO}/..%2Fstate",
                 "/api/v1/targets/NATO"):
        assert client.get(path).status_code == 404, path


def test_the_openapi_document_describes_exactly_the_routes(report_site: ReportSite) -> None:
    app: Flask = create_app(report_site.settings)
    routes = {(rule.rule.replace("<", "{").replace(">", "}"), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")
              for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert document["openapi"].startswith("3.") and documented == routes
    for path, item in document["paths"].items():
        for method, operation in item.items():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == {part[1:-1] for part in path.split("/") if part.startswith("{")}, (path, method)


def test_targets_are_added_changed_checked_and_removed_through_the_api(report_site: ReportSite) -> None:
    settings = report_site.settings
    assert settings.config_path is not None
    client = create_app(settings).test_client()
    url = report_site.server.url("/News/Article/7/api-story/")
    before = settings.config_path.read_bytes()
    assert client.post("/api/v1/targets", data='{"name": "x"}').status_code == 415, "JSON only: no form posts"
    bad = client.post("/api/v1/targets", json={"name": "api-story", "url": url, "every": "5x"})
    assert bad.status_code == 400 and "is not a duration" in bad.get_json()["error"]
    assert settings.config_path.read_bytes() == before, "a refused write changes nothing"
    made = client.post("/api/v1/targets", json={"name": "api-story", "url": url, "every": "1h"})
    assert made.status_code == 201 and made.get_json()["name"] == "api-story" and made.get_json()["every"] == 3600
    changed = client.patch("/api/v1/targets/api-story", json={"every": "2h", "paused": True})
    assert changed.status_code == 200 and changed.get_json()["paused"] is True
    assert client.patch("/api/v1/targets/nosuch", json={"every": "2h"}).status_code == 404
    assert client.get("/api/v1/targets/api-story").status_code == 200
    checked = client.post(f"/api/v1/targets/{NATO}/check", json={})
    assert checked.status_code == 200 and checked.get_json()["result"].startswith(f"{NATO}: checked now:")
    gone = client.delete("/api/v1/targets/api-story", json={})
    assert gone.status_code == 200 and "api-story" not in settings.config_path.read_text()
    assert client.delete("/api/v1/targets/api-story", json={}).status_code == 404


def test_the_token_gate_holds_for_the_api(report_site: ReportSite) -> None:
    client = create_app(report_site.settings, token=TOKEN).test_client()
    assert client.get("/api/v1/targets").status_code in (302, 401, 403)
    ok = client.get("/api/v1/targets", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and len(ok.get_json()) == 2
    assert client.get("/api/v1/targets", headers={"Authorization": "Bearer wrong"}).status_code in (302, 401, 403)


def test_the_watches_page_lists_states_filters_and_pauses_through_the_config_file(report_site: ReportSite) -> None:
    import re

    settings = report_site.settings
    assert settings.config_path is not None
    client = create_app(settings).test_client()
    html = client.get("/watches").get_data(as_text=True)
    rows = re.findall(r'<tr data-target="([^"]+)" data-state="([^"]+)"', html)
    assert [name for name, _ in rows] == [NATO, MATTIS] or [name for name, _ in rows] == [MATTIS, NATO]
    assert "<svg" in html and 'href="/r/' in html, "the timeline links the reports"
    assert "<script>" not in html.split("</head>")[1], "page text is escaped"
    only = client.get("/watches?name=mattis").get_data(as_text=True)
    assert re.findall(r'<tr data-target="([^"]+)"', only) == [MATTIS]
    assert client.post(f"/watches/{NATO}/pause", data={"paused": "1"}).status_code == 400, "CSRF required"
    token = _csrf(html)
    before = settings.config_path.read_text()
    done = client.post(f"/watches/{NATO}/pause", data={"paused": "1", "csrf_token": token})
    assert done.status_code == 302 and "paused: true" in settings.config_path.read_text()
    html = client.get("/watches?state=paused").get_data(as_text=True)
    assert re.findall(r'<tr data-target="([^"]+)" data-state="([^"]+)"', html) == [(NATO, "paused")]
    assert f"{NATO} paused in" in html
    client.post(f"/watches/{NATO}/pause", data={"paused": "0", "csrf_token": _csrf(html)})
    assert settings.config_path.read_text() == before, "resume gives back the same file"
    assert client.post("/watches/nosuch/pause", data={"paused": "1", "csrf_token": token}).status_code == 404


def test_check_now_runs_here_without_a_daemon_and_is_asked_of_a_running_one(
        report_site: ReportSite, tmp_path: Path, daemons: Callable[..., Any]) -> None:
    import time

    from monitor.store import SnapshotStore

    settings = report_site.settings
    client = create_app(settings).test_client()
    html = client.get("/watches").get_data(as_text=True)
    store = SnapshotStore(settings.snapshots_dir)
    asked = len(report_site.server.requests)
    done = client.post(f"/watches/{NATO}/check", data={"csrf_token": _csrf(html)}, follow_redirects=True)
    assert f"{NATO}: checked now: unchanged" in done.get_data(as_text=True), done.get_data(as_text=True)[-2000:]
    assert len(report_site.server.requests) == asked + 1, "the page was fetched once, here"
    assert client.post(f"/watches/{NATO}/check", data={}).status_code == 400, "CSRF required"
    # With a daemon: the request goes to it, and it checks the target within seconds.
    assert settings.config_path is not None
    text = settings.config_path.read_text()
    settings.config_path.write_text(text + "daemon: {startup_spread: 0}\n" if "daemon:" not in text else text)
    daemon = daemons(settings.config_path, tmp_path / "daemon.log")
    deadline = time.monotonic() + 20
    while store.daemon_status() is None:
        assert time.monotonic() < deadline, daemon.text()
        time.sleep(0.1)
    time.sleep(1.0)
    asked = len(report_site.server.requests)
    html = client.get("/watches").get_data(as_text=True)
    done = client.post(f"/watches/{NATO}/check", data={"csrf_token": _csrf(html)}, follow_redirects=True)
    assert "checks it within seconds" in done.get_data(as_text=True)
    while len(report_site.server.requests) == asked:
        assert time.monotonic() < deadline + 15, daemon.text()
        time.sleep(0.1)
    assert daemon.stop() == 0 and "check asked for now" in daemon.text()


def test_adding_a_target_from_the_watches_page_validates_like_the_config_file(report_site: ReportSite) -> None:
    import re

    settings = report_site.settings
    assert settings.config_path is not None
    client = create_app(settings).test_client()
    token = _csrf(client.get("/").get_data(as_text=True))
    before = settings.config_path.read_bytes()
    bad = client.post("/watches/add", data={"csrf_token": token, "url": "not a url", "every": "5x"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and settings.config_path.read_bytes() == before
    assert re.search(r'id="add-url-error">[^<]*URL', html) and re.search(r'id="add-every-error">[^<]*duration', html)
    assert 'value="not a url"' in html and 'aria-invalid="true"' in html, "what was typed stays, marked"
    url = report_site.server.url("/News/Article/99/new-story/")
    good = client.post("/watches/add", data={"csrf_token": token, "url": url, "every": "1h"},
                       follow_redirects=True)
    assert "Added new-story" in good.get_data(as_text=True)
    assert "  - name: new-story" in settings.config_path.read_text() or "- name: new-story" in \
        settings.config_path.read_text()
    rows = re.findall(r'<tr data-target="([^"]+)"', client.get("/").get_data(as_text=True))
    assert "new-story" in rows
    dup = client.post("/watches/add", data={"csrf_token": token, "url": url, "name": "new-story"})
    assert dup.status_code == 400 and "exists already" in dup.get_data(as_text=True)
    assert client.post("/watches/add", data={"url": url}).status_code == 400, "CSRF required"


def test_a_target_s_page_shows_its_settings_and_timeline_and_edits_them_in_place(report_site: ReportSite) -> None:
    import re

    settings = report_site.settings
    assert settings.config_path is not None
    client = create_app(settings).test_client()
    html = client.get(f"/t/{NATO}").get_data(as_text=True)
    assert "<dt>Profile</dt><dd>defense.gov</dd>" in html and 'aria-label="Timeline:' in html
    assert "Latest text" in html and f'href="/r/{NATO}/' in html
    before = settings.config_path.read_text()
    bad = client.post(f"/t/{NATO}/edit", data={"csrf_token": _csrf(html), "every": "5x", "fetch.via": "carrier"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and settings.config_path.read_text() == before
    assert re.search(r'id="edit-1-error">[^<]*duration', text) and re.search(r'id="edit-3-error">[^<]*http', text)
    good = client.post(f"/t/{NATO}/edit", data={"csrf_token": _csrf(html), "every": "2h"}, follow_redirects=True)
    assert "every changed" in good.get_data(as_text=True)
    after = settings.config_path.read_text()
    assert [a for a in after.splitlines() if a not in before.splitlines()] == ["    every: 2h"] or \
        [a for a in after.splitlines() if a not in before.splitlines()] == ["  every: 2h"], after
    assert client.post(f"/t/{NATO}/edit", data={"every": "1h"}).status_code == 400, "CSRF required"


def test_the_diff_between_two_snapshots(client: FlaskClient) -> None:
    history = client.get(f"/api/v1/targets/{NATO}/history").get_json()
    newest, oldest = history[0]["id"], history[-1]["id"]
    doc = client.get(f"/api/v1/targets/{NATO}/diff?a={newest}&b={oldest}").get_json()
    assert doc["old"] == oldest and doc["new"] == newest and doc["same"] is False and doc["ops"]
    assert client.get(f"/api/v1/targets/{NATO}/diff?a={newest}&b={newest}").get_json()["same"] is True
    assert client.get(f"/api/v1/targets/{NATO}/diff?a=nope&b={newest}").status_code == 404


def test_stop_watching_from_the_target_page_keeps_the_data(report_site: ReportSite) -> None:
    settings = report_site.settings
    assert settings.config_path is not None
    client = create_app(settings).test_client()
    html = client.get(f"/t/{MATTIS}").get_data(as_text=True)
    done = client.post(f"/t/{MATTIS}/remove", data={"csrf_token": _csrf(html)}, follow_redirects=True)
    assert "no longer watched" in done.get_data(as_text=True)
    assert f"name: {MATTIS}" not in settings.config_path.read_text()
    assert (settings.snapshots_dir / MATTIS).is_dir() and (settings.reports_dir / MATTIS).is_dir()
    assert client.get(f"/t/{MATTIS}").status_code == 200, "its history stays readable"
    assert client.post(f"/t/{MATTIS}/remove", data={"csrf_token": _csrf(html)}).status_code == 404


def test_failing_and_blocked_targets_come_first_with_their_streak(report_site: ReportSite) -> None:
    import re

    from monitor.demo import DEMO_PAGES
    from monitor.demo.server import Page
    from tests.test_faults import AKAMAI

    client = create_app(report_site.settings).test_client()
    assert client.patch(f"/api/v1/targets/{NATO}", json={"fetch": {"via": "http"}}).status_code == 200
    report_site.server.set(DEMO_PAGES[NATO], Page(AKAMAI, status=403, validators=False))
    report_site.server.set(DEMO_PAGES[MATTIS], Page(b"<h1>down</h1>", status=500, validators=False))
    for name in (NATO, MATTIS):
        assert "error" in client.post(f"/api/v1/targets/{name}/check", json={}).get_json()["result"]
    html = client.get("/").get_data(as_text=True)
    rows = re.findall(r'<tr data-target="([^"]+)" data-state="([^"]+)"', html)
    assert dict(rows) == {NATO: "blocked", MATTIS: "failing"} and "1 failures" in html and "since " in html
    assert "2 failing or blocked" in html
    only = client.get("/?state=blocked").get_data(as_text=True)
    assert re.findall(r'<tr data-target="([^"]+)"', only) == [NATO]


def test_the_watches_title_is_plain(client: FlaskClient) -> None:
    import re

    html = client.get("/").get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title and re.fullmatch(r"(\(\d+\) )?Watches · monitor", title.group(1)), title.group(1)[:200]
