"""The review app (Flask, served by waitress): list, read, compare and mark change reports.

app.py builds the app over the stored reports and the review marks (`monitor.review`); filters.py parses the
list's filters; security.py owns the Host check, the token and the CSRF and CSP rules; server.py makes the
waitress server. It reads what the check pipeline wrote and writes only review marks and the static pages.
"""

from monitor.web.app import create_app
from monitor.web.security import MIN_TOKEN_LENGTH, is_loopback
from monitor.web.server import make_server

__all__ = ["MIN_TOKEN_LENGTH", "create_app", "is_loopback", "make_server"]
