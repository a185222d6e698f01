"""End to end in a real headless browser (Debian's chromium driven by Playwright) against `monitor serve`.

The Makefile installs chromium when it is missing. A failing test leaves a screenshot in its tmp_path.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright

from monitor.demo import DEMO_PAGES
from monitor.review import ReviewStore
from tests.conftest import MATTIS, NATO, ReviewServer

CHROMIUM = os.environ.get("MONITOR_CHROMIUM", "/usr/bin/chromium")
# As root in a sandbox with no network: no sandbox, no GPU, no background calls home.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (or set MONITOR_CHROMIUM)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A fresh browser page; on failure its screenshot goes to tmp_path/failure.png. Tracks dialogs and errors."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]

    def on_dialog(dialog: Dialog) -> None:
        page.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    page.set_default_timeout(10_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shot = tmp_path / "failure.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failure: {shot}")
    context.close()


def unreviewed_in_title(page: Page) -> int:
    match = re.match(r"\((\d+)\) ", page.title())
    return int(match.group(1)) if match else 0


def test_open_list_open_report_mark_reviewed_count_drops_and_survives_reload(
        page: Page, review_server: ReviewServer) -> None:
    page.goto(review_server.url + "reports")
    expect(page).to_have_title(re.compile(r"^\(3\) Change reports"))
    expect(page.locator("#reports tbody tr")).to_have_count(3)
    page.locator("#reports a.open").first.click()
    expect(page.locator("h1")).to_contain_text("Changed:")
    assert page.locator("#inline").is_visible() and not page.locator("#side").is_visible()
    page.get_by_role("link", name="Side by side").click()
    assert page.locator("#side").is_visible() and not page.locator("#inline").is_visible()
    page.get_by_role("link", name="Changes only").click()
    assert page.locator("#changes").is_visible()
    first_url = page.url
    page.fill("#note", "Checked against the wire copy")
    page.fill("#significance", "0.6")
    page.click("#mark")
    expect(page.locator(".flash")).to_contain_text("reviewed")
    assert page.url != first_url, "marking moves on to the next report"
    assert unreviewed_in_title(page) == 2
    page.goto(review_server.url + "reports")
    expect(page).to_have_title(re.compile(r"^\(2\) Change reports"))
    expect(page.locator("#unreviewed-count")).to_have_text("2")
    page.reload()
    expect(page).to_have_title(re.compile(r"^\(2\) Change reports"))
    reviewed_row = page.locator("#reports tbody tr").last
    expect(reviewed_row).to_contain_text("✓ reviewed")
    expect(reviewed_row).to_contain_text("Checked against the wire copy")
    page.goto(first_url)
    expect(page.locator("#note")).to_have_value("Checked against the wire copy")
    marks = ReviewStore(review_server.site.settings.reports_dir).load_all()
    assert [r.significance for r in marks.values()] == [0.6]
    assert not page.errors and not page.dialogs


def test_keyboard_j_k_and_r(page: Page, review_server: ReviewServer) -> None:
    refs = review_server.site.refs

    def press(key: str, ref: str) -> None:
        page.keyboard.press(key)
        expect(page).to_have_url(re.compile(re.escape(f"/r/{ref}")))
        page.wait_for_load_state("load")  # the next key must meet the new page's script, not the old page

    page.goto(review_server.url + "reports")
    page.keyboard.press("j")
    expect(page.locator("#reports tbody tr").first).to_have_class(re.compile("current"))
    page.keyboard.press("j")
    expect(page.locator("#reports tbody tr").nth(1)).to_have_class(re.compile("current"))
    page.keyboard.press("k")
    expect(page.locator("#reports tbody tr").first).to_have_class(re.compile("current"))
    press("Enter", refs[0])
    press("j", refs[1])
    press("k", refs[0])
    press("r", refs[1])
    expect(page).to_have_title(re.compile(r"^\(2\) "))
    page.focus("#note")
    page.keyboard.type("jkr")  # typing in the note never triggers shortcuts
    expect(page).to_have_url(re.compile(re.escape(f"/r/{refs[1]}")))
    expect(page.locator("#note")).to_have_value("jkr")


def test_hostile_page_text_never_runs_in_the_app_or_the_static_files(page: Page,
                                                                       review_server: ReviewServer) -> None:
    ref = next(r for r in review_server.site.refs if r.startswith(MATTIS))
    reports = review_server.site.settings.reports_dir
    urls = [f"{review_server.url}r/{ref}", review_server.url, f"{review_server.url}t/{MATTIS}",
            (reports / f"{ref}.html").as_uri(), (reports / "index.html").as_uri(),
            (reports / MATTIS / "index.html").as_uri()]
    for url in urls:
        page.goto(url)
        assert page.evaluate("typeof window.__pwned") == "undefined", url
        assert page.locator("img[src='x']").count() == 0, url
    page.goto(f"{review_server.url}r/{ref}")
    expect(page.locator("#inline")).to_contain_text("<script>window.__pwned = 1</script>")
    expect(page.locator("#inline")).to_contain_text("{{ 7*7 }}")
    assert not page.dialogs and not page.errors


def test_compare_two_snapshots_from_the_history(page: Page, review_server: ReviewServer) -> None:
    page.goto(f"{review_server.url}t/{NATO}")
    radios = page.locator("input[name='a']")
    expect(radios).to_have_count(3)
    radios.last.check()  # before: the baseline; after: the newest (checked by default)
    page.get_by_role("button", name="Compare the two selected snapshots").click()
    expect(page.locator("h1")).to_contain_text("Compare two snapshots")
    expect(page.locator("#inline .ins")).to_contain_text(["on Tuesday"])


@pytest.mark.parametrize("path", ["", "reports", "r/{ref}", "t/" + NATO])
def test_readable_at_phone_width(page: Page, review_server: ReviewServer, path: str) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(review_server.url + path.format(ref=review_server.site.refs[0]))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"no sideways scrolling at phone width ({width}px)"
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 16


def test_every_screen_passes_the_axe_accessibility_checks(page: Page, review_server: ReviewServer) -> None:
    """axe-core (the engine behind most accessibility audits) finds no violation on any screen or static page."""
    reports = review_server.site.settings.reports_dir
    ref = review_server.site.refs[0]
    snapshots = [p.stem for p in sorted((review_server.site.settings.snapshots_dir / NATO).glob("2*.json"))]
    urls = [review_server.url, f"{review_server.url}reports", f"{review_server.url}reports?status=reviewed",
            f"{review_server.url}r/{ref}",
            f"{review_server.url}t/{NATO}", f"{review_server.url}t/{NATO}/compare?a={snapshots[0]}&b={snapshots[-1]}",
            f"{review_server.url}login", (reports / "index.html").as_uri(), (reports / NATO / "index.html").as_uri(),
            (reports / NATO / "history.html").as_uri(), (reports / f"{ref}.html").as_uri()]
    axe = Axe()
    found = {}
    for url in urls:
        page.goto(url)
        result = axe.run(page)
        found[url] = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result.response["violations"]]
    assert not any(found.values()), {url: v for url, v in found.items() if v}


def test_report_anchors_jump_between_changes_and_long_pages_open_on_changes_only(page: Page, tmp_path: Path) -> None:
    from monitor.report.render import render_html
    from tests.report.test_report import T0, make_report

    lines = [f"Paragraph {i} says something." for i in range(1, 90)]
    edited = [*lines]
    edited[9], edited[70] = "Paragraph 10 says something new.", "Paragraph 71 changed."
    long_report = tmp_path / "long.html"
    long_report.write_text(render_html(make_report(old="\n\n".join(lines), new="\n\n".join(edited)), T0),
                           encoding="utf-8")
    page.goto(long_report.as_uri())
    assert page.locator("#changes").is_visible() and not page.locator("#inline").is_visible(), \
        "a page longer than a screen opens on the changes-only view"
    page.get_by_role("link", name="Jump to the first change").click()
    assert page.url.endswith("#h1") and page.locator("#h1").is_visible()
    page.locator("#h1").get_by_role("link", name="next").click()
    assert page.url.endswith("#h2") and page.locator("#h2").is_visible()
    page.get_by_role("link", name="Inline", exact=True).click()
    assert page.locator("#inline").is_visible() and not page.locator("#changes").is_visible()
    page.goto(long_report.as_uri() + "#c2")  # a change's anchor shows the view that holds it
    assert page.locator("#inline").is_visible() and page.locator("#c2").is_visible()
    assert "Paragraph 71" in page.locator("#c2").inner_text()
    page.locator("#c2").locator("xpath=preceding-sibling::a[1]").click()
    assert page.url.endswith("#c1"), "the last change's arrow goes back to the first"
    page.get_by_role("link", name="Side by side").click()
    assert page.evaluate("document.getElementById('side').getBoundingClientRect().top") < 5, "no gap above it"
    numbers = page.locator("#side tbody tr td.no").all_inner_texts()[::2][:5]
    assert numbers == ["1", "2", "3", "4", "5"], "lines numbered as shown: blank lines are not counted"
    short = tmp_path / "short.html"
    short.write_text(render_html(make_report(), T0), encoding="utf-8")
    page.goto(short.as_uri())
    assert page.locator("#inline").is_visible() and not page.locator("#changes").is_visible()


def test_watch_a_page_edit_pause_and_check_now_from_the_browser(page: Page, review_server: ReviewServer) -> None:
    """The watches page in Chromium: a bad URL and a bad duration are refused next to their fields; a good
    target appears; its page edits it (comments kept); pause, resume and check now work."""
    config = review_server.site.settings.config_path
    assert config is not None
    config.write_text("# kept across edits\n" + config.read_text())
    page.goto(review_server.url)
    expect(page.locator("#watches tbody tr")).to_have_count(2)
    page.fill("#add-url", "not a url")
    page.fill("#add-every", "5x")
    page.click('form[action$="/watches/add"] button')
    expect(page.locator("#add-url-error")).to_be_visible()
    expect(page.locator("#add-every-error")).to_contain_text("duration")
    expect(page.locator("#add-url")).to_have_value("not a url")
    good = review_server.site.server.url(DEMO_PAGES[MATTIS]) + "?again"  # the same page at another address
    page.fill("#add-url", good)
    page.fill("#add-every", "1h")
    page.fill("#add-name", "again")
    page.click('form[action$="/watches/add"] button')
    expect(page.locator(".flash")).to_contain_text("Added again")
    expect(page.locator('#watches tr[data-target="again"]')).to_have_count(1)
    page.click('button[aria-label="Check again now"]')
    expect(page.locator(".flash")).to_contain_text("again: checked now: new")
    page.click(f'button[aria-label="Check {NATO} now"]')
    expect(page.locator(".flash")).to_contain_text(f"{NATO}: checked now:")
    page.click(f'button[aria-label="Pause {NATO}"]')
    expect(page.locator(f'#watches tr[data-target="{NATO}"]')).to_have_attribute("data-state", "paused")
    page.click(f'button[aria-label="Resume {NATO}"]')
    expect(page.locator(f'#watches tr[data-target="{NATO}"]')).not_to_have_attribute("data-state", "paused")
    page.goto(f"{review_server.url}t/again")
    page.fill("#edit-1", "2h")
    page.click('form[aria-label="Change its settings"] button')
    expect(page.locator(".flash")).to_contain_text("every changed")
    text = config.read_text()
    assert text.startswith("# kept across edits\n") and "every: 2h" in text and "name: again" in text
