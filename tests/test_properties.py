"""Properties over generated inputs (hypothesis): the parsers never crash, the diff always round-trips and
marks whole words, normalized text has its documented shape."""

from __future__ import annotations

import codecs
import os
import re
import unicodedata
from itertools import pairwise

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor.config.settings import parse_settings
from monitor.diff import diff, new_text, old_text
from monitor.errors import ConfigError, MonitorError, NormalizeError
from monitor.extract import extract, normalize
from monitor.extract.regions import cut
from monitor.fetch import decode_html, read_html
from monitor.report.catalog import resolve
from monitor.report.views import hunks, rows

WORDS = st.sampled_from(["NATO", "training", "Iraq", "said", "the", "in", "mission", "1,000", "U.S.", "–", "''",
                         "Stoltenberg", "naïve", "résumé", "suspended", "told", "informed", "💥", "a", "an"])
SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "\n\n", ", ", ". "])
TEXTS = st.lists(st.tuples(WORDS, SEPARATORS), max_size=60).map(lambda parts: "".join(w + s for w, s in parts))
# `make test` (and so every landing) replays the same examples: a red build is reproducible, and no build goes
# red by the luck of a new example. MONITOR_HYPOTHESIS_EXPLORE=N looks for new ones, N per property; what it
# finds becomes an @example.
_EXPLORE = int(os.environ.get("MONITOR_HYPOTHESIS_EXPLORE") or 0)
FAST = settings(max_examples=_EXPLORE or 150, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=not _EXPLORE, database=None)


@FAST
@given(TEXTS, TEXTS)
@example("told the media", "informed the media")
@example("informed NATO ", "in informed ")
def test_diff_round_trips_and_marks_whole_words(old: str, new: str) -> None:
    change = diff(old, new)
    if old == new:
        assert change is None
        return
    assert change is not None, "different texts are never 'unchanged'"
    assert old_text(change) == old and new_text(change) == new
    ops = change.ops
    assert any(op for op, _ in ops), "a change has an insertion or a deletion"
    for (op1, t1), (op2, t2) in pairwise(ops):
        if op1 != op2 and t1 and t2 and 0 in (op1, op2):
            assert not (t1[-1].isalnum() and t2[0].isalnum()), f"a mark splits a word: {t1!r} | {t2!r}"
    shown = "".join(text for h in hunks(ops) for c in h.chunks for op, text in c.ops if op)
    assert shown == "".join(text for op, text in ops if op), "the changes-only view shows every change"
    side = rows(ops)
    for text, column in ((old, "old"), (new, "new")):
        lines = ["".join(t for _, t in getattr(r, column)) for r in side if getattr(r, column) is not None]
        assert "\n".join(lines) in (text, text.removesuffix("\n")), f"side by side shows every {column} line once"


HTML = st.recursive(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    lambda inner: st.builds(lambda tag, a, b: f"<{tag}>{a}{b}</{tag}>" if tag else a + b,
                            st.sampled_from(["", "p", "div", "b", "main", "article", "script", "style", "nav", "br",
                                             "li", "table", "td", "pre", "h1"]), inner, inner),
    max_leaves=25)


@FAST
@given(HTML)
@example("<main><p>a\u200b\u202eb</p></main>")
def test_normalize_never_crashes_and_text_has_its_shape(html: str) -> None:
    try:
        text = normalize(html, "generic")
    except NormalizeError:
        return
    assert text == unicodedata.normalize("NFC", text)
    assert not text.endswith("\n"), "no trailing blank lines (leading ones come from <br>, as the seeds have)"
    assert not re.search(r"[ \t]\n|\n[ \t]", text), "no spaces around line breaks"
    assert not re.search("[\u200b\u202a-\u202e\u2066-\u2069]", text)
    assert normalize(html, "generic") == text, "deterministic"


OPEN_TAGS = st.sampled_from([
    "", "p", "div", "b", "main", "article", "nav", "header", "footer", "aside", "br", "li", "td", "pre", "h1", "h2",
    "figure", "figcaption", "script", "a href=' /x '", "a href='#top'", "a href=/y", "area href=/m", "img alt=pic",
    "div class=body", "h1 class=maintitle", "div class=related", "section class=usa-banner", "div hidden",
    "div role=main", "div class='share-tools'", "span class='article-notice'", "title", "!-- c --", "template",
    "style", "noscript", "textarea", "table", "tr", "svg", "div class='x\xa0body'", "p class='x\x0cmaintitle'"])
