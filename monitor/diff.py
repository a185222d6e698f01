"""diff(old, new) -> Change | None with diff-match-patch: lines aligned first, then words marked; pure."""

from __future__ import annotations

import re

from diff_match_patch import diff_match_patch

from monitor.models import Change

DEFAULT_TIMEOUT = 2.0
_TOKEN_RE = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
_WORD_RE = re.compile(r"\w+", re.UNICODE)
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
    return decoded


def _code(index: int) -> str:
    """Return the character standing for token `index` (skipping NUL and the surrogate range)."""
    n = index + 1
    return chr(n + 0x800 if n >= 0xD800 else n)


def _index(code: str) -> int:
    n = ord(code)
    return (n - 0x800 if n >= 0xE000 else n) - 1


def _merge(ops: Ops) -> Ops:
    """Drop empty operations and join neighbours of the same kind."""
    out: Ops = []
    for op, text in ops:
        if not text:
            continue
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))
    return out


def old_text(change: Change) -> str:
    """Return the text before the change (equal + deleted parts)."""
    return "".join(text for op, text in change.ops if op != 1)


def new_text(change: Change) -> str:
    """Return the text after the change (equal + inserted parts)."""
    return "".join(text for op, text in change.ops if op != -1)
