"""Decide a fetched body's text encoding in one place: BOM, header charset, meta charset, then detection."""

from __future__ import annotations

import codecs
import logging
import re

import charset_normalizer

from monitor.models import HtmlBody

logger = logging.getLogger(__name__)

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
# WHATWG: labels that mean windows-1252 in a browser, whatever Python's codec registry says.
_ALIASES = {"iso-8859-1": "windows-1252", "latin1": "windows-1252", "latin-1": "windows-1252",
            "us-ascii": "windows-1252", "ascii": "windows-1252"}


def charset_from_content_type(content_type: str | None) -> str | None:
    """Return the charset parameter of a Content-Type header value, or None."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def _known(label: str | None) -> str | None:
    if not label:
        return None
    label = _ALIASES.get(label.strip().lower(), label.strip().lower())
    try:
        return codecs.lookup(label).name
    except LookupError:
        logger.debug("unknown charset label %r ignored", label)
        return None


def _valid_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_INVALID_RUN = re.compile("\ufffd+")


def _mostly_utf8(body: bytes) -> bool:
    """True when `body` has real multi-byte UTF-8 characters at least as often as runs of invalid bytes: UTF-8
    text with a few damaged bytes (a browser shows it with replacement characters), not windows-1252 text,
    which almost never forms a valid multi-byte sequence."""
    text = body.decode("utf-8", errors="replace")
    runs = len(_INVALID_RUN.findall(text))
    valid = sum(1 for ch in text if ch > "\x7f" and ch != "\ufffd")
    return valid > 0 and valid >= runs


def _checked(declared: str | None, body: bytes) -> str | None:
    """Return the encoding to use for a declared one, or None when the bytes prove the declaration wrong.

    Servers lie both ways: "utf-8" over windows-1252 bytes (which UTF-8 cannot decode), and a default
    "iso-8859-1" over UTF-8 text (valid UTF-8 with multi-byte sequences is all but impossible in real
    windows-1252 text).
    """
    if declared == "utf-8" and not _valid_utf8(body):
        if _mostly_utf8(body):
            logger.info("declared UTF-8 with a few invalid bytes: decoding as UTF-8, those bytes replaced")
            return "utf-8"
        # Nearly always windows-1252 text behind a default UTF-8 label; statistics on a short page guess worse.
        try:
            body.decode("cp1252")
        except UnicodeDecodeError:
            logger.info("declared UTF-8 but the bytes are not: detecting the encoding instead")
            return None
        logger.info("declared UTF-8 but the bytes are not: decoding as windows-1252")
        return "cp1252"
    if declared == "cp1252" and not body.isascii() and _valid_utf8(body):
        logger.info("declared windows-1252 but the bytes are valid UTF-8: decoding as UTF-8")
        return "utf-8"
    return declared


def _detect(body: bytes, content_type: str | None) -> tuple[str, bool]:
    """Return the codec name and whether `body` is proven to be valid UTF-8 (it was decoded as such)."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, False
    declared = _checked(_known(charset_from_content_type(content_type)), body)
    if declared:
        return declared, declared == "utf-8" and _valid_utf8(body)
    meta = _META_CHARSET.search(body[:4096])
    declared = _checked(_known(meta.group(1).decode("ascii", "replace")), body) if meta else None
    if declared:
        return declared, declared == "utf-8" and _valid_utf8(body)
    if _valid_utf8(body):
        return "utf-8", True
    best = charset_normalizer.from_bytes(body[:65536]).best()
    return (_known(best.encoding) if best and _known(best.encoding) else "cp1252"), False


def detect_encoding(body: bytes, content_type: str | None = None) -> str:
    """Return the codec name to decode `body` with.

    Order: byte-order mark, charset in the Content-Type header, <meta> charset in the first 4 KiB (each unless
    the bytes prove it wrong, see _checked), valid UTF-8, statistical detection, windows-1252.
    """
    return _detect(body, content_type)[0]


def read_html(body: bytes, content_type: str | None = None) -> HtmlBody:
    """Return `body` with the encoding detect_encoding() picks; NUL bytes (which no page shows) dropped unless
    the page is UTF-16."""
    encoding, valid_utf8 = _detect(body, content_type)
    if b"\x00" in body and not encoding.startswith("utf-16"):
        body = body.replace(b"\x00", b"")
        # NULs before a byte-order mark hid it from _detect; HtmlBody.text drops it, so the bytes are not the text.
        valid_utf8 = valid_utf8 and not body.startswith(codecs.BOM_UTF8)
    return HtmlBody(body, encoding, valid_utf8)


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Return `body` decoded as text with the encoding detect_encoding() picks; undecodable bytes become U+FFFD."""
    return read_html(body, content_type).text
