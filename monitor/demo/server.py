"""A small threaded HTTP server on loopback that serves pages from memory (for the demo and the tests)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Page:
    """One response: status, body, headers; `delay` seconds before answering; ETag/Last-Modified if asked."""

    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    validators: bool = True

    @property
    def etag(self) -> str:
        """A strong ETag derived from the body."""
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


Route = Page | Callable[["RequestInfo"], Page]


@dataclass(frozen=True)
class RequestInfo:
    """What the server saw of one request."""

    path: str
    headers: dict[str, str]


class _QuietServer(ThreadingHTTPServer):
    """A threaded server whose request errors go to the log, not to stderr.

    A client that hangs up mid-answer (a timeout, a cancelled download) is normal here; socketserver's
    default prints a traceback to stderr, which lands in whatever output a test or the demo is reading.
    """

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        logger.debug("page server: request from %s ended early", client_address, exc_info=True)


class PageServer:
    """Serves `routes` (path -> Page or a function of the request) on 127.0.0.1 at an OS-chosen port.

    Use as a context manager; `url(path)` gives the address, `requests` what was asked for.
    """

    def __init__(self, routes: dict[str, Route] | None = None, last_modified: float = 1_577_836_800.0) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[RequestInfo] = []
        self.last_modified = formatdate(last_modified, usegmt=True)
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        # A short poll interval keeps shutdown() quick (the default waits up to 0.5 s).
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="page-server", daemon=True)

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        """Return the absolute URL of `path` on this server."""
        return self.base_url + path

    def set(self, path: str, route: Route) -> None:
        """Serve `route` at `path` from the next request on."""
        with self._lock:
            self.routes[path] = route

    def __enter__(self) -> PageServer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in separate writes: without this, Nagle's algorithm meets the client's
            # delayed ACK and every response waits ~40 ms.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                info = RequestInfo(self.path, {k: v for k, v in self.headers.items()})
                with server._lock:
                    server.requests.append(info)
                    route = server.routes.get(self.path.split("?")[0])
                page = route(info) if callable(route) else route
                if page is None:
                    page = Page(b"<html><body><h1>Not Found</h1></body></html>", status=404)
                if page.delay:
                    time.sleep(page.delay)
                headers = dict(page.headers)
                if page.validators and page.status == 200:
                    headers.setdefault("ETag", page.etag)
                    headers.setdefault("Last-Modified", server.last_modified)
                    if self.headers.get("If-None-Match") == headers["ETag"]:
                        self._send(304, b"", None, headers)
                        return
                self._send(page.status, page.body, page.content_type, headers)

            def _send(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str]) -> None:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                for key, value in headers.items():
                    self.send_header(key, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
                logger.debug("page server: " + format, *args)

        return Handler
