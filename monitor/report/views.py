"""Shape one diff (a Change's operations) for the report views: inline, side by side, changes only; pure.

All views come from the same operations, so the HTML report, its text form and the email never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import zip_longest

Ops = tuple[tuple[int, str], ...]
CONTEXT_LINES = 3
# Inside a changed line longer than LONG_LINE characters, unchanged text is shown as a window of about WINDOW
# characters on each side of a change; the rest is an ELIDED segment (its text is there, only its length is
# shown, with the full line one click away in the side-by-side view).
LONG_LINE = 2000
WINDOW = 240
ELIDED = 2
_WORD_START = re.compile(r"\s\S")


@dataclass(frozen=True)
class Chunk:
    """A run of operations ending at a line break both texts share: one line, or the lines of one edit."""

    ops: Ops
    old_lines: tuple[Ops, ...]   # each line's segments: (0, text) or (-1, text)
    new_lines: tuple[Ops, ...]   # each line's segments: (0, text) or (1, text)

    @property
    def changed(self) -> bool:
        """True if the chunk contains an insertion or deletion."""
        return any(op for op, _ in self.ops)

    @property
    def blank(self) -> bool:
        """True for an unchanged empty line."""
        return not self.changed and not "".join(text for _, text in self.ops).strip()


@dataclass(frozen=True)
class Row:
    """One row of the side-by-side view: an old line and a new line (either may be absent)."""

    old_no: int | None
    old: Ops | None
    new_no: int | None
    new: Ops | None

    @property
    def changed(self) -> bool:
        """True if either side has a marked segment or the row exists on one side only."""
        if self.old is None or self.new is None:
            return True
        return any(op for op, _ in self.old) or any(op for op, _ in self.new)


@dataclass(frozen=True)
class Hunk:
    """Consecutive chunks shown in the changes-only view (changes plus their context)."""

    chunks: tuple[Chunk, ...]
    old_start: int   # 1-based line number of the hunk's first line in the old text
    new_start: int


def windowed(chunk: Chunk) -> Chunk:
    """Return `chunk` for display: a changed line longer than LONG_LINE keeps WINDOW characters of unchanged
    text beside each change (cut at a word boundary); the rest of each unchanged run becomes (ELIDED, text)."""
    if not chunk.changed or sum(len(t) for _, t in chunk.ops) <= LONG_LINE:
        return chunk
    out: list[tuple[int, str]] = []
    last = len(chunk.ops) - 1
    for i, (op, text) in enumerate(chunk.ops):
        if op != 0 or len(text) <= 2 * WINDOW + 40:
            out.append((op, text))
            continue
        keep_head = i > 0 and any(o for o, _ in chunk.ops[:i])       # a change before: keep its right side
        keep_tail = i < last and any(o for o, _ in chunk.ops[i + 1:])  # a change after: keep its left side
        head = _cut_after(text, WINDOW) if keep_head else 0
        tail = _cut_before(text, WINDOW) if keep_tail else len(text)
        if text.endswith("\n") and not keep_tail:
            tail = len(text) - 1
        if head >= tail:
            out.append((op, text))
            continue
        out += [(0, text[:head])] if head else []
        out.append((ELIDED, text[head:tail]))
        out += [(0, text[tail:])] if tail < len(text) else []
    return replace(chunk, ops=tuple(out))


def _cut_after(text: str, size: int) -> int:
    """An index near `size` at a word start (the window on the left ends there)."""
    match = _WORD_START.search(text, size)
    return match.start() + 1 if match and match.start() < size + 60 else size


def _cut_before(text: str, size: int) -> int:
    """An index near len(text) - size at a word start (the window on the right starts there)."""
    match = _WORD_START.search(text, max(0, len(text) - size - 60))
    return match.start() + 1 if match and match.start() < len(text) - size + 60 else len(text) - size


def chunks(ops: Ops) -> list[Chunk]:
    """Return the operations split into chunks at every line break the two texts share."""
    out: list[Chunk] = []
    cur: list[tuple[int, str]] = []
    old_lines: list[Ops] = []
    new_lines: list[Ops] = []
    old_cur: list[tuple[int, str]] = []
    new_cur: list[tuple[int, str]] = []
    for op, text in ops:
        for i, part in enumerate(text.split("\n")):
            if i:
                cur.append((op, "\n"))
                if op != 1:
                    old_lines.append(tuple(old_cur))
                    old_cur = []
                if op != -1:
                    new_lines.append(tuple(new_cur))
                    new_cur = []
                if op == 0:
                    out.append(Chunk(tuple(cur), tuple(old_lines), tuple(new_lines)))
                    cur, old_lines, new_lines = [], [], []
            if part:
                cur.append((op, part))
                if op != 1:
                    old_cur.append((op, part))
                if op != -1:
                    new_cur.append((op, part))
    if cur or old_cur or new_cur:
        old_lines.append(tuple(old_cur))
        new_lines.append(tuple(new_cur))
        out.append(Chunk(tuple(cur), tuple(old_lines), tuple(new_lines)))
    return out


def rows(ops: Ops) -> list[Row]:
    """Return the side-by-side rows: lines a chunk adds or removes on their own rows, shared lines paired.
    Lines are numbered as the view shows them: blank lines (the gaps between paragraphs) get no number."""
    out: list[Row] = []
    old_no = new_no = 0
    for chunk in chunks(ops):
        pairs = list(zip_longest(chunk.old_lines[:-1], chunk.new_lines[:-1]))
        pairs.append((chunk.old_lines[-1], chunk.new_lines[-1]))
        for old, new in pairs:
            old_no += bool(old)
            new_no += bool(new)
            out.append(Row(old_no if old else None, old, new_no if new else None, new))
    return out


def hunks(ops: Ops, context: int = CONTEXT_LINES) -> list[Hunk]:
    """Return the changed chunks with up to `context` non-blank unchanged lines around each."""
    all_chunks = chunks(ops)
    shown: set[int] = set()
    for index, chunk in enumerate(all_chunks):
        if chunk.changed:
            shown.add(index)
            for step in (-1, 1):
                seen, j = 0, index + step
                while 0 <= j < len(all_chunks) and seen < context and not all_chunks[j].changed:
                    shown.add(j)
                    seen += not all_chunks[j].blank
                    j += step
    out: list[Hunk] = []
    old_no = new_no = 1
    current: list[Chunk] = []
    start = (1, 1)
    for index, chunk in enumerate(all_chunks):
        if index in shown:
            if not current:
                start = (old_no, new_no)
            current.append(chunk)
        elif current:
            out.append(Hunk(tuple(_trim(current)), *start))
            current = []
        old_no += len(chunk.old_lines)
        new_no += len(chunk.new_lines)
    if current:
        out.append(Hunk(tuple(_trim(current)), *start))
    return [replace(h, chunks=tuple(windowed(c) for c in h.chunks)) for h in out]


def _trim(hunk: list[Chunk]) -> list[Chunk]:
    """Drop blank context lines at the end of a hunk (leading ones are kept for the line numbers)."""
    while hunk and hunk[-1].blank:
        hunk.pop()
    return hunk


def hunks_within(all_hunks: list[Hunk], budget: int) -> tuple[tuple[Hunk, ...], bool]:
    """Return the first of the changes-only hunks `all_hunks` (views.hunks) that fit in `budget` characters
    and whether some were left out or cut.

    One hunk larger than the budget keeps its first chunks, the last of them clipped (a mail or a feed entry
    about a change inside a 1 MB line still shows the change).
    """
    kept: list[Hunk] = []
    used = 0
    for hunk in all_hunks:
        size = sum(_shown(c) for c in hunk.chunks)
        if used + size > budget and kept:
            break
        if used + size > budget:
            chunks = []
            for chunk in hunk.chunks:
                size = _shown(chunk)
                if used + size > budget:
                    chunks.append(_clip(chunk, budget - used))
                    break
                chunks.append(chunk)
                used += size
            kept.append(Hunk(tuple(chunks), hunk.old_start, hunk.new_start))
            return tuple(kept), True
        kept.append(hunk)
        used += size
    return tuple(kept), len(kept) < len(all_hunks)


def _shown(chunk: Chunk) -> int:
    """The characters a chunk shows (an elided run shows only its length)."""
    return sum(len(t) if op != ELIDED else 30 for op, t in chunk.ops)


def _clip(chunk: Chunk, limit: int) -> Chunk:
    """Return `chunk` with its operations cut after `limit` characters (at least the start of its first change)."""
    ops: list[tuple[int, str]] = []
    left = max(limit, 200)
    for op, text in chunk.ops:
        if left <= 0:
            break
        ops.append((op, text[:left] + ("…" if len(text) > left else "")))
        left -= len(text)
    return Chunk(tuple(ops), (), ())
