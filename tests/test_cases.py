"""The change-detection corpus (tests/cases/): every noise variant of both seed pages is no change, every
real edit is detected and marked exactly, through the whole check pipeline against a loopback server.

Regenerate the corpus with `python -m tests.noise`. On top of the committed cases, random combinations of
all noise kinds are tried with fresh seeds on every run.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from bs4 import BeautifulSoup

from monitor.demo import page_html
from monitor.demo.server import Page
from tests.noise import CASES_DIR, NOISE, PAGES, all_noise

CASES = sorted(CASES_DIR.glob("*/*/case.yaml"))


def marks(ops: tuple[tuple[int, str], ...] | list[list[Any]]) -> list[list[Any]]:
    """Return the marked (inserted/deleted) fragments of a diff, whitespace-trimmed, whitespace-only ones dropped."""
    return [[op, text.strip()] for op, text in ops if op != 0 and text.strip()]


def html_marks(report: Path) -> list[list[Any]]:
    """Return the marked fragments shown in the report's inline view, read back from its HTML."""
    soup = BeautifulSoup(report.read_text(encoding="utf-8"), "lxml")
    inline = soup.select_one("#inline")
    if inline is None:
        return []
    for sr in inline.select(".sr"):
        sr.decompose()
    return [[1 if "ins" in span["class"] else -1, span.get_text().strip()]
            for span in inline.select("span.ins, span.del") if span.get_text().strip()]


def test_the_corpus_covers_every_noise_kind_and_edit_kind_for_both_pages() -> None:
    names = {(path.parent.parent.name, path.parent.name) for path in CASES}
    for page in PAGES:
        assert {(page, f"noise-{kind}") for kind in NOISE} <= names
        assert {(page, n) for n in ("edit-reword-sentence", "edit-add-paragraph", "edit-remove-paragraph",
                                    "edit-title", "edit-quote-style")} <= names
    assert (PAGES[0], "edit-photo-caption") in names and (PAGES[0], "edit-link-added") in names


@pytest.mark.parametrize("case_file", CASES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_case(case_file: Path, pipeline: Any) -> None:
    case = yaml.safe_load(case_file.read_text(encoding="utf-8"))
    run = pipeline(case["page"])
    run.serve(page_html(case["page"]))
    assert run.check().status == "new"
    run.serve((case_file.parent / "after.html").read_bytes())
    result = run.check()
    if case["outcome"] == "unchanged":
        assert result.status == "unchanged", f"false alarm: {case['description']} -> {result.change or result.meta}"
        assert result.report is None
        return
    assert result.status == "changed" and result.report is not None, result.error
    expected = case["marked"]
    assert marks(result.change.ops if result.change else ()) == expected
    assert html_marks(result.report) == expected, "the report marks exactly the edit"
    meta = case.get("meta", {})
    got = result.meta
    assert (list(got.title) if got and got.title else None) == meta.get("title")
    assert (list(got.links_added) if got else []) == meta.get("links_added", [])
    assert (list(got.links_removed) if got else []) == meta.get("links_removed", [])
    assert got is None or (got.final_url is None and got.status is None)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("seed", range(4))
def test_random_noise_is_never_a_change(page: str, seed: int, pipeline: Any) -> None:
    """Fresh random noise each run: any subset of the noise kinds, in any order, twice in a row."""
    rng = random.Random()
    run = pipeline(page)
    run.serve(page_html(page))
    assert run.check().status == "new"
    for _ in range(2):
        kinds = tuple(rng.sample(sorted(NOISE), rng.randint(3, len(NOISE))))
        run.serve(all_noise(page_html(page).decode("utf-8"), rng, kinds))
        result = run.check()
        assert result.status == "unchanged", f"false alarm with noise {kinds}: {result.change or result.meta}"


def test_a_redirect_to_a_new_domain_is_a_final_url_change(pipeline: Any) -> None:
    run = pipeline(PAGES[0])
    run.serve(page_html(PAGES[0]))
    assert run.check().status == "new"
    moved = "/war.gov" + run.path
    run.server.set(moved, Page(page_html(PAGES[0]), validators=False))
    run.server.set(run.path, Page(b"", status=301, headers={"Location": run.server.url(moved)}, validators=False))
    result = run.check()
    assert result.status == "changed" and result.change is None
    assert result.meta is not None and result.meta.final_url == (run.server.url(run.path), run.server.url(moved))
    html = result.report.read_text(encoding="utf-8")
    assert "Page details changed" in html and "Final URL" in html and 'id="inline"' not in html
    assert run.check().status == "unchanged", "the move is reported once"


def test_the_report_offers_three_views_of_the_same_diff(pipeline: Any) -> None:
    run = pipeline(PAGES[1])
    run.serve(page_html(PAGES[1]))
    run.check()
    run.serve(page_html(PAGES[1]).replace(b"Our military campaign in Syria continues.",
                                          b"Our military campaign in Syria goes on."))
    result = run.check()
    soup = BeautifulSoup(result.report.read_text(encoding="utf-8"), "lxml")
    # 72 lines: the report opens on the changes-only view, so "jump to the first change" goes to its first place
    assert [a["href"] for a in soup.select("nav.views a")] == ["#inline", "#side", "#changes", "#h1"]
    assert not soup.select("script"), "views work without JavaScript"
    side = soup.select("#side tr.chg")
    assert len(side) == 1 and "continues" in side[0].select("td.line")[0].get_text()
    assert "goes on" in side[0].select("td.line")[1].get_text()
    changes = soup.select_one("#changes").get_text()
    assert "Our military campaign" in changes and "Since our last meeting" in changes, "context lines"
    assert "welcome to NATO" not in changes, "far-away text is not in the changes-only view"
    text = result.report.with_suffix(".txt").read_text(encoding="utf-8")
    assert "Our military campaign in Syria [-continues-]{+goes on+}." in text
    assert re.search(r"@@ line \d+ before, line \d+ after @@", text)
