"""Serve the review app with waitress (a pure-Python production WSGI server) until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass
from types import FrameType
from typing import Any

from waitress.server import create_server

from monitor.errors import MonitorError

logger = logging.getLogger(__name__)


@dataclass
class ReviewServer:
    """A bound waitress server: `url` is known before `serve()` blocks (port 0 picks a free port)."""

    server: Any
    url: str

    def serve(self) -> None:
        """Serve until SIGINT or SIGTERM, then close the listening socket."""
        def stop(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            self.server.run()
        except KeyboardInterrupt:
            logger.info("review app stopping")
        finally:
            signal.signal(signal.SIGTERM, previous)
            self.server.close()


def make_server(app: Any, host: str, port: int, threads: int = 4) -> ReviewServer:
    """Bind `app` to host:port and return the server. Raises MonitorError if the address cannot be bound."""
    try:
        server = create_server(app, host=host, port=port, threads=threads, ident="monitor")
    except OSError as exc:
        raise MonitorError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    shown = f"[{host}]" if ":" in host else host
    return ReviewServer(server, f"http://{shown}:{server.effective_port}/")
