"""The defense.gov profile on markup we did not write the fixtures in: every variant normalizes exactly."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.demo import page_html
from monitor.errors import NormalizeError
from monitor.extract import extract
from monitor.extract.regions import cut
from tests.extract.variants import (
    BANNERS,
    NOTICES,
    PHOTOS,
    RELATEDS,
    SEED_FILES,
    TITLES,
    Variant,
    every_region_variant,
    page,
)

VARIANTS = st.builds(Variant, name=st.sampled_from(sorted(SEED_FILES)), banner=st.integers(0, len(BANNERS) - 1),
                     title=st.integers(0, len(TITLES) - 1), notice=st.integers(0, len(NOTICES) - 1),
                     photo=st.integers(0, len(PHOTOS) - 1), related=st.integers(0, len(RELATEDS) - 1),
                     real_body=st.booleans(), notice_inside=st.booleans())


def assert_normalizes(v: Variant) -> None:
    html, want = page(v)
    whole = extract(html, "defense.gov")
    piece = cut(html, "defense.gov")
    assert piece is not None, "the fast path can cut every variant"
    fast = piece.content()
    if whole.text != want:
        diff = "\n".join(difflib.unified_diff(want.split("\n"), whole.text.split("\n"), "want", "got", lineterm=""))
        pytest.fail(f"{v.label()} normalizes wrongly:\n{diff}")
    assert fast == whole, "the fast path reads exactly what the full path reads (text, title, links, places)"
    assert whole.title is not None and whole.title in want.split("\n\n")
    assert whole.date == "Jan. 7, 2020", "the date line is metadata, found beside the title"
    assert "Jan. 7, 2020" not in whole.text
    assert sum(length for _, length in whole.blocks) + 2 * (len(whole.blocks) - 1) == len(whole.text)


@pytest.mark.parametrize("variant", every_region_variant(), ids=Variant.label)
def test_every_markup_of_every_region_normalizes_to_the_seed_format(variant: Variant) -> None:
    assert_normalizes(variant)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VARIANTS)
def test_any_combination_of_region_markups_normalizes_exactly(variant: Variant) -> None:
    assert_normalizes(variant)


def test_each_block_knows_its_place() -> None:
    html, _ = page(Variant())  # the DMA banner, real header and body, the fixture notice and photos
    places = [place for place, _ in extract(html, "defense.gov").blocks]
    assert places[:8] == ["banner"] * 5 + ["title", "notice", "paragraph 1"]
    assert places[8:11] == ["paragraph 2", "photo 1", "paragraph 3"]
    assert places[-1] == "related" and "photo 3" in places
    html, _ = page(Variant(name="mattis-stoltenberg-remarks", banner=BANNERS.index(BANNERS[-1])))
    assert [p for p, _ in extract(html, "defense.gov").blocks][:3] == ["notice", "title", "paragraph 1"]


@pytest.mark.parametrize("name", sorted(SEED_FILES))
def test_the_demo_pages_are_the_documented_real_markup(name: str) -> None:
    assert page_html(name, live=True).decode("utf-8") == page(Variant(name=name))[0], \
        "rebuild monitor/demo/pages/live/ from tests/extract/variants.py"


def test_a_wayback_replay_reads_as_the_page_with_its_original_links() -> None:
    html, want = page(Variant(banner=1))
    replay = html.replace('href="/', 'href="/web/20200108000000/https://www.defense.gov/').replace(
        "<body>", '<body><!-- BEGIN WAYBACK TOOLBAR INSERT --><div id="wm-ipp-base" lang="en"><div id="wm-ipp">'
        '<a href="https://web.archive.org/web/">The Wayback Machine</a> - https://web.archive.org/web/20200108/'
        '<span>captured 12 times</span><a href="/web/2020*/defense.gov">Related Stories from 2020</a></div></div>'
        '<!-- END WAYBACK TOOLBAR INSERT -->', 1).replace(
        "<head>", '<head><script src="//archive.org/includes/athena.js"></script><script>__wm.init('
        '"https://web.archive.org/web");</script>', 1) + "<!--\n     FILE ARCHIVED ON 00:00:00 Jan 08, 2020\n-->"
    live, replayed = extract(html, "defense.gov"), extract(replay, "defense.gov")
    assert replayed.text == want == live.text
    assert "https://www.defense.gov/Contact/" in replayed.links and all("web.archive" not in x for x in replayed.links)
    assert cut(replay, "defense.gov").content() == replayed


@pytest.mark.parametrize(("html", "message"), [
    ("<html><body><header><h1>Access Denied</h1></header><p>Reference #18.1</p></body></html>", "none of"),
    ("<html><body><h1 class='maintitle'></h1><div class='body'> </div></body></html>", "no text found"),
])
def test_bad_markup_is_one_clear_error_on_both_paths(html: str, message: str) -> None:
    with pytest.raises(NormalizeError, match=message):
        extract(html, "defense.gov")
    piece = cut(html, "defense.gov")
    if piece is not None:
        with pytest.raises(NormalizeError, match=message):
            piece.content()


def test_regions_without_their_usual_parts_still_read() -> None:
    empty_banner = '<section class="usa-banner"><header class="usa-banner__header"></header></section>'
    noticeless = ('<div class="article-notice">You have accessed</div><h1 class="maintitle">T</h1>'
                  '<div class="body"><p>P</p></div>')
    assert extract(empty_banner + noticeless, "defense.gov").text == "T\n\nP"  # no notice without its words
    title_only = "<h1 class='maintitle'>Only a title</h1>"
    assert extract(title_only, "defense.gov").text == "Only a title"
    assert cut(title_only, "defense.gov").content().text == "Only a title"
