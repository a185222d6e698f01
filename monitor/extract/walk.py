"""The one text walk every tree goes through: regions in, text blocks and the place each block came from out.

Both the full path (BeautifulSoup, normalize.py) and the fast path (lxml, treetext.py) read a page through
`walk_text`, with callbacks for their tree, so the two give the same text by construction.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any

Node = Any  # an element of a BeautifulSoup or an lxml tree

# Never content: code, metadata, form controls, embedded media, icons. An <svg> is read for its <title>.
SKIP_TAGS = frozenset({
    "script", "style", "noscript", "template", "head", "title", "meta", "link", "base",
    "button", "input", "select", "option", "optgroup", "textarea", "datalist",
    "iframe", "object", "embed", "canvas", "video", "audio", "map", "picture", "source",
})
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hgroup", "hr", "legend", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
    "tbody", "thead", "tfoot", "tr", "ul",
})
CELL_TAGS = frozenset({"td", "th"})
ASCII_WS = re.compile(r"[ \t\n\r\f\v]+")
# Invisible characters that are no content: zero-width space, word joiner, BOM, and the bidi embedding,
# override and isolate controls (which can make a report show text in another order than the page's).
# ZWJ/ZWNJ and the LRM/RLM marks stay: they shape real text.
INVISIBLE = re.compile("[\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]")

# A block's place: "banner", "title", "notice", "related", "paragraph N" (the article body's, or a generic
# page's), "photo N" / "figure N" (a compact block). `Blocks` pairs each text block with its length.
Blocks = tuple[tuple[str, int], ...]


def clean_title(text: str) -> str | None:
    """Return a title element's text as a page title: invisible characters out, whitespace collapsed, NFC
    (None if nothing is left)."""
    title = ASCII_WS.sub(" ", INVISIBLE.sub("", text)).strip()
    return unicodedata.normalize("NFC", title) if title else None


class _TextBuilder:
    """Accumulates text fragments into lines and lines into blocks, each block labelled with its place."""

    def __init__(self, compact_label: str, origins: list[Node] | None = None) -> None:
        self.origins = origins  # when given: the element each block came from, block by block
        self.opened: list[Node] = []  # the block elements the walk is inside, innermost last
        self.blocks: list[str] = []
        self.labels: list[str] = []
        self.lines: list[str] = []
        self.fragments: list[str] = []
        self.place = "paragraph"  # a region kind, "paragraph" (numbered as blocks come) or a compact label
        self.counts = {"paragraph": 0, compact_label: 0}
        self.compact_label = compact_label

    def add(self, text: str) -> None:
        self.fragments.append(text)

    def _take_line(self) -> str:
        line = ASCII_WS.sub(" ", INVISIBLE.sub("", "".join(self.fragments))).strip(" ")
        self.fragments = []
        return line

    def line_break(self) -> None:
        """A <br>: end the line, even when empty (a leading <br> is a visible blank line)."""
        self.lines.append(self._take_line())

    def soft_break(self) -> None:
        """A block boundary inside a compact element: a new line, never an empty one."""
        line = self._take_line()
        if line:
            self.lines.append(line)

    def block_break(self) -> None:
        """End the current block (dropping trailing empty lines and blank blocks)."""
        line = self._take_line()
        if line or self.lines:
            self.lines.append(line)
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        if self.lines:
            self.blocks.append(unicodedata.normalize("NFC", "\n".join(self.lines)))
            if self.origins is not None:
                self.origins.append(self.opened[-1] if self.opened else None)
            if self.place == "paragraph":
                self.counts["paragraph"] += 1
                self.labels.append(f"paragraph {self.counts['paragraph']}")
            elif self.place == self.compact_label:
                self.labels.append(f"{self.compact_label} {self.counts[self.compact_label]}")
            else:
                self.labels.append(self.place)
        self.lines = []

    def enter_compact(self) -> str:
        """Start a compact element's block; return the place to go back to after it."""
        self.block_break()
        back = self.place
        if back == "paragraph":  # a photo in the body; a compact part of another region keeps its place
            self.place = self.compact_label
            self.counts[self.compact_label] += 1
        return back

    def result(self) -> tuple[str, Blocks]:
        self.block_break()
        # NFC per block equals NFC of the whole: a line feed composes with nothing.
        return "\n\n".join(self.blocks), tuple(zip(self.labels, map(len, self.blocks), strict=True))


