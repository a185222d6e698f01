"""normalize: the fixture pages give the seeds exactly; table-driven cases; errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.demo import baseline_text, page_html
from monitor.errors import NormalizeError
from monitor.extract import normalize
from monitor.fetch import decode_html
from monitor.patterns import apply_ignore, ignored_differences
from tests.conftest import MATTIS, NATO, SEEDS

CASES = yaml.safe_load((Path(__file__).parent / "data" / "normalize_cases.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", [NATO, MATTIS])
def test_fixture_pages_normalize_to_the_seed_texts_exactly(name: str) -> None:
    text = normalize(decode_html(page_html(name), "text/html; charset=utf-8"), "defense.gov")
    assert text == SEEDS[name].read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [NATO, MATTIS])
def test_demo_baseline_is_the_seed(name: str) -> None:
    assert baseline_text(name) == SEEDS[name].read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_normalize_cases(case: dict) -> None:
    got = normalize(case["html"], case.get("profile", "generic"), case.get("select"), case.get("exclude", ()))
    assert got == case["text"]


def test_defense_gov_profile_refuses_a_page_without_an_article() -> None:
    with pytest.raises(NormalizeError, match=r"profile defense.gov: page has none of h1.maintitle"):
        normalize("<html><body><h1>Access Denied</h1><p>Reference #18.1</p></body></html>", "defense.gov")


def test_a_selector_matching_nothing_is_an_error() -> None:
    with pytest.raises(NormalizeError, match=r"selector '\.missing': no text found"):
        normalize("<body><p>x</p></body>", "generic", select=".missing")


def test_unknown_profile_is_an_error() -> None:
    with pytest.raises(NormalizeError, match="unknown profile 'nope'"):
        normalize("<p>x</p>", "nope")


def test_deeply_nested_markup_does_not_exhaust_the_stack() -> None:
    html = "<body>" + "<div><span>" * 3000 + "deep" + "</span></div>" * 3000 + "</body>"
    assert "deep" in normalize(html)


def test_apply_ignore_removes_matches_and_counts_them() -> None:
    text = "Title\n\nUpdated: Jan. 7, 2020\n\nBody 12 views"
    filtered, removed = apply_ignore(text, [r"^Updated: .*$", r"\d+ views"])
    assert (filtered, removed) == ("Title\n\nBody", ["Updated: Jan. 7, 2020", "12 views"])
    assert apply_ignore(text, []) == (text, [])


def test_ignored_differences_counts_changed_fragments_once() -> None:
    assert ignored_differences(["Updated: Jan. 7"], ["Updated: Jan. 8"]) == 1
    assert ignored_differences(["a", "b"], ["b", "a"]) == 0
    assert ignored_differences([], ["x", "y"]) == 2
