"""The user's patterns: `ignore` regexes, compiled once and always run against a time budget; CSS selectors checked.

A pattern such as `(a+)+$` on the wrong text backtracks for hours; Python's `re` cannot be stopped. The
`regex` module can (its `timeout`), with the same syntax (VERSION0), so every match a check runs for a user
pattern draws on that check's `Budget`, and a pattern that runs past it is a `PatternError` naming it: the
target's result is an error, the worker goes on.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from monitor.errors import PatternError

if TYPE_CHECKING:
    import regex

MAX_PATTERN = 1000  # characters in one pattern or selector: longer ones are refused by the config check
_BLANK_LINES = re.compile(r"\n{3,}")  # ours, not the user's: no budget needed


class Budget:
    """A time limit for a check's pattern work, shared by every pattern it runs."""

    def __init__(self, seconds: float, clock: object = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self.deadline = clock() + seconds  # type: ignore[operator]

    def left(self, pattern: str) -> float:
        """Seconds left; raises PatternError (naming `pattern`) when none are."""
        left = self.deadline - self._clock()  # type: ignore[operator]
        if left <= 0:
            raise PatternError(_overrun(pattern, self.seconds))
        return left


def _overrun(pattern: str, seconds: float) -> str:
    shown = pattern if len(pattern) <= 80 else pattern[:77] + "..."
    return (f"ignore pattern {shown!r} ran past the check's {seconds:g} s budget on this page "
            "(catastrophic backtracking?); simplify the pattern")


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """Return `pattern` compiled as the monitor runs it (multiline, `re` syntax). Raises ValueError for a
    pattern too long or invalid, with a one-line reason."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"pattern is {len(pattern):,} characters long; at most {MAX_PATTERN:,}")
    import regex  # on the first pattern: a config without any never loads it (8 ms of a check's start-up)

    try:
        return regex.compile(pattern, regex.MULTILINE | regex.VERSION0)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None


def selector_problem(selector: str) -> str | None:
    """Why a user's CSS selector cannot be run (too long, or invalid), in one line; None when it can."""
    if len(selector) > MAX_PATTERN:
        return f"selector is {len(selector):,} characters long; at most {MAX_PATTERN:,}"
    import soupsieve  # only configs and pages with select/exclude need it (a tenth of a second to import)

    try:
        soupsieve.compile(selector)
    except soupsieve.SelectorSyntaxError as exc:
        return f"{selector!r} is not a valid CSS selector: {str(exc).splitlines()[0]}"
    return None


def apply_ignore(text: str, patterns: Iterable[str], budget: Budget | None = None) -> tuple[str, list[str]]:
    """Return `text` with every match of the `ignore` regexes removed, and the removed fragments.

    Patterns are multiline (^ and $ match at line ends). Lines emptied by a removal disappear. Each match
    runs within `budget` (default: a fresh 30 s one). Raises PatternError when a pattern runs past it, or
    for an invalid pattern.
    """
    patterns = tuple(patterns)
    if not patterns:
        return text, []
    budget = budget or Budget(30.0)
    removed: list[str] = []

    def take(match: regex.Match[str]) -> str:
        removed.append(match.group(0))
        return ""

    for pattern in patterns:
        try:
            compiled = compile_pattern(pattern)
        except ValueError as exc:
            raise PatternError(f"ignore pattern: {exc}") from None
        try:
            text = compiled.sub(take, text, timeout=budget.left(pattern))
        except TimeoutError:
            raise PatternError(_overrun(pattern, budget.seconds)) from None
    if removed:
        lines = [line.rstrip(" ") for line in text.split("\n")]
        text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")
    return text, removed


def ignored_differences(old: list[str], new: list[str]) -> int:
    """Return how many ignored fragments differ between two versions (changed, added or removed)."""
    gained, lost = Counter(new) - Counter(old), Counter(old) - Counter(new)
    return max(sum(gained.values()), sum(lost.values()))
