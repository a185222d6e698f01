"""HTML -> clean text by profile (defense.gov, generic); pure functions, no I/O."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.errors import NormalizeError
from monitor.extract.landmarks import Found, find_article
from monitor.extract.trees import SoupView
from monitor.extract.walk import Blocks, clean_title, walk_text
from monitor.models import PageContent
from monitor.patterns import selector_problem

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

# BeautifulSoup (a fifth of a second to import) is imported when a page is normalized whole: most checks read
# the page through the content-region shortcut (regions.py, treetext.py) and never need it.

logger = logging.getLogger(__name__)
_REPLAYED = re.compile(r"^(?:(?:https?:)?//web\.archive\.org)?/web/\d{1,14}(?:[a-z]{2}_)?/(?=https?://)", re.I)
# The web archive's replay toolbar and its donation banner: never a page's content.
WAYBACK_CHROME = "#wm-ipp-base, #wm-ipp, #wm-ipp-print, #donato"
Finder = Callable[[Any, Any], Found]  # (View, root) -> Found, see landmarks.py


@dataclass(frozen=True)
class Profile:
    """How to find a page's content: regions to keep, parts to drop, elements kept as one compact block.

    A profile with `find` finds its regions (and compact blocks) with that function, on either tree; otherwise
    they are the `regions` selector's matches (else the first matching `fallback`) and `compact`'s.
    """

    name: str
    regions: str = ""            # selector list; matches kept in document order, outermost only
    drop: str = ""               # selector list removed before extraction
    compact: str = ""            # elements whose inner blocks become lines of one block
    required: str = ""           # the profile does not apply to a page without one of these
    fallback: tuple[str, ...] = ()  # tried one by one when `regions` matches nothing
    title: str = "title"         # where the page's title is (first match)
    find: Finder | None = None   # finds the regions by their words and places instead of `regions`


PROFILES: dict[str, Profile] = {
    "generic": Profile(
        name="generic",
        regions="main",
        fallback=("article", "[role=main]", "body"),
        drop=("nav, header, footer, aside, [hidden], [role=navigation], [role=banner], [role=contentinfo], "
              + WAYBACK_CHROME),
        compact="figure",
    ),
    # defense.gov / war.gov (DNN + ArticleCS): banner, title, historical notice, body, "Related Stories",
    # found by landmarks.find_article; `compact` serves targets with their own `select`.
    "defense.gov": Profile(
        name="defense.gov",
        drop=".usa-banner__button, .share-tools, .social-block, .a2a_kit, #skip-link-holder, nav, " + WAYBACK_CHROME,
        compact="figure",
        required="h1.maintitle, div.body",
        title="h1.maintitle, title",
        find=find_article,
    ),
}


def normalize(html: str, profile: str = "generic", select: str | None = None,
              exclude: Iterable[str] = ()) -> str:
    """Return the page's normalized text (see `extract`). Raises NormalizeError."""
    return extract(html, profile, select, exclude).text


def extract(html: str, profile: str = "generic", select: str | None = None,
            exclude: Iterable[str] = ()) -> PageContent:
    """Return the page's content: normalized text (blocks separated by a blank line, NFC, spaces
    collapsed), the place each block came from, title and the links inside the content regions (document
    order, no duplicates).

    `select` (CSS) keeps only the matching parts instead of the profile's regions; `exclude` drops parts.
    Raises NormalizeError for an unknown profile, a page the profile does not recognize, or no text.
    """
    return _read(html, profile, select, exclude)


@dataclass(frozen=True)
class Explained:
    """One block of a page's text with where it came from: its place and the path of its element."""

    place: str
    path: str
    text: str


def explain(html: str, profile: str = "generic", select: str | None = None,
            exclude: Iterable[str] = ()) -> tuple[PageContent, list[Explained]]:
    """Return the page's content (as `extract`) and each text block with its place and element path, for
    `monitor normalize --explain`. Raises NormalizeError as extract does."""
    origins: list[Any] = []
    content = _read(html, profile, select, exclude, origins)
    out, pos = [], 0
    for (place, length), origin in zip(content.blocks, origins, strict=True):
        out.append(Explained(place, _css_path(origin), content.text[pos:pos + length]))
        pos += length + 2
    return content, out


