"""encoding: one place decides how bytes become text."""

from __future__ import annotations

import codecs

import pytest

from monitor.fetch.encoding import decode_html, detect_encoding

TEXT = "Stoltenberg’s “remarks” – café"


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    (TEXT.encode("utf-8"), "text/html", "utf-8"),                                  # no charset: valid UTF-8
    (TEXT.encode("cp1252"), "text/html; charset=windows-1252", "cp1252"),          # header says so
    (TEXT.encode("cp1252"), "text/html; charset=ISO-8859-1", "cp1252"),            # WHATWG: latin-1 means 1252
    (b'<meta charset="windows-1252">' + TEXT.encode("cp1252"), None, "cp1252"),    # meta charset
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "text/html; charset=cp1252", "utf-8"),  # BOM wins over header
    (TEXT.encode("utf-8"), "text/html; charset=bogus-charset", "utf-8"),           # unknown label ignored
])
def test_detect_encoding(body: bytes, content_type: str | None, expected: str) -> None:
    assert codecs.lookup(detect_encoding(body, content_type)).name == codecs.lookup(expected).name


def test_undeclared_windows_1252_is_detected_not_mangled() -> None:
    body = ("<p>" + "The secretary’s remarks – as delivered – were brief. " * 20 + "</p>").encode("cp1252")
    assert "secretary’s remarks – as" in decode_html(body, "text/html")


def test_decode_strips_the_bom() -> None:
    assert decode_html(codecs.BOM_UTF8 + b"<p>x</p>") == "<p>x</p>"
