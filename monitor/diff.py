"""diff(old, new) -> Change | None with diff-match-patch: lines aligned first, then words marked;
diff_meta(old snapshot, new facts) -> MetaChange | None for what changed outside the text. Pure."""

from __future__ import annotations

import re

from diff_match_patch import diff_match_patch

from monitor.models import Change, MetaChange, Snapshot

DEFAULT_TIMEOUT = 2.0
_TOKEN_RE = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_WORD_START = re.compile(r"^\w+")
_WORD_END = re.compile(r"\w+\Z")  # \Z, not $: $ also matches before a final newline
Ops = list[tuple[int, str]]


def diff(old: str, new: str, *, timeout: float = DEFAULT_TIMEOUT) -> Change | None:
    """Return the Change from `old` to `new`, or None when the texts are identical.

    Lines are aligned with diff-match-patch's line mode; inside each run of replaced lines the words are
    diffed and cleaned up semantically, so an edited sentence marks only the words that changed.
    `timeout` bounds each diff-match-patch call (past it the diff is still correct, just coarser).
    """
    if old == new:
        return None
    dmp = diff_match_patch()
    dmp.Diff_Timeout = timeout
    ops = _merge(_refine(dmp, _line_ops(dmp, old, new)))
    inserted = [text for op, text in ops if op == 1]
    deleted = [text for op, text in ops if op == -1]
    return Change(
        ops=tuple(ops),
        inserted_chars=sum(map(len, inserted)),
        deleted_chars=sum(map(len, deleted)),
        inserted_words=sum(len(_WORD_RE.findall(t)) for t in inserted),
        deleted_words=sum(len(_WORD_RE.findall(t)) for t in deleted),
    )


def _line_ops(dmp: diff_match_patch, old: str, new: str) -> Ops:
    chars_old, chars_new, lines = dmp.diff_linesToChars(old, new)
    ops = dmp.diff_main(chars_old, chars_new, False)
    dmp.diff_charsToLines(ops, lines)
    return ops


def _refine(dmp: diff_match_patch, line_ops: Ops) -> Ops:
    """Replace each adjacent deleted+inserted run of lines by a word-level diff of the two."""
    out: Ops = []
    deleted: list[str] = []
    inserted: list[str] = []
    for op, text in [*line_ops, (0, "")]:
        if op == -1:
            deleted.append(text)
        elif op == 1:
            inserted.append(text)
        else:
            if deleted and inserted:
                out += _word_ops(dmp, "".join(deleted), "".join(inserted))
            elif deleted:
                out.append((-1, "".join(deleted)))
            elif inserted:
                out.append((1, "".join(inserted)))
            deleted, inserted = [], []
            out.append((0, text))
    return out


def _word_ops(dmp: diff_match_patch, old: str, new: str) -> Ops:
    """Return a word-granular diff of two text runs (tokens mapped to single characters, as line mode does)."""
    vocab: dict[str, str] = {}
    tokens: list[str] = []

    def encode(text: str) -> str:
        out = []
        for token in _TOKEN_RE.findall(text):
            code = vocab.get(token)
            if code is None:
                code = _code(len(tokens))
                vocab[token] = code
                tokens.append(token)
            out.append(code)
        return "".join(out)

    encoded_old, encoded_new = encode(old), encode(new)
    ops = dmp.diff_main(encoded_old, encoded_new, False)
    decoded = [(op, "".join(tokens[_index(c)] for c in text)) for op, text in ops]
    dmp.diff_cleanupSemantic(decoded)
    return _snap_to_words(decoded)


def _snap_to_words(ops: Ops) -> Ops:
    """Return `ops` with every edit widened to whole words.

    The semantic clean-up works on characters and may factor common letters out of a replaced pair
    ("will suspen[-d-]" / "has suspende[+d+]"); a mark must never start or end inside a word. Widening one
    end of an edit can empty an equality and join it to the next edit, whose other end may then sit inside
    a word ("in" | "formed NATO"), so this repeats until nothing moves (each pass only grows the edits).
    """
    while True:
        snapped = _widen(ops)
        if snapped == ops:
            return snapped
        ops = snapped


