"""Fetch stage: owns every byte that comes off the network.

`Fetcher.fetch(target)` (http.py, the only module that imports requests) does the HTTP GET with retries,
conditional validators, a size cap and block-page detection (blockpage.py), and hands on a `Fetched`; the
web-archive client (archive.py) does the same for Wayback captures. encoding.py decides a body's text
encoding in one place and hands on an `HtmlBody`. Nothing here parses content or writes to disk.
"""

from monitor.fetch.archive import Archive, Capture, fallback_fetch
from monitor.fetch.encoding import decode_html, read_html
from monitor.fetch.http import Fetcher

__all__ = ["Archive", "Capture", "Fetcher", "decode_html", "fallback_fetch", "read_html"]