_END_BLOCK, _END_PRE = object(), object()


class _EndCompact:
    """The end of a compact element, with the place the walk goes back to after it."""

    __slots__ = ("back",)

    def __init__(self, back: str) -> None:
        self.back = back


def walk_text(regions: Iterable[Node], children: Callable[[Node], Iterable[Node | str]], name_of: Callable[[Node], str],
              attr_of: Callable[[Node, str], str | None], is_compact: Callable[[Node], bool],
              kinds: Sequence[str] | None = None, origins: list[Node] | None = None) -> tuple[str, Blocks]:
    """Walk the regions (iteratively: pages may nest thousands deep); return their text and its blocks' places.

    The rules, whatever the tree: skip SKIP_TAGS, <br> ends a line, an <img alt> counts only inside a
    compact element, an <svg> (unless aria-hidden) reads as its <title>, cells get a space, blocks (and each
    region) are blocks, <pre> keeps its lines. `children(node)` gives a node's text strings and child nodes in
    document order (what is not text, such as comments, left out). `kinds` names each region ("body" blocks
    are numbered paragraphs, compact blocks in it photos); without it every block is a numbered paragraph.
    `origins`, when given, receives the element each block came from (for `monitor normalize --explain`).
    """
    out = _TextBuilder("photo" if kinds is not None else "figure", origins)
    compact_depth = pre_depth = 0
    for index, region in enumerate(regions):
        out.block_break()
        kind = kinds[index] if kinds is not None else "paragraph"
        out.place = "paragraph" if kind == "body" else kind
        stack: list[object] = [region]
        while stack:
            item = stack.pop()
            if item is _END_BLOCK:
                out.soft_break() if compact_depth else out.block_break()
                out.opened.pop()
                continue
            if isinstance(item, _EndCompact):
                out.block_break()
                out.opened.pop()
                compact_depth -= 1
                out.place = item.back
                continue
            if item is _END_PRE:
                pre_depth -= 1
                continue
            if isinstance(item, str):
                _add_text(out, str(item), pre_depth > 0)
                continue
            name = name_of(item)
            if name in SKIP_TAGS:
                continue
            if name == "br":
                out.line_break()
                continue
            if name == "img":
                alt = (attr_of(item, "alt") or "").strip() if compact_depth else ""
                if alt:
                    out.soft_break()
                    out.add(alt)
                    out.soft_break()
                continue
            if name == "svg":
                if (attr_of(item, "aria-hidden") or "").strip().lower() != "true":
                    out.add(f" {_svg_title(item, children, name_of)} ")
                continue
            if name in CELL_TAGS:
                out.add(" ")
            if is_compact(item):
                back = out.enter_compact()
                out.opened.append(item)
                compact_depth += 1
                stack.append(_EndCompact(back))
            elif name in BLOCK_TAGS or item is region:
                out.soft_break() if compact_depth else out.block_break()
                out.opened.append(item)
                stack.append(_END_BLOCK)
            if name == "pre":
                pre_depth += 1
                stack.append(_END_PRE)
            stack.extend(reversed(list(children(item))))
    return out.result()


def _svg_title(svg: Node, children: Callable[[Node], Iterable[Node | str]], name_of: Callable[[Node], str]) -> str:
    """An inline <svg>'s accessible name: the text of its first <title> child ('' without one)."""
    title = next((c for c in children(svg) if not isinstance(c, str) and name_of(c) == "title"), None)
    return "".join(s for s in children(title) if isinstance(s, str)) if title is not None else ""


def _add_text(out: _TextBuilder, text: str, preformatted: bool) -> None:
    if not preformatted:
        out.add(text)
        return
    parts = text.split("\n")
    for i, part in enumerate(parts):
        if i:
            out.line_break()
        out.add(part)
