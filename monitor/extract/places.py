"""Where a change is: the places (headline, body paragraph 5, a photo caption, the banner...) a diff touches.

A page's text is its blocks joined by blank lines, and extraction records each block's place and length
(`PageContent.blocks`, kept with every snapshot). `locate` maps each changed fragment of a diff back to the
blocks it falls in, on both sides; `describe` says it in words for result lines, reports and mails.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

from monitor.extract.landmarks import CHROME
from monitor.patterns import Budget, apply_ignore

Blocks = Sequence[Sequence[object]]  # (place, length) pairs, as PageContent.blocks and Snapshot.blocks hold them
_NAMES = {"banner": "the government banner", "title": "the headline", "notice": "the historical-collection notice",
          "related": "the related-stories heading"}


class _Map:
    """Offsets of one compared text -> the place of the block they fall in."""

    def __init__(self, places: list[str], starts: list[int], ends: list[int]) -> None:
        self.places, self.starts, self.ends = places, starts, ends

    def span(self, start: int, end: int) -> list[str]:
        """The places of the blocks that [start, end) overlaps; for an empty span, the blocks it touches."""
        first = max(0, bisect_right(self.starts, start) - 1)
        out = []
        for i in range(first, len(self.places)):
            if self.starts[i] > end or (end > start and self.starts[i] >= end):
                break
            overlaps = self.starts[i] < end and self.ends[i] > start
            touches = end == start and self.starts[i] <= start <= self.ends[i] + 2
            if overlaps or touches:
                out.append(self.places[i])
        return out


def _compared_map(text: str, blocks: Blocks | None, ignore: Sequence[str], budget: Budget | None) -> _Map | None:
    """The block map of `text` after the ignore rules, or None when the blocks do not describe `text` or the
    rules reach across blocks (then places are unknown)."""
    if not blocks:
        return None
    pieces, places, pos = [], [], 0
    for place, length in blocks:
        length = int(length)  # type: ignore[call-overload]
        pieces.append(text[pos:pos + length])
        places.append(str(place))
        pos += length + 2
    if "\n\n".join(pieces) != text:
        return None
    compared, kept = [], []
    for piece, place in zip(pieces, places, strict=True):
        filtered = apply_ignore(piece, ignore, budget)[0] if ignore else piece
        if filtered:
            compared.append(filtered)
            kept.append(place)
    if ignore and "\n\n".join(compared) != apply_ignore(text, ignore, budget)[0]:
        return None
    starts, ends, pos = [], [], 0
    for piece in compared:
        starts.append(pos)
        ends.append(pos + len(piece))
        pos += len(piece) + 2
    return _Map(kept, starts, ends)


def locate(ops: Iterable[tuple[int, str]], old_text: str, old_blocks: Blocks | None, new_text: str,
           new_blocks: Blocks | None, ignore: Sequence[str] = (), budget: Budget | None = None
           ) -> tuple[str, ...] | None:
    """Return the places the diff `ops` (of the two texts after the ignore rules) touches, in page order, each
    once; None when they cannot be told (no block map for the new text, or rules reaching across blocks).

    A deletion is placed by the old text's blocks when they are known, else where it was in the new text.
    The ignore rules run within `budget`; raises PatternError past it.
    """
    new_map = _compared_map(new_text, new_blocks, ignore, budget)
    if new_map is None:
        return None
    old_map = _compared_map(old_text, old_blocks, ignore, budget)
    found: dict[str, None] = {}
    old_pos = new_pos = 0
    for op, fragment in ops:
        if op == 0:
            old_pos, new_pos = old_pos + len(fragment), new_pos + len(fragment)
            continue
        if op > 0:
            hit = new_map.span(new_pos, new_pos + len(fragment))
            new_pos += len(fragment)
        else:
            hit = old_map.span(old_pos, old_pos + len(fragment)) if old_map else new_map.span(new_pos, new_pos)
            old_pos += len(fragment)
        for place in hit:
            found.setdefault(place, None)
    return tuple(found)


def is_chrome(places: tuple[str, ...] | None) -> bool:
    """True when a change is known to touch only site chrome (banner, notice, related heading)."""
    return bool(places) and all(place in CHROME for place in places or ())


def describe(places: Iterable[str]) -> str:
    """Say where in words: 'the headline, body paragraph 5 and photo 2'."""
    words = [_NAMES.get(p, "body " + p if p.startswith("paragraph") else p) for p in places]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
