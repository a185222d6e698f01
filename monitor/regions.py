"""Cut a page down to its profile's content regions with lxml, and fingerprint what is left.

A defense.gov page is ~100 KB of menus, scripts, view state and footer around a few KB of article.
`cut()` parses it with lxml (a few ms), keeps only the profile's regions (with their ancestors, so
selectors such as `.related > h2` still match), the elements the title and the `required` check look at,
and only the attributes the normalizer or the profile's selectors read. The result is a small HTML document
that normalizes to exactly the same text, title and links as the whole page (tests/test_regions.py checks
that on every page of the benchmark corpus and the change-detection cases), and its sha256 is a
fingerprint: the same fingerprint means the same content, so a check can skip normalizing and diffing.
Cache-busting `src` values and per-request attributes fall away; a change in the text never does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache

import lxml.etree
import lxml.html
from cssselect import GenericTranslator

from monitor.models import Target
from monitor.normalize import PROFILES, Profile

logger = logging.getLogger(__name__)

# What the normalizer reads (alt of images, href of links) and what the profiles' selectors test.
KEPT_ATTRIBUTES = frozenset({"class", "id", "role", "hidden", "href", "alt"})


@dataclass(frozen=True)
class Cut:
    """The content regions of a page as a small HTML document, and its fingerprint."""

    html: str
    fingerprint: str


_TRANSLATOR = GenericTranslator()


def _xpath_of(css: str) -> str:
    """Return the XPath for one selector. `parent > tag...` becomes `tag[parent::...]`: the same elements, but
    only the (few) elements of that tag are tested, not every element for the parent's class."""
    parts = [p.strip() for p in css.split(">")]
    if len(parts) == 2 and re.match(r"^[a-z][a-z0-9]*\b", parts[1]) and " " not in parts[0] + parts[1]:
        child = _TRANSLATOR.css_to_xpath(parts[1], prefix="descendant-or-self::")
        parent = _TRANSLATOR.css_to_xpath(parts[0], prefix="")
        return f"{child}[parent::{parent}]"
    return _TRANSLATOR.css_to_xpath(css, prefix="descendant-or-self::")


@lru_cache(maxsize=32)
def _selector(css: str) -> lxml.etree.XPath:
    return lxml.etree.XPath(" | ".join(_xpath_of(part) for part in css.split(",")))


def _matches(doc: lxml.html.HtmlElement, css: str) -> list[lxml.etree._Element]:
    """Return the elements matching the CSS selector list `css`, in document order."""
    return _selector(css)(doc) if css else []


def _regions(doc: lxml.html.HtmlElement, prof: Profile) -> list[lxml.etree._Element]:
    """The profile's regions, else its first fallback that matches (as normalize._regions chooses them)."""
    for css in (prof.regions, *prof.fallback):
        found = _matches(doc, css)
        if found:
            return found
    return []


def cut(html: str, profile: str, salt: str = "") -> Cut | None:
    """Return the page's content regions as a small document with its fingerprint, or None when the page
    cannot be cut (unparsable, or no region: then the caller normalizes the whole page).

    `salt` goes into the fingerprint with the document (e.g. the target's rules, final URL and status).
    """
    prof = PROFILES.get(profile)
    if prof is None:
        return None
    parser = lxml.html.HTMLParser()
    try:
        doc = lxml.html.document_fromstring(html, parser=parser)
    except (ValueError, lxml.etree.ParserError) as exc:  # e.g. a str with an XML encoding declaration
        logger.debug("cannot cut the page with lxml (%s); normalizing it whole", exc)
        return None
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        # libxml2 builds trees only 256 levels deep; the normalizer's parser reads deeper pages whole.
        logger.debug("page nested beyond lxml's depth limit; normalizing it whole")
        return None
    regions = _regions(doc, prof)
    if not regions:
        return None
    keep: set[lxml.etree._Element] = set(regions)
    for css in (prof.title, prof.required):
        keep.update(_matches(doc, css))
    path: set[lxml.etree._Element] = set()
    for node in keep:
        path.update(node.iterancestors())
    _prune(doc, keep, path)
    for node in doc.iter():
        if isinstance(node.tag, str):
            for name in [a for a in node.attrib if a not in KEPT_ATTRIBUTES]:
                del node.attrib[name]
    small = lxml.html.tostring(doc, encoding="unicode")
    digest = hashlib.sha256(f"{profile}\n{salt}\n{small}".encode()).hexdigest()
    return Cut(small, digest)


def _prune(root: lxml.etree._Element, keep: set[lxml.etree._Element], path: set[lxml.etree._Element]) -> None:
    """Remove everything that is neither kept (with its subtree) nor an ancestor of something kept."""
    stack = [root]
    while stack:
        node = stack.pop()
        node.text = None
        for child in list(node):
            if child in keep:
                child.tail = None
            elif child in path:
                child.tail = None
                stack.append(child)
            else:
                node.remove(child)


def cut_target(target: Target, final_url: str, status: int, html: str) -> Cut | None:
    """Return `cut()` for a target's page, salted with what else decides its comparison (its URL, ignore rules,
    compare_versions, the final URL and status). None with select/exclude: their CSS may test anything, so
    those targets always take the full path."""
    if target.select or target.exclude:
        return None
    rules = json.dumps([target.url, target.ignore, target.compare_versions, final_url, status])
    return cut(html, target.profile, salt=rules)