def _check_selectors(select: str | None, exclude: tuple[str, ...]) -> None:
    """Raise NormalizeError naming the first user selector that cannot be run."""
    for selector in ([select] if select else []) + list(exclude):
        problem = selector_problem(selector)
        if problem:
            raise NormalizeError(problem)


def _css_path(node: Any) -> str:
    """A readable path to a BeautifulSoup element: its nearest six ancestors and itself, with id, classes
    and the position among same-tag siblings when it has some."""
    parts = []
    while node is not None and node.name not in (None, "[document]", "html"):
        label = node.name + (f"#{node['id']}" if node.get("id") else "")
        label += "".join(f".{c}" for c in (node.get("class") or [])[:2])
        same = [s for s in node.parent.find_all(node.name, recursive=False)] if node.parent else []
        if len(same) > 1:
            label += f"[{next(i for i, s in enumerate(same, 1) if s is node)}]"
        parts.append(label)
        node = node.parent
    return (" > ".join(reversed(parts[:7])) if len(parts) <= 7 else "… > " + " > ".join(reversed(parts[:7])))


def _read(html: str, profile: str, select: str | None, exclude: Iterable[str],
          origins: list[Any] | None = None) -> PageContent:
    """extract(), and the element each block came from into `origins` when given."""
    try:
        prof = PROFILES[profile]
    except KeyError:
        raise NormalizeError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})") from None
    exclude = tuple(exclude)
    _check_selectors(select, exclude)
    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

    with warnings.catch_warnings():  # a page whose whole text looks like a file name or URL is still a page
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(html, "lxml")
    if prof.required and not select and not soup.select_one(prof.required):
        raise NormalizeError(f"profile {prof.name}: page has none of {prof.required} (not an article page?)")
    finder = prof.find is not None and not select
    for selector in [*exclude] if finder else [prof.drop, *exclude]:
        if selector:
            for node in soup.select(selector):
                node.decompose()
    kinds: list[str] | None = None
    date = None
    if finder:
        # Regions first, then what the profile drops inside them (the cut does the same, on far less).
        found = prof.find(SoupView(), soup)  # type: ignore[misc]
        regions, kinds = [node for _, node in found.regions] or [soup], list(found.kinds()) or ["body"]
        for region in regions:
            for node in region.select(prof.drop) if prof.drop else ():
                node.decompose()
        compact = {id(node) for node in found.compact}
        date = clean_title(found.date.get_text()) if found.date is not None else None
    else:
        regions = _regions(soup, select, prof)
        compact = {id(node) for node in soup.select(prof.compact)} if prof.compact else set()
    text, blocks = _extract(regions, compact, kinds, origins)
    if not text.strip():
        where = f"selector {select!r}" if select else f"profile {prof.name}"
        raise NormalizeError(f"{where}: no text found in the page")
    return PageContent(text=text, title=_title(soup, prof), links=_links(regions), blocks=blocks, date=date)


def _title(soup: BeautifulSoup, prof: Profile) -> str | None:
    """Return the text of the profile's title element, whitespace collapsed (None if absent or empty)."""
    for selector in prof.title.split(","):
        node = soup.select_one(selector.strip())
        if node is not None:
            title = clean_title(node.get_text())
            if title:
                return title
    return None


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

    In-page anchors (#...) and javascript: pseudo-links are not outgoing links. A link the web archive
    rewrote for its replay (`/web/<timestamp>/<url>`, relative or on web.archive.org) counts as its original
    URL, so a replayed capture's links compare with the live page's.
    """
    seen: dict[str, None] = {}
    for href in hrefs:
        href = _REPLAYED.sub("", href.strip())
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


def _extract(regions: list[Tag], compact: set[int], kinds: list[str] | None,
             origins: list[Any] | None = None) -> tuple[str, Blocks]:
    """Return the text of BeautifulSoup regions and its blocks' places (walk_text)."""
    from bs4 import Comment, Declaration, Doctype, ProcessingInstruction

    not_text = (Comment, Declaration, Doctype, ProcessingInstruction)
    return walk_text(regions, lambda tag: [c for c in tag.contents if not isinstance(c, not_text)],
                     lambda tag: tag.name, lambda tag, name: _attr(tag.get(name)), lambda tag: id(tag) in compact,
                     kinds, origins)


def _attr(value: object) -> str | None:
    """An attribute's value as lxml gives it (BeautifulSoup splits multi-valued ones into lists)."""
    if value is None:
        return None
    return " ".join(value) if isinstance(value, list) else str(value)
