"""Cut a page down to its profile's content regions with lxml, and fingerprint what is left.

A defense.gov page is ~100 KB of menus, scripts, view state and footer around a few KB of article.
`cut()` parses it with lxml (a few ms), keeps only the profile's regions (with their ancestors, so
selectors such as `.related > h2` still match), the elements the title and the `required` check look at,
and only the attributes the normalizer or the profile's selectors read. The small tree that is left gives
exactly the same text, title and links as normalizing the whole page (monitor.extract.treetext reads them;
tests/test_regions.py checks that on every page of the benchmark corpus and the change-detection cases),
and the sha256 of its exact serialization is a fingerprint: the same fingerprint means the same content,
so a check can skip normalizing and diffing. Cache-busting `src` values and per-request attributes fall
away; a change in the text never does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache

import lxml.etree
from cssselect import GenericTranslator

from monitor.errors import NormalizeError
from monitor.extract.landmarks import Found
from monitor.extract.normalize import PROFILES, Profile
from monitor.extract.trees import LxmlView
from monitor.extract.treetext import extract_found, extract_tree
from monitor.models import HtmlBody, PageContent, Target

logger = logging.getLogger(__name__)

# What the normalizer reads (alt of images, href of links) and what the profiles' selectors test.
KEPT_ATTRIBUTES = frozenset({"class", "id", "role", "hidden", "href", "alt", "aria-hidden"})
# Set on a kept region (its kind) and on a compact block after the other attributes are gone, so the
# fingerprint also says which region each part of the page was read as.
REGION_MARK, COMPACT_MARK = "data-monitor-region", "data-monitor-compact"


@dataclass(frozen=True)
class Cut:
    """The content regions of a page as a small document (XML serialization of the pruned tree), and its
    fingerprint."""

    document: str
    fingerprint: str
    profile: str = "generic"
    regions_css: str = ""  # the selector the regions were found with (the profile's, or a fallback)
    tree: lxml.etree._Element | None = field(default=None, compare=False, repr=False)
    found: Found | None = field(default=None, compare=False, repr=False)  # a finder profile's regions
    required: bool = True  # the page has one of the profile's `required` elements (before its drops)

    def content(self) -> PageContent | None:
        """Return the page's text, title and links as normalize.extract finds them on the whole page, read
        from the cut's lxml tree (treetext.py), or None when the whole page
        must be normalized. Raises NormalizeError as extract does."""
        if self.tree is None:
            return None
        if self.found is None:
            return extract_tree(self.tree, self.profile, self.regions_css, _matches)
        if not self.required:
            prof = PROFILES[self.profile]
            raise NormalizeError(f"profile {prof.name}: page has none of {prof.required} (not an article page?)")
        return extract_found(self.tree, self.profile, self.found, _matches)


_TRANSLATOR = GenericTranslator()
_ODD_SPACE = re.compile(r"[^\S \t\n\r]")  # whitespace to Python (and soupsieve) that XPath's normalize-space keeps
_CLASSES = lxml.etree.XPath("//@class", smart_strings=False)  # every class attribute's value, as plain strings


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


def _matches(doc: lxml.etree._Element, css: str) -> list[lxml.etree._Element]:
    """Return the elements matching the CSS selector list `css`, in document order. As for the normalizer's
    selectors (soupsieve), what is inside a <template> is not part of the page."""
    if not css:
        return []
    return [n for n in _selector(css)(doc) if not any(a.tag == "template" for a in n.iterancestors())]


def _regions(doc: lxml.etree._Element, prof: Profile) -> tuple[str, list[lxml.etree._Element]]:
    """The profile's regions, else its first fallback that matches (as normalize._regions chooses them), with
    the selector that found them."""
    for css in (prof.regions, *prof.fallback):
        found = _matches(doc, css)
        if found:
            return css, found
    return "", []


def cut(html: str | bytes, profile: str, salt: str = "") -> Cut | None:
    """Return the page's content regions as a small document with its fingerprint, or None when the page
    cannot be cut (unparsable, or no region: then the caller normalizes the whole page).

    `html` is the page's text, or that text encoded as UTF-8 (monitor.models.HtmlBody.utf8). `salt` goes into
    the fingerprint with the document (e.g. the target's rules, final URL and status).
    """
    prof = PROFILES.get(profile)
    if prof is None:
        return None
    # Plain etree elements (no lxml.html element classes) from UTF-8 bytes: the same tree, 15 % faster.
    parser = lxml.etree.HTMLParser(encoding="utf-8")
    try:
        doc = lxml.etree.fromstring(html.encode("utf-8", "replace") if isinstance(html, str) else html, parser)
    except (ValueError, lxml.etree.ParserError) as exc:
        logger.debug("cannot cut the page with lxml (%s); normalizing it whole", exc)
        return None
    if doc is None:
        return None
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        # libxml2 builds trees only 256 levels deep; the normalizer's parser reads deeper pages whole.
        logger.debug("page nested beyond lxml's depth limit; normalizing it whole")
        return None
    found = None
    if prof.find is not None:
        found = prof.find(LxmlView(), doc)
        regions_css, regions = "", [node for _, node in found.regions]
        # The finder finds a title or a body exactly when the page has one of `required`; the title is the
        # first h1.maintitle (a region) or else the first <title>: keeping those is keeping what prof.title reads.
        required = bool(regions)
        first_title = next(doc.iter("title"), None)
        keep: set[lxml.etree._Element] = {*regions, *([first_title] if first_title is not None else [])}
        if found.date is not None:
            keep.add(found.date)
    else:
        if _odd_classes(doc):  # a selector profile's XPath runs on the whole page
            return None
        regions_css, regions = _regions(doc, prof)
        required_nodes = _matches(doc, prof.required)
        required = not prof.required or bool(required_nodes)
        keep = {*regions, *required_nodes, *_matches(doc, prof.title)}
    if not regions and (found is None or required):  # a finder's page that is no article: content() says so
        return None
    path: set[lxml.etree._Element] = set()
    for node in keep:
        path.update(node.iterancestors())
    _prune(doc, keep, path)
    if found is not None and (_odd_classes(doc) or not _drop_inside(doc, set(regions), prof.drop)):  # on the cut
        return None
    try:
        for node in doc.iter():
            if isinstance(node.tag, str):
                for name in [a for a in node.attrib if a not in KEPT_ATTRIBUTES]:
                    del node.attrib[name]
    except ValueError:  # an attribute name lxml parsed but will not touch (control characters in it)
        logger.debug("an attribute name lxml cannot edit; normalizing the page whole")
        return None
    if found is not None:
        for kind, node in found.regions:
            node.set(REGION_MARK, kind)
        if found.date is not None:
            found.date.set(REGION_MARK, "date")
        for node in found.compact:
            node.set(COMPACT_MARK, "")
    # XML serialization: exact (the HTML one percent-escapes spaces in hrefs, so ' /x ' and '/x%20', two
    # different links, would look alike).
    small = lxml.etree.tostring(doc, method="xml", encoding="unicode")
    digest = hashlib.sha256(f"{profile}\n{salt}\n{small}".encode()).hexdigest()
    return Cut(small, digest, profile, regions_css, doc, found, required)


def _odd_classes(doc: lxml.etree._Element) -> bool:
    """True (and logged) when a class attribute in `doc` holds whitespace XPath does not split on.

    soupsieve splits class lists on any whitespace, XPath only on space, tab, CR and LF, so on such a page the
    two selector engines could disagree and the page is normalized whole. A finder profile's own class tests
    split as soupsieve does: for it only the pruned tree, where its drop and title selectors run, is checked.
    """
    if _ODD_SPACE.search(" ".join(_CLASSES(doc))):
        logger.debug("unusual whitespace in a class attribute; normalizing the page whole")
        return True
    return False


def _drop_inside(doc: lxml.etree._Element, regions: set[lxml.etree._Element], drop: str) -> bool:
    """Remove what the profile drops inside the regions (as normalize does after finding them), on the pruned
    tree where that is one small selector run. False when lxml refuses (control characters it kept)."""
    try:
        for node in _matches(doc, drop):
            if node not in regions and any(a in regions for a in node.iterancestors()):
                _remove(node)
    except ValueError:
        logger.debug("control characters beside a dropped part; normalizing the page whole")
        return False
    return True


def _remove(node: lxml.etree._Element) -> None:
    """Remove `node` from its tree and keep the text after it, as BeautifulSoup's decompose() does."""
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


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


def cut_target(target: Target, final_url: str, status: int, page: HtmlBody) -> Cut | None:
    """Return `cut()` for a target's page, salted with what else decides its comparison (its URL, ignore rules,
    compare_versions, the final URL and status). None with select/exclude: their CSS may test anything, so
    those targets always take the full path."""
    if target.select or target.exclude:
        return None
    rules = json.dumps([target.url, target.ignore, target.compare_versions, final_url, status])
    return cut(page.utf8, target.profile, salt=rules)
