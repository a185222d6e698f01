"""HTML -> clean text by profile (defense.gov, generic); pure functions, no I/O."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.errors import NormalizeError
from monitor.models import PageContent

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

Node = Any  # an element of a BeautifulSoup or an lxml tree (walk_text)

# BeautifulSoup (a fifth of a second to import) is imported when a page is normalized whole: most checks read
# the page through the content-region shortcut (regions.py, treetext.py) and never need it.

logger = logging.getLogger(__name__)

# Never content: code, metadata, form controls, embedded media, icons.
SKIP_TAGS = frozenset({
    "script", "style", "noscript", "template", "head", "title", "meta", "link", "base",
    "button", "input", "select", "option", "optgroup", "textarea", "datalist",
    "iframe", "object", "embed", "svg", "canvas", "video", "audio", "map", "picture", "source",
})
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hgroup", "hr", "legend", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
    "tbody", "thead", "tfoot", "tr", "ul",
})
CELL_TAGS = frozenset({"td", "th"})
_ASCII_WS = re.compile(r"[ \t\n\r\f\v]+")
# Invisible characters that are no content: zero-width space, word joiner, BOM, and the bidi embedding,
# override and isolate controls (which can make a report show text in another order than the page's).
# ZWJ/ZWNJ and the LRM/RLM marks stay: they shape real text.
_INVISIBLE = re.compile("[\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Profile:
    """How to find a page's content: regions to keep, parts to drop, elements kept as one compact block."""

    name: str
    regions: str                 # selector list; matches kept in document order, outermost only
    drop: str = ""               # selector list removed before extraction
    compact: str = ""            # elements whose inner blocks become lines of one block
    required: str = ""           # the profile does not apply to a page without one of these
    fallback: tuple[str, ...] = ()  # tried one by one when `regions` matches nothing
    title: str = "title"         # where the page's title is (first match)


PROFILES: dict[str, Profile] = {
    "generic": Profile(
        name="generic",
        regions="main",
        fallback=("article", "[role=main]", "body"),
        drop="nav, header, footer, aside, [hidden], [role=navigation], [role=banner], [role=contentinfo]",
        compact="figure",
    ),
    # defense.gov (DNN + ArticleCS): banner, title, historical notice, article body, "Related Stories".
    "defense.gov": Profile(
        name="defense.gov",
        regions=("section.usa-banner, h1.maintitle, .article-notice, div.body, "
                 ".related > h2, .related > h3, .related-stories > h2, .related-stories > h3"),
        drop=".usa-banner__button, .share-tools, #skip-link-holder, nav",
        compact="figure, .usa-banner__header",
        required="h1.maintitle, div.body",
        title="h1.maintitle, title",
    ),
}


def normalize(html: str, profile: str = "generic", select: str | None = None,
              exclude: Iterable[str] = ()) -> str:
    """Return the page's normalized text (see `extract`). Raises NormalizeError."""
    return extract(html, profile, select, exclude).text


def extract(html: str, profile: str = "generic", select: str | None = None,
            exclude: Iterable[str] = ()) -> PageContent:
    """Return the page's content: normalized text (blocks separated by a blank line, NFC, spaces
    collapsed), title and the links inside the content regions (document order, no duplicates).

    `select` (CSS) keeps only the matching parts instead of the profile's regions; `exclude` drops parts.
    Raises NormalizeError for an unknown profile, a page the profile does not recognize, or no text.
    """
    try:
        prof = PROFILES[profile]
    except KeyError:
        raise NormalizeError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})") from None
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    if prof.required and not select and not soup.select_one(prof.required):
        raise NormalizeError(f"profile {prof.name}: page has none of {prof.required} (not an article page?)")
    for selector in [prof.drop, *exclude]:
        if selector:
            for node in soup.select(selector):
                node.decompose()
    regions = _regions(soup, select, prof)
    compact = {id(node) for node in soup.select(prof.compact)} if prof.compact else set()
    text = _extract(regions, compact)
    if not text.strip():
        where = f"selector {select!r}" if select else f"profile {prof.name}"
        raise NormalizeError(f"{where}: no text found in the page")
    return PageContent(text=text, title=_title(soup, prof), links=_links(regions))


def _title(soup: BeautifulSoup, prof: Profile) -> str | None:
    """Return the text of the profile's title element, whitespace collapsed (None if absent or empty)."""
    for selector in prof.title.split(","):
        node = soup.select_one(selector.strip())
        if node is not None:
            title = clean_title(node.get_text())
            if title:
                return title
    return None


def clean_title(text: str) -> str | None:
    """Return a title element's text as a page title: invisible characters out, whitespace collapsed, NFC
    (None if nothing is left)."""
    title = _ASCII_WS.sub(" ", _INVISIBLE.sub("", text)).strip()
    return unicodedata.normalize("NFC", title) if title else None


def _links(regions: list[Tag]) -> tuple[str, ...]:
    """Return the outgoing links inside the regions (outgoing_links)."""
    hrefs: list[str] = []
    for region in regions:
        anchors = region.select("a[href], area[href]")
        if region.name == "a" and region.has_attr("href"):
            anchors.insert(0, region)
        hrefs += (str(node.get("href") or "") for node in anchors)
    return outgoing_links(hrefs)


