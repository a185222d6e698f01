"""What went over the wire, as evidence: each request and response of a fetch as an `Exchange` (WARC records).

`http_exchanges(response)` reads them off a requests response (the redirects it followed, then the page's own
exchange); `browser_exchanges(response)` off a Playwright navigation response. Headers are kept in the order
and spelling they came in, repeated names too, with one exception: the values of request headers that carry
credentials (Authorization, Cookie, a configured API key) are replaced by "[redacted]", because a capture is
meant to be shared and a secret is never stored.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from monitor.models import Exchange, Headers

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"
_SECRET = re.compile(r"^(?:authorization|proxy-authorization|cookie)$|token|secret|api[-_]?key|password|auth",
                     re.IGNORECASE)
_PROTOCOLS = {9: "HTTP/0.9", 10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2"}


def redact(headers: Headers) -> Headers:
    """Return request `headers` with the values of credential-bearing ones replaced by "[redacted]"."""
    return tuple((name, REDACTED if _SECRET.search(name) else value) for name, value in headers)


def _request_target(url: str) -> tuple[str, str]:
    """The request line's target (path and query) and the Host header for `url`."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), parts.netloc


def _with_host(headers: Headers, host: str) -> Headers:
    """`headers` with a Host header first when they lack one (the HTTP client adds it on the wire)."""
    return headers if any(n.lower() == "host" for n, _ in headers) else (("Host", host), *headers)


def _one(response: Any, body: bytes | None) -> Exchange:
    """The Exchange of one requests/urllib3 response."""
    request = response.request
    target, host = _request_target(request.url)
    raw_headers = getattr(response.raw, "headers", None)
    headers = tuple((str(k), str(v)) for k, v in raw_headers.items()) if raw_headers is not None \
        else tuple(response.headers.items())
    return Exchange(
        url=request.url, method=request.method or "GET", request_target=target,
        request_headers=redact(_with_host(tuple((str(k), str(v)) for k, v in request.headers.items()), host)),
        protocol=_PROTOCOLS.get(getattr(response.raw, "version", 11), "HTTP/1.1"),
        status=response.status_code, reason=response.reason or "", headers=headers, body=body)


def http_exchanges(response: Any) -> tuple[Exchange, ...]:
    """Return the redirects a requests `response` followed (with their bodies) and then its own exchange
    (body None: the page's body is read separately). Never raises: what cannot be read is left out."""
    hops = []
    for hop in response.history:
        try:
            hops.append(_one(hop, hop.content or b""))
        except Exception as exc:  # evidence is best effort; the fetch itself succeeded
            logger.debug("a redirect of %s not recorded: %s", response.url, exc)
    try:
        return (*hops, _one(response, None))
    except Exception as exc:
        logger.debug("the exchange of %s not recorded: %s", response.url, exc)
        return ()


def _browser_one(response: Any, body: bytes | None) -> Exchange:
    """The Exchange of one Playwright response (Chromium does not say the protocol; HTTP/1.1 is written)."""
    request = response.request
    target, host = _request_target(request.url)
    sent = tuple((h["name"], h["value"]) for h in request.headers_array() if not h["name"].startswith(":"))
    return Exchange(
        url=request.url, method=request.method, request_target=target, request_headers=redact(_with_host(sent, host)),
        status=response.status, reason=response.status_text or "",
        headers=tuple((h["name"], h["value"]) for h in response.headers_array()), body=body)


def browser_exchanges(response: Any) -> tuple[Exchange, ...]:
    """Return the redirects of a Playwright navigation `response` and then its own exchange, with the body the
    browser received (before any script ran; the rendered page is `Fetched.body`). Never raises."""
    chain = []
    try:
        request = response.request.redirected_from
        while request is not None:
            hop = request.response()
            if hop is not None:
                chain.append(_browser_one(hop, b""))
            request = request.redirected_from
        chain.reverse()
        try:
            received = response.body()
        except Exception:  # Chromium keeps no body for some answers
            received = b""
        return (*chain, _browser_one(response, received))
    except Exception as exc:  # evidence is best effort; the page was rendered
        logger.debug("the browser exchange of %s not recorded: %s", getattr(response, "url", "?"), exc)
        return ()
