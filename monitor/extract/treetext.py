"""The text, title and links of a page cut to its content regions, read from the lxml tree the cut made.

This is normalize.extract without BeautifulSoup: the cut (regions.py) has already parsed the page with
lxml, and building a BeautifulSoup tree from the cut's HTML again costs ten times what walking the lxml tree
does. The walk mirrors normalize._extract step for step (the same skip, block, compact, <br>, <img alt>,
<pre> and cell rules through normalize's text builder), the selectors are the profile's, and the result must
equal normalize.extract on the whole page: tests/test_regions.py checks that on every test and corpus page.
Where the shortcut cannot know the slow path's answer, `extract_tree` returns None and the caller normalizes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import lxml.etree

from monitor.errors import NormalizeError
from monitor.extract.landmarks import Found
from monitor.extract.normalize import PROFILES, Profile, outgoing_links
from monitor.extract.trees import lxml_text
from monitor.extract.walk import Blocks, clean_title, walk_text
from monitor.models import PageContent

Matcher = Callable[[lxml.etree._Element, str], list[lxml.etree._Element]]


def extract_tree(doc: lxml.etree._Element, profile: str, regions_css: str, matches: Matcher) -> PageContent | None:
    """Return the content of a cut page `doc`, or None when the shortcut cannot tell (every region is inside a
    part the profile drops: the full path then looks for other regions).

    `regions_css` is the selector the cut chose its regions with; `matches(doc, css)` evaluates a selector.
    The profile's `drop` parts are skipped rather than removed, which selects the same elements as removing
    them does for the profiles' selectors (no sibling or position tests).
    Raises NormalizeError like normalize.extract (not the profile's kind of page, no text in the regions).
    """
    prof = PROFILES[profile]
    if prof.required and not matches(doc, prof.required):
        raise NormalizeError(f"profile {prof.name}: page has none of {prof.required} (not an article page?)")
    dropped = set(matches(doc, prof.drop)) if prof.drop else set()
    found = _alive(matches(doc, regions_css), dropped)
    if not found:
        return None
    chosen = set(found)
    regions = [n for n in found if not any(a in chosen for a in n.iterancestors())]
    compact = set(matches(doc, prof.compact)) if prof.compact else set()
    text, blocks = _walk(regions, compact, dropped, None)
    if not text.strip():
        raise NormalizeError(f"profile {prof.name}: no text found in the page")
    return PageContent(text=text, title=_title(doc, prof, matches, dropped), links=_links(regions, dropped),
                       blocks=blocks)


def extract_found(doc: lxml.etree._Element, profile: str, found: Found, matches: Matcher) -> PageContent:
    """Return the content of a cut page `doc` whose regions the profile's finder found (`found`); the profile's
    `drop` parts are already removed from it. Raises NormalizeError like normalize.extract."""
    prof = PROFILES[profile]
    regions = [node for _, node in found.regions]
    text, blocks = _walk(regions, set(found.compact), set(), list(found.kinds()))
    if not text.strip():
        raise NormalizeError(f"profile {prof.name}: no text found in the page")
    date = clean_title(lxml_text(found.date)) if found.date is not None else None
    return PageContent(text=text, title=_title(doc, prof, matches, set()), links=_links(regions, set()),
                       blocks=blocks, date=date)


def _alive(nodes: list[lxml.etree._Element], dropped: set[lxml.etree._Element]) -> list[lxml.etree._Element]:
    """The `nodes` that are neither dropped nor inside a dropped part."""
    if not dropped:
        return nodes
    return [n for n in nodes if n not in dropped and not any(a in dropped for a in n.iterancestors())]


def _title(doc: lxml.etree._Element, prof: Profile, matches: Matcher, dropped: set[lxml.etree._Element]) -> str | None:
    for selector in prof.title.split(","):
        found = _alive(matches(doc, selector.strip()), dropped)
        if found:
            title = clean_title(lxml_text(found[0], dropped))
            if title:
                return title
    return None


def _links(regions: list[lxml.etree._Element], dropped: set[lxml.etree._Element]) -> tuple[str, ...]:
    hrefs: list[str] = []
    for region in regions:
        # As soupsieve selects them: not dropped, nor inside a <template> (not part of the page).
        anchors = [n for n in region.iterdescendants("a", "area") if n.get("href") is not None and n not in dropped
                   and not any(a in dropped or a.tag == "template" for a in n.iterancestors())]
        if region.tag == "a" and region.get("href") is not None:
            anchors.insert(0, region)
        hrefs += (node.get("href") or "" for node in anchors)
    return outgoing_links(hrefs)


def _walk(regions: list[lxml.etree._Element], compact: set[lxml.etree._Element],
          dropped: set[lxml.etree._Element], kinds: list[str] | None) -> tuple[str, Blocks]:
    """normalize's walk_text over lxml elements, `dropped` ones left out (their tails stay)."""

    def children(node: lxml.etree._Element) -> Iterator[lxml.etree._Element | str]:
        if node.text:
            yield node.text
        for child in node:
            if isinstance(child.tag, str) and child not in dropped:  # not a comment, not dropped
                yield child
            if child.tail:  # the text after an element is its parent's, whatever the element
                yield child.tail

    return walk_text(regions, children, lambda node: node.tag, lambda node, name: node.get(name),
                     lambda node: node in compact, kinds)
