"""Who may use the review app: a token gate (cookie or bearer header), a Host check, strict response headers.

On loopback without a token only requests naming a loopback Host are served (a DNS-rebinding page cannot
reach the app). With a token every request but the login form must carry it: as the `monitor_token` cookie
set by the login form or by a `?token=` link, or as `Authorization: Bearer <token>`. Forms are POSTs with
CSRF tokens (Flask-WTF), so a foreign page cannot mark reports either way.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from urllib.parse import urlencode

from flask import Flask, Response, abort, redirect, request

logger = logging.getLogger(__name__)

COOKIE = "monitor_token"
MIN_TOKEN_LENGTH = 16
LOOPBACK_NAMES = ("localhost",)
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def is_loopback(host: str) -> bool:
    """True for a loopback address or 'localhost'."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_matches(token: str, offered: str | None) -> bool:
    """True if `offered` is the token (compared in constant time)."""
    return offered is not None and hmac.compare_digest(token.encode("utf-8"), offered.encode("utf-8"))


def _host_name(header: str) -> str:
    """Return the host part of a Host header ('[::1]:8000' -> '::1', 'a:1' -> 'a')."""
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


# A plain-text answer (no page text in it, so nothing to escape) that says how to get in.
WRONG_HOST = ("403 Forbidden: this review app answers only on a loopback address (open http://127.0.0.1:<port>/ "
              "or http://localhost:<port>/ on the machine it runs on). To reach it from elsewhere, start it with "
              "--host <address> and --token <secret> (or $MONITOR_TOKEN).\n")


def install(app: Flask, token: str | None) -> None:
    """Add the token gate (or, without a token, the loopback Host check) and the response headers to `app`."""

    @app.before_request
    def gate() -> Response | None:
        if token is None:
            if not is_loopback(_host_name(request.headers.get("Host", ""))):
                logger.warning("refused a request for Host %r (not loopback)", request.headers.get("Host"))
                return Response(WRONG_HOST, status=403, mimetype="text/plain")
            return None
        offered = request.args.get("token")
        if offered is not None:
            if not token_matches(token, offered):
                abort(403)
            rest = {k: v for k, v in request.args.items() if k != "token"}
            response = redirect(request.path + (f"?{urlencode(rest)}" if rest else ""))
            set_cookie(response, token)
            return response
        if request.endpoint == "login":
            return None
        bearer = request.headers.get("Authorization", "")
        if token_matches(token, request.cookies.get(COOKIE)) or (
                bearer.startswith("Bearer ") and token_matches(token, bearer[7:])):
            return None
        if request.method == "GET":
            return redirect(f"/login?{urlencode({'next': request.full_path.rstrip('?')})}")
        abort(403)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response


def set_cookie(response: Response, token: str) -> None:
    """Remember the token in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS)."""
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure)


def safe_next(target: str | None) -> str:
    """Return `target` if it is a path on this app (never another site), else '/'."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
