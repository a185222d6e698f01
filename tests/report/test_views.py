"""report.views: one diff shaped as chunks, side-by-side rows and changes-only hunks."""

from __future__ import annotations

from monitor.diff import diff
from monitor.report.views import chunks, hunks, rows


def ops(old: str, new: str) -> tuple[tuple[int, str], ...]:
    change = diff(old, new)
    assert change is not None
    return change.ops


def test_chunks_rebuild_both_texts_line_by_line() -> None:
    old, new = "a\n\nb c\n\nd", "a\n\nb x c\n\nnew\n\nd"
    parts = chunks(ops(old, new))
    assert "".join(t for c in parts for op, t in c.ops if op != 1) == old
    assert "".join(t for c in parts for op, t in c.ops if op != -1) == new
    assert ["\n".join("".join(t for _, t in line) for line in c.old_lines) for c in parts] == \
        ["a", "", "b c", "", "d"]


def test_rows_put_added_lines_on_their_own_rows_and_pair_shared_ones() -> None:
    got = [(r.old_no, "".join(t for _, t in r.old or ()), r.new_no, "".join(t for _, t in r.new or ()), r.changed)
           for r in rows(ops("one\ntwo", "one\nNEW\ntwo"))]
    assert got == [(1, "one", 1, "one", False), (None, "", 2, "NEW", True), (2, "two", 3, "two", False)]


def test_a_changed_line_shows_word_marks_on_both_sides() -> None:
    (row,) = [r for r in rows(ops("x\nthe cat sat\ny", "x\nthe dog sat\ny")) if r.changed]
    assert row.old == ((0, "the "), (-1, "cat"), (0, " sat")) and row.new == ((0, "the "), (1, "dog"), (0, " sat"))


def test_hunks_keep_three_lines_of_context_and_split_far_apart_changes() -> None:
    lines = [f"line {i}" for i in range(1, 31)]
    new = list(lines)
    new[4], new[24] = "line five", "line twenty-five"
    found = hunks(ops("\n".join(lines), "\n".join(new)))
    assert len(found) == 2
    first = "".join(t for c in found[0].chunks for op, t in c.ops if op != 1)
    assert first.strip().splitlines() == [f"line {i}" for i in range(2, 9)]
    assert (found[0].old_start, found[1].old_start) == (2, 22)


def test_blank_lines_do_not_count_as_context() -> None:
    old = "\n\n".join(f"p{i}" for i in range(10))
    new = old.replace("p5", "P5")
    (hunk,) = hunks(ops(old, new))
    shown = "".join(t for c in hunk.chunks for op, t in c.ops if op != 1).split()
    assert shown == ["p2", "p3", "p4", "p5", "p6", "p7", "p8"]


def test_a_change_inside_a_very_long_line_is_shown_as_windows_of_words() -> None:
    from monitor.report.render import render_html, render_text
    from tests.report.test_report import T0, make_report

    words = [f"word{i}" for i in range(160_000)]  # one line of about 1.1 MB
    old = " ".join(words)
    edited = [*words]
    edited[50_000], edited[120_000] = "EDITED", "CHANGED"
    report = make_report(old=old, new=" ".join(edited))
    text = render_text(report, T0)
    assert len(text) < 5_000 and "[-word50000-]{+EDITED+}" in text and "{+CHANGED+}" in text
    assert "characters …]" in text and "word49999" in text, "a window of words on each side of a change"
    html = render_html(report, T0)
    assert len(html) < 2.5 * len(old), "only the side-by-side view carries the whole line, once per side"
    inline = html[html.index('<div id="inline"'):]
    assert len(inline) < 10_000 and inline.count('class="elided" href="#side"') == 3
    changes = html[html.index('<div id="changes"'):html.index('<div id="side"')]
    assert len(changes) < 10_000 and "EDITED" in changes
