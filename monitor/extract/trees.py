"""The two trees a page is read from, behind the one `View` the region finder (landmarks.py) asks questions of.

`SoupView` answers for BeautifulSoup (the full path, normalize.py), `LxmlView` for the lxml tree the cut makes
(the fast path, regions.py). Each answer is what the other tree gives for the same page, so both paths find
the same regions.
"""

from __future__ import annotations

import re
from typing import Any

import lxml.etree

from monitor.extract.landmarks import NEEDLES

Node = Any
_UNREAD = frozenset({"script", "style", "template"})  # strings BeautifulSoup's get_text() leaves out
# Where the finder never looks for a phrase: code, templates and menus (both views skip the same).
UNSEARCHED = frozenset({"script", "style", "template", "noscript", "nav"})


def lxml_text(node: lxml.etree._Element, dropped: set[lxml.etree._Element] | frozenset = frozenset()) -> str:
    """BeautifulSoup's node.get_text() for an lxml element: the strings under `node`, without comments, without
    what is inside script, style and template elements, and without `dropped` subtrees (their tails stay)."""
    parts: list[str] = []
    stack: list[tuple[lxml.etree._Element | str, bool]] = [(node, False)]
    while stack:
        item, hidden = stack.pop()
        if isinstance(item, str):
            if not hidden:
                parts.append(item)
            continue
        if item is not node and item.tail:
            stack.append((item.tail, hidden))  # a tail is its parent's string
        if item in dropped or not isinstance(item.tag, str):
            continue
        inner = hidden or item.tag in _UNREAD
        stack.extend((child, inner) for child in reversed(item))
        if item.text:
            stack.append((item.text, inner))
    return "".join(parts)


def _unique(nodes: list[Node]) -> list[Node]:
    seen: set[int] = set()
    out = []
    for node in nodes:
        if id(node) not in seen:
            seen.add(id(node))
            out.append(node)
    return out


_CLASS_HAS = lxml.etree.XPath(".//*[contains(@class, $name)]")


class LxmlView:
    """The finder's questions answered on an lxml (etree) tree. With `needles` (every phrase that will be
    asked for, by default the finder's), each tree is scanned once for all of them."""

    def __init__(self, needles: tuple[str, ...] = NEEDLES) -> None:
        # One walk over the document's strings, once, for every phrase the finder asks about, beats one XPath
        # contains() per phrase and per subtree; a subtree's hits are the document's hits inside it.
        self._needles = frozenset(needles)
        self._any = re.compile("|".join(map(re.escape, needles)))
        self._found: list[tuple[Node, str]] | None = None  # (owner element, string) for the whole document

    def hits(self, root: Node, needle: str) -> list[Node]:
        if needle not in self._needles:
            raise ValueError(f"{needle!r} is not one of the phrases this view was made for")
        if self._found is None:
            self._found = self._scan(root.getroottree().getroot())
        owners = [o for o, text in self._found if needle in text
                  and (o is root or any(a is root for a in o.iterancestors()))]
        return _unique(owners)

    def _scan(self, doc: Node) -> list[tuple[Node, str]]:
        """(owner, string) for every string of `doc` holding a phrase, outside UNSEARCHED subtrees: one walk
        that skips the menus and scripts (0.2 ms on a 100 KB page, against 0.8 for every string by XPath)."""
        found: list[tuple[Node, str]] = []
        walker = lxml.etree.iterwalk(doc, events=("start",))
        for _, node in walker:
            tail = node.tail
            if tail and self._any.search(tail) and node is not doc:
                found.append((node.getparent(), tail))
            if not isinstance(node.tag, str) or node.tag in UNSEARCHED:
                walker.skip_subtree()
                continue
            if node.text and self._any.search(node.text):
                found.append((node, node.text))
        return found

    def tag(self, node: Node) -> str:
        return node.tag if isinstance(node.tag, str) else ""

    def ancestors(self, node: Node) -> list[Node]:
        return list(node.iterancestors())

    def find(self, root: Node, tag: str) -> list[Node]:
        return list(root.iterdescendants(tag))

    def text(self, node: Node) -> str:
        return lxml_text(node)

    def with_class(self, root: Node, name: str, tag: str = "*") -> list[Node]:
        # contains(@class) first (five times faster than matching whole words in XPath), then the real test;
        # for one tag, walking its elements is faster still
        nodes = root.iterdescendants(tag) if tag != "*" else _CLASS_HAS(root, name=name)
        return [n for n in nodes if name in (n.get("class") or "").split()]

    def order(self, root: Node, nodes: list[Node]) -> dict[int, tuple[int, ...]]:
        return {id(n): _path(n, lambda x: x.getparent(), lambda p, c: p.index(c)) for n in nodes}


class SoupView:
    """The finder's questions answered on a BeautifulSoup tree."""

    def hits(self, root: Node, needle: str) -> list[Node]:
        from bs4 import Comment, Declaration, Doctype, ProcessingInstruction

        unread = (Comment, Declaration, Doctype, ProcessingInstruction)
        strings = root.find_all(string=lambda s: needle in s)
        return _unique([s.parent for s in strings if not isinstance(s, unread) and s.parent is not None
                        and not _unsearched(s.parent)])

    def tag(self, node: Node) -> str:
        return node.name or ""

    def ancestors(self, node: Node) -> list[Node]:
        return list(node.parents)

    def find(self, root: Node, tag: str) -> list[Node]:
        return root.find_all(tag)

    def text(self, node: Node) -> str:
        return node.get_text()

    def with_class(self, root: Node, name: str, tag: str = "*") -> list[Node]:
        return root.find_all(True if tag == "*" else tag, class_=name)

    def order(self, root: Node, nodes: list[Node]) -> dict[int, tuple[int, ...]]:
        return {id(n): _path(n, lambda x: x.parent, lambda p, c: _index(p.contents, c)) for n in nodes}


def _unsearched(node: Node) -> bool:
    """True when a BeautifulSoup element is, or is inside, an UNSEARCHED element (looking up to the document)."""
    while node is not None:
        if node.name in UNSEARCHED:
            return True
        node = node.parent
    return False


def _index(items: list[Node], item: Node) -> int:
    return next(i for i, x in enumerate(items) if x is item)


def _path(node: Node, parent_of: Any, index_of: Any) -> tuple[int, ...]:
    """The child indexes from the root down to `node`: sorting by it is document order."""
    path = []
    parent = parent_of(node)
    while parent is not None:
        path.append(index_of(parent, node))
        node, parent = parent, parent_of(parent)
    return tuple(reversed(path))
