"""Recognize answers that are no content: CDN block pages, bot walls and captcha interstitials, "soft 404"
pages (an error page served with status 200), binary bodies. Pure functions of the body; `check_content` is
what both fetchers (HTTP and browser) apply to what they got."""

from __future__ import annotations

import re

from monitor.errors import BadContentError, BlockedError, SoftNotFoundError

HTML_TYPES = ("text/html", "application/xhtml+xml")

# Bodies CDNs and bot walls answer with instead of the page.
_BLOCK_SIGNS = (
    re.compile(rb"<title>\s*Access Denied\s*</title>", re.I),
    re.compile(rb"errors\.edgesuite\.net|Reference\s*#\s*\d+\.[0-9a-f]+", re.I),
    re.compile(rb"Attention Required!\s*\|\s*Cloudflare|cf-error-details|challenge-platform", re.I),
    re.compile(rb"<title>\s*Just a moment\.\.\.\s*</title>", re.I),
    re.compile(rb"Request unsuccessful\. Incapsula incident ID", re.I),
    re.compile(rb"<title>\s*(?:Security check|Are you a robot\??|Human verification|Pardon Our Interruption)"
               rb"\s*</title>", re.I),
)
# One case-sensitive pass over the lower-cased head: an order of magnitude faster than six re.I searches
# (the patterns have no upper-case escapes such as \S, so lower-casing them keeps their meaning).
_ANY_BLOCK_SIGN = re.compile(b"|".join(b"(?:" + sign.pattern.lower() + b")" for sign in _BLOCK_SIGNS))
# Words one of the signs needs: a page with none of them is no block page (substring tests are cheap).
_BLOCK_WORDS = (b"access denied", b"edgesuite", b"reference", b"cloudflare", b"cf-error", b"challenge-platform",
                b"just a moment", b"incapsula", b"security check", b"are you a robot", b"human verification",
                b"pardon our interruption")
# A captcha widget is a block only on a short page that is little more than the widget (an interstitial);
# a real article may embed one in a comment form.
_CAPTCHA_SIGN = re.compile(rb"g-recaptcha|h-captcha|hcaptcha\.com/1/api\.js|google\.com/recaptcha/api\.js|"
                           rb"challenges\.cloudflare\.com/turnstile", re.I)
_INTERSTITIAL_MAX = 32 * 1024
# A "soft 404": status 200, but the page's title says it is an error page.
_TITLE = re.compile(rb"<title[^>]*>([^<]{0,300})</title>", re.I)
_SOFT_404 = re.compile(r"^(?:error\s*)?404\b|\b404\s*(?:error|page)\b|^not found$|page\s+not\s+found|"
                       r"page\s+(?:cannot|can't|could\s+not)\s+be\s+found|page\s+(?:does\s+not|no\s+longer)\s+exist",
                       re.I)


def blocked_reason(body: bytes) -> str | None:
    """Return a short description if `body` looks like a CDN block page, else None."""
    head = body[:16384].lower()
    if any(word in head for word in _BLOCK_WORDS) and _ANY_BLOCK_SIGN.search(head):
        return "CDN block page (Access Denied / bot challenge)"
    if len(body) <= _INTERSTITIAL_MAX and _CAPTCHA_SIGN.search(body):
        return "captcha page instead of content"
    return None


def soft_not_found(body: bytes) -> str | None:
    """Return the page title if `body` is an error page served with 200 (a "soft 404"), else None."""
    match = _TITLE.search(body[:16384])
    if not match:
        return None
    title = " ".join(match.group(1).decode("utf-8", "replace").split())
    return title[:80] if _SOFT_404.search(title) else None


_TAG = re.compile(rb"<[A-Za-z!/?]")
_TEXT_CONTROLS = frozenset(b"\t\n\x0c\r")


def _binary(head: bytes) -> bool:
    """True for the start of a body that is no page: NUL bytes with no markup, or many control bytes. A few
    stray NULs in HTML (a browser shows the page; decoding drops them) are not binary."""
    if b"\x00" not in head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    controls = sum(1 for b in head if (b < 32 and b not in _TEXT_CONTROLS) or b == 127)
    return controls > len(head) // 10 or not _TAG.search(head)


def check_content(body: bytes, content_type: str | None, status: int) -> None:
    """Raise BadContentError unless `body` is non-empty HTML (or a CDN block page: BlockedError)."""
    reason = blocked_reason(body)
    if reason:
        raise BlockedError(f"HTTP {status}: {reason}", status)
    if not body.strip():
        raise BadContentError(f"HTTP {status} with an empty body")
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime and mime not in HTML_TYPES:
        raise BadContentError(f"not HTML (Content-Type {mime})")
    head = body[:1024]
    if _binary(head):
        raise BadContentError("binary content, not HTML")
    if not mime and b"<" not in head:
        raise BadContentError("no Content-Type and the body does not look like HTML")
    title = soft_not_found(body)
    if title is not None:
        raise SoftNotFoundError(f"HTTP {status} but the page says it is not found (title {title!r})", 404)
