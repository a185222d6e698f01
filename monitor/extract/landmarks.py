"""Find an article page's regions the way a reader does: by what they say and where they are.

The `defense.gov` profile does not trust one guessed class name per region: the site's own markup changed
(USWDS banners in 2020, DMA's `header_banner_*` in 2024-25, a notice of unknown markup), and web-archive
captures keep the older skins. So each region is found by its words and its place:

- the government **banner**: the element around "An official website of the United States government" and
  the banner's last words ("Share sensitive information only on official, secure websites."); its first
  line and "Here's how you know" are one block of two lines;
- the **title**: `h1.maintitle`;
- the historical **notice**: the block that opens with "You have accessed part of a historical collection";
- the article **body**: `div.body`; inside it, a **photo** block is the element that holds an image and its
  "Photo By:" / "VIRIN:" lines (kept as one block of short lines, the image's alt text first);
- the **related** heading: a heading that says "Related Stories" (the cards under it are filled in by script);
- the **date** line beside the title (`.date`): page metadata, compared like the title, never text.

`find_article(view, root)` works on any tree through a `View` (BeautifulSoup for the full path, lxml for the
cut), so both paths find the same elements. It returns `Found`: the regions in document order with their kind,
and the elements whose inner blocks are lines of one block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

Node = Any

BANNER_FIRST = "fficial website of the United States"   # "An official website..." / "Official website..."
BANNER_LAST = ("Share sensitive information only on official", "websites use HTTPS", "transmitted securely")
BANNER_SECOND_LINE = "how you know"                     # "Here's how you know", straight or curly quote
NOTICE_WORDS = "historical collection"
NOTICE_OPENING = re.compile(r"^\W*you have accessed part of a historical collection", re.I)
PHOTO_LINES = ("VIRIN:", "Photo By:")
# A banner whose words are not the standard ones is still found by the classes of its known markups:
# USWDS 2.x/3.x, USWDS 1.x, DMA 2024-25; and the element holding its first line.
BANNER_CLASSES = ("usa-banner", "header_banner_container")
BANNER_LINE_CLASSES = ("usa-banner__header", "usa-banner-header", "header_banner_flag")
RELATED = re.compile(r"^\s*related (stories|articles|content|links)\s*$", re.I)
RELATED_WORD = "Related"
# Every phrase the finder looks for: a view may scan a tree once for all of them.
NEEDLES = (BANNER_FIRST, *BANNER_LAST, BANNER_SECOND_LINE, NOTICE_WORDS, *PHOTO_LINES, RELATED_WORD)
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Regions a reader sees on every page of the site: a change confined to them is site chrome, not news.
CHROME = frozenset({"banner", "notice", "related"})
# Elements a region is never found inside of: a word in a menu or a link list is not the region.
_NOT_INSIDE = frozenset({"nav", "a", "button", "script", "style", "template", "noscript", "select", "option"})
_BLOCKS = frozenset({"address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure",
                     "footer", "header", "li", "main", "p", "section", "td", "th", "table", "ul", "ol", "h1",
                     "h2", "h3", "h4", "h5", "h6", "center", "form", "fieldset"})


class View(Protocol):
    """What the finder needs of a tree. Elements are opaque `Node`s."""

    def hits(self, root: Node, needle: str) -> list[Node]:
        """Elements whose own text (not a descendant's) contains `needle`, in document order."""

    def tag(self, node: Node) -> str:
        """The element's lower-case tag name."""

    def ancestors(self, node: Node) -> list[Node]:
        """The element's ancestors, nearest first."""

    def find(self, root: Node, tag: str) -> list[Node]:
        """The descendants of `root` with `tag`, in document order."""

    def text(self, node: Node) -> str:
        """All the text under `node` (not scripts, styles, templates or comments)."""

    def with_class(self, root: Node, name: str, tag: str = "*") -> list[Node]:
        """The descendants of `root` with the class `name` (and the tag, unless "*"), in document order."""

    def order(self, root: Node, nodes: list[Node]) -> dict[int, tuple[int, ...]]:
        """A sort key per node (by id) that puts `nodes` in document order."""


@dataclass(frozen=True)
class Found:
    """An article page's regions: `regions` as (kind, element) in document order; `compact` the elements whose
    inner blocks become the lines of one block (photo blocks, the banner's first line)."""

    regions: tuple[tuple[str, Node], ...] = ()
    compact: tuple[Node, ...] = field(default=())
    date: Node | None = None  # the article's date line (page metadata, never text)

    def kinds(self) -> tuple[str, ...]:
        """The kind of each region, in order."""
        return tuple(kind for kind, _ in self.regions)


def _usable(view: View, node: Node) -> bool:
    """False for an element inside a menu, link, button or script."""
    return view.tag(node) not in _NOT_INSIDE and not any(view.tag(a) in _NOT_INSIDE for a in view.ancestors(node))


def _in_page(view: View, node: Node) -> bool:
    """False for an element inside a <template> (inert markup, never shown)."""
    return not any(view.tag(a) == "template" for a in view.ancestors(node))


def _common(view: View, a: Node, b: Node) -> Node | None:
    """The lowest common ancestor-or-self of `a` and `b`."""
    chain = [a, *view.ancestors(a)]
    others = {id(n) for n in [b, *view.ancestors(b)]}
    return next((n for n in chain if id(n) in others), None)


def _inside(view: View, node: Node, outer: Node) -> bool:
    return node is outer or any(a is outer for a in view.ancestors(node))


def _block_of(view: View, node: Node) -> Node:
    """The nearest block element at or above `node`."""
    for candidate in [node, *view.ancestors(node)]:
        if view.tag(candidate) in _BLOCKS:
            return candidate
    return node


def _first_usable(view: View, root: Node, needle: str) -> Node | None:
    return next((n for n in view.hits(root, needle) if _usable(view, n)), None)


def _banner(view: View, root: Node, article: list[Node]) -> tuple[Node | None, Node | None]:
    """The banner element and its compact first line (either may be None)."""
    first = _first_usable(view, root, BANNER_FIRST)
    if first is None:
        return _banner_by_class(view, root, article)
    banner = None
    for needle in BANNER_LAST:
        ends = [n for n in view.hits(root, needle) if n is not first and _usable(view, n)]
        for end in ends:
            common = _common(view, first, end)
            if common is not None and not any(_inside(view, part, common) for part in article):
                banner = common
                break
        if banner is not None:
            break
    if banner is None:
        banner = _block_of(view, first)
        if any(_inside(view, part, banner) for part in article):
            return None, None
    second = next((n for n in view.hits(banner, BANNER_SECOND_LINE) if n is not first), None)
    line = _common(view, first, second) if second is not None else None
    if line is not None and (line is banner or not _inside(view, line, banner)):
        line = None
    return banner, line


def _banner_by_class(view: View, root: Node, article: list[Node]) -> tuple[Node | None, Node | None]:
    for name in BANNER_CLASSES:
        for banner in view.with_class(root, name):
            if _usable(view, banner) and not any(_inside(view, part, banner) for part in article):
                line = next((n for c in BANNER_LINE_CLASSES for n in view.with_class(banner, c)), None)
                return banner, line
    return None, None


def _notice(view: View, root: Node, article: list[Node]) -> Node | None:
    for hit in view.hits(root, NOTICE_WORDS):
        if not _usable(view, hit):
            continue
        block = _block_of(view, hit)
        for candidate in [block, *view.ancestors(block)]:
            if any(_inside(view, part, candidate) for part in article):
                break
            if NOTICE_OPENING.match(view.text(candidate)):
                return candidate
    return None


def _related(view: View, root: Node, body: list[Node]) -> list[Node]:
    found = []
    for hit in view.hits(root, RELATED_WORD):
        if not _usable(view, hit) or any(_inside(view, hit, b) for b in body):
            continue
        heading = next((n for n in [hit, *view.ancestors(hit)] if view.tag(n) in HEADINGS), None)
        node = heading if heading is not None else hit
        if RELATED.match(view.text(node)) and all(node is not f for f in found):
            found.append(node)
    return found


def _photos(view: View, body: Node) -> list[Node]:
    """Photo blocks inside a body: the smallest element around a "VIRIN:"/"Photo By:" line holding an image;
    and every <figure> with an image."""
    photos: list[Node] = []
    for needle in PHOTO_LINES:
        for hit in view.hits(body, needle):
            for candidate in [hit, *view.ancestors(hit)]:
                if candidate is body:
                    break
                if view.find(candidate, "img"):
                    if not any(candidate is p for p in photos):
                        photos.append(candidate)
                    break
    photos += [f for f in view.find(body, "figure") if view.find(f, "img") and not any(f is p for p in photos)]
    return photos


def find_article(view: View, root: Node) -> Found:
    """Return the regions of an article page (see the module docstring); empty when it has neither title nor
    body."""
    # What is inside a <template> is not part of the page (nor to soupsieve, which the `required` check uses).
    titles = [t for t in view.with_class(root, "maintitle", "h1") if _in_page(view, t)][:1]
    bodies = [b for b in view.with_class(root, "body", "div") if _in_page(view, b)]
    bodies = [b for b in bodies if not any(_inside(view, b, o) for o in bodies if o is not b)]
    if not titles and not bodies:
        return Found()
    article = titles + bodies
    banner, first_line = _banner(view, root, article)
    notice = _notice(view, root, article)
    regions: list[tuple[str, Node]] = []
    if banner is not None:
        regions.append(("banner", banner))
    if notice is not None and (banner is None or not _inside(view, notice, banner)):
        regions.append(("notice", notice))
    regions += [("title", t) for t in titles] + [("body", b) for b in bodies]
    regions += [("related", r) for r in _related(view, root, bodies)]
    compact = [first_line] if first_line is not None else []
    for body in bodies:
        compact += _photos(view, body)
    return Found(tuple(_document_order(view, root, regions)), tuple(compact), _date(view, titles, bodies))


def _date(view: View, titles: list[Node], bodies: list[Node]) -> Node | None:
    """The date next to the title: the first `.date` in the title's header (its parent or grandparent) that
    is not inside the body (related-story cards carry dates of their own, further down)."""
    for title in titles:
        for container in view.ancestors(title)[:2]:
            for node in view.with_class(container, "date"):
                if _usable(view, node) and not any(_inside(view, node, b) for b in bodies):
                    return node
    return None


def _document_order(view: View, root: Node, regions: list[tuple[str, Node]]) -> list[tuple[str, Node]]:
    """The regions sorted in document order, the outermost only."""
    rank = view.order(root, [node for _, node in regions])
    ordered = sorted(regions, key=lambda r: rank[id(r[1])])
    inner = {id(n) for _, n in ordered} & {id(a) for _, n in ordered for a in view.ancestors(n)}
    return [(k, n) for k, n in ordered if not (inner & {id(a) for a in view.ancestors(n)})]
