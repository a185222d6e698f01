"""A fault-injecting HTTP server on loopback: each path answers with one way a network or a server can fail.

It speaks raw sockets, so it can break HTTP itself (reset mid-body, lie about Content-Length, corrupt the
chunked encoding, drip bytes). Used by tests/test_faults.py and the soak run; never listens beyond 127.0.0.1.
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from types import TracebackType

Handler = Callable[[socket.socket, str], None]

ARTICLE = (b"<!DOCTYPE html><html><head><title>Fault test page</title></head><body><main>"
           b"<h1>Fault test page</h1><p>The content a good response carries.</p></main></body></html>")


def head(status: str = "200 OK", headers: dict[str, str] | None = None, length: int | None = None) -> bytes:
    """Return a status line and headers (Content-Type text/html unless given), ending with the blank line."""
    lines = [f"HTTP/1.1 {status}"]
    fields = {"Content-Type": "text/html; charset=utf-8", "Connection": "close", **(headers or {})}
    if length is not None:
        fields["Content-Length"] = str(length)
    lines += [f"{k}: {v}" for k, v in fields.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(body: bytes, status: str = "200 OK", **headers: str) -> Handler:
    """A well-formed response."""
    fields = {k.replace("_", "-"): v for k, v in headers.items()}

    def handler(conn: socket.socket, path: str) -> None:
        conn.sendall(head(status, fields, len(body)) + body)
    return handler


def reset_mid_body(conn: socket.socket, path: str) -> None:
    """Headers promise 100 KB, half arrives, then a TCP reset (SO_LINGER 0)."""
    conn.sendall(head(length=100_000) + b"<html><body><main>" + b"x" * 50_000)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def truncated(conn: socket.socket, path: str) -> None:
    """Content-Length says 5000, 100 bytes arrive, then a clean close."""
    conn.sendall(head(length=5000) + ARTICLE[:100])


def bad_chunked(conn: socket.socket, path: str) -> None:
    """Transfer-Encoding: chunked with a chunk size that is not hex."""
    conn.sendall(head(headers={"Transfer-Encoding": "chunked"}) + b"10\r\n<html><body>abc\r\nZZZ\r\nnot a chunk\r\n")


def never_answers(conn: socket.socket, path: str) -> None:
    """Accepts and reads the request, then says nothing (read timeout)."""
    time.sleep(30)


def slow_drip(conn: socket.socket, path: str) -> None:
    """Slowloris in reverse: a byte every 0.2 s, forever; each read succeeds, the whole never arrives."""
    conn.sendall(head(length=1_000_000))
    for _ in range(1000):
        conn.sendall(b"x")
        time.sleep(0.2)


@lru_cache(maxsize=1)
def bomb_body() -> bytes:
    """64 MiB of spaces, gzipped to about 64 KB."""
    return gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)


def gzip_bomb(conn: socket.socket, path: str) -> None:
    """A small gzip body that expands far beyond the body cap."""
    body = bomb_body()
    conn.sendall(head(headers={"Content-Encoding": "gzip"}, length=len(body)) + body)


def huge_body(conn: socket.socket, path: str) -> None:
    """An endless body without Content-Length (read until close)."""
    conn.sendall(head() + b"<html><body><main><p>")
    block = b"a" * 65536
    for _ in range(1024):  # 64 MiB at most
        conn.sendall(block)


def redirect(location: str, status: str = "302 Found") -> Handler:
    """A redirect to `location` ('{n}' is replaced by a counter taken from the request path)."""
    def handler(conn: socket.socket, path: str) -> None:
        n = int(path.rsplit("/", 1)[-1]) if path.rsplit("/", 1)[-1].isdigit() else 0
        conn.sendall(head(status, {"Location": location.format(n=n + 1)}, 0))
    return handler


class FaultServer:
    """A threaded raw-socket HTTP server on 127.0.0.1 with one handler per path; use as a context manager."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = routes
        self.hits: dict[str, int] = {}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._sock.getsockname()[1]

    def url(self, path: str) -> str:
        """Return the full URL of `path`."""
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                request = b""
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    data = conn.recv(4096)
                    if not data:
                        return
                    request += data
                path = request.split(b" ", 2)[1].decode("latin-1")
                self.hits[path] = self.hits.get(path, 0) + 1
                handler = self.routes.get(path) or self.routes.get(path.rsplit("/", 1)[0] + "/*")
                if handler is None:
                    conn.sendall(head("404 Not Found", length=9) + b"not found")
                    return
                handler(conn, path)
            except OSError:
                return  # the client went away (timeouts, caps): that is the point of most faults
