"""diff: identical texts give nothing; edits are marked at word level and nothing else is."""

from __future__ import annotations

import pytest

from monitor.diff import diff, new_text, old_text
from tests.conftest import MATTIS, NATO, SEEDS


@pytest.fixture(params=[NATO, MATTIS])
def seed(request: pytest.FixtureRequest) -> str:
    return SEEDS[request.param].read_text(encoding="utf-8")


def marked(old: str, new: str) -> list[tuple[int, str]]:
    change = diff(old, new)
    assert change is not None
    return [op for op in change.ops if op[0] != 0]


def test_identical_texts_give_no_change(seed: str) -> None:
    assert diff(seed, seed) is None


def test_a_reworded_sentence_marks_only_the_changed_words() -> None:
    old = SEEDS[NATO].read_text(encoding="utf-8")
    new = old.replace("said in Brussels today.", "said in Brussels on Tuesday.")
    assert marked(old, new) == [(-1, "today"), (1, "on Tuesday")]


def test_an_added_paragraph_is_one_insertion(seed: str) -> None:
    paragraphs = seed.split("\n\n")
    new = "\n\n".join([*paragraphs[:8], "A brand new paragraph.", *paragraphs[8:]])
    ops = marked(seed, new)
    assert len(ops) == 1 and ops[0][0] == 1 and ops[0][1].strip() == "A brand new paragraph."


def test_a_removed_paragraph_is_one_deletion(seed: str) -> None:
    paragraphs = seed.split("\n\n")
    gone = paragraphs[9]
    ops = marked(seed, "\n\n".join(paragraphs[:9] + paragraphs[10:]))
    assert len(ops) == 1 and ops[0][0] == -1 and ops[0][1].strip() == gone


def test_quote_style_change_is_detected_and_marked() -> None:
    old = SEEDS[NATO].read_text(encoding="utf-8")
    new = old.replace("''In everything that we do,", "“In everything that we do,", 1)
    assert marked(old, new) == [(-1, "''"), (1, "“")]


def test_counts_and_round_trip(seed: str) -> None:
    new = seed.replace("NATO", "the North Atlantic Treaty Organization", 2) + "\n\nClosing words here."
    change = diff(seed, new)
    assert change is not None
    assert old_text(change) == seed and new_text(change) == new
    inserted = "".join(t for op, t in change.ops if op == 1)
    assert change.inserted_chars == len(inserted) and change.deleted_chars == 8
    assert change.deleted_words == 2 and change.inserted_words == 2 * 5 + 3


def test_texts_beyond_the_basic_plane_round_trip() -> None:
    old = "emoji 😀 line\nsecond"
    new = "emoji 😃 line\nsecond\nthird 𝔘"
    change = diff(old, new)
    assert change is not None and old_text(change) == old and new_text(change) == new


def test_a_word_before_a_final_newline_is_not_swallowed_with_it() -> None:
    """Found by hypothesis: widening an edit to whole words took `word\\n` for a word and lost the newline."""
    change = diff("NATO training\n", "training\nNATO ")
    assert change is not None
    assert old_text(change) == "NATO training\n" and new_text(change) == "training\nNATO "
