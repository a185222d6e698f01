"""Checks of single config values, each a one-line reason a user can act on (used by the schemas)."""

from __future__ import annotations

from urllib.parse import urlsplit

from monitor.patterns import compile_pattern, selector_problem

MAX_CONFIG_BYTES = 16 * 1024 * 1024  # a config of 10,000 targets is about 2 MB
# pydantic's words for a wrong type, and what a user wrote instead
_TYPE_WORDS = {
    "tuple_type": "must be a list (one '- item' per line, or [a, b])",
    "list_type": "must be a list (one '- item' per line, or [a, b])",
    "dict_type": "must be a mapping (key: value lines)",
    "string_type": "must be a text string",
}


def check_url(value: str) -> str:
    """Return `value` if it is an http(s) URL with a host, a valid port and no spaces; raises ValueError."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL with a host")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError(f"{value!r} contains a space or a control character (percent-encode it: %20)")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise ValueError(f"{value!r} has an invalid port (1-65535)") from None
    return value


def check_selector(selector: str) -> None:
    """Raise ValueError unless `selector` is a CSS selector the normalizer can run (and not too long)."""
    problem = selector_problem(selector)
    if problem:
        raise ValueError(problem)


def check_pattern(pattern: str) -> None:
    """Raise ValueError unless `pattern` is a regular expression of at most MAX_PATTERN characters."""
    compile_pattern(pattern)


def type_message(error_type: str) -> str | None:
    """Plain words for a wrong-type validation error, or None to keep pydantic's."""
    return _TYPE_WORDS.get(error_type)