def _widen(ops: Ops) -> Ops:
    """One pass of _snap_to_words: widen each edit over the word parts touching its two ends."""
    groups: list[list[str]] = []  # [text] for an equality, [deleted, inserted] for an edit
    for op, text in ops:
        if op == 0:
            groups.append([text])
        elif groups and len(groups[-1]) == 2:
            groups[-1][0 if op == -1 else 1] += text
        else:
            groups.append([text, ""] if op == -1 else ["", text])
    for i, group in enumerate(groups):
        if len(group) != 2:
            continue
        if i > 0 and len(groups[i - 1]) == 1:
            tail = _WORD_END.search(groups[i - 1][0])
            if tail and any(_WORD_START.match(side) for side in group):
                groups[i - 1][0] = groups[i - 1][0][:tail.start()]
                group[0], group[1] = tail.group() + group[0], tail.group() + group[1]
        if i + 1 < len(groups) and len(groups[i + 1]) == 1:
            head = _WORD_START.match(groups[i + 1][0])
            if head and any(_WORD_END.search(side) for side in group):
                groups[i + 1][0] = groups[i + 1][0][head.end():]
                group[0], group[1] = group[0] + head.group(), group[1] + head.group()
    out: Ops = []
    for group in groups:
        if len(group) == 1:
            out.append((0, group[0]))
        else:
            out += [(-1, group[0]), (1, group[1])]
    return _merge(out)


def _code(index: int) -> str:
    """Return the character standing for token `index` (skipping NUL and the surrogate range)."""
    n = index + 1
    return chr(n + 0x800 if n >= 0xD800 else n)


def _index(code: str) -> int:
    n = ord(code)
    return (n - 0x800 if n >= 0xE000 else n) - 1


def _merge(ops: Ops) -> Ops:
    """Drop empty operations and join neighbours: equalities with equalities, and each run of edits
    between two equalities into one deletion followed by one insertion."""
    out: Ops = []
    deleted: list[str] = []
    inserted: list[str] = []
    for op, text in [*ops, (0, "")]:
        if op == -1:
            deleted.append(text)
        elif op == 1:
            inserted.append(text)
        else:
            out += [(kind, "".join(run)) for kind, run in ((-1, deleted), (1, inserted)) if "".join(run)]
            deleted, inserted = [], []
            if text and out and out[-1][0] == 0:
                out[-1] = (0, out[-1][1] + text)
            elif text:
                out.append((0, text))
    return out


def old_text(change: Change) -> str:
    """Return the text before the change (equal + deleted parts)."""
    return "".join(text for op, text in change.ops if op != 1)


def new_text(change: Change) -> str:
    """Return the text after the change (equal + inserted parts)."""
    return "".join(text for op, text in change.ops if op != -1)


def diff_meta(old: Snapshot, *, title: str | None, final_url: str | None, links: tuple[str, ...] | None,
              status: int | None, expected_url: str | None = None, date: str | None = None) -> MetaChange | None:
    """Return what changed outside the text since `old`, or None.

    An aspect the old snapshot did not record is not compared, except the final URL: a snapshot without
    one (a baseline import) is taken to have been at `expected_url` (the configured URL), so a site that
    moved (redirects to a new domain) is reported on the first check.
    """
    old_url = old.final_url or old.url or expected_url
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    if old.links is not None and links is not None:
        before, after = set(old.links), set(links)
        added = tuple(u for u in links if u not in before)
        removed = tuple(u for u in old.links if u not in after)
    meta = MetaChange(
        title=(old.title, title) if old.title is not None and title != old.title else None,
        final_url=(old_url, final_url) if old_url and final_url and final_url != old_url else None,
        links_added=added,
        links_removed=removed,
        status=(old.status, status) if old.status is not None and status is not None and status != old.status
        else None,
        date=(old.date, date) if old.date is not None and date != old.date else None,
    )
    return meta if meta else None