def outgoing_links(hrefs: Iterable[str]) -> tuple[str, ...]:
    """Return the outgoing links among the `hrefs` (as written, trimmed), in order, without duplicates.

    In-page anchors (#...) and javascript: pseudo-links are not outgoing links.
    """
    seen: dict[str, None] = {}
    for href in hrefs:
        href = href.strip()
        if href and not href.startswith("#") and not href.lower().startswith("javascript:"):
            seen.setdefault(href, None)
    return tuple(seen)


def _regions(soup: BeautifulSoup, select: str | None, prof: Profile) -> list[Tag]:
    """Return the outermost elements to extract, in document order."""
    if select:
        found = soup.select(select)
    else:
        found = soup.select(prof.regions)
        for selector in prof.fallback:
            if found:
                break
            found = soup.select(selector)
    if not found and not select:
        found = [soup]
    chosen = {id(node) for node in found}
    return [n for n in found if not any(id(p) in chosen for p in n.parents)]


class _TextBuilder:
    """Accumulates text fragments into lines and lines into blocks."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.lines: list[str] = []
        self.fragments: list[str] = []

    def add(self, text: str) -> None:
        self.fragments.append(text)

    def _take_line(self) -> str:
        line = _ASCII_WS.sub(" ", _INVISIBLE.sub("", "".join(self.fragments))).strip(" ")
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
            self.blocks.append("\n".join(self.lines))
        self.lines = []

    def text(self) -> str:
        self.block_break()
        return unicodedata.normalize("NFC", "\n\n".join(self.blocks))


_END_BLOCK, _END_COMPACT, _END_PRE = object(), object(), object()


def walk_text(regions: Iterable[Node], children: Callable[[Node], Iterable[Node | str]], name_of: Callable[[Node], str],
              alt_of: Callable[[Node], str | None], is_compact: Callable[[Node], bool]) -> str:
    """Walk the regions (iteratively: pages may nest thousands deep) and return their text.

    The rules, whatever the tree: skip SKIP_TAGS, <br> ends a line, an <img alt> counts only inside a
    compact element, cells get a space, blocks (and each region) are blocks, <pre> keeps its lines.
    `children(node)` gives a node's text strings and child nodes in document order (what is not text, such
    as comments, left out), so BeautifulSoup (normalize) and lxml (treetext.py) trees read the same.
    """
    out = _TextBuilder()
    compact_depth = pre_depth = 0
    for region in regions:
        out.block_break()
        stack: list[object] = [region]
        while stack:
            item = stack.pop()
            if item is _END_BLOCK:
                out.soft_break() if compact_depth else out.block_break()
                continue
            if item is _END_COMPACT:
                compact_depth -= 1
                out.block_break()
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
                alt = (alt_of(item) or "").strip() if compact_depth else ""
                if alt:
                    out.soft_break()
                    out.add(alt)
                    out.soft_break()
                continue
            if name in CELL_TAGS:
                out.add(" ")
            if is_compact(item):
                out.block_break()
                compact_depth += 1
                stack.append(_END_COMPACT)
            elif name in BLOCK_TAGS or item is region:
                out.soft_break() if compact_depth else out.block_break()
                stack.append(_END_BLOCK)
            if name == "pre":
                pre_depth += 1
                stack.append(_END_PRE)
            stack.extend(reversed(list(children(item))))
    return out.text()


def _extract(regions: list[Tag], compact: set[int]) -> str:
    """Return the text of BeautifulSoup regions (walk_text)."""
    from bs4 import Comment, Declaration, Doctype, ProcessingInstruction

    not_text = (Comment, Declaration, Doctype, ProcessingInstruction)
    return walk_text(regions, lambda tag: [c for c in tag.contents if not isinstance(c, not_text)],
                     lambda tag: tag.name, lambda tag: str(tag.get("alt") or ""), lambda tag: id(tag) in compact)


def _add_text(out: _TextBuilder, text: str, preformatted: bool) -> None:
    if not preformatted:
        out.add(text)
        return
    parts = text.split("\n")
    for i, part in enumerate(parts):
        if i:
            out.line_break()
        out.add(part)


def apply_ignore(text: str, patterns: Iterable[str]) -> tuple[str, list[str]]:
    """Return `text` with every match of the `ignore` regexes removed, and the removed fragments.

    Patterns are multiline (^ and $ match at line ends). Lines emptied by a removal disappear.
    """
    removed: list[str] = []
    for pattern in patterns:
        def take(match: re.Match[str]) -> str:
            removed.append(match.group(0))
            return ""
        text = re.sub(pattern, take, text, flags=re.MULTILINE)
    if removed:
        lines = [line.rstrip(" ") for line in text.split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return text, removed


def ignored_differences(old: list[str], new: list[str]) -> int:
    """Return how many ignored fragments differ between two versions (changed, added or removed)."""
    gained, lost = Counter(new) - Counter(old), Counter(old) - Counter(new)
    return max(sum(gained.values()), sum(lost.values()))
