"""Fetch stage: owns every byte that comes off the network.

`Fetcher.fetch(target)` (http.py, the only module that imports requests) does the HTTP GET with retries,
conditional validators, a size cap and block-page detection (blockpage.py), and hands on a `Fetched`;
with `via: browser` (or `auto`, once a bot wall answered) browser.py renders the page in a real Chromium
through Playwright and hands on the same `Fetched`. The web-archive client (archive.py) does the same for
Wayback captures: as a fallback, as a target's `source: archive`, and for backfill. source.py decides,
per target, which of them a check's page comes from (`page_for`). encoding.py decides a body's text
encoding in one place and hands on an `HtmlBody`. Nothing here parses content or writes to disk.
"""

from monitor.fetch.archive import Archive, Capture, fallback_fetch, from_archive
from monitor.fetch.browser import stop_thread
from monitor.fetch.encoding import decode_html, read_html
from monitor.fetch.http import Fetcher
from monitor.fetch.source import page_for, source_note

__all__ = ["Archive", "Capture", "Fetcher", "decode_html", "fallback_fetch", "from_archive", "page_for", "read_html",
           "source_note", "stop_thread"]
