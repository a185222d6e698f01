"""The review app through Flask's test client: list, filters, report views, review with CSRF, compare, security."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from monitor.clock import utcnow
from monitor.report.render import stamp
from monitor.review import ReviewStore
from monitor.store import SnapshotStore
from monitor.web.app import create_app
from tests.conftest import HOSTILE_TEXT, MATTIS, NATO, ReportSite

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture
def app(report_site: ReportSite) -> Flask:
    return create_app(report_site.settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "every form carries a CSRF token"
    return match.group(1)


def title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return match.group(1)


def report_url(ref: str) -> str:
    return f"/r/{ref}"


def test_list_shows_unreviewed_first_with_a_count_in_the_title(client: FlaskClient, report_site: ReportSite) -> None:
    html = client.get("/reports").get_data(as_text=True)
    assert title(html).startswith("(3) Change reports")
    rows = re.findall(r'<tr data-ref="([^"]+)"', html)
    assert rows == report_site.refs, "all unreviewed: newest first"
    target, rid = report_site.refs[0].split("/")
    ReviewStore(report_site.settings.reports_dir).mark(target, rid, when=utcnow())
    html = client.get("/reports").get_data(as_text=True)
    assert title(html).startswith("(2) Change reports")
    assert re.findall(r'<tr data-ref="([^"]+)"', html) == [*report_site.refs[1:], report_site.refs[0]], \
        "reviewed reports go after the unreviewed ones"


@pytest.mark.parametrize(("query", "expected"), [
    (f"?target={NATO}", {NATO}),
    (f"?target={MATTIS}", {MATTIS}),
    ("?kind=changed", {NATO, MATTIS}),
    ("?kind=error", set()),
    ("?status=reviewed", set()),
    ("?status=unreviewed&target=" + NATO, {NATO}),
    ("?target=../../etc&status=bogus", {NATO, MATTIS}),
])
def test_filters_by_target_status_and_kind(client: FlaskClient, query: str, expected: set[str]) -> None:
    html = client.get("/reports" + query).get_data(as_text=True)
    assert {ref.split("/")[0] for ref in re.findall(r'<tr data-ref="([^"]+)"', html)} == expected


def test_report_page_has_three_views_and_previous_next(client: FlaskClient, report_site: ReportSite) -> None:
    first, middle, last = report_site.refs
    html = client.get(report_url(middle)).get_data(as_text=True)
    for view in ('id="inline"', 'id="side"', 'id="changes"'):
        assert view in html
    assert f'id="prev" rel="prev" href="/r/{first}"' in html and f'id="next" rel="next" href="/r/{last}"' in html
    assert "2 of 3" in html
    assert 'id="prev"' not in client.get(report_url(first)).get_data(as_text=True)
    assert 'id="next"' not in client.get(report_url(last)).get_data(as_text=True)
    nav = client.get(report_url(report_site.refs[0]) + f"?target={NATO}").get_data(as_text=True)
    nato = [r for r in report_site.refs if r.startswith(NATO)]
    assert f'href="/r/{nato[1]}?target={NATO}"' in nav, "previous/next stay inside the filtered list"


def test_report_page_shows_the_same_diff_as_the_static_report(client: FlaskClient, report_site: ReportSite) -> None:
    ref = report_site.refs[0]
    static = (report_site.settings.reports_dir / f"{ref}.html").read_text(encoding="utf-8")
    app_html = client.get(report_url(ref)).get_data(as_text=True)

    def inline(html: str) -> str:
        return html[html.index('<div id="inline"'):].split("</div>")[1]

    assert inline(app_html) == inline(static)


def test_marking_reviewed_needs_csrf_then_moves_on_and_updates_everything(
        client: FlaskClient, report_site: ReportSite) -> None:
    ref, following = report_site.refs[0], report_site.refs[1]
    url = report_url(ref)
    refused = client.post(url + "/review", data={"note": "x"})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    token = csrf(client.get(url).get_data(as_text=True))
    done = client.post(url + "/review", data={"csrf_token": token, "note": "Date reworded", "significance": "0.3",
                                              "next": following, "action": "reviewed"})
    assert done.status_code == 302 and urlsplit(done.headers["Location"]).path == report_url(following)
    target, rid = ref.split("/")
    review = ReviewStore(report_site.settings.reports_dir).get(target, rid)
    assert review is not None and review.note == "Date reworded" and review.significance == 0.3
    assert title(client.get("/reports").get_data(as_text=True)).startswith("(2) ")
    page = client.get(url).get_data(as_text=True)
    assert "✓ reviewed" in page and "Date reworded" in page and "Mark unreviewed" in page
    static = (report_site.settings.reports_dir / "index.html").read_text(encoding="utf-8")
    assert "<title>(2) Change reports</title>" in static and "Date reworded" in static, "static index regenerated"
    client.post(url + "/review", data={"csrf_token": token, "action": "unreviewed"})
    assert ReviewStore(report_site.settings.reports_dir).get(target, rid) is None
    assert title(client.get("/reports").get_data(as_text=True)).startswith("(3) ")


@pytest.mark.parametrize("significance", ["2", "-1", "nan", "lots"])
def test_a_bad_significance_is_refused_with_a_message(client: FlaskClient, report_site: ReportSite,
                                                       significance: str) -> None:
    url = report_url(report_site.refs[0])
    token = csrf(client.get(url).get_data(as_text=True))
    response = client.post(url + "/review", data={"csrf_token": token, "significance": significance},
                           follow_redirects=True)
    assert "Not saved: significance" in response.get_data(as_text=True)
    assert ReviewStore(report_site.settings.reports_dir).load_all() == {}


def test_history_compares_any_two_snapshots(client: FlaskClient, report_site: ReportSite) -> None:
    snapshots = SnapshotStore(report_site.settings.snapshots_dir).history(NATO)
    html = client.get(f"/t/{NATO}").get_data(as_text=True)
    for s in snapshots:
        assert f'href="/t/{NATO}/s/{s.id}.txt"' in html
    newest, oldest = snapshots[0], snapshots[-1]
    compared = client.get(f"/t/{NATO}/compare?a={newest.id}&b={oldest.id}").get_data(as_text=True)
    assert "on Tuesday" in compared and "Press" in compared, "both edits since the baseline, in one diff"
    assert f"<dt>Before</dt><dd>{stamp(oldest.taken_at)} (baseline)" in compared, "chronological, whatever the order"
    same = client.get(f"/t/{NATO}/compare?a={newest.id}&b={newest.id}").get_data(as_text=True)
    assert "the same text" in same
    text = client.get(f"/t/{NATO}/s/{oldest.id}.txt")
    assert text.mimetype == "text/plain" and "NATO Temporarily Suspends" in text.get_data(as_text=True)


@pytest.mark.parametrize("path", [
    "/r/nato-training-suspended/20000101T000000.000000Z-000000000000", "/r/..%2f..%2fetc/passwd",
    "/t/no-such-target", f"/t/{NATO}/compare?a=../../x&b=y", f"/t/{NATO}/s/..%2f..%2fconfig.txt",
])
def test_unknown_or_hostile_paths_are_404(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_scraped_text_stays_text_in_every_screen(client: FlaskClient, report_site: ReportSite) -> None:
    ref = next(r for r in report_site.refs if r.startswith(MATTIS))
    for path in ("/", report_url(ref), f"/t/{MATTIS}"):
        html = client.get(path).get_data(as_text=True)
        assert HOSTILE_TEXT not in html and "<img src=x" not in html
        assert len(re.findall(r"<script", html)) == 1, "only the app's own script tag"
    html = client.get(report_url(ref)).get_data(as_text=True)
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html and "{{ 7*7 }}" in html


def test_responses_carry_strict_security_headers(client: FlaskClient) -> None:
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"


def test_without_a_token_only_loopback_host_names_are_served(client: FlaskClient) -> None:
    assert client.get("/", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/", headers={"Host": "localhost:8000"}).status_code == 200
    assert client.get("/", headers={"Host": "[::1]:8000"}).status_code == 200
    assert client.get("/", headers={"Host": "attacker.example:8000"}).status_code == 403, "DNS rebinding"


def test_with_a_token_every_request_must_carry_it(report_site: ReportSite) -> None:
    client = create_app(report_site.settings, token=TOKEN).test_client()
    headers = {"Host": "monitor.example:8000"}
    for path in ("/", report_url(report_site.refs[0]), f"/t/{NATO}", "/static/app.js"):
        response = client.get(path, headers=headers)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert client.post(report_url(report_site.refs[0]) + "/review", headers=headers).status_code == 403
    assert client.get("/", headers={**headers, "Authorization": "Bearer wrong"}).status_code == 302
    assert client.get("/", headers={**headers, "Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/?token=wrong", headers=headers).status_code == 403
    link = client.get(f"/?token={TOKEN}&status=unreviewed", headers=headers)
    assert link.status_code == 302 and link.headers["Location"] == "/?status=unreviewed", "token dropped from URL"
    cookie = link.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/", headers=headers).status_code == 200, "the cookie now carries the token"


def test_login_form_sets_the_token_cookie(report_site: ReportSite) -> None:
    client = create_app(report_site.settings, token=TOKEN).test_client()
    form = client.get("/login?next=/t/" + NATO).get_data(as_text=True)
    token = csrf(form)
    wrong = client.post("/login", data={"csrf_token": token, "token": "nope", "next": f"/t/{NATO}"},
                        follow_redirects=True)
    assert "not right" in wrong.get_data(as_text=True)
    assert client.get("/").status_code == 302
    right = client.post("/login", data={"csrf_token": token, "token": TOKEN, "next": f"/t/{NATO}"})
    assert right.status_code == 302 and right.headers["Location"] == f"/t/{NATO}"
    assert client.get("/").status_code == 200
    evil = client.post("/login", data={"csrf_token": token, "token": TOKEN, "next": "//evil.example/"})
    assert evil.headers["Location"] == "/", "never redirects to another site"


def test_a_report_names_its_two_captures_and_the_app_hands_them_out_as_warc(client: FlaskClient,
                                                                             report_site: ReportSite) -> None:
    import io

    from warcio.archiveiterator import ArchiveIterator

    ref = report_site.refs[0]  # NATO's second change: both of its snapshots still keep their bodies
    assert ref.startswith(NATO)
    html = client.get(report_url(ref)).get_data(as_text=True)
    links = re.findall(r'href="(/t/[a-z0-9-]+/s/[^"]+\.warc\.gz)"', html)
    assert "WARC record <code>&lt;urn:uuid:" in html and len(links) == 2, "before and after"
    for link in links:
        answer = client.get(link)
        assert answer.status_code == 200 and answer.mimetype == "application/warc"
        assert answer.headers["Content-Disposition"].startswith("attachment;")
        kinds = [r.rec_type for r in ArchiveIterator(io.BytesIO(answer.get_data()), check_digests="raise")]
        assert kinds[-2:] == ["request", "response"], kinds
    static = (report_site.settings.reports_dir / f"{ref}.html").read_text(encoding="utf-8")
    assert "WARC record" in static and f"monitor export {ref.split('/')[0]} --warc FILE" in static
    assert client.get(f"/t/{NATO}/s/20000101T000000.000000Z-000000000000.warc.gz").status_code == 404