def _element(tag: str, inside: str, after: str) -> str:
    """`tag` around `inside`, then `after`; void elements and comments have no inside of their own."""
    if not tag:
        return inside + after
    if tag.startswith("!") or tag.startswith(("img ", "area ")):
        return f"<{tag}>{inside}{after}"
    return f"<{tag}>{inside}</{tag.split()[0]}>{after}"


MARKUP = st.recursive(st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
                      lambda inner: st.builds(_element, OPEN_TAGS, inner, inner), max_leaves=30)


@FAST
@given(MARKUP, st.sampled_from(["generic", "defense.gov"]))
@example("<main><a href=' /x '>a</a>x<!-- c -->y<nav>n</nav>tail</main>", "generic")
@example("<template><div class=body></div></template>", "defense.gov")  # a template's markup is not the page's
@example("<h1 class=maintitle>T</h1><template><h1 class=maintitle>X</h1></template>", "defense.gov")
@example("<A\r\x1f>x", "generic")  # an attribute name lxml parses but will not edit
def test_the_fast_path_reads_what_normalize_reads(html: str, profile: str) -> None:
    """Where the cut's tree can answer, it gives extract's content or its error (monitor.extract.treetext)."""
    piece = cut(html, profile)
    try:
        fast: object = piece.content() if piece is not None else None
    except NormalizeError as exc:
        fast = str(exc)
    if fast is None:
        return  # the full path normalizes this page
    try:
        slow: object = extract(html, profile)
    except NormalizeError as exc:
        slow = str(exc)
    assert fast == slow


@FAST
@given(st.binary(max_size=2000), st.one_of(st.none(), st.sampled_from([
    "text/html", "text/html; charset=utf-8", "text/html; charset=iso-8859-1", "text/html; charset=bogus",
    "text/html; charset=utf-16", "text/html;charset=\"shift_jis\""])))
def test_decoding_any_bytes_gives_text(body: bytes, content_type: str | None) -> None:
    assert isinstance(decode_html(body, content_type), str)


UTF8ISH = st.lists(st.one_of(st.text(max_size=20), st.binary(max_size=4),
                             st.sampled_from([codecs.BOM_UTF8, b"\xc3\xa9", b"\xe9", b"\xed\xa0\x80", b"\xff"])),
                   max_size=12).map(lambda parts: b"".join(p.encode() if isinstance(p, str) else p for p in parts))


@FAST
@given(UTF8ISH, st.sampled_from([None, "text/html", "text/html; charset=utf-8", "text/html; charset=iso-8859-1",
                                 "text/html; charset=utf-16"]))
@example(b"\x00\xef\xbb\xbf", None)  # a NUL before a byte-order mark (found by exploring)
def test_the_undecoded_utf8_body_is_the_decoded_text_encoded(body: bytes, content_type: str | None) -> None:
    # The cut reads a UTF-8 page's bytes as they came; that must be exactly the text the full path decodes.
    page = read_html(body, content_type)
    assert page.utf8 == decode_html(body, content_type).encode("utf-8", "replace")
    assert page.text == decode_html(body, content_type)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=30))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=12), inner, max_size=5)),
                      max_leaves=20)
KEYS = st.sampled_from(["name", "url", "every", "cron", "timeout", "profile", "select", "exclude", "ignore", "keep",
                        "headers", "error_threshold", "compare_versions", "timout", "archive"])
TARGET = st.dictionaries(KEYS, VALUES, max_size=6)
TOP = st.fixed_dictionaries({"targets": st.lists(TARGET, max_size=3)}, optional={
    "snapshots_dir": VALUES, "fetch": VALUES, "daemon": VALUES, "email": VALUES, "reports_dir": VALUES})


@FAST
@given(st.one_of(TOP, VALUES))
@example({"targets": [{"name": "ok", "url": "https://example.org/", "every": "nonsense"}]})
def test_any_config_document_parses_or_fails_with_config_error(doc: object) -> None:
    try:
        parse_settings(yaml.safe_dump(doc))
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and "\n" not in p for p in exc.problems)


@FAST
@given(st.text(max_size=40))
def test_resolving_any_reference_fails_cleanly(ref: str) -> None:
    try:
        resolve([], ref)
    except MonitorError as exc:
        assert "\n" not in str(exc)
